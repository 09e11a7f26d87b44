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
