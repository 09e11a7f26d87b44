/* SPDX-License-Identifier: MIT */
/*
 * memvisor map: runs a scenario that builds a VM, then draws the VM's
 * guest-physical memory map (mv_vm_memory_map) as one self-contained SVG,
 * or an HTML page holding the SVG and the same facts as a table. A strip
 * shows the address space, not to scale (the drawing says so: widths grow
 * with the log of the size, holes are squeezed to one width); below it,
 * one row per range: where it is, how large, shared or private, where its
 * bytes are (the VMM's address, or a guest_memfd fd and offset), what
 * stage 2 lets the guest do (R/W/X), and whether it is immutable, tagged,
 * EPC or dirty-logged.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lang/lang.h"

#define MAP_FILE_MAX  (16u << 20)
#define MAP_W         960      /* drawing width */
#define MAP_STRIP_Y   96
#define MAP_STRIP_H   40
#define MAP_HOLE_W    28       /* a hole in the address space, whatever its size */
#define MAP_ROWS_Y    200
#define MAP_ROW_H     48

struct map_ctx {
	const char *vm_name;       /* --vm rN; NULL: the first VM */
	char found_name[64];       /* the result the map was taken from */
	struct mv_vm_range *ranges;
	long n;
	int failed_steps;
	int err;                   /* no VM, or out of memory */
	char names[256];           /* the results the scenario names, for messages */
	uint64_t epc_usage, epc_limit;   /* SGX: EPC pages charged to the VM, its limit (0: none) */
};

static void map_usage(FILE *out)
{
	fprintf(out,
		"usage: memvisor map [--vm NAME] [--html] [-o FILE] [--machine LIST]\n"
		"                    SCENARIO\n"
		"\n"
		"Runs a scenario that builds a VM and draws the VM's guest-physical\n"
		"memory map: every range, shared or private, R/W/X, immutable, tagged,\n"
		"EPC, dirty-logged. The drawing is one self-contained SVG file.\n"
		"\n"
		"  --vm NAME        the VM: the result that holds its fd (r1); by\n"
		"                   default the first VM the scenario created\n"
		"  --html           an HTML page with the drawing and a table instead\n"
		"  -o, --output FILE  write to FILE instead of standard output\n"
		"  --machine LIST   machine settings, as for 'memvisor run'\n"
		"  --help           this text\n"
		"\n"
		"exit status: 0 drawn, 1 a step failed, no VM was found or the file\n"
		"could not be written, 2 usage error\n");
}

/* ---- finding the VM when the scenario ends ---- */

static long map_try(struct map_ctx *mc, const struct lang_run_state *st, int slot)
{
	uint64_t v = st->values[slot];

	if (v > INT_MAX)
		return -EBADF;
	for (int t = 0; t < st->ntasks; t++) {
		long n;

		if (!st->tasks[t])
			continue;
		n = mv_vm_memory_map(st->tasks[t], (int)v, NULL, 0);
		if (n < 0)
			continue;
		mc->ranges = calloc((size_t)(n ? n : 1), sizeof(*mc->ranges));
		if (!mc->ranges)
			return -ENOMEM;
		mc->n = mv_vm_memory_map(st->tasks[t], (int)v, mc->ranges, (size_t)n);
		if (mc->n > n)
			mc->n = n;
		if (mv_vm_epc_usage(st->tasks[t], (int)v, &mc->epc_usage, &mc->epc_limit))
			mc->epc_usage = mc->epc_limit = 0;
		snprintf(mc->found_name, sizeof(mc->found_name), "%s", st->value_names[slot]);
		return 0;
	}
	return -EBADF;
}

/* "r0, r1, r2" for a message about --vm; "none" if the scenario names no result. */
static void map_list_names(struct map_ctx *mc, const struct lang_run_state *st)
{
	size_t off = 0;

	snprintf(mc->names, sizeof(mc->names), "none");
	for (int i = 0; i < st->nvalues && off < sizeof(mc->names); i++)
		off += (size_t)snprintf(mc->names + off, sizeof(mc->names) - off, "%s%s",
					i ? ", " : "", st->value_names[i]);
}

/*
 * The VM: --vm's result, or the first result that holds a VM fd. mc->err:
 * -ESRCH the scenario names no such result, -EBADF it names one that holds
 * no VM fd, -ENOENT no result holds one.
 */
static void map_on_end(void *ctx, const struct lang_run_state *st)
{
	struct map_ctx *mc = ctx;

	mc->err = mc->vm_name ? -ESRCH : -ENOENT;
	map_list_names(mc, st);
	for (int slot = 0; slot < st->nvalues; slot++) {
		long ret;

		if (mc->vm_name && strcmp(mc->vm_name, st->value_names[slot]))
			continue;
		ret = map_try(mc, st, slot);
		if (ret != -EBADF) {
			mc->err = (int)ret;
			return;
		}
		if (mc->vm_name)
			mc->err = -EBADF;
	}
}

static void map_on_step(void *ctx, const struct lang_step_report *r)
{
	struct map_ctx *mc = ctx;

	if (r->status != LANG_STEP_FAILED)
		return;
	mc->failed_steps++;
	cli_print_failure(stderr, r);
}

/* ---- words and numbers ---- */

static void map_size(char *buf, size_t size, uint64_t bytes)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
	unsigned int u = 0;

	while (u + 1 < sizeof(units) / sizeof(units[0]) && bytes >= 1024 && !(bytes % 1024)) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, size, "%llu %s", (unsigned long long)bytes, units[u]);
}

/* A total, to one decimal: "4.1 MiB". */
static void map_size_approx(char *buf, size_t size, uint64_t bytes)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	unsigned int u = 0;

	while (u + 1 < sizeof(units) / sizeof(units[0]) && v >= 1024) {
		v /= 1024;
		u++;
	}
	if (u && v != (double)(uint64_t)v)
		snprintf(buf, size, "%.1f %s", v, units[u]);
	else
		snprintf(buf, size, "%.0f %s", v, units[u]);
}

static const char *map_kind(uint32_t f)
{
	if (f & MV_RANGE_EPC)
		return "EPC";
	if (f & MV_RANGE_PRIVATE)
		return "private";
	return "shared";
}

/* ---- the drawing ---- */

static void map_svg_head(FILE *out, const struct map_ctx *mc, const char *file, int height)
{
	uint64_t total = 0;
	char size[32];

	for (long i = 0; i < mc->n; i++)
		total += mc->ranges[i].size;
	map_size_approx(size, sizeof(size), total);
	fprintf(out,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
		"<title>Memory map of VM ",
		MAP_W, height, MAP_W, height);
	cli_xml(out, mc->found_name);
	fprintf(out, "</title>\n"
		"<defs>\n"
		"<pattern id=\"ro\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\" "
		"patternTransform=\"rotate(45)\"><rect width=\"8\" height=\"8\" fill=\"none\"/>"
		"<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"8\" stroke=\"#ffffff\" stroke-width=\"3\" "
		"stroke-opacity=\"0.55\"/></pattern>\n"
		"<pattern id=\"hole\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
		"patternTransform=\"rotate(-45)\"><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" "
		"stroke=\"#b8b8b8\" stroke-width=\"1.5\"/></pattern>\n"
		"</defs>\n"
		"<style>\n"
		".shared{fill:#2f7dbd}.private{fill:#8a4bc2}.EPC{fill:#d8871c}\n"
		".mono{font-family:DejaVu Sans Mono, Menlo, Consolas, monospace}\n"
		".t{font-size:13px;fill:#222}.s{font-size:11px;fill:#555}\n"
		".on{fill:#1d7a3a}.off{fill:#c9c9c9}.chip{font-size:11px;font-weight:bold;fill:#fff}\n"
		"</style>\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"#fbfbfa\"/>\n"
		"<text x=\"24\" y=\"36\" font-size=\"20\" font-weight=\"bold\" fill=\"#222\">"
		"Memory map of VM ");
	cli_xml(out, mc->found_name);
	fprintf(out, "</text>\n<text x=\"24\" y=\"58\" class=\"s\">");
	cli_xml(out, file);
	fprintf(out, " \xc2\xb7 %ld range%s \xc2\xb7 %s of guest memory", mc->n,
		mc->n == 1 ? "" : "s", size);
	if (mc->epc_usage || mc->epc_limit)
		fprintf(out, " \xc2\xb7 %llu EPC pages", (unsigned long long)mc->epc_usage);
	if (mc->epc_limit)
		fprintf(out, " (limit %llu)", (unsigned long long)mc->epc_limit);
	fprintf(out, "</text>\n");
}

/* A range's share of the strip: grows with the log of its size, so small ones stay visible. */
static double map_strip_weight(uint64_t size)
{
	int log = 0;

	for (uint64_t pages = size >> 12; pages > 1; pages >>= 1)
		log++;
	return 2.0 + log / 2.0;
}

/* The address-space strip: ranges in GPA order, widths by size, holes squeezed. */
static void map_svg_strip(FILE *out, const struct map_ctx *mc)
{
	double x = 24, avail = MAP_W - 48, weight = 0, unit;
	int holes = 0;

	for (long i = 0; i < mc->n; i++) {
		weight += map_strip_weight(mc->ranges[i].size);
		holes += i && mc->ranges[i - 1].gpa + mc->ranges[i - 1].size != mc->ranges[i].gpa;
	}
	unit = weight > 0 ? (avail - holes * MAP_HOLE_W) / weight : 0;
	fprintf(out, "<text x=\"24\" y=\"%d\" class=\"t\" font-weight=\"bold\">"
		"Guest-physical address space</text><text x=\"240\" y=\"%d\" class=\"s\">"
		"(not to scale: widths grow with the log of the size, every hole is drawn "
		"alike)</text>\n", MAP_STRIP_Y - 10, MAP_STRIP_Y - 10);
	for (long i = 0; i < mc->n; i++) {
		const struct mv_vm_range *r = &mc->ranges[i];
		double w = map_strip_weight(r->size) * unit;

		if (i && mc->ranges[i - 1].gpa + mc->ranges[i - 1].size != r->gpa) {
			char hole[32];

			map_size_approx(hole, sizeof(hole), r->gpa - mc->ranges[i - 1].gpa -
					mc->ranges[i - 1].size);
			fprintf(out, "<rect x=\"%.1f\" y=\"%d\" width=\"%d\" height=\"%d\" "
				"fill=\"url(#hole)\"><title>hole of %s (drawn at a fixed width)"
				"</title></rect>\n", x, MAP_STRIP_Y, MAP_HOLE_W, MAP_STRIP_H, hole);
			x += MAP_HOLE_W;
		}
		fprintf(out, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" class=\"%s\" "
			"stroke=\"#fbfbfa\" stroke-width=\"1\"/>\n", x, MAP_STRIP_Y, w, MAP_STRIP_H,
			map_kind(r->flags));
		if (!(r->flags & MV_RANGE_WRITE))
			fprintf(out, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
				"fill=\"url(#ro)\"/>\n", x, MAP_STRIP_Y, w, MAP_STRIP_H);
		if (w >= 80)   /* room for the address under it */
			fprintf(out, "<text x=\"%.1f\" y=\"%d\" class=\"s mono\">0x%llx</text>\n",
				x + 2, MAP_STRIP_Y + MAP_STRIP_H + 14, (unsigned long long)r->gpa);
		x += w;
	}
}

static void map_svg_chip(FILE *out, double x, int y, const char *label, bool on, int w)
{
	fprintf(out, "<rect x=\"%.1f\" y=\"%d\" width=\"%d\" height=\"18\" rx=\"4\" class=\"%s\"/>"
		"<text x=\"%.1f\" y=\"%d\" class=\"chip\" text-anchor=\"middle\">%s</text>\n",
		x, y, w, on ? "on" : "off", x + w / 2.0, y + 13, label);
}

static void map_svg_row(FILE *out, const struct mv_vm_range *r, int y)
{
	static const struct { uint32_t bit; const char *label; int w; } chips[] = {
		{ MV_RANGE_READ, "R", 20 }, { MV_RANGE_WRITE, "W", 20 }, { MV_RANGE_EXEC, "X", 20 },
		{ MV_RANGE_IMMUTABLE, "immutable", 70 }, { MV_RANGE_TAGGED, "tagged", 52 },
		{ MV_RANGE_DIRTY_LOG, "dirty log", 64 },
	};
	const char *kind = map_kind(r->flags);
	char size[32];
	double x = 500;

	map_size(size, sizeof(size), r->size);
	fprintf(out, "<g><title>%s, %s at 0x%llx (slot %u)</title>\n", kind, size,
		(unsigned long long)r->gpa, r->slot);
	fprintf(out, "<text x=\"24\" y=\"%d\" class=\"t mono\">0x%010llx\xe2\x80\x93"
		"0x%010llx</text>\n", y + 20, (unsigned long long)r->gpa,
		(unsigned long long)(r->gpa + r->size - 1));
	if ((r->flags & MV_RANGE_PRIVATE) && r->gmem_fd >= 0)   /* not the VMM's page */
		fprintf(out, "<text x=\"24\" y=\"%d\" class=\"s\">%s \xc2\xb7 slot %u \xc2\xb7 "
			"backed by guest_memfd fd %d at 0x%llx</text>\n", y + 36, size, r->slot,
			r->gmem_fd, (unsigned long long)r->gmem_offset);
	else if (r->flags & MV_RANGE_PRIVATE)
		fprintf(out, "<text x=\"24\" y=\"%d\" class=\"s\">%s \xc2\xb7 slot %u \xc2\xb7 "
			"no guest_memfd: an access exits to the VMM</text>\n", y + 36, size, r->slot);
	else
		fprintf(out, "<text x=\"24\" y=\"%d\" class=\"s\">%s \xc2\xb7 slot %u \xc2\xb7 "
			"VMM address 0x%llx</text>\n", y + 36, size, r->slot,
			(unsigned long long)r->hva);
	fprintf(out, "<rect x=\"330\" y=\"%d\" width=\"150\" height=\"30\" rx=\"5\" "
		"class=\"%s\"/>\n", y + 6, kind);
	if (!(r->flags & MV_RANGE_WRITE))
		fprintf(out, "<rect x=\"330\" y=\"%d\" width=\"150\" height=\"30\" rx=\"5\" "
			"fill=\"url(#ro)\"/>\n", y + 6);
	fprintf(out, "<text x=\"405\" y=\"%d\" class=\"chip\" font-size=\"13\" "
		"text-anchor=\"middle\">%s%s</text>\n", y + 26, kind,
		r->flags & MV_RANGE_WRITE ? "" : ", read-only");
	for (size_t i = 0; i < sizeof(chips) / sizeof(chips[0]); i++) {
		map_svg_chip(out, x, y + 12, chips[i].label, r->flags & chips[i].bit, chips[i].w);
		x += chips[i].w + 6;
	}
	fprintf(out, "</g>\n");
}

static void map_svg_legend(FILE *out, int y)
{
	fprintf(out,
		"<text x=\"24\" y=\"%d\" class=\"t\" font-weight=\"bold\">Legend</text>\n"
		"<rect x=\"24\" y=\"%d\" width=\"18\" height=\"14\" class=\"shared\"/>"
		"<text x=\"48\" y=\"%d\" class=\"s\">shared: the VMM can read it</text>\n"
		"<rect x=\"230\" y=\"%d\" width=\"18\" height=\"14\" class=\"private\"/>"
		"<text x=\"254\" y=\"%d\" class=\"s\">private: only the guest</text>\n"
		"<rect x=\"410\" y=\"%d\" width=\"18\" height=\"14\" class=\"EPC\"/>"
		"<text x=\"434\" y=\"%d\" class=\"s\">SGX EPC</text>\n"
		"<rect x=\"510\" y=\"%d\" width=\"18\" height=\"14\" class=\"shared\"/>"
		"<rect x=\"510\" y=\"%d\" width=\"18\" height=\"14\" fill=\"url(#ro)\"/>"
		"<text x=\"534\" y=\"%d\" class=\"s\">striped: read-only</text>\n"
		"<rect x=\"660\" y=\"%d\" width=\"18\" height=\"14\" fill=\"url(#hole)\"/>"
		"<text x=\"684\" y=\"%d\" class=\"s\">hole (no memslot)</text>\n"
		"<text x=\"24\" y=\"%d\" class=\"s\">Green chips: what stage 2 allows or "
		"marks; grey: not.</text>\n"
		"<text x=\"24\" y=\"%d\" class=\"s\">Not to scale: a range's width grows "
		"with the log of its size (small ranges stay visible); every hole has one width, "
		"whatever its size.</text>\n",
		y, y + 10, y + 22, y + 10, y + 22, y + 10, y + 22, y + 10, y + 10, y + 22, y + 10,
		y + 22, y + 44, y + 60);
}

static void map_svg(FILE *out, const struct map_ctx *mc, const char *file)
{
	int legend = MAP_ROWS_Y + (int)mc->n * MAP_ROW_H + 24;

	map_svg_head(out, mc, file, legend + 80);
	map_svg_strip(out, mc);
	fprintf(out, "<text x=\"24\" y=\"%d\" class=\"t\" font-weight=\"bold\">Ranges</text>\n",
		MAP_ROWS_Y - 10);
	for (long i = 0; i < mc->n; i++)
		map_svg_row(out, &mc->ranges[i], MAP_ROWS_Y + (int)i * MAP_ROW_H);
	if (!mc->n)
		fprintf(out, "<text x=\"24\" y=\"%d\" class=\"s\">This VM has no memory "
			"slots.</text>\n", MAP_ROWS_Y + 20);
	map_svg_legend(out, legend);
	fprintf(out, "</svg>\n");
}

/* Where a range's bytes are: the VMM's memory, or a guest_memfd (or nowhere). */
static void map_backing(char *buf, size_t size, const struct mv_vm_range *r)
{
	if (!(r->flags & MV_RANGE_PRIVATE))
		snprintf(buf, size, "VMM at 0x%llx", (unsigned long long)r->hva);
	else if (r->gmem_fd >= 0)
		snprintf(buf, size, "guest_memfd fd %d at 0x%llx", r->gmem_fd,
			 (unsigned long long)r->gmem_offset);
	else
		snprintf(buf, size, "none (no guest_memfd)");
}

/* The page: the drawing, then the same facts as a table. */
static void map_html(FILE *out, const struct map_ctx *mc, const char *file)
{
	fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
		"<title>Memory map of VM ");
	cli_xml(out, mc->found_name);
	fprintf(out, "</title>\n<style>\nbody{font-family:sans-serif;margin:24px;color:#222;"
		"background:#fbfbfa}\ntable{border-collapse:collapse;margin-top:16px}\n"
		"th,td{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}\n"
		"td.n{font-family:monospace}\n</style>\n</head>\n<body>\n");
	map_svg(out, mc, file);
	fprintf(out, "<table>\n<tr><th>GPA</th><th>size</th><th>kind</th><th>access</th>"
		"<th>marks</th><th>slot</th><th>bytes held by</th></tr>\n");
	for (long i = 0; i < mc->n; i++) {
		const struct mv_vm_range *r = &mc->ranges[i];
		char size[32], backing[64];

		map_size(size, sizeof(size), r->size);
		map_backing(backing, sizeof(backing), r);
		fprintf(out, "<tr><td class=\"n\">0x%llx</td><td>%s</td><td>%s</td>"
			"<td class=\"n\">%c%c%c</td><td>%s%s%s%s</td><td>%u</td>"
			"<td class=\"n\">%s</td></tr>\n", (unsigned long long)r->gpa, size,
			map_kind(r->flags), r->flags & MV_RANGE_READ ? 'R' : '-',
			r->flags & MV_RANGE_WRITE ? 'W' : '-', r->flags & MV_RANGE_EXEC ? 'X' : '-',
			r->flags & MV_RANGE_IMMUTABLE ? "immutable " : "",
			r->flags & MV_RANGE_TAGGED ? "tagged " : "",
			r->flags & MV_RANGE_DIRTY_LOG ? "dirty log" : "",
			r->flags & (MV_RANGE_IMMUTABLE | MV_RANGE_TAGGED | MV_RANGE_DIRTY_LOG) ?
			"" : "&#8212;", r->slot, backing);
	}
	fprintf(out, "</table>\n</body>\n</html>\n");
}

/* ---- the verb ---- */

/* Runs @path and leaves the VM's map in @mc. CLI_OK or CLI_FAIL, after a message. */
static int map_run(const char *path, struct lang_run_opts *opts, struct map_ctx *mc)
{
	struct lang_program *p;
	struct lang_run_result res;
	struct lang_diag diag;
	size_t len;
	char *src;
	int ret;

	if (cli_load_scenario("map", path, MAP_FILE_MAX, &src, &len, &p))
		return CLI_FAIL;
	opts->on_step = map_on_step;
	opts->step_ctx = mc;
	opts->on_end = map_on_end;
	opts->end_ctx = mc;
	ret = lang_run(p, opts, &res, &diag);
	if (ret)
		fprintf(stderr, "%s: error: %s\n", path, diag.msg);
	else if (res.failed)
		fprintf(stderr, "%s: %d of %d steps failed: no map drawn\n", path, res.failed,
			res.steps);
	else if (mc->err == -ENOMEM)
		fprintf(stderr, "memvisor map: out of memory\n");
	else if (mc->err == -ESRCH)
		fprintf(stderr, "%s: --vm %s: '%s' is not defined in the scenario (its results: "
			"%s)\n", path, mc->vm_name, mc->vm_name, mc->names);
	else if (mc->err == -EBADF)
		fprintf(stderr, "%s: --vm %s: %s is defined but does not hold a VM fd when the "
			"scenario ends\n", path, mc->vm_name, mc->vm_name);
	else if (mc->err)
		fprintf(stderr, "%s: the scenario leaves no VM (KVM_CREATE_VM) to draw\n", path);
	lang_program_free(p);
	free(src);
	return ret || res.failed || mc->err ? CLI_FAIL : CLI_OK;
}

int cli_map(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "vm", required_argument, NULL, 'v' },
		{ "html", no_argument, NULL, 'H' },
		{ "output", required_argument, NULL, 'o' },
		{ "machine", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct map_ctx mc = { 0 };
	struct lang_run_opts opts;
	struct lang_machine_opts mo;
	struct lang_diag diag;
	const char *output = NULL;
	bool html = false;
	FILE *out = stdout;
	int c, ret;

	memset(&opts, 0, sizeof(opts));
	while ((c = getopt_long(argc, argv, "v:Ho:m:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'v':
			mc.vm_name = optarg;
			break;
		case 'H':
			html = true;
			break;
		case 'o':
			output = optarg;
			break;
		case 'm':
			if (lang_machine_opts_parse(optarg, &mo, &diag)) {
				fprintf(stderr, "memvisor map: --machine: column %d: %s\n", diag.col,
					diag.msg);
				return CLI_USAGE;
			}
			lang_machine_opts_merge(&opts.machine, &mo);
			break;
		case 'h':
			map_usage(stdout);
			return CLI_OK;
		default:
			map_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "memvisor map: %s\n", optind >= argc ? "no scenario file given" :
			"one scenario file at a time");
		map_usage(stderr);
		return CLI_USAGE;
	}
	ret = map_run(argv[optind], &opts, &mc);
	if (ret == CLI_OK && output) {
		out = fopen(output, "w");
		if (!out) {
			fprintf(stderr, "memvisor map: %s: %s\n", output, strerror(errno));
			ret = CLI_FAIL;
		}
	}
	if (ret == CLI_OK) {
		if (html)
			map_html(out, &mc, argv[optind]);
		else
			map_svg(out, &mc, argv[optind]);
		bool bad = ferror(out);

		bad |= (out == stdout ? fflush(out) : fclose(out)) != 0;
		if (bad) {
			fprintf(stderr, "memvisor map: %s: write error\n", output ? output : "stdout");
			ret = CLI_FAIL;
		}
	}
	free(mc.ranges);
	return ret;
}
