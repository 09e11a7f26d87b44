/* SPDX-License-Identifier: MIT */
/*
 * guest_memfd's machine-wide state: page accounting and a model of the
 * host kernel's direct map, the kernel mapping of all RAM that confidential
 * guests need private pages removed from (SEV-SNP's RMP, TDX).
 *
 * The direct map starts as one 2 MiB entry per 2 MiB of RAM. A private
 * folio of 2 MiB is removed with its whole entry; a private 4 KiB page
 * forces its 2 MiB entry to be split into 4 KiB entries first. Only when a
 * whole 2 MiB range is freed at once (a 2 MiB folio) can its 2 MiB entry
 * come back; pages freed one by one
 * leave the entry split, because the host may already have reused some of
 * them (the argument of the seed reply).
 *
 * Regions that are not intact are kept in a radix tree keyed by 2 MiB
 * region number: the value packs the state and the count of private pages.
 * Locking: host->lock, a leaf lock (taken under gmem->lock).
 */
#include <string.h>

#include "kernel/guest_memfd.h"
#include "lib/alloc.h"

#define DMAP_REMOVED_2M 1u   /* the 2 MiB entry is gone with a private 2 MiB folio */
#define DMAP_SPLIT      2u   /* 4 KiB entries; some may be private */
#define DMAP_STATE_BITS 2u

struct gmem_host {
	pthread_mutex_t lock;
	struct lib_radix regions;   /* region -> value (count << 2 | state) */
	struct gmem_stats stats;
};

struct gmem_host *gmem_host_get(struct kernel *k)
{
	struct gmem_host *h = __atomic_load_n(&k->gmem, __ATOMIC_ACQUIRE);
	struct gmem_host *expected = NULL;

	if (h)
		return h;
	h = lib_zalloc(sizeof(*h));
	if (!h)
		return lib_err_ptr(-ENOMEM);
	if (pthread_mutex_init(&h->lock, NULL)) {
		lib_free(h);
		return lib_err_ptr(-ENOMEM);
	}
	lib_radix_init(&h->regions);
	h->stats.dmap_2m_entries = k->hw->phys.bytes >> HW_HPAGE_SHIFT;
	if (__atomic_compare_exchange_n(&k->gmem, &expected, h, false, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE))
		return h;
	/* another thread won the race */
	pthread_mutex_destroy(&h->lock);
	lib_free(h);
	return expected;
}

void gmem_host_destroy(struct kernel *k)
{
	struct gmem_host *h = k->gmem;

	if (!h)
		return;
	lib_radix_destroy(&h->regions);
	pthread_mutex_destroy(&h->lock);
	lib_free(h);
	k->gmem = NULL;
}

static void dmap_get(struct gmem_host *h, uint64_t region, unsigned int *state, uint64_t *count)
{
	void *item = lib_radix_lookup(&h->regions, region);
	uint64_t v = item ? lib_radix_value(item) : 0;

	*state = (unsigned int)(v & ((1u << DMAP_STATE_BITS) - 1));
	*count = v >> DMAP_STATE_BITS;
}

/*
 * Records a region's new state (0: intact, dropped from the tree). The tree
 * only grows by one node here; should that allocation fail the region is
 * forgotten, which the model accepts as "intact" (counters stay right).
 * Called with host->lock held.
 */
static void dmap_set(struct gmem_host *h, uint64_t region, unsigned int state, uint64_t count)
{
	if (!state) {
		lib_radix_erase(&h->regions, region);
		return;
	}
	(void)lib_radix_store(&h->regions, region,
			      lib_radix_mkvalue(count << DMAP_STATE_BITS | state));
}

/* Called with host->lock held. */
static void dmap_remove_locked(struct gmem_host *h, hw_pfn_t head, unsigned int order)
{
	uint64_t region = head >> GMEM_HUGE_ORDER, count;
	unsigned int state;

	dmap_get(h, region, &state, &count);
	if (order >= GMEM_HUGE_ORDER) {
		if (!state) {
			h->stats.dmap_2m_entries--;
			state = DMAP_REMOVED_2M;
		}
		dmap_set(h, region, state, GMEM_HUGE_PAGES);
	} else {
		if (!state) {
			h->stats.dmap_2m_entries--;
			h->stats.dmap_4k_splits++;
			state = DMAP_SPLIT;
		}
		dmap_set(h, region, state, count + 1);
	}
	h->stats.dmap_private_pages += 1ull << order;
}

/* Called with host->lock held. */
static void dmap_restore_locked(struct gmem_host *h, hw_pfn_t head, unsigned int order)
{
	uint64_t region = head >> GMEM_HUGE_ORDER, count;
	uint64_t pages = 1ull << order;
	unsigned int state;

	dmap_get(h, region, &state, &count);
	h->stats.dmap_private_pages -= pages;
	count = count > pages ? count - pages : 0;
	if (order >= GMEM_HUGE_ORDER) {
		/* the whole 2 MiB range goes back at once: one 2 MiB entry again */
		h->stats.dmap_2m_entries++;
		h->stats.dmap_restores++;
		dmap_set(h, region, 0, 0);
		return;
	}
	dmap_set(h, region, state, count);
}

void gmem_host_folio_added(struct gmem_host *h, hw_pfn_t head, unsigned int order, bool private)
{
	pthread_mutex_lock(&h->lock);
	h->stats.unmovable_pages += 1ull << order;
	h->stats.unevictable_pages += 1ull << order;
	if (order >= GMEM_HUGE_ORDER)
		h->stats.folios_2m++;
	else
		h->stats.folios_4k++;
	if (private)
		dmap_remove_locked(h, head, order);
	pthread_mutex_unlock(&h->lock);
}

void gmem_host_folio_removed(struct gmem_host *h, hw_pfn_t head, unsigned int order,
			     bool private)
{
	pthread_mutex_lock(&h->lock);
	h->stats.unmovable_pages -= 1ull << order;
	h->stats.unevictable_pages -= 1ull << order;
	if (order >= GMEM_HUGE_ORDER)
		h->stats.folios_2m--;
	else
		h->stats.folios_4k--;
	if (private)
		dmap_restore_locked(h, head, order);
	pthread_mutex_unlock(&h->lock);
}

/* A private 2 MiB folio becomes 512 pages: its range needs 4 KiB entries now. */
void gmem_host_folio_split(struct gmem_host *h, hw_pfn_t head, bool private)
{
	uint64_t region = head >> GMEM_HUGE_ORDER, count;
	unsigned int state;

	pthread_mutex_lock(&h->lock);
	h->stats.folio_splits++;
	h->stats.folios_2m--;
	h->stats.folios_4k += GMEM_HUGE_PAGES;
	if (private) {
		dmap_get(h, region, &state, &count);
		if (state == DMAP_REMOVED_2M)
			h->stats.dmap_4k_splits++;
		dmap_set(h, region, DMAP_SPLIT, count);
	}
	pthread_mutex_unlock(&h->lock);
}

void gmem_host_note(struct gmem_host *h, unsigned int what, uint64_t n)
{
	pthread_mutex_lock(&h->lock);
	if (what == GMEM_NOTE_SPLIT_DEFERRED)
		h->stats.split_deferred += n;
	else if (what == GMEM_NOTE_NOTIFICATION)
		h->stats.notifications += n;
	pthread_mutex_unlock(&h->lock);
}

void gmem_get_stats(struct kernel *k, struct gmem_stats *out)
{
	struct gmem_host *h = __atomic_load_n(&k->gmem, __ATOMIC_ACQUIRE);

	memset(out, 0, sizeof(*out));
	if (!h) {
		out->dmap_2m_entries = k->hw->phys.bytes >> HW_HPAGE_SHIFT;
		return;
	}
	pthread_mutex_lock(&h->lock);
	*out = h->stats;
	pthread_mutex_unlock(&h->lock);
}
