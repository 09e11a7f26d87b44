/* SPDX-License-Identifier: MIT */
/*
 * How results and expectations read in reports and traces: in the
 * language's own syntax, so a failing step's "got" can be pasted back as
 * its expectation. Numbers below 4096 (counts, fds) in decimal, others
 * (addresses) in hex; errors as -ENAME; signals with their constant
 * names; bytes as "text" or x"hex".
 */
#include <stdio.h>
#include <string.h>

#include <memvisor/uapi/kvm.h>

#include "lang/exec_int.h"
#include "lib/err.h"

void lang_fmt_value(char *buf, size_t size, long v)
{
	const char *name = v < 0 && v >= -LIB_MAX_ERRNO ? lib_errno_name(v) : NULL;

	if (name)
		snprintf(buf, size, "-%s", name);
	else if (v > -4096 && v < 4096)
		snprintf(buf, size, "%ld", v);
	else
		snprintf(buf, size, "0x%llx", (unsigned long long)v);
}

static bool lang_printable(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (b[i] < 0x20 || b[i] > 0x7e || b[i] == '"' || b[i] == '\\')
			return false;
	}
	return true;
}

void lang_fmt_bytes(char *buf, size_t size, const uint8_t *b, size_t n)
{
	size_t show = n > 64 ? 64 : n, off;
	bool text = lang_printable(b, show);

	off = (size_t)snprintf(buf, size, "%s\"", text ? "" : "x");
	for (size_t i = 0; i < show && off + 4 < size; i++) {
		if (text)
			buf[off++] = (char)b[i];
		else
			off += (size_t)snprintf(buf + off, size - off, "%02x", b[i]);
	}
	if (off < size)
		snprintf(buf + off, size - off, "\"%s", show < n ? "..." : "");
}

void lang_fmt_signal(char *buf, size_t size, int signo, int code, bool with_addr, uint64_t addr)
{
	const char *sname = lang_signal_name(signo), *cname = lang_signal_code_name(signo, code);
	char s[24], c[24];
	size_t off;

	snprintf(s, sizeof(s), "%d", signo);
	snprintf(c, sizeof(c), "%d", code);
	off = (size_t)snprintf(buf, size, "signal(%s, %s", sname ? sname : s, cname ? cname : c);
	if (off < size)
		snprintf(buf + off, size - off, with_addr ? ", 0x%llx)" : ")",
			 (unsigned long long)addr);
}

void lang_fmt_outcome(char *buf, size_t size, const struct lang_step *s,
		      const struct lang_outcome *o)
{
	if (o->have_signal)
		lang_fmt_signal(buf, size, o->si.signo, o->si.code, true, o->si.addr);
	else if (o->have_fault)
		lang_fmt_fault(buf, size, &o->fault);
	else if (o->run && o->ret == lang_exit_implied_ret(o->run->exit_reason))
		lang_fmt_exit(buf, size, o->run, o->ret);
	else if (s->desc->type == LC_GUEST && !o->ret)
		snprintf(buf, size, "%zu operation%s for KVM_RUN", s->nbody, s->nbody == 1 ? "" : "s");
	else if (s->desc->ret == LRK_BYTES && o->ret >= 0)
		lang_fmt_bytes(buf, size, o->bytes, o->nbytes);
	else if (s->desc->ret == LRK_NONE)
		snprintf(buf, size, "done");
	else
		lang_fmt_value(buf, size, o->ret);
}

void lang_fmt_expect(const struct lang_exec *x, char *buf, size_t size, const struct lang_expr *e)
{
	if (e->kind == LE_STRING || e->kind == LE_BYTES) {
		lang_fmt_bytes(buf, size, e->bytes, e->nbytes);
	} else if (e->kind == LE_CALL) {
		lang_fmt_expect_call(x, buf, size, e);
	} else {
		lang_fmt_value(buf, size, (long)lang_eval(x, e));
	}
}

const char *lang_bare_errno(const struct lang_expr *e)
{
	return e->kind == LE_NAME && e->ref == LR_CONST && lib_errno_from_name(e->name) > 0 ?
	       e->name : NULL;
}

void lang_diag_different(const struct lang_expr *e, struct lang_pos pos, struct lang_diag *diag)
{
	const char *bare = lang_bare_errno(e);

	if (bare)
		lang_diag_set(diag, pos, 0, "a different result: %s alone is the number %d; did "
			      "you mean -%s?", bare, lib_errno_from_name(bare), bare);
	else
		lang_diag_set(diag, pos, 0, "a different result");
}
