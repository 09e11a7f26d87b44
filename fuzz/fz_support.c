/* SPDX-License-Identifier: MIT */
/*
 * The supporting operations of the KVM harnesses: the biased, mostly valid
 * calls that put a VM in the states the harness's own surface then meets
 * (memslots, KVM_RUN, the VMM's memory, guest_memfd, attributes, the dirty
 * log, the hypercall exit, special registers, fds closed under the VM).
 */
#include <stdlib.h>
#include <string.h>

#include "fz_vm.h"

/* ---- supporting operations ---- */

static void fz_support_region(struct fz_vm *v)
{
	static const uint32_t flags[] = {
		0, KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY, KVM_MEM_GUEST_MEMFD, 0,
		KVM_MEM_LOG_DIRTY_PAGES,
	};
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);
	struct kvm_userspace_memory_region2 mem = {
		.slot = sel % 8,
		.flags = flags[(sel / 8) % 6],
		.guest_phys_addr = fz_vm_gpa(v),
		.userspace_addr = fz_vm_uaddr(v),
	};
	unsigned int sz = (unsigned int)fz_u(&v->in, 1);

	mem.memory_size = sz < 16 ? 0 : (sz % FZ_MAP_PAGES + 1) * FZ_PAGE;
	if (mem.flags & KVM_MEM_GUEST_MEMFD) {
		mem.guest_memfd = (uint32_t)fz_vm_gmem_fd(v);
		/* mostly the start of the file; sometimes anywhere in a huge one */
		sz = (unsigned int)fz_u(&v->in, 1);
		mem.guest_memfd_offset = sz < 224 ? sz % 16 * FZ_PAGE : fz_u(&v->in, 8) & ~(FZ_PAGE - 1);
	}
	fz_vm_set_region(v, &mem, (mem.flags & KVM_MEM_GUEST_MEMFD) ? !v->seed : sel >= 128);
}

static void fz_support_run(struct fz_vm *v)
{
	struct fz_vcpu *c = fz_vm_vcpu(v, (unsigned int)fz_u(&v->in, 1));

	if (!c)
		return;
	/* a run that goes ahead, whatever fuzz_run left in the input fields */
	c->run->immediate_exit = 0;
	c->run->kvm_valid_regs = 0;
	c->run->kvm_dirty_regs = 0;
	c->run->cr8 &= 0xf;
	fz_vm_run(v, c, 0);
}

/* The VMM's own memory behind the slots: gone, read-only, dropped, back, touched. */
static void fz_support_mm(struct fz_vm *v)
{
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);
	uint64_t base = v->map[sel % FZ_MAPS], off = (fz_u(&v->in, 1) % FZ_MAP_PAGES) * FZ_PAGE;
	uint64_t len = (fz_u(&v->in, 1) % 8 + 1) * FZ_PAGE;
	struct mv_siginfo si;
	uint8_t buf[64];

	switch (sel / FZ_MAPS % 6) {
	case 0:
		fz_syscall(v, MV_SYS_munmap, base + off, len, 0, 0, 0, 0);
		break;
	case 1:
		fz_syscall(v, MV_SYS_mprotect, base + off, len, fz_u(&v->in, 1) % 4, 0, 0, 0);
		break;
	case 2:
		fz_syscall(v, MV_SYS_madvise, base + off, len, MADV_DONTNEED, 0, 0, 0);
		break;
	case 3:
		fz_syscall(v, MV_SYS_mmap, base, FZ_MAP_PAGES * FZ_PAGE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, (uint64_t)-1, 0);
		break;
	case 4:
		memset(buf, (int)sel, sizeof(buf));
		fz_check_ret(mv_user_write(v->t, base + off, buf, sizeof(buf)));
		break;
	default:
		fz_check_ret(mv_user_read(v->t, base + off, buf, sizeof(buf)));
		break;
	}
	while (mv_task_take_signal(v->t, &si) == 1)
		;
}

void fz_vm_gmem_install(struct fz_vm *v, unsigned int i, long fd)
{
	if (fd < 0)
		return;
	if (v->gmem[i] >= 0)
		fz_syscall(v, MV_SYS_close, (uint64_t)v->gmem[i], 0, 0, 0, 0, 0);
	v->gmem[i] = (int)fd;
}

/* guest_memfd: a new one, space in it, a hole punched, closed. */
static void fz_support_gmem(struct fz_vm *v)
{
	unsigned int sel = (unsigned int)fz_u(&v->in, 1), i = sel % FZ_GMEMS;
	struct kvm_create_guest_memfd g = {
		.size = (fz_u(&v->in, 1) % 64 + 1) * FZ_PAGE,
		.flags = fz_u(&v->in, 1) % 4,
	};
	long fd;

	switch (sel / FZ_GMEMS % 5) {
	case 0:
		fz_vm_gmem_install(v, i, fz_ioctl(v, v->vm, KVM_CREATE_GUEST_MEMFD, &g));
		break;
	case 1:
		fd = fz_syscall(v, MV_SYS_memfd_restricted, 0, 0, 0, 0, 0, 0);
		if (fd >= 0)
			fz_syscall(v, MV_SYS_ftruncate, (uint64_t)fd, g.size, 0, 0, 0, 0);
		fz_vm_gmem_install(v, i, fd);
		break;
	case 2:
	case 3:
		fz_syscall(v, MV_SYS_fallocate, (uint64_t)v->gmem[i],
			   FALLOC_FL_KEEP_SIZE | (sel & 64 ? FALLOC_FL_PUNCH_HOLE : 0),
			   (fz_u(&v->in, 1) % 32) * FZ_PAGE, (fz_u(&v->in, 1) % 8 + 1) * FZ_PAGE, 0, 0);
		break;
	default:
		if (v->gmem[i] >= 0)
			fz_syscall(v, MV_SYS_close, (uint64_t)v->gmem[i], 0, 0, 0, 0, 0);
		v->gmem[i] = -1;
		break;
	}
}

static void fz_support_attributes(struct fz_vm *v)
{
	struct kvm_memory_attributes a = {
		.address = fz_vm_gpa(v),
		.size = (fz_u(&v->in, 1) % 16 + 1) * FZ_PAGE,
	};

	a.attributes = fz_u(&v->in, 1) & 1 ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
	fz_vm_set_attributes(v, &a);
}

static void fz_support_dirty(struct fz_vm *v)
{
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);
	uint32_t id = v->nslots && sel < 224 ? v->slot[sel % v->nslots].id : sel % 8;

	fz_vm_dirty_log(v, id, sel & 1);
}

static void fz_support_cap(struct fz_vm *v)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_EXIT_HYPERCALL };

	cap.args[0] = fz_u(&v->in, 1) & 1 ? 1ull << KVM_HC_MAP_GPA_RANGE : 0;
	fz_vm_enable_cap(v, v->vm, &cap);
}

/* Paging on or off, user mode, a CR4 or CR0 bit, the TPR: things a VMM sets. */
static void fz_support_sregs(struct fz_vm *v)
{
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);
	struct fz_vcpu *c = fz_vm_vcpu(v, sel);
	struct kvm_sregs s;

	if (!c || fz_ioctl(v, c->fd, KVM_GET_SREGS, &s))
		return;
	switch (sel / FZ_VCPUS % 6) {
	case 0:
		s.cr4 |= 1ull << 5;                       /* PAE */
		s.efer |= (1ull << 8) | (1ull << 10);     /* LME, LMA */
		s.cr0 |= FZ_CR0_PG | 1;
		s.cr3 = fz_vm_gpa(v);
		break;
	case 1:
		s.cr0 &= ~FZ_CR0_PG;
		s.efer &= ~(1ull << 10);
		break;
	case 2:
		s.ss.dpl = s.ss.dpl == 3 ? 0 : 3;
		break;
	case 3:
		s.cr4 ^= 1ull << (fz_u(&v->in, 1) % 24);
		break;
	case 4:
		s.cr0 ^= 1ull << (fz_u(&v->in, 1) % 32);
		break;
	default:
		s.cr8 = fz_u(&v->in, 1) % 32;
		break;
	}
	fz_vm_set_sregs(v, c, &s);
}

/* A new guest program, or an fd closed under the VM's feet. */
static void fz_support_lifetime(struct fz_vm *v)
{
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);
	struct fz_vcpu *c = &v->vcpu[sel % FZ_VCPUS];

	switch (sel / FZ_VCPUS % 8) {
	case 0:
	case 1:
	case 2:
		if (c->fd >= 0) {
			if (mv_vcpu_set_guest(v->t, c->fd, fz_guest_program, c))
				abort();
			c->pend = FZ_PEND_NONE;
			c->mmio_next = ~0ull;
		}
		break;
	case 3:
	case 4:
		fz_vcpu_close(v, c);
		break;
	case 5:
	case 6:
		if (v->gmem[sel % FZ_GMEMS] >= 0)
			fz_syscall(v, MV_SYS_close, (uint64_t)v->gmem[sel % FZ_GMEMS], 0, 0, 0, 0, 0);
		v->gmem[sel % FZ_GMEMS] = -1;
		break;
	default:
		if (sel < 240)
			break;
		/* the VM goes once its vCPUs and guest_memfds have gone too */
		fz_syscall(v, MV_SYS_close, (uint64_t)v->vm, 0, 0, 0, 0, 0);
		v->vm = -1;
		break;
	}
}

void fz_vm_support(struct fz_vm *v, unsigned int op)
{
	switch (op % FZ_SUPPORT_OPS) {
	case 0:
	case 1:
		fz_support_region(v);
		break;
	case 2:
	case 3:
	case 4:
		fz_support_run(v);
		break;
	case 5:
		fz_support_mm(v);
		break;
	case 6:
		fz_support_gmem(v);
		break;
	case 7:
		fz_support_attributes(v);
		break;
	case 8:
		fz_support_dirty(v);
		break;
	case 9:
		fz_support_cap(v);
		break;
	case 10:
		fz_support_sregs(v);
		break;
	default:
		fz_support_lifetime(v);
		break;
	}
}
