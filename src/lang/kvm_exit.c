/* SPDX-License-Identifier: MIT */
/*
 * Expectations that are calls, and what they compare:
 *
 *	ioctl(r3, KVM_RUN, 0)  = exit(KVM_EXIT_MMIO, phys_addr=0x200000, len=1, is_write=1)
 *	read(0x1000, 4)        = fault(14, 0x4, 0x1000)     (inside guest(...) { })
 *	read_mem(r1, 8)        = signal(SIGSEGV, SEGV_MAPERR, r1)
 *
 * exit(REASON, field=value, ...) checks the vCPU's run area after KVM_RUN:
 * the exit reason, each named field (struct kvm_run's, by name), and what
 * the ioctl returned: 0, except -EFAULT for KVM_EXIT_MEMORY_FAULT, as KVM
 * returns them; ret=VALUE states another return value. fault(VECTOR[,
 * ERROR_CODE[, ADDRESS]]) checks the exception a guest operation raised
 * in the guest (mv_guest_last_fault).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <memvisor/uapi/kvm.h>

#include "lang/exec_int.h"

#define RUN_FIELD(n, r, member, show) \
	{ n, r, offsetof(struct kvm_run, member), sizeof(((struct kvm_run *)0)->member), show }

static const struct lang_exit_field lang_exit_fields[] = {
	RUN_FIELD("phys_addr", KVM_EXIT_MMIO, mmio.phys_addr, true),
	RUN_FIELD("len", KVM_EXIT_MMIO, mmio.len, true),
	RUN_FIELD("is_write", KVM_EXIT_MMIO, mmio.is_write, true),
	RUN_FIELD("data", KVM_EXIT_MMIO, mmio.data, true),
	RUN_FIELD("nr", KVM_EXIT_HYPERCALL, hypercall.nr, true),
	RUN_FIELD("args0", KVM_EXIT_HYPERCALL, hypercall.args[0], true),
	RUN_FIELD("args1", KVM_EXIT_HYPERCALL, hypercall.args[1], true),
	RUN_FIELD("args2", KVM_EXIT_HYPERCALL, hypercall.args[2], true),
	RUN_FIELD("args3", KVM_EXIT_HYPERCALL, hypercall.args[3], false),
	RUN_FIELD("args4", KVM_EXIT_HYPERCALL, hypercall.args[4], false),
	RUN_FIELD("args5", KVM_EXIT_HYPERCALL, hypercall.args[5], false),
	RUN_FIELD("flags", KVM_EXIT_HYPERCALL, hypercall.flags, true),
	RUN_FIELD("flags", KVM_EXIT_MEMORY_FAULT, memory_fault.flags, true),
	RUN_FIELD("gpa", KVM_EXIT_MEMORY_FAULT, memory_fault.gpa, true),
	RUN_FIELD("size", KVM_EXIT_MEMORY_FAULT, memory_fault.size, true),
	RUN_FIELD("suberror", KVM_EXIT_INTERNAL_ERROR, internal.suberror, true),
	/* Heki (memvisor's exits, <memvisor/uapi/kvm_heki.h>) */
	RUN_FIELD("reason", KVM_EXIT_HEKI_CONFIGURE, heki_configure.reason, true),
	RUN_FIELD("cr_pinned", KVM_EXIT_HEKI_CONFIGURE, heki_configure.cr_pinned, true),
	RUN_FIELD("gpa", KVM_EXIT_HEKI_CONFIGURE, heki_configure.gpa, false),
	RUN_FIELD("npages", KVM_EXIT_HEKI_CONFIGURE, heki_configure.npages, true),
	RUN_FIELD("reason", KVM_EXIT_HEKI_DENIAL, heki_denial.reason, true),
	RUN_FIELD("cr_value", KVM_EXIT_HEKI_DENIAL, heki_denial.cr_value, true),
	RUN_FIELD("gpa", KVM_EXIT_HEKI_DENIAL, heki_denial.gpa, false),
	RUN_FIELD("access", KVM_EXIT_HEKI_DENIAL, heki_denial.access, true),
	RUN_FIELD("permissions", KVM_EXIT_HEKI_DENIAL, heki_denial.permissions, true),
};

#define LANG_NEXIT_FIELDS (sizeof(lang_exit_fields) / sizeof(lang_exit_fields[0]))

const struct lang_exit_field *lang_exit_field_find(uint64_t reason, const char *name)
{
	for (size_t i = 0; i < LANG_NEXIT_FIELDS; i++) {
		if (lang_exit_fields[i].reason == reason && !strcmp(lang_exit_fields[i].name, name))
			return &lang_exit_fields[i];
	}
	return NULL;
}

const char *lang_exit_field_suggest(uint64_t reason, const char *name)
{
	struct lang_suggest sg;

	lang_suggest_init(&sg, name);
	for (size_t i = 0; i < LANG_NEXIT_FIELDS; i++) {
		if (lang_exit_fields[i].reason == reason)
			lang_suggest_add(&sg, lang_exit_fields[i].name);
	}
	lang_suggest_add(&sg, "ret");
	return lang_suggest_best(&sg);
}

void lang_exit_fields_list(uint64_t reason, char *list, size_t size)
{
	size_t off = 0;

	list[0] = '\0';
	for (size_t i = 0; i < LANG_NEXIT_FIELDS && off < size; i++) {
		if (lang_exit_fields[i].reason == reason)
			off += (size_t)snprintf(list + off, size - off, "%s%s", off ? ", " : "",
						lang_exit_fields[i].name);
	}
	if (off < size)
		snprintf(list + off, size - off, "%sret", off ? ", " : "");
}

bool lang_is_kvm_run(uint64_t cmd)
{
	return cmd == KVM_RUN;
}

long lang_exit_implied_ret(uint64_t reason)
{
	return reason == KVM_EXIT_MEMORY_FAULT ? -EFAULT : 0;
}

static bool lang_is_mmio_data(const struct lang_exit_field *f)
{
	return f->reason == KVM_EXIT_MMIO && !strcmp(f->name, "data");
}

/* A field's value, little-endian; mmio.data counts only the access's len bytes. */
static uint64_t lang_exit_value(const struct kvm_run *run, const struct lang_exit_field *f)
{
	uint8_t b[8] = { 0 };
	size_t n = f->size > 8 ? 8 : f->size;
	uint64_t v = 0;

	if (lang_is_mmio_data(f))
		n = run->mmio.len < 8 ? run->mmio.len : 8;
	memcpy(b, (const uint8_t *)run + f->offset, n);
	for (size_t i = 0; i < 8; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static const char *lang_exit_name(uint64_t reason, char *buf, size_t size)
{
	const char *name = lang_const_name("KVM_EXIT_", reason);

	if (name)
		return name;
	snprintf(buf, size, "%llu", (unsigned long long)reason);
	return buf;
}

/* One field as the language writes it: constants by name where they have one. */
static void lang_fmt_field(char *buf, size_t size, const struct kvm_run *run,
			   const struct lang_exit_field *f)
{
	uint64_t v = lang_exit_value(run, f);
	const char *name = NULL;

	if (lang_is_mmio_data(f)) {
		lang_fmt_bytes(buf, size, run->mmio.data, run->mmio.len < 8 ? run->mmio.len : 8);
		return;
	}
	if (f->reason == KVM_EXIT_MEMORY_FAULT && !strcmp(f->name, "flags") && v)
		name = lang_const_name("KVM_MEMORY_EXIT_FLAG_", v);
	else if (f->reason == KVM_EXIT_HYPERCALL && !strcmp(f->name, "nr"))
		name = lang_const_name("KVM_HC_", v);
	if (name)
		snprintf(buf, size, "%s", name);
	else if (v < 4096)
		snprintf(buf, size, "%llu", (unsigned long long)v);
	else
		snprintf(buf, size, "0x%llx", (unsigned long long)v);
}

void lang_fmt_exit(char *buf, size_t size, const struct kvm_run *run, long ret)
{
	char tmp[64], val[48];
	size_t off;

	off = (size_t)snprintf(buf, size, "exit(%s",
			       lang_exit_name(run->exit_reason, tmp, sizeof(tmp)));
	for (size_t i = 0; i < LANG_NEXIT_FIELDS && off < size; i++) {
		const struct lang_exit_field *f = &lang_exit_fields[i];

		if (f->reason != run->exit_reason || !f->shown)
			continue;
		lang_fmt_field(val, sizeof(val), run, f);
		off += (size_t)snprintf(buf + off, size - off, ", %s=%s", f->name, val);
	}
	if (off < size && ret != lang_exit_implied_ret(run->exit_reason)) {
		lang_fmt_value(val, sizeof(val), ret);
		off += (size_t)snprintf(buf + off, size - off, ", ret=%s", val);
	}
	if (off < size)
		snprintf(buf + off, size - off, ")");
}

void lang_fmt_fault(char *buf, size_t size, const struct mv_guest_fault *f)
{
	char ec[32];

	lang_fmt_value(ec, sizeof(ec), (long)f->error_code);
	snprintf(buf, size, "fault(%d, %s, 0x%llx)", f->vector, ec,
		 (unsigned long long)f->address);
}

/* exit(REASON, field=value, ...): the first difference goes to r->why. */
static bool lang_judge_exit(const struct lang_exec *x, const struct lang_expr *e,
			    const struct lang_outcome *o, struct lang_step_report *r)
{
	uint64_t reason = lang_eval(x, e->args[0].val);
	long want_ret = lang_exit_implied_ret(reason);
	char a[64], b[64];

	for (size_t i = 1; i < e->nargs; i++) {
		if (!strcmp(e->args[i].key, "ret"))
			want_ret = (long)lang_eval(x, e->args[i].val);
	}
	if (!o->run || (o->ret != want_ret && o->ret != 0 && o->ret != -EFAULT)) {
		lang_fmt_value(a, sizeof(a), o->ret);
		lang_diag_set(&r->diag, e->pos, 0, "KVM_RUN returned %s: the vCPU did not exit to "
			      "user space", a);
		return false;
	}
	if (o->run->exit_reason != reason) {
		lang_diag_set(&r->diag, e->pos, 0, "the exit reason is %s, not %s",
			      lang_exit_name(o->run->exit_reason, a, sizeof(a)),
			      lang_exit_name(reason, b, sizeof(b)));
		return false;
	}
	if (o->ret != want_ret) {
		lang_fmt_value(a, sizeof(a), o->ret);
		lang_fmt_value(b, sizeof(b), want_ret);
		lang_diag_set(&r->diag, e->pos, 0, "KVM_RUN returned %s, not %s", a, b);
		return false;
	}
	for (size_t i = 1; i < e->nargs; i++) {
		const struct lang_arg *arg = &e->args[i];
		const struct lang_exit_field *f = lang_exit_field_find(reason, arg->key);
		const struct lang_expr *v = arg->val;
		bool same;

		if (!f)
			continue;   /* ret */
		if (v->kind == LE_STRING || v->kind == LE_BYTES)
			same = v->nbytes <= f->size &&
			       !memcmp((const uint8_t *)o->run + f->offset, v->bytes, v->nbytes);
		else
			same = lang_exit_value(o->run, f) == lang_eval(x, v);
		if (same)
			continue;
		lang_fmt_field(a, sizeof(a), o->run, f);
		lang_fmt_expect(x, b, sizeof(b), v);
		lang_diag_set(&r->diag, arg->pos, 0, "%s is %s, not %s", f->name, a, b);
		return false;
	}
	return true;
}

/* fault(VECTOR[, ERROR_CODE[, ADDRESS]]) after a guest operation. */
static bool lang_judge_fault(const struct lang_exec *x, const struct lang_expr *e,
			     const struct lang_outcome *o, struct lang_step_report *r)
{
	const struct mv_guest_fault *f = &o->fault;

	if (!o->have_fault) {
		lang_diag_set(&r->diag, e->pos, 0, "the guest took no fault");
		return false;
	}
	if (f->vector != (int)lang_eval(x, e->args[0].val))
		lang_diag_set(&r->diag, e->pos, 0, "the guest took vector %d", f->vector);
	else if (e->nargs > 1 && f->error_code != lang_eval(x, e->args[1].val))
		lang_diag_set(&r->diag, e->pos, 0, "the error code is 0x%llx",
			      (unsigned long long)f->error_code);
	else if (e->nargs > 2 && f->address != lang_eval(x, e->args[2].val))
		lang_diag_set(&r->diag, e->pos, 0, "the fault address is 0x%llx",
			      (unsigned long long)f->address);
	else
		return true;
	return false;
}

static bool lang_judge_signal(const struct lang_exec *x, const struct lang_expr *e,
			      const struct lang_outcome *o, struct lang_step_report *r)
{
	if (!o->have_signal)
		lang_diag_set(&r->diag, e->pos, 0, "no signal was delivered");
	else if (o->si.signo != (int)lang_eval(x, e->args[0].val) ||
		 o->si.code != (int)lang_eval(x, e->args[1].val) ||
		 (e->nargs > 2 && o->si.addr != lang_eval(x, e->args[2].val)))
		lang_diag_set(&r->diag, e->pos, 0, "a different signal was delivered");
	else
		return true;
	return false;
}

void lang_judge_call(const struct lang_exec *x, const struct lang_step *s,
		     const struct lang_outcome *o, struct lang_step_report *r)
{
	const struct lang_expr *e = s->expect;
	bool ok;

	if (!strcmp(e->name, "exit"))
		ok = lang_judge_exit(x, e, o, r);
	else if (!strcmp(e->name, "fault"))
		ok = lang_judge_fault(x, e, o, r);
	else
		ok = lang_judge_signal(x, e, o, r);
	r->status = ok ? LANG_STEP_OK : LANG_STEP_FAILED;
}

void lang_fmt_expect_call(const struct lang_exec *x, char *buf, size_t size,
			  const struct lang_expr *e)
{
	char tmp[64], val[96];
	size_t off;

	if (!strcmp(e->name, "signal")) {
		lang_fmt_signal(buf, size, (int)lang_eval(x, e->args[0].val),
				(int)lang_eval(x, e->args[1].val), e->nargs > 2,
				e->nargs > 2 ? lang_eval(x, e->args[2].val) : 0);
		return;
	}
	if (!strcmp(e->name, "exit"))
		off = (size_t)snprintf(buf, size, "exit(%s",
				       lang_exit_name(lang_eval(x, e->args[0].val), tmp, sizeof(tmp)));
	else
		off = (size_t)snprintf(buf, size, "fault(%d", (int)lang_eval(x, e->args[0].val));
	for (size_t i = 1; i < e->nargs && off < size; i++) {
		lang_fmt_expect(x, val, sizeof(val), e->args[i].val);
		off += (size_t)snprintf(buf + off, size - off, ", %s%s%s",
					e->args[i].key ? e->args[i].key : "",
					e->args[i].key ? "=" : "", val);
	}
	if (off < size)
		snprintf(buf + off, size - off, ")");
}
