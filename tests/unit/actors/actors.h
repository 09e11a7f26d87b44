/* SPDX-License-Identifier: MIT */
/*
 * Helpers for tests where many host threads act on one machine at once:
 * a failure record each thread fills instead of calling cmocka (which is
 * neither thread-safe nor usable from a guest stack), a run length taken
 * from MVTEST_ACTORS_SECONDS, seqlock-style epochs by which an actor
 * that changes memory tells the others "something may have happened to
 * your data between these two reads", counters printed by name; and the
 * table of actor families the all-actors test runs side by side.
 */
#ifndef MV_TESTS_ACTORS_H
#define MV_TESTS_ACTORS_H

#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mvtest.h"
#include "lib/prng.h"

/* Failures of one thread: how many, and the first one in words. */
struct act_err {
	unsigned int n;
	char first[192];
};

static inline __attribute__((format(printf, 2, 3))) void act_fail(struct act_err *e,
								  const char *fmt, ...)
{
	va_list ap;

	if (e->n++)
		return;
	va_start(ap, fmt);
	vsnprintf(e->first, sizeof(e->first), fmt, ap);
	va_end(ap);
}

/* Asserts, on the test's main thread, that @who recorded no failure. */
static inline void act_check(const struct act_err *e, const char *who)
{
	if (e->n)
		print_message("%s: %u failure(s), first: %s\n", who, e->n, e->first);
	assert_int_equal(e->n, 0);
}

static inline uint64_t act_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* How long the actors run: MVTEST_ACTORS_SECONDS (fractions allowed), else @dflt. */
static inline double act_seconds(double dflt)
{
	const char *s = getenv("MVTEST_ACTORS_SECONDS");
	double v = s ? strtod(s, NULL) : dflt;

	return v > 0 ? v : dflt;
}

static inline void act_sleep_us(unsigned int us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/*
 * Epochs, one writer each. The writer makes the epoch odd before it
 * changes memory and even again once the change is complete. A reader
 * that loads the same even value before and after its accesses knows no
 * change overlapped them: anything it saw must be exact.
 */
static inline void act_epoch_begin(uint64_t *e)
{
	__atomic_add_fetch(e, 1, __ATOMIC_SEQ_CST);
}

static inline void act_epoch_end(uint64_t *e)
{
	__atomic_add_fetch(e, 1, __ATOMIC_RELEASE);
}

static inline uint64_t act_epoch_read(const uint64_t *e)
{
	return __atomic_load_n(e, __ATOMIC_ACQUIRE);
}

static inline bool act_epoch_quiet(uint64_t before, uint64_t after)
{
	return before == after && !(before & 1);
}

/*
 * Opens (@begin) or closes the epochs of the owners of [off, off + len) of
 * a region where owner i has bytes [i * per_owner, (i + 1) * per_owner).
 */
static inline void act_epochs_mark(uint64_t *ep, unsigned int owners, uint64_t off, uint64_t len,
				   uint64_t per_owner, bool begin)
{
	for (uint64_t i = off / per_owner; i <= (off + len - 1) / per_owner && i < owners; i++) {
		if (begin)
			act_epoch_begin(&ep[i]);
		else
			act_epoch_end(&ep[i]);
	}
}

/* A page-aligned range of @size bytes: one time in eight all of it, else a few pages. */
static inline void act_pick_range(struct lib_prng *rng, uint64_t size, uint64_t *off,
				  uint64_t *len)
{
	uint64_t pages = size / 4096, first = lib_prng_below(rng, pages);
	uint64_t n = 1 + lib_prng_below(rng, pages / 8);

	if (lib_prng_below(rng, 8) == 0) {
		first = 0;
		n = pages;
	}
	*off = first * 4096;
	*len = (n < pages - first ? n : pages - first) * 4096;
}

static inline uint64_t act_frames_free(struct mv_machine *m)
{
	struct mv_machine_stats st;

	mv_machine_get_stats(m, &st);
	return st.frames_free;
}

/* Counters others read while the owner runs (progress), and their owner's increment. */
static inline void act_inc(uint64_t *c)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

static inline uint64_t act_get(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* The flag a test sets when its actors should wind down. */
static inline bool act_stopped(const unsigned int *stop)
{
	return __atomic_load_n(stop, __ATOMIC_ACQUIRE);
}

/* Prints "who: name n, name n, ..." as one test message. */
static inline void act_print(const char *who, const char *const *names, const uint64_t *v,
			     unsigned int n)
{
	char line[640];
	size_t o = (size_t)snprintf(line, sizeof(line), "%s:", who);

	for (unsigned int i = 0; i < n && o < sizeof(line); i++)
		o += (size_t)snprintf(line + o, sizeof(line) - o, " %s %llu%s", names[i],
				      (unsigned long long)v[i], i + 1 < n ? "," : "");
	print_message("%s\n", line);
}

/*
 * One actor family of the all-actors test (one actor_<family>.c each): its
 * threads start together with every other family's on one machine and run
 * until the runner raises @stop. Every hook runs on the test's main thread;
 * only setup, check and teardown may assert (the family's own threads
 * record failures in a struct act_err). The runner calls setup, start,
 * then ended (optional) and progress every 10 ms, join once stop is set,
 * report, check, teardown; after every family's teardown it checks that
 * every frame and every EPC page is free again.
 */
struct act_env {
	struct mv_machine *m;
	const unsigned int *stop;     /* atomic: set when the actors should wind down */
	uint64_t seed;
};

struct act_family {
	const char *name;
	void *(*setup)(const struct act_env *env);   /* the family's state, its tasks made */
	void (*start)(void *self);                   /* creates its host threads */
	bool (*ended)(void *self);                   /* NULL, or: a thread ended early, stop all */
	bool (*progress)(void *self);                /* each of its checks ran at least once */
	void (*join)(void *self);
	void (*report)(void *self);                  /* how often each race window was hit */
	void (*check)(void *self);                   /* no failure recorded, progress made */
	void (*teardown)(void *self);                /* fds closed, tasks exited, self freed */
};

extern const struct act_family act_family_kvm;      /* actor_kvm*.c: vCPUs, VMM threads A B C */
extern const struct act_family act_family_cow;      /* actor_cow.c: a second process forking */
extern const struct act_family act_family_heki;     /* actor_heki.c */
extern const struct act_family act_family_sgx;      /* actor_sgx.c */
extern const struct act_family act_family_mte;      /* actor_mte.c: a tagged process */
extern const struct act_family act_family_mte_vm;   /* actor_mte_vm.c: a VM with MTE */

#define ACT_EPC_PAGES 10   /* the machine's EPC: the SGX family fills it */
#define ACT_ULL(x) ((unsigned long long)(x))
#define ACT_NELEM(x) (sizeof(x) / sizeof((x)[0]))

/*
 * A VMM process (actor_vm.c): /dev/kvm, one VM of @type, and two more
 * tasks of the process, each for a host thread: tx runs the vCPU, tv does
 * the VMM's work. act_vm_create fills *@k for the kvmtest.h helpers;
 * act_vm_vcpu, once the VM's capabilities are on, adds the vCPU running
 * @guest.
 */
struct kvmtest;
struct act_vm {
	struct mv_task *vmm, *tx, *tv;
	int kvm, vm, vcpu;
	pthread_t vth, th;
	unsigned int done;            /* atomic: the vCPU thread is out of its loop */
};
void act_vm_create(struct act_vm *v, struct mv_machine *m, unsigned long type,
		   struct kvmtest *k);
void act_vm_vcpu(struct act_vm *v, struct kvmtest *k, mv_guest_fn guest, void *arg);
/* @vcpu_fn and @vmm_fn on host threads of their own, both given @arg. */
void act_vm_start(struct act_vm *v, void *(*vcpu_fn)(void *), void *(*vmm_fn)(void *),
		  void *arg);
/* On tx's host thread: KVM_RUN once, which must end at HLT (else a failure in @err); done. */
void act_vm_run_to_hlt(struct act_vm *v, struct act_err *err);
void act_vm_set_done(struct act_vm *v);
bool act_vm_done(struct act_vm *v);
/* The ended and join hooks of a family whose state begins with its struct act_vm. */
bool act_vm_ended(void *self);
void act_vm_join(void *self);
/* Closes the vCPU, the VM and /dev/kvm, exits the three tasks. */
void act_vm_destroy(struct act_vm *v);

/* Another thread of @t's process, for a host thread of its own. */
static inline struct mv_task *act_thread(struct mv_task *t)
{
	struct mv_task *c = NULL;

	assert_int_equal(mv_task_clone(t, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
				       CLONE_THREAD, &c), 0);
	return c;
}

#endif
