/* SPDX-License-Identifier: MIT */
/*
 * The fail-nth sweep (docs/testing.md): for each call of a scenario, make
 * its 1st, 2nd, ... allocation fail in turn and check that the call fails
 * cleanly. Shared between the runner (failnth.c), the state digest
 * (digest.c) and the rules of what a failed call may answer (verdict.c).
 *
 * The runner is a test program: it links the static library and reads the
 * kernel's and KVM's own structures to describe the state a later call
 * could see. Its own memory comes from libc, never from lib_* (whose
 * allocations count down towards the injected failure).
 */
#ifndef MV_TESTS_FAILNTH_H
#define MV_TESTS_FAILNTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memvisor/memvisor.h>

#include "lang/lang_int.h"

/* ---- a growing string (libc memory) ---- */
struct fn_buf {
	char *s;
	size_t len, cap;
};

__attribute__((format(printf, 2, 3)))
void fn_buf_printf(struct fn_buf *b, const char *fmt, ...);
void fn_buf_reset(struct fn_buf *b);
void fn_buf_free(struct fn_buf *b);

/* ---- one run (run.c) ---- */

/* A step's report, as the judge compares it. */
struct fn_rep {
	int line, col;
	enum lang_step_status status;
	char got[LANG_MSG_MAX];
};

struct fn_reps {
	struct fn_rep *r;
	size_t n, cap;
};

/*
 * One run of a scenario, and what it reported. For a sweep run, the
 * sentinel's and the injected copy's reports are kept apart from @reps.
 */
struct fn_run {
	const struct lang_step *sentinel;   /* its report arms the injection */
	const struct lang_step *injected;   /* the copy that runs with it */
	unsigned long nth;                  /* 0: nothing injected */
	struct fn_reps reps;                /* every other report, in order */
	bool armed, fired, harness;
	struct fn_rep inj;
	int inj_err;                        /* the copy could not run (the runner's allocation) */
	struct fn_buf before, after, end, teardown;
	struct lang_run_result res;
	int ret;
};

/*
 * Runs @p with nothing injected (a run's sentinel and injected step are
 * NULL unless set), filling @run; fn_run_free() frees what it keeps.
 */
void fn_run_program(const struct lang_program *p, struct fn_run *run);
/*
 * Runs @orig with its step @k @copies times (2: the call, then its retry),
 * the first copy with its @nth allocation failing (0: none).
 */
void fn_run_step(const struct lang_program *orig, size_t k, unsigned long nth, int copies,
		 struct fn_run *run);
void fn_run_free(struct fn_run *run);
/* A digest's text; "" if the run never got to take it. */
const char *fn_text(const struct fn_buf *b);

/* ---- state digest (digest.c) ---- */
/*
 * Everything about @m's state that a later call can observe, as text, one
 * fact per line: every task (registers, limits, pending signals, shadow
 * stack), every address space (VMAs, rss, notifiers), every fd table and
 * open file (reference counts, flags, position, page-cache pages), every
 * VM (vCPUs, memslot pages, invalidations in flight, the memory map) and
 * the free frames. Objects are numbered in the order they are met, so
 * two machines in the same state give the same text.
 */
void fn_digest(struct mv_machine *m, struct fn_buf *out);
/*
 * Ends every task still running on @m, then describes what is left: free
 * frames and page-table bytes. With every task gone, every frame should be
 * free again.
 */
void fn_digest_teardown(struct mv_machine *m, struct fn_buf *out);
/*
 * What a failed call may leave changed in Linux too, taken out of a digest
 * so that what is left must be equal: FN_NORM_MEMORY masks memory that a
 * call which makes progress keeps (free frames, page tables, rss, file
 * pages; KVM_RUN, a fault); FN_NORM_SPLITS joins VMAs that a split left
 * apart but alike (munmap, mprotect: Linux does not undo a first split
 * when the second fails); FN_NORM_GAP drops the VMAs and leaves over the
 * ranges of @gaps (a MAP_FIXED mmap that failed after it cleared
 * the range leaves it unmapped, as Linux does; so may mremap with
 * MREMAP_FIXED, whose move of several VMAs leaves those it moved where
 * they went: both of its ranges are gaps); FN_NORM_WRPROTECT reads
 * every leaf as write-protected (a fork that failed half way leaves the
 * parent's private pages write-protected, as copy_page_range does; the
 * next write reuses the page).
 */
#define FN_NORM_MEMORY 1u
#define FN_NORM_SPLITS 2u
#define FN_NORM_GAP    4u
#define FN_NORM_WRPROTECT 8u
/* The ranges FN_NORM_GAP drops, [start[i], end[i]) for i < n. */
struct fn_gaps {
	unsigned int n;
	uint64_t start[2], end[2];
};
void fn_digest_normalize(const char *in, unsigned int how, const struct fn_gaps *gaps,
			 struct fn_buf *out);
/*
 * true if @after differs from @before only by page tables that were built
 * and kept (free frames down by exactly the page-table bytes gained): a
 * fault that failed after its tables were allocated, as Linux leaves them.
 */
bool fn_digest_only_pgtables(const char *before, const char *after);
/* The first line where @a and @b differ, "was: ... / now: ...", into @msg. */
void fn_digest_diff(const char *a, const char *b, char *msg, size_t size);

/* ---- what a call may answer when an allocation inside it fails (verdict.c) ---- */
enum fn_got_kind {
	FN_GOT_VALUE,      /* a number >= 0, bytes, an exit with its implied return */
	FN_GOT_ERRNO,      /* -ERRNO, or an exit whose return is an errno */
	FN_GOT_SIGNAL,     /* the step raised a signal */
	FN_GOT_OTHER,      /* "not run", "done", a guest fault */
};

struct fn_got {
	enum fn_got_kind kind;
	int err;           /* FN_GOT_ERRNO: the positive errno */
};

/* Reads a report's "got" text back: -ENOMEM, exit(KVM_EXIT_MEMORY_FAULT, ...), ... */
struct fn_got fn_got_parse(const char *got);

/*
 * What @s may answer when one of its allocations fails, as Linux answers:
 * -ENOMEM, and for some calls other errnos (@errs, ending at 0); an empty
 * list means Linux allocates nothing there, so nothing may fail. @norm:
 * what the failed call may leave changed (FN_NORM_*). @early: the call
 * allocates before some of its checks, as Linux does, so -ENOMEM may come
 * before an errno the call answers with memory to spare.
 */
struct fn_rule {
	const char *call;
	const char *ioctl;             /* NULL: any command */
	int errs[4];
	unsigned int norm;
	bool early;
	const char *why;
};

const struct fn_rule *fn_rule_for(const struct lang_step *s);
/* true if @err is one of the rule's errnos; *why names the rule. */
bool fn_errno_allowed(const struct lang_step *s, int err, const char **why);
/* Is @got a signal Linux raises for @s when memory runs out (it kills the task)? */
bool fn_signal_allowed(const struct lang_step *s, const char *got);
/*
 * The ranges a call that answered @base_got without injection may leave
 * changed when it fails (FN_NORM_GAP), into @gaps: an mmap with MAP_FIXED,
 * the range it replaces; an mremap with MREMAP_FIXED, its destination and,
 * for a move without a resize from a constant address, its source (a move
 * of several VMAs stops where it failed). false for any other step.
 */
bool fn_gap_ranges(const struct lang_step *s, const char *base_got, struct fn_gaps *gaps);
/* An mremap with MREMAP_DONTUNMAP: a move leaves its source mapped (and empty). */
bool fn_remap_keeps_source(const struct lang_step *s);
/* The steps the sweep injects into: system calls and ioctls, clone; @all: every call. */
bool fn_step_swept(const struct lang_step *s, bool all);

#endif
