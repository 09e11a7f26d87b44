/* SPDX-License-Identifier: MIT */
/* The memvisor command line: one file per verb. */
#ifndef MV_TOOLS_CLI_H
#define MV_TOOLS_CLI_H

/* The scenario language reaches tools through lang/lang.h alone. */
#define MV_LANG_API_ONLY

#include <stdio.h>
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

/*
 * Step @s's source text (lang_step_source with @flags) in a malloc()ed
 * string, or NULL when memory runs out.
 */
struct lang_step;
char *cli_step_text(const struct lang_step *s, unsigned int flags);

/*
 * Writes a step's text (lines separated by '\n') from the current column,
 * @col: later lines are indented by @base + 2 blanks, a line that closes a
 * guest block ('}') by @base. Returns the column after the last line.
 */
int cli_put_lines(FILE *out, const char *text, int col, int base);

/*
 * A failed step as 'run' and 'map' report it: "FILE:LINE: step failed:"
 * and the step as written, what was expected, what happened and why.
 */
struct lang_step_report;
void cli_print_failure(FILE *out, const struct lang_step_report *r);

/* Writes @s with XML's five special characters escaped (SVG and HTML output). */
void cli_xml(FILE *out, const char *s);

/*
 * The bench results (NULL-terminated, in print order) drawn as one
 * self-contained SVG, or an HTML page holding it and the table; @what
 * names a suite.
 */
struct bench_result;
void bench_plot_svg(FILE *out, const struct bench_result *const *r,
		    const char *(*what)(const char *));
void bench_plot_html(FILE *out, const struct bench_result *const *r,
		     const char *(*what)(const char *));

int cli_tour(int argc, char **argv);
int cli_attacks(int argc, char **argv);
int cli_race(int argc, char **argv);
int cli_bench(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_trace(int argc, char **argv);
int cli_map(int argc, char **argv);
int cli_snapshot(int argc, char **argv);
int cli_restore(int argc, char **argv);

#endif
