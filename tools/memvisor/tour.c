/* SPDX-License-Identifier: MIT */
/*
 * memvisor tour: a guided walk through what memvisor models. The tour is a
 * directory of scenario files (examples/tour/NN-name.mvs, installed under
 * share/memvisor/tour), one chapter each, run in name order on a fresh
 * machine. Their "#:" story comments (src/lang/story.c) say what the
 * hardware does, what the kernel answers and what an attacker gets; the
 * tour prints each story before the steps it belongs to, then every step
 * with the result the machine really gave. A story line "# Title" names the
 * chapter, "## Heading" starts a numbered section.
 *
 * Every step is checked against the expectation its file writes; one that
 * misbehaves is shown with what it should have given, and the tour exits 1.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "lang/lang.h"

#define TOUR_WIDTH    80
#define TOUR_FILE_MAX (1u << 20)

struct tour_chapter {
	char *path;
	char *name;              /* file name without ".mvs" */
	char *src;
	size_t len;
	struct lang_program *p;  /* NULL: did not parse */
	const char *title;       /* into the program's stories; NULL: none */
	size_t title_len;
};

/* A step's report, held until its section prints. */
struct tour_held {
	struct lang_step_report r;
	int place;               /* enum tour_place */
	bool shown;
};

struct tour {
	bool color;
	int number;              /* the chapter being run, from 1 */
	int nchapters;
	int section;             /* "## " headings so far in this chapter */
	size_t next_story;       /* first step whose story is not printed yet */
	bool fresh;              /* nothing printed since the chapter header */
	struct tour_held *held;  /* the current section's steps, not printed yet */
	size_t nheld, capheld;
	const struct lang_program *p;
	int steps;
	int failures;
};

static void tour_usage(FILE *out)
{
	fprintf(out,
		"usage: memvisor tour [--dir DIR] [--list] [CHAPTER...]\n"
		"\n"
		"Walks through what memvisor models, one chapter per scenario file:\n"
		"a short story per step (what the hardware does, what the kernel\n"
		"answers, what an attacker gets), then the step and its real result.\n"
		"Every result is checked against the scenario file.\n"
		"\n"
		"  CHAPTER        run only these chapters: a file name (05-shadow-stacks),\n"
		"                 the name without its number (shadow-stacks), or the\n"
		"                 number (5)\n"
		"  --list         list the chapters and exit\n"
		"  --dir DIR      read the chapters from DIR instead of the installed\n"
		"                 or source-tree examples/tour\n"
		"  --help         this text\n"
		"\n"
		"exit status: 0 every step behaved as described, 1 a step did not (or\n"
		"a chapter could not be read), 2 usage error\n");
}

/* ---- finding and reading the chapters ---- */

static bool tour_is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

/*
 * The chapter directory: the one installed next to the binary
 * (BINDIR/../share/memvisor/tour), else the source tree this binary was
 * built from. Copies it into @buf; false if neither exists.
 */
static bool tour_find_dir(char *buf, size_t size)
{
#ifdef MV_TOUR_INSTALL_REL
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			char dir[PATH_MAX + 64];

			*slash = '\0';
			snprintf(dir, sizeof(dir), "%s/%s", exe, MV_TOUR_INSTALL_REL);
			/* PREFIX/share/memvisor/tour, not PREFIX/bin/../share/... */
			if (size >= PATH_MAX && tour_is_dir(dir) && realpath(dir, buf))
				return true;
		}
	}
#endif
#ifdef MV_TOUR_SOURCE_DIR
	if ((size_t)snprintf(buf, size, "%s", MV_TOUR_SOURCE_DIR) < size && tour_is_dir(buf))
		return true;
#endif
	return false;
}

static int tour_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 4 && !strcmp(d->d_name + n - 4, ".mvs");
}

/* The chapter's title: its first story line "# Title". */
static void tour_find_title(struct tour_chapter *c)
{
	const struct lang_program *p = c->p;

	for (size_t i = 0; i <= lang_program_nsteps(p); i++) {
		const char *s = i < lang_program_nsteps(p) ? lang_step_story(lang_program_step(p, i)) :
				lang_program_story_end(p);

		while (s && *s) {
			size_t len = strcspn(s, "\n");

			if (len >= 2 && s[0] == '#' && s[1] == ' ') {
				c->title = s + 2;
				c->title_len = len - 2;
				return;
			}
			s += len + (s[len] == '\n');
		}
	}
}

/* Reads and parses one chapter; a parse error is printed and leaves p NULL. */
static int tour_load(struct tour_chapter *c)
{
	int ret = cli_load_scenario("tour", c->path, TOUR_FILE_MAX, &c->src, &c->len, &c->p);

	if (ret)
		return ret;
	tour_find_title(c);
	return 0;
}

static void tour_free(struct tour_chapter *cs, int n)
{
	for (int i = 0; i < n; i++) {
		lang_program_free(cs[i].p);
		free(cs[i].src);
		free(cs[i].path);
		free(cs[i].name);
	}
	free(cs);
}

/* Every chapter of @dir in name order; the count, or -errno with a message. */
static int tour_list_dir(const char *dir, struct tour_chapter **out)
{
	struct dirent **ents;
	struct tour_chapter *cs;
	int n = scandir(dir, &ents, tour_filter, alphasort), ok = n, err = errno;

	if (n < 0) {
		fprintf(stderr, "memvisor tour: %s: %s\n", dir, strerror(err));
		return -err;
	}
	cs = calloc((size_t)(n ? n : 1), sizeof(*cs));
	for (int i = 0; i < n; i++) {
		size_t len = strlen(ents[i]->d_name);

		if (cs)
			cs[i].path = malloc(strlen(dir) + len + 2);
		if (cs && cs[i].path)
			sprintf(cs[i].path, "%s/%s", dir, ents[i]->d_name);
		else
			ok = -ENOMEM;
		if (cs)
			cs[i].name = strndup(ents[i]->d_name, len - 4);
		if (cs && !cs[i].name)
			ok = -ENOMEM;
		free(ents[i]);
	}
	free(ents);
	if (!cs || ok < 0) {
		fprintf(stderr, "memvisor tour: out of memory\n");
		if (cs)
			tour_free(cs, n);
		return -ENOMEM;
	}
	*out = cs;
	return n;
}

/* Does @arg name chapter @c (number @number)? */
static bool tour_matches(const struct tour_chapter *c, int number, const char *arg)
{
	const char *bare = c->name + strspn(c->name, "0123456789");
	size_t n = strlen(arg);
	char *end;
	long v;

	if (n > 4 && !strcmp(arg + n - 4, ".mvs"))
		n -= 4;   /* the file name itself */
	if ((strlen(c->name) == n && !strncmp(arg, c->name, n)) ||
	    (*bare == '-' && strlen(bare + 1) == n && !strncmp(arg, bare + 1, n)))
		return true;
	v = strtol(arg, &end, 10);
	return *arg && !*end && v == number;
}

/* ---- printing ---- */

static void tour_bold(const struct tour *t, bool on)
{
	if (t->color)
		fputs(on ? "\033[1m" : "\033[0m", stdout);
}

static void tour_heading(struct tour *t, const char *text, size_t len)
{
	t->fresh = false;
	printf("\n");
	tour_bold(t, true);
	printf("%d.%d  %.*s", t->number, ++t->section, (int)len, text);
	tour_bold(t, false);
	printf("\n");
}

/*
 * One story, line by line: "# Title" was the chapter header already, "## "
 * lines are section headings, the rest is prose, indented. Runs of blank
 * lines print as one.
 */
static void tour_story(struct tour *t, const char *s)
{
	bool blank = true;   /* a heading or a blank line came just before */

	while (s && *s) {
		size_t len = strcspn(s, "\n");

		if (len >= 2 && s[0] == '#' && s[1] == ' ') {
			/* the title */
		} else if (len >= 3 && !strncmp(s, "## ", 3)) {
			tour_heading(t, s + 3, len - 3);
			blank = false;
		} else if (!len) {
			if (!blank)
				printf("\n");
			blank = true;
		} else {
			if (t->fresh)
				printf("\n");
			t->fresh = false;
			printf("  %.*s\n", (int)len, s);
			blank = false;
		}
		s += len + (s[len] == '\n');
	}
}

/*
 * Where a held report prints. A guest program's operations print inside
 * its block, in source order, when the KVM_RUN right after the block ran
 * them: there source order is the order things happened. Any other
 * operation (finished by a later KVM_RUN, or by none) prints under the
 * step it ran in, marked "guest:", so nothing shows out of order unsaid.
 */
enum tour_place {
	TOUR_STEP,       /* a step of the program */
	TOUR_IN_BLOCK,   /* an operation inside its guest block */
	TOUR_UNDER_RUN,  /* an operation under the KVM_RUN that finished it */
};

static bool tour_runs_block(const struct lang_step_report *r)
{
	const struct lang_step *parent = lang_step_parent(r->step);

	return r->during && !lang_step_parent(r->during) &&
	       lang_step_index(r->during) == lang_step_index(parent) + 1;
}

/* Places every held report; an operation goes in its block only if the block is held too. */
static void tour_place_held(struct tour *t)
{
	for (size_t i = 0; i < t->nheld; i++) {
		const struct lang_step *parent = lang_step_parent(t->held[i].r.step);
		bool block_held = false;

		t->held[i].place = TOUR_STEP;
		if (!parent)
			continue;
		for (size_t j = 0; j < i; j++)
			block_held |= t->held[j].r.step == parent;
		t->held[i].place = block_held && tour_runs_block(&t->held[i].r) ?
				   TOUR_IN_BLOCK : TOUR_UNDER_RUN;
	}
}

static int tour_indent(const struct tour_held *h)
{
	return h->place == TOUR_STEP ? 4 : 6;
}

static const char *tour_prefix(const struct tour_held *h)
{
	return h->place == TOUR_UNDER_RUN ? "guest: " : "";
}

/* The step as written, without its expectation (a guest step up to its '{'). */
static char *tour_text(const struct tour_held *h)
{
	return cli_step_text(h->r.step, LANG_SRC_HEAD);
}

/* The width a step's call takes in the column of calls; a wrapped one none. */
static int tour_width(const struct tour_held *h)
{
	char *text = tour_text(h);
	int w = 0;

	if (text && !strchr(text, '\n'))
		w = (int)strlen(text) + (int)strlen(tour_prefix(h)) + tour_indent(h) - 4;
	free(text);
	return w;
}

/*
 * The column a section's results line up at: the call width that lines up
 * the most of its steps within the terminal (the narrowest, on a tie).
 * Steps whose call or result is too long for it go on unaligned.
 */
static int tour_section_pad(const struct tour *t)
{
	int best = 0, best_n = -1;

	for (size_t i = 0; i < t->nheld; i++) {
		int pad = tour_width(&t->held[i]), n = 0;

		for (size_t j = 0; j < t->nheld; j++) {
			const struct tour_held *h = &t->held[j];

			n += tour_width(h) <= pad && 4 + pad + 3 + (int)strlen(h->r.got) <= TOUR_WIDTH;
		}
		if (n > best_n || (n == best_n && pad < best)) {
			best = pad;
			best_n = n;
		}
	}
	return best;
}

/* "= RESULT" on a line of its own, broken after commas to stay within the width. */
static void tour_put_result(int in, const char *got)
{
	int col = in + 6;

	printf("%*s= ", in + 4, "");
	while (*got) {
		const char *comma = strstr(got, ", ");
		int n = comma ? (int)(comma - got) + 1 : (int)strlen(got);

		if (col > in + 6 && col + 1 + n > TOUR_WIDTH) {
			printf("\n%*s", in + 6, "");
			col = in + 6;
		} else if (col > in + 6) {
			putchar(' ');
			col++;
		}
		printf("%.*s", n, got);
		col += n;
		got += n + (comma ? 1 : 0);
	}
	putchar('\n');
}

/* What a step that misbehaved should have done, in red. */
static void tour_print_why(const struct tour *t, const struct lang_step_report *r)
{
	int line = lang_step_pos(r->step).line;

	if (r->status == LANG_STEP_OK)
		return;
	if (t->color)
		fputs("\033[1;31m", stdout);
	if (r->status == LANG_STEP_NOTE)
		printf("    !! this call failed; the chapter expects it to succeed\n");
	else if (r->status == LANG_STEP_SKIPPED)
		printf("    !! not run (%s:%d)\n", r->file, line);
	else if (r->want[0])
		printf("    !! expected %s (%s:%d)\n", r->want, r->file, line);
	else
		printf("    !! this step should not fail (%s:%d)\n", r->file, line);
	if (r->diag.msg[0])
		printf("       %s\n", r->diag.msg);
	if (t->color)
		fputs("\033[0m", stdout);
}

/* One step: its call as written (a wrapped one on its lines), then " = RESULT". */
static void tour_print_step(const struct tour *t, const struct tour_held *h, int pad)
{
	const char *prefix = tour_prefix(h), *got = h->r.got;
	char *text = tour_text(h);
	int in = tour_indent(h), call, col;

	if (!text)
		return;
	call = (int)strlen(prefix) + (int)strlen(text);
	pad -= in - 4;   /* results still line up with the steps' */
	if (strchr(text, '\n')) {
		printf("%*s%s", in, "", prefix);
		col = cli_put_lines(stdout, text, in + (int)strlen(prefix), in);
		if (col + 3 + (int)strlen(got) <= TOUR_WIDTH)
			printf(" = %s\n", got);
		else {
			putchar('\n');
			tour_put_result(in, got);
		}
	} else if (in + pad + 3 + (int)strlen(got) <= TOUR_WIDTH && pad >= call) {
		printf("%*s%s%-*s = %s\n", in, "", prefix, pad - (int)strlen(prefix), text, got);
	} else if (in + call + 3 + (int)strlen(got) <= TOUR_WIDTH) {
		printf("%*s%s%s = %s\n", in, "", prefix, text, got);
	} else {
		printf("%*s%s%s\n", in, "", prefix, text);
		tour_put_result(in, got);
	}
	free(text);
	tour_print_why(t, &h->r);
}

static struct tour_held *tour_held_op(struct tour *t, const struct lang_step *op)
{
	for (size_t i = 0; i < t->nheld; i++) {
		if (t->held[i].r.step == op)
			return &t->held[i];
	}
	return NULL;
}

/* Where the result of an operation left out of its block is. */
static const char *tour_op_elsewhere(const struct tour_held *op)
{
	if (!op)
		return "# result further down";
	return op->r.during ? "# finished by the KVM_RUN below" : "# never run: no KVM_RUN got to it";
}

/*
 * A guest program: "guest(VCPU) {", each operation in source order (with
 * its result when the next KVM_RUN ran it, else a note that a later one
 * does), and the closing brace.
 */
static void tour_print_block(struct tour *t, const struct tour_held *h, int pad)
{
	const struct lang_step *s = h->r.step;

	tour_print_step(t, h, pad);
	for (size_t i = 0; i < lang_step_nops(s); i++) {
		struct tour_held *op = tour_held_op(t, lang_step_op(s, i));
		char *text;

		if (op && op->place == TOUR_IN_BLOCK) {
			op->shown = true;
			tour_print_step(t, op, pad);
			continue;
		}
		text = cli_step_text(lang_step_op(s, i), LANG_SRC_CALL | LANG_SRC_FLAT);
		printf("      %s   %s\n", text ? text : "?", tour_op_elsewhere(op));
		free(text);
	}
	printf("    }\n");
}

/* Does a held report after @i come from the step @s? */
static bool tour_held_later(const struct tour *t, size_t i, const struct lang_step *s)
{
	for (size_t j = i + 1; j < t->nheld; j++) {
		if (t->held[j].r.step == s)
			return true;
	}
	return false;
}

/* Prints the steps held for the current section, lined up, after a blank line. */
static void tour_flush(struct tour *t)
{
	int pad;

	tour_place_held(t);
	pad = tour_section_pad(t);
	if (t->nheld)
		printf("\n");
	for (size_t i = 0; i < t->nheld; i++) {
		struct tour_held *h = &t->held[i];

		/* an operation waits for its KVM_RUN's line, and prints under it */
		if (h->shown || (h->place == TOUR_UNDER_RUN && tour_held_later(t, i, h->r.during)))
			continue;
		h->shown = true;
		if (lang_step_nops(h->r.step))
			tour_print_block(t, h, pad);
		else
			tour_print_step(t, h, pad);
		for (size_t j = 0; j < t->nheld && h->place == TOUR_STEP; j++) {
			if (!t->held[j].shown && t->held[j].r.during == h->r.step &&
			    t->held[j].place == TOUR_UNDER_RUN) {
				t->held[j].shown = true;
				tour_print_step(t, &t->held[j], pad);
			}
		}
	}
	t->nheld = 0;
}

/* Does a story not printed yet come before step @upto? */
static bool tour_story_pending(const struct tour *t, size_t upto)
{
	for (size_t i = t->next_story; i < upto && i < lang_program_nsteps(t->p); i++) {
		if (lang_step_story(lang_program_step(t->p, i)))
			return true;
	}
	return false;
}

/* Prints the stories of every step before @upto not printed yet. */
static void tour_stories_until(struct tour *t, size_t upto)
{
	for (; t->next_story < upto && t->next_story < lang_program_nsteps(t->p); t->next_story++)
		tour_story(t, lang_step_story(lang_program_step(t->p, t->next_story)));
}

/*
 * A step's report: a section's steps are held until the next story, so
 * that their results line up; a new story first prints the steps before it.
 */
static void tour_on_step(void *ctx, const struct lang_step_report *r)
{
	struct tour *t = ctx;
	/* a guest operation belongs where it ran: the KVM_RUN step, or its guest(...) */
	const struct lang_step *at = r->during ? r->during :
				     lang_step_parent(r->step) ? lang_step_parent(r->step) : r->step;
	size_t index = lang_step_index(at);

	if (tour_story_pending(t, index + 1)) {
		tour_flush(t);
		tour_stories_until(t, index + 1);
	}
	t->steps++;
	t->failures += r->status != LANG_STEP_OK;
	if (t->nheld == t->capheld) {
		size_t cap = t->capheld ? 2 * t->capheld : 16;
		struct tour_held *h = realloc(t->held, cap * sizeof(*h));

		if (h) {
			t->held = h;
			t->capheld = cap;
		} else {
			tour_flush(t);   /* out of memory: print what is held, unaligned */
		}
	}
	if (t->nheld == t->capheld) {
		struct tour_held alone = { .r = *r, .place = TOUR_STEP };

		tour_print_step(t, &alone, 0);
		return;
	}
	t->held[t->nheld++] = (struct tour_held){ .r = *r };
}

/* ---- running ---- */

static void tour_run_chapter(struct tour *t, const struct tour_chapter *c)
{
	struct lang_run_opts opts;
	struct lang_run_result res;
	struct lang_diag diag;

	printf("\n");
	tour_bold(t, true);
	printf("== %d/%d  %.*s", t->number, t->nchapters, (int)(c->title ? c->title_len : 0),
	       c->title ? c->title : c->name);
	tour_bold(t, false);
	printf("  (%s.mvs)\n", c->name);
	t->fresh = true;
	if (!c->p) {
		printf("    !! this chapter did not parse: see the error above\n");
		t->failures++;
		return;
	}
	memset(&opts, 0, sizeof(opts));
	opts.on_step = tour_on_step;
	opts.step_ctx = t;
	t->p = c->p;
	t->section = 0;
	t->next_story = 0;
	if (lang_run(c->p, &opts, &res, &diag)) {
		tour_flush(t);
		printf("    !! this chapter could not run: %s\n", diag.msg);
		t->failures++;
		return;
	}
	tour_flush(t);
	tour_stories_until(t, lang_program_nsteps(c->p));
	if (lang_program_story_end(c->p))
		printf("\n");
	tour_story(t, lang_program_story_end(c->p));
}

static void tour_list(const struct tour_chapter *cs, int n)
{
	for (int i = 0; i < n; i++)
		printf("%2d  %-26s %.*s\n", i + 1, cs[i].name,
		       (int)(cs[i].title ? cs[i].title_len : 0), cs[i].title ? cs[i].title : "");
}

static bool tour_use_color(void)
{
	const char *term = getenv("TERM");

	return isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && term && strcmp(term, "dumb");
}

/* Marks the chapters the arguments name; -1 (after a message) if one names none. */
static int tour_select(const struct tour_chapter *cs, int n, char **args, int nargs,
		       bool *chosen)
{
	for (int a = 0; a < nargs; a++) {
		bool found = false;

		for (int i = 0; i < n; i++) {
			if (tour_matches(&cs[i], i + 1, args[a]))
				chosen[i] = found = true;
		}
		if (!found) {
			fprintf(stderr, "memvisor tour: no chapter '%s' (see 'memvisor tour --list')\n",
				args[a]);
			return -1;
		}
	}
	for (int i = 0; i < n && !nargs; i++)
		chosen[i] = true;
	return 0;
}

static int tour_walk(struct tour *t, const char *dir, const struct tour_chapter *cs, int n,
		     const bool *chosen)
{
	int shown = 0;

	t->nchapters = n;
	for (int i = 0; i < n; i++)
		shown += chosen[i];
	if (shown == n)
		printf("memvisor tour: %d chapter%s, each a scenario file run on a new "
		       "machine.\n", n, n == 1 ? "" : "s");
	else
		printf("memvisor tour: %d of %d chapters, each a scenario file run on a new "
		       "machine.\n", shown, n);
	printf("Every result shown is the real one, checked against the file.\n");
	for (int i = 0; i < n; i++) {
		if (!chosen[i])
			continue;
		t->number = i + 1;
		tour_run_chapter(t, &cs[i]);
	}
	printf("\n");
	if (t->failures) {
		printf("%d of %d steps did not behave as described (marked !! above).\n",
		       t->failures, t->steps);
		return CLI_FAIL;
	}
	printf("All %d steps behaved as described. The chapters are in\n  %s\n"
	       "Run one with 'memvisor run FILE'; docs/scenario-language.md (or\n"
	       "'man memvisor') tells how to write your own.\n", t->steps, dir);
	return CLI_OK;
}

int cli_tour(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct tour t = { 0 };
	struct tour_chapter *cs = NULL;
	char dir[PATH_MAX];
	const char *dir_opt = NULL;
	bool list = false, *chosen = NULL;
	int c, n, ret = CLI_FAIL;

	while ((c = getopt_long(argc, argv, "d:lh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir_opt = optarg;
			break;
		case 'l':
			list = true;
			break;
		case 'h':
			tour_usage(stdout);
			return CLI_OK;
		default:
			tour_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (dir_opt) {
		snprintf(dir, sizeof(dir), "%s", dir_opt);
	} else if (!tour_find_dir(dir, sizeof(dir))) {
		fprintf(stderr, "memvisor tour: cannot find the tour's scenario files (neither "
			"installed share/memvisor/tour nor the source tree); use --dir DIR\n");
		return CLI_FAIL;
	}
	n = tour_list_dir(dir, &cs);
	if (n < 0)
		return CLI_FAIL;
	if (!n) {
		fprintf(stderr, "memvisor tour: %s holds no .mvs chapters\n", dir);
		goto out;
	}
	for (int i = 0; i < n; i++)
		t.failures += tour_load(&cs[i]) != 0;
	if (list) {
		tour_list(cs, n);
		ret = t.failures ? CLI_FAIL : CLI_OK;
		goto out;
	}
	chosen = calloc((size_t)n, sizeof(*chosen));
	if (!chosen) {
		fprintf(stderr, "memvisor tour: out of memory\n");
		goto out;
	}
	if (tour_select(cs, n, argv + optind, argc - optind, chosen)) {
		ret = CLI_USAGE;
		goto out;
	}
	t.failures = 0;   /* a parse error is reported again by its chapter */
	t.color = tour_use_color();
	ret = tour_walk(&t, dir, cs, n, chosen);
out:
	free(t.held);
	free(chosen);
	tour_free(cs, n);
	return ret;
}
