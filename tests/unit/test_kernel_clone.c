/* SPDX-License-Identifier: MIT */
/*
 * clone(2) and clone3(2) as kernel/fork.c answers them:
 * copy_clone_args_from_user() (size and version, the zero tail, set_tid,
 * exit_signal, CLONE_INTO_CGROUP), clone3_args_valid() with
 * clone3_stack_valid(), copy_process()'s flag checks, Linux's meaning of
 * CLONE_VM / CLONE_FILES / CLONE_THREAD, and the thread shadow stack sized
 * by clone3's stack_size as shstk_alloc_thread_stack() does.
 */
#include <string.h>

#include "shstk_test.h"
#include "kernel/kernel.h"

#define SIGCHLD_ 17
#define CLONE_DETACHED_ 0x00400000ull
#define CLONE_SETTLS_ 0x00080000ull
#define CLONE_NEWNS_ 0x00020000ull
#define CLONE_PIDFD_ 0x00001000ull
#define CLONE_PARENT_SETTID_ 0x00100000ull
#define CLONE_CLEAR_SIGHAND_ 0x100000000ull
#define CLONE_INTO_CGROUP_ 0x200000000ull
#define THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD)

/* struct clone_args (CLONE_ARGS_SIZE_VER2), with room past it for a tail. */
struct cargs {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	uint64_t set_tid, set_tid_size, cgroup;
	uint8_t tail[64];
};

static struct mv_task *task_by_pid(struct mv_task *t, long pid)
{
	struct mv_task *it, *found = NULL;

	pthread_mutex_lock(&t->k->lock);
	lib_list_for_each_entry(it, &t->k->tasks, link)
		if (it->pid == pid)
			found = it;
	pthread_mutex_unlock(&t->k->lock);
	return found;
}

static long clone3(struct mv_task *t, const struct cargs *a, uint64_t size)
{
	return MVTEST_SYSCALL(t, MV_SYS_clone3, a, size);
}

/* copy_clone_args_from_user(): each row one way to get the struct wrong. */
static void test_copy_clone_args_from_user_errnos(void **state)
{
	static const int32_t tids[2] = { 5, 6 }, tid0 = 0;
	const struct {
		const char *what;
		struct cargs a;
		uint64_t size;
		long err;   /* 0: a child is made */
	} rows[] = {
		{ "bigger than a page", { 0 }, 4097, -E2BIG },
		{ "smaller than version 0", { 0 }, 63, -EINVAL },
		{ "size 0", { 0 }, 0, -EINVAL },
		{ "version 0 is enough", { .exit_signal = SIGCHLD_ }, 64, 0 },
		{ "a zero tail past the struct is fine", { 0 }, sizeof(struct cargs), 0 },
		{ "a non-zero tail is not", { .tail = { [3] = 1 } }, sizeof(struct cargs), -E2BIG },
		{ "set_tid_size above 32", { .set_tid_size = 33 }, 88, -EINVAL },
		{ "set_tid_size without set_tid", { .set_tid_size = 1 }, 88, -EINVAL },
		{ "set_tid without a size", { .set_tid = (uintptr_t)tids }, 88, -EINVAL },
		{ "exit_signal above 64", { .exit_signal = 65 }, 88, -EINVAL },
		{ "exit_signal with upper bits", { .exit_signal = (1ull << 32) | SIGCHLD_ }, 88,
		  -EINVAL },
		{ "cgroup fd above INT_MAX", { .flags = CLONE_INTO_CGROUP_, .cgroup = 1ull << 31 },
		  88, -EINVAL },
		{ "cgroup in a version-1 struct", { .flags = CLONE_INTO_CGROUP_ }, 80, -EINVAL },
		{ "set_tid unreadable", { .set_tid = 0x10, .set_tid_size = 1 }, 88, -EFAULT },
		{ "set_tid in another namespace level", { .set_tid = (uintptr_t)tids,
		  .set_tid_size = 2 }, 88, -EINVAL },
		{ "set_tid 0", { .set_tid = (uintptr_t)&tid0, .set_tid_size = 1 }, 88, -EINVAL },
		{ "set_tid needs CAP_CHECKPOINT_RESTORE", { .set_tid = (uintptr_t)tids,
		  .set_tid_size = 1 }, 88, -EPERM },
	};
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		long r = clone3(t, &rows[i].a, rows[i].size);

		print_message("%s\n", rows[i].what);
		if (rows[i].err)
			assert_int_equal(r, rows[i].err);
		else
			assert_true(r > 0 && task_by_pid(t, r));
	}
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_clone3, 0x10, 88), -EFAULT);
	mv_machine_destroy(m);
}

/* clone3_args_valid() and clone3_stack_valid(), then copy_process()'s checks. */
static void test_clone3_args_valid_errnos(void **state)
{
	const uint64_t S = 0x700000000000ull;
	const struct {
		const char *what;
		struct cargs a;
	} rows[] = {
		{ "a flag above the known ones", { .flags = 1ull << 34 } },
		{ "CLONE_DETACHED", { .flags = CLONE_DETACHED_ } },
		{ "a CSIGNAL bit in flags", { .flags = SIGCHLD_ } },
		{ "CLONE_SIGHAND with CLONE_CLEAR_SIGHAND",
		  { .flags = CLONE_VM | CLONE_SIGHAND | CLONE_CLEAR_SIGHAND_ } },
		{ "a thread with an exit signal", { .flags = THREAD_FLAGS, .exit_signal = SIGCHLD_ } },
		{ "stack_size without a stack", { .stack_size = PG } },
		{ "a stack without a size", { .stack = S } },
		{ "a stack past TASK_SIZE", { .stack = TASK_SIZE - PG, .stack_size = 2 * PG } },
		{ "CLONE_THREAD without CLONE_SIGHAND", { .flags = CLONE_VM | CLONE_THREAD } },
		{ "CLONE_SIGHAND without CLONE_VM", { .flags = CLONE_SIGHAND } },
		{ "CLONE_NEWNS with CLONE_FS", { .flags = CLONE_NEWNS_ | CLONE_FS } },
		{ "CLONE_SETTLS: not modelled", { .flags = CLONE_SETTLS_ } },
	};
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		print_message("%s\n", rows[i].what);
		assert_int_equal(clone3(t, &rows[i].a, 88), -EINVAL);
	}
	mv_machine_destroy(m);
}

/* clone(): only the low 32 bits of flags count, the low byte is the exit signal. */
static void test_clone_flag_checks(void **state)
{
	const struct {
		const char *what;
		uint64_t flags;
		long err;
	} rows[] = {
		{ "fork with SIGCHLD", SIGCHLD_, 0 },
		{ "any exit signal", 0xff, 0 },
		{ "upper 32 bits ignored", (1ull << 40) | SIGCHLD_, 0 },
		{ "CLONE_DETACHED is ignored", CLONE_DETACHED_, 0 },
		{ "CLONE_THREAD without CLONE_SIGHAND", CLONE_VM | CLONE_THREAD, -EINVAL },
		{ "CLONE_SIGHAND without CLONE_VM", CLONE_SIGHAND, -EINVAL },
		{ "CLONE_PIDFD with CLONE_PARENT_SETTID: one pointer", CLONE_PIDFD_ |
		  CLONE_PARENT_SETTID_, -EINVAL },
		{ "CLONE_NEWNS with CLONE_FS", CLONE_NEWNS_ | CLONE_FS, -EINVAL },
		{ "CLONE_SETTLS: not modelled", CLONE_SETTLS_, -EINVAL },
	};
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		long r = MVTEST_SYSCALL(t, MV_SYS_clone, rows[i].flags, 0, 0, 0, 0);

		print_message("%s\n", rows[i].what);
		if (rows[i].err)
			assert_int_equal(r, rows[i].err);
		else
			assert_true(r > 0 && task_by_pid(t, r));
	}
	mv_machine_destroy(m);
}

/*
 * Linux's meaning of the flags: CLONE_VM shares the address space, only
 * CLONE_THREAD joins the thread group, only CLONE_FILES shares the fd
 * table; without CLONE_VM the child gets a copy-on-write copy.
 */
static void test_copy_process_shares_what_the_flags_say(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0), *c;
	uint64_t a = shtest_mmap(t, 0, PG, PROT_READ | PROT_WRITE, ANON), newsp = a + PG;
	long pid;

	assert_int_equal(mv_user_write(t, a, "p", 1), 0);
	pid = MVTEST_SYSCALL(t, MV_SYS_clone, THREAD_FLAGS, newsp, 0, 0, 0);
	c = task_by_pid(t, pid);
	assert_non_null(c);
	assert_ptr_equal(c->mm, t->mm);
	assert_ptr_equal(c->files, t->files);
	assert_int_equal(c->tgid, t->tgid);
	assert_int_equal(shtest_reg(c, MV_REG_RSP), newsp);
	assert_int_equal(MVTEST_SYSCALL(c, MV_SYS_getpid, 0), t->tgid);
	assert_int_equal(MVTEST_SYSCALL(c, MV_SYS_gettid, 0), pid);
	/* CLONE_VM alone: the same memory, but a process of its own with its own fds */
	c = task_by_pid(t, MVTEST_SYSCALL(t, MV_SYS_clone, CLONE_VM | SIGCHLD_, 0, 0, 0, 0));
	assert_non_null(c);
	assert_ptr_equal(c->mm, t->mm);
	assert_ptr_not_equal(c->files, t->files);
	assert_int_not_equal(c->tgid, t->tgid);
	assert_int_equal(mv_user_write(c, a, "c", 1), 0);
	assert_int_equal(shtest_read64(t, a) & 0xff, 'c');
	/* fork: a copy */
	c = task_by_pid(t, MVTEST_SYSCALL(t, MV_SYS_clone, SIGCHLD_, 0, 0, 0, 0));
	assert_non_null(c);
	assert_ptr_not_equal(c->mm, t->mm);
	assert_int_equal(mv_user_write(c, a, "f", 1), 0);
	assert_int_equal(shtest_read64(t, a) & 0xff, 'c');
	assert_int_equal(shtest_reg(c, MV_REG_RSP), shtest_reg(t, MV_REG_RSP));
	mv_machine_destroy(m);
}

static uint64_t shstk_vma_size(struct mv_task *t, uint64_t ssp)
{
	struct vma *vma;
	uint64_t size;

	pthread_rwlock_rdlock(&t->mm->mmap_lock);
	vma = vma_find(t->mm, ssp - 8);
	assert_non_null(vma);
	assert_true(vma->flags & VM_SHADOW_STACK);
	assert_int_equal(vma_end(vma), ssp);
	size = vma_end(vma) - vma_start(vma);
	pthread_rwlock_unlock(&t->mm->mmap_lock);
	return size;
}

/*
 * shstk_alloc_thread_stack(): a CLONE_VM child's shadow stack is
 * PAGE_ALIGN(clone3's stack_size), or min(RLIMIT_STACK, 4 GiB) without one
 * (and always with clone); its SSP starts at the top; the stack pointer is
 * stack + stack_size.
 */
static void test_shstk_alloc_thread_stack_sized_by_clone3(void **state)
{
	const struct {
		uint64_t stack_size, shstk_size;
	} rows[] = {
		{ 0x10000, 0x10000 },
		{ 0x10001, 0x11000 },
		{ PG, PG },
	};
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0), *c;
	uint64_t stack = shtest_mmap(t, 0, 0x20000, PROT_READ | PROT_WRITE, ANON);
	struct cargs a = { .flags = THREAD_FLAGS, .stack = stack };

	shtest_enable(t, ARCH_SHSTK_SHSTK);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		a.stack_size = rows[i].stack_size;
		c = task_by_pid(t, clone3(t, &a, 88));
		assert_non_null(c);
		assert_int_equal(shtest_reg(c, MV_REG_RSP), stack + rows[i].stack_size);
		assert_int_equal(shstk_vma_size(c, shtest_reg(c, MV_REG_SSP)), rows[i].shstk_size);
		assert_int_equal(shtest_status(c), ARCH_SHSTK_SHSTK);
		mv_task_exit(c);
	}
	/* no stack given (clone3 without one, or clone): the RLIMIT_STACK default */
	a.stack = a.stack_size = 0;
	c = task_by_pid(t, clone3(t, &a, 88));
	assert_int_equal(shstk_vma_size(c, shtest_reg(c, MV_REG_SSP)), 8ull << 20);
	c = task_by_pid(t, MVTEST_SYSCALL(t, MV_SYS_clone, THREAD_FLAGS, stack + PG, 0, 0, 0));
	assert_int_equal(shstk_vma_size(c, shtest_reg(c, MV_REG_SSP)), 8ull << 20);
	mv_machine_destroy(m);
}

/* A vfork child runs on its parent's shadow stack; a fork child on its copy. */
static void test_shstk_alloc_thread_stack_vfork_and_fork(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0), *c;
	uint64_t ssp, vm;

	shtest_enable(t, ARCH_SHSTK_SHSTK);
	ssp = shtest_reg(t, MV_REG_SSP);
	vm = t->mm->total_vm;
	c = task_by_pid(t, MVTEST_SYSCALL(t, MV_SYS_clone, CLONE_VM | CLONE_VFORK | SIGCHLD_, 0, 0,
					  0, 0));
	assert_non_null(c);
	assert_int_equal(shtest_reg(c, MV_REG_SSP), ssp);
	assert_int_equal(t->mm->total_vm, vm);
	mv_task_exit(c);
	assert_int_equal(shtest_reg(t, MV_REG_SSP), ssp);
	assert_int_equal(shstk_vma_size(t, ssp), 8ull << 20);   /* still there */
	c = task_by_pid(t, MVTEST_SYSCALL(t, MV_SYS_clone, SIGCHLD_, 0, 0, 0, 0));
	assert_non_null(c);
	assert_int_equal(shtest_reg(c, MV_REG_SSP), ssp);
	assert_int_equal(shstk_vma_size(c, ssp), 8ull << 20);
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy_clone_args_from_user_errnos),
		cmocka_unit_test(test_clone3_args_valid_errnos),
		cmocka_unit_test(test_clone_flag_checks),
		cmocka_unit_test(test_copy_process_shares_what_the_flags_say),
		cmocka_unit_test(test_shstk_alloc_thread_stack_sized_by_clone3),
		cmocka_unit_test(test_shstk_alloc_thread_stack_vfork_and_fork),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
