/* SPDX-License-Identifier: MIT */
/*
 * Suite p1: the cost of the one access path. A checked 8-byte load through
 * a TLB hit (one stage, then guest paging + EPT) against a native load over
 * the same host memory; the walk on a TLB miss; frame allocation against
 * malloc. Fault-in per page is measured at the kernel level, not here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <memvisor/memvisor.h>

#include "bench.h"
#include "hw/cpu.h"

#define P1_PAGES 8
#define P1_VA 0x10000000ull
#define P1_RAM (64ull << 20)

struct p1 {
	struct hw_machine m;
	struct hw_cpu cpu;
	uint64_t root, eptp;
	uint64_t pa[P1_PAGES];
	int failed;
};

static int p1_map(struct p1 *p)
{
	for (int i = 0; i < P1_PAGES; i++) {
		uint64_t va = P1_VA + (uint64_t)i * HW_PAGE_SIZE;
		uint64_t *pte;
		hw_pfn_t pfn;

		if (hw_frames_alloc(&p->m, 0, HW_ALLOC_ZERO, 0, &pfn))
			return -ENOMEM;
		p->pa[i] = pfn << HW_PAGE_SHIFT;
		pte = hw_pt_entry(&p->m, p->root, va, 1, true, false);
		if (lib_is_err_or_null(pte))
			return -ENOMEM;
		*pte = x86_pte_encode(p->pa[i], HW_S1_WRITE | HW_S1_ACCESSED | HW_S1_DIRTY);
	}
	return 0;
}

/* Identity EPT over all RAM, so guest tables (GPA == HPA) need no copy. */
static int p1_ept(struct p1 *p)
{
	uint64_t root;

	if (hw_pt_alloc_table(&p->m, &root))
		return -ENOMEM;
	for (uint64_t gpa = 0; gpa < P1_RAM; gpa += HW_HPAGE_SIZE) {
		uint64_t *e = hw_pt_entry(&p->m, root, gpa, 2, true, true);

		if (lib_is_err_or_null(e))
			return -ENOMEM;
		*e = ept_encode(gpa, true, true, true, true) | EPT_PS;
	}
	p->eptp = root;
	return 0;
}

static int p1_up(struct p1 *p)
{
	struct hw_machine_config cfg = { .ram_bytes = P1_RAM, .features = MV_FEAT_ALL,
					 .resident_cap_bytes = MV_RESIDENT_CAP_DEFAULT };
	int ret;

	memset(p, 0, sizeof(*p));
	ret = hw_machine_init(&p->m, &cfg);
	if (ret)
		return ret;
	hw_cpu_init(&p->cpu, &p->m);
	ret = hw_pt_alloc_table(&p->m, &p->root);
	if (!ret)
		ret = p1_map(p);
	if (!ret)
		ret = p1_ept(p);
	if (ret) {
		hw_machine_fini(&p->m);
		return ret;
	}
	hw_cpu_setup_long_mode(&p->cpu, p->root, 0);
	return 0;
}

/* ---- bodies ---- */

static void p1_native(void *arg, uint64_t iters)
{
	struct p1 *p = arg;
	uint64_t sum = 0;

	for (uint64_t i = 0; i < iters; i++) {
		uint64_t pa = p->pa[i % P1_PAGES] + ((i * 8) & 0xff8);

		sum += *(volatile uint64_t *)hw_pa_to_host(&p->m, pa);
	}
	bench_sink(sum);
}

static void p1_checked(void *arg, uint64_t iters)
{
	struct p1 *p = arg;
	struct hw_fault f;
	uint64_t sum = 0, v;

	for (uint64_t i = 0; i < iters; i++) {
		uint64_t va = P1_VA + (i % P1_PAGES) * HW_PAGE_SIZE + ((i * 8) & 0xff8);

		if (hw_mmu_load64(&p->cpu, va, &v, &f))
			p->failed = 1;
		sum += v;
	}
	bench_sink(sum);
}

static void p1_miss(void *arg, uint64_t iters)
{
	struct p1 *p = arg;
	struct hw_fault f;
	uint64_t sum = 0, v;

	for (uint64_t i = 0; i < iters; i++) {
		hw_tlb_flush_page(&p->cpu, P1_VA);
		if (hw_mmu_load64(&p->cpu, P1_VA + ((i * 8) & 0xff8), &v, &f))
			p->failed = 1;
		sum += v;
	}
	bench_sink(sum);
}

struct p1_alloc {
	struct p1 *p;
	unsigned int order;
	int failed;
};

static void p1_frames(void *arg, uint64_t iters)
{
	struct p1_alloc *a = arg;
	hw_pfn_t pfn;

	for (uint64_t i = 0; i < iters; i++) {
		if (hw_frames_alloc(&a->p->m, a->order, 0, 0, &pfn)) {
			a->failed = 1;
			return;
		}
		bench_sink(pfn);
		hw_frames_free(&a->p->m, pfn, a->order);
	}
}

static void p1_malloc(void *arg, uint64_t iters)
{
	(void)arg;
	for (uint64_t i = 0; i < iters; i++) {
		void *q = malloc(4096);

		bench_sink((uint64_t)(uintptr_t)q);
		free(q);
	}
}

/* ---- cases ---- */

static void p1_loads(struct bench_ctx *ctx, struct p1 *p, const char *hit_name,
		     const char *miss_name, double native)
{
	double hit = bench_measure(ctx, p1_checked, p, 2000000);
	double miss = bench_measure(ctx, p1_miss, p, 200000);

	bench_report(ctx, "p1", hit_name, hit, "native load", native, "P1");
	/* The miss body also pays an INVLPG; it is small next to a walk. */
	bench_report(ctx, "p1", miss_name, miss, hit_name, hit, "walk cost");
}

int bench_suite_p1(struct bench_ctx *ctx)
{
	struct p1 *p = malloc(sizeof(*p));
	struct p1_alloc a;
	double native, mall;
	int ret;

	if (!p)
		return -ENOMEM;
	ret = p1_up(p);
	if (ret)
		goto out_free;

	native = bench_measure(ctx, p1_native, p, 2000000);
	bench_report(ctx, "p1", "native load", native, "", 0, "");
	p1_loads(ctx, p, "checked load64, TLB hit, 1 stage", "load64 TLB miss + walk, 1 stage",
		 native);
	hw_cpu_enter_guest(&p->cpu, 1, p->eptp);
	p1_loads(ctx, p, "checked load64, TLB hit, 2 stages", "load64 TLB miss + walk, 2 stages",
		 native);
	hw_cpu_leave_guest(&p->cpu);

	mall = bench_measure(ctx, p1_malloc, NULL, 1000000);
	bench_report(ctx, "p1", "malloc+free 4 KiB", mall, "", 0, "");
	a = (struct p1_alloc){ .p = p, .order = 0 };
	bench_report(ctx, "p1", "frame alloc+free, order 0",
		     bench_measure(ctx, p1_frames, &a, 1000000), "malloc+free 4 KiB", mall, "");
	a.order = HW_MAX_ORDER;
	bench_report(ctx, "p1", "frame alloc+free, order 9",
		     bench_measure(ctx, p1_frames, &a, 20000), "malloc+free 4 KiB", mall,
		     "kept resident under the cap");
	ret = (p->failed || a.failed) ? -EFAULT : 0;
	if (!ret)
		ret = bench_p1_faults(ctx);
	hw_machine_fini(&p->m);
out_free:
	free(p);
	return ret;
}
