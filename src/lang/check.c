/* SPDX-License-Identifier: MIT */
/*
 * The checker: resolves every name of a parsed program before anything
 * runs (calls, constants, struct fields, results rN, tasks tN) and checks
 * that each argument is of the kind its call takes, so a typo is reported
 * with its position and the closest known name, never half-way through a
 * run.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <memvisor/uapi/kvm.h>

#include "lang/lang_int.h"

#define LANG_MAX_SLOTS 256

struct lang_checker {
	struct lang_program *p;
	struct lang_diag *diag;
	const struct lang_machine_key *machine_key;   /* checking machine(KEY=...) */
};

__attribute__((format(printf, 3, 4)))
static int ck_error(struct lang_checker *ck, struct lang_pos pos, const char *fmt, ...)
{
	va_list ap;

	ck->diag->line = pos.line;
	ck->diag->col = pos.col;
	va_start(ap, fmt);
	vsnprintf(ck->diag->msg, sizeof(ck->diag->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int ck_slot_find(const char **names, int n, const char *name)
{
	for (int i = 0; i < n; i++) {
		if (!strcmp(names[i], name))
			return i;
	}
	return -1;
}

/* "r12" with prefix 'r': a result name. */
static bool ck_is_slot_name(const char *name, char prefix)
{
	if (name[0] != prefix || !name[1])
		return false;
	for (const char *s = name + 1; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return false;
	}
	return true;
}

static const char *ck_expr_what(const struct lang_expr *e)
{
	switch (e->kind) {
	case LE_STRING: return "a string";
	case LE_BYTES: return "a byte buffer";
	case LE_STRUCT: return "a struct literal";
	case LE_BLANK: return "'_'";
	case LE_CALL: return "a call";
	default: return "an integer";
	}
}

/* A constant, trying the hinted prefix too: MTE -> MV_FEAT_MTE, seed -> MV_ABI_SEED. */
static int ck_const(struct lang_checker *ck, const char *name, uint64_t *value)
{
	char buf[96];
	size_t n;

	if (!lang_const_lookup(name, value))
		return 0;
	if (!ck->machine_key || !ck->machine_key->prefix)
		return -ENOENT;
	n = (size_t)snprintf(buf, sizeof(buf), "%s%s", ck->machine_key->prefix, name);
	for (size_t i = 0; i < n && i < sizeof(buf); i++)
		buf[i] = (char)toupper((unsigned char)buf[i]);
	return lang_const_lookup(buf, value);
}

static int ck_name(struct lang_checker *ck, struct lang_expr *e)
{
	struct lang_program *p = ck->p;
	const char *hint;

	e->slot = ck_slot_find(p->value_names, p->nvalues, e->name);
	if (e->slot >= 0) {
		e->ref = LR_RESULT;
		return 0;
	}
	if (ck_slot_find(p->task_names, p->ntasks, e->name) >= 0)
		return ck_error(ck, e->pos, "'%s' is a task, not a value", e->name);
	if (!ck_const(ck, e->name, &e->ival)) {
		e->ref = LR_CONST;
		return 0;
	}
	if (ck->machine_key && ck->machine_key->kind == LMK_FLAGS)
		return ck_error(ck, e->pos, "unknown feature '%s': expected SHSTK, IBT, MTE, SGX, "
				"MBEC, SMEP, SMAP or ALL", e->name);
	if (ck->machine_key && ck->machine_key->kind == LMK_CHOICE)
		return ck_error(ck, e->pos, "unknown abi '%s': expected mainline or seed", e->name);
	if (ck_is_slot_name(e->name, 'r'))
		return ck_error(ck, e->pos, "'%s' is not defined yet: expected a result named "
				"earlier by '%s = call(...)'", e->name, e->name);
	hint = lang_const_suggest(e->name);
	if (hint)
		return ck_error(ck, e->pos, "unknown name '%s' (did you mean '%s'?)", e->name, hint);
	return ck_error(ck, e->pos, "unknown name '%s'", e->name);
}

/* An integer expression: literals, constants, results, | + - of those. */
static int ck_int(struct lang_checker *ck, struct lang_expr *e, const char *what)
{
	switch (e->kind) {
	case LE_INT:
		return 0;
	case LE_NAME:
		return ck_name(ck, e);
	case LE_NEG:
		return ck_int(ck, e->l, what);
	case LE_BINOP:
		return ck_int(ck, e->l, what) ?: ck_int(ck, e->r, what);
	default:
		return ck_error(ck, e->pos, "expected an integer for %s, found %s", what,
				ck_expr_what(e));
	}
}

/* Fields of a struct literal of type @type. */
static int ck_struct(struct lang_checker *ck, struct lang_expr *e, const char *type)
{
	const struct lang_struct_desc *s = type ? lang_struct_find(type) : NULL;

	if (!s)
		return ck_error(ck, e->pos, "a struct literal does not fit here: expected an "
				"integer, a string or x\"hex\"");
	e->type = s;
	for (size_t i = 0; i < e->nargs; i++) {
		struct lang_arg *a = &e->args[i];
		const char *hint;

		a->field = lang_struct_field(s, a->key);
		if (!a->field) {
			hint = lang_struct_field_suggest(s, a->key);
			return ck_error(ck, a->pos, "struct %s has no field '%s'%s%s%s", s->name,
					a->key, hint ? " (did you mean '" : "", hint ? hint : "",
					hint ? "'?)" : "");
		}
		if (ck_int(ck, a->val, a->key))
			return -EINVAL;
	}
	return 0;
}

/* The value of an expression made of constants only (an ioctl command). */
bool lang_expr_const(const struct lang_expr *e, uint64_t *v)
{
	uint64_t l, r;

	switch (e->kind) {
	case LE_INT:
		*v = e->ival;
		return true;
	case LE_NAME:
		*v = e->ival;
		return e->ref == LR_CONST;
	case LE_NEG:
		if (!lang_expr_const(e->l, &l))
			return false;
		*v = -l;
		return true;
	case LE_BINOP:
		if (!lang_expr_const(e->l, &l) || !lang_expr_const(e->r, &r))
			return false;
		*v = e->op == '|' ? (l | r) : e->op == '+' ? l + r : l - r;
		return true;
	default:
		return false;
	}
}

static int ck_ioctl_arg(struct lang_checker *ck, struct lang_step *s, struct lang_expr *e)
{
	const struct lang_ioctl_desc *io = NULL;
	uint64_t cmd;

	if (lang_expr_const(s->args[1].val, &cmd))
		io = lang_ioctl_find(cmd);
	if (e->kind == LE_STRUCT) {
		if (!io)
			return ck_error(ck, e->pos, "this ioctl command takes no struct: expected an "
					"integer argument");
		return ck_struct(ck, e, io->type);
	}
	if (e->kind == LE_STRING || e->kind == LE_BYTES || (e->kind == LE_BLANK && io))
		return 0;
	return ck_int(ck, e, "the ioctl argument");
}

static int ck_arg(struct lang_checker *ck, struct lang_step *s, size_t i)
{
	const struct lang_arg_desc *d = &s->desc->args[i];
	struct lang_expr *e = s->args[i].val;
	char what[64];

	snprintf(what, sizeof(what), "'%s'", d->name);
	switch (d->kind) {
	case LA_STR:
		return e->kind == LE_STRING ? 0 : ck_int(ck, e, what);
	case LA_BYTES:
		if (e->kind == LE_STRING || e->kind == LE_BYTES)
			return 0;
		return ck_error(ck, e->pos, "expected \"string\" or x\"hex\" bytes for %s, found %s",
				what, ck_expr_what(e));
	case LA_IN:
	case LA_OUT:
		if (e->kind == LE_STRUCT)
			return ck_struct(ck, e, d->type);
		if ((e->kind == LE_STRING || e->kind == LE_BYTES) && d->type &&
		    lang_struct_find(d->type) && lang_struct_find(d->type)->host_pointers)
			return ck_error(ck, e->pos, "%s is a struct %s, which holds host pointers: "
					"give it as a struct literal {...}, not bytes", what, d->type);
		if (e->kind == LE_STRING || e->kind == LE_BYTES)
			return 0;
		if (e->kind == LE_BLANK && d->kind == LA_OUT)
			return 0;
		return ck_int(ck, e, what);
	case LA_IOCTL:
		return ck_ioctl_arg(ck, s, e);
	case LA_TASK:
		if (e->kind == LE_NAME) {
			e->slot = ck_slot_find(ck->p->task_names, ck->p->ntasks, e->name);
			e->ref = LR_TASK;
			if (e->slot >= 0)
				return 0;
		}
		return ck_error(ck, e->pos, "expected a task (t0, or one named by "
				"'tN = spawn()' or 'tN = clone(...)') for %s", what);
	default:
		return ck_int(ck, e, what);
	}
}

/* "addr, length, prot" for messages. */
static const char *ck_arg_names(const struct lang_call_desc *d, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < d->nargs && off < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? ", " : "",
					d->args[i].name);
	return buf;
}

/* machine(key=value, ...): keys and limits from the one table (machine.c). */
static int ck_machine(struct lang_checker *ck, struct lang_step *s, size_t index)
{
	char keys[96];

	lang_machine_keys_list(keys, sizeof(keys));
	if (index != 0)
		return ck_error(ck, s->call_pos, "machine(...) must be the first step of a scenario");
	if (s->task_name || s->result_name || s->expect)
		return ck_error(ck, s->pos, "machine(...) takes no task, result or expectation");
	for (size_t i = 0; i < s->nargs; i++) {
		struct lang_arg *a = &s->args[i];
		const char *hint;
		uint64_t v;
		int ret;

		if (!a->key)
			return ck_error(ck, a->pos, "expected key=value in machine(...): keys are %s",
					keys);
		ck->machine_key = lang_machine_key_find(a->key);
		if (!ck->machine_key) {
			hint = lang_machine_key_suggest(a->key);
			return ck_error(ck, a->pos, "unknown machine key '%s'%s%s%s: expected %s",
					a->key, hint ? " (did you mean '" : "", hint ? hint : "",
					hint ? "'?)" : "", keys);
		}
		ret = ck_int(ck, a->val, a->key);
		if (!ret && !lang_expr_const(a->val, &v))
			ret = ck_error(ck, a->val->pos, "machine '%s' must be a constant", a->key);
		if (!ret)
			ret = lang_machine_key_check(ck->machine_key, v, a->val->pos, ck->diag);
		ck->machine_key = NULL;
		if (ret)
			return ret;
	}
	return 0;
}

static int ck_signal_expect(struct lang_checker *ck, struct lang_expr *e)
{
	if (e->nargs < 2 || e->nargs > 3)
		return ck_error(ck, e->pos, "expected signal(SIGNO, CODE) or signal(SIGNO, CODE, addr)");
	for (size_t i = 0; i < e->nargs; i++) {
		if (e->args[i].key)
			return ck_error(ck, e->args[i].pos, "signal(...) takes no named arguments");
		if (ck_int(ck, e->args[i].val, i == 0 ? "the signal number" :
			   i == 1 ? "the signal code" : "the fault address"))
			return -EINVAL;
	}
	return 0;
}

/* fault(VECTOR[, ERROR_CODE[, ADDRESS]]): the exception a guest operation raised. */
static int ck_fault_expect(struct lang_checker *ck, struct lang_expr *e)
{
	if (e->nargs < 1 || e->nargs > 3)
		return ck_error(ck, e->pos, "expected fault(VECTOR), fault(VECTOR, ERROR_CODE) or "
				"fault(VECTOR, ERROR_CODE, ADDRESS)");
	for (size_t i = 0; i < e->nargs; i++) {
		if (e->args[i].key)
			return ck_error(ck, e->args[i].pos, "fault(...) takes no named arguments");
		if (ck_int(ck, e->args[i].val, i == 0 ? "the vector" : i == 1 ? "the error code" :
			   "the fault address"))
			return -EINVAL;
	}
	return 0;
}

/* Is step @s an ioctl whose command is KVM_RUN? */
static bool ck_is_kvm_run(const struct lang_step *s)
{
	uint64_t cmd;

	return s->desc->type == LC_SYSCALL && s->desc->args[0].kind == LA_FD && s->nargs == 3 &&
	       s->desc->args[2].kind == LA_IOCTL && lang_expr_const(s->args[1].val, &cmd) &&
	       lang_is_kvm_run(cmd);
}

/* exit(REASON, field=value, ...): fields of that exit, by struct kvm_run's names. */
static int ck_exit_expect(struct lang_checker *ck, struct lang_step *s, struct lang_expr *e)
{
	uint64_t reason;
	char list[160];

	if (!ck_is_kvm_run(s))
		return ck_error(ck, e->pos, "exit(...) is what ioctl(VCPU, KVM_RUN, 0) answers: "
				"expected a value, -ERRNO or signal(...) here");
	if (e->nargs < 1 || e->args[0].key)
		return ck_error(ck, e->pos, "expected exit(KVM_EXIT_..., field=value, ...)");
	if (ck_int(ck, e->args[0].val, "the exit reason"))
		return -EINVAL;
	if (!lang_expr_const(e->args[0].val, &reason))
		return ck_error(ck, e->args[0].pos, "the exit reason must be a constant "
				"(KVM_EXIT_MMIO, KVM_EXIT_HLT, ...)");
	lang_exit_fields_list(reason, list, sizeof(list));
	for (size_t i = 1; i < e->nargs; i++) {
		struct lang_arg *a = &e->args[i];
		const struct lang_exit_field *f;

		if (!a->key)
			return ck_error(ck, a->pos, "expected field=value after the exit reason "
					"(fields: %s)", list);
		f = lang_exit_field_find(reason, a->key);
		if (!f && strcmp(a->key, "ret")) {
			const char *hint = lang_exit_field_suggest(reason, a->key);

			return ck_error(ck, a->pos, "this exit has no field '%s'%s%s%s: expected %s",
					a->key, hint ? " (did you mean '" : "", hint ? hint : "",
					hint ? "'?)" : "", list);
		}
		if (f && (a->val->kind == LE_STRING || a->val->kind == LE_BYTES)) {
			if (strcmp(f->name, "data") || a->val->nbytes > f->size)
				return ck_error(ck, a->val->pos, "only data= takes bytes (at most %zu)",
						f->size);
			continue;
		}
		if (ck_int(ck, a->val, a->key))
			return -EINVAL;
	}
	return 0;
}

static int ck_call_expect(struct lang_checker *ck, struct lang_step *s, struct lang_expr *e)
{
	bool op = s->desc->type == LC_GUEST_OP;

	if (!strcmp(e->name, "signal") && !op)
		return ck_signal_expect(ck, e);
	if (!strcmp(e->name, "fault") && op)
		return ck_fault_expect(ck, e);
	if (!strcmp(e->name, "exit") && !op)
		return ck_exit_expect(ck, s, e);
	if (op)
		return ck_error(ck, e->pos, "unknown expectation '%s(...)' for a guest operation: "
				"expected fault(VECTOR[, ERROR_CODE[, ADDRESS]])", e->name);
	return ck_error(ck, e->pos, "unknown expectation '%s(...)': expected "
			"signal(SIGNO, CODE[, addr])%s", e->name,
			ck_is_kvm_run(s) ? " or exit(KVM_EXIT_..., field=value, ...)" : "");
}

static int ck_expect(struct lang_checker *ck, struct lang_step *s)
{
	struct lang_expr *e = s->expect;
	enum lang_ret_kind ret = s->desc->ret;

	if (!e)
		return 0;
	if (ret == LRK_NONE)
		return ck_error(ck, s->expect_pos, "%s(...) has no result to expect", s->call);
	if (e->kind == LE_CALL)
		return ck_call_expect(ck, s, e);
	if (ret == LRK_BYTES) {
		if (e->kind == LE_STRING || e->kind == LE_BYTES)
			return 0;
		return ck_error(ck, e->pos, "%s gives bytes: expected \"string\", x\"hex\" or "
				"signal(...) as its expectation", s->call);
	}
	if (e->kind == LE_STRING || e->kind == LE_BYTES)
		return ck_error(ck, e->pos, "%s gives a number: expected a value, -ERRNO or "
				"signal(...) as its expectation", s->call);
	return ck_int(ck, e, "the expected result");
}

/* Binds "r0 =" / "t1 =" after the step's own arguments are checked. */
static int ck_result(struct lang_checker *ck, struct lang_step *s)
{
	struct lang_program *p = ck->p;
	bool task = s->desc->ret == LRK_TASK;
	const char **names = task ? p->task_names : p->value_names;
	int *n = task ? &p->ntasks : &p->nvalues;

	if (!s->result_name)
		return 0;
	if (s->desc->ret == LRK_BYTES || s->desc->ret == LRK_NONE)
		return ck_error(ck, s->result_pos, "%s(...) has no value to name", s->call);
	if (!ck_is_slot_name(s->result_name, task ? 't' : 'r'))
		return ck_error(ck, s->result_pos, "expected a %s name like '%s' for the result "
				"of %s, found '%s'", task ? "task" : "result", task ? "t1" : "r0",
				s->call, s->result_name);
	if (task && !strcmp(s->result_name, "t0"))
		return ck_error(ck, s->result_pos, "t0 is the first task; name new tasks t1, t2, ...");
	s->result_slot = ck_slot_find(names, *n, s->result_name);
	if (s->result_slot >= 0)
		return 0;
	if (*n >= LANG_MAX_SLOTS)
		return ck_error(ck, s->result_pos, "too many names (at most %d)", LANG_MAX_SLOTS);
	names[*n] = s->result_name;
	s->result_slot = (*n)++;
	return 0;
}

static int ck_call(struct lang_checker *ck, struct lang_step *s)
{
	const char *hint;

	if (s->parent) {
		s->desc = lang_guest_op_find(s->call);
		if (s->desc)
			return 0;
		hint = lang_guest_op_suggest(s->call);
		return ck_error(ck, s->call_pos, "unknown guest operation '%s'%s%s%s: expected a guest "
				"operation (read, write, fetch, hypercall, encls, ...: "
				"docs/scenario-language.md, \"Guest programs\", lists them all)",
				s->call, hint ? " (did you mean '" : "", hint ? hint : "",
				hint ? "'?)" : "");
	}
	s->desc = lang_call_find(s->call);
	if (s->desc)
		return 0;
	hint = lang_call_suggest(s->call);
	if (hint)
		return ck_error(ck, s->call_pos, "unknown call '%s' (did you mean '%s'?)", s->call,
				hint);
	return ck_error(ck, s->call_pos, "unknown call '%s'", s->call);
}

static bool ck_is_bytes(const struct lang_expr *e)
{
	return e->kind == LE_STRING || e->kind == LE_BYTES;
}

/*
 * heki_allow_modules(VM[, MODULE, ...]): each MODULE a module's text, as
 * module_load takes it, or sha256=x"<64 hex digits>" (exec_heki.c).
 */
static int ck_heki_modules(struct lang_checker *ck, const struct lang_step *s)
{
	if (s->nargs - 1 > KVM_HEKI_POLICY_MAX)
		return ck_error(ck, s->args[KVM_HEKI_POLICY_MAX + 1].pos, "at most %d modules",
				KVM_HEKI_POLICY_MAX);
	for (size_t i = 1; i < s->nargs; i++) {
		const struct lang_arg *a = &s->args[i];
		const struct lang_expr *e = a->val;

		if (a->key && strcmp(a->key, "sha256"))
			return ck_error(ck, a->pos, "unknown key '%s': a module is its text (\"...\" "
					"or x\"...\") or sha256=x\"<64 hex digits>\"", a->key);
		if (a->key && e->kind == LE_BYTES && e->nbytes != sizeof(struct kvm_heki_module_hash))
			return ck_error(ck, e->pos, "sha256= takes a SHA-256 digest of 64 hex digits, "
					"found %zu hex digits", e->nbytes * 2);
		if (a->key && e->kind != LE_BYTES)
			return ck_error(ck, e->pos, "sha256= takes a SHA-256 digest, x\"<64 hex "
					"digits>\", found %s", ck_expr_what(e));
		if (!a->key && !ck_is_bytes(e))
			return ck_error(ck, e->pos, "expected a module's text (\"...\" or x\"...\", "
					"as module_load takes it) or sha256=x\"<64 hex digits>\", "
					"found %s", ck_expr_what(e));
		if (!a->key && !e->nbytes)
			return ck_error(ck, e->pos, "a module's text cannot be empty");
	}
	return 0;
}

/* One form of a patch site: @nforms forms so far, the first @len bytes long. */
static int ck_heki_form(struct lang_checker *ck, const struct lang_expr *e, size_t nforms,
			size_t len)
{
	if (!e->nbytes || e->nbytes > KVM_HEKI_PATCH_MAX_LEN)
		return ck_error(ck, e->pos, "a patch site's form is 1 to %d bytes, found %zu",
				KVM_HEKI_PATCH_MAX_LEN, e->nbytes);
	if (nforms && e->nbytes != len)
		return ck_error(ck, e->pos, "the forms of a patch site have one length: %zu "
				"bytes here, %zu in its first form", e->nbytes, len);
	if (nforms == KVM_HEKI_PATCH_MAX_FORMS)
		return ck_error(ck, e->pos, "a patch site has at most %d forms",
				KVM_HEKI_PATCH_MAX_FORMS);
	return 0;
}

/*
 * heki_patch_sites(VM[, GPA, FORM, ...]...): each site its GPA (an
 * integer) followed by its forms, 1 to 4 byte sequences of one length.
 */
static int ck_heki_sites(struct lang_checker *ck, const struct lang_step *s)
{
	const struct lang_arg *site = NULL;
	size_t nforms = 0, len = 0, nsites = 0;

	for (size_t i = 1; i <= s->nargs; i++) {
		const struct lang_arg *a = i < s->nargs ? &s->args[i] : NULL;

		if (a && a->key)
			return ck_error(ck, a->pos, "heki_patch_sites takes no named arguments: each "
					"site is its GPA followed by its forms");
		if (a && ck_is_bytes(a->val)) {
			if (!site)
				return ck_error(ck, a->pos, "expected the GPA of a patch site before "
						"its forms");
			if (ck_heki_form(ck, a->val, nforms++, len))
				return -EINVAL;
			len = a->val->nbytes;
			continue;
		}
		if (site && !nforms)
			return ck_error(ck, site->pos, "a patch site needs its forms: 1 to %d "
					"byte sequences (x\"...\") after its GPA",
					KVM_HEKI_PATCH_MAX_FORMS);
		if (!a)
			break;
		if (ck_int(ck, a->val, "a patch site's GPA"))
			return -EINVAL;
		if (++nsites > KVM_HEKI_POLICY_MAX)
			return ck_error(ck, a->pos, "at most %d patch sites", KVM_HEKI_POLICY_MAX);
		site = a;
		nforms = 0;
	}
	return 0;
}

static int ck_heki_policy(struct lang_checker *ck, struct lang_step *s)
{
	if (!s->nargs || s->args[0].key)
		return ck_error(ck, s->nargs ? s->args[0].pos : s->call_pos, "%s takes the VM's "
				"fd first", s->call);
	if (ck_int(ck, s->args[0].val, "'vm_fd'"))
		return -EINVAL;
	if (s->desc->nr == KVM_HEKI_POLICY_MODULE_HASHES)
		return ck_heki_modules(ck, s);
	return ck_heki_sites(ck, s);
}

static int ck_step(struct lang_checker *ck, struct lang_step *s, size_t index);

/* guest(VCPU) { ops }: the block, and each operation like a step. */
static int ck_body(struct lang_checker *ck, struct lang_step *s)
{
	if (s->has_body && s->desc->type != LC_GUEST)
		return ck_error(ck, s->body_pos, "only guest(VCPU) takes a { } block of guest "
				"operations");
	if (s->desc->type != LC_GUEST)
		return 0;
	if (!s->has_body)
		return ck_error(ck, s->call_pos, "expected guest(VCPU) { operations, one per line }");
	if (s->result_name)
		return ck_error(ck, s->result_pos, "guest(...) has no value to name");
	for (size_t i = 0; i < s->nbody; i++) {
		s->body[i].parent = s;
		if (ck_step(ck, &s->body[i], i))
			return -EINVAL;
	}
	return 0;
}

static int ck_step(struct lang_checker *ck, struct lang_step *s, size_t index)
{
	struct lang_program *p = ck->p;
	char names[128];

	if (ck_call(ck, s) || ck_body(ck, s))
		return -EINVAL;
	if (s->desc->type == LC_MACHINE)
		return ck_machine(ck, s, index);
	s->task_slot = 0;
	if (s->task_name) {
		s->task_slot = ck_slot_find(p->task_names, p->ntasks, s->task_name);
		if (s->task_slot < 0)
			return ck_error(ck, s->task_pos, "unknown task '%s': expected t0 or a task "
					"named earlier by '%s = spawn()' or '%s = clone(...)'",
					s->task_name, s->task_name, s->task_name);
	}
	if (s->desc->type == LC_HEKI_POLICY)
		return ck_heki_policy(ck, s) ?: ck_expect(ck, s) ?: ck_result(ck, s);
	if ((int)s->nargs > s->desc->nargs ||
	    (int)s->nargs < (s->desc->min_args ? s->desc->min_args : s->desc->nargs))
		return ck_error(ck, s->nargs ? s->args[0].pos : s->call_pos,
				"%s takes %d argument%s (%s), got %zu", s->call, s->desc->nargs,
				s->desc->nargs == 1 ? "" : "s", ck_arg_names(s->desc, names, sizeof(names)),
				s->nargs);
	for (size_t i = 0; i < s->nargs; i++) {
		if (s->args[i].key)
			return ck_error(ck, s->args[i].pos, "named arguments are only for machine(...): "
					"expected a value for '%s'", s->desc->args[i].name);
		if (ck_arg(ck, s, i))
			return -EINVAL;
	}
	return ck_expect(ck, s) ?: ck_result(ck, s);
}

int lang_check(struct lang_program *p, struct lang_diag *diag)
{
	struct lang_checker ck = { .p = p, .diag = diag };

	p->value_names = lang_arena_alloc(p->arena, LANG_MAX_SLOTS * sizeof(char *));
	p->task_names = lang_arena_alloc(p->arena, LANG_MAX_SLOTS * sizeof(char *));
	if (!p->value_names || !p->task_names)
		return lang_diag_set(diag, (struct lang_pos){ 0, 0 }, -ENOMEM, "out of memory");
	p->task_names[0] = "t0";
	p->ntasks = 1;
	for (size_t i = 0; i < p->nsteps; i++) {
		if (ck_step(&ck, &p->steps[i], i))
			return -EINVAL;
	}
	return 0;
}
