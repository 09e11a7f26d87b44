/* SPDX-License-Identifier: MIT */
/*
 * struct file: allocation, reference counting and inode numbers.
 *
 * A file is what an fd-table slot, a VMA or an in-flight system call points
 * at. Each of them holds one reference; the last put calls the owner's
 * ->release, which frees what private_data and mapping hold, then the file
 * itself goes.
 */
#include <stdlib.h>

#include "kernel/kernel.h"
#include "lib/alloc.h"

/*
 * The FMODE_READ / FMODE_WRITE an open with @f_flags gives: the access mode
 * plus one, so that O_RDONLY reads, O_WRONLY writes, O_RDWR does both and
 * the odd access mode 3 does neither (an ioctl-only open, as on Linux);
 * neither does an O_PATH open.
 */
static void file_set_fmode(struct file *f, unsigned int f_flags)
{
	unsigned int fmode = (f_flags & O_PATH) ? 0 : (f_flags + 1) & O_ACCMODE;

	f->readable = fmode & 1;
	f->writable = fmode & 2;
}

uint64_t kernel_alloc_ino(struct kernel *k)
{
	return __atomic_fetch_add(&k->next_ino, 1, __ATOMIC_RELAXED);
}

/**
 * file_alloc - a new open file with one reference, owned by the caller
 * @k: the kernel the file lives in
 * @ops: what kind of file it is
 * @f_flags: O_* as opened; the access mode decides readable / writable
 * @private_data: the owner's state, freed by @ops->release
 *
 * Returns the file, or NULL when memory runs out.
 */
struct file *file_alloc(struct kernel *k, const struct file_ops *ops, unsigned int f_flags,
			void *private_data)
{
	struct file *f = lib_zalloc(sizeof(*f));

	if (!f)
		return lib_err_ptr(-ENOMEM);
	if (pthread_mutex_init(&f->pos_lock, NULL)) {
		lib_free(f);
		return lib_err_ptr(-ENOMEM);
	}
	f->ops = ops;
	f->k = k;
	f->refcount = 1;
	/* creation-time flags are consumed by open, never kept (do_dentry_open) */
	f->f_flags = f_flags & ~(unsigned int)(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC);
	file_set_fmode(f, f_flags);
	f->ino = kernel_alloc_ino(k);
	f->private_data = private_data;
	return f;
}

void file_get(struct file *f)
{
	__atomic_fetch_add(&f->refcount, 1, __ATOMIC_RELAXED);
}

/* The last put runs ->release; call it with no kernel lock held. */
void file_put(struct file *f)
{
	if (!f)
		return;
	if (__atomic_sub_fetch(&f->refcount, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	if (f->ops && f->ops->release)
		f->ops->release(f);
	pthread_mutex_destroy(&f->pos_lock);
	lib_free(f);
}
