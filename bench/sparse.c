/* SPDX-License-Identifier: MIT */
/*
 * Suite sparse: a big guest that touches little of its memory. A machine
 * with 64 GiB of (lazily backed) RAM runs a VM whose one 64 GiB memslot
 * sits on a MAP_NORESERVE anonymous VMM mapping; the guest writes 8 bytes
 * to each of N scattered pages, then the VMM closes its fds and unmaps.
 * What it costs is compared with a host program touching the same pages
 * of its own 64 GiB MAP_NORESERVE mapping, in the same run: time per
 * page, how time grows from N to 2N pages, host memory per touched page,
 * and whether teardown gives everything back (frames, page tables, host
 * memory). Everything goes through the public API, as a VMM would use it.
 *
 * N is 131072 (2048 with --quick); MV_BENCH_SPARSE_PAGES sets it, up to
 * 8 Mi so that 2N fits in the 16 Mi pages.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <memvisor/memvisor.h>

#include "bench.h"

#define SP_RAM        (64ull << 30)
#define SP_PAGE       4096ull
#define SP_PAGE_BITS  24                       /* 16 Mi pages of 4 KiB */
#define SP_PAGE_MASK  ((1ull << SP_PAGE_BITS) - 1)
#define SP_N          131072ull
#define SP_QUICK_N    2048ull
#define SP_MAX_N      (1ull << (SP_PAGE_BITS - 1))
#define SP_SEED       0x2b7e15ull
#define SP_ENV        "MV_BENCH_SPARSE_PAGES"

/*
 * The i-th page touched: a fixed bijection of the 24-bit page numbers
 * (xor, multiplication by an odd number and xorshift are each one-to-one
 * modulo 2^24), so the first N indices give N distinct pages scattered
 * over the whole 64 GiB, the same in every run, for host and guest alike.
 */
static uint64_t sp_page(uint64_t i)
{
	uint64_t x = (i ^ SP_SEED) & SP_PAGE_MASK;

	x = (x * 0x9e3779b1ull) & SP_PAGE_MASK;
	x ^= x >> 12;
	x = (x * 0x85ebca6bull) & SP_PAGE_MASK;
	x ^= x >> 11;
	return x;
}

/* Byte offset of the i-th write: page-scattered, 8-byte aligned. */
static uint64_t sp_offset(uint64_t i)
{
	return sp_page(i) * SP_PAGE + ((i * 8) & 0xff8);
}

/* ---- host memory, as /proc shows it ---- */

/* Resident bytes of this process (statm's second field); 0 if unreadable. */
static uint64_t sp_statm_rss(void)
{
	unsigned long long size, rss;
	FILE *f = fopen("/proc/self/statm", "r");
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "%llu %llu", &size, &rss);
	fclose(f);
	return n == 2 ? rss * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

/* Bytes of this process's page tables (VmPTE in /proc/self/status); 0 if unreadable. */
static uint64_t sp_vmpte(void)
{
	char line[128];
	unsigned long long kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmPTE: %llu kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb << 10;
}

/* What one run leaves: the time of its touch loop and memory at three points. */
struct sp_run {
	double ns;                        /* the whole touch loop */
	uint64_t rss[3];                  /* host statm: before, touched, after teardown */
	uint64_t pte[2];                  /* host VmPTE: before, touched (host program) */
	struct mv_machine_stats st[3];    /* the machine's: before, touched, after */
};

enum { SP_BEFORE, SP_TOUCHED, SP_AFTER };

/* ---- the baseline: the host touching its own 64 GiB ---- */

/*
 * 4 KiB pages, as the guest's VMM mapping has: transparent huge pages
 * would make each touch fault in 2 MiB, and the figure would not be the
 * same work.
 */
static int sp_host_run(uint64_t n, struct sp_run *r)
{
	uint8_t *a = mmap(NULL, SP_RAM, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	double t0;

	if (a == MAP_FAILED)
		return -ENOMEM;
	(void)madvise(a, SP_RAM, MADV_NOHUGEPAGE);   /* EINVAL without THP: 4 KiB anyway */
	r->rss[SP_BEFORE] = sp_statm_rss();
	r->pte[SP_BEFORE] = sp_vmpte();
	t0 = bench_now_ns();
	for (uint64_t i = 0; i < n; i++)
		*(volatile uint64_t *)(void *)(a + sp_offset(i)) = i;
	r->ns = bench_now_ns() - t0;
	r->rss[SP_TOUCHED] = sp_statm_rss();
	r->pte[SP_TOUCHED] = sp_vmpte();
	munmap(a, SP_RAM);
	r->rss[SP_AFTER] = sp_statm_rss();
	return 0;
}

/* ---- the guest: a 64 GiB VM on a 64 GiB machine ---- */

struct sp_vm {
	struct mv_machine *m;
	struct mv_task *t;
	int kvm, vm, vcpu;
	uint64_t ram;       /* the VMM's mapping, in the VMM task */
	uint64_t pages;     /* how many pages the guest touches */
	long err;           /* the guest's first failed write */
};

/* The guest program: one write per page, then it returns (KVM_EXIT_HLT). */
static void sp_guest(struct mv_guest *g, void *arg)
{
	struct sp_vm *v = arg;

	for (uint64_t i = 0; i < v->pages; i++) {
		uint64_t val = i;
		long r = mv_guest_write(g, sp_offset(i), &val, 8);

		if (r && !v->err)
			v->err = r;
	}
}

static long sp_ioctl(struct sp_vm *v, int fd, unsigned long cmd, uint64_t arg)
{
	return mv_syscall(v->t, MV_SYS_ioctl, (uint64_t)fd, cmd, arg, 0, 0, 0);
}

static void sp_close(struct sp_vm *v, int *fd)
{
	if (*fd >= 0)
		mv_syscall(v->t, MV_SYS_close, (uint64_t)*fd, 0, 0, 0, 0, 0);
	*fd = -1;
}

/* /dev/kvm, a VM, the 64 GiB mapping and memslot, a vCPU running sp_guest. */
static int sp_vm_up(struct sp_vm *v)
{
	struct kvm_userspace_memory_region slot = { .memory_size = SP_RAM };
	long r;

	v->kvm = (int)mv_syscall(v->t, MV_SYS_openat, (uint64_t)AT_FDCWD,
				 (uint64_t)(uintptr_t)"/dev/kvm", O_RDWR, 0, 0, 0);
	if (v->kvm < 0)
		return v->kvm;
	v->vm = (int)sp_ioctl(v, v->kvm, KVM_CREATE_VM, 0);
	if (v->vm < 0)
		return v->vm;
	r = mv_syscall(v->t, MV_SYS_mmap, 0, SP_RAM, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, (uint64_t)-1, 0);
	if (r < 0)
		return (int)r;
	v->ram = (uint64_t)r;
	slot.userspace_addr = v->ram;
	r = sp_ioctl(v, v->vm, KVM_SET_USER_MEMORY_REGION, (uint64_t)(uintptr_t)&slot);
	if (r)
		return (int)r;
	v->vcpu = (int)sp_ioctl(v, v->vm, KVM_CREATE_VCPU, 0);
	if (v->vcpu < 0)
		return v->vcpu;
	return (int)mv_vcpu_set_guest(v->t, v->vcpu, sp_guest, v);
}

/* KVM_RUN until the guest halts; any other exit is a failure. */
static int sp_vm_run(struct sp_vm *v)
{
	struct kvm_run *run = mv_vcpu_run_area(v->t, v->vcpu);
	long r;

	if (!run)
		return -EINVAL;
	r = sp_ioctl(v, v->vcpu, KVM_RUN, 0);
	if (r)
		return (int)r;
	if (run->exit_reason != KVM_EXIT_HLT)
		return -EIO;
	return v->err ? (int)v->err : 0;
}

/* The VMM tears down what sp_vm_up built: fds closed, mapping gone. */
static void sp_vm_down(struct sp_vm *v)
{
	sp_close(v, &v->vcpu);
	sp_close(v, &v->vm);
	sp_close(v, &v->kvm);
	if (v->ram)
		mv_syscall(v->t, MV_SYS_munmap, v->ram, SP_RAM, 0, 0, 0, 0);
	v->ram = 0;
}

/*
 * One run on a fresh machine. No free memory is kept resident
 * (MV_RESIDENT_CAP_NONE), so what the host still holds after teardown is
 * what the machine could not give back, not a cache.
 */
static int sp_guest_run(uint64_t n, struct sp_run *r)
{
	struct mv_machine_config cfg = { .ram_bytes = SP_RAM,
					 .resident_cap_bytes = MV_RESIDENT_CAP_NONE };
	struct sp_vm v = { .kvm = -1, .vm = -1, .vcpu = -1, .pages = n };
	double t0;
	int ret;

	ret = mv_machine_create(&cfg, &v.m);
	if (ret)
		return ret;
	ret = mv_task_spawn(v.m, &v.t);
	if (ret)
		goto out;
	r->rss[SP_BEFORE] = sp_statm_rss();
	mv_machine_get_stats(v.m, &r->st[SP_BEFORE]);
	ret = sp_vm_up(&v);
	if (!ret) {
		t0 = bench_now_ns();
		ret = sp_vm_run(&v);
		r->ns = bench_now_ns() - t0;
	}
	r->rss[SP_TOUCHED] = sp_statm_rss();
	mv_machine_get_stats(v.m, &r->st[SP_TOUCHED]);
	sp_vm_down(&v);
	r->rss[SP_AFTER] = sp_statm_rss();
	mv_machine_get_stats(v.m, &r->st[SP_AFTER]);
out:
	mv_machine_destroy(v.m);
	return ret;
}

/* ---- the suite ---- */

/* N: MV_BENCH_SPARSE_PAGES if set (1 .. 8 Mi), else the mode's default. 0 if invalid. */
static uint64_t sp_pages(const struct bench_ctx *ctx)
{
	const char *env = getenv(SP_ENV);
	unsigned long long n;
	char *end;

	if (!env || !*env)
		return ctx->quick ? SP_QUICK_N : SP_N;
	errno = 0;
	n = strtoull(env, &end, 0);
	if (errno || *end || !n || n > SP_MAX_N)
		return 0;
	return n;
}

/* Keeps the faster run of each kind (its memory figures with it: they barely vary). */
static void sp_keep(struct sp_run *best, const struct sp_run *r, unsigned int rep)
{
	if (rep == 0 || r->ns < best->ns)
		*best = *r;
}

static double sp_per(uint64_t bytes_after, uint64_t bytes_before, uint64_t pages)
{
	return ((double)bytes_after - (double)bytes_before) / (double)pages;
}

static void sp_report_time(struct bench_ctx *ctx, const struct sp_run *guest,
			   const struct sp_run *host, uint64_t n)
{
	char note[96];

	snprintf(note, sizeof(note), "N = %" PRIu64 " of 16 Mi pages; first touch", n);
	bench_report(ctx, "sparse", "guest write8, N scattered pages (per page)", guest[0].ns / n,
		     "host write8, same N pages (per page)", host[0].ns / n, note);
	snprintf(note, sizeof(note), "2N = %" PRIu64, 2 * n);
	bench_report(ctx, "sparse", "guest write8, 2N scattered pages (per page)",
		     guest[1].ns / (2 * n), "host write8, same 2N pages (per page)",
		     host[1].ns / (2 * n), note);
	bench_report(ctx, "sparse", "guest, 2N pages vs N (whole run)", guest[1].ns,
		     "guest, N pages (whole run)", guest[0].ns, "scaling: linear is <= 2.2x");
	bench_report(ctx, "sparse", "host, 2N pages vs N (whole run)", host[1].ns,
		     "host, N pages (whole run)", host[0].ns, "the baseline's scaling");
}

/* Host memory per touched page, at 2N pages: bytes, not ns. */
static void sp_report_bytes(struct bench_ctx *ctx, const struct sp_run *g, const struct sp_run *h,
			    uint64_t pages)
{
	double host_rss = sp_per(h->rss[SP_TOUCHED], h->rss[SP_BEFORE], pages);

	bench_report(ctx, "sparse", "memvisor RSS per touched page (statm)",
		     sp_per(g->rss[SP_TOUCHED], g->rss[SP_BEFORE], pages),
		     "host program RSS per page (statm)", host_rss, "bytes, at 2N; whole process");
	bench_report(ctx, "sparse", "machine resident per touched page",
		     sp_per(g->st[SP_TOUCHED].host_resident_bytes,
			    g->st[SP_BEFORE].host_resident_bytes, pages),
		     "host program RSS per page (statm)", host_rss,
		     "bytes, at 2N; host_resident_bytes (RAM + metadata)");
	bench_report(ctx, "sparse", "page tables per touched page",
		     sp_per(g->st[SP_TOUCHED].pgtable_bytes, g->st[SP_BEFORE].pgtable_bytes, pages),
		     "host program VmPTE per page", sp_per(h->pte[SP_TOUCHED], h->pte[SP_BEFORE],
							  pages),
		     "bytes, at 2N; VMM page tables + EPT");
}

/* "KiB; +12 left = 0.35% of the peak's +3456": what teardown left of what the run held. */
static void sp_delta_note(char *note, size_t len, uint64_t before, uint64_t touched,
			  uint64_t after)
{
	int64_t left = (int64_t)after - (int64_t)before, peak = (int64_t)touched - (int64_t)before;

	snprintf(note, len, "KiB; %+" PRId64 " left = %.2f%% of the peak's %+" PRId64, left / 1024,
		 peak > 0 ? 100.0 * (double)left / (double)peak : 0.0, peak / 1024);
}

/* Before the VM against after its teardown: host memory, frames, page tables. */
static int sp_report_teardown(struct bench_ctx *ctx, const struct sp_run *g)
{
	const struct mv_machine_stats *st = g->st;
	int64_t leaked = (int64_t)st[SP_BEFORE].frames_free - (int64_t)st[SP_AFTER].frames_free;
	char note[96];

	sp_delta_note(note, sizeof(note), g->rss[SP_BEFORE], g->rss[SP_TOUCHED], g->rss[SP_AFTER]);
	bench_report(ctx, "sparse", "memvisor RSS after teardown (statm)", g->rss[SP_AFTER] / 1024.0,
		     "memvisor RSS before the VM (statm)", g->rss[SP_BEFORE] / 1024.0, note);
	sp_delta_note(note, sizeof(note), st[SP_BEFORE].host_resident_bytes,
		      st[SP_TOUCHED].host_resident_bytes, st[SP_AFTER].host_resident_bytes);
	bench_report(ctx, "sparse", "machine resident after teardown",
		     st[SP_AFTER].host_resident_bytes / 1024.0, "machine resident before the VM",
		     st[SP_BEFORE].host_resident_bytes / 1024.0, note);
	if (leaked)
		snprintf(note, sizeof(note), "frames; %" PRId64 " not given back", leaked);
	else
		snprintf(note, sizeof(note), "frames; equal (%" PRIu64 " in use at the peak)",
			 st[SP_BEFORE].frames_free - st[SP_TOUCHED].frames_free);
	bench_report(ctx, "sparse", "frames free after teardown", (double)st[SP_AFTER].frames_free,
		     "frames free before the VM", (double)st[SP_BEFORE].frames_free, note);
	sp_delta_note(note, sizeof(note), st[SP_BEFORE].pgtable_bytes, st[SP_TOUCHED].pgtable_bytes,
		      st[SP_AFTER].pgtable_bytes);
	bench_report(ctx, "sparse", "page tables after teardown",
		     st[SP_AFTER].pgtable_bytes / 1024.0, "page tables before the VM",
		     st[SP_BEFORE].pgtable_bytes / 1024.0, note);
	return leaked ? -EIO : 0;
}

int bench_suite_sparse(struct bench_ctx *ctx)
{
	uint64_t n = sp_pages(ctx);
	unsigned int reps = ctx->quick ? 1 : 3;
	struct sp_run *guest, *host, r;
	int ret = 0;

	if (!n)
		return -EINVAL;
	guest = calloc(4, sizeof(*guest));
	if (!guest)
		return -ENOMEM;
	host = guest + 2;
	/* interleaved, so that a noisy moment hurts host and guest alike */
	for (unsigned int rep = 0; rep < reps && !ret; rep++) {
		for (unsigned int k = 0; k < 2 && !ret; k++) {
			memset(&r, 0, sizeof(r));
			ret = sp_host_run(n << k, &r);
			sp_keep(&host[k], &r, rep);
			memset(&r, 0, sizeof(r));
			if (!ret)
				ret = sp_guest_run(n << k, &r);
			sp_keep(&guest[k], &r, rep);
		}
	}
	if (!ret) {
		sp_report_time(ctx, guest, host, n);
		sp_report_bytes(ctx, &guest[1], &host[1], 2 * n);
		ret = sp_report_teardown(ctx, &guest[1]);
	}
	free(guest);
	return ret;
}
