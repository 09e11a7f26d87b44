/* SPDX-License-Identifier: MIT */
/*
 * The race runner behind `memvisor race` (and, short, test_kvm_race_threads):
 * four vCPU threads fault and write signed canaries into their own memory
 * while the VMM punches the guest_memfd, converts pages between private and
 * shared, deletes and re-adds memslots, toggles dirty logging and drops
 * pages with MADV_DONTNEED, and a witness process keeps allocating frames
 * and checking nobody writes them. It counts every violation (none is
 * allowed) and every race window it hit, to show the windows are exercised.
 */
#ifndef MV_BENCH_RACE_H
#define MV_BENCH_RACE_H

#include <stdint.h>

enum race_op {
	RACE_PUNCH,          /* fallocate(PUNCH_HOLE) on a guest_memfd range */
	RACE_CONVERT,        /* KVM_SET_MEMORY_ATTRIBUTES private <-> shared */
	RACE_SLOT_CYCLE,     /* delete a memslot and add it back */
	RACE_DIRTY_TOGGLE,   /* KVM_MEM_LOG_DIRTY_PAGES on/off, the log read while on */
	RACE_DONTNEED,       /* MADV_DONTNEED on the VMM's memory behind a slot */
	RACE_WITNESS,        /* another process takes frames and checks them */
	RACE_OP_NR,
};

struct race_report {
	double seconds;
	uint64_t ops[RACE_OP_NR];
	/* what the guests did */
	uint64_t guest_writes, own_reads, zero_reads;
	uint64_t mmio_exits, memory_fault_exits;
	/* the race windows hit */
	uint64_t stage2_faults, stage2_retries, invalidations, folio_splits;
	/* violations: every one must stay 0 */
	uint64_t foreign_reads;      /* a guest read data that was not its own nor zero */
	uint64_t witness_corrupt;    /* a freed frame written after it went to a new owner */
	uint64_t run_undocumented;   /* a KVM_RUN answer outside the documented set */
	uint64_t frames_leaked;      /* free frames missing once everything is torn down */
	int error;                   /* a setup or VMM call failed: negative errno */
};

/* Runs for @seconds (at least one pass of every operation). 0, or a negative errno. */
int race_run(double seconds, struct race_report *out);

#endif
