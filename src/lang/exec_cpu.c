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

/* remote_read(ADDR, LEN, FLAGS): 0 and the bytes read in @o, or -errno if it could not run. */
static int lang_cpu_remote_read(const struct lang_step *s, struct mv_task *t, const uint64_t a[3],
				struct lang_outcome *o, struct lang_diag *diag)
{
	if (a[1] > LANG_READ_MAX)
		return lang_diag_set(diag, s->args[1].pos, -E2BIG, "remote_read of %llu bytes: "
				     "at most %u", (unsigned long long)a[1], LANG_READ_MAX);
	o->bytes = lib_zalloc(a[1] ? a[1] : 1);
	if (!o->bytes)
		return lang_diag_set(diag, s->pos, -ENOMEM, "out of memory");
	o->ret = mv_task_access_remote(t, a[0], o->bytes, a[1], (unsigned int)a[2]);
	o->nbytes = o->ret > 0 ? (size_t)o->ret : 0;
	return 0;
}

/* The instruction's (or event's) answer, as the mv_cpu_* API gives it. */
static long lang_do_cpu_op(const struct lang_step *s, struct mv_task *t, const uint64_t *a)
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
	case LCPU_REMOTE_WRITE:
		data = s->args[1].val;
		return mv_task_access_remote(t, a[0], (void *)data->bytes, data->nbytes,
					     (unsigned int)a[2] | MV_REMOTE_WRITE);
	case LCPU_PROT_SHSTK:
		return mv_task_set_prot_shadow_stack(t, (int)a[0]);
	case LCPU_SET_TAG:
		return mv_user_set_tag(t, a[0]);
	case LCPU_GET_TAG: {
		uint8_t tag = 0;
		long r = mv_user_get_tag(t, a[0], &tag);

		return r ? r : (long)tag;
	}
	default:
		return -ENOSYS;
	}
}

/*
 * copy_tags(VM_FD, GUEST_IPA, LENGTH, FLAGS): KVM_ARM_MTE_COPY_TAGS with
 * the scenario's one tag buffer, which FROM_GUEST fills and TO_GUEST reads
 * (save a VM's tags, restore them into another).
 */
static int lang_cpu_copy_tags(struct lang_exec *x, const struct lang_step *s, struct mv_task *t,
			      const uint64_t *a, struct lang_outcome *o, struct lang_diag *diag)
{
	struct kvm_arm_copy_mte_tags ct = { .guest_ipa = a[1], .length = a[2], .flags = a[3] };

	if (a[2] / 16 > LANG_TAG_BUF)
		return lang_diag_set(diag, s->args[2].pos, -E2BIG,
				     "copy_tags of %llu bytes: at most %u", (unsigned long long)a[2],
				     LANG_TAG_BUF * 16);
	if (!x->tag_buf)
		x->tag_buf = lib_zalloc(LANG_TAG_BUF);
	if (!x->tag_buf)
		return lang_diag_set(diag, s->pos, -ENOMEM, "out of memory");
	ct.addr = x->tag_buf;
	o->ret = mv_syscall(t, MV_SYS_ioctl, a[0], KVM_ARM_MTE_COPY_TAGS,
			    (uint64_t)(uintptr_t)&ct, 0, 0, 0);
	return 0;
}

/*
 * get_msr(VCPU_FD, INDEX) / set_msr(VCPU_FD, INDEX, VALUE): KVM_GET_MSRS /
 * KVM_SET_MSRS with one entry. set_msr answers the ioctl (1: done, 0:
 * KVM refused the MSR or its value); get_msr answers the value, or -EINVAL
 * when KVM refused the MSR (the ioctl did 0 entries), or the ioctl's errno.
 */
static long lang_cpu_msr(const struct lang_step *s, struct mv_task *t, const uint64_t *a)
{
	/* the header and one entry (8 + 16 bytes), 8-byte aligned */
	uint64_t buf[(sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)) / 8] = { 0 };
	struct kvm_msrs *m = (void *)buf;
	bool set = s->desc->op == LCPU_SET_MSR;
	long r;

	m->nmsrs = 1;
	m->entries[0].index = (uint32_t)a[1];
	m->entries[0].data = a[2];
	r = mv_syscall(t, MV_SYS_ioctl, a[0], set ? KVM_SET_MSRS : KVM_GET_MSRS,
		       (uint64_t)(uintptr_t)m, 0, 0, 0);
	if (set || r < 0)
		return r;
	return r == 1 ? (long)m->entries[0].data : -EINVAL;
}

int lang_do_cpu(struct lang_exec *x, const struct lang_step *s, struct mv_task *t,
		struct lang_outcome *o, struct lang_diag *diag)
{
	uint64_t a[4] = { 0 }, v = 0;
	uint8_t le[8];

	for (size_t i = 0; i < s->nargs && i < 4; i++) {
		if (s->desc->args[i].kind == LA_INT)
			a[i] = lang_eval(x, s->args[i].val);
	}
	switch (s->desc->op) {
	case LCPU_LOAD64:
		o->ret = mv_user_read(t, a[0], le, sizeof(le));
		for (int i = 7; i >= 0 && !o->ret; i--)
			v = v << 8 | le[i];
		if (!o->ret)
			o->ret = (long)v;
		return 0;
	case LCPU_STORE64:
		for (int i = 0; i < 8; i++)
			le[i] = (uint8_t)(a[1] >> (8 * i));
		o->ret = mv_user_write(t, a[0], le, sizeof(le));
		return 0;
	case LCPU_REMOTE_READ:
		return lang_cpu_remote_read(s, t, a, o, diag);
	case LCPU_COPY_TAGS:
		return lang_cpu_copy_tags(x, s, t, a, o, diag);
	case LCPU_GET_MSR:
	case LCPU_SET_MSR:
		o->ret = lang_cpu_msr(s, t, a);
		return 0;
	case LCPU_VM_SNAPSHOT:
	case LCPU_VM_RESTORE:
		return lang_cpu_snapshot(x, s, t, o, diag);
	default:
		o->ret = lang_do_cpu_op(s, t, a);
		return 0;
	}
}
