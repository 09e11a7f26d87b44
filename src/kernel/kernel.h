/* SPDX-License-Identifier: MIT */
/*
 * The Linux-like kernel: the kernel object, its lifetime, the user address
 * space layout and the device table. The rest is split as Linux splits it:
 * kernel/fs.h (files, fd tables, page cache), kernel/mm.h (address spaces,
 * faults, GUP, user access), kernel/sched.h (tasks, signals),
 * kernel/shstk.h (shadow stacks), kernel/guest_memfd.h, and
 * kernel/syscalls.h for the dispatcher and the sys_*.c files only.
 * kernel.h includes fs.h, mm.h and sched.h for the layers above.
 *
 * Locks: one order for the whole tree, in docs/architecture.md
 * ("Locking"); the kernel's part, outer first: file->pos_lock,
 * mm->mmap_lock, gmem->lock, mapping->lock, mm->notifier_lock (KVM's
 * mn_lock, mmu_lock and attr_lock come next, taken by notifier callbacks),
 * mm->pt_lock, the frame allocator. kernel->lock and fdtable->lock are
 * leaves. The lockless words and their accessors: "Memory model" there.
 */
#ifndef MV_KERNEL_KERNEL_H
#define MV_KERNEL_KERNEL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <memvisor/memvisor.h>

#include "hw/cpu.h"
#include "hw/phys.h"
#include "lib/err.h"
#include "lib/itree.h"
#include "lib/list.h"
#include "lib/radix.h"

#define K_PAGE_SIZE HW_PAGE_SIZE
#define K_PAGE_ALIGN(x) (((x) + K_PAGE_SIZE - 1) & HW_PAGE_MASK)

/* User address space layout (x86-64, 4-level paging). */
#define K_TASK_SIZE       0x00007ffffffff000ull   /* top of user space */
#define K_MMAP_MIN_ADDR   0x10000ull              /* vm.mmap_min_addr */
#define K_STACK_TOP       0x00007ffffffde000ull   /* below the last pages, like a real stack */
#define K_STACK_SIZE      (128ull * 1024)         /* initial user stack mapping */
#define K_MMAP_BASE       0x00007f0000000000ull   /* top-down mmap area starts here */
#define K_STACK_GUARD_GAP (256ull * K_PAGE_SIZE)  /* stack_guard_gap */
#define K_MAX_MAP_COUNT   65530
#define K_NR_OPEN_DEFAULT 1024                    /* RLIMIT_NOFILE soft */
#define K_NR_OPEN_MAX     (1u << 20)              /* fs.nr_open */
#define K_RLIMIT_STACK_DEFAULT (8ull << 20)

struct kernel;
struct file;
struct mv_task;
struct gmem_host;

/*
 * Credentials of every task: an unprivileged user (so creating names in
 * the root-owned device directory is -EACCES, as it would be for uid 1000).
 */
#define K_TASK_UID 1000u
#define K_TASK_GID 1000u

/*
 * Syscall buffers are host pointers. Nothing is ever mapped in the first
 * page, so a pointer there faults (-EFAULT) where Linux's copy would; so does
 * a range that wraps or runs past the top of user space (access_ok).
 */
static inline bool k_host_range_faults(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p;

	if (len == 0)
		return false;
	return a < K_PAGE_SIZE || a + len < a || a + len > K_TASK_SIZE;
}

/* Device paths that openat() knows, registered by the layers above. */
typedef long (*kdev_open_fn)(struct mv_task *t, void *ctx, unsigned int f_flags,
			     struct file **out);
struct kdev {
	char path[64];
	kdev_open_fn open;
	void *ctx;
};
#define K_MAX_DEVICES 16

struct kernel {
	struct hw_machine *hw;        /* read-only after kernel_init */
	pthread_mutex_t lock;
	int next_pid;                 /* lock */
	uint64_t next_ino;            /* atomic */
	struct lib_list tasks;        /* lock */
	struct kdev devices[K_MAX_DEVICES];   /* lock */
	unsigned int nr_devices;      /* lock */
	uint64_t nr_page_faults;      /* atomic */
	struct gmem_host *gmem;       /* guest_memfd accounting, direct map (gmem_dmap.c); own lock */
	struct sgx_host *sgx;         /* /dev/sgx_vepc's zombie list (sgx_vepc.c); NULL without SGX */
};

/* ---- kernel lifetime (kernel.c) ---- */
MV_MUST_CHECK int kernel_init(struct kernel *k, struct hw_machine *hw);
void kernel_fini(struct kernel *k);   /* exits every task left */
/* 0, -EEXIST, -ENOSPC (table full), -ENAMETOOLONG. */
MV_MUST_CHECK int kernel_register_device(struct kernel *k, const char *path, kdev_open_fn open,
					 void *ctx);
void kernel_trace_fault(struct kernel *k, struct mv_task *t, const char *what, uint64_t addr,
			int signo, int code);

/* ---- built-in devices (devices.c) ---- */
/* /dev/null and /dev/zero; kernel_init calls it. */
MV_MUST_CHECK int kernel_register_builtin_devices(struct kernel *k);

/* The syscall table (syscall.c): Linux x86-64 numbers. */
long kernel_syscall(struct mv_task *t, long nr, const uint64_t a[6]);

#include "kernel/fs.h"
#include "kernel/mm.h"
#include "kernel/sched.h"

#endif
