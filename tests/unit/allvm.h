/* SPDX-License-Identifier: MIT */
/*
 * The VM with every protection at once (docs/all-protections.md), shared
 * by the tests that use it: a KVM_X86_SW_PROTECTED_VM with MTE, 8 MiB of
 * RAM that is also a guest_memfd (slot 0), a two-page vEPC (slot 1) holding
 * an enclave the guest built with ENCLS, a guest kernel booted with Heki,
 * and CET state in its vCPU.
 */
#ifndef MV_TESTS_ALLVM_H
#define MV_TESTS_ALLVM_H

#include <memvisor/guest_kernel.h>

#include "kvmtest.h"

#define MB        (1ull << 20)
#define RAM       (8 * MB)
#define EPC_GPA   0x1000000ull
#define PRIV_PA   0x7f0000ull
#define CR0_PE    (1ull << 0)
#define CR0_WP    (1ull << 16)
#define CR0_PG    (1ull << 31)
#define CR4_CET   (1ull << 23)
#define TAG(p, t) (((uint64_t)(p) & ~(0xfull << 56)) | ((uint64_t)(t) << 56))

struct allvm {
	struct kvmtest k;
	uint64_t map;            /* the VMM's mapping of guest RAM (the shared pages) */
	int gmem;
	int vepc;
	uint64_t epc_map;
	int vcpu;
	struct kvm_run *run;
	struct guest_kernel *kernel;
	long boot;
	long encls[3];
};

/* KVM_GET/SET_MSRS of one MSR: the header and one entry, 8-byte aligned */
struct msr1 {
	uint64_t buf[3];
};

static inline struct kvm_msrs *msr1_init(struct msr1 *m, uint32_t index, uint64_t data)
{
	struct kvm_msrs *h = (void *)m->buf;

	memset(m, 0, sizeof(*m));
	h->nmsrs = 1;
	h->entries[0].index = index;
	h->entries[0].data = data;
	return h;
}

static inline long set_msr(struct allvm *v, uint32_t index, uint64_t data)
{
	struct msr1 m;

	return kt_ioctl_p(v->k.t, v->vcpu, KVM_SET_MSRS, msr1_init(&m, index, data));
}

static inline uint64_t get_msr(struct allvm *v, uint32_t index)
{
	struct msr1 m;
	struct kvm_msrs *h = msr1_init(&m, index, 0);

	assert_int_equal(kt_ioctl_p(v->k.t, v->vcpu, KVM_GET_MSRS, h), 1);
	return h->entries[0].data;
}

static inline void run_guest(struct allvm *v, mv_guest_fn fn, void *arg)
{
	assert_int_equal(mv_vcpu_set_guest(v->k.t, v->vcpu, fn, arg), 0);
	assert_int_equal(kt_run(&v->k, v->vcpu), 0);
	assert_int_equal(v->run->exit_reason, KVM_EXIT_HLT);
}

static inline void gw64(struct mv_guest *g, uint64_t gva, uint64_t val)
{
	(void)mv_guest_write(g, gva, &val, sizeof(val));
}

/* Chapter 11's enclave (one page, SIGSTRUCT for its MRENCLAVE), paging off. */
static inline void guest_build_enclave(struct mv_guest *g, void *arg)
{
	static const uint8_t sig0[] = { 0x06, 0, 0, 0, 0xe1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0,
					0x86, 0x80 };
	static const uint8_t sig1[] = { 1, 1, 0, 0, 0x60, 0, 0, 0, 0x60, 0, 0, 0, 1, 0, 0, 0 };
	static const uint8_t sig2[] = { 3, 0, 0, 0 };
	static const uint8_t mr[] = { 0x50, 0xa3, 0xe6, 0x22, 0x7c, 0xfa, 0xf7, 0x2a, 0xcb, 0x5b,
				      0x8c, 0x52, 0x4c, 0xfa, 0x60, 0x2a, 0x9d, 0x71, 0x1e, 0x00,
				      0x32, 0x9b, 0x68, 0x8a, 0xfb, 0xa6, 0x9c, 0x94, 0xa9, 0x8b,
				      0x5f, 0x56 };
	struct allvm *v = arg;

	gw64(g, 0x2000, 0x10000);
	gw64(g, 0x2008, 0x10000000);
	gw64(g, 0x2010, 1);
	gw64(g, 0x1040, SGX_SECINFO_SECS);
	gw64(g, 0x1008, 0x2000);
	gw64(g, 0x1010, 0x1040);
	v->encls[0] = mv_guest_encls(g, SGX_ECREATE, 0x1000, EPC_GPA, 0);
	gw64(g, 0x1000, 0x10001000);
	gw64(g, 0x1008, 0x5000);
	gw64(g, 0x1018, EPC_GPA);
	gw64(g, 0x1040, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W);
	v->encls[1] = mv_guest_encls(g, SGX_EADD, 0x1000, EPC_GPA + 0x1000, 0);
	(void)mv_guest_write(g, 0x3000, sig0, sizeof(sig0));
	(void)mv_guest_write(g, 0x3018, sig1, sizeof(sig1));
	(void)mv_guest_write(g, 0x3200, sig2, sizeof(sig2));
	(void)mv_guest_write(g, 0x33c0, mr, sizeof(mr));
	v->encls[2] = mv_guest_encls(g, SGX_EINIT, 0x3000, EPC_GPA, 0x4000);
}

/*
 * The guest kernel runs with tag checks off, as arm64 Linux's EL1 does
 * without KASAN_HW_TAGS; the tests turn them on around what they check.
 */
static inline void guest_boot(struct mv_guest *g, void *arg)
{
	struct guest_kernel_config cfg = { .ram_bytes = RAM, .heki = true };
	struct allvm *v = arg;

	(void)mv_guest_set_tcf(g, MV_TCF_NONE);
	v->boot = guest_kernel_boot(g, &cfg, &v->kernel);
}

/* The VM's layout without its guest: what a restoring VMM builds (a fresh, empty vEPC). */
static inline void allvm_create(struct allvm *v)
{
	struct kvm_create_guest_memfd gm = { .size = RAM };
	struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_MTE };

	memset(v, 0, sizeof(*v));
	v->k.m = mvtest_machine(0);
	assert_int_equal(mv_task_spawn(v->k.m, &v->k.t), 0);
	v->k.kvm = (int)mv_syscall(v->k.t, MV_SYS_openat, (uint64_t)AT_FDCWD,
				   (uint64_t)(uintptr_t)"/dev/kvm", O_RDWR, 0, 0, 0);
	v->k.vm = (int)kt_ioctl(v->k.t, v->k.kvm, KVM_CREATE_VM, KVM_X86_SW_PROTECTED_VM);
	assert_true(v->k.vm >= 0);
	assert_int_equal(kt_ioctl_p(v->k.t, v->k.vm, KVM_ENABLE_CAP, &cap), 0);
	v->gmem = (int)kt_ioctl_p(v->k.t, v->k.vm, KVM_CREATE_GUEST_MEMFD, &gm);
	assert_true(v->gmem >= 0);
	v->map = kt_mmap(&v->k, RAM);
	assert_int_equal(kt_region_gmem(v->k.t, v->k.vm, 0, 0, RAM, v->map, v->gmem, 0), 0);
	v->vepc = (int)mv_syscall(v->k.t, MV_SYS_openat, (uint64_t)AT_FDCWD,
				  (uint64_t)(uintptr_t)"/dev/sgx_vepc", O_RDWR, 0, 0, 0);
	assert_true(v->vepc >= 0);
	v->epc_map = (uint64_t)mv_syscall(v->k.t, MV_SYS_mmap, 0, 2 * KT_PG,
					  PROT_READ | PROT_WRITE, MAP_SHARED, (uint64_t)v->vepc, 0);
	assert_true((long)v->epc_map > 0);
	assert_int_equal(kt_region(&v->k, 1, 0, EPC_GPA, 2 * KT_PG, v->epc_map), 0);
	v->vcpu = kt_vcpu(&v->k, 0);
	v->run = mv_vcpu_run_area(v->k.t, v->vcpu);
}

/* The whole VM: its layout, CET state, an enclave, the guest kernel with Heki, a private page. */
static inline void allvm_setup(struct allvm *v)
{
	allvm_create(v);
	/* the vCPU's supervisor CET state, as a VMM restoring it would set it */
	assert_int_equal(set_msr(v, MSR_IA32_S_CET, 1), 1);
	assert_int_equal(set_msr(v, MSR_IA32_PL0_SSP, 0xffff8880007ff000ull), 1);
	run_guest(v, guest_build_enclave, v);
	for (int i = 0; i < 3; i++)
		assert_int_equal(v->encls[i], 0);
	run_guest(v, guest_boot, v);
	assert_int_equal(v->boot, 0);
	assert_true(guest_heki_protected(v->kernel));
	/* one page of RAM private: the guest_memfd's from now on */
	assert_int_equal(kt_set_attributes(v->k.t, v->k.vm, PRIV_PA, KT_PG,
					   KVM_MEMORY_ATTRIBUTE_PRIVATE), 0);
}

static inline void allvm_teardown(struct allvm *v)
{
	guest_kernel_free(v->kernel);
	kt_teardown(&v->k);
}

struct gctx {
	struct allvm *v;
	long r[12];
	uint64_t val[12];
	struct mv_guest_fault f[12];
	uint8_t buf[16];
};

static inline void note_fault(struct mv_guest *g, struct gctx *c, int i)
{
	if (c->r[i] == -EFAULT)
		(void)mv_guest_last_fault(g, &c->f[i]);
}

#endif
