/* SPDX-License-Identifier: MIT */
/* Helpers every verb shares. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lang/lang.h"

char *cli_read_file(const char *verb, const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 4096, n = 0;
	char *buf = NULL;
	const char *why = NULL;

	if (!f) {
		fprintf(stderr, "memvisor %s: %s: %s\n", verb, path, strerror(errno));
		return NULL;
	}
	for (;;) {
		char *bigger = realloc(buf, cap + 1);

		if (!bigger) {
			why = "out of memory";
			break;
		}
		buf = bigger;
		n += fread(buf + n, 1, cap - n, f);
		if (ferror(f)) {
			why = strerror(errno);
			break;
		}
		if (n < cap)
			break;              /* end of file */
		if (cap > max) {
			why = "file too large";
			break;
		}
		cap *= 2;
	}
	fclose(f);
	if (!why && n > max)
		why = "file too large";
	if (why) {
		fprintf(stderr, "memvisor %s: %s: %s\n", verb, path, why);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/*
 * The source line @line of @src with a caret under column @col: at most 120
 * columns around the caret; tabs shown as spaces and other control or
 * non-ASCII bytes as '?', so the caret lines up and garbage stays harmless.
 */
static void cli_show_line(const char *src, size_t len, int line, int col)
{
	const char *p = src, *end = src + len, *eol;
	size_t from = 0, n;

	for (int l = 1; l < line && p < end; p++) {
		if (*p == '\n')
			l++;
	}
	for (eol = p; eol < end && *eol != '\n'; eol++)
		;
	n = (size_t)(eol - p);
	if (col > 100)
		from = (size_t)col - 60;
	if (from > n)
		from = n;
	if (n - from > 120)
		n = from + 120;
	fputs("  ", stderr);
	for (size_t i = from; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		fputc(c == '\t' ? ' ' : c < 0x20 || c >= 0x7f ? '?' : c, stderr);
	}
	fprintf(stderr, "\n  %*s^\n", col > 0 ? col - 1 - (int)from : 0, "");
}

int cli_load_scenario(const char *verb, const char *path, size_t max, char **src, size_t *len,
		      struct lang_program **p)
{
	struct lang_diag diag;
	int ret;

	*p = NULL;
	*src = cli_read_file(verb, path, max, len);
	if (!*src)
		return -EIO;
	ret = lang_parse(path, *src, *len, p, &diag);
	if (ret) {
		fprintf(stderr, "%s:%d:%d: error: %s\n", path, diag.line, diag.col, diag.msg);
		if (diag.line > 0)
			cli_show_line(*src, *len, diag.line, diag.col);
		free(*src);
		*src = NULL;
		return ret;
	}
	return 0;
}

char *cli_step_text(const struct lang_step *s, unsigned int flags)
{
	size_t n = lang_step_source(s, flags, NULL, 0);
	char *text = malloc(n + 1);

	if (text)
		lang_step_source(s, flags, text, n + 1);
	return text;
}

int cli_put_lines(FILE *out, const char *text, int col, int base)
{
	for (; *text; text++) {
		if (*text == '\n') {
			int in = text[1] == '}' ? base : base + 2;

			fprintf(out, "\n%*s", in, "");
			col = in;
		} else {
			fputc(*text, out);
			col++;
		}
	}
	return col;
}

/* Where a guest operation ran: its guest(...) step, and the KVM_RUN that ran it. */
static void cli_print_op_context(FILE *out, const struct lang_step_report *r)
{
	const struct lang_step *parent = lang_step_parent(r->step);

	if (!parent)
		return;
	if (r->during && r->during != parent)
		fprintf(out, "  (a guest operation of line %d, run inside the KVM_RUN of line %d)\n",
			lang_step_pos(parent).line, lang_step_pos(r->during).line);
	else
		fprintf(out, "  (a guest operation of line %d, after the last step)\n",
			lang_step_pos(parent).line);
}

void cli_print_failure(FILE *out, const struct lang_step_report *r)
{
	char *text = cli_step_text(r->step, 0);

	fprintf(out, "%s:%d: step failed: ", r->file, lang_step_pos(r->step).line);
	cli_put_lines(out, text ? text : "(out of memory)", 0, 2);
	fputc('\n', out);
	free(text);
	cli_print_op_context(out, r);
	if (r->want[0])
		fprintf(out, "  expected: %s\n", r->want);
	fprintf(out, "  got:      %s\n", r->got);
	if (r->diag.msg[0])
		fprintf(out, "  (%s)\n", r->diag.msg);
}

/* Writes @s with XML's five special characters escaped. */
void cli_xml(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&apos;", out); break;
		default:
			if ((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f)
				fputc(*s, out);
			else
				fputc('?', out);
		}
	}
}
