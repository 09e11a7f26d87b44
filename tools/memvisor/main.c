/* SPDX-License-Identifier: MIT */
/* memvisor: dispatch to a verb. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <memvisor/memvisor.h>

#include "cli.h"

static const struct cli_verb verbs[] = {
	{ "tour", "walk through what memvisor models, step by step", cli_tour },
	{ "bench", "run the benchmark suites (ratios against same-run baselines)", cli_bench },
	{ "run", "run scenario files and check every expectation", cli_run },
	{ "trace", "summarise a trace written by 'run --trace'", cli_trace },
	{ "map", "draw the memory map of a VM a scenario builds (SVG, HTML)", cli_map },
	{ "snapshot", "save the VM a scenario builds to a snapshot file", cli_snapshot },
	{ "restore", "check a snapshot file and restore it into a new VM", cli_restore },
	{ "attacks", "run every known attack with each protection off and on", cli_attacks },
	{ "race", "race vCPUs against a VMM changing their memory; count windows", cli_race },
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: memvisor [--version] [--help] VERB [ARGS]\n"
		"\n"
		"memvisor is an executable, user-space model of the memory protection\n"
		"that CPUs, Linux and KVM give to processes and virtual machines: a\n"
		"simulated machine (paging, EPT, TLB, CET state), a Linux-like kernel\n"
		"that answers system calls as Linux does, to the errno, and a C API.\n"
		"\n"
		"verbs:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(out, "  %-8s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(out, "\nNew here? 'memvisor tour' walks through it, every step checked.\n"
		     "'memvisor VERB --help' describes a verb; 'man memvisor' all of them.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	/* Options before the verb only: stop at the first non-option. */
	while ((c = getopt_long(argc, argv, "+Vh", opts, NULL)) != -1) {
		switch (c) {
		case 'V':
			printf("memvisor %s (library %s)\n", MV_VERSION_STRING, mv_version());
			return CLI_OK;
		case 'h':
			usage(stdout);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (!strcmp(argv[optind], verbs[i].name)) {
			int first = optind;

			optind = 0;   /* glibc: reinitialise, so the verb parses afresh */
			return verbs[i].main(argc - first, argv + first);
		}
	}
	fprintf(stderr, "memvisor: unknown verb '%s'\n\n", argv[optind]);
	usage(stderr);
	return CLI_USAGE;
}
