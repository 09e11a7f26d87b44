/* SPDX-License-Identifier: MIT */
/*
 * The one way a message travels in the scenario language: a function
 * returns a negative errno (or an ERR_PTR-style pointer) and fills a
 * struct lang_diag with where the problem is and what it is.
 */
#include <stdarg.h>
#include <stdio.h>

#include "lang/lang_int.h"

int lang_diag_set(struct lang_diag *d, struct lang_pos pos, int err, const char *fmt, ...)
{
	va_list ap;

	d->line = pos.line;
	d->col = pos.col;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
	return err;
}
