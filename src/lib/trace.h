/* SPDX-License-Identifier: MIT */
/*
 * JSON-lines trace writer. An event is built on the caller's stack and
 * emitted whole, so events from several threads never interleave:
 *
 *	struct lib_trace_ev ev;
 *	if (lib_trace_begin(&ev, tr, "fault")) {
 *		lib_trace_hex(&ev, "addr", addr);
 *		lib_trace_str(&ev, "why", "maperr");
 *		lib_trace_emit(&ev);
 *	}
 *
 * gives {"seq":7,"ev":"fault","addr":"0x7f0000001000","why":"maperr"}\n.
 * Keys are written as given (callers pass literals); string values are
 * escaped. An event longer than the buffer is cut and marked
 * "truncated":true, still valid JSON.
 */
#ifndef MV_LIB_TRACE_H
#define MV_LIB_TRACE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef void (*lib_trace_sink)(void *ctx, const char *line, size_t len);

struct lib_trace {
	pthread_mutex_t lock;
	lib_trace_sink sink;      /* NULL: tracing off */
	void *ctx;
	uint64_t seq;             /* next sequence number */
};

#define LIB_TRACE_EV_MAX 512

struct lib_trace_ev {
	struct lib_trace *tr;
	size_t len;
	bool truncated;
	char buf[LIB_TRACE_EV_MAX];
};

void lib_trace_init(struct lib_trace *tr);
void lib_trace_destroy(struct lib_trace *tr);
void lib_trace_set_sink(struct lib_trace *tr, lib_trace_sink sink, void *ctx);
/* Cheap check for callers that would compute fields: false when tracing is off. */
bool lib_trace_on(struct lib_trace *tr);

/* false (and nothing to do) if tracing is off. */
bool lib_trace_begin(struct lib_trace_ev *ev, struct lib_trace *tr, const char *event);
void lib_trace_u64(struct lib_trace_ev *ev, const char *key, uint64_t v);
void lib_trace_i64(struct lib_trace_ev *ev, const char *key, int64_t v);
void lib_trace_hex(struct lib_trace_ev *ev, const char *key, uint64_t v);   /* "0x..." string */
void lib_trace_str(struct lib_trace_ev *ev, const char *key, const char *s);
void lib_trace_bool(struct lib_trace_ev *ev, const char *key, bool v);
/* Assigns the sequence number and hands the line to the sink, under the lock. */
void lib_trace_emit(struct lib_trace_ev *ev);

#endif
