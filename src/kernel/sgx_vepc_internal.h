/* SPDX-License-Identifier: MIT */
/* Between sgx_vepc.c and sgx_reclaim.c only: the vEPC file's insides. */
#ifndef MV_KERNEL_SGX_VEPC_INTERNAL_H
#define MV_KERNEL_SGX_VEPC_INTERNAL_H

#include "hw/sgx.h"
#include "kernel/kernel.h"
#include "kernel/sgx_vepc.h"
#include "lib/list.h"
#include "lib/radix.h"

#define SGX_VA_SLOTS 512          /* 8-byte slots in a VA page */

/* A page the kernel evicted from a vEPC (host-side oversubscription, sgx_reclaim.c). */
struct sgx_evicted {
	struct hw_epc_blob blob;
	uint64_t slot_pa;             /* its VA slot */
};

/*
 * A vEPC. Everything below is covered by lock, which ranks right after
 * mm->mmap_lock (the fault path takes it there, and eviction zaps the
 * vEPC's mappings under it, as the page cache does under mapping->lock).
 */
struct sgx_vepc {
	struct kernel *k;
	pthread_mutex_t lock;
	/* file page index -> value(EPC pfn) when resident, struct sgx_evicted * when evicted */
	struct lib_radix pages;
	struct sgx_epc_charge *charge;   /* the VM this vEPC backs, or NULL */
	struct lib_list vmas;            /* the VMAs mapping it (vma->mapping_link) */
	/* reclaim: the VA pages the kernel made for this vEPC and their free slots */
	uint64_t *va_pa;
	uint32_t nr_va;
	uint64_t *free_slots;            /* SGX_VA_SLOTS * nr_va entries, nr_free_slots used */
	uint64_t nr_free_slots;
	uint64_t nr_evicted;
	uint64_t hand;                   /* where the next victim search starts */
};

bool sgx_epc_try_charge(struct sgx_epc_charge *c, uint64_t n);
void sgx_epc_uncharge(struct sgx_epc_charge *c, uint64_t n);

static inline bool sgx_vepc_reclaimable(const struct sgx_vepc *v)
{
	return v->charge && __atomic_load_n(&v->charge->reclaim, __ATOMIC_RELAXED);
}

/* sgx_reclaim.c; all called with v->lock held, @mm's mmap_lock held for read where named. */
/* Evicts one resident page of @v other than @except: 0, or -ENOMEM when none could go. */
int sgx_vepc_reclaim_one(struct sgx_vepc *v, struct mm *mm, uint64_t except);
/* Keeps a VA slot for every page @v holds, plus one (may reclaim for a VA page). */
void sgx_vepc_va_reserve(struct sgx_vepc *v, struct mm *mm, uint64_t except);
/* ELDU of @ev into the fresh EPC page @pa; frees @ev on success. 0 or -EIO. */
int sgx_vepc_reload(struct sgx_vepc *v, struct sgx_evicted *ev, uint64_t pa);
/* The vEPC lets go of an evicted page (REMOVE_ALL, release): its SECS forgets it. */
void sgx_vepc_drop_evicted(struct sgx_vepc *v, struct sgx_evicted *ev);
/* Release: the VA pages go back to the EPC. */
void sgx_vepc_va_release(struct sgx_vepc *v);

#endif
