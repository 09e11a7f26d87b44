/* SPDX-License-Identifier: MIT */
/*
 * Shadow-stack memory under the memory syscalls and the kernel's own
 * accesses: ordinary stores fault and loads work, mprotect never converts
 * either way (but PROT_READ stops WRSS and PROT_READ|PROT_WRITE brings it
 * back), MADV_DONTNEED zero-fills, write GUP needs FOLL_FORCE and then
 * copies on write, and signal delivery/return with the signal token.
 */
#include <string.h>

#include "shstk_test.h"

#define RW (PROT_READ | PROT_WRITE)

static struct mv_task *task_with_wrss(struct mv_machine **m)
{
	struct mv_task *t = shtest_task(m, 0, 0);

	shtest_enable(t, ARCH_SHSTK_SHSTK);
	shtest_enable(t, ARCH_SHSTK_WRSS);
	return t;
}

static void test_shstk_plain_store_faults_load_succeeds(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = task_with_wrss(&m);
	uint64_t s = shtest_map(t, 0, 2 * PG, 0), v = 42;

	assert_int_equal(mv_cpu_wrss(t, s + 8, 0x1234), 0);
	assert_int_equal(shtest_read64(t, s + 8), 0x1234);
	assert_int_equal(mv_user_write(t, s + 8, &v, 8), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_ACCERR, s + 8);
	/* Untouched pages too: a plain store never makes a shadow-stack page. */
	assert_int_equal(mv_user_write(t, s + PG, &v, 8), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_ACCERR, s + PG);
	assert_int_equal(shtest_read64(t, s + PG), 0);
	assert_int_equal(mv_cpu_wrss(t, s + PG, 5), 0);   /* after a plain read */
	assert_int_equal(shtest_read64(t, s + PG), 5);
	mv_machine_destroy(m);
}

static void test_shstk_mprotect_read_stops_wrss_read_write_restores(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = task_with_wrss(&m);
	uint64_t s = shtest_map(t, 0, PG, 0), v = 1;

	assert_int_equal(mv_cpu_wrss(t, s, 1), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, s, PG, PROT_READ), 0);
	assert_int_equal(mv_cpu_wrss(t, s, 2), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_ACCERR, s);
	assert_int_equal(shtest_read64(t, s), 1);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, s, PG, RW), 0);
	assert_int_equal(mv_cpu_wrss(t, s, 3), 0);
	assert_int_equal(shtest_read64(t, s), 3);
	/* PROT_WRITE on a shadow stack is shadow-stack writable, never ordinary writable. */
	assert_int_equal(mv_user_write(t, s, &v, 8), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_ACCERR, s);
	mv_machine_destroy(m);
}

/* No prot value turns ordinary memory into shadow stack or the reverse. */
static void test_shstk_mprotect_never_converts(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = task_with_wrss(&m);
	uint64_t s = shtest_map(t, 0, PG, 0), p = shtest_mmap(t, 0, PG, RW, ANON), v = 9;
	static const uint64_t prots[] = { PROT_READ, RW, RW | PROT_EXEC, PROT_NONE };

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, p, PG, RW | PROT_SHADOW_STACK), -EINVAL);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, s, PG, PROT_SHADOW_STACK), -EINVAL);
	for (size_t i = 0; i < sizeof(prots) / sizeof(prots[0]); i++) {
		assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, p, PG, prots[i]), 0);
		assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, s, PG, prots[i]), 0);
		assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, p, PG, RW), 0);
		assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_mprotect, s, PG, RW), 0);
		assert_int_equal(mv_cpu_wrss(t, p, 1), -EFAULT);
		mvtest_expect_signal(t, SIGSEGV, SEGV_ACCERR, p);
		assert_int_equal(mv_user_write(t, s, &v, 8), -EFAULT);
		mvtest_expect_signal(t, SIGSEGV, SEGV_ACCERR, s);
	}
	mv_machine_destroy(m);
}

static void test_shstk_madvise_dontneed_zero_fills(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = task_with_wrss(&m);
	uint64_t s = shtest_map(t, 0, 2 * PG, SHADOW_STACK_SET_TOKEN);

	assert_int_equal(mv_cpu_wrss(t, s, 0x77), 0);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_madvise, s, 2 * PG, MADV_DONTNEED), 0);
	assert_int_equal(shtest_read64(t, s), 0);
	assert_int_equal(shtest_read64(t, s + 2 * PG - 8), 0);   /* the token too */
	assert_int_equal(mv_cpu_wrss(t, s, 0x78), 0);             /* still a shadow stack */
	assert_int_equal(shtest_read64(t, s), 0x78);
	mv_machine_destroy(m);
}

/* Write GUP without FOLL_FORCE is -EFAULT (process_vm_writev); forced (/proc/pid/mem) works. */
static void test_shstk_gup_write_needs_force(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = task_with_wrss(&m);
	uint64_t s = shtest_map(t, 0, PG, 0), v = 0xfeed, back = 0;

	assert_int_equal(mv_task_access_remote(t, s, &v, 8, MV_REMOTE_WRITE), -EFAULT);
	assert_int_equal(shtest_read64(t, s), 0);
	assert_int_equal(mv_task_access_remote(t, s, &back, 8, 0), 8);   /* reads are fine */
	assert_int_equal(mv_task_access_remote(t, s, &v, 8, MV_REMOTE_WRITE | MV_REMOTE_FORCE), 8);
	assert_int_equal(shtest_read64(t, s), 0xfeed);
	/* Still a shadow stack afterwards: WRSS works, plain stores do not. */
	assert_int_equal(mv_cpu_wrss(t, s + 8, 1), 0);
	assert_int_equal(mv_user_write(t, s + 8, &v, 8), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SEGV_ACCERR, s + 8);
	/* Nothing mapped: the forced path answers -EIO like /proc/pid/mem. */
	assert_int_equal(mv_task_access_remote(t, 0x10000, &v, 8, MV_REMOTE_WRITE | MV_REMOTE_FORCE),
			 -EIO);
	mv_machine_destroy(m);
}

/* After fork the forced write goes to a private copy: the other side keeps its data. */
static void test_shstk_forced_write_copies_on_write_after_fork(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = task_with_wrss(&m), *c = NULL;
	uint64_t s = shtest_map(t, 0, PG, 0), v = 0xc0ffee;

	assert_int_equal(mv_cpu_wrss(t, s, 0x1111), 0);
	assert_int_equal(mv_task_clone(t, 0, &c), 0);
	assert_int_equal(mv_task_access_remote(c, s, &v, 8, MV_REMOTE_WRITE | MV_REMOTE_FORCE), 8);
	assert_int_equal(shtest_read64(c, s), 0xc0ffee);
	assert_int_equal(shtest_read64(t, s), 0x1111);
	/* Both stay shadow stacks with their own contents. */
	assert_int_equal(mv_cpu_wrss(t, s, 0x2222), 0);
	assert_int_equal(mv_cpu_wrss(c, s + 8, 0x3333), 0);
	assert_int_equal(shtest_read64(c, s), 0xc0ffee);
	assert_int_equal(shtest_read64(t, s + 8), 0);
	mv_task_exit(c);
	mv_machine_destroy(m);
}

/* ------------------------------------------------------------ signals */

#define HANDLER 0x404000ull
#define RESTORER 0x405000ull

static void test_shstk_signal_pushes_token_and_sigreturn_checks_it(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = task_with_wrss(&m);
	uint64_t ssp, rsp, ra = 0;

	assert_int_equal(mv_cpu_set_reg(t, MV_REG_RIP, 0x401111), 0);
	assert_int_equal(mv_cpu_call(t, 0x401000), 0);
	ssp = shtest_reg(t, MV_REG_SSP);
	rsp = shtest_reg(t, MV_REG_RSP);
	assert_int_equal(mv_cpu_signal_deliver(t, SIGSEGV, HANDLER, RESTORER), 0);
	assert_int_equal(shtest_reg(t, MV_REG_RIP), HANDLER);
	assert_int_equal(shtest_reg(t, MV_REG_SSP), ssp - 16);
	assert_int_equal(shtest_read64(t, ssp - 8), ssp | (1ull << 63));
	assert_int_equal(shtest_read64(t, ssp - 16), RESTORER);
	assert_true(shtest_reg(t, MV_REG_RSP) <= rsp - 128);
	/* The handler runs, returns to the restorer, which calls rt_sigreturn. */
	assert_int_equal(mv_cpu_call(t, HANDLER + 0x10), 0);
	assert_int_equal(mv_cpu_ret(t, &ra), 0);
	assert_int_equal(mv_cpu_ret(t, &ra), 0);
	assert_int_equal(ra, RESTORER);
	assert_int_equal(mv_cpu_sigreturn(t), 0);
	assert_int_equal(shtest_reg(t, MV_REG_SSP), ssp);
	assert_int_equal(shtest_reg(t, MV_REG_RSP), rsp);
	assert_int_equal(shtest_reg(t, MV_REG_RIP), 0x401111);
	assert_int_equal(mv_cpu_ret(t, &ra), 0);
	assert_int_equal(ra, 0x401000);
	mvtest_expect_no_signal(t);
	/* Shadow stacks on: the restorer is required (SA_RESTORER). */
	assert_int_equal(mv_cpu_signal_deliver(t, SIGSEGV, HANDLER, 0), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SI_KERNEL, 0);
	mv_machine_destroy(m);
}

/* A token without bit 63, misaligned, or above TASK_SIZE: sigreturn fails with SIGSEGV. */
static void test_shstk_sigreturn_rejects_bad_tokens(void **state)
{
	const uint64_t bad[] = { 0x7ff000000000ull, (0x7ff000000004ull) | (1ull << 63),
				 TASK_SIZE | (1ull << 63) };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mv_machine *m;
		struct mv_task *t = task_with_wrss(&m);
		uint64_t ssp, ra = 0;

		assert_int_equal(mv_cpu_signal_deliver(t, SIGSEGV, HANDLER, RESTORER), 0);
		assert_int_equal(mv_cpu_ret(t, &ra), 0);
		ssp = shtest_reg(t, MV_REG_SSP);
		assert_int_equal(mv_cpu_wrss(t, ssp, bad[i]), 0);
		assert_int_equal(mv_cpu_sigreturn(t), -EFAULT);
		mvtest_expect_signal(t, SIGSEGV, SI_KERNEL, 0);
		assert_int_equal(shtest_reg(t, MV_REG_SSP), ssp);
		mv_machine_destroy(m);
	}
}

/*
 * SSP at a page boundary may have run off a shadow stack into ordinary
 * memory that holds a forged token: sigreturn checks the VMA there.
 */
static void test_shstk_sigreturn_token_must_be_in_shadow_stack(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = task_with_wrss(&m);
	uint64_t x = 0x900000000ull, forged, rsp;

	assert_int_equal(shtest_map(t, x, PG, SHADOW_STACK_SET_TOKEN), x);
	assert_int_equal(shtest_mmap(t, x + PG, PG, PROT_READ | PROT_WRITE, ANON | MAP_FIXED), x + PG);
	assert_int_equal(mv_cpu_signal_deliver(t, SIGSEGV, HANDLER, RESTORER), 0);
	forged = shtest_reg(t, MV_REG_SSP) | (1ull << 63);
	/* The handler pivots to the end of the small stack, SSP = x + PG. */
	assert_int_equal(mv_cpu_rstorssp(t, x + PG - 8), 0);
	assert_int_equal(mv_cpu_incssp(t, 1), 0);
	assert_int_equal(shtest_reg(t, MV_REG_SSP), x + PG);
	assert_int_equal(mv_user_write(t, x + PG, &forged, 8), 0);
	rsp = shtest_reg(t, MV_REG_RSP);
	assert_int_equal(mv_cpu_set_reg(t, MV_REG_RSP, rsp + 8), 0);   /* "returned" */
	assert_int_equal(mv_cpu_sigreturn(t), -EFAULT);
	mvtest_expect_signal(t, SIGSEGV, SI_KERNEL, 0);
	mv_machine_destroy(m);
}

/* Without shadow stacks the frame is the whole story. */
static void test_shstk_signal_without_shadow_stack(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = shtest_task(&m, 0, 0);
	uint64_t rsp = shtest_reg(t, MV_REG_RSP), ra = 0;

	assert_int_equal(mv_cpu_signal_deliver(t, SIGSEGV, HANDLER, RESTORER), 0);
	assert_int_equal(shtest_reg(t, MV_REG_SSP), 0);
	assert_int_equal(mv_cpu_ret(t, &ra), 0);
	assert_int_equal(ra, RESTORER);
	assert_int_equal(mv_cpu_sigreturn(t), 0);
	assert_int_equal(shtest_reg(t, MV_REG_RSP), rsp);
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shstk_plain_store_faults_load_succeeds),
		cmocka_unit_test(test_shstk_mprotect_read_stops_wrss_read_write_restores),
		cmocka_unit_test(test_shstk_mprotect_never_converts),
		cmocka_unit_test(test_shstk_madvise_dontneed_zero_fills),
		cmocka_unit_test(test_shstk_gup_write_needs_force),
		cmocka_unit_test(test_shstk_forced_write_copies_on_write_after_fork),
		cmocka_unit_test(test_shstk_signal_pushes_token_and_sigreturn_checks_it),
		cmocka_unit_test(test_shstk_sigreturn_rejects_bad_tokens),
		cmocka_unit_test(test_shstk_sigreturn_token_must_be_in_shadow_stack),
		cmocka_unit_test(test_shstk_signal_without_shadow_stack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
