/* SPDX-License-Identifier: MIT */
/* The page walker: permissions, faults, A/D bits, large pages, two stages. */
#include <string.h>

#include "hwtest.h"

#define OK 0xffffu
#define P X86_PF_P
#define W X86_PF_W
#define U X86_PF_U
#define I X86_PF_I
#define SS X86_PF_SS

/* Page kinds: the leaf's bits (upper levels are P|RW|US). */
enum { K_U_RO, K_U_RW, K_U_NX, K_S_RO, K_S_RW, K_U_SS, K_S_SS, NR_KINDS };
static const uint64_t kind_bits[NR_KINDS] = {
	[K_U_RO] = X86_PTE_P | X86_PTE_US,
	[K_U_RW] = X86_PTE_P | X86_PTE_RW | X86_PTE_US | X86_PTE_NX,
	[K_U_NX] = X86_PTE_P | X86_PTE_US | X86_PTE_NX,
	[K_S_RO] = X86_PTE_P,
	[K_S_RW] = X86_PTE_P | X86_PTE_RW | X86_PTE_NX,
	[K_U_SS] = X86_PTE_P | X86_PTE_US | X86_PTE_D | X86_PTE_NX,
	[K_S_SS] = X86_PTE_P | X86_PTE_D | X86_PTE_NX,
};

#define IMP_R (HW_ACC_READ | HW_ACC_IMPLICIT)
#define IMP_W (HW_ACC_WRITE | HW_ACC_IMPLICIT)

/*
 * CR0.WP=1, CR4.SMEP|SMAP|CET, EFER.NXE, RFLAGS.AC=0. Each row: access, CPL,
 * then per page kind the #PF error code, or OK.
 */
static const struct {
	unsigned int acc;
	int cpl;
	unsigned int want[NR_KINDS];
} matrix[] = {
	/*                      U_RO         U_RW         U_NX         S_RO         S_RW         U_SS         S_SS */
	{ HW_ACC_READ, 3,     { OK,          OK,          OK,          P|U,         P|U,         OK,          P|U } },
	{ HW_ACC_WRITE, 3,    { P|W|U,       OK,          P|W|U,       P|W|U,       P|W|U,       P|W|U,       P|W|U } },
	{ HW_ACC_FETCH, 3,    { OK,          P|U|I,       P|U|I,       P|U|I,       P|U|I,       P|U|I,       P|U|I } },
	{ HW_ACC_SS_READ, 3,  { P|U|SS,      P|U|SS,      P|U|SS,      P|U|SS,      P|U|SS,      OK,          P|U|SS } },
	{ HW_ACC_SS_WRITE, 3, { P|W|U|SS,    P|W|U|SS,    P|W|U|SS,    P|W|U|SS,    P|W|U|SS,    OK,          P|W|U|SS } },
	{ HW_ACC_WRUSS, 3,    { P|W|U|SS,    P|W|U|SS,    P|W|U|SS,    P|W|U|SS,    P|W|U|SS,    OK,          P|W|U|SS } },
	{ IMP_R, 3,           { P,           P,           P,           OK,          OK,          P,           OK } },
	{ IMP_W, 3,           { P|W,         P|W,         P|W,         P|W,         OK,          P|W,         P|W } },
	{ HW_ACC_READ, 0,     { P,           P,           P,           OK,          OK,          P,           OK } },
	{ HW_ACC_WRITE, 0,    { P|W,         P|W,         P|W,         P|W,         OK,          P|W,         P|W } },
	{ HW_ACC_FETCH, 0,    { P|I,         P|I,         P|I,         OK,          P|I,         P|I,         P|I } },
	{ HW_ACC_SS_READ, 0,  { P|SS,        P|SS,        P|SS,        P|SS,        P|SS,        P|SS,        OK } },
	{ HW_ACC_SS_WRITE, 0, { P|W|SS,      P|W|SS,      P|W|SS,      P|W|SS,      P|W|SS,      P|W|SS,      OK } },
	{ HW_ACC_WRUSS, 0,    { P|W|U|SS,    P|W|U|SS,    P|W|U|SS,    P|W|U|SS,    P|W|U|SS,    OK,          P|W|U|SS } },
	{ IMP_R, 0,           { P,           P,           P,           OK,          OK,          P,           OK } },
	{ IMP_W, 0,           { P|W,         P|W,         P|W,         P|W,         OK,          P|W,         P|W } },
};

#define KIND_VA(k) (0x10000000ull + (uint64_t)(k) * HW_PAGE_SIZE)

static void map_kinds(struct hwt *t)
{
	for (int k = 0; k < NR_KINDS; k++)
		hwt_map(t, KIND_VA(k), hwt_frame(t), kind_bits[k]);
}

static void test_mmu_permission_matrix(void **state)
{
	struct hwt t;

	(void)state;
	hwt_up(&t, MV_FEAT_ALL);
	map_kinds(&t);
	for (size_t r = 0; r < sizeof(matrix) / sizeof(matrix[0]); r++) {
		for (int k = 0; k < NR_KINDS; k++) {
			struct hw_fault f;
			int ret;

			t.cpu.cpl = matrix[r].cpl;
			hw_tlb_flush_all(&t.cpu);
			ret = hwt_xlate(&t, KIND_VA(k), matrix[r].acc, &f);
			if (matrix[r].want[k] == OK) {
				if (ret)
					fail_msg("row %zu kind %d: fault %#llx, expected success", r, k,
						 (unsigned long long)f.error_code);
				continue;
			}
			if (ret != -EFAULT || f.kind != HW_FAULT_PF ||
			    f.error_code != matrix[r].want[k] || f.addr != KIND_VA(k))
				fail_msg("row %zu kind %d: ret %d kind %d code %#llx, expected #PF %#x",
					 r, k, ret, f.kind, (unsigned long long)f.error_code,
					 matrix[r].want[k]);
			assert_int_equal(t.cpu.cr2, KIND_VA(k));
		}
	}
	hwt_down(&t);
}

/* The same accesses through the TLB must give the same answers. */
static void test_mmu_permission_matrix_after_fill(void **state)
{
	struct hwt t;

	(void)state;
	hwt_up(&t, MV_FEAT_ALL);
	map_kinds(&t);
	for (int pass = 0; pass < 2; pass++)
		for (size_t r = 0; r < sizeof(matrix) / sizeof(matrix[0]); r++)
			for (int k = 0; k < NR_KINDS; k++) {
				struct hw_fault f;
				int ret;

				t.cpu.cpl = matrix[r].cpl;
				ret = hwt_xlate(&t, KIND_VA(k), matrix[r].acc, &f);
				if ((ret == 0) != (matrix[r].want[k] == OK))
					fail_msg("pass %d row %zu kind %d: ret %d", pass, r, k, ret);
				if (ret)
					assert_int_equal(f.error_code, matrix[r].want[k]);
			}
	hwt_down(&t);
}

static void test_mmu_smap_ac_exempts_explicit_only(void **state)
{
	struct hwt t;
	struct hw_fault f;

	(void)state;
	hwt_up(&t, MV_FEAT_ALL);
	map_kinds(&t);
	t.cpu.rflags_ac = true;
	assert_int_equal(hwt_xlate(&t, KIND_VA(K_U_RW), HW_ACC_READ, &f), 0);
	assert_int_equal(hwt_xlate(&t, KIND_VA(K_U_RW), HW_ACC_WRITE, &f), 0);
	assert_int_equal(hwt_xlate(&t, KIND_VA(K_U_RW), IMP_R, &f), -EFAULT);
	assert_int_equal(f.error_code, P);
	assert_int_equal(hwt_xlate(&t, KIND_VA(K_U_RO), HW_ACC_FETCH, &f), -EFAULT);
	assert_int_equal(f.error_code, P | I);                 /* SMEP ignores AC */
	/* Filled with AC=1, the entry must not let an AC=0 access through. */
	t.cpu.rflags_ac = false;
	assert_int_equal(hwt_xlate(&t, KIND_VA(K_U_RW), HW_ACC_READ, &f), -EFAULT);
	hwt_down(&t);
}

static void test_mmu_smep_smap_off_allow_supervisor(void **state)
{
	struct hwt t;
	struct hw_fault f;

	(void)state;
	hwt_up(&t, MV_FEAT_ALL & ~(MV_FEAT_SMEP | MV_FEAT_SMAP));
	map_kinds(&t);
	assert_int_equal(hwt_xlate(&t, KIND_VA(K_U_RO), HW_ACC_FETCH, &f), 0);
	assert_int_equal(hwt_xlate(&t, KIND_VA(K_U_RW), HW_ACC_WRITE, &f), 0);
	assert_int_equal(hwt_xlate(&t, KIND_VA(K_U_RO), HW_ACC_WRITE, &f), -EFAULT);
	assert_int_equal(f.error_code, P | W);                 /* CR0.WP still on */
	hwt_down(&t);
}

static void test_mmu_wp0_lets_supervisor_write_read_only(void **state)
{
	struct hwt t;
	struct hw_fault f;

	(void)state;
	hwt_up(&t, MV_FEAT_ALL & ~(MV_FEAT_SMAP | MV_FEAT_SHSTK));
	map_kinds(&t);
	hw_cpu_write_cr0(&t.cpu, t.cpu.cr0 & ~X86_CR0_WP);
	assert_int_equal(hwt_xlate(&t, KIND_VA(K_S_RO), HW_ACC_WRITE, &f), 0);
	assert_int_equal(hwt_xlate(&t, KIND_VA(K_U_RO), HW_ACC_WRITE, &f), 0);
	/* Without CET, RW=0,D=1 is just read-only dirty memory. */
	assert_int_equal(hwt_xlate(&t, KIND_VA(K_S_SS), HW_ACC_WRITE, &f), 0);
	t.cpu.cpl = 3;
	assert_int_equal(hwt_xlate(&t, KIND_VA(K_U_RO), HW_ACC_WRITE, &f), -EFAULT);
	assert_int_equal(f.error_code, P | W | U);
	hwt_down(&t);
}

static void test_mmu_upper_level_us_and_rw_count(void **state)
{
	struct hwt t;
	struct hw_fault f;
	uint64_t va = 0x20000000;

	(void)state;
	hwt_up(&t, MV_FEAT_ALL);
	hwt_map(&t, va, hwt_frame(&t), X86_PTE_P | X86_PTE_RW | X86_PTE_US | X86_PTE_NX);
	t.cpu.cpl = 3;
	*hwt_upper(&t, va, 2) &= ~X86_PTE_US;
	assert_int_equal(hwt_xlate(&t, va, HW_ACC_READ, &f), -EFAULT);
	assert_int_equal(f.error_code, P | U);
	*hwt_upper(&t, va, 2) |= X86_PTE_US;
	*hwt_upper(&t, va, 3) &= ~X86_PTE_RW;
	hw_tlb_flush_all(&t.cpu);
	assert_int_equal(hwt_xlate(&t, va, HW_ACC_READ, &f), 0);
	assert_int_equal(hwt_xlate(&t, va, HW_ACC_WRITE, &f), -EFAULT);
	assert_int_equal(f.error_code, P | W | U);
	hwt_down(&t);
}

static void test_mmu_shadow_stack_needs_rw_above(void **state)
{
	struct hwt t;
	struct hw_fault f;
	uint64_t va = 0x20000000;
	struct hw_xlate x;

	(void)state;
	hwt_up(&t, MV_FEAT_ALL);
	hwt_map(&t, va, hwt_frame(&t), kind_bits[K_U_SS]);
	t.cpu.cpl = 3;
	assert_int_equal(hw_mmu_translate(&t.cpu, va, HW_ACC_SS_WRITE, &x, &f), 0);
	assert_true(x.shstk);
	*hwt_upper(&t, va, 4) &= ~X86_PTE_RW;
	hw_tlb_flush_all(&t.cpu);
	assert_int_equal(hwt_xlate(&t, va, HW_ACC_SS_READ, &f), -EFAULT);
	assert_int_equal(f.error_code, P | U | SS);
	hwt_down(&t);
}

static void test_mmu_not_present_codes(void **state)
{
	static const struct {
		unsigned int acc;
		int cpl;
		unsigned int code;
	} rows[] = {
		{ HW_ACC_READ, 3, U },
		{ HW_ACC_WRITE, 3, W | U },
		{ HW_ACC_FETCH, 3, U | I },
		{ HW_ACC_READ, 0, 0 },
		{ HW_ACC_SS_WRITE, 0, W | SS },
		{ HW_ACC_WRUSS, 0, W | U | SS },
		{ HW_ACC_SS_READ, 3, U | SS },
	};
	struct hwt t;

	(void)state;
	hwt_up(&t, MV_FEAT_ALL);
	hwt_map(&t, 0x30000000, hwt_frame(&t), X86_PTE_P | X86_PTE_RW | X86_PTE_US);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct hw_fault f;
		uint64_t va = 0x30001000;   /* the neighbour PTE is empty */

		t.cpu.cpl = rows[i].cpl;
		assert_int_equal(hwt_xlate(&t, va, rows[i].acc, &f), -EFAULT);
		assert_int_equal(f.kind, HW_FAULT_PF);
		assert_int_equal(f.error_code, rows[i].code);
		assert_int_equal(f.addr, va);
		/* A missing upper level looks the same. */
		assert_int_equal(hwt_xlate(&t, 0x7f0000000000ull, rows[i].acc, &f), -EFAULT);
		assert_int_equal(f.error_code, rows[i].code);
	}
	hwt_down(&t);
}

static void test_mmu_fetch_code_without_nxe_or_smep_has_no_i(void **state)
{
	struct hwt t;
	struct hw_fault f;

	(void)state;
	hwt_up(&t, MV_FEAT_ALL & ~MV_FEAT_SMEP);
	hw_cpu_write_efer(&t.cpu, t.cpu.efer & ~X86_EFER_NXE);
	t.cpu.cpl = 3;
	assert_int_equal(hwt_xlate(&t, 0x40000000, HW_ACC_FETCH, &f), -EFAULT);
	assert_int_equal(f.error_code, U);
	hwt_down(&t);
}

static void test_mmu_reserved_bits_fault_with_rsvd(void **state)
{
	struct hwt t;
	struct hw_fault f;
	uint64_t va = 0x20000000;
	uint64_t *pte;

	(void)state;
	hwt_up(&t, MV_FEAT_ALL);
	pte = hwt_map(&t, va, hwt_frame(&t), X86_PTE_P | X86_PTE_RW | X86_PTE_NX);
	*pte |= 1ull << 50;
	assert_int_equal(hwt_xlate(&t, va, HW_ACC_READ, &f), -EFAULT);
	assert_int_equal(f.error_code, P | X86_PF_RSVD);
	*pte &= ~(1ull << 50);
	/* XD is reserved when EFER.NXE is off. */
	hw_cpu_write_efer(&t.cpu, t.cpu.efer & ~X86_EFER_NXE);
	t.cpu.cpl = 3;
	assert_int_equal(hwt_xlate(&t, va, HW_ACC_WRITE, &f), -EFAULT);
	assert_int_equal(f.error_code, P | W | U | X86_PF_RSVD);
	/* PS in a PML4E is reserved. */
	hw_cpu_write_efer(&t.cpu, t.cpu.efer | X86_EFER_NXE);
	*hwt_upper(&t, va, 4) |= X86_PTE_PS;
	assert_int_equal(hwt_xlate(&t, va, HW_ACC_READ, &f), -EFAULT);
	assert_int_equal(f.error_code, P | U | X86_PF_RSVD);
	hwt_down(&t);
}

static void test_mmu_non_canonical_is_gp(void **state)
{
	struct hwt t;
	struct hw_fault f;

	(void)state;
	hwt_up(&t, MV_FEAT_ALL);
	assert_int_equal(hwt_xlate(&t, 0x0000800000000000ull, HW_ACC_READ, &f), -EFAULT);
	assert_int_equal(f.kind, HW_FAULT_GP);
	assert_int_equal(hwt_xlate(&t, 0xfff0000000000000ull, HW_ACC_SS_WRITE, &f), -EFAULT);
	assert_int_equal(f.kind, HW_FAULT_GP);
	hwt_down(&t);
}

static void test_mmu_bad_access_kind_is_einval(void **state)
{
	static const unsigned int bad[] = {
		3, HW_ACC_FETCH | HW_ACC_SHSTK, 1u << 7, HW_ACC_IMPLICIT | HW_ACC_AS_USER,
	};
	struct hwt t;
	struct hw_fault f;

	(void)state;
	hwt_up(&t, MV_FEAT_ALL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(hwt_xlate(&t, 0x1000, bad[i], &f), -EINVAL);
	hwt_down(&t);
}

static void test_mmu_large_pages_translate(void **state)
{
	struct hwt t;
	struct hw_fault f;
	struct hw_xlate x;
	hw_pfn_t big;
	uint64_t *pde, *pdpte;

	(void)state;
	hwt_up(&t, MV_FEAT_ALL);
	assert_int_equal(hw_frames_alloc(&t.m, HW_MAX_ORDER, 0, 0, &big), 0);
	pde = hwt_entry(&t, 0x40000000, 2);
	*pde = (big << HW_PAGE_SHIFT) | X86_PTE_P | X86_PTE_RW | X86_PTE_PS;
	assert_int_equal(hw_mmu_translate(&t.cpu, 0x40123456, HW_ACC_WRITE, &x, &f), 0);
	assert_int_equal(x.pa, (big << HW_PAGE_SHIFT) + 0x123456);
	assert_true(*pde & X86_PTE_D);
	/* Bit 13 is reserved in a 2 MiB leaf (bit 12 is PAT). */
	*pde |= 1ull << 13;
	hw_tlb_flush_all(&t.cpu);
	assert_int_equal(hwt_xlate(&t, 0x40000000, HW_ACC_READ, &f), -EFAULT);
	assert_int_equal(f.error_code, P | X86_PF_RSVD);
	/* A 1 GiB leaf at level 3 (pointing at 0: offset within RAM). */
	pdpte = hwt_entry(&t, 0x80000000, 3);
	*pdpte = X86_PTE_P | X86_PTE_PS;
	assert_int_equal(hw_mmu_translate(&t.cpu, 0x80345678, HW_ACC_READ, &x, &f), 0);
	assert_int_equal(x.pa, 0x345678);
	hwt_down(&t);
}

static void test_mmu_accessed_dirty_bits(void **state)
{
	struct hwt t;
	struct hw_fault f;
	uint64_t va = 0x20000000;
	uint64_t *pte;

	(void)state;
	hwt_up(&t, MV_FEAT_ALL);
	pte = hwt_map(&t, va, hwt_frame(&t), X86_PTE_P | X86_PTE_RW | X86_PTE_NX);
	for (int l = 2; l <= 4; l++)
		*hwt_upper(&t, va, l) &= ~X86_PTE_A;
	assert_int_equal(hwt_xlate(&t, va, HW_ACC_READ, &f), 0);
	assert_true(*pte & X86_PTE_A);
	assert_false(*pte & X86_PTE_D);
	for (int l = 2; l <= 4; l++)
		assert_true(*hwt_upper(&t, va, l) & X86_PTE_A);
	assert_int_equal(hwt_xlate(&t, va, HW_ACC_WRITE, &f), 0);
	assert_true(*pte & X86_PTE_D);
	for (int l = 2; l <= 4; l++)
		assert_false(*hwt_upper(&t, va, l) & X86_PTE_D);
	hwt_down(&t);
}

static void test_mmu_fault_sets_no_accessed_bit(void **state)
{
	struct hwt t;
	struct hw_fault f;
	uint64_t va = 0x20000000;
	uint64_t *pte;

	(void)state;
	hwt_up(&t, MV_FEAT_ALL);
	pte = hwt_map(&t, va, hwt_frame(&t), X86_PTE_P | X86_PTE_NX);
	assert_int_equal(hwt_xlate(&t, va, HW_ACC_WRITE, &f), -EFAULT);
	assert_false(*pte & (X86_PTE_A | X86_PTE_D));
	/* No D on a read-only page: it must not turn into a shadow stack. */
	assert_int_equal(hwt_xlate(&t, va, HW_ACC_READ, &f), 0);
	assert_int_equal(*pte & (X86_PTE_A | X86_PTE_D), X86_PTE_A);
	hwt_down(&t);
}

static void test_mmu_read_write_fault_leaves_memory_untouched(void **state)
{
	struct hwt t;
	struct hw_fault f;
	uint64_t va = 0x20000000, pa0 = 0, pa1;
	uint8_t buf[6000], back[6000];

	(void)state;
	hwt_up(&t, MV_FEAT_ALL);
	pa0 = hwt_frame(&t);
	pa1 = hwt_frame(&t);
	hwt_map(&t, va, pa0, X86_PTE_P | X86_PTE_RW | X86_PTE_NX);
	hwt_map(&t, va + 4096, pa1, X86_PTE_P | X86_PTE_NX);   /* read-only */
	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(hw_mmu_write(&t.cpu, va + 100, buf, sizeof(buf), 0, &f), -EFAULT);
	assert_int_equal(f.addr, va + 4096);
	assert_int_equal(f.error_code, P | W);
	assert_int_equal(*(uint8_t *)hw_pa_to_host(&t.m, pa0 + 100), 0);
	assert_int_equal(hw_mmu_write(&t.cpu, va + 100, buf, 3000, 0, &f), 0);
	assert_int_equal(hw_mmu_read(&t.cpu, va + 100, back, 3000, 0, &f), 0);
	assert_memory_equal(buf, back, 3000);
	*(uint64_t *)hw_pa_to_host(&t.m, pa1 + 8) = 0x1122334455667788ull;
	assert_int_equal(hw_mmu_read(&t.cpu, va + 4092, back, 16, 0, &f), 0);
	assert_int_equal(back[4], 0);
	assert_int_equal(back[4 + 8], 0x88);
	hwt_down(&t);
}

static void test_mmu_load64_hits_and_misaligned(void **state)
{
	struct hwt t;
	struct hw_fault f;
	uint64_t va = 0x20000000, pa, v = 0;

	(void)state;
	hwt_up(&t, MV_FEAT_ALL);
	pa = hwt_frame(&t);
	hwt_map(&t, va, pa, X86_PTE_P | X86_PTE_NX);
	hwt_map(&t, va + 4096, hwt_frame(&t), X86_PTE_P | X86_PTE_NX);
	*(uint64_t *)hw_pa_to_host(&t.m, pa + 16) = 42;
	*(uint32_t *)hw_pa_to_host(&t.m, pa + 4092) = 0xdeadbeef;
	assert_int_equal(hw_mmu_load64(&t.cpu, va + 16, &v, &f), 0);
	assert_int_equal(v, 42);
	assert_int_equal(hw_mmu_load64(&t.cpu, va + 16, &v, &f), 0);
	assert_true(t.cpu.tlb.stats.hits >= 1);
	assert_int_equal(hw_mmu_load64(&t.cpu, va + 4092, &v, &f), 0);   /* crosses a page */
	assert_int_equal(v, 0xdeadbeefull);
	assert_int_equal(hw_mmu_load64(&t.cpu, 0x50000000, &v, &f), -EFAULT);
	assert_int_equal(f.kind, HW_FAULT_PF);
	hwt_down(&t);
}

/* ---- two stages ---- */

/* Guest: identity EPT, guest tables as built by the hwt helpers (GPA == HPA). */
static void guest_up(struct hwt *t, uint64_t features, uint64_t eptp_flags)
{
	hwt_up(t, features);
	map_kinds(t);
	hwt_ept_identity(t, eptp_flags);
	hw_cpu_enter_guest(&t->cpu, 1, t->eptp);
}

static uint64_t kind_gpa(struct hwt *t, int k)
{
	return *hwt_entry(t, KIND_VA(k), 1) & X86_PTE_ADDR;
}

static void test_mmu_two_stage_translate(void **state)
{
	struct hwt t;
	struct hw_fault f;
	struct hw_xlate x;

	(void)state;
	guest_up(&t, MV_FEAT_ALL, 0);
	assert_int_equal(hw_mmu_translate(&t.cpu, KIND_VA(K_S_RW) + 8, HW_ACC_WRITE, &x, &f), 0);
	assert_int_equal(x.pa, kind_gpa(&t, K_S_RW) + 8);
	/* Remap the GPA to another host frame in EPT only. */
	{
		uint64_t other = hwt_frame(&t);

		*hwt_ept_leaf(&t, kind_gpa(&t, K_S_RW)) = other | HWT_EPT_ALL;
		hw_tlb_flush_all(&t.cpu);
		assert_int_equal(hw_mmu_translate(&t.cpu, KIND_VA(K_S_RW), HW_ACC_READ, &x, &f), 0);
		assert_int_equal(x.pa, other);
	}
	/* Stage-1 faults still come first, as #PF. */
	assert_int_equal(hwt_xlate(&t, KIND_VA(K_S_RO), HW_ACC_WRITE, &f), -EFAULT);
	assert_int_equal(f.kind, HW_FAULT_PF);
	hwt_down(&t);
}

static void test_mmu_ept_violation_qualification_final(void **state)
{
	static const struct {
		uint64_t ept;
		unsigned int acc;
		int kind;
		int cpl;
		uint64_t qual;
	} rows[] = {
		{ EPT_R, HW_ACC_WRITE, K_S_RW, 0, EPT_QUAL_WRITE | EPT_QUAL_READABLE },
		{ EPT_R | EPT_W, HW_ACC_FETCH, K_S_RO, 0, EPT_QUAL_FETCH | EPT_QUAL_READABLE | EPT_QUAL_WRITABLE },
		{ EPT_X, HW_ACC_READ, K_S_RO, 0, EPT_QUAL_READ | EPT_QUAL_EXEC },
		{ 0, HW_ACC_READ, K_U_RO, 3, EPT_QUAL_READ | EPT_QUAL_USER },
		{ EPT_R | EPT_X, HW_ACC_FETCH, K_U_RO, 3, EPT_QUAL_FETCH | EPT_QUAL_READABLE | EPT_QUAL_EXEC | EPT_QUAL_USER },
		{ EPT_R, HW_ACC_WRUSS, K_U_SS, 0, EPT_QUAL_WRITE | EPT_QUAL_READABLE | EPT_QUAL_USER },
	};
	struct hwt t;

	(void)state;
	guest_up(&t, MV_FEAT_ALL, 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint64_t gpa = kind_gpa(&t, rows[i].kind);
		struct hw_fault f;

		*hwt_ept_leaf(&t, gpa) = gpa | EPT_MT_WB | rows[i].ept;
		hw_tlb_flush_all(&t.cpu);
		t.cpu.cpl = rows[i].cpl;
		assert_int_equal(hwt_xlate(&t, KIND_VA(rows[i].kind) + 0x18, rows[i].acc, &f), -EFAULT);
		assert_int_equal(f.kind, HW_FAULT_EPT_VIOLATION);
		assert_int_equal(f.addr, gpa + 0x18);
		assert_int_equal(f.gla, KIND_VA(rows[i].kind) + 0x18);
		assert_int_equal(f.qualification,
				 rows[i].qual | EPT_QUAL_GLA_VALID | EPT_QUAL_GLA_XLATE);
		*hwt_ept_leaf(&t, gpa) = gpa | HWT_EPT_ALL;
	}
	hwt_down(&t);
}

static void test_mmu_ept_violation_on_guest_table_access(void **state)
{
	struct hwt t;
	struct hw_fault f;
	uint64_t va = KIND_VA(K_S_RW);
	uint64_t pt_gpa;

	(void)state;
	guest_up(&t, MV_FEAT_ALL, 0);
	pt_gpa = *hwt_upper(&t, va, 2) & X86_PTE_ADDR;
	*hwt_ept_leaf(&t, pt_gpa) = 0;
	assert_int_equal(hwt_xlate(&t, va, HW_ACC_WRITE, &f), -EFAULT);
	assert_int_equal(f.kind, HW_FAULT_EPT_VIOLATION);
	assert_int_equal(f.addr, pt_gpa + 8 * hw_pt_index(va, 1));
	assert_int_equal(f.gla, va);
	assert_int_equal(f.qualification, EPT_QUAL_READ | EPT_QUAL_GLA_VALID);
	/* A read-only guest page table: the walker's A/D write is refused too. */
	*hwt_ept_leaf(&t, pt_gpa) = pt_gpa | EPT_R | EPT_MT_WB;
	*hwt_entry(&t, va, 1) &= ~X86_PTE_A;
	assert_int_equal(hwt_xlate(&t, va, HW_ACC_READ, &f), -EFAULT);
	assert_int_equal(f.kind, HW_FAULT_EPT_VIOLATION);
	assert_int_equal(f.qualification, EPT_QUAL_WRITE | EPT_QUAL_READABLE | EPT_QUAL_GLA_VALID);
	hwt_down(&t);
}

static void test_mmu_ept_misconfig_write_without_read(void **state)
{
	struct hwt t;
	struct hw_fault f;
	uint64_t gpa;

	(void)state;
	guest_up(&t, MV_FEAT_ALL, 0);
	gpa = kind_gpa(&t, K_S_RW);
	*hwt_ept_leaf(&t, gpa) = gpa | EPT_W | EPT_MT_WB;
	assert_int_equal(hwt_xlate(&t, KIND_VA(K_S_RW), HW_ACC_READ, &f), -EFAULT);
	assert_int_equal(f.kind, HW_FAULT_EPT_MISCONFIG);
	assert_int_equal(f.addr, gpa);
	*hwt_ept_leaf(&t, gpa) = gpa | EPT_R | EPT_W | (2ull << 3);  /* memory type 2 */
	assert_int_equal(hwt_xlate(&t, KIND_VA(K_S_RW), HW_ACC_READ, &f), -EFAULT);
	assert_int_equal(f.kind, HW_FAULT_EPT_MISCONFIG);
	hwt_down(&t);
}

static void test_mmu_ept_mbec_user_execute(void **state)
{
	struct hwt t;
	struct hw_fault f;
	uint64_t ugpa, sgpa;

	(void)state;
	guest_up(&t, MV_FEAT_ALL, 0);
	ugpa = kind_gpa(&t, K_U_RO);
	sgpa = kind_gpa(&t, K_S_RO);
	/* X only: supervisor-mode pages may run, user-mode pages may not. */
	*hwt_ept_leaf(&t, ugpa) = ugpa | EPT_R | EPT_X | EPT_MT_WB;
	*hwt_ept_leaf(&t, sgpa) = sgpa | EPT_R | EPT_X | EPT_MT_WB;
	t.cpu.cpl = 3;
	assert_int_equal(hwt_xlate(&t, KIND_VA(K_U_RO), HW_ACC_FETCH, &f), -EFAULT);
	assert_int_equal(f.kind, HW_FAULT_EPT_VIOLATION);
	t.cpu.cpl = 0;
	assert_int_equal(hwt_xlate(&t, KIND_VA(K_S_RO), HW_ACC_FETCH, &f), 0);
	/* UX only: the reverse. */
	*hwt_ept_leaf(&t, ugpa) = ugpa | EPT_R | EPT_UX | EPT_MT_WB;
	*hwt_ept_leaf(&t, sgpa) = sgpa | EPT_R | EPT_UX | EPT_MT_WB;
	hw_tlb_flush_all(&t.cpu);
	t.cpu.cpl = 3;
	assert_int_equal(hwt_xlate(&t, KIND_VA(K_U_RO), HW_ACC_FETCH, &f), 0);
	t.cpu.cpl = 0;
	assert_int_equal(hwt_xlate(&t, KIND_VA(K_S_RO), HW_ACC_FETCH, &f), -EFAULT);
	assert_int_equal(f.qualification, EPT_QUAL_FETCH | EPT_QUAL_READABLE | EPT_QUAL_UEXEC |
					  EPT_QUAL_GLA_VALID | EPT_QUAL_GLA_XLATE);
	hwt_down(&t);
}

static void test_mmu_ept_without_mbec_x_controls_all(void **state)
{
	struct hwt t;
	struct hw_fault f;
	uint64_t ugpa;

	(void)state;
	guest_up(&t, MV_FEAT_ALL & ~MV_FEAT_MBEC, 0);
	ugpa = kind_gpa(&t, K_U_RO);
	*hwt_ept_leaf(&t, ugpa) = ugpa | EPT_R | EPT_X | EPT_MT_WB;
	t.cpu.cpl = 3;
	assert_int_equal(hwt_xlate(&t, KIND_VA(K_U_RO), HW_ACC_FETCH, &f), 0);
	*hwt_ept_leaf(&t, ugpa) = ugpa | EPT_R | EPT_UX | EPT_MT_WB;
	hw_tlb_flush_all(&t.cpu);
	assert_int_equal(hwt_xlate(&t, KIND_VA(K_U_RO), HW_ACC_FETCH, &f), -EFAULT);
	assert_int_equal(f.kind, HW_FAULT_EPT_VIOLATION);
	assert_false(f.qualification & EPT_QUAL_UEXEC);
	hwt_down(&t);
}

static void test_mmu_ept_accessed_dirty_only_with_eptp_bit6(void **state)
{
	struct hwt t;
	struct hw_fault f;
	uint64_t gpa;

	(void)state;
	guest_up(&t, MV_FEAT_ALL, 0);
	gpa = kind_gpa(&t, K_S_RW);
	assert_int_equal(hwt_xlate(&t, KIND_VA(K_S_RW), HW_ACC_WRITE, &f), 0);
	assert_false(*hwt_ept_leaf(&t, gpa) & (EPT_A | EPT_D));
	hwt_down(&t);

	guest_up(&t, MV_FEAT_ALL, HW_EPTP_AD);
	gpa = kind_gpa(&t, K_S_RW);
	assert_int_equal(hwt_xlate(&t, KIND_VA(K_S_RW), HW_ACC_READ, &f), 0);
	assert_int_equal(*hwt_ept_leaf(&t, gpa) & (EPT_A | EPT_D), EPT_A);
	assert_int_equal(hwt_xlate(&t, KIND_VA(K_S_RW), HW_ACC_WRITE, &f), 0);
	assert_int_equal(*hwt_ept_leaf(&t, gpa) & (EPT_A | EPT_D), EPT_A | EPT_D);
	/* Guest paging-structure accesses count as writes: their pages get D. */
	assert_true(*hwt_ept_leaf(&t, *hwt_upper(&t, KIND_VA(K_S_RW), 2) & X86_PTE_ADDR) & EPT_D);
	hwt_down(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mmu_permission_matrix),
		cmocka_unit_test(test_mmu_permission_matrix_after_fill),
		cmocka_unit_test(test_mmu_smap_ac_exempts_explicit_only),
		cmocka_unit_test(test_mmu_smep_smap_off_allow_supervisor),
		cmocka_unit_test(test_mmu_wp0_lets_supervisor_write_read_only),
		cmocka_unit_test(test_mmu_upper_level_us_and_rw_count),
		cmocka_unit_test(test_mmu_shadow_stack_needs_rw_above),
		cmocka_unit_test(test_mmu_not_present_codes),
		cmocka_unit_test(test_mmu_fetch_code_without_nxe_or_smep_has_no_i),
		cmocka_unit_test(test_mmu_reserved_bits_fault_with_rsvd),
		cmocka_unit_test(test_mmu_non_canonical_is_gp),
		cmocka_unit_test(test_mmu_bad_access_kind_is_einval),
		cmocka_unit_test(test_mmu_large_pages_translate),
		cmocka_unit_test(test_mmu_accessed_dirty_bits),
		cmocka_unit_test(test_mmu_fault_sets_no_accessed_bit),
		cmocka_unit_test(test_mmu_read_write_fault_leaves_memory_untouched),
		cmocka_unit_test(test_mmu_load64_hits_and_misaligned),
		cmocka_unit_test(test_mmu_two_stage_translate),
		cmocka_unit_test(test_mmu_ept_violation_qualification_final),
		cmocka_unit_test(test_mmu_ept_violation_on_guest_table_access),
		cmocka_unit_test(test_mmu_ept_misconfig_write_without_read),
		cmocka_unit_test(test_mmu_ept_mbec_user_execute),
		cmocka_unit_test(test_mmu_ept_without_mbec_x_controls_all),
		cmocka_unit_test(test_mmu_ept_accessed_dirty_only_with_eptp_bit6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
