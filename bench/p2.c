/* SPDX-License-Identifier: MIT */
/*
 * Suite p2: what shadow stacks cost. CALL+RET pairs on the task's CPU with
 * shadow stacks on (each instruction also pushes or pops and compares the
 * shadow stack) against the same pairs with them off (P2: <= 1.25x); and
 * map_shadow_stack against mmap of the same size, with and without the
 * kernel's restore token.
 */
#include <errno.h>
#include <stdio.h>

#include <memvisor/memvisor.h>

#include "bench.h"

#define P2_CODE 0x401000ull
#define P2_DEPTH 8           /* calls nested before returning, like real code */
#define P2_MAP_SIZE (64ull << 10)

struct p2 {
	struct mv_task *t;
	int err;
};

static void p2_call_ret(void *arg, uint64_t iters)
{
	struct p2 *p = arg;
	uint64_t ra = 0;

	for (uint64_t i = 0; i < iters; i += P2_DEPTH) {
		for (uint64_t d = 0; d < P2_DEPTH; d++)
			if (mv_cpu_call(p->t, P2_CODE + d))
				p->err = -EFAULT;
		for (uint64_t d = 0; d < P2_DEPTH; d++)
			if (mv_cpu_ret(p->t, &ra))
				p->err = -EFAULT;
	}
	bench_sink(ra);
}

static long p2_unmap(struct mv_task *t, long addr)
{
	return mv_syscall(t, MV_SYS_munmap, (uint64_t)addr, P2_MAP_SIZE, 0, 0, 0, 0);
}

static void p2_map_shstk(struct p2 *p, uint64_t iters, uint64_t flags)
{
	for (uint64_t i = 0; i < iters; i++) {
		long a = mv_syscall(p->t, MV_SYS_map_shadow_stack, 0, P2_MAP_SIZE, flags, 0, 0, 0);

		if (a < 0 || p2_unmap(p->t, a))
			p->err = a < 0 ? (int)a : -EFAULT;
	}
}

static void p2_map_shstk_plain(void *arg, uint64_t iters)
{
	p2_map_shstk(arg, iters, 0);
}

static void p2_map_shstk_token(void *arg, uint64_t iters)
{
	p2_map_shstk(arg, iters, SHADOW_STACK_SET_TOKEN);
}

/* The baseline: mmap of the same size; @touch writes the top slot as the token would be. */
static void p2_mmap(struct p2 *p, uint64_t iters, bool touch)
{
	for (uint64_t i = 0; i < iters; i++) {
		long a = mv_syscall(p->t, MV_SYS_mmap, 0, P2_MAP_SIZE, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0);
		uint64_t v = 1;

		if (a < 0) {
			p->err = (int)a;
			return;
		}
		if (touch && mv_user_write(p->t, (uint64_t)a + P2_MAP_SIZE - 8, &v, 8))
			p->err = -EFAULT;
		if (p2_unmap(p->t, a))
			p->err = -EFAULT;
	}
}

static void p2_mmap_plain(void *arg, uint64_t iters)
{
	p2_mmap(arg, iters, false);
}

static void p2_mmap_touch(void *arg, uint64_t iters)
{
	p2_mmap(arg, iters, true);
}

static void p2_report_rate(struct bench_ctx *ctx, const char *name, double ns, const char *base,
			   double base_ns)
{
	char note[96];

	snprintf(note, sizeof(note), "%.0f calls/s", ns > 0 ? 1e9 / ns : 0.0);
	bench_report(ctx, "p2", name, ns, base, base_ns, note);
}

static int p2_cases(struct bench_ctx *ctx, struct p2 *off, struct p2 *on)
{
	double base, with, mm, mmt;

	base = bench_measure(ctx, p2_call_ret, off, 2000000);
	with = bench_measure(ctx, p2_call_ret, on, 2000000);
	bench_report(ctx, "p2", "CALL+RET, shadow stacks off", base, "", 0, "");
	bench_report(ctx, "p2", "CALL+RET, shadow stacks on", with, "CALL+RET, shadow stacks off",
		     base, "P2: <= 1.25x");
	mm = bench_measure(ctx, p2_mmap_plain, on, 20000);
	mmt = bench_measure(ctx, p2_mmap_touch, on, 20000);
	p2_report_rate(ctx, "mmap 64 KiB + munmap", mm, "", 0);
	p2_report_rate(ctx, "map_shadow_stack 64 KiB + munmap", bench_measure(ctx,
		       p2_map_shstk_plain, on, 20000), "mmap 64 KiB + munmap", mm);
	p2_report_rate(ctx, "map_shadow_stack(SET_TOKEN) + munmap", bench_measure(ctx,
		       p2_map_shstk_token, on, 20000), "mmap + store at top + munmap", mmt);
	return off->err ? off->err : on->err;
}

int bench_suite_p2(struct bench_ctx *ctx)
{
	struct mv_machine_config cfg = { .ram_bytes = 256ull << 20 };
	struct mv_machine *m = NULL;
	struct p2 off = { 0 }, on = { 0 };
	int ret;

	ret = mv_machine_create(&cfg, &m);
	if (ret)
		return ret;
	ret = mv_task_spawn(m, &off.t);
	if (!ret)
		ret = mv_task_spawn(m, &on.t);
	if (!ret)
		ret = (int)mv_syscall(on.t, MV_SYS_arch_prctl, ARCH_SHSTK_ENABLE, ARCH_SHSTK_SHSTK,
				      0, 0, 0, 0);
	if (!ret)
		ret = p2_cases(ctx, &off, &on);
	mv_machine_destroy(m);
	return ret;
}
