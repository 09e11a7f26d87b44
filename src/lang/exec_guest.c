/* SPDX-License-Identifier: MIT */
/*
 * Guest programs: guest(VCPU) { ops } hands the vCPU a guest function that
 * interprets the operations in order, on the guest's own stack, under the
 * KVM_RUNs that follow. An operation that needs user space (MMIO, a
 * hypercall exit, a memory fault) suspends the guest inside it; the next
 * KVM_RUN resumes it there. Each operation is judged against its own
 * expectation when it finishes and reported like a step, during the
 * KVM_RUN that ran it. Operations no KVM_RUN reached are reported after
 * the last step.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "lang/exec_int.h"
#include "lib/alloc.h"

/* read(GVA, LEN) and fetch(GVA, LEN): 0 with the result in @o, or -errno if it could not run. */
static int lang_guest_sized(struct lang_guest_prog *gp, struct mv_guest *g,
			    const struct lang_step *op, uint64_t gva, uint64_t len,
			    struct lang_outcome *o, struct lang_diag *diag)
{
	if (len > LANG_READ_MAX)
		return lang_diag_set(diag, op->args[1].pos, -E2BIG, "%s of %llu bytes: at most %u",
				     op->call, (unsigned long long)len, LANG_READ_MAX);
	if (op->desc->gop == LG_FETCH) {
		o->ret = mv_guest_fetch(g, gva, len);
		return 0;
	}
	o->bytes = lib_zalloc(len ? len : 1);
	if (!o->bytes)
		return lang_diag_set(diag, op->pos, -ENOMEM, "out of memory");
	o->nbytes = len;
	gp->pending = o->bytes;    /* a guest abandoned in the read leaves it to lang_guests_free */
	o->ret = mv_guest_read(g, gva, o->bytes, len);
	return 0;
}

/* A value read out is the operation's result, as with read_cr. */
static long lang_guest_value(long ret, const uint64_t *v)
{
	return ret ? ret : (long)*v;
}

/* What the operation answers, as the mv_guest_* API gives it. */
static long lang_guest_call(const struct lang_step *op, struct mv_guest *g, const uint64_t *a)
{
	const struct lang_expr *data = op->nargs > 1 ? op->args[1].val : NULL;
	int cr = a[0] > INT_MAX ? -1 : (int)a[0];
	uint64_t v = 0;

	switch (op->desc->gop) {
	case LG_WRITE:
		return mv_guest_write(g, a[0], data->bytes, data->nbytes);
	case LG_HYPERCALL:
		return mv_guest_hypercall(g, a[0], a[1], a[2], a[3], a[4]);
	case LG_READ_CR:
		return lang_guest_value(mv_guest_read_cr(g, cr, &v), &v);
	case LG_WRITE_CR:
		return mv_guest_write_cr(g, cr, a[1]);
	case LG_READ_U64:
		return lang_guest_value(mv_guest_read(g, a[0], &v, sizeof(v)), &v);
	case LG_ENCLS:
		return mv_guest_encls(g, a[0] > UINT32_MAX ? UINT32_MAX : (uint32_t)a[0], a[1], a[2],
				      a[3]);
	case LG_SET_TAG:
		return mv_guest_set_tag(g, a[0]);
	case LG_GET_TAG: {
		uint8_t tag = 0;
		long r = mv_guest_get_tag(g, a[0], &tag);

		return r ? r : (long)tag;
	}
	case LG_RDMSR:
		return lang_guest_value(mv_guest_rdmsr(g, (uint32_t)a[0], &v), &v);
	case LG_WRMSR:
		return mv_guest_wrmsr(g, (uint32_t)a[0], a[1]);
	case LG_SET_TCF:
		return mv_guest_set_tcf(g, a[0] > 3 ? -1 : (int)a[0]);
	default:   /* LG_WRITE_U64 */
		v = a[1];
		return mv_guest_write(g, a[0], &v, sizeof(v));
	}
}

/* Runs one operation: 0 with its result in @o, or -errno if it could not run. */
static int lang_guest_op(struct lang_guest_prog *gp, struct mv_guest *g,
			 const struct lang_step *op, struct lang_outcome *o,
			 struct lang_diag *diag)
{
	const struct lang_exec *x = gp->x;
	uint64_t a[LANG_MAX_ARGS] = { 0 };

	for (size_t i = 0; i < op->nargs; i++) {
		if (op->desc->args[i].kind == LA_INT)
			a[i] = lang_eval(x, op->args[i].val);
	}
	if (op->desc->gop == LG_READ || op->desc->gop == LG_FETCH)
		return lang_guest_sized(gp, g, op, a[0], a[1], o, diag);
	if (op->desc->gop >= LG_KERNEL_BOOT) {
		o->ret = lang_gkernel_op(gp, g, op, a);
		return 0;
	}
	o->ret = lang_guest_call(op, g, a);
	return 0;
}

/* Judges a finished operation like a step (exec.c's rules, the same report). */
static void lang_guest_judge(struct lang_exec *x, const struct lang_step *op,
			     const struct lang_outcome *o, struct lang_step_report *r)
{
	const struct lang_expr *e = op->expect;
	const char *why = NULL;
	bool different = false;

	lang_fmt_outcome(r->got, sizeof(r->got), op, o);
	if (!e) {
		r->status = o->have_fault || o->ret < 0 ? LANG_STEP_NOTE : LANG_STEP_OK;
		return;
	}
	lang_fmt_expect(x, r->want, sizeof(r->want), e);
	r->status = LANG_STEP_FAILED;
	if (e->kind == LE_CALL) {
		lang_judge_call(x, op, o, r);
		return;
	}
	if (o->have_fault)
		why = "the guest took a fault";
	else if (e->kind != LE_STRING && e->kind != LE_BYTES)
		different = (uint64_t)o->ret != lang_eval(x, e);
	else if (o->ret < 0)
		why = "the read failed";
	else if (o->nbytes != e->nbytes || memcmp(o->bytes, e->bytes, e->nbytes))
		why = "different bytes";
	if (different)
		lang_diag_different(e, op->expect_pos, &r->diag);
	else if (why)
		lang_diag_set(&r->diag, op->expect_pos, 0, "%s", why);
	else
		r->status = LANG_STEP_OK;
}

/* The guest function: every operation in order, then HLT (the function returns). */
static void lang_guest_main(struct mv_guest *g, void *arg)
{
	struct lang_guest_prog *gp = arg;
	const struct lang_step *s = gp->step;

	for (; gp->done < s->nbody; gp->done++) {
		const struct lang_step *op = &s->body[gp->done];
		struct lang_step_report r;
		struct lang_outcome o;

		memset(&r, 0, sizeof(r));
		memset(&o, 0, sizeof(o));
		r.step = op;
		r.file = r.diag.file = gp->x->p->file;
		gp->in_op = true;
		r.err = lang_guest_op(gp, g, op, &o, &r.diag);
		if (r.err) {
			r.status = LANG_STEP_FAILED;
			snprintf(r.got, sizeof(r.got), "not run");
		} else {
			if (o.ret == -EFAULT)
				o.have_fault = mv_guest_last_fault(g, &o.fault) == 1;
			lang_guest_judge(gp->x, op, &o, &r);
		}
		lib_free(o.bytes);
		gp->pending = NULL;
		gp->in_op = false;
		lang_report(gp->x, &r);
	}
}

/* guest(VCPU) { ops }: the result is mv_vcpu_set_guest's (-EBADF: not a vCPU fd). */
int lang_do_guest(struct lang_exec *x, const struct lang_step *s, struct mv_task *t,
		  struct lang_outcome *o, struct lang_diag *diag)
{
	uint64_t fd = lang_eval(x, s->args[0].val);
	struct lang_guest_prog *gp;

	o->ret = -EBADF;
	if (fd > INT_MAX)
		return 0;
	gp = lib_zalloc(sizeof(*gp));
	if (!gp)
		return lang_diag_set(diag, s->pos, -ENOMEM, "out of memory");
	gp->x = x;
	gp->step = s;
	o->ret = mv_vcpu_set_guest(t, (int)fd, lang_guest_main, gp);
	if (o->ret) {
		lib_free(gp);
		return 0;
	}
	gp->vcpu_fd = (int)fd;
	lang_gkernel_inherit(x, gp);
	gp->next = x->guests;
	x->guests = gp;
	return 0;
}

static void lang_guest_unreached(struct lang_exec *x, const struct lang_guest_prog *gp)
{
	for (size_t i = gp->done; i < gp->step->nbody; i++) {
		const struct lang_step *op = &gp->step->body[i];
		struct lang_step_report r;

		memset(&r, 0, sizeof(r));
		r.step = op;
		r.file = r.diag.file = x->p->file;
		snprintf(r.got, sizeof(r.got), "not run");
		r.status = op->expect ? LANG_STEP_FAILED : LANG_STEP_NOTE;
		if (op->expect)
			lang_fmt_expect(x, r.want, sizeof(r.want), op->expect);
		lang_diag_set(&r.diag, op->pos, 0, "%s", i == gp->done && gp->in_op ?
			      "the guest stopped in this operation (no later KVM_RUN finished it)" :
			      "the guest never got here (no KVM_RUN ran it)");
		lang_report(x, &r);
	}
}

/* In program order: the list is kept newest first, so turn it around. */
void lang_guests_unreached(struct lang_exec *x)
{
	struct lang_guest_prog *rev = NULL;

	while (x->guests) {
		struct lang_guest_prog *next = x->guests->next;

		x->guests->next = rev;
		rev = x->guests;
		x->guests = next;
	}
	x->guests = rev;
	for (const struct lang_guest_prog *gp = rev; gp; gp = gp->next)
		lang_guest_unreached(x, gp);
}

void lang_guests_free(struct lang_exec *x)
{
	while (x->guests) {
		struct lang_guest_prog *next = x->guests->next;

		lib_free(x->guests->pending);
		lang_gkernel_free(x->guests);
		lib_free(x->guests);
		x->guests = next;
	}
}
