/* SPDX-License-Identifier: MIT */
/*
 * What a VM gives back: a guest touches scattered pages of a large memslot;
 * once the vCPU, VM and /dev/kvm fds are closed and the VMM's mapping is
 * gone, every frame and page table is free again, the freed blocks go back
 * to the host past the resident cap, and the process's resident set falls
 * back, whether the mapping goes before or after the fds. Deleting a
 * memslot while the VM lives frees the EPT tables only it used, and keeps
 * those another slot still uses. See residenttest.h for why the lifetime
 * tests first fill the first 2 MiB block.
 */
#include "kvmtest.h"
#include "residenttest.h"

#define RAM        (256ull << 20)
#define SLOT_BYTES (128ull << 20)
#define STRIDE     7ull                       /* the guest writes every 7th page */
#define WRITES     ((SLOT_BYTES / RT_PG + STRIDE - 1) / STRIDE)
/*
 * Tables the touches need. Stage 2: the EPT root (made with the VM), a PDPT,
 * a PD and one PT per 2 MiB of the slot (each has a written page). Stage 1:
 * the VMM's mapping lies alone in its 1 GiB, below mmap_base, in a 512 GiB
 * slot of its own: a PUD, a PMD and the PTs.
 */
#define SLOT_PTS      (SLOT_BYTES / RT_BLOCK)
#define EPT_TABLES    (1 + 2 + SLOT_PTS)
#define STAGE1_TABLES (2 + SLOT_PTS)
/* a vCPU's own frames: the kvm_run page, the PIO and the MMIO data pages */
#define VCPU_PAGES 3

struct scatter {
	uint64_t written;
	long err;
};

/* Writes its gpa to every STRIDE-th page of the slot (paging off: gva is gpa). */
static void guest_scatter(struct mv_guest *g, void *arg)
{
	struct scatter *c = arg;

	for (uint64_t gpa = 0; gpa < SLOT_BYTES; gpa += STRIDE * RT_PG) {
		c->err = mv_guest_write(g, gpa, &gpa, sizeof(gpa));
		if (c->err)
			return;
		c->written++;
	}
}

struct store {
	uint64_t gpa;
	long err;
};

/* One 8-byte store of its gpa at @gpa. */
static void guest_store(struct mv_guest *g, void *arg)
{
	struct store *c = arg;

	c->err = mv_guest_write(g, c->gpa, &c->gpa, sizeof(c->gpa));
}

struct vm {
	struct kvmtest k;
	int vcpu;
	uint64_t map;
};

/* /dev/kvm, a VM, the VMM mapping as slot 0 and one vCPU, on @m's task @t. */
static void vm_create(struct vm *v, struct mv_machine *m, struct mv_task *t)
{
	long a;

	v->k.m = m;
	v->k.t = t;
	v->k.kvm = (int)mv_syscall(t, MV_SYS_openat, (uint64_t)AT_FDCWD,
				   (uint64_t)(uintptr_t)"/dev/kvm", O_RDWR, 0, 0, 0);
	assert_true(v->k.kvm >= 0);
	v->k.vm = (int)kt_ioctl(t, v->k.kvm, KVM_CREATE_VM, 0);
	assert_true(v->k.vm >= 0);
	a = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, SLOT_BYTES, RT_RW, RT_ANON | MAP_NORESERVE, -1, 0);
	assert_true(a > 0);
	v->map = (uint64_t)a;
	assert_int_equal(kt_region(&v->k, 0, 0, 0, SLOT_BYTES, v->map), 0);
	v->vcpu = kt_vcpu(&v->k, 0);
}

/* Runs guest_scatter to its end; the VMM sees what it wrote. */
static void vm_run_scatter(struct vm *v)
{
	struct scatter c = { 0 };
	struct kvm_run *run;
	uint64_t last = (WRITES - 1) * STRIDE * RT_PG, seen = 0;

	assert_int_equal(mv_vcpu_set_guest(v->k.t, v->vcpu, guest_scatter, &c), 0);
	run = mv_vcpu_run_area(v->k.t, v->vcpu);
	assert_int_equal(kt_run(&v->k, v->vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(c.err, 0);
	assert_int_equal(c.written, WRITES);
	assert_int_equal(mv_user_read(v->k.t, v->map + last, &seen, sizeof(seen)), 0);
	assert_int_equal(seen, last);
}

static void vm_close_fds(struct vm *v)
{
	assert_int_equal(MVTEST_SYSCALL(v->k.t, MV_SYS_close, v->vcpu), 0);
	assert_int_equal(MVTEST_SYSCALL(v->k.t, MV_SYS_close, v->k.vm), 0);
	assert_int_equal(MVTEST_SYSCALL(v->k.t, MV_SYS_close, v->k.kvm), 0);
}

/*
 * The whole life of a VM on a machine with resident cap @cap (0: none):
 * everything it took comes back, whole blocks past the cap go to the host.
 */
static void vm_lifetime_gives_back(uint64_t cap)
{
	struct mv_machine *m = rt_machine(RAM, cap ? cap : MV_RESIDENT_CAP_NONE);
	struct mv_machine_stats s0, s1, s2, s3;
	uint64_t rss0, rss3, frames, blocks, kept_blocks;
	struct mv_task *t;
	struct vm v;

	assert_int_equal(mv_task_spawn(m, &t), 0);
	rt_fill_first_block(m, t);
	s0 = rt_stats(m);
	rss0 = rt_host_rss();

	vm_create(&v, m, t);
	vm_run_scatter(&v);
	s1 = rt_stats(m);
	assert_int_equal(s1.pgtable_bytes - s0.pgtable_bytes, (EPT_TABLES + STAGE1_TABLES) * RT_PG);
	frames = s0.frames_free - s1.frames_free;
	assert_int_equal(frames, WRITES + EPT_TABLES + STAGE1_TABLES + VCPU_PAGES);
	blocks = rt_div_up(frames, RT_BLOCK_PAGES);

	/* the VM goes: its EPT tables and vCPU pages; the VMM still maps the guest's pages */
	vm_close_fds(&v);
	s2 = rt_stats(m);
	assert_int_equal(s2.pgtable_bytes - s0.pgtable_bytes, STAGE1_TABLES * RT_PG);
	assert_int_equal(s0.frames_free - s2.frames_free, WRITES + STAGE1_TABLES);

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, v.map, SLOT_BYTES), 0);
	s3 = rt_stats(m);
	rss3 = rt_host_rss();
	assert_int_equal(s3.frames_free, s0.frames_free);
	assert_int_equal(s3.pgtable_bytes, s0.pgtable_bytes);
	/* kept: whole blocks within the cap; every other block went back */
	assert_int_equal(s3.host_free_kept_bytes % RT_BLOCK, 0);
	assert_true(s3.host_free_kept_bytes <= cap);
	kept_blocks = s3.host_free_kept_bytes / RT_BLOCK;
	assert_int_equal(s3.host_returned_blocks - s0.host_returned_blocks, blocks - kept_blocks);
	if (cap)
		assert_true(kept_blocks >= 1);
	assert_true(s3.host_resident_bytes <= s0.host_resident_bytes + s3.host_free_kept_bytes +
		    rt_meta_bound(&s3, frames));
	/* 2 MiB slack: frame metadata (under 100 KiB here), the host allocator */
	assert_true(rss3 <= rss0 + cap + 2 * RT_MB);
	mv_machine_destroy(m);
}

static void test_kvm_teardown_cap_none_gives_back_every_frame_and_host_page(void **state)
{
	vm_lifetime_gives_back(0);
}

static void test_kvm_teardown_16m_cap_keeps_at_most_the_cap(void **state)
{
	vm_lifetime_gives_back(16 * RT_MB);
}

/*
 * The VMM unmaps the slot's memory while the VM lives: the MMU notifier
 * drops the EPT's page references, so the guest's pages and the stage-1
 * tables come back at once; the EPT tables and vCPU pages follow the fds.
 */
static void test_kvm_teardown_munmap_before_close_gives_back_the_same(void **state)
{
	struct mv_machine *m = rt_machine(RAM, MV_RESIDENT_CAP_NONE);
	struct mv_machine_stats s0, s1, s2;
	struct mv_task *t;
	struct vm v;

	assert_int_equal(mv_task_spawn(m, &t), 0);
	rt_fill_first_block(m, t);
	s0 = rt_stats(m);
	vm_create(&v, m, t);
	vm_run_scatter(&v);

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_munmap, v.map, SLOT_BYTES), 0);
	s1 = rt_stats(m);
	assert_int_equal(s1.pgtable_bytes - s0.pgtable_bytes, EPT_TABLES * RT_PG);
	assert_int_equal(s0.frames_free - s1.frames_free, EPT_TABLES + VCPU_PAGES);

	vm_close_fds(&v);
	s2 = rt_stats(m);
	assert_int_equal(s2.frames_free, s0.frames_free);
	assert_int_equal(s2.pgtable_bytes, s0.pgtable_bytes);
	assert_int_equal(s2.host_free_kept_bytes, 0);
	mv_machine_destroy(m);
}

/* Slot deletion while the VM lives: the EPT tables below the root go, the rest stays. */
static void test_kvm_teardown_memslot_delete_frees_its_ept_tables(void **state)
{
	struct mv_machine *m = rt_machine(RAM, MV_RESIDENT_CAP_NONE);
	struct mv_machine_stats s0, s1, s2;
	struct scatter again = { 0 };
	struct mv_task *t;
	struct kvm_run *run;
	uint64_t seen = 0;
	struct vm v;

	assert_int_equal(mv_task_spawn(m, &t), 0);
	s0 = rt_stats(m);
	vm_create(&v, m, t);
	vm_run_scatter(&v);
	s1 = rt_stats(m);

	assert_int_equal(kt_region(&v.k, 0, 0, 0, 0, 0), 0);
	s2 = rt_stats(m);
	/* the PDPT, the PD and the PTs; the guest's pages stay with the VMM */
	assert_int_equal(s1.pgtable_bytes - s2.pgtable_bytes, (EPT_TABLES - 1) * RT_PG);
	assert_int_equal(s2.frames_free - s1.frames_free, EPT_TABLES - 1);
	assert_int_equal(s2.pgtable_bytes - s0.pgtable_bytes, (1 + STAGE1_TABLES) * RT_PG);

	/* no slot at gpa 0 any more: a guest store there is an MMIO exit */
	assert_int_equal(mv_vcpu_set_guest(t, v.vcpu, guest_scatter, &again), 0);
	run = mv_vcpu_run_area(t, v.vcpu);
	assert_int_equal(kt_run(&v.k, v.vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
	assert_int_equal(run->mmio.phys_addr, 0);
	assert_int_equal(run->mmio.is_write, 1);
	assert_int_equal(again.written, 0);
	/* what the guest wrote lives on in the VMM's memory */
	assert_int_equal(mv_user_read(t, v.map + STRIDE * RT_PG, &seen, sizeof(seen)), 0);
	assert_int_equal(seen, STRIDE * RT_PG);
	mv_machine_destroy(m);
}

/*
 * A second slot right above the first shares its PDPT and PD: deleting the
 * first frees only its PTs, and the second slot's mapping keeps working.
 */
static void test_kvm_teardown_memslot_delete_keeps_tables_another_slot_uses(void **state)
{
	struct mv_machine *m = rt_machine(RAM, MV_RESIDENT_CAP_NONE);
	struct mv_machine_stats s1, s2, s3;
	struct store st = { .gpa = SLOT_BYTES + 8 };
	struct kvm_run *run;
	struct mv_task *t;
	uint64_t above, seen = 0;
	struct vm v;

	assert_int_equal(mv_task_spawn(m, &t), 0);
	vm_create(&v, m, t);
	above = kt_mmap(&v.k, RT_BLOCK);
	assert_int_equal(kt_region(&v.k, 1, 0, SLOT_BYTES, RT_BLOCK, above), 0);
	vm_run_scatter(&v);
	assert_int_equal(mv_vcpu_set_guest(t, v.vcpu, guest_store, &st), 0);
	run = mv_vcpu_run_area(t, v.vcpu);
	assert_int_equal(kt_run(&v.k, v.vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(st.err, 0);
	s1 = rt_stats(m);

	assert_int_equal(kt_region(&v.k, 0, 0, 0, 0, 0), 0);
	s2 = rt_stats(m);
	assert_int_equal(s1.pgtable_bytes - s2.pgtable_bytes, SLOT_PTS * RT_PG);
	assert_int_equal(s2.frames_free - s1.frames_free, SLOT_PTS);

	/* slot 1 still maps: a store there needs no new table */
	st.gpa = SLOT_BYTES + RT_PG;
	assert_int_equal(mv_vcpu_set_guest(t, v.vcpu, guest_store, &st), 0);
	assert_int_equal(kt_run(&v.k, v.vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(st.err, 0);
	s3 = rt_stats(m);
	assert_int_equal(s3.pgtable_bytes, s2.pgtable_bytes);
	assert_int_equal(mv_user_read(t, above + RT_PG, &seen, sizeof(seen)), 0);
	assert_int_equal(seen, SLOT_BYTES + RT_PG);
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_teardown_cap_none_gives_back_every_frame_and_host_page),
		cmocka_unit_test(test_kvm_teardown_16m_cap_keeps_at_most_the_cap),
		cmocka_unit_test(test_kvm_teardown_munmap_before_close_gives_back_the_same),
		cmocka_unit_test(test_kvm_teardown_memslot_delete_frees_its_ept_tables),
		cmocka_unit_test(test_kvm_teardown_memslot_delete_keeps_tables_another_slot_uses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
