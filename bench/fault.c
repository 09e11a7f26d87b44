/* SPDX-License-Identifier: MIT */
/*
 * P1, kernel part: demand-fault cost per page. A simulated task touches
 * freshly mapped anonymous memory page by page (each touch is a #PF, a
 * zeroed frame, a PTE); the baseline is the host kernel doing the same for
 * a real process in the same run.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <memvisor/memvisor.h>

#include "bench.h"

#define FAULT_PAGES 1024ull

struct fault_arg {
	struct mv_task *t;
	int err;
};

static void sim_fault_body(void *p, uint64_t iters)
{
	struct fault_arg *a = p;
	for (uint64_t i = 0; i < iters; i += FAULT_PAGES) {
		uint64_t n = iters - i < FAULT_PAGES ? iters - i : FAULT_PAGES;
		uint64_t len = n * 4096;
		long addr = mv_syscall(a->t, MV_SYS_mmap, 0, len, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0);
		if (addr < 0) {
			a->err = (int)addr;
			return;
		}
		for (uint64_t pg = 0; pg < n; pg++) {
			uint8_t one = 1;

			if (mv_user_write(a->t, (uint64_t)addr + pg * 4096, &one, 1))
				a->err = -EFAULT;
		}
		mv_syscall(a->t, MV_SYS_munmap, (uint64_t)addr, len, 0, 0, 0, 0);
	}
}

static void host_fault_body(void *p, uint64_t iters)
{
	(void)p;
	for (uint64_t i = 0; i < iters; i += FAULT_PAGES) {
		uint64_t n = iters - i < FAULT_PAGES ? iters - i : FAULT_PAGES;
		size_t len = n * 4096;
		volatile uint8_t *mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
					     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mem == MAP_FAILED)
			return;
		/* 4 KiB faults, as the simulated ones: not one 2 MiB THP fault for 512 pages */
		(void)madvise((void *)mem, len, MADV_NOHUGEPAGE);
		for (size_t pg = 0; pg < n; pg++)
			mem[pg * 4096] = 1;
		munmap((void *)mem, len);
	}
}

int bench_p1_faults(struct bench_ctx *ctx)
{
	struct mv_machine_config cfg = { .ram_bytes = 256ull << 20 };
	struct fault_arg a = { 0 };
	struct mv_machine *m = NULL;
	double host, sim;
	int ret;

	ret = mv_machine_create(&cfg, &m);
	if (ret)
		return ret;
	ret = mv_task_spawn(m, &a.t);
	if (ret)
		goto out;
	host = bench_measure(ctx, host_fault_body, NULL, 8 * FAULT_PAGES);
	sim = bench_measure(ctx, sim_fault_body, &a, 8 * FAULT_PAGES);
	ret = a.err;
	if (!ret)
		bench_report(ctx, "p1", "fault-in per page (anon, 4 KiB)", sim,
			     "host kernel demand fault", host, "includes mmap/munmap share");
	mv_task_exit(a.t);
out:
	mv_machine_destroy(m);
	return ret;
}
