/* SPDX-License-Identifier: MIT */
/*
 * Story comments: lines that start with "#:" (after blanks) are prose for a
 * reader of the scenario, such as the tour. To the lexer they are ordinary
 * comments, so running a scenario never depends on them; here they are
 * gathered, per step, from the lines between the previous step and this
 * one. Stories after the last step belong to the program.
 */
#include <errno.h>
#include <string.h>

#include "lang/lang_int.h"

/* The text of a story line ("#:" and one blank removed), or NULL if @line is not one. */
static const char *story_line(const char *line, const char *eol, size_t *len)
{
	const char *p = line;

	while (p < eol && (*p == ' ' || *p == '\t'))
		p++;
	if (eol - p < 2 || p[0] != '#' || p[1] != ':')
		return NULL;
	p += 2;
	if (p < eol && *p == ' ')
		p++;
	while (eol > p && (eol[-1] == ' ' || eol[-1] == '\t' || eol[-1] == '\r'))
		eol--;
	*len = (size_t)(eol - p);
	return p;
}

/*
 * Copies the story lines of [@from, @to) into one '\n'-separated string in
 * the arena. Returns 0 with *out NULL when there are none.
 */
static int story_collect(struct lang_arena *arena, const char *from, const char *to,
			 const char **out)
{
	size_t total = 0, len, n = 0;
	const char *line, *eol, *text;
	char *buf;

	*out = NULL;
	for (line = from; line < to; line = eol + 1) {
		eol = memchr(line, '\n', (size_t)(to - line));
		eol = eol ? eol : to;
		if (story_line(line, eol, &len))
			total += len + 1;
	}
	if (!total)
		return 0;
	buf = lang_arena_alloc(arena, total);
	if (!buf)
		return -ENOMEM;
	for (line = from; line < to; line = eol + 1) {
		eol = memchr(line, '\n', (size_t)(to - line));
		eol = eol ? eol : to;
		text = story_line(line, eol, &len);
		if (!text)
			continue;
		if (n)
			buf[n++] = '\n';
		memcpy(buf + n, text, len);
		n += len;
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

/* The start of line @line (1-based) of @src, searching forward from @p at line @at. */
static const char *story_seek(const char *p, const char *end, int *at, int line)
{
	while (*at < line && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		p = nl ? nl + 1 : end;
		(*at)++;
	}
	return p;
}

int lang_attach_stories(struct lang_program *p, const char *src, size_t len)
{
	const char *end = src + len, *from = src, *to;
	int at = 1, ret;

	for (size_t i = 0; i < p->nsteps; i++) {
		struct lang_step *s = &p->steps[i];

		to = story_seek(from, end, &at, s->pos.line);
		ret = story_collect(p->arena, from, to, &s->story);
		if (ret)
			return ret;
		/* the step's own line (a wrapped step's later lines are between steps) */
		from = story_seek(to, end, &at, s->pos.line + 1);
	}
	return story_collect(p->arena, from, end, &p->story_end);
}
