/* SPDX-License-Identifier: MIT */
/* Helpers every verb shares. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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
