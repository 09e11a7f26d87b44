/* SPDX-License-Identifier: MIT */
/*
 * Stage 2 against host changes: what the EPT holds after guest accesses,
 * and how munmap, mprotect, fork's copy-on-write and MADV_DONTNEED reach
 * it through the MMU notifier. Also the per-GFN attribute store.
 */
#include "kvmtest.h"
#include "hw/pgtable.h"
#include "kernel/kernel.h"
#include "kvm/kvm.h"

#define MB (1ull << 20)
#define SYNC 0x40000000ull

static struct kvm *kt_kvm(struct kvmtest *k)
{
	struct file *f = fd_get(k->t, k->vm);
	struct kvm *kvm = kvm_from_file(f);

	file_put(f);
	return kvm;
}

struct step_ctx {
	uint64_t vals[8];
	long r[8];
};

/* write vals[0]; sync; read into vals[1]; sync; write vals[2]; sync; write vals[3] */
static void guest_steps(struct mv_guest *g, void *arg)
{
	struct step_ctx *c = arg;
	uint64_t s = 0;

	c->r[0] = mv_guest_write(g, 0x1000, &c->vals[0], 8);
	mv_guest_write(g, SYNC, &s, 8);
	c->r[1] = mv_guest_read(g, 0x1000, &c->vals[1], 8);
	mv_guest_write(g, SYNC, &s, 8);
	c->r[2] = mv_guest_write(g, 0x1000, &c->vals[2], 8);
	mv_guest_write(g, SYNC, &s, 8);
	c->r[3] = mv_guest_write(g, 0x1000, &c->vals[3], 8);
}

static void kt_expect_exit(struct kvmtest *k, int vcpu, long ret, uint32_t reason)
{
	assert_int_equal(kt_run(k, vcpu), ret);
	assert_int_equal(mv_vcpu_run_area(k->t, vcpu)->exit_reason, reason);
}

static void test_kvm_mmu_leaf_tracks_host(void **state)
{
	struct step_ctx c = { .vals = { 11, 0, 33, 44 } };
	struct kvmtest k;
	struct kvm *kvm;
	uint64_t map, e;
	int vcpu;

	kt_setup(&k, 0);
	map = kt_mmap(&k, 2 * MB);
	assert_int_equal(kt_region(&k, 0, 0, 0, 2 * MB, map), 0);
	kvm = kt_kvm(&k);
	vcpu = kt_vcpu(&k, 0);
	assert_int_equal(mv_vcpu_set_guest(k.t, vcpu, guest_steps, &c), 0);
	assert_int_equal(kvm_mmu_lookup(kvm, 0x1000), 0);   /* built on demand */
	kt_expect_exit(&k, vcpu, 0, KVM_EXIT_MMIO);
	e = kvm_mmu_lookup(kvm, 0x1000);
	assert_true((e & (EPT_R | EPT_W | EPT_X)) == (EPT_R | EPT_W | EPT_X));

	/* mprotect(PROT_READ): the leaf goes; a read maps it read-only again */
	assert_int_equal(mv_syscall(k.t, MV_SYS_mprotect, map, 2 * MB, PROT_READ, 0, 0, 0), 0);
	assert_int_equal(kvm_mmu_lookup(kvm, 0x1000), 0);
	kt_expect_exit(&k, vcpu, 0, KVM_EXIT_MMIO);
	assert_int_equal(c.vals[1], 11);
	e = kvm_mmu_lookup(kvm, 0x1000);
	assert_true((e & EPT_R) && !(e & EPT_W));
	/* the write cannot pin a writable page: KVM_EXIT_MEMORY_FAULT until it can */
	kt_expect_exit(&k, vcpu, -EFAULT, KVM_EXIT_MEMORY_FAULT);
	assert_int_equal(mv_vcpu_run_area(k.t, vcpu)->memory_fault.gpa, 0x1000);
	assert_int_equal(mv_syscall(k.t, MV_SYS_mprotect, map, 2 * MB, PROT_READ | PROT_WRITE, 0, 0, 0),
			 0);
	kt_expect_exit(&k, vcpu, 0, KVM_EXIT_MMIO);
	assert_int_equal(c.r[2], 0);

	/* munmap: the leaf goes and the next access is a memory fault */
	assert_int_equal(mv_syscall(k.t, MV_SYS_munmap, map, 2 * MB, 0, 0, 0, 0), 0);
	assert_int_equal(kvm_mmu_lookup(kvm, 0x1000), 0);
	kt_expect_exit(&k, vcpu, -EFAULT, KVM_EXIT_MEMORY_FAULT);
	kt_teardown(&k);
}

/*
 * Fork write-protects the VMM's private pages: the guest's next write must
 * break copy-on-write in the VMM, not scribble on the page the child shares.
 */
static void test_kvm_mmu_fork_cow(void **state)
{
	struct step_ctx c = { .vals = { 0x1111, 0, 0x2222, 0x3333 } };
	struct mv_task *child;
	struct kvmtest k;
	uint64_t map, v = 0;
	int vcpu;

	kt_setup(&k, 0);
	map = kt_mmap(&k, 2 * MB);
	assert_int_equal(kt_region(&k, 0, 0, 0, 2 * MB, map), 0);
	vcpu = kt_vcpu(&k, 0);
	assert_int_equal(mv_vcpu_set_guest(k.t, vcpu, guest_steps, &c), 0);
	kt_expect_exit(&k, vcpu, 0, KVM_EXIT_MMIO);     /* wrote 0x1111 */
	kt_expect_exit(&k, vcpu, 0, KVM_EXIT_MMIO);     /* read it back */
	assert_int_equal(mv_task_clone(k.t, 0, &child), 0);
	kt_expect_exit(&k, vcpu, 0, KVM_EXIT_MMIO);     /* wrote 0x2222 after the fork */
	assert_int_equal(mv_user_read(child, map + 0x1000, &v, 8), 0);
	assert_int_equal(v, 0x1111);
	assert_int_equal(mv_user_read(k.t, map + 0x1000, &v, 8), 0);
	assert_int_equal(v, 0x2222);
	kt_expect_exit(&k, vcpu, 0, KVM_EXIT_HLT);
	assert_int_equal(mv_user_read(k.t, map + 0x1000, &v, 8), 0);
	assert_int_equal(v, 0x3333);
	assert_int_equal(mv_user_read(child, map + 0x1000, &v, 8), 0);
	assert_int_equal(v, 0x1111);
	mv_task_exit(child);
	kt_teardown(&k);
}

/* ---- read faults: writable when the VMM's PTE is (hva_to_pfn_slow, make_spte) ---- */

enum host_state { HOST_WRITTEN, HOST_READ_ONLY_VMA, HOST_FORKED };

struct read_row {
	const char *name;
	enum host_state host;
	uint32_t slot_flags;
	bool ept_w, dirty;
};

static const struct read_row read_rows[] = {
	/* the VMM wrote the page: its PTE is writable, so the read maps it writable */
	{ "written_logged", HOST_WRITTEN, KVM_MEM_LOG_DIRTY_PAGES, true, true },
	{ "written_unlogged", HOST_WRITTEN, 0, true, false },
	/* a read-only slot never maps writable */
	{ "written_readonly_slot", HOST_WRITTEN, KVM_MEM_READONLY | KVM_MEM_LOG_DIRTY_PAGES,
	  false, false },
	/* the VMM's PTE is read-only: a PROT_READ mapping, or write-protected by fork */
	{ "prot_read_vma", HOST_READ_ONLY_VMA, KVM_MEM_LOG_DIRTY_PAGES, false, false },
	{ "cow_after_fork", HOST_FORKED, KVM_MEM_LOG_DIRTY_PAGES, false, false },
};

static void guest_read_once(struct mv_guest *g, void *arg)
{
	struct step_ctx *c = arg;

	c->r[0] = mv_guest_read(g, 0x1000, &c->vals[0], 8);
}

static void test_kvm_mmu_read_fault_writable_table(void **state)
{
	for (size_t i = 0; i < sizeof(read_rows) / sizeof(read_rows[0]); i++) {
		const struct read_row *row = &read_rows[i];
		struct step_ctx c = { .vals = { 0 } };
		unsigned long bits[1] = { 0 };
		struct mv_task *child = NULL;
		uint64_t map, v = 0x77, e;
		struct kvmtest k;
		int vcpu;

		kt_setup(&k, 0);
		map = kt_mmap(&k, 2 * MB);
		assert_int_equal(mv_user_write(k.t, map + 0x1000, &v, 8), 0);
		if (row->host == HOST_READ_ONLY_VMA)
			assert_int_equal(mv_syscall(k.t, MV_SYS_mprotect, map, 2 * MB, PROT_READ,
						    0, 0, 0), 0);
		if (row->host == HOST_FORKED)
			assert_int_equal(mv_task_clone(k.t, 0, &child), 0);
		assert_int_equal(kt_region(&k, 0, row->slot_flags, 0, 64 * KT_PG, map), 0);
		vcpu = kt_vcpu(&k, 0);
		assert_int_equal(mv_vcpu_set_guest(k.t, vcpu, guest_read_once, &c), 0);
		kt_expect_exit(&k, vcpu, 0, KVM_EXIT_HLT);
		assert_int_equal(c.r[0], 0);
		assert_int_equal(c.vals[0], 0x77);
		e = kvm_mmu_lookup(kt_kvm(&k), 0x1000);
		if (row->slot_flags & KVM_MEM_LOG_DIRTY_PAGES)
			assert_int_equal(kt_dirty_log(k.t, k.vm, 0, bits), 0);
		if (!(e & EPT_R) || !!(e & EPT_W) != row->ept_w || !!(bits[0] & 2) != row->dirty)
			fail_msg("%s: EPT leaf 0x%llx (want W=%d), dirty bits 0x%lx (want page 1: %d)",
				 row->name, (unsigned long long)e, row->ept_w, bits[0], row->dirty);
		if (child)
			mv_task_exit(child);
		kt_teardown(&k);
	}
}

/* The VMM process exits while its VM is mapped by itself (a vCPU mmap). */
static void test_kvm_mmu_vmm_exit_with_vcpu_mapping(void **state)
{
	struct step_ctx c = { .vals = { 1, 0, 2, 3 } };
	struct kvmtest k;
	uint64_t map;
	int vcpu;

	kt_setup(&k, 0);
	map = kt_mmap(&k, 2 * MB);
	assert_int_equal(kt_region(&k, 0, 0, 0, 2 * MB, map), 0);
	vcpu = kt_vcpu(&k, 0);
	assert_true(mv_syscall(k.t, MV_SYS_mmap, 0, 3 * KT_PG, PROT_READ | PROT_WRITE, MAP_SHARED,
			       (uint64_t)vcpu, 0) > 0);
	assert_int_equal(mv_vcpu_set_guest(k.t, vcpu, guest_steps, &c), 0);
	kt_expect_exit(&k, vcpu, 0, KVM_EXIT_MMIO);
	mv_task_exit(k.t);          /* fds closed, then the mm (and the VM with it) */
	kt_teardown(&k);
}

static void guest_touch_2g(struct mv_guest *g, void *arg)
{
	uint64_t v = 7, s = 0;

	*(long *)arg = mv_guest_write(g, 0x80001000ull, &v, 8);
	mv_guest_write(g, SYNC, &s, 8);
}

/* free_pgtables() for stage 2: deleting a slot frees the EPT tables only it used. */
static void test_kvm_mmu_slot_delete_frees_its_ept_tables(void **state)
{
	struct mv_machine_stats s0, s1;
	struct kvmtest k;
	struct kvm *kvm;
	uint64_t map, tables;
	long r = -1;
	int vcpu;

	kt_setup(&k, 0);
	map = kt_mmap(&k, 2 * MB);
	assert_int_equal(kt_region(&k, 0, 0, 0x80000000ull, 2 * MB, map), 0);
	kvm = kt_kvm(&k);
	vcpu = kt_vcpu(&k, 0);
	assert_int_equal(mv_vcpu_set_guest(k.t, vcpu, guest_touch_2g, &r), 0);
	tables = __atomic_load_n(&kvm->hw->nr_pgtables, __ATOMIC_RELAXED);
	kt_expect_exit(&k, vcpu, 0, KVM_EXIT_MMIO);
	assert_int_equal(r, 0);
	/* three EPT levels below the root now map gpa 2 GiB (plus the VMM's own tables) */
	assert_true(kvm->hw->nr_pgtables >= tables + 3);
	tables = kvm->hw->nr_pgtables;
	mv_machine_get_stats(k.m, &s0);
	assert_int_equal(kt_region(&k, 0, 0, 0x80000000ull, 0, map), 0);
	mv_machine_get_stats(k.m, &s1);
	assert_int_equal(kvm->hw->nr_pgtables, tables - 3);
	/* the VMM still maps its page: only the tables came back */
	assert_int_equal(s1.frames_free - s0.frames_free, 3);
	assert_int_equal(kvm_mmu_lookup(kvm, 0x80001000ull), 0);
	kt_teardown(&k);
}

static void test_kvm_attr_store(void **state)
{
	struct kvmtest k;
	struct kvm *kvm;

	kt_setup(&k, 0);
	kvm = kt_kvm(&k);
	assert_int_equal(kvm_attr_get(kvm, 5), 0);
	assert_int_equal(kvm_attr_set_range(kvm, 4, 4, 8), -EINVAL);
	assert_int_equal(kvm_attr_set_range(kvm, 4, 8, KVM_MEMORY_ATTRIBUTE_PRIVATE), 0);
	assert_int_equal(kvm_attr_get(kvm, 3), 0);
	assert_int_equal(kvm_attr_get(kvm, 4), KVM_MEMORY_ATTRIBUTE_PRIVATE);
	assert_int_equal(kvm_attr_get(kvm, 7), KVM_MEMORY_ATTRIBUTE_PRIVATE);
	assert_int_equal(kvm_attr_get(kvm, 8), 0);
	assert_true(kvm_attr_range_is(kvm, 4, 8, ~0ull, KVM_MEMORY_ATTRIBUTE_PRIVATE));
	assert_false(kvm_attr_range_is(kvm, 3, 8, ~0ull, KVM_MEMORY_ATTRIBUTE_PRIVATE));
	assert_true(kvm_attr_range_is(kvm, 8, 100, ~0ull, 0));
	assert_false(kvm_attr_range_is(kvm, 0, 5, ~0ull, 0));
	assert_true(kvm_attr_range_is(kvm, 0, 5, 1, 0));   /* bit 0 clear everywhere */
	assert_int_equal(kvm_attr_set_range(kvm, 5, 6, 0), 0);
	assert_int_equal(kvm_attr_get(kvm, 5), 0);
	assert_int_equal(kvm_attr_get(kvm, 6), KVM_MEMORY_ATTRIBUTE_PRIVATE);
	kt_teardown(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_mmu_leaf_tracks_host),
		cmocka_unit_test(test_kvm_mmu_fork_cow),
		cmocka_unit_test(test_kvm_mmu_read_fault_writable_table),
		cmocka_unit_test(test_kvm_mmu_vmm_exit_with_vcpu_mapping),
		cmocka_unit_test(test_kvm_mmu_slot_delete_frees_its_ept_tables),
		cmocka_unit_test(test_kvm_attr_store),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
