/* SPDX-License-Identifier: MIT */
/*
 * One VM with every protection at once (docs/all-protections.md): a
 * KVM_X86_SW_PROTECTED_VM with MTE, 8 MiB of RAM that is also a
 * guest_memfd, a vEPC slot holding an enclave the guest built with ENCLS,
 * a guest kernel booted with Heki, and CET state in its vCPU. Each test
 * shows one protection working in that VM, or one rule where two
 * mechanisms meet.
 */
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

static struct kvm_msrs *msr1_init(struct msr1 *m, uint32_t index, uint64_t data)
{
	struct kvm_msrs *h = (void *)m->buf;

	memset(m, 0, sizeof(*m));
	h->nmsrs = 1;
	h->entries[0].index = index;
	h->entries[0].data = data;
	return h;
}

static long set_msr(struct allvm *v, uint32_t index, uint64_t data)
{
	struct msr1 m;

	return kt_ioctl_p(v->k.t, v->vcpu, KVM_SET_MSRS, msr1_init(&m, index, data));
}

static uint64_t get_msr(struct allvm *v, uint32_t index)
{
	struct msr1 m;
	struct kvm_msrs *h = msr1_init(&m, index, 0);

	assert_int_equal(kt_ioctl_p(v->k.t, v->vcpu, KVM_GET_MSRS, h), 1);
	return h->entries[0].data;
}

static void run_guest(struct allvm *v, mv_guest_fn fn, void *arg)
{
	assert_int_equal(mv_vcpu_set_guest(v->k.t, v->vcpu, fn, arg), 0);
	assert_int_equal(kt_run(&v->k, v->vcpu), 0);
	assert_int_equal(v->run->exit_reason, KVM_EXIT_HLT);
}

static void gw64(struct mv_guest *g, uint64_t gva, uint64_t val)
{
	(void)mv_guest_write(g, gva, &val, sizeof(val));
}

/* Chapter 11's enclave (one page, SIGSTRUCT for its MRENCLAVE), paging off. */
static void guest_build_enclave(struct mv_guest *g, void *arg)
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
static void guest_boot(struct mv_guest *g, void *arg)
{
	struct guest_kernel_config cfg = { .ram_bytes = RAM, .heki = true };
	struct allvm *v = arg;

	(void)mv_guest_set_tcf(g, MV_TCF_NONE);
	v->boot = guest_kernel_boot(g, &cfg, &v->kernel);
}

static void allvm_setup(struct allvm *v)
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

static void allvm_teardown(struct allvm *v)
{
	guest_kernel_free(v->kernel);
	kt_teardown(&v->k);
}

/* ---- each protection, in that one VM ---- */

struct gctx {
	struct allvm *v;
	long r[12];
	uint64_t val[12];
	struct mv_guest_fault f[12];
	uint8_t buf[16];
};

static void note_fault(struct mv_guest *g, struct gctx *c, int i)
{
	if (c->r[i] == -EFAULT)
		(void)mv_guest_last_fault(g, &c->f[i]);
}

static void guest_attack_text(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;
	uint64_t pa = 0, np = 0, junk = 0xcccccccccccccccc;
	uint64_t text = guest_kernel_section(c->v->kernel, GK_TEXT, &pa, &np);

	(void)guest_kernel_resume(c->v->kernel, g);
	/* the attacker makes its own entry for the text writable: stage 2 still says no */
	c->r[0] = guest_kernel_poke_pte(c->v->kernel, text, pa | GK_PTE_P | GK_PTE_RW);
	c->r[1] = mv_guest_write(g, text, &junk, sizeof(junk));
	note_fault(g, c, 1);
	c->val[0] = guest_heki_permissions(c->v->kernel, pa);
}

static void test_heki_immutable_text_write_denied(void **state)
{
	struct allvm v;
	struct gctx c = { .v = &v };
	uint8_t b[8];

	(void)state;
	allvm_setup(&v);
	run_guest(&v, guest_attack_text, &c);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], -EFAULT);
	assert_int_equal(c.f[1].vector, 14);
	assert_int_equal(c.val[0], MEM_ATTR_READ | MEM_ATTR_EXEC);
	assert_int_equal(mv_user_read(v.k.t, v.map + GK_IMAGE_PA, b, sizeof(b)), 0);
	assert_int_equal(b[0], guest_kernel_image_byte(GK_TEXT, 0));
	allvm_teardown(&v);
}

static void guest_crs(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;
	uint64_t cr0 = 0, cr4 = 0;

	(void)mv_guest_read_cr(g, 0, &cr0);
	(void)mv_guest_read_cr(g, 4, &cr4);
	c->r[0] = mv_guest_write_cr(g, 0, cr0 & ~CR0_WP);          /* pinned at boot */
	note_fault(g, c, 0);
	c->r[1] = mv_guest_write_cr(g, 4, cr4 | CR4_CET);
	c->r[2] = mv_guest_hypercall(g, KVM_HC_LOCK_CR_UPDATE, 4, CR4_CET, 0, 0);
	c->r[3] = mv_guest_write_cr(g, 4, cr4 & ~CR4_CET);         /* pinned just now */
	note_fault(g, c, 3);
	(void)mv_guest_read_cr(g, 0, &c->val[0]);
	(void)mv_guest_read_cr(g, 4, &c->val[1]);
}

static void test_pinned_cr_bits_cannot_be_cleared(void **state)
{
	struct allvm v;
	struct gctx c = { .v = &v };

	(void)state;
	allvm_setup(&v);
	run_guest(&v, guest_crs, &c);
	assert_int_equal(c.r[0], -EFAULT);
	assert_int_equal(c.f[0].vector, 13);
	assert_int_equal(c.r[1], 0);
	assert_int_equal(c.r[2], 0);
	assert_int_equal(c.r[3], -EFAULT);
	assert_int_equal(c.f[3].vector, 13);
	assert_true(c.val[0] & CR0_WP);
	assert_true(c.val[1] & CR4_CET);
	allvm_teardown(&v);
}

static void guest_private(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;

	c->r[0] = mv_guest_write(g, GK_PAGE_OFFSET + PRIV_PA, "secret", 6);
	c->r[1] = mv_guest_read(g, GK_PAGE_OFFSET + PRIV_PA, c->buf, 6);
}

static void test_private_memory_invisible_to_the_vmm_mapping(void **state)
{
	struct allvm v;
	struct gctx c = { .v = &v };
	uint8_t b[6];

	(void)state;
	allvm_setup(&v);
	assert_int_equal(mv_user_write(v.k.t, v.map + PRIV_PA, "VMM!!!", 6), 0);
	run_guest(&v, guest_private, &c);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], 0);
	assert_memory_equal(c.buf, "secret", 6);
	/* the VMM's mapping still holds what the VMM wrote; the fd refuses read() */
	assert_int_equal(mv_user_read(v.k.t, v.map + PRIV_PA, b, 6), 0);
	assert_memory_equal(b, "VMM!!!", 6);
	assert_int_equal(mv_syscall(v.k.t, MV_SYS_read, (uint64_t)v.gmem,
				    (uint64_t)(uintptr_t)b, 6, 0, 0, 0), -EINVAL);
	allvm_teardown(&v);
}

static void guest_tags(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;
	uint64_t priv = GK_PAGE_OFFSET + PRIV_PA, shared = GK_PAGE_OFFSET + 0x600000;

	c->r[0] = mv_guest_set_tcf(g, MV_TCF_SYNC);
	c->r[1] = mv_guest_set_tag(g, TAG(priv, 9));
	c->r[2] = mv_guest_write(g, TAG(priv, 9), "tagged", 6);
	c->r[3] = mv_guest_read(g, priv, c->buf, 6);                 /* tag 0xf: wrong */
	note_fault(g, c, 3);
	c->r[4] = mv_guest_set_tag(g, TAG(shared, 3));
	c->r[5] = mv_guest_read(g, TAG(shared, 4), c->buf, 8);
	note_fault(g, c, 5);
	c->r[6] = mv_guest_read(g, TAG(priv, 9), c->buf, 6);
	c->r[7] = mv_guest_set_tcf(g, MV_TCF_NONE);
}

static void test_wrong_tag_faults_on_private_and_shared_memory(void **state)
{
	struct allvm v;
	struct gctx c = { .v = &v };

	(void)state;
	allvm_setup(&v);
	run_guest(&v, guest_tags, &c);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], 0);
	assert_int_equal(c.r[2], 0);
	assert_int_equal(c.r[3], -EFAULT);
	assert_int_equal(c.f[3].vector, 14);
	assert_true(c.f[3].error_code & MV_PF_MTE);
	assert_int_equal(c.f[3].address, GK_PAGE_OFFSET + PRIV_PA);
	assert_int_equal(c.r[4], 0);
	assert_int_equal(c.r[5], -EFAULT);
	assert_true(c.f[5].error_code & MV_PF_MTE);
	assert_int_equal(c.r[6], 0);
	assert_memory_equal(c.buf, "tagged", 6);
	assert_int_equal(c.r[7], 0);
	allvm_teardown(&v);
}

/*
 * The kernel maps an EPC page (its SGX driver's ioremap): a vmalloc page
 * whose entry it points at the EPC. vmap() takes RAM pages only.
 */
static long map_epc(struct guest_kernel *k, uint64_t pa, uint64_t *va)
{
	long r = guest_vmalloc(k, 1, va);

	return r ? r : guest_kernel_poke_pte(k, *va, pa | GK_PTE_P | GK_PTE_RW | GK_PTE_NX);
}

static void guest_epc(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;
	uint64_t pa = EPC_GPA + KT_PG, va = 0;

	(void)guest_kernel_resume(c->v->kernel, g);
	c->r[0] = map_epc(c->v->kernel, pa, &va);
	c->r[1] = mv_guest_write(g, va, "mine", 4);
	c->r[2] = mv_guest_read(g, va, c->buf, 4);
	/* ENCLS takes linear addresses: the SECS through a mapping of its own */
	if (!map_epc(c->v->kernel, EPC_GPA, &va))
		c->r[3] = mv_guest_encls(g, SGX_EREMOVE, 0, va, 0);   /* the SECS has a child */
}

static void test_enclave_epc_reads_all_ones_from_outside(void **state)
{
	struct allvm v;
	struct gctx c = { .v = &v };
	uint8_t b[4];

	(void)state;
	allvm_setup(&v);
	run_guest(&v, guest_epc, &c);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], 0);          /* the write vanishes */
	assert_int_equal(c.r[2], 0);
	assert_memory_equal(c.buf, "\xff\xff\xff\xff", 4);
	assert_int_equal(c.r[3], SGX_CHILD_PRESENT);
	assert_int_equal(mv_user_read(v.k.t, v.epc_map + KT_PG, b, 4), 0);
	assert_memory_equal(b, "\xff\xff\xff\xff", 4);
	allvm_teardown(&v);
}

static void guest_cet(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;

	c->r[0] = mv_guest_rdmsr(g, MSR_IA32_S_CET, &c->val[0]);
	c->r[1] = mv_guest_rdmsr(g, MSR_IA32_PL0_SSP, &c->val[1]);
	c->r[2] = mv_guest_wrmsr(g, MSR_IA32_PL0_SSP, 0xffff8880007fe003ull);
	note_fault(g, c, 2);
	c->r[3] = mv_guest_wrmsr(g, MSR_IA32_PL0_SSP, 0xffff8880007fe000ull);
}

static void test_cet_state_set_and_read_back(void **state)
{
	struct allvm v;
	struct gctx c = { .v = &v };

	(void)state;
	allvm_setup(&v);
	assert_int_equal(get_msr(&v, MSR_IA32_S_CET), 1);
	assert_int_equal(get_msr(&v, MSR_IA32_PL0_SSP), 0xffff8880007ff000ull);
	run_guest(&v, guest_cet, &c);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.val[0], 1);
	assert_int_equal(c.r[1], 0);
	assert_int_equal(c.val[1], 0xffff8880007ff000ull);
	assert_int_equal(c.r[2], -EFAULT);
	assert_int_equal(c.f[2].vector, 13);
	assert_int_equal(c.r[3], 0);
	assert_int_equal(get_msr(&v, MSR_IA32_PL0_SSP), 0xffff8880007fe000ull);
	allvm_teardown(&v);
}

/* ---- where the mechanisms meet ---- */

static void guest_epc_tags(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;
	uint64_t pa = EPC_GPA + KT_PG, va = 0;
	uint8_t tag = 0xaa;

	(void)guest_kernel_resume(c->v->kernel, g);
	(void)map_epc(c->v->kernel, pa, &va);
	c->r[0] = mv_guest_set_tcf(g, MV_TCF_SYNC);
	c->r[1] = mv_guest_set_tag(g, TAG(va, 5));     /* EPC holds no tags: nothing happens */
	c->r[2] = mv_guest_get_tag(g, TAG(va, 5), &tag);
	c->val[0] = tag;
	c->r[3] = mv_guest_read(g, TAG(va, 7), c->buf, 4);   /* never tag checked */
	c->r[4] = mv_guest_set_tcf(g, MV_TCF_NONE);
}

static void test_mte_vm_maps_its_vepc_untagged(void **state)
{
	struct allvm v;
	struct gctx c = { .v = &v };
	struct mv_vm_range r[16];
	uint8_t tags[256];
	struct kvm_arm_copy_mte_tags ct = {
		.guest_ipa = EPC_GPA, .length = KT_PG, .addr = tags,
		.flags = KVM_ARM_TAGS_FROM_GUEST,
	};
	long n;
	bool seen_epc = false;

	(void)state;
	allvm_setup(&v);
	run_guest(&v, guest_epc_tags, &c);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], 0);
	assert_int_equal(c.r[2], 0);
	assert_int_equal(c.val[0], 0);
	assert_int_equal(c.r[3], 0);
	assert_memory_equal(c.buf, "\xff\xff\xff\xff", 4);
	assert_int_equal(c.r[4], 0);
	/* the VMM cannot copy tags EPC does not have */
	assert_int_equal(kt_ioctl_p(v.k.t, v.k.vm, KVM_ARM_MTE_COPY_TAGS, &ct), -EFAULT);
	/* the memory map: RAM tagged, the vEPC not */
	n = mv_vm_memory_map(v.k.t, v.k.vm, r, 16);
	assert_true(n > 0 && n <= 16);
	for (long i = 0; i < n; i++) {
		if (r[i].flags & MV_RANGE_EPC) {
			seen_epc = true;
			assert_false(r[i].flags & MV_RANGE_TAGGED);
		} else {
			assert_true(r[i].flags & MV_RANGE_TAGGED);
		}
	}
	assert_true(seen_epc);
	allvm_teardown(&v);
}

static void test_mte_vm_still_refuses_other_untaggable_memory(void **state)
{
	struct kvmtest k;
	struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_MTE };
	long dz, a;

	(void)state;
	kt_setup(&k, 0);
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_ENABLE_CAP, &cap), 0);
	dz = mv_syscall(k.t, MV_SYS_openat, (uint64_t)AT_FDCWD, (uint64_t)(uintptr_t)"/dev/zero",
			O_RDWR, 0, 0, 0);
	a = mv_syscall(k.t, MV_SYS_mmap, 0, 2 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		       (uint64_t)dz, 0);
	assert_true(a > 0);
	assert_int_equal(kt_region(&k, 0, 0, 0, 2 * MB, (uint64_t)a), -EINVAL);
	kt_teardown(&k);
}

static void guest_tag_private(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;

	c->r[0] = mv_guest_set_tag(g, TAG(GK_PAGE_OFFSET + PRIV_PA, 9));
	c->r[1] = mv_guest_get_tag(g, GK_PAGE_OFFSET + PRIV_PA, &c->buf[0]);
}

static void test_copy_tags_never_shows_a_private_pages_tags(void **state)
{
	struct allvm v;
	struct gctx c = { .v = &v };
	uint8_t tags[256];
	struct kvm_arm_copy_mte_tags ct = {
		.guest_ipa = PRIV_PA, .length = KT_PG, .addr = tags,
		.flags = KVM_ARM_TAGS_FROM_GUEST,
	};

	(void)state;
	allvm_setup(&v);
	run_guest(&v, guest_tag_private, &c);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], 0);
	assert_int_equal(c.buf[0], 9);
	/* KVM copies the tags of the gfn's shared page (what the VMM maps), never the private one's */
	memset(tags, 0x55, sizeof(tags));
	assert_int_equal(kt_ioctl_p(v.k.t, v.k.vm, KVM_ARM_MTE_COPY_TAGS, &ct), KT_PG);
	for (int i = 0; i < 256; i++)
		assert_int_equal(tags[i], 0);
	allvm_teardown(&v);
}

/* No real machine has both; a memvisor machine without one behaves as that real machine. */
static void test_machines_with_only_sgx_or_only_mte(void **state)
{
	static const uint64_t off[2] = { MV_FEAT_MTE, MV_FEAT_SGX };
	struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_MTE };

	(void)state;
	for (int i = 0; i < 2; i++) {
		struct mv_machine_config cfg = { .ram_bytes = 64 * MB, .features_off = off[i] };
		struct kvmtest k;
		long fd;

		assert_int_equal(mv_machine_create(&cfg, &k.m), 0);
		assert_int_equal(mv_task_spawn(k.m, &k.t), 0);
		k.kvm = (int)mv_syscall(k.t, MV_SYS_openat, (uint64_t)AT_FDCWD,
					(uint64_t)(uintptr_t)"/dev/kvm", O_RDWR, 0, 0, 0);
		k.vm = (int)kt_ioctl(k.t, k.kvm, KVM_CREATE_VM, KVM_X86_SW_PROTECTED_VM);
		assert_true(k.vm >= 0);
		fd = mv_syscall(k.t, MV_SYS_openat, (uint64_t)AT_FDCWD,
				(uint64_t)(uintptr_t)"/dev/sgx_vepc", O_RDWR, 0, 0, 0);
		if (off[i] == MV_FEAT_MTE) {   /* an x86 machine: SGX, no MTE */
			assert_true(fd >= 0);
			assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_ENABLE_CAP, &cap), -EINVAL);
		} else {                       /* an arm64-like one: MTE, no EPC */
			assert_int_equal(fd, -ENOENT);
			assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_ENABLE_CAP, &cap), 0);
		}
		kt_teardown(&k);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heki_immutable_text_write_denied),
		cmocka_unit_test(test_pinned_cr_bits_cannot_be_cleared),
		cmocka_unit_test(test_private_memory_invisible_to_the_vmm_mapping),
		cmocka_unit_test(test_wrong_tag_faults_on_private_and_shared_memory),
		cmocka_unit_test(test_enclave_epc_reads_all_ones_from_outside),
		cmocka_unit_test(test_cet_state_set_and_read_back),
		cmocka_unit_test(test_mte_vm_maps_its_vepc_untagged),
		cmocka_unit_test(test_mte_vm_still_refuses_other_untaggable_memory),
		cmocka_unit_test(test_copy_tags_never_shows_a_private_pages_tags),
		cmocka_unit_test(test_machines_with_only_sgx_or_only_mte),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
