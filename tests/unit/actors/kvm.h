/* SPDX-License-Identifier: MIT */
/*
 * The KVM actor family of the all-actors test (actor_kvm.c sets it up,
 * actor_kvm_vcpu.c runs the guests, actor_kvm_vmm.c the VMM threads):
 * four vCPUs (KVM_RUN on their own CLONE_VM tasks) whose guests write and
 * read back canaries in a normal slot N, a guest_memfd slot P of a
 * KVM_X86_SW_PROTECTED_VM, a read-only slot R and a hole H; VMM thread A
 * (DONTNEED and delete/re-add of N, dirty logging on, off and harvested,
 * DONTNEED and mprotect of R's backing, a shared memfd whose bytes survive
 * both); VMM thread B (guest_memfd punches, private/shared conversions,
 * DONTNEED of P's shared backing, delete/re-add of P, single pages of N, R
 * or H made private, which the vCPU threads convert back after the memory
 * fault exit); VMM thread C (its own memory through mv_user_read/write and
 * mv_task_access_remote, mmap/munmap, mv_machine_get_stats).
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
 * A, that every page of N written while logged is in the dirty log.
 */
#ifndef MV_TESTS_ACTORS_KVM_H
#define MV_TESTS_ACTORS_KVM_H

#include "actors.h"
#include "kvmtest.h"

#define NR_VCPUS   4
#define NPG        8                       /* pages per vCPU in each region */
#define PER_REG    (NR_VCPUS * NPG)
#define SZ_SMALL   (PER_REG * KT_PG)
#define SZ_P       (2ull << 20)            /* one 2 MiB folio when whole */
#define P_STRIDE   (SZ_P / PER_REG)        /* a vCPU's P pages are 16 pages apart */
#define OFF        0x40ull                 /* where in its page a canary lives */
#define SCRATCH    16                      /* pages of thread C's own memory */
#define MIN_PASSES 4
#define ULL(x) ACT_ULL(x)
#define NELEM(x) ACT_NELEM(x)

enum { REG_N, REG_P, REG_R, REG_H, NR_REGS };   /* N, P and R are also their slot ids */
static const uint64_t reg_base[NR_REGS] = { 0x000000, 0x200000, 0x400000, 0x600000 };

/* What each actor counts, printed at the end: how often each window was hit. */
enum { V_EXITS, V_MMIO, V_MF_FLIP = V_MMIO + NR_REGS, V_MF_AWAY, V_QUIET_N, V_QUIET_P,
       V_OVERLAP_N, V_OVERLAP_P, V_ZEROED, V_VIA_MMIO, V_OLDER, V_NR };
enum { A_OPS, A_DONTNEED, A_CHURN, A_R_ZAP, A_R_PROT, A_LOG_ON, A_HARVEST, A_VERIFIED, A_NR };
enum { B_OPS, B_PUNCH, B_CONVERT, B_DONTNEED, B_CHURN, B_FLIP, B_NR };
enum { C_OPS, C_RW, C_ZAP, C_RO, C_MAP, C_STATS, C_NR };

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
	const unsigned int *stop;                      /* atomic: the runner's */
	struct vact v[NR_VCPUS];
	struct vmm_actor A, B, C;
	bool logging, churned;         /* A's dirty-log state */
	uint64_t p0[NR_VCPUS], dirty;
	pthread_t vth[NR_VCPUS], th[3];
};

static inline uint64_t gpa_of(int reg, int id, unsigned int k)
{
	return reg_base[reg] + ((uint64_t)id * NPG + k) * (reg == REG_P ? P_STRIDE : KT_PG);
}

#define ROUND_BITS 44
static inline uint64_t sig(int id, int reg, unsigned int k, uint64_t round)
{
	return ((uint64_t)(id + 1) << 56) | ((uint64_t)reg << 52) | ((uint64_t)k << ROUND_BITS) |
	       (round & ((1ull << ROUND_BITS) - 1));
}

static inline bool sig_is_older(uint64_t v, int id, int reg, unsigned int k, uint64_t round)
{
	return (v >> ROUND_BITS) == (sig(id, reg, k, 0) >> ROUND_BITS) &&
	       (v & ((1ull << ROUND_BITS) - 1)) < round;
}

static inline uint64_t ro_pattern(int id, unsigned int k)
{
	return (0x5aull << 56) | ((uint64_t)id << 48) | ((uint64_t)k << 40) | 0xc0ffee;
}

static inline uint64_t *epoch_of(struct vact *v, int reg)
{
	return reg == REG_N ? &v->a->nepoch[v->id] : &v->a->pepoch[v->id];
}

static inline long madvise_dontneed(struct mv_task *t, uint64_t addr, uint64_t len)
{
	return MVTEST_SYSCALL(t, MV_SYS_madvise, addr, len, MADV_DONTNEED);
}

/* actor_kvm_vcpu.c */
void *kvm_act_vcpu_main(void *p);
void kvm_act_guest_main(struct mv_guest *g, void *arg);
/* actor_kvm_vmm.c: VMM threads A, B and C */
void *kvm_act_vmm_main(void *p);
/* A, B and C: their operations, pauses and random streams. */
void kvm_act_vmm_init(struct actors *a, uint64_t seed);

#endif
