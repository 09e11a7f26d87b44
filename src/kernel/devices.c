/* SPDX-License-Identifier: MIT */
/*
 * The built-in character devices: /dev/null (1:3) and /dev/zero (1:5).
 *
 * A device node has one inode whatever the number of opens, so each
 * device's inode number is allocated once at registration and carried as
 * the device's ctx; every open file takes it as its own.
 */
#include <string.h>
#include <sys/sysmacros.h>

#include "kernel/kernel.h"

#define DEVTMPFS_DEV makedev(0, 5)

static uint64_t kdev_ino(void *ctx)
{
	return (uint64_t)(uintptr_t)ctx;
}

static void chardev_fstat(struct stat *st, unsigned int major, unsigned int minor)
{
	st->st_dev = DEVTMPFS_DEV;
	st->st_mode = S_IFCHR | 0666;
	st->st_nlink = 1;
	st->st_uid = 0;
	st->st_gid = 0;
	st->st_rdev = makedev(major, minor);
}

/* ---- /dev/null: reads see end of file, writes vanish; the buffer is never touched ---- */

static long null_read(struct mv_task *t, struct file *f, void *buf, size_t len, uint64_t *pos)
{
	return 0;
}

static long null_write(struct mv_task *t, struct file *f, const void *buf, size_t len,
		       uint64_t *pos)
{
	return (long)len;
}

static int null_fstat(struct file *f, struct stat *st)
{
	chardev_fstat(st, 1, 3);
	return 0;
}

/* No ->mmap (-ENODEV), no ->ioctl (-ENOTTY), as on Linux. */
static const struct file_ops null_file_ops = {
	.name = "null",
	.read = null_read,
	.write = null_write,
	.fstat = null_fstat,
};

/* ---- /dev/zero: reads fill with zeroes, writes vanish ---- */

static long zero_read(struct mv_task *t, struct file *f, void *buf, size_t len, uint64_t *pos)
{
	if (len == 0)
		return 0;
	if (k_host_range_faults(buf, len))
		return -EFAULT;
	memset(buf, 0, len);
	return (long)len;
}

static int zero_fstat(struct file *f, struct stat *st)
{
	chardev_fstat(st, 1, 5);
	return 0;
}

/*
 * A shared mapping of /dev/zero is shared anonymous memory: the VMA's file
 * becomes a fresh shmem file the size of the mapping (the /dev/zero
 * reference is put). A private mapping is plain anonymous memory: memvisor
 * marks that by vma->file == NULL and vma->ops == NULL, so the /dev/zero
 * reference is put and the file pointer cleared (Linux keeps vm_file and
 * tests vm_ops instead); VM_ZERO_PRIVATE stands for the file. Callers
 * must use vma->file, not the file they passed in, once ->mmap has run.
 * Called with mm->mmap_lock held for write.
 */
static int zero_mmap(struct mv_task *t, struct file *f, struct vma *vma)
{
	struct file *shm;

	if (!(vma->flags & VM_SHARED)) {
		vma->file = NULL;
		vma->ops = NULL;
		vma->flags |= VM_ZERO_PRIVATE;
		file_put(f);
		return 0;
	}
	shm = shmem_file_create(f->k, vma_end(vma) - vma_start(vma), O_RDWR);
	if (lib_is_err(shm))
		return lib_ptr_err(shm);
	vma->file = shm;
	file_put(f);
	return shm->ops->mmap(t, shm, vma);
}

static const struct file_ops zero_file_ops = {
	.name = "zero",
	.read = zero_read,
	.write = null_write,
	.mmap = zero_mmap,
	.fstat = zero_fstat,
};

/* ---- registration ---- */

static long chardev_open(struct mv_task *t, const struct file_ops *ops, void *ctx,
			 unsigned int f_flags, struct file **out)
{
	struct file *f = file_alloc(t->k, ops, f_flags, NULL);

	if (lib_is_err(f))
		return lib_ptr_err(f);
	f->ino = kdev_ino(ctx);
	*out = f;
	return 0;
}

static long null_open(struct mv_task *t, void *ctx, unsigned int f_flags, struct file **out)
{
	return chardev_open(t, &null_file_ops, ctx, f_flags, out);
}

static long zero_open(struct mv_task *t, void *ctx, unsigned int f_flags, struct file **out)
{
	return chardev_open(t, &zero_file_ops, ctx, f_flags, out);
}

int kernel_register_builtin_devices(struct kernel *k)
{
	int ret;

	ret = kernel_register_device(k, "/dev/null", null_open,
				     (void *)(uintptr_t)kernel_alloc_ino(k));
	if (ret)
		return ret;
	return kernel_register_device(k, "/dev/zero", zero_open,
				      (void *)(uintptr_t)kernel_alloc_ino(k));
}
