/* SPDX-License-Identifier: MIT */
/* Timing and result collection for the bench suites. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench.h"

const struct bench_suite bench_suites[] = {
	{ "p1", "checked access through the TLB vs a native load; walks, frames, faults",
	  bench_suite_p1 },
	{ "p2", "CALL+RET with shadow stacks on vs off; map_shadow_stack vs mmap", bench_suite_p2 },
	{ "p3", "guest_memfd first-touch fault vs the host's; punch notifications per folio", bench_suite_p3 },
	{ "kvm", "guest access vs native; stage-2 miss; KVM_RUN round trip vs a call", bench_suite_kvm },
	{ "sparse", "a 64 GiB guest touching N scattered pages vs the host; memory; teardown",
	  bench_suite_sparse },
	{ "sgx", "vEPC fault-in vs anonymous touch; release N vs 2N; REMOVE_ALL; EWB/ELDU; eviction",
	  bench_suite_sgx },
	{ "mte", "checked vs unchecked access (task, guest); COPY_TAGS vs memcpy; sanitise",
	  bench_suite_mte },
	{ "heki", "Heki protect-all of a 4 GiB guest: calls vs one per page; map/unmap after boot",
	  bench_suite_heki },
	{ "allprot", "kernel read8 with every protection vs a plain VM; CET MSRs vs sregs save",
	  bench_suite_allprot },
	{ "migrate", "live migration downtime (rounds, pages sent) vs stop-and-copy of the same VM",
	  bench_suite_migrate },
	{ NULL, NULL, NULL },
};

double bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

double bench_measure(struct bench_ctx *ctx, bench_body body, void *arg, uint64_t iters)
{
	unsigned int reps = ctx->quick ? 3 : 15;
	double best = 0;

	if (ctx->quick && iters > 1000)
		iters /= 20;
	if (!iters)
		iters = 1;
	body(arg, iters / 10 + 1);          /* warm caches and TLBs */
	for (unsigned int r = 0; r < reps; r++) {
		double t0 = bench_now_ns();
		double per;

		body(arg, iters);
		per = (bench_now_ns() - t0) / (double)iters;
		if (r == 0 || per < best)
			best = per;
	}
	return best;
}

void bench_report(struct bench_ctx *ctx, const char *suite, const char *name, double ns_per_op,
		  const char *baseline, double baseline_ns, const char *note)
{
	struct bench_result *r;

	if (ctx->nr_results == BENCH_MAX_RESULTS)
		return;
	r = &ctx->results[ctx->nr_results++];
	memset(r, 0, sizeof(*r));
	snprintf(r->suite, sizeof(r->suite), "%s", suite);
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->ns_per_op = ns_per_op;
	snprintf(r->baseline, sizeof(r->baseline), "%s", baseline ? baseline : "");
	r->baseline_ns = baseline_ns;
	snprintf(r->note, sizeof(r->note), "%s", note ? note : "");
	if (ctx->progress)
		ctx->progress(ctx->cookie, suite, name);
}

void bench_report_scaling(struct bench_ctx *ctx, const char *suite, const char *what,
			  double n_ns, double twon_ns)
{
	char name[64], base[64];

	snprintf(name, sizeof(name), "%s, 2N vs N", what);
	snprintf(base, sizeof(base), "%s, N", what);
	bench_report(ctx, suite, name, twon_ns, base, n_ns, "scaling: linear is <= 2.2x");
}
