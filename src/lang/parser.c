/* SPDX-License-Identifier: MIT */
/*
 * The scenario parser: tokens to steps. One step per line:
 *
 *	step  := [task ':'] [result '='] name '(' [args] ')' [body] ['=' expr]
 *	body  := '{' {op} '}'           op := name '(' [args] ')' ['=' expr]
 *	args  := arg {',' arg}          arg := [name '='] expr
 *	expr  := sum {'|' sum}          sum := unary {('+' | '-') unary}
 *	unary := '-' unary | primary
 *	primary := INT | STRING | x"HEX" | '_' | name ['(' [args] ')']
 *	         | '{' [name '=' expr {',' name '=' expr}] '}' | '(' expr ')'
 *
 * A body holds the operations of a guest program, one per line (the lexer
 * drops newlines inside braces, so the parser checks the lines itself).
 * Names are only parsed here; check.c resolves them. Every error says what
 * was expected and what was found, at the found token's position.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lang/lang_int.h"
#include "lib/alloc.h"
#include "lib/err.h"

struct lang_parser {
	struct lang_lexer lx;
	struct lang_tok cur;
	struct lang_tok next;
	struct lang_program *p;
	struct lang_diag *diag;
	int err;               /* first error, sticky */
	int depth;             /* expression nesting, bounded against garbage input */
	struct lang_pos prev_pos;  /* where the token before cur started */
	const char *prev_end;      /* ... and where it ended */
	struct lang_pos prev_end_pos;
};

#define PS_MAX_DEPTH 64

static int ps_fill(struct lang_parser *ps, struct lang_tok *tok)
{
	int ret = lang_lex_next(&ps->lx, tok, ps->diag);

	if (ret)
		ps->err = ret;
	return ret;
}

static int ps_advance(struct lang_parser *ps)
{
	if (ps->err)
		return ps->err;
	ps->prev_pos = ps->cur.pos;
	if (ps->cur.text)   /* the end-of-file token of an empty source has none */
		ps->prev_end = ps->cur.text + ps->cur.text_len;
	/* a token never spans lines: strings stop at a newline */
	ps->prev_end_pos = (struct lang_pos){ ps->cur.pos.line, ps->cur.pos.col + (int)ps->cur.text_len };
	ps->cur = ps->next;
	if (ps->cur.kind == LT_EOF)
		return 0;
	return ps_fill(ps, &ps->next);
}

/* Describes a token for "found X". */
static void ps_describe(const struct lang_tok *tok, char *buf, size_t size)
{
	switch (tok->kind) {
	case LT_IDENT:
		snprintf(buf, size, "'%.*s'", (int)(tok->text_len > 40 ? 40 : tok->text_len), tok->text);
		break;
	case LT_INT:
		snprintf(buf, size, "integer %.*s", (int)(tok->text_len > 40 ? 40 : tok->text_len),
			 tok->text);
		break;
	default:
		snprintf(buf, size, "%s", lang_tok_kind_name(tok->kind));
		break;
	}
}

/* "expected WHAT, found X" at the current token. */
static int ps_expected(struct lang_parser *ps, const char *what)
{
	char found[64];

	if (ps->err)
		return ps->err;
	ps_describe(&ps->cur, found, sizeof(found));
	return ps->err = lang_diag_set(ps->diag, ps->cur.pos, -EINVAL, "expected %s, found %s",
				       what, found);
}

/*
 * A list that does not end where it should. When the next token is on a
 * later line (newlines inside brackets do not end a step), the bracket was
 * left open: say so at the bracket, which is where the mistake is.
 */
static int ps_unclosed(struct lang_parser *ps, struct lang_pos open, enum lang_tok_kind close)
{
	const char *what = close == LT_RPAREN ? "')' after argument list" : "'}' after struct fields";
	char found[64];

	if (ps->cur.kind != LT_EOF && ps->cur.pos.line == open.line)
		return ps_expected(ps, what);
	ps_describe(&ps->cur, found, sizeof(found));
	return ps->err = lang_diag_set(ps->diag, open, -EINVAL, "'%c' is never closed: expected "
				       "%s, found %s at %d:%d", close == LT_RPAREN ? '(' : '{',
				       what, found, ps->cur.pos.line, ps->cur.pos.col);
}

/* Zeroed memory from the program's arena, or ERR_PTR(-ENOMEM), recorded. */
static void *ps_alloc(struct lang_parser *ps, size_t size)
{
	void *p = lang_arena_alloc(ps->p->arena, size);

	if (p)
		return p;
	if (!ps->err)
		ps->err = lang_diag_set(ps->diag, ps->cur.pos, -ENOMEM, "out of memory");
	return lib_err_ptr(-ENOMEM);
}

/* The token's text as a string in the arena, or ERR_PTR(-ENOMEM). */
static char *ps_name(struct lang_parser *ps, const struct lang_tok *tok)
{
	char *s = ps_alloc(ps, tok->text_len + 1);

	if (!lib_is_err(s))
		memcpy(s, tok->text, tok->text_len);
	return s;
}

/* A parse error as a pointer: the error recorded in ps->err. */
static void *ps_fail(struct lang_parser *ps)
{
	return lib_err_ptr(ps->err ? ps->err : -EINVAL);
}

static struct lang_expr *ps_expr(struct lang_parser *ps);
static int ps_args(struct lang_parser *ps, enum lang_tok_kind close, bool fields,
		   struct lang_arg **out, size_t *nout);

static struct lang_expr *ps_new(struct lang_parser *ps, enum lang_expr_kind kind,
				struct lang_pos pos)
{
	struct lang_expr *e = ps_alloc(ps, sizeof(*e));

	if (!lib_is_err(e)) {
		e->kind = kind;
		e->pos = pos;
		e->slot = -1;
	}
	return e;
}

/* A name, possibly called: signal(...), exit(...). */
static struct lang_expr *ps_name_expr(struct lang_parser *ps)
{
	struct lang_tok tok = ps->cur;
	struct lang_expr *e;
	bool blank = tok.text_len == 1 && tok.text[0] == '_';

	e = ps_new(ps, blank ? LE_BLANK : LE_NAME, tok.pos);
	if (lib_is_err(e))
		return e;
	e->name = ps_name(ps, &tok);
	if (lib_is_err(e->name) || ps_advance(ps))
		return ps_fail(ps);
	if (!blank && ps->cur.kind == LT_LPAREN) {
		e->kind = LE_CALL;
		if (ps_advance(ps) || ps_args(ps, LT_RPAREN, false, &e->args, &e->nargs))
			return ps_fail(ps);
	}
	return e;
}

/* A literal: integer, "string" or x"hex". */
static struct lang_expr *ps_literal(struct lang_parser *ps)
{
	struct lang_tok tok = ps->cur;
	struct lang_expr *e;

	e = ps_new(ps, tok.kind == LT_INT ? LE_INT : tok.kind == LT_STRING ? LE_STRING : LE_BYTES,
		   tok.pos);
	if (lib_is_err(e))
		return e;
	e->ival = tok.ival;
	e->bytes = tok.bytes;
	e->nbytes = tok.nbytes;
	return ps_advance(ps) ? ps_fail(ps) : e;
}

static struct lang_expr *ps_primary(struct lang_parser *ps)
{
	struct lang_expr *e;

	switch (ps->cur.kind) {
	case LT_INT:
	case LT_STRING:
	case LT_BYTES:
		return ps_literal(ps);
	case LT_IDENT:
		return ps_name_expr(ps);
	case LT_LBRACE:
		e = ps_new(ps, LE_STRUCT, ps->cur.pos);
		if (lib_is_err(e) || ps_advance(ps) ||
		    ps_args(ps, LT_RBRACE, true, &e->args, &e->nargs))
			return ps_fail(ps);
		return e;
	case LT_LPAREN:
		if (ps_advance(ps))
			return ps_fail(ps);
		e = ps_expr(ps);
		if (lib_is_err(e))
			return e;
		if (ps->cur.kind != LT_RPAREN)
			ps_expected(ps, "')' to close the parenthesis");
		return ps_advance(ps) ? ps_fail(ps) : e;
	default:
		ps_expected(ps, "a value (integer, name, \"string\", x\"hex\", {struct} or _)");
		return ps_fail(ps);
	}
}

static struct lang_expr *ps_unary(struct lang_parser *ps)
{
	struct lang_expr *e;
	struct lang_pos pos = ps->cur.pos;

	if (ps->cur.kind != LT_MINUS)
		return ps_primary(ps);
	if (ps->depth >= PS_MAX_DEPTH)
		ps_expected(ps, "a simpler value (nested too deeply)");
	if (ps_advance(ps))
		return ps_fail(ps);
	e = ps_new(ps, LE_NEG, pos);
	if (lib_is_err(e))
		return e;
	ps->depth++;
	e->l = ps_unary(ps);
	ps->depth--;
	return lib_is_err(e->l) ? e->l : e;
}

static struct lang_expr *ps_binary(struct lang_parser *ps, bool sum)
{
	struct lang_expr *l = sum ? ps_unary(ps) : ps_binary(ps, true);

	while (!lib_is_err(l) && (sum ? ps->cur.kind == LT_PLUS || ps->cur.kind == LT_MINUS :
				  ps->cur.kind == LT_PIPE)) {
		struct lang_expr *e = ps_new(ps, LE_BINOP, ps->cur.pos);

		if (lib_is_err(e))
			return e;
		e->op = ps->cur.kind == LT_PLUS ? '+' : ps->cur.kind == LT_MINUS ? '-' : '|';
		if (ps_advance(ps))
			return ps_fail(ps);
		e->l = l;
		e->r = sum ? ps_unary(ps) : ps_binary(ps, true);
		if (lib_is_err(e->r))
			return e->r;
		l = e;
	}
	return l;
}

/* An expression, or ERR_PTR(-errno) with the problem in the parser's diag. */
static struct lang_expr *ps_expr(struct lang_parser *ps)
{
	struct lang_expr *e;

	if (ps->depth >= PS_MAX_DEPTH) {
		ps_expected(ps, "a simpler value (nested too deeply)");
		return ps_fail(ps);
	}
	ps->depth++;
	e = ps_binary(ps, false);
	ps->depth--;
	return e;
}

static int ps_one_arg(struct lang_parser *ps, bool field, struct lang_arg *a)
{
	a->pos = ps->cur.pos;
	if (ps->cur.kind == LT_IDENT && ps->next.kind == LT_EQ) {
		a->key = ps_name(ps, &ps->cur);
		if (lib_is_err(a->key) || ps_advance(ps) || ps_advance(ps))
			return ps->err;
	} else if (field) {
		return ps_expected(ps, ps->cur.kind == LT_IDENT ? "'=' after the field name" :
				   "a field name (field=value)");
	}
	a->val = ps_expr(ps);
	return lib_is_err(a->val) ? (int)lib_ptr_err(a->val) : 0;
}

/* Arguments up to @close, the opening token already taken. */
static int ps_args(struct lang_parser *ps, enum lang_tok_kind close, bool fields,
		   struct lang_arg **out, size_t *nout)
{
	struct lang_pos open = ps->prev_pos;
	struct lang_arg buf[32];
	size_t n = 0;

	while (ps->cur.kind != close) {
		if (n == sizeof(buf) / sizeof(buf[0]))
			return ps_expected(ps, fields ? "'}' (at most 32 fields)" :
					   "')' (at most 32 arguments)");
		memset(&buf[n], 0, sizeof(buf[n]));
		if (ps_one_arg(ps, fields, &buf[n]))
			return ps->err;
		n++;
		if (ps->cur.kind == LT_COMMA) {
			if (ps_advance(ps))
				return ps->err;
			continue;
		}
		if (ps->cur.kind != close)
			return ps_unclosed(ps, open, close);
	}
	*nout = n;
	*out = n ? ps_alloc(ps, n * sizeof(**out)) : NULL;
	if (lib_is_err(*out))
		return (int)lib_ptr_err(*out);
	if (n)
		memcpy(*out, buf, n * sizeof(**out));
	return ps_advance(ps);
}

static struct lang_step *ps_new_step(struct lang_parser *ps)
{
	struct lang_program *p = ps->p;

	if (p->nsteps == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 32;
		struct lang_step *s = ps_alloc(ps, cap * sizeof(*s));

		if (lib_is_err(s))
			return s;
		if (p->nsteps)
			memcpy(s, p->steps, p->nsteps * sizeof(*s));
		p->steps = s;
		p->cap = cap;
	}
	memset(&p->steps[p->nsteps], 0, sizeof(p->steps[0]));
	p->steps[p->nsteps].result_slot = -1;
	p->steps[p->nsteps].index = p->nsteps;
	return &p->steps[p->nsteps++];
}

/* The step's source so far: from its first token to the end of the last one taken. */
static size_t ps_span(const struct lang_parser *ps, const struct lang_step *s)
{
	return (size_t)(ps->prev_end - s->src);
}

/* Closes the step's span after its expectation (or its call, without one). */
static void ps_span_end(struct lang_parser *ps, struct lang_step *s)
{
	s->src_len = ps_span(ps, s);
	s->end = ps->prev_end_pos;
}

/* The prefix "t1:" and the result "r0 =", then the call name. */
static int ps_step_head(struct lang_parser *ps, struct lang_step *s)
{
	if (ps->cur.kind == LT_IDENT && ps->next.kind == LT_COLON) {
		s->task_name = ps_name(ps, &ps->cur);
		s->task_pos = ps->cur.pos;
		if (lib_is_err(s->task_name) || ps_advance(ps) || ps_advance(ps))
			return ps->err;
	}
	if (ps->cur.kind == LT_IDENT && ps->next.kind == LT_EQ) {
		s->result_name = ps_name(ps, &ps->cur);
		s->result_pos = ps->cur.pos;
		if (lib_is_err(s->result_name) || ps_advance(ps) || ps_advance(ps))
			return ps->err;
	}
	if (ps->cur.kind != LT_IDENT)
		return ps_expected(ps, s->result_name ? "a call name after '='" : "a call name");
	s->call = ps_name(ps, &ps->cur);
	s->call_pos = ps->cur.pos;
	if (lib_is_err(s->call) || ps_advance(ps))
		return ps->err;
	if (ps->cur.kind != LT_LPAREN) {
		char what[96];

		snprintf(what, sizeof(what), "'(' after the call name '%.40s'", s->call);
		return ps_expected(ps, what);
	}
	return ps_advance(ps);
}

/* One guest operation: name '(' args ')' ['=' expr], on a line of its own. */
static int ps_op(struct lang_parser *ps, struct lang_step *parent, struct lang_step *op)
{
	memset(op, 0, sizeof(*op));
	op->result_slot = -1;
	(void)parent;   /* steps may still move: check.c sets op->parent */
	if (ps->cur.pos.line == ps->prev_pos.line)
		return ps_expected(ps, "a new line: one guest operation per line");
	if (ps->cur.kind != LT_IDENT)
		return ps_expected(ps, "a guest operation (read, write, fetch, hypercall, ...) or '}'");
	op->pos = ps->cur.pos;
	op->call_pos = ps->cur.pos;
	op->src = ps->cur.text;
	op->call = ps_name(ps, &ps->cur);
	if (lib_is_err(op->call) || ps_advance(ps))
		return ps->err;
	if (ps->cur.kind != LT_LPAREN) {
		char what[96];

		snprintf(what, sizeof(what), "'(' after the guest operation '%.40s'", op->call);
		return ps_expected(ps, what);
	}
	if (ps_advance(ps) || ps_args(ps, LT_RPAREN, false, &op->args, &op->nargs))
		return ps->err;
	op->call_len = op->head_len = ps_span(ps, op);
	if (ps->cur.kind == LT_EQ) {
		if (ps_advance(ps))
			return ps->err;
		op->expect_pos = ps->cur.pos;
		op->expect = ps_expr(ps);
		if (lib_is_err(op->expect))
			return (int)lib_ptr_err(op->expect);
	}
	ps_span_end(ps, op);
	return 0;
}

/* '{' op... '}' after a call: a guest program. */
static int ps_body(struct lang_parser *ps, struct lang_step *s)
{
	struct lang_step *ops = NULL;
	size_t n = 0, cap = 0;

	s->has_body = true;
	s->body_pos = ps->cur.pos;
	if (ps_advance(ps))
		return ps->err;
	s->head_len = ps_span(ps, s);
	while (ps->cur.kind != LT_RBRACE) {
		if (ps->cur.kind == LT_EOF)
			return ps->err = lang_diag_set(ps->diag, s->body_pos, -EINVAL, "'{' is never "
						       "closed: expected '}' after the guest "
						       "operations, found end of file");
		if (n == cap) {
			struct lang_step *grown;

			cap = cap ? cap * 2 : 8;
			grown = ps_alloc(ps, cap * sizeof(*grown));
			if (lib_is_err(grown))
				return (int)lib_ptr_err(grown);
			if (n)
				memcpy(grown, ops, n * sizeof(*ops));
			ops = grown;
		}
		if (ps_op(ps, s, &ops[n]))
			return ps->err;
		ops[n].index = n;
		n++;
	}
	s->body = ops;
	s->nbody = n;
	return ps_advance(ps);
}

static int ps_step(struct lang_parser *ps)
{
	struct lang_step *s = ps_new_step(ps);

	if (lib_is_err(s))
		return (int)lib_ptr_err(s);
	s->pos = ps->cur.pos;
	s->src = ps->cur.text;
	if (ps_step_head(ps, s) || ps_args(ps, LT_RPAREN, false, &s->args, &s->nargs))
		return ps->err;
	s->head_len = ps_span(ps, s);
	if (ps->cur.kind == LT_LBRACE && ps_body(ps, s))
		return ps->err;
	s->call_len = ps_span(ps, s);
	if (ps->cur.kind == LT_EQ) {
		if (ps_advance(ps))
			return ps->err;
		s->expect_pos = ps->cur.pos;
		s->expect = ps_expr(ps);
		if (lib_is_err(s->expect))
			return (int)lib_ptr_err(s->expect);
	}
	ps_span_end(ps, s);
	if (ps->cur.kind != LT_NEWLINE && ps->cur.kind != LT_EOF)
		return ps_expected(ps, s->expect ? "end of line after the expectation" :
				   "'=' and an expectation, or end of line");
	return 0;
}

int lang_parse_syntax(struct lang_program *p, const char *src, size_t len, struct lang_diag *diag)
{
	struct lang_parser ps;

	memset(&ps, 0, sizeof(ps));
	ps.p = p;
	ps.diag = diag;
	lang_lex_init(&ps.lx, src, len, p->arena);
	if (ps_fill(&ps, &ps.next) || ps_advance(&ps))
		return ps.err;
	while (ps.cur.kind != LT_EOF) {
		if (ps.cur.kind == LT_NEWLINE) {
			if (ps_advance(&ps))
				return ps.err;
			continue;
		}
		if (ps_step(&ps))
			return ps.err;
	}
	return 0;
}

int lang_parse(const char *file, const char *src, size_t len, struct lang_program **out,
	       struct lang_diag *diag)
{
	struct lang_program *p;
	char *copy;
	int ret = -ENOMEM;

	memset(diag, 0, sizeof(*diag));
	diag->file = file;
	*out = NULL;
	p = lib_zalloc(sizeof(*p));
	if (!p)
		goto err_nomem;
	p->file = file;
	p->arena = lang_arena_create();
	if (!p->arena)
		goto err_free;
	copy = lang_arena_strndup(p->arena, src, len);
	if (!copy)
		goto err_free;
	ret = lang_parse_syntax(p, copy, len, diag);
	if (!ret)
		ret = lang_check(p, diag);
	if (!ret)
		ret = lang_attach_stories(p, copy, len);
	if (ret)
		goto err_free;
	*out = p;
	return 0;

err_free:
	lang_program_free(p);
err_nomem:
	if (ret == -ENOMEM && !diag->msg[0])
		snprintf(diag->msg, sizeof(diag->msg), "out of memory");
	return ret;
}

void lang_program_free(struct lang_program *p)
{
	if (!p)
		return;
	lang_arena_destroy(p->arena);
	lib_free(p);
}
