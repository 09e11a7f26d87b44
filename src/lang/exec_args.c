/* SPDX-License-Identifier: MIT */
/*
 * Arguments of a step, from expressions to the six argument registers:
 * integers are evaluated, strings and struct literals become host buffers
 * (system call arguments are host pointers, see memvisor.h), output
 * arguments get a buffer of the right size, and after the call the
 * outputs a scenario spelled out are compared with what was written.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lang/exec_int.h"
#include "lib/alloc.h"

uint64_t lang_eval(const struct lang_exec *x, const struct lang_expr *e)
{
	uint64_t l, r;

	switch (e->kind) {
	case LE_INT:
		return e->ival;
	case LE_NAME:
		return e->ref == LR_RESULT ? x->values[e->slot] : e->ival;
	case LE_NEG:
		return -lang_eval(x, e->l);
	case LE_BINOP:
		l = lang_eval(x, e->l);
		r = lang_eval(x, e->r);
		return e->op == '|' ? (l | r) : e->op == '+' ? l + r : l - r;
	default:
		return 0;
	}
}

static void lang_put_le(uint8_t *p, size_t size, uint64_t v)
{
	for (size_t i = 0; i < size && i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t lang_get_le(const uint8_t *p, size_t size)
{
	uint64_t v = 0;

	for (size_t i = 0; i < size && i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* A zeroed host buffer for argument @i; NULL (and r->why) if too large. */
static struct lang_buf *lang_new_buf(struct lang_exec *x, size_t len, const char *name,
				     struct lang_step_report *r)
{
	struct lang_buf *b = &x->bufs[x->nbufs];

	if (len > LANG_OUTBUF_MAX) {
		snprintf(r->why, sizeof(r->why), "buffer for '%s' of %zu bytes is too large "
			 "(at most %u)", name, len, LANG_OUTBUF_MAX);
		return NULL;
	}
	memset(b, 0, sizeof(*b));
	b->data = lib_zalloc(len ? len : 1);
	if (!b->data) {
		snprintf(r->why, sizeof(r->why), "out of memory for '%s'", name);
		return NULL;
	}
	b->len = len;
	b->arg_name = name;
	x->nbufs++;
	return b;
}

static void lang_fill_struct(const struct lang_exec *x, const struct lang_expr *e, uint8_t *data)
{
	for (size_t i = 0; i < e->nargs; i++) {
		const struct lang_field_desc *f = e->args[i].field;

		lang_put_le(data + f->offset, f->size, lang_eval(x, e->args[i].val));
	}
}

/*
 * A pointer-sized argument given as an integer. Only the NULL page passes:
 * the kernel answers -EFAULT for it as Linux does for a bad pointer, while
 * any other host address could be memory of this process.
 */
static int lang_int_pointer(struct lang_exec *x, const struct lang_expr *e, const char *name,
			    uint64_t *reg, struct lang_step_report *r)
{
	uint64_t v = lang_eval(x, e);

	if (v >= LANG_BAD_POINTER_MAX) {
		snprintf(r->why, sizeof(r->why), "'%s' is a host pointer: give a literal, _ or an "
			 "address below %#x (a bad pointer), not %#llx", name,
			 LANG_BAD_POINTER_MAX, (unsigned long long)v);
		return -EINVAL;
	}
	*reg = v;
	return 0;
}

/*
 * An input: bytes or a struct literal, copied to the host. @need is how many
 * bytes the call will read (its count argument), or SIZE_MAX if it reads a
 * C string or a struct of known size.
 */
static int lang_in_arg(struct lang_exec *x, const struct lang_expr *e, const char *name,
		       size_t need, uint64_t *reg, struct lang_step_report *r)
{
	struct lang_buf *b;

	if ((e->kind == LE_STRING || e->kind == LE_BYTES) && need != SIZE_MAX &&
	    need > e->nbytes) {
		snprintf(r->why, sizeof(r->why), "'%s' has %zu bytes but the call reads %zu",
			 name, e->nbytes, need);
		return -EINVAL;
	}
	if (e->kind == LE_STRING || e->kind == LE_BYTES) {
		/* one spare zero byte: a string is also a C string */
		b = lang_new_buf(x, e->nbytes + 1, name, r);
		if (!b)
			return -ENOMEM;
		memcpy(b->data, e->bytes, e->nbytes);
	} else if (e->kind == LE_STRUCT) {
		b = lang_new_buf(x, e->type->size, name, r);
		if (!b)
			return -ENOMEM;
		lang_fill_struct(x, e, b->data);
	} else {
		return lang_int_pointer(x, e, name, reg, r);
	}
	*reg = (uint64_t)(uintptr_t)b->data;
	return 0;
}

/* An output: _ is scratch, a literal is what must be written, an integer a raw pointer. */
static int lang_out_arg(struct lang_exec *x, const struct lang_expr *e, size_t size,
			const char *name, uint64_t *reg, struct lang_step_report *r)
{
	struct lang_buf *b;

	if (e->kind != LE_BLANK && e->kind != LE_STRING && e->kind != LE_BYTES &&
	    e->kind != LE_STRUCT)
		return lang_int_pointer(x, e, name, reg, r);
	if ((e->kind == LE_STRING || e->kind == LE_BYTES) && e->nbytes > size)
		size = e->nbytes;
	b = lang_new_buf(x, size, name, r);
	if (!b)
		return -ENOMEM;
	if (e->kind != LE_BLANK)
		b->pattern = e;
	*reg = (uint64_t)(uintptr_t)b->data;
	return 0;
}

static int lang_ioctl_reg(struct lang_exec *x, const struct lang_step *s, const struct lang_expr *e,
			  uint64_t *reg, struct lang_step_report *r)
{
	const struct lang_ioctl_desc *io = lang_ioctl_find(lang_eval(x, s->args[1].val));
	const struct lang_struct_desc *t = io && io->type ? lang_struct_find(io->type) : NULL;

	if (io && io->dir == LA_INT) {
		*reg = lang_eval(x, e);
		return 0;
	}
	if (!t)
		return e->kind == LE_STRING || e->kind == LE_BYTES || e->kind == LE_STRUCT ?
		       lang_in_arg(x, e, "arg", SIZE_MAX, reg, r) :
		       lang_int_pointer(x, e, "arg", reg, r);
	if (io->dir == LA_OUT)
		return lang_out_arg(x, e, t->size, "arg", reg, r);
	if (t && e->kind == LE_BLANK)
		return lang_out_arg(x, e, t->size, "arg", reg, r);
	return lang_in_arg(x, e, "arg", t->size, reg, r);
}

int lang_build_args(struct lang_exec *x, const struct lang_step *s, uint64_t a[LANG_MAX_ARGS],
		    struct lang_step_report *r)
{
	x->nbufs = 0;
	memset(a, 0, LANG_MAX_ARGS * sizeof(a[0]));
	for (size_t i = 0; i < s->nargs; i++) {
		const struct lang_arg_desc *d = &s->desc->args[i];
		const struct lang_expr *e = s->args[i].val;
		const struct lang_struct_desc *t = d->type ? lang_struct_find(d->type) : NULL;
		size_t size;
		int ret = 0;

		switch (d->kind) {
		case LA_STR:
		case LA_IN:
		case LA_BYTES:
			size = d->len_arg >= 0 ? (size_t)lang_eval(x, s->args[d->len_arg].val) :
			       t ? t->size : SIZE_MAX;
			ret = lang_in_arg(x, e, d->name, size, &a[i], r);
			break;
		case LA_OUT:
			size = t ? t->size : d->len_arg >= 0 ?
			       (size_t)lang_eval(x, s->args[d->len_arg].val) : 0;
			ret = lang_out_arg(x, e, size, d->name, &a[i], r);
			break;
		case LA_IOCTL:
			ret = lang_ioctl_reg(x, s, e, &a[i], r);
			break;
		case LA_TASK:
			break;
		default:
			a[i] = lang_eval(x, e);
			break;
		}
		if (ret)
			return ret;
	}
	return 0;
}

void lang_free_bufs(struct lang_exec *x)
{
	for (int i = 0; i < x->nbufs; i++)
		lib_free(x->bufs[i].data);
	x->nbufs = 0;
}

static bool lang_check_struct_out(struct lang_exec *x, const struct lang_buf *b,
				  struct lang_step_report *r)
{
	const struct lang_expr *e = b->pattern;

	for (size_t i = 0; i < e->nargs; i++) {
		const struct lang_field_desc *f = e->args[i].field;
		uint64_t want = lang_eval(x, e->args[i].val), got;

		if (f->size < 8)
			want &= (1ull << (8 * f->size)) - 1;
		got = lang_get_le(b->data + f->offset, f->size);
		if (got != want) {
			snprintf(r->why, sizeof(r->why), "%s.%s is 0x%llx, expected 0x%llx",
				 b->arg_name, f->name, (unsigned long long)got,
				 (unsigned long long)want);
			return false;
		}
	}
	return true;
}

bool lang_check_outputs(struct lang_exec *x, const struct lang_step *s, struct lang_step_report *r)
{
	char got[130], want[130];

	for (int i = 0; i < x->nbufs; i++) {
		const struct lang_buf *b = &x->bufs[i];
		const struct lang_expr *e = b->pattern;

		if (!e)
			continue;
		if (e->kind == LE_STRUCT) {
			if (!lang_check_struct_out(x, b, r))
				return false;
			continue;
		}
		if (!memcmp(b->data, e->bytes, e->nbytes))
			continue;
		lang_fmt_bytes(got, sizeof(got), b->data, e->nbytes);
		lang_fmt_bytes(want, sizeof(want), e->bytes, e->nbytes);
		snprintf(r->why, sizeof(r->why), "%.30s holds %s, expected %s", b->arg_name, got, want);
		return false;
	}
	(void)s;
	return true;
}
