/* SPDX-License-Identifier: MIT */
/* The memvisor command line: one file per verb. */
#ifndef MV_TOOLS_CLI_H
#define MV_TOOLS_CLI_H

/* Exit codes of every verb. */
#define CLI_OK    0
#define CLI_FAIL  1
#define CLI_USAGE 2

struct cli_verb {
	const char *name;
	const char *summary;
	int (*main)(int argc, char **argv);   /* argv[0] is the verb */
};

int cli_tour(int argc, char **argv);
int cli_bench(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_trace(int argc, char **argv);
int cli_map(int argc, char **argv);

#endif
