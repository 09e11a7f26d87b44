/* SPDX-License-Identifier: MIT */
/*
 * The second-process actor family of the all-actors test (D): a process
 * of its own that forks beside everything else, its copy-on-write pages
 * checked by parent, child, grandchild and a second thread.
 */
#include "actors.h"

/*
 * A second process beside the rest (act_cow_main on its own host thread):
 * it forks, and parent and child write the same copy-on-write pages at
 * once (the child on a host thread of its own), each then reading the
 * pre-fork content plus its own mark and never the other's; the child
 * sometimes forks a grandchild whose write must not reach it, and exits;
 * sometimes the parent drops its pages with MADV_DONTNEED (they read zero).
 * A second thread of the process keeps reading the words of those pages
 * that no one writes (zero), across page boundaries, so that its page
 * walks and copies meet the others' faults and COW breaks.
 */
#define ACT_COW_PAGES 8
#define ACT_COW_OFF 8                 /* words 0 (base), 1 (parent), 2 (child) start here */

enum { ACT_COW_FORKS, ACT_COW_PAGES_TOUCHED, ACT_COW_GRANDCHILDREN, ACT_COW_ZAPS,
       ACT_COW_PEER_READS, ACT_COW_NR };
static const char *const act_cow_names[ACT_COW_NR] = {
	"forks", "COW pages written", "grandchildren", "DONTNEED", "reads by a second thread",
};

struct act_cow {
	struct mv_task *t;            /* the process: act_cow_main exits it */
	const unsigned int *stop;     /* atomic: set when the test winds down */
	pthread_t th;
	uint64_t seed;
	struct act_err err;
	uint64_t n[ACT_COW_NR];       /* act_inc: others watch the forks */
	/* the second thread of the process */
	struct mv_task *peer;
	uint64_t map;
	unsigned int rounds_done;     /* atomic */
	struct act_err peer_err;
};

struct act_cow_side {
	struct mv_task *t;
	uint64_t map, round;
	int word;                     /* 1: the parent's, 2: the child's */
	bool fork_again;
	uint64_t grandchildren;
	struct act_err err;
};

static uint64_t act_cow_mark(uint64_t round, uint64_t page, int word)
{
	return ((uint64_t)word << 60) | (round << 8) | page;
}

/* Writes its word of every page, then reads the page's three words back. */
static void act_cow_touch(struct act_cow_side *s)
{
	for (uint64_t p = 0; p < ACT_COW_PAGES; p++) {
		uint64_t mark = act_cow_mark(s->round, p, s->word), w[3] = { 0 };
		uint64_t addr = s->map + p * 4096;
		long wr = mv_user_write(s->t, addr + ACT_COW_OFF + 8 * (uint64_t)s->word, &mark, 8);

		if (wr || mv_user_read(s->t, addr + ACT_COW_OFF, w, sizeof(w)) ||
		    w[0] != act_cow_mark(s->round, p, 0) || w[s->word] != mark || w[3 - s->word])
			act_fail(&s->err, "%s page %llu: write %ld, read %#llx %#llx %#llx",
				 s->word == 1 ? "parent" : "child", (unsigned long long)p, wr,
				 (unsigned long long)w[0], (unsigned long long)w[1],
				 (unsigned long long)w[2]);
	}
}

static void *act_cow_child(void *p)
{
	struct act_cow_side *s = p;
	struct mv_task *gc;

	act_cow_touch(s);
	if (s->fork_again && mv_task_clone(s->t, 0, &gc) == 0) {
		uint64_t x = ~0ull, y = 0;

		if (mv_user_write(gc, s->map + ACT_COW_OFF, &x, 8) ||
		    mv_user_read(s->t, s->map + ACT_COW_OFF, &y, 8) ||
		    y != act_cow_mark(s->round, 0, 0))
			act_fail(&s->err, "a grandchild's write reached the child (%#llx)",
				 (unsigned long long)y);
		mv_task_exit(gc);
		s->grandchildren++;
	}
	mv_task_exit(s->t);
	return NULL;
}

static void act_cow_round(struct act_cow *c, struct lib_prng *rng, uint64_t map,
				 uint64_t round)
{
	struct act_cow_side parent = { .t = c->t, .map = map, .round = round, .word = 1 };
	struct act_cow_side child = parent;
	pthread_t th;

	for (uint64_t p = 0; p < ACT_COW_PAGES; p++) {
		uint64_t w[3] = { act_cow_mark(round, p, 0), 0, 0 };

		if (mv_user_write(c->t, map + p * 4096 + ACT_COW_OFF, w, sizeof(w)))
			act_fail(&c->err, "the parent's setup write failed");
	}
	child.word = 2;
	child.fork_again = lib_prng_below(rng, 2);
	if (mv_task_clone(c->t, 0, &child.t)) {
		act_fail(&c->err, "fork failed");
		return;
	}
	if (pthread_create(&th, NULL, act_cow_child, &child)) {
		mv_task_exit(child.t);
		act_fail(&c->err, "pthread_create failed");
		return;
	}
	act_cow_touch(&parent);
	pthread_join(th, NULL);
	if (child.err.n || parent.err.n)
		act_fail(&c->err, "%s", child.err.n ? child.err.first : parent.err.first);
	act_inc(&c->n[ACT_COW_FORKS]);
	c->n[ACT_COW_PAGES_TOUCHED] += 2 * ACT_COW_PAGES;
	c->n[ACT_COW_GRANDCHILDREN] += child.grandchildren;
	if (lib_prng_below(rng, 4) == 0) {
		long z = MVTEST_SYSCALL(c->t, MV_SYS_madvise, map, ACT_COW_PAGES * 4096,
					MADV_DONTNEED);
		uint64_t x = ~0ull;

		if (z || mv_user_read(c->t, map + ACT_COW_OFF, &x, 8) || x)
			act_fail(&c->err, "COW pages read %#llx after DONTNEED",
				 (unsigned long long)x);
		c->n[ACT_COW_ZAPS]++;
	}
}

static void *act_cow_peer(void *p)
{
	struct act_cow *c = p;

	for (uint64_t i = 0; !__atomic_load_n(&c->rounds_done, __ATOMIC_ACQUIRE); i++) {
		/* the last word of a page and the first of the next: zero, in every copy */
		uint64_t x[2] = { ~0ull, ~0ull }, addr = c->map + (i % (ACT_COW_PAGES - 1)) * 4096;
		long r = mv_user_read(c->peer, addr + 4096 - 8, x, sizeof(x));

		if (r || x[0] || x[1])
			act_fail(&c->peer_err, "the second thread read %ld, %#llx %#llx (not its "
				 "own zero pages)", r, (unsigned long long)x[0],
				 (unsigned long long)x[1]);
		c->n[ACT_COW_PEER_READS]++;
		sched_yield();   /* a reader, not a spinner: leave the cores to the others */
	}
	return NULL;
}

static void *act_cow_main(void *p)
{
	struct act_cow *c = p;
	struct lib_prng rng;
	long map = MVTEST_SYSCALL(c->t, MV_SYS_mmap, 0, ACT_COW_PAGES * 4096,
				  PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pthread_t th;
	bool peer;

	lib_prng_seed(&rng, c->seed);
	if (map <= 0)
		act_fail(&c->err, "the second process's mmap = %ld", map);
	c->map = (uint64_t)map;
	peer = map > 0 && mv_task_clone(c->t, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
					CLONE_THREAD, &c->peer) == 0;
	if (peer && pthread_create(&th, NULL, act_cow_peer, c)) {
		mv_task_exit(c->peer);
		peer = false;
	}
	if (map > 0 && !peer)
		act_fail(&c->err, "no second thread");
	for (uint64_t round = 1; map > 0 && !act_stopped(c->stop) && !c->err.n; round++)
		act_cow_round(c, &rng, (uint64_t)map, round);
	__atomic_store_n(&c->rounds_done, 1, __ATOMIC_RELEASE);
	if (peer) {
		pthread_join(th, NULL);
		mv_task_exit(c->peer);
	}
	if (c->peer_err.n)
		act_fail(&c->err, "%s", c->peer_err.first);
	mv_task_exit(c->t);
	return NULL;
}

static void *cow_setup(const struct act_env *env)
{
	struct act_cow *c = test_calloc(1, sizeof(*c));

	c->stop = env->stop;
	c->seed = env->seed ^ 0xd;
	assert_int_equal(mv_task_spawn(env->m, &c->t), 0);
	return c;
}

static void cow_start(void *self)
{
	struct act_cow *c = self;

	assert_int_equal(pthread_create(&c->th, NULL, act_cow_main, c), 0);
}

static bool cow_progress(void *self)
{
	struct act_cow *c = self;

	return act_get(&c->n[ACT_COW_FORKS]) >= 3;
}

static void cow_join(void *self)
{
	struct act_cow *c = self;

	pthread_join(c->th, NULL);
}

static void cow_report(void *self)
{
	struct act_cow *c = self;

	act_print("D (second process)", act_cow_names, c->n, ACT_COW_NR);
}

static void cow_check(void *self)
{
	struct act_cow *c = self;

	act_check(&c->err, "second process");
	assert_true(cow_progress(c));
}

/* act_cow_main exited the process and its threads. */
static void cow_teardown(void *self)
{
	test_free(self);
}

const struct act_family act_family_cow = {
	.name = "cow",
	.setup = cow_setup,
	.start = cow_start,
	.progress = cow_progress,
	.join = cow_join,
	.report = cow_report,
	.check = cow_check,
	.teardown = cow_teardown,
};
