/* SPDX-License-Identifier: MIT */
/*
 * KVM_SET_USER_MEMORY_REGION(2) in the style of KVM's set_memory_region_test
 * and the checks of __kvm_set_memory_region: every row is one call on a VM
 * that already has slot 0 at [1 MiB, 3 MiB), with the errno it must give.
 */
#include "kvmtest.h"

#define MB (1ull << 20)
#define TASK_SIZE 0x00007ffffffff000ull
#define MAXPHYADDR_END (1ull << 46)   /* memvisor's CPU: 46-bit physical addresses */

struct region_row {
	const char *behaviour;
	uint32_t slot, flags;
	uint64_t gpa, size;
	int64_t uaddr;      /* >= 0: offset into the test's mapping; < 0: -(absolute address) */
	long expect;
};

static const struct region_row region_rows[] = {
	{ "unknown_flag", 1, 1u << 3, 8 * MB, 2 * MB, 0, -EINVAL },
	{ "guest_memfd_flag_v1", 1, KVM_MEM_GUEST_MEMFD, 8 * MB, 2 * MB, 0, -EINVAL },
	{ "size_unaligned", 1, 0, 8 * MB, 2 * MB + 1, 0, -EINVAL },
	{ "gpa_unaligned", 1, 0, 8 * MB + 512, 2 * MB, 0, -EINVAL },
	{ "uaddr_unaligned", 1, 0, 8 * MB, 2 * MB, 8, -EINVAL },
	{ "uaddr_past_task_size", 1, 0, 8 * MB, 2 * MB, -(int64_t)(TASK_SIZE - MB), -EINVAL },
	{ "uaddr_kernel_half", 1, 0, 8 * MB, KT_PG, -(int64_t)0x7fffffffffff0000ll, -EINVAL },
	{ "slot_id_first_internal", 32764, 0, 8 * MB, 2 * MB, 0, -EINVAL },
	{ "slot_id_max_user", 32763, 0, 8 * MB, 2 * MB, 0, 0 },
	{ "address_space_1", 1u << 16 | 1, 0, 8 * MB, 2 * MB, 0, -EINVAL },
	{ "gpa_wraps", 1, 0, 0xfffffffffff00000ull, 2 * MB, 0, -EINVAL },
	{ "too_many_pages", 1, 0, 0, 1ull << 43, -(int64_t)0x10000000ll, -EINVAL },
	{ "delete_missing", 1, 0, 0, 0, 0, -EINVAL },
	{ "overlap_same", 1, 0, 1 * MB, 2 * MB, 0, -EEXIST },
	{ "overlap_front", 1, 0, 0, 2 * MB, 0, -EEXIST },
	{ "overlap_back", 1, 0, 2 * MB, 2 * MB, 0, -EEXIST },
	{ "overlap_inside", 1, 0, 2 * MB, KT_PG, 0, -EEXIST },
	{ "overlap_around", 1, 0, 0, 4 * MB, 0, -EEXIST },
	{ "adjacent_below", 1, 0, 0, 1 * MB, 0, 0 },
	{ "adjacent_above", 1, 0, 3 * MB, 1 * MB, 0, 0 },
	{ "unmapped_uaddr_is_fine", 1, 0, 8 * MB, 2 * MB, -(int64_t)0x10000000ll, 0 },
	{ "modify_uaddr", 0, 0, 1 * MB, 2 * MB, 2 * MB, -EINVAL },
	{ "modify_size", 0, 0, 1 * MB, 1 * MB, 0, -EINVAL },
	{ "modify_readonly", 0, KVM_MEM_READONLY, 1 * MB, 2 * MB, 0, -EINVAL },
	{ "no_change", 0, 0, 1 * MB, 2 * MB, 0, 0 },
	{ "flags_log_dirty", 0, KVM_MEM_LOG_DIRTY_PAGES, 1 * MB, 2 * MB, 0, 0 },
	{ "move", 0, 0, 16 * MB, 2 * MB, 0, 0 },
	{ "move_wraps", 0, 0, 0xfffffffffff00000ull, 2 * MB, 0, -EINVAL },
	{ "delete", 0, 0, 1 * MB, 0, 0, 0 },
	{ "delete_ignores_gpa", 0, 0, 64 * MB, 0, 0, 0 },
	{ "readonly_create", 1, KVM_MEM_READONLY, 8 * MB, 2 * MB, 0, 0 },
	/* kvm_arch_prepare_memory_region: the last gfn within MAXPHYADDR (46 bits) */
	{ "last_gfn_at_maxphyaddr", 1, 0, MAXPHYADDR_END - 2 * MB, 2 * MB, 0, 0 },
	{ "last_gfn_past_maxphyaddr", 1, 0, MAXPHYADDR_END - MB, 2 * MB, 0, -EINVAL },
	{ "gpa_at_maxphyaddr", 1, 0, MAXPHYADDR_END, KT_PG, 0, -EINVAL },
	{ "gpa_at_bit_51", 1, 0, 1ull << 51, KT_PG, 0, -EINVAL },
	{ "move_past_maxphyaddr", 0, 0, MAXPHYADDR_END - KT_PG, 2 * MB, 0, -EINVAL },
	{ "move_to_maxphyaddr_end", 0, 0, MAXPHYADDR_END - 2 * MB, 2 * MB, 0, 0 },
};

static void test_kvm_memslot_region_table(void **state)
{
	for (size_t i = 0; i < sizeof(region_rows) / sizeof(region_rows[0]); i++) {
		const struct region_row *r = &region_rows[i];
		struct kvmtest k;
		uint64_t map, uaddr;
		long got;

		kt_setup(&k, 0);
		map = kt_mmap(&k, 4 * MB);
		assert_int_equal(kt_region(&k, 0, 0, 1 * MB, 2 * MB, map), 0);
		uaddr = r->uaddr >= 0 ? map + (uint64_t)r->uaddr : (uint64_t)(-r->uaddr);
		got = kt_region(&k, r->slot, r->flags, r->gpa, r->size, uaddr);
		if (got != r->expect)
			fail_msg("%s: got %ld, expected %ld", r->behaviour, got, r->expect);
		kt_teardown(&k);
	}
}

/* The same rules through KVM_SET_USER_MEMORY_REGION2, plus its own fields. */
static void test_kvm_memslot_region2(void **state)
{
	struct kvm_userspace_memory_region2 r;
	struct kvmtest k;
	uint64_t map;

	kt_setup(&k, 0);
	map = kt_mmap(&k, 4 * MB);
	memset(&r, 0, sizeof(r));
	r.slot = 2;
	r.guest_phys_addr = 4 * MB;
	r.memory_size = 2 * MB;
	r.userspace_addr = map;
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_SET_USER_MEMORY_REGION2, &r), 0);
	r.slot = 3;
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_SET_USER_MEMORY_REGION2, &r), -EEXIST);
	r.flags = KVM_MEM_GUEST_MEMFD;   /* the overlap is found before the file is looked at */
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_SET_USER_MEMORY_REGION2, &r), -EEXIST);
	/* the guest_memfd is bound before the GPA width is checked (kvm_set_memslot) */
	r.slot = 4;
	r.guest_phys_addr = MAXPHYADDR_END;
	r.guest_memfd = 999;
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_SET_USER_MEMORY_REGION2, &r), -EBADF);
	assert_int_equal(kt_ioctl(k.t, k.vm, KVM_SET_USER_MEMORY_REGION2, 0), -EFAULT);
	assert_int_equal(kt_ioctl(k.t, k.vm, KVM_SET_USER_MEMORY_REGION, 16), -EFAULT);
	kt_teardown(&k);
}

/* Deleting frees the gpa range and the id: both can be reused at once. */
static void test_kvm_memslot_delete_then_reuse(void **state)
{
	struct kvmtest k;
	uint64_t map;

	kt_setup(&k, 0);
	map = kt_mmap(&k, 4 * MB);
	assert_int_equal(kt_region(&k, 0, 0, 0, 2 * MB, map), 0);
	assert_int_equal(kt_region(&k, 1, 0, 2 * MB, 2 * MB, map + 2 * MB), 0);
	assert_int_equal(kt_region(&k, 0, 0, 0, 0, 0), 0);
	assert_int_equal(kt_region(&k, 0, 0, 0, 0, 0), -EINVAL);
	assert_int_equal(kt_region(&k, 5, 0, 0, 2 * MB, map), 0);
	assert_int_equal(kt_region(&k, 0, 0, 8 * MB, 2 * MB, map), 0);
	/* moving into a hole works, onto another slot does not */
	assert_int_equal(kt_region(&k, 0, 0, 2 * MB, 2 * MB, map), -EEXIST);
	assert_int_equal(kt_region(&k, 0, 0, 32 * MB, 2 * MB, map), 0);
	kt_teardown(&k);
}

/* Many slots: lookups stay right as the sorted array grows and shrinks. */
static void test_kvm_memslot_many(void **state)
{
	struct kvmtest k;
	uint64_t map;

	kt_setup(&k, 0);
	map = kt_mmap(&k, KT_PG);
	for (uint32_t i = 0; i < 512; i++)
		assert_int_equal(kt_region(&k, i, 0, (uint64_t)(511 - i) * 2 * KT_PG, KT_PG, map), 0);
	for (uint32_t i = 0; i < 512; i += 2)
		assert_int_equal(kt_region(&k, i, 0, 0, 0, 0), 0);
	for (uint32_t i = 1; i < 512; i += 2)
		assert_int_equal(kt_region(&k, 600 + i, 0, (uint64_t)(511 - i) * 2 * KT_PG, KT_PG,
					   map), -EEXIST);
	kt_teardown(&k);
}

static void test_kvm_dirty_log_errors(void **state)
{
	struct kvmtest k;
	unsigned long bits[8];
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bits };
	uint64_t map;

	kt_setup(&k, 0);
	map = kt_mmap(&k, 4 * MB);
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_GET_DIRTY_LOG, &log), -ENOENT);
	assert_int_equal(kt_region(&k, 0, 0, 0, 2 * MB, map), 0);
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_GET_DIRTY_LOG, &log), -ENOENT);
	assert_int_equal(kt_region(&k, 1, KVM_MEM_LOG_DIRTY_PAGES, 2 * MB, 64 * KT_PG, map), 0);
	log.slot = 1;
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_GET_DIRTY_LOG, &log), 0);
	log.slot = 32764;
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_GET_DIRTY_LOG, &log), -EINVAL);
	log.slot = 1u << 16 | 1;
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_GET_DIRTY_LOG, &log), -EINVAL);
	log.slot = 1;
	log.dirty_bitmap = (void *)8;
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_GET_DIRTY_LOG, &log), -EFAULT);
	assert_int_equal(kt_ioctl(k.t, k.vm, KVM_GET_DIRTY_LOG, 0), -EFAULT);
	kt_teardown(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_memslot_region_table),
		cmocka_unit_test(test_kvm_memslot_region2),
		cmocka_unit_test(test_kvm_memslot_delete_then_reuse),
		cmocka_unit_test(test_kvm_memslot_many),
		cmocka_unit_test(test_kvm_dirty_log_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
