/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for KVM_SET_MSRS / KVM_GET_MSRS (struct kvm_msrs and
 * its kvm_msr_entry array, the guest's CET state): batches of entries
 * taken from the input, the index pulled towards the seven CET MSRs and
 * memvisor's MTE control MSR (MSR_MV_MTE_CTRL: the tag-check mode a
 * snapshot carries), the value towards what passes or just fails a check. The header and the
 * entries go to the kernel in one heap block of exactly their size, so a
 * read past the last entry is an AddressSanitizer report.
 *
 * Rules, against a shadow of each vCPU's eight MSRs kept by an independent
 * model of mainline's checks (docs/kvm.md, "CET state"): a SET answers the
 * number of entries before the first refused one and changes exactly
 * those; a GET answers the same count and reads the shadow's values; a
 * batch of 256 or more is -E2BIG and a pointer the kernel must refuse is
 * -EFAULT, both changing nothing; no frame outlives the VMM. The guest's
 * own WRMSR and RDMSR of the same MSRs (mv_guest_wrmsr/rdmsr), run from
 * the guest program, go through the same checks or raise #GP: at CPL 3,
 * for memvisor's MTE control MSR (the VMM's alone), and wherever a VMM's
 * write would be refused; what the guest writes moves the shadow.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "fz_vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_NMSR 8
#define FZ_MTE_SLOT 7   /* memvisor's MSR_MV_MTE_CTRL: TCF in bits 1:0, TBI in bit 2 */
static const uint32_t fz_msr_index[FZ_NMSR] = {
	MSR_IA32_U_CET, MSR_IA32_S_CET, MSR_IA32_PL0_SSP, MSR_IA32_PL1_SSP,
	MSR_IA32_PL2_SSP, MSR_IA32_PL3_SSP, MSR_IA32_INT_SSP_TAB, MSR_MV_MTE_CTRL,
};

struct fz_cet {
	uint64_t val[FZ_VCPUS][FZ_NMSR];
	unsigned int gen[FZ_VCPUS];     /* the vCPU generation the shadow describes */
	bool shstk, ibt;
	const bool *mte;                /* the VM has KVM_CAP_ARM_MTE (fz_vm) */
};

static int fz_msr_slot(uint32_t index)
{
	for (int i = 0; i < FZ_NMSR; i++)
		if (fz_msr_index[i] == index)
			return i;
	return -1;
}

/* The model: may @index hold @val on this machine? (kvm_set_msr_common) */
static bool fz_msr_ok(const struct fz_cet *s, int slot, uint64_t val, bool write)
{
	if (slot < 0)
		return false;
	if (slot == FZ_MTE_SLOT)   /* any mode, TBI kept, on an MTE VM; 0 elsewhere */
		return !write || (*s->mte ? (val & ~MV_MTE_CTRL_TCF_MASK) == MV_MTE_CTRL_TBI : !val);
	if (slot <= 1 && !s->shstk && !s->ibt)
		return false;
	if (slot >= 2 && !s->shstk)
		return false;
	if (!write)
		return true;
	if (slot <= 1) {
		if (val & 0x3c0)
			return false;
		if (!s->shstk && (val & 3))
			return false;
		if (!s->ibt && (val & (0x3cull | ~0x3ffull)))
			return false;
		if ((val >> 12) & 3)
			return false;
		return !((val & (1ull << 10)) && (val & (1ull << 11)));
	}
	if ((uint64_t)((int64_t)(val << 16) >> 16) != val)
		return false;
	return slot == 6 || !(val & 3);
}

static uint64_t fz_msr_value(struct fz_vm *v)
{
	static const uint64_t near[] = {
		0, 1, 3, 4, 0x7, 0x40, 0x400, 0xc00, 0x1000, 0x4000, 0x7fff0000, 0x7fff0002,
		0x7fffffffffffull, 0x800000000000ull, 0xffff800000000000ull, ~0ull,
	};
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);

	if (sel < 160)
		return near[sel % 16] ^ (sel >= 128 ? 1ull << (fz_u(&v->in, 1) % 64) : 0);
	return fz_u(&v->in, 8);
}

static void fz_shadow_sync(struct fz_cet *s, unsigned int i, const struct fz_vcpu *c)
{
	if (s->gen[i] != c->generation) {   /* a new vCPU starts with its CET state clear */
		memset(s->val[i], 0, sizeof(s->val[i]));
		/* and, on an MTE VM (the cap comes before any vCPU), sync checks with TBI */
		s->val[i][FZ_MTE_SLOT] = *s->mte ? MV_MTE_CTRL_TBI | 1 : 0;
		s->gen[i] = c->generation;
	}
}

static void fz_msrs_batch(struct fz_vm *v, struct fz_cet *s, unsigned int i, struct fz_vcpu *c,
			  bool write)
{
	unsigned int n = (unsigned int)fz_u(&v->in, 1) % 9, want = 0;
	size_t bytes = sizeof(struct kvm_msrs) + n * sizeof(struct kvm_msr_entry);
	struct kvm_msrs *m = calloc(1, bytes);
	uint64_t next[FZ_NMSR];
	bool stopped = false;
	long r;

	if (!m)
		abort();
	memcpy(next, s->val[i], sizeof(next));
	m->nmsrs = n;
	for (unsigned int e = 0; e < n; e++) {
		unsigned int sel = (unsigned int)fz_u(&v->in, 1);
		uint32_t index = sel < 224 ? fz_msr_index[sel % FZ_NMSR] : (uint32_t)fz_u(&v->in, 4);
		int slot = fz_msr_slot(index);

		m->entries[e].index = index;
		m->entries[e].data = write ? fz_msr_value(v) : 0x5a5a;
		if (stopped || !fz_msr_ok(s, slot, m->entries[e].data, write)) {
			stopped = true;
			continue;
		}
		want++;
		if (write)
			next[slot] = m->entries[e].data;
	}
	r = fz_syscall(v, MV_SYS_ioctl, (uint64_t)c->fd, write ? KVM_SET_MSRS : KVM_GET_MSRS,
		       (uint64_t)(uintptr_t)m, 0, 0, 0);
	if (r != (long)want)
		abort();
	for (unsigned int e = 0; !write && e < n; e++) {
		int slot = fz_msr_slot(m->entries[e].index);
		uint64_t expect = e < want ? s->val[i][slot] : 0x5a5a;

		if (m->entries[e].data != expect)
			abort();
	}
	memcpy(s->val[i], next, sizeof(next));
	free(m);
}

/*
 * The guest's WRMSR or RDMSR (kvm_emulate_wrmsr/rdmsr, on the CET cases of
 * kvm_set/get_msr_common): it works exactly when the VMM's would and the
 * guest is at CPL 0; otherwise #GP, nothing written. An exception the
 * VMM queued may be delivered instead, before the instruction.
 */
static void fz_cet_guest_msr(struct mv_guest *g, struct fz_vcpu *c)
{
	struct fz_vm *v = c->v;
	struct fz_cet *s = v->guest_op_ctx;
	unsigned int i = (unsigned int)(c - v->vcpu), sel = (unsigned int)fz_u(&v->in, 1);
	uint32_t index = sel < 224 ? fz_msr_index[sel % FZ_NMSR] : (uint32_t)fz_u(&v->in, 4);
	int slot = fz_msr_slot(index);
	bool write = sel / FZ_NMSR & 1, ok;
	uint64_t val = write ? fz_msr_value(v) : 0;
	struct mv_guest_fault f;
	long r;

	fz_shadow_sync(s, i, c);
	ok = !c->cpl3 && slot >= 0 && slot != FZ_MTE_SLOT && fz_msr_ok(s, slot, val, write);
	r = write ? mv_guest_wrmsr(g, index, val) : mv_guest_rdmsr(g, index, &val);
	if (r == 0) {
		if (!ok)
			abort();   /* the guest got past a check */
		if (write)
			s->val[i][slot] = val;
		else if (val != s->val[i][slot])
			abort();
		return;
	}
	if (r != -EFAULT || mv_guest_last_fault(g, &f) != 1)
		abort();
	if (!c->exc_maybe && (ok || f.vector != X86_VEC_GP))
		abort();   /* refused what the VMM may write, or not with #GP */
}

/* Refusals: a batch too big, a header the kernel cannot read; the shadow must not move. */
static void fz_msrs_refused(struct fz_vm *v, struct fz_vcpu *c)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m));
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);
	unsigned int cmd = sel & 1 ? KVM_SET_MSRS : KVM_GET_MSRS;

	if (!m)
		abort();
	m->nmsrs = 256 + (uint32_t)fz_u(&v->in, 2);
	if (fz_syscall(v, MV_SYS_ioctl, (uint64_t)c->fd, cmd, (uint64_t)(uintptr_t)m, 0, 0, 0) !=
	    -E2BIG)
		abort();
	if (fz_syscall(v, MV_SYS_ioctl, (uint64_t)c->fd, cmd, fz_bad_ptr(sel / 2), 0, 0, 0) !=
	    -EFAULT)
		abort();
	free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_vm v;
	struct fz_cet s;

	fz_vm_start(&v, data, size);
	memset(&s, 0, sizeof(s));
	s.shstk = hw_has(&v.m->hw, MV_FEAT_SHSTK);
	s.ibt = hw_has(&v.m->hw, MV_FEAT_IBT);
	s.mte = &v.mte;
	v.guest_op = fz_cet_guest_msr;
	v.guest_op_ctx = &s;
	while (fz_more(&v.in)) {
		unsigned int op = (unsigned int)fz_u(&v.in, 1);
		struct fz_vcpu *c = op < 128 ? fz_vm_vcpu(&v, op) : NULL;
		unsigned int i = op % FZ_VCPUS;   /* fz_vm_vcpu's slot */

		if (op < 128 && !c)
			continue;
		if (c)
			fz_shadow_sync(&s, i, c);
		if (op < 64)
			fz_msrs_batch(&v, &s, i, c, true);
		else if (op < 112)
			fz_msrs_batch(&v, &s, i, c, false);
		else if (op < 128)
			fz_msrs_refused(&v, c);
		else
			fz_vm_support(&v, op);
	}
	fz_vm_finish(&v);
	return 0;
}
