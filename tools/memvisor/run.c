/* SPDX-License-Identifier: MIT */
/*
 * memvisor run: runs scenario files (docs/scenario-language.md) and reports
 * every step that did not do what the scenario expects, with the step's
 * source line, what was expected and what happened. Exit 0 when every step
 * of every file met its expectation, 1 otherwise, 2 on a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lang/lang.h"

#define RUN_FILE_MAX (16u << 20)

struct run_ctx {
	bool quiet;
	FILE *trace;
	const char *trace_path;
	bool trace_error;
	const struct lang_step *header_during;  /* the guest operations announced last */
	const struct lang_step *header_parent;
};

static void run_usage(FILE *out)
{
	fprintf(out,
		"usage: memvisor run [--trace FILE] [--seed N] [--machine KEY=VALUE,...]\n"
		"                    [--quiet] FILE...\n"
		"\n"
		"Runs scenario files: syscall programs with expectations, in syzkaller's\n"
		"syntax (see docs/scenario-language.md). Each file runs on a new machine.\n"
		"\n"
		"  --trace FILE     write every protection-relevant event and every step\n"
		"                   as JSON lines; same scenario and seed, same bytes\n"
		"  --seed N         seed the machine's PRNGs (overrides machine(seed=...))\n"
		"  --machine LIST   override machine(...) settings: ram=SIZE,\n"
		"                   features_off=MTE|SGX|..., epc=SIZE, abi=mainline|seed,\n"
		"                   seed=N; a SIZE is bytes, or 64K, 64M, 1G\n"
		"  --quiet          print only failures\n"
		"  --help           this text\n"
		"\n"
		"exit status: 0 all expectations met, 1 a step failed or a file did not\n"
		"parse, 2 usage error\n");
}

/*
 * Guest operations run inside a later KVM_RUN and are reported then, before
 * that KVM_RUN's own line: a header says which KVM_RUN runs which guest
 * program, so the log never shows them out of order unannounced.
 */
static void run_op_header(struct run_ctx *rc, const struct lang_step_report *r)
{
	const struct lang_step *parent = lang_step_parent(r->step);

	if (!parent) {
		rc->header_during = NULL;
		return;
	}
	if (rc->header_during == r->during && rc->header_parent == parent)
		return;
	rc->header_during = r->during;
	rc->header_parent = parent;
	if (r->during && r->during != parent)
		printf("           inside the KVM_RUN of line %d, the guest program of line %d:\n",
		       lang_step_pos(r->during).line, lang_step_pos(parent).line);
	else
		printf("           never finished by a KVM_RUN, the guest program of line %d:\n",
		       lang_step_pos(parent).line);
}

/* "  ok   12  STEP AS WRITTEN   -> RESULT", a wrapped step on several lines. */
static void run_print_ok(const struct lang_step_report *r)
{
	int in = lang_step_parent(r->step) ? 13 : 11, col;
	char *text = cli_step_text(r->step, 0);

	printf("  ok %4d  %*s", lang_step_pos(r->step).line, in - 11, "");
	col = cli_put_lines(stdout, text ? text : "?", in, in);
	printf("%*s -> %s\n", col < 71 ? 71 - col : 0, "", r->got);
	free(text);
}

static void run_on_step(void *ctx, const struct lang_step_report *r)
{
	struct run_ctx *rc = ctx;
	char *text;

	if (rc->quiet && r->status != LANG_STEP_FAILED)
		return;
	if (!rc->quiet)
		run_op_header(rc, r);
	if (r->status == LANG_STEP_FAILED) {
		cli_print_failure(stdout, r);
	} else if (r->status == LANG_STEP_SKIPPED) {
		text = cli_step_text(r->step, LANG_SRC_CALL | LANG_SRC_FLAT);
		printf("%s:%d: skipped: %s (%s)\n", r->file, lang_step_pos(r->step).line,
		       text ? text : "?", r->diag.msg);
		free(text);
	} else if (r->status == LANG_STEP_NOTE) {
		text = cli_step_text(r->step, 0);
		printf("%s:%d: note: ", r->file, lang_step_pos(r->step).line);
		cli_put_lines(stdout, text ? text : "?", 0, 2);
		printf(" -> %s (no expectation; the call failed)\n", r->got);
		free(text);
	} else {
		run_print_ok(r);
	}
}

static void run_trace_sink(void *ctx, const char *line, size_t len)
{
	struct run_ctx *rc = ctx;

	if (fwrite(line, 1, len, rc->trace) != len)
		rc->trace_error = true;
}

/* One file: parse, run, report. Returns CLI_OK or CLI_FAIL. */
static int run_file(const char *path, struct lang_run_opts *opts, struct run_ctx *rc)
{
	struct lang_program *p;
	struct lang_run_result res;
	struct lang_diag diag;
	char skipped[64];
	size_t len;
	char *src;
	int ret;

	if (cli_load_scenario("run", path, RUN_FILE_MAX, &src, &len, &p))
		return CLI_FAIL;
	if (!rc->quiet)
		printf("%s\n", path);
	ret = lang_run(p, opts, &res, &diag);
	snprintf(skipped, sizeof(skipped), ", %d skipped (their task crashed)", res.skipped);
	if (ret)
		fprintf(stderr, "%s: error: %s\n", path, diag.msg);
	else if (!rc->quiet || res.failed)
		printf("%s: %d step%s, %d failed%s\n", path, res.steps, res.steps == 1 ? "" : "s",
		       res.failed, res.skipped ? skipped : "");
	lang_program_free(p);
	free(src);
	return ret || res.failed ? CLI_FAIL : CLI_OK;
}

static int run_options(int argc, char **argv, struct lang_run_opts *opts, struct run_ctx *rc)
{
	static const struct option longopts[] = {
		{ "trace", required_argument, NULL, 't' },
		{ "seed", required_argument, NULL, 's' },
		{ "machine", required_argument, NULL, 'm' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lang_machine_opts mo;
	struct lang_diag diag;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "t:s:m:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			rc->trace_path = optarg;
			break;
		case 's':
			errno = 0;
			opts->machine.cfg.seed = strtoull(optarg, &end, 0);
			if (errno || !*optarg || *end) {
				fprintf(stderr, "memvisor run: --seed wants a number, got '%s'\n", optarg);
				return CLI_USAGE;
			}
			opts->machine.seed_set = true;
			break;
		case 'm':
			if (lang_machine_opts_parse(optarg, &mo, &diag)) {
				fprintf(stderr, "memvisor run: --machine: column %d: %s\n", diag.col,
					diag.msg);
				return CLI_USAGE;
			}
			lang_machine_opts_merge(&opts->machine, &mo);
			break;
		case 'q':
			rc->quiet = true;
			break;
		case 'h':
			run_usage(stdout);
			return -1;
		default:
			run_usage(stderr);
			return CLI_USAGE;
		}
	}
	return CLI_OK;
}

int cli_run(int argc, char **argv)
{
	struct lang_run_opts opts;
	struct run_ctx rc;
	int ret, failed = 0;

	memset(&opts, 0, sizeof(opts));
	memset(&rc, 0, sizeof(rc));
	ret = run_options(argc, argv, &opts, &rc);
	if (ret)
		return ret < 0 ? CLI_OK : ret;
	if (optind >= argc) {
		fprintf(stderr, "memvisor run: no scenario file given\n");
		run_usage(stderr);
		return CLI_USAGE;
	}
	if (rc.trace_path) {
		rc.trace = fopen(rc.trace_path, "w");
		if (!rc.trace) {
			fprintf(stderr, "memvisor run: %s: %s\n", rc.trace_path, strerror(errno));
			return CLI_FAIL;
		}
		opts.trace = run_trace_sink;
		opts.trace_ctx = &rc;
	}
	opts.on_step = run_on_step;
	opts.step_ctx = &rc;
	for (int i = optind; i < argc; i++)
		failed += run_file(argv[i], &opts, &rc) != CLI_OK;
	if (rc.trace && (fclose(rc.trace) || rc.trace_error)) {
		fprintf(stderr, "memvisor run: %s: write error\n", rc.trace_path);
		failed++;
	}
	if (argc - optind > 1 && (!rc.quiet || failed))
		printf("%d file%s, %d failed\n", argc - optind, argc - optind == 1 ? "" : "s", failed);
	return failed ? CLI_FAIL : CLI_OK;
}
