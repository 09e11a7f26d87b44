/* SPDX-License-Identifier: MIT */
/*
 * The Linux-like kernel core: what every kernel file shares. Tasks and
 * processes, address spaces and VMAs, files and fd tables, the page cache,
 * signals, and the syscall table.
 *
 * Lock order (outer first):
 *   kernel->lock                 (pid allocation, task list, device table)
 *   mm->mmap_lock (rwlock)       (VMA tree; read for faults and GUP, write for
 *                                 mmap/munmap/mprotect/madvise)
 *   gmem->lock                   (a guest_memfd's folios and bindings; guest_memfd.h)
 *   mapping->lock                (a file's page cache and its list of VMAs)
 *   mm->pt_lock                  (page-table entries and rss counters)
 *   hw phys lock                 (frame allocator, inside hw)
 * fdtable->lock nests inside nothing else: take a file reference under it
 * and drop the lock before calling into the file.
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
struct mm;
struct vma;
struct file;
struct mapping;
struct shstk_state;
struct gmem_host;
struct gmem_owner_ops;

/* ---------------------------------------------------------------- files */

struct file_ops {
	const char *name;    /* for traces and fstat debugging */
	long (*read)(struct mv_task *t, struct file *f, void *buf, size_t len, uint64_t *pos);
	long (*write)(struct mv_task *t, struct file *f, const void *buf, size_t len,
		      uint64_t *pos);
	/* Called with mm->mmap_lock held for write; may set vma->ops/private. */
	int (*mmap)(struct mv_task *t, struct file *f, struct vma *vma);
	long (*fallocate)(struct mv_task *t, struct file *f, int mode, uint64_t off, uint64_t len);
	long (*ioctl)(struct mv_task *t, struct file *f, unsigned int cmd, uint64_t arg);
	int (*fstat)(struct file *f, struct stat *st);
	long (*ftruncate)(struct mv_task *t, struct file *f, uint64_t len);
	/* Last reference gone. */
	void (*release)(struct file *f);
};

/*
 * An open file. The type of a file is known by its ops pointer. Reference
 * counted: each fd-table slot, each VMA mapping it and each in-flight call
 * holds one.
 */
struct file {
	const struct file_ops *ops;
	struct kernel *k;
	uint32_t refcount;       /* atomic */
	unsigned int f_flags;    /* O_* as opened (access mode, O_APPEND, ...) */
	bool readable, writable; /* FMODE_READ / FMODE_WRITE */
	uint64_t pos;            /* guarded by pos_lock */
	pthread_mutex_t pos_lock;
	uint64_t ino;            /* inode number, unique per kernel */
	struct mapping *mapping; /* page cache, or NULL */
	bool no_pread;           /* no FMODE_PREAD/PWRITE: pread/pwrite are -ESPIPE */
	void *private_data;
};

/* Allocates a file with refcount 1. NULL on -ENOMEM. */
struct file *file_alloc(struct kernel *k, const struct file_ops *ops, unsigned int f_flags,
			void *private_data);
void file_get(struct file *f);
void file_put(struct file *f);
/* A fresh inode number, unique in @k. */
uint64_t kernel_alloc_ino(struct kernel *k);

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

/*
 * A file's page cache: folios indexed by page offset in a radix tree, and
 * the VMAs that map it (for reverse mapping when pages go away).
 */
struct mapping {
	pthread_mutex_t lock;
	struct lib_radix pages;   /* page index -> head pfn as a value entry */
	struct lib_list vmas;     /* struct vma.mapping_link */
	uint64_t nr_pages;        /* pages present */
	uint64_t size;            /* i_size */
	struct kernel *k;
};

/* fd table, shared by threads (CLONE_FILES), copied on fork. */
struct fdtable {
	pthread_mutex_t lock;
	uint32_t users;           /* atomic: processes/threads sharing it */
	unsigned int max;         /* slots allocated */
	struct file **fd;
	unsigned long *cloexec;   /* bitmap */
};

/* ------------------------------------------------------------ memory */

/* VMA flags: Linux's VM_* meanings, memvisor's own bit values. */
#define VM_READ        (1ul << 0)
#define VM_WRITE       (1ul << 1)
#define VM_EXEC        (1ul << 2)
#define VM_SHARED      (1ul << 3)
#define VM_MAYREAD     (1ul << 4)
#define VM_MAYWRITE    (1ul << 5)
#define VM_MAYEXEC     (1ul << 6)
#define VM_MAYSHARE    (1ul << 7)
#define VM_GROWSDOWN   (1ul << 8)
#define VM_PFNMAP      (1ul << 10)
#define VM_IO          (1ul << 14)
#define VM_DONTCOPY    (1ul << 17)
#define VM_DONTEXPAND  (1ul << 18)
#define VM_NORESERVE   (1ul << 21)
#define VM_WIPEONFORK  (1ul << 25)   /* MADV_WIPEONFORK: the child gets zeroes */
#define VM_DONTDUMP    (1ul << 26)
#define VM_SHADOW_STACK (1ul << 33)
#define VM_STACK       VM_GROWSDOWN
#define VM_ACCESS_FLAGS (VM_READ | VM_WRITE | VM_EXEC)

/* Fault flags (vm_fault) */
#define FAULT_WRITE  (1u << 0)
#define FAULT_EXEC   (1u << 1)
#define FAULT_USER   (1u << 2)
#define FAULT_SHSTK  (1u << 3)
#define FAULT_FORCE  (1u << 4)   /* GUP with FOLL_FORCE */
#define FAULT_REMOTE (1u << 5)

/* Fault results: 0 = page mapped, otherwise one of these. */
#define VM_FAULT_SIGSEGV 1
#define VM_FAULT_SIGBUS  2
#define VM_FAULT_OOM     3
#define VM_FAULT_RETRY   4

struct vm_ops {
	const char *name;
	/*
	 * Find the page backing page offset @pgoff of the VMA's file: return
	 * 0 and *pfn with a folio reference held for the caller, or
	 * VM_FAULT_*. Called with mmap_lock held for read.
	 */
	int (*fault)(struct vma *vma, uint64_t pgoff, unsigned int fault_flags, hw_pfn_t *pfn);
	/* A VMA is being split/copied (fork): take what you need. */
	void (*open)(struct vma *vma);
	/* A VMA is going away. */
	void (*close)(struct vma *vma);
};

struct vma {
	struct lib_itree_node node;   /* [vm_start, vm_end) in mm->vmas */
	struct mm *mm;
	unsigned long flags;          /* VM_* */
	uint64_t pgoff;               /* file offset of vm_start, in pages */
	struct file *file;            /* holds a reference, or NULL (anonymous) */
	const struct vm_ops *ops;
	void *private_data;
	struct lib_list mapping_link; /* in file->mapping->vmas, under mapping->lock */
};

static inline uint64_t vma_start(const struct vma *v) { return v->node.start; }
static inline uint64_t vma_end(const struct vma *v) { return v->node.end; }

/*
 * Callbacks to secondary MMUs (KVM): every change that removes or
 * downgrades a user mapping is bracketed by start/end over the range.
 */
struct mmu_notifier;
struct mmu_notifier_ops {
	void (*invalidate_start)(struct mmu_notifier *n, struct mm *mm, uint64_t start,
				 uint64_t end);
	void (*invalidate_end)(struct mmu_notifier *n, struct mm *mm, uint64_t start,
			       uint64_t end);
	void (*release)(struct mmu_notifier *n, struct mm *mm);
};
struct mmu_notifier {
	const struct mmu_notifier_ops *ops;
	struct lib_list link;
};

/* An address space: page tables in simulated memory, VMAs in a tree. */
struct mm {
	struct kernel *k;
	uint32_t users;               /* atomic: tasks using it */
	pthread_rwlock_t mmap_lock;
	pthread_mutex_t pt_lock;
	struct lib_itree vmas;
	uint64_t map_count;
	uint64_t pgd;                 /* physical address of the PML4 */
	uint64_t mmap_base;           /* top-down placement starts below this */
	uint64_t stack_start, stack_end;
	uint64_t rss_anon, rss_file;  /* pages, under pt_lock */
	uint64_t nr_pgtables;
	struct lib_list notifiers;    /* struct mmu_notifier, under mmap_lock write */
};

/* ------------------------------------------------------------ tasks */

#define K_SIGQUEUE 16
#define K_RLIM_NLIMITS 16

struct k_rlimit {
	uint64_t cur, max;            /* soft, hard; ~0 is RLIM_INFINITY */
};

struct mv_task {
	struct kernel *k;
	int pid, tgid;
	struct mm *mm;
	struct fdtable *files;
	struct hw_cpu cpu;            /* this task's CPU: its TLB, registers */
	uint64_t rlimit_stack;        /* RLIMIT_STACK soft, bytes (mirrors rlim[3].cur) */
	uint64_t rlimit_nofile;       /* RLIMIT_NOFILE soft (mirrors rlim[7].cur) */
	struct k_rlimit rlim[K_RLIM_NLIMITS];  /* all limits; sys_task.c keeps threads in step */
	/* pending signals, oldest first */
	struct mv_siginfo sigq[K_SIGQUEUE];
	unsigned int sig_head, sig_count;
	pthread_mutex_t sig_lock;
	struct lib_list link;         /* in kernel->tasks */
	bool exited;
	struct shstk_state *shstk;    /* shadow-stack state (shstk.c); NULL until first used */
};

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
	struct hw_machine *hw;
	pthread_mutex_t lock;
	int next_pid;
	uint64_t next_ino;            /* atomic */
	struct lib_list tasks;
	struct kdev devices[K_MAX_DEVICES];
	unsigned int nr_devices;
	uint64_t nr_page_faults;      /* atomic */
	struct gmem_host *gmem;       /* guest_memfd accounting, direct map (gmem_dmap.c) */
};

/* ---- kernel lifetime (kernel.c) ---- */
MV_MUST_CHECK int kernel_init(struct kernel *k, struct hw_machine *hw);
void kernel_fini(struct kernel *k);   /* exits every task left */
/* 0, -EEXIST, -ENOSPC (table full), -ENAMETOOLONG. */
MV_MUST_CHECK int kernel_register_device(struct kernel *k, const char *path, kdev_open_fn open,
					 void *ctx);
void kernel_trace_fault(struct kernel *k, struct mv_task *t, const char *what, uint64_t addr,
			int signo, int code);

/* ---- tasks (task.c) ---- */
MV_MUST_CHECK int task_spawn(struct kernel *k, struct mv_task **out);
MV_MUST_CHECK long task_clone(struct mv_task *t, unsigned long flags, struct mv_task **out);
void task_exit(struct mv_task *t);
/* Queue a signal for @t (dropped if the queue is full, like a coalesced one). */
void task_send_signal(struct mv_task *t, int signo, int code, uint64_t addr);
int task_take_signal(struct mv_task *t, struct mv_siginfo *out);

/* ---- address spaces (mm.c, vma.c) ---- */
struct mm *mm_create(struct kernel *k);                 /* NULL: -ENOMEM */
/* A copy for fork: VMAs duplicated, private pages shared copy-on-write. */
MV_MUST_CHECK int mm_fork(struct mm *old, struct mm **out);
void mm_get(struct mm *mm);
void mm_put(struct mm *mm);                             /* last put tears down */
struct vma *vma_find(struct mm *mm, uint64_t addr);     /* containing @addr */
void mmu_notifier_register(struct mm *mm, struct mmu_notifier *n);
void mmu_notifier_unregister(struct mm *mm, struct mmu_notifier *n);

/*
 * The kernel-internal mmap: maps [addr, addr+len) (len page aligned) with
 * VM_* @vm_flags, placing it as @map_flags (MAP_FIXED...) say. Returns the
 * address or a negative errno. Called with mmap_lock held for write.
 */
long mm_map_locked(struct mv_task *t, struct file *file, uint64_t addr, uint64_t len,
		   unsigned long vm_flags, unsigned long map_flags, uint64_t pgoff);
/* Removes [start, end) (page aligned). Called with mmap_lock held for write. */
int mm_unmap_locked(struct mm *mm, uint64_t start, uint64_t end);
/*
 * Top-down free-range search honouring guard gaps, as get_unmapped_area.
 * Called with mmap_lock held.
 */
long mm_get_unmapped_area(struct mm *mm, uint64_t hint, uint64_t len, uint64_t low,
			  unsigned long map_flags);

/*
 * Zap the PTEs of file pages [first_pgoff, last_pgoff] (inclusive) in every
 * VMA of @mapping (truncate, punch). Called without mapping->lock.
 */
void mapping_unmap_range(struct mapping *mapping, uint64_t first_pgoff, uint64_t last_pgoff);

/* ---- faults and GUP (fault.c, gup.c) ---- */
/*
 * Handles a user-mode #PF at @addr. 0: fixed, retry the access. Otherwise
 * VM_FAULT_SIGSEGV (with *si_code SEGV_MAPERR/SEGV_ACCERR) or
 * VM_FAULT_SIGBUS / VM_FAULT_OOM. Takes mmap_lock for read itself.
 */
int fault_handle(struct mv_task *t, uint64_t addr, unsigned int fault_flags, int *si_code);
/* Same, with mmap_lock already held for read (GUP). */
int fault_handle_locked(struct mm *mm, uint64_t addr, unsigned int fault_flags, int *si_code);

#define K_SI_KERNEL 0x80   /* si_code of a kernel-forced SIGSEGV (#GP, bad signal frame) */

/* Queues @signo/@code/@addr for @t and traces it as @cause; returns -EFAULT. */
long task_fault_signal(struct mv_task *t, const char *cause, int signo, int code, uint64_t addr);
/*
 * What the kernel does with a fault @t's CPU raised in user mode (a load,
 * a store, a shadow-stack access): 0 when fault_handle fixed it and the
 * access may be retried, -EFAULT with the signal Linux would send queued,
 * or -ENOMEM. Called with mmap_lock held for read.
 */
long task_user_fault(struct mv_task *t, const struct hw_fault *f, const char *cause);

/* The FAULT_* flags of a user-mode #PF with @error_code (do_user_addr_fault). */
static inline unsigned int fault_flags_from_pf(uint64_t error_code)
{
	unsigned int ff = FAULT_USER;

	if (error_code & X86_PF_W)
		ff |= FAULT_WRITE;
	if (error_code & X86_PF_I)
		ff |= FAULT_EXEC;
	if (error_code & X86_PF_SS)
		ff |= FAULT_SHSTK;
	return ff;
}

#define FOLL_WRITE  (1u << 0)
#define FOLL_FORCE  (1u << 1)
#define FOLL_REMOTE (1u << 2)
/*
 * Pins the page at @addr in @mm (faulting it in as needed): 0 and *pfn with
 * a folio reference, -EFAULT, -ENOMEM. FOLL_WRITE without FOLL_FORCE needs
 * a writable VMA; with FOLL_FORCE a private mapping is written through a
 * COW copy even when read-only. Caller holds mmap_lock for read.
 */
MV_MUST_CHECK long gup_one_locked(struct mm *mm, uint64_t addr, unsigned int gup_flags,
				  hw_pfn_t *pfn);
/* Copies to/from @mm through GUP (ptrace / /proc/pid/mem style). */
long access_remote_vm(struct mm *mm, uint64_t addr, void *buf, size_t len, unsigned int gup_flags);

/* ---- user access (uaccess.c) ---- */
/*
 * mv_user_read/mv_user_write: the task's CPU touches user memory; faults go
 * to fault_handle and are retried; a fault that becomes a signal queues it
 * and returns -EFAULT with nothing copied.
 */
long uaccess_read(struct mv_task *t, uint64_t uaddr, void *buf, size_t len);
long uaccess_write(struct mv_task *t, uint64_t uaddr, const void *buf, size_t len);

/* ---- fd table (fdtable.c) ---- */
struct fdtable *fdtable_create(void);
MV_MUST_CHECK int fdtable_copy(struct fdtable *old, struct fdtable **out);
void fdtable_put(struct fdtable *ft);                     /* closes all on last put */
/*
 * Installs @f (taking over the caller's reference) at the lowest free fd
 * below RLIMIT_NOFILE, close-on-exec if @o_flags has O_CLOEXEC. Returns the
 * fd; on -EMFILE / -ENOMEM the caller still owns its reference.
 */
MV_MUST_CHECK int fd_install(struct mv_task *t, struct file *f, unsigned int o_flags);
/* The two halves of fd_install, for opens that must claim the fd first. */
MV_MUST_CHECK int fd_reserve(struct mv_task *t, unsigned int o_flags);
void fd_install_reserved(struct mv_task *t, int fd, struct file *f);
void fd_unreserve(struct mv_task *t, int fd);
/* dup2/dup3 core: @newfd, -EBADF, -EBUSY, -ENOMEM. */
MV_MUST_CHECK int fd_dup_to(struct mv_task *t, unsigned int oldfd, unsigned int newfd,
			    unsigned int o_flags);
int fd_set_cloexec(struct mv_task *t, int fd, bool on);  /* 0, -EBADF */
int fd_get_cloexec(struct mv_task *t, int fd);           /* 1, 0, -EBADF */
void fdtable_get(struct fdtable *ft);                     /* CLONE_FILES */
/* Takes a reference; NULL if @fd is not open. */
struct file *fd_get(struct mv_task *t, int fd);
MV_MUST_CHECK int fd_close(struct mv_task *t, int fd);

/* ---- page cache (shmem.c) ---- */
MV_MUST_CHECK struct mapping *mapping_create(struct kernel *k, uint64_t size);
void mapping_destroy(struct mapping *mapping);
/*
 * The page at @index, allocated zeroed if absent and @create; 0 and *pfn
 * with a reference, -ENOENT, -ENOMEM. Called without mapping->lock.
 */
MV_MUST_CHECK int mapping_get_page(struct mapping *mapping, uint64_t index, bool create,
				   hw_pfn_t *pfn);
/* Drops the pages of [first, last] (unmapping them from every VMA first). */
void mapping_truncate_range(struct mapping *mapping, uint64_t first, uint64_t last);
/* A shmem file of @size bytes (MAP_SHARED|MAP_ANONYMOUS, /dev/zero). NULL: -ENOMEM. */
struct file *shmem_file_create(struct kernel *k, uint64_t size, unsigned int f_flags);
/* The same with a name ("memfd:x") and permission bits (0777, 0666). */
struct file *shmem_file_setup(struct kernel *k, const char *name, uint64_t size,
			      unsigned int f_flags, unsigned int mode);
bool file_is_shmem(const struct file *f);

/* ---- guest private memory (guest_memfd.c; the in-kernel API is guest_memfd.h) ---- */
/*
 * KVM_CREATE_GUEST_MEMFD's work for the VM ioctl: checks @size and @flags
 * (GUEST_MEMFD_FLAG_*) and installs a new guest_memfd holding @owner
 * through @ops. Returns the fd, -EINVAL, -ENOMEM, -EMFILE.
 */
long gmem_create(struct mv_task *t, uint64_t size, uint64_t flags,
		 const struct gmem_owner_ops *ops, void *owner);

/* ---- built-in devices (devices.c) ---- */
/* /dev/null and /dev/zero; kernel_init calls it. */
MV_MUST_CHECK int kernel_register_builtin_devices(struct kernel *k);

/* ---- shadow stacks (shstk.c, shstk_cpu.c) ---- */
/*
 * Task hooks: clone gives a CLONE_VM thread its own shadow stack and a fork
 * a copy of the state (the memory is copied with the mm); exit unmaps the
 * thread's shadow stack and frees the state. Called without mmap_lock.
 */
MV_MUST_CHECK int shstk_clone(struct mv_task *parent, struct mv_task *child, unsigned long flags);
void shstk_exit(struct mv_task *t);
/* mmap(PROT_SHADOW_STACK) in a process that opted in: the alternative design. */
bool shstk_mmap_wanted(struct mv_task *t, uint64_t prot);
long shstk_mmap(struct mv_task *t, uint64_t addr, uint64_t len, uint64_t prot,
		unsigned long flags, int fd, uint64_t off);
long shstk_set_prot_option(struct mv_task *t, bool enable);
/* The task's CPU (shstk_cpu.c): 0, or -EFAULT with a signal pending. */
long shstk_cpu_call(struct mv_task *t, uint64_t return_address);
long shstk_cpu_ret(struct mv_task *t, uint64_t *return_address);
long shstk_cpu_rdssp(struct mv_task *t, uint64_t *ssp);
long shstk_cpu_rstorssp(struct mv_task *t, uint64_t token_address);
long shstk_cpu_saveprevssp(struct mv_task *t);
long shstk_cpu_wrss(struct mv_task *t, uint64_t address, uint64_t value);
long shstk_cpu_incssp(struct mv_task *t, uint32_t count);
long shstk_signal_deliver(struct mv_task *t, int signo, uint64_t handler, uint64_t restorer);
long shstk_sigreturn(struct mv_task *t);

/* ---- syscalls (syscall.c and the sys_*.c files) ---- */
typedef long (*ksyscall_fn)(struct mv_task *t, const uint64_t a[6]);
long kernel_syscall(struct mv_task *t, long nr, const uint64_t a[6]);

/* memory (sys_mm.c) */
long sys_mmap(struct mv_task *t, const uint64_t a[6]);
long sys_munmap(struct mv_task *t, const uint64_t a[6]);
long sys_mprotect(struct mv_task *t, const uint64_t a[6]);
long sys_madvise(struct mv_task *t, const uint64_t a[6]);
/* process (sys_task.c) */
long sys_getpid(struct mv_task *t, const uint64_t a[6]);
long sys_gettid(struct mv_task *t, const uint64_t a[6]);
long sys_getrlimit(struct mv_task *t, const uint64_t a[6]);
long sys_setrlimit(struct mv_task *t, const uint64_t a[6]);
long sys_prlimit64(struct mv_task *t, const uint64_t a[6]);
/* shadow stacks (shstk.c) */
long sys_arch_prctl(struct mv_task *t, const uint64_t a[6]);
long sys_map_shadow_stack(struct mv_task *t, const uint64_t a[6]);
long sys_map_shadow_stack_seed(struct mv_task *t, const uint64_t a[6]);   /* 451 */
/* files (sys_file.c) */
long sys_read(struct mv_task *t, const uint64_t a[6]);
long sys_write(struct mv_task *t, const uint64_t a[6]);
long sys_pread64(struct mv_task *t, const uint64_t a[6]);
long sys_pwrite64(struct mv_task *t, const uint64_t a[6]);
long sys_close(struct mv_task *t, const uint64_t a[6]);
long sys_dup(struct mv_task *t, const uint64_t a[6]);
long sys_dup2(struct mv_task *t, const uint64_t a[6]);
long sys_dup3(struct mv_task *t, const uint64_t a[6]);
long sys_openat(struct mv_task *t, const uint64_t a[6]);
long sys_fstat(struct mv_task *t, const uint64_t a[6]);
long sys_ftruncate(struct mv_task *t, const uint64_t a[6]);
long sys_fallocate(struct mv_task *t, const uint64_t a[6]);
long sys_ioctl(struct mv_task *t, const uint64_t a[6]);
long sys_memfd_create(struct mv_task *t, const uint64_t a[6]);
/* guest private memory (guest_memfd.c) */
long sys_memfd_restricted(struct mv_task *t, const uint64_t a[6]);   /* 1000 */

#endif
