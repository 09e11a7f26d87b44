/* SPDX-License-Identifier: MIT */
/*
 * memvisor bench [--json] [--quick] [--list] [SUITE...]
 * Runs the bench suites; progress on stderr, results on stdout as a table
 * (or JSON). Every figure is a ratio against a baseline measured in the
 * same run.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"
#include "cli.h"

static void bench_usage(FILE *out)
{
	fprintf(out,
		"usage: memvisor bench [--json] [--quick] [--list] [SUITE...]\n"
		"  --json   print results as JSON instead of a table\n"
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

static void print_table(const struct bench_ctx *ctx)
{
	printf("%-6s %-40s %12s  %-34s %12s %9s  %s\n", "suite", "case", "ns/op", "baseline",
	       "base ns/op", "ratio", "note");
	for (unsigned int i = 0; i < ctx->nr_results; i++) {
		const struct bench_result *r = &ctx->results[i];

		if (r->baseline[0])
			printf("%-6s %-40s %12.2f  %-34s %12.2f %8.2fx  %s\n", r->suite, r->name,
			       r->ns_per_op, r->baseline, r->baseline_ns,
			       r->baseline_ns > 0 ? r->ns_per_op / r->baseline_ns : 0.0, r->note);
		else
			printf("%-6s %-40s %12.2f  %-34s %12s %9s  %s\n", r->suite, r->name,
			       r->ns_per_op, "(baseline)", "", "", r->note);
	}
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
	printf("{\"results\":[");
	for (unsigned int i = 0; i < ctx->nr_results; i++) {
		const struct bench_result *r = &ctx->results[i];

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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct bench_ctx ctx;
	bool json = false;
	int c, failed = 0;

	ctx.progress = bench_progress;
	while ((c = getopt_long(argc, argv, "jqlh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'q':
			ctx.quick = true;
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
	return failed ? CLI_FAIL : CLI_OK;
}
