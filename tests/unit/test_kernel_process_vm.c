/* SPDX-License-Identifier: MIT */
/*
 * process_vm_readv(2) / process_vm_writev(2) as mm/process_vm_access.c
 * answers them: process_vm_rw()'s checks (flags, both iovec arrays, the
 * local ranges) in order, a 0 when there is nothing to copy before the
 * target is looked up, process_vm_rw_core()'s -ESRCH, and copies through
 * GUP that stop at the first page that cannot be pinned or local buffer
 * that faults, returning the partial count.
 */
#include <string.h>

#include "shstk_test.h"

#define RW (PROT_READ | PROT_WRITE)
#define X 0x500000000000ull      /* the target's writable pages */
#define RO 0x500000100000ull     /* read-only */
#define SSTK 0x500000200000ull   /* a shadow stack */
#define HOLE 0x500000300000ull   /* nothing */
#define BIG (1ull << 63)

struct iov {
	uint64_t base, len;
};

struct pvm {
	struct mv_machine *m;
	struct mv_task *t, *target;
	long pid;
};

static void pvm_setup(struct pvm *p)
{
	p->t = shtest_task(&p->m, 0, 0);
	assert_int_equal(mv_task_spawn(p->m, &p->target), 0);
	p->pid = MVTEST_SYSCALL(p->target, MV_SYS_gettid, 0);
	assert_int_equal(shtest_mmap(p->target, X, 2 * PG, RW, ANON | MAP_FIXED), X);
	assert_int_equal(shtest_mmap(p->target, RO, PG, PROT_READ, ANON | MAP_FIXED), RO);
	assert_int_equal(shtest_map(p->target, SSTK, PG, SHADOW_STACK_SET_TOKEN), SSTK);
	assert_int_equal(mv_user_write(p->target, X, "remote memory", 13), 0);
	assert_int_equal(mv_user_write(p->target, X + PG - 4, "edge", 4), 0);
}

static long pvm_readv(struct pvm *p, long pid, const struct iov *l, uint64_t nl, const struct iov *r,
		  uint64_t nr, uint64_t flags)
{
	return MVTEST_SYSCALL(p->t, MV_SYS_process_vm_readv, pid, l, nl, r, nr, flags);
}

static long pvm_writev(struct pvm *p, long pid, const struct iov *l, uint64_t nl, const struct iov *r,
		   uint64_t nr, uint64_t flags)
{
	return MVTEST_SYSCALL(p->t, MV_SYS_process_vm_writev, pid, l, nl, r, nr, flags);
}

/* Each row one argument wrong, the errno it gets; rows run in process_vm_rw()'s order. */
static void test_process_vm_rw_errnos(void **state)
{
	static char buf[64];
	static struct iov big_local[1025], zero_local = { (uintptr_t)buf, 0 };
	struct iov local = { (uintptr_t)buf, 8 }, remote = { X, 8 };
	struct iov neg_local = { (uintptr_t)buf, BIG }, past = { TASK_SIZE - 8, 16 };
	struct iov neg_remote = { X, BIG }, zero_remote = { X, 0 }, bad_local = { 0x10, 8 };
	struct iov ro = { RO, 8 }, shstk = { SSTK, 8 }, hole = { HOLE, 8 };
	struct pvm p;
	const struct {
		const char *what;
		bool write;
		long pid;   /* 0: the target */
		const struct iov *l;
		uint64_t nl;
		const struct iov *r;
		uint64_t nr, flags;
		long ret;
	} rows[] = {
		{ "flags not 0", false, 0, &local, 1, &remote, 1, 1, -EINVAL },
		{ "more than UIO_MAXIOV local iovecs", false, 0, big_local, 1025, &remote, 1, 0,
		  -EINVAL },
		{ "local iovecs unreadable", false, 0, (const struct iov *)0x10, 1, &remote, 1, 0,
		  -EFAULT },
		{ "local length negative", false, 0, &neg_local, 1, &remote, 1, 0, -EINVAL },
		{ "local range past TASK_SIZE", false, 0, &past, 1, &remote, 1, 0, -EFAULT },
		{ "nothing to copy locally: remote side not read", false, -1, &zero_local, 1,
		  (const struct iov *)0x10, 5000, 0, 0 },
		{ "no local iovecs at all", false, -1, NULL, 0, &remote, 1, 0, 0 },
		{ "more than UIO_MAXIOV remote iovecs", false, 0, &local, 1, &remote, 1025, 0,
		  -EINVAL },
		{ "remote iovecs unreadable", false, 0, &local, 1, (const struct iov *)0x10, 1, 0,
		  -EFAULT },
		{ "remote length negative", false, 0, &local, 1, &neg_remote, 1, 0, -EINVAL },
		{ "nothing to copy remotely: no pid lookup", false, -1, &local, 1, &zero_remote, 1, 0,
		  0 },
		{ "no such pid", false, 99999, &local, 1, &remote, 1, 0, -ESRCH },
		{ "pid -1", false, -1, &local, 1, &remote, 1, 0, -ESRCH },
		{ "remote page not mapped", false, 0, &local, 1, &hole, 1, 0, -EFAULT },
		{ "writing read-only memory", true, 0, &local, 1, &ro, 1, 0, -EFAULT },
		{ "writing a shadow stack", true, 0, &local, 1, &shstk, 1, 0, -EFAULT },
		{ "reading a shadow stack", false, 0, &local, 1, &shstk, 1, 0, 8 },
		{ "local buffer faults", false, 0, &bad_local, 1, &remote, 1, 0, -EFAULT },
		{ "a good read", false, 0, &local, 1, &remote, 1, 0, 8 },
		{ "a good write", true, 0, &local, 1, &remote, 1, 0, 8 },
	};

	pvm_setup(&p);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		long pid = rows[i].pid ? rows[i].pid : p.pid;
		long r = rows[i].write ? pvm_writev(&p, pid, rows[i].l, rows[i].nl, rows[i].r, rows[i].nr,
						rows[i].flags) :
			 pvm_readv(&p, pid, rows[i].l, rows[i].nl, rows[i].r, rows[i].nr, rows[i].flags);

		print_message("%s\n", rows[i].what);
		assert_int_equal(r, rows[i].ret);
		mvtest_expect_no_signal(p.t);
		mvtest_expect_no_signal(p.target);
	}
	mv_machine_destroy(p.m);
}

/* Scatter and gather: the iovecs on each side cut the bytes differently, pages crossed. */
static void test_process_vm_rw_core_scatter_gather(void **state)
{
	char a[6] = { 0 }, b[9] = { 0 };
	struct iov local[3] = { { (uintptr_t)a, 5 }, { (uintptr_t)b, 0 }, { (uintptr_t)b, 8 } };
	struct iov remote[2] = { { X + PG - 4, 6 }, { X, 7 } };
	struct pvm p;

	pvm_setup(&p);
	assert_int_equal(pvm_readv(&p, p.pid, local, 3, remote, 2, 0), 13);
	assert_memory_equal(a, "edge\0", 5);
	assert_memory_equal(b, "\0remote ", 8);
	/* and back: the target's bytes change, across the page boundary */
	memcpy(a, "HELLO", 5);
	assert_int_equal(pvm_writev(&p, p.pid, local, 1, remote, 1, 0), 5);
	assert_int_equal(shtest_read64(p.target, X + PG - 4) & 0xffffffffffull, 0x4f4c4c4548ull);
	mv_machine_destroy(p.m);
}

/*
 * Partial transfers: the copy stops at the first remote page GUP refuses,
 * or the first local buffer that faults, and returns what it copied.
 */
static void test_process_vm_rw_core_partial_transfers(void **state)
{
	char buf[32] = { 0 };
	struct pvm p;
	struct iov local = { (uintptr_t)buf, sizeof(buf) };
	struct iov to_edge = { X + 2 * PG - 4, 8 }, then_hole[2] = { { X, 6 }, { HOLE, 8 } };
	struct iov split_local[2] = { { (uintptr_t)buf, 3 }, { 0x10, 8 } }, remote = { X, 11 };

	pvm_setup(&p);
	/* the second page ends the mapping: 4 bytes */
	assert_int_equal(pvm_readv(&p, p.pid, &local, 1, &to_edge, 1, 0), 4);
	/* an iovec that cannot be read after one that could: its bytes only */
	assert_int_equal(pvm_readv(&p, p.pid, &local, 1, then_hole, 2, 0), 6);
	assert_memory_equal(buf, "remote", 6);
	/* the local side is larger than the remote: the remote's length */
	assert_int_equal(pvm_readv(&p, p.pid, &local, 1, &remote, 1, 0), 11);
	/* a local buffer that faults after one that did not */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(pvm_readv(&p, p.pid, split_local, 2, &remote, 1, 0), 3);
	assert_memory_equal(buf, "rem\0", 4);
	/* writing: the target's writable page takes the bytes, the read-only one stops it */
	then_hole[1] = (struct iov){ RO, 8 };
	assert_int_equal(pvm_writev(&p, p.pid, &local, 1, then_hole, 2, 0), 6);
	mv_machine_destroy(p.m);
}

/* The pid is a thread id: a thread of the target, or the caller itself, will do. */
static void test_process_vm_rw_core_pid_is_a_tid(void **state)
{
	char buf[6] = { 0 };
	struct iov local = { (uintptr_t)buf, 6 }, remote = { X, 6 };
	struct mv_task *th;
	struct pvm p;

	pvm_setup(&p);
	assert_int_equal(mv_task_clone(p.target, CLONE_VM, &th), 0);
	assert_int_equal(pvm_readv(&p, mv_task_pid(th), &local, 1, &remote, 1, 0), 6);
	assert_memory_equal(buf, "remote", 6);
	/* the caller's own memory */
	assert_int_equal(shtest_mmap(p.t, X, PG, RW, ANON | MAP_FIXED), X);
	assert_int_equal(mv_user_write(p.t, X, "mine!!", 6), 0);
	assert_int_equal(pvm_readv(&p, mv_task_pid(p.t), &local, 1, &remote, 1, 0), 6);
	assert_memory_equal(buf, "mine!!", 6);
	/* an exited task is gone */
	mv_task_exit(th);
	mv_task_exit(p.target);
	assert_int_equal(pvm_readv(&p, p.pid, &local, 1, &remote, 1, 0), -ESRCH);
	mv_machine_destroy(p.m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_process_vm_rw_errnos),
		cmocka_unit_test(test_process_vm_rw_core_scatter_gather),
		cmocka_unit_test(test_process_vm_rw_core_partial_transfers),
		cmocka_unit_test(test_process_vm_rw_core_pid_is_a_tid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
