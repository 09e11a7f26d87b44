/* SPDX-License-Identifier: MIT */
/*
 * Address-space accounting and its limits, as mm/mmap.c keeps them:
 * vm_stat_account() counts every mapped page in total_vm and by kind
 * (exec, else stack with shadow stacks, else private writable data), and
 * may_expand_vm() refuses growth past RLIMIT_AS (total_vm) or RLIMIT_DATA
 * (data_vm, for what is_data_mapping() calls data) with -ENOMEM, in mmap,
 * map_shadow_stack, the thread shadow stack and mprotect.
 */
#include "shstk_test.h"
#include "kernel/kernel.h"

#define RW (PROT_READ | PROT_WRITE)
#define RLIMIT_DATA_ 2
#define RLIMIT_AS_ 9

struct lim {
	uint64_t cur, max;
};

static void set_limit(struct mv_task *t, int resource, uint64_t cur, uint64_t max)
{
	struct lim l = { cur, max };

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_setrlimit, resource, &l), 0);
}

static long do_mmap(struct mv_task *t, uint64_t addr, uint64_t pages, uint64_t prot,
		    uint64_t flags)
{
	return MVTEST_SYSCALL(t, MV_SYS_mmap, addr, pages * PG, prot, flags, -1, 0);
}

struct counters {
	uint64_t total, data, exec, stack;
};

static struct counters counters(struct mv_task *t)
{
	struct counters c;

	pthread_rwlock_rdlock(&t->mm->mmap_lock);
	c = (struct counters){ t->mm->total_vm, t->mm->data_vm, t->mm->exec_vm, t->mm->stack_vm };
	pthread_rwlock_unlock(&t->mm->mmap_lock);
	return c;
}

static void expect_delta(struct mv_task *t, struct counters base, int64_t total, int64_t data,
			 int64_t exec, int64_t stack)
{
	struct counters c = counters(t);

	assert_int_equal(c.total - base.total, (uint64_t)total);
	assert_int_equal(c.data - base.data, (uint64_t)data);
	assert_int_equal(c.exec - base.exec, (uint64_t)exec);
	assert_int_equal(c.stack - base.stack, (uint64_t)stack);
}

/* Each kind of mapping lands in its counter; the first matching kind wins. */
static void test_vm_stat_account_counts_by_kind(void **state)
{
	static const struct {
		const char *what;
		uint64_t prot, flags;
		int64_t data, exec, stack;
	} rows[] = {
		{ "private writable: data", RW, ANON, 3, 0, 0 },
		{ "private read-only: neither", PROT_READ, ANON, 0, 0, 0 },
		{ "shared writable: not data", RW, MAP_SHARED | MAP_ANONYMOUS, 0, 0, 0 },
		{ "executable: exec", PROT_READ | PROT_EXEC, ANON, 0, 3, 0 },
		{ "writable and executable: data", RW | PROT_EXEC, ANON, 3, 0, 0 },
		{ "grows down: stack", RW, ANON | MAP_GROWSDOWN, 0, 0, 3 },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct mv_machine *m;
		struct mv_task *t = shtest_task(&m, 0, 0);
		struct counters base = counters(t);
		long a = do_mmap(t, 0, 3, rows[i].prot, rows[i].flags);

		print_message("%s\n", rows[i].what);
		assert_true(a > 0);
		expect_delta(t, base, 3, rows[i].data, rows[i].exec, rows[i].stack);
		assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, a + PG, PG), 0);
		expect_delta(t, base, 2, rows[i].data ? 2 : 0, rows[i].exec ? 2 : 0,
			     rows[i].stack ? 2 : 0);
		mv_machine_destroy(m);
	}
}

/* A shadow stack is stack_vm; mprotect moves pages between kinds; fork copies the counters. */
static void test_vm_stat_account_shadow_stack_mprotect_fork(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0), *c;
	struct counters base = counters(t);
	uint64_t s = shtest_map(t, 0, 2 * PG, 0);
	long a = do_mmap(t, 0, 4, PROT_READ, ANON);

	expect_delta(t, base, 6, 0, 0, 2);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, a, 2 * PG, RW), 0);
	expect_delta(t, base, 6, 2, 0, 2);
	/* A shadow stack made read-only, then writable again, stays stack. */
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, s, 2 * PG, PROT_READ), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, s, 2 * PG, RW), 0);
	expect_delta(t, base, 6, 2, 0, 2);
	/* fork: the child's address space counts the same (MADV_DONTFORK pages excepted) */
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_madvise, a + 3 * PG, PG, MADV_DONTFORK), 0);
	assert_int_equal(mv_task_clone(t, 0, &c), 0);
	expect_delta(c, base, 5, 2, 0, 2);
	mv_task_exit(c);
	mv_machine_destroy(m);
}

/* RLIMIT_AS bounds total_vm: rows run in order, each with the errno it gets. */
static void test_may_expand_vm_rlimit_as(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	struct counters base = counters(t);
	uint64_t limit = (base.total + 8) * PG;
	long a;

	set_limit(t, RLIMIT_AS_, limit, limit);
	/* 8 pages of room */
	assert_int_equal(do_mmap(t, 0, 9, PROT_READ, ANON), -ENOMEM);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_map_shadow_stack, 0, 9 * PG, 0), -ENOMEM);
	assert_int_equal(shtest_prctl(t, ARCH_SHSTK_ENABLE, ARCH_SHSTK_SHSTK), -ENOMEM);
	assert_int_equal(shtest_status(t), 0);
	a = do_mmap(t, 0, 6, PROT_READ, ANON);
	assert_true(a > 0);
	assert_int_equal(do_mmap(t, 0, 3, PROT_READ, ANON), -ENOMEM);
	assert_true(do_mmap(t, 0, 2, PROT_READ, ANON) > 0);
	/* Full: MAP_FIXED over mapped pages may still replace them... */
	assert_int_equal(do_mmap(t, a, 6, RW, ANON | MAP_FIXED), a);
	/* ...but not grow past them; the refused call changed nothing. */
	assert_int_equal(mv_user_write(t, a, "x", 1), 0);
	assert_int_equal(do_mmap(t, a, 7, PROT_READ, ANON | MAP_FIXED), -ENOMEM);
	assert_int_equal(mv_user_write(t, a, "y", 1), 0);
	expect_delta(t, base, 8, 6, 0, 0);
	mv_machine_destroy(m);
}

/* RLIMIT_DATA bounds data_vm for data mappings only; a shadow stack is checked as data. */
static void test_may_expand_vm_rlimit_data(void **state)
{
	static const struct {
		const char *what;
		uint64_t pages, prot, flags;
		long err;   /* 0: succeeds */
	} rows[] = {
		{ "private writable, 4 of 8 pages", 4, RW, ANON, 0 },
		{ "private writable, 5 more: over", 5, RW, ANON, -ENOMEM },
		{ "private read-only: not data", 64, PROT_READ, ANON, 0 },
		{ "shared writable: not data", 64, RW, MAP_SHARED | MAP_ANONYMOUS, 0 },
		{ "grows down: a stack", 64, RW, ANON | MAP_GROWSDOWN, 0 },
		{ "private writable, the last 4", 4, RW, ANON, 0 },
		{ "private writable, one more", 1, RW, ANON, -ENOMEM },
	};
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);

	set_limit(t, RLIMIT_DATA_, 8 * PG, 8 * PG);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		long r = do_mmap(t, 0, rows[i].pages, rows[i].prot, rows[i].flags);

		print_message("%s\n", rows[i].what);
		if (rows[i].err)
			assert_int_equal(r, rows[i].err);
		else
			assert_true(r > 0);
	}
	mv_machine_destroy(m);
}

/*
 * map_shadow_stack and the thread shadow stack pass may_expand_vm as data
 * (VM_WRITE, private, not VM_GROWSDOWN) though they are accounted as stack.
 */
static void test_may_expand_vm_shadow_stack_checked_as_data(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	struct counters base = counters(t);

	set_limit(t, RLIMIT_DATA_, 8 * PG, 8 * PG);
	assert_true(do_mmap(t, 0, 4, RW, ANON) > 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_map_shadow_stack, 0, 5 * PG, 0), -ENOMEM);
	shtest_map(t, 0, 4 * PG, 0);
	expect_delta(t, base, 8, 4, 0, 4);
	/* data_vm is still 4: another 4-page shadow stack fits as well */
	shtest_map(t, 0, 4 * PG, 0);
	/* the 8 MiB thread shadow stack does not */
	assert_int_equal(shtest_prctl(t, ARCH_SHSTK_ENABLE, ARCH_SHSTK_SHSTK), -ENOMEM);
	mv_machine_destroy(m);
}

/* mprotect_fixup: making private pages writable turns them into data. */
static void test_may_expand_vm_mprotect_to_writable(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	long a = do_mmap(t, 0, 6, PROT_READ, ANON), s = do_mmap(t, 0, 6, PROT_READ, MAP_SHARED |
								 MAP_ANONYMOUS);

	set_limit(t, RLIMIT_DATA_, 4 * PG, 4 * PG);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, a, 5 * PG, RW), -ENOMEM);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, a, 4 * PG, RW), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, a + 4 * PG, PG, RW), -ENOMEM);
	/* shared memory is never data; read-only again frees the room */
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, s, 6 * PG, RW), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, a, 2 * PG, PROT_READ), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, a + 4 * PG, 2 * PG, RW), 0);
	mv_machine_destroy(m);
}

/* A soft RLIMIT_DATA of 0 falls back to the hard limit (the Valgrind workaround). */
static void test_may_expand_vm_rlimit_data_zero_uses_hard_limit(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);

	set_limit(t, RLIMIT_DATA_, 0, 8 * PG);
	assert_true(do_mmap(t, 0, 8, RW, ANON) > 0);
	assert_int_equal(do_mmap(t, 0, 1, RW, ANON), -ENOMEM);
	mv_machine_destroy(m);
}

/* A CLONE_VM thread's shadow stack is refused when it does not fit: the clone fails. */
static void test_may_expand_vm_thread_shadow_stack_on_clone(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0), *c = NULL;
	uint64_t limit;

	shtest_enable(t, ARCH_SHSTK_SHSTK);
	limit = (counters(t).total + 16) * PG;
	set_limit(t, RLIMIT_AS_, limit, limit);
	assert_int_equal(mv_task_clone(t, CLONE_VM, &c), -ENOMEM);
	assert_null(c);
	mv_machine_destroy(m);
}

static void expect_two_bytes(struct mv_task *t, uint64_t va, const char *want)
{
	char buf[2];

	assert_int_equal(mv_user_read(t, va, buf, 2), 0);
	assert_memory_equal(buf, want, 2);
}

/*
 * __mmap_setup(): a MAP_FIXED that may_expand_vm() refuses has already
 * gathered what it would replace, split at both ends (vms_gather_munmap_vmas),
 * and vms_abort_munmap_vmas() puts those VMAs back as they are: both splits
 * stay, every page mapped and holding its data.
 */
static void test_may_expand_vm_refused_map_fixed_leaves_both_splits(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	const uint64_t a = 0x500000000000ull, b = a + 6 * PG;
	uint64_t limit, count;

	assert_int_equal(do_mmap(t, a, 4, RW, ANON | MAP_FIXED), (long)a);
	assert_int_equal(do_mmap(t, b, 2, RW, ANON | MAP_FIXED), (long)b);
	assert_int_equal(mv_user_write(t, a + PG, "a1", 2), 0);
	assert_int_equal(mv_user_write(t, b, "b0", 2), 0);
	count = t->mm->map_count;
	limit = counters(t).total * PG;
	set_limit(t, RLIMIT_AS_, limit, limit);
	/* [a + PG, b + PG): A's tail, the 2-page gap (growth), B's head */
	assert_int_equal(do_mmap(t, a + PG, 6, RW, ANON | MAP_FIXED), -ENOMEM);
	assert_int_equal(t->mm->map_count, count + 2);
	assert_non_null(vma_find(t->mm, a + PG));
	assert_int_equal(vma_start(vma_find(t->mm, a + PG)), a + PG);
	assert_int_equal(vma_end(vma_find(t->mm, b)), b + PG);
	expect_two_bytes(t, a + PG, "a1");
	expect_two_bytes(t, b, "b0");
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vm_stat_account_counts_by_kind),
		cmocka_unit_test(test_vm_stat_account_shadow_stack_mprotect_fork),
		cmocka_unit_test(test_may_expand_vm_rlimit_as),
		cmocka_unit_test(test_may_expand_vm_rlimit_data),
		cmocka_unit_test(test_may_expand_vm_shadow_stack_checked_as_data),
		cmocka_unit_test(test_may_expand_vm_mprotect_to_writable),
		cmocka_unit_test(test_may_expand_vm_rlimit_data_zero_uses_hard_limit),
		cmocka_unit_test(test_may_expand_vm_thread_shadow_stack_on_clone),
		cmocka_unit_test(test_may_expand_vm_refused_map_fixed_leaves_both_splits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
