/* SPDX-License-Identifier: MIT */
/*
 * Steps that are the task's CPU rather than a system call: the shadow-stack
 * instructions, register access, signal delivery and return, and another
 * party's access to the task's memory (GUP, as ptrace and /proc/pid/mem
 * do). Each answers like the API: 0 or a value, or -errno with a signal
 * pending when the instruction faulted.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lang/exec_int.h"
#include "lib/alloc.h"


/* An instruction that reads a value out: the value is the step's result. */
static long lang_cpu_value(long ret, const uint64_t *v)
{
	return ret ? ret : (long)*v;
}

static long lang_cpu_remote_read(struct mv_task *t, uint64_t addr, uint64_t len, uint64_t flags,
				 struct lang_outcome *o, struct lang_step_report *r)
{
	long ret;

	if (len > LANG_READ_MAX) {
		snprintf(r->why, sizeof(r->why), "remote_read of %llu bytes: at most %u",
			 (unsigned long long)len, LANG_READ_MAX);
		return -E2BIG;
	}
	o->bytes = lib_zalloc(len ? len : 1);
	if (!o->bytes) {
		snprintf(r->why, sizeof(r->why), "out of memory");
		return -ENOMEM;
	}
	ret = mv_task_access_remote(t, addr, o->bytes, len, (unsigned int)flags);
	o->nbytes = ret > 0 ? (size_t)ret : 0;
	return ret;
}

static long lang_do_cpu_op(const struct lang_step *s, struct mv_task *t, const uint64_t a[3],
			   struct lang_outcome *o, struct lang_step_report *r)
{
	const struct lang_expr *data;
	uint64_t v = 0;

	switch (s->desc->op) {
	case LCPU_CALL:
		return mv_cpu_call(t, a[0]);
	case LCPU_RET:
		return lang_cpu_value(mv_cpu_ret(t, &v), &v);
	case LCPU_RDSSP:
		return lang_cpu_value(mv_cpu_rdssp(t, &v), &v);
	case LCPU_RSTORSSP:
		return mv_cpu_rstorssp(t, a[0]);
	case LCPU_SAVEPREVSSP:
		return mv_cpu_saveprevssp(t);
	case LCPU_WRSS:
		return mv_cpu_wrss(t, a[0], a[1]);
	case LCPU_INCSSP:
		return mv_cpu_incssp(t, (uint32_t)a[0]);
	case LCPU_GET_REG:
		return lang_cpu_value(mv_cpu_get_reg(t, (int)a[0], &v), &v);
	case LCPU_SET_REG:
		return mv_cpu_set_reg(t, (int)a[0], a[1]);
	case LCPU_SIGNAL:
		return mv_cpu_signal_deliver(t, (int)a[0], a[1], a[2]);
	case LCPU_SIGRETURN:
		return mv_cpu_sigreturn(t);
	case LCPU_REMOTE_READ:
		return lang_cpu_remote_read(t, a[0], a[1], a[2], o, r);
	case LCPU_REMOTE_WRITE:
		data = s->args[1].val;
		return mv_task_access_remote(t, a[0], (void *)data->bytes, data->nbytes,
					     (unsigned int)a[2] | MV_REMOTE_WRITE);
	case LCPU_PROT_SHSTK:
		return mv_task_set_prot_shadow_stack(t, (int)a[0]);
	default:
		return -ENOSYS;
	}
}


long lang_do_cpu(struct lang_exec *x, const struct lang_step *s, struct mv_task *t,
		 struct lang_outcome *o, struct lang_step_report *r)
{
	uint64_t a[3] = { 0 }, v = 0;
	uint8_t le[8];
	long ret;

	for (size_t i = 0; i < s->nargs && i < 3; i++) {
		if (s->desc->args[i].kind == LA_INT)
			a[i] = lang_eval(x, s->args[i].val);
	}
	switch (s->desc->op) {
	case LCPU_LOAD64:
		ret = mv_user_read(t, a[0], le, sizeof(le));
		for (int i = 7; i >= 0 && !ret; i--)
			v = v << 8 | le[i];
		return ret ? ret : (long)v;
	case LCPU_STORE64:
		for (int i = 0; i < 8; i++)
			le[i] = (uint8_t)(a[1] >> (8 * i));
		return mv_user_write(t, a[0], le, sizeof(le));
	default:
		return lang_do_cpu_op(s, t, a, o, r);
	}
}
