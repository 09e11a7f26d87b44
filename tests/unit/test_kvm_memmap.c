/* SPDX-License-Identifier: MIT */
/* mv_vm_memory_map: ranges per memslot, split where attributes change, and its errors. */
#include "kvmtest.h"
#include "kvm/kvm.h"

/* Marks gfns [start, end) private, as KVM_SET_MEMORY_ATTRIBUTES will. */
static void memmap_set_private(struct kvmtest *k, uint64_t start, uint64_t end)
{
	struct file *f = fd_get(k->t, k->vm);

	assert_non_null(f);
	assert_int_equal(kvm_attr_set_range(kvm_from_file(f), start, end,
					    KVM_MEMORY_ATTRIBUTE_PRIVATE), 0);
	file_put(f);
}

static void test_kvm_memmap_one_range_per_slot_in_gpa_order(void **state)
{
	struct kvmtest k;
	struct mv_vm_range r[4];
	uint64_t ram, rom;

	kt_setup(&k, 64ull << 20);
	ram = kt_mmap(&k, 16 * KT_PG);
	rom = kt_mmap(&k, 4 * KT_PG);
	assert_int_equal(kt_region(&k, 1, KVM_MEM_READONLY, 0xfffc0000, 4 * KT_PG, rom), 0);
	assert_int_equal(kt_region(&k, 0, KVM_MEM_LOG_DIRTY_PAGES, 0, 16 * KT_PG, ram), 0);
	assert_int_equal(mv_vm_memory_map(k.t, k.vm, r, 4), 2);
	assert_int_equal(r[0].gpa, 0);
	assert_int_equal(r[0].size, 16 * KT_PG);
	assert_int_equal(r[0].hva, ram);
	assert_int_equal(r[0].slot, 0);
	assert_int_equal(r[0].flags, MV_RANGE_READ | MV_RANGE_WRITE | MV_RANGE_EXEC |
				     MV_RANGE_DIRTY_LOG);
	assert_int_equal(r[1].gpa, 0xfffc0000);
	assert_int_equal(r[1].slot, 1);
	assert_int_equal(r[1].flags, MV_RANGE_READ | MV_RANGE_EXEC);
	kt_teardown(&k);
}

static void test_kvm_memmap_splits_where_memory_turns_private(void **state)
{
	struct kvmtest k;
	struct mv_vm_range r[8];
	uint64_t ram;

	kt_setup(&k, 64ull << 20);
	ram = kt_mmap(&k, 16 * KT_PG);
	assert_int_equal(kt_region(&k, 0, 0, 0x100000, 16 * KT_PG, ram), 0);
	memmap_set_private(&k, 0x100 + 4, 0x100 + 8);
	memmap_set_private(&k, 0x100 + 8, 0x100 + 10);   /* adjacent: one range */
	memmap_set_private(&k, 0x200, 0x210);             /* outside every slot */
	assert_int_equal(mv_vm_memory_map(k.t, k.vm, r, 8), 3);
	assert_int_equal(r[0].gpa, 0x100000);
	assert_int_equal(r[0].size, 4 * KT_PG);
	assert_false(r[0].flags & MV_RANGE_PRIVATE);
	assert_int_equal(r[1].gpa, 0x104000);
	assert_int_equal(r[1].size, 6 * KT_PG);
	assert_int_equal(r[1].hva, ram + 4 * KT_PG);
	assert_true(r[1].flags & MV_RANGE_PRIVATE);
	assert_int_equal(r[2].gpa, 0x10a000);
	assert_int_equal(r[2].size, 6 * KT_PG);
	assert_false(r[2].flags & MV_RANGE_PRIVATE);
	kt_teardown(&k);
}

static long memmap_gmem(struct kvmtest *k, int vm, uint64_t size)
{
	struct kvm_create_guest_memfd g = { .size = size };

	return kt_ioctl_p(k->t, vm, KVM_CREATE_GUEST_MEMFD, &g);
}

static void memmap_private(struct kvmtest *k, int vm, uint64_t gpa, uint64_t size)
{
	struct kvm_memory_attributes a = { .address = gpa, .size = size,
					   .attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE };

	assert_int_equal(kt_ioctl_p(k->t, vm, KVM_SET_MEMORY_ATTRIBUTES, &a), 0);
}

/*
 * A private range's bytes are in the guest_memfd bound to its slot: the
 * map gives the VMM's fd for it and the offset of the range's first byte
 * there (the slot's guest_memfd_offset plus the range's place in the
 * slot). A private range with no guest_memfd behind it, and every shared
 * range, has none.
 */
static void test_kvm_memmap_private_ranges_name_their_guest_memfd(void **state)
{
	struct kvm_userspace_memory_region2 r = {
		.slot = 0, .flags = KVM_MEM_GUEST_MEMFD, .guest_phys_addr = 0x100000,
		.memory_size = 16 * KT_PG, .guest_memfd_offset = 8 * KT_PG,
	};
	struct mv_vm_range m[8];
	struct kvmtest k;
	long vm, gmem;

	kt_setup(&k, 64ull << 20);
	vm = kt_ioctl(k.t, k.kvm, KVM_CREATE_VM, KVM_X86_SW_PROTECTED_VM);
	assert_true(vm >= 0);
	gmem = memmap_gmem(&k, (int)vm, 32 * KT_PG);
	assert_true(gmem >= 0);
	r.userspace_addr = kt_mmap(&k, 32 * KT_PG);
	r.guest_memfd = (uint32_t)gmem;
	assert_int_equal(kt_ioctl_p(k.t, (int)vm, KVM_SET_USER_MEMORY_REGION2, &r), 0);
	/* a second slot without a guest_memfd */
	assert_int_equal(kt_ioctl_p(k.t, (int)vm, KVM_SET_USER_MEMORY_REGION,
				    &(struct kvm_userspace_memory_region){
					    .slot = 1, .guest_phys_addr = 0x200000,
					    .memory_size = 4 * KT_PG,
					    .userspace_addr = r.userspace_addr + 16 * KT_PG }), 0);
	memmap_private(&k, (int)vm, 0x103000, 2 * KT_PG);
	memmap_private(&k, (int)vm, 0x201000, KT_PG);
	assert_int_equal(mv_vm_memory_map(k.t, (int)vm, m, 8), 6);
	assert_int_equal(m[0].gmem_fd, -1);                 /* shared: the VMM's */
	assert_int_equal(m[1].gpa, 0x103000);
	assert_int_equal(m[1].gmem_fd, gmem);
	assert_int_equal(m[1].gmem_offset, (8 + 3) * KT_PG);
	assert_int_equal(m[2].gmem_fd, -1);
	assert_int_equal(m[4].gpa, 0x201000);
	assert_true(m[4].flags & MV_RANGE_PRIVATE);
	assert_int_equal(m[4].gmem_fd, -1);                 /* private, nothing behind it */
	/* the VMM's fd is what it has open: a dup serves as well, none leaves -1 */
	assert_int_equal(mv_syscall(k.t, MV_SYS_dup2, (uint64_t)gmem, 40, 0, 0, 0, 0), 40);
	assert_int_equal(mv_syscall(k.t, MV_SYS_close, (uint64_t)gmem, 0, 0, 0, 0, 0), 0);
	assert_int_equal(mv_vm_memory_map(k.t, (int)vm, m, 8), 6);
	assert_int_equal(m[1].gmem_fd, 40);
	assert_int_equal(m[1].gmem_offset, (8 + 3) * KT_PG);
	kt_teardown(&k);
}

static void test_kvm_memmap_counts_all_when_given_less_room(void **state)
{
	struct kvmtest k;
	struct mv_vm_range r[1];
	uint64_t ram;

	kt_setup(&k, 64ull << 20);
	ram = kt_mmap(&k, 16 * KT_PG);
	assert_int_equal(mv_vm_memory_map(k.t, k.vm, NULL, 0), 0);
	assert_int_equal(kt_region(&k, 0, 0, 0, 8 * KT_PG, ram), 0);
	assert_int_equal(kt_region(&k, 1, 0, 0x100000, 8 * KT_PG, ram + 8 * KT_PG), 0);
	memmap_set_private(&k, 2, 3);
	assert_int_equal(mv_vm_memory_map(k.t, k.vm, NULL, 0), 4);
	assert_int_equal(mv_vm_memory_map(k.t, k.vm, r, 1), 4);
	assert_int_equal(r[0].size, 2 * KT_PG);
	kt_teardown(&k);
}

static void test_kvm_memmap_errors(void **state)
{
	struct kvmtest k;
	struct mv_task *other;
	struct mv_vm_range r[1];

	kt_setup(&k, 64ull << 20);
	assert_int_equal(mv_vm_memory_map(k.t, 99, r, 1), -EBADF);
	assert_int_equal(mv_vm_memory_map(k.t, k.kvm, r, 1), -EINVAL);   /* /dev/kvm, not a VM */
	assert_int_equal(mv_vm_memory_map(k.t, k.vm, NULL, 1), -EINVAL);
	assert_int_equal(mv_vm_memory_map(NULL, k.vm, r, 1), -EINVAL);
	/* a fork's copy of the fd belongs to another address space */
	assert_int_equal(mv_task_clone(k.t, 0, &other), 0);
	assert_int_equal(mv_vm_memory_map(other, k.vm, r, 1), -EINVAL);
	mv_task_exit(other);
	kt_teardown(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_memmap_one_range_per_slot_in_gpa_order),
		cmocka_unit_test(test_kvm_memmap_splits_where_memory_turns_private),
		cmocka_unit_test(test_kvm_memmap_counts_all_when_given_less_room),
		cmocka_unit_test(test_kvm_memmap_private_ranges_name_their_guest_memfd),
		cmocka_unit_test(test_kvm_memmap_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
