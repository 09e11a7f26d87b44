/* SPDX-License-Identifier: MIT */
/*
 * The EPC: bring-up, abort-page semantics, the EPC page allocator, EREMOVE
 * and the EPCM checks tests use. The leaves that take memory operands are
 * in sgx_encls.c. See hw/sgx.h for the model and its lock.
 */
#include <string.h>
#include <sys/mman.h>

#include "hw/sgx.h"
#include "hw/sgx_internal.h"
#include "lib/alloc.h"
#include "lib/sha256.h"

/* What a non-enclave read of EPC returns: all ones (the abort page). */
static const uint8_t hw_epc_abort_page[HW_PAGE_SIZE] = { [0 ... HW_PAGE_SIZE - 1] = 0xff };

int hw_epc_init(struct hw_machine *m, uint64_t bytes)
{
	struct hw_epc *epc;
	uint64_t n = bytes >> HW_PAGE_SHIFT;

	m->epc = NULL;
	if (!n)
		return 0;
	epc = lib_zalloc(sizeof(*epc));
	if (!epc)
		return -ENOMEM;
	epc->m = m;
	epc->nr_pages = n;
	epc->start = m->phys.bytes;
	epc->end = epc->start + bytes;
	epc->epcm = lib_vzalloc(n, sizeof(*epc->epcm));
	epc->free_stack = lib_vzalloc(n, sizeof(*epc->free_stack));
	epc->sink = lib_zalloc(HW_PAGE_SIZE);
	if (!epc->epcm || !epc->free_stack || !epc->sink || pthread_mutex_init(&epc->lock, NULL))
		goto err_free;
	epc->nr_free = n;
	{
		/* the paging key: from the machine's seed, leaving its PRNG's sequence alone */
		uint8_t in[24] = "memvisor EPC key";

		memcpy(in + 16, &m->cfg.seed, 8);
		sha256(in, sizeof(in), epc->key);
	}
	m->epc = epc;
	return 0;

err_free:
	lib_free(epc->sink);
	lib_vfree(epc->free_stack, n, sizeof(*epc->free_stack));
	lib_vfree(epc->epcm, n, sizeof(*epc->epcm));
	lib_free(epc);
	return -ENOMEM;
}

void hw_epc_fini(struct hw_machine *m)
{
	struct hw_epc *epc = m->epc;

	if (!epc)
		return;
	pthread_mutex_destroy(&epc->lock);
	lib_free(epc->sink);
	lib_vfree(epc->free_stack, epc->nr_pages, sizeof(*epc->free_stack));
	lib_vfree(epc->epcm, epc->nr_pages, sizeof(*epc->epcm));
	lib_free(epc);
	m->epc = NULL;
}

void hw_epc_abort_xlate(struct hw_machine *m, uint64_t pa, unsigned int type,
			struct hw_xlate *out)
{
	const uint8_t *page = type == HW_ACC_WRITE ? m->epc->sink : hw_epc_abort_page;

	*out = (struct hw_xlate){ .pa = pa, .host = (void *)(uintptr_t)(page + (pa & ~HW_PAGE_MASK)) };
}

uint8_t *hw_epc_host(struct hw_epc *epc, uint64_t idx)
{
	return hw_pa_to_host(epc->m, hw_epc_pa(epc, idx));
}

/* ---- allocator ---- */

int hw_epc_alloc_page(struct hw_epc *epc, uint64_t *pa)
{
	uint32_t idx;

	pthread_mutex_lock(&epc->lock);
	if (!epc->nr_free) {
		epc->stats.alloc_failures++;
		pthread_mutex_unlock(&epc->lock);
		return -ENOMEM;
	}
	if (epc->nr_stacked) {
		idx = epc->free_stack[--epc->nr_stacked];
	} else {
		/* first use: low end first; the frame gets its permanent reference */
		hw_pfn_t pfn = (epc->start >> HW_PAGE_SHIFT) + epc->carve;

		idx = (uint32_t)epc->carve++;
		WRITE_ONCE(epc->m->phys.frames[pfn].flags, HW_FRAME_RESERVED | HW_FRAME_HEAD);
		__atomic_store_n(&epc->m->phys.frames[pfn].refcount, 1, __ATOMIC_RELEASE);
	}
	WRITE_ONCE(epc->nr_free, epc->nr_free - 1);
	epc->epcm[idx].allocated = 1;
	epc->stats.allocs++;
	pthread_mutex_unlock(&epc->lock);
	*pa = hw_epc_pa(epc, idx);
	return 0;
}

int hw_epc_free_page(struct hw_epc *epc, uint64_t pa)
{
	struct hw_epcm_entry *e;
	uint64_t idx;

	if (!hw_pa_is_epc(epc->m, pa) || (pa & ~HW_PAGE_MASK))
		return -EINVAL;
	idx = hw_epc_index(epc, pa);
	pthread_mutex_lock(&epc->lock);
	e = &epc->epcm[idx];
	if (!e->allocated) {
		pthread_mutex_unlock(&epc->lock);
		return -EINVAL;
	}
	if (e->valid) {
		pthread_mutex_unlock(&epc->lock);
		return -EBUSY;
	}
	e->allocated = 0;
	epc->free_stack[epc->nr_stacked++] = (uint32_t)idx;
	WRITE_ONCE(epc->nr_free, epc->nr_free + 1);
	epc->stats.frees++;
	pthread_mutex_unlock(&epc->lock);
	return 0;
}

uint64_t hw_epc_nr_free(const struct hw_epc *epc)
{
	return epc ? READ_ONCE(epc->nr_free) : 0;
}

/* ---- EREMOVE ---- */

/*
 * EREMOVE (SDM 40.x): an invalid page is a no-op success; a SECS with
 * children is SGX_CHILD_PRESENT; a page of an enclave a processor is
 * inside is SGX_ENCLAVE_ACT; otherwise the entry goes, its SECS loses a
 * child, and the page's contents are gone. Called with epc->lock held.
 */
long hw_sgx_eremove_locked(struct hw_epc *epc, uint64_t idx)
{
	struct hw_epcm_entry *e = &epc->epcm[idx];

	epc->stats.eremoves++;
	if (!e->valid)
		return SGX_SUCCESS;
	if (e->type == SGX_PAGE_TYPE_SECS && e->children) {
		epc->stats.eremove_failures++;
		return SGX_CHILD_PRESENT;
	}
	if (e->type != SGX_PAGE_TYPE_SECS && e->type != SGX_PAGE_TYPE_VA &&
	    epc->epcm[e->secs].threads) {
		epc->stats.eremove_failures++;
		return SGX_ENCLAVE_ACT;
	}
	if (e->type != SGX_PAGE_TYPE_SECS && e->type != SGX_PAGE_TYPE_VA)
		epc->epcm[e->secs].children--;
	memset(hw_epc_host(epc, idx), 0, HW_PAGE_SIZE);
	*e = (struct hw_epcm_entry){ .allocated = e->allocated };
	return SGX_SUCCESS;
}

long hw_sgx_eremove(struct hw_epc *epc, uint64_t pa)
{
	long ret;

	if (pa & ~HW_PAGE_MASK)
		return -EFAULT;   /* #GP(0) */
	if (!hw_pa_is_epc(epc->m, pa))
		return -EFAULT;   /* #PF */
	pthread_mutex_lock(&epc->lock);
	epc->stats.encls[SGX_EREMOVE]++;
	ret = hw_sgx_eremove_locked(epc, hw_epc_index(epc, pa));
	pthread_mutex_unlock(&epc->lock);
	return ret;
}

/* ---- inspection ---- */

int hw_epcm_get(struct hw_epc *epc, uint64_t pa, struct hw_epcm_entry *out)
{
	if (!epc || !hw_pa_is_epc(epc->m, pa))
		return -EINVAL;
	pthread_mutex_lock(&epc->lock);
	*out = epc->epcm[hw_epc_index(epc, pa)];
	pthread_mutex_unlock(&epc->lock);
	return 0;
}

int hw_epc_set_threads(struct hw_epc *epc, uint64_t secs_pa, uint32_t n)
{
	struct hw_epcm_entry *e;
	int ret = -EINVAL;

	if (!epc || !hw_pa_is_epc(epc->m, secs_pa))
		return -EINVAL;
	pthread_mutex_lock(&epc->lock);
	e = &epc->epcm[hw_epc_index(epc, secs_pa)];
	if (e->valid && e->type == SGX_PAGE_TYPE_SECS) {
		e->threads = n;
		ret = 0;
	}
	pthread_mutex_unlock(&epc->lock);
	return ret;
}

int hw_epc_mrenclave(struct hw_epc *epc, uint64_t secs_pa, uint8_t out[32])
{
	const struct hw_epcm_entry *e;
	uint64_t idx;
	int ret = -EINVAL;

	if (!epc || !hw_pa_is_epc(epc->m, secs_pa))
		return -EINVAL;
	idx = hw_epc_index(epc, secs_pa);
	pthread_mutex_lock(&epc->lock);
	e = &epc->epcm[idx];
	if (e->valid && e->type == SGX_PAGE_TYPE_SECS && e->initialized) {
		const struct sgx_secs *secs = (const void *)hw_epc_host(epc, idx);

		memcpy(out, secs->mrenclave, 32);
		ret = 0;
	}
	pthread_mutex_unlock(&epc->lock);
	return ret;
}

/* Whole words, no early exit: the checker runs after every fuzzed step. */
static bool hw_page_is_zero(const uint8_t *p)
{
	uint64_t any = 0;

	for (size_t i = 0; i < HW_PAGE_SIZE; i += sizeof(uint64_t)) {
		uint64_t w;

		memcpy(&w, p + i, sizeof(w));
		any |= w;
	}
	return !any;
}

/* Called with epc->lock held: counts each SECS's valid children into @kids. */
static int hw_epc_check_children_locked(struct hw_epc *epc, uint32_t *kids)
{
	for (uint64_t i = 0; i < epc->nr_pages; i++) {
		const struct hw_epcm_entry *e = &epc->epcm[i];

		if (!e->valid || e->type == SGX_PAGE_TYPE_SECS || e->type == SGX_PAGE_TYPE_VA)
			continue;
		if (e->secs >= epc->nr_pages || !epc->epcm[e->secs].valid ||
		    epc->epcm[e->secs].type != SGX_PAGE_TYPE_SECS)
			return -EUCLEAN;
		kids[e->secs]++;
	}
	return 0;
}

int hw_epc_check(struct hw_epc *epc)
{
	uint32_t *kids;
	uint64_t nfree;
	int ret;

	if (!epc)
		return 0;
	kids = lib_calloc(epc->nr_pages, sizeof(*kids));
	if (!kids)
		return -ENOMEM;
	pthread_mutex_lock(&epc->lock);
	ret = hw_epc_check_children_locked(epc, kids);
	/* Pages never carved were never handed out: free, invalid and unread. */
	for (uint64_t i = epc->carve; !ret && i < epc->nr_pages; i++)
		if (epc->epcm[i].valid || epc->epcm[i].allocated)
			ret = -EUCLEAN;
	nfree = epc->nr_pages - epc->carve;
	for (uint64_t i = 0; !ret && i < epc->carve; i++) {
		const struct hw_epcm_entry *e = &epc->epcm[i];

		if (e->valid && e->type == SGX_PAGE_TYPE_SECS && e->children != kids[i] + e->evicted)
			ret = -EUCLEAN;
		if (!e->allocated) {
			nfree++;
			if (e->valid || !hw_page_is_zero(hw_epc_host(epc, i)))
				ret = -EUCLEAN;
		}
	}
	if (!ret && nfree != epc->nr_free)
		ret = -EUCLEAN;
	pthread_mutex_unlock(&epc->lock);
	lib_free(kids);
	return ret;
}
