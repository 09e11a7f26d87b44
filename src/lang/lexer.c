/* SPDX-License-Identifier: MIT */
/*
 * The scenario lexer: text to tokens. A newline ends a step, except inside
 * parentheses or braces, so a long call may span lines. Strings take C
 * escapes; x"..." is a byte buffer in hex. Integers are C literals
 * (decimal, 0x hex, leading-0 octal), unsigned 64-bit, and may end in a
 * size suffix: K, M or G (64M is 64 << 20).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lang/lang_int.h"

void lang_lex_init(struct lang_lexer *lx, const char *src, size_t len, struct lang_arena *arena)
{
	memset(lx, 0, sizeof(*lx));
	lx->src = src;
	lx->len = len;
	lx->line = 1;
	lx->col = 1;
	lx->arena = arena;
}

const char *lang_tok_kind_name(enum lang_tok_kind kind)
{
	static const char *const names[] = {
		[LT_EOF] = "end of file",
		[LT_NEWLINE] = "end of line",
		[LT_IDENT] = "a name",
		[LT_INT] = "an integer",
		[LT_STRING] = "a string",
		[LT_BYTES] = "a byte buffer",
		[LT_LPAREN] = "'('",
		[LT_RPAREN] = "')'",
		[LT_LBRACE] = "'{'",
		[LT_RBRACE] = "'}'",
		[LT_COMMA] = "','",
		[LT_EQ] = "'='",
		[LT_PIPE] = "'|'",
		[LT_PLUS] = "'+'",
		[LT_MINUS] = "'-'",
		[LT_COLON] = "':'",
	};

	return (unsigned int)kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

static int lx_peek(const struct lang_lexer *lx, size_t ahead)
{
	return lx->off + ahead < lx->len ? (unsigned char)lx->src[lx->off + ahead] : -1;
}

static void lx_advance(struct lang_lexer *lx)
{
	if (lx->off >= lx->len)
		return;
	if (lx->src[lx->off] == '\n') {
		lx->line++;
		lx->col = 1;
	} else {
		lx->col++;
	}
	lx->off++;
}

__attribute__((format(printf, 5, 6)))
static int lx_error(const struct lang_lexer *lx, struct lang_diag *diag, int line, int col,
		    const char *fmt, ...)
{
	va_list ap;

	diag->line = line;
	diag->col = col;
	va_start(ap, fmt);
	vsnprintf(diag->msg, sizeof(diag->msg), fmt, ap);
	va_end(ap);
	(void)lx;
	return -EINVAL;
}

/* Describes the byte at the lexer's position for a message. */
static const char *lx_describe(const struct lang_lexer *lx, char *buf, size_t size)
{
	int c = lx_peek(lx, 0);

	if (c < 0)
		snprintf(buf, size, "end of file");
	else if (c == '\n')
		snprintf(buf, size, "end of line");
	else if (isprint(c))
		snprintf(buf, size, "'%c'", c);
	else
		snprintf(buf, size, "byte 0x%02x", c);
	return buf;
}

static void lx_skip_blank(struct lang_lexer *lx)
{
	for (;;) {
		int c = lx_peek(lx, 0);

		if (c == ' ' || c == '\t' || c == '\r' || (c == '\n' && lx->depth > 0)) {
			lx_advance(lx);
		} else if (c == '#') {
			while (lx_peek(lx, 0) >= 0 && lx_peek(lx, 0) != '\n')
				lx_advance(lx);
		} else {
			return;
		}
	}
}

static int lx_digit(int c, int base)
{
	int v;

	if (c >= '0' && c <= '9')
		v = c - '0';
	else if (c >= 'a' && c <= 'f')
		v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		v = c - 'A' + 10;
	else
		return -1;
	return v < base ? v : -1;
}

static int lx_number(struct lang_lexer *lx, struct lang_tok *tok, struct lang_diag *diag)
{
	int base = 10, c, d;
	uint64_t v = 0;
	char what[32];
	bool any = false;

	if (lx_peek(lx, 0) == '0' && (lx_peek(lx, 1) == 'x' || lx_peek(lx, 1) == 'X')) {
		base = 16;
		lx_advance(lx);
		lx_advance(lx);
	} else if (lx_peek(lx, 0) == '0') {
		base = 8;
		any = true;
		lx_advance(lx);
	}
	while ((c = lx_peek(lx, 0)) >= 0 && (d = lx_digit(c, base)) >= 0) {
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return lx_error(lx, diag, tok->pos.line, tok->pos.col,
					"integer does not fit in 64 bits");
		v = v * (uint64_t)base + (uint64_t)d;
		any = true;
		lx_advance(lx);
	}
	c = lx_peek(lx, 0);
	if (any && (c == 'K' || c == 'M' || c == 'G')) {
		unsigned int shift = c == 'K' ? 10 : c == 'M' ? 20 : 30;

		if (v > UINT64_MAX >> shift)
			return lx_error(lx, diag, tok->pos.line, tok->pos.col,
					"integer does not fit in 64 bits");
		v <<= shift;
		lx_advance(lx);
		c = lx_peek(lx, 0);
	}
	if (!any || (c >= 0 && (isalnum(c) || c == '_')))
		return lx_error(lx, diag, lx->line, lx->col, "expected %s digit%s, found %s",
				base == 16 ? "a hex" : base == 8 ? "an octal" : "a",
				any ? " or a size suffix K, M, G" : "",
				lx_describe(lx, what, sizeof(what)));
	tok->kind = LT_INT;
	tok->ival = v;
	return 0;
}

/* One escape after a backslash; returns the byte or -1. */
static int lx_escape(struct lang_lexer *lx)
{
	int c = lx_peek(lx, 0), hi, lo;

	switch (c) {
	case 'n': lx_advance(lx); return '\n';
	case 't': lx_advance(lx); return '\t';
	case 'r': lx_advance(lx); return '\r';
	case '0': lx_advance(lx); return 0;
	case '\\': lx_advance(lx); return '\\';
	case '"': lx_advance(lx); return '"';
	case '\'': lx_advance(lx); return '\'';
	case 'x':
		hi = lx_digit(lx_peek(lx, 1), 16);
		lo = lx_digit(lx_peek(lx, 2), 16);
		if (hi < 0 || lo < 0)
			return -1;
		lx_advance(lx);
		lx_advance(lx);
		lx_advance(lx);
		return hi * 16 + lo;
	default:
		return -1;
	}
}

/* The body of "..." (after the quote), decoded into the arena. */
static int lx_string(struct lang_lexer *lx, struct lang_tok *tok, bool hex, struct lang_diag *diag)
{
	size_t cap = lx->len - lx->off + 1, n = 0;
	uint8_t *out = lang_arena_alloc(lx->arena, cap);
	int c, hi = -1;
	char what[32];

	if (!out)
		return -ENOMEM;
	while ((c = lx_peek(lx, 0)) != '"') {
		if (c < 0 || c == '\n')
			return lx_error(lx, diag, lx->line, lx->col,
					"unterminated string: expected '\"' before %s",
					lx_describe(lx, what, sizeof(what)));
		if (hex) {
			int d = lx_digit(c, 16);

			if (c == ' ' || c == '_') {
				lx_advance(lx);
				continue;
			}
			if (d < 0)
				return lx_error(lx, diag, lx->line, lx->col,
						"expected a hex digit in x\"...\", found %s",
						lx_describe(lx, what, sizeof(what)));
			lx_advance(lx);
			if (hi < 0) {
				hi = d;
			} else {
				out[n++] = (uint8_t)(hi * 16 + d);
				hi = -1;
			}
			continue;
		}
		if (c == '\\') {
			int line = lx->line, col = lx->col;

			lx_advance(lx);
			c = lx_escape(lx);
			if (c < 0)
				return lx_error(lx, diag, line, col,
						"unknown escape in string: expected one of \\n \\t \\r \\0 \\\\ \\\" \\xHH");
			out[n++] = (uint8_t)c;
			continue;
		}
		out[n++] = (uint8_t)c;
		lx_advance(lx);
	}
	if (hi >= 0)
		return lx_error(lx, diag, lx->line, lx->col,
				"odd number of hex digits in x\"...\": expected pairs");
	lx_advance(lx);
	tok->kind = hex ? LT_BYTES : LT_STRING;
	tok->bytes = out;
	tok->nbytes = n;
	return 0;
}

static int lx_punct(struct lang_lexer *lx, struct lang_tok *tok, struct lang_diag *diag)
{
	static const struct { char c; enum lang_tok_kind kind; int depth; } table[] = {
		{ '(', LT_LPAREN, 1 }, { ')', LT_RPAREN, -1 }, { '{', LT_LBRACE, 1 },
		{ '}', LT_RBRACE, -1 }, { ',', LT_COMMA, 0 }, { '=', LT_EQ, 0 },
		{ '|', LT_PIPE, 0 }, { '+', LT_PLUS, 0 }, { '-', LT_MINUS, 0 },
		{ ':', LT_COLON, 0 },
	};
	int c = lx_peek(lx, 0);
	char what[32];

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (c != table[i].c)
			continue;
		tok->kind = table[i].kind;
		if (table[i].depth > 0 || lx->depth > 0)
			lx->depth += table[i].depth;
		lx_advance(lx);
		return 0;
	}
	return lx_error(lx, diag, lx->line, lx->col, "unexpected %s",
			lx_describe(lx, what, sizeof(what)));
}

int lang_lex_next(struct lang_lexer *lx, struct lang_tok *tok, struct lang_diag *diag)
{
	int c, ret;

	lx_skip_blank(lx);
	memset(tok, 0, sizeof(*tok));
	tok->pos.line = lx->line;
	tok->pos.col = lx->col;
	tok->text = lx->src + lx->off;
	c = lx_peek(lx, 0);
	if (c < 0) {
		tok->kind = LT_EOF;
		return 0;
	}
	if (c == '\n') {
		tok->kind = LT_NEWLINE;
		lx_advance(lx);
		ret = 0;
	} else if (c == 'x' && lx_peek(lx, 1) == '"') {
		lx_advance(lx);
		lx_advance(lx);
		ret = lx_string(lx, tok, true, diag);
	} else if (isalpha(c) || c == '_') {
		while ((c = lx_peek(lx, 0)) >= 0 && (isalnum(c) || c == '_'))
			lx_advance(lx);
		tok->kind = LT_IDENT;
		ret = 0;
	} else if (isdigit(c)) {
		ret = lx_number(lx, tok, diag);
	} else if (c == '"') {
		lx_advance(lx);
		ret = lx_string(lx, tok, false, diag);
	} else {
		ret = lx_punct(lx, tok, diag);
	}
	tok->text_len = (size_t)(lx->src + lx->off - tok->text);
	return ret;
}
