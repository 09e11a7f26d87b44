/* SPDX-License-Identifier: MIT */
/*
 * memvisor bench --svg FILE / --html FILE: the results drawn, self-contained
 * (no script, no font or style from the network). One row per case, grouped
 * by suite: the case, a bar of its ratio against its baseline on a log
 * scale centred on 1x, and the figure. Scaling rows ("2N vs N") are green
 * when linear (at most 2.2x) and red when not, with the 2.2x limit marked;
 * a baseline row shows its time instead of a bar.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"
#include "cli.h"

#define PLOT_W       1000
#define PLOT_NAME_W  380      /* the case names' column */
#define PLOT_BAR_X   (PLOT_NAME_W + 30)
#define PLOT_BAR_W   440      /* log2 ratio from 1/64 to 64: 12 octaves */
#define PLOT_ROW_H   22
#define PLOT_LOG_MIN (-6.0)
#define PLOT_LOG_MAX 6.0

static bool plot_is_scaling(const struct bench_result *r)
{
	return strstr(r->name, "2N vs N") != NULL;
}

static double plot_x(double ratio)
{
	double l = log2(ratio);

	if (l < PLOT_LOG_MIN)
		l = PLOT_LOG_MIN;
	if (l > PLOT_LOG_MAX)
		l = PLOT_LOG_MAX;
	return PLOT_BAR_X + (l - PLOT_LOG_MIN) / (PLOT_LOG_MAX - PLOT_LOG_MIN) * PLOT_BAR_W;
}

static int plot_height(const struct bench_result *const *r)
{
	int h = 90;

	for (size_t i = 0; r[i]; i++)
		h += PLOT_ROW_H + (!i || strcmp(r[i]->suite, r[i - 1]->suite) ? 34 : 0);
	return h + 30;
}

/* The scale: octave ticks, the 1x line. */
static void plot_axis(FILE *out, int top, int bottom)
{
	for (int o = (int)PLOT_LOG_MIN; o <= (int)PLOT_LOG_MAX; o += 2) {
		double x = plot_x(pow(2.0, o));

		fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" "
			"stroke-width=\"1\"%s/>\n", x, top, x, bottom, o ? "#e2e2e2" : "#888",
			o ? "" : " stroke-dasharray=\"4 3\"");
		if (o < 0)
			fprintf(out, "<text x=\"%.1f\" y=\"%d\" class=\"s\" "
				"text-anchor=\"middle\">1/%dx</text>\n", x, top - 6, 1 << -o);
		else
			fprintf(out, "<text x=\"%.1f\" y=\"%d\" class=\"s\" "
				"text-anchor=\"middle\">%dx</text>\n", x, top - 6, 1 << o);
	}
}

static void plot_row(FILE *out, const struct bench_result *r, int y)
{
	double ratio = r->baseline_ns > 0 ? r->ns_per_op / r->baseline_ns : 0;
	const char *colour = "#2f7dbd";

	fprintf(out, "<text x=\"24\" y=\"%d\" class=\"t\"><title>", y + 15);
	cli_xml(out, r->note);
	fprintf(out, "</title>");
	cli_xml(out, r->name);
	fprintf(out, "</text>\n");
	if (!r->baseline[0] || ratio <= 0) {
		fprintf(out, "<text x=\"%d\" y=\"%d\" class=\"s\">%.2f ns/op (a baseline or a value)"
			"</text>\n", PLOT_BAR_X, y + 15, r->ns_per_op);
		return;
	}
	if (plot_is_scaling(r)) {
		colour = ratio <= 2.2 ? "#1d7a3a" : "#c0392b";
		fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#c0392b\" "
			"stroke-width=\"2\"/>\n", plot_x(2.2), y + 2, plot_x(2.2), y + PLOT_ROW_H - 4);
	}
	{
		double x0 = plot_x(1.0), x1 = plot_x(ratio);

		fprintf(out, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\">"
			"<title>", x1 < x0 ? x1 : x0, y + 4, fabs(x1 - x0) < 1 ? 1 : fabs(x1 - x0),
			PLOT_ROW_H - 8, colour);
		cli_xml(out, "vs ");
		cli_xml(out, r->baseline);
		fprintf(out, "</title></rect>\n");
	}
	fprintf(out, "<text x=\"%d\" y=\"%d\" class=\"t mono\">%.2fx</text>\n",
		PLOT_BAR_X + PLOT_BAR_W + 12, y + 15, ratio);
}

void bench_plot_svg(FILE *out, const struct bench_result *const *r, const char *(*what)(const char *))
{
	int h = plot_height(r), y = 90;

	fprintf(out,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
		"<title>memvisor bench</title>\n<style>\n"
		".t{font-size:12px;fill:#222}.s{font-size:10px;fill:#666}.h{font-size:14px;"
		"font-weight:bold;fill:#222}\n.mono{font-family:DejaVu Sans Mono, Menlo, Consolas, "
		"monospace}\n</style>\n<rect width=\"100%%\" height=\"100%%\" fill=\"#fbfbfa\"/>\n"
		"<text x=\"24\" y=\"32\" font-size=\"20\" font-weight=\"bold\" fill=\"#222\">"
		"memvisor bench</text>\n<text x=\"24\" y=\"52\" class=\"s\">every figure a ratio "
		"against a baseline measured in the same run; log scale, 1x dashed; scaling rows "
		"green when linear (&lt;= 2.2x, red line)</text>\n",
		PLOT_W, h, PLOT_W, h);
	plot_axis(out, 78, h - 20);
	for (size_t i = 0; r[i]; i++) {
		if (!i || strcmp(r[i]->suite, r[i - 1]->suite)) {
			y += 12;
			fprintf(out, "<text x=\"24\" y=\"%d\" class=\"h\">", y + 10);
			cli_xml(out, r[i]->suite);
			fprintf(out, "</text>\n<text x=\"90\" y=\"%d\" class=\"s\">", y + 10);
			cli_xml(out, what(r[i]->suite));
			fprintf(out, "</text>\n");
			y += 22;
		}
		plot_row(out, r[i], y);
		y += PLOT_ROW_H;
	}
	fprintf(out, "</svg>\n");
}

void bench_plot_html(FILE *out, const struct bench_result *const *r,
		     const char *(*what)(const char *))
{
	fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		"<title>memvisor bench</title>\n<style>body{font-family:DejaVu Sans, Helvetica, "
		"Arial, sans-serif;margin:24px;color:#222}table{border-collapse:collapse;"
		"font-size:13px}td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left}"
		"td.n{text-align:right;font-family:monospace}</style></head><body>\n");
	bench_plot_svg(out, r, what);
	fprintf(out, "<table>\n<tr><th>suite</th><th>case</th><th>ns/op</th><th>baseline</th>"
		"<th>base ns/op</th><th>ratio</th><th>note</th></tr>\n");
	for (size_t i = 0; r[i]; i++) {
		fprintf(out, "<tr><td>");
		cli_xml(out, r[i]->suite);
		fprintf(out, "</td><td>");
		cli_xml(out, r[i]->name);
		fprintf(out, "</td><td class=\"n\">%.2f</td><td>", r[i]->ns_per_op);
		cli_xml(out, r[i]->baseline);
		fprintf(out, "</td><td class=\"n\">%.2f</td><td class=\"n\">", r[i]->baseline_ns);
		if (r[i]->baseline_ns > 0 && r[i]->baseline[0])
			fprintf(out, "%.2fx", r[i]->ns_per_op / r[i]->baseline_ns);
		fprintf(out, "</td><td>");
		cli_xml(out, r[i]->note);
		fprintf(out, "</td></tr>\n");
	}
	fprintf(out, "</table>\n</body></html>\n");
}
