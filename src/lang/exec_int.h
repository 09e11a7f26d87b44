/* SPDX-License-Identifier: MIT */
/* Shared between the executor's files (exec*.c, format.c): not for tools. */
#ifndef MV_LANG_EXEC_INT_H
#define MV_LANG_EXEC_INT_H

#include "lang/lang_int.h"
#include "lib/trace.h"

#define LANG_OUTBUF_MAX (16u << 20)   /* the largest scratch buffer a call may get */
#define LANG_BAD_POINTER_MAX 4096u   /* integers below this may stand for a host pointer */
#define LANG_READ_MAX   (1u << 20)    /* read_mem's largest length */

/* A host buffer made for one argument of one step. */
struct lang_buf {
	uint8_t *data;
	size_t len;
	const struct lang_expr *pattern;   /* LA_OUT: what the call must have written */
	const char *arg_name;
	struct lang_pos pos;               /* where the argument is written */
};

struct lang_exec {
	const struct lang_program *p;
	struct lang_run_opts *opts;
	struct lang_run_result *res;
	struct lang_diag *diag;
	struct mv_machine *m;
	struct mv_task **tasks;
	bool *task_gone;                   /* exited, or its clone failed */
	struct lang_crash *crashed;        /* by task slot: line 0, or where it crashed */
	uint64_t *values;
	struct lib_trace steptr;           /* formats step events; its sink renumbers */
	struct lang_buf bufs[LANG_MAX_ARGS];
	int nbufs;
	const struct lang_step *cur;       /* the program's step running now */
	struct lang_guest_prog *guests;    /* every guest program handed out */
	uint8_t *tag_buf;                  /* copy_tags' buffer (LANG_TAG_BUF bytes), made on first use */
};

/* copy_tags() moves the tags of up to 1 MiB of guest memory (one tag per 16 bytes). */
#define LANG_TAG_BUF (1u << 16)

/* A task that took a signal no step expected: it runs no later step. */
struct lang_crash {
	int line;                          /* the step that crashed it; 0: alive */
	int signo;
};

/* What one step did. */
struct lang_outcome {
	long ret;
	bool have_signal;
	struct mv_siginfo si;
	uint8_t *bytes;                    /* read_mem's result (heap) */
	size_t nbytes;
	bool have_fault;                   /* a guest operation: the fault the guest took */
	struct mv_guest_fault fault;
	const struct kvm_run *run;         /* KVM_RUN: the vCPU's run area, after the call */
};

/* A guest program handed to a vCPU: its operations run on the guest's stack. */
struct lang_guest_prog {
	struct lang_exec *x;
	const struct lang_step *step;      /* the guest(...) step; its body are the ops */
	size_t done;                       /* operations finished and reported */
	bool in_op;                        /* suspended inside operation @done */
	uint8_t *pending;                  /* that operation's read buffer (heap) */
	struct guest_kernel *kernel;       /* booted by kernel_boot (exec_gkernel.c) */
	int vcpu_fd;                       /* the vCPU it was handed to */
	struct lang_guest_prog *next;
};

/*
 * Running a step: the lang_do_* functions return 0 when the step ran (its
 * result, a negative errno included, is in the outcome) and a negative
 * errno with @diag filled when it could not run at all. Judging a step
 * that ran fills the report's diag with what differed.
 */
uint64_t lang_eval(const struct lang_exec *x, const struct lang_expr *e);
/* Builds the six argument registers; buffers go to x->bufs. */
int lang_build_args(struct lang_exec *x, const struct lang_step *s, uint64_t a[LANG_MAX_ARGS],
		    struct lang_diag *diag);
void lang_free_bufs(struct lang_exec *x);
/* false, with @diag saying which, if an output buffer does not hold what the step expects. */
bool lang_check_outputs(struct lang_exec *x, const struct lang_step *s, struct lang_diag *diag);

/* exec_cpu.c: a LC_CPU step in task @t */
int lang_do_cpu(struct lang_exec *x, const struct lang_step *s, struct mv_task *t,
		struct lang_outcome *o, struct lang_diag *diag);
/* vm_snapshot / vm_restore (exec_snapshot.c): the file size / the vEPC pages lost, or -errno. */
int lang_cpu_snapshot(struct lang_exec *x, const struct lang_step *s, struct mv_task *t,
		      struct lang_outcome *o, struct lang_diag *diag);

/* heki_allow_modules / heki_patch_sites (exec_heki.c): KVM_HEKI_SET_POLICY's answer. */
int lang_do_heki_policy(struct lang_exec *x, const struct lang_step *s, struct mv_task *t,
			struct lang_outcome *o, struct lang_diag *diag);

/* exec.c: counts, traces and hands a finished step's report to the caller */
void lang_report(struct lang_exec *x, struct lang_step_report *r);

/* exec_guest.c */
int lang_do_guest(struct lang_exec *x, const struct lang_step *s, struct mv_task *t,
		  struct lang_outcome *o, struct lang_diag *diag);
/* Reports the operations no KVM_RUN got to; then frees the programs (after the machine). */
void lang_guests_unreached(struct lang_exec *x);
void lang_guests_free(struct lang_exec *x);
/* exec_gkernel.c: the guest kernel's calls in a guest program (LG_KERNEL_BOOT and after) */
long lang_gkernel_op(struct lang_guest_prog *gp, struct mv_guest *g, const struct lang_step *op,
		     const uint64_t *a);
void lang_gkernel_free(struct lang_guest_prog *gp);
/* A new program on a vCPU goes on with the kernel the vCPU's last program booted. */
void lang_gkernel_inherit(struct lang_exec *x, struct lang_guest_prog *gp);

/* kvm_exit.c: expectations that are calls: signal(...), fault(...), exit(...); sets r->status */
void lang_judge_call(const struct lang_exec *x, const struct lang_step *s,
		     const struct lang_outcome *o, struct lang_step_report *r);
void lang_fmt_expect_call(const struct lang_exec *x, char *buf, size_t size,
			  const struct lang_expr *e);
/* What KVM_RUN returns with this exit when nothing else went wrong. */
long lang_exit_implied_ret(uint64_t reason);
void lang_fmt_exit(char *buf, size_t size, const struct kvm_run *run, long ret);
void lang_fmt_fault(char *buf, size_t size, const struct mv_guest_fault *f);

/* format.c */
void lang_fmt_value(char *buf, size_t size, long v);
void lang_fmt_bytes(char *buf, size_t size, const uint8_t *b, size_t n);
void lang_fmt_signal(char *buf, size_t size, int signo, int code, bool with_addr, uint64_t addr);
void lang_fmt_outcome(char *buf, size_t size, const struct lang_step *s,
		      const struct lang_outcome *o);
void lang_fmt_expect(const struct lang_exec *x, char *buf, size_t size, const struct lang_expr *e);
/* An errno name written as an expected value without its minus (EBADF): the name, else NULL. */
const char *lang_bare_errno(const struct lang_expr *e);
/* "a different result", and for a bare errno name the -ERRNO it surely meant. */
void lang_diag_different(const struct lang_expr *e, struct lang_pos pos, struct lang_diag *diag);

#endif
