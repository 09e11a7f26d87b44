/* SPDX-License-Identifier: MIT */
/*
 * The KVM family's guests and vCPU threads (kvm.h says what they check):
 * each guest walks its pages of N, P, R and H round after round; its vCPU
 * thread answers every exit, checking it is one the access in flight can
 * cause.
 */
#include <sched.h>

#include "kvm.h"

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

void kvm_act_guest_main(struct mv_guest *g, void *arg)
{
	struct vact *v = arg;

	for (uint64_t round = 1; !act_stopped(v->a->stop) && !v->err.n; round++) {
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

void *kvm_act_vcpu_main(void *p)
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
