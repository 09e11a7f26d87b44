/* SPDX-License-Identifier: MIT */
/*
 * memvisor trace: summarises a JSON-lines trace written by 'memvisor run
 * --trace': how many events of each kind, the signals by si_code, the
 * hardware faults by kind, the steps by outcome, and the sequence range.
 * Reads only the flat objects memvisor writes; other lines are counted as
 * malformed, but a file where no line is an event is not a trace at all:
 * an error, with how to make one.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lang/lang.h"

#define TRACE_KEYS 64
#define TRACE_LINE_MAX 4096

struct trace_count {
	char name[48];
	unsigned long n;
};

struct trace_table {
	struct trace_count rows[TRACE_KEYS];
	int nrows;
	unsigned long other;
};

struct trace_summary {
	unsigned long events;
	unsigned long malformed;
	unsigned long long first_seq, last_seq;
	bool have_seq;
	struct trace_table by_event, signals, faults, steps;
};

static void trace_usage(FILE *out)
{
	fprintf(out,
		"usage: memvisor trace [--json] FILE\n"
		"\n"
		"Summarises a trace written by 'memvisor run --trace FILE': events per\n"
		"kind, signals by code, hardware faults by kind, steps by outcome, and\n"
		"the first and last sequence numbers.\n"
		"\n"
		"  --json   print the summary as one JSON object\n"
		"  --help   this text\n"
		"\n"
		"exit status: 0 summarised, 1 the file could not be read or is not a\n"
		"trace, 2 usage error\n");
}

static void trace_count(struct trace_table *t, const char *name)
{
	for (int i = 0; i < t->nrows; i++) {
		if (!strcmp(t->rows[i].name, name)) {
			t->rows[i].n++;
			return;
		}
	}
	if (t->nrows == TRACE_KEYS) {
		t->other++;
		return;
	}
	/* a longer name is cut to the row's 47 characters */
	snprintf(t->rows[t->nrows].name, sizeof(t->rows[0].name), "%.47s", name);
	t->rows[t->nrows++].n = 1;
}

/* The raw value of "key": in a flat JSON object (strings without quotes); false if absent. */
static bool trace_field(const char *line, const char *key, char *out, size_t size)
{
	char pat[48];
	const char *p = line, *v;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	while ((p = strstr(p, pat)) != NULL) {
		if (p > line && (p[-1] == ',' || p[-1] == '{'))
			break;
		p++;
	}
	if (!p)
		return false;
	v = p + strlen(pat);
	if (*v == '"') {
		for (v++; *v && *v != '"' && n + 1 < size; v++) {
			if (*v == '\\' && v[1])
				v++;
			out[n++] = *v;
		}
	} else {
		while (*v && *v != ',' && *v != '}' && n + 1 < size)
			out[n++] = *v++;
	}
	out[n] = '\0';
	return true;
}

static const char *trace_fault_kind(const char *kind)
{
	static const char *const names[] = { "none", "#PF", "#GP", "#CP", "EPT violation",
					     "EPT misconfig", "bad physical address" };
	char *end;
	unsigned long k = strtoul(kind, &end, 10);

	return !*end && k < sizeof(names) / sizeof(names[0]) ? names[k] : kind;
}

static void trace_signal(struct trace_summary *s, const char *line)
{
	char signo[24], code[24], key[64];
	const char *sn, *cn;
	long sig;

	if (!trace_field(line, "signo", signo, sizeof(signo)) ||
	    !trace_field(line, "code", code, sizeof(code)))
		return;
	sig = strtol(signo, NULL, 10);
	sn = lang_signal_name((int)sig);
	cn = lang_signal_code_name((int)sig, (int)strtol(code, NULL, 10));
	snprintf(key, sizeof(key), "%s/%s", sn ? sn : signo, cn ? cn : code);
	trace_count(&s->signals, key);
}

static void trace_line(struct trace_summary *s, const char *line)
{
	char ev[48], val[48];
	unsigned long long seq;

	if (line[0] != '{' || !trace_field(line, "ev", ev, sizeof(ev))) {
		s->malformed++;
		return;
	}
	s->events++;
	trace_count(&s->by_event, ev);
	if (trace_field(line, "seq", val, sizeof(val))) {
		seq = strtoull(val, NULL, 10);
		if (!s->have_seq)
			s->first_seq = seq;
		s->last_seq = seq;
		s->have_seq = true;
	}
	if (!strcmp(ev, "signal"))
		trace_signal(s, line);
	else if (!strcmp(ev, "hw_fault") && trace_field(line, "kind", val, sizeof(val)))
		trace_count(&s->faults, trace_fault_kind(val));
	else if (!strcmp(ev, "step") && trace_field(line, "status", val, sizeof(val)))
		trace_count(&s->steps, val);
}

static void trace_print_table(const char *title, const struct trace_table *t)
{
	if (!t->nrows)
		return;
	printf("%s:\n", title);
	for (int i = 0; i < t->nrows; i++)
		printf("  %-32s %8lu\n", t->rows[i].name, t->rows[i].n);
	if (t->other)
		printf("  %-32s %8lu\n", "(other)", t->other);
}

static void trace_json_table(const char *key, const struct trace_table *t, bool last)
{
	printf("\"%s\":{", key);
	for (int i = 0; i < t->nrows; i++)
		printf("%s\"%s\":%lu", i ? "," : "", t->rows[i].name, t->rows[i].n);
	printf("}%s", last ? "" : ",");
}

static void trace_print(const char *path, const struct trace_summary *s, bool json)
{
	if (json) {
		printf("{\"events\":%lu,\"malformed\":%lu,", s->events, s->malformed);
		if (s->have_seq)
			printf("\"first_seq\":%llu,\"last_seq\":%llu,", s->first_seq, s->last_seq);
		trace_json_table("by_event", &s->by_event, false);
		trace_json_table("signals", &s->signals, false);
		trace_json_table("faults", &s->faults, false);
		trace_json_table("steps", &s->steps, true);
		printf("}\n");
		return;
	}
	printf("%s: %lu events", path, s->events);
	if (s->have_seq)
		printf(", seq %llu..%llu", s->first_seq, s->last_seq);
	if (s->malformed)
		printf(", %lu malformed lines", s->malformed);
	printf("\n");
	trace_print_table("events", &s->by_event);
	trace_print_table("signals", &s->signals);
	trace_print_table("faults", &s->faults);
	trace_print_table("steps", &s->steps);
}

int cli_trace(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct trace_summary *s;
	char line[TRACE_LINE_MAX];
	bool json = false;
	FILE *f;
	int c, ret;

	while ((c = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			trace_usage(stdout);
			return CLI_OK;
		default:
			trace_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind + 1 != argc) {
		trace_usage(stderr);
		return CLI_USAGE;
	}
	f = fopen(argv[optind], "r");
	if (!f) {
		fprintf(stderr, "memvisor trace: %s: %s\n", argv[optind], strerror(errno));
		return CLI_FAIL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		fclose(f);
		return CLI_FAIL;
	}
	while (fgets(line, sizeof(line), f))
		trace_line(s, line);
	fclose(f);
	ret = CLI_OK;
	if (!s->events) {
		fprintf(stderr, "memvisor trace: %s: not a trace: %s\n"
			"  write one with 'memvisor run --trace out.jsonl SCENARIO.mvs'\n",
			argv[optind], s->malformed ? "no line of it is a memvisor trace event" :
			"it is empty");
		ret = CLI_FAIL;
	} else {
		trace_print(argv[optind], s, json);
	}
	free(s);
	return ret;
}
