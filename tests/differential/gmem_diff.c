/* SPDX-License-Identifier: MIT */
/*
 * Differential check of guest_memfd: the same call sequences run against
 * the host's real /dev/kvm and against memvisor, compared call by call.
 * Prints a table (one row per call, DIFF rows first in the summary) and
 * exits 0 when every call matched, 1 on a difference, 77 (CTest's skip
 * code) with "SKIPPED: <why>" when the host cannot take part.
 *
 * Each side is a table of operations; a case is a list of steps run on a
 * fresh guest_memfd. Results are normalised: 0 for success (an fd or an
 * address), -errno on failure, GD_SIGBUS when a touch raised SIGBUS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memvisor/memvisor.h>
#include <memvisor/uapi/kvm.h>

#include "gmem_diff.h"

#define GD_SKIP 77

/* ------------------------------------------------------------ host side */

struct host_side {
	int kvm, vm;
	int other_vm, other_gmem;   /* another VM and its guest_memfd (GD_FD_OTHER) */
	int memfd;                  /* a plain memfd (GD_FD_MEMFD) */
	void *ua;                   /* userspace_addr for every slot */
	char why[160];
};

static sigjmp_buf host_jmp;

static void host_sigbus(int sig)
{
	(void)sig;
	siglongjmp(host_jmp, 1);
}

static long host_ret(long r)
{
	return r < 0 ? -errno : r;
}

static long host_create(void *ctx, uint64_t size, uint64_t flags)
{
	struct host_side *h = ctx;
	struct kvm_create_guest_memfd g = { .size = size, .flags = flags };

	return host_ret(ioctl(h->vm, KVM_CREATE_GUEST_MEMFD, &g));
}

static long host_bind(struct host_side *h, long fd, const struct gd_step *s)
{
	const int fds[] = { [GD_FD_SELF] = (int)fd, [GD_FD_BAD] = 999,
			    [GD_FD_MEMFD] = h->memfd, [GD_FD_OTHER] = h->other_gmem };
	struct kvm_userspace_memory_region2 r;

	gd_region(&r, s, (uint64_t)(uintptr_t)h->ua, fds[s->fdsel]);
	if (s->op == GD_BIND_V1)
		return host_ret(ioctl(h->vm, KVM_SET_USER_MEMORY_REGION, &r));
	return host_ret(ioctl(h->vm, KVM_SET_USER_MEMORY_REGION2, &r));
}

static long host_call(void *ctx, long fd, const struct gd_step *s)
{
	char buf[8] = { 0 };
	struct stat st;

	switch (s->op) {
	case GD_FALLOCATE:
		return host_ret(fallocate((int)fd, s->mode, (off_t)s->off, (off_t)s->len));
	case GD_FTRUNCATE:
		return host_ret(ftruncate((int)fd, (off_t)s->len));
	case GD_READ:
		return host_ret(read((int)fd, buf, 1));
	case GD_WRITE:
		return host_ret(write((int)fd, buf, 1));
	case GD_PREAD:
		return host_ret(pread((int)fd, buf, 1, (off_t)s->off));
	case GD_PWRITE:
		return host_ret(pwrite((int)fd, buf, 1, (off_t)s->off));
	case GD_FSTAT:
		if (fstat((int)fd, &st))
			return -errno;
		return gd_stat_field(&st, s->at);
	case GD_BIND:
	case GD_BIND_V1:
		return host_bind(ctx, fd, s);
	default:
		return -ENOSYS;
	}
}

static long host_mmap(void *ctx, long fd, const struct gd_step *s)
{
	void *p = mmap(NULL, s->len, s->prot, s->flags, (int)fd, (off_t)s->off);
	volatile uint8_t *b = p;
	long r = 0;

	if (p == MAP_FAILED)
		return -errno;
	if (s->op == GD_TOUCH_READ || s->op == GD_TOUCH_WRITE) {
		struct sigaction sa = { .sa_handler = host_sigbus }, old;

		sigaction(SIGBUS, &sa, &old);
		if (sigsetjmp(host_jmp, 1) == 0) {
			if (s->op == GD_TOUCH_WRITE)
				b[s->at] = 0x5a;
			r = b[s->at];
		} else {
			r = GD_SIGBUS;
		}
		sigaction(SIGBUS, &old, NULL);
	}
	munmap(p, s->len);
	return r;
}

static void host_close(void *ctx, long fd)
{
	close((int)fd);
}

static void host_drop_vms(struct host_side *h)
{
	if (h->other_gmem >= 0)
		close(h->other_gmem);
	if (h->other_vm >= 0)
		close(h->other_vm);
	if (h->vm >= 0)
		close(h->vm);
	h->vm = h->other_vm = h->other_gmem = -1;
}

/* A new VM for a case that binds slots, and another VM with a guest_memfd. */
static int host_fresh_vm(void *ctx)
{
	struct host_side *h = ctx;
	struct kvm_create_guest_memfd g = { .size = GD_SLOT_FILE };

	host_drop_vms(h);
	h->vm = ioctl(h->kvm, KVM_CREATE_VM, 0);
	h->other_vm = ioctl(h->kvm, KVM_CREATE_VM, 0);
	if (h->vm < 0 || h->other_vm < 0)
		return -errno;
	h->other_gmem = ioctl(h->other_vm, KVM_CREATE_GUEST_MEMFD, &g);
	return h->other_gmem < 0 ? -errno : 0;
}

/* 0, or -1 with h->why saying why the host cannot take part. */
static int host_open(struct host_side *h, uint64_t *flag_mask)
{
	long r;

	h->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (h->kvm < 0) {
		snprintf(h->why, sizeof(h->why), "/dev/kvm: %s", strerror(errno));
		return -1;
	}
	h->vm = ioctl(h->kvm, KVM_CREATE_VM, 0);
	if (h->vm < 0) {
		snprintf(h->why, sizeof(h->why), "KVM_CREATE_VM: %s", strerror(errno));
		close(h->kvm);
		return -1;
	}
	r = ioctl(h->vm, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD);
	if (r <= 0) {
		snprintf(h->why, sizeof(h->why), "host KVM has no guest_memfd (KVM_CAP_GUEST_MEMFD = %ld)", r);
		close(h->vm);
		close(h->kvm);
		return -1;
	}
	r = ioctl(h->vm, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD_FLAGS);
	*flag_mask = r > 0 ? (uint64_t)r : 0;
	h->other_vm = h->other_gmem = -1;
	h->memfd = memfd_create("gmem_diff", MFD_CLOEXEC);
	h->ua = mmap(NULL, GD_SLOT_SPAN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (h->memfd < 0 || ftruncate(h->memfd, GD_SLOT_FILE) || h->ua == MAP_FAILED) {
		snprintf(h->why, sizeof(h->why), "host memfd/mmap: %s", strerror(errno));
		host_drop_vms(h);
		close(h->kvm);
		return -1;
	}
	return 0;
}

static const struct gd_side_ops host_ops = {
	.name = "host",
	.create = host_create,
	.call = host_call,
	.map = host_mmap,
	.close = host_close,
	.fresh_vm = host_fresh_vm,
};

/* ------------------------------------------------------------ the runner */

static const char *gd_fmt(long r, char *buf, size_t len)
{
	if (r == GD_SIGBUS)
		snprintf(buf, len, "SIGBUS");
	else if (r < 0 && r > -4096)
		snprintf(buf, len, "-%s", gd_errno_name((int)-r));
	else
		snprintf(buf, len, "%ld", r);
	return buf;
}

static long gd_run_step(const struct gd_side_ops *ops, void *ctx, long fd,
			const struct gd_step *s)
{
	if (s->op == GD_MMAP || s->op == GD_TOUCH_READ || s->op == GD_TOUCH_WRITE)
		return ops->map(ctx, fd, s);
	return ops->call(ctx, fd, s);
}

/* Runs one case on both sides; returns the number of differing calls. */
static unsigned int gd_run_case(const struct gd_case *c, void *host, void *mv,
				const struct gd_side_ops *mv_ops)
{
	long hfd = host_ops.create(host, c->size, c->flags);
	long mfd = mv_ops->create(mv, c->size, c->flags);
	unsigned int diffs = 0;
	char hb[32], mb[32];

	if ((hfd >= 0) != (mfd >= 0) || (hfd < 0 && hfd != mfd))
		diffs++;
	printf("%-4s %-34s %-22s %-14s %-14s\n", (hfd >= 0) == (mfd >= 0) &&
	       (hfd >= 0 || hfd == mfd) ? "ok" : "DIFF", c->name, "create",
	       gd_fmt(hfd < 0 ? hfd : 0, hb, sizeof(hb)), gd_fmt(mfd < 0 ? mfd : 0, mb, sizeof(mb)));
	for (unsigned int i = 0; hfd >= 0 && mfd >= 0 && i < GD_MAX_STEPS && c->steps[i].op; i++) {
		const struct gd_step *s = &c->steps[i];
		long hr = gd_run_step(&host_ops, host, hfd, s);
		long mr = gd_run_step(mv_ops, mv, mfd, s);

		if (hr != mr)
			diffs++;
		printf("%-4s %-34s %-22s %-14s %-14s\n", hr == mr ? "ok" : "DIFF", c->name,
		       s->what, gd_fmt(hr, hb, sizeof(hb)), gd_fmt(mr, mb, sizeof(mb)));
	}
	if (hfd >= 0)
		host_ops.close(host, hfd);
	if (mfd >= 0)
		mv_ops->close(mv, mfd);
	return diffs;
}

/* Runs every case the two sides can both run; counts what was left out and why. */
static unsigned int gd_run_all(struct host_side *host, struct gd_mv_side *mv, uint64_t host_flags)
{
	unsigned int diffs = 0, ran = 0, no_flag = 0;

	for (const struct gd_case *c = gd_cases; c->name; c++) {
		if (c->flags & ~host_flags & 0xff && !c->expect_reject) {
			no_flag++;   /* the host lacks a flag memvisor models */
			continue;
		}
		if (c->needs_kvm && (host_ops.fresh_vm(host) || gd_mv_ops.fresh_vm(mv))) {
			printf("DIFF %-34s cannot make fresh VMs\n", c->name);
			diffs++;
			continue;
		}
		diffs += gd_run_case(c, host, mv, &gd_mv_ops);
		ran++;
	}
	printf("\n%u cases run, %u skipped (flags the host lacks; host GUEST_MEMFD_FLAGS = %#llx), "
	       "%u differences\n", ran, no_flag, (unsigned long long)host_flags, diffs);
	return diffs;
}

int main(void)
{
	struct host_side host;
	struct gd_mv_side *mv;
	uint64_t host_flags = 0;
	unsigned int diffs;

	if (host_open(&host, &host_flags)) {
		printf("SKIPPED: %s\n", host.why);
		return GD_SKIP;
	}
	mv = gd_mv_open();
	if (!mv) {
		printf("FAILED: memvisor's /dev/kvm does not serve KVM_CREATE_GUEST_MEMFD\n");
		return 1;
	}
	printf("memvisor side: %s\n", gd_mv_path(mv));
	printf("%-4s %-34s %-22s %-14s %-14s\n", "", "case", "call", "host", "memvisor");
	diffs = gd_run_all(&host, mv, host_flags);
	gd_mv_close(mv);
	host_drop_vms(&host);
	munmap(host.ua, GD_SLOT_SPAN);
	close(host.memfd);
	close(host.kvm);
	return diffs ? 1 : 0;
}
