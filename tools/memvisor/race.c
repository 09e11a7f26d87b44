/* SPDX-License-Identifier: MIT */
/*
 * memvisor race [--seconds N]
 * Four vCPU threads fault and write canaries while the VMM punches,
 * converts, cycles memslots, toggles dirty logging and drops pages, and a
 * witness process checks the frames it is given; then the counts: what
 * the VMM did, what the guests saw, the race windows hit, and the
 * violations, which must all be zero (else exit 1).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/race.h"
#include "cli.h"

static void race_usage(FILE *out)
{
	fprintf(out,
		"usage: memvisor race [--seconds N]\n"
		"  --seconds N  how long the VMM keeps racing the guests (default 60)\n"
		"  --help       this text\n"
		"\n"
		"exit status: 0 no violation, 1 a violation or a failed call, 2 usage error\n");
}

static void race_row(const char *what, uint64_t n)
{
	printf("  %-44s %12llu\n", what, (unsigned long long)n);
}

static void race_print(const struct race_report *r)
{
	static const char *const op_names[RACE_OP_NR] = {
		"guest_memfd punches", "private/shared conversions", "memslot delete + re-add",
		"dirty-logging toggles", "MADV_DONTNEED drops", "witness checks",
	};

	printf("memvisor race: %.1f s, 4 vCPU threads against the VMM\n\nVMM operations\n",
	       r->seconds);
	for (int i = 0; i < RACE_OP_NR; i++)
		race_row(op_names[i], r->ops[i]);
	printf("guests\n");
	race_row("canaries written and read back", r->guest_writes);
	race_row("read back their own", r->own_reads);
	race_row("read back zeros (page gone or away)", r->zero_reads);
	race_row("MMIO exits (slot away)", r->mmio_exits);
	race_row("memory-fault exits", r->memory_fault_exits);
	printf("race windows hit\n");
	race_row("stage-2 faults", r->stage2_faults);
	race_row("faults retried (raced an invalidation)", r->stage2_retries);
	race_row("invalidations", r->invalidations);
	race_row("2 MiB folios split by a punch", r->folio_splits);
	printf("violations (all must be 0)\n");
	race_row("guest read data not its own", r->foreign_reads);
	race_row("freed frame written after reuse", r->witness_corrupt);
	race_row("undocumented KVM_RUN answers", r->run_undocumented);
	race_row("frames leaked", r->frames_leaked);
}

int cli_race(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct race_report r;
	double seconds = 60;
	char *end;
	int c, ret;

	while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			seconds = strtod(optarg, &end);
			if (*end || !(seconds >= 0 && seconds <= 86400)) {
				fprintf(stderr, "memvisor race: --seconds: '%s' is not a number of "
						"seconds between 0 and 86400\n", optarg);
				return CLI_USAGE;
			}
			break;
		case 'h':
			race_usage(stdout);
			return CLI_OK;
		default:
			race_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind < argc) {
		race_usage(stderr);
		return CLI_USAGE;
	}
	ret = race_run(seconds, &r);
	if (ret) {
		fprintf(stderr, "memvisor race: a call failed: %s\n", strerror(-ret));
		return CLI_FAIL;
	}
	race_print(&r);
	return r.foreign_reads || r.witness_corrupt || r.run_undocumented || r.frames_leaked
	       ? CLI_FAIL : CLI_OK;
}
