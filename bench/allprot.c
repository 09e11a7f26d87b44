/* SPDX-License-Identifier: MIT */
/*
 * Suite allprot: what one VM with every protection costs
 * (docs/all-protections.md). The same guest kernel reads 8 bytes at a
 * time through its direct map, in a plain VM (no Heki, no MTE, shared
 * memory) and in the all-in-one VM (a software-protected VM with MTE and
 * sync tag checks, its RAM a guest_memfd slot with the hot pages half
 * private, a vEPC slot, the kernel booted with Heki). And saving the
 * vCPU's CET state (KVM_GET_MSRS of the seven CET MSRs) against saving
 * its special registers (KVM_GET_SREGS). Everything goes through the
 * public API.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <memvisor/guest_kernel.h>
#include <memvisor/memvisor.h>

#include "bench.h"

#define AB_RAM      (8ull << 20)
#define AB_HOT      8                  /* hot pages, at AB_HOT_PA */
#define AB_HOT_PA   0x600000ull
#define AB_MMIO_GPA 0xfe000000ull      /* no memslot: an MMIO exit */
#define AB_EPC_GPA  0x1000000ull

struct ab_vm {
	struct ab *b;
	bool all;
	int vm, vcpu, gmem;
	struct kvm_run *run;
	struct guest_kernel *k;
	uint64_t sync_va;              /* a kernel mapping of AB_MMIO_GPA */
	uint64_t n, sum;
	int failed;
};

struct ab {
	struct mv_machine *m;
	struct mv_task *t;
	int kvm;
	struct ab_vm vm[2];            /* [0] plain, [1] every protection */
	int failed;
};

static long ab_ioctl(struct ab *b, int fd, unsigned long cmd, const void *arg)
{
	return mv_syscall(b->t, MV_SYS_ioctl, (uint64_t)fd, cmd, (uint64_t)(uintptr_t)arg, 0, 0, 0);
}

/* Boot, then map the sync page; in the MTE VM tag the hot pages with the kernel's tag 0xf. */
static void ab_guest_boot(struct mv_guest *g, struct ab_vm *v)
{
	struct guest_kernel_config cfg = { .ram_bytes = AB_RAM, .heki = v->all };
	uint64_t va = 0;

	if (v->all)
		(void)mv_guest_set_tcf(g, MV_TCF_NONE);
	if (guest_kernel_boot(g, &cfg, &v->k) || guest_vmalloc(v->k, 1, &va) ||
	    guest_kernel_poke_pte(v->k, va, AB_MMIO_GPA | GK_PTE_P | GK_PTE_RW | GK_PTE_NX)) {
		v->failed = 1;
		return;
	}
	v->sync_va = va;
	if (!v->all)
		return;
	for (uint64_t off = 0; off < AB_HOT * 4096; off += 16)
		if (mv_guest_set_tag(g, GK_PAGE_OFFSET + AB_HOT_PA + off))
			v->failed = 1;
	(void)mv_guest_set_tcf(g, MV_TCF_SYNC);
}

static void ab_guest(struct mv_guest *g, void *arg)
{
	struct ab_vm *v = arg;
	uint64_t x = 0, sync = 0;

	ab_guest_boot(g, v);
	if (v->failed)
		return;
	for (;;) {
		(void)mv_guest_write(g, v->sync_va, &sync, 8);
		for (uint64_t i = 0; i < v->n; i++) {
			uint64_t va = GK_PAGE_OFFSET + AB_HOT_PA + (i % AB_HOT) * 4096 +
				      ((i * 8) & 0xff8);

			if (mv_guest_read(g, va, &x, 8))
				v->failed = 1;
			v->sum += x;
		}
	}
}

static void ab_go(struct ab_vm *v, uint64_t n)
{
	v->n = n;
	if (ab_ioctl(v->b, v->vcpu, KVM_RUN, NULL) || v->run->exit_reason != KVM_EXIT_MMIO)
		v->failed = 1;
}

/* The memory: plain anonymous RAM, or a guest_memfd slot and a vEPC slot. */
static int ab_vm_memory(struct ab *b, struct ab_vm *v, uint64_t ram)
{
	struct kvm_create_guest_memfd gm = { .size = AB_RAM };
	struct kvm_userspace_memory_region2 r = {
		.memory_size = AB_RAM, .userspace_addr = ram,
	};
	struct kvm_userspace_memory_region e = { .slot = 1, .guest_phys_addr = AB_EPC_GPA,
						 .memory_size = 4096 };
	struct kvm_memory_attributes a = { .address = AB_HOT_PA, .size = AB_HOT / 2 * 4096,
					   .attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE };
	long fd, epc;

	if (!v->all)
		return ab_ioctl(b, v->vm, KVM_SET_USER_MEMORY_REGION2, &r) ? -EINVAL : 0;
	fd = ab_ioctl(b, v->vm, KVM_CREATE_GUEST_MEMFD, &gm);
	if (fd < 0)
		return (int)fd;
	r.flags = KVM_MEM_GUEST_MEMFD;
	r.guest_memfd = (uint32_t)fd;
	fd = mv_syscall(b->t, MV_SYS_openat, (uint64_t)AT_FDCWD,
			(uint64_t)(uintptr_t)"/dev/sgx_vepc", O_RDWR, 0, 0, 0);
	epc = fd < 0 ? fd : mv_syscall(b->t, MV_SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE,
				       MAP_SHARED, (uint64_t)fd, 0);
	if (epc < 0)
		return -ENODEV;
	e.userspace_addr = (uint64_t)epc;
	if (ab_ioctl(b, v->vm, KVM_SET_USER_MEMORY_REGION2, &r) ||
	    ab_ioctl(b, v->vm, KVM_SET_USER_MEMORY_REGION, &e) ||
	    ab_ioctl(b, v->vm, KVM_SET_MEMORY_ATTRIBUTES, &a))
		return -EINVAL;
	return 0;
}

static int ab_vm_up(struct ab *b, struct ab_vm *v, bool all)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_MTE };
	long a;

	v->b = b;
	v->all = all;
	v->vm = (int)mv_syscall(b->t, MV_SYS_ioctl, (uint64_t)b->kvm, KVM_CREATE_VM,
				all ? KVM_X86_SW_PROTECTED_VM : KVM_X86_DEFAULT_VM, 0, 0, 0);
	if (v->vm < 0)
		return -ENODEV;
	if (all && ab_ioctl(b, v->vm, KVM_ENABLE_CAP, &cap))
		return -EINVAL;
	a = mv_syscall(b->t, MV_SYS_mmap, 0, AB_RAM, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0);
	if (a < 0 || ab_vm_memory(b, v, (uint64_t)a))
		return -ENOMEM;
	v->vcpu = (int)mv_syscall(b->t, MV_SYS_ioctl, (uint64_t)v->vm, KVM_CREATE_VCPU, 0, 0, 0, 0);
	if (v->vcpu < 0 || mv_vcpu_set_guest(b->t, v->vcpu, ab_guest, v))
		return -EINVAL;
	v->run = mv_vcpu_run_area(b->t, v->vcpu);
	ab_go(v, AB_HOT * 512);   /* boot and warm: stops at the first sync */
	ab_go(v, AB_HOT * 512);
	return v->failed ? -EIO : 0;
}

static void ab_read_plain(void *arg, uint64_t iters)
{
	ab_go(&((struct ab *)arg)->vm[0], iters);
}

static void ab_read_all(void *arg, uint64_t iters)
{
	ab_go(&((struct ab *)arg)->vm[1], iters);
}

static void ab_get_cet(void *arg, uint64_t iters)
{
	static const uint32_t idx[7] = {
		MSR_IA32_U_CET, MSR_IA32_S_CET, MSR_IA32_PL0_SSP, MSR_IA32_PL1_SSP,
		MSR_IA32_PL2_SSP, MSR_IA32_PL3_SSP, MSR_IA32_INT_SSP_TAB,
	};
	struct ab *b = arg;
	uint64_t buf[1 + 2 * 7] = { 0 };
	struct kvm_msrs *m = (void *)buf;

	for (uint64_t i = 0; i < iters; i++) {
		m->nmsrs = 7;
		for (int e = 0; e < 7; e++)
			m->entries[e].index = idx[e];
		if (ab_ioctl(b, b->vm[1].vcpu, KVM_GET_MSRS, m) != 7)
			b->failed = 1;
	}
}

static void ab_get_sregs(void *arg, uint64_t iters)
{
	struct ab *b = arg;
	struct kvm_sregs s;

	for (uint64_t i = 0; i < iters; i++)
		if (ab_ioctl(b, b->vm[1].vcpu, KVM_GET_SREGS, &s))
			b->failed = 1;
}

int bench_suite_allprot(struct bench_ctx *ctx)
{
	struct mv_machine_config cfg = { .ram_bytes = 128ull << 20 };
	struct ab *b = calloc(1, sizeof(*b));
	double plain, all, msrs, sregs;
	int ret = -ENOMEM;

	if (!b)
		return -ENOMEM;
	if (mv_machine_create(&cfg, &b->m) || mv_task_spawn(b->m, &b->t))
		goto out;
	b->kvm = (int)mv_syscall(b->t, MV_SYS_openat, (uint64_t)AT_FDCWD,
				 (uint64_t)(uintptr_t)"/dev/kvm", O_RDWR, 0, 0, 0);
	ret = b->kvm < 0 ? -ENODEV : ab_vm_up(b, &b->vm[0], false);
	if (!ret)
		ret = ab_vm_up(b, &b->vm[1], true);
	if (ret)
		goto out;
	plain = bench_measure(ctx, ab_read_plain, b, 1000000);
	all = bench_measure(ctx, ab_read_all, b, 1000000);
	bench_report(ctx, "allprot", "kernel read8, every protection", all,
		     "kernel read8, plain VM", plain, "goal: <= 2x (MTE's check alone ~1.5x)");
	sregs = bench_measure(ctx, ab_get_sregs, b, 100000);
	msrs = bench_measure(ctx, ab_get_cet, b, 100000);
	bench_report(ctx, "allprot", "KVM_GET_MSRS, the 7 CET MSRs", msrs, "KVM_GET_SREGS", sregs,
		     "goal: <= 2x");
	ret = b->failed || b->vm[0].failed || b->vm[1].failed ? -EIO : 0;
out:
	for (int i = 0; i < 2; i++)
		guest_kernel_free(b->vm[i].k);
	if (b->m)
		mv_machine_destroy(b->m);
	free(b);
	return ret;
}
