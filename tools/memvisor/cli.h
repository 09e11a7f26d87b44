/* SPDX-License-Identifier: MIT */
/* The memvisor command line: one file per verb. */
#ifndef MV_TOOLS_CLI_H
#define MV_TOOLS_CLI_H

#include <stddef.h>

/* Exit codes of every verb. */
#define CLI_OK    0
#define CLI_FAIL  1
#define CLI_USAGE 2

struct cli_verb {
	const char *name;
	const char *summary;
	int (*main)(int argc, char **argv);   /* argv[0] is the verb */
};

/*
 * The whole file at @path, NUL-terminated, for the caller to free(); NULL
 * after a message naming the verb if it cannot be read or is larger than
 * @max bytes.
 */
char *cli_read_file(const char *verb, const char *path, size_t max, size_t *len);

/*
 * Reads and parses the scenario at @path: 0 with *src (free()) and *p
 * (lang_program_free()), or a negative errno after printing
 * "path:line:col: error: ..." and the offending line with a caret.
 */
struct lang_program;
int cli_load_scenario(const char *verb, const char *path, size_t max, char **src, size_t *len,
		      struct lang_program **p);

int cli_tour(int argc, char **argv);
int cli_bench(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_trace(int argc, char **argv);
int cli_map(int argc, char **argv);

#endif
