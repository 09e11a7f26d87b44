/* SPDX-License-Identifier: MIT */
/*
 * SGX in the machine: the EPC, its EPCM and the ENCLS leaves.
 *
 * The EPC is a physical range of its own right above RAM
 * ([epc_start, epc_end)); its bytes live in the phys host mapping after
 * RAM's and its frames have metadata after RAM's (hw/phys.h), marked
 * HW_FRAME_RESERVED: the buddy allocator never hands them out. Every EPC
 * frame carries one permanent reference, so mappings that count
 * references (page tables, EPT leaves) may take and drop theirs without
 * ever freeing an EPC page: only hw_epc_free_page() returns one to the
 * EPC allocator (Linux's sgx_free_epc_page()).
 *
 * Each EPC page has an EPCM entry (SDM vol. 3D 34.5): valid, type, owning
 * SECS, enclave linear address, R/W/X, pending/modified/permission-
 * restricted; a SECS entry also counts its children and the logical
 * processors inside the enclave. Enclave entry (EENTER) is not modelled,
 * so "a thread inside" is a count that tests set (hw_epc_set_threads).
 *
 * Every access that is not ENCLS sees abort-page semantics: reads give all
 * ones, writes are dropped (hw_epc_abort_xlate, called by the MMU).
 *
 * Locking: epc->lock (a leaf: nothing is taken under it and nothing that
 * waits for access brackets runs under it) covers the EPCM, the EPC
 * contents and the free-page stack. ENCLS may run inside an access
 * bracket and takes it there. nr_free is also read without the lock
 * (READ_ONCE) for statistics.
 */
#ifndef MV_HW_SGX_H
#define MV_HW_SGX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <memvisor/uapi/sgx.h>

#include "hw/cpu.h"
#include "hw/phys.h"

/* EPCM entry state bits */
#define HW_EPCM_PENDING  (1u << 0)   /* EAUG'd, not yet EACCEPTed */
#define HW_EPCM_MODIFIED (1u << 1)   /* EMODT'd, not yet EACCEPTed */
#define HW_EPCM_PR       (1u << 2)   /* EMODPR'd, not yet EACCEPTed */

struct hw_epcm_entry {
	uint8_t valid;
	uint8_t type;          /* SGX_PAGE_TYPE_* */
	uint8_t perm;          /* SGX_SECINFO_R | _W | _X */
	uint8_t state;         /* HW_EPCM_* */
	uint32_t secs;         /* child: EPC index of its SECS */
	uint64_t linaddr;      /* child: the page's address in the enclave */
	/* SECS only */
	uint32_t children;
	uint32_t threads;      /* logical processors inside (not modelled: set by tests) */
	uint8_t initialized;   /* EINIT done */
	uint8_t debug;         /* ATTRIBUTES.DEBUG */
	uint32_t epoch;        /* SECS: ETRACKs so far */
	uint64_t eid;          /* SECS: the enclave's id, given by ECREATE */
	uint32_t evicted;      /* SECS: children the host evicted, still counted in children */
	/* child: EBLOCKed, and the SECS's epoch when it was */
	uint8_t blocked;
	uint32_t blocked_epoch;
	/* allocator */
	uint8_t allocated;     /* handed out by hw_epc_alloc_page, not yet freed */
};

struct hw_epc_stats {
	uint64_t allocs, frees, alloc_failures, eremoves, eremove_failures;
	uint64_t encls[16];    /* ENCLS executed, by leaf */
};

struct hw_epc {
	struct hw_machine *m;
	uint64_t start, end;           /* physical range; read-only */
	uint64_t nr_pages;             /* read-only */
	pthread_mutex_t lock;          /* leaf; everything below */
	struct hw_epcm_entry *epcm;    /* nr_pages entries */
	/*
	 * Free pages: those freed since init, on free_stack (nr_stacked of
	 * them, the last freed on top), and those never handed out,
	 * [carve, nr_pages). A page's frame gets its permanent reference when
	 * it is first carved, so a machine's EPC costs nothing until used.
	 */
	uint32_t *free_stack;
	uint64_t nr_stacked;
	uint64_t carve;
	uint64_t nr_free;              /* both kinds; written under lock, READ_ONCE for statistics */
	struct hw_epc_stats stats;     /* under lock */
	uint8_t *sink;                 /* where writes from outside an enclave go */
	/* EWB/ELDU (sgx_ewb.c), under lock: the machine's paging key, version nonces, enclave ids */
	uint8_t key[32];
	uint64_t version;
	uint64_t next_eid;
};

/* Sets up the EPC of @bytes (0: none) after RAM. 0 or -ENOMEM. */
MV_MUST_CHECK int hw_epc_init(struct hw_machine *m, uint64_t bytes);
void hw_epc_fini(struct hw_machine *m);

static inline bool hw_pa_is_epc(const struct hw_machine *m, uint64_t pa)
{
	return m->epc && pa >= m->epc->start && pa < m->epc->end;
}
static inline uint64_t hw_epc_index(const struct hw_epc *epc, uint64_t pa)
{
	return (pa - epc->start) >> HW_PAGE_SHIFT;
}
static inline uint64_t hw_epc_pa(const struct hw_epc *epc, uint64_t idx)
{
	return epc->start + (idx << HW_PAGE_SHIFT);
}

/*
 * Abort-page semantics for a non-enclave access that reached EPC @pa:
 * reads see a page of all ones, writes land in a sink nobody reads.
 * Fills *out; the MMU never puts such a translation in the TLB.
 */
void hw_epc_abort_xlate(struct hw_machine *m, uint64_t pa, unsigned int type,
			struct hw_xlate *out);

/* ---- the EPC page allocator (sgx_alloc_epc_page / sgx_free_epc_page) ---- */

/* 0 and the page's physical address, or -ENOMEM when the EPC is full. */
MV_MUST_CHECK int hw_epc_alloc_page(struct hw_epc *epc, uint64_t *pa);
/*
 * Returns an EREMOVEd page to the allocator. -EBUSY if its EPCM entry is
 * still valid (it was not EREMOVEd: it stays allocated), -EINVAL for a
 * page that is not allocated or not in the EPC.
 */
MV_MUST_CHECK int hw_epc_free_page(struct hw_epc *epc, uint64_t pa);
uint64_t hw_epc_nr_free(const struct hw_epc *epc);

/* ---- ENCLS ---- */

/*
 * EPC paging (EBLOCK, ETRACK, EWB, ELDU/ELDB) as the SDM has it: a page
 * evicted with EWB leaves the EPC encrypted (a keystream from the
 * machine's key and the page's version nonce: a model, not a cipher), its
 * PCMD carries its SECINFO, enclave id and a MAC (SHA-256 over the key,
 * the version, the linear address, the PCMD and a keyed digest of the
 * ciphertext), and the
 * version goes into a VA slot; ELDU takes it back only with the same
 * version still in that slot, so a replayed or altered page fails with
 * SGX_MAC_COMPARE_FAIL.
 */

/* How a leaf ended: rax for the caller, or a fault (#GP(0), #PF(addr)). */
struct hw_encls_res {
	uint64_t rax;
	uint64_t rbx;          /* EDBGRD's data */
	struct hw_fault fault; /* kind HW_FAULT_NONE: none */
};

/* __eremove(): EREMOVE of the EPC page at @pa. The SGX_* code, or -EFAULT (#GP/#PF). */
long hw_sgx_eremove(struct hw_epc *epc, uint64_t pa);

/*
 * ENCLS on @cpu: RAX = @leaf, operands are linear addresses translated by
 * the CPU's MMU. 0 with *res (rax, and rbx for EDBGRD), -EFAULT with the
 * fault in res->fault (#GP(0), #PF, or whatever the walk raised: the leaf
 * changed nothing), -EINVAL for a leaf memvisor does not model (#GP(0)
 * too, in res->fault). Call inside the CPU's access bracket.
 */
int hw_cpu_encls(struct hw_cpu *cpu, uint32_t leaf, uint64_t rbx, uint64_t rcx, uint64_t rdx,
		 struct hw_encls_res *res);

/*
 * Host-side paging, for a kernel that oversubscribes the EPC behind a
 * guest's back. The kernel first takes every mapping of the page away and
 * flushes (the IPIs EBLOCK/ETRACK stand for), then EBLOCK, ETRACK and EWB
 * run as one step into @blob (host memory) and the VA slot at @slot_pa.
 * Unlike the guest's own EWB, the child stays counted on its SECS (as
 * "evicted"): the guest's view does not change, so its SECS cannot go
 * while the host holds one of its pages. ELDU puts it back; drop forgets
 * it (the vEPC is being released). The SGX_* code, or -EINVAL for a page
 * that is not a child, a slot that is not in a VA page, a blob that does
 * not match.
 */
struct hw_epc_blob {
	uint8_t data[HW_PAGE_SIZE];    /* encrypted */
	struct sgx_pcmd pcmd;
	uint64_t linaddr;
	uint64_t secs_pa;
};
long hw_sgx_host_ewb(struct hw_epc *epc, uint64_t pa, uint64_t slot_pa, struct hw_epc_blob *out);
long hw_sgx_host_eldu(struct hw_epc *epc, uint64_t pa, uint64_t slot_pa,
		      const struct hw_epc_blob *in);
long hw_sgx_host_drop(struct hw_epc *epc, uint64_t slot_pa, const struct hw_epc_blob *in);
/* EPA of a free EPC page the kernel owns: 0 or -EINVAL (not EPC, valid). */
long hw_sgx_host_epa(struct hw_epc *epc, uint64_t pa);

/* ---- what tests and the kernel may look at ---- */

/* A copy of the EPCM entry of EPC page @pa. -EINVAL outside the EPC. */
int hw_epcm_get(struct hw_epc *epc, uint64_t pa, struct hw_epcm_entry *out);
/* "@n logical processors are inside" the enclave whose SECS is at @pa. 0 or -EINVAL. */
int hw_epc_set_threads(struct hw_epc *epc, uint64_t secs_pa, uint32_t n);
/* MRENCLAVE as EINIT fixed it (32 bytes). -EINVAL unless @secs_pa is an initialized SECS. */
int hw_epc_mrenclave(struct hw_epc *epc, uint64_t secs_pa, uint8_t out[32]);
/*
 * Checks the EPCM's invariants (each SECS's child count equals its valid
 * children, every child's SECS is a valid SECS, free pages are invalid
 * and zero, the free count matches). 0 or -EUCLEAN.
 */
int hw_epc_check(struct hw_epc *epc);

#endif
