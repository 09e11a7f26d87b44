/* SPDX-License-Identifier: MIT */
/*
 * The fail-nth sweep's own rules (tests/failnth): how a report's result is
 * read back, which errnos a call may answer, and what a failed call may
 * leave changed. A rule that is too lenient would hide a defect, so each
 * tolerance is tested with a change it must still catch.
 */
#include <stdio.h>
#include <string.h>

#include "mvtest.h"
#include "failnth/failnth.h"

static void test_failnth_got_parse_table(void **state)
{
	const struct {
		const char *got;
		enum fn_got_kind kind;
		int err;
	} rows[] = {
		{ "-ENOMEM", FN_GOT_ERRNO, ENOMEM },
		{ "-EINVAL", FN_GOT_ERRNO, EINVAL },
		{ "0x7f0000000000", FN_GOT_VALUE, 0 },
		{ "0", FN_GOT_VALUE, 0 },
		{ "\"abc\"", FN_GOT_VALUE, 0 },
		{ "exit(KVM_EXIT_HLT)", FN_GOT_VALUE, 0 },
		{ "exit(KVM_EXIT_INTR, ret=-EINTR)", FN_GOT_ERRNO, EINTR },
		{ "exit(KVM_EXIT_MEMORY_FAULT, flags=0x0, gpa=0x1000, size=0x1000)", FN_GOT_ERRNO,
		  EFAULT },
		{ "signal(SIGSEGV, SEGV_MAPERR, 0x0)", FN_GOT_SIGNAL, 0 },
		{ "not run", FN_GOT_OTHER, 0 },
		{ "fault(13, 0x0, 0x0)", FN_GOT_OTHER, 0 },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct fn_got g = fn_got_parse(rows[i].got);

		if (g.kind != rows[i].kind || (g.kind == FN_GOT_ERRNO && g.err != rows[i].err))
			fail_msg("%s: kind %d err %d", rows[i].got, g.kind, g.err);
	}
}

/* The first step of @text, parsed and checked. */
static struct lang_program *fn_parse(const char *text)
{
	struct lang_program *p;
	struct lang_diag diag;

	if (lang_parse("rules.mvs", text, strlen(text), &p, &diag))
		fail_msg("%s: %s", text, diag.msg);
	return p;
}

static void test_failnth_errno_rules_table(void **state)
{
	const struct {
		const char *step;
		int err;
		bool allowed;
	} rows[] = {
		{ "mmap(0, 0x1000, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)", ENOMEM, true },
		{ "mmap(0, 0x1000, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)", EINVAL, false },
		{ "close(3)", ENOMEM, false },
		{ "getpid()", ENOMEM, false },
		{ "ioctl(3, KVM_RUN, 0)", EFAULT, true },
		{ "ioctl(3, KVM_RUN, 0)", ENOMEM, true },
		{ "ioctl(3, KVM_CREATE_VM, 0)", EFAULT, false },
		{ "ioctl(3, KVM_CHECK_EXTENSION, 0)", ENOMEM, false },
		{ "map_shadow_stack(0, 0x1000, SHADOW_STACK_SET_TOKEN)", EINVAL, true },
		{ "fallocate(3, 0, 0, 0x1000)", ENOSPC, true },
		{ "process_vm_readv(1, 0, 1, 0, 1, 0)", EFAULT, true },
		{ "munmap(0x10000, 0x1000)", EFAULT, false },
		{ "mseal(0x10000, 0x1000, 0)", ENOMEM, true },
		{ "mseal(0x10000, 0x1000, 0)", EPERM, false },
	};
	const char *why;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct lang_program *p = fn_parse(rows[i].step);

		if (fn_errno_allowed(lang_program_step(p, 0), rows[i].err, &why) != rows[i].allowed)
			fail_msg("%s with errno %d: not %s", rows[i].step, rows[i].err,
				 rows[i].allowed ? "allowed" : "refused");
		lang_program_free(p);
	}
}

static void expect_gap(const struct fn_gaps *g, unsigned int i, uint64_t start, uint64_t end)
{
	assert_true(g->n > i);
	assert_int_equal(g->start[i], start);
	assert_int_equal(g->end[i], end);
}

static void test_failnth_fixed_range_only_for_map_fixed(void **state)
{
	struct lang_program *p = fn_parse(
		"mmap(0x10000, 0x1800, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)\n"
		"mmap(0x10000, 0x1000, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n");
	struct fn_gaps g;

	assert_true(fn_gap_ranges(lang_program_step(p, 0), "0x10000", &g));
	assert_int_equal(g.n, 1);
	expect_gap(&g, 0, 0x10000, 0x12000);
	assert_false(fn_gap_ranges(lang_program_step(p, 0), "-ENOMEM", &g));
	assert_false(fn_gap_ranges(lang_program_step(p, 1), "0x10000", &g));
	lang_program_free(p);
}

/*
 * mremap with MREMAP_FIXED: the destination is a gap; so is the source of
 * a move without a resize from a constant address (remap_move() keeps the
 * VMAs it moved before a failure), and of nothing else.
 */
static void test_failnth_remap_move_ranges_source_and_destination(void **state)
{
	struct lang_program *p = fn_parse(
		"mremap(0x10000, 0x3000, 0x3000, MREMAP_MAYMOVE|MREMAP_FIXED, 0x40000)\n"
		"mremap(0x10000, 0x1000, 0x3000, MREMAP_MAYMOVE|MREMAP_FIXED, 0x40000)\n"
		"mremap(0x10000, 0x1000, 0x3000, MREMAP_MAYMOVE, 0)\n"
		"mremap(0x10000, 0x2fff, 0x3000, MREMAP_MAYMOVE|MREMAP_FIXED|MREMAP_DONTUNMAP, 0x40000)\n");
	struct fn_gaps g;

	assert_true(fn_gap_ranges(lang_program_step(p, 0), "0x40000", &g));
	assert_int_equal(g.n, 2);
	expect_gap(&g, 0, 0x40000, 0x43000);
	expect_gap(&g, 1, 0x10000, 0x13000);
	assert_true(fn_gap_ranges(lang_program_step(p, 1), "0x40000", &g));
	assert_int_equal(g.n, 1);
	assert_false(fn_gap_ranges(lang_program_step(p, 2), "0x50000", &g));
	/* the lengths are compared page-aligned, as the kernel compares them */
	assert_true(fn_gap_ranges(lang_program_step(p, 3), "0x40000", &g));
	assert_int_equal(g.n, 2);
	expect_gap(&g, 1, 0x10000, 0x13000);
	assert_true(fn_remap_keeps_source(lang_program_step(p, 3)));
	assert_false(fn_remap_keeps_source(lang_program_step(p, 0)));
	lang_program_free(p);
}

static bool fn_same_under(const char *a, const char *b, unsigned int how, uint64_t gs, uint64_t ge)
{
	struct fn_gaps g = { 1, { gs }, { ge } };
	struct fn_buf na = { 0 }, nb = { 0 };
	bool same;

	fn_digest_normalize(a, how, &g, &na);
	fn_digest_normalize(b, how, &g, &nb);
	same = !strcmp(na.s, nb.s);
	fn_buf_free(&na);
	fn_buf_free(&nb);
	return same;
}

#define FN_MM "  mm#0: users=1 count=1 map_count=%d rss=%d/0 base=0x7f0000000000\n"
#define FN_VMA(s, e, pg, fl) "    vma " s "-" e " pgoff=" pg " | flags=" fl " ops=-\n"

static void test_failnth_split_left_apart_is_one_vma(void **state)
{
	char before[512], split[512], changed[512];

	snprintf(before, sizeof(before), "frames_free=10\n" FN_MM "%s", 1, 1,
		 FN_VMA("0x10000", "0x13000", "0x10", "0x33"));
	snprintf(split, sizeof(split), "frames_free=10\n" FN_MM "%s%s", 2, 1,
		 FN_VMA("0x10000", "0x11000", "0x10", "0x33"),
		 FN_VMA("0x11000", "0x13000", "0x11", "0x33"));
	/* the same split, but the second half's protection changed: still caught */
	snprintf(changed, sizeof(changed), "frames_free=10\n" FN_MM "%s%s", 2, 1,
		 FN_VMA("0x10000", "0x11000", "0x10", "0x33"),
		 FN_VMA("0x11000", "0x13000", "0x11", "0x31"));
	assert_false(fn_same_under(before, split, 0, 0, 0));
	assert_true(fn_same_under(before, split, FN_NORM_SPLITS, 0, 0));
	assert_false(fn_same_under(before, changed, FN_NORM_SPLITS, 0, 0));
}

static void test_failnth_gap_drops_only_the_range(void **state)
{
	char before[512], gap[512], other[512];

	snprintf(before, sizeof(before), "frames_free=10\n" FN_MM "%s%s", 2, 1,
		 FN_VMA("0x10000", "0x11000", "0x10", "0x33"),
		 FN_VMA("0x20000", "0x21000", "0x20", "0x33"));
	snprintf(gap, sizeof(gap), "frames_free=11\n" FN_MM "%s", 1, 0,
		 FN_VMA("0x20000", "0x21000", "0x20", "0x33"));
	snprintf(other, sizeof(other), "frames_free=11\n" FN_MM "%s", 1, 0,
		 FN_VMA("0x10000", "0x11000", "0x10", "0x33"));
	assert_true(fn_same_under(before, gap, FN_NORM_GAP, 0x10000, 0x11000));
	assert_false(fn_same_under(before, other, FN_NORM_GAP, 0x10000, 0x11000));
}

static void test_failnth_wrprotect_forgives_only_the_write_bit(void **state)
{
	const char *before = "frames_free=10\n    pte 0x10000 L1 wu--\n";

	assert_true(fn_same_under(before, "frames_free=10\n    pte 0x10000 L1 -u--\n",
				  FN_NORM_WRPROTECT, 0, 0));
	assert_false(fn_same_under(before, "frames_free=10\n    pte 0x10000 L1 -u-s\n",
				   FN_NORM_WRPROTECT, 0, 0));
	assert_false(fn_same_under(before, "frames_free=9\n    pte 0x10000 L1 -u--\n",
				   FN_NORM_WRPROTECT, 0, 0));
	assert_false(fn_same_under(before, "frames_free=10\n", FN_NORM_WRPROTECT, 0, 0));
}

static void test_failnth_only_pgtables_needs_the_exact_count(void **state)
{
	const char *before = "frames_free=100 pgtable_bytes=8192\nx\n";

	assert_true(fn_digest_only_pgtables(before, "frames_free=99 pgtable_bytes=12288\nx\n"));
	/* a data page lost as well */
	assert_false(fn_digest_only_pgtables(before, "frames_free=98 pgtable_bytes=12288\nx\n"));
	/* something else changed too */
	assert_false(fn_digest_only_pgtables(before, "frames_free=99 pgtable_bytes=12288\ny\n"));
	assert_false(fn_digest_only_pgtables(before, before));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failnth_got_parse_table),
		cmocka_unit_test(test_failnth_errno_rules_table),
		cmocka_unit_test(test_failnth_fixed_range_only_for_map_fixed),
		cmocka_unit_test(test_failnth_remap_move_ranges_source_and_destination),
		cmocka_unit_test(test_failnth_split_left_apart_is_one_vma),
		cmocka_unit_test(test_failnth_gap_drops_only_the_range),
		cmocka_unit_test(test_failnth_wrprotect_forgives_only_the_write_bit),
		cmocka_unit_test(test_failnth_only_pgtables_needs_the_exact_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
