/* SPDX-License-Identifier: MIT */
/*
 * A simulated CPU: control registers, CET state, privilege, guest mode, its
 * software TLB, and the one entry point through which every access goes.
 *
 * Translation: stage 1 (x86-64 paging, when CR0.PG) then stage 2 (EPT, when
 * the CPU runs a guest; guest page-table reads are stage-2 translated too).
 * Permission checks follow the SDM: U/S, R/W with CR0.WP, NX, SMEP, SMAP,
 * shadow-stack pages (RW=0,D=1) for shadow-stack accesses only; EPT R/W/X,
 * and user-execute with MBEC. A/D bits are set on the way (stage 1 always,
 * EPT when the EPTP enables them).
 */
#ifndef MV_HW_CPU_H
#define MV_HW_CPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memvisor/guest_fast.h>

#include "hw/phys.h"
#include "hw/pgtable.h"

/* ---- control registers and MSRs (architectural bit positions) ---- */
#define X86_CR0_PE   (1ull << 0)
#define X86_CR0_WP   (1ull << 16)
#define X86_CR0_PG   (1ull << 31)
#define X86_CR4_PAE  (1ull << 5)
#define X86_CR4_UMIP (1ull << 11)
#define X86_CR4_FSGSBASE (1ull << 16)
#define X86_CR4_SMEP (1ull << 20)
#define X86_CR4_SMAP (1ull << 21)
#define X86_CR4_CET  (1ull << 23)
#define X86_EFER_LME (1ull << 8)
#define X86_EFER_LMA (1ull << 10)
#define X86_EFER_NXE (1ull << 11)
/* IA32_U_CET / IA32_S_CET */
#define X86_CET_SHSTK_EN  (1ull << 0)
#define X86_CET_WRSS_EN   (1ull << 1)
#define X86_CET_ENDBR_EN  (1ull << 2)

/* ---- access kinds ---- */
#define HW_ACC_READ     0u
#define HW_ACC_WRITE    1u
#define HW_ACC_FETCH    2u
#define HW_ACC_TYPE_MASK 3u
#define HW_ACC_SHSTK    (1u << 2)   /* shadow-stack access: push/pop, WRSS, RSTORSSP... */
#define HW_ACC_AS_USER  (1u << 3)   /* user access from CPL0 (WRUSS) */
#define HW_ACC_IMPLICIT (1u << 4)   /* implicit supervisor access (no SMAP exemption) */
#define HW_ACC_SS_READ  (HW_ACC_READ | HW_ACC_SHSTK)
#define HW_ACC_SS_WRITE (HW_ACC_WRITE | HW_ACC_SHSTK)
#define HW_ACC_WRUSS    (HW_ACC_WRITE | HW_ACC_SHSTK | HW_ACC_AS_USER)

/* ---- faults ---- */
#define X86_VEC_GP 13
#define X86_VEC_PF 14
#define X86_VEC_CP 21

/* #PF error code */
#define X86_PF_P    (1u << 0)
#define X86_PF_W    (1u << 1)
#define X86_PF_U    (1u << 2)
#define X86_PF_RSVD (1u << 3)
#define X86_PF_I    (1u << 4)
#define X86_PF_PK   (1u << 5)
#define X86_PF_SS   (1u << 6)

/* EPT violation exit qualification */
#define EPT_QUAL_READ       (1ull << 0)
#define EPT_QUAL_WRITE      (1ull << 1)
#define EPT_QUAL_FETCH      (1ull << 2)
#define EPT_QUAL_READABLE   (1ull << 3)
#define EPT_QUAL_WRITABLE   (1ull << 4)
#define EPT_QUAL_EXEC       (1ull << 5)
#define EPT_QUAL_UEXEC      (1ull << 6)
#define EPT_QUAL_GLA_VALID  (1ull << 7)
#define EPT_QUAL_GLA_XLATE  (1ull << 8)  /* the access was to the final GPA, not a paging structure */
#define EPT_QUAL_USER       (1ull << 9)  /* with MBEC / advanced info: user-mode linear address */

enum hw_fault_kind {
	HW_FAULT_NONE = 0,
	HW_FAULT_PF,            /* #PF: error_code, addr = faulting linear address (CR2) */
	HW_FAULT_GP,            /* #GP(0): non-canonical address */
	HW_FAULT_CP,            /* #CP: error_code is the CP code */
	HW_FAULT_EPT_VIOLATION, /* exit to the hypervisor: addr = GPA, gla, qualification */
	HW_FAULT_EPT_MISCONFIG, /* reserved EPT bits / W without R: addr = GPA */
	HW_FAULT_BAD_PA,        /* the final physical address is not RAM: addr = PA */
	HW_FAULT_MTE,           /* synchronous tag-check fault (hw/mte.h): addr = VA as given */
};

struct hw_fault {
	enum hw_fault_kind kind;
	uint64_t error_code;
	uint64_t addr;
	uint64_t gla;
	uint64_t qualification;
};

/* ---- TLB ---- */
#define HW_TLB_BITS 8
#define HW_TLB_SIZE (1u << HW_TLB_BITS)
/* Set in a tag: never matches, since lookups mask bits 3..11 of the address off. */
#define HW_TLB_INVALID (1ull << 11)
/*
 * Set in a tag (with the page address): the entry is valid but its page
 * needs an MTE tag check, so the one-compare fast paths miss and
 * hw_mmu_translate() takes it as a hit that checks (hw/mte.h).
 */
#define HW_TLB_CHECK (1ull << 10)

/*
 * One entry per page. A tag is the page's virtual address when that kind of
 * access may use the entry without further checks, otherwise it has
 * HW_TLB_INVALID set, so the fast path is one compare. Shadow-stack
 * accesses have their own tags; pages that need checks on every access
 * (tagged, EPC, protected) keep every tag invalid and always walk.
 */
struct hw_tlb_entry {
	uint64_t tag_read;
	uint64_t tag_write;
	uint64_t tag_fetch;
	uint64_t tag_ss_read;
	uint64_t tag_ss_write;
	uintptr_t addend;       /* host address = va + addend */
	uint64_t pa;            /* final physical page */
	union {
		uint64_t pad;
		uint64_t flags;     /* HW_TLB_F_* */
	};
};

#define HW_TLB_F_SHSTK  (1ull << 0)     /* the page is a shadow-stack page */
#define HW_TLB_F_LEVEL_SHIFT 1          /* bits 1..2: stage-1 leaf level (1..3) */
#define HW_TLB_F_MTE    (1ull << 3)     /* accesses need a tag check: valid tags carry HW_TLB_CHECK */
#define HW_TLB_F_TAGGED (1ull << 4)     /* the page is tagged memory (X86_PTE_MTE / EPT_MTE) */

/*
 * Counted by the CPU's own thread, read by mv_machine_get_stats() on any
 * thread: a single writer, so an increment is a load and a WRITE_ONCE.
 */
struct hw_tlb_stats {
	uint64_t hits, misses, flushes, page_flushes;
};

static inline void hw_stat_inc(uint64_t *counter)
{
	WRITE_ONCE(*counter, *counter + 1);
}

/*
 * Per-CPU, direct mapped. One array per privilege (0: supervisor, 1: user)
 * so a hit never has to look at U/S. Like x86 without PCID, the TLB holds
 * one context: loading CR3 or entering another VM flushes it, so entries
 * need no context tag.
 */
struct hw_tlb {
	struct hw_tlb_entry e[2][HW_TLB_SIZE];
	/*
	 * What the fast path compares with the machine's tlb_gen: normally the
	 * generation last synchronised with (synced_gen); HW_TLB_GEN_RECHECK
	 * forces the next access through hw_tlb_sync_slow(), which also
	 * flushes if the translation context changed (guest entry/exit).
	 */
	uint64_t gen;
	uint64_t synced_gen;
	/* the context the entries were filled in */
	bool ctx_guest;
	uint16_t ctx_vmid;
	uint64_t ctx_eptp, ctx_cr3;
	bool has_large;         /* some entry maps part of a 2 MiB / 1 GiB page */
	struct hw_tlb_stats stats;
};

#define HW_TLB_GEN_RECHECK UINT64_MAX

struct hw_cpu {
	struct hw_machine *m;
	uint64_t cr0, cr2, cr3, cr4, efer;
	uint64_t rip, rsp, ssp;
	uint64_t u_cet, s_cet;           /* IA32_U_CET, IA32_S_CET */
	uint64_t pl_ssp[4];              /* IA32_PL0_SSP..IA32_PL3_SSP */
	uint64_t int_ssp_tab;            /* IA32_INT_SSP_TAB (state only) */
	int cpl;                         /* 0 or 3 */
	bool rflags_ac;                  /* SMAP override (STAC/CLAC) */
	/* guest mode: translate guest-physical through EPT */
	bool guest;
	uint64_t eptp;                   /* EPT root (pa); bit 6 enables A/D */
	uint16_t vmid;                   /* which VM the TLB contents belong to */
	struct hw_tlb tlb;
	union {
		/*
		 * Odd while the CPU is inside an access (translation plus the
		 * copy): written only by the thread running the CPU, read by
		 * shootdowns that wait for it (hw_cpu_wait_access). Atomic.
		 */
		uint64_t access_seq;
		/*
		 * The same word plus the TLB pointer of the inline fast path
		 * (memvisor/guest_fast.h, published to guest programs).
		 * fast.tlb: hw_tlb_fast_arm() and hw_tlb_fast_kill() below; atomic.
		 */
		struct mv_guest_fast fast;
	};
	struct lib_list cpu_link;        /* in m->cpus once registered, under m->cpus_lock */
	uint64_t as_tag;                 /* the address space it runs; fixed while registered */
	bool registered;
	/* MTE (hw/mte.h): only the CPU's own thread reads or writes these */
	uint8_t mte_tcf;                 /* HW_MTE_TCF_*: set with hw_cpu_set_mte() */
	bool tbi;                        /* top-byte ignore: bits 63:56 of an address ignored */
	bool mte_tfsr;                   /* an asynchronous tag-check fault is recorded */
};

#define HW_EPTP_AD (1ull << 6)

/* Resets @cpu: protected mode (CR0.PE), paging off, CPL 0, empty TLB. */
void hw_cpu_init(struct hw_cpu *cpu, struct hw_machine *m);

/*
 * A CPU whose accesses hw_tlb_shootdown_sync() must wait for (the kernel's
 * task CPUs; KVM waits for its vCPUs itself), running the address space
 * @as_tag (nonzero; the kernel uses its mm). Unregister before the CPU's
 * memory goes.
 */
void hw_cpu_register(struct hw_cpu *cpu, uint64_t as_tag);
void hw_cpu_unregister(struct hw_cpu *cpu);

/*
 * The access bracket. hw_access_begin() opens it and returns the TLB
 * generation the access must sync with (hw_tlb_sync_gen) before it
 * translates; hw_access_end() closes it once the data has moved. Either a
 * shootdown sees the bracket open and waits for it, or the access sees the
 * shootdown's new generation and flushes first. Only the CPU's own thread
 * calls them, and nothing inside a bracket may block on a lock.
 */
static inline uint64_t hw_access_begin(struct hw_cpu *cpu, uint64_t *seq)
{
	*seq = __atomic_load_n(&cpu->access_seq, __ATOMIC_RELAXED);
	if (__builtin_expect(cpu->m->asym_fence, 1)) {
		/* the shootdown's membarrier orders this store before its loads */
		__atomic_store_n(&cpu->access_seq, *seq + 1, __ATOMIC_RELAXED);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		return __atomic_load_n(&cpu->m->tlb_gen, __ATOMIC_ACQUIRE);
	}
	__atomic_store_n(&cpu->access_seq, *seq + 1, __ATOMIC_SEQ_CST);
	/* pairs with the shootdown; also the acquire load hw_tlb_sync() would do */
	return __atomic_load_n(&cpu->m->tlb_gen, __ATOMIC_SEQ_CST);
}

/* Everything the access read or wrote happens before a shootdown's wait ends. */
static inline void hw_access_end(struct hw_cpu *cpu, uint64_t seq)
{
	__atomic_store_n(&cpu->access_seq, seq + 2, __ATOMIC_RELEASE);
}

/*
 * Waits until @cpu is outside the bracket it was in. After hw_fence_heavy(),
 * and after hw_tlb_fast_kill(@cpu) if @cpu may run the inline fast path:
 * an armed window tells the wait that the bracket it saw has closed.
 */
void hw_cpu_wait_access(struct hw_cpu *cpu);

/* Register writes that affect translation flush the TLB as hardware would. */
void hw_cpu_write_cr3(struct hw_cpu *cpu, uint64_t cr3);
void hw_cpu_write_cr0(struct hw_cpu *cpu, uint64_t cr0);
void hw_cpu_write_cr4(struct hw_cpu *cpu, uint64_t cr4);
/* EFER: flushes when NXE or LME changes. */
void hw_cpu_write_efer(struct hw_cpu *cpu, uint64_t efer);
/*
 * Enter/leave guest mode with @eptp. The TLB holds one context: the first
 * access after a switch flushes it unless the context (host/guest, vmid,
 * eptp, CR3) is the one the TLB was filled in, so re-entering the same VM
 * keeps its entries (a VMM that swaps CR3 by assignment around entry/exit
 * gets the same check; other CR3 changes go through hw_cpu_write_cr3()).
 */
void hw_cpu_enter_guest(struct hw_cpu *cpu, uint16_t vmid, uint64_t eptp);
void hw_cpu_leave_guest(struct hw_cpu *cpu);
/*
 * Convenience: 4-level paging on (CR0.PE|PG|WP, CR4.PAE, EFER.LME|LMA|NXE),
 * plus CR4.SMEP / SMAP / CET when the machine has those features (as Linux
 * enables them), CR3 = @root, at @cpl. Supervisor code that touches user
 * memory with SMAP on sets rflags_ac (STAC) or uses HW_ACC_AS_USER.
 */
void hw_cpu_setup_long_mode(struct hw_cpu *cpu, uint64_t root, int cpl);

/* ---- the one access path ---- */

struct hw_xlate {
	uint64_t pa;            /* final physical address */
	void *host;             /* host pointer to it */
	bool shstk;             /* the page is a shadow-stack page */
	bool mte_check;         /* the access must pass an MTE tag check (hw_mte_check) */
	bool tagged;            /* the page is mapped as tagged memory (STG/LDG reach its tags) */
};

/*
 * Translates @va for one access of kind @acc, checks permissions, sets A/D
 * bits, fills the TLB. 0 and *out, or -EFAULT with *fault describing what
 * the hardware raises (#PF, #GP, EPT violation...), or -EINVAL for an
 * impossible @acc (unknown bits, type 3, shadow-stack fetch, implicit user
 * access). The access must not cross a page; callers split.
 *
 * CR0.PG selects 4-level paging (PAE/LME are assumed). MAXPHYADDR is 46.
 * A/D bits are set only when the access succeeds. With EPTP A/D enabled,
 * guest paging-structure accesses count as writes for EPT, as on hardware.
 * A #PF also loads CR2.
 */
MV_MUST_CHECK int hw_mmu_translate(struct hw_cpu *cpu, uint64_t va, unsigned int acc,
				   struct hw_xlate *out, struct hw_fault *fault);

/*
 * Copy between a host buffer and simulated virtual memory, page by page.
 * All pages are translated before anything is copied, so a fault changes
 * nothing. 0, or -EFAULT with *fault set.
 */
MV_MUST_CHECK int hw_mmu_read(struct hw_cpu *cpu, uint64_t va, void *buf, size_t len,
			      unsigned int acc, struct hw_fault *fault);
MV_MUST_CHECK int hw_mmu_write(struct hw_cpu *cpu, uint64_t va, const void *buf, size_t len,
			       unsigned int acc, struct hw_fault *fault);

/* Flushes. */
void hw_tlb_flush_all(struct hw_cpu *cpu);
void hw_tlb_flush_page(struct hw_cpu *cpu, uint64_t va);      /* INVLPG */
/* Flush if the CPU currently caches this address space (CR3 root) / VM. */
void hw_tlb_flush_as(struct hw_cpu *cpu, uint64_t root);
void hw_tlb_flush_vm(struct hw_cpu *cpu, uint16_t vmid);

/* Fast path helpers, inline so the hit costs one compare. */
static inline struct hw_tlb_entry *hw_tlb_slot(struct hw_cpu *cpu, uint64_t va, int user)
{
	return &cpu->tlb.e[user][(va >> HW_PAGE_SHIFT) & (HW_TLB_SIZE - 1)];
}

void hw_tlb_sync_slow(struct hw_cpu *cpu, uint64_t gen);

/*
 * The inline fast path's TLB pointer (cpu->fast.tlb). It compares no
 * generation: instead, whatever must stop it points fast.tlb at
 * hw_tlb_dead, whose tags never match, and the next inline access misses
 * and calls the library. The protocol, with a shootdown of the CPU's VM
 * (kvm_flush_remote_tlbs):
 *
 *   vCPU (inline access)            shootdown
 *   store access_seq odd            bump tlb_gen; zap
 *   load fast.tlb, use it           fast.tlb = dead (seq_cst)
 *   store access_seq even           heavy fence; wait while access_seq odd
 *
 * is the bracket's store-then-load against the shootdown's
 * store-then-load (membarrier, or seq_cst on both sides when the machine
 * has no asym_fence and the inline code was built seq_cst): either the
 * shootdown sees the bracket open and waits for it, or the access loads
 * the dead pointer and misses. Nothing but the CPU's own thread points
 * fast.tlb back at real entries, in hw_tlb_fast_arm(), by an exchange: if
 * that exchange consumes a shootdown's kill, it synchronises with it and
 * the generation load after it sees that shootdown's bump, so the TLB is
 * flushed before the pointer can be used; a kill that lands after the
 * exchange stays. So a hit always uses entries filled after every
 * shootdown whose wait has ended.
 */
extern const struct hw_tlb_entry hw_tlb_dead[HW_TLB_SIZE];

/*
 * Any thread: the inline fast path misses from now on, until re-armed. An
 * exchange, not a store: a read-modify-write continues the release
 * sequence of an earlier kill, so the re-arm that reads this one still
 * synchronises with every shootdown's kill before it.
 */
static inline void hw_tlb_fast_kill(struct hw_cpu *cpu)
{
	(void)__atomic_exchange_n(&cpu->fast.tlb, (const void *)hw_tlb_dead, __ATOMIC_SEQ_CST);
}

static inline bool hw_tlb_fast_dead(const struct hw_cpu *cpu)
{
	return __atomic_load_n(&cpu->fast.tlb, __ATOMIC_RELAXED) == (const void *)hw_tlb_dead;
}

/*
 * Points fast.tlb at the entries of the current privilege and syncs the TLB
 * (flushing if a shootdown or a context change happened). The CPU's thread,
 * inside its access bracket.
 */
void hw_tlb_fast_arm(struct hw_cpu *cpu);

/*
 * hw_tlb_sync() with a generation the caller has already loaded from
 * cpu->m->tlb_gen, with at least acquire order (a caller whose own
 * protocol needs a stronger load reuses its value instead of loading twice).
 */
static inline void hw_tlb_sync_gen(struct hw_cpu *cpu, uint64_t gen)
{
	if (__builtin_expect(gen != cpu->tlb.gen, 0))
		hw_tlb_sync_slow(cpu, gen);
}

/* Flushes if a machine-wide shootdown happened since the last access. */
static inline void hw_tlb_sync(struct hw_cpu *cpu)
{
	hw_tlb_sync_gen(cpu, __atomic_load_n(&cpu->m->tlb_gen, __ATOMIC_ACQUIRE));
}

/*
 * The TLB-hit half of hw_mmu_translate() for a plain HW_ACC_READ or
 * HW_ACC_WRITE (no other flag, so the U/S array follows the CPL), for a
 * caller that has done hw_tlb_sync() (or seen cpu->tlb.gen equal to the
 * generation it loaded: nothing to sync): true with the host address of
 * @va in *host (the hit counted as the translate path counts it), or false
 * when the access must go through hw_mmu_translate().
 */
static inline bool hw_tlb_hit_rw(struct hw_cpu *cpu, uint64_t va, bool write, void **host)
{
	const struct hw_tlb_entry *e = hw_tlb_slot(cpu, va, cpu->cpl == 3);

	if (__builtin_expect((write ? e->tag_write : e->tag_read) != (va & HW_PAGE_MASK), 0))
		return false;
	hw_stat_inc(&cpu->tlb.stats.hits);
	*host = (void *)(uintptr_t)(va + e->addend);
	return true;
}

/* A checked aligned 8-byte load: TLB hit inline, otherwise the full walk. */
MV_MUST_CHECK int hw_mmu_load64_slow(struct hw_cpu *cpu, uint64_t va, uint64_t *val,
				     struct hw_fault *fault);
static inline MV_MUST_CHECK int hw_mmu_load64(struct hw_cpu *cpu, uint64_t va, uint64_t *val,
					      struct hw_fault *fault)
{
	struct hw_tlb_entry *e;

	hw_tlb_sync(cpu);
	e = hw_tlb_slot(cpu, va, cpu->cpl == 3);
	if (__builtin_expect(e->tag_read == (va & (HW_PAGE_MASK | 7)), 1)) {
		hw_stat_inc(&cpu->tlb.stats.hits);
		*val = __atomic_load_n((const uint64_t *)(uintptr_t)(va + e->addend),
				       __ATOMIC_RELAXED);   /* hw/ram.h */
		return 0;
	}
	return hw_mmu_load64_slow(cpu, va, val, fault);
}

#endif
