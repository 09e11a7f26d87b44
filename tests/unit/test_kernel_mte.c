/* SPDX-License-Identifier: MIT */
/*
 * MTE for host tasks (SEMANTICS 5, docs/mte.md): PROT_MTE on anonymous
 * and shmem mappings, mprotect adding it, prctl(PR_SET/GET_TAGGED_ADDR_CTRL),
 * sync and async tag-check faults, tags cleared on first fault, copied on
 * COW, never leaked to a new owner; use-after-free and linear overflow.
 */
#include <errno.h>
#include <string.h>

#include "mvtest.h"

#define PG 4096ull
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define TAG(p, t) (((uint64_t)(p) & ~(0xfull << 56)) | ((uint64_t)(t) << 56))

static long mte_map(struct mv_task *t, uint64_t len, uint64_t flags)
{
	long a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, len, RW | PROT_MTE, flags, -1, 0);

	assert_true(a > 0);
	return a;
}

static void set_ctrl(struct mv_task *t, uint64_t ctrl)
{
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_prctl, PR_SET_TAGGED_ADDR_CTRL, ctrl, 0, 0, 0), 0);
}

static void set_tags(struct mv_task *t, uint64_t addr, uint64_t len, unsigned int tag)
{
	for (uint64_t a = addr; a < addr + len; a += 16)
		assert_int_equal(mv_user_set_tag(t, TAG(a, tag)), 0);
}

static unsigned int get_tag(struct mv_task *t, uint64_t addr)
{
	uint8_t tag = 0xff;

	assert_int_equal(mv_user_get_tag(t, addr, &tag), 0);
	return tag;
}

static struct mv_task *mte_task(struct mv_machine **m, uint64_t tcf)
{
	struct mv_task *t = mvtest_task(m);

	set_ctrl(t, PR_TAGGED_ADDR_ENABLE | tcf | (0xfffeull << PR_MTE_TAG_SHIFT));
	return t;
}

static void test_prot_mte_on_anonymous_and_memfd_mappings(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mte_task(&m, PR_MTE_TCF_SYNC);
	long fd = MVTEST_SYSCALL(t, MV_SYS_memfd_create, (uint64_t)(uintptr_t)"tagged", 0);
	long a;

	mte_map(t, PG, ANON);
	mte_map(t, PG, MAP_SHARED | MAP_ANONYMOUS);
	assert_true(fd >= 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_ftruncate, fd, PG), 0);
	a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, PG, RW | PROT_MTE, MAP_SHARED, fd, 0);
	assert_true(a > 0);
	set_tags(t, a, 32, 6);
	assert_int_equal(get_tag(t, a + 16), 6);
	mv_machine_destroy(m);
}

static void test_prot_mte_elsewhere_is_einval(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mte_task(&m, PR_MTE_TCF_SYNC);
	long fd = MVTEST_SYSCALL(t, MV_SYS_openat, AT_FDCWD, (uint64_t)(uintptr_t)"/dev/zero", O_RDWR);
	long a;

	assert_true(fd >= 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mmap, 0, PG, RW | PROT_MTE, MAP_PRIVATE, fd, 0),
			 -EINVAL);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mmap, 0, PG, RW | PROT_MTE, MAP_SHARED, fd, 0),
			 -EINVAL);
	/* mprotect adding it: the same rule */
	a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, PG, RW, MAP_PRIVATE, fd, 0);
	assert_true(a > 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, a, PG, RW | PROT_MTE), -EINVAL);
	mv_machine_destroy(m);
}

static void test_mprotect_adding_prot_mte_sanitises_present_pages(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mte_task(&m, PR_MTE_TCF_SYNC);
	long a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, PG, RW, ANON, -1, 0);
	uint32_t v = 0x1234;

	assert_int_equal(mv_user_write(t, a, &v, 4), 0);
	/* not tagged memory: STG is ignored, LDG reads 0, any tag passes */
	assert_int_equal(mv_user_set_tag(t, TAG(a, 9)), 0);
	assert_int_equal(get_tag(t, a), 0);
	assert_int_equal(mv_user_write(t, TAG(a, 9), &v, 4), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, a, PG, RW | PROT_MTE), 0);
	assert_int_equal(get_tag(t, a), 0);
	assert_int_equal(mv_user_read(t, TAG(a, 0), &v, 4), 0);
	assert_int_equal(v, 0x1234);
	assert_int_equal(mv_user_read(t, TAG(a, 9), &v, 4), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_MTESERR, (uint64_t)a);
	mv_machine_destroy(m);
}

static void test_machine_without_mte_refuses_prot_mte_and_tcf(void **state)
{
	struct mv_machine_config cfg = { .ram_bytes = 64ull << 20, .features_off = MV_FEAT_MTE };
	struct mv_machine *m = NULL;
	struct mv_task *t = NULL;
	long a;

	assert_int_equal(mv_machine_create(&cfg, &m), 0);
	assert_int_equal(mv_task_spawn(m, &t), 0);
	/* mmap ignores the bit it cannot honour, mprotect refuses it */
	a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, PG, RW | PROT_MTE, ANON, -1, 0);
	assert_true(a > 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, a, PG, RW | PROT_MTE), -EINVAL);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_prctl, PR_SET_TAGGED_ADDR_CTRL,
					PR_TAGGED_ADDR_ENABLE | PR_MTE_TCF_SYNC, 0, 0, 0), -EINVAL);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_prctl, PR_SET_TAGGED_ADDR_CTRL,
					PR_TAGGED_ADDR_ENABLE, 0, 0, 0), 0);
	mv_machine_destroy(m);
}

static void test_prctl_tagged_addr_ctrl_answers(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	uint64_t ctrl = PR_TAGGED_ADDR_ENABLE | PR_MTE_TCF_SYNC | PR_MTE_TCF_ASYNC |
			(0x00ffull << PR_MTE_TAG_SHIFT);
	static const struct { uint64_t a[5]; long ret; } rows[] = {
		{ { PR_SET_TAGGED_ADDR_CTRL, 1ull << 19, 0, 0, 0 }, -EINVAL },   /* past the tag mask */
		{ { PR_SET_TAGGED_ADDR_CTRL, PR_TAGGED_ADDR_ENABLE, 1, 0, 0 }, -EINVAL },
		{ { PR_SET_TAGGED_ADDR_CTRL, PR_TAGGED_ADDR_ENABLE, 0, 0, 1 }, -EINVAL },
		{ { PR_GET_TAGGED_ADDR_CTRL, 1, 0, 0, 0 }, -EINVAL },
		{ { PR_GET_TAGGED_ADDR_CTRL, 0, 0, 1, 0 }, -EINVAL },
		{ { 0x7fff, 0, 0, 0, 0 }, -EINVAL },
	};

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_prctl, PR_GET_TAGGED_ADDR_CTRL, 0, 0, 0, 0), 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_prctl, rows[i].a[0], rows[i].a[1],
						rows[i].a[2], rows[i].a[3], rows[i].a[4]), rows[i].ret);
	set_ctrl(t, ctrl);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_prctl, PR_GET_TAGGED_ADDR_CTRL, 0, 0, 0, 0),
			 (long)ctrl);
	mv_machine_destroy(m);
}

static void test_tag_check_sync_faults_precisely_and_changes_nothing(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mte_task(&m, PR_MTE_TCF_SYNC);
	long a = mte_map(t, 2 * PG, ANON);
	uint8_t buf[64], zero[64] = { 0 };

	set_tags(t, a, 2 * PG, 3);
	memset(buf, 0xab, sizeof(buf));
	assert_int_equal(mv_user_write(t, TAG(a + 100, 3), buf, sizeof(buf)), 0);
	/* tag 0 is a tag like any other: a plain pointer no longer matches */
	assert_int_equal(mv_user_write(t, a + PG - 8, zero, 16), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_MTESERR, (uint64_t)a + PG - 8);
	assert_int_equal(mv_user_write(t, TAG(a + 100, 5), zero, sizeof(zero)), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_MTESERR, (uint64_t)a + 100);
	assert_int_equal(mv_user_read(t, TAG(a + 100, 3), buf, sizeof(buf)), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0xab);
	mv_machine_destroy(m);
}

static void test_tag_check_async_reports_at_next_kernel_entry(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mte_task(&m, PR_MTE_TCF_ASYNC);
	long a = mte_map(t, PG, ANON);
	uint32_t v = 77;

	set_tags(t, a, 64, 2);
	assert_int_equal(mv_user_write(t, TAG(a, 4), &v, 4), 0);   /* goes through */
	mvtest_expect_no_signal(t);
	assert_true(MVTEST_SYSCALL(t, MV_SYS_getpid, 0) > 0);        /* kernel entry */
	mvtest_expect_signal(t, SIGSEGV, SEGV_MTEAERR, 0);
	v = 0;
	assert_int_equal(mv_user_read(t, TAG(a, 2), &v, 4), 0);
	assert_int_equal(v, 77);
	mv_machine_destroy(m);
}

static void test_tag_check_none_and_untagged_memory_pass(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mte_task(&m, PR_MTE_TCF_NONE);
	long a = mte_map(t, PG, ANON);
	uint32_t v = 1;

	set_tags(t, a, 16, 7);
	assert_int_equal(get_tag(t, a), 7);
	assert_int_equal(mv_user_write(t, TAG(a, 1), &v, 4), 0);
	mvtest_expect_no_signal(t);
	mv_machine_destroy(m);
}

static void test_tagged_pointer_needs_tagged_addr_abi(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, PG, RW, ANON, -1, 0);
	uint32_t v = 1;

	/* without top-byte ignore, bits 59:56 make the address non-canonical: #GP */
	assert_int_equal(mv_user_write(t, TAG(a, 1), &v, 4), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, 0x80, 0);
	set_ctrl(t, PR_TAGGED_ADDR_ENABLE);
	assert_int_equal(mv_user_write(t, TAG(a, 1), &v, 4), 0);
	mv_machine_destroy(m);
}

static void test_tags_cleared_on_first_fault_never_leaked_after_free(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mte_task(&m, PR_MTE_TCF_SYNC);

	for (int round = 0; round < 4; round++) {
		long a = mte_map(t, 4 * PG, ANON);

		for (uint64_t off = 0; off < 4 * PG; off += 16)
			assert_int_equal(get_tag(t, a + off), 0);
		set_tags(t, a, 4 * PG, 0xa);
		assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, a, 4 * PG), 0);
	}
	mv_machine_destroy(m);
}

static void test_tags_copied_on_cow_and_fork(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mte_task(&m, PR_MTE_TCF_SYNC), *c = NULL;
	long a = mte_map(t, PG, ANON);
	uint32_t v = 5;

	set_tags(t, a, 64, 0xc);
	assert_int_equal(mv_user_write(t, TAG(a, 0xc), &v, 4), 0);
	assert_int_equal(mv_task_clone(t, 0, &c), 0);
	assert_int_equal(MVTEST_SYSCALL(c, MV_SYS_prctl, PR_GET_TAGGED_ADDR_CTRL, 0, 0, 0, 0),
			 MVTEST_SYSCALL(t, MV_SYS_prctl, PR_GET_TAGGED_ADDR_CTRL, 0, 0, 0, 0));
	v = 6;
	assert_int_equal(mv_user_write(c, TAG(a, 0xc), &v, 4), 0);      /* COW copy */
	assert_int_equal(get_tag(c, a + 48), 0xc);
	assert_int_equal(mv_user_write(c, TAG(a + 64, 0xc), &v, 4), -EFAULT);
	mvtest_expect_signal(c, SIGSEGV, SEGV_MTESERR, (uint64_t)a + 64);
	set_tags(c, a, 16, 1);                 /* the child's retag stays its own */
	assert_int_equal(get_tag(t, a), 0xc);
	mv_task_exit(c);
	mv_machine_destroy(m);
}

/* A tiny allocator's view: tag the chunk on malloc, retag on free. */
static void test_attack_use_after_free_caught_sync_and_async(void **state)
{
	for (int async = 0; async < 2; async++) {
		struct mv_machine *m;
		struct mv_task *t = mte_task(&m, async ? PR_MTE_TCF_ASYNC : PR_MTE_TCF_SYNC);
		long heap = mte_map(t, PG, ANON);
		uint64_t p = TAG(heap, 3);
		char secret[32] = "password", got[32];

		set_tags(t, heap, 32, 3);                       /* malloc(32) */
		assert_int_equal(mv_user_write(t, p, secret, sizeof(secret)), 0);
		set_tags(t, heap, 32, 4);                       /* free(p): retagged */
		if (!async) {
			assert_int_equal(mv_user_read(t, p, got, sizeof(got)), -EFAULT);
			mvtest_expect_signal(t, SIGSEGV, SEGV_MTESERR, (uint64_t)heap);
		} else {
			assert_int_equal(mv_user_read(t, p, got, sizeof(got)), 0);
			assert_true(MVTEST_SYSCALL(t, MV_SYS_getpid, 0) > 0);
			mvtest_expect_signal(t, SIGSEGV, SEGV_MTEAERR, 0);
		}
		mv_machine_destroy(m);
	}
}

static void test_attack_linear_overflow_caught_and_nothing_written(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mte_task(&m, PR_MTE_TCF_SYNC);
	long heap = mte_map(t, PG, ANON);
	uint8_t big[48], victim[16];

	set_tags(t, heap, 32, 1);          /* a: 32 bytes, tag 1 */
	set_tags(t, heap + 32, 16, 2);     /* b: the next chunk, tag 2 */
	memset(victim, 0x5a, sizeof(victim));
	assert_int_equal(mv_user_write(t, TAG(heap + 32, 2), victim, sizeof(victim)), 0);
	memset(big, 0xee, sizeof(big));
	assert_int_equal(mv_user_write(t, TAG(heap, 1), big, sizeof(big)), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_MTESERR, (uint64_t)heap + 32);   /* where it crossed */
	assert_int_equal(mv_user_read(t, TAG(heap + 32, 2), victim, sizeof(victim)), 0);
	for (size_t i = 0; i < sizeof(victim); i++)
		assert_int_equal(victim[i], 0x5a);
	assert_int_equal(mv_user_read(t, TAG(heap, 1), big, 32), 0);
	assert_int_equal(big[0], 0);       /* the overflowing write changed nothing */
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prot_mte_on_anonymous_and_memfd_mappings),
		cmocka_unit_test(test_prot_mte_elsewhere_is_einval),
		cmocka_unit_test(test_mprotect_adding_prot_mte_sanitises_present_pages),
		cmocka_unit_test(test_machine_without_mte_refuses_prot_mte_and_tcf),
		cmocka_unit_test(test_prctl_tagged_addr_ctrl_answers),
		cmocka_unit_test(test_tag_check_sync_faults_precisely_and_changes_nothing),
		cmocka_unit_test(test_tag_check_async_reports_at_next_kernel_entry),
		cmocka_unit_test(test_tag_check_none_and_untagged_memory_pass),
		cmocka_unit_test(test_tagged_pointer_needs_tagged_addr_abi),
		cmocka_unit_test(test_tags_cleared_on_first_fault_never_leaked_after_free),
		cmocka_unit_test(test_tags_copied_on_cow_and_fork),
		cmocka_unit_test(test_attack_use_after_free_caught_sync_and_async),
		cmocka_unit_test(test_attack_linear_overflow_caught_and_nothing_written),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
