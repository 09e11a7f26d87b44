/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for KVM_RUN and the struct kvm_run fields user space
 * writes before it: immediate_exit, request_interrupt_window, cr8,
 * apic_base, kvm_valid_regs and kvm_dirty_regs with the sync-regs area
 * they name, the MMIO data and hypercall result the VMM answers an exit
 * with, and any other byte of the page, written through the host pointer
 * or through the VMM's own mmap of the vCPU fd. KVM_RUN's argument comes from the input too. The
 * vCPUs run guest programs (fz_guest_program) that touch memory, MMIO,
 * page tables, control registers and hypercalls, while the VMM changes
 * memslots, attributes, its memory and the special registers under them.
 *
 * Rules: with an argument or an input field KVM refuses, KVM_RUN is
 * -EINVAL and the guest does not move; with immediate_exit set, it only
 * completes the exit it left pending, then -EINTR with exit_reason as it
 * was; otherwise every exit is one the VM's state allows (fz_vm_run), the
 * guest reads back what the VMM answered whatever else the VMM scribbled
 * on the page, and no frame outlives the VMM.
 */
#include <stdlib.h>
#include <string.h>

#include "fz_vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz_run {
	struct fz_vm *v;
	uint64_t map[FZ_VCPUS];       /* the VMM's mmap of each vCPU fd's run page, or 0 */
	unsigned int map_gen[FZ_VCPUS];   /* of the vCPU created as generation map_gen - 1 */
};

/* @len bytes of the run page at @off, through the mapping when there is one. */
static void fz_run_poke(struct fz_run *z, struct fz_vcpu *c, size_t off, const void *src,
			size_t len)
{
	unsigned int i = (unsigned int)(c - z->v->vcpu);
	struct mv_siginfo si;

	if (z->map[i] && z->map_gen[i] == c->generation) {
		fz_check_ret(mv_user_write(z->v->t, z->map[i] + off, src, len));
		while (mv_task_take_signal(z->v->t, &si) == 1)
			;
		return;
	}
	memcpy((uint8_t *)c->run + off, src, len);
}

/* The input fields, and scribbles anywhere in the page. */
static void fz_run_inputs(struct fz_run *z, struct fz_vcpu *c)
{
	struct fz_vm *v = z->v;
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);
	uint8_t b[16];

	b[0] = (sel & 7) == 0;   /* immediate_exit, one time in eight */
	fz_run_poke(z, c, offsetof(struct kvm_run, immediate_exit), b, 1);
	b[0] = sel >> 7;
	fz_run_poke(z, c, offsetof(struct kvm_run, request_interrupt_window), b, 1);
	if (sel & 8) {
		/* mostly parts KVM knows, so that sync regs are stored and loaded */
		uint64_t r[2], k = fz_u(&v->in, 1);

		if (k < 0xc0) {
			r[0] = k & KVM_SYNC_X86_VALID_FIELDS;
			r[1] = k >> 3 & KVM_SYNC_X86_VALID_FIELDS;
			memcpy(b, r, 16);
		} else {
			fz_bytes(&v->in, b, 16);
		}
		fz_run_poke(z, c, offsetof(struct kvm_run, kvm_valid_regs), b, 16);
	}
	if (sel & 16) {
		fz_bytes(&v->in, b, 16);
		fz_run_poke(z, c, offsetof(struct kvm_run, cr8), b, 16);
	}
	if (sel & 32) {
		fz_bytes(&v->in, b, 16);
		fz_run_poke(z, c, offsetof(struct kvm_run, mmio), b, 16);
	}
	for (unsigned int n = sel & 64 ? (unsigned int)fz_u(&v->in, 1) % 4 + 1 : 0; n; n--) {
		size_t off = (size_t)fz_u(&v->in, 2) % sizeof(struct kvm_run);

		b[0] = (uint8_t)fz_u(&v->in, 1);
		fz_run_poke(z, c, off, b, 1);
	}
}

static void fz_run_one(struct fz_run *z, unsigned int op)
{
	struct fz_vm *v = z->v;
	struct fz_vcpu *c = fz_vm_vcpu(v, op);
	uint64_t arg = 0;

	if (!c)
		return;
	fz_run_inputs(z, c);
	if (op % 32 == 31)
		arg = fz_u(&v->in, 8) | 1;
	fz_vm_run(v, c, arg);
}

/* mmap of a vCPU fd: the run page and its neighbours, or an offset that has none. */
static void fz_run_mmap(struct fz_run *z, unsigned int op)
{
	struct fz_vm *v = z->v;
	struct fz_vcpu *c = fz_vm_vcpu(v, op);
	unsigned int i, sel = (unsigned int)fz_u(&v->in, 1);
	uint64_t pgoff = sel < 224 ? 0 : sel % 8;
	long a;

	if (!c)
		return;
	i = (unsigned int)(c - v->vcpu);
	a = fz_syscall(v, MV_SYS_mmap, 0, (sel % 4 + 1) * FZ_PAGE, PROT_READ | PROT_WRITE,
		       MAP_SHARED, (uint64_t)c->fd, pgoff * FZ_PAGE);
	if (a >= 0)
		fz_vm_note_vcpu_map(v, (uint64_t)a, (sel % 4 + 1) * FZ_PAGE);
	if (a >= 0 && pgoff == 0) {
		z->map[i] = (uint64_t)a;
		z->map_gen[i] = c->generation;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_vm v;
	struct fz_run z = { .v = &v };

	fz_vm_start(&v, data, size);
	while (fz_more(&v.in)) {
		unsigned int op = (unsigned int)fz_u(&v.in, 1);

		if (op < 120)
			fz_run_one(&z, op);
		else if (op < 128)
			fz_run_mmap(&z, op);
		else
			fz_vm_support(&v, op);
	}
	fz_vm_finish(&v);
	return 0;
}
