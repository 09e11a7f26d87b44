/* SPDX-License-Identifier: MIT */
/* The scenario lexer, parser and checker: tokens, trees, and every error's position and words. */
#include <string.h>

#include "mvtest.h"
#include "lang/lang_int.h"

static struct lang_program *parse_ok(const char *src)
{
	struct lang_program *p;
	struct lang_diag d;
	int ret = lang_parse("t.mvs", src, strlen(src), &p, &d);

	if (ret)
		fail_msg("parse failed: %d:%d: %s", d.line, d.col, d.msg);
	return p;
}

static void test_lang_lexer_tokens(void **state)
{
	static const char src[] = "r0 = f(0x10, -7, \"a\\n\\x41\", x\"00 ff\", A|B+1) # c\n{}:";
	static const enum lang_tok_kind want[] = {
		LT_IDENT, LT_EQ, LT_IDENT, LT_LPAREN, LT_INT, LT_COMMA, LT_MINUS, LT_INT, LT_COMMA,
		LT_STRING, LT_COMMA, LT_BYTES, LT_COMMA, LT_IDENT, LT_PIPE, LT_IDENT, LT_PLUS,
		LT_INT, LT_RPAREN, LT_NEWLINE, LT_LBRACE, LT_RBRACE, LT_COLON, LT_EOF,
	};
	struct lang_arena *a = lang_arena_create();
	struct lang_lexer lx;
	struct lang_tok tok;
	struct lang_diag d;

	lang_lex_init(&lx, src, strlen(src), a);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(lang_lex_next(&lx, &tok, &d), 0);
		assert_int_equal(tok.kind, want[i]);
		if (i == 4)
			assert_int_equal(tok.ival, 16);
		if (i == 9) {
			assert_int_equal(tok.nbytes, 3);
			assert_memory_equal(tok.bytes, "a\nA", 3);
		}
		if (i == 11) {
			assert_int_equal(tok.nbytes, 2);
			assert_memory_equal(tok.bytes, "\x00\xff", 2);
		}
		if (i == 20) {
			assert_int_equal(tok.pos.line, 2);
			assert_int_equal(tok.pos.col, 1);
		}
	}
	lang_arena_destroy(a);
}

static void test_lang_lexer_newline_inside_brackets_continues(void **state)
{
	struct lang_program *p = parse_ok("r0 = mmap(0,\n  0x1000, PROT_READ,\n"
					  "  MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\nclose(0)\n");

	assert_int_equal(p->nsteps, 2);
	assert_int_equal(p->steps[1].pos.line, 4);
	lang_program_free(p);
}

static void test_lang_parse_step_shape(void **state)
{
	struct lang_program *p = parse_ok(
		"# comment only\n\n"
		"machine(ram=0x4000000, features_off=MTE|SGX, abi=seed, seed=7)\n"
		"r1 = mmap(0, 0x2000, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n"
		"t1 = clone(t0, 0)\n"
		"t1: write_mem(r1+8, x\"00ff\") = signal(SIGSEGV, SEGV_ACCERR, r1+8)\n"
		"close(3) = -EBADF\n");
	const struct lang_step *s;

	assert_int_equal(p->nsteps, 5);
	s = &p->steps[1];
	assert_string_equal(s->call, "mmap");
	assert_string_equal(s->result_name, "r1");
	assert_int_equal(s->nargs, 6);
	assert_int_equal(s->args[2].val->kind, LE_BINOP);
	s = &p->steps[3];
	assert_string_equal(s->task_name, "t1");
	assert_int_equal(s->task_slot, 1);
	assert_int_equal(s->expect->kind, LE_CALL);
	assert_int_equal(s->expect->nargs, 3);
	assert_int_equal(s->pos.line, 6);
	assert_int_equal(s->src_len, strlen("t1: write_mem(r1+8, x\"00ff\") = signal(SIGSEGV, SEGV_ACCERR, r1+8)"));
	s = &p->steps[4];
	assert_int_equal(s->expect->kind, LE_NEG);
	assert_int_equal(s->expect->l->ival, EBADF);
	lang_program_free(p);
}

/* A bad line, where its diagnostic points, and the diagnostic. */
static const struct parse_error_row {
	const char *src;
	int line, col;
	const char *msg;
} parse_error_rows[] = {
	{ "close(1 2)", 1, 9, "expected ')' after argument list, found integer 2" },
	{ "r0 = mmap(0, 0x1000", 1, 10,
	  "'(' is never closed: expected ')' after argument list, found end of file at 1:20" },
	{ "mmapp(0)", 1, 1, "unknown call 'mmapp' (did you mean 'mmap'?)" },
	{ "mprotect(0, 1, PROT_RAED) = 0", 1, 16,
	  "unknown name 'PROT_RAED' (did you mean 'PROT_READ'?)" },
	{ "close(r3)", 1, 7,
	  "'r3' is not defined yet: expected a result named earlier by 'r3 = call(...)'" },
	{ "close(1) = \"x\"", 1, 12,
	  "close gives a number: expected a value, -ERRNO or signal(...) as its expectation" },
	{ "close(1) 5", 1, 10, "expected '=' and an expectation, or end of line, found integer 5" },
	{ "close(\"a\")", 1, 7, "expected an integer for 'fd', found a string" },
	{ "fstat(1, {st_sise=1})", 1, 11, "struct stat has no field 'st_sise' (did you mean 'st_size'?)" },
	{ "ioctl(3, KVM_SET_USER_MEMORY_REGION, {memsize=0x1000})", 1, 39,
	  "struct kvm_userspace_memory_region has no field 'memsize' (did you mean "
	  "'memory_size'?)" },
	{ "ioctl(3, KVM_SET_USER_MEMORY_REGION2, {guestmemfd=4})", 1, 40,
	  "struct kvm_userspace_memory_region2 has no field 'guestmemfd' (did you mean "
	  "'guest_memfd'?)" },
	{ "fstat(1, {mtime=1})", 1, 11, "struct stat has no field 'mtime'" },
	/* raw bytes could smuggle host pointers into a struct the kernel follows */
	{ "process_vm_readv(1, x\"0000000000000000\", 1, 0, 0, 0)", 1, 21,
	  "'local_iov' is a struct iovec_local, which holds host pointers: give it as a "
	  "struct literal {...}, not bytes" },
	{ "clone3(\"x\", 88)", 1, 8,
	  "'cl_args' is a struct clone_args, which holds host pointers: give it as a struct "
	  "literal {...}, not bytes" },
	{ "ioctl(3, KVM_RUN, 0) = exit(KVM_EXIT_MMIO, phys_adr=1)", 1, 44,
	  "this exit has no field 'phys_adr' (did you mean 'phys_addr'?): expected phys_addr, "
	  "len, is_write, data, ret" },
	{ "close(1)\nmachine(ram=2)", 2, 1, "machine(...) must be the first step of a scenario" },
	{ "close(1) = sig(1, 2)", 1, 12,
	  "unknown expectation 'sig(...)': expected signal(SIGNO, CODE[, addr])" },
	{ "write_mem(0, \"abc", 1, 18, "unterminated string: expected '\"' before end of file" },
	{ "write_mem(0, x\"abc\")", 1, 19, "odd number of hex digits in x\"...\": expected pairs" },
	{ "close(0x)", 1, 9, "expected a hex digit, found ')'" },
	{ "close(99999999999999999999999)", 1, 7, "integer does not fit in 64 bits" },
	{ "close(1 ]", 1, 9, "unexpected ']'" },
	{ "t5: close(1)", 1, 1, "unknown task 't5': expected t0 or a task named earlier by "
	  "'t5 = spawn()' or 't5 = clone(...)'" },
	{ "machine(rom=1)", 1, 9, "unknown machine key 'rom' (did you mean 'ram'?): expected ram, "
	  "features_off, epc, abi or seed" },
	{ "machine(xyz=1)", 1, 9, "unknown machine key 'xyz': expected ram, features_off, epc, "
	  "abi or seed" },
	{ "close(64m)", 1, 9, "expected a digit or a size suffix K, M, G, found 'm'" },
	{ "close(0x10000000000G)", 1, 7, "integer does not fit in 64 bits" },
	{ "r0 = spawn()", 1, 1, "expected a task name like 't1' for the result of spawn, found 'r0'" },
	{ "close(1) = -EBADFF", 1, 13, "unknown name 'EBADFF' (did you mean 'EBADF'?)" },
	{ "close(1, 2)", 1, 7, "close takes 1 argument (fd), got 2" },
	{ "{", 1, 1, "expected a call name, found '{'" },
	{ "close", 1, 6, "expected '(' after the call name 'close', found end of file" },
	{ "read_mem(0, 1) = 5", 1, 18,
	  "read_mem gives bytes: expected \"string\", x\"hex\" or signal(...) as its expectation" },
	{ "write_mem(0, 5)", 1, 14, "expected \"string\" or x\"hex\" bytes for 'data', found an integer" },
	{ "close(1) = \"a\\q\"", 1, 14,
	  "unknown escape in string: expected one of \\n \\t \\r \\0 \\\\ \\\" \\xHH" },
	{ "close(1) @", 1, 10, "unexpected '@'" },
	/* Heki policy lists (docs/scenario-language.md, "Heki policy") */
	{ "heki_allow_modules(3, sha256=x\"d06b\")", 1, 30,
	  "sha256= takes a SHA-256 digest of 64 hex digits, found 4 hex digits" },
	{ "heki_allow_modules(3, sha256=\"d06b\")", 1, 30,
	  "sha256= takes a SHA-256 digest, x\"<64 hex digits>\", found a string" },
	{ "heki_allow_modules(3, sha265=x\"00\")", 1, 23,
	  "unknown key 'sha265': a module is its text (\"...\" or x\"...\") or "
	  "sha256=x\"<64 hex digits>\"" },
	{ "heki_allow_modules(3, 5)", 1, 23,
	  "expected a module's text (\"...\" or x\"...\", as module_load takes it) or "
	  "sha256=x\"<64 hex digits>\", found an integer" },
	{ "heki_allow_modules(3, \"\")", 1, 23,
	  "a module's text cannot be empty" },
	{ "heki_allow_modules()", 1, 1,
	  "heki_allow_modules takes the VM's fd first" },
	{ "heki_patch_sites(3, x\"90\")", 1, 21,
	  "expected the GPA of a patch site before its forms" },
	{ "heki_patch_sites(3, 0x1000)", 1, 21,
	  "a patch site needs its forms: 1 to 4 byte sequences (x\"...\") "
	  "after its GPA" },
	{ "heki_patch_sites(3, 0x1000, x\"90\", x\"9090\")", 1, 36,
	  "the forms of a patch site have one length: 2 bytes here, 1 in its "
	  "first form" },
	{ "heki_patch_sites(3, 1, x\"90\", x\"91\", x\"92\", x\"93\", x\"94\")", 1, 52,
	  "a patch site has at most 4 forms" },
	{ "heki_patch_sites(3, 1, x\"000102030405060708090a0b0c0d0e0f10\")", 1, 24,
	  "a patch site's form is 1 to 16 bytes, found 17" },
	{ "heki_patch_sites(3, gpa=1)", 1, 21,
	  "heki_patch_sites takes no named arguments: each site is its GPA "
	  "followed by its forms" },
};

static void test_lang_parse_errors_name_position_and_expectation(void **state)
{
	const struct parse_error_row *rows = parse_error_rows;
	struct lang_program *p;
	struct lang_diag d;

	for (size_t i = 0; i < sizeof(parse_error_rows) / sizeof(parse_error_rows[0]); i++) {
		int ret = lang_parse("e.mvs", rows[i].src, strlen(rows[i].src), &p, &d);

		if (ret != -EINVAL)
			fail_msg("row %zu (%s): parsed, want an error", i, rows[i].src);
		if (d.line != rows[i].line || d.col != rows[i].col || strcmp(d.msg, rows[i].msg))
			fail_msg("row %zu (%s):\n got %d:%d: %s\nwant %d:%d: %s", i, rows[i].src,
				 d.line, d.col, d.msg, rows[i].line, rows[i].col, rows[i].msg);
		assert_null(p);
		assert_string_equal(d.file, "e.mvs");
	}
}

static void test_lang_parse_machine_overrides(void **state)
{
	struct lang_machine_opts mo, base;
	struct lang_diag d;

	assert_int_equal(lang_machine_opts_parse("ram=0x4000000,features_off=MTE|sgx,abi=seed",
						 &mo, &d), 0);
	assert_true(mo.ram_set && mo.features_set && mo.abi_set && !mo.seed_set);
	assert_int_equal(mo.cfg.ram_bytes, 0x4000000);
	assert_int_equal(mo.cfg.features_off, MV_FEAT_MTE | MV_FEAT_SGX);
	assert_int_equal(mo.cfg.abi, MV_ABI_SEED);
	memset(&base, 0, sizeof(base));
	base.cfg.seed = 9;
	base.seed_set = true;
	lang_machine_opts_merge(&base, &mo);
	assert_int_equal(base.cfg.seed, 9);
	assert_int_equal(base.cfg.abi, MV_ABI_SEED);
	assert_int_equal(lang_machine_opts_parse("rom=1", &mo, &d), -EINVAL);
	assert_int_equal(d.col, 1);
	assert_int_equal(lang_machine_opts_parse("ram=1)", &mo, &d), -EINVAL);
}

/* Which known name a slip points to: typos and shortenings, nothing farther. */
static void test_lang_suggest_typos_and_shortenings(void **state)
{
	static const struct { const char *name, *cands[4], *want; } rows[] = {
		{ "PROT_RAED", { "PROT_READ", "PROT_WRITE" }, "PROT_READ" },
		{ "memsize", { "slot", "memory_size", "userspace_addr" }, "memory_size" },
		{ "usrspace_addr", { "memory_size", "userspace_addr" }, "userspace_addr" },
		{ "st_sise", { "st_size", "st_ino" }, "st_size" },
		/* a typo beats a shortening */
		{ "gues", { "guest_memfd", "guest" }, "guest" },
		/* too short to be a shortening, too far for a typo */
		{ "ms", { "memory_size" }, NULL },
		/* letters out of order are no shortening */
		{ "sizemem", { "memory_size" }, NULL },
		{ "QQQQQQQQ", { "PROT_READ" }, NULL },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct lang_suggest sg;
		const char *got;

		lang_suggest_init(&sg, rows[i].name);
		for (size_t j = 0; j < 4 && rows[i].cands[j]; j++)
			lang_suggest_add(&sg, rows[i].cands[j]);
		got = lang_suggest_best(&sg);
		if (rows[i].want ? !got || strcmp(got, rows[i].want) : got != NULL)
			fail_msg("%s: got %s, want %s", rows[i].name, got ? got : "none",
				 rows[i].want ? rows[i].want : "none");
	}
}

static void test_lang_consts_known_names(void **state)
{
	uint64_t v;

	assert_int_equal(lang_const_lookup("MAP_FIXED_NOREPLACE", &v), 0);
	assert_int_equal(v, 0x100000);
	assert_int_equal(lang_const_lookup("AT_FDCWD", &v), 0);
	assert_int_equal((int64_t)v, -100);
	assert_int_equal(lang_const_lookup("ENOSPC", &v), 0);
	assert_int_equal(v, ENOSPC);
	assert_int_equal(lang_const_lookup("NOPE_NOT_A_NAME", &v), -ENOENT);
	assert_string_equal(lang_const_name("SEGV_", 10), "SEGV_CPERR");
	assert_string_equal(lang_const_suggest("MAP_PRIVTE"), "MAP_PRIVATE");
	assert_null(lang_const_suggest("QQQQQQQQQQQQQQQQ"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lang_lexer_tokens),
		cmocka_unit_test(test_lang_lexer_newline_inside_brackets_continues),
		cmocka_unit_test(test_lang_parse_step_shape),
		cmocka_unit_test(test_lang_parse_errors_name_position_and_expectation),
		cmocka_unit_test(test_lang_parse_machine_overrides),
		cmocka_unit_test(test_lang_consts_known_names),
		cmocka_unit_test(test_lang_suggest_typos_and_shortenings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
