/* SPDX-License-Identifier: MIT */
/*
 * insn_probe WHAT N: makes N TLB-hit accesses of one kind and exits, for
 * scripts/insns-per-access.sh, which counts the instructions of two runs
 * under callgrind and divides the difference by the difference in N (the
 * setup cancels out). WHAT: "guest" (an 8-byte guest read through both
 * stages, inside one KVM_RUN) or "user" (an 8-byte mv_user_read of a host
 * task). Public API only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memvisor/memvisor.h>

#define HOT_PAGES 16

struct probe {
	uint64_t n, sum;
	long failed;
};

static void probe_guest(struct mv_guest *g, void *arg)
{
	struct probe *p = arg;
	uint64_t v = 0;

	for (uint64_t i = 0; i < p->n; i++) {
		p->failed |= mv_guest_read(g, (i % HOT_PAGES) * 4096 + ((i * 8) & 0xff8), &v, 8);
		p->sum += v;
	}
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
	uint64_t v;

	if (argc != 3 || (strcmp(argv[1], "guest") && strcmp(argv[1], "user"))) {
		fprintf(stderr, "usage: insn_probe guest|user N\n");
		return 2;
	}
	p.n = strtoull(argv[2], NULL, 0);
	if (mv_machine_create(NULL, &m) || mv_task_spawn(m, &t))
		return 1;
	mem = sys(t, MV_SYS_mmap, 0, HOT_PAGES * 4096, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE);
	if (mem < 0)
		return 1;
	if (!strcmp(argv[1], "user")) {
		for (uint64_t i = 0; i < p.n; i++) {
			p.failed |= mv_user_read(t, (uint64_t)mem + (i % HOT_PAGES) * 4096 +
						 ((i * 8) & 0xff8), &v, 8);
			p.sum += v;
		}
	} else {
		struct kvm_userspace_memory_region r = {
			.memory_size = HOT_PAGES * 4096, .userspace_addr = (uint64_t)mem,
		};

		kvm = mv_syscall(t, MV_SYS_openat, (uint64_t)AT_FDCWD,
				 (uint64_t)(uintptr_t)"/dev/kvm", O_RDWR, 0, 0, 0);
		vm = sys(t, MV_SYS_ioctl, (uint64_t)kvm, KVM_CREATE_VM, 0, 0);
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
