/* SPDX-License-Identifier: MIT */
/*
 * The page cache (struct mapping) and shmem files on top of it: memfd,
 * shared anonymous memory, shared /dev/zero.
 *
 * A mapping indexes order-0 page-cache frames by page offset; the radix
 * tree holds each frame's pfn as a value entry and the mapping owns one
 * reference per page. Whoever maps a page (a PTE, a reader) takes its own
 * reference, so dropping a page from the cache never frees memory still
 * in use, and a fault that raced with a truncation can at worst map an
 * orphaned page, never a freed one.
 *
 * Locking: mapping->lock guards pages, nr_pages and size. It nests inside
 * mm->mmap_lock (faults) and outside mm->pt_lock and the hw frame lock.
 */
#include <limits.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "hw/ram.h"
#include "kernel/kernel.h"
#include "lib/alloc.h"
#include "lib/lockdep.h"

#define SHMEM_NAME_MAX 256           /* "memfd:" + NAME_MAX - 6 + NUL */
#define SHMEM_DEV      makedev(0, 1) /* the internal shm mount */
#define SHMEM_MAX_BYTES ((uint64_t)LLONG_MAX)   /* MAX_LFS_FILESIZE */
#define SHMEM_LAST_PGOFF (UINT64_MAX >> HW_PAGE_SHIFT)
/* A page added by an fallocate still in progress: removed again if it fails. */
#define SHMEM_FRAME_FALLOC HW_FRAME_OWNER0

struct shmem_inode {
	char name[SHMEM_NAME_MAX];
	unsigned int mode;            /* permission bits */
};

static struct hw_machine *mapping_hw(const struct mapping *mapping)
{
	return mapping->k->hw;
}

/* ------------------------------------------------------------ page cache */

struct mapping *mapping_create(struct kernel *k, uint64_t size)
{
	struct mapping *mapping = lib_zalloc(sizeof(*mapping));

	if (!mapping)
		return lib_err_ptr(-ENOMEM);
	if (pthread_mutex_init(&mapping->lock, NULL)) {
		lib_free(mapping);
		return lib_err_ptr(-ENOMEM);
	}
	lib_radix_init(&mapping->pages);
	lib_list_init(&mapping->vmas);
	mapping->size = size;
	mapping->k = k;
	return mapping;
}

static void mapping_put_page(void *item, uint64_t index, void *ctx)
{
	hw_folio_put(ctx, (hw_pfn_t)lib_radix_value(item));
}

/* Drops the cache's references on [first, last]. Called with mapping->lock held. */
static void mapping_drop_locked(struct mapping *mapping, uint64_t first, uint64_t last)
{
	lockdep_assert_held(&mapping->lock);
	mapping->nr_pages -= lib_radix_erase_range(&mapping->pages, first, last, mapping_put_page,
						   mapping_hw(mapping));
}

/* The last user is gone: no VMA maps the file any more. */
void mapping_destroy(struct mapping *mapping)
{
	if (!mapping)
		return;
	pthread_mutex_lock(&mapping->lock);   /* uncontended: for the lock rule */
	mapping_drop_locked(mapping, 0, SHMEM_LAST_PGOFF);
	pthread_mutex_unlock(&mapping->lock);
	lib_radix_destroy(&mapping->pages);
	pthread_mutex_destroy(&mapping->lock);
	lib_free(mapping);
}

/*
 * The pfn at @index, allocated zeroed when absent and @create. No reference
 * is taken for the caller. 0, -ENOENT, -ENOMEM. Called with mapping->lock held.
 */
static int mapping_page_locked(struct mapping *mapping, uint64_t index, bool create,
			       uint32_t frame_flags, hw_pfn_t *pfn)
{
	void *item = lib_radix_lookup(&mapping->pages, index);
	hw_pfn_t new_pfn;
	int ret;

	lockdep_assert_held(&mapping->lock);
	if (item) {
		*pfn = (hw_pfn_t)lib_radix_value(item);
		return 0;
	}
	if (!create)
		return -ENOENT;
	ret = hw_frames_alloc(mapping_hw(mapping), 0, HW_ALLOC_ZERO,
			      HW_FRAME_PAGECACHE | frame_flags, &new_pfn);
	if (ret)
		return -ENOMEM;
	ret = lib_radix_insert(&mapping->pages, index, lib_radix_mkvalue(new_pfn));
	if (ret) {
		hw_folio_put(mapping_hw(mapping), new_pfn);
		return -ENOMEM;
	}
	mapping->nr_pages++;
	*pfn = new_pfn;
	return 0;
}

int mapping_get_page(struct mapping *mapping, uint64_t index, bool create, hw_pfn_t *pfn)
{
	int ret;

	pthread_mutex_lock(&mapping->lock);
	ret = mapping_page_locked(mapping, index, create, 0, pfn);
	if (!ret)
		hw_folio_get(mapping_hw(mapping), *pfn);
	pthread_mutex_unlock(&mapping->lock);
	return ret;
}

/*
 * Pages leave the cache only after their PTEs are gone; the second zap
 * catches a fault that looked a page up before it was dropped.
 */
void mapping_truncate_range(struct mapping *mapping, uint64_t first, uint64_t last)
{
	if (first > last)
		return;
	mapping_unmap_range(mapping, first, last);
	pthread_mutex_lock(&mapping->lock);
	mapping_drop_locked(mapping, first, last);
	pthread_mutex_unlock(&mapping->lock);
	mapping_unmap_range(mapping, first, last);
}

/* Zeroes bytes [from, to) of page @index if present. Called with mapping->lock held. */
static void mapping_zero_locked(struct mapping *mapping, uint64_t index, uint64_t from,
				uint64_t to)
{
	void *item = lib_radix_lookup(&mapping->pages, index);
	uint8_t *p;

	if (!item || from >= to)
		return;
	p = hw_pfn_to_host(mapping_hw(mapping), (hw_pfn_t)lib_radix_value(item));
	hw_ram_zero(p + from, to - from);
}

/* ------------------------------------------------------------ shmem files */

static const struct file_ops shmem_file_ops;

static struct shmem_inode *shmem_inode(const struct file *f)
{
	return f->private_data;
}

static long shmem_read(struct mv_task *t, struct file *f, void *buf, size_t len, uint64_t *pos)
{
	struct mapping *mapping = f->mapping;
	uint64_t p = *pos;
	size_t done = 0;

	pthread_mutex_lock(&mapping->lock);
	if (p < mapping->size && len > mapping->size - p)
		len = mapping->size - p;
	if (p >= mapping->size || len == 0) {
		pthread_mutex_unlock(&mapping->lock);
		return 0;
	}
	if (k_host_range_faults(buf, len)) {
		pthread_mutex_unlock(&mapping->lock);
		return -EFAULT;
	}
	while (done < len) {
		uint64_t off = p & ~HW_PAGE_MASK, chunk = HW_PAGE_SIZE - off;
		void *item = lib_radix_lookup(&mapping->pages, p >> HW_PAGE_SHIFT);
		uint8_t *dst = (uint8_t *)buf + done;

		if (chunk > len - done)
			chunk = len - done;
		if (item)   /* a hole reads as zeroes, without filling the cache */
			hw_ram_read(dst, (uint8_t *)hw_pfn_to_host(mapping_hw(mapping),
								   (hw_pfn_t)lib_radix_value(item)) + off,
				    chunk);
		else
			memset(dst, 0, chunk);
		done += chunk;
		p += chunk;
	}
	pthread_mutex_unlock(&mapping->lock);
	*pos = p;
	return (long)done;
}

/* Called with mapping->lock held; returns bytes written or a negative errno. */
static long shmem_write_locked(struct mapping *mapping, const void *buf, size_t len,
			       uint64_t p)
{
	size_t done = 0;

	lockdep_assert_held(&mapping->lock);
	while (done < len) {
		uint64_t off = p & ~HW_PAGE_MASK, chunk = HW_PAGE_SIZE - off;
		hw_pfn_t pfn;
		int ret = mapping_page_locked(mapping, p >> HW_PAGE_SHIFT, true, 0, &pfn);

		if (ret)
			return done ? (long)done : ret;
		if (chunk > len - done)
			chunk = len - done;
		hw_ram_write((uint8_t *)hw_pfn_to_host(mapping_hw(mapping), pfn) + off,
			     (const uint8_t *)buf + done, chunk);
		done += chunk;
		p += chunk;
		if (p > mapping->size)
			mapping->size = p;
	}
	return (long)done;
}

static long shmem_write(struct mv_task *t, struct file *f, const void *buf, size_t len,
			uint64_t *pos)
{
	struct mapping *mapping = f->mapping;
	uint64_t p = *pos;
	long ret;

	pthread_mutex_lock(&mapping->lock);
	if (__atomic_load_n(&f->f_flags, __ATOMIC_RELAXED) & O_APPEND)
		p = mapping->size;
	ret = 0;
	if (len == 0)
		goto out;
	ret = -EFBIG;
	if (p >= SHMEM_MAX_BYTES)
		goto out;
	if (len > SHMEM_MAX_BYTES - p)
		len = SHMEM_MAX_BYTES - p;
	ret = -EFAULT;
	if (k_host_range_faults(buf, len))
		goto out;
	ret = shmem_write_locked(mapping, buf, len, p);
	if (ret > 0)
		*pos = p + (uint64_t)ret;
out:
	pthread_mutex_unlock(&mapping->lock);
	return ret;
}

/* A page past EOF is SIGBUS; otherwise the page, allocated on first touch. */
static int shmem_fault(struct vma *vma, uint64_t pgoff, unsigned int fault_flags, hw_pfn_t *pfn)
{
	struct mapping *mapping = vma->file->mapping;
	int ret;

	pthread_mutex_lock(&mapping->lock);
	if (pgoff >= K_PAGE_ALIGN(mapping->size) >> HW_PAGE_SHIFT) {
		pthread_mutex_unlock(&mapping->lock);
		return VM_FAULT_SIGBUS;
	}
	ret = mapping_page_locked(mapping, pgoff, true, 0, pfn);
	if (!ret)
		hw_folio_get(mapping_hw(mapping), *pfn);
	pthread_mutex_unlock(&mapping->lock);
	return ret ? VM_FAULT_OOM : 0;
}

static const struct vm_ops shmem_vm_ops = {
	.name = "shmem",
	.fault = shmem_fault,
};

/* Called with mm->mmap_lock held for write. */
static int shmem_mmap(struct mv_task *t, struct file *f, struct vma *vma)
{
	vma->ops = &shmem_vm_ops;
	return 0;
}

/*
 * Punching zeroes the partial pages at either edge in place (mappings see
 * the zeroes) and drops the whole pages in between.
 */
static long shmem_punch_hole(struct mapping *mapping, uint64_t off, uint64_t len)
{
	uint64_t end = off + len;
	uint64_t head = off >> HW_PAGE_SHIFT, tail = end >> HW_PAGE_SHIFT;
	uint64_t head_off = off & ~HW_PAGE_MASK, tail_off = end & ~HW_PAGE_MASK;
	uint64_t first_full = K_PAGE_ALIGN(off) >> HW_PAGE_SHIFT;

	pthread_mutex_lock(&mapping->lock);
	if (head_off)
		mapping_zero_locked(mapping, head, head_off,
				    tail == head ? tail_off : HW_PAGE_SIZE);
	if (tail_off && (tail != head || !head_off))
		mapping_zero_locked(mapping, tail, 0, tail_off);
	pthread_mutex_unlock(&mapping->lock);
	if (first_full < tail)
		mapping_truncate_range(mapping, first_full, tail - 1);
	return 0;
}

/*
 * Allocates every page of [first, last]; on failure removes the pages this
 * call added, leaving the file as it was. Called with mapping->lock held.
 */
static int shmem_alloc_range_locked(struct mapping *mapping, uint64_t first, uint64_t last)
{
	struct hw_machine *hw = mapping_hw(mapping);
	uint64_t idx;
	void *item;
	int ret = 0;

	for (idx = first; idx <= last && !ret; idx++) {
		hw_pfn_t pfn;

		if (!lib_radix_lookup(&mapping->pages, idx))
			ret = mapping_page_locked(mapping, idx, true, SHMEM_FRAME_FALLOC, &pfn);
	}
	lib_radix_for_each(&mapping->pages, idx, item, first, last) {
		hw_pfn_t fpfn = (hw_pfn_t)lib_radix_value(item);

		if (!(hw_frame_flags(hw, fpfn) & SHMEM_FRAME_FALLOC))
			continue;
		hw_frame_clear_flags(hw, fpfn, SHMEM_FRAME_FALLOC);
		if (ret) {
			lib_radix_erase(&mapping->pages, idx);
			mapping->nr_pages--;
			hw_folio_put(hw, (hw_pfn_t)lib_radix_value(item));
		}
	}
	return ret;
}

static long shmem_fallocate(struct mv_task *t, struct file *f, int mode, uint64_t off,
			    uint64_t len)
{
	struct mapping *mapping = f->mapping;
	uint64_t end = off + len;
	int ret;

	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))
		return -EOPNOTSUPP;
	if (mode & FALLOC_FL_PUNCH_HOLE)
		return shmem_punch_hole(mapping, off, len);
	pthread_mutex_lock(&mapping->lock);
	ret = shmem_alloc_range_locked(mapping, off >> HW_PAGE_SHIFT, (end - 1) >> HW_PAGE_SHIFT);
	if (!ret && !(mode & FALLOC_FL_KEEP_SIZE) && end > mapping->size)
		mapping->size = end;
	pthread_mutex_unlock(&mapping->lock);
	return ret;
}

/*
 * Growing only moves EOF. Shrinking (or truncating to the same size) also
 * zeroes the tail of the last partial page and drops every page past EOF,
 * including pages fallocated past it with KEEP_SIZE.
 */
static long shmem_ftruncate(struct mv_task *t, struct file *f, uint64_t len)
{
	struct mapping *mapping = f->mapping;
	uint64_t old;

	pthread_mutex_lock(&mapping->lock);
	old = mapping->size;
	mapping->size = len;
	if (len <= old)
		mapping_zero_locked(mapping, len >> HW_PAGE_SHIFT, len & ~HW_PAGE_MASK,
				    (len & ~HW_PAGE_MASK) ? HW_PAGE_SIZE : 0);
	pthread_mutex_unlock(&mapping->lock);
	if (len <= old)
		mapping_truncate_range(mapping, K_PAGE_ALIGN(len) >> HW_PAGE_SHIFT,
				       SHMEM_LAST_PGOFF);
	return 0;
}

static int shmem_fstat(struct file *f, struct stat *st)
{
	struct mapping *mapping = f->mapping;

	st->st_dev = SHMEM_DEV;
	st->st_mode = S_IFREG | shmem_inode(f)->mode;
	st->st_nlink = 0;             /* memfd and shared anonymous files are unlinked */
	st->st_uid = K_TASK_UID;
	st->st_gid = K_TASK_GID;
	pthread_mutex_lock(&mapping->lock);
	st->st_size = (__typeof__(st->st_size))mapping->size;
	st->st_blocks = (__typeof__(st->st_blocks))(mapping->nr_pages * (HW_PAGE_SIZE / 512));
	pthread_mutex_unlock(&mapping->lock);
	return 0;
}

/* Last reference: no fd or VMA uses the file, so no PTE maps its pages. */
static void shmem_release(struct file *f)
{
	mapping_destroy(f->mapping);
	lib_free(f->private_data);
}

static const struct file_ops shmem_file_ops = {
	.name = "shmem",
	.read = shmem_read,
	.write = shmem_write,
	.mmap = shmem_mmap,
	.fallocate = shmem_fallocate,
	.fstat = shmem_fstat,
	.ftruncate = shmem_ftruncate,
	.release = shmem_release,
};

struct file *shmem_file_setup(struct kernel *k, const char *name, uint64_t size,
			      unsigned int f_flags, unsigned int mode)
{
	struct shmem_inode *inode;
	struct mapping *mapping;
	struct file *f;

	if (size > SHMEM_MAX_BYTES)
		return lib_err_ptr(-ENOMEM);
	inode = lib_zalloc(sizeof(*inode));
	if (!inode)
		return lib_err_ptr(-ENOMEM);
	memcpy(inode->name, name, strnlen(name, sizeof(inode->name) - 1));
	inode->mode = mode & 07777;
	mapping = mapping_create(k, size);
	if (lib_is_err(mapping))
		goto err_free_inode;
	f = file_alloc(k, &shmem_file_ops, f_flags, inode);
	if (lib_is_err(f))
		goto err_destroy_mapping;
	f->mapping = mapping;
	return f;

err_destroy_mapping:
	mapping_destroy(mapping);
err_free_inode:
	lib_free(inode);
	return lib_err_ptr(-ENOMEM);
}

struct file *shmem_file_create(struct kernel *k, uint64_t size, unsigned int f_flags)
{
	return shmem_file_setup(k, "dev/zero", size, f_flags, 0777);
}

bool file_is_shmem(const struct file *f)
{
	return f && f->ops == &shmem_file_ops;
}
