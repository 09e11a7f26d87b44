/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the Heki (hypervisor side) tests: a VM with 2 MiB of RAM at
 * GPA 0 and one vCPU, a guest prologue that enters long mode with the
 * first 2 MiB identity-mapped (page tables at 0x10000..0x13fff, so GVA ==
 * GPA below 2 MiB), and page-list writers. Public API only.
 */
#ifndef MV_TESTS_HEKITEST_H
#define MV_TESTS_HEKITEST_H

#include "kvmtest.h"

#define HT_RAM      (2ull << 20)
#define HT_LIST     0x30000ull       /* first page-list node */
#define HT_LIST2    0x31000ull
#define HT_DATA     0x100000ull      /* pages the tests protect */

struct ht {
	struct kvmtest k;
	uint64_t map;                    /* the VMM's mapping of the RAM */
	int vcpu;
	struct kvm_run *run;
};

/* @features_off: MV_FEAT_* the machine lacks; @vm_type: KVM_CREATE_VM's type. */
static inline void ht_setup_full(struct ht *h, uint64_t features_off, unsigned long vm_type)
{
	struct mv_machine_config cfg = { .ram_bytes = 64ull << 20, .features_off = features_off };

	memset(h, 0, sizeof(*h));
	assert_int_equal(mv_machine_create(&cfg, &h->k.m), 0);
	assert_int_equal(mv_task_spawn(h->k.m, &h->k.t), 0);
	h->k.kvm = (int)mv_syscall(h->k.t, MV_SYS_openat, (uint64_t)AT_FDCWD,
				   (uint64_t)(uintptr_t)"/dev/kvm", O_RDWR, 0, 0, 0);
	assert_true(h->k.kvm >= 0);
	h->k.vm = (int)kt_ioctl(h->k.t, h->k.kvm, KVM_CREATE_VM, vm_type);
	assert_true(h->k.vm >= 0);
	h->map = kt_mmap(&h->k, HT_RAM);
	assert_int_equal(kt_region(&h->k, 0, 0, 0, HT_RAM, h->map), 0);
	h->vcpu = kt_vcpu(&h->k, 0);
	h->run = mv_vcpu_run_area(h->k.t, h->vcpu);
}

static inline void ht_setup(struct ht *h)
{
	ht_setup_full(h, 0, 0);
}

static inline void ht_teardown(struct ht *h)
{
	kt_teardown(&h->k);
}

static inline void ht_guest(struct ht *h, mv_guest_fn fn, void *arg)
{
	assert_int_equal(mv_vcpu_set_guest(h->k.t, h->vcpu, fn, arg), 0);
}

/* KVM_RUN until the guest halts, failing on any other exit. */
static inline void ht_run_to_hlt(struct ht *h)
{
	assert_int_equal(kt_run(&h->k, h->vcpu), 0);
	assert_int_equal(h->run->exit_reason, KVM_EXIT_HLT);
}

static inline long ht_enable_cap(struct ht *h, uint32_t cap, uint64_t mask)
{
	struct kvm_enable_cap c = { .cap = cap, .args = { mask } };

	return kt_ioctl_p(h->k.t, h->k.vm, KVM_ENABLE_CAP, &c);
}

static inline long ht_policy(struct ht *h, uint32_t type, const void *entries, uint32_t count)
{
	struct kvm_heki_policy p = { .type = type, .count = count,
				     .entries = (uint64_t)(uintptr_t)entries };

	return kt_ioctl_p(h->k.t, h->k.vm, KVM_HEKI_SET_POLICY, &p);
}

/* ---- inside the guest ---- */

#define HT_PTE_P  1ull
#define HT_PTE_RW 2ull

/* Long mode, CR0.WP, the first 2 MiB identity-mapped supervisor RW. */
static inline void ht_long_mode(struct mv_guest *g)
{
	static uint64_t pt[512];
	uint64_t e;

	for (uint64_t i = 0; i < 512; i++)
		pt[i] = (i << 12) | HT_PTE_P | HT_PTE_RW;
	assert_int_equal(mv_guest_write(g, 0x13000, pt, sizeof(pt)), 0);
	e = 0x11000 | HT_PTE_P | HT_PTE_RW;
	assert_int_equal(mv_guest_write(g, 0x10000, &e, 8), 0);
	e = 0x12000 | HT_PTE_P | HT_PTE_RW;
	assert_int_equal(mv_guest_write(g, 0x11000, &e, 8), 0);
	e = 0x13000 | HT_PTE_P | HT_PTE_RW;
	assert_int_equal(mv_guest_write(g, 0x12000, &e, 8), 0);
	assert_int_equal(mv_guest_write_cr(g, 4, 1ull << 5), 0);
	assert_int_equal(mv_guest_write_cr(g, 3, 0x10000), 0);
	assert_int_equal(mv_guest_write_cr(g, 0, (1ull << 31) | (1ull << 16) | 1), 0);
}

/* One page-list node at @gpa: @n entries, then next_pa. */
static inline void ht_put_list(struct mv_guest *g, uint64_t gpa, uint64_t next_pa,
			       const struct heki_pages *e, uint64_t n)
{
	struct heki_page_list l = { .next = next_pa, .next_pa = next_pa, .npages = n };

	assert_int_equal(mv_guest_write(g, gpa, &l, sizeof(l)), 0);
	if (n)
		assert_int_equal(mv_guest_write(g, gpa + sizeof(l), e, n * sizeof(*e)), 0);
}

/* KVM_HC_PROTECT_MEMORY of one range, through the node at HT_LIST. */
static inline long ht_protect(struct mv_guest *g, uint64_t pa, uint64_t epa, uint64_t perms)
{
	struct heki_pages e = { .pa = pa, .epa = epa, .permissions = perms };

	ht_put_list(g, HT_LIST, 0, &e, 1);
	return mv_guest_hypercall(g, KVM_HC_PROTECT_MEMORY, HT_LIST, 0, 0, 0);
}

static inline int ht_vector(struct mv_guest *g)
{
	struct mv_guest_fault f = { 0 };

	mv_guest_last_fault(g, &f);
	return f.vector;
}

#endif
