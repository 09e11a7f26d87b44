/* SPDX-License-Identifier: MIT */
/*
 * The scenario language as tools see it: syzkaller-style syscall programs
 * with expectations, parsed, checked and run against a memvisor machine.
 *
 *	r1 = mmap(0, 0x2000, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
 *	mprotect(r1, 0x2000, PROT_READ)        = 0
 *	write_mem(r1+8, x"00ff")               = signal(SIGSEGV, SEGV_ACCERR, r1+8)
 *
 * This header is the whole interface: load (parse and check) a scenario,
 * run it, read each step's outcome, its position, source text and story,
 * and set machine options. Programs and steps are opaque; the lexer, the
 * syntax tree and the name tables stay in lang_int.h.
 *
 * Library code: nothing here prints or exits. Functions return 0 (or a
 * count) or a negative errno, and the human message of a problem is a
 * struct lang_diag with its position. docs/scenario-language.md is the
 * user's reference.
 */
#ifndef MV_LANG_LANG_H
#define MV_LANG_LANG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memvisor/memvisor.h>

#define LANG_MSG_MAX 320

/* A problem: where (line and column, from 1; 0 when not in a file), and what. */
struct lang_diag {
	const char *file;
	int line;
	int col;
	char msg[LANG_MSG_MAX];
};

struct lang_pos {
	int line;
	int col;
};

/* A parsed, checked scenario and its steps; both owned by the program. */
struct lang_program;
struct lang_step;

/*
 * Parses and checks @src. On success *out is a program the caller frees
 * with lang_program_free; on error (-EINVAL, or -ENOMEM) @diag says where
 * and what was expected. @file is kept (not copied) for messages.
 */
int lang_parse(const char *file, const char *src, size_t len, struct lang_program **out,
	       struct lang_diag *diag);
void lang_program_free(struct lang_program *p);

/* ---- a program's steps ---- */

size_t lang_program_nsteps(const struct lang_program *p);
/* Step @i (0-based, in source order); NULL past the end. */
const struct lang_step *lang_program_step(const struct lang_program *p, size_t i);
/* The "#:" story lines after the last step, '\n'-joined; NULL: none. */
const char *lang_program_story_end(const struct lang_program *p);

/* Where the step starts (its first token). */
struct lang_pos lang_step_pos(const struct lang_step *s);
/* Its index: in the program, or for a guest operation in its guest block. */
size_t lang_step_index(const struct lang_step *s);
/* Where it ends: just after its last token (a wrapped step's last line). */
struct lang_pos lang_step_end(const struct lang_step *s);
/* A guest operation's guest(...) step; NULL for the program's own steps. */
const struct lang_step *lang_step_parent(const struct lang_step *s);
/* The "#:" story lines before the step, '\n'-joined; NULL: none. */
const char *lang_step_story(const struct lang_step *s);
/* A guest(...) step's operations, in source order: how many, and each. */
size_t lang_step_nops(const struct lang_step *s);
const struct lang_step *lang_step_op(const struct lang_step *s, size_t i);

/*
 * The step's source text as written, into @buf (always NUL-terminated,
 * cut short if @size is too small): every line of a step wrapped over
 * several lines, and a guest block with its operations and closing brace,
 * each line without its comment and outer blanks, lines joined by '\n'.
 * Returns the length of the whole text, as snprintf does.
 */
#define LANG_SRC_CALL 1u   /* without the expectation ("= ...") */
#define LANG_SRC_HEAD 2u   /* as CALL, and a guest step only up to its '{' */
#define LANG_SRC_FLAT 4u   /* one line: lines joined by a blank */
size_t lang_step_source(const struct lang_step *s, unsigned int flags, char *buf, size_t size);

/* ---- machine options ---- */

/* Machine settings: from machine(...), overridden by the command line. */
struct lang_machine_opts {
	struct mv_machine_config cfg;
	bool ram_set, features_set, epc_set, abi_set, seed_set;
};

/* Parses "ram=0x4000000,features_off=MTE|SGX,abi=seed,seed=7". */
int lang_machine_opts_parse(const char *text, struct lang_machine_opts *opts,
			    struct lang_diag *diag);
/* Fields set in @over replace those of @base. */
void lang_machine_opts_merge(struct lang_machine_opts *base, const struct lang_machine_opts *over);

/* ---- names, for tools that print what a machine did ---- */

/* "SIGSEGV" for SIGSEGV; NULL if the language has no name for it. */
const char *lang_signal_name(int signo);
/* "SEGV_ACCERR" for (SIGSEGV, SEGV_ACCERR); NULL if none. */
const char *lang_signal_code_name(int signo, int code);

/* ---- running ---- */

enum lang_step_status {
	LANG_STEP_OK,          /* met its expectation (or had none and succeeded) */
	LANG_STEP_NOTE,        /* no expectation, and the call failed: reported only */
	LANG_STEP_FAILED,      /* expectation not met, or an unexpected signal */
	LANG_STEP_SKIPPED,     /* not run: its task crashed on an earlier step */
};

/* One step's outcome, handed to the caller as it happens. */
struct lang_step_report {
	const struct lang_step *step;
	const char *file;
	enum lang_step_status status;
	char got[LANG_MSG_MAX];        /* "0x7f0000000000", "-EBADF", "signal(SIGSEGV, ...)" */
	char want[LANG_MSG_MAX];       /* empty without an expectation */
	/*
	 * Why the step could not run (got is "not run"): a negative errno,
	 * or 0 when it ran.
	 */
	int err;
	/*
	 * What there is to say, with where: what differed from the
	 * expectation, or why the step could not run. msg is empty when
	 * there is nothing to say.
	 */
	struct lang_diag diag;
	/*
	 * The program's own step this report came during: a guest operation
	 * (step->parent set) runs inside a later ioctl(VCPU, KVM_RUN, 0).
	 */
	const struct lang_step *during;
};

typedef void (*lang_step_fn)(void *ctx, const struct lang_step_report *r);

/*
 * The machine as a finished run leaves it, before it is torn down: for
 * tools that inspect what a scenario built ('memvisor map' reads a VM).
 * Values and tasks are by the names the scenario gave them.
 */
struct lang_run_state {
	struct mv_machine *m;
	int ntasks;
	const char *const *task_names;    /* "t0", "t1", ... */
	struct mv_task *const *tasks;     /* NULL: exited */
	int nvalues;
	const char *const *value_names;   /* "r0", "r1", ...: every result the scenario names */
	const uint64_t *values;
};

typedef void (*lang_end_fn)(void *ctx, const struct lang_run_state *st);

struct lang_run_opts {
	struct lang_machine_opts machine;  /* command-line overrides */
	mv_trace_sink trace;               /* every trace line, renumbered; NULL: none */
	void *trace_ctx;
	lang_step_fn on_step;              /* NULL: silent */
	void *step_ctx;
	uint64_t trace_seq;                /* in/out: next sequence number of the trace */
	lang_end_fn on_end;                /* after the last step; NULL: none */
	void *end_ctx;
};

struct lang_run_result {
	int steps;             /* every report, skipped steps included */
	int failed;
	int notes;
	int skipped;
};

/*
 * Runs @p on a new machine. Returns 0 when the program ran to its end (its
 * failures are counted in @res), or a negative errno if it could not run at
 * all (@diag says why: a bad machine configuration, out of memory).
 */
int lang_run(const struct lang_program *p, struct lang_run_opts *opts,
	     struct lang_run_result *res, struct lang_diag *diag);

/* ---- snapshots, for 'memvisor snapshot' and 'memvisor restore' (docs/snapshot.md) ---- */

struct lang_snapshot_info {
	uint64_t bytes;
	unsigned int nr_vcpus;
	uint64_t ram_gpa, ram_bytes;
	uint64_t shared_pages, private_pages, tagged_pages, heki_runs, epc_lost, dirty_pages;
	unsigned int nr_slots, nr_epc_slots, nr_gmem_slots;
};

/*
 * Saves the VM behind @vm_fd of @t's process, with its one vCPU @vcpu_fd,
 * to the host file @path: the file's size, or a negative errno with *@why.
 */
long lang_vm_snapshot_save(struct mv_task *t, int vm_fd, int vcpu_fd, const char *path,
			   const char **why);
/*
 * Reads @path, checks every byte and restores it into a new VM on a new
 * machine (@mo, NULL: the defaults), which is then destroyed: 0 with
 * @info, or a negative errno with *@why (a refused file: what was wrong).
 */
int lang_vm_snapshot_try_restore(const char *path, const struct lang_machine_opts *mo,
				 struct lang_snapshot_info *info, const char **why);
/* 1 when @fd is a vCPU fd of @t's process. */
int lang_is_vcpu_fd(struct mv_task *t, int fd);

#endif
