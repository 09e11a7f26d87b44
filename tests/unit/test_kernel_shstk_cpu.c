/* SPDX-License-Identifier: MIT */
/*
 * The task's CPU with shadow stacks: CALL/RET on both stacks and #CP on a
 * mismatch (the return-address overwrite a shadow stack stops), RSTORSSP /
 * SAVEPREVSSP (a ucontext-style switch between two coroutines), WRSS,
 * INCSSP, RDSSP, and what these do with shadow stacks off.
 */
#include <string.h>

#include "shstk_test.h"

#define CODE 0x401000ull

static struct mv_task *task_with_shstk(struct mv_machine **m)
{
	struct mv_task *t = shtest_task(m, 0, 0);

	shtest_enable(t, ARCH_SHSTK_SHSTK);
	return t;
}

static void test_shstk_call_pushes_both_stacks(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = task_with_shstk(&m);
	uint64_t rsp = shtest_reg(t, MV_REG_RSP), ssp = shtest_reg(t, MV_REG_SSP);

	assert_int_equal(mv_cpu_call(t, CODE + 5), 0);
	assert_int_equal(shtest_reg(t, MV_REG_RSP), rsp - 8);
	assert_int_equal(shtest_reg(t, MV_REG_SSP), ssp - 8);
	assert_int_equal(shtest_read64(t, rsp - 8), CODE + 5);
	assert_int_equal(shtest_read64(t, ssp - 8), CODE + 5);   /* shadow stack is readable */
	mvtest_expect_no_signal(t);
	mv_machine_destroy(m);
}

static void test_shstk_ret_pops_both_and_compares(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = task_with_shstk(&m);
	uint64_t rsp = shtest_reg(t, MV_REG_RSP), ssp = shtest_reg(t, MV_REG_SSP), ra = 0;

	for (uint64_t i = 0; i < 100; i++)
		assert_int_equal(mv_cpu_call(t, CODE + i), 0);
	for (uint64_t i = 100; i-- > 0;) {
		assert_int_equal(mv_cpu_ret(t, &ra), 0);
		assert_int_equal(ra, CODE + i);
		assert_int_equal(shtest_reg(t, MV_REG_RIP), CODE + i);
	}
	assert_int_equal(shtest_reg(t, MV_REG_RSP), rsp);
	assert_int_equal(shtest_reg(t, MV_REG_SSP), ssp);
	mv_machine_destroy(m);
}

/*
 * The ROP step: an attacker with a write primitive replaces the saved
 * return address on the ordinary stack. With shadow stacks RET raises #CP
 * (SIGSEGV, SEGV_CPERR) and nothing moves; without, the attack works.
 */
static void rop_attempt(bool shstk)
{
	const uint64_t evil = 0x4badc0de;
	struct mv_machine *m;
	struct mv_task *t = shstk ? task_with_shstk(&m) : shtest_task(&m, 0, 0);
	uint64_t rsp, ssp, rip, ra = 0;

	assert_int_equal(mv_cpu_set_reg(t, MV_REG_RIP, CODE + 0x40), 0);
	assert_int_equal(mv_cpu_call(t, CODE + 5), 0);
	rsp = shtest_reg(t, MV_REG_RSP);
	ssp = shtest_reg(t, MV_REG_SSP);
	rip = shtest_reg(t, MV_REG_RIP);
	assert_int_equal(mv_user_write(t, rsp, &evil, sizeof(evil)), 0);
	if (shstk) {
		assert_int_equal(mv_cpu_ret(t, &ra), -EFAULT);
		mvtest_expect_signal(t, SIGSEGV, SEGV_CPERR, 0);
		assert_int_equal(shtest_reg(t, MV_REG_RSP), rsp);
		assert_int_equal(shtest_reg(t, MV_REG_SSP), ssp);
		assert_int_equal(shtest_reg(t, MV_REG_RIP), rip);
	} else {
		assert_int_equal(mv_cpu_ret(t, &ra), 0);
		assert_int_equal(ra, evil);
		assert_int_equal(shtest_reg(t, MV_REG_RIP), evil);
		mvtest_expect_no_signal(t);
	}
	mv_machine_destroy(m);
}

static void test_shstk_rop_overwrite_raises_cp(void **state)
{
	rop_attempt(true);
}

static void test_shstk_rop_overwrite_succeeds_without_shadow_stack(void **state)
{
	rop_attempt(false);
}

/* The attacker cannot fix up the shadow stack with ordinary stores either. */
static void test_shstk_plain_store_cannot_forge_shadow_entry(void **state)
{
	const uint64_t evil = 0x4badc0de;
	struct mv_machine *m;
	struct mv_task *t = task_with_shstk(&m);
	uint64_t ssp;

	assert_int_equal(mv_cpu_call(t, CODE), 0);
	ssp = shtest_reg(t, MV_REG_SSP);
	assert_int_equal(mv_user_write(t, ssp, &evil, sizeof(evil)), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_ACCERR, ssp);
	assert_int_equal(shtest_read64(t, ssp), CODE);
	mv_machine_destroy(m);
}

/* RSTORSSP to a fresh map_shadow_stack token: SSP moves there, the token turns busy. */
static void test_shstk_rstorssp_switches_to_restore_token(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = task_with_shstk(&m);
	uint64_t old = shtest_reg(t, MV_REG_SSP);
	uint64_t base = shtest_map(t, 0, 4 * PG, SHADOW_STACK_SET_TOKEN), tok = base + 4 * PG - 8;

	assert_int_equal(mv_cpu_rstorssp(t, tok), 0);
	assert_int_equal(shtest_reg(t, MV_REG_SSP), tok);
	assert_int_equal(shtest_read64(t, tok), old | 3);   /* previous-ssp token */
	/* The same token cannot be used twice. */
	assert_int_equal(mv_cpu_rstorssp(t, tok), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_CPERR, 0);
	mv_machine_destroy(m);
}

/* SAVEPREVSSP pops the previous-ssp token and leaves a restore token on the old stack. */
static void test_shstk_saveprevssp_leaves_restore_token(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = task_with_shstk(&m);
	uint64_t old = shtest_reg(t, MV_REG_SSP);
	uint64_t base = shtest_map(t, 0, PG, SHADOW_STACK_SET_TOKEN), tok = base + PG - 8;

	assert_int_equal(mv_cpu_rstorssp(t, tok), 0);
	assert_int_equal(mv_cpu_saveprevssp(t), 0);
	assert_int_equal(shtest_reg(t, MV_REG_SSP), base + PG);
	assert_int_equal(shtest_read64(t, old - 8), old | 1);
	/* ...which brings us back. */
	assert_int_equal(mv_cpu_rstorssp(t, old - 8), 0);
	assert_int_equal(mv_cpu_saveprevssp(t), 0);
	assert_int_equal(shtest_reg(t, MV_REG_SSP), old);
	assert_int_equal(shtest_read64(t, tok), (base + PG) | 1);
	/* SAVEPREVSSP needs a previous-ssp token on top: a return address is #GP. */
	assert_int_equal(mv_cpu_call(t, CODE), 0);
	assert_int_equal(mv_cpu_saveprevssp(t), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SI_KERNEL, 0);
	mv_machine_destroy(m);
}

/* ------------------------------------------------- ucontext-style switching */

struct coro {
	uint64_t rsp;
	uint64_t token;   /* restore token to RSTORSSP to */
};

/* swapcontext's shadow-stack half: RSTORSSP to the target, SAVEPREVSSP, RSP. */
static void coro_switch(struct mv_task *t, struct coro *from, const struct coro *to)
{
	uint64_t ssp = 0;

	assert_int_equal(mv_cpu_rdssp(t, &ssp), 0);
	from->rsp = shtest_reg(t, MV_REG_RSP);
	assert_int_equal(mv_cpu_rstorssp(t, to->token), 0);
	assert_int_equal(mv_cpu_saveprevssp(t), 0);
	from->token = ssp - 8;
	assert_int_equal(mv_cpu_set_reg(t, MV_REG_RSP, to->rsp), 0);
}

static void coro_make(struct mv_task *t, struct coro *c)
{
	uint64_t stack = shtest_mmap(t, 0, 4 * PG, PROT_READ | PROT_WRITE, ANON);
	uint64_t shstk = shtest_map(t, 0, 2 * PG, SHADOW_STACK_SET_TOKEN);

	c->rsp = stack + 4 * PG;
	c->token = shstk + 2 * PG - 8;
}

static void coro_ret(struct mv_task *t, uint64_t want)
{
	uint64_t ra = 0;

	assert_int_equal(mv_cpu_ret(t, &ra), 0);
	assert_int_equal(ra, want);
}

static void test_shstk_ucontext_switching_then_forged_token(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = task_with_shstk(&m);
	struct coro main_ctx = { 0 }, a, b;
	uint64_t ssp, forged;

	coro_make(t, &a);
	coro_make(t, &b);
	for (uint64_t i = 0; i < 500; i++) {
		coro_switch(t, &main_ctx, &a);
		assert_int_equal(mv_cpu_call(t, 0xa0000 + i), 0);
		coro_switch(t, &a, &b);
		assert_int_equal(mv_cpu_call(t, 0xb0000 + i), 0);
		coro_switch(t, &b, &a);
		coro_ret(t, 0xa0000 + i);   /* A's own shadow stack, intact */
		coro_switch(t, &a, &b);
		coro_ret(t, 0xb0000 + i);
		coro_switch(t, &b, &main_ctx);
	}
	mvtest_expect_no_signal(t);

	/* A forged token: a well-formed restore token in ordinary memory is not one. */
	forged = shtest_mmap(t, 0, PG, PROT_READ | PROT_WRITE, ANON);
	ssp = (forged + PG) | 1;
	assert_int_equal(mv_user_write(t, forged + PG - 8, &ssp, 8), 0);
	assert_int_equal(mv_cpu_rstorssp(t, forged + PG - 8), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_ACCERR, forged + PG - 8);
	/* A token that names another slot, planted with WRSS: #CP. */
	shtest_enable(t, ARCH_SHSTK_WRSS);
	ssp = shtest_reg(t, MV_REG_SSP);
	assert_int_equal(mv_cpu_wrss(t, a.token - 64, (a.token + 64) | 1), 0);
	assert_int_equal(mv_cpu_rstorssp(t, a.token - 64), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_CPERR, 0);
	/* A token replayed after use is busy: #CP. */
	coro_switch(t, &main_ctx, &a);
	assert_int_equal(mv_cpu_rstorssp(t, main_ctx.token + 0), 0);   /* back, no SAVEPREVSSP */
	assert_int_equal(mv_cpu_rstorssp(t, main_ctx.token), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_CPERR, 0);
	assert_int_equal(shtest_reg(t, MV_REG_SSP), main_ctx.token);
	mv_machine_destroy(m);
}

/* -------------------------------------------------------- WRSS, INCSSP, RDSSP */

static void test_shstk_wrss_needs_wrss_feature(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = task_with_shstk(&m);
	uint64_t ssp = shtest_reg(t, MV_REG_SSP), rip = 0x402000;

	assert_int_equal(mv_cpu_set_reg(t, MV_REG_RIP, rip), 0);
	assert_int_equal(mv_cpu_wrss(t, ssp - 8, 7), -EFAULT);
	mvtest_expect_signal(t, SIGILL, ILL_ILLOPN, rip);
	shtest_enable(t, ARCH_SHSTK_WRSS);
	assert_int_equal(mv_cpu_wrss(t, ssp - 8, 7), 0);
	assert_int_equal(shtest_read64(t, ssp - 8), 7);
	assert_int_equal(mv_cpu_wrss(t, ssp - 12, 7), -EFAULT);   /* misaligned: #GP */
	mvtest_expect_signal(t, SIGSEGV, SI_KERNEL, 0);
	mv_machine_destroy(m);
}

static void test_shstk_wrss_only_on_shadow_stack_pages(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = task_with_shstk(&m);
	uint64_t plain = shtest_mmap(t, 0, PG, PROT_READ | PROT_WRITE, ANON);

	shtest_enable(t, ARCH_SHSTK_WRSS);
	assert_int_equal(mv_cpu_wrss(t, plain, 1), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_ACCERR, plain);
	assert_int_equal(shtest_read64(t, plain), 0);
	mv_machine_destroy(m);
}

static void test_shstk_incssp_pops_and_checks_both_ends(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = task_with_shstk(&m);
	uint64_t ssp = shtest_reg(t, MV_REG_SSP), ra = 0;

	for (int i = 0; i < 4; i++)
		assert_int_equal(mv_cpu_call(t, CODE + (uint64_t)i), 0);
	assert_int_equal(mv_cpu_call(t, CODE + 9), 0);
	assert_int_equal(mv_cpu_incssp(t, 1), 0);           /* skip one frame */
	assert_int_equal(mv_cpu_set_reg(t, MV_REG_RSP, shtest_reg(t, MV_REG_RSP) + 8), 0);
	assert_int_equal(mv_cpu_ret(t, &ra), 0);
	assert_int_equal(ra, CODE + 3);
	assert_int_equal(mv_cpu_incssp(t, 0x103), 0);       /* only bits 7:0 count: 3 */
	assert_int_equal(shtest_reg(t, MV_REG_SSP), ssp);
	/* Popping past the top reads the guard gap: a fault, SSP unchanged. */
	assert_int_equal(mv_cpu_incssp(t, 1), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_MAPERR, ssp);
	assert_int_equal(shtest_reg(t, MV_REG_SSP), ssp);
	mv_machine_destroy(m);
}

/* With shadow stacks off: CALL/RET use the ordinary stack only, RDSSP is a NOP, the rest #UD. */
static void test_shstk_off_instructions_behave_as_hardware(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	uint64_t v = 0x5a5a, rip = 0x403000, ra = 0;

	assert_int_equal(mv_cpu_set_reg(t, MV_REG_RIP, rip), 0);
	assert_int_equal(mv_cpu_rdssp(t, &v), 0);
	assert_int_equal(v, 0x5a5a);
	assert_int_equal(mv_cpu_call(t, CODE), 0);
	assert_int_equal(shtest_reg(t, MV_REG_SSP), 0);
	assert_int_equal(mv_cpu_ret(t, &ra), 0);
	assert_int_equal(ra, CODE);
	assert_int_equal(mv_cpu_set_reg(t, MV_REG_RIP, rip), 0);
	assert_int_equal(mv_cpu_rstorssp(t, 0x500000000ull), -EFAULT);
	mvtest_expect_signal(t, SIGILL, ILL_ILLOPN, rip);
	assert_int_equal(mv_cpu_saveprevssp(t), -EFAULT);
	mvtest_expect_signal(t, SIGILL, ILL_ILLOPN, rip);
	assert_int_equal(mv_cpu_incssp(t, 1), -EFAULT);
	mvtest_expect_signal(t, SIGILL, ILL_ILLOPN, rip);
	assert_int_equal(mv_cpu_wrss(t, 0x500000000ull, 1), -EFAULT);
	mvtest_expect_signal(t, SIGILL, ILL_ILLOPN, rip);
	assert_int_equal(mv_cpu_set_reg(t, MV_REG_SSP, 0x1000), -EPERM);
	mv_machine_destroy(m);
}

static void test_shstk_rdssp_reads_ssp(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = task_with_shstk(&m);
	uint64_t v = 0;

	assert_int_equal(mv_cpu_call(t, CODE), 0);
	assert_int_equal(mv_cpu_rdssp(t, &v), 0);
	assert_int_equal(v, shtest_reg(t, MV_REG_SSP));
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shstk_call_pushes_both_stacks),
		cmocka_unit_test(test_shstk_ret_pops_both_and_compares),
		cmocka_unit_test(test_shstk_rop_overwrite_raises_cp),
		cmocka_unit_test(test_shstk_rop_overwrite_succeeds_without_shadow_stack),
		cmocka_unit_test(test_shstk_plain_store_cannot_forge_shadow_entry),
		cmocka_unit_test(test_shstk_rstorssp_switches_to_restore_token),
		cmocka_unit_test(test_shstk_saveprevssp_leaves_restore_token),
		cmocka_unit_test(test_shstk_ucontext_switching_then_forged_token),
		cmocka_unit_test(test_shstk_wrss_needs_wrss_feature),
		cmocka_unit_test(test_shstk_wrss_only_on_shadow_stack_pages),
		cmocka_unit_test(test_shstk_incssp_pops_and_checks_both_ends),
		cmocka_unit_test(test_shstk_off_instructions_behave_as_hardware),
		cmocka_unit_test(test_shstk_rdssp_reads_ssp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
