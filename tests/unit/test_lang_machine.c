/* SPDX-License-Identifier: MIT */
/*
 * Machine options: one table for machine(...) in a scenario and for the
 * command line's --machine, whose limits are the library's, whose errors
 * name the key and the limit, and whose sizes take K, M and G.
 */
#include <stdio.h>
#include <string.h>

#include "mvtest.h"
#include "lang/lang_int.h"

/* Does the library accept this configuration? */
static bool machine_accepts(uint64_t ram, uint64_t epc)
{
	struct mv_machine_config cfg = { .ram_bytes = ram, .epc_bytes = epc };
	struct mv_machine *m;

	if (mv_machine_create(&cfg, &m))
		return false;
	mv_machine_destroy(m);
	return true;
}

/* Does the scenario language accept it? */
static bool lang_accepts(uint64_t ram, uint64_t epc)
{
	struct lang_machine_opts mo;
	struct lang_diag d;
	char text[96];

	snprintf(text, sizeof(text), "ram=%#llx,epc=%#llx", (unsigned long long)ram,
		 (unsigned long long)epc);
	return !lang_machine_opts_parse(text, &mo, &d);
}

/* The table's limits are the ones mv_machine_create enforces, at each edge. */
static void test_lang_machine_limits_are_the_librarys(void **state)
{
	static const struct { uint64_t ram, epc; } rows[] = {
		{ 4ull << 20, 0 },            /* the smallest RAM */
		{ 2ull << 20, 0 },            /* below it */
		{ 6ull << 20, 0 },
		{ 5ull << 20, 0 },            /* not a multiple of 2 MiB */
		{ 64ull << 20, 0x1000 },
		{ 64ull << 20, 0x1800 },      /* EPC not a multiple of a page */
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (machine_accepts(rows[i].ram, rows[i].epc) != lang_accepts(rows[i].ram, rows[i].epc))
			fail_msg("row %zu: ram %#llx epc %#llx: the library and the language "
				 "disagree", i, (unsigned long long)rows[i].ram,
				 (unsigned long long)rows[i].epc);
	}
}

/* A bad value names its key and the limit it breaks, at the value's column. */
static void test_lang_machine_errors_name_key_and_limit(void **state)
{
	static const struct { const char *text; int col; const char *msg; } rows[] = {
		{ "ram=0x1000", 5, "ram: 0x1000 is below the minimum of 4M (0x400000)" },
		{ "ram=2048G", 5, "ram: 0x20000000000 is above the maximum of 1024G (0x10000000000)" },
		{ "ram=5M", 5, "ram: 0x500000 is not a multiple of 2M (0x200000)" },
		{ "seed=1,epc=6K", 12, "epc: 0x1800 is not a multiple of 4K (0x1000)" },
		{ "abi=2", 5, "abi: 2 is not an ABI: expected mainline or seed" },
		{ "features_off=0x80", 14, "features_off: 0x80 has bits no feature uses: expected "
		  "SHSTK|IBT|MTE|SGX|MBEC|SMEP|SMAP or ALL" },
		{ "abi=newest", 5, "unknown abi 'newest': expected mainline or seed" },
		{ "rma=1G", 1, "unknown machine key 'rma' (did you mean 'ram'?): expected ram, "
		  "features_off, epc, abi or seed" },
	};
	struct lang_machine_opts mo;
	struct lang_diag d;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(lang_machine_opts_parse(rows[i].text, &mo, &d), -EINVAL);
		if (d.col != rows[i].col || strcmp(d.msg, rows[i].msg))
			fail_msg("%s:\n got %d: %s\nwant %d: %s", rows[i].text, d.col, d.msg,
				 rows[i].col, rows[i].msg);
	}
}

static void test_lang_machine_sizes_take_suffixes(void **state)
{
	struct lang_machine_opts mo, base = { 0 };
	struct lang_diag d;

	assert_int_equal(lang_machine_opts_parse("ram=64M,epc=16K,seed=3", &mo, &d), 0);
	assert_int_equal(mo.cfg.ram_bytes, 64ull << 20);
	assert_int_equal(mo.cfg.epc_bytes, 16ull << 10);
	assert_true(mo.ram_set && mo.epc_set && mo.seed_set && !mo.abi_set);
	assert_int_equal(lang_machine_opts_parse("ram=1G", &mo, &d), 0);
	assert_int_equal(mo.cfg.ram_bytes, 1ull << 30);
	base.cfg.ram_bytes = 8ull << 20;
	base.ram_set = true;
	base.cfg.seed = 5;
	base.seed_set = true;
	lang_machine_opts_merge(&base, &mo);
	assert_int_equal(base.cfg.ram_bytes, 1ull << 30);
	assert_int_equal(base.cfg.seed, 5);
}

/* In a scenario the same: machine(ram=...) and sizes anywhere an integer goes. */
static void test_lang_machine_scenario_sizes(void **state)
{
	static const char src[] =
		"machine(ram=32M, epc=0)\n"
		"r1 = mmap(0, 8K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n"
		"write_mem(r1+4K, \"x\") = 0\n"
		"munmap(r1, 8K) = 0\n";
	struct lang_run_opts opts = { 0 };
	struct lang_run_result res;
	struct lang_program *p;
	struct lang_diag d;

	if (lang_parse("m.mvs", src, strlen(src), &p, &d))
		fail_msg("%d:%d: %s", d.line, d.col, d.msg);
	assert_int_equal(p->steps[1].args[1].val->ival, 8192);
	assert_int_equal(lang_run(p, &opts, &res, &d), 0);
	assert_int_equal(res.failed, 0);
	assert_int_equal(res.steps, 3);
	lang_program_free(p);
	assert_int_equal(lang_parse("m.mvs", "machine(ram=3M)\n", 16, &p, &d), -EINVAL);
	assert_string_equal(d.msg, "ram: 0x300000 is below the minimum of 4M (0x400000)");
	assert_int_equal(d.col, 13);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lang_machine_limits_are_the_librarys),
		cmocka_unit_test(test_lang_machine_errors_name_key_and_limit),
		cmocka_unit_test(test_lang_machine_sizes_take_suffixes),
		cmocka_unit_test(test_lang_machine_scenario_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
