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
#include "lib/err.h"

/* The argument a buffer or a pointer is for: its name and where it is written. */
struct lang_argref {
	const char *name;
	struct lang_pos pos;
};

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

/* A zeroed host buffer for argument @a, or ERR_PTR(-E2BIG / -ENOMEM) and why. */
static struct lang_buf *lang_new_buf(struct lang_exec *x, size_t len, const struct lang_argref *a,
				     struct lang_diag *diag)
{
	struct lang_buf *b = &x->bufs[x->nbufs];

	if (len > LANG_OUTBUF_MAX)
		return lib_err_ptr(lang_diag_set(diag, a->pos, -E2BIG, "buffer for '%s' of %zu "
						 "bytes is too large (at most %u)", a->name, len,
						 LANG_OUTBUF_MAX));
	memset(b, 0, sizeof(*b));
	b->data = lib_zalloc(len ? len : 1);
	if (!b->data)
		return lib_err_ptr(lang_diag_set(diag, a->pos, -ENOMEM, "out of memory for '%s'",
						 a->name));
	b->len = len;
	b->arg_name = a->name;
	b->pos = a->pos;
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
static int lang_int_pointer(struct lang_exec *x, const struct lang_expr *e,
			    const struct lang_argref *a, uint64_t *reg, struct lang_diag *diag)
{
	uint64_t v = lang_eval(x, e);

	if (v >= LANG_BAD_POINTER_MAX)
		return lang_diag_set(diag, a->pos, -EINVAL, "'%s' is a host pointer: give a "
				     "literal, _ or an address below %#x (a bad pointer), not %#llx",
				     a->name, LANG_BAD_POINTER_MAX, (unsigned long long)v);
	*reg = v;
	return 0;
}

/*
 * An input: bytes or a struct literal, copied to the host. @need is how many
 * bytes the call will read (its count argument), or SIZE_MAX if it reads a
 * C string or a struct of known size.
 */
static int lang_in_arg(struct lang_exec *x, const struct lang_expr *e,
		       const struct lang_argref *a, size_t need, uint64_t *reg,
		       struct lang_diag *diag)
{
	struct lang_buf *b;

	if ((e->kind == LE_STRING || e->kind == LE_BYTES) && need != SIZE_MAX &&
	    need > e->nbytes)
		return lang_diag_set(diag, a->pos, -EINVAL, "'%s' has %zu bytes but the call "
				     "reads %zu", a->name, e->nbytes, need);
	if (e->kind == LE_STRING || e->kind == LE_BYTES) {
		/* one spare zero byte: a string is also a C string */
		b = lang_new_buf(x, e->nbytes + 1, a, diag);
		if (lib_is_err(b))
			return (int)lib_ptr_err(b);
		memcpy(b->data, e->bytes, e->nbytes);
	} else if (e->kind == LE_STRUCT) {
		b = lang_new_buf(x, e->type->size, a, diag);
		if (lib_is_err(b))
			return (int)lib_ptr_err(b);
		lang_fill_struct(x, e, b->data);
	} else {
		return lang_int_pointer(x, e, a, reg, diag);
	}
	*reg = (uint64_t)(uintptr_t)b->data;
	return 0;
}

/* An output: _ is scratch, a literal is what must be written, an integer a raw pointer. */
static int lang_out_arg(struct lang_exec *x, const struct lang_expr *e, size_t size,
			const struct lang_argref *a, uint64_t *reg, struct lang_diag *diag)
{
	struct lang_buf *b;

	if (e->kind != LE_BLANK && e->kind != LE_STRING && e->kind != LE_BYTES &&
	    e->kind != LE_STRUCT)
		return lang_int_pointer(x, e, a, reg, diag);
	if ((e->kind == LE_STRING || e->kind == LE_BYTES) && e->nbytes > size)
		size = e->nbytes;
	b = lang_new_buf(x, size, a, diag);
	if (lib_is_err(b))
		return (int)lib_ptr_err(b);
	if (e->kind != LE_BLANK)
		b->pattern = e;
	*reg = (uint64_t)(uintptr_t)b->data;
	return 0;
}

static int lang_ioctl_reg(struct lang_exec *x, const struct lang_step *s,
			  const struct lang_expr *e, const struct lang_argref *a, uint64_t *reg,
			  struct lang_diag *diag)
{
	const struct lang_ioctl_desc *io = lang_ioctl_find(lang_eval(x, s->args[1].val));
	const struct lang_struct_desc *t = io && io->type ? lang_struct_find(io->type) : NULL;

	if (io && io->dir == LA_INT) {
		*reg = lang_eval(x, e);
		return 0;
	}
	if (!t)
		return e->kind == LE_STRING || e->kind == LE_BYTES || e->kind == LE_STRUCT ?
		       lang_in_arg(x, e, a, SIZE_MAX, reg, diag) :
		       lang_int_pointer(x, e, a, reg, diag);
	if (io->dir == LA_OUT || e->kind == LE_BLANK)
		return lang_out_arg(x, e, t->size, a, reg, diag);
	return lang_in_arg(x, e, a, t->size, reg, diag);
}

int lang_build_args(struct lang_exec *x, const struct lang_step *s, uint64_t a[LANG_MAX_ARGS],
		    struct lang_diag *diag)
{
	x->nbufs = 0;
	memset(a, 0, LANG_MAX_ARGS * sizeof(a[0]));
	for (size_t i = 0; i < s->nargs; i++) {
		const struct lang_arg_desc *d = &s->desc->args[i];
		const struct lang_expr *e = s->args[i].val;
		const struct lang_struct_desc *t = d->type ? lang_struct_find(d->type) : NULL;
		const struct lang_argref ref = { .name = d->name, .pos = s->args[i].pos };
		size_t size;
		int ret = 0;

		switch (d->kind) {
		case LA_STR:
		case LA_IN:
		case LA_BYTES:
			size = d->len_arg >= 0 ? (size_t)lang_eval(x, s->args[d->len_arg].val) :
			       t ? t->size : SIZE_MAX;
			ret = lang_in_arg(x, e, &ref, size, &a[i], diag);
			break;
		case LA_OUT:
			size = t ? t->size : d->len_arg >= 0 ?
			       (size_t)lang_eval(x, s->args[d->len_arg].val) : 0;
			ret = lang_out_arg(x, e, size, &ref, &a[i], diag);
			break;
		case LA_IOCTL:
			ret = lang_ioctl_reg(x, s, e, &ref, &a[i], diag);
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
				  struct lang_diag *diag)
{
	const struct lang_expr *e = b->pattern;

	for (size_t i = 0; i < e->nargs; i++) {
		const struct lang_field_desc *f = e->args[i].field;
		uint64_t want = lang_eval(x, e->args[i].val), got;

		if (f->size < 8)
			want &= (1ull << (8 * f->size)) - 1;
		got = lang_get_le(b->data + f->offset, f->size);
		if (got != want) {
			lang_diag_set(diag, e->args[i].pos, 0, "%s.%s is 0x%llx, expected 0x%llx",
				      b->arg_name, f->name, (unsigned long long)got,
				      (unsigned long long)want);
			return false;
		}
	}
	return true;
}

bool lang_check_outputs(struct lang_exec *x, const struct lang_step *s, struct lang_diag *diag)
{
	char got[130], want[130];

	for (int i = 0; i < x->nbufs; i++) {
		const struct lang_buf *b = &x->bufs[i];
		const struct lang_expr *e = b->pattern;

		if (!e)
			continue;
		if (e->kind == LE_STRUCT) {
			if (!lang_check_struct_out(x, b, diag))
				return false;
			continue;
		}
		if (!memcmp(b->data, e->bytes, e->nbytes))
			continue;
		lang_fmt_bytes(got, sizeof(got), b->data, e->nbytes);
		lang_fmt_bytes(want, sizeof(want), e->bytes, e->nbytes);
		lang_diag_set(diag, b->pos, 0, "%.30s holds %s, expected %s", b->arg_name, got, want);
		return false;
	}
	(void)s;
	return true;
}
