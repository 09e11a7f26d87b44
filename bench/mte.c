/* SPDX-License-Identifier: MIT */
/*
 * Suite mte: what memory tagging costs (docs/mte.md). A task's checked
 * 8-byte load (PROT_MTE, sync checks) against the same load unchecked; a
 * guest's checked load (a VM with KVM_CAP_ARM_MTE) against an unchecked
 * one; KVM_ARM_MTE_COPY_TAGS of 1 MiB of guest memory against a memcpy of
 * the same 64 KiB of tag bytes; a stage-2 first fault that sanitises
 * against one that does not; and the tag storage one 4 KiB frame costs.
 * Everything goes through the public API.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <memvisor/memvisor.h>

#include "bench.h"

#define MB_PAGES     8                 /* hot pages of the access loops */
#define MB_COPY_PAGES 256              /* 1 MiB of guest memory per COPY_TAGS */
#define MB_COLD_PAGES 1024             /* fresh pages per first-fault batch */
#define MB_RAM       (8ull << 20)
#define MB_SYNC_GPA  0xfe000000ull     /* no memslot: an MMIO exit */

enum mb_cmd { MB_HIT, MB_TOUCH };

struct mb_vm {
	struct mb *b;
	int vm, vcpu;
	uint64_t ram;
	struct kvm_run *run;
	enum mb_cmd cmd;
	uint64_t n, sum;
	int failed;
};

struct mb {
	struct mv_machine *m;
	struct mv_task *t;
	int kvm;
	uint64_t plain, tagged;        /* the task's unchecked / checked pages */
	struct mb_vm vm[2];            /* [0] without MTE, [1] with it */
	uint8_t *tags, *tags_copy;
	int failed;
};

static long mb_ioctl(struct mb *b, int fd, unsigned long cmd, uint64_t arg)
{
	return mv_syscall(b->t, MV_SYS_ioctl, (uint64_t)fd, cmd, arg, 0, 0, 0);
}

static void mb_guest(struct mv_guest *g, void *arg)
{
	struct mb_vm *v = arg;
	uint64_t x = 0, sync = 0;

	for (;;) {
		for (uint64_t i = 0; i < v->n; i++) {
			uint64_t gpa = v->cmd == MB_HIT
					       ? (i % MB_PAGES) * 4096 + ((i * 8) & 0xff8)
					       : (MB_PAGES + i % MB_COLD_PAGES) * 4096;

			if (mv_guest_read(g, gpa, &x, 8))
				v->failed = 1;
			v->sum += x;
		}
		mv_guest_write(g, MB_SYNC_GPA, &sync, 8);
	}
}

static void mb_go(struct mb_vm *v, enum mb_cmd cmd, uint64_t n)
{
	v->cmd = cmd;
	v->n = n;
	if (mb_ioctl(v->b, v->vcpu, KVM_RUN, 0) || v->run->exit_reason != KVM_EXIT_MMIO)
		v->failed = 1;
}

static int mb_vm_up(struct mb *b, struct mb_vm *v, bool mte)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_MTE };
	struct kvm_userspace_memory_region r = { .memory_size = MB_RAM };
	long a;

	v->b = b;
	v->vm = (int)mb_ioctl(b, b->kvm, KVM_CREATE_VM, 0);
	if (v->vm < 0)
		return -ENODEV;
	if (mte && mb_ioctl(b, v->vm, KVM_ENABLE_CAP, (uint64_t)(uintptr_t)&cap))
		return -EINVAL;
	a = mv_syscall(b->t, MV_SYS_mmap, 0, MB_RAM, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, (uint64_t)-1, 0);
	if (a < 0)
		return (int)a;
	v->ram = (uint64_t)a;
	r.userspace_addr = v->ram;
	if (mb_ioctl(b, v->vm, KVM_SET_USER_MEMORY_REGION, (uint64_t)(uintptr_t)&r))
		return -EINVAL;
	v->vcpu = (int)mb_ioctl(b, v->vm, KVM_CREATE_VCPU, 0);
	if (v->vcpu < 0 || mv_vcpu_set_guest(b->t, v->vcpu, mb_guest, v))
		return -EINVAL;
	v->run = mv_vcpu_run_area(b->t, v->vcpu);
	mb_go(v, MB_HIT, MB_PAGES * 512);   /* warm: map the hot pages */
	return v->failed ? -EIO : 0;
}

static int mb_up(struct mb *b)
{
	struct mv_machine_config cfg = { .ram_bytes = 128ull << 20 };
	long a;

	if (mv_machine_create(&cfg, &b->m) || mv_task_spawn(b->m, &b->t))
		return -ENOMEM;
	if (mv_syscall(b->t, MV_SYS_prctl, PR_SET_TAGGED_ADDR_CTRL,
		       PR_TAGGED_ADDR_ENABLE | PR_MTE_TCF_SYNC, 0, 0, 0, 0))
		return -ENODEV;
	a = mv_syscall(b->t, MV_SYS_mmap, 0, MB_PAGES * 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, (uint64_t)-1, 0);
	b->plain = (uint64_t)a;
	a = mv_syscall(b->t, MV_SYS_mmap, 0, MB_PAGES * 4096,
		       PROT_READ | PROT_WRITE | PROT_MTE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, (uint64_t)-1, 0);
	b->tagged = (uint64_t)a;
	if ((long)b->plain < 0 || a < 0)
		return -ENOMEM;
	b->kvm = (int)mv_syscall(b->t, MV_SYS_openat, (uint64_t)AT_FDCWD,
				 (uint64_t)(uintptr_t)"/dev/kvm", O_RDWR, 0, 0, 0);
	if (b->kvm < 0)
		return -ENODEV;
	b->tags = malloc(MB_COPY_PAGES * 256);
	b->tags_copy = malloc(MB_COPY_PAGES * 256);
	if (!b->tags || !b->tags_copy)
		return -ENOMEM;
	memset(b->tags, 5, MB_COPY_PAGES * 256);
	if (mb_vm_up(b, &b->vm[0], false) || mb_vm_up(b, &b->vm[1], true))
		return -EIO;
	return 0;
}

/* ---- bodies ---- */

static void mb_task_load(struct mb *b, uint64_t base, uint64_t iters)
{
	uint64_t v = 0, sum = 0;

	for (uint64_t i = 0; i < iters; i++) {
		if (mv_user_read(b->t, base + (i % MB_PAGES) * 4096 + ((i * 8) & 0xff8), &v, 8))
			b->failed = 1;
		sum += v;
	}
	bench_sink(sum);
}

static void mb_task_unchecked(void *arg, uint64_t iters)
{
	struct mb *b = arg;

	mb_task_load(b, b->plain, iters);
}

static void mb_task_checked(void *arg, uint64_t iters)
{
	struct mb *b = arg;

	mb_task_load(b, b->tagged, iters);
}

static void mb_guest_unchecked(void *arg, uint64_t iters)
{
	mb_go(&((struct mb *)arg)->vm[0], MB_HIT, iters);
}

static void mb_guest_checked(void *arg, uint64_t iters)
{
	mb_go(&((struct mb *)arg)->vm[1], MB_HIT, iters);
}

static void mb_copy_tags(void *arg, uint64_t iters)
{
	struct mb *b = arg;
	struct kvm_arm_copy_mte_tags ct = {
		.length = MB_COPY_PAGES * 4096, .addr = b->tags_copy,
		.flags = KVM_ARM_TAGS_FROM_GUEST,
	};

	for (uint64_t i = 0; i < iters; i++)
		if (mb_ioctl(b, b->vm[1].vm, KVM_ARM_MTE_COPY_TAGS, (uint64_t)(uintptr_t)&ct) !=
		    (long)ct.length)
			b->failed = 1;
}

static void mb_memcpy_tags(void *arg, uint64_t iters)
{
	struct mb *b = arg;

	for (uint64_t i = 0; i < iters; i++) {
		memcpy(b->tags_copy, b->tags, MB_COPY_PAGES * 256);
		bench_sink((uint64_t)(uintptr_t)b->tags_copy);
	}
}

/*
 * First faults on fresh frames: the VMM drops its pages (MADV_DONTNEED
 * frees them, which also zaps stage 2), so every guest read faults the
 * host page in and maps it at stage 2; in the MTE VM, sanitising too.
 */
static void mb_first_fault(struct mb_vm *v, uint64_t iters)
{
	uint64_t n = iters < MB_COLD_PAGES ? iters : MB_COLD_PAGES;

	if (mv_syscall(v->b->t, MV_SYS_madvise, v->ram + MB_PAGES * 4096, MB_COLD_PAGES * 4096,
		       MADV_DONTNEED, 0, 0, 0))
		v->failed = 1;
	mb_go(v, MB_TOUCH, n);
}

static void mb_fault_plain(void *arg, uint64_t iters)
{
	mb_first_fault(&((struct mb *)arg)->vm[0], iters);
}

static void mb_fault_mte(void *arg, uint64_t iters)
{
	mb_first_fault(&((struct mb *)arg)->vm[1], iters);
}

int bench_suite_mte(struct bench_ctx *ctx)
{
	struct mb *b = calloc(1, sizeof(*b));
	double plain, checked, g_plain, g_checked, copy, mcpy, f_plain, f_mte;
	int ret;

	if (!b)
		return -ENOMEM;
	ret = mb_up(b);
	if (ret)
		goto out;
	plain = bench_measure(ctx, mb_task_unchecked, b, 500000);
	checked = bench_measure(ctx, mb_task_checked, b, 500000);
	bench_report(ctx, "mte", "task load8, PROT_MTE, sync check", checked,
		     "task load8, unchecked", plain, "goal: <= 1.25x");
	g_plain = bench_measure(ctx, mb_guest_unchecked, b, 2000000);
	g_checked = bench_measure(ctx, mb_guest_checked, b, 2000000);
	bench_report(ctx, "mte", "guest read8, MTE VM, sync check", g_checked,
		     "guest read8, unchecked", g_plain, "goal: <= 1.25x");
	mcpy = bench_measure(ctx, mb_memcpy_tags, b, 2000);
	copy = bench_measure(ctx, mb_copy_tags, b, 200);
	bench_report(ctx, "mte", "COPY_TAGS FROM_GUEST, 1 MiB", copy,
		     "memcpy of its 64 KiB of tags", mcpy, "goal: <= 2x");
	f_plain = bench_measure(ctx, mb_fault_plain, b, MB_COLD_PAGES);
	f_mte = bench_measure(ctx, mb_fault_mte, b, MB_COLD_PAGES);
	bench_report(ctx, "mte", "first fault, MTE VM (sanitise)", f_mte,
		     "first fault, no MTE", f_plain, "sanitise = the difference");
	bench_report(ctx, "mte", "tag storage bytes per 4 KiB frame", 4096.0 / 32, "", 0,
		     "value, not ns: 4 bits per 16 bytes");
	ret = b->failed || b->vm[0].failed || b->vm[1].failed ? -EIO : 0;
out:
	if (b->m)
		mv_machine_destroy(b->m);
	free(b->tags);
	free(b->tags_copy);
	free(b);
	return ret;
}
