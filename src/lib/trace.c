/* SPDX-License-Identifier: MIT */
/*
 * JSON-lines trace writer (see trace.h). An event is assembled in the
 * caller's buffer without the lock; emit takes the lock only to number the
 * event and pass the finished line to the sink, so lines reach the sink in
 * sequence order and whole.
 */
#include <string.h>

#include "lib/trace.h"

static const char lib_trace_trunc_mark[] = ",\"truncated\":true";

/* Room kept free in the buffer so the truncation mark always fits. */
#define LIB_TRACE_BODY_MAX (LIB_TRACE_EV_MAX - (sizeof(lib_trace_trunc_mark) - 1))

void lib_trace_init(struct lib_trace *tr)
{
	pthread_mutex_init(&tr->lock, NULL);
	tr->sink = NULL;
	tr->ctx = NULL;
	tr->seq = 0;
}

void lib_trace_destroy(struct lib_trace *tr)
{
	pthread_mutex_destroy(&tr->lock);
}

void lib_trace_set_sink(struct lib_trace *tr, lib_trace_sink sink, void *ctx)
{
	pthread_mutex_lock(&tr->lock);
	tr->ctx = ctx;
	__atomic_store_n(&tr->sink, sink, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&tr->lock);
}

bool lib_trace_on(struct lib_trace *tr)
{
	return __atomic_load_n(&tr->sink, __ATOMIC_ACQUIRE) != NULL;
}

/* ---- building the body: each field goes in whole or not at all ---- */

static size_t lib_trace_room(const struct lib_trace_ev *ev)
{
	return LIB_TRACE_BODY_MAX - ev->len;
}

static bool lib_trace_put(struct lib_trace_ev *ev, const char *s, size_t n)
{
	if (n > lib_trace_room(ev))
		return false;
	memcpy(ev->buf + ev->len, s, n);
	ev->len += n;
	return true;
}

static bool lib_trace_puts(struct lib_trace_ev *ev, const char *s)
{
	return lib_trace_put(ev, s, strlen(s));
}

/* Writes `,"key":` (no comma for the first field). */
static bool lib_trace_key(struct lib_trace_ev *ev, const char *key)
{
	return (ev->len == 0 || lib_trace_put(ev, ",", 1)) && lib_trace_put(ev, "\"", 1) &&
	       lib_trace_puts(ev, key) && lib_trace_put(ev, "\":", 2);
}

/* Starts a field; false (and the event marked cut) if it cannot be added. */
static bool lib_trace_field_begin(struct lib_trace_ev *ev, const char *key, size_t *mark)
{
	if (!ev->tr || ev->truncated)
		return false;
	*mark = ev->len;
	if (lib_trace_key(ev, key))
		return true;
	ev->len = *mark;
	ev->truncated = true;
	return false;
}

static void lib_trace_field_end(struct lib_trace_ev *ev, size_t mark, bool ok)
{
	if (ok)
		return;
	ev->len = mark;
	ev->truncated = true;
}

/* Decimal or hex digits of @v, into the end of @tmp; returns the start. */
static char *lib_trace_fmt_u64(char *end, uint64_t v, unsigned int base)
{
	static const char digits[] = "0123456789abcdef";

	do {
		*--end = digits[v % base];
		v /= base;
	} while (v);
	return end;
}

static void lib_trace_number(struct lib_trace_ev *ev, const char *key, uint64_t mag,
			     bool neg, bool hex)
{
	char tmp[24], *p;
	size_t mark;
	bool ok;

	if (!lib_trace_field_begin(ev, key, &mark))
		return;
	p = lib_trace_fmt_u64(tmp + sizeof(tmp), mag, hex ? 16 : 10);
	if (hex) {
		*--p = 'x';
		*--p = '0';
		*--p = '"';
		ok = lib_trace_put(ev, p, (size_t)(tmp + sizeof(tmp) - p)) &&
		     lib_trace_put(ev, "\"", 1);
	} else {
		if (neg)
			*--p = '-';
		ok = lib_trace_put(ev, p, (size_t)(tmp + sizeof(tmp) - p));
	}
	lib_trace_field_end(ev, mark, ok);
}

void lib_trace_u64(struct lib_trace_ev *ev, const char *key, uint64_t v)
{
	lib_trace_number(ev, key, v, false, false);
}

void lib_trace_i64(struct lib_trace_ev *ev, const char *key, int64_t v)
{
	/* negate in unsigned arithmetic so INT64_MIN is fine */
	uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	lib_trace_number(ev, key, mag, v < 0, false);
}

void lib_trace_hex(struct lib_trace_ev *ev, const char *key, uint64_t v)
{
	lib_trace_number(ev, key, v, false, true);
}

void lib_trace_bool(struct lib_trace_ev *ev, const char *key, bool v)
{
	size_t mark;

	if (lib_trace_field_begin(ev, key, &mark))
		lib_trace_field_end(ev, mark, lib_trace_puts(ev, v ? "true" : "false"));
}

/* Bytes in the UTF-8 sequence led by @c (1 for stray bytes, copied as is). */
static size_t lib_trace_utf8_len(unsigned char c)
{
	if (c >= 0xf0 && c < 0xf8)
		return 4;
	if (c >= 0xe0)
		return c < 0xf0 ? 3 : 1;
	if (c >= 0xc0)
		return 2;
	return 1;
}

/*
 * Writes @s as a JSON string. If it does not fit, writes the longest prefix
 * that does (never splitting an escape or a UTF-8 sequence), closes the
 * quote and returns false.
 */
static bool lib_trace_json_string(struct lib_trace_ev *ev, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	char esc[6] = { '\\', 'u', '0', '0' };
	size_t n;

	if (!lib_trace_put(ev, "\"", 1))
		return false;
	for (; *p; p += n) {
		const char *chunk = (const char *)p;

		n = 1;
		if (*p == '"' || *p == '\\') {
			esc[1] = (char)*p;
			chunk = esc;
			n = 2;
		} else if (*p < 0x20) {
			esc[1] = 'u';
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
			chunk = esc;
			n = 6;
		} else {
			n = lib_trace_utf8_len(*p);
			if (n > 1 && strnlen((const char *)p, n) < n)
				n = 1;
		}
		/* keep one byte for the closing quote */
		if (n + 1 > lib_trace_room(ev)) {
			lib_trace_put(ev, "\"", 1);
			return false;
		}
		lib_trace_put(ev, chunk, n);
		if (chunk == esc)
			n = 1;
	}
	return lib_trace_put(ev, "\"", 1);
}

void lib_trace_str(struct lib_trace_ev *ev, const char *key, const char *s)
{
	size_t mark;

	if (!lib_trace_field_begin(ev, key, &mark))
		return;
	if (!s) {
		lib_trace_field_end(ev, mark, lib_trace_puts(ev, "null"));
		return;
	}
	/* a cut string is kept: it is valid JSON and still useful */
	if (!lib_trace_json_string(ev, s))
		ev->truncated = true;
}

bool lib_trace_begin(struct lib_trace_ev *ev, struct lib_trace *tr, const char *event)
{
	ev->tr = NULL;
	ev->len = 0;
	ev->truncated = false;
	if (!lib_trace_on(tr))
		return false;
	ev->tr = tr;
	lib_trace_str(ev, "ev", event);
	return true;
}

void lib_trace_emit(struct lib_trace_ev *ev)
{
	char line[LIB_TRACE_EV_MAX + 40], *p;
	char tmp[24], *num;
	struct lib_trace *tr = ev->tr;
	size_t n;

	if (!tr)
		return;
	if (ev->truncated) {
		memcpy(ev->buf + ev->len, lib_trace_trunc_mark, sizeof(lib_trace_trunc_mark) - 1);
		ev->len += sizeof(lib_trace_trunc_mark) - 1;
		ev->truncated = false;
	}
	pthread_mutex_lock(&tr->lock);
	if (tr->sink) {
		num = lib_trace_fmt_u64(tmp + sizeof(tmp), tr->seq++, 10);
		n = (size_t)(tmp + sizeof(tmp) - num);
		p = line;
		memcpy(p, "{\"seq\":", 7);
		p += 7;
		memcpy(p, num, n);
		p += n;
		*p++ = ',';
		memcpy(p, ev->buf, ev->len);
		p += ev->len;
		*p++ = '}';
		*p++ = '\n';
		tr->sink(tr->ctx, line, (size_t)(p - line));
	}
	pthread_mutex_unlock(&tr->lock);
	ev->tr = NULL;
}
