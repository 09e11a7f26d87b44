/* SPDX-License-Identifier: MIT */
/*
 * Simulated RAM and its buddy allocator.
 *
 * Free blocks of order 0..HW_MAX_ORDER sit on per-order doubly linked lists
 * threaded through hw_frame.buddy as 32-bit pfns (pfn 0 is reserved, so 0
 * ends a list). RAM above phys.carve_pfn has never been handed out: it is
 * free but on no list, and is carved into max-order blocks on demand, so a
 * large machine touches no metadata for memory it never uses.
 *
 * A free block head may carry HW_FRAME_ZEROED: its host pages were dropped
 * (or never touched) and read back as zero, so HW_ALLOC_ZERO costs nothing.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hw/phys.h"
#include "hw/mte.h"
#include "lib/alloc.h"

_Static_assert(sizeof(struct hw_frame) == 16, "per-frame metadata must stay 16 bytes");
_Static_assert(2 * HW_PAGE_SIZE / sizeof(struct hw_frame) == 1u << HW_MAX_ORDER,
	       "a 2 MiB block's metadata is two host pages (hw_meta_drop)");

static inline uint32_t hw_order_bits(unsigned int order)
{
	return (uint32_t)order << HW_FRAME_ORDER_SHIFT;
}

static void hw_free_list_add(struct hw_phys *p, hw_pfn_t pfn, unsigned int order, bool zeroed)
{
	struct hw_frame *f = &p->frames[pfn];
	uint32_t head = p->free_head[order];

	WRITE_ONCE(f->flags, HW_FRAME_FREE | hw_order_bits(order) | (zeroed ? HW_FRAME_ZEROED : 0));
	if (!zeroed)
		p->free_kept_frames += 1ull << order;
	f->refcount = 0;
	f->buddy.prev = 0;
	f->buddy.next = head;
	if (head)
		p->frames[head].buddy.prev = (uint32_t)pfn;
	p->free_head[order] = (uint32_t)pfn;
	p->nr_free[order]++;
}

static void hw_free_list_del(struct hw_phys *p, hw_pfn_t pfn, unsigned int order)
{
	struct hw_frame *f = &p->frames[pfn];

	if (!(READ_ONCE(f->flags) & HW_FRAME_ZEROED))
		p->free_kept_frames -= 1ull << order;
	if (f->buddy.prev)
		p->frames[f->buddy.prev].buddy.next = f->buddy.next;
	else
		p->free_head[order] = f->buddy.next;
	if (f->buddy.next)
		p->frames[f->buddy.next].buddy.prev = f->buddy.prev;
	WRITE_ONCE(f->flags, 0);
	f->buddy.next = f->buddy.prev = 0;
	p->nr_free[order]--;
}

static void hw_host_drop(struct hw_phys *p, hw_pfn_t pfn, unsigned int order)
{
	/* Private anonymous memory reads back as zero after MADV_DONTNEED. */
	(void)madvise(p->base + (pfn << HW_PAGE_SHIFT), HW_PAGE_SIZE << order, MADV_DONTNEED);
}

/*
 * A free block as large as it can become: 2 MiB, or in the first 2 MiB
 * (whose pfn 0 is reserved) the block [2^order, 2^(order+1)), which can
 * never merge with its buddy.
 */
static bool hw_block_whole(hw_pfn_t pfn, unsigned int order)
{
	return order == HW_MAX_ORDER || pfn == (1ull << order);
}

/*
 * The metadata of a returned 2 MiB block's upper half: 256 tail frames on
 * one host page of their own, all zero while the block is free (the head
 * and its links live on the first page, which stays).
 */
static void hw_meta_drop(struct hw_phys *p, hw_pfn_t pfn, unsigned int order)
{
	uint64_t per_page = HW_PAGE_SIZE / sizeof(struct hw_frame);

	if (order != HW_MAX_ORDER)
		return;
	(void)madvise(&p->frames[pfn + per_page], HW_PAGE_SIZE, MADV_DONTNEED);
}

int hw_phys_init(struct hw_phys *p, uint64_t bytes, uint64_t epc_bytes,
		 uint64_t resident_cap_bytes)
{
	size_t meta;

	memset(p, 0, sizeof(*p));
	p->bytes = bytes;
	p->epc_frames = epc_bytes >> HW_PAGE_SHIFT;
	p->resident_cap_frames = resident_cap_bytes >> HW_PAGE_SHIFT;
	p->nr_frames = bytes >> HW_PAGE_SHIFT;
	p->base = mmap(NULL, bytes + epc_bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p->base == MAP_FAILED)
		goto err;
	meta = (p->nr_frames + p->epc_frames) * sizeof(struct hw_frame);
	p->frames = mmap(NULL, meta, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p->frames == MAP_FAILED)
		goto err_unmap_ram;
	if (pthread_mutex_init(&p->lock, NULL))
		goto err_unmap_meta;

	WRITE_ONCE(p->frames[0].flags, HW_FRAME_RESERVED);
	/* The first max-order block minus pfn 0: one block of each smaller order. */
	for (unsigned int order = 0; order < HW_MAX_ORDER; order++)
		hw_free_list_add(p, 1ull << order, order, true);
	p->carve_pfn = 1ull << HW_MAX_ORDER;
	p->free_frames = p->nr_frames - 1;
	return 0;

err_unmap_meta:
	munmap(p->frames, meta);
err_unmap_ram:
	munmap(p->base, bytes + epc_bytes);
err:
	p->base = NULL;
	p->frames = NULL;
	return -ENOMEM;
}

void hw_phys_fini(struct hw_phys *p)
{
	if (!p->base)
		return;
	pthread_mutex_destroy(&p->lock);
	munmap(p->frames, (p->nr_frames + p->epc_frames) * sizeof(struct hw_frame));
	munmap(p->base, p->bytes + (p->epc_frames << HW_PAGE_SHIFT));
	p->base = NULL;
	p->frames = NULL;
}

/* Takes a free block of at least @order off the lists (or carves one). Locked. */
static int hw_take_block_locked(struct hw_phys *p, unsigned int order, hw_pfn_t *pfn,
				unsigned int *got, bool *zeroed)
{
	for (unsigned int o = order; o <= HW_MAX_ORDER; o++) {
		uint32_t head = p->free_head[o];

		if (!head)
			continue;
		*zeroed = READ_ONCE(p->frames[head].flags) & HW_FRAME_ZEROED;
		hw_free_list_del(p, head, o);
		*pfn = head;
		*got = o;
		return 0;
	}
	if (p->carve_pfn + (1ull << HW_MAX_ORDER) > p->nr_frames)
		return -ENOMEM;
	*pfn = p->carve_pfn;
	*got = HW_MAX_ORDER;
	*zeroed = true;
	p->carve_pfn += 1ull << HW_MAX_ORDER;
	return 0;
}

/* Fresh metadata for an allocated frame; see hw_frames_alloc for the atomic flags. */
static void hw_frame_init(struct hw_frame *f, uint32_t flags)
{
	f->refcount = 0;
	f->buddy.next = f->buddy.prev = 0;   /* and use.mapcount / use.private */
	WRITE_ONCE(f->flags, flags);
}

int hw_frames_alloc(struct hw_machine *m, unsigned int order, unsigned int alloc_flags,
		    uint32_t frame_flags, hw_pfn_t *pfn)
{
	struct hw_phys *p = &m->phys;
	unsigned int got;
	hw_pfn_t block;
	bool zeroed;
	int ret;

	if (order > HW_MAX_ORDER || (alloc_flags & ~HW_ALLOC_ZERO) ||
	    (frame_flags & (HW_FRAME_FREE | HW_FRAME_HEAD | HW_FRAME_TAIL | HW_FRAME_ZEROED |
			    (0xfu << HW_FRAME_ORDER_SHIFT))))
		return -EINVAL;

	pthread_mutex_lock(&p->lock);
	ret = lib_fail_now() ? -ENOMEM : hw_take_block_locked(p, order, &block, &got, &zeroed);
	if (ret) {
		p->stats.alloc_failures++;
		pthread_mutex_unlock(&p->lock);
		return ret;
	}
	while (got > order) {
		got--;
		hw_free_list_add(p, block + (1ull << got), got, zeroed);
		p->stats.splits++;
	}
	p->free_frames -= 1ull << order;
	p->stats.allocs++;
	if ((alloc_flags & HW_ALLOC_ZERO) && !zeroed)
		p->stats.zeroed_bytes += HW_PAGE_SIZE << order;
	pthread_mutex_unlock(&p->lock);

	/*
	 * The block is ours now: contents need no lock. Flags are stored
	 * atomically: a neighbour's free reads them (its buddy check) under
	 * the lock we no longer hold.
	 */
	for (uint64_t i = 1; i < (1ull << order); i++)
		hw_frame_init(&p->frames[block + i], HW_FRAME_TAIL | hw_order_bits(order));
	hw_frame_init(&p->frames[block], HW_FRAME_HEAD | frame_flags | hw_order_bits(order));
	__atomic_store_n(&p->frames[block].refcount, 1, __ATOMIC_RELEASE);

	/*
	 * A block that is not known to be zero is a kept one: resident, so it
	 * is zeroed in place. Dropping its host pages instead (MADV_DONTNEED)
	 * would make every frame's first touch a host page fault, which costs
	 * ten times the memset on a host where a fault traps to a hypervisor.
	 */
	if ((alloc_flags & HW_ALLOC_ZERO) && !zeroed)
		memset(hw_pfn_to_host(m, block), 0, HW_PAGE_SIZE << order);
	*pfn = block;
	return 0;
}

void hw_frames_free(struct hw_machine *m, hw_pfn_t pfn, unsigned int order)
{
	struct hw_phys *p = &m->phys;
	bool zeroed = false;

	if (!hw_pfn_valid(m, pfn) || order > HW_MAX_ORDER || (pfn & ((1ull << order) - 1)))
		return;
	for (uint64_t i = 1; i < (1ull << order); i++)
		WRITE_ONCE(p->frames[pfn + i].flags, 0);

	pthread_mutex_lock(&p->lock);
	WRITE_ONCE(p->frames[pfn].flags, 0);
	p->free_frames += 1ull << order;
	p->stats.frees++;
	while (order < HW_MAX_ORDER) {
		hw_pfn_t buddy = pfn ^ (1ull << order);
		uint32_t bflags;

		if (buddy >= p->carve_pfn)
			break;
		/* Owners may touch an allocated head's flags without our lock. */
		bflags = READ_ONCE(p->frames[buddy].flags);
		if ((bflags & ~HW_FRAME_ZEROED) != (HW_FRAME_FREE | hw_order_bits(order)))
			break;
		zeroed = zeroed && (bflags & HW_FRAME_ZEROED);
		hw_free_list_del(p, buddy, order);
		pfn &= ~(1ull << order);
		order++;
		p->stats.merges++;
	}
	/*
	 * Past the resident cap, a whole free 2 MiB block goes back to the
	 * host; below it the block stays resident so the next allocation
	 * does not pay host page faults again. Done under the lock: the
	 * block must not be handed out while its pages are being dropped.
	 */
	if (hw_block_whole(pfn, order) && !zeroed &&
	    p->free_kept_frames + (1ull << order) > p->resident_cap_frames) {
		hw_host_drop(p, pfn, order);
		hw_meta_drop(p, pfn, order);
		zeroed = true;
		if (order == HW_MAX_ORDER)
			p->returned_blocks++;
	}
	hw_free_list_add(p, pfn, order, zeroed);
	pthread_mutex_unlock(&p->lock);
}

/*
 * Resident bytes of [base, base + len) by mincore, in bounded chunks; one
 * vector entry per host page, whatever size the host's pages are.
 */
static uint64_t hw_host_resident(void *base, uint64_t len)
{
	unsigned char vec[4096];
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t host_pg = pg > 0 ? (uint64_t)pg : HW_PAGE_SIZE;
	uint64_t chunk = sizeof(vec) * host_pg, n = 0;

	for (uint64_t off = 0; off < len; off += chunk) {
		uint64_t l = len - off < chunk ? len - off : chunk;
		uint64_t pages = (l + host_pg - 1) / host_pg;

		if (mincore((uint8_t *)base + off, l, vec))
			continue;
		memset(vec + pages, 0, (-pages) & 7);   /* whole words below */
		for (uint64_t i = 0; i < pages; i += 8) {
			uint64_t w;

			memcpy(&w, vec + i, sizeof(w));
			n += (uint64_t)__builtin_popcountll(w & 0x0101010101010101ull);
		}
	}
	return n * host_pg;
}

void hw_phys_host_usage(struct hw_machine *m, struct hw_host_usage *out)
{
	struct hw_phys *p = &m->phys;
	uint64_t meta = (p->nr_frames * sizeof(struct hw_frame) + HW_PAGE_SIZE - 1) & HW_PAGE_MASK;

	out->ram_resident_bytes = hw_host_resident(p->base, p->bytes);
	out->meta_resident_bytes = hw_host_resident(p->frames, meta);
	out->tag_resident_bytes = m->mte_tags ?
		hw_host_resident(m->mte_tags, p->nr_frames * HW_MTE_BYTES_PER_PAGE) : 0;
	pthread_mutex_lock(&p->lock);
	out->free_kept_bytes = p->free_kept_frames << HW_PAGE_SHIFT;
	pthread_mutex_unlock(&p->lock);
}

hw_pfn_t hw_folio_head(const struct hw_machine *m, hw_pfn_t pfn)
{
	const struct hw_frame *f = hw_frame(m, pfn);

	if (!(READ_ONCE(f->flags) & HW_FRAME_TAIL))
		return pfn;
	return pfn & ~((1ull << hw_frame_order(f)) - 1);
}

void hw_folio_get(struct hw_machine *m, hw_pfn_t pfn)
{
	__atomic_fetch_add(&hw_frame(m, hw_folio_head(m, pfn))->refcount, 1, __ATOMIC_RELAXED);
}

void hw_folio_put(struct hw_machine *m, hw_pfn_t pfn)
{
	hw_pfn_t head = hw_folio_head(m, pfn);
	struct hw_frame *f = hw_frame(m, head);

	if (__atomic_sub_fetch(&f->refcount, 1, __ATOMIC_ACQ_REL) == 0)
		hw_frames_free(m, head, hw_frame_order(f));
}

uint32_t hw_folio_refcount(const struct hw_machine *m, hw_pfn_t pfn)
{
	return __atomic_load_n(&hw_frame(m, hw_folio_head(m, pfn))->refcount, __ATOMIC_ACQUIRE);
}

/*
 * The MTE bits are each frame's own (hw/mte.h): a split must neither lose
 * a frame's nor give a tail the head's, which would publish a tail's
 * never-cleared tags as valid.
 */
#define HW_FRAME_PER_FRAME (HW_FRAME_TAGGED | HW_FRAME_MTE_LOCK)

static void hw_frame_set_shared_flags(struct hw_frame *f, uint32_t flags)
{
	uint32_t old = READ_ONCE(f->flags);

	while (!__atomic_compare_exchange_n(&f->flags, &old,
					    (old & HW_FRAME_PER_FRAME) | (flags & ~HW_FRAME_PER_FRAME),
					    true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

void hw_folio_split(struct hw_machine *m, hw_pfn_t head)
{
	struct hw_frame *h = hw_frame(m, head);
	unsigned int order = hw_frame_order(h);
	uint32_t flags = READ_ONCE(h->flags) & ~(0xfu << HW_FRAME_ORDER_SHIFT);

	if (!(flags & HW_FRAME_HEAD))
		return;
	hw_frame_set_shared_flags(h, flags);
	__atomic_store_n(&h->refcount, 1, __ATOMIC_RELEASE);
	for (uint64_t i = 1; i < (1ull << order); i++) {
		struct hw_frame *t = hw_frame(m, head + i);

		hw_frame_set_shared_flags(t, flags);
		__atomic_store_n(&t->refcount, 1, __ATOMIC_RELEASE);
	}
}

uint64_t hw_phys_free_frames(struct hw_machine *m)
{
	uint64_t n;

	pthread_mutex_lock(&m->phys.lock);
	n = m->phys.free_frames;
	pthread_mutex_unlock(&m->phys.lock);
	return n;
}
