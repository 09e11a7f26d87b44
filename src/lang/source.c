/* SPDX-License-Identifier: MIT */
/*
 * A step's source text, for every tool that shows a step (run's reports,
 * the tour, map's failures): the parser keeps each step's span, from its
 * first token to the end of its last, and this file prints it line by
 * line as written, without comments and without the blanks that start
 * and end a line. So a call wrapped over several lines prints whole, and
 * a guest block prints with its operations and its closing brace.
 */
#include <string.h>

#include "lang/lang_int.h"

struct src_out {
	char *buf;
	size_t size;
	size_t len;            /* the whole text's length, written or not */
};

static void src_put(struct src_out *o, const char *s, size_t n)
{
	if (o->len < o->size) {
		size_t room = o->size - o->len - 1;

		memcpy(o->buf + o->len, s, n < room ? n : room);
	}
	o->len += n;
}

static bool src_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/*
 * One source line without its comment and its outer blanks. A '#' inside
 * a string is text; strings never span lines (the lexer refuses them).
 */
static void src_trim(const char **line, const char **eol)
{
	const char *p = *line, *end = *eol, *q;
	bool in_string = false;

	while (p < end && src_blank(*p))
		p++;
	for (q = p; q < end && (in_string || *q != '#'); q++) {
		if (*q == '"')
			in_string = !in_string;
		else if (*q == '\\' && in_string && q + 1 < end)
			q++;
	}
	while (q > p && src_blank(q[-1]))
		q--;
	*line = p;
	*eol = q;
}

/* In one line, no blank after an opening bracket or before a closing one. */
static bool src_flat_blank(const struct src_out *o, char last, char next)
{
	return o->len && last != '(' && last != '{' && next != ')' && next != '}';
}

size_t lang_step_source(const struct lang_step *s, unsigned int flags, char *buf, size_t size)
{
	struct src_out o = { .buf = buf, .size = size };
	size_t len = flags & LANG_SRC_HEAD ? s->head_len :
		     flags & LANG_SRC_CALL ? s->call_len : s->src_len;
	const char *p = s->src, *end = s->src + len;
	char last = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *line = p, *stop = eol ? eol : end;

		p = eol ? eol + 1 : end;
		src_trim(&line, &stop);
		if (line == stop)
			continue;   /* a comment on its own line inside a wrapped step */
		if (flags & LANG_SRC_FLAT) {
			if (src_flat_blank(&o, last, *line))
				src_put(&o, " ", 1);
		} else if (o.len) {
			src_put(&o, "\n", 1);
		}
		src_put(&o, line, (size_t)(stop - line));
		last = stop[-1];
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len;
}

struct lang_pos lang_step_end(const struct lang_step *s)
{
	return s->end;
}
