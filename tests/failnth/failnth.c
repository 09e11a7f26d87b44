/* SPDX-License-Identifier: MIT */
/*
 * failnth: the fail-nth sweep over scenario files (docs/testing.md).
 *
 * For every system call, ioctl and clone of a scenario (with --all-steps,
 * every step that calls into the machine), and for n = 1, 2, ...: run the
 * scenario from the start, make the call's n-th allocation fail
 * (lib_fail_after, which the frame allocator obeys too), then check that
 *
 *   - the call answered an errno Linux gives there (verdict.c), not a
 *     signal, not a different success;
 *   - the state a later call could see is what it was before the call
 *     (digest.c: tasks, VMAs and page tables, fd tables, files, VMs, free
 *     frames), but for what Linux leaves changed too (verdict.c);
 *   - the call, run again without a failure, and every later step give
 *     exactly what they give in a run without injection, and once every
 *     task has exited every frame is free again;
 *
 * until n passes the number of allocations the call makes. A call that
 * absorbs a failure (succeeds anyway) must leave a run indistinguishable
 * from one without injection. Under AddressSanitizer, LeakSanitizer checks
 * the host heap after each call's sweep.
 *
 * How a run is steered is run.c's business; this file judges and reports.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "failnth.h"

#if defined(__SANITIZE_ADDRESS__)
#define FN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FN_ASAN 1
#endif
#endif
#ifdef FN_ASAN
#include <sanitizer/common_interface_defs.h>
#include <sanitizer/lsan_interface.h>
#endif

#define FN_FILE_MAX (4u << 20)

/* ---- where we are, for a crash report ---- */

static char fn_where[512];

static void fn_say_where(void)
{
	static const char head[] = "\nfailnth: crashed while running ";
	ssize_t unused;

	/* between files (LeakSanitizer's check at exit) there is nothing to say */
	if (!fn_where[0])
		return;
	unused = write(2, head, sizeof(head) - 1);
	unused = write(2, fn_where, strlen(fn_where));
	unused = write(2, "\n", 1);
	(void)unused;
}

static void fn_crash_handler(int sig)
{
	fn_say_where();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void fn_crash_handlers(void)
{
#ifdef FN_ASAN
	__sanitizer_set_death_callback(fn_say_where);
#endif
	signal(SIGSEGV, fn_crash_handler);
	signal(SIGBUS, fn_crash_handler);
	signal(SIGABRT, fn_crash_handler);
	signal(SIGFPE, fn_crash_handler);
	signal(SIGILL, fn_crash_handler);
}

/* ---- options ---- */

struct fn_opts {
	unsigned long max_n;     /* 0: no cap */
	double budget;           /* seconds per file; 0: none */
	bool all_steps;
	bool quiet;
	bool verbose;
	int only_line;           /* 0: every step */
};

/* ---- the sweep of one file ---- */

struct fn_file {
	const char *path;
	const struct lang_program *p;
	const struct fn_opts *o;
	struct fn_run base;          /* the run without injection */
	struct timespec start;
	/* counts */
	unsigned long calls, points, clean, as_linux, absorbed, harness, defects, capped;
	bool out_of_time;
	bool leak_checked_out;
};

static double fn_elapsed(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) + (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

static void fn_step_text(const struct lang_step *s, char *buf, size_t size)
{
	lang_step_source(s, LANG_SRC_CALL | LANG_SRC_FLAT, buf, size);
}

__attribute__((format(printf, 5, 6)))
static void fn_defect(struct fn_file *f, const struct lang_step *s, unsigned long nth,
		      const char *kind, const char *fmt, ...)
{
	char text[160];
	va_list ap;

	f->defects++;
	fn_step_text(s, text, sizeof(text));
	if (nth)
		printf("%s:%d: %s: allocation #%lu failed: %s: ", f->path, lang_step_pos(s).line,
		       text, nth, kind);
	else
		printf("%s:%d: %s: %s: ", f->path, lang_step_pos(s).line, text, kind);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* The baseline report of step @s (its line and column), or NULL. */
static const struct fn_rep *fn_base_rep(const struct fn_file *f, const struct lang_step *s)
{
	for (size_t i = 0; i < f->base.reps.n; i++) {
		const struct fn_rep *r = &f->base.reps.r[i];

		if (r->line == lang_step_pos(s).line && r->col == lang_step_pos(s).col)
			return r;
	}
	return NULL;
}

/*
 * A call that absorbed a failure by falling back (a 4 KiB page where a
 * 2 MiB folio could not be had) ends with other frames in use: the same
 * state but for memory. Leaks are still caught after teardown.
 */
static const unsigned int fn_memory_may_differ = FN_NORM_MEMORY;

static bool fn_same_end(const char *base, const char *now, unsigned int how, char *d,
			size_t size)
{
	struct fn_buf a = { 0 }, b = { 0 };
	bool same = !strcmp(base, now);

	if (!same && how) {
		fn_digest_normalize(base, how, NULL, &a);
		fn_digest_normalize(now, how, NULL, &b);
		same = !strcmp(a.s, b.s);
	}
	if (!same)
		fn_digest_diff(how ? a.s : base, how ? b.s : now, d, size);
	fn_buf_free(&a);
	fn_buf_free(&b);
	return same;
}

/*
 * Does @run, apart from the injected copy, look exactly like the baseline:
 * the same reports with the same results, the same state at the end and
 * after every task exited? @skip: a baseline report @run does not have
 * (the call, when it ran once, with the failure). If not, @msg says where
 * it first differs.
 */
static bool fn_same_as_base(const struct fn_file *f, const struct fn_run *run,
			    const struct fn_rep *skip, unsigned int end_norm, char *msg, size_t size)
{
	const struct fn_reps *b = &run->reps;
	struct fn_rep *a = malloc((f->base.reps.n + 1) * sizeof(*a));
	size_t na = 0;
	char d[400];
	bool same = false;

	if (!a)
		abort();
	for (size_t i = 0; i < f->base.reps.n; i++) {
		if (&f->base.reps.r[i] != skip)
			a[na++] = f->base.reps.r[i];
	}
	for (size_t i = 0; i < na || i < b->n; i++) {
		if (i >= na || i >= b->n) {
			snprintf(msg, size, "%zu steps reported, %zu without injection", b->n, na);
			goto out;
		}
		if (a[i].line != b->r[i].line || a[i].status != b->r[i].status ||
		    strcmp(a[i].got, b->r[i].got)) {
			snprintf(msg, size, "line %d then gives %.150s (without injection: line %d "
				 "gives %.150s)", b->r[i].line, b->r[i].got, a[i].line, a[i].got);
			goto out;
		}
	}
	if (!fn_same_end(fn_text(&f->base.end), fn_text(&run->end), end_norm, d, sizeof(d))) {
		snprintf(msg, size, "the state at the end is not the same: without injection %s", d);
		goto out;
	}
	if (strcmp(fn_text(&f->base.teardown), fn_text(&run->teardown))) {
		snprintf(msg, size, "%s; without injection %s", fn_text(&run->teardown),
			 fn_text(&f->base.teardown));
		msg[strcspn(msg, "\n")] = ' ';
		goto out;
	}
	same = true;
out:
	free(a);
	return same;
}

static void fn_run_injected(struct fn_file *f, size_t k, unsigned long nth, int copies,
			    struct fn_run *run)
{
	char text[160];

	fn_step_text(&f->p->steps[k], text, sizeof(text));
	snprintf(fn_where, sizeof(fn_where), "%s:%d: %s with allocation #%lu failing", f->path,
		 lang_step_pos(&f->p->steps[k]).line, text, nth);
	fn_run_step(f->p, k, nth, copies, run);
}

/* The call absorbed the failure and succeeded: the whole run must look untouched. */
static void fn_judge_success(struct fn_file *f, size_t k, unsigned long nth,
			     const struct fn_rep *base_k, const struct fn_run *run)
{
	const struct lang_step *s = &f->p->steps[k];
	struct fn_run single;
	char msg[1024];

	if (!base_k || strcmp(base_k->got, run->inj.got)) {
		fn_defect(f, s, nth, "wrong success", "answered %s (without injection: %s)",
			  run->inj.got, base_k ? base_k->got : "no report");
		return;
	}
	memset(&single, 0, sizeof(single));
	fn_run_injected(f, k, nth, 1, &single);
	if (!single.fired || single.harness || single.inj_err) {
		/* the same failure did not happen the same way: count it as the runner's */
		f->harness++;
	} else if (!fn_same_as_base(f, &single, base_k, fn_memory_may_differ, msg, sizeof(msg))) {
		fn_defect(f, s, nth, "failure swallowed", "answered %s as if nothing failed, "
			  "but %s", run->inj.got, msg);
	} else {
		f->absorbed++;
	}
	fn_run_free(&single);
}

/*
 * The state the failed call left, against the state before it: equal, or
 * equal once what Linux leaves changed too is taken out (true, and
 * *as_linux set). Otherwise false and @msg says what differs.
 */
static bool fn_state_kept(const struct lang_step *s, const struct fn_rep *base_k,
			  const struct fn_run *run, const char **as_linux, char *msg, size_t size)
{
	const struct fn_rule *rule = fn_rule_for(s);
	const char *before = fn_text(&run->before), *after = fn_text(&run->after);
	struct fn_buf a = { 0 }, b = { 0 };
	struct fn_gaps gaps = { 0 };
	unsigned int how = rule->norm;
	bool same;

	*as_linux = NULL;
	if (!strcmp(before, after))
		return true;
	if (fn_digest_only_pgtables(before, after)) {
		*as_linux = "page tables a fault built before its page allocation failed stay";
		return true;
	}
	if ((how & FN_NORM_GAP) && !(base_k && fn_gap_ranges(s, base_k->got, &gaps)))
		how &= ~FN_NORM_GAP;
	fn_digest_normalize(before, how, &gaps, &a);
	fn_digest_normalize(after, how, &gaps, &b);
	same = how && !strcmp(a.s, b.s);
	if (same)
		*as_linux = rule->why;
	else
		fn_digest_diff(how ? a.s : before, how ? b.s : after, msg, size);
	fn_buf_free(&a);
	fn_buf_free(&b);
	return same;
}

/*
 * Did the failed call move part of its own source away, as a move of
 * several VMAs that stops part way does in Linux (remap_move())? Then its
 * retry (the first report of its line after the failed copy's) finds the
 * range's start moved and must answer -EFAULT, as Linux's does; with
 * MREMAP_DONTUNMAP the source stays mapped, so the retry moves it all
 * again and must answer what the call answers without injection (the
 * pages moved before the failure read zero after it, in Linux too).
 */
static bool fn_moved_part(const struct lang_step *s, const struct fn_rep *base_k,
			  const struct fn_run *run)
{
	int line = lang_step_pos(s).line;
	struct fn_gaps gaps;

	if (!base_k || !fn_gap_ranges(s, base_k->got, &gaps) || gaps.n != 2 ||
	    !strcmp(fn_text(&run->before), fn_text(&run->after)))
		return false;
	for (size_t i = 0; i < run->reps.n; i++) {
		if (run->reps.r[i].line == line)
			return !strcmp(run->reps.r[i].got,
				       fn_remap_keeps_source(s) ? base_k->got : "-EFAULT");
	}
	return false;
}

/* The call failed: with an errno Linux gives, leaving nothing behind, retryable. */
static void fn_judge_failure(struct fn_file *f, size_t k, unsigned long nth,
			     const struct fn_rep *base_k, const struct fn_run *run, int err)
{
	const struct lang_step *s = &f->p->steps[k];
	const char *why;
	char msg[1024];
	bool same = base_k && !strcmp(base_k->got, run->inj.got);
	const char *as_linux;

	if (!same && !fn_errno_allowed(s, err, &why)) {
		fn_defect(f, s, nth, "wrong errno", "answered %s (expected: %s; without injection: "
			  "%s)", run->inj.got, why, base_k ? base_k->got : "no report");
		return;
	}
	if (!same && base_k && fn_got_parse(base_k->got).kind == FN_GOT_ERRNO &&
	    !fn_rule_for(s)->early) {
		fn_defect(f, s, nth, "checks after allocating", "answered %s where Linux answers "
			  "%s whatever memory there is", run->inj.got, base_k->got);
		return;
	}
	if (!fn_state_kept(s, base_k, run, &as_linux, msg, sizeof(msg))) {
		fn_defect(f, s, nth, "state changed", "answered %s but left what was %s",
			  run->inj.got, msg);
		return;
	}
	if (!fn_same_as_base(f, run, NULL, 0, msg, sizeof(msg))) {
		if (!fn_moved_part(s, base_k, run)) {
			fn_defect(f, s, nth, "retry differs", "answered %s; run again: %s",
				  run->inj.got, msg);
			return;
		}
		as_linux = fn_remap_keeps_source(s) ?
			   "a move of several VMAs stopped part way; its retry moves them again" :
			   "a move of several VMAs stopped part way; its retry answers -EFAULT";
	}
	if (as_linux && f->o->verbose)
		printf("  %s:%d: #%lu: changed what Linux changes too (%s)\n", f->path,
		       lang_step_pos(s).line, nth, as_linux);
	f->as_linux += as_linux != NULL;
	f->clean++;
}

/*
 * The call raised a signal. Linux does so in a few places (the task dies
 * of it); then the task's later steps are skipped, so only the teardown
 * can be compared: every frame must come back all the same.
 */
static void fn_judge_signal(struct fn_file *f, size_t k, unsigned long nth,
			    const struct fn_run *run)
{
	const struct lang_step *s = &f->p->steps[k];

	if (!fn_signal_allowed(s, run->inj.got)) {
		fn_defect(f, s, nth, "signal", "the call raised %s", run->inj.got);
		return;
	}
	if (strcmp(fn_text(&f->base.teardown), fn_text(&run->teardown))) {
		fn_defect(f, s, nth, "leak", "raised %s, as Linux does, but %s; without injection "
			  "%s", run->inj.got, fn_text(&run->teardown), fn_text(&f->base.teardown));
		return;
	}
	f->as_linux++;
	f->clean++;
}

/* One injection: false once @nth is past the call's allocations. */
static bool fn_try(struct fn_file *f, size_t k, unsigned long nth)
{
	const struct lang_step *s = &f->p->steps[k];
	const struct fn_rep *base_k = fn_base_rep(f, s);
	struct fn_run run;
	struct fn_got got;

	memset(&run, 0, sizeof(run));
	fn_run_injected(f, k, nth, 2, &run);
	if (!run.fired) {
		fn_run_free(&run);
		return false;
	}
	f->points++;
	got = fn_got_parse(run.inj.got);
	if (f->o->verbose)
		printf("  %s:%d: #%lu -> %s\n", f->path, lang_step_pos(s).line, nth, run.inj.got);
	if (run.ret)
		fn_defect(f, s, nth, "runner", "the scenario could not run (%d)", run.ret);
	else if (run.inj_err || run.harness)
		f->harness++;
	else if (got.kind == FN_GOT_SIGNAL)
		fn_judge_signal(f, k, nth, &run);
	else if (got.kind == FN_GOT_ERRNO)
		fn_judge_failure(f, k, nth, base_k, &run, got.err);
	else if (got.kind == FN_GOT_VALUE)
		fn_judge_success(f, k, nth, base_k, &run);
	else
		fn_defect(f, s, nth, "odd answer", "answered %s", run.inj.got);
	fn_run_free(&run);
	return true;
}

static void fn_leak_check(struct fn_file *f, const struct lang_step *s)
{
#ifdef FN_ASAN
	if (f->leak_checked_out || !__lsan_do_recoverable_leak_check())
		return;
	/* LeakSanitizer reports a leak again at every check: one report is enough */
	f->leak_checked_out = true;
	fn_defect(f, s, 0, "host memory leaked", "while its allocations failed in turn "
		  "(LeakSanitizer's report is above; later calls are not checked for leaks)");
#else
	(void)f;
	(void)s;
#endif
}

static void fn_sweep_step(struct fn_file *f, size_t k)
{
	const struct lang_step *s = &f->p->steps[k];
	unsigned long nth;

	f->calls++;
	for (nth = 1;; nth++) {
		if (f->o->max_n && nth > f->o->max_n) {
			f->capped++;
			break;
		}
		if (f->o->budget && fn_elapsed(&f->start) > f->o->budget) {
			f->out_of_time = true;
			break;
		}
		if (!fn_try(f, k, nth))
			break;
	}
	fn_leak_check(f, s);
}

static int fn_sweep_file(const char *path, const struct lang_program *p, const struct fn_opts *o)
{
	struct fn_file f = { .path = path, .p = p, .o = o };

	clock_gettime(CLOCK_MONOTONIC, &f.start);
	snprintf(fn_where, sizeof(fn_where), "%s without injection", path);
	f.base.sentinel = f.base.injected = NULL;
	fn_run_program(p, &f.base);
	if (f.base.ret || f.base.res.failed) {
		printf("%s: does not pass without injection (%d failed): not swept\n", path,
		       f.base.res.failed);
		fn_run_free(&f.base);
		fn_where[0] = '\0';
		return 1;
	}
	for (size_t k = 0; k < p->nsteps && !f.out_of_time; k++) {
		if (!fn_step_swept(&p->steps[k], o->all_steps))
			continue;
		if (o->only_line && lang_step_pos(&p->steps[k]).line != o->only_line)
			continue;
		fn_sweep_step(&f, k);
	}
	if (!o->quiet || f.defects || f.out_of_time)
		printf("%s: %lu calls, %lu failed allocations: %lu clean failures (%lu leave what "
		       "Linux leaves), %lu absorbed, %lu in the runner, %lu defects%s%s (%.2f s)\n",
		       path, f.calls, f.points, f.clean, f.as_linux, f.absorbed, f.harness, f.defects,
		       f.capped ? "; some calls capped by --max-n" : "",
		       f.out_of_time ? "; stopped by --budget" : "", fn_elapsed(&f.start));
	fn_run_free(&f.base);
	fn_where[0] = '\0';
	return f.defects ? 1 : 0;
}

/* ---- files and options ---- */

static char *fn_read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *src;

	if (!fp)
		return NULL;
	src = malloc(FN_FILE_MAX + 1);
	if (src) {
		*len = fread(src, 1, FN_FILE_MAX, fp);
		src[*len] = '\0';
	}
	fclose(fp);
	return src;
}

static int fn_file(const char *path, const struct fn_opts *o)
{
	struct lang_program *p;
	struct lang_diag diag;
	size_t len = 0;
	char *src = fn_read_file(path, &len);
	int ret;

	if (!src) {
		fprintf(stderr, "failnth: %s: cannot read it\n", path);
		return 1;
	}
	if (lang_parse(path, src, len, &p, &diag)) {
		fprintf(stderr, "%s:%d:%d: error: %s\n", path, diag.line, diag.col, diag.msg);
		free(src);
		return 1;
	}
	ret = fn_sweep_file(path, p, o);
	lang_program_free(p);
	free(src);
	return ret;
}

static void fn_usage(FILE *out)
{
	fprintf(out,
		"usage: failnth [--max-n N] [--budget SECONDS] [--all-steps] [--line N]\n"
		"               [--exhaustive] [--quiet] [--verbose] FILE...\n"
		"\n"
		"For every system call, ioctl and clone of each scenario, fails its 1st,\n"
		"2nd, ... allocation in turn and checks the call fails cleanly: an errno\n"
		"Linux gives, no state left behind, the retry and the rest of the scenario\n"
		"as without injection, every frame free at the end.\n"
		"\n"
		"  --max-n N        at most N failing allocations per call (0: no cap)\n"
		"  --budget S       stop a file's sweep after S seconds (0: none)\n"
		"  --all-steps      also spawn, guest(...), memory accesses, CPU operations\n"
		"  --line N         only the step on line N\n"
		"  --exhaustive     every step, no cap, no budget (also MV_FAILNTH_EXHAUSTIVE=1)\n"
		"  --quiet          print only defects and a summary for files with any\n"
		"  --verbose        print every failing allocation's answer\n"
		"\n"
		"exit status: 0 no defect, 1 a defect (or a file that does not pass), 2 usage\n");
}

static int fn_options(int argc, char **argv, struct fn_opts *o)
{
	static const struct option longopts[] = {
		{ "max-n", required_argument, NULL, 'n' },
		{ "budget", required_argument, NULL, 'b' },
		{ "all-steps", no_argument, NULL, 'a' },
		{ "line", required_argument, NULL, 'l' },
		{ "exhaustive", no_argument, NULL, 'x' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *env = getenv("MV_FAILNTH_EXHAUSTIVE");
	bool exhaustive = env && *env && strcmp(env, "0");
	int c;

	while ((c = getopt_long(argc, argv, "n:b:al:xqvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o->max_n = strtoul(optarg, NULL, 0);
			break;
		case 'b':
			o->budget = strtod(optarg, NULL);
			break;
		case 'a':
			o->all_steps = true;
			break;
		case 'l':
			o->only_line = atoi(optarg);
			break;
		case 'x':
			exhaustive = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			fn_usage(stdout);
			exit(0);
		default:
			fn_usage(stderr);
			return 2;
		}
	}
	if (exhaustive) {
		o->max_n = 0;
		o->budget = 0;
		o->all_steps = true;
	}
	if (optind >= argc) {
		fn_usage(stderr);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct fn_opts o = { 0 };
	int ret = fn_options(argc, argv, &o), failed = 0;

	if (ret)
		return ret;
	setvbuf(stdout, NULL, _IOLBF, 0);
	fn_crash_handlers();
	for (int i = optind; i < argc; i++)
		failed += fn_file(argv[i], &o);
	return failed ? 1 : 0;
}
