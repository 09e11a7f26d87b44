/* SPDX-License-Identifier: MIT */
/*
 * The bench harness behind `memvisor bench`. A suite measures cases; every
 * case is reported against a baseline measured in the same run (a native
 * load, a plain function call...), because only the ratio means anything on
 * a shared, noisy machine.
 *
 * Timing: bench_measure() runs the body in batches, repeats, and keeps the
 * fastest batch (the least disturbed one).
 */
#ifndef MV_BENCH_BENCH_H
#define MV_BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_MAX_RESULTS 64

struct bench_result {
	char suite[16];
	char name[64];
	double ns_per_op;
	char baseline[64];      /* "" when the case is its own baseline */
	double baseline_ns;
	char note[96];          /* a target such as "P1: <= 10x" */
};

struct bench_ctx {
	bool quick;              /* fewer iterations (tests, CI) */
	void (*progress)(void *cookie, const char *suite, const char *name);
	void *cookie;
	unsigned int nr_results;
	struct bench_result results[BENCH_MAX_RESULTS];
};

/* Nanoseconds from a monotonic clock. */
double bench_now_ns(void);

/*
 * Runs @body(@arg, iters) for @iters iterations per batch, @reps batches,
 * and returns the best ns per iteration. The body does the loop itself so
 * that call overhead is not measured.
 */
typedef void (*bench_body)(void *arg, uint64_t iters);
double bench_measure(struct bench_ctx *ctx, bench_body body, void *arg, uint64_t iters);

/* Records one result (ratio = ns_per_op / baseline_ns). */
void bench_report(struct bench_ctx *ctx, const char *suite, const char *name, double ns_per_op,
		  const char *baseline, double baseline_ns, const char *note);

/*
 * A scaling figure: the whole run of @what over 2N units against the run
 * over N (@n_ns and @twon_ns are whole-run times), named "@what, 2N vs N"
 * with the note "scaling: linear is <= 2.2x".
 */
void bench_report_scaling(struct bench_ctx *ctx, const char *suite, const char *what,
			  double n_ns, double twon_ns);

/* Keeps the compiler from optimising a value away. */
static inline void bench_sink(uint64_t v)
{
	__asm__ volatile("" : : "r"(v) : "memory");
}

struct bench_suite {
	const char *name;
	const char *what;
	int (*run)(struct bench_ctx *ctx);   /* 0 or negative errno */
};

/* Every suite, in order; NULL-terminated by name. */
extern const struct bench_suite bench_suites[];

/* Suites (one file each). */
int bench_suite_p1(struct bench_ctx *ctx);
int bench_suite_p2(struct bench_ctx *ctx);
int bench_suite_p3(struct bench_ctx *ctx);   /* guest private memory (gmem.c) */
int bench_suite_kvm(struct bench_ctx *ctx);
int bench_suite_sparse(struct bench_ctx *ctx);   /* a 64 GiB guest touching few pages */
int bench_suite_allprot(struct bench_ctx *ctx);  /* one VM with every protection */
int bench_suite_sgx(struct bench_ctx *ctx);      /* the virtual EPC (sgx.c) */
int bench_suite_mte(struct bench_ctx *ctx);      /* memory tagging (mte.c) */
int bench_suite_heki(struct bench_ctx *ctx);     /* the guest kernel's Heki costs */
int bench_suite_migrate(struct bench_ctx *ctx);  /* live migration vs stop-and-copy (migrate.c) */
/* Parts of suites that live in their own files. */
int bench_p1_faults(struct bench_ctx *ctx);

#endif
