/* SPDX-License-Identifier: MIT */
/*
 * /dev/sgx_vepc: each open file is a virtual EPC, a page array indexed by
 * file offset (sgx_vepc in Linux's virt.c). A MAP_SHARED mapping is
 * PFN-mapped, not copied on fork, not dumped, not reachable by GUP; the
 * first touch of a page allocates one EPC page. The VMM resets the EPC a
 * guest used with SGX_IOC_VEPC_REMOVE_ALL; release EREMOVEs every page,
 * retries SECS pages whose children went first and parks on the kernel's
 * zombie list the SECS pages whose children live in another vEPC. With
 * KVM_SGX_EPC_RECLAIM the kernel may evict pages (sgx_reclaim.c).
 *
 * Locks: vepc->lock ranks right after mm->mmap_lock (the fault path takes
 * it there; eviction zaps mappings under it) and covers the page array,
 * the VMA list, the VA slots and the charge binding; ENCLS (epc->lock)
 * nests inside it. The zombie list has its own lock (sgx_host). Every EPC
 * page is EREMOVEd before it returns to the EPC allocator; an EREMOVE that
 * fails keeps the page where it is (array or zombie list), so no page is
 * ever lost or handed on with its contents.
 */
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <memvisor/memvisor.h>
#include <memvisor/uapi/sgx.h>

#include "hw/sgx.h"
#include "kernel/kernel.h"
#include "kernel/mm_internal.h"
#include "kernel/sgx_vepc.h"
#include "kernel/sgx_vepc_internal.h"
#include "lib/alloc.h"
#include "lib/lockdep.h"
#include "lib/radix.h"

/* ---- the per-VM limit ---- */

struct sgx_epc_charge *sgx_epc_charge_new(void)
{
	struct sgx_epc_charge *c = lib_zalloc(sizeof(*c));

	if (c)
		c->refs = 1;
	return c;
}

static void sgx_epc_charge_get(struct sgx_epc_charge *c)
{
	__atomic_fetch_add(&c->refs, 1, __ATOMIC_RELAXED);
}

void sgx_epc_charge_put(struct sgx_epc_charge *c)
{
	if (c && __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0)
		lib_free(c);
}

/* try_charge(): @n more pages, unless that passes the limit. */
bool sgx_epc_try_charge(struct sgx_epc_charge *c, uint64_t n)
{
	uint64_t u = __atomic_load_n(&c->usage, __ATOMIC_RELAXED);

	do {
		uint64_t lim = __atomic_load_n(&c->limit, __ATOMIC_RELAXED);

		if (lim && u + n > lim) {
			__atomic_fetch_add(&c->denied, 1, __ATOMIC_RELAXED);
			return false;
		}
	} while (!__atomic_compare_exchange_n(&c->usage, &u, u + n, false, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return true;
}

void sgx_epc_uncharge(struct sgx_epc_charge *c, uint64_t n)
{
	if (c && n)
		__atomic_fetch_sub(&c->usage, n, __ATOMIC_RELAXED);
}

int sgx_epc_charge_set_limit(struct sgx_epc_charge *c, uint64_t pages)
{
	uint64_t old = __atomic_load_n(&c->limit, __ATOMIC_RELAXED);

	/* a new limit below what is charged would need reclaim, which vEPC pages lack */
	__atomic_store_n(&c->limit, pages, __ATOMIC_RELAXED);
	if (pages && __atomic_load_n(&c->usage, __ATOMIC_RELAXED) > pages) {
		__atomic_store_n(&c->limit, old, __ATOMIC_RELAXED);
		return -EBUSY;
	}
	return 0;
}

static struct hw_epc *vepc_epc(const struct sgx_vepc *v)
{
	return v->k->hw->epc;
}

/* ---- fault: one EPC page per file page, on first touch ---- */

/*
 * A fresh EPC page for @v, charged: with reclaim on, a full EPC or the VM's
 * limit evicts another page of @v first (sgx_reclaim.c). 0 and *pa,
 * -ENOMEM (EPC full, nothing to reclaim), -EDQUOT (past the VM's limit).
 */
static int sgx_vepc_get_page(struct sgx_vepc *v, struct mm *mm, uint64_t index, uint64_t *pa)
{
	int ret;

	for (int tries = 0;; tries++) {
		bool charged = !v->charge || sgx_epc_try_charge(v->charge, 1);

		ret = charged ? hw_epc_alloc_page(vepc_epc(v), pa) : -EDQUOT;
		if (!ret)
			return 0;
		if (charged)
			sgx_epc_uncharge(v->charge, 1);
		if (!sgx_vepc_reclaimable(v) || tries >= 8 || sgx_vepc_reclaim_one(v, mm, index))
			return ret;
	}
}

/*
 * __sgx_vepc_fault(): the EPC page at @index, allocated if absent (loaded
 * back if the kernel evicted it). 0 and *pfn, -ENOMEM (EPC full: nothing
 * can be reclaimed), -EDQUOT (past the limit of the VM this vEPC backs),
 * -EIO (an evicted page would not load). Called with vepc->lock held and
 * @mm's mmap_lock for read.
 */
static int __sgx_vepc_fault(struct sgx_vepc *v, struct mm *mm, uint64_t index, hw_pfn_t *pfn)
{
	struct hw_epc *epc = vepc_epc(v);
	void *item = lib_radix_lookup(&v->pages, index);
	uint64_t pa;
	int ret;

	lockdep_assert_held(&v->lock);
	if (item && lib_radix_is_value(item)) {
		*pfn = lib_radix_value(item);
		return 0;
	}
	if (!item && sgx_vepc_reclaimable(v))
		sgx_vepc_va_reserve(v, mm, index);
	ret = sgx_vepc_get_page(v, mm, index, &pa);
	if (ret)
		return ret;
	if (item) {   /* evicted: the entry stays until the page is back */
		ret = sgx_vepc_reload(v, item, pa);
		if (!ret && lib_is_err(lib_radix_store(&v->pages, index,
						      lib_radix_mkvalue(pa >> HW_PAGE_SHIFT))))
			ret = -EIO;   /* cannot happen: the entry exists */
	} else {
		ret = lib_radix_insert(&v->pages, index, lib_radix_mkvalue(pa >> HW_PAGE_SHIFT));
	}
	if (ret) {
		if (hw_epc_free_page(epc, pa))
			ret = -EIO;
		sgx_epc_uncharge(v->charge, 1);
		return ret;
	}
	__atomic_fetch_add(&v->k->sgx->nr_vepc_pages, 1, __ATOMIC_RELAXED);
	*pfn = pa >> HW_PAGE_SHIFT;
	return 0;
}

/* sgx_vepc_fault(): called with mmap_lock held for read. */
static int sgx_vepc_fault(struct vma *vma, uint64_t pgoff, unsigned int fault_flags, hw_pfn_t *pfn)
{
	struct sgx_vepc *v = vma->private_data;
	int ret;

	(void)fault_flags;
	pthread_mutex_lock(&v->lock);
	ret = __sgx_vepc_fault(v, vma->mm, pgoff, pfn);
	pthread_mutex_unlock(&v->lock);
	if (ret) {
		/* -EBUSY is retried only while reclaimable pages exist: never for vEPC pages */
		__atomic_fetch_add(ret == -EDQUOT ? &v->k->sgx->nr_limit_denials
						  : &v->k->sgx->nr_vepc_sigbus, 1, __ATOMIC_RELAXED);
		return VM_FAULT_SIGBUS;
	}
	hw_folio_get(v->k->hw, *pfn);   /* the PTE's reference; EPC frames are never freed by it */
	return 0;
}

/* A VMA of the vEPC is split (the new part) or goes: the reverse map follows. */
static void sgx_vepc_vma_open(struct vma *vma)
{
	struct sgx_vepc *v = vma->private_data;

	pthread_mutex_lock(&v->lock);
	lib_list_add_tail(&vma->mapping_link, &v->vmas);
	pthread_mutex_unlock(&v->lock);
}

static void sgx_vepc_vma_close(struct vma *vma)
{
	struct sgx_vepc *v = vma->private_data;

	/*
	 * exit_mmap() here frees the VMAs (the last may release the vEPC)
	 * before the page tables; Linux unmaps first. Take the PTEs, and their
	 * references on EPC pages, away now, so release finds every page
	 * unmapped. After munmap there is nothing left to zap.
	 */
	mm_zap_range(vma->mm, vma_start(vma), vma_end(vma), false);
	pthread_mutex_lock(&v->lock);
	lib_list_del(&vma->mapping_link);
	pthread_mutex_unlock(&v->lock);
}

static const struct vm_ops sgx_vepc_vm_ops = {
	.name = "sgx_vepc",
	.fault = sgx_vepc_fault,
	.open = sgx_vepc_vma_open,
	.close = sgx_vepc_vma_close,
};

bool sgx_vepc_vma(const struct vma *vma)
{
	return vma && vma->ops == &sgx_vepc_vm_ops;
}

int sgx_vepc_bind(struct vma *vma, struct sgx_epc_charge *c)
{
	struct sgx_vepc *v = vma->private_data;
	int ret = 0;

	pthread_mutex_lock(&v->lock);
	if (v->charge && v->charge != c) {
		ret = -EBUSY;
	} else if (!v->charge) {
		if (sgx_epc_try_charge(c, v->pages.count - v->nr_evicted)) {
			sgx_epc_charge_get(c);
			v->charge = c;
		} else {
			ret = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&v->lock);
	return ret;
}

/* sgx_vepc_mmap(): MAP_SHARED only; a PFN map that fork does not copy. */
static int sgx_vepc_mmap(struct mv_task *t, struct file *f, struct vma *vma)
{
	(void)t;
	if (!(vma->flags & VM_SHARED))
		return -EINVAL;
	vma->flags |= VM_PFNMAP | VM_IO | VM_DONTDUMP | VM_DONTCOPY;
	vma->ops = &sgx_vepc_vm_ops;
	vma->private_data = f->private_data;
	sgx_vepc_vma_open(vma);
	return 0;
}

/* ---- EREMOVE and freeing ---- */

/*
 * sgx_vepc_free_page(): EREMOVE the page (the guest may have left anything
 * in it; a second EREMOVE is harmless) and give it back. 0 or the SGX_*
 * code that kept it (SGX_CHILD_PRESENT for a SECS with children).
 */
static long sgx_vepc_free_page(struct kernel *k, uint64_t pa)
{
	struct hw_epc *epc = k->hw->epc;
	long ret = hw_sgx_eremove(epc, pa);

	if (ret)
		return ret;
	/* A page something still maps (a PTE, an EPT leaf) is not given away. */
	if (hw_folio_refcount(k->hw, pa >> HW_PAGE_SHIFT) != 1)
		return SGX_ENCLAVE_ACT;
	if (hw_epc_free_page(epc, pa))
		return SGX_ENCLAVE_ACT;
	__atomic_fetch_sub(&k->sgx->nr_vepc_pages, 1, __ATOMIC_RELAXED);
	return 0;
}

/*
 * sgx_vepc_remove_all(): EREMOVE every page, keeping them all in the
 * vEPC. The number of SECS pages that still have children (the VMM calls
 * again once every vEPC was reset), or -EBUSY if a page's enclave has a
 * processor inside.
 */
static long sgx_vepc_remove_all(struct sgx_vepc *v)
{
	struct hw_epc *epc = vepc_epc(v);
	uint64_t index = 0;
	long failures = 0, ret = 0;
	void *item;

	pthread_mutex_lock(&v->lock);
	for (item = lib_radix_find(&v->pages, &index, UINT64_MAX); item;
	     item = lib_radix_find_after(&v->pages, &index, UINT64_MAX)) {
		long r;

		if (!lib_radix_is_value(item)) {   /* evicted by the kernel: forgotten */
			sgx_vepc_drop_evicted(v, item);
			lib_radix_erase(&v->pages, index);
			continue;
		}
		r = hw_sgx_eremove(epc, lib_radix_value(item) << HW_PAGE_SHIFT);
		if (r == SGX_CHILD_PRESENT) {
			failures++;
		} else if (r) {
			ret = -EBUSY;
			break;
		}
	}
	pthread_mutex_unlock(&v->lock);
	return ret ? ret : failures;
}

static long sgx_vepc_ioctl(struct mv_task *t, struct file *f, unsigned int cmd, uint64_t arg)
{
	(void)t;
	if (cmd != SGX_IOC_VEPC_REMOVE_ALL)
		return -ENOTTY;
	if (arg)
		return -EINVAL;
	return sgx_vepc_remove_all(f->private_data);
}

/* ---- release and the zombie list ---- */

/* Appends @pa to the zombie list. Called with zombie_lock held. */
static void sgx_zombie_add_locked(struct sgx_host *s, uint64_t pa)
{
	if (s->nr_zombies == s->cap_zombies) {
		uint64_t cap = s->cap_zombies ? 2 * s->cap_zombies : 16;
		uint64_t *n = lib_realloc(s->zombies, cap * sizeof(*n));

		if (!n)
			return;   /* no memory: the page stays allocated, never reused with its contents */
		s->zombies = n;
		s->cap_zombies = cap;
	}
	s->zombies[s->nr_zombies++] = pa;
}

/*
 * One walk over the page array (lib_radix_erase_range, which costs the
 * entries, not a lookup per page): every page is EREMOVEd and freed; what
 * fails (a SECS whose children come later in the walk, or live in another
 * vEPC) joins the zombies, which the caller retries at once. Called with
 * zombie_lock held.
 */
static void sgx_vepc_release_page(void *item, uint64_t index, void *ctx)
{
	struct sgx_vepc *v = ctx;
	uint64_t pa = lib_radix_value(item) << HW_PAGE_SHIFT;

	(void)index;
	if (!lib_radix_is_value(item)) {
		sgx_vepc_drop_evicted(v, item);
		return;
	}
	if (sgx_vepc_free_page(v->k, pa))
		sgx_zombie_add_locked(v->k->sgx, pa);
}

/*
 * sgx_vepc_release(): the last reference is gone, so no mapping is left.
 * Every page is EREMOVEd and freed; then the zombies (this vEPC's SECS
 * pages that failed, and those of earlier releases, which this release
 * may have unpinned) are retried. Unlike Linux, passes repeat while one
 * frees something, so a SECS whose children went later in the same walk,
 * or a zombie SECS whose zombie children go first, does not wait for yet
 * another release.
 */
static void sgx_vepc_release(struct file *f)
{
	struct sgx_vepc *v = f->private_data;
	struct sgx_host *s = v->k->sgx;
	uint64_t keep;
	bool freed;

	/* evicted pages were uncharged when they went; zombies are the kernel's from here */
	sgx_epc_uncharge(v->charge, v->pages.count - v->nr_evicted);
	sgx_epc_charge_put(v->charge);
	pthread_mutex_lock(&s->zombie_lock);
	lib_radix_erase_range(&v->pages, 0, UINT64_MAX, sgx_vepc_release_page, v);
	sgx_vepc_va_release(v);
	/* until a pass frees nothing: a zombie SECS may follow its zombie children */
	do {
		freed = false;
		keep = 0;
		for (uint64_t i = 0; i < s->nr_zombies; i++) {
			if (!sgx_vepc_free_page(v->k, s->zombies[i])) {
				freed = true;
				continue;
			}
			s->zombies[keep++] = s->zombies[i];
		}
		s->nr_zombies = keep;
	} while (freed);
	pthread_mutex_unlock(&s->zombie_lock);
	lib_radix_destroy(&v->pages);
	pthread_mutex_destroy(&v->lock);
	lib_free(v);
}

static int sgx_vepc_fstat(struct file *f, struct stat *st)
{
	(void)f;
	st->st_mode = S_IFCHR | 0600;
	st->st_nlink = 1;
	st->st_rdev = makedev(10, 125);
	return 0;
}

static const struct file_ops sgx_vepc_fops = {
	.name = "sgx_vepc",
	.mmap = sgx_vepc_mmap,
	.ioctl = sgx_vepc_ioctl,
	.fstat = sgx_vepc_fstat,
	.release = sgx_vepc_release,
};

bool sgx_vepc_file(const struct file *f)
{
	return f && f->ops == &sgx_vepc_fops;
}

/* sgx_vepc_open(): a fresh, empty virtual EPC. */
static long sgx_vepc_open(struct mv_task *t, void *ctx, unsigned int f_flags, struct file **out)
{
	struct sgx_vepc *v = lib_zalloc(sizeof(*v));
	struct file *f;

	(void)ctx;
	if (!v)
		return -ENOMEM;
	v->k = t->k;
	lib_radix_init(&v->pages);
	lib_list_init(&v->vmas);
	if (pthread_mutex_init(&v->lock, NULL)) {
		lib_free(v);
		return -ENOMEM;
	}
	f = file_alloc(t->k, &sgx_vepc_fops, f_flags, v);
	if (lib_is_err(f)) {
		pthread_mutex_destroy(&v->lock);
		lib_free(v);
		return lib_ptr_err(f);
	}
	f->ino = (uint64_t)(uintptr_t)ctx;
	*out = f;
	return 0;
}

int sgx_vepc_init(struct kernel *k)
{
	struct sgx_host *s;
	void *ino;
	int ret;

	k->sgx = NULL;
	if (!k->hw->epc)
		return 0;
	s = lib_zalloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (pthread_mutex_init(&s->zombie_lock, NULL)) {
		lib_free(s);
		return -ENOMEM;
	}
	k->sgx = s;
	ino = (void *)(uintptr_t)kernel_alloc_ino(k);
	ret = kernel_register_device(k, "/dev/sgx_vepc", sgx_vepc_open, ino);
	if (!ret && k->hw->cfg.abi == MV_ABI_SEED)
		ret = kernel_register_device(k, "/dev/sgx_virt_epc", sgx_vepc_open, ino);
	if (ret)
		sgx_vepc_fini(k);
	return ret;
}

void sgx_vepc_fini(struct kernel *k)
{
	struct sgx_host *s = k->sgx;

	if (!s)
		return;
	pthread_mutex_destroy(&s->zombie_lock);
	lib_free(s->zombies);
	lib_free(s);
	k->sgx = NULL;
}

uint64_t sgx_vepc_nr_zombies(struct kernel *k)
{
	uint64_t n;

	if (!k->sgx)
		return 0;
	pthread_mutex_lock(&k->sgx->zombie_lock);
	n = k->sgx->nr_zombies;
	pthread_mutex_unlock(&k->sgx->zombie_lock);
	return n;
}

long sgx_vepc_lookup(struct mv_task *t, int fd, uint64_t index, uint64_t *pa)
{
	struct file *f = fd_get(t, fd);
	struct sgx_vepc *v;
	void *item;
	long ret = -ENOENT;

	if (!f)
		return -EBADF;
	if (!sgx_vepc_file(f)) {
		file_put(f);
		return -EINVAL;
	}
	v = f->private_data;
	pthread_mutex_lock(&v->lock);
	item = lib_radix_lookup(&v->pages, index);
	if (item) {
		*pa = lib_radix_value(item) << HW_PAGE_SHIFT;
		ret = 0;
	}
	pthread_mutex_unlock(&v->lock);
	file_put(f);
	return ret;
}
