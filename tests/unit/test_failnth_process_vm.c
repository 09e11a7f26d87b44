/* SPDX-License-Identifier: MIT */
/*
 * Found by the fail-nth sweep (docs/testing.md): process_vm_readv and
 * process_vm_writev read up to UIO_FASTIOV (8) iovecs into an array on the
 * stack, as Linux does, so with a few iovecs their answers (-EINVAL,
 * -EFAULT, -ESRCH, a byte count) never depend on memory. A longer array
 * is allocated, and then -ENOMEM comes before the array is read.
 */
#include <string.h>

#include "mvtest.h"
#include "lib/alloc.h"

#define FN_MAX_NTH 8

struct fn_iovec {
	uint64_t base, len;
};

struct fn_pvm {
	struct mv_machine *m;
	struct mv_task *caller, *target;
	uint64_t remote;            /* a page of the target's, present */
};

static int fn_setup(void **state)
{
	struct fn_pvm *f = test_calloc(1, sizeof(*f));
	long addr;

	f->caller = mvtest_task(&f->m);
	assert_int_equal(mv_task_spawn(f->m, &f->target), 0);
	addr = MVTEST_SYSCALL(f->target, MV_SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(addr > 0);
	f->remote = (uint64_t)addr;
	assert_int_equal(mv_user_write(f->target, f->remote, "remote!", 8), 0);
	*state = f;
	return 0;
}

static int fn_teardown(void **state)
{
	struct fn_pvm *f = *state;

	mv_machine_destroy(f->m);
	test_free(f);
	return 0;
}

/* The call answers @expect whichever allocation fails (and with none failing). */
static void fn_same_answer(struct fn_pvm *f, long nr, int pid, const void *lvec, uint64_t lcnt,
			   const void *rvec, uint64_t rcnt, uint64_t flags, long expect,
			   const char *what)
{
	for (unsigned long nth = 0; nth <= FN_MAX_NTH; nth++) {
		long ret;

		lib_fail_after(nth);
		ret = MVTEST_SYSCALL(f->caller, nr, pid, lvec, lcnt, rvec, rcnt, flags);
		lib_fail_after(0);
		if (ret != expect)
			fail_msg("%s, allocation #%lu failing: got %ld, want %ld", what, nth, ret,
				 expect);
	}
}

static void test_failnth_process_vm_errors_do_not_allocate(void **state)
{
	struct fn_pvm *f = *state;
	int pid = mv_task_pid(f->target);
	struct fn_iovec nullbuf = { 0, 8 }, huge = { 0, 1ull << 63 };
	struct fn_iovec remote = { f->remote, 8 }, rhuge = { f->remote, 1ull << 63 };

	fn_same_answer(f, MV_SYS_process_vm_readv, pid, &nullbuf, 1, &remote, 1, 1, -EINVAL,
		       "flags");
	fn_same_answer(f, MV_SYS_process_vm_readv, pid, &huge, 1, &remote, 1, 0, -EINVAL,
		       "negative local length");
	fn_same_answer(f, MV_SYS_process_vm_readv, pid, &nullbuf, 1, &rhuge, 1, 0, -EINVAL,
		       "negative remote length");
	fn_same_answer(f, MV_SYS_process_vm_readv, pid, &nullbuf, 1, NULL, 1, 0, -EFAULT,
		       "remote iovecs unreadable");
	fn_same_answer(f, MV_SYS_process_vm_readv, 99999, &nullbuf, 1, &remote, 1, 0, -ESRCH,
		       "no such task");
	fn_same_answer(f, MV_SYS_process_vm_writev, -1, &nullbuf, 1, &remote, 1, 0, -ESRCH,
		       "no such task (write)");
	/* the remote page is present: GUP allocates nothing, the NULL local buffer faults */
	fn_same_answer(f, MV_SYS_process_vm_readv, pid, &nullbuf, 1, &remote, 1, 0, -EFAULT,
		       "local buffer faults");
}

static void test_failnth_process_vm_copy_of_a_present_page_cannot_fail(void **state)
{
	struct fn_pvm *f = *state;
	int pid = mv_task_pid(f->target);
	char buf[8];
	struct fn_iovec local[2] = { { (uintptr_t)buf, 4 }, { (uintptr_t)(buf + 4), 4 } };
	struct fn_iovec remote = { f->remote, 8 };

	memset(buf, 0, sizeof(buf));
	fn_same_answer(f, MV_SYS_process_vm_readv, pid, local, 2, &remote, 1, 0, 8, "read");
	assert_memory_equal(buf, "remote!", 8);
}

/* Past UIO_FASTIOV the array is allocated: -ENOMEM, then (memory back) its answer. */
static void test_failnth_process_vm_long_arrays_are_allocated_first(void **state)
{
	struct fn_pvm *f = *state;
	int pid = mv_task_pid(f->target);
	struct fn_iovec nullbuf = { 0, 8 };
	long ret;

	lib_fail_after(1);
	ret = MVTEST_SYSCALL(f->caller, MV_SYS_process_vm_readv, pid, &nullbuf, 1, NULL, 9, 0);
	lib_fail_after(0);
	assert_int_equal(ret, -ENOMEM);
	assert_int_equal(MVTEST_SYSCALL(f->caller, MV_SYS_process_vm_readv, pid, &nullbuf, 1, NULL,
					9, 0), -EFAULT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_failnth_process_vm_errors_do_not_allocate,
						fn_setup, fn_teardown),
		cmocka_unit_test_setup_teardown(
			test_failnth_process_vm_copy_of_a_present_page_cannot_fail, fn_setup,
			fn_teardown),
		cmocka_unit_test_setup_teardown(
			test_failnth_process_vm_long_arrays_are_allocated_first, fn_setup,
			fn_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
