/* SPDX-License-Identifier: MIT */
/*
 * Suite sgx: the virtual EPC.
 *  fault-in - first touch of each page of a MAP_SHARED /dev/sgx_vepc
 *       mapping (one EPC page allocated and PFN-mapped per page), against
 *       the first touch of as many pages of anonymous memory in the same
 *       run. The goal is at least 1 M pages/s (<= 1000 ns per page).
 *  release - munmap and close of a vEPC holding N pages (every page
 *       EREMOVEd and freed), per page, against the same for 2N pages:
 *       the ratio is 1.0 when release is linear.
 *  REMOVE_ALL - SGX_IOC_VEPC_REMOVE_ALL over N pages, per page, against
 *       the fault-in of a page.
 * No oversubscription is built, so there is no eviction case.
 */
#include <errno.h>
#include <stdio.h>

#include <memvisor/memvisor.h>

#include "bench.h"

#define SGX_N 4096ull      /* pages: 16 MiB of EPC */
#define SGX_PG 4096ull

struct bsgx {
	struct mv_machine *m;
	struct mv_task *t;
	int err;
};

static int bsgx_up(struct bsgx *b, uint64_t epc_pages)
{
	struct mv_machine_config cfg = { .ram_bytes = 256ull << 20, .epc_bytes = epc_pages * SGX_PG };
	int ret = mv_machine_create(&cfg, &b->m);

	if (ret)
		return ret;
	ret = mv_task_spawn(b->m, &b->t);
	if (ret)
		mv_machine_destroy(b->m);
	return ret;
}

/* A vEPC of @pages, mapped; its fd and address. */
static int bsgx_vepc(struct bsgx *b, uint64_t pages, long *fd, long *map)
{
	*fd = mv_syscall(b->t, MV_SYS_openat, (uint64_t)AT_FDCWD,
			 (uint64_t)(uintptr_t)"/dev/sgx_vepc", O_RDWR, 0, 0, 0);
	if (*fd < 0)
		return (int)*fd;
	*map = mv_syscall(b->t, MV_SYS_mmap, 0, pages * SGX_PG, PROT_READ | PROT_WRITE, MAP_SHARED,
			  (uint64_t)*fd, 0);
	return *map < 0 ? (int)*map : 0;
}

/* ns per page to first-touch @pages from @map. */
static double bsgx_touch(struct bsgx *b, long map, uint64_t pages)
{
	uint64_t v = 1;
	double t0 = bench_now_ns();

	for (uint64_t i = 0; i < pages; i++) {
		if (mv_user_write(b->t, (uint64_t)map + i * SGX_PG, &v, sizeof(v))) {
			b->err = -ENOMEM;
			break;
		}
	}
	return (bench_now_ns() - t0) / (double)pages;
}

static double bsgx_drop(struct bsgx *b, long fd, long map, uint64_t pages)
{
	double t0 = bench_now_ns();

	mv_syscall(b->t, MV_SYS_munmap, (uint64_t)map, pages * SGX_PG, 0, 0, 0, 0);
	mv_syscall(b->t, MV_SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0);
	return (bench_now_ns() - t0) / (double)pages;
}

static double best(double a, double b)
{
	return a == 0 || (b > 0 && b < a) ? b : a;
}

struct bsgx_res {
	double fault, anon, rel_n, rel_2n, remove_all;
};

static void bsgx_round(struct bsgx *b, uint64_t n, struct bsgx_res *r)
{
	long fd, map, anon;

	/* fault-in and release of n */
	if ((b->err = bsgx_vepc(b, n, &fd, &map)))
		return;
	r->fault = best(r->fault, bsgx_touch(b, map, n));
	{
		double t0 = bench_now_ns();

		if (mv_syscall(b->t, MV_SYS_ioctl, (uint64_t)fd, SGX_IOC_VEPC_REMOVE_ALL, 0, 0, 0, 0))
			b->err = -EIO;
		r->remove_all = best(r->remove_all, (bench_now_ns() - t0) / (double)n);
	}
	r->rel_n = best(r->rel_n, bsgx_drop(b, fd, map, n));
	/* release of 2n */
	if ((b->err = bsgx_vepc(b, 2 * n, &fd, &map)))
		return;
	bsgx_touch(b, map, 2 * n);
	r->rel_2n = best(r->rel_2n, bsgx_drop(b, fd, map, 2 * n));
	/* the baseline: anonymous first touch of n pages */
	anon = mv_syscall(b->t, MV_SYS_mmap, 0, n * SGX_PG, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0);
	if (anon < 0) {
		b->err = (int)anon;
		return;
	}
	r->anon = best(r->anon, bsgx_touch(b, anon, n));
	mv_syscall(b->t, MV_SYS_munmap, (uint64_t)anon, n * SGX_PG, 0, 0, 0, 0);
}

int bench_suite_sgx(struct bench_ctx *ctx)
{
	uint64_t n = ctx->quick ? SGX_N / 8 : SGX_N;
	unsigned int reps = ctx->quick ? 2 : 7;
	struct bsgx_res r = { 0 };
	struct bsgx b = { 0 };
	char note[96];
	int ret = bsgx_up(&b, 2 * n);

	if (ret)
		return ret;
	for (unsigned int i = 0; i < reps && !b.err; i++)
		bsgx_round(&b, n, &r);
	mv_machine_destroy(b.m);
	if (b.err)
		return b.err;
	snprintf(note, sizeof(note), "%.2f M pages/s; goal >= 1 M/s", 1e3 / r.fault);
	bench_report(ctx, "sgx", "vEPC first touch (per page)", r.fault,
		     "anonymous first touch (per page)", r.anon, note);
	snprintf(note, sizeof(note), "linear: ratio 1.0 (N = %llu pages)", (unsigned long long)n);
	bench_report(ctx, "sgx", "vEPC release of N pages (per page)", r.rel_n,
		     "release of 2N pages (per page)", r.rel_2n, note);
	bench_report(ctx, "sgx", "REMOVE_ALL of N pages (per page)", r.remove_all,
		     "vEPC first touch (per page)", r.fault, "EREMOVE of every page, kept");
	return 0;
}
