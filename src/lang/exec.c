/* SPDX-License-Identifier: MIT */
/*
 * The executor: runs a checked program on a fresh machine, step by step,
 * and judges each step against its expectation. Every step is also a
 * "step" event in the trace, between the machine's own events, all under
 * one sequence so that a scenario and a seed always give the same bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lang/exec_int.h"
#include "lib/alloc.h"
#include "lib/err.h"

/* Every trace line, the machine's and ours, renumbered into one sequence. */
static void lang_trace_forward(void *ctx, const char *line, size_t len)
{
	struct lang_exec *x = ctx;
	struct lang_run_opts *o = x->opts;
	char head[40];
	size_t skip = 0, n;

	if (len > 7 && !memcmp(line, "{\"seq\":", 7)) {
		for (skip = 7; skip < len && line[skip] != ','; skip++)
			;
		skip++;
	}
	if (skip > len)
		return;
	n = (size_t)snprintf(head, sizeof(head), "{\"seq\":%llu,", (unsigned long long)o->trace_seq++);
	o->trace(o->trace_ctx, head, n);
	o->trace(o->trace_ctx, line + skip, len - skip);
}

static void lang_trace_step(struct lang_exec *x, const struct lang_step_report *r)
{
	const struct lang_step *s = r->step;
	static const char *const status[] = {
		[LANG_STEP_OK] = "ok", [LANG_STEP_NOTE] = "note", [LANG_STEP_FAILED] = "failed",
		[LANG_STEP_SKIPPED] = "skipped",
	};
	struct lib_trace_ev ev;

	if (!lib_trace_begin(&ev, &x->steptr, "step"))
		return;
	lib_trace_i64(&ev, "line", s->pos.line);
	lib_trace_str(&ev, "task", s->task_name ? s->task_name : "t0");
	lib_trace_str(&ev, "call", s->call);
	lib_trace_str(&ev, "result", r->got);
	lib_trace_str(&ev, "status", status[r->status]);
	if (r->status == LANG_STEP_FAILED)
		lib_trace_str(&ev, "expected", r->want);
	lib_trace_emit(&ev);
}

/* The task a step runs in, or ERR_PTR(-ESRCH) and why. */
static struct mv_task *lang_step_task(struct lang_exec *x, int slot, const char *name,
				      struct lang_pos pos, struct lang_diag *diag)
{
	if (slot >= 0 && x->tasks[slot])
		return x->tasks[slot];
	lang_diag_set(diag, pos, -ESRCH, "task %s %s", name ? name : "t0",
		      slot >= 0 && x->task_gone[slot] ? "has exited (or was never created)" :
		      "does not exist");
	return lib_err_ptr(-ESRCH);
}

/* spawn(), clone(TASK, FLAGS) and exit(TASK): the result is the new task's. */
static int lang_do_task_call(struct lang_exec *x, const struct lang_step *s,
			     struct lang_outcome *o, struct lang_diag *diag)
{
	const struct lang_expr *task = s->nargs ? s->args[0].val : NULL;
	struct mv_task *t = NULL, *nt = NULL;

	if (task) {
		t = lang_step_task(x, task->slot, task->name, task->pos, diag);
		if (lib_is_err(t))
			return (int)lib_ptr_err(t);
	}
	switch (s->desc->type) {
	case LC_SPAWN:
		o->ret = mv_task_spawn(x->m, &nt);
		break;
	case LC_CLONE:
		o->ret = mv_task_clone(t, (unsigned long)lang_eval(x, s->args[1].val), &nt);
		break;
	default:   /* LC_EXIT */
		mv_task_exit(t);
		x->tasks[task->slot] = NULL;
		x->task_gone[task->slot] = true;
		return 0;
	}
	if (s->result_slot >= 0) {
		x->tasks[s->result_slot] = o->ret ? NULL : nt;
		x->task_gone[s->result_slot] = o->ret != 0;
	}
	return 0;
}

static int lang_do_mem(struct lang_exec *x, const struct lang_step *s, struct mv_task *t,
		       struct lang_outcome *o, struct lang_diag *diag)
{
	uint64_t addr = lang_eval(x, s->args[0].val);
	const struct lang_expr *data = s->args[1].val;
	uint64_t len;

	if (s->desc->type == LC_WRITE_MEM) {
		o->ret = mv_user_write(t, addr, data->bytes, data->nbytes);
		return 0;
	}
	len = lang_eval(x, data);
	if (len > LANG_READ_MAX)
		return lang_diag_set(diag, s->args[1].pos, -E2BIG, "read_mem of %llu bytes: at "
				     "most %u", (unsigned long long)len, LANG_READ_MAX);
	o->bytes = lib_zalloc(len ? len : 1);
	if (!o->bytes)
		return lang_diag_set(diag, s->pos, -ENOMEM, "out of memory");
	o->nbytes = len;
	o->ret = mv_user_read(t, addr, o->bytes, len);
	return 0;
}

static int lang_do_syscall(struct lang_exec *x, const struct lang_step *s, struct mv_task *t,
			   struct lang_outcome *o, struct lang_diag *diag)
{
	uint64_t a[LANG_MAX_ARGS];
	int ret = lang_build_args(x, s, a, diag);

	if (ret)
		return ret;
	o->ret = mv_syscall(t, s->desc->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (s->desc->nr == MV_SYS_ioctl && lang_is_kvm_run(a[1]) && a[0] <= INT32_MAX)
		o->run = mv_vcpu_run_area(t, (int)a[0]);
	return 0;
}

/* Runs the step's call: 0 and the outcome, or -errno if it could not run (@diag says why). */
static int lang_do_step(struct lang_exec *x, const struct lang_step *s, struct lang_outcome *o,
			struct lang_diag *diag)
{
	struct mv_task *t;
	int ret;

	/* spawn, clone and exit name their tasks; the others run in the step's task */
	if (s->desc->type == LC_SPAWN || s->desc->type == LC_CLONE || s->desc->type == LC_EXIT)
		return lang_do_task_call(x, s, o, diag);
	t = lang_step_task(x, s->task_slot, s->task_name, s->task_name ? s->task_pos : s->pos,
			   diag);
	if (lib_is_err(t))
		return (int)lib_ptr_err(t);
	switch (s->desc->type) {
	case LC_SYSCALL:
		ret = lang_do_syscall(x, s, t, o, diag);
		break;
	case LC_GUEST:
		ret = lang_do_guest(x, s, t, o, diag);
		break;
	case LC_CPU:
		ret = lang_do_cpu(x, s, t, o, diag);
		break;
	case LC_HEKI_POLICY:
		ret = lang_do_heki_policy(x, s, t, o, diag);
		break;
	default:   /* LC_WRITE_MEM, LC_READ_MEM */
		ret = lang_do_mem(x, s, t, o, diag);
		break;
	}
	if (!ret)
		o->have_signal = mv_task_take_signal(t, &o->si) == 1;
	return ret;
}

/* Compares the outcome with the step's expectation; fills r. */
static void lang_judge(struct lang_exec *x, const struct lang_step *s, const struct lang_outcome *o,
		       struct lang_step_report *r)
{
	const struct lang_expr *e = s->expect;
	struct lang_pos at = e ? s->expect_pos : s->pos;
	const char *why = NULL;
	bool different = false;

	lang_fmt_outcome(r->got, sizeof(r->got), s, o);
	if (!e && !o->have_signal) {
		r->status = o->ret < 0 ? LANG_STEP_NOTE : LANG_STEP_OK;
		return;
	}
	r->status = LANG_STEP_FAILED;
	if (e)
		lang_fmt_expect(x, r->want, sizeof(r->want), e);
	if (e && e->kind == LE_CALL) {
		lang_judge_call(x, s, o, r);
		return;
	}
	if (o->have_signal)
		why = "unexpected signal: the task crashed";
	else if (o->have_fault)
		why = "the guest took a fault";
	else if (e->kind == LE_STRING || e->kind == LE_BYTES)
		why = o->ret < 0 ? "the read failed" :
		      o->nbytes != e->nbytes || memcmp(o->bytes, e->bytes, e->nbytes) ?
		      "different bytes" : NULL;
	else if ((uint64_t)o->ret != lang_eval(x, e))
		different = true;
	if (different)
		lang_diag_different(e, at, &r->diag);
	else if (why)
		lang_diag_set(&r->diag, at, 0, "%s", why);
	else
		r->status = LANG_STEP_OK;
}

void lang_report(struct lang_exec *x, struct lang_step_report *r)
{
	r->during = x->cur;
	x->res->steps++;
	x->res->failed += r->status == LANG_STEP_FAILED;
	x->res->notes += r->status == LANG_STEP_NOTE;
	x->res->skipped += r->status == LANG_STEP_SKIPPED;
	lang_trace_step(x, r);
	if (x->opts->on_step)
		x->opts->on_step(x->opts->step_ctx, r);
}

/* The task a step runs in or names (clone, exit); -1 for spawn(). */
static int lang_step_task_slot(const struct lang_step *s)
{
	switch (s->desc->type) {
	case LC_SPAWN:
		return -1;
	case LC_CLONE:
	case LC_EXIT:
		return s->args[0].val->slot;
	default:
		return s->task_slot;
	}
}

/*
 * A signal no step expected kills the task, as Linux's default action
 * does: the task's later steps are skipped, not run on a dead task.
 */
static bool lang_crashes(const struct lang_step *s, const struct lang_outcome *o)
{
	const struct lang_expr *e = s->expect;

	return o->have_signal && !(e && e->kind == LE_CALL && !strcmp(e->name, "signal"));
}

/* Reports @s skipped if its task crashed earlier; false if it may run. */
static bool lang_skip_crashed(struct lang_exec *x, const struct lang_step *s,
			      struct lang_step_report *r)
{
	int slot = lang_step_task_slot(s);
	const struct lang_crash *c = slot >= 0 ? &x->crashed[slot] : NULL;
	const char *sig;

	if (!c || !c->line)
		return false;
	sig = lang_signal_name(c->signo);
	r->status = LANG_STEP_SKIPPED;
	snprintf(r->got, sizeof(r->got), "not run");
	if (s->expect)
		lang_fmt_expect(x, r->want, sizeof(r->want), s->expect);
	lang_diag_set(&r->diag, s->pos, 0, "task %s crashed at line %d on an unexpected %s",
		      x->p->task_names[slot], c->line, sig ? sig : "signal");
	lang_report(x, r);
	return true;
}

static void lang_run_step(struct lang_exec *x, const struct lang_step *s)
{
	struct lang_step_report r;
	struct lang_outcome o;

	memset(&r, 0, sizeof(r));
	memset(&o, 0, sizeof(o));
	r.step = s;
	r.file = r.diag.file = x->p->file;
	x->cur = s;
	if (lang_skip_crashed(x, s, &r))
		return;
	r.err = lang_do_step(x, s, &o, &r.diag);
	if (r.err) {
		r.status = LANG_STEP_FAILED;
		snprintf(r.got, sizeof(r.got), "not run");
		if (s->expect)
			lang_fmt_expect(x, r.want, sizeof(r.want), s->expect);
	} else {
		lang_judge(x, s, &o, &r);
		/* a call that succeeded as expected (or with no expectation) wrote its outputs */
		if (r.status == LANG_STEP_OK && o.ret >= 0 && !o.have_signal &&
		    !lang_check_outputs(x, s, &r.diag))
			r.status = LANG_STEP_FAILED;
		if (s->result_slot >= 0 && s->desc->ret == LRK_VALUE)
			x->values[s->result_slot] = (uint64_t)o.ret;
		if (lang_crashes(s, &o))
			x->crashed[s->task_slot] = (struct lang_crash){ s->pos.line, o.si.signo };
	}
	lang_free_bufs(x);
	lib_free(o.bytes);
	lang_report(x, &r);
}

static int lang_exec_setup(struct lang_exec *x, struct lang_diag *diag)
{
	const struct lang_program *p = x->p;
	struct lang_machine_opts mo;
	int ret;

	memset(&mo, 0, sizeof(mo));
	if (p->nsteps && p->steps[0].desc->type == LC_MACHINE)
		lang_machine_from_step(&p->steps[0], &mo);
	lang_machine_opts_merge(&mo, &x->opts->machine);
	ret = mv_machine_create(&mo.cfg, &x->m);
	if (ret)
		return lang_diag_set(diag, (struct lang_pos){ 0, 0 }, ret, "cannot create the "
				     "machine: %s", ret == -ENOMEM ? "out of memory" :
				     "the library refuses its configuration");
	lib_trace_init(&x->steptr);
	if (x->opts->trace) {
		mv_machine_set_trace(x->m, lang_trace_forward, x);
		lib_trace_set_sink(&x->steptr, lang_trace_forward, x);
	}
	ret = mv_task_spawn(x->m, &x->tasks[0]);
	if (ret)
		return lang_diag_set(diag, (struct lang_pos){ 0, 0 }, ret, "cannot spawn the first "
				     "task t0");
	return 0;
}

static void lang_trace_scenario(struct lang_exec *x, const char *what)
{
	struct lib_trace_ev ev;

	if (!lib_trace_begin(&ev, &x->steptr, what))
		return;
	lib_trace_str(&ev, "file", x->p->file);
	if (!strcmp(what, "scenario_end")) {
		lib_trace_i64(&ev, "steps", x->res->steps);
		lib_trace_i64(&ev, "failed", x->res->failed);
		lib_trace_i64(&ev, "skipped", x->res->skipped);
	}
	lib_trace_emit(&ev);
}

int lang_run(const struct lang_program *p, struct lang_run_opts *opts,
	     struct lang_run_result *res, struct lang_diag *diag)
{
	struct lang_exec x;
	int ret = -ENOMEM;

	memset(res, 0, sizeof(*res));
	memset(diag, 0, sizeof(*diag));
	diag->file = p->file;
	memset(&x, 0, sizeof(x));
	x.p = p;
	x.opts = opts;
	x.res = res;
	x.diag = diag;
	x.tasks = lib_calloc((size_t)p->ntasks, sizeof(*x.tasks));
	x.task_gone = lib_calloc((size_t)p->ntasks, sizeof(*x.task_gone));
	x.crashed = lib_calloc((size_t)p->ntasks, sizeof(*x.crashed));
	x.values = lib_calloc((size_t)(p->nvalues ? p->nvalues : 1), sizeof(*x.values));
	if (!x.tasks || !x.task_gone || !x.crashed || !x.values) {
		lang_diag_set(diag, (struct lang_pos){ 0, 0 }, ret, "out of memory");
		goto out_free;
	}
	ret = lang_exec_setup(&x, diag);
	if (ret)
		goto out_machine;
	lang_trace_scenario(&x, "scenario");
	for (size_t i = 0; i < p->nsteps; i++) {
		if (p->steps[i].desc->type != LC_MACHINE)
			lang_run_step(&x, &p->steps[i]);
	}
	x.cur = NULL;
	lang_guests_unreached(&x);
	lang_trace_scenario(&x, "scenario_end");
	if (opts->on_end) {
		struct lang_run_state st = {
			.m = x.m,
			.ntasks = p->ntasks, .task_names = p->task_names, .tasks = x.tasks,
			.nvalues = p->nvalues, .value_names = p->value_names, .values = x.values,
		};

		opts->on_end(opts->end_ctx, &st);
	}
out_machine:
	if (x.m) {
		mv_machine_set_trace(x.m, NULL, NULL);
		mv_machine_destroy(x.m);
		lib_trace_destroy(&x.steptr);
	}
	lang_guests_free(&x);
out_free:
	lib_free(x.tag_buf);
	lib_free(x.values);
	lib_free(x.crashed);
	lib_free(x.task_gone);
	lib_free(x.tasks);
	return ret;
}
