/* SPDX-License-Identifier: MIT */
/*
 * insn_probe WHAT N: makes N TLB-hit accesses of one kind and exits, for
 * scripts/insns-per-access.sh, which counts the instructions of two runs
 * under callgrind and divides the difference by the difference in N (the
 * setup cancels out). WHAT: "guest" (an 8-byte mv_guest_read through both
 * stages, inside one KVM_RUN), "fast" (the same read through the inline
 * path of <memvisor/guest_fast.h>), "fastw" (an 8-byte inline write),
 * "mte" (mv_guest_read in a VM with KVM_CAP_ARM_MTE: every page tag
 * checked, sync mode), "user" (an 8-byte mv_user_read of a host task) or
 * "native" (the guest rows' loop around a plain 8-byte host load, run by
 * the guest program: the loop's own cost, so a row minus it plus the one
 * load is the access alone). Public API only. Every guest row runs the
 * same loop, so the rows differ only by the access.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memvisor/guest_fast.h>
#include <memvisor/memvisor.h>

#define HOT_PAGES 16

struct probe {
	uint64_t n, sum;
	long failed;
	int how;   /* PROBE_* */
};

enum { PROBE_CALL, PROBE_INLINE, PROBE_INLINE_WRITE, PROBE_NATIVE };

/* The native row's memory: host RAM the same size as the guest's hot pages. */
static uint64_t probe_host[HOT_PAGES * 4096 / 8];

/*
 * The next address: 16 hot pages, the next page and the next 8 bytes each
 * time, every aligned 8 bytes of the 64 KiB in turn. Two instructions, so
 * the loop around the access costs as little as a loop can.
 */
static uint64_t probe_next(uint64_t a)
{
	return (a + 4096 + 8) & (HOT_PAGES * 4096 - 8);
}

static void probe_guest(struct mv_guest *g, void *arg)
{
	struct probe *p = arg;
	struct mv_guest_fast *w = mv_guest_fast(g);
	uint64_t v = 0, sum = 0, n = p->n, a = 0;
	long failed = 0;

	if (!w) {
		p->failed = 1;
		return;
	}
	/* fill the TLB (and arm the window) before counting */
	for (uint64_t i = 0; i < HOT_PAGES; i++)
		failed |= mv_guest_fast_read64(w, i * 4096, &v);
	if (p->how == PROBE_CALL) {
		for (uint64_t i = 0; i < n; i++) {
			failed |= mv_guest_read(g, a, &v, 8);
			sum += v;
			a = probe_next(a);
		}
	} else if (p->how == PROBE_INLINE) {
		for (uint64_t i = 0; i < n; i++) {
			uint64_t x = 0;   /* not v, whose address mv_guest_read takes */

			failed |= mv_guest_fast_read64(w, a, &x);
			sum += x;
			a = probe_next(a);
		}
	} else if (p->how == PROBE_INLINE_WRITE) {
		for (uint64_t i = 0; i < n; i++) {
			failed |= mv_guest_fast_write64(w, a, i);
			a = probe_next(a);
		}
	} else {
		/* the same loop around one plain host load: what the loop costs */
		for (uint64_t i = 0; i < n; i++) {
			sum += __atomic_load_n(&probe_host[a / 8], __ATOMIC_RELAXED);
			a = probe_next(a);
		}
	}
	p->sum = sum;
	p->failed = failed;
}

static long sys(struct mv_task *t, long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	return mv_syscall(t, nr, a0, a1, a2, a3, (uint64_t)-1, 0);
}

int main(int argc, char **argv)
{
	struct probe p = { 0 };
	struct mv_machine *m;
	struct mv_task *t;
	long mem, kvm, vm, vcpu;
	uint64_t v, a = 0;

	if (argc != 3 || (strcmp(argv[1], "guest") && strcmp(argv[1], "fast") &&
			  strcmp(argv[1], "fastw") && strcmp(argv[1], "mte") &&
			  strcmp(argv[1], "user") && strcmp(argv[1], "native"))) {
		fprintf(stderr, "usage: insn_probe guest|fast|fastw|mte|user|native N\n");
		return 2;
	}
	p.how = !strcmp(argv[1], "fast") ? PROBE_INLINE :
		!strcmp(argv[1], "fastw") ? PROBE_INLINE_WRITE :
		!strcmp(argv[1], "native") ? PROBE_NATIVE : PROBE_CALL;
	p.n = strtoull(argv[2], NULL, 0);
	if (mv_machine_create(NULL, &m) || mv_task_spawn(m, &t))
		return 1;
	mem = sys(t, MV_SYS_mmap, 0, HOT_PAGES * 4096, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE);
	if (mem < 0)
		return 1;
	if (!strcmp(argv[1], "user")) {
		for (uint64_t i = 0; i < p.n; i++) {
			p.failed |= mv_user_read(t, (uint64_t)mem + a, &v, 8);
			a = probe_next(a);
			p.sum += v;
		}
	} else {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_MTE };
		struct kvm_userspace_memory_region r = {
			.memory_size = HOT_PAGES * 4096, .userspace_addr = (uint64_t)mem,
		};

		kvm = mv_syscall(t, MV_SYS_openat, (uint64_t)AT_FDCWD,
				 (uint64_t)(uintptr_t)"/dev/kvm", O_RDWR, 0, 0, 0);
		vm = sys(t, MV_SYS_ioctl, (uint64_t)kvm, KVM_CREATE_VM, 0, 0);
		if (vm >= 0 && !strcmp(argv[1], "mte") &&
		    sys(t, MV_SYS_ioctl, (uint64_t)vm, KVM_ENABLE_CAP, (uint64_t)(uintptr_t)&cap, 0))
			return 1;
		if (vm < 0 || sys(t, MV_SYS_ioctl, (uint64_t)vm, KVM_SET_USER_MEMORY_REGION,
				  (uint64_t)(uintptr_t)&r, 0))
			return 1;
		vcpu = sys(t, MV_SYS_ioctl, (uint64_t)vm, KVM_CREATE_VCPU, 0, 0);
		if (vcpu < 0 || mv_vcpu_set_guest(t, (int)vcpu, probe_guest, &p) ||
		    sys(t, MV_SYS_ioctl, (uint64_t)vcpu, KVM_RUN, 0, 0))
			return 1;
	}
	mv_machine_destroy(m);
	return p.failed ? 1 : (int)(p.sum & 0);
}
