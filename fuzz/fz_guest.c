/* SPDX-License-Identifier: MIT */
/*
 * The guest program the KVM harnesses run (operations read from the input,
 * each checked from inside the guest: MMIO reads return the VMM's answer,
 * hypercall results follow the capability and the VMM's reply, control
 * registers read back what the CPU took), and KVM_RUN with every exit
 * checked against the harness's shadow.
 */
#include <stdlib.h>
#include <string.h>

#include "fz_vm.h"

/* The guest wrote [gpa, gpa + len) with paging off: a logged slot must report it. */
static void fz_note_write(struct fz_vm *v, uint64_t gpa, size_t len)
{
	struct fz_slot *s;

	if (!len || (gpa & (FZ_PAGE - 1)) + len > FZ_PAGE)
		return;
	s = fz_slot_at(v, gpa / FZ_PAGE);
	if (!s || !(s->flags & KVM_MEM_LOG_DIRTY_PAGES) || (s->flags & KVM_MEM_READONLY))
		return;
	if (s->ndirty < FZ_DIRTY)
		s->dirty[s->ndirty++] = gpa / FZ_PAGE - s->gfn;
}

/* ---- the guest program ---- */

/* What the VMM answers: MMIO read data and hypercall results, from the address alone. */
static uint8_t fz_mmio_byte(uint64_t gpa)
{
	return (uint8_t)((gpa * 0x9e3779b97f4a7c15ull) >> 56);
}

static uint64_t fz_hc_reply(uint64_t a0)
{
	return a0 * 0xff51afd7ed558ccdull ^ 0x5555;
}

/* CR0.PG; a pending exception is taken by the first try (it was queued by KVM or the VMM). */
static bool fz_guest_paging(struct mv_guest *g)
{
	uint64_t cr0 = 0;

	if (mv_guest_read_cr(g, 0, &cr0) && mv_guest_read_cr(g, 0, &cr0))
		abort();
	return cr0 & FZ_CR0_PG;
}

/* -EFAULT must come with a fault the guest can be given. */
static void fz_guest_check_fault(struct mv_guest *g, long r)
{
	struct mv_guest_fault f;

	if (r == 0)
		return;
	if (r != -EFAULT || mv_guest_last_fault(g, &f) != 1)
		abort();
	if (f.vector < 0 || f.vector > 31)
		abort();   /* #PF, #GP, #UD, #CP, or one the VMM injected */
}

static uint64_t fz_guest_addr(struct fz_vm *v)
{
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);

	if (sel < 128)
		return fz_vm_gpa(v) + fz_u(&v->in, 1) * 16 % FZ_PAGE;
	if (sel < 200)
		return FZ_HOLE_GPA + (fz_u(&v->in, 1) << 4);
	if (sel < 230)
		return fz_vm_gpa(v) + FZ_PAGE - sel % 16;   /* across a page boundary */
	return fz_u(&v->in, 8);
}

static size_t fz_guest_len(struct fz_vm *v)
{
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);

	if (sel < 200)
		return 1u << (sel % 4);
	if (sel < 240)
		return sel % 64 + 1;
	return (size_t)(fz_u(&v->in, 2) % (2 * FZ_PAGE + 16));
}

/* The address the CPU uses: an MTE VM's vCPUs ignore the top byte (bits 63:56 from bit 55). */
static uint64_t fz_guest_untag(const struct fz_vm *v, uint64_t a)
{
	return v->mte ? (uint64_t)((int64_t)(a << 8) >> 8) : a;
}

static void fz_guest_read(struct mv_guest *g, struct fz_vcpu *c)
{
	struct fz_vm *v = c->v;
	uint64_t gpa = fz_guest_addr(v);
	size_t len = fz_guest_len(v);
	uint8_t buf[2 * FZ_PAGE + 16];
	bool flat = !fz_guest_paging(g);
	unsigned int sregs = c->sregs_gen;
	long r = mv_guest_read(g, gpa, buf, len);

	fz_guest_check_fault(g, r);
	gpa = fz_guest_untag(v, gpa);
	flat = flat && !fz_guest_paging(g) && sregs == c->sregs_gen;
	/* nothing backs it: the bytes are the VMM's answer to the MMIO exit */
	if (!r && flat && len <= 8 && (gpa & (FZ_PAGE - 1)) + len <= FZ_PAGE &&
	    !fz_slot_at(v, gpa / FZ_PAGE))
		for (size_t i = 0; i < len; i++)
			if (buf[i] != fz_mmio_byte(gpa + i))
				abort();
}

static void fz_guest_write(struct mv_guest *g, struct fz_vcpu *c, bool pte)
{
	struct fz_vm *v = c->v;
	uint64_t gpa = fz_guest_addr(v);
	size_t len = pte ? 8 : fz_guest_len(v);
	uint8_t buf[2 * FZ_PAGE + 16];
	bool flat = !fz_guest_paging(g);
	uint64_t changes = v->changes;
	unsigned int sregs = c->sregs_gen;
	long r;

	if (pte) {
		/* a page-table entry: somewhere low, with flags from the input */
		uint64_t e = fz_vm_gpa(v) | fz_u(&v->in, 2) % FZ_PAGE | (fz_u(&v->in, 1) & 0x80) << 56;

		gpa &= ~7ull;
		memcpy(buf, &e, 8);
	} else {
		memset(buf, (int)fz_u(&v->in, 1), len);
	}
	r = mv_guest_write(g, gpa, buf, len);
	fz_guest_check_fault(g, r);
	gpa = fz_guest_untag(v, gpa);
	/* a write that met no exit went where the slots say; one that did may have been MMIO */
	if (!r && flat && !fz_guest_paging(g) && changes == v->changes && sregs == c->sregs_gen)
		fz_note_write(v, gpa, len);
}

static void fz_guest_hypercall(struct mv_guest *g, struct fz_vcpu *c)
{
	struct fz_vm *v = c->v;
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);
	bool checked = sel < 160, lm = fz_guest_paging(g);
	uint64_t nr = KVM_HC_MAP_GPA_RANGE, a[3];
	long r, want;

	if (checked) {
		a[0] = (fz_u(&v->in, 2) % 4096) * FZ_PAGE;
		a[1] = fz_u(&v->in, 1) % 16 + 1;
		a[2] = fz_u(&v->in, 1);
	} else {
		nr = sel & 1 ? fz_u(&v->in, 1) % 16 : fz_u(&v->in, 8);
		for (int i = 0; i < 3; i++)
			a[i] = fz_u(&v->in, 8);
		/* Heki's calls change stage 2, which the shadow does not model (fuzz_heki_page_list) */
		if (nr == KVM_HC_LOCK_CR_UPDATE || nr == KVM_HC_PROTECT_MEMORY ||
		    nr == KVM_HC_HEKI_TEXT_POKE || nr == KVM_HC_HEKI_AUTH_MODULE)
			nr = KVM_HC_SCHED_YIELD;
	}
	/* decided when the call is made: the VMM may change both during the exit */
	if (c->cpl3)
		want = -KVM_EPERM;
	else if (!(v->hc_enabled & (1ull << KVM_HC_MAP_GPA_RANGE)))
		want = -KVM_ENOSYS;
	else
		want = (long)fz_hc_reply(a[0]);   /* what the VMM answers */
	if (!lm)
		want = (long)(int32_t)(uint32_t)want;
	r = mv_guest_hypercall(g, nr, a[0], a[1], a[2], 0);
	if (checked && r != want && !(r == -EFAULT && c->exc_maybe))
		abort();
}

static const int fz_crs[] = { 0, 2, 3, 4, 8 };

static void fz_guest_cr(struct mv_guest *g, struct fz_vcpu *c, bool write)
{
	struct fz_vm *v = c->v;
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);
	int cr = sel < 250 ? fz_crs[sel % 5] : (int)fz_u(&v->in, 1) - 8;
	uint64_t val = 0, back = 0;
	long r;

	if (!write) {
		r = mv_guest_read_cr(g, cr, &val);
		fz_guest_check_fault(g, r);
		if (!r && cr == 8 && val > 15)
			abort();   /* CR8 holds four bits */
		return;
	}
	if (mv_guest_read_cr(g, cr, &val))
		val = 0;
	sel = (unsigned int)fz_u(&v->in, 1);
	val = sel < 128 ? val ^ (1ull << (sel % 64)) : sel < 192 ? fz_u(&v->in, 1) : fz_u(&v->in, 8);
	r = mv_guest_write_cr(g, cr, val);
	fz_guest_check_fault(g, r);
	if (!r) {
		if (cr == 8 && val > 15)
			abort();
		if (!mv_guest_read_cr(g, cr, &back) && back != val)
			abort();   /* a write the CPU took reads back */
	}
}

static void fz_guest_op(struct mv_guest *g, struct fz_vcpu *c, unsigned int op)
{
	struct fz_vm *v = c->v;
	uint8_t tag = 0;
	long r, r2;

	switch (op) {
	case 0:
	case 1:
		fz_guest_read(g, c);
		break;
	case 2:
	case 3:
		fz_guest_write(g, c, false);
		break;
	case 4:
		fz_guest_write(g, c, true);
		break;
	case 5:
		fz_guest_check_fault(g, mv_guest_fetch(g, fz_guest_addr(v), fz_guest_len(v)));
		break;
	case 6:
		fz_guest_hypercall(g, c);
		break;
	case 7:
	case 8:
		fz_guest_cr(g, c, op == 7);
		break;
	default:
		if (v->guest_op && fz_u(&v->in, 1) < 128) {
			v->guest_op(g, c);
			break;
		}
		/* without KVM_CAP_ARM_MTE: #UD; with it, a store / a load that may fault */
		r = mv_guest_set_tag(g, fz_u(&v->in, 8));
		r2 = mv_guest_get_tag(g, fz_u(&v->in, 8), &tag);
		if (!v->mte && (r != -EFAULT || r2 != -EFAULT))
			abort();
		fz_guest_check_fault(g, r);
		fz_guest_check_fault(g, r2);
		if (!r2 && tag > 15)
			abort();   /* a tag is four bits */
		break;
	}
}

void fz_guest_program(struct mv_guest *g, void *arg)
{
	struct fz_vcpu *c = arg;
	struct fz_vm *v = c->v;

	while (fz_more(&v->in)) {
		unsigned int op = (unsigned int)fz_u(&v->in, 1);

		c->steps++;
		if (op >= 0xf0)
			return;   /* HLT, for good */
		fz_guest_op(g, c, op % 10);
	}
}

/* ---- vCPUs ---- */

struct fz_vcpu *fz_vm_vcpu(struct fz_vm *v, unsigned int i)
{
	struct fz_vcpu *c = &v->vcpu[i % FZ_VCPUS];
	long fd;

	if (c->fd >= 0)
		return c;
	/* a closed vCPU stays in the VM: the next one takes a new id */
	fd = fz_syscall(v, MV_SYS_ioctl, (uint64_t)v->vm, KVM_CREATE_VCPU,
			i % FZ_VCPUS + FZ_VCPUS * c->generation, 0, 0, 0);
	if (fd < 0)
		return NULL;
	c->generation++;
	c->fd = (int)fd;
	c->run = mv_vcpu_run_area(v->t, c->fd);
	c->pend = FZ_PEND_NONE;
	c->mmio_next = ~0ull;
	c->cpl3 = false;
	c->exc_maybe = false;
	if (!c->run || mv_vcpu_set_guest(v->t, c->fd, fz_guest_program, c))
		abort();
	return c;
}

void fz_vcpu_close(struct fz_vm *v, struct fz_vcpu *c)
{
	if (c->fd < 0)
		return;
	if (fz_syscall(v, MV_SYS_close, (uint64_t)c->fd, 0, 0, 0, 0, 0))
		abort();
	c->fd = -1;
	c->run = NULL;
}

/*
 * An MMIO exit: at most 8 bytes within a page, and never where a slot backs
 * the access or the memory is private. An access split into several exits
 * finishes as MMIO whatever the VMM changes in between (as KVM's emulator
 * finishes its fragments), so for the exits after the first the second
 * rule holds only if nothing changed since the first.
 */
static void fz_check_mmio(struct fz_vm *v, struct fz_vcpu *c, const struct kvm_run *run)
{
	uint64_t gpa = run->mmio.phys_addr;
	const struct fz_slot *s = fz_slot_at(v, gpa / FZ_PAGE);
	bool next = gpa == c->mmio_next && run->mmio.is_write == c->mmio_write;

	if (run->mmio.len < 1 || run->mmio.len > 8 || run->mmio.is_write > 1 ||
	    (gpa & (FZ_PAGE - 1)) + run->mmio.len > FZ_PAGE)
		abort();
	if (!next)
		c->mmio_changes = v->changes;
	c->mmio_next = run->mmio.len == 8 ? gpa + 8 : ~0ull;
	c->mmio_write = run->mmio.is_write;
	if (c->mmio_changes == v->changes) {
		if (s && !((s->flags & KVM_MEM_READONLY) && run->mmio.is_write))
			abort();
		if (fz_attr_at(v, gpa / FZ_PAGE) & KVM_MEMORY_ATTRIBUTE_PRIVATE)
			abort();
	}
	if (!run->mmio.is_write) {
		c->pend = FZ_PEND_MMIO_READ;
		c->pend_gpa = gpa;
	}
}

static void fz_check_exit(struct fz_vm *v, struct fz_vcpu *c, const struct kvm_run *run, long r)
{
	uint64_t gfn;

	if (run->exit_reason != KVM_EXIT_MMIO)
		c->mmio_next = ~0ull;
	switch (run->exit_reason) {
	case KVM_EXIT_HLT:
		if (r)
			abort();
		break;
	case KVM_EXIT_MMIO:
		if (r)
			abort();
		fz_check_mmio(v, c, run);
		break;
	case KVM_EXIT_HYPERCALL:
		if (r || run->hypercall.nr != KVM_HC_MAP_GPA_RANGE ||
		    !(v->hc_enabled & (1ull << KVM_HC_MAP_GPA_RANGE)))
			abort();
		c->pend = FZ_PEND_HYPERCALL;
		c->pend_arg = run->hypercall.args[0];
		break;
	case KVM_EXIT_MEMORY_FAULT:
		gfn = run->memory_fault.gpa / FZ_PAGE;
		if (r != -EFAULT || run->memory_fault.size != FZ_PAGE ||
		    (run->memory_fault.gpa & (FZ_PAGE - 1)))
			abort();
		if (run->memory_fault.flags !=
		    (fz_attr_at(v, gfn) & KVM_MEMORY_ATTRIBUTE_PRIVATE ? KVM_MEMORY_EXIT_FLAG_PRIVATE : 0))
			abort();
		if (!run->memory_fault.flags && !fz_slot_at(v, gfn))
			abort();   /* a shared fault needs a slot whose VMM page failed */
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		if (r || run->internal.suberror != KVM_INTERNAL_ERROR_EMULATION ||
		    run->internal.ndata > 16)
			abort();
		c->exc_maybe = true;   /* KVM queues #UD for the guest's next instruction */
		break;
	default:
		abort();
	}
}

/*
 * The run area's input as KVM_RUN takes it in: sync-regs parts the VMM
 * marks dirty are loaded before the guest runs (so the special registers
 * and a pending exception may change under the guest), and a field KVM
 * refuses stops KVM_RUN with -EINVAL before anything runs.
 */
static bool fz_run_refused(struct fz_vcpu *c, const struct kvm_run *run)
{
	uint64_t valid = KVM_SYNC_X86_VALID_FIELDS;

	if (run->kvm_dirty_regs & KVM_SYNC_X86_SREGS) {
		c->sregs_gen++;
		c->cpl3 = run->s.regs.sregs.ss.dpl == 3;
	}
	if (run->kvm_dirty_regs & KVM_SYNC_X86_EVENTS)
		c->exc_maybe = true;
	return (run->kvm_valid_regs & ~valid) || (run->kvm_dirty_regs & ~valid) ||
	       (run->cr8 & ~0xfull);
}

/* After KVM_RUN: the CPL is what KVM says, whatever the sync regs held. */
static void fz_run_resync(struct fz_vm *v, struct fz_vcpu *c)
{
	struct kvm_sregs s;

	if (fz_ioctl(v, c->fd, KVM_GET_SREGS, &s))
		abort();
	c->cpl3 = s.ss.dpl == 3;
}

long fz_vm_run(struct fz_vm *v, struct fz_vcpu *c, uint64_t arg)
{
	struct kvm_run *run = c->run;
	uint64_t steps = c->steps, dirty = run->kvm_dirty_regs;
	uint32_t reason = run->exit_reason;
	bool imm, refused;
	long r;

	/* the VMM's answer to the last exit, whatever else the page holds */
	if (c->pend == FZ_PEND_MMIO_READ)
		for (int i = 0; i < 8; i++)
			run->mmio.data[i] = fz_mmio_byte(c->pend_gpa + (uint64_t)i);
	else if (c->pend == FZ_PEND_HYPERCALL)
		run->hypercall.ret = fz_hc_reply(c->pend_arg);
	imm = run->immediate_exit;
	refused = fz_run_refused(c, run);
	r = fz_syscall(v, MV_SYS_ioctl, (uint64_t)c->fd, KVM_RUN, arg, 0, 0, 0);
	if (dirty & KVM_SYNC_X86_SREGS)
		fz_run_resync(v, c);
	if (arg || refused || r == -EINVAL) {
		/* an argument, a field KVM refuses, or sync regs it would not load */
		if (r != -EINVAL || c->steps != steps || (!arg && !refused && !dirty))
			abort();
		return r;
	}
	/* immediate_exit: a pending exit is completed, up to the next instruction */
	if (imm && c->steps - steps > 1)
		abort();
	c->pend = FZ_PEND_NONE;
	if (imm && r == -EINTR) {
		/* left as the last exit set it, unless the guest's write finishing it hit the page */
		if (run->exit_reason != reason && !fz_vm_run_page_reachable(v))
			abort();
		return r;
	}
	if (r == -ENOMEM)
		return r;   /* the access is retried on the next KVM_RUN */
	fz_check_exit(v, c, run, r);
	return r;
}
