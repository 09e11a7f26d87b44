/* SPDX-License-Identifier: MIT */
/*
 * Signal delivery and rt_sigreturn in mainline's order. Delivery writes the
 * frame first and pushes the shadow-stack token last (x64_setup_rt_frame
 * since "Delay signal entry SSP write until after user accesses"), so a
 * delivery that fails leaves no token behind and moves no register.
 * rt_sigreturn restores RIP and RSP from the frame (restore_sigcontext)
 * before it checks the token (restore_signal_shadow_stack), so a bad token
 * leaves them restored and SSP where it was. Syscall 15 is that path.
 */
#include "shstk_test.h"

#define HANDLER 0x404000ull
#define RESTORER 0x405000ull
#define UNMAPPED 0x300000000ull
#define SIGTOKEN (1ull << 63)

static struct mv_task *task_with_wrss(struct mv_machine **m)
{
	struct mv_task *t = shtest_task(m, 0, 0);

	shtest_enable(t, ARCH_SHSTK_SHSTK);
	shtest_enable(t, ARCH_SHSTK_WRSS);
	return t;
}

/* The frame cannot be written: nothing reaches the shadow stack, no register moves. */
static void test_x64_setup_rt_frame_frame_fault_leaves_no_token(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = task_with_wrss(&m);
	uint64_t ssp = shtest_reg(t, MV_REG_SSP), rip = 0x401234;

	assert_int_equal(mv_cpu_set_reg(t, MV_REG_RIP, rip), 0);
	assert_int_equal(mv_cpu_set_reg(t, MV_REG_RSP, UNMAPPED), 0);
	assert_int_equal(mv_cpu_signal_deliver(t, SIGSEGV, HANDLER, RESTORER), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SI_KERNEL, 0);
	assert_int_equal(shtest_peek(t, ssp - 8), 0);
	assert_int_equal(shtest_peek(t, ssp - 16), 0);
	assert_int_equal(shtest_reg(t, MV_REG_SSP), ssp);
	assert_int_equal(shtest_reg(t, MV_REG_RSP), UNMAPPED);
	assert_int_equal(shtest_reg(t, MV_REG_RIP), rip);
	/* Delivered again once the stack is there: the same place on both stacks. */
	assert_int_equal(mv_cpu_set_reg(t, MV_REG_RSP, shtest_mmap(t, 0, 4 * PG,
		PROT_READ | PROT_WRITE, ANON) + 4 * PG), 0);
	assert_int_equal(mv_cpu_signal_deliver(t, SIGSEGV, HANDLER, RESTORER), 0);
	assert_int_equal(shtest_reg(t, MV_REG_SSP), ssp - 16);
	assert_int_equal(shtest_peek(t, ssp - 8), ssp | SIGTOKEN);
	mv_machine_destroy(m);
}

/*
 * setup_signal_shadow_stack fails after the frame was written (no restorer
 * with shadow stacks on): the frame stays in memory, no register moves.
 */
static void test_setup_signal_shadow_stack_fails_after_the_frame(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = task_with_wrss(&m);
	uint64_t ssp = shtest_reg(t, MV_REG_SSP), rsp = shtest_reg(t, MV_REG_RSP);
	uint64_t sp = ((rsp - 128 - 32) & ~15ull) - 8;

	assert_int_equal(mv_cpu_signal_deliver(t, 7, HANDLER, 0), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SI_KERNEL, 0);
	assert_int_equal(shtest_read64(t, sp + 8), 7);   /* the frame's signo */
	assert_int_equal(shtest_peek(t, ssp - 8), 0);
	assert_int_equal(shtest_reg(t, MV_REG_SSP), ssp);
	assert_int_equal(shtest_reg(t, MV_REG_RSP), rsp);
	mv_machine_destroy(m);
}

/* Bad tokens, each row a way to fail restore_signal_shadow_stack. */
static void test_restore_signal_shadow_stack_fails_after_rip_rsp_restored(void **state)
{
	static const struct {
		const char *what;
		uint64_t token;   /* written over the signal token */
	} rows[] = {
		{ "no bit 63", 0x7ff000000000ull },
		{ "misaligned", 0x7ff000000004ull | SIGTOKEN },
		{ "above TASK_SIZE", TASK_SIZE | SIGTOKEN },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct mv_machine *m;
		struct mv_task *t = task_with_wrss(&m);
		uint64_t rip = 0x401111, rsp = shtest_reg(t, MV_REG_RSP), ssp, ra = 0;

		print_message("%s\n", rows[i].what);
		assert_int_equal(mv_cpu_set_reg(t, MV_REG_RIP, rip), 0);
		assert_int_equal(mv_cpu_signal_deliver(t, SIGSEGV, HANDLER, RESTORER), 0);
		assert_int_equal(mv_cpu_ret(t, &ra), 0);
		ssp = shtest_reg(t, MV_REG_SSP);
		assert_int_equal(mv_cpu_wrss(t, ssp, rows[i].token), 0);
		assert_int_equal(mv_cpu_sigreturn(t), -EFAULT);
		mvtest_expect_signal(t, SIGSEGV, SI_KERNEL, 0);
		assert_int_equal(shtest_reg(t, MV_REG_RIP), rip);
		assert_int_equal(shtest_reg(t, MV_REG_RSP), rsp);
		assert_int_equal(shtest_reg(t, MV_REG_SSP), ssp);
		mv_machine_destroy(m);
	}
}

/* A frame that cannot be read restores nothing. */
static void test_rt_sigreturn_unreadable_frame_restores_nothing(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = task_with_wrss(&m);
	uint64_t ssp, ra = 0;

	assert_int_equal(mv_cpu_signal_deliver(t, SIGSEGV, HANDLER, RESTORER), 0);
	assert_int_equal(mv_cpu_ret(t, &ra), 0);
	ssp = shtest_reg(t, MV_REG_SSP);
	assert_int_equal(mv_cpu_set_reg(t, MV_REG_RSP, UNMAPPED), 0);
	assert_int_equal(mv_cpu_set_reg(t, MV_REG_RIP, RESTORER), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_rt_sigreturn, 0), 0);
	mvtest_expect_signal(t, SIGSEGV, SI_KERNEL, 0);
	assert_int_equal(shtest_reg(t, MV_REG_RSP), UNMAPPED);
	assert_int_equal(shtest_reg(t, MV_REG_RIP), RESTORER);
	assert_int_equal(shtest_reg(t, MV_REG_SSP), ssp);
	mv_machine_destroy(m);
}

/* rt_sigreturn as syscall 15: the same path; 0 with or without a signal. */
static void test_rt_sigreturn_syscall_15(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = task_with_wrss(&m);
	uint64_t rip = 0x402222, rsp = shtest_reg(t, MV_REG_RSP), ssp = shtest_reg(t, MV_REG_SSP);
	uint64_t ra = 0;

	assert_int_equal(MV_SYS_rt_sigreturn, 15);
	assert_int_equal(mv_cpu_set_reg(t, MV_REG_RIP, rip), 0);
	assert_int_equal(mv_cpu_signal_deliver(t, SIGSEGV, HANDLER, RESTORER), 0);
	assert_int_equal(mv_cpu_ret(t, &ra), 0);
	assert_int_equal(ra, RESTORER);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_rt_sigreturn, 0), 0);
	mvtest_expect_no_signal(t);
	assert_int_equal(shtest_reg(t, MV_REG_RIP), rip);
	assert_int_equal(shtest_reg(t, MV_REG_RSP), rsp);
	assert_int_equal(shtest_reg(t, MV_REG_SSP), ssp);
	/* Again, with no signal frame there: SIGSEGV, and still 0. */
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_rt_sigreturn, 0), 0);
	mvtest_expect_signal(t, SIGSEGV, SI_KERNEL, 0);
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_x64_setup_rt_frame_frame_fault_leaves_no_token),
		cmocka_unit_test(test_setup_signal_shadow_stack_fails_after_the_frame),
		cmocka_unit_test(test_restore_signal_shadow_stack_fails_after_rip_rsp_restored),
		cmocka_unit_test(test_rt_sigreturn_unreadable_frame_restores_nothing),
		cmocka_unit_test(test_rt_sigreturn_syscall_15),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
