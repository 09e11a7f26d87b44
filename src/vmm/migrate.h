/* SPDX-License-Identifier: MIT */
/*
 * Live migration (docs/snapshot.md, "Live migration"): pre-copy with dirty
 * logging from a running VM to a new VM in another (or the same) machine
 * object, over a host pipe as the wire. Rounds of dirty pages go while the
 * guest runs; when the dirty set is small (or the rounds run out) the
 * source is paused, the rest and the architectural state (a state-only
 * snapshot) are sent, and the destination is ready to run. Tags travel
 * with their pages; attributes, private pages and Heki state with the
 * state.
 */
#ifndef MV_VMM_MIGRATE_H
#define MV_VMM_MIGRATE_H

#include <stdint.h>

#include "vmm/vmm.h"

struct vmm_migrate_opts {
	unsigned int max_rounds;   /* pre-copy rounds at most (0: 30) */
	uint64_t stop_pages;       /* stop when a round leaves at most this many dirty (0: 16) */
	/*
	 * Auto-converge, as QEMU's capability of that name: when the guest
	 * dirties more than half of what a round sent, two rounds running,
	 * its vCPUs are throttled: held at their next exit while each round
	 * sends, then let run for (100 - throttle)/throttle of that time; the
	 * throttle starts at 20% and goes up by 10 to 99%.
	 */
	int auto_converge;
};

/* The auto-converge rule, one step per round; pure, for tests. */
struct vmm_mig_throttle {
	unsigned int pct;          /* 0: not throttled */
	unsigned int hot;          /* rounds running that dirtied more than half of what they sent */
};
#define VMM_MIG_THROTTLE_INITIAL   20
#define VMM_MIG_THROTTLE_INCREMENT 10
#define VMM_MIG_THROTTLE_MAX       99
/* A round sent @sent pages and the guest dirtied @dirtied meanwhile: the new throttle. */
unsigned int vmm_mig_throttle_step(struct vmm_mig_throttle *t, uint64_t sent, uint64_t dirtied);

struct vmm_migrate_stats {
	unsigned int rounds;       /* pre-copy rounds, the first (every page) included */
	uint64_t pages_sent;       /* page records, every round and the stop */
	uint64_t pages_at_stop;    /* of which sent while the source was paused */
	uint64_t bytes_sent;       /* on the wire */
	uint64_t downtime_ns;      /* source paused .. destination ready */
	uint64_t total_ns;
	unsigned int throttle_pct; /* auto-converge: the throttle at stop time (0: never) */
	uint64_t throttled_ns;     /* auto-converge: time the guest was held while rounds sent */
};

/*
 * Moves @src (running under vmm_run on other threads, or stopped) to a new
 * VM of @dst_task's process. 0 with it in *@out: the source's vCPU loops
 * have ended (vmm_run returns 0) and the destination's vCPUs wait for
 * programs that continue from the moved state. On failure (*@why says
 * what) the destination is gone and the source runs on. A VM with private
 * memory cannot log dirty pages (its guest_memfd slot refuses
 * KVM_MEM_LOG_DIRTY_PAGES, as in Linux): it is stopped and copied at once.
 */
MV_MUST_CHECK int vmm_migrate(struct vmm *src, struct mv_task *dst_task,
			      const struct vmm_migrate_opts *opts, struct vmm **out,
			      struct vmm_migrate_stats *stats, const char **why);

/*
 * Stop-and-copy of a stopped VM described by its fds (any memslots: a
 * guest_memfd slot, a vEPC slot) to @dst, a VM its VMM built with the same
 * memslots that never ran, over a host pipe: the whole snapshot goes and
 * is applied with vmm_snapshot_apply_vm (every check first). 0 with
 * @stats (rounds 0: no pre-copy) and @info (vEPC pages lost ...), or a
 * negative errno and *@why; the source is unchanged either way, and @dst
 * is then half-built: its VMM destroys it.
 */
struct vmm_snap_vm;
struct vmm_restore_info;
MV_MUST_CHECK int vmm_migrate_vm(const struct vmm_snap_vm *src, const struct vmm_snap_vm *dst,
				 struct vmm_restore_info *info, struct vmm_migrate_stats *stats,
				 const char **why);

/* Shared by both migrations: a monotonic clock in ns, and the whole of @n bytes
 * read (@wr 0) or written on the wire: 0, -EPIPE at its end, or -errno. */
uint64_t vmm_mig_now(void);
int vmm_mig_io(int fd, void *p, size_t n, int wr);

#endif
