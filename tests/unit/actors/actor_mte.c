/* SPDX-License-Identifier: MIT */
/*
 * The tagged-process actor family of the all-actors test: a process with
 * PR_SET_TAGGED_ADDR_CTRL in sync mode and PROT_MTE memory. Its first
 * thread retags granules of its "churn" pages and stores and loads through
 * them, reads its "stable" pages (tagged once at setup), and maps, checks
 * and unmaps fresh tagged pages: a matching tag always passes, a
 * mismatched one is always one SIGSEGV with SEGV_MTESERR at the address
 * and changes nothing, and a freshly faulted page reads tag 0 everywhere
 * (tags never leak to a page's next owner, whoever freed it). Its second
 * thread keeps forking: a child sees the stable pages' tags and contents,
 * keeps them across its copy-on-write break, and for each churn granule
 * passes with the tag it reads there and faults with another.
 */
#include <pthread.h>

#include "actors.h"

#define MT_PG       4096ull
#define MT_STABLE   4                    /* pages tagged at setup, never retagged */
#define MT_CHURN    4                    /* pages the first thread retags */
#define MT_PAGES    (MT_STABLE + MT_CHURN)
#define MT_FRESH    2                    /* pages of each fresh mapping */
#define MT_TAG(p, t) (((uint64_t)(p) & ~(0xfull << 56)) | ((uint64_t)(t) << 56))
#define MIN_ROUNDS  8

enum { MM_ROUNDS, MM_RETAGS, MM_MISMATCHES, MM_FRESH, MM_NR };
static const char *const mm_names[MM_NR] = { "rounds", "retags", "mismatches caught",
	"fresh pages read tag 0" };
enum { MF_FORKS, MF_CHILD_CHECKS, MF_COW, MF_NR };
static const char *const mf_names[MF_NR] = { "forks", "granules a child checked",
	"COW breaks keeping tags" };

struct mte_actor {
	struct mv_machine *m;
	const unsigned int *stop;      /* atomic */
	struct mv_task *t, *tf;        /* the process's first thread; the forking one */
	uint64_t map;                  /* MT_PAGES of PROT_MTE memory */
	struct lib_prng rng;           /* the first thread's */
	pthread_t th[2];
	struct act_err err, ferr;
	uint64_t n[MM_NR], f[MF_NR];   /* act_inc: the runner watches progress */
};

static unsigned int mt_stable_tag(uint64_t page, uint64_t granule)
{
	return (unsigned int)((page * 3 + granule) % 15) + 1;   /* 1..15 */
}

static uint64_t mt_value(uint64_t addr)
{
	return 0x3e00000000000000ull | (addr & 0xffffffffffull);
}

/*
 * @t reads the 8 bytes at @addr with tag @good (must pass: *@got) and
 * with another tag (must be SEGV_MTESERR at @addr, no other signal).
 */
static bool mt_probe(struct mv_task *t, uint64_t addr, unsigned int good, uint64_t *got)
{
	unsigned int bad = good % 15 + 1;   /* never @good */
	struct mv_siginfo si = { 0 };
	uint64_t x = 0;
	bool ok = !mv_user_read(t, MT_TAG(addr, good), got, 8) && !mv_task_take_signal(t, &si);

	ok &= mv_user_read(t, MT_TAG(addr, bad), &x, 8) == -EFAULT &&
	      mv_task_take_signal(t, &si) == 1 && si.signo == SIGSEGV &&
	      si.code == SEGV_MTESERR && si.addr == addr && !mv_task_take_signal(t, &si);
	return ok;
}

/* ---- the first thread ---- */

/* A churn granule retagged, written and read through its new tag; a wrong tag changes nothing. */
static void mt_churn(struct mte_actor *a, uint64_t round)
{
	uint64_t page = MT_STABLE + lib_prng_below(&a->rng, MT_CHURN);
	uint64_t addr = a->map + page * MT_PG + 16 * lib_prng_below(&a->rng, MT_PG / 16);
	unsigned int tag = 1 + (unsigned int)lib_prng_below(&a->rng, 15);
	uint64_t v = round << 8 | tag, got = 0, junk = ~v;
	struct mv_siginfo si = { 0 };
	long s = mv_user_set_tag(a->t, MT_TAG(addr, tag));
	long w = mv_user_write(a->t, MT_TAG(addr, tag), &v, 8);
	long bad = mv_user_write(a->t, MT_TAG(addr, tag % 15 + 1), &junk, 8);
	int sig = mv_task_take_signal(a->t, &si);

	if (s || w || bad != -EFAULT || sig != 1 || si.code != SEGV_MTESERR || si.addr != addr ||
	    !mt_probe(a->t, addr, tag, &got) || got != v)
		act_fail(&a->err, "churn granule %#llx tag %u: set %ld, write %ld, wrong-tag write "
			 "%ld (signal %d code %d at %#llx), read back %#llx", ACT_ULL(addr), tag,
			 s, w, bad, sig, si.code, ACT_ULL(si.addr), ACT_ULL(got));
	act_inc(&a->n[MM_RETAGS]);
	act_inc(&a->n[MM_MISMATCHES]);
}

static void mt_stable(struct mte_actor *a)
{
	uint64_t page = lib_prng_below(&a->rng, MT_STABLE), gr = lib_prng_below(&a->rng, 256);
	uint64_t addr = a->map + page * MT_PG + gr * 16, got = 0;

	if (!mt_probe(a->t, addr, mt_stable_tag(page, gr), &got) || got != mt_value(addr))
		act_fail(&a->err, "stable granule %#llx: read %#llx", ACT_ULL(addr), ACT_ULL(got));
	act_inc(&a->n[MM_MISMATCHES]);
}

/* Fresh tagged pages read tag 0 everywhere; tagged all over, they go back to the allocator. */
static void mt_fresh(struct mte_actor *a)
{
	long m = MVTEST_SYSCALL(a->t, MV_SYS_mmap, 0, MT_FRESH * MT_PG,
				PROT_READ | PROT_WRITE | PROT_MTE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t tag = 0;

	if (m <= 0) {
		act_fail(&a->err, "mmap of fresh tagged pages = %ld", m);
		return;
	}
	for (uint64_t off = 0; off < MT_FRESH * MT_PG; off += 16) {
		if (mv_user_get_tag(a->t, (uint64_t)m + off, &tag) || tag)
			act_fail(&a->err, "a fresh page's granule %#llx reads tag %u",
				 ACT_ULL((uint64_t)m + off), tag);
		if (mv_user_set_tag(a->t, MT_TAG((uint64_t)m + off, 0xa)))
			act_fail(&a->err, "tagging a fresh granule failed");
	}
	if (MVTEST_SYSCALL(a->t, MV_SYS_munmap, m, MT_FRESH * MT_PG))
		act_fail(&a->err, "munmap of fresh tagged pages failed");
	act_inc(&a->n[MM_FRESH]);
}

static void *mt_main(void *p)
{
	struct mte_actor *a = p;

	for (uint64_t round = 1; !act_stopped(a->stop) && !a->err.n; round++) {
		for (int i = 0; i < 4; i++) {
			mt_churn(a, round);
			mt_stable(a);
		}
		if (round % 4 == 0)
			mt_fresh(a);
		act_inc(&a->n[MM_ROUNDS]);
	}
	return NULL;
}

/* ---- the forking thread ---- */

/* The child: stable granules exact, churn granules consistent, a COW break keeps tags. */
static void mf_child(struct mte_actor *a, struct mv_task *c, uint64_t i)
{
	uint64_t sp = i % MT_STABLE, gr = (i * 7) % 256, addr = a->map + sp * MT_PG + gr * 16;
	uint64_t caddr = a->map + (MT_STABLE + i % MT_CHURN) * MT_PG + ((i * 13) % 256) * 16;
	uint64_t got = 0, mine = ~i;
	unsigned int tag = mt_stable_tag(sp, gr);
	uint8_t ct = 0, after = 0;

	if (!mt_probe(c, addr, tag, &got) || got != mt_value(addr))
		act_fail(&a->ferr, "a child's stable granule %#llx: read %#llx", ACT_ULL(addr),
			 ACT_ULL(got));
	if (mv_user_get_tag(c, caddr, &ct) || !mt_probe(c, caddr, ct, &got))
		act_fail(&a->ferr, "a child's churn granule %#llx (tag %u) is not checked by its "
			 "own tag", ACT_ULL(caddr), ct);
	if (mv_user_write(c, MT_TAG(addr, tag), &mine, 8) || mv_user_get_tag(c, addr, &after) ||
	    after != tag || !mt_probe(c, addr, tag, &got) || got != mine)
		act_fail(&a->ferr, "a child's COW break of %#llx: tag %u (want %u), read %#llx",
			 ACT_ULL(addr), after, tag, ACT_ULL(got));
	act_inc(&a->f[MF_CHILD_CHECKS]);
	act_inc(&a->f[MF_COW]);
}

static void *mf_main(void *p)
{
	struct mte_actor *a = p;

	for (uint64_t i = 0; !act_stopped(a->stop) && !a->ferr.n; i++) {
		struct mv_task *c = NULL;

		if (mv_task_clone(a->tf, 0, &c)) {
			act_fail(&a->ferr, "fork failed");
			break;
		}
		mf_child(a, c, i);
		mv_task_exit(c);
		act_inc(&a->f[MF_FORKS]);
		sched_yield();
	}
	return NULL;
}

/* ---- the family ---- */

static void *mte_setup(const struct act_env *env)
{
	struct mte_actor *a = test_calloc(1, sizeof(*a));
	long m;

	a->m = env->m;
	a->stop = env->stop;
	lib_prng_seed(&a->rng, env->seed ^ 0x3e);
	assert_int_equal(mv_task_spawn(env->m, &a->t), 0);
	assert_int_equal(MVTEST_SYSCALL(a->t, MV_SYS_prctl, PR_SET_TAGGED_ADDR_CTRL,
					PR_TAGGED_ADDR_ENABLE | PR_MTE_TCF_SYNC |
					(0xfffeull << PR_MTE_TAG_SHIFT), 0, 0, 0), 0);
	m = MVTEST_SYSCALL(a->t, MV_SYS_mmap, 0, MT_PAGES * MT_PG, PROT_READ | PROT_WRITE | PROT_MTE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m > 0);
	a->map = (uint64_t)m;
	for (uint64_t p = 0; p < MT_STABLE; p++) {
		for (uint64_t gr = 0; gr < 256; gr++) {
			uint64_t addr = a->map + p * MT_PG + gr * 16, v = mt_value(addr);
			unsigned int tag = mt_stable_tag(p, gr);

			assert_int_equal(mv_user_set_tag(a->t, MT_TAG(addr, tag)), 0);
			assert_int_equal(mv_user_write(a->t, MT_TAG(addr, tag), &v, 8), 0);
		}
	}
	a->tf = act_thread(a->t);
	return a;
}

static void mte_start(void *self)
{
	struct mte_actor *a = self;

	assert_int_equal(pthread_create(&a->th[0], NULL, mt_main, a), 0);
	assert_int_equal(pthread_create(&a->th[1], NULL, mf_main, a), 0);
}

static bool mte_progress(void *self)
{
	struct mte_actor *a = self;

	return act_get(&a->n[MM_ROUNDS]) >= MIN_ROUNDS && act_get(&a->n[MM_FRESH]) &&
	       act_get(&a->f[MF_FORKS]) >= 3;
}

static void mte_join(void *self)
{
	struct mte_actor *a = self;

	pthread_join(a->th[0], NULL);
	pthread_join(a->th[1], NULL);
}

static void mte_report(void *self)
{
	struct mte_actor *a = self;

	act_print("mte process", mm_names, a->n, MM_NR);
	act_print("mte forks", mf_names, a->f, MF_NR);
}

static void mte_check(void *self)
{
	struct mte_actor *a = self;

	act_check(&a->err, "mte first thread");
	act_check(&a->ferr, "mte forking thread");
	assert_true(mte_progress(a));
}

static void mte_teardown(void *self)
{
	struct mte_actor *a = self;

	mv_task_exit(a->tf);
	mv_task_exit(a->t);
	test_free(a);
}

const struct act_family act_family_mte = {
	.name = "mte",
	.setup = mte_setup,
	.start = mte_start,
	.progress = mte_progress,
	.join = mte_join,
	.report = mte_report,
	.check = mte_check,
	.teardown = mte_teardown,
};
