/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the src/hw tests: a small machine with one CPU, stage-1
 * mappings with hand-picked PTE bits, and an identity EPT for guest mode.
 */
#ifndef MV_TESTS_HWTEST_H
#define MV_TESTS_HWTEST_H

#include <string.h>

#include "mvtest.h"
#include "hw/cpu.h"

#define HWT_RAM (16ull << 20)
#define HWT_UPPER (X86_PTE_P | X86_PTE_RW | X86_PTE_US)
#define HWT_EPT_ALL (EPT_R | EPT_W | EPT_X | EPT_UX | EPT_MT_WB)

struct hwt {
	struct hw_machine m;
	struct hw_cpu cpu;
	uint64_t root;          /* stage-1 root */
	uint64_t eptp;          /* identity EPT root, 0 until hwt_ept_identity() */
};

static inline uint64_t hwt_frame(struct hwt *t)
{
	hw_pfn_t pfn;

	assert_int_equal(hw_frames_alloc(&t->m, 0, HW_ALLOC_ZERO, 0, &pfn), 0);
	return pfn << HW_PAGE_SHIFT;
}

/* Machine with @features, CPU in long mode at CPL0 with SMEP, SMAP and CET per features. */
static inline void hwt_up(struct hwt *t, uint64_t features)
{
	struct hw_machine_config cfg = { .ram_bytes = HWT_RAM, .features = features };

	memset(t, 0, sizeof(*t));
	assert_int_equal(hw_machine_init(&t->m, &cfg), 0);
	hw_cpu_init(&t->cpu, &t->m);
	assert_int_equal(hw_pt_alloc_table(&t->m, &t->root), 0);
	hw_cpu_setup_long_mode(&t->cpu, t->root, 0);
}

static inline void hwt_down(struct hwt *t)
{
	hw_machine_fini(&t->m);
}

/* The stage-1 entry for @va at @level (created with HWT_UPPER intermediates). */
static inline uint64_t *hwt_entry(struct hwt *t, uint64_t va, int level)
{
	uint64_t *e = hw_pt_entry(&t->m, t->root, va, level, true, false);

	assert_false(lib_is_err_or_null(e));
	return e;
}

/* Maps @va to @pa with exactly @flags in the leaf. */
static inline uint64_t *hwt_map(struct hwt *t, uint64_t va, uint64_t pa, uint64_t flags)
{
	uint64_t *e = hwt_entry(t, va, 1);

	*e = pa | flags;
	return e;
}

/* Upper-level entry (level 2..4) above @va, as a host pointer. */
static inline uint64_t *hwt_upper(struct hwt *t, uint64_t va, int level)
{
	uint64_t *table = hw_pa_to_host(&t->m, t->root);

	for (int l = HW_PT_LEVELS; l > level; l--)
		table = hw_pa_to_host(&t->m, table[hw_pt_index(va, l)] & X86_PTE_ADDR);
	return &table[hw_pt_index(va, level)];
}

/* An EPT that maps every GPA of RAM to the same HPA with 4 KiB R/W/X/UX leaves. */
static inline void hwt_ept_identity(struct hwt *t, uint64_t eptp_flags)
{
	uint64_t root;

	assert_int_equal(hw_pt_alloc_table(&t->m, &root), 0);
	for (uint64_t gpa = 0; gpa < HWT_RAM; gpa += HW_PAGE_SIZE) {
		uint64_t *e = hw_pt_entry(&t->m, root, gpa, 1, true, true);

		assert_false(lib_is_err_or_null(e));
		*e = gpa | HWT_EPT_ALL;
	}
	t->eptp = root | eptp_flags;
}

static inline uint64_t *hwt_ept_leaf(struct hwt *t, uint64_t gpa)
{
	uint64_t *e = hw_pt_entry(&t->m, t->eptp & EPT_ADDR, gpa, 1, false, true);

	assert_false(lib_is_err_or_null(e));
	return e;
}

static inline int hwt_xlate(struct hwt *t, uint64_t va, unsigned int acc, struct hw_fault *f)
{
	struct hw_xlate x;

	return hw_mmu_translate(&t->cpu, va, acc, &x, f);
}

#endif
