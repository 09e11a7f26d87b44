/* SPDX-License-Identifier: MIT */
/*
 * The hardware page walker: stage 1 (x86-64 4-level paging) then stage 2
 * (EPT) in guest mode, with the SDM's permission rules, A/D updates and
 * exact faults. Every access that misses the TLB comes through
 * hw_mmu_translate(); on success the TLB is filled with the tags of every
 * access kind that would pass the same checks without touching A/D bits.
 */
#include <string.h>

#include <memvisor/memvisor.h>

#include "hw/cpu.h"
#include "hw/hw_internal.h"
#include "hw/sgx.h"
#include "hw/mte.h"

/* One access being translated. */
struct hw_access {
	struct hw_cpu *cpu;
	uint64_t va;
	unsigned int acc;
	unsigned int type;        /* HW_ACC_READ / WRITE / FETCH */
	bool user;                /* user-mode access (CPL3 explicit, or AS_USER) */
	struct hw_fault *fault;
};

/* Stage-2 result. */
struct hw_s2 {
	uint64_t hpa;
	bool r, w, x, ux, dirty;
	bool mte;                 /* the leaf maps tagged memory (EPT_MTE) */
};

/* Stage-1 result. */
struct hw_s1 {
	uint64_t gpa;
	int level;                /* leaf level, 0 without paging */
	bool user, rw, nx, shstk, dirty;
	int n;                    /* entries walked */
	uint64_t *ep[HW_PT_LEVELS];
	uint64_t ev[HW_PT_LEVELS];
	uint64_t egpa[HW_PT_LEVELS];
	struct hw_s2 es2[HW_PT_LEVELS]; /* stage 2 rights on each entry's page */
};

/* A pointer to the 8-byte entry at host-physical @pa, NULL outside RAM. */
static uint64_t *hw_entry_ptr(const struct hw_machine *m, uint64_t pa)
{
	if (pa >= m->phys.bytes)
		return NULL;
	return hw_pa_to_host(m, pa & ~7ull);
}

/* Memory that is not RAM reads as all ones, which every format rejects. */
static uint64_t hw_entry_load(const uint64_t *ep)
{
	return ep ? ptep_get(ep) : ~0ull;
}

/* ---- stage 2: EPT ---- */

static bool hw_ept_misconfigured(uint64_t e, int level, bool leaf)
{
	if ((e & EPT_W) && !(e & EPT_R))
		return true;
	if (e & HW_PA_RSVD_MASK)
		return true;
	if (level == 4 && (e & EPT_PS))
		return true;
	if (leaf) {
		unsigned int mt = (unsigned int)(e >> 3) & 7;

		if (mt == 2 || mt == 3 || mt == 7)
			return true;
		if (level > 1 && (e & (hw_pt_level_size(level) - 1) & ~0xfffull & EPT_ADDR))
			return true;
	}
	return false;
}

static bool hw_ept_allows(const struct hw_machine *m, const struct hw_s2 *s, unsigned int type,
			  bool user_la)
{
	if (type == HW_ACC_WRITE)
		return s->w;
	if (type == HW_ACC_FETCH)
		return (hw_has(m, MV_FEAT_MBEC) && user_la) ? s->ux : s->x;
	return s->r;
}

static int hw_ept_violation(struct hw_cpu *cpu, uint64_t gpa, unsigned int type, const struct hw_s2 *s,
			    uint64_t gla, uint64_t gla_bits, struct hw_fault *fault)
{
	uint64_t q = gla_bits;

	q |= type == HW_ACC_WRITE ? EPT_QUAL_WRITE : type == HW_ACC_FETCH ? EPT_QUAL_FETCH
									     : EPT_QUAL_READ;
	if (s->r)
		q |= EPT_QUAL_READABLE;
	if (s->w)
		q |= EPT_QUAL_WRITABLE;
	if (s->x)
		q |= EPT_QUAL_EXEC;
	if (s->ux && hw_has(cpu->m, MV_FEAT_MBEC))
		q |= EPT_QUAL_UEXEC;
	*fault = (struct hw_fault){
		.kind = HW_FAULT_EPT_VIOLATION, .addr = gpa, .gla = gla, .qualification = q,
	};
	return -EFAULT;
}

/*
 * Translates @gpa through EPT for an access of @type. @gla_bits are the
 * GLA_VALID / GLA_XLATE / USER qualification bits the access would report.
 */
static int hw_s2_walk(struct hw_cpu *cpu, uint64_t gpa, unsigned int type, bool user_la,
		      uint64_t gla, uint64_t gla_bits, struct hw_s2 *s, struct hw_fault *fault)
{
	const struct hw_machine *m = cpu->m;
	bool mbec = hw_has(m, MV_FEAT_MBEC);
	bool ad = cpu->eptp & HW_EPTP_AD;
	uint64_t *eps[HW_PT_LEVELS];
	uint64_t evs[HW_PT_LEVELS];
	int n;

	/* the walk translates bits 47:0: a GPA above them is a violation, not an alias of a low one */
	if (gpa >> (HW_PAGE_SHIFT + 9 * HW_PT_LEVELS)) {
		*s = (struct hw_s2){ 0 };
		return hw_ept_violation(cpu, gpa, type, s, gla, gla_bits, fault);
	}
retry:
	n = 0;
	uint64_t table = cpu->eptp & EPT_ADDR;
	*s = (struct hw_s2){ .r = true, .w = true, .x = true, .ux = true };
	for (int level = HW_PT_LEVELS; level >= 1; level--) {
		uint64_t *ep = hw_entry_ptr(m, table + 8ull * hw_pt_index(gpa, level));
		uint64_t e = hw_entry_load(ep);
		uint64_t present = EPT_R | EPT_W | EPT_X | (mbec ? EPT_UX : 0);
		bool leaf = level == 1 || (level <= 3 && (e & EPT_PS));

		eps[n] = ep;
		evs[n++] = e;
		s->r &= !!(e & EPT_R);
		s->w &= !!(e & EPT_W);
		s->x &= !!(e & EPT_X);
		s->ux &= !!(e & EPT_UX);
		if (!(e & present))
			return hw_ept_violation(cpu, gpa, type, s, gla, gla_bits, fault);
		if (hw_ept_misconfigured(e, level, leaf)) {
			*fault = (struct hw_fault){ .kind = HW_FAULT_EPT_MISCONFIG, .addr = gpa };
			return -EFAULT;
		}
		if (leaf) {
			uint64_t size = hw_pt_level_size(level);

			s->hpa = ((e & EPT_ADDR) & ~(size - 1)) | (gpa & (size - 1));
			s->dirty = e & EPT_D;
			s->mte = e & EPT_MTE;
			break;
		}
		table = e & EPT_ADDR;
	}
	if (!hw_ept_allows(m, s, type, user_la))
		return hw_ept_violation(cpu, gpa, type, s, gla, gla_bits, fault);
	if (!ad)
		return 0;
	for (int i = 0; i < n; i++) {
		uint64_t want = evs[i] | EPT_A | (i == n - 1 && type == HW_ACC_WRITE ? EPT_D : 0);

		if (want == evs[i])
			continue;
		if (!ptep_try_cmpxchg(eps[i], &evs[i], want))
			goto retry;
	}
	s->dirty = s->dirty || type == HW_ACC_WRITE;
	return 0;
}

/* ---- stage 1: x86-64 paging ---- */

static uint64_t hw_s1_rsvd(const struct hw_cpu *cpu, uint64_t e, int level)
{
	uint64_t rsvd = HW_PA_RSVD_MASK;

	if (!(cpu->efer & X86_EFER_NXE))
		rsvd |= X86_PTE_NX;
	if (level == 4)
		rsvd |= X86_PTE_PS;
	else if (level > 1 && (e & X86_PTE_PS))
		rsvd |= (hw_pt_level_size(level) - 1) & ~0x1fffull;  /* bit 12 is PAT */
	return e & rsvd;
}

static uint32_t hw_pf_code(const struct hw_access *a)
{
	const struct hw_cpu *cpu = a->cpu;
	uint32_t code = 0;

	if (a->type == HW_ACC_WRITE)
		code |= X86_PF_W;
	if (a->user)
		code |= X86_PF_U;
	if (a->type == HW_ACC_FETCH &&
	    ((cpu->efer & X86_EFER_NXE) || (cpu->cr4 & X86_CR4_SMEP)))
		code |= X86_PF_I;
	if (a->acc & HW_ACC_SHSTK)
		code |= X86_PF_SS;
	return code;
}

static int hw_raise_pf(struct hw_access *a, uint32_t extra)
{
	*a->fault = (struct hw_fault){
		.kind = HW_FAULT_PF, .error_code = hw_pf_code(a) | extra, .addr = a->va,
	};
	a->cpu->cr2 = a->va;
	return -EFAULT;
}

/*
 * The stage-1 permission rules (SDM 4.6). @user: a user-mode access;
 * @ac_exempt: SMAP is suspended (RFLAGS.AC and an explicit access).
 */
static bool hw_s1_allows(const struct hw_cpu *cpu, unsigned int type, bool shstk, bool user,
			 bool ac_exempt, const struct hw_s1 *s)
{
	if (shstk)
		return s->shstk && user == s->user;
	if (user) {
		if (!s->user)
			return false;
		if (type == HW_ACC_WRITE)
			return s->rw;
		return type != HW_ACC_FETCH || !s->nx;
	}
	if (type == HW_ACC_FETCH)
		return !s->nx && !(s->user && (cpu->cr4 & X86_CR4_SMEP));
	if (s->user && (cpu->cr4 & X86_CR4_SMAP) && !ac_exempt)
		return false;
	if (type == HW_ACC_WRITE)
		return !s->shstk && (s->rw || !(cpu->cr0 & X86_CR0_WP));
	return true;
}

/* Reads a guest paging-structure entry: its GPA goes through EPT first. */
static int hw_s1_entry(struct hw_access *a, uint64_t epa, uint64_t **epp, struct hw_s2 *s2)
{
	struct hw_cpu *cpu = a->cpu;
	unsigned int type;
	int ret;

	*s2 = (struct hw_s2){ .r = true, .w = true, .x = true, .ux = true };
	if (!cpu->guest) {
		*epp = hw_entry_ptr(cpu->m, epa);
		return 0;
	}
	type = (cpu->eptp & HW_EPTP_AD) ? HW_ACC_WRITE : HW_ACC_READ;
	ret = hw_s2_walk(cpu, epa, type, false, a->va, EPT_QUAL_GLA_VALID, s2, a->fault);
	if (ret)
		return ret;
	*epp = hw_entry_ptr(cpu->m, s2->hpa);
	return 0;
}

static int hw_s1_walk(struct hw_access *a, struct hw_s1 *s)
{
	struct hw_cpu *cpu = a->cpu;
	uint64_t table = cpu->cr3 & X86_PTE_ADDR;
	bool upper_rw = true;
	int ret;

	memset(s, 0, sizeof(*s));
	s->user = s->rw = true;
	for (int level = HW_PT_LEVELS; level >= 1; level--) {
		uint64_t epa = table + 8ull * hw_pt_index(a->va, level);
		uint64_t *ep;
		uint64_t e;
		bool leaf;

		ret = hw_s1_entry(a, epa, &ep, &s->es2[s->n]);
		if (ret)
			return ret;
		e = hw_entry_load(ep);
		s->ep[s->n] = ep;
		s->ev[s->n] = e;
		s->egpa[s->n++] = epa;
		if (!(e & X86_PTE_P))
			return hw_raise_pf(a, 0);
		if (hw_s1_rsvd(cpu, e, level))
			return hw_raise_pf(a, X86_PF_P | X86_PF_RSVD);
		leaf = level == 1 || (e & X86_PTE_PS);
		s->user &= !!(e & X86_PTE_US);
		s->rw &= !!(e & X86_PTE_RW);
		if ((cpu->efer & X86_EFER_NXE) && (e & X86_PTE_NX))
			s->nx = true;
		if (leaf) {
			uint64_t size = hw_pt_level_size(level);

			s->level = level;
			s->gpa = ((e & X86_PTE_ADDR) & ~(size - 1)) | (a->va & (size - 1));
			s->dirty = e & X86_PTE_D;
			s->shstk = (cpu->cr4 & X86_CR4_CET) && upper_rw && !(e & X86_PTE_RW) &&
				   (e & X86_PTE_D);
			return 0;
		}
		upper_rw = upper_rw && (e & X86_PTE_RW);
		table = e & X86_PTE_ADDR;
	}
	return 0;   /* not reached: level 1 is always a leaf */
}

/*
 * Sets A on every entry walked and D on the leaf of a write, as one atomic
 * update per entry. 1 if an entry changed under us (walk again).
 */
static int hw_s1_update_ad(struct hw_access *a, struct hw_s1 *s)
{
	for (int i = 0; i < s->n; i++) {
		bool is_leaf = i == s->n - 1;
		uint64_t want = s->ev[i] | X86_PTE_A;

		if (is_leaf && a->type == HW_ACC_WRITE)
			want |= X86_PTE_D;
		if (want == s->ev[i])
			continue;
		if (!s->es2[i].w)
			return hw_ept_violation(a->cpu, s->egpa[i], HW_ACC_WRITE, &s->es2[i], a->va,
						EPT_QUAL_GLA_VALID, a->fault);
		if (!ptep_try_cmpxchg(s->ep[i], &s->ev[i], want))
			return 1;
		if (is_leaf && (want & X86_PTE_D))
			s->dirty = true;
	}
	return 0;
}

/* ---- the access path ---- */

static bool hw_canonical(uint64_t va)
{
	return (uint64_t)((int64_t)(va << 16) >> 16) == va;
}

static int hw_acc_check(unsigned int acc)
{
	unsigned int type = acc & HW_ACC_TYPE_MASK;

	if (acc & ~(HW_ACC_TYPE_MASK | HW_ACC_SHSTK | HW_ACC_AS_USER | HW_ACC_IMPLICIT))
		return -EINVAL;
	if (type == 3 || (type == HW_ACC_FETCH && (acc & HW_ACC_SHSTK)))
		return -EINVAL;
	if ((acc & HW_ACC_AS_USER) && (acc & HW_ACC_IMPLICIT))
		return -EINVAL;
	return 0;
}

static uint64_t *hw_tlb_tag(struct hw_tlb_entry *e, unsigned int acc)
{
	switch (acc & (HW_ACC_TYPE_MASK | HW_ACC_SHSTK)) {
	case HW_ACC_READ:
		return &e->tag_read;
	case HW_ACC_WRITE:
		return &e->tag_write;
	case HW_ACC_FETCH:
		return &e->tag_fetch;
	case HW_ACC_SS_READ:
		return &e->tag_ss_read;
	default:
		return &e->tag_ss_write;
	}
}

/* The tags of this page valid for @user accesses without further checks. */
static unsigned int hw_fill_tags(const struct hw_cpu *cpu, bool user, const struct hw_s1 *s,
				 const struct hw_s2 *s2)
{
	bool mbec_user = hw_has(cpu->m, MV_FEAT_MBEC) && s->user && s->level;
	unsigned int tags = 0;

	if (hw_s1_allows(cpu, HW_ACC_READ, false, user, false, s))
		tags |= HW_TLB_T_READ;
	if (s->dirty && hw_s1_allows(cpu, HW_ACC_WRITE, false, user, false, s))
		tags |= HW_TLB_T_WRITE;
	if (hw_s1_allows(cpu, HW_ACC_FETCH, false, user, false, s))
		tags |= HW_TLB_T_FETCH;
	if (hw_s1_allows(cpu, HW_ACC_READ, true, user, false, s))
		tags |= HW_TLB_T_SS_READ;
	if (s->dirty && hw_s1_allows(cpu, HW_ACC_WRITE, true, user, false, s))
		tags |= HW_TLB_T_SS_WRITE;
	if (!cpu->guest)
		return tags;
	if (!s2->r)
		tags &= ~(HW_TLB_T_READ | HW_TLB_T_SS_READ);
	if (!s2->w || (!s2->dirty && (cpu->eptp & HW_EPTP_AD)))
		tags &= ~(HW_TLB_T_WRITE | HW_TLB_T_SS_WRITE);
	if (!(mbec_user ? s2->ux : s2->x))
		tags &= ~HW_TLB_T_FETCH;
	return tags;
}

/* Without paging: every access is allowed by stage 1. */
static void hw_s1_identity(struct hw_access *a, struct hw_s1 *s)
{
	memset(s, 0, sizeof(*s));
	s->gpa = a->va;
	s->user = s->rw = s->dirty = true;
}

static void hw_trace_fault(struct hw_cpu *cpu, uint64_t va, unsigned int acc,
			   const struct hw_fault *f)
{
	struct lib_trace_ev ev;

	if (!lib_trace_begin(&ev, &cpu->m->trace, "hw_fault"))
		return;
	lib_trace_u64(&ev, "kind", f->kind);
	lib_trace_hex(&ev, "va", va);
	lib_trace_hex(&ev, "acc", acc);
	lib_trace_hex(&ev, "addr", f->addr);
	lib_trace_hex(&ev, "error_code", f->error_code);
	if (f->kind == HW_FAULT_EPT_VIOLATION)
		lib_trace_hex(&ev, "qualification", f->qualification);
	lib_trace_emit(&ev);
}

/*
 * Is the page mapped as tagged memory? In a guest, when stage 2 says so
 * (KVM does with KVM_CAP_ARM_MTE); on the host, when the stage-1 leaf
 * does (PROT_MTE). Accesses to it are checked when the CPU checks at all,
 * except a host supervisor's (kernel) accesses.
 */
static bool hw_mte_page_tagged_mem(const struct hw_access *a, const struct hw_s1 *s,
				   const struct hw_s2 *s2)
{
	if (a->cpu->guest)
		return s2->mte;
	return s->level && (s->ev[s->n - 1] & X86_PTE_MTE);
}

static int hw_mmu_walk(struct hw_access *a, struct hw_xlate *out)
{
	struct hw_cpu *cpu = a->cpu;
	struct hw_s2 s2 = { .r = true, .w = true, .x = true, .ux = true, .dirty = true };
	struct hw_s1 s;
	uint64_t pa;
	int ret;

retry:
	if (cpu->cr0 & X86_CR0_PG) {
		if (!hw_canonical(a->va)) {
			*a->fault = (struct hw_fault){ .kind = HW_FAULT_GP, .addr = a->va };
			return -EFAULT;
		}
		ret = hw_s1_walk(a, &s);
		if (ret)
			return ret;
		if (!hw_s1_allows(cpu, a->type, a->acc & HW_ACC_SHSTK, a->user,
				  cpu->rflags_ac && !(a->acc & HW_ACC_IMPLICIT), &s))
			return hw_raise_pf(a, X86_PF_P);
	} else {
		hw_s1_identity(a, &s);
	}
	pa = s.gpa;
	if (cpu->guest) {
		uint64_t bits = EPT_QUAL_GLA_VALID | EPT_QUAL_GLA_XLATE;

		if (s.level && s.user)
			bits |= EPT_QUAL_USER;
		ret = hw_s2_walk(cpu, s.gpa, a->type, s.level && s.user, a->va, bits, &s2, a->fault);
		if (ret)
			return ret;
		pa = s2.hpa;
	}
	if (pa >= cpu->m->phys.bytes && !hw_pa_is_epc(cpu->m, pa)) {
		*a->fault = (struct hw_fault){ .kind = HW_FAULT_BAD_PA, .addr = pa, .gla = a->va };
		return -EFAULT;
	}
	if (s.level) {
		ret = hw_s1_update_ad(a, &s);
		if (ret > 0)
			goto retry;
		if (ret)
			return ret;
	}
	if (pa >= cpu->m->phys.bytes) {   /* SGX: outside an enclave, the abort page; never cached */
		hw_epc_abort_xlate(cpu->m, pa, a->type, out);
		return 0;
	}

	out->pa = pa;
	out->host = hw_pa_to_host(cpu->m, pa);
	out->shstk = s.shstk;
	out->tagged = hw_mte_page_tagged_mem(a, &s, &s2);
	out->mte_check = out->tagged && cpu->mte_tcf != HW_MTE_TCF_NONE && (cpu->guest || a->user);
	hw_tlb_fill(cpu, a->user, a->va, hw_fill_tags(cpu, a->user, &s, &s2),
		    hw_pa_to_host(cpu->m, pa & HW_PAGE_MASK), pa & HW_PAGE_MASK,
		    (s.shstk ? HW_TLB_F_SHSTK : 0) | ((uint64_t)s.level << HW_TLB_F_LEVEL_SHIFT) |
		    (out->mte_check ? HW_TLB_F_MTE : 0) | (out->tagged ? HW_TLB_F_TAGGED : 0));
	return 0;
}

/*
 * The TLB hit the one-compare test misses: an address carrying a tag in
 * its top byte (with TBI, looked up untagged; a.va becomes the untagged
 * address for the walk), or an entry whose tags have HW_TLB_CHECK.
 */
static bool hw_tlb_hit_checked(struct hw_cpu *cpu, struct hw_access *a,
			       const struct hw_tlb_entry *e, struct hw_xlate *out)
{
	uint64_t tag;

	if (cpu->tbi)
		a->va = hw_mte_untag(a->va);
	tag = *hw_tlb_tag((struct hw_tlb_entry *)e, a->acc);
	if ((tag & ~HW_TLB_CHECK) != (a->va & HW_PAGE_MASK))
		return false;
	hw_stat_inc(&cpu->tlb.stats.hits);
	out->pa = e->pa | (a->va & ~HW_PAGE_MASK);
	out->host = (void *)(uintptr_t)(a->va + e->addend);
	out->shstk = e->flags & HW_TLB_F_SHSTK;
	out->mte_check = tag & HW_TLB_CHECK;
	out->tagged = e->flags & HW_TLB_F_TAGGED;
	return true;
}

int hw_mmu_translate(struct hw_cpu *cpu, uint64_t va, unsigned int acc, struct hw_xlate *out,
		     struct hw_fault *fault)
{
	struct hw_access a = {
		.cpu = cpu, .va = va, .acc = acc, .type = acc & HW_ACC_TYPE_MASK, .fault = fault,
	};
	struct hw_tlb_entry *e;
	int ret;

	ret = hw_acc_check(acc);
	if (ret)
		return ret;
	a.user = (cpu->cpl == 3 && !(acc & HW_ACC_IMPLICIT)) || (acc & HW_ACC_AS_USER);
	hw_tlb_sync(cpu);
	e = hw_tlb_slot(cpu, va, a.user);
	if (*hw_tlb_tag(e, acc) == (va & HW_PAGE_MASK)) {
		hw_stat_inc(&cpu->tlb.stats.hits);
		out->pa = e->pa | (va & ~HW_PAGE_MASK);
		out->host = (void *)(uintptr_t)(va + e->addend);
		out->shstk = e->flags & HW_TLB_F_SHSTK;
		out->mte_check = false;
		out->tagged = e->flags & HW_TLB_F_TAGGED;
		return 0;
	}
	/* a tagged pointer, or a page that needs a tag check: the second look */
	if (hw_tlb_hit_checked(cpu, &a, e, out))
		return 0;
	hw_stat_inc(&cpu->tlb.stats.misses);
	memset(fault, 0, sizeof(*fault));
	ret = hw_mmu_walk(&a, out);
	if (ret && lib_trace_on(&cpu->m->trace))
		hw_trace_fault(cpu, va, acc, fault);
	return ret;
}
