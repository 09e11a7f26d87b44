/* SPDX-License-Identifier: MIT */
/* Running scenarios: results, expectations met and missed, named results, tasks, traces. */
#include <stdlib.h>
#include <string.h>

#include "mvtest.h"
#include "lang/lang.h"

#define MAX_REPORTS 64

struct collected {
	int n;
	enum lang_step_status status[MAX_REPORTS];
	char got[MAX_REPORTS][LANG_MSG_MAX];
	char want[MAX_REPORTS][LANG_MSG_MAX];
	char why[MAX_REPORTS][LANG_MSG_MAX];
	int err[MAX_REPORTS];
	struct lang_pos at[MAX_REPORTS];   /* where diag points */
};

static void collect(void *ctx, const struct lang_step_report *r)
{
	struct collected *c = ctx;

	if (c->n == MAX_REPORTS)
		return;
	c->status[c->n] = r->status;
	strcpy(c->got[c->n], r->got);
	strcpy(c->want[c->n], r->want);
	strcpy(c->why[c->n], r->diag.msg);
	c->err[c->n] = r->err;
	c->at[c->n] = (struct lang_pos){ r->diag.line, r->diag.col };
	c->n++;
}

struct tracebuf {
	char *data;
	size_t len;
};

static void trace_to_buf(void *ctx, const char *line, size_t len)
{
	struct tracebuf *t = ctx;

	t->data = realloc(t->data, t->len + len + 1);
	assert_non_null(t->data);
	memcpy(t->data + t->len, line, len);
	t->len += len;
	t->data[t->len] = '\0';
}

/* Parses and runs @src on a 64 MiB machine; returns the result counts. */
static struct lang_run_result run_src(const char *src, struct collected *c, struct tracebuf *tb)
{
	struct lang_run_opts opts;
	struct lang_run_result res;
	struct lang_program *p;
	struct lang_diag d;

	if (lang_parse("x.mvs", src, strlen(src), &p, &d))
		fail_msg("parse: %d:%d: %s", d.line, d.col, d.msg);
	memset(&opts, 0, sizeof(opts));
	opts.machine.cfg.ram_bytes = 64 << 20;
	opts.machine.ram_set = true;
	opts.on_step = collect;
	opts.step_ctx = c;
	if (tb) {
		opts.trace = trace_to_buf;
		opts.trace_ctx = tb;
	}
	assert_int_equal(lang_run(p, &opts, &res, &d), 0);
	lang_program_free(p);
	return res;
}

static void test_lang_exec_memory_and_signals(void **state)
{
	struct collected *c = test_calloc(1, sizeof(*c));
	struct lang_run_result res = run_src(
		"r1 = mmap(0, 0x2000, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n"
		"write_mem(r1, \"hello\") = 0\n"
		"read_mem(r1, 5) = \"hello\"\n"
		"mprotect(r1, 0x2000, PROT_READ) = 0\n"
		"write_mem(r1+8, x\"00ff\") = signal(SIGSEGV, SEGV_ACCERR, r1+8)\n"
		"read_mem(r1+1, 3) = x\"656c6c\"\n"
		"munmap(r1, 0x2000) = 0\n"
		"read_mem(r1, 1) = signal(SIGSEGV, SEGV_MAPERR)\n", c, NULL);

	assert_int_equal(res.steps, 8);
	assert_int_equal(res.failed, 0);
	assert_string_equal(c->got[2], "\"hello\"");
	assert_string_equal(c->got[5], "\"ell\"");
	assert_memory_equal(c->got[4], "signal(SIGSEGV, SEGV_ACCERR, 0x", 31);
	test_free(c);
}

static void test_lang_exec_failures_say_what_and_why(void **state)
{
	struct collected *c = test_calloc(1, sizeof(*c));
	struct lang_run_result res = run_src(
		"r0 = openat(AT_FDCWD, \"/dev/null\", O_RDWR)\n"
		"close(r0) = -EBADF\n"                               /* wrong: it succeeds */
		"close(r0)\n"                                        /* fails, no expectation: a note */
		"r1 = mmap(0, 0x1000, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n"
		"write_mem(r1, \"x\") = signal(SIGSEGV, SEGV_MAPERR)\n"  /* wrong code */
		"read_mem(r1, 2) = \"ab\"\n"                         /* wrong bytes */
		"getpid() = signal(SIGSEGV, SEGV_ACCERR)\n"            /* no signal */
		"write_mem(r1, \"x\")\n", c, NULL);                  /* unexpected signal: a crash */

	assert_int_equal(res.steps, 8);
	assert_int_equal(res.failed, 5);
	assert_int_equal(res.notes, 1);
	assert_int_equal(c->status[1], LANG_STEP_FAILED);
	assert_string_equal(c->want[1], "-EBADF");
	assert_string_equal(c->got[1], "0");
	assert_string_equal(c->why[1], "a different result");
	assert_int_equal(c->status[2], LANG_STEP_NOTE);
	assert_string_equal(c->got[2], "-EBADF");
	assert_string_equal(c->why[4], "a different signal was delivered");
	assert_string_equal(c->want[5], "\"ab\"");
	assert_string_equal(c->got[5], "x\"0000\"");
	assert_string_equal(c->why[6], "no signal was delivered");
	assert_int_equal(c->status[7], LANG_STEP_FAILED);
	assert_string_equal(c->why[7], "unexpected signal: the task crashed");
	test_free(c);
}

/*
 * Bad input never crashes: a count larger than the buffer given, or an
 * integer where a host pointer goes, fails the step with a reason instead
 * of letting the kernel touch memory the scenario does not own. Integers
 * below 4096 stay allowed: they are how a scenario asks for -EFAULT.
 */
static void test_lang_exec_host_pointers_are_never_forged(void **state)
{
	struct collected *c = test_calloc(1, sizeof(*c));
	struct lang_run_result res = run_src(
		"r0 = memfd_create(\"m\", 0)\n"
		"write(r0, \"hello\", 68)\n"
		"write(r0, 0x41414141, 4)\n"
		"read(r0, 0x7fff0000, 4)\n"
		"fstat(r0, 0x12345678)\n"
		"write(r0, 8, 4) = -EFAULT\n"
		"write(r0, \"hello\", 5) = 5\n"
		"setrlimit(RLIMIT_NOFILE, \"ab\")\n", c, NULL);

	assert_int_equal(res.steps, 8);
	assert_int_equal(res.failed, 5);
	assert_string_equal(c->why[7], "'rlim' has 2 bytes but the call reads 16");
	assert_string_equal(c->why[1], "'buf' has 5 bytes but the call reads 68");
	assert_memory_equal(c->why[2], "'buf' is a host pointer", 23);
	assert_memory_equal(c->why[3], "'buf' is a host pointer", 23);
	assert_int_equal(c->status[3], LANG_STEP_FAILED);
	assert_int_equal(c->status[4], LANG_STEP_FAILED);
	assert_int_equal(c->status[5], LANG_STEP_OK);
	assert_int_equal(c->status[6], LANG_STEP_OK);
	test_free(c);
}

static void test_lang_exec_output_structs_and_buffers(void **state)
{
	struct collected *c = test_calloc(1, sizeof(*c));
	struct lang_run_result res = run_src(
		"r0 = memfd_create(\"m\", 0)\n"
		"write(r0, \"abcdef\", 6) = 6\n"
		"fstat(r0, {st_size=6}) = 0\n"
		"pread64(r0, \"bcd\", 3, 1) = 3\n"
		"pread64(r0, \"zzz\", 3, 1) = 3\n"
		"fstat(r0, 0) = -EFAULT\n"
		"getrlimit(RLIMIT_NOFILE, _) = 0\n"
		"fstat(r0, {st_size=7}) = 0\n"
		"read(99, \"zzz\", 3) = -EBADF\n", c, NULL);   /* failed as expected: wrote nothing */

	assert_int_equal(res.failed, 2);
	assert_int_equal(c->status[8], LANG_STEP_OK);
	assert_int_equal(c->status[4], LANG_STEP_FAILED);
	assert_string_equal(c->why[4], "buf holds \"bcd\", expected \"zzz\"");
	assert_int_equal(c->status[7], LANG_STEP_FAILED);
	assert_string_equal(c->why[7], "statbuf.st_size is 0x6, expected 0x7");
	test_free(c);
}

static void test_lang_exec_tasks_fork_and_exit(void **state)
{
	struct collected *c = test_calloc(1, sizeof(*c));
	struct lang_run_result res = run_src(
		"r1 = mmap(0, 0x1000, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n"
		"write_mem(r1, \"parent\") = 0\n"
		"t1 = clone(t0, 0) = 0\n"
		"t1: write_mem(r1, \"child!\") = 0\n"
		"read_mem(r1, 6) = \"parent\"\n"
		"t1: read_mem(r1, 6) = \"child!\"\n"
		"t2 = spawn()\n"
		"t2: read_mem(r1, 1) = signal(SIGSEGV, SEGV_MAPERR, r1)\n"
		"exit(t1)\n"
		"t1: getpid()\n", c, NULL);

	assert_int_equal(res.steps, 10);
	assert_int_equal(res.failed, 1);
	assert_int_equal(c->status[9], LANG_STEP_FAILED);
	assert_string_equal(c->got[9], "not run");
	assert_string_equal(c->why[9], "task t1 has exited (or was never created)");
	test_free(c);
}

static void test_lang_exec_u64_and_cpu_values(void **state)
{
	struct collected *c = test_calloc(1, sizeof(*c));
	struct lang_run_result res = run_src(
		"r1 = mmap(0, 0x1000, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n"
		"write_u64(r1+8, 0x1122334455667788) = 0\n"
		"read_mem(r1+8, 2) = x\"8877\"\n"
		"read_u64(r1+8) = 0x1122334455667788\n"
		"read_u64(r1+0x1000) = signal(SIGSEGV, SEGV_MAPERR, r1+0x1000)\n"
		"arch_prctl(ARCH_SHSTK_ENABLE, ARCH_SHSTK_SHSTK) = 0\n"
		"call(0x401000) = 0\n"
		"ret() = 0x401000\n"
		"set_reg(MV_REG_SSP, 0) = -EPERM\n"
		, c, NULL);

	assert_int_equal(res.failed, 0);
	assert_string_equal(c->got[3], "0x1122334455667788");
	test_free(c);
}

/*
 * One convention: a step that could not run reports the errno why (err)
 * and a message pointing at the argument at fault; a step that ran and
 * missed its expectation has err 0 and points at the expectation.
 */
static void test_lang_exec_problems_carry_errno_and_position(void **state)
{
	struct collected *c = test_calloc(1, sizeof(*c));

	run_src("r0 = memfd_create(\"m\", 0)\n"
		"write(r0, 0x41414141, 4)\n"
		"read_mem(0x1000, 0x7fffffff)\n"
		"close(r0) = 5\n"
		"t1 = spawn()\n"
		"exit(t1)\n"
		"t1: getpid()\n", c, NULL);
	assert_int_equal(c->n, 7);
	assert_int_equal(c->err[1], -EINVAL);
	assert_int_equal(c->at[1].line, 2);
	assert_int_equal(c->at[1].col, 11);
	assert_int_equal(c->err[2], -E2BIG);
	assert_int_equal(c->at[2].col, 18);
	assert_string_equal(c->why[2], "read_mem of 2147483647 bytes: at most 1048576");
	assert_int_equal(c->err[3], 0);
	assert_int_equal(c->at[3].line, 4);
	assert_int_equal(c->at[3].col, 13);
	assert_string_equal(c->why[3], "a different result");
	assert_int_equal(c->err[6], -ESRCH);
	assert_int_equal(c->at[6].line, 7);
	assert_int_equal(c->at[6].col, 1);
	assert_int_equal(c->err[0], 0);
	assert_string_equal(c->why[0], "");
	test_free(c);
}

/*
 * A signal no step expected kills the task, as the default action does:
 * its later steps are reported skipped (not run, not passed), while other
 * tasks go on. An expected signal leaves the task running.
 */
static void test_lang_exec_crashed_task_skips_its_later_steps(void **state)
{
	struct collected *c = test_calloc(1, sizeof(*c));
	struct lang_run_result res = run_src(
		"r1 = mmap(0, 0x1000, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n"
		"t1 = clone(t0, 0) = 0\n"
		"t1: write_mem(r1, \"x\") = signal(SIGSEGV, SEGV_ACCERR, r1)\n"
		"t1: getpid()\n"                                  /* still alive */
		"write_mem(r1, \"x\")\n"                          /* t0 crashes here */
		"getpid() = 1\n"
		"t1: write_mem(r1, \"y\") = signal(SIGSEGV, SEGV_ACCERR, r1)\n"
		"exit(t0)\n"
		"t2 = clone(t0, 0)\n", c, NULL);

	assert_int_equal(res.steps, 9);
	assert_int_equal(res.failed, 1);
	assert_int_equal(res.skipped, 3);
	assert_int_equal(c->status[3], LANG_STEP_OK);
	assert_int_equal(c->status[4], LANG_STEP_FAILED);
	assert_int_equal(c->status[5], LANG_STEP_SKIPPED);
	assert_string_equal(c->got[5], "not run");
	assert_string_equal(c->want[5], "1");
	assert_string_equal(c->why[5], "task t0 crashed at line 5 on an unexpected SIGSEGV");
	assert_int_equal(c->status[6], LANG_STEP_OK);
	/* steps that name the dead task are skipped as well */
	assert_int_equal(c->status[7], LANG_STEP_SKIPPED);
	assert_int_equal(c->status[8], LANG_STEP_SKIPPED);
	test_free(c);
}

/* An errno name without its minus is the positive number: the report says what was meant. */
static void test_lang_exec_bare_errno_suggests_the_minus(void **state)
{
	struct collected *c = test_calloc(1, sizeof(*c));
	struct lang_run_result res = run_src(
		"close(3) = EBADF\n"
		"close(3) = -EBADF\n"
		"close(3) = 9\n", c, NULL);

	assert_int_equal(res.failed, 2);
	assert_string_equal(c->want[0], "9");
	assert_string_equal(c->got[0], "-EBADF");
	assert_string_equal(c->why[0], "a different result: EBADF alone is the number 9; did you "
			    "mean -EBADF?");
	assert_int_equal(c->status[1], LANG_STEP_OK);
	/* a plain number is not second-guessed */
	assert_string_equal(c->why[2], "a different result");
	test_free(c);
}

static const char det_src[] =
	"machine(seed=7)\n"
	"r1 = mmap(0, 0x3000, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n"
	"write_mem(r1+0x1000, \"abc\") = 0\n"
	"t1 = clone(t0, 0)\n"
	"t1: write_mem(r1+0x1000, \"x\") = 0\n"
	"mprotect(r1, 0x3000, PROT_NONE) = 0\n"
	"read_mem(r1, 1) = signal(SIGSEGV, SEGV_ACCERR, r1)\n"
	"close(9) = -EBADF\n";

static void test_lang_exec_same_seed_same_trace(void **state)
{
	struct collected *c = test_calloc(1, sizeof(*c));
	struct tracebuf a = { 0 }, b = { 0 };

	run_src(det_src, c, &a);
	c->n = 0;
	run_src(det_src, c, &b);
	assert_non_null(a.data);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	/* one sequence: the machine's events and the steps, numbered from 0 */
	assert_memory_equal(a.data, "{\"seq\":0,\"ev\":\"scenario\"", 24);
	assert_non_null(strstr(a.data, "\"ev\":\"step\""));
	assert_non_null(strstr(a.data, "\"ev\":\"signal\""));
	assert_non_null(strstr(a.data, "\"ev\":\"hw_fault\""));
	free(a.data);
	free(b.data);
	test_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lang_exec_memory_and_signals),
		cmocka_unit_test(test_lang_exec_failures_say_what_and_why),
		cmocka_unit_test(test_lang_exec_output_structs_and_buffers),
		cmocka_unit_test(test_lang_exec_host_pointers_are_never_forged),
		cmocka_unit_test(test_lang_exec_tasks_fork_and_exit),
		cmocka_unit_test(test_lang_exec_u64_and_cpu_values),
		cmocka_unit_test(test_lang_exec_same_seed_same_trace),
		cmocka_unit_test(test_lang_exec_problems_carry_errno_and_position),
		cmocka_unit_test(test_lang_exec_bare_errno_suggests_the_minus),
		cmocka_unit_test(test_lang_exec_crashed_task_skips_its_later_steps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
