/* SPDX-License-Identifier: MIT */
/* The software TLB: what it caches, and when it forgets. */
#include <string.h>

#include "hwtest.h"

#define VA 0x20000000ull
#define DATA (X86_PTE_P | X86_PTE_RW | X86_PTE_NX)

static void setup(struct hwt *t, uint64_t **pte, uint64_t *pa1, uint64_t *pa2)
{
	hwt_up(t, MV_FEAT_ALL);
	*pa1 = hwt_frame(t);
	*pa2 = hwt_frame(t);
	*pte = hwt_map(t, VA, *pa1, DATA);
}

static uint64_t pa_of(struct hwt *t, uint64_t va, unsigned int acc)
{
	struct hw_xlate x;
	struct hw_fault f;

	assert_int_equal(hw_mmu_translate(&t->cpu, va, acc, &x, &f), 0);
	return x.pa & HW_PAGE_MASK;
}

static void test_tlb_stale_until_invlpg(void **state)
{
	struct hwt t;
	uint64_t *pte, pa1, pa2;

	(void)state;
	setup(&t, &pte, &pa1, &pa2);
	assert_int_equal(pa_of(&t, VA, HW_ACC_READ), pa1);
	*pte = pa2 | DATA;                        /* no flush: hardware keeps the old one */
	assert_int_equal(pa_of(&t, VA, HW_ACC_READ), pa1);
	hw_tlb_flush_page(&t.cpu, VA);
	assert_int_equal(pa_of(&t, VA, HW_ACC_READ), pa2);
	hwt_down(&t);
}

static void test_tlb_cr3_write_flushes(void **state)
{
	struct hwt t;
	uint64_t *pte, pa1, pa2;

	(void)state;
	setup(&t, &pte, &pa1, &pa2);
	assert_int_equal(pa_of(&t, VA, HW_ACC_READ), pa1);
	*pte = pa2 | DATA;
	hw_cpu_write_cr3(&t.cpu, t.cpu.cr3);
	assert_int_equal(pa_of(&t, VA, HW_ACC_READ), pa2);
	hwt_down(&t);
}

static void test_tlb_shootdown_flushes_before_next_access(void **state)
{
	struct hwt t;
	uint64_t *pte, pa1, pa2, v;
	struct hw_fault f;

	(void)state;
	setup(&t, &pte, &pa1, &pa2);
	*(uint64_t *)hw_pa_to_host(&t.m, pa1) = 1;
	*(uint64_t *)hw_pa_to_host(&t.m, pa2) = 2;
	assert_int_equal(hw_mmu_load64(&t.cpu, VA, &v, &f), 0);
	assert_int_equal(v, 1);
	*pte = pa2 | DATA;
	assert_int_equal(hw_mmu_load64(&t.cpu, VA, &v, &f), 0);
	assert_int_equal(v, 1);                   /* stale, as on hardware */
	hw_tlb_shootdown(&t.m);
	assert_int_equal(hw_mmu_load64(&t.cpu, VA, &v, &f), 0);
	assert_int_equal(v, 2);
	hwt_down(&t);
}

static void test_tlb_permission_downgrade_needs_flush(void **state)
{
	struct hwt t;
	uint64_t *pte, pa1, pa2;
	struct hw_fault f;

	(void)state;
	setup(&t, &pte, &pa1, &pa2);
	assert_int_equal(hwt_xlate(&t, VA, HW_ACC_WRITE, &f), 0);
	*pte &= ~X86_PTE_RW;                      /* write-protect */
	assert_int_equal(hwt_xlate(&t, VA, HW_ACC_WRITE, &f), 0);   /* stale hit */
	hw_tlb_flush_page(&t.cpu, VA);
	assert_int_equal(hwt_xlate(&t, VA, HW_ACC_WRITE, &f), -EFAULT);
	assert_int_equal(f.error_code, X86_PF_P | X86_PF_W);
	assert_int_equal(hwt_xlate(&t, VA, HW_ACC_READ, &f), 0);
	/* Unmap: the same. */
	*pte = 0;
	assert_int_equal(hwt_xlate(&t, VA, HW_ACC_READ, &f), 0);
	hw_tlb_flush_all(&t.cpu);
	assert_int_equal(hwt_xlate(&t, VA, HW_ACC_READ, &f), -EFAULT);
	assert_int_equal(f.error_code, 0);
	hwt_down(&t);
}

static void test_tlb_write_tag_needs_dirty(void **state)
{
	struct hwt t;
	uint64_t *pte, pa1, pa2;
	struct hw_fault f;
	uint64_t misses;

	(void)state;
	setup(&t, &pte, &pa1, &pa2);
	assert_int_equal(hwt_xlate(&t, VA, HW_ACC_READ, &f), 0);
	assert_false(*pte & X86_PTE_D);
	misses = t.cpu.tlb.stats.misses;
	assert_int_equal(hwt_xlate(&t, VA, HW_ACC_WRITE, &f), 0);   /* walks to set D */
	assert_int_equal(t.cpu.tlb.stats.misses, misses + 1);
	assert_true(*pte & X86_PTE_D);
	assert_int_equal(hwt_xlate(&t, VA, HW_ACC_WRITE, &f), 0);
	assert_int_equal(t.cpu.tlb.stats.misses, misses + 1);
	hwt_down(&t);
}

static void test_tlb_shadow_stack_tags(void **state)
{
	struct hwt t;
	struct hw_fault f;
	struct hw_tlb_entry *e;
	struct hw_xlate x;

	(void)state;
	hwt_up(&t, MV_FEAT_ALL);
	hwt_map(&t, VA, hwt_frame(&t), X86_PTE_P | X86_PTE_US | X86_PTE_D | X86_PTE_NX);
	t.cpu.cpl = 3;
	assert_int_equal(hw_mmu_translate(&t.cpu, VA, HW_ACC_SS_WRITE, &x, &f), 0);
	e = hw_tlb_slot(&t.cpu, VA, 1);
	assert_int_equal(e->tag_ss_write, VA);
	assert_int_equal(e->tag_ss_read, VA);
	assert_int_equal(e->tag_read, VA);
	assert_true(e->tag_write & HW_TLB_INVALID);
	assert_true(e->tag_fetch & HW_TLB_INVALID);
	/* Hits report the page kind too. */
	assert_int_equal(hw_mmu_translate(&t.cpu, VA, HW_ACC_READ, &x, &f), 0);
	assert_true(x.shstk);
	assert_int_equal(hwt_xlate(&t, VA, HW_ACC_WRITE, &f), -EFAULT);
	assert_int_equal(f.error_code, X86_PF_P | X86_PF_W | X86_PF_U);
	/* An ordinary page never gets shadow-stack tags. */
	hwt_map(&t, VA + 4096, hwt_frame(&t), X86_PTE_P | X86_PTE_RW | X86_PTE_US | X86_PTE_D);
	assert_int_equal(hwt_xlate(&t, VA + 4096, HW_ACC_WRITE, &f), 0);
	e = hw_tlb_slot(&t.cpu, VA + 4096, 1);
	assert_int_equal(e->tag_write, VA + 4096);
	assert_true(e->tag_ss_read & HW_TLB_INVALID);
	assert_true(e->tag_ss_write & HW_TLB_INVALID);
	hwt_down(&t);
}

static void test_tlb_privileges_are_separate(void **state)
{
	struct hwt t;
	struct hw_fault f;

	(void)state;
	hwt_up(&t, MV_FEAT_ALL);
	hwt_map(&t, VA, hwt_frame(&t), DATA);     /* supervisor page */
	assert_int_equal(hwt_xlate(&t, VA, HW_ACC_READ, &f), 0);
	t.cpu.cpl = 3;
	assert_int_equal(hwt_xlate(&t, VA, HW_ACC_READ, &f), -EFAULT);
	assert_int_equal(f.error_code, X86_PF_P | X86_PF_U);
	hwt_down(&t);
}

static void test_tlb_control_register_changes_flush(void **state)
{
	struct hwt t;
	uint64_t *pte, pa1, pa2, flushes;

	(void)state;
	setup(&t, &pte, &pa1, &pa2);
	flushes = t.cpu.tlb.stats.flushes;
	hw_cpu_write_cr0(&t.cpu, t.cpu.cr0);               /* no change, no flush */
	hw_cpu_write_cr4(&t.cpu, t.cpu.cr4 | X86_CR4_FSGSBASE);
	assert_int_equal(t.cpu.tlb.stats.flushes, flushes);
	hw_cpu_write_cr0(&t.cpu, t.cpu.cr0 & ~X86_CR0_WP);
	hw_cpu_write_cr4(&t.cpu, t.cpu.cr4 & ~X86_CR4_SMAP);
	hw_cpu_write_efer(&t.cpu, t.cpu.efer & ~X86_EFER_NXE);
	assert_int_equal(t.cpu.tlb.stats.flushes, flushes + 3);
	hw_tlb_flush_as(&t.cpu, t.root + HW_PAGE_SIZE);    /* another address space */
	assert_int_equal(t.cpu.tlb.stats.flushes, flushes + 3);
	hw_tlb_flush_as(&t.cpu, t.root);
	assert_int_equal(t.cpu.tlb.stats.flushes, flushes + 4);
	hwt_down(&t);
}

static void test_tlb_invlpg_drops_whole_large_page(void **state)
{
	struct hwt t;
	struct hw_fault f;
	hw_pfn_t big;
	uint64_t *pde;

	(void)state;
	hwt_up(&t, MV_FEAT_ALL);
	assert_int_equal(hw_frames_alloc(&t.m, HW_MAX_ORDER, 0, 0, &big), 0);
	pde = hwt_entry(&t, 0x40000000, 2);
	*pde = (big << HW_PAGE_SHIFT) | DATA | X86_PTE_PS;
	assert_int_equal(hwt_xlate(&t, 0x40000000, HW_ACC_READ, &f), 0);
	assert_int_equal(hwt_xlate(&t, 0x40105000, HW_ACC_READ, &f), 0);
	*pde = 0;
	assert_int_equal(hwt_xlate(&t, 0x40105000, HW_ACC_READ, &f), 0);   /* stale */
	hw_tlb_flush_page(&t.cpu, 0x40000000);
	assert_int_equal(hwt_xlate(&t, 0x40105000, HW_ACC_READ, &f), -EFAULT);
	hwt_down(&t);
}

static void test_tlb_guest_context_switches(void **state)
{
	struct hwt t;
	uint64_t *pte, pa1, pa2, flushes;
	struct hw_fault f;

	(void)state;
	setup(&t, &pte, &pa1, &pa2);
	hwt_ept_identity(&t, 0);
	hw_cpu_enter_guest(&t.cpu, 1, t.eptp);
	assert_int_equal(pa_of(&t, VA, HW_ACC_READ), pa1);
	/* Remap in EPT without INVEPT: stale; a round trip to the host keeps VM 1's entries. */
	*hwt_ept_leaf(&t, pa1) = pa2 | HWT_EPT_ALL;
	hw_cpu_leave_guest(&t.cpu);
	hw_cpu_enter_guest(&t.cpu, 1, t.eptp);
	flushes = t.cpu.tlb.stats.flushes;
	assert_int_equal(pa_of(&t, VA, HW_ACC_READ), pa1);
	assert_int_equal(t.cpu.tlb.stats.flushes, flushes);
	hw_tlb_flush_vm(&t.cpu, 2);
	assert_int_equal(pa_of(&t, VA, HW_ACC_READ), pa1);
	hw_tlb_flush_vm(&t.cpu, 1);
	assert_int_equal(pa_of(&t, VA, HW_ACC_READ), pa2);
	/* Host accesses after an exit never see guest translations. */
	hw_cpu_leave_guest(&t.cpu);
	assert_int_equal(pa_of(&t, VA, HW_ACC_READ), pa1);
	/* Entering another VM flushes. */
	hw_cpu_enter_guest(&t.cpu, 2, t.eptp);
	*hwt_ept_leaf(&t, pa1) = pa1 | HWT_EPT_ALL;
	assert_int_equal(pa_of(&t, VA, HW_ACC_READ), pa1);
	hw_cpu_enter_guest(&t.cpu, 3, t.eptp);
	*hwt_ept_leaf(&t, pa1) = 0;
	assert_int_equal(hwt_xlate(&t, VA, HW_ACC_READ, &f), -EFAULT);
	assert_int_equal(f.kind, HW_FAULT_EPT_VIOLATION);
	hwt_down(&t);
}

static void test_tlb_counters(void **state)
{
	struct hwt t;
	uint64_t *pte, pa1, pa2, v;
	struct hw_fault f;

	(void)state;
	setup(&t, &pte, &pa1, &pa2);
	memset(&t.cpu.tlb.stats, 0, sizeof(t.cpu.tlb.stats));
	for (int i = 0; i < 10; i++)
		assert_int_equal(hw_mmu_load64(&t.cpu, VA + 8 * (uint64_t)i, &v, &f), 0);
	assert_int_equal(t.cpu.tlb.stats.misses, 1);
	assert_int_equal(t.cpu.tlb.stats.hits, 9);
	hw_tlb_flush_page(&t.cpu, VA);
	hw_tlb_flush_all(&t.cpu);
	assert_int_equal(t.cpu.tlb.stats.page_flushes, 1);
	assert_int_equal(t.cpu.tlb.stats.flushes, 1);
	hwt_down(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tlb_stale_until_invlpg),
		cmocka_unit_test(test_tlb_cr3_write_flushes),
		cmocka_unit_test(test_tlb_shootdown_flushes_before_next_access),
		cmocka_unit_test(test_tlb_permission_downgrade_needs_flush),
		cmocka_unit_test(test_tlb_write_tag_needs_dirty),
		cmocka_unit_test(test_tlb_shadow_stack_tags),
		cmocka_unit_test(test_tlb_privileges_are_separate),
		cmocka_unit_test(test_tlb_control_register_changes_flush),
		cmocka_unit_test(test_tlb_invlpg_drops_whole_large_page),
		cmocka_unit_test(test_tlb_guest_context_switches),
		cmocka_unit_test(test_tlb_counters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
