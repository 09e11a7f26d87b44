/* SPDX-License-Identifier: MIT */
/*
 * One VM with every protection at once (docs/all-protections.md): a
 * KVM_X86_SW_PROTECTED_VM with MTE, 8 MiB of RAM that is also a
 * guest_memfd, a vEPC slot holding an enclave the guest built with ENCLS,
 * a guest kernel booted with Heki, and CET state in its vCPU. Each test
 * shows one protection working in that VM, or one rule where two
 * mechanisms meet.
 */
#include "allvm.h"

/* ---- each protection, in that one VM ---- */

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
