/* SPDX-License-Identifier: MIT */
/*
 * Files, fd tables and the page cache: the part of the kernel Linux keeps
 * in include/linux/fs.h, fdtable.h and pagemap.h.
 *
 * Locks: file->pos_lock covers the file position; mapping->lock a page
 * cache and its list of VMAs (it nests inside mmap_lock, outside pt_lock);
 * fdtable->lock nests inside nothing: take a file reference under it and
 * drop the lock before calling into the file.
 */
#ifndef MV_KERNEL_FS_H
#define MV_KERNEL_FS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "hw/phys.h"
#include "lib/err.h"
#include "lib/list.h"
#include "lib/radix.h"

struct kernel;
struct mv_task;
struct vma;
struct file;
struct mapping;

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
	uint32_t refcount;       /* atomic (file_get/file_put) */
	unsigned int f_flags;    /* O_* as opened; FIONBIO/FIOASYNC change bits: atomic */
	bool readable, writable; /* FMODE_READ / FMODE_WRITE */
	uint64_t pos;            /* written under pos_lock (WRITE_ONCE); FIONREAD reads it unlocked */
	pthread_mutex_t pos_lock;
	uint64_t ino;            /* inode number, unique per kernel */
	struct mapping *mapping; /* page cache, or NULL */
	bool no_pread;           /* no FMODE_PREAD/PWRITE: pread/pwrite are -ESPIPE */
	bool noexec;             /* on a noexec mount (path_noexec): mmap checks PROT_EXEC */
	void *private_data;
};

/* Allocates a file with refcount 1, or ERR_PTR(-ENOMEM). */
MV_MUST_CHECK struct file *file_alloc(struct kernel *k, const struct file_ops *ops,
				    unsigned int f_flags, void *private_data);
void file_get(struct file *f);
/* fput(): the last put calls ->release. */
void file_put(struct file *f);
/* A fresh inode number, unique in @k. */
uint64_t kernel_alloc_ino(struct kernel *k);

/*
 * A file's page cache: folios indexed by page offset in a radix tree, and
 * the VMAs that map it (for reverse mapping when pages go away).
 */
struct mapping {
	pthread_mutex_t lock;
	struct lib_radix pages;   /* page index -> head pfn as a value entry; under lock */
	struct lib_list vmas;     /* struct vma.mapping_link; under lock */
	uint64_t nr_pages;        /* pages present; under lock */
	uint64_t size;            /* i_size; under lock */
	struct kernel *k;         /* set at creation, then read-only */
};

/* fd table, shared by threads (CLONE_FILES), copied on fork. */
struct fdtable {
	pthread_mutex_t lock;
	uint32_t users;           /* atomic: processes/threads sharing it */
	unsigned int max;         /* slots allocated; under lock */
	struct file **fd;         /* under lock */
	unsigned long *cloexec;   /* bitmap; under lock */
};

/* ---- fd table (fdtable.c) ---- */
MV_MUST_CHECK struct fdtable *fdtable_create(void);   /* or ERR_PTR(-ENOMEM) */
/* dup_fd(): the child's copy of @old at fork. */
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
MV_MUST_CHECK struct mapping *mapping_create(struct kernel *k, uint64_t size);  /* or ERR_PTR */
void mapping_destroy(struct mapping *mapping);
/*
 * The page at @index, allocated zeroed if absent and @create; 0 and *pfn
 * with a reference, -ENOENT, -ENOMEM. Called without mapping->lock.
 * Linux: shmem_get_folio().
 */
MV_MUST_CHECK int mapping_get_page(struct mapping *mapping, uint64_t index, bool create,
				   hw_pfn_t *pfn);
/*
 * Drops the pages of [first, last] (unmapping them from every VMA first).
 * Linux: truncate_inode_pages_range() / shmem_undo_range().
 */
void mapping_truncate_range(struct mapping *mapping, uint64_t first, uint64_t last);
/* A shmem file of @size bytes (MAP_SHARED|MAP_ANONYMOUS, /dev/zero), or ERR_PTR(-ENOMEM). */
MV_MUST_CHECK struct file *shmem_file_create(struct kernel *k, uint64_t size, unsigned int f_flags);
/* The same with a name ("memfd:x") and permission bits (0777, 0666). */
MV_MUST_CHECK struct file *shmem_file_setup(struct kernel *k, const char *name, uint64_t size,
			      unsigned int f_flags, unsigned int mode);
bool file_is_shmem(const struct file *f);

#endif
