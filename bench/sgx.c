/* SPDX-License-Identifier: MIT */
/*
 * Suite sgx: the virtual EPC.
 *  fault-in - first touch of each page of a MAP_SHARED /dev/sgx_vepc
 *       mapping (one EPC page allocated and PFN-mapped per page), against
 *       the first touch of as many pages of anonymous memory in the same
 *       run. The goal is at least 1 M pages/s (<= 1000 ns per page).
 *  release - munmap and close of a vEPC holding N pages (every page
 *       EREMOVEd and freed), per page, against the same for 2N pages:
 *       the ratio is 1.0 when release is linear.
 *  REMOVE_ALL - SGX_IOC_VEPC_REMOVE_ALL over N pages, per page, against
 *       the fault-in of a page.
 *  oversubscription - with KVM_SGX_EPC_RECLAIM, a guest reading every page
 *       of an enclave twice the EPC's size (each read evicts a page and
 *       loads one back, in the host), against the same reads when the
 *       enclave fits.
 *  EWB / ELDU - a guest kernel paging its enclave out and back (EBLOCK and
 *       ETRACK done first), per page, against a guest 4 KiB write. The
 *       cost model (docs/sgx.md) sets these against published hardware
 *       figures; memvisor's cost is a keystream and a digest over the page.
 */
#include <errno.h>
#include <stdio.h>

#include <memvisor/memvisor.h>

#include "bench.h"

#define SGX_N 4096ull      /* pages: 16 MiB of EPC */
#define SGX_PG 4096ull

struct bsgx {
	struct mv_machine *m;
	struct mv_task *t;
	int err;
};

static int bsgx_up(struct bsgx *b, uint64_t epc_pages)
{
	struct mv_machine_config cfg = { .ram_bytes = 256ull << 20, .epc_bytes = epc_pages * SGX_PG };
	int ret = mv_machine_create(&cfg, &b->m);

	if (ret)
		return ret;
	ret = mv_task_spawn(b->m, &b->t);
	if (ret)
		mv_machine_destroy(b->m);
	return ret;
}

/* A vEPC of @pages, mapped; its fd and address. */
static int bsgx_vepc(struct bsgx *b, uint64_t pages, long *fd, long *map)
{
	*fd = mv_syscall(b->t, MV_SYS_openat, (uint64_t)AT_FDCWD,
			 (uint64_t)(uintptr_t)"/dev/sgx_vepc", O_RDWR, 0, 0, 0);
	if (*fd < 0)
		return (int)*fd;
	*map = mv_syscall(b->t, MV_SYS_mmap, 0, pages * SGX_PG, PROT_READ | PROT_WRITE, MAP_SHARED,
			  (uint64_t)*fd, 0);
	return *map < 0 ? (int)*map : 0;
}

/* ns per page to first-touch @pages from @map. */
static double bsgx_touch(struct bsgx *b, long map, uint64_t pages)
{
	uint64_t v = 1;
	double t0 = bench_now_ns();

	for (uint64_t i = 0; i < pages; i++) {
		if (mv_user_write(b->t, (uint64_t)map + i * SGX_PG, &v, sizeof(v))) {
			b->err = -ENOMEM;
			break;
		}
	}
	return (bench_now_ns() - t0) / (double)pages;
}

static double bsgx_drop(struct bsgx *b, long fd, long map, uint64_t pages)
{
	double t0 = bench_now_ns();

	mv_syscall(b->t, MV_SYS_munmap, (uint64_t)map, pages * SGX_PG, 0, 0, 0, 0);
	mv_syscall(b->t, MV_SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0);
	return (bench_now_ns() - t0) / (double)pages;
}

static double best(double a, double b)
{
	return a == 0 || (b > 0 && b < a) ? b : a;
}

struct bsgx_res {
	double fault, anon, rel_n, rel_2n, remove_all;
};

static void bsgx_round(struct bsgx *b, uint64_t n, struct bsgx_res *r)
{
	long fd = -1, map = -1, anon;

	/* fault-in and release of n */
	if ((b->err = bsgx_vepc(b, n, &fd, &map)))
		return;
	r->fault = best(r->fault, bsgx_touch(b, map, n));
	{
		double t0 = bench_now_ns();

		if (mv_syscall(b->t, MV_SYS_ioctl, (uint64_t)fd, SGX_IOC_VEPC_REMOVE_ALL, 0, 0, 0, 0))
			b->err = -EIO;
		r->remove_all = best(r->remove_all, (bench_now_ns() - t0) / (double)n);
	}
	r->rel_n = best(r->rel_n, bsgx_drop(b, fd, map, n));
	/* release of 2n */
	if ((b->err = bsgx_vepc(b, 2 * n, &fd, &map)))
		return;
	bsgx_touch(b, map, 2 * n);
	r->rel_2n = best(r->rel_2n, bsgx_drop(b, fd, map, 2 * n));
	/* the baseline: anonymous first touch of n pages */
	anon = mv_syscall(b->t, MV_SYS_mmap, 0, n * SGX_PG, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0);
	if (anon < 0) {
		b->err = (int)anon;
		return;
	}
	r->anon = best(r->anon, bsgx_touch(b, anon, n));
	mv_syscall(b->t, MV_SYS_munmap, (uint64_t)anon, n * SGX_PG, 0, 0, 0, 0);
}

/* ---- EWB / ELDU in a guest ---- */

#define EV_PAGES 256ull
#define EV_EPC_GPA 0x400000ull
#define EV_PI_SECS 0x1000ull
#define EV_SECINFO 0x1040ull
#define EV_SRC_SECS 0x2000ull
#define EV_SRC 0x3000ull
#define EV_PI_ADD 0x10000ull       /* + 32 i */
#define EV_PI_EWB 0x20000ull
#define EV_PI_ELD 0x30000ull
#define EV_PCMD 0x40000ull         /* + 128 i */
#define EV_BLOB 0x100000ull        /* + 4096 i */
#define EV_RAM 0x200000ull

struct bev {
	struct mv_task *t;
	uint64_t ram;
	uint64_t n;
	double ewb, eldu, write;
	bool oversub;          /* the host's oversubscription case: bev_guest_touch */
	double touch;          /* ns per EDBGRD in the second pass over the enclave */
	long bad;
};

static uint64_t ev_epc(uint64_t page)
{
	return EV_EPC_GPA + page * SGX_PG;
}

/* The guest: SECS at EPC page 0, a VA page at 1, n REG pages from 2; out, back, and a baseline. */
static void bev_guest(struct mv_guest *g, void *arg)
{
	static uint8_t buf[4096];
	struct bev *b = arg;
	double t0;

	b->bad |= mv_guest_encls(g, SGX_ECREATE, EV_PI_SECS, ev_epc(0), 0);
	b->bad |= mv_guest_encls(g, SGX_EPA, SGX_PAGE_TYPE_VA, ev_epc(1), 0);
	for (uint64_t i = 0; i < b->n; i++)
		b->bad |= mv_guest_encls(g, SGX_EADD, EV_PI_ADD + 32 * i, ev_epc(2 + i), 0);
	for (uint64_t i = 0; i < b->n; i++)
		b->bad |= mv_guest_encls(g, SGX_EBLOCK, 0, ev_epc(2 + i), 0);
	b->bad |= mv_guest_encls(g, SGX_ETRACK, 0, ev_epc(0), 0);
	t0 = bench_now_ns();
	for (uint64_t i = 0; i < b->n; i++)
		b->bad |= mv_guest_encls(g, SGX_EWB, EV_PI_EWB + 32 * i, ev_epc(2 + i),
					 ev_epc(1) + 8 * i);
	b->ewb = (bench_now_ns() - t0) / (double)b->n;
	t0 = bench_now_ns();
	for (uint64_t i = 0; i < b->n; i++)
		b->bad |= mv_guest_encls(g, SGX_ELDU, EV_PI_ELD + 32 * i, ev_epc(2 + i),
					 ev_epc(1) + 8 * i);
	b->eldu = (bench_now_ns() - t0) / (double)b->n;
	t0 = bench_now_ns();
	for (uint64_t i = 0; i < b->n; i++)
		b->bad |= mv_guest_write(g, EV_BLOB + i * SGX_PG, buf, sizeof(buf));
	b->write = (bench_now_ns() - t0) / (double)b->n;
}

/*
 * The guest builds an enclave of n pages, then reads a word of each page
 * (EDBGRD) twice over; with an EPC of half that, every read of the second
 * pass makes the host evict a page and load the wanted one back.
 */
static void bev_guest_touch(struct mv_guest *g, void *arg)
{
	struct bev *b = arg;
	double t0;

	b->bad |= mv_guest_encls(g, SGX_ECREATE, EV_PI_SECS, ev_epc(0), 0);
	for (uint64_t i = 0; i < b->n; i++)
		b->bad |= mv_guest_encls(g, SGX_EADD, EV_PI_ADD + 32 * i, ev_epc(2 + i), 0);
	for (int pass = 0; pass < 2; pass++) {
		t0 = bench_now_ns();
		for (uint64_t i = 0; i < b->n; i++) {
			uint64_t rbx = 0, rcx = ev_epc(2 + i), rdx = 0;

			b->bad |= mv_guest_encls_regs(g, SGX_EDBGRD, &rbx, &rcx, &rdx);
		}
		b->touch = (bench_now_ns() - t0) / (double)b->n;
	}
}

static void bev_poke(struct bev *b, uint64_t gpa, const void *p, size_t n)
{
	if (mv_user_write(b->t, b->ram + gpa, p, n))
		b->bad = -1;
}

static void bev_layout(struct bev *b)
{
	static struct sgx_secs secs;
	struct sgx_pageinfo pi = { .contents = EV_SRC_SECS, .metadata = EV_SECINFO };
	struct sgx_secinfo si = { .flags = SGX_SECINFO_SECS };

	secs.size = 1ull << 24;
	secs.base = 1ull << 32;
	secs.ssa_frame_size = 1;
	secs.attributes = SGX_ATTR_DEBUG;
	bev_poke(b, EV_SRC_SECS, &secs, sizeof(secs));
	bev_poke(b, EV_PI_SECS, &pi, sizeof(pi));
	bev_poke(b, EV_SECINFO, &si, sizeof(si));
	si.flags = SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W;
	bev_poke(b, EV_SECINFO + 64, &si, sizeof(si));
	for (uint64_t i = 0; i < b->n; i++) {
		uint64_t lin = secs.base + i * SGX_PG;

		pi = (struct sgx_pageinfo){ .addr = lin, .contents = EV_SRC, .metadata = EV_SECINFO + 64,
					    .secs = ev_epc(0) };
		bev_poke(b, EV_PI_ADD + 32 * i, &pi, sizeof(pi));
		pi = (struct sgx_pageinfo){ .contents = EV_BLOB + i * SGX_PG, .metadata = EV_PCMD + 128 * i };
		bev_poke(b, EV_PI_EWB + 32 * i, &pi, sizeof(pi));
		pi.addr = lin;
		pi.secs = ev_epc(0);
		bev_poke(b, EV_PI_ELD + 32 * i, &pi, sizeof(pi));
	}
}

static long bev_region(struct mv_task *t, int vm, uint32_t slot, uint64_t gpa, uint64_t size,
		       uint64_t uaddr)
{
	struct kvm_userspace_memory_region r = { .slot = slot, .guest_phys_addr = gpa,
						 .memory_size = size, .userspace_addr = uaddr };

	return mv_syscall(t, MV_SYS_ioctl, (uint64_t)vm, KVM_SET_USER_MEMORY_REGION,
			  (uint64_t)(uintptr_t)&r, 0, 0, 0);
}

/* One run of the guest: 0, or -EIO when a step failed. */
static int bev_run(struct bsgx *s, struct bev *b)
{
	long kvm, vm, vcpu, fd = -1, epc = -1;

	b->t = s->t;
	kvm = mv_syscall(s->t, MV_SYS_openat, (uint64_t)AT_FDCWD, (uint64_t)(uintptr_t)"/dev/kvm",
			 O_RDWR, 0, 0, 0);
	vm = mv_syscall(s->t, MV_SYS_ioctl, (uint64_t)kvm, KVM_CREATE_VM, 0, 0, 0, 0);
	b->ram = (uint64_t)mv_syscall(s->t, MV_SYS_mmap, 0, EV_RAM, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0);
	if (bsgx_vepc(s, b->n + 2, &fd, &epc) || kvm < 0 || vm < 0 ||
	    bev_region(s->t, (int)vm, 0, 0, EV_RAM, b->ram) ||
	    bev_region(s->t, (int)vm, 1, EV_EPC_GPA, (b->n + 2) * SGX_PG, (uint64_t)epc))
		return -EIO;
	bev_layout(b);
	if (b->oversub) {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_SGX_EPC_LIMIT,
					      .args = { 0, KVM_SGX_EPC_RECLAIM } };

		if (mv_syscall(s->t, MV_SYS_ioctl, (uint64_t)vm, KVM_ENABLE_CAP,
			       (uint64_t)(uintptr_t)&cap, 0, 0, 0))
			return -EIO;
	}
	vcpu = mv_syscall(s->t, MV_SYS_ioctl, (uint64_t)vm, KVM_CREATE_VCPU, 0, 0, 0, 0);
	if (vcpu < 0 ||
	    mv_vcpu_set_guest(s->t, (int)vcpu, b->oversub ? bev_guest_touch : bev_guest, b) ||
	    mv_syscall(s->t, MV_SYS_ioctl, (uint64_t)vcpu, KVM_RUN, 0, 0, 0, 0) || b->bad)
		return -EIO;
	return 0;
}

static int bsgx_evict(struct bench_ctx *ctx)
{
	struct bsgx s = { 0 };
	struct bev b = { .n = ctx->quick ? EV_PAGES / 4 : EV_PAGES };
	double ewb = 0, eldu = 0, wr = 0, touch_over = 0, touch_fit = 0;
	char note[96];
	int ret;

	for (unsigned int r = 0; r < (ctx->quick ? 1u : 5u); r++) {
		ret = bsgx_up(&s, b.n + 2);
		if (ret)
			return ret;
		ret = bev_run(&s, &b);
		mv_machine_destroy(s.m);
		if (ret)
			return ret;
		ewb = best(ewb, b.ewb);
		eldu = best(eldu, b.eldu);
		wr = best(wr, b.write);
	}
	/* the host's oversubscription: the same enclave in an EPC of half its size, and one that fits */
	for (unsigned int r = 0; r < (ctx->quick ? 1u : 3u); r++) {
		for (int over = 0; over < 2; over++) {
			struct bev o = { .n = b.n, .oversub = true };

			ret = bsgx_up(&s, over ? b.n / 2 + 2 : b.n + 4);
			if (ret)
				return ret;
			ret = bev_run(&s, &o);
			mv_machine_destroy(s.m);
			if (ret)
				return ret;
			if (over)
				touch_over = best(touch_over, o.touch);
			else
				touch_fit = best(touch_fit, o.touch);
		}
	}
	snprintf(note, sizeof(note), "hardware: ~10^4 cycles per EPC page fault (docs/sgx.md)");
	bench_report(ctx, "sgx", "guest EWB (per page)", ewb, "guest 4 KiB write", wr, note);
	bench_report(ctx, "sgx", "guest ELDU (per page)", eldu, "guest 4 KiB write", wr,
		     "keystream + MAC over the page");
	bench_report(ctx, "sgx", "EDBGRD, EPC half the enclave (host evicts)", touch_over,
		     "EDBGRD, enclave fits the EPC", touch_fit,
		     "each read: a host EWB, an ELDU, two zaps");
	return 0;
}

int bench_suite_sgx(struct bench_ctx *ctx)
{
	uint64_t n = ctx->quick ? SGX_N / 8 : SGX_N;
	unsigned int reps = ctx->quick ? 2 : 7;
	struct bsgx_res r = { 0 };
	struct bsgx b = { 0 };
	char note[96];
	int ret = bsgx_up(&b, 2 * n);

	if (ret)
		return ret;
	for (unsigned int i = 0; i < reps && !b.err; i++)
		bsgx_round(&b, n, &r);
	mv_machine_destroy(b.m);
	if (b.err)
		return b.err;
	snprintf(note, sizeof(note), "%.2f M pages/s; goal >= 1 M/s", 1e3 / r.fault);
	bench_report(ctx, "sgx", "vEPC first touch (per page)", r.fault,
		     "anonymous first touch (per page)", r.anon, note);
	snprintf(note, sizeof(note), "linear: ratio 1.0 (N = %llu pages)", (unsigned long long)n);
	bench_report(ctx, "sgx", "vEPC release of N pages (per page)", r.rel_n,
		     "release of 2N pages (per page)", r.rel_2n, note);
	bench_report(ctx, "sgx", "REMOVE_ALL of N pages (per page)", r.remove_all,
		     "vEPC first touch (per page)", r.fault, "EREMOVE of every page, kept");
	return bsgx_evict(ctx);
}
