/* SPDX-License-Identifier: MIT */
/*
 * Suite p3: guest private memory.
 *  P3 - first touch of a private page: gmem_get_page allocating a zeroed
 *       page and the first write to it, against the host's own guest_memfd
 *       first-touch fault through its mmap (FLAG_MMAP | INIT_SHARED) in the
 *       same run, or a host anonymous-memory fault in 4 KiB pages when
 *       /dev/kvm is not usable or its guest_memfd cannot be mmapped (the
 *       baseline's name and the note say which).
 *  P4 - punching 1 GiB held in 2 MiB folios (one notification per folio)
 *       against the same gigabyte held in 4 KiB folios (one notification
 *       per page, the seed's first design).
 *  Conversions - KVM_SET_MEMORY_ATTRIBUTES flipping 2 MiB between private
 *       and shared on a software-protected VM, per page, against allocating
 *       and punching the same 2 MiB (the memory side of a real conversion).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <memvisor/memvisor.h>
#include <memvisor/uapi/kvm.h>

#include "api/api.h"
#include "bench.h"
#include "kernel/guest_memfd.h"

#define P3_PAGES 4096ull                 /* 16 MiB per measured batch */
#define P4_BYTES (1ull << 30)
#define P4_QUICK_BYTES (64ull << 20)
#define PG HW_PAGE_SIZE

struct p3 {
	struct mv_machine *m;
	struct mv_task *t;
	int err;
};

/* ns per page: create a file, first-touch every page, close. Best of a few. */
static double p3_gmem_first_touch(struct p3 *p, uint64_t pages, unsigned int reps)
{
	double best = 0;

	for (unsigned int r = 0; r < reps; r++) {
		long fd = gmem_create(p->t, pages * PG, 0, NULL, NULL);
		struct file *f = fd >= 0 ? fd_get(p->t, (int)fd) : NULL;
		double t0, per;

		if (!f) {
			p->err = fd < 0 ? (int)fd : -EBADF;
			return 0;
		}
		t0 = bench_now_ns();
		for (uint64_t i = 0; i < pages; i++) {
			hw_pfn_t pfn;
			unsigned int order;

			if (gmem_get_page(f, i, &pfn, &order)) {
				p->err = -ENOMEM;
				break;
			}
			*(volatile uint8_t *)hw_pfn_to_host(&p->m->hw, pfn) = 1;   /* the guest's write */
			hw_folio_put(&p->m->hw, pfn);
		}
		per = (bench_now_ns() - t0) / (double)pages;
		file_put(f);
		mv_syscall(p->t, MV_SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0);
		if (r == 0 || per < best)
			best = per;
	}
	return best;
}

/*
 * What P3's host baseline really measured. Decided by which path ran, never
 * by reading a message back: "host guest_memfd lacks FLAG_MMAP" mentions
 * guest_memfd, and the anonymous touch it leads to is not one.
 */
enum p3_host_kind {
	P3_HOST_GMEM,           /* the host's guest_memfd, mmapped shared */
	P3_HOST_ANON_NO_KVM,    /* anonymous memory: /dev/kvm or KVM_CREATE_VM failed */
	P3_HOST_ANON_NO_GMEM,   /* anonymous memory: no guest_memfd with FLAG_MMAP */
};

static const struct p3_host_name {
	const char *baseline;   /* the baseline's name in the results */
	const char *vs;         /* the note's "P3 vs ..." */
} p3_host_names[] = {
	[P3_HOST_GMEM] = { "host guest_memfd first touch", "host gmem mmap" },
	[P3_HOST_ANON_NO_KVM] = { "host anon first touch", "host anon (no usable /dev/kvm)" },
	[P3_HOST_ANON_NO_GMEM] = { "host anon first touch", "host anon (no gmem FLAG_MMAP)" },
};

/* The host's guest_memfd, shared and mmapped: fd or -1; *kind says which path runs. */
static int p3_host_gmem(uint64_t bytes, int *vm_out, enum p3_host_kind *kind)
{
	struct kvm_create_guest_memfd g = {
		.size = bytes, .flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED,
	};
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm, fd;

	*kind = P3_HOST_ANON_NO_KVM;
	if (kvm < 0)
		return -1;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	close(kvm);
	if (vm < 0)
		return -1;
	fd = ioctl(vm, KVM_CREATE_GUEST_MEMFD, &g);
	if (fd < 0) {
		*kind = P3_HOST_ANON_NO_GMEM;
		close(vm);
		return -1;
	}
	*kind = P3_HOST_GMEM;
	*vm_out = vm;
	return fd;
}

/*
 * One host first touch of @pages: guest_memfd when the host has it, else
 * anonymous memory in 4 KiB pages (as the guest_memfd's mmap would be):
 * with transparent huge pages a touch would fault in 2 MiB. ns per page,
 * or a negative errno.
 */
static double p3_host_touch_once(uint64_t pages, enum p3_host_kind *kind)
{
	int vm = -1, fd = p3_host_gmem(pages * PG, &vm, kind);
	uint8_t *a = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE,
			  fd >= 0 ? MAP_SHARED : MAP_PRIVATE | MAP_ANONYMOUS, fd, 0);
	double t0, per = -ENOMEM;

	if (a == MAP_FAILED)
		goto out;
	if (fd < 0)
		(void)madvise(a, pages * PG, MADV_NOHUGEPAGE);   /* EINVAL without THP */
	t0 = bench_now_ns();
	for (uint64_t i = 0; i < pages; i++)
		((volatile uint8_t *)a)[i * PG] = 1;
	per = (bench_now_ns() - t0) / (double)pages;
	munmap(a, pages * PG);
out:
	if (fd >= 0)
		close(fd);
	if (vm >= 0)
		close(vm);
	return per;
}

/*
 * ns per page of the host's first-touch fault, best of @reps, and in *kind
 * what was touched; a negative errno if the host could not map, or if the
 * kind changed between repetitions (no one figure would describe it).
 */
static double p3_host_first_touch(uint64_t pages, unsigned int reps, enum p3_host_kind *kind)
{
	double best = 0;

	for (unsigned int r = 0; r < reps; r++) {
		enum p3_host_kind k;
		double per = p3_host_touch_once(pages, &k);

		if (per < 0)
			return per;
		if (r > 0 && k != *kind)
			return -EAGAIN;
		*kind = k;
		if (r == 0 || per < best)
			best = per;
	}
	return best;
}

static int p3_first_touch(struct bench_ctx *ctx, struct p3 *p)
{
	unsigned int reps = ctx->quick ? 2 : 7;
	uint64_t pages = ctx->quick ? P3_PAGES / 8 : P3_PAGES;
	enum p3_host_kind kind;
	double host = p3_host_first_touch(pages, reps, &kind);
	double sim2m, sim4k, sim2n;
	const struct p3_host_name *name;
	char note[96];

	if (host < 0)
		return (int)host;
	name = &p3_host_names[kind];
	sim2m = p3_gmem_first_touch(p, pages, reps);
	/* a file one page short of 2 MiB holds only 4 KiB folios */
	sim4k = p3_gmem_first_touch(p, GMEM_HUGE_PAGES - 1, reps);
	sim2n = p3_gmem_first_touch(p, 2 * pages, reps);
	if (p->err)
		return p->err;
	bench_report_scaling(ctx, "p3", "private first touch", sim2m * (double)pages,
			     sim2n * (double)(2 * pages));
	snprintf(note, sizeof(note), "P3 vs %s; kept 2 MiB blocks zeroed in place",
		 name->vs);
	bench_report(ctx, "p3", "private first touch, 2 MiB folios (per page)", sim2m,
		     name->baseline, host, note);
	snprintf(note, sizeof(note), "P3 vs %s; recycled 4 KiB frames stay resident", name->vs);
	bench_report(ctx, "p3", "private first touch, 4 KiB folios (per page)", sim4k,
		     name->baseline, host, note);
	return 0;
}

/* Counts notifications; the callbacks do nothing else, so the time is the punch's. */
struct p4_counter {
	struct gmem_notifier n;
	uint64_t calls;
};

static void p4_start(struct gmem_notifier *n, uint64_t start, uint64_t end, hw_pfn_t head,
		     unsigned int order)
{
	((struct p4_counter *)n)->calls++;
}

static void p4_end(struct gmem_notifier *n, uint64_t start, uint64_t end)
{
}

static const struct gmem_notifier_ops p4_ops = { .invalidate_start = p4_start,
						 .invalidate_end = p4_end };

/*
 * Fills @files guest_memfds of @file_bytes each, then times punching them
 * all: ns for the whole @files * @file_bytes, and *calls notifications.
 */
static double p4_punch(struct p3 *p, uint64_t file_bytes, uint64_t files, uint64_t *calls)
{
	struct p4_counter *c = calloc(files, sizeof(*c));   /* one notifier per file */
	long *fds = calloc(files, sizeof(*fds));
	struct file **fs = calloc(files, sizeof(*fs));
	uint64_t made = 0;
	double t0, ns = 0;

	if (!c || !fds || !fs) {
		p->err = -ENOMEM;
		goto out;
	}
	for (; made < files; made++) {
		c[made].n.ops = &p4_ops;
		fds[made] = gmem_create(p->t, file_bytes, 0, NULL, NULL);
		fs[made] = fds[made] >= 0 ? fd_get(p->t, (int)fds[made]) : NULL;
		if (!fs[made])
			break;
		if (gmem_register_notifier(fs[made], &c[made].n) ||
		    mv_syscall(p->t, MV_SYS_fallocate, (uint64_t)fds[made], FALLOC_FL_KEEP_SIZE, 0,
			       file_bytes, 0, 0)) {
			made++;
			break;
		}
	}
	if (made < files || !fs[made - 1])
		p->err = -ENOMEM;
	t0 = bench_now_ns();
	for (uint64_t i = 0; i < made && !p->err; i++)
		mv_syscall(p->t, MV_SYS_fallocate, (uint64_t)fds[i],
			   FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, file_bytes, 0, 0);
	ns = bench_now_ns() - t0;
	*calls = 0;
	for (uint64_t i = 0; i < made && fs[i]; i++) {
		gmem_unregister_notifier(fs[i], &c[i].n);
		file_put(fs[i]);
		mv_syscall(p->t, MV_SYS_close, (uint64_t)fds[i], 0, 0, 0, 0, 0);
		*calls += c[i].calls;
	}
out:
	free(c);
	free(fds);
	free(fs);
	return ns;
}

static int p4_punch_suite(struct bench_ctx *ctx, struct p3 *p)
{
	uint64_t bytes = ctx->quick ? P4_QUICK_BYTES : P4_BYTES;
	uint64_t calls_2m = 0, calls_4k = 0;
	/* one file of 2 MiB folios; 4 KiB folios: files one page short of 2 MiB */
	double t2m = p4_punch(p, bytes, 1, &calls_2m);
	double t4k = p4_punch(p, HW_HPAGE_SIZE - PG, bytes / HW_HPAGE_SIZE, &calls_4k);
	uint64_t calls_half = 0;
	double thalf = p4_punch(p, bytes / 2, 1, &calls_half);
	char name[64], note[96];

	if (p->err)
		return p->err;
	bench_report_scaling(ctx, "p4", "punch, 2 MiB folios", thalf, t2m);
	snprintf(name, sizeof(name), "punch %llu MiB, 2 MiB folios",
		 (unsigned long long)(bytes >> 20));
	snprintf(note, sizeof(note), "P4: %llu notifications vs %llu per-page",
		 (unsigned long long)calls_2m, (unsigned long long)calls_4k);
	bench_report(ctx, "p4", name, t2m, "same, 4 KiB folios (per-page notify)", t4k, note);
	return 0;
}

/* A software-protected VM with @bytes of private memory bound to a guest_memfd. */
static long p3_conv_vm(struct p3 *p, uint64_t bytes, long *gmem)
{
	struct kvm_create_guest_memfd g = { .size = bytes };
	struct kvm_userspace_memory_region2 r = { .flags = KVM_MEM_GUEST_MEMFD, .memory_size = bytes };
	long kvm = mv_syscall(p->t, MV_SYS_openat, (uint64_t)AT_FDCWD, (uint64_t)(uintptr_t)"/dev/kvm",
			      O_RDWR, 0, 0, 0);
	long vm = kvm >= 0 ? mv_syscall(p->t, MV_SYS_ioctl, (uint64_t)kvm, KVM_CREATE_VM,
					KVM_X86_SW_PROTECTED_VM, 0, 0, 0) : kvm;

	if (vm < 0)
		return vm;
	*gmem = mv_syscall(p->t, MV_SYS_ioctl, (uint64_t)vm, KVM_CREATE_GUEST_MEMFD,
			   (uint64_t)(uintptr_t)&g, 0, 0, 0);
	r.userspace_addr = (uint64_t)mv_syscall(p->t, MV_SYS_mmap, 0, bytes, PROT_READ | PROT_WRITE,
						 MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0);
	r.guest_memfd = (uint32_t)*gmem;
	if (*gmem < 0 || mv_syscall(p->t, MV_SYS_ioctl, (uint64_t)vm, KVM_SET_USER_MEMORY_REGION2,
				    (uint64_t)(uintptr_t)&r, 0, 0, 0))
		return -EINVAL;
	return vm;
}

struct p3_conv {
	struct p3 *p;
	long vm, gmem;
	uint64_t bytes;
};

static void p3_convert_body(void *arg, uint64_t iters)
{
	struct p3_conv *c = arg;
	struct kvm_memory_attributes a = { .size = c->bytes };

	for (uint64_t i = 0; i < iters; i++) {
		a.attributes = i % 2 ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
		if (mv_syscall(c->p->t, MV_SYS_ioctl, (uint64_t)c->vm, KVM_SET_MEMORY_ATTRIBUTES,
			       (uint64_t)(uintptr_t)&a, 0, 0, 0))
			c->p->err = -EINVAL;
	}
}

static void p3_punch_body(void *arg, uint64_t iters)
{
	struct p3_conv *c = arg;

	for (uint64_t i = 0; i < iters; i++) {
		mv_syscall(c->p->t, MV_SYS_fallocate, (uint64_t)c->gmem, FALLOC_FL_KEEP_SIZE, 0,
			   c->bytes, 0, 0);
		mv_syscall(c->p->t, MV_SYS_fallocate, (uint64_t)c->gmem,
			   FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, c->bytes, 0, 0);
	}
}

/* Conversions: one KVM_SET_MEMORY_ATTRIBUTES flip of 2 MiB, per page. */
static int p3_conversions(struct bench_ctx *ctx, struct p3 *p)
{
	struct p3_conv c = { .p = p, .bytes = 2 * HW_HPAGE_SIZE };
	double conv, punch, conv2n;
	char note[96];

	/* a 4 MiB VM: 2 MiB is N for the scaling figure, 4 MiB 2N */
	c.vm = p3_conv_vm(p, c.bytes, &c.gmem);
	if (c.vm < 0)
		return (int)c.vm;
	conv2n = bench_measure(ctx, p3_convert_body, &c, 2000);
	c.bytes = HW_HPAGE_SIZE;
	conv = bench_measure(ctx, p3_convert_body, &c, 2000) / GMEM_HUGE_PAGES;
	punch = bench_measure(ctx, p3_punch_body, &c, 2000) / GMEM_HUGE_PAGES;
	if (p->err)
		return p->err;
	bench_report_scaling(ctx, "p3", "convert private<->shared", conv * GMEM_HUGE_PAGES, conv2n);
	snprintf(note, sizeof(note), "%.0f M pages/s each way (private->shared->private)",
		 1e3 / conv);
	bench_report(ctx, "p3", "convert 2 MiB private<->shared (per page)", conv,
		     "fallocate+punch 2 MiB (per page)", punch, note);
	return 0;
}

int bench_suite_p3(struct bench_ctx *ctx)
{
	struct mv_machine_config cfg = { .ram_bytes = P4_BYTES + (128ull << 20) };
	struct p3 p = { 0 };
	int ret;

	ret = mv_machine_create(&cfg, &p.m);
	if (ret)
		return ret;
	ret = mv_task_spawn(p.m, &p.t);
	if (!ret)
		ret = p3_first_touch(ctx, &p);
	if (!ret)
		ret = p4_punch_suite(ctx, &p);
	if (!ret)
		ret = p3_conversions(ctx, &p);
	mv_machine_destroy(p.m);
	return ret;
}
