/* SPDX-License-Identifier: MIT */
/*
 * 2 MiB stage-2 leaves (kvm_mmu_hugepage_adjust, kvm_mmu_max_mapping_level):
 * a fault maps 2 MiB when the backing is a 2 MiB page (a guest_memfd folio;
 * memvisor's kernel maps VMM memory with 4 KiB pages only), the slot holds
 * the whole aligned range with its gfns, VMM addresses and file offsets
 * congruent, and the range's attributes are not mixed. Attribute changes
 * and punches split the leaf (it is zapped and the next faults map what
 * is allowed then); a uniform range is mapped 2 MiB again over a table of
 * 4 KiB leaves.
 */
#include "kvmtest.h"
#include "hw/pgtable.h"
#include "kernel/kernel.h"
#include "kvm/kvm.h"

#define MB (1ull << 20)
#define PRIV KVM_MEMORY_ATTRIBUTE_PRIVATE

static struct kvm *kh_kvm(struct kvmtest *k, long vm)
{
	struct file *f = fd_get(k->t, (int)vm);
	struct kvm *kvm = kvm_from_file(f);

	file_put(f);
	return kvm;
}

static long kh_gmem(struct kvmtest *k, long vm, uint64_t size, uint64_t flags)
{
	struct kvm_create_guest_memfd g = { .size = size, .flags = flags };

	return kt_ioctl_p(k->t, (int)vm, KVM_CREATE_GUEST_MEMFD, &g);
}

struct hctx {
	uint64_t gpa[4];
	int n;
	long r[4];
};

static void guest_reads(struct mv_guest *g, void *arg)
{
	struct hctx *c = arg;
	uint64_t v;

	for (int i = 0; i < c->n; i++)
		c->r[i] = mv_guest_read(g, c->gpa[i], &v, 8);
}

static void kh_run_reads(struct kvmtest *k, long vm, int vcpu, struct hctx *c)
{
	assert_int_equal(mv_vcpu_set_guest(k->t, vcpu, guest_reads, c), 0);
	assert_int_equal(kt_ioctl(k->t, vcpu, KVM_RUN, 0), 0);
	assert_int_equal(mv_vcpu_run_area(k->t, vcpu)->exit_reason, KVM_EXIT_HLT);
	for (int i = 0; i < c->n; i++)
		assert_int_equal(c->r[i], 0);
}

struct huge_row {
	const char *name;
	unsigned long vm_type;
	uint64_t gmem_flags, gmem_size;
	uint64_t gpa, size, gmem_off, uaddr;   /* uaddr: 1 = a 2 MiB-aligned VMM mapping */
	uint64_t private_gpa, private_size;    /* made private before the guest runs */
	uint64_t touch;                        /* the gpa the guest reads */
	bool huge;
};

#define SW KVM_X86_SW_PROTECTED_VM
#define MMAP GUEST_MEMFD_FLAG_MMAP

static const struct huge_row huge_rows[] = {
	/* shared pages of an mmap-able guest_memfd: its 2 MiB folios */
	{ "gmem_only", 0, MMAP, 4 * MB, 0, 4 * MB, 0, 0, 0, 0, 0x1000, true },
	{ "gmem_only_second_2m", 0, MMAP, 4 * MB, 0, 4 * MB, 0, 0, 0, 0, 2 * MB + 0x5000, true },
	/* the aligned 2 MiB around the gfn is not all in the slot */
	{ "slot_smaller", 0, MMAP, 4 * MB, 0, MB, 0, 0, 0, 0, 0x1000, false },
	{ "slot_starts_mid_2m", 0, MMAP, 4 * MB, MB, 2 * MB, MB, 0, 0, 0, MB + 0x1000, false },
	/* gfn and file offset, or gfn and VMM address, not congruent modulo 2 MiB */
	{ "gmem_offset_misaligned", 0, MMAP, 4 * MB, 0, 2 * MB, MB, 0, 0, 0, 0x1000, false },
	{ "uaddr_misaligned", 0, MMAP, 4 * MB, 0, 4 * MB, 0, 0x1000, 0, 0, 0x1000, false },
	/* private pages of a software-protected VM */
	{ "private_uniform", SW, 0, 2 * MB, 0, 2 * MB, 0, 1, 0, 2 * MB, 0x3000, true },
	{ "private_mixed", SW, 0, 2 * MB, 0, 2 * MB, 0, 1, 0, MB, 0x3000, false },
	/* shared pages from the VMM's memory: the host maps them 4 KiB */
	{ "shared_from_vmm", SW, 0, 2 * MB, 0, 2 * MB, 0, 1, 0, 0, 0x3000, false },
	{ "default_vm_vmm_memory", 0, 0, 2 * MB, 0, 2 * MB, 0, 1, 0, 0, 0x3000, false },
};

/* A 2 MiB-aligned VMM mapping (map 4 MiB, unmap around an aligned 2 MiB). */
static uint64_t kh_aligned_mmap(struct kvmtest *k)
{
	uint64_t a = kt_mmap(k, 4 * MB), al = (a + 2 * MB - 1) & ~(2 * MB - 1);

	if (al > a)
		assert_int_equal(mv_syscall(k->t, MV_SYS_munmap, a, al - a, 0, 0, 0, 0), 0);
	assert_int_equal(mv_syscall(k->t, MV_SYS_munmap, al + 2 * MB, a + 4 * MB - al - 2 * MB, 0,
				    0, 0, 0), 0);
	return al;
}

static void test_kvm_hugepage_adjust_table(void **state)
{
	for (size_t i = 0; i < sizeof(huge_rows) / sizeof(huge_rows[0]); i++) {
		const struct huge_row *row = &huge_rows[i];
		struct hctx c = { .gpa = { row->touch }, .n = 1 };
		struct kvm_userspace_memory_region2 r = {
			.slot = 0, .flags = KVM_MEM_GUEST_MEMFD, .guest_phys_addr = row->gpa,
			.memory_size = row->size, .guest_memfd_offset = row->gmem_off,
		};
		struct kvmtest k;
		long vm, gmem;
		uint64_t e;
		int vcpu;

		kt_setup(&k, 0);
		vm = row->vm_type ? kt_ioctl(k.t, k.kvm, KVM_CREATE_VM, row->vm_type) : k.vm;
		assert_true(vm >= 0);
		gmem = kh_gmem(&k, vm, row->gmem_size, row->gmem_flags);
		assert_true(gmem >= 0);
		r.guest_memfd = (uint32_t)gmem;
		r.userspace_addr = row->uaddr == 1 ? kh_aligned_mmap(&k) : row->uaddr;
		assert_int_equal(kt_ioctl_p(k.t, (int)vm, KVM_SET_USER_MEMORY_REGION2, &r), 0);
		if (row->private_size)
			assert_int_equal(kt_set_attributes(k.t, (int)vm, row->private_gpa,
							   row->private_size, PRIV), 0);
		vcpu = (int)kt_ioctl(k.t, (int)vm, KVM_CREATE_VCPU, 0);
		assert_true(vcpu >= 0);
		kh_run_reads(&k, vm, vcpu, &c);
		e = kvm_mmu_lookup(kh_kvm(&k, vm), row->touch);
		if (!(e & EPT_R) || !!(e & EPT_PS) != row->huge)
			fail_msg("%s: leaf 0x%llx, want %s", row->name, (unsigned long long)e,
				 row->huge ? "2 MiB" : "4 KiB");
		kt_teardown(&k);
	}
}

static void guest_read_values(struct mv_guest *g, void *arg)
{
	struct hctx *c = arg;

	for (int i = 0; i < c->n; i++)
		c->r[i] = mv_guest_read(g, c->gpa[i], &c->gpa[i], 8);
}

/* Every 4 KiB of a 2 MiB leaf is the right page of the folio, in both 2 MiB halves. */
static void test_kvm_hugepage_data_through_2m_leaves(void **state)
{
	static const uint64_t offs[4] = { 0x1000, 0x1ff008, 0x200010, 0x3ff018 };
	struct hctx c = { .n = 4 };
	struct kvmtest k;
	uint64_t mem;
	long gmem, a;
	int vcpu;

	kt_setup(&k, 0);
	gmem = kh_gmem(&k, k.vm, 4 * MB, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	assert_true(gmem >= 0);
	assert_int_equal(kt_region_gmem(k.t, k.vm, 0, 0, 4 * MB, 0, (int)gmem, 0), 0);
	a = MVTEST_SYSCALL(k.t, MV_SYS_mmap, 0, 4 * MB, PROT_READ | PROT_WRITE, MAP_SHARED, gmem, 0);
	assert_true(a > 0);
	mem = (uint64_t)a;
	for (int i = 0; i < 4; i++) {
		uint64_t v = 0xabc0 + (uint64_t)i;

		assert_int_equal(mv_user_write(k.t, mem + offs[i], &v, 8), 0);
		c.gpa[i] = offs[i];
	}
	vcpu = kt_vcpu(&k, 0);
	assert_int_equal(mv_vcpu_set_guest(k.t, vcpu, guest_read_values, &c), 0);
	assert_int_equal(kt_run(&k, vcpu), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(c.r[i], 0);
		assert_int_equal(c.gpa[i], 0xabc0 + (uint64_t)i);
		assert_true(kvm_mmu_lookup(kh_kvm(&k, k.vm), offs[i]) & EPT_PS);
	}
	kt_teardown(&k);
}

/* A software-protected VM, 2 MiB of guest_memfd at gpa 0, all private. */
struct kh {
	struct kvmtest k;
	long vm, gmem;
	int vcpu;
	struct kvm *kvm;
};

static void kh_setup(struct kh *h)
{
	struct kvm_userspace_memory_region2 r = {
		.slot = 0, .flags = KVM_MEM_GUEST_MEMFD, .memory_size = 2 * MB,
	};

	kt_setup(&h->k, 0);
	h->vm = kt_ioctl(h->k.t, h->k.kvm, KVM_CREATE_VM, SW);
	h->gmem = kh_gmem(&h->k, h->vm, 2 * MB, 0);
	assert_true(h->vm >= 0 && h->gmem >= 0);
	r.guest_memfd = (uint32_t)h->gmem;
	r.userspace_addr = kh_aligned_mmap(&h->k);
	assert_int_equal(kt_ioctl_p(h->k.t, (int)h->vm, KVM_SET_USER_MEMORY_REGION2, &r), 0);
	assert_int_equal(kt_set_attributes(h->k.t, (int)h->vm, 0, 2 * MB, PRIV), 0);
	h->vcpu = (int)kt_ioctl(h->k.t, (int)h->vm, KVM_CREATE_VCPU, 0);
	h->kvm = kh_kvm(&h->k, h->vm);
}

/*
 * A conversion inside a 2 MiB leaf splits it (the range's attributes are
 * mixed now): the leaf goes, private and shared faults map 4 KiB. Converted
 * back, the range is uniform again and the next fault maps 2 MiB over the
 * 4 KiB leaves.
 */
static void test_kvm_hugepage_split_on_attribute_change(void **state)
{
	struct hctx c = { .gpa = { 0x1000 }, .n = 1 };
	struct kh h;

	kh_setup(&h);
	kh_run_reads(&h.k, h.vm, h.vcpu, &c);
	assert_true(kvm_mmu_lookup(h.kvm, 0x1000) & EPT_PS);
	assert_int_equal(kt_set_attributes(h.k.t, (int)h.vm, 0x5000, 0x1000, 0), 0);
	assert_int_equal(kvm_mmu_lookup(h.kvm, 0x1000), 0);
	c = (struct hctx){ .gpa = { 0x1000, 0x5000, 0x6000 }, .n = 3 };
	kh_run_reads(&h.k, h.vm, h.vcpu, &c);
	assert_int_equal(kvm_mmu_lookup(h.kvm, 0x1000) & EPT_PS, 0);
	assert_int_equal(kvm_mmu_lookup(h.kvm, 0x5000) & EPT_PS, 0);
	assert_int_equal(kvm_mmu_lookup(h.kvm, 0x6000) & EPT_PS, 0);
	assert_true(kvm_mmu_lookup(h.kvm, 0x6000) & EPT_R);
	/* the shared page is the VMM's, not the guest_memfd's */
	assert_true((kvm_mmu_lookup(h.kvm, 0x5000) & EPT_ADDR) !=
		    (kvm_mmu_lookup(h.kvm, 0x6000) & EPT_ADDR) - 0x1000);

	assert_int_equal(kt_set_attributes(h.k.t, (int)h.vm, 0x5000, 0x1000, PRIV), 0);
	c = (struct hctx){ .gpa = { 0x5000, 0x1000 }, .n = 2 };
	kh_run_reads(&h.k, h.vm, h.vcpu, &c);
	assert_true(kvm_mmu_lookup(h.kvm, 0x1000) & EPT_PS);
	assert_true(kvm_mmu_lookup(h.kvm, 0x6000) & EPT_PS);
	kt_teardown(&h.k);
}

static void guest_write_read_2m(struct mv_guest *g, void *arg)
{
	struct hctx *c = arg;
	uint64_t v = 0x77, back = 0, s = 0;

	c->r[0] = mv_guest_write(g, 0x3000, &v, 8);
	c->r[1] = mv_guest_write(g, 0x100000, &v, 8);
	mv_guest_write(g, 0x40000000, &s, 8);            /* hand over to the VMM */
	c->r[2] = mv_guest_read(g, 0x3000, &back, 8);
	c->gpa[0] = back;
	c->r[3] = mv_guest_read(g, 0x100000, &back, 8);
	c->gpa[1] = back;
}

/*
 * A punch of one page of a 2 MiB folio splits the folio (or zeroes the
 * page in place) and zaps the 2 MiB leaf through the invalidation; the
 * punched page reads zero, its neighbours keep their data, and they are
 * mapped 4 KiB now that the folio is 4 KiB pages.
 */
static void test_kvm_hugepage_split_on_punch(void **state)
{
	struct hctx c = { .n = 0 };
	struct kvm_run *run;
	struct kh h;

	kh_setup(&h);
	assert_int_equal(mv_vcpu_set_guest(h.k.t, h.vcpu, guest_write_read_2m, &c), 0);
	run = mv_vcpu_run_area(h.k.t, h.vcpu);
	assert_int_equal(kt_ioctl(h.k.t, h.vcpu, KVM_RUN, 0), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
	assert_true(kvm_mmu_lookup(h.kvm, 0x3000) & EPT_PS);
	assert_int_equal(MVTEST_SYSCALL(h.k.t, MV_SYS_fallocate, h.gmem,
					FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0x3000, 0x1000), 0);
	assert_int_equal(kvm_mmu_lookup(h.kvm, 0x3000), 0);
	assert_int_equal(kvm_mmu_lookup(h.kvm, 0x100000), 0);
	assert_int_equal(kt_ioctl(h.k.t, h.vcpu, KVM_RUN, 0), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(c.r[0] | c.r[1] | c.r[2] | c.r[3], 0);
	assert_int_equal(c.gpa[0], 0);                   /* punched */
	assert_int_equal(c.gpa[1], 0x77);                /* kept */
	assert_int_equal(kvm_mmu_lookup(h.kvm, 0x100000) & EPT_PS, 0);
	kt_teardown(&h.k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_hugepage_adjust_table),
		cmocka_unit_test(test_kvm_hugepage_data_through_2m_leaves),
		cmocka_unit_test(test_kvm_hugepage_split_on_attribute_change),
		cmocka_unit_test(test_kvm_hugepage_split_on_punch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
