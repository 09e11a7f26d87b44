/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for KVM_SET_REGS / KVM_GET_REGS, KVM_SET_SREGS /
 * KVM_GET_SREGS and KVM_SET_VCPU_EVENTS / KVM_GET_VCPU_EVENTS: struct
 * kvm_regs, kvm_sregs and kvm_vcpu_events taken whole from the input; a
 * kvm_vcpu_events also built field by field, and the vCPU's current
 * kvm_sregs with fields overwritten from it (a raw kvm_sregs is almost
 * never valid, and the valid ones are where the guest then runs in states
 * a VMM can make: paging on with CR3 anywhere, user mode, SMEP/SMAP/CET
 * bits, a TPR). Guest programs run between the calls, on the registers
 * and the exception just set.
 *
 * Rules: what KVM_SET_REGS took, KVM_GET_REGS returns (RFLAGS bit 1 set);
 * a refused KVM_SET_SREGS changes nothing; an accepted one reads back and
 * never leaves CR8 wider than 4 bits; KVM_SET_VCPU_EVENTS answers as
 * kvm_vcpu_ioctl_x86_set_vcpu_events' checks in their order give, and
 * KVM_GET_VCPU_EVENTS then reports the exception it took (a soft one,
 * #BP or #OF, never as injected) or, refused early, the one before;
 * pointers the kernel must refuse are refused both ways; no frame
 * outlives the VMM.
 */
#include <stdlib.h>
#include <string.h>

#include "fz_vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_regs_set(struct fz_vm *v, struct fz_vcpu *c)
{
	struct kvm_regs set, got;

	fz_bytes(&v->in, &set, sizeof(set));
	if (fz_ioctl(v, c->fd, KVM_SET_REGS, &set) || fz_ioctl(v, c->fd, KVM_GET_REGS, &got))
		abort();
	set.rflags |= 2;
	if (memcmp(&set, &got, sizeof(got)))
		abort();
}

/* Fields of the current kvm_sregs overwritten from the input: which ones, the input says. */
static void fz_sregs_mutate(struct fz_vm *v, struct kvm_sregs *s)
{
	static const size_t fields[] = {
		offsetof(struct kvm_sregs, cr0), offsetof(struct kvm_sregs, cr2),
		offsetof(struct kvm_sregs, cr3), offsetof(struct kvm_sregs, cr4),
		offsetof(struct kvm_sregs, cr8), offsetof(struct kvm_sregs, efer),
		offsetof(struct kvm_sregs, apic_base),
	};
	unsigned int n = (unsigned int)fz_u(&v->in, 1) % 4 + 1;

	for (unsigned int i = 0; i < n; i++) {
		unsigned int sel = (unsigned int)fz_u(&v->in, 1);
		uint8_t *p = (uint8_t *)s;
		uint64_t x;

		if (sel < 168) {
			/* a bit flipped in a control register, EFER or the APIC base */
			size_t off = fields[sel % 7];

			memcpy(&x, p + off, 8);
			x ^= 1ull << (fz_u(&v->in, 1) % 64);
			memcpy(p + off, &x, 8);
		} else if (sel < 216) {
			/* a whole field from the input */
			fz_bytes(&v->in, p + fields[sel % 7], 8);
		} else {
			/* any byte: segments, descriptor tables, the interrupt bitmap */
			p[fz_u(&v->in, 2) % sizeof(*s)] = (uint8_t)fz_u(&v->in, 1);
		}
	}
}

static void fz_sregs_set(struct fz_vm *v, struct fz_vcpu *c, bool raw)
{
	struct kvm_sregs s;

	if (raw) {
		fz_bytes(&v->in, &s, sizeof(s));
	} else {
		if (fz_ioctl(v, c->fd, KVM_GET_SREGS, &s))
			abort();
		fz_sregs_mutate(v, &s);
	}
	fz_vm_set_sregs(v, c, &s);
}

#define FZ_EV_ALL   0x3fu   /* KVM_VCPUEVENT_VALID_*: NMI_PENDING ... TRIPLE_FAULT */
#define FZ_EV_GET   (KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW | \
		     KVM_VCPUEVENT_VALID_SMM)
#define FZ_VEC_NMI  2

/* A kvm_vcpu_events from the input: whole, or mostly valid field by field. */
static void fz_events_input(struct fz_vm *v, struct kvm_vcpu_events *e)
{
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);

	if (sel < 32) {
		fz_bytes(&v->in, e, sizeof(*e));
		return;
	}
	memset(e, 0, sizeof(*e));
	e->flags = (uint32_t)fz_u(&v->in, 1) & (sel & 32 ? 0xffu : FZ_EV_ALL);
	if (!(sel & 64))
		e->flags &= ~(uint32_t)(KVM_VCPUEVENT_VALID_PAYLOAD | KVM_VCPUEVENT_VALID_TRIPLE_FAULT);
	e->exception.injected = (uint8_t)(sel & 1 ? fz_u(&v->in, 1) : (sel >> 1) & 1);
	e->exception.nr = (uint8_t)(sel & 4 ? fz_u(&v->in, 1) : fz_u(&v->in, 1) % 32);
	e->exception.has_error_code = (uint8_t)((sel >> 3) & 1);
	e->exception.error_code = (uint32_t)fz_u(&v->in, 4);
	if (sel & 16)
		e->smi.smm = (uint8_t)fz_u(&v->in, 1);
}

/*
 * KVM_SET_VCPU_EVENTS against kvm_vcpu_ioctl_x86_set_vcpu_events' checks
 * in their order, then KVM_GET_VCPU_EVENTS: the exception taken, or the
 * one before if refused before it was taken; nothing else ever reported.
 */
static void fz_events_set(struct fz_vm *v, struct fz_vcpu *c)
{
	struct kvm_vcpu_events set, got, before, want_ex;
	bool taken;
	long want = 0;

	memset(&before, 0, sizeof(before));
	if (fz_ioctl(v, c->fd, KVM_GET_VCPU_EVENTS, &before))
		abort();
	fz_events_input(v, &set);
	if ((set.flags & ~FZ_EV_ALL) || (set.flags & KVM_VCPUEVENT_VALID_PAYLOAD) ||
	    (set.exception.injected &&
	     (set.exception.nr > 31 || set.exception.nr == FZ_VEC_NMI)))
		want = -EINVAL;
	taken = !want;
	if (taken && (((set.flags & KVM_VCPUEVENT_VALID_SMM) &&
		       (set.smi.smm || set.smi.pending || set.smi.smm_inside_nmi)) ||
		      (set.flags & KVM_VCPUEVENT_VALID_TRIPLE_FAULT)))
		want = -EINVAL;   /* refused, but the exception was taken */
	want_ex = before;
	if (taken) {
		want_ex.exception.injected = set.exception.injected && set.exception.nr != 3 &&
					     set.exception.nr != 4;
		want_ex.exception.nr = set.exception.nr;
		want_ex.exception.has_error_code = !!set.exception.has_error_code;
		want_ex.exception.error_code = set.exception.error_code;
	}
	if (fz_ioctl(v, c->fd, KVM_SET_VCPU_EVENTS, &set) != want)
		abort();
	memset(&got, 0xa5, sizeof(got));
	if (fz_ioctl(v, c->fd, KVM_GET_VCPU_EVENTS, &got))
		abort();
	memset(&want_ex.interrupt, 0, sizeof(want_ex) - offsetof(struct kvm_vcpu_events, interrupt));
	want_ex.exception.pending = 0;
	want_ex.flags = FZ_EV_GET;
	if (memcmp(&got, &want_ex, sizeof(got)))
		abort();
	if (taken && set.exception.injected)
		c->exc_maybe = true;   /* the guest takes it at its next instruction */
}

/* Every register ioctl at a pointer it must refuse, and with a wrong size. */
static void fz_regs_refused(struct fz_vm *v, struct fz_vcpu *c)
{
	static const unsigned int cmds[] = {
		KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS,
		KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS,
	};
	unsigned int sel = (unsigned int)fz_u(&v->in, 1), cmd = cmds[sel % 6];

	if (sel & 4)
		fz_check_foreign_cmd(v, c->fd, cmd, (unsigned int)fz_u(&v->in, 1), -EINVAL);
	else if (fz_syscall(v, MV_SYS_ioctl, (uint64_t)c->fd, cmd, fz_bad_ptr(sel / 8), 0, 0, 0) !=
		 -EFAULT)
		abort();
	if (v->vm >= 0 && fz_syscall(v, MV_SYS_ioctl, (uint64_t)v->vm, cmd, 0, 0, 0, 0) != -ENOTTY)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_vm v;

	fz_vm_start(&v, data, size);
	while (fz_more(&v.in)) {
		unsigned int op = (unsigned int)fz_u(&v.in, 1);
		struct fz_vcpu *c = op < 128 ? fz_vm_vcpu(&v, op) : NULL;

		if (op < 128 && !c)
			continue;
		if (op < 24)
			fz_regs_set(&v, c);
		else if (op < 40)
			fz_sregs_set(&v, c, true);
		else if (op < 96)
			fz_sregs_set(&v, c, false);
		else if (op < 112)
			fz_events_set(&v, c);
		else if (op < 128)
			fz_regs_refused(&v, c);
		else
			fz_vm_support(&v, op);
	}
	fz_vm_finish(&v);
	return 0;
}
