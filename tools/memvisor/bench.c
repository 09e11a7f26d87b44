/* SPDX-License-Identifier: MIT */
/*
 * memvisor bench [--json] [--quick] [--list] [--svg FILE] [--html FILE] [SUITE...]
 * Runs the bench suites; progress on stderr, results on stdout as one
 * table per suite, in a fixed order and lined up (or JSON, in the same
 * order). Every figure is a ratio against a baseline measured in the same
 * run.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "cli.h"

static void bench_usage(FILE *out)
{
	fprintf(out,
		"usage: memvisor bench [--json] [--quick] [--list] [--svg FILE] [--html FILE]\n"
		"                      [SUITE...]\n"
		"  --json   print results as JSON instead of a table\n"
		"  --svg FILE   also draw the results as a self-contained SVG in FILE\n"
		"  --html FILE  also write an HTML page (the drawing and the table) to FILE\n"
		"  --quick  fewer iterations (a smoke run; figures are noisier)\n"
		"  --list   list the suites and exit\n"
		"  --help   this text\n"
		"With no SUITE, every suite runs. docs/bench.md describes every case.\n"
		"\n"
		"exit status: 0 every suite ran, 1 a suite failed, 2 usage error\n");
}

static void bench_progress(void *cookie, const char *suite, const char *name)
{
	(void)cookie;
	fprintf(stderr, "  %s: %s done\n", suite, name);
}

/*
 * The order results print in, whatever order the suites ran in: by suite,
 * as bench_suites lists them, with p4 (the punch case p3 reports) after
 * p3. A suite not named here prints last.
 */
static const char *const bench_order[] = {
	"p1", "p2", "p3", "p4", "kvm", "sparse", "sgx", "mte", "heki", "allprot", "migrate",
};

static size_t bench_rank(const char *suite)
{
	size_t n = sizeof(bench_order) / sizeof(bench_order[0]);

	for (size_t i = 0; i < n; i++) {
		if (!strcmp(bench_order[i], suite))
			return i;
	}
	return n;
}

/* @ctx's results in print order (stable within a suite): an array of pointers. */
static const struct bench_result **bench_sorted(const struct bench_ctx *ctx)
{
	const struct bench_result **r = calloc(ctx->nr_results + 1, sizeof(*r));
	unsigned int n = 0;

	if (!r)
		return NULL;
	for (size_t rank = 0; rank <= sizeof(bench_order) / sizeof(bench_order[0]); rank++) {
		for (unsigned int i = 0; i < ctx->nr_results; i++) {
			if (bench_rank(ctx->results[i].suite) == rank)
				r[n++] = &ctx->results[i];
		}
	}
	return r;
}

static const char *bench_suite_what(const char *suite)
{
	for (const struct bench_suite *s = bench_suites; s->name; s++) {
		if (!strcmp(s->name, suite))
			return s->what;
	}
	return !strcmp(suite, "p4") ? "guest_memfd hole punch: notifications per folio (run by p3)" :
	       "";
}

struct bench_widths {
	int name, ns, baseline, base_ns, ratio;
};

static int bench_max(int a, int b)
{
	return a > b ? a : b;
}

/* Every column as wide as its widest cell, so each table lines up. */
static void bench_measure_widths(const struct bench_result *const *r, struct bench_widths *w)
{
	char num[64];

	*w = (struct bench_widths){ 4, 5, 8, 10, 5 };
	for (; *r; r++) {
		w->name = bench_max(w->name, (int)strlen((*r)->name));
		w->ns = bench_max(w->ns, snprintf(num, sizeof(num), "%.2f", (*r)->ns_per_op));
		w->baseline = bench_max(w->baseline, (int)strlen((*r)->baseline[0] ? (*r)->baseline :
								  "(baseline)"));
		w->base_ns = bench_max(w->base_ns, snprintf(num, sizeof(num), "%.2f",
							    (*r)->baseline_ns));
		if ((*r)->baseline_ns > 0)
			w->ratio = bench_max(w->ratio, snprintf(num, sizeof(num), "%.2fx",
								(*r)->ns_per_op / (*r)->baseline_ns));
	}
}

/* One row; a baseline's empty columns leave no blanks at the end of the line. */
static void print_row(const struct bench_widths *w, const struct bench_result *r)
{
	char ratio[64] = "", base[64] = "", line[512];
	int n;

	if (r->baseline[0] && r->baseline_ns > 0)
		snprintf(ratio, sizeof(ratio), "%.2fx", r->ns_per_op / r->baseline_ns);
	if (r->baseline[0])
		snprintf(base, sizeof(base), "%.2f", r->baseline_ns);
	n = snprintf(line, sizeof(line), "  %-*s  %*.2f  %-*s  %*s  %*s  %s", w->name, r->name,
		     w->ns, r->ns_per_op, w->baseline, r->baseline[0] ? r->baseline : "(baseline)",
		     w->base_ns, base, w->ratio, ratio, r->note);
	if (n >= (int)sizeof(line))
		n = (int)sizeof(line) - 1;
	while (n > 0 && line[n - 1] == ' ')
		n--;
	printf("%.*s\n", n, line);
}

/* One table per suite, in a fixed order, every column lined up across all of them. */
static void print_table(const struct bench_ctx *ctx)
{
	const struct bench_result **r = bench_sorted(ctx);
	struct bench_widths w;

	if (!r) {
		fprintf(stderr, "memvisor bench: out of memory\n");
		return;
	}
	bench_measure_widths(r, &w);
	for (unsigned int i = 0; r[i]; i++) {
		if (!i || strcmp(r[i]->suite, r[i - 1]->suite)) {
			printf("%s%s: %s\n", i ? "\n" : "", r[i]->suite, bench_suite_what(r[i]->suite));
			printf("  %-*s  %*s  %-*s  %*s  %*s  %s\n", w.name, "case", w.ns, "ns/op",
			       w.baseline, "baseline", w.base_ns, "base ns/op", w.ratio, "ratio",
			       "note");
		}
		print_row(&w, r[i]);
	}
	free(r);
}

static void print_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void print_json(const struct bench_ctx *ctx)
{
	const struct bench_result **sorted = bench_sorted(ctx);

	if (!sorted) {
		fprintf(stderr, "memvisor bench: out of memory\n");
		return;
	}
	printf("{\"results\":[");
	for (unsigned int i = 0; sorted[i]; i++) {
		const struct bench_result *r = sorted[i];

		printf("%s\n {\"suite\":", i ? "," : "");
		print_json_string(r->suite);
		printf(",\"case\":");
		print_json_string(r->name);
		printf(",\"ns_per_op\":%.3f,\"baseline\":", r->ns_per_op);
		print_json_string(r->baseline);
		printf(",\"baseline_ns_per_op\":%.3f,\"ratio\":%.3f,\"note\":", r->baseline_ns,
		       r->baseline_ns > 0 ? r->ns_per_op / r->baseline_ns : 0.0);
		print_json_string(r->note);
		putchar('}');
	}
	printf("\n]}\n");
	free(sorted);
}

/* Draws the results into @path (SVG or HTML). 0, or 1 after a message. */
static int bench_write_plot(const struct bench_ctx *ctx, const char *path, bool html)
{
	const struct bench_result **r = bench_sorted(ctx);
	FILE *out = r ? fopen(path, "w") : NULL;
	int bad;

	if (!out) {
		fprintf(stderr, "memvisor bench: %s: %s\n", path, r ? strerror(errno) : "out of memory");
		free(r);
		return 1;
	}
	if (html)
		bench_plot_html(out, r, bench_suite_what);
	else
		bench_plot_svg(out, r, bench_suite_what);
	bad = ferror(out);
	bad |= fclose(out);
	free(r);
	if (bad)
		fprintf(stderr, "memvisor bench: %s: could not write it\n", path);
	return bad ? 1 : 0;
}

static const struct bench_suite *find_suite(const char *name)
{
	for (const struct bench_suite *s = bench_suites; s->name; s++)
		if (!strcmp(s->name, name))
			return s;
	return NULL;
}

int cli_bench(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quick", no_argument, NULL, 'q' },
		{ "list", no_argument, NULL, 'l' },
		{ "svg", required_argument, NULL, 's' },
		{ "html", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct bench_ctx ctx;
	const char *svg = NULL, *html = NULL;
	bool json = false;
	int c, failed = 0;

	ctx.progress = bench_progress;
	while ((c = getopt_long(argc, argv, "jqls:H:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'q':
			ctx.quick = true;
			break;
		case 's':
			svg = optarg;
			break;
		case 'H':
			html = optarg;
			break;
		case 'l':
			for (const struct bench_suite *s = bench_suites; s->name; s++)
				printf("%-6s %s\n", s->name, s->what);
			return CLI_OK;
		case 'h':
			bench_usage(stdout);
			return CLI_OK;
		default:
			bench_usage(stderr);
			return CLI_USAGE;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (!find_suite(argv[i])) {
			fprintf(stderr, "memvisor bench: no suite '%s' (try --list)\n", argv[i]);
			return CLI_USAGE;
		}
	}
	for (const struct bench_suite *s = bench_suites; s->name; s++) {
		bool wanted = optind >= argc;
		int ret;

		for (int i = optind; i < argc; i++)
			wanted |= !strcmp(argv[i], s->name);
		if (!wanted)
			continue;
		fprintf(stderr, "suite %s: %s\n", s->name, s->what);
		ret = s->run(&ctx);
		if (ret) {
			fprintf(stderr, "memvisor bench: suite %s failed: %s\n", s->name,
				strerror(-ret));
			failed = 1;
		}
	}
	if (json)
		print_json(&ctx);
	else
		print_table(&ctx);
	if (svg)
		failed |= bench_write_plot(&ctx, svg, false);
	if (html)
		failed |= bench_write_plot(&ctx, html, true);
	return failed ? CLI_FAIL : CLI_OK;
}
