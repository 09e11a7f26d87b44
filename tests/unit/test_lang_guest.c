/* SPDX-License-Identifier: MIT */
/*
 * Guest programs in the scenario language: guest(VCPU) { ops } blocks and
 * their parse errors, operations run under KVM_RUN and reported as steps,
 * exit(...) and fault(...) expectations and what they say when unmet; the
 * VMM's Heki policy a guest kernel then meets: a module named by its text
 * is allowed as exactly the digest KVM computes over it once loaded (whole
 * pages, zero padded), like its sha256= form, and each patch site takes
 * only its own forms.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mvtest.h"
#include "lang/lang_int.h"
#include "lib/sha256.h"

#define MAX_REPORTS 32

struct collected {
	int n;
	int line[MAX_REPORTS];
	bool op[MAX_REPORTS];
	int during_line[MAX_REPORTS];
	enum lang_step_status status[MAX_REPORTS];
	char got[MAX_REPORTS][LANG_MSG_MAX];
	char why[MAX_REPORTS][LANG_MSG_MAX];
};

static void collect(void *ctx, const struct lang_step_report *r)
{
	struct collected *c = ctx;

	if (c->n == MAX_REPORTS)
		return;
	c->line[c->n] = r->step->pos.line;
	c->op[c->n] = r->step->parent != NULL;
	c->during_line[c->n] = r->during ? r->during->pos.line : 0;
	c->status[c->n] = r->status;
	strcpy(c->got[c->n], r->got);
	strcpy(c->why[c->n], r->diag.msg);
	c->n++;
}

/* The parse error of @src: its line and column, and the message. */
static void parse_error(const char *src, int line, int col, const char *words)
{
	struct lang_program *p = NULL;
	struct lang_diag d;

	assert_int_equal(lang_parse("g.mvs", src, strlen(src), &p, &d), -EINVAL);
	assert_null(p);
	if (d.line != line || d.col != col || !strstr(d.msg, words))
		fail_msg("%d:%d: %s (wanted %d:%d: ...%s...)", d.line, d.col, d.msg, line, col,
			 words);
}

static struct lang_run_result run_src(const char *src, struct collected *c)
{
	struct lang_run_opts opts;
	struct lang_run_result res;
	struct lang_program *p;
	struct lang_diag d;

	if (lang_parse("g.mvs", src, strlen(src), &p, &d))
		fail_msg("parse: %d:%d: %s", d.line, d.col, d.msg);
	memset(&opts, 0, sizeof(opts));
	opts.machine.cfg.ram_bytes = 64 << 20;
	opts.machine.ram_set = true;
	opts.on_step = collect;
	opts.step_ctx = c;
	assert_int_equal(lang_run(p, &opts, &res, &d), 0);
	lang_program_free(p);
	return res;
}

/* /dev/kvm, a VM with 2 MiB at gpa 0 (r2 in the VMM), a vCPU r3: lines 1-5. */
#define VM_SETUP \
	"r0 = openat(AT_FDCWD, \"/dev/kvm\", O_RDWR)\n" \
	"r1 = ioctl(r0, KVM_CREATE_VM, 0)\n" \
	"r2 = mmap(0, 0x200000, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n" \
	"ioctl(r1, KVM_SET_USER_MEMORY_REGION, {memory_size=0x200000, userspace_addr=r2}) = 0\n" \
	"r3 = ioctl(r1, KVM_CREATE_VCPU, 0)\n"

static void test_lang_guest_parse_errors(void **state)
{
	parse_error("guest(3) {\n  write(0, \"a\")\n", 1, 10, "'{' is never closed");
	parse_error("guest(3) {\n  write(0, \"a\") read(0, 1)\n}\n", 2, 17,
		    "a new line: one guest operation per line");
	parse_error("guest(3) { write(0, \"a\")\n}\n", 1, 12, "a new line");
	parse_error("guest(3) {\n  wirte(0, \"a\")\n}\n", 2, 3,
		    "unknown guest operation 'wirte' (did you mean 'write'?)");
	parse_error("guest(3) {\n  42\n}\n", 2, 3, "a guest operation");
	parse_error("guest(3) {\n  read(0, 1) = \"x\"\n  write(0, 7)\n}\n", 3, 12,
		    "expected \"string\" or x\"hex\" bytes for 'data'");
	parse_error("guest(3) {\n  write(0, \"a\") = signal(SIGSEGV, SEGV_MAPERR)\n}\n", 2, 19,
		    "expected fault(VECTOR[, ERROR_CODE[, ADDRESS]])");
	parse_error("guest(3) {\n  read_cr(0) = fault()\n}\n", 2, 16, "expected fault(VECTOR)");
	parse_error("close(3) {\n}\n", 1, 10, "only guest(VCPU) takes a { } block");
	parse_error("guest(3)\n", 1, 1, "expected guest(VCPU) { operations, one per line }");
	parse_error("r1 = guest(3) {\n}\n", 1, 1, "guest(...) has no value to name");
	parse_error("close(3) = exit(KVM_EXIT_HLT)\n", 1, 12, "exit(...) is what ioctl(VCPU, "
		    "KVM_RUN, 0) answers");
	parse_error("close(3) = fault(14)\n", 1, 12, "unknown expectation 'fault(...)'");
	parse_error("ioctl(3, KVM_RUN, 0) = exit(KVM_EXIT_MMIO, gpa=1)\n", 1, 44,
		    "this exit has no field 'gpa': expected phys_addr, len, is_write, data, ret");
	parse_error("ioctl(3, KVM_RUN, 0) = exit(KVM_EXIT_MMIO, 1)\n", 1, 44,
		    "expected field=value after the exit reason");
	parse_error("ioctl(3, KVM_RUN, 0) = exit(KVM_EXIT_MMIO, len=\"ab\")\n", 1, 48,
		    "only data= takes bytes");
	parse_error("ioctl(3, KVM_RUN, 0) = exit(KVM_EXIT_MMIO, data=\"123456789\")\n", 1, 49,
		    "only data= takes bytes (at most 8)");
	parse_error("r1 = getpid()\nioctl(3, KVM_RUN, 0) = exit(r1)\n", 2, 29,
		    "the exit reason must be a constant");
	parse_error("ioctl(3, KVM_RUN, 0) = bogus(1)\n", 1, 24, "or exit(KVM_EXIT_..., field=value");
}

static void test_lang_guest_program_runs_under_kvm_run(void **state)
{
	struct collected *c = test_calloc(1, sizeof(*c));
	struct lang_run_result res = run_src(
		VM_SETUP
		"guest(r3) {\n"                                           /* 6 */
		"  write(0x1000, \"hello\") = 0\n"
		"  read(0x1000, 5) = \"hello\"\n"
		"  write(0x300000, \"x\")\n"                              /* 9: no slot: MMIO */
		"  write_cr(3, 0x400000000000) = fault(13)\n"
		"  read_u64(0x1000) = 0x6f6c6c6568\n"
		"}\n"
		"ioctl(r3, KVM_RUN, 0) = exit(KVM_EXIT_MMIO, phys_addr=0x300000, len=1, is_write=1, "
		"data=\"x\")\n"                                          /* 13 */
		"ioctl(r3, KVM_RUN, 0) = exit(KVM_EXIT_HLT)\n"             /* 14 */
		"read_mem(r2+0x1000, 5) = \"hello\"\n", c);

	assert_int_equal(res.failed, 0);
	assert_int_equal(res.steps, 14);
	/* 5 setup steps, the guest step, two operations during the first KVM_RUN */
	assert_string_equal(c->got[5], "5 operations for KVM_RUN");
	assert_true(c->op[6] && c->line[6] == 7 && c->during_line[6] == 13);
	assert_string_equal(c->got[6], "0");
	assert_true(c->op[7] && c->line[7] == 8);
	assert_string_equal(c->got[7], "\"hello\"");
	/* the MMIO exit comes back first; the write finishes under the next KVM_RUN */
	assert_int_equal(c->line[8], 13);
	assert_string_equal(c->got[8], "exit(KVM_EXIT_MMIO, phys_addr=0x300000, len=1, "
			    "is_write=1, data=\"x\")");
	assert_true(c->line[9] == 9 && c->during_line[9] == 14);
	assert_string_equal(c->got[10], "fault(13, 0, 0x0)");
	assert_string_equal(c->got[11], "0x6f6c6c6568");
	assert_int_equal(c->line[12], 14);
	assert_string_equal(c->got[12], "exit(KVM_EXIT_HLT)");
	test_free(c);
}

static void test_lang_guest_exit_failures_say_what_differed(void **state)
{
	struct collected *c = test_calloc(1, sizeof(*c));
	struct lang_run_result res = run_src(
		VM_SETUP
		"guest(r3) {\n"
		"  write(0x300000, \"ab\")\n"
		"  write(0x300000, \"ab\")\n"
		"  write(0x300000, \"ab\")\n"
		"  read(0x1000, 2) = \"zz\"\n"
		"  read(0x1000, 1) = fault(14)\n"
		"}\n"
		"ioctl(r3, KVM_RUN, 0) = exit(KVM_EXIT_HLT)\n"                                /* 13 */
		"ioctl(r3, KVM_RUN, 0) = exit(KVM_EXIT_MMIO, phys_addr=0x300000, len=4)\n"     /* 14 */
		"ioctl(r3, KVM_RUN, 0) = exit(KVM_EXIT_MMIO, data=\"ba\")\n"                   /* 15 */
		"ioctl(r3, KVM_RUN, 0) = exit(KVM_EXIT_MEMORY_FAULT, gpa=0)\n"                 /* 16 */
		"ioctl(r3, KVM_RUN, 1) = exit(KVM_EXIT_HLT)\n"                                 /* 17 */
		"ioctl(r3, KVM_RUN, 0) = exit(KVM_EXIT_HLT, ret=-EINTR)\n", c);                /* 18 */

	assert_int_equal(res.failed, 8);
	assert_int_equal(c->line[6], 13);
	assert_int_equal(c->status[6], LANG_STEP_FAILED);
	assert_string_equal(c->why[6], "the exit reason is KVM_EXIT_MMIO, not KVM_EXIT_HLT");
	assert_string_equal(c->got[6], "exit(KVM_EXIT_MMIO, phys_addr=0x300000, len=2, is_write=1, "
			    "data=\"ab\")");
	assert_string_equal(c->why[8], "len is 2, not 4");
	assert_string_equal(c->why[10], "data is \"ab\", not \"ba\"");
	/* the guest's own expectations, then the halt that was not a memory fault */
	assert_true(c->op[12] && c->status[12] == LANG_STEP_FAILED);
	assert_string_equal(c->why[12], "different bytes");
	assert_string_equal(c->why[13], "the guest took no fault");
	assert_string_equal(c->why[14], "the exit reason is KVM_EXIT_HLT, not "
			    "KVM_EXIT_MEMORY_FAULT");
	assert_string_equal(c->why[15], "KVM_RUN returned -EINVAL: the vCPU did not exit to user "
			    "space");
	assert_string_equal(c->why[16], "KVM_RUN returned 0, not -EINTR");
	test_free(c);
}

static void test_lang_guest_unreached_operations_are_reported(void **state)
{
	struct collected *c = test_calloc(1, sizeof(*c));
	struct lang_run_result res = run_src(
		VM_SETUP
		"guest(r3) {\n"
		"  write(0x300000, \"a\")\n"        /* 7: MMIO, never resumed */
		"  read(0x1000, 1) = x\"00\"\n"     /* 8: never reached, with an expectation */
		"  fetch(0x1000, 1)\n"             /* 9: never reached, none */
		"}\n"
		"ioctl(r3, KVM_RUN, 0) = exit(KVM_EXIT_MMIO, phys_addr=0x300000)\n"
		"guest(999) {\n"
		"  read(0, 1)\n"
		"}\n", c);

	assert_int_equal(res.failed, 1);
	assert_int_equal(res.notes, 3);
	assert_string_equal(c->got[7], "-EBADF");      /* guest(999): no such fd */
	assert_int_equal(c->line[8], 7);
	assert_string_equal(c->why[8], "the guest stopped in this operation (no later KVM_RUN "
			    "finished it)");
	assert_int_equal(c->status[8], LANG_STEP_NOTE);
	assert_int_equal(c->line[9], 8);
	assert_int_equal(c->status[9], LANG_STEP_FAILED);
	assert_string_equal(c->why[9], "the guest never got here (no KVM_RUN ran it)");
	assert_int_equal(c->status[10], LANG_STEP_NOTE);
	assert_int_equal(c->n, 11);
	test_free(c);
}

/* ---- Heki policy (docs/scenario-language.md, "Heki policy") ---- */

/* x"..." of the @n bytes at @b into @out (2n + 3 characters and a NUL). */
static void hex_literal(char *out, const uint8_t *b, size_t n)
{
	out += sprintf(out, "x\"");
	for (size_t i = 0; i < n; i++)
		out += sprintf(out, "%02x", b[i]);
	strcpy(out, "\"");
}

/* /dev/kvm, a VM r1 with 8 MiB at gpa 0 for the guest kernel, a vCPU r3 */
#define HEKI_VM \
	"r0 = openat(AT_FDCWD, \"/dev/kvm\", O_RDWR)\n" \
	"r1 = ioctl(r0, KVM_CREATE_VM, 0)\n" \
	"r2 = mmap(0, 0x800000, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n" \
	"ioctl(r1, KVM_SET_USER_MEMORY_REGION, {memory_size=0x800000, userspace_addr=r2}) = 0\n" \
	"r3 = ioctl(r1, KVM_CREATE_VCPU, 0)\n"

/*
 * A module of 4097 bytes (two pages once loaded): allowed by its text, or
 * by the digest of its two zero-padded pages given as sha256=, KVM accepts
 * it; a module one byte different is refused either way.
 */
static void test_lang_guest_heki_allow_modules_digest_is_kvms(void **state)
{
	enum { LEN = 4097 };
	uint8_t text[LEN], other[LEN], padded[2 * 4096] = { 0 }, digest[SHA256_DIGEST_SIZE];
	char *lit = malloc(2 * LEN + 8), *olit = malloc(2 * LEN + 8), dlit[2 * 32 + 8];
	char *src = malloc(8 * LEN + 4096);
	struct collected *c = test_calloc(1, sizeof(*c));

	(void)state;
	assert_true(lit && olit && src);
	for (size_t i = 0; i < LEN; i++)
		text[i] = (uint8_t)(i * 7 + 1);
	memcpy(other, text, LEN);
	other[LEN - 1] ^= 1;
	memcpy(padded, text, LEN);
	sha256(padded, sizeof(padded), digest);
	hex_literal(lit, text, LEN);
	hex_literal(olit, other, LEN);
	hex_literal(dlit, digest, sizeof(digest));
	for (int form = 0; form < 2; form++) {
		sprintf(src, HEKI_VM
			"heki_allow_modules(r1, %s%s) = 0\n"
			"guest(r3) {\n"
			"  kernel_boot(0x800000, 1) = 0\n"
			"  module_load(%s) = 0xffffffffa0000000\n"
			"  module_authenticated(0xffffffffa0000000) = 1\n"
			"  fetch(0xffffffffa0001000, 1) = 0\n"
			"  module_load(%s) = 0xffffffffa0003000\n"
			"  module_authenticated(0xffffffffa0003000) = 0\n"
			"}\n"
			"ioctl(r3, KVM_RUN, 0) = exit(KVM_EXIT_HLT)\n",
			form ? "sha256=" : "", form ? dlit : lit, lit, olit);
		assert_int_equal(run_src(src, c).failed, 0);
		assert_int_equal(c->status[c->n - 1], LANG_STEP_OK);
		memset(c, 0, sizeof(*c));
	}
	test_free(c);
	free(src);
	free(olit);
	free(lit);
}

/* Two sites, each with its own forms, in one list: no site takes the other's bytes. */
static void test_lang_guest_heki_patch_sites_each_allows_its_own_forms(void **state)
{
	struct collected *c = test_calloc(1, sizeof(*c));
	struct lang_run_result res;

	(void)state;
	res = run_src(HEKI_VM
	       "heki_patch_sites(r1, 0x100100, x\"0f1f440000\", x\"e910000000\",\n"
	       "                 0x100200|0x40, x\"9090\", x\"ebfe\", x\"6690\") = 0\n"
	       "guest(r3) {\n"
	       "  kernel_boot(0x800000, 1) = 0\n"
	       "  hypercall(KVM_HC_HEKI_TEXT_POKE, 0x100100, 5, 0x10e9, 0) = 0\n"
	       "  hypercall(KVM_HC_HEKI_TEXT_POKE, 0x100240, 2, 0xfeeb, 0) = 0\n"
	       "  hypercall(KVM_HC_HEKI_TEXT_POKE, 0x100240, 2, 0x9066, 0) = 0\n"
	       "  hypercall(KVM_HC_HEKI_TEXT_POKE, 0x100240, 5, 0x10e9, 0) = -KVM_EPERM\n"
	       "  hypercall(KVM_HC_HEKI_TEXT_POKE, 0x100100, 2, 0x9090, 0) = -KVM_EPERM\n"
	       "  hypercall(KVM_HC_HEKI_TEXT_POKE, 0x100200, 2, 0x9090, 0) = -KVM_EPERM\n"
	       "  read(0xffffffff80100240, 2) = x\"6690\"\n"
	       "}\n"
	       "ioctl(r3, KVM_RUN, 0) = exit(KVM_EXIT_HLT)\n"
	       "heki_patch_sites(r1, 0x100ffe, x\"0f1f440000\") = -EINVAL\n"
	       "heki_patch_sites(r1, 0x100ffb, x\"0f1f440000\") = 0\n", c);
	assert_int_equal(res.failed, 0);
	assert_int_equal(res.steps, 18);
	test_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lang_guest_parse_errors),
		cmocka_unit_test(test_lang_guest_program_runs_under_kvm_run),
		cmocka_unit_test(test_lang_guest_exit_failures_say_what_differed),
		cmocka_unit_test(test_lang_guest_unreached_operations_are_reported),
		cmocka_unit_test(test_lang_guest_heki_allow_modules_digest_is_kvms),
		cmocka_unit_test(test_lang_guest_heki_patch_sites_each_allows_its_own_forms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
