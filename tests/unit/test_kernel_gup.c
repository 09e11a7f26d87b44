/* SPDX-License-Identifier: MIT */
/*
 * GUP and access_remote_vm with Linux's check_vma_flags() rules: FOLL_FORCE
 * writes reach read-only private memory through a private copy (the PTE
 * stays read-only), never shared memory; shadow stacks only with FORCE;
 * unreadable memory only with FORCE; I/O mappings never.
 */
#include <errno.h>
#include <string.h>

#include "mvtest.h"
#include "kernel/kernel.h"

#define PG 4096ull
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

static long remote(struct mv_task *t, uint64_t a, void *buf, size_t len, unsigned int flags)
{
	return access_remote_vm(t->mm, a, buf, len, flags);
}

static long kmap(struct mv_task *t, uint64_t len, unsigned long vm_flags)
{
	long ret;

	pthread_rwlock_wrlock(&t->mm->mmap_lock);
	ret = mm_map_locked(t, NULL, 0, len, vm_flags, MAP_PRIVATE, 0);
	pthread_rwlock_unlock(&t->mm->mmap_lock);
	assert_true(ret > 0);
	return ret;
}

struct gup_row {
	const char *behaviour;
	uint64_t prot, map_flags;
	unsigned int foll;
	long expect;   /* bytes, or -errno */
};

static const struct gup_row gup_rows[] = {
	{ "read_rw", RW, ANON, 0, 8 },
	{ "write_rw", RW, ANON, FOLL_WRITE, 8 },
	{ "write_read_only_needs_force", PROT_READ, ANON, FOLL_WRITE, -EFAULT },
	{ "forced_write_read_only_private", PROT_READ, ANON, FOLL_WRITE | FOLL_FORCE, 8 },
	{ "read_prot_none_needs_force", PROT_NONE, ANON, 0, -EFAULT },
	{ "forced_read_prot_none", PROT_NONE, ANON, FOLL_FORCE, 8 },
	{ "forced_write_shared_read_only", PROT_READ, MAP_SHARED | MAP_ANONYMOUS,
	  FOLL_WRITE | FOLL_FORCE, -EFAULT },
	{ "write_shared_rw", RW, MAP_SHARED | MAP_ANONYMOUS, FOLL_WRITE, 8 },
};

static void test_gup_access_table(void **state)
{
	for (size_t i = 0; i < sizeof(gup_rows) / sizeof(gup_rows[0]); i++) {
		const struct gup_row *r = &gup_rows[i];
		struct mv_machine *m;
		struct mv_task *t = mvtest_task(&m);
		long a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, PG, r->prot, r->map_flags, -1, 0);
		uint64_t v = 0x0123456789abcdefull;
		long ret;

		assert_true(a > 0);
		ret = remote(t, a + 16, &v, sizeof(v), r->foll);
		if (ret != r->expect)
			fail_msg("%s: got %ld, want %ld", r->behaviour, ret, r->expect);
		mv_machine_destroy(m);
	}
}

static void test_gup_unmapped_is_efault(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	uint8_t v;

	assert_int_equal(remote(t, 0x10000, &v, 1, 0), -EFAULT);
	mvtest_expect_no_signal(t);   /* GUP faults never signal */
	mv_machine_destroy(m);
}

static void test_gup_partial_returns_bytes_done(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, 2 * PG, RW, ANON, -1, 0);
	uint8_t buf[32];

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, a + PG, PG), 0);
	assert_int_equal(remote(t, a + PG - 8, buf, sizeof(buf), 0), 8);
	mv_machine_destroy(m);
}

static void test_gup_forced_write_keeps_pte_read_only(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, PG, PROT_READ, ANON, -1, 0);
	uint32_t v = 0x5151;

	assert_int_equal(remote(t, a, &v, sizeof(v), FOLL_WRITE | FOLL_FORCE), sizeof(v));
	v = 0;
	assert_int_equal(mv_user_read(t, a, &v, sizeof(v)), 0);
	assert_int_equal(v, 0x5151);
	assert_int_equal(mv_user_write(t, a, &v, sizeof(v)), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_ACCERR, a);
	mv_machine_destroy(m);
}

static void test_gup_forced_write_private_file_copies(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long fd = MVTEST_SYSCALL(t, MV_SYS_memfd_create, "g", 0), a;
	char c = 0;

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_pwrite64, fd, "o", 1, 0), 1);
	a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, PG, PROT_READ, MAP_PRIVATE, fd, 0);
	assert_int_equal(mv_user_read(t, a, &c, 1), 0);   /* page cache page mapped */
	assert_int_equal(remote(t, a, "n", 1, FOLL_WRITE | FOLL_FORCE), 1);
	assert_int_equal(mv_user_read(t, a, &c, 1), 0);
	assert_int_equal(c, 'n');
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_pread64, fd, &c, 1, 0), 1);
	assert_int_equal(c, 'o');
	mv_machine_destroy(m);
}

static void test_gup_forced_write_after_fork_leaves_parent(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m), *c = NULL;
	long a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, PG, RW, ANON, -1, 0);
	uint32_t v = 1;

	assert_int_equal(mv_user_write(t, a, &v, sizeof(v)), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, a, PG, PROT_READ), 0);
	assert_int_equal(mv_task_clone(t, 0, &c), 0);
	v = 2;
	assert_int_equal(remote(c, a, &v, sizeof(v), FOLL_WRITE | FOLL_FORCE), sizeof(v));
	assert_int_equal(mv_user_read(t, a, &v, sizeof(v)), 0);
	assert_int_equal(v, 1);
	assert_int_equal(mv_user_read(c, a, &v, sizeof(v)), 0);
	assert_int_equal(v, 2);
	mv_machine_destroy(m);
}

static void test_gup_shadow_stack_write_needs_force(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long a = kmap(t, PG, VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_SHADOW_STACK);
	uint64_t v = 0xabc;

	assert_int_equal(remote(t, a, &v, sizeof(v), 0), sizeof(v));
	assert_int_equal(v, 0);
	v = 0xabc;
	assert_int_equal(remote(t, a, &v, sizeof(v), FOLL_WRITE), -EFAULT);
	assert_int_equal(remote(t, a, &v, sizeof(v), FOLL_WRITE | FOLL_FORCE), sizeof(v));
	v = 0;
	assert_int_equal(mv_user_read(t, a, &v, sizeof(v)), 0);
	assert_int_equal(v, 0xabc);
	/* A plain store to a shadow stack is an access error. */
	assert_int_equal(mv_user_write(t, a, &v, sizeof(v)), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_ACCERR, a);
	mv_machine_destroy(m);
}

static void test_gup_io_mapping_is_efault(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	long a = kmap(t, PG, VM_READ | VM_MAYREAD | VM_IO | VM_PFNMAP);
	uint8_t v;

	assert_int_equal(remote(t, a, &v, 1, 0), -EFAULT);
	assert_int_equal(remote(t, a, &v, 1, FOLL_FORCE), -EFAULT);
	mv_machine_destroy(m);
}

static void test_gup_one_holds_a_reference(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	struct hw_machine *hw = t->k->hw;
	long a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, PG, RW, ANON, -1, 0);
	hw_pfn_t pfn;
	long ret;

	pthread_rwlock_rdlock(&t->mm->mmap_lock);
	ret = gup_one_locked(t->mm, a, FOLL_WRITE, &pfn);
	pthread_rwlock_unlock(&t->mm->mmap_lock);
	assert_int_equal(ret, 0);
	assert_int_equal(hw_folio_refcount(hw, pfn), 2);   /* PTE + pin */
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, a, PG), 0);
	assert_int_equal(hw_folio_refcount(hw, pfn), 1);   /* the pin keeps it */
	hw_folio_put(hw, pfn);
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gup_access_table),
		cmocka_unit_test(test_gup_unmapped_is_efault),
		cmocka_unit_test(test_gup_partial_returns_bytes_done),
		cmocka_unit_test(test_gup_forced_write_keeps_pte_read_only),
		cmocka_unit_test(test_gup_forced_write_private_file_copies),
		cmocka_unit_test(test_gup_forced_write_after_fork_leaves_parent),
		cmocka_unit_test(test_gup_shadow_stack_write_needs_force),
		cmocka_unit_test(test_gup_io_mapping_is_efault),
		cmocka_unit_test(test_gup_one_holds_a_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
