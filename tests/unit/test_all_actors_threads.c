/* SPDX-License-Identifier: MIT */
/*
 * Every actor at once on one machine, each on its own host thread: four
 * vCPUs (KVM_RUN on their own CLONE_VM tasks) whose guests write and read
 * back canaries in a normal slot N, a guest_memfd slot P of a
 * KVM_X86_SW_PROTECTED_VM, a read-only slot R and a hole H; VMM thread A
 * (DONTNEED and delete/re-add of N, dirty logging on, off and harvested,
 * DONTNEED and mprotect of R's backing, a shared memfd whose bytes survive
 * both); VMM thread B (guest_memfd punches, private/shared conversions,
 * DONTNEED of P's shared backing, delete/re-add of P, single pages of N, R
 * or H made private, which the vCPU threads convert back after the memory
 * fault exit); VMM thread C (its own memory through mv_user_read/write and
 * mv_task_access_remote, mmap/munmap, mv_machine_get_stats); thread D, a
 * second process forking beside it all (act_cow_main).
 *
 * Every vCPU owns its pages, so the checks are exact. A and B make a
 * per-vCPU epoch odd before they change that vCPU's N or P pages and even
 * after (act_epoch_*). A guest reads its page (last round's canary), writes
 * this round's and reads it back: if the epoch read before a write is the
 * same even value after a read, that read must give exactly what was
 * written, with no MMIO exit; otherwise it may give the canary, zero
 * (DONTNEED, punch), an MMIO reply (slot away) or an older canary of its
 * own (conversion, a write that went to MMIO), nothing else. R reads its
 * pattern and a write to it is one MMIO exit with the canary; H, one exit.
 * The vCPU thread checks every exit against the guest's access in flight;
 * A, that every page of N written while logged is in the dirty log. Run
 * length: MVTEST_ACTORS_SECONDS (default 3); seed: MVTEST_SEED.
 */
#include <pthread.h>
#include <sched.h>

#include "actors.h"
#include "kvmtest.h"
#include "api/api.h"
#include "kernel/guest_memfd.h"
#include "kvm/kvm.h"

#define NR_VCPUS   4
#define NPG        8                       /* pages per vCPU in each region */
#define PER_REG    (NR_VCPUS * NPG)
#define SZ_SMALL   (PER_REG * KT_PG)
#define SZ_P       (2ull << 20)            /* one 2 MiB folio when whole */
#define P_STRIDE   (SZ_P / PER_REG)        /* a vCPU's P pages are 16 pages apart */
#define OFF        0x40ull                 /* where in its page a canary lives */
#define SCRATCH    16                      /* pages of thread C's own memory */
#define MIN_PASSES 4
#define ULL(x) ((unsigned long long)(x))
#define NELEM(x) (sizeof(x) / sizeof((x)[0]))

enum { REG_N, REG_P, REG_R, REG_H, NR_REGS };   /* N, P and R are also their slot ids */
static const uint64_t reg_base[NR_REGS] = { 0x000000, 0x200000, 0x400000, 0x600000 };

/* What each actor counts, printed at the end: how often each window was hit. */
enum { V_EXITS, V_MMIO, V_MF_FLIP = V_MMIO + NR_REGS, V_MF_AWAY, V_QUIET_N, V_QUIET_P,
       V_OVERLAP_N, V_OVERLAP_P, V_ZEROED, V_VIA_MMIO, V_OLDER, V_NR };
static const char *const v_names[V_NR] = {
	"exits", "MMIO N", "MMIO P", "MMIO R", "MMIO H", "memory faults on pages made private",
	"memory faults with P away", "quiet N", "quiet P", "overlapped N", "overlapped P",
	"read zero", "read MMIO", "read an older canary",
};
enum { A_OPS, A_DONTNEED, A_CHURN, A_R_ZAP, A_R_PROT, A_LOG_ON, A_HARVEST, A_VERIFIED, A_NR };
static const char *const a_names[A_NR] = { "ops", "N DONTNEED", "N delete+add",
	"R DONTNEED", "R mprotect", "logging on", "harvests", "logs verified" };
enum { B_OPS, B_PUNCH, B_CONVERT, B_DONTNEED, B_CHURN, B_FLIP, B_NR };
static const char *const b_names[B_NR] = { "ops", "punches", "conversions", "P DONTNEED",
	"P delete+add", "pages made private" };
enum { C_OPS, C_RW, C_ZAP, C_RO, C_MAP, C_STATS, C_NR };
static const char *const c_names[C_NR] = { "ops", "user+remote", "scratch DONTNEED",
	"R backing reads", "mmap+munmap", "stats" };

struct actors;

/* One vCPU, its host thread and its guest. */
struct vact {
	struct actors *a;
	struct mv_task *t;
	int fd, id;
	struct act_err err;
	uint64_t passes;           /* atomic: full passes the guest finished */
	unsigned int done;         /* atomic: the vCPU thread is out of its loop */
	/* the access in flight: set by the guest, read at its exits (same host thread) */
	int cur_reg;
	uint64_t cur_gpa, cur_val, cur_epoch;
	uint64_t prev_epoch[2][NPG];   /* N, P: the epoch before the page's last write */
	uint64_t reply, mmio_reads, mmio_writes;
	uint64_t n[V_NR];
};

/* A VMM thread: its operations, failures, random choices, counters (A_*, B_* or C_*). */
struct vmm_actor {
	struct actors *a;
	void (*const *ops)(struct actors *);   /* picked at random, equally often */
	unsigned int nops, pause_us;
	struct act_err err;
	struct lib_prng rng;
	uint64_t n[8];
};

struct actors {
	struct mv_machine *m;
	struct mv_task *vmm, *tb, *tc;  /* A runs as the VMM's first task; B, C: its threads */
	int kvm, vm, gmem, memfd;
	uint64_t nmap, pmap, rmap, smap;
	uint64_t nepoch[NR_VCPUS], pepoch[NR_VCPUS];   /* written by A, B */
	unsigned int stop;                             /* atomic */
	struct vact v[NR_VCPUS];
	struct vmm_actor A, B, C;
	bool logging, churned;         /* A's dirty-log state */
	uint64_t p0[NR_VCPUS], dirty;
	struct act_cow D;
};

static uint64_t gpa_of(int reg, int id, unsigned int k)
{
	return reg_base[reg] + ((uint64_t)id * NPG + k) * (reg == REG_P ? P_STRIDE : KT_PG);
}

#define ROUND_BITS 44
static uint64_t sig(int id, int reg, unsigned int k, uint64_t round)
{
	return ((uint64_t)(id + 1) << 56) | ((uint64_t)reg << 52) | ((uint64_t)k << ROUND_BITS) |
	       (round & ((1ull << ROUND_BITS) - 1));
}

static bool sig_is_older(uint64_t v, int id, int reg, unsigned int k, uint64_t round)
{
	return (v >> ROUND_BITS) == (sig(id, reg, k, 0) >> ROUND_BITS) &&
	       (v & ((1ull << ROUND_BITS) - 1)) < round;
}

static uint64_t ro_pattern(int id, unsigned int k)
{
	return (0x5aull << 56) | ((uint64_t)id << 48) | ((uint64_t)k << 40) | 0xc0ffee;
}

static uint64_t *epoch_of(struct vact *v, int reg)
{
	return reg == REG_N ? &v->a->nepoch[v->id] : &v->a->pepoch[v->id];
}

/* ---- the guest ---- */

static void g_begin(struct vact *v, int reg, unsigned int k, uint64_t round)
{
	v->cur_reg = reg;
	v->cur_gpa = gpa_of(reg, v->id, k) + OFF;
	v->cur_val = sig(v->id, reg, k, round);
}

/*
 * @got, read from the page the guest is on, is @want if no change overlapped
 * the window (@quiet), else zero, the MMIO reply (@via: this read exited) or
 * an older canary of this vCPU's for this page.
 */
static void g_check(struct vact *v, unsigned int k, uint64_t round, uint64_t want, uint64_t got,
		    bool quiet, bool via)
{
	int reg = v->cur_reg;

	v->n[(quiet ? V_QUIET_N : V_OVERLAP_N) + reg]++;
	if (got == want)
		return;
	if (quiet)
		act_fail(&v->err, "nothing changed %#llx: read %#llx, want %#llx", ULL(v->cur_gpa),
			 ULL(got), ULL(want));
	else if (got == 0)
		v->n[V_ZEROED]++;
	else if (via)
		v->n[V_VIA_MMIO]++;
	else if (sig_is_older(got, v->id, reg, k, round))
		v->n[V_OLDER]++;
	else
		act_fail(&v->err, "%#llx round %llu read %#llx: not its canary, zero, MMIO or an "
			 "older canary of its own", ULL(v->cur_gpa), ULL(round), ULL(got));
}

/*
 * N or P: the last round's canary must still be there (the window runs
 * from before that write), then this round's is written and read back.
 */
static void g_slot_page(struct mv_guest *g, struct vact *v, int reg, unsigned int k,
			uint64_t round)
{
	uint64_t kept = 0, got = 0, prev = v->prev_epoch[reg][k], r0 = v->mmio_reads, r1, after;
	bool via;   /* the first read exited and got its MMIO reply */

	g_begin(v, reg, k, round);
	v->cur_epoch = act_epoch_read(epoch_of(v, reg));
	if (mv_guest_read(g, v->cur_gpa, &kept, 8)) {
		act_fail(&v->err, "guest read of %#llx failed", ULL(v->cur_gpa));
		return;
	}
	via = v->mmio_reads != r0 && kept == v->reply;
	r1 = v->mmio_reads;
	if (mv_guest_write(g, v->cur_gpa, &v->cur_val, 8) || mv_guest_read(g, v->cur_gpa, &got, 8))
		act_fail(&v->err, "guest write or read of %#llx failed", ULL(v->cur_gpa));
	after = act_epoch_read(epoch_of(v, reg));
	v->prev_epoch[reg][k] = v->cur_epoch;
	if (v->err.n)
		return;
	g_check(v, k, round, round > 1 ? sig(v->id, reg, k, round - 1) : 0, kept,
		act_epoch_quiet(prev, after), via);
	g_check(v, k, round, v->cur_val, got, act_epoch_quiet(v->cur_epoch, after),
		v->mmio_reads != r1 && got == v->reply);
}

/* R: reads give the pattern, a write is one MMIO exit and changes nothing. */
static void g_ro_page(struct mv_guest *g, struct vact *v, unsigned int k, uint64_t round)
{
	uint64_t pat = ro_pattern(v->id, k), got = 0, again = 0;
	uint64_t r0 = v->mmio_reads, w0 = v->mmio_writes;

	g_begin(v, REG_R, k, round);
	if (mv_guest_read(g, v->cur_gpa, &got, 8) || mv_guest_write(g, v->cur_gpa, &v->cur_val, 8)
	    || mv_guest_read(g, v->cur_gpa, &again, 8))
		act_fail(&v->err, "read-only access to %#llx failed", ULL(v->cur_gpa));
	else if (got != pat || again != pat || v->mmio_reads != r0 || v->mmio_writes != w0 + 1)
		act_fail(&v->err, "read-only %#llx: read %#llx, %#llx (want %#llx), %llu read and "
			 "%llu write exits (want 0, 1)", ULL(v->cur_gpa), ULL(got), ULL(again),
			 ULL(pat), ULL(v->mmio_reads - r0), ULL(v->mmio_writes - w0));
}

/* H: one MMIO exit per access; the read gets exactly what the vCPU thread put there. */
static void g_hole_page(struct mv_guest *g, struct vact *v, unsigned int k, uint64_t round)
{
	uint64_t got = 0, r0 = v->mmio_reads, w0 = v->mmio_writes;

	g_begin(v, REG_H, k, round);
	if (mv_guest_write(g, v->cur_gpa, &v->cur_val, 8) || mv_guest_read(g, v->cur_gpa, &got, 8))
		act_fail(&v->err, "access to the hole at %#llx failed", ULL(v->cur_gpa));
	else if (v->mmio_writes != w0 + 1 || v->mmio_reads != r0 + 1 || got != v->reply)
		act_fail(&v->err, "hole %#llx: %llu write and %llu read exits, read %#llx (want 1, "
			 "1, %#llx)", ULL(v->cur_gpa), ULL(v->mmio_writes - w0),
			 ULL(v->mmio_reads - r0), ULL(got), ULL(v->reply));
}

static void guest_main(struct mv_guest *g, void *arg)
{
	struct vact *v = arg;

	for (uint64_t round = 1; !act_stopped(&v->a->stop) && !v->err.n; round++) {
		for (unsigned int k = 0; k < NPG; k++) {
			g_slot_page(g, v, REG_N, k, round);
			g_slot_page(g, v, REG_P, k, round);
			g_ro_page(g, v, k, round);
			g_hole_page(g, v, k, round);
		}
		act_inc(&v->passes);
	}
}

/* ---- the vCPU threads: every exit must be one the access in flight can cause ---- */

static void v_mmio(struct vact *v, struct kvm_run *run)
{
	uint64_t gpa = run->mmio.phys_addr, val;
	int reg = v->cur_reg;   /* once gpa is checked to be the access in flight */

	if (gpa != v->cur_gpa || run->mmio.len != 8) {
		act_fail(&v->err, "MMIO exit at %#llx len %u during an access to %#llx", ULL(gpa),
			 run->mmio.len, ULL(v->cur_gpa));
		return;
	}
	if (reg == REG_R && !run->mmio.is_write)
		act_fail(&v->err, "a read of the read-only slot exited");
	if ((reg == REG_N || reg == REG_P) &&
	    act_epoch_quiet(v->cur_epoch, act_epoch_read(epoch_of(v, reg))))
		act_fail(&v->err, "MMIO exit at %#llx, its slot never went away", ULL(gpa));
	v->n[V_MMIO + reg]++;
	if (run->mmio.is_write) {
		memcpy(&val, run->mmio.data, 8);
		v->mmio_writes++;
		if (val != v->cur_val)
			act_fail(&v->err, "MMIO write of %#llx, the guest wrote %#llx", ULL(val),
				 ULL(v->cur_val));
		return;
	}
	v->mmio_reads++;
	v->reply = (0xeeull << 56) | ((uint64_t)v->id << 48) | v->mmio_reads;   /* never in RAM */
	memcpy(run->mmio.data, &v->reply, 8);
}

/*
 * A private gfn nothing can back: B made a page of N, R or H private (convert
 * it back, as after KVM_HC_MAP_GPA_RANGE), or P is away (retry until it is back).
 */
static void v_memory_fault(struct vact *v, struct kvm_run *run)
{
	uint64_t gpa = run->memory_fault.gpa;
	long r;

	if (run->memory_fault.flags != KVM_MEMORY_EXIT_FLAG_PRIVATE ||
	    run->memory_fault.size != KT_PG || gpa != (v->cur_gpa & ~(KT_PG - 1))) {
		act_fail(&v->err, "memory fault at %#llx flags %#llx size %llu during an access "
			 "to %#llx", ULL(gpa), ULL(run->memory_fault.flags),
			 ULL(run->memory_fault.size), ULL(v->cur_gpa));
	} else if (v->cur_reg != REG_P) {
		r = kt_set_attributes(v->t, v->a->vm, gpa, KT_PG, 0);
		if (r)
			act_fail(&v->err, "converting %#llx back to shared = %ld", ULL(gpa), r);
		v->n[V_MF_FLIP]++;
	} else if (!act_epoch_quiet(v->cur_epoch, act_epoch_read(epoch_of(v, REG_P)))) {
		v->n[V_MF_AWAY]++;
		sched_yield();
	} else {
		act_fail(&v->err, "private memory fault at %#llx, its slot in place", ULL(gpa));
	}
}

static void *vcpu_main(void *p)
{
	struct vact *v = p;
	struct kvm_run *run = mv_vcpu_run_area(v->t, v->fd);

	while (run && !v->err.n) {   /* no run area: no passes, which check_actors reports */
		long r = kt_ioctl(v->t, v->fd, KVM_RUN, 0);

		v->n[V_EXITS]++;
		if (!r && run->exit_reason == KVM_EXIT_HLT)
			break;
		if (!r && run->exit_reason == KVM_EXIT_MMIO)
			v_mmio(v, run);
		else if (r == -EFAULT && run->exit_reason == KVM_EXIT_MEMORY_FAULT)
			v_memory_fault(v, run);
		else
			act_fail(&v->err, "KVM_RUN = %ld, exit reason %u", r, run->exit_reason);
	}
	__atomic_store_n(&v->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* ---- VMM helpers ---- */

static long madvise_dontneed(struct mv_task *t, uint64_t addr, uint64_t len)
{
	return MVTEST_SYSCALL(t, MV_SYS_madvise, addr, len, MADV_DONTNEED);
}

/* A VMM thread: random operations with short random pauses until the test stops. */
static void *vmm_main(void *p)
{
	struct vmm_actor *s = p;

	while (!act_stopped(&s->a->stop)) {
		s->ops[lib_prng_below(&s->rng, s->nops)](s->a);
		act_inc(&s->n[0]);
		act_sleep_us((unsigned int)lib_prng_below(&s->rng, s->pause_us));
	}
	return NULL;
}

/* ---- thread A: slot N, dirty logging, R's backing ---- */

static void a_track_restart(struct actors *a)
{
	for (int i = 0; i < NR_VCPUS; i++)
		a->p0[i] = act_get(&a->v[i].passes);
	a->dirty = 0;
}

static void a_dontneed(struct actors *a)
{
	uint64_t off, len;
	long r;

	act_pick_range(&a->A.rng, SZ_SMALL, &off, &len);
	act_epochs_mark(a->nepoch, NR_VCPUS, off, len, NPG * KT_PG, true);
	r = madvise_dontneed(a->vmm, a->nmap + off, len);
	act_epochs_mark(a->nepoch, NR_VCPUS, off, len, NPG * KT_PG, false);
	if (r)
		act_fail(&a->A.err, "MADV_DONTNEED of slot N's backing = %ld", r);
	act_inc(&a->A.n[A_DONTNEED]);
}

static void a_churn(struct actors *a)
{
	uint32_t flags = a->logging ? KVM_MEM_LOG_DIRTY_PAGES : 0;
	long r1, r2;

	if (a->logging && a->churned)
		return;   /* once per logging period, so that the check can complete */
	act_epochs_mark(a->nepoch, NR_VCPUS, 0, SZ_SMALL, NPG * KT_PG, true);
	r1 = kt_region_t(a->vmm, a->vm, REG_N, 0, 0, 0, 0);
	r2 = kt_region_t(a->vmm, a->vm, REG_N, flags, reg_base[REG_N], SZ_SMALL, a->nmap);
	act_epochs_mark(a->nepoch, NR_VCPUS, 0, SZ_SMALL, NPG * KT_PG, false);
	if (r1 || r2)
		act_fail(&a->A.err, "deleting / re-adding slot N = %ld / %ld", r1, r2);
	if (a->logging) {
		a->churned = true;
		a_track_restart(a);   /* a new slot, a new bitmap */
	}
	act_inc(&a->A.n[A_CHURN]);
}

/*
 * R's backing is a shared memfd: DONTNEED and mprotect change no byte of
 * it. A reads some back at once, so that its first touch faults while C
 * and the vCPUs (through GUP) walk and fault the same page-table entries.
 */
static void a_ro_backing(struct actors *a)
{
	uint64_t off, len, x;
	long r1, r2 = 0;

	act_pick_range(&a->A.rng, SZ_SMALL, &off, &len);
	if (lib_prng_below(&a->A.rng, 2)) {
		r1 = madvise_dontneed(a->vmm, a->rmap + off, len);
		act_inc(&a->A.n[A_R_ZAP]);
	} else {
		r1 = MVTEST_SYSCALL(a->vmm, MV_SYS_mprotect, a->rmap + off, len, PROT_READ);
		r2 = MVTEST_SYSCALL(a->vmm, MV_SYS_mprotect, a->rmap + off, len,
				    PROT_READ | PROT_WRITE);
		act_inc(&a->A.n[A_R_PROT]);
	}
	if (r1 || r2)
		act_fail(&a->A.err, "DONTNEED / mprotect of slot R's backing = %ld / %ld", r1, r2);
	for (uint64_t p = off / KT_PG; p < (off + len) / KT_PG && p < off / KT_PG + 4; p++) {
		r1 = mv_user_read(a->vmm, a->rmap + p * KT_PG + OFF, &x, 8);
		if (r1 || x != ro_pattern((int)(p / NPG), (unsigned int)(p % NPG)))
			act_fail(&a->A.err, "R backing page %llu: %ld %#llx", ULL(p), r1, ULL(x));
	}
}

/*
 * Logging off: the log is -ENOENT; switch it on. Logging on: harvest. Once
 * every guest finished a whole pass that began after logging started (two
 * passes since) before this harvest, every page must have been reported.
 */
static void a_dirty(struct actors *a)
{
	const uint64_t all = (1ull << PER_REG) - 1;
	bool ready = a->logging;   /* decided before the harvest */
	uint64_t bits = 0;
	long r;

	for (int i = 0; i < NR_VCPUS; i++)
		ready &= act_get(&a->v[i].passes) >= a->p0[i] + 2;
	r = kt_dirty_log(a->vmm, a->vm, REG_N, &bits);

	if (!a->logging) {
		if (r != -ENOENT)
			act_fail(&a->A.err, "KVM_GET_DIRTY_LOG without logging = %ld", r);
		r = kt_region_t(a->vmm, a->vm, REG_N, KVM_MEM_LOG_DIRTY_PAGES, reg_base[REG_N],
				SZ_SMALL, a->nmap);
		if (r)
			act_fail(&a->A.err, "turning dirty logging on = %ld", r);
		a->logging = true;
		a->churned = false;
		a_track_restart(a);
		act_inc(&a->A.n[A_LOG_ON]);
		return;
	}
	if (r || (bits & ~all))
		act_fail(&a->A.err, "KVM_GET_DIRTY_LOG = %ld, bits %#llx", r, ULL(bits));
	act_inc(&a->A.n[A_HARVEST]);
	a->dirty |= bits;
	if (!ready)
		return;
	if (a->dirty != all)
		act_fail(&a->A.err, "pages written while logged, never reported: %#llx",
			 ULL(all & ~a->dirty));
	act_inc(&a->A.n[A_VERIFIED]);
	r = kt_region_t(a->vmm, a->vm, REG_N, 0, reg_base[REG_N], SZ_SMALL, a->nmap);
	if (r)
		act_fail(&a->A.err, "turning dirty logging off = %ld", r);
	a->logging = false;
}

static void (*const a_ops[])(struct actors *) = {
	a_dontneed, a_dontneed, a_churn, a_ro_backing, a_dirty, a_dirty, a_dirty, a_dirty,
};

/* ---- thread B: the guest_memfd slot, conversions, pages made private ---- */

/* A punch, a conversion or a DONTNEED of P's shared backing, over a random range. */
static void b_change_p(struct actors *a)
{
	static const char *const what[] = { "punch", "conversion", "DONTNEED" };
	unsigned int op = (unsigned int)lib_prng_below(&a->B.rng, 3);
	uint64_t attrs = lib_prng_below(&a->B.rng, 2) ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0, off, len;
	long r;

	act_pick_range(&a->B.rng, SZ_P, &off, &len);
	act_epochs_mark(a->pepoch, NR_VCPUS, off, len, NPG * P_STRIDE, true);
	if (op == 0)
		r = MVTEST_SYSCALL(a->tb, MV_SYS_fallocate, a->gmem,
				   FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
	else if (op == 1)
		r = kt_set_attributes(a->tb, a->vm, reg_base[REG_P] + off, len, attrs);
	else
		r = madvise_dontneed(a->tb, a->pmap + off, len);
	act_epochs_mark(a->pepoch, NR_VCPUS, off, len, NPG * P_STRIDE, false);
	if (r)
		act_fail(&a->B.err, "%s of [%#llx, +%#llx) = %ld", what[op], ULL(off), ULL(len), r);
	act_inc(&a->B.n[B_PUNCH + op]);
}

static void b_churn(struct actors *a)
{
	long r1, r2;

	act_epochs_mark(a->pepoch, NR_VCPUS, 0, SZ_P, NPG * P_STRIDE, true);
	r1 = kt_region_gmem(a->tb, a->vm, REG_P, 0, 0, 0, a->gmem, 0);
	r2 = kt_region_gmem(a->tb, a->vm, REG_P, reg_base[REG_P], SZ_P, a->pmap, a->gmem, 0);
	act_epochs_mark(a->pepoch, NR_VCPUS, 0, SZ_P, NPG * P_STRIDE, false);
	if (r1 || r2)
		act_fail(&a->B.err, "deleting / re-adding slot P = %ld / %ld", r1, r2);
	act_inc(&a->B.n[B_CHURN]);
}

/* One page of N, R or H made private: its vCPU gets a memory fault and converts it back. */
static void b_flip(struct actors *a)
{
	static const int regs[] = { REG_N, REG_R, REG_H };
	int reg = regs[lib_prng_below(&a->B.rng, 3)];
	int id = (int)lib_prng_below(&a->B.rng, NR_VCPUS);
	uint64_t gpa = gpa_of(reg, id, (unsigned int)lib_prng_below(&a->B.rng, NPG));
	long r = kt_set_attributes(a->tb, a->vm, gpa, KT_PG, KVM_MEMORY_ATTRIBUTE_PRIVATE);

	if (r)
		act_fail(&a->B.err, "making %#llx private = %ld", ULL(gpa), r);
	act_inc(&a->B.n[B_FLIP]);
}

static void (*const b_ops[])(struct actors *) = {
	b_change_p, b_change_p, b_change_p, b_change_p, b_change_p, b_change_p,
	b_churn, b_flip, b_flip, b_flip,
};

/* ---- thread C: the VMM's own memory, both ways, and the machine's counters ---- */

/* Its own memory both ways; one time in four the page is dropped first and reads zero. */
static void c_scratch(struct actors *a)
{
	uint64_t page = a->smap + lib_prng_below(&a->C.rng, SCRATCH) * KT_PG;
	uint64_t addr = page + 8 * lib_prng_below(&a->C.rng, KT_PG / 8);
	uint64_t v1 = lib_prng_next(&a->C.rng), v2 = ~v1, x = 0, y = 0, z = 0;
	bool zap = lib_prng_below(&a->C.rng, 4) == 0;
	long r0 = zap && (madvise_dontneed(a->tc, page, KT_PG) ||
			  mv_task_access_remote(a->tc, addr, &z, 8, 0) != 8 || z);
	long w1 = mv_user_write(a->tc, addr, &v1, 8);
	long r1 = mv_task_access_remote(a->tc, addr, &x, 8, 0);
	long w2 = mv_task_access_remote(a->tc, addr, &v2, 8, MV_REMOTE_WRITE);
	long r2 = mv_user_read(a->tc, addr, &y, 8);

	if (r0 || w1 || r1 != 8 || x != v1 || w2 != 8 || r2 || y != v2)
		act_fail(&a->C.err, "scratch %#llx: DONTNEED then %#llx, user write %ld, remote "
			 "read %ld (%#llx), remote write %ld, user read %ld (%#llx)", ULL(addr),
			 ULL(z), w1, r1, ULL(x), w2, r2, ULL(y));
	act_inc(&a->C.n[zap ? C_ZAP : C_RW]);
}

static void c_ro_backing(struct actors *a)
{
	int id = (int)lib_prng_below(&a->C.rng, NR_VCPUS);
	unsigned int k = (unsigned int)lib_prng_below(&a->C.rng, NPG);
	uint64_t addr = a->rmap + ((uint64_t)id * NPG + k) * KT_PG + OFF, x = 0, y = 0;
	long r1 = mv_user_read(a->tc, addr, &x, 8);
	long r2 = mv_task_access_remote(a->tc, addr, &y, 8, 0);

	if (r1 || r2 != 8 || x != ro_pattern(id, k) || y != x)
		act_fail(&a->C.err, "slot R's backing at %#llx: %ld (%#llx), remote %ld (%#llx)",
			 ULL(addr), r1, ULL(x), r2, ULL(y));
	act_inc(&a->C.n[C_RO]);
}

static void c_map(struct actors *a)
{
	long m = MVTEST_SYSCALL(a->tc, MV_SYS_mmap, 0, 4 * KT_PG, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t v = lib_prng_next(&a->C.rng), x = 0;
	long w = m > 0 ? mv_user_write(a->tc, (uint64_t)m + 3 * KT_PG, &v, 8) : m;
	long r = m > 0 ? mv_task_access_remote(a->tc, (uint64_t)m + 3 * KT_PG, &x, 8, 0) : m;
	long u = m > 0 ? MVTEST_SYSCALL(a->tc, MV_SYS_munmap, m, 4 * KT_PG) : m;

	if (m <= 0 || w || r != 8 || x != v || u)
		act_fail(&a->C.err, "fresh mapping: mmap %ld, write %ld, read %ld (%#llx), munmap "
			 "%ld", m, w, r, ULL(x), u);
	act_inc(&a->C.n[C_MAP]);
}

/* What a monitoring thread of the VMM would do: read the counters while all runs. */
static void c_stats(struct actors *a)
{
	struct mv_machine_stats st;

	mv_machine_get_stats(a->m, &st);
	if (st.frames_free > st.frames_total || st.ram_bytes != 128ull << 20)
		act_fail(&a->C.err, "stats: %llu of %llu frames free, %llu bytes of RAM",
			 ULL(st.frames_free), ULL(st.frames_total), ULL(st.ram_bytes));
	act_inc(&a->C.n[C_STATS]);
}

static void (*const c_ops[])(struct actors *) = {
	c_scratch, c_scratch, c_scratch, c_scratch, c_ro_backing, c_ro_backing, c_map, c_stats,
};

/* ---- setup, the run, teardown ---- */

static void setup_memory(struct actors *a, struct kvmtest *k)
{
	struct kvm_create_guest_memfd cg = { .size = SZ_P };

	a->nmap = kt_mmap(k, SZ_SMALL);
	a->pmap = kt_mmap(k, SZ_P);
	a->smap = kt_mmap(k, SCRATCH * KT_PG);
	a->memfd = (int)MVTEST_SYSCALL(a->vmm, MV_SYS_memfd_create, "slot-r", 0);
	assert_true(a->memfd >= 0);
	assert_int_equal(MVTEST_SYSCALL(a->vmm, MV_SYS_ftruncate, a->memfd, SZ_SMALL), 0);
	a->rmap = (uint64_t)MVTEST_SYSCALL(a->vmm, MV_SYS_mmap, 0, SZ_SMALL, PROT_READ | PROT_WRITE,
					   MAP_SHARED, a->memfd, 0);
	assert_true((long)a->rmap > 0);
	for (uint64_t p = 0; p < PER_REG; p++) {
		uint64_t pat = ro_pattern((int)(p / NPG), (unsigned int)(p % NPG));

		assert_int_equal(mv_user_write(a->vmm, a->rmap + p * KT_PG + OFF, &pat, 8), 0);
	}
	a->gmem = (int)kt_ioctl_p(a->vmm, a->vm, KVM_CREATE_GUEST_MEMFD, &cg);
	assert_true(a->gmem >= 0);
	assert_int_equal(kt_region_t(a->vmm, a->vm, REG_N, 0, reg_base[REG_N], SZ_SMALL, a->nmap),
			 0);
	assert_int_equal(kt_region_gmem(a->vmm, a->vm, REG_P, reg_base[REG_P], SZ_P, a->pmap,
					a->gmem, 0), 0);
	assert_int_equal(kt_region_t(a->vmm, a->vm, REG_R, KVM_MEM_READONLY, reg_base[REG_R],
				     SZ_SMALL, a->rmap), 0);
	assert_int_equal(kt_set_attributes(a->vmm, a->vm, reg_base[REG_P], SZ_P,
					   KVM_MEMORY_ATTRIBUTE_PRIVATE), 0);
}

static void setup(struct actors *a, uint64_t seed)
{
	struct kvmtest k = { .m = a->m };

	assert_int_equal(mv_task_spawn(a->m, &a->vmm), 0);
	k.t = a->vmm;
	a->kvm = k.kvm = (int)MVTEST_SYSCALL(a->vmm, MV_SYS_openat, AT_FDCWD, "/dev/kvm", O_RDWR);
	assert_true(a->kvm >= 0);
	a->vm = k.vm = (int)kt_ioctl(a->vmm, a->kvm, KVM_CREATE_VM, KVM_X86_SW_PROTECTED_VM);
	assert_true(a->vm >= 0);
	setup_memory(a, &k);
	for (int i = 0; i < NR_VCPUS; i++) {
		struct vact *v = &a->v[i];

		v->a = a;
		memset(v->prev_epoch, 0xff, sizeof(v->prev_epoch));   /* odd: nothing written yet */
		v->id = i;
		v->fd = kt_vcpu(&k, (unsigned long)i);
		v->t = kt_thread(a->vmm);
		assert_int_equal(mv_vcpu_set_guest(a->vmm, v->fd, guest_main, v), 0);
	}
	a->tb = kt_thread(a->vmm);
	a->tc = kt_thread(a->vmm);
	a->D = (struct act_cow){ .stop = &a->stop, .seed = seed ^ 0xd };
	assert_int_equal(mv_task_spawn(a->m, &a->D.t), 0);
	a->A = (struct vmm_actor){ .a = a, .ops = a_ops, .nops = NELEM(a_ops), .pause_us = 200 };
	a->B = (struct vmm_actor){ .a = a, .ops = b_ops, .nops = NELEM(b_ops), .pause_us = 200 };
	a->C = (struct vmm_actor){ .a = a, .ops = c_ops, .nops = NELEM(c_ops), .pause_us = 50 };
	lib_prng_seed(&a->A.rng, seed ^ 0xa);
	lib_prng_seed(&a->B.rng, seed ^ 0xb);
	lib_prng_seed(&a->C.rng, seed ^ 0xc);
}

/* Enough of every kind of event that each check ran at least once. */
static bool progress_ok(struct actors *a)
{
	static const unsigned int a_need[] = { A_DONTNEED, A_CHURN, A_R_ZAP, A_R_PROT, A_VERIFIED };

	for (int i = 0; i < NR_VCPUS; i++)
		if (act_get(&a->v[i].passes) < MIN_PASSES)
			return false;
	for (unsigned int i = 0; i < NELEM(a_need); i++)
		if (!act_get(&a->A.n[a_need[i]]))
			return false;
	for (unsigned int i = B_PUNCH; i < B_NR; i++)
		if (!act_get(&a->B.n[i]))
			return false;
	return act_get(&a->C.n[C_STATS]) && act_get(&a->D.n[ACT_COW_FORKS]) >= 3;
}

/* Starts every actor, lets them run for the time given (and until each check ran), joins. */
static void run_actors(struct actors *a, double seconds)
{
	void *(*const fns[])(void *) = { vmm_main, vmm_main, vmm_main, act_cow_main };
	void *args[] = { &a->A, &a->B, &a->C, &a->D };
	pthread_t vth[NR_VCPUS], th[4];
	uint64_t start = act_now_ns(), end = start + (uint64_t)(seconds * 1e9);
	uint64_t cap = end + (uint64_t)((20 * seconds + 30) * 1e9);

	for (int i = 0; i < NR_VCPUS; i++)
		assert_int_equal(pthread_create(&vth[i], NULL, vcpu_main, &a->v[i]), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, fns[i], args[i]), 0);
	for (;;) {
		uint64_t now = act_now_ns();
		bool early = false;

		for (int i = 0; i < NR_VCPUS; i++)
			early |= __atomic_load_n(&a->v[i].done, __ATOMIC_ACQUIRE);
		if (early || now >= cap || (now >= end && progress_ok(a)))
			break;
		act_sleep_us(10000);
	}
	__atomic_store_n(&a->stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < NR_VCPUS; i++)
		pthread_join(vth[i], NULL);
	print_message("actors ran %.2f s\n", (double)(act_now_ns() - start) / 1e9);
}

/* How often each race window was hit. */
static void report(struct actors *a)
{
	struct file *f = fd_get(a->vmm, a->vm);
	struct kvm *kvm = kvm_from_file(f);
	struct gmem_stats gs;
	char who[16];

	assert_non_null(kvm);   /* every thread is joined: plain reads of its counters */
	act_print("stage 2", (const char *const[]){ "faults", "retried (raced an invalidation)" },
		  (uint64_t[]){ kvm->stage2_faults, kvm->stage2_retries }, 2);
	file_put(f);
	gmem_get_stats(mv_machine_kernel(a->m), &gs);
	act_print("guest_memfd", (const char *const[]){ "2M folios split", "splits deferred",
		  "notifications" }, (uint64_t[]){ gs.folio_splits, gs.split_deferred,
		  gs.notifications }, 3);
	for (int i = 0; i < NR_VCPUS; i++) {
		snprintf(who, sizeof(who), "vcpu %d", i);
		act_print(who, v_names, a->v[i].n, V_NR);
	}
	act_print("A (slot N, dirty log, R's backing)", a_names, a->A.n, A_NR);
	act_print("B (slot P, private pages)", b_names, a->B.n, B_NR);
	act_print("C (its own memory)", c_names, a->C.n, C_NR);
	act_print("D (second process)", act_cow_names, a->D.n, ACT_COW_NR);
}

static void check_actors(struct actors *a)
{
	char who[16];

	for (int i = 0; i < NR_VCPUS; i++) {
		snprintf(who, sizeof(who), "vcpu %d", i);
		act_check(&a->v[i].err, who);
		/* every guest reached HLT, after passes with exact checks in both slots */
		assert_true(a->v[i].done && a->v[i].passes >= MIN_PASSES);
		assert_true(a->v[i].n[V_QUIET_N] > 0 && a->v[i].n[V_QUIET_P] > 0);
	}
	act_check(&a->A.err, "VMM thread A");
	act_check(&a->B.err, "VMM thread B");
	act_check(&a->C.err, "VMM thread C");
	act_check(&a->D.err, "second process");
	assert_true(progress_ok(a));
}

/* Every fd closed by hand (and none left open), every task exited, every frame back. */
static void teardown(struct actors *a, uint64_t free_at_start)
{
	int fds[] = { a->v[0].fd, a->v[1].fd, a->v[2].fd, a->v[3].fd, a->gmem, a->memfd, a->vm,
		      a->kvm };

	for (unsigned int i = 0; i < NELEM(fds); i++)
		assert_int_equal(MVTEST_SYSCALL(a->vmm, MV_SYS_close, fds[i]), 0);
	for (int fd = 0; fd < 64; fd++)
		assert_int_equal(MVTEST_SYSCALL(a->vmm, MV_SYS_close, fd), -EBADF);
	for (int i = 0; i < NR_VCPUS; i++)
		mv_task_exit(a->v[i].t);
	mv_task_exit(a->tb);
	mv_task_exit(a->tc);
	mv_task_exit(a->vmm);
	assert_int_equal(act_frames_free(a->m), free_at_start);
	mv_machine_destroy(a->m);
}

static void test_all_actors_at_once_keep_every_answer_exact(void **state)
{
	struct actors *a = test_calloc(1, sizeof(*a));
	uint64_t seed = mvtest_seed(), free_at_start;
	double seconds = act_seconds(3.0);

	print_message("MVTEST_SEED=0x%llx MVTEST_ACTORS_SECONDS=%.2f\n", ULL(seed), seconds);
	a->m = mvtest_machine(128ull << 20);
	free_at_start = act_frames_free(a->m);
	setup(a, seed);
	run_actors(a, seconds);
	report(a);
	check_actors(a);
	teardown(a, free_at_start);
	test_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_actors_at_once_keep_every_answer_exact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
