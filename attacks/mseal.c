// SPDX-License-Identifier: MIT
/*
 * mseal(2)'s attacks. A program keeps a function pointer in a read-only
 * page, as RELRO leaves a GOT, and seals the page ("off": it does not).
 * The attacker has the program's system calls (a ROP chain's, say) and its
 * plain memory writes, and wants the pointer to name its own code, or to
 * be zero (a cleared "checks on" word): it makes the page writable, maps
 * over it, unmaps and maps it again, moves it away, or discards it. The
 * verdict is what the page holds at the end.
 */
#include <string.h>

#include "attacks.h"

#define PG 4096ull
#define GOOD 0x401000ull    /* the function the program's pointer names */
#define EVIL 0x666000ull    /* the attacker's */
#define ANON_FIXED (MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)

struct atk_mseal {
	struct mv_machine *m;
	struct mv_task *t;
	uint64_t ro;              /* the read-only page */
};

/* The program: one read-only page holding GOOD, sealed when @protect. */
static int mseal_stage(struct atk_mseal *s, bool protect)
{
	uint64_t v = GOOD;
	long a;
	int err = atk_machine(0, &s->m, &s->t);

	if (err)
		return err;
	a = atk_mmap_anon(s->t, PG);
	if (a < 0)
		goto fail;
	s->ro = (uint64_t)a;
	a = mv_user_write(s->t, s->ro, &v, sizeof(v));
	if (!a)
		a = atk_sys(s->t, MV_SYS_mprotect, s->ro, PG, PROT_READ, 0, 0, 0);
	if (!a && protect)
		a = atk_sys(s->t, MV_SYS_mseal, s->ro, PG, 0, 0, 0, 0);
	if (!a)
		return 0;
fail:
	mv_machine_destroy(s->m);
	return (int)a;
}

/* The attacker's plain store of @v: it faults on a read-only page (the signal is dropped). */
static void mseal_store(struct atk_mseal *s, uint64_t va, uint64_t v)
{
	struct mv_siginfo si;

	if (mv_user_write(s->t, va, &v, sizeof(v)))
		while (mv_task_take_signal(s->t, &si) == 1)
			;
}

/* What the page holds now against @goal: the verdict. @ret: the call the seal would refuse. */
static int mseal_verdict(struct atk_mseal *s, uint64_t goal, long ret, const char *what,
			 struct attack_outcome *out)
{
	struct mv_siginfo si;
	uint64_t v = ~0ull;

	if (mv_user_read(s->t, s->ro, &v, sizeof(v)))
		while (mv_task_take_signal(s->t, &si) == 1)
			;
	if (v == goal)
		atk_outcome(out, ATTACK_SUCCEEDED, 0, "%s: the pointer is now %#llx", what,
			    (unsigned long long)v);
	else
		atk_outcome(out, ATTACK_BLOCKED, 0, "%s: %s; the pointer is still %#llx", what,
			    ret ? atk_errno_name(ret) : "done", (unsigned long long)v);
	mv_machine_destroy(s->m);
	return 0;
}

/* A writable page at the sealed one's address: 0, or the errno mmap answered. */
static long mseal_map_rw(struct atk_mseal *s)
{
	long r = atk_sys(s->t, MV_SYS_mmap, s->ro, PG, PROT_READ | PROT_WRITE, ANON_FIXED, -1ull, 0);

	return r == (long)s->ro ? 0 : r;
}

/* The attacker's moves: 0 when every call took, else the errno of the one refused. */
static long means_mprotect(struct atk_mseal *s)
{
	return atk_sys(s->t, MV_SYS_mprotect, s->ro, PG, PROT_READ | PROT_WRITE, 0, 0, 0);
}

static long means_unmap_remap(struct atk_mseal *s)
{
	long r = atk_sys(s->t, MV_SYS_munmap, s->ro, PG, 0, 0, 0, 0);

	return r ? r : mseal_map_rw(s);
}

/* Move the page out of the way (MREMAP_FIXED), put a writable one where it was. */
static long means_mremap_away(struct atk_mseal *s)
{
	uint64_t away = s->ro + 0x100000;
	long r = atk_sys(s->t, MV_SYS_mremap, s->ro, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, away, 0);

	return r == (long)away ? mseal_map_rw(s) : r;
}

/* MADV_DONTNEED: read-only anonymous memory refaults as zeros, a write it could not make. */
static long means_discard(struct atk_mseal *s)
{
	return atk_sys(s->t, MV_SYS_madvise, s->ro, PG, MADV_DONTNEED, 0, 0, 0);
}

/* Stage, the attacker's moves and, when the goal is EVIL, its store; then look. */
static int mseal_attack(bool protect, struct attack_outcome *out, long (*means)(struct atk_mseal *),
			uint64_t goal, const char *what)
{
	struct atk_mseal s;
	long r;
	int err = mseal_stage(&s, protect);

	if (err)
		return err;
	r = means(&s);
	if (goal == EVIL)
		mseal_store(&s, s.ro, EVIL);
	return mseal_verdict(&s, goal, r, what, out);
}

#define MSEAL_ATTACK(fn, means, goal, what) \
	static int fn(bool protect, struct attack_outcome *out) \
	{ \
		return mseal_attack(protect, out, means, goal, what); \
	}

MSEAL_ATTACK(atk_mprotect, means_mprotect, EVIL, "mprotect(PROT_WRITE)")
MSEAL_ATTACK(atk_map_over, mseal_map_rw, EVIL, "mmap(MAP_FIXED) over it")
MSEAL_ATTACK(atk_unmap_remap, means_unmap_remap, EVIL, "munmap, then mmap in its place")
MSEAL_ATTACK(atk_mremap_away, means_mremap_away, EVIL, "mremap it away, map a page in its place")
MSEAL_ATTACK(atk_discard, means_discard, 0, "madvise(MADV_DONTNEED)")

const struct attack attacks_mseal[] = {
	{ "mseal-mprotect-writable", "mseal", "mprotect a sealed read-only page writable, overwrite it",
	  CLAIM_BLOCKS, atk_mprotect, false },
	{ "mseal-map-over", "mseal", "MAP_FIXED a writable page over the sealed one",
	  CLAIM_BLOCKS, atk_map_over, false },
	{ "mseal-unmap-remap", "mseal", "munmap the sealed page, map a writable one in its place",
	  CLAIM_BLOCKS, atk_unmap_remap, false },
	{ "mseal-mremap-away", "mseal", "MREMAP_FIXED the sealed page away, map one in its place",
	  CLAIM_BLOCKS, atk_mremap_away, false },
	{ "mseal-discard", "mseal", "MADV_DONTNEED the sealed read-only page: it reads zeros",
	  CLAIM_BLOCKS, atk_discard, false },
	{ NULL, NULL, NULL, CLAIM_NONE, NULL, false },
};
