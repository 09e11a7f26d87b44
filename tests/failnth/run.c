/* SPDX-License-Identifier: MIT */
/*
 * One run of a scenario for the fail-nth sweep (failnth.h): the program,
 * or a copy of it with a getpid() sentinel before step k and step k twice;
 * the sentinel's report arms the injected failure, the first copy's report
 * tells whether it happened, and every report, the state before and after
 * the call, at the end and after teardown are kept for the judge.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failnth.h"
#include "lib/alloc.h"

/* The machine lang_run builds: the runner links with -Wl,--wrap=mv_machine_create. */

static struct mv_machine *fn_machine;

int __real_mv_machine_create(const struct mv_machine_config *cfg, struct mv_machine **out);
int __wrap_mv_machine_create(const struct mv_machine_config *cfg, struct mv_machine **out);

int __wrap_mv_machine_create(const struct mv_machine_config *cfg, struct mv_machine **out)
{
	int ret = __real_mv_machine_create(cfg, out);

	fn_machine = ret ? NULL : *out;
	return ret;
}

static void fn_rep_set(struct fn_rep *d, const struct lang_step_report *r)
{
	d->line = lang_step_pos(r->step).line;
	d->col = lang_step_pos(r->step).col;
	d->status = r->status;
	snprintf(d->got, sizeof(d->got), "%s", r->got);
}

static void fn_reps_add(struct fn_reps *rs, const struct lang_step_report *r)
{
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? 2 * rs->cap : 64;
		rs->r = realloc(rs->r, rs->cap * sizeof(*rs->r));
		if (!rs->r)
			abort();
	}
	fn_rep_set(&rs->r[rs->n++], r);
}

/*
 * Did the armed failure happen? The countdown has no getter: if it has not
 * reached its allocation yet, at most @nth more steps of it make it fire
 * (and leave it disarmed); if it fired, it is 0 and never fires.
 */
static bool fn_fired(unsigned long nth)
{
	for (unsigned long i = 0; i < nth; i++) {
		if (lib_fail_now())
			return false;
	}
	return true;
}

static void fn_on_step(void *ctx, const struct lang_step_report *r)
{
	struct fn_run *run = ctx;

	if (r->step == run->sentinel) {
		fn_digest(fn_machine, &run->before);
		if (run->nth) {
			lib_fail_after(run->nth);
			run->armed = true;
		}
		return;
	}
	if (r->step == run->injected) {
		if (run->armed)
			run->fired = fn_fired(run->nth);
		run->armed = false;
		fn_rep_set(&run->inj, r);
		run->inj_err = r->err;
		fn_digest(fn_machine, &run->after);
		return;
	}
	/* a guest operation inside the call could not run: the runner's own allocation */
	if (run->armed && r->err)
		run->harness = true;
	/*
	 * a guest operation inside the call got -KVM_E2BIG (or the guest
	 * kernel's -E2BIG from it): what a Heki hypercall answers the guest
	 * when KVM cannot allocate (SEMANTICS 2), the failure delivered to the
	 * guest, not to the VMM; what the guest does next is the guest's
	 */
	if (run->armed && !strcmp(r->got, "-E2BIG"))
		run->harness = true;
	fn_reps_add(&run->reps, r);
}

static void fn_on_end(void *ctx, const struct lang_run_state *st)
{
	struct fn_run *run = ctx;

	lib_fail_after(0);
	run->armed = false;
	fn_digest(st->m, &run->end);
	fn_digest_teardown(st->m, &run->teardown);
}

/* A digest's text; "" if the run never got to take it. */
const char *fn_text(const struct fn_buf *b)
{
	return b->s ? b->s : "";
}

void fn_run_free(struct fn_run *run)
{
	free(run->reps.r);
	fn_buf_free(&run->before);
	fn_buf_free(&run->after);
	fn_buf_free(&run->end);
	fn_buf_free(&run->teardown);
	memset(run, 0, sizeof(*run));
}

void fn_run_program(const struct lang_program *p, struct fn_run *run)
{
	struct lang_run_opts opts;
	struct lang_diag diag;

	memset(&opts, 0, sizeof(opts));
	opts.on_step = fn_on_step;
	opts.step_ctx = run;
	opts.on_end = fn_on_end;
	opts.end_ctx = run;
	fn_machine = NULL;
	run->ret = lang_run(p, &opts, &run->res, &diag);
	lib_fail_after(0);
	fn_machine = NULL;
}

/*
 * A copy of @orig whose step @k runs @copies times, the first one right
 * after a getpid() sentinel (which runs in t0, or reports that it cannot:
 * either way it reports); @run learns which steps those are. The copy
 * shares everything but its step array with @orig: free p->steps only.
 */
static void fn_prog_build(struct lang_program *p, const struct lang_program *orig, size_t k,
			  int copies, struct fn_run *run)
{
	struct lang_step *steps = calloc(orig->nsteps + 1 + (size_t)copies, sizeof(*steps));
	struct lang_step *sentinel;
	size_t n = 0;

	if (!steps)
		abort();
	for (size_t i = 0; i < k; i++)
		steps[n++] = orig->steps[i];
	sentinel = &steps[n++];
	sentinel->call = "getpid";
	sentinel->desc = lang_call_find("getpid");
	sentinel->src = "getpid()";
	sentinel->src_len = sentinel->call_len = sentinel->head_len = strlen(sentinel->src);
	sentinel->result_slot = -1;
	run->sentinel = sentinel;
	run->injected = &steps[n];
	for (int c = 0; c < copies; c++)
		steps[n++] = orig->steps[k];
	for (size_t i = k + 1; i < orig->nsteps; i++)
		steps[n++] = orig->steps[i];
	*p = *orig;
	p->steps = steps;
	p->nsteps = p->cap = n;
}

void fn_run_step(const struct lang_program *orig, size_t k, unsigned long nth, int copies,
		 struct fn_run *run)
{
	struct lang_program p;

	fn_prog_build(&p, orig, k, copies, run);
	run->nth = nth;
	fn_run_program(&p, run);
	free(p.steps);
}
