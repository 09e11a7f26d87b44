/* SPDX-License-Identifier: MIT */
/* JSON-lines trace writer: exact output, escaping, truncation, ordering. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mvtest.h"
#include "lib/trace.h"

struct capture {
	char text[8192];
	size_t len;
	int calls;
};

static void capture_sink(void *ctx, const char *line, size_t len)
{
	struct capture *c = ctx;

	assert_true(c->len + len < sizeof(c->text));
	memcpy(c->text + c->len, line, len);
	c->len += len;
	c->text[c->len] = '\0';
	c->calls++;
}

static int setup(void **state)
{
	struct lib_trace *tr = calloc(1, sizeof(*tr));
	struct capture *c = calloc(1, sizeof(*c));

	lib_trace_init(tr);
	lib_trace_set_sink(tr, capture_sink, c);
	state[0] = tr;
	return 0;
}

static int teardown(void **state)
{
	struct lib_trace *tr = state[0];

	free(tr->ctx);
	lib_trace_destroy(tr);
	free(tr);
	return 0;
}

static struct capture *cap(void **state)
{
	return ((struct lib_trace *)state[0])->ctx;
}

static void test_trace_event_has_seq_name_and_fields(void **state)
{
	struct lib_trace *tr = state[0];
	struct lib_trace_ev ev;

	assert_true(lib_trace_begin(&ev, tr, "fault"));
	lib_trace_hex(&ev, "addr", 0x7f0000001000ull);
	lib_trace_str(&ev, "why", "maperr");
	lib_trace_u64(&ev, "n", 18446744073709551615ull);
	lib_trace_i64(&ev, "neg", INT64_MIN);
	lib_trace_i64(&ev, "pos", 7);
	lib_trace_bool(&ev, "ok", true);
	lib_trace_bool(&ev, "bad", false);
	lib_trace_hex(&ev, "zero", 0);
	lib_trace_str(&ev, "none", NULL);
	lib_trace_emit(&ev);
	assert_string_equal(cap(state)->text,
			    "{\"seq\":0,\"ev\":\"fault\",\"addr\":\"0x7f0000001000\",\"why\":\"maperr\","
			    "\"n\":18446744073709551615,\"neg\":-9223372036854775808,\"pos\":7,"
			    "\"ok\":true,\"bad\":false,\"zero\":\"0x0\",\"none\":null}\n");
	assert_int_equal(cap(state)->calls, 1);
}

static void test_trace_seq_counts_from_zero(void **state)
{
	struct lib_trace *tr = state[0];
	struct lib_trace_ev ev;
	int i;

	for (i = 0; i < 3; i++) {
		assert_true(lib_trace_begin(&ev, tr, "tick"));
		lib_trace_emit(&ev);
	}
	assert_string_equal(cap(state)->text,
			    "{\"seq\":0,\"ev\":\"tick\"}\n"
			    "{\"seq\":1,\"ev\":\"tick\"}\n"
			    "{\"seq\":2,\"ev\":\"tick\"}\n");
}

static void test_trace_strings_are_escaped(void **state)
{
	struct lib_trace *tr = state[0];
	struct lib_trace_ev ev;

	assert_true(lib_trace_begin(&ev, tr, "s"));
	lib_trace_str(&ev, "v", "a\"b\\c\nd\x01\x1f\t\xc3\xa9/");
	lib_trace_emit(&ev);
	assert_string_equal(cap(state)->text,
			    "{\"seq\":0,\"ev\":\"s\",\"v\":\"a\\\"b\\\\c\\u000ad\\u0001\\u001f"
			    "\\u0009\xc3\xa9/\"}\n");
}

static void test_trace_off_without_sink(void **state)
{
	struct lib_trace tr;
	struct lib_trace_ev ev;

	(void)state;
	lib_trace_init(&tr);
	assert_false(lib_trace_on(&tr));
	assert_false(lib_trace_begin(&ev, &tr, "x"));
	/* calls on an event that did not begin are harmless */
	lib_trace_u64(&ev, "k", 1);
	lib_trace_emit(&ev);
	assert_int_equal(tr.seq, 0);
	lib_trace_destroy(&tr);
}

static void test_trace_sink_removed_stops_output(void **state)
{
	struct lib_trace *tr = state[0];
	struct lib_trace_ev ev;

	assert_true(lib_trace_on(tr));
	lib_trace_set_sink(tr, NULL, tr->ctx);
	assert_false(lib_trace_begin(&ev, tr, "x"));
	assert_int_equal(cap(state)->calls, 0);
}

/* Asserts @line is one object ending in ,"truncated":true}\n within bounds. */
static void assert_truncated_line(const char *line)
{
	static const char tail[] = ",\"truncated\":true}\n";
	size_t n = strlen(line), quotes = 0, i;

	assert_true(n <= LIB_TRACE_EV_MAX + 32);
	assert_true(n > sizeof(tail));
	assert_string_equal(line + n - (sizeof(tail) - 1), tail);
	for (i = 0; i < n; i++) {
		if (line[i] == '\\')
			i++;
		else if (line[i] == '"')
			quotes++;
	}
	assert_int_equal(quotes % 2, 0);
}

static void test_trace_long_string_is_cut_and_marked(void **state)
{
	struct lib_trace *tr = state[0];
	struct lib_trace_ev ev;
	char big[2000];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_true(lib_trace_begin(&ev, tr, "big"));
	lib_trace_u64(&ev, "n", 1);
	lib_trace_str(&ev, "s", big);
	lib_trace_u64(&ev, "after", 2);   /* dropped: the event is already cut */
	lib_trace_emit(&ev);
	assert_truncated_line(cap(state)->text);
	assert_non_null(strstr(cap(state)->text, "{\"seq\":0,\"ev\":\"big\",\"n\":1,\"s\":\"aaaa"));
	assert_null(strstr(cap(state)->text, "after"));
	assert_int_equal(cap(state)->calls, 1);
}

static void test_trace_cut_never_splits_an_escape(void **state)
{
	struct lib_trace *tr = state[0];
	struct lib_trace_ev ev;
	char big[1000];
	size_t i;

	for (i = 0; i < sizeof(big) - 1; i++)
		big[i] = i % 3 ? '\n' : '"';
	big[sizeof(big) - 1] = '\0';
	assert_true(lib_trace_begin(&ev, tr, "esc"));
	lib_trace_str(&ev, "s", big);
	lib_trace_emit(&ev);
	assert_truncated_line(cap(state)->text);
	/* the value ends on a whole escape: ...\u000a" or ...\"" */
	assert_true(strstr(cap(state)->text, "\\u000a\",\"truncated\"") ||
		    strstr(cap(state)->text, "\\\"\",\"truncated\""));
}

static void test_trace_cut_never_splits_utf8(void **state)
{
	struct lib_trace *tr = state[0];
	struct lib_trace_ev ev;
	const char *v, *end;
	char big[3 * 300 + 1];
	size_t i;

	for (i = 0; i < 300; i++)
		memcpy(big + 3 * i, "\xe2\x82\xac", 3);   /* U+20AC, three bytes */
	big[sizeof(big) - 1] = '\0';
	assert_true(lib_trace_begin(&ev, tr, "utf"));   /* 478 bytes left: not a multiple of 3 */
	lib_trace_str(&ev, "s", big);
	lib_trace_emit(&ev);
	assert_truncated_line(cap(state)->text);
	v = strstr(cap(state)->text, "\"s\":\"") + 5;
	end = strstr(v, "\",\"truncated\"");
	assert_non_null(end);
	assert_int_equal((end - v) % 3, 0);
}

static void test_trace_many_numbers_drop_whole_fields(void **state)
{
	struct lib_trace *tr = state[0];
	struct lib_trace_ev ev;
	int i;

	assert_true(lib_trace_begin(&ev, tr, "many"));
	for (i = 0; i < 200; i++)
		lib_trace_u64(&ev, "key", 1234567890);
	lib_trace_emit(&ev);
	assert_truncated_line(cap(state)->text);
	assert_non_null(strstr(cap(state)->text, "\"key\":1234567890,\"truncated\":true}\n"));
}

static void test_trace_truncated_line_is_exact(void **state)
{
	struct lib_trace *tr = state[0];
	struct lib_trace_ev ev;
	char big[600], want[700];

	/* "ev":"t","s":"  is 14 bytes; the body holds 512 - 17 = 495 */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_true(lib_trace_begin(&ev, tr, "t"));
	lib_trace_str(&ev, "s", big);
	lib_trace_emit(&ev);
	strcpy(want, "{\"seq\":0,\"ev\":\"t\",\"s\":\"");
	/* one byte kept for the closing quote */
	memset(want + strlen(want), 'x', 495 - 14 - 1);
	strcpy(want + strlen("{\"seq\":0,\"ev\":\"t\",\"s\":\"") + 495 - 14 - 1,
	       "\",\"truncated\":true}\n");
	assert_string_equal(cap(state)->text, want);
}

struct thread_arg {
	struct lib_trace *tr;
	int id;
};

static void *trace_thread(void *p)
{
	struct thread_arg *a = p;
	struct lib_trace_ev ev;
	int i;

	for (i = 0; i < 50; i++) {
		if (lib_trace_begin(&ev, a->tr, "t")) {
			lib_trace_u64(&ev, "id", (uint64_t)a->id);
			lib_trace_emit(&ev);
		}
	}
	return NULL;
}

static void test_trace_threads_get_whole_lines_in_seq_order(void **state)
{
	struct lib_trace *tr = state[0];
	struct thread_arg args[4];
	pthread_t th[4];
	const char *p;
	char want[64];
	int i, n;

	for (i = 0; i < 4; i++) {
		args[i].tr = tr;
		args[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL, trace_thread, &args[i]), 0);
	}
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	assert_int_equal(cap(state)->calls, 200);
	for (p = cap(state)->text, n = 0; *p; n++) {
		snprintf(want, sizeof(want), "{\"seq\":%d,\"ev\":\"t\",\"id\":", n);
		assert_memory_equal(p, want, strlen(want));
		p = strchr(p, '\n') + 1;
	}
	assert_int_equal(n, 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_trace_event_has_seq_name_and_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trace_seq_counts_from_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trace_strings_are_escaped, setup, teardown),
		cmocka_unit_test(test_trace_off_without_sink),
		cmocka_unit_test_setup_teardown(test_trace_sink_removed_stops_output, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trace_long_string_is_cut_and_marked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trace_cut_never_splits_an_escape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trace_cut_never_splits_utf8, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trace_many_numbers_drop_whole_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trace_truncated_line_is_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trace_threads_get_whole_lines_in_seq_order, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
