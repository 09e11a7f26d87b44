/* SPDX-License-Identifier: MIT */
/*
 * Guest private memory: the file behind memfd_restricted (seed) and
 * KVM_CREATE_GUEST_MEMFD (mainline), its folio cache, hole punching with
 * folio-granular invalidation, shared mmap, and the in-kernel API (get a
 * page, notifiers, bindings). See guest_memfd.h for the contract and
 * docs/private-memory.md for where the two faces differ.
 *
 * The cache maps the first page offset of each folio to the folio's head
 * pfn and order (a value entry); a 2 MiB folio is one entry, so a punch of
 * 1 GiB visits 512 entries, not 262144. Only orders 0 and 9 exist: a page
 * is found at its own index or at its 2 MiB-aligned index.
 *
 * The file keeps a struct mapping only for its list of VMAs (user PTEs to
 * zap); its pages live here. Every folio in the cache holds one reference;
 * gmem_get_page and user PTEs take their own.
 */
#include <string.h>

#include <memvisor/uapi/kvm.h>

#include "hw/ram.h"
#include "kernel/syscalls.h"
#include "kernel/guest_memfd.h"
#include "lib/alloc.h"
#include "lib/lockdep.h"

#define GMEM_VALID_FLAGS (GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED)
#define GMEM_ORDER_BITS  4u
#define GMEM_FRAME_FLAGS (HW_FRAME_PAGECACHE | HW_FRAME_UNMOVABLE | HW_FRAME_UNEVICTABLE)
#define GMEM_LAST_INDEX  (UINT64_MAX >> HW_PAGE_SHIFT)
#define GMEM_O_LARGEFILE 0100000            /* what an anonymous inode's open adds */
#define GMEM_DEV_MODE    (S_IFREG | 0600)   /* an anonymous inode, as KVM makes it */
#define RMEM_DEV_MODE    (S_IFREG | 0777)   /* the seed's inner shmem file */

struct gmem {
	struct kernel *k;
	struct gmem_host *host;
	pthread_mutex_t lock;
	struct lib_radix folios;      /* folio's first index -> (pfn << 4 | order) */
	uint64_t nr_pages;            /* pages in the cache */
	uint64_t size;                /* bytes: fixed (mainline) or set once (seed) */
	uint64_t flags;               /* GUEST_MEMFD_FLAG_* */
	bool seed;                    /* memfd_restricted */
	struct lib_list notifiers;    /* struct gmem_notifier */
	struct lib_itree bindings;    /* struct gmem_binding */
	const struct gmem_owner_ops *owner_ops;
	void *owner;
};

static const struct file_ops gmem_file_ops;
static const struct file_ops rmem_file_ops;

static struct gmem *file_gmem(const struct file *f)
{
	return file_is_gmem(f) ? f->private_data : NULL;
}

static struct hw_machine *gmem_hw(const struct gmem *g)
{
	return g->k->hw;
}

/* Private pages leave the direct map; INIT_SHARED pages are the host's to map. */
static bool gmem_private(const struct gmem *g)
{
	return !(g->flags & GUEST_MEMFD_FLAG_INIT_SHARED);
}

static uint64_t gmem_pages(const struct gmem *g)
{
	return g->size >> HW_PAGE_SHIFT;
}

static void *gmem_pack(hw_pfn_t pfn, unsigned int order)
{
	return lib_radix_mkvalue(pfn << GMEM_ORDER_BITS | order);
}

static void gmem_unpack(const void *item, hw_pfn_t *head, unsigned int *order)
{
	uint64_t v = lib_radix_value(item);

	*head = v >> GMEM_ORDER_BITS;
	*order = (unsigned int)(v & ((1u << GMEM_ORDER_BITS) - 1));
}

/* ------------------------------------------------------------ the cache */

/*
 * The folio holding page @index: its first index, head and order. 0 or
 * -ENOENT. Called with g->lock held.
 */
static int gmem_lookup_locked(struct gmem *g, uint64_t index, uint64_t *start, hw_pfn_t *head,
			      unsigned int *order)
{
	uint64_t huge = index & ~(GMEM_HUGE_PAGES - 1);
	void *item = lib_radix_lookup(&g->folios, index);

	if (item) {   /* a folio starting here: order 0, or 9 when @index is aligned */
		*start = index;
		gmem_unpack(item, head, order);
		return 0;
	}
	item = index != huge ? lib_radix_lookup(&g->folios, huge) : NULL;
	if (!item)
		return -ENOENT;
	gmem_unpack(item, head, order);
	if (*order != GMEM_HUGE_ORDER)
		return -ENOENT;
	*start = huge;
	return 0;
}

/* A 2 MiB folio fits where its aligned range is inside EOF and still empty. */
static unsigned int gmem_pick_order(struct gmem *g, uint64_t index)
{
	uint64_t huge = index & ~(GMEM_HUGE_PAGES - 1), i = huge;

	if (huge + GMEM_HUGE_PAGES > gmem_pages(g))
		return 0;
	if (lib_radix_find(&g->folios, &i, huge + GMEM_HUGE_PAGES - 1))
		return 0;
	return GMEM_HUGE_ORDER;
}

/* Allocates the folio for page @index. Called with g->lock held. */
static int gmem_alloc_locked(struct gmem *g, uint64_t index, uint64_t *start, hw_pfn_t *head,
			     unsigned int *order)
{
	unsigned int o = gmem_pick_order(g, index);
	uint64_t first = o ? index & ~(GMEM_HUGE_PAGES - 1) : index;
	hw_pfn_t pfn;
	int ret;

	ret = hw_frames_alloc(gmem_hw(g), o, HW_ALLOC_ZERO, GMEM_FRAME_FLAGS, &pfn);
	if (ret && o) {   /* no 2 MiB block free: a page will do */
		o = 0;
		first = index;
		ret = hw_frames_alloc(gmem_hw(g), 0, HW_ALLOC_ZERO, GMEM_FRAME_FLAGS, &pfn);
	}
	if (ret)
		return -ENOMEM;
	if (lib_radix_insert(&g->folios, first, gmem_pack(pfn, o))) {
		hw_folio_put(gmem_hw(g), pfn);
		return -ENOMEM;
	}
	g->nr_pages += 1ull << o;
	gmem_host_folio_added(g->host, pfn, o, gmem_private(g));
	*start = first;
	*head = pfn;
	*order = o;
	return 0;
}

/* The pfn of page @index, allocated when absent. Called with g->lock held. */
static int gmem_page_locked(struct gmem *g, uint64_t index, hw_pfn_t *pfn, unsigned int *order)
{
	uint64_t start;
	hw_pfn_t head;
	int ret = gmem_lookup_locked(g, index, &start, &head, order);

	lockdep_assert_held(&g->lock);
	if (ret == -ENOENT)
		ret = gmem_alloc_locked(g, index, &start, &head, order);
	if (ret)
		return ret;
	*pfn = head + (index - start);
	return 0;
}

int gmem_get_page(struct file *f, uint64_t index, hw_pfn_t *pfn, unsigned int *order)
{
	struct gmem *g = file_gmem(f);
	int ret;

	if (!g)
		return -EINVAL;
	pthread_mutex_lock(&g->lock);
	ret = -EINVAL;
	if (index < gmem_pages(g) || g->seed)   /* the seed's shmem allocated past EOF */
		ret = gmem_page_locked(g, index, pfn, order);
	if (!ret)
		hw_folio_get(gmem_hw(g), *pfn);
	pthread_mutex_unlock(&g->lock);
	return ret;
}

/* Allocates every page of [first, last]. Called with g->lock held. */
static int gmem_allocate_locked(struct gmem *g, uint64_t first, uint64_t last)
{
	uint64_t index = first;

	lockdep_assert_held(&g->lock);
	while (index <= last) {
		hw_pfn_t pfn;
		unsigned int order;
		uint64_t start;
		int ret = gmem_lookup_locked(g, index, &start, &pfn, &order);

		if (ret == -ENOENT)
			ret = gmem_alloc_locked(g, index, &start, &pfn, &order);
		if (ret)
			return ret;
		if (start + (1ull << order) - 1 >= last)
			break;
		index = start + (1ull << order);
	}
	return 0;
}

/* ------------------------------------------------------------ invalidation */

static void gmem_notify_start(struct gmem *g, uint64_t start, uint64_t end, hw_pfn_t head,
			      unsigned int order)
{
	struct gmem_notifier *n;
	uint64_t calls = 0;

	lib_list_for_each_entry(n, &g->notifiers, link) {
		n->ops->invalidate_start(n, start, end, head, order);
		calls++;
	}
	if (calls)
		gmem_host_note(g->host, GMEM_NOTE_NOTIFICATION, calls);
}

static void gmem_notify_end(struct gmem *g, uint64_t start, uint64_t end)
{
	struct gmem_notifier *n;

	lib_list_for_each_entry(n, &g->notifiers, link)
		n->ops->invalidate_end(n, start, end);
}

/* Drops a whole folio from the cache. Called with g->lock held. */
static void gmem_drop_folio_locked(struct gmem *g, uint64_t start, hw_pfn_t head,
				   unsigned int order)
{
	lib_radix_erase(&g->folios, start);
	g->nr_pages -= 1ull << order;
	gmem_host_folio_removed(g->host, head, order, gmem_private(g));
	hw_folio_put(gmem_hw(g), head);
}

/*
 * Splits the 2 MiB folio at @start and frees its pages in [first, last].
 * Only the cache may hold the folio (refcount 1): a split must not take
 * references away from anyone. -ENOMEM leaves the folio whole.
 * Called with g->lock held.
 */
static int gmem_split_punch_locked(struct gmem *g, uint64_t start, hw_pfn_t head,
				   uint64_t first, uint64_t last)
{
	struct hw_machine *hw = gmem_hw(g);
	uint64_t j;

	if (hw_folio_refcount(hw, head) != 1)
		return -EBUSY;
	for (j = 1; j < GMEM_HUGE_PAGES; j++) {
		if (start + j >= first && start + j <= last)
			continue;
		if (lib_radix_insert(&g->folios, start + j, gmem_pack(head + j, 0)))
			goto err_undo;
	}
	hw_folio_split(hw, head);
	gmem_host_folio_split(g->host, head, gmem_private(g));
	if (start >= first && start <= last)
		lib_radix_erase(&g->folios, start);
	else
		lib_radix_store(&g->folios, start, gmem_pack(head, 0));
	for (j = 0; j < GMEM_HUGE_PAGES; j++) {
		if (start + j < first || start + j > last)
			continue;
		g->nr_pages--;
		gmem_host_folio_removed(g->host, head + j, 0, gmem_private(g));
		hw_folio_put(hw, head + j);
	}
	return 0;

err_undo:
	while (--j > 0)
		lib_radix_erase(&g->folios, start + j);
	return -ENOMEM;
}

/* A folio that cannot be split: the punched pages read as zeroes instead. */
static void gmem_zero_pages_locked(struct gmem *g, hw_pfn_t head, uint64_t start,
				   uint64_t first, uint64_t last)
{
	uint64_t from = first > start ? first : start;

	hw_ram_zero(hw_pfn_to_host(gmem_hw(g), head + (from - start)),
		    (last - from + 1) << HW_PAGE_SHIFT);
	gmem_host_note(g->host, GMEM_NOTE_SPLIT_DEFERRED, 1);
}

/*
 * One folio under a punch of [first, last]: notify once for the folio, take
 * it out of every user mapping, then free it, or split it when the punch
 * covers only part of it. Called with g->lock held.
 */
static void gmem_punch_folio_locked(struct gmem *g, struct file *f, uint64_t start,
				    hw_pfn_t head, unsigned int order, uint64_t first,
				    uint64_t last)
{
	uint64_t end = start + (1ull << order);

	gmem_notify_start(g, start, end, head, order);
	mapping_unmap_range(f->mapping, start, end - 1);
	if (start >= first && end - 1 <= last)
		gmem_drop_folio_locked(g, start, head, order);
	else if (gmem_split_punch_locked(g, start, head, first, last))
		gmem_zero_pages_locked(g, head, start, first, last < end - 1 ? last : end - 1);
	gmem_notify_end(g, start, end);
}

/* Frees pages [first, last]. Called with g->lock held. */
static void gmem_punch_locked(struct gmem *g, struct file *f, uint64_t first, uint64_t last)
{
	uint64_t index = first & ~(GMEM_HUGE_PAGES - 1);
	void *item;

	lockdep_assert_held(&g->lock);
	while ((item = lib_radix_find(&g->folios, &index, last)) != NULL) {
		hw_pfn_t head;
		unsigned int order;
		uint64_t start = index;

		gmem_unpack(item, &head, &order);
		if (start + (1ull << order) > first)
			gmem_punch_folio_locked(g, f, start, head, order, first, last);
		if (start + (1ull << order) - 1 >= last)
			break;
		index = start + (1ull << order);
	}
}

/* ------------------------------------------------------------ file operations */

static long gmem_punch(struct file *f, uint64_t off, uint64_t len)
{
	struct gmem *g = f->private_data;

	if ((off | len) & ~HW_PAGE_MASK)
		return -EINVAL;
	pthread_mutex_lock(&g->lock);
	gmem_punch_locked(g, f, off >> HW_PAGE_SHIFT, ((off + len) >> HW_PAGE_SHIFT) - 1);
	pthread_mutex_unlock(&g->lock);
	return 0;
}

/*
 * Mainline: KEEP_SIZE always, page-aligned ranges, allocation inside EOF.
 * The VFS has already rejected len <= 0 and offset overflow.
 */
static long gmem_fallocate(struct mv_task *t, struct file *f, int mode, uint64_t off,
			   uint64_t len)
{
	struct gmem *g = f->private_data;
	int ret;

	if (!(mode & FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))
		return -EOPNOTSUPP;
	if ((off | len) & ~HW_PAGE_MASK)
		return -EINVAL;
	if (mode & FALLOC_FL_PUNCH_HOLE)
		return gmem_punch(f, off, len);
	if (off + len > g->size)
		return -EINVAL;
	pthread_mutex_lock(&g->lock);
	ret = gmem_allocate_locked(g, off >> HW_PAGE_SHIFT, ((off + len) >> HW_PAGE_SHIFT) - 1);
	pthread_mutex_unlock(&g->lock);
	return ret;
}

/*
 * The seed passes allocation to its inner shmem file (any offset, past EOF
 * with KEEP_SIZE, growing the size without it) and wants a punch aligned.
 */
static long rmem_fallocate(struct mv_task *t, struct file *f, int mode, uint64_t off,
			   uint64_t len)
{
	struct gmem *g = f->private_data;
	uint64_t end = off + len;
	int ret;

	if (mode & FALLOC_FL_PUNCH_HOLE)
		return gmem_punch(f, off, len);
	if (mode & ~FALLOC_FL_KEEP_SIZE)
		return -EOPNOTSUPP;
	pthread_mutex_lock(&g->lock);
	ret = gmem_allocate_locked(g, off >> HW_PAGE_SHIFT, (end - 1) >> HW_PAGE_SHIFT);
	if (!ret && !(mode & FALLOC_FL_KEEP_SIZE) && end > g->size)
		g->size = end;
	pthread_mutex_unlock(&g->lock);
	return ret;
}

/* The seed sizes the file once: -EPERM once it has a size, -EINVAL unaligned. */
static long rmem_ftruncate(struct mv_task *t, struct file *f, uint64_t len)
{
	struct gmem *g = f->private_data;
	long ret = 0;

	pthread_mutex_lock(&g->lock);
	if (g->size)
		ret = -EPERM;
	else if (len & ~HW_PAGE_MASK)
		ret = -EINVAL;
	else
		g->size = len;
	pthread_mutex_unlock(&g->lock);
	return ret;
}

static int gmem_fstat(struct file *f, struct stat *st)
{
	struct gmem *g = f->private_data;

	pthread_mutex_lock(&g->lock);
	st->st_size = (__typeof__(st->st_size))g->size;
	/* KVM's inode never counts blocks; the seed's shmem inode does */
	st->st_blocks = g->seed ? (__typeof__(st->st_blocks))(g->nr_pages * (HW_PAGE_SIZE / 512)) : 0;
	pthread_mutex_unlock(&g->lock);
	st->st_mode = g->seed ? RMEM_DEV_MODE : GMEM_DEV_MODE;
	st->st_nlink = g->seed ? 0 : 1;
	return 0;
}

/* Shared faults: only inside EOF and only on a file whose pages are shared. */
static int gmem_vm_fault(struct vma *vma, uint64_t pgoff, unsigned int fault_flags,
			 hw_pfn_t *pfn)
{
	struct gmem *g = vma->file->private_data;
	unsigned int order;
	int ret = VM_FAULT_SIGBUS;

	pthread_mutex_lock(&g->lock);
	if (pgoff < gmem_pages(g) && !gmem_private(g)) {
		ret = gmem_page_locked(g, pgoff, pfn, &order) ? VM_FAULT_OOM : 0;
		if (!ret)
			hw_folio_get(gmem_hw(g), *pfn);
	}
	pthread_mutex_unlock(&g->lock);
	return ret;
}

static const struct vm_ops gmem_vm_ops = {
	.name = "guest_memfd",
	.fault = gmem_vm_fault,
};

/*
 * Only the mainline face maps. Both faces live on a noexec mount, which
 * do_mmap checks (file->noexec) before it allocates anything, as it does
 * the seed face's missing ->mmap. Called with mmap_lock held for write.
 */
static int gmem_mmap(struct mv_task *t, struct file *f, struct vma *vma)
{
	struct gmem *g = f->private_data;

	if (!(g->flags & GUEST_MEMFD_FLAG_MMAP))
		return -ENODEV;
	if ((vma->flags & (VM_SHARED | VM_MAYSHARE)) != (VM_SHARED | VM_MAYSHARE))
		return -EINVAL;
	vma->ops = &gmem_vm_ops;
	return 0;
}

static void gmem_put_folio(void *item, uint64_t index, void *ctx)
{
	struct gmem *g = ctx;
	hw_pfn_t head;
	unsigned int order;

	gmem_unpack(item, &head, &order);
	gmem_host_folio_removed(g->host, head, order, gmem_private(g));
	hw_folio_put(gmem_hw(g), head);
}

/* Unlinks every binding left and tells its owner, one at a time, unlocked. */
static void gmem_release_bindings(struct gmem *g)
{
	for (;;) {
		struct lib_itree_node *n;
		struct gmem_binding *b;

		pthread_mutex_lock(&g->lock);
		n = lib_itree_first(&g->bindings);
		if (n)
			lib_itree_remove(&g->bindings, n);
		pthread_mutex_unlock(&g->lock);
		if (!n)
			return;
		b = lib_container_of(n, struct gmem_binding, node);
		if (b->released)
			b->released(b);
	}
}

/* Last reference: no fd or VMA is left; bindings are told the file is gone. */
static void gmem_release(struct file *f)
{
	struct gmem *g = f->private_data;

	gmem_release_bindings(g);
	lib_radix_erase_range(&g->folios, 0, GMEM_LAST_INDEX, gmem_put_folio, g);
	lib_radix_destroy(&g->folios);
	mapping_destroy(f->mapping);
	if (g->owner_ops && g->owner_ops->put)
		g->owner_ops->put(g->owner);
	pthread_mutex_destroy(&g->lock);
	lib_free(g);
}

static const struct file_ops gmem_file_ops = {
	.name = "guest_memfd",
	.mmap = gmem_mmap,
	.fallocate = gmem_fallocate,
	.fstat = gmem_fstat,
	.release = gmem_release,
};

static const struct file_ops rmem_file_ops = {
	.name = "restrictedmem",
	.fallocate = rmem_fallocate,
	.fstat = gmem_fstat,
	.ftruncate = rmem_ftruncate,
	.release = gmem_release,
};

/* ------------------------------------------------------------ creation */

static struct file *gmem_file_new(struct kernel *k, uint64_t size, uint64_t flags, bool seed)
{
	struct gmem_host *host = gmem_host_get(k);
	struct gmem *g;
	struct file *f;

	if (lib_is_err(host))
		return lib_err_ptr(lib_ptr_err(host));
	g = lib_zalloc(sizeof(*g));
	if (!g)
		return lib_err_ptr(-ENOMEM);
	if (pthread_mutex_init(&g->lock, NULL))
		goto err_free;
	g->k = k;
	g->host = host;
	g->size = size;
	g->flags = flags;
	g->seed = seed;
	lib_radix_init(&g->folios);
	lib_list_init(&g->notifiers);
	lib_itree_init(&g->bindings);
	f = file_alloc(k, seed ? &rmem_file_ops : &gmem_file_ops, O_RDWR | GMEM_O_LARGEFILE, g);
	if (lib_is_err(f))
		goto err_destroy_lock;
	f->mapping = mapping_create(k, size);
	if (lib_is_err(f->mapping)) {
		long err = lib_ptr_err(f->mapping);

		f->mapping = NULL;
		file_put(f);   /* ->release frees g */
		return lib_err_ptr(err);
	}
	f->no_pread = true;
	f->noexec = true;
	return f;

err_destroy_lock:
	pthread_mutex_destroy(&g->lock);
err_free:
	lib_free(g);
	return lib_err_ptr(-ENOMEM);
}

static long gmem_install(struct mv_task *t, struct file *f)
{
	int fd = fd_install(t, f, 0);

	if (fd < 0)
		file_put(f);
	return fd;
}

long gmem_create(struct mv_task *t, uint64_t size, uint64_t flags,
		 const struct gmem_owner_ops *ops, void *owner)
{
	struct file *f;

	if (flags & ~GMEM_VALID_FLAGS)
		return -EINVAL;
	if (size == 0 || (int64_t)size < 0 || (size & ~HW_PAGE_MASK))
		return -EINVAL;
	f = gmem_file_new(t->k, size, flags, false);
	if (lib_is_err(f))
		return lib_ptr_err(f);
	if (ops && ops->get)
		ops->get(owner);
	((struct gmem *)f->private_data)->owner_ops = ops;
	((struct gmem *)f->private_data)->owner = owner;
	return gmem_install(t, f);
}

long sys_memfd_restricted(struct mv_task *t, const uint64_t a[6])
{
	unsigned int flags = (unsigned int)a[0];
	struct file *f;

	if (flags)
		return -EINVAL;
	f = gmem_file_new(t->k, 0, 0, true);
	if (lib_is_err(f))
		return lib_ptr_err(f);
	return gmem_install(t, f);
}

/* ------------------------------------------------------------ in-kernel API */

bool file_is_gmem(const struct file *f)
{
	return f && (f->ops == &gmem_file_ops || f->ops == &rmem_file_ops);
}

bool file_is_restrictedmem(const struct file *f)
{
	return f && f->ops == &rmem_file_ops;
}

void *gmem_owner(const struct file *f)
{
	struct gmem *g = file_gmem(f);

	return g ? g->owner : NULL;
}

uint64_t gmem_size(struct file *f)
{
	struct gmem *g = file_gmem(f);
	uint64_t size;

	if (!g)
		return 0;
	pthread_mutex_lock(&g->lock);
	size = g->size;
	pthread_mutex_unlock(&g->lock);
	return size;
}

uint64_t gmem_flags(const struct file *f)
{
	struct gmem *g = file_gmem(f);

	return g ? g->flags : 0;
}

int gmem_register_notifier(struct file *f, struct gmem_notifier *n)
{
	struct gmem *g = file_gmem(f);

	if (!g)
		return -EINVAL;
	pthread_mutex_lock(&g->lock);
	lib_list_add_tail(&n->link, &g->notifiers);
	pthread_mutex_unlock(&g->lock);
	return 0;
}

void gmem_unregister_notifier(struct file *f, struct gmem_notifier *n)
{
	struct gmem *g = file_gmem(f);

	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	lib_list_del(&n->link);
	pthread_mutex_unlock(&g->lock);
}

int gmem_bind(struct file *f, const void *owner, struct gmem_binding *b, uint64_t pgoff,
	      uint64_t npages, void *data)
{
	struct gmem *g = file_gmem(f);
	int ret = -EINVAL;

	if (!g || g->owner != owner || !npages || pgoff + npages < pgoff)
		return -EINVAL;
	pthread_mutex_lock(&g->lock);
	/* the seed checked neither (its shmem file allocated past EOF) */
	if (!g->seed && pgoff + npages > gmem_pages(g))
		goto out;
	if (!g->seed && lib_itree_first_overlap(&g->bindings, pgoff, pgoff + npages))
		goto out;
	memset(&b->node, 0, sizeof(b->node));
	b->node.start = pgoff;
	b->node.end = pgoff + npages;
	b->data = data;
	lib_itree_insert(&g->bindings, &b->node);
	ret = 0;
out:
	pthread_mutex_unlock(&g->lock);
	return ret;
}

void gmem_unbind(struct file *f, struct gmem_binding *b)
{
	struct gmem *g = file_gmem(f);

	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	lib_itree_remove(&g->bindings, &b->node);
	pthread_mutex_unlock(&g->lock);
}

void *gmem_binding_at(struct file *f, uint64_t index)
{
	struct gmem *g = file_gmem(f);
	struct lib_itree_node *n;
	void *data = NULL;

	if (!g)
		return NULL;
	pthread_mutex_lock(&g->lock);
	n = lib_itree_find(&g->bindings, index);
	if (n)
		data = lib_container_of(n, struct gmem_binding, node)->data;
	pthread_mutex_unlock(&g->lock);
	return data;
}

bool gmem_file_tryget(struct file *f)
{
	uint32_t refs = __atomic_load_n(&f->refcount, __ATOMIC_RELAXED);

	do {
		if (!refs)
			return false;
	} while (!__atomic_compare_exchange_n(&f->refcount, &refs, refs + 1, true,
					      __ATOMIC_ACQUIRE, __ATOMIC_RELAXED));
	return true;
}
