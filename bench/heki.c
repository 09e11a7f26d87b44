/* SPDX-License-Identifier: MIT */
/*
 * Suite heki: what Heki costs the guest kernel (<memvisor/guest_kernel.h>).
 * Protect-all at the end of boot of a 4 GiB guest (512 MiB with --quick):
 * the hypercalls the merged page list needs against one per page, and the
 * boot's time against the same boot without Heki. After boot, a vmap +
 * vunmap of one page whose permission changes (a new EXEC mapping: two
 * KVM_HC_PROTECT_MEMORY calls) and of one whose permission does not (RW
 * over the direct map's RW: no call), each against the same pair with
 * Heki off, in the same run. Everything through the public API.
 */
#include <errno.h>
#include <stdio.h>

#include <memvisor/guest_kernel.h>
#include <memvisor/memvisor.h>

#include "bench.h"

#define HB_RAM       (4ull << 30)
#define HB_QUICK_RAM (512ull << 20)
#define HB_ITERS     2000
#define HB_QUICK_ITERS 200
#define HB_PERCALL   4096               /* pages protected one call each, to price a call */

struct hb {
	struct mv_machine *m;
	struct mv_task *t;
	int vm, vcpu;
	uint64_t ram;
	bool heki;
	uint64_t iters;
	/* results */
	long err;
	double boot_ns;
	double map_x_ns, map_rw_ns, percall_ns;
	struct guest_heki_stats stats;
};

static long hb_ioctl(struct hb *b, int fd, unsigned long cmd, uint64_t arg)
{
	return mv_syscall(b->t, MV_SYS_ioctl, (uint64_t)fd, cmd, arg, 0, 0, 0);
}

/* vmap + vunmap of @pa with @prot, @iters times: ns per pair. */
static double hb_map_loop(struct guest_kernel *k, uint64_t pa, unsigned prot, uint64_t iters,
			  long *err)
{
	double t0 = bench_now_ns();

	for (uint64_t i = 0; i < iters && !*err; i++) {
		uint64_t va = 0;

		*err = guest_vmap(k, &pa, 1, prot, &va);
		if (!*err)
			*err = guest_vunmap(k, va);
	}
	return (bench_now_ns() - t0) / (double)iters;
}

/*
 * The price of one KVM_HC_PROTECT_MEMORY of a one-page list (a free page,
 * READ|WRITE, as most of the boot list is): what a kernel without the
 * merged list would pay per page.
 */
static double hb_percall(struct guest_kernel *k, struct mv_guest *g, long *err)
{
	uint64_t pa = 64ull << 20, epa = pa + GK_PAGE_SIZE, list = 0;
	uint64_t perm = MEM_ATTR_READ | MEM_ATTR_WRITE;
	double t0;

	*err = guest_heki_build_list(k, &pa, &epa, &perm, 1, &list);
	if (*err)
		return 0;
	t0 = bench_now_ns();
	for (uint64_t i = 0; i < HB_PERCALL && !*err; i++)
		*err = mv_guest_hypercall(g, KVM_HC_PROTECT_MEMORY, list, 0, 0, 0);
	t0 = (bench_now_ns() - t0) / HB_PERCALL;
	guest_heki_free_list(k, list);
	return t0;
}

static void hb_guest(struct mv_guest *g, void *arg)
{
	struct hb *b = arg;
	struct guest_kernel_config cfg = { .ram_bytes = b->ram, .heki = b->heki };
	struct guest_kernel *k = NULL;
	uint64_t pa = 0, npages = 0;
	double t0 = bench_now_ns();

	b->err = guest_kernel_boot(g, &cfg, &k);
	b->boot_ns = bench_now_ns() - t0;
	if (b->err)
		return;
	guest_heki_stats(k, &b->stats);
	guest_kernel_section(k, GK_DATA, &pa, &npages);
	b->map_x_ns = hb_map_loop(k, pa, GK_PROT_READ | GK_PROT_EXEC, b->iters, &b->err);
	b->map_rw_ns = hb_map_loop(k, pa, GK_PROT_READ | GK_PROT_WRITE, b->iters, &b->err);
	if (b->heki && !b->err)
		b->percall_ns = hb_percall(k, g, &b->err);
	guest_kernel_free(k);
}

/* A fresh machine, a VM with @ram of RAM, the guest kernel booted and measured. */
static int hb_run(struct hb *b)
{
	struct mv_machine_config mc = { .ram_bytes = 2 * b->ram };
	struct kvm_userspace_memory_region slot = { .memory_size = b->ram };
	struct kvm_run *run;
	long r, kvm;

	r = mv_machine_create(&mc, &b->m);
	if (r)
		return (int)r;
	r = mv_task_spawn(b->m, &b->t);
	kvm = r ? r : mv_syscall(b->t, MV_SYS_openat, (uint64_t)AT_FDCWD,
				 (uint64_t)(uintptr_t)"/dev/kvm", O_RDWR, 0, 0, 0);
	b->vm = kvm < 0 ? (int)kvm : (int)hb_ioctl(b, (int)kvm, KVM_CREATE_VM, 0);
	r = b->vm < 0 ? b->vm : mv_syscall(b->t, MV_SYS_mmap, 0, b->ram, PROT_READ | PROT_WRITE,
					   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
					   (uint64_t)-1, 0);
	if (r >= 0) {
		slot.userspace_addr = (uint64_t)r;
		r = hb_ioctl(b, b->vm, KVM_SET_USER_MEMORY_REGION, (uint64_t)(uintptr_t)&slot);
	}
	b->vcpu = r < 0 ? (int)r : (int)hb_ioctl(b, b->vm, KVM_CREATE_VCPU, 0);
	r = b->vcpu < 0 ? b->vcpu : mv_vcpu_set_guest(b->t, b->vcpu, hb_guest, b);
	r = r ? r : hb_ioctl(b, b->vcpu, KVM_RUN, 0);
	run = mv_vcpu_run_area(b->t, b->vcpu);
	if (!r && (!run || run->exit_reason != KVM_EXIT_HLT))
		r = -EIO;
	mv_machine_destroy(b->m);
	return (int)(r ? r : b->err);
}

int bench_suite_heki(struct bench_ctx *ctx)
{
	struct hb on = { .heki = true }, off = { .heki = false };
	char note[96];
	double pages, ratio;
	int r;

	on.ram = off.ram = ctx->quick ? HB_QUICK_RAM : HB_RAM;
	on.iters = off.iters = ctx->quick ? HB_QUICK_ITERS : HB_ITERS;
	r = hb_run(&off);
	r = r ? r : hb_run(&on);
	if (r)
		return r;
	pages = (double)on.stats.boot_pages;
	ratio = pages / (double)(on.stats.hypercalls ? on.stats.hypercalls : 1);
	snprintf(note, sizeof(note), "%llu call(s), %llu entries, %.0f pages: %.0fx fewer (>= 100x)",
		 (unsigned long long)on.stats.hypercalls, (unsigned long long)on.stats.boot_entries,
		 pages, ratio);
	bench_report(ctx, "heki", on.ram == HB_RAM ? "boot 4 GiB guest, Heki protect-all" :
		     "boot 512 MiB guest, Heki protect-all", on.boot_ns, "the same boot, Heki off",
		     off.boot_ns, note);
	snprintf(note, sizeof(note), "one call per page would take %.1f ms",
		 on.percall_ns * pages / 1e6);
	bench_report(ctx, "heki", "KVM_HC_PROTECT_MEMORY, one page per call", on.percall_ns, "",
		     0, note);
	bench_report(ctx, "heki", "vmap+vunmap, permission changes (2 calls)", on.map_x_ns,
		     "the same, Heki off", off.map_x_ns, "");
	bench_report(ctx, "heki", "vmap+vunmap, permission unchanged (no call)", on.map_rw_ns,
		     "the same, Heki off", off.map_rw_ns, "");
	return 0;
}
