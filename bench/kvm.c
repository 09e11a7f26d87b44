/* SPDX-License-Identifier: MIT */
/*
 * Suite kvm: what running code in a guest costs. A guest 8-byte read that
 * hits the vCPU's TLB (two stages: guest-physical through EPT) against a
 * native load; a stage-2 miss (EPT violation, memslot lookup, GUP of a
 * page the VMM already has, EPT install) against that hit, and the faults
 * per second it allows; a KVM_RUN round trip (guest exit to the VMM and
 * back into the guest) against a plain function call. Everything goes
 * through the public API, as a VMM would use it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <memvisor/memvisor.h>

#include "bench.h"

#define KB_RAM      (64ull << 20)
#define KB_HOT_GPA  0x10000ull
#define KB_HOT_PAGES 8
#define KB_COLD_GPA (4ull << 20)
#define KB_COLD_PAGES 4096             /* 16 MiB of fresh guest pages per batch */
#define KB_SYNC_GPA 0xfe000000ull      /* no memslot: an MMIO exit */

enum kb_cmd { KB_HIT, KB_TOUCH, KB_EXITS };

struct kb {
	struct mv_machine *m;
	struct mv_task *t;
	int kvm, vm, vcpu;
	uint64_t ram;
	struct kvm_run *run;
	enum kb_cmd cmd;
	uint64_t n;
	uint64_t sum;
	int failed;
};

static long kb_ioctl(struct kb *b, int fd, unsigned long cmd, uint64_t arg)
{
	return mv_syscall(b->t, MV_SYS_ioctl, (uint64_t)fd, cmd, arg, 0, 0, 0);
}

static long kb_slot(struct kb *b, uint32_t slot, uint64_t gpa, uint64_t size, uint64_t ua)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size, .userspace_addr = ua,
	};

	return kb_ioctl(b, b->vm, KVM_SET_USER_MEMORY_REGION, (uint64_t)(uintptr_t)&r);
}

/* The guest: runs commands forever, reporting each done with an MMIO write. */
static void kb_guest(struct mv_guest *g, void *arg)
{
	struct kb *b = arg;
	uint64_t v = 0, sync = 0;

	for (;;) {
		uint64_t n = b->n;

		switch (b->cmd) {
		case KB_HIT:
			for (uint64_t i = 0; i < n; i++) {
				uint64_t gpa = KB_HOT_GPA + (i % KB_HOT_PAGES) * 4096 + ((i * 8) & 0xff8);

				if (mv_guest_read(g, gpa, &v, 8))
					b->failed = 1;
				b->sum += v;
			}
			break;
		case KB_TOUCH:
			for (uint64_t i = 0; i < n; i++) {
				if (mv_guest_read(g, KB_COLD_GPA + (i % KB_COLD_PAGES) * 4096, &v, 8))
					b->failed = 1;
				b->sum += v;
			}
			break;
		case KB_EXITS:
			for (uint64_t i = 1; i < n; i++)
				mv_guest_write(g, KB_SYNC_GPA + 8, &v, 8);
			break;
		}
		mv_guest_write(g, KB_SYNC_GPA, &sync, 8);
	}
}

/* Runs the current command until the guest's "done" exit. */
static void kb_go(struct kb *b, enum kb_cmd cmd, uint64_t n)
{
	b->cmd = cmd;
	b->n = n;
	for (;;) {
		if (kb_ioctl(b, b->vcpu, KVM_RUN, 0) || b->run->exit_reason != KVM_EXIT_MMIO) {
			b->failed = 1;
			return;
		}
		if (b->run->mmio.phys_addr == KB_SYNC_GPA)
			return;
	}
}

static int kb_up(struct kb *b)
{
	struct mv_machine_config cfg = { .ram_bytes = 256ull << 20 };
	long r;

	memset(b, 0, sizeof(*b));
	if (mv_machine_create(&cfg, &b->m))
		return -ENOMEM;
	if (mv_task_spawn(b->m, &b->t))
		return -ENOMEM;
	b->kvm = (int)mv_syscall(b->t, MV_SYS_openat, (uint64_t)AT_FDCWD,
				 (uint64_t)(uintptr_t)"/dev/kvm", O_RDWR, 0, 0, 0);
	b->vm = b->kvm < 0 ? -1 : (int)kb_ioctl(b, b->kvm, KVM_CREATE_VM, 0);
	if (b->vm < 0)
		return -ENODEV;
	r = mv_syscall(b->t, MV_SYS_mmap, 0, KB_RAM, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, (uint64_t)-1, 0);
	if (r < 0)
		return (int)r;
	b->ram = (uint64_t)r;
	if (kb_slot(b, 0, 0, KB_COLD_GPA, b->ram) ||
	    kb_slot(b, 1, KB_COLD_GPA, KB_RAM - KB_COLD_GPA, b->ram + KB_COLD_GPA))
		return -EINVAL;
	b->vcpu = (int)kb_ioctl(b, b->vm, KVM_CREATE_VCPU, 0);
	if (b->vcpu < 0 || mv_vcpu_set_guest(b->t, b->vcpu, kb_guest, b))
		return -EINVAL;
	b->run = mv_vcpu_run_area(b->t, b->vcpu);
	kb_go(b, KB_HIT, KB_HOT_PAGES * 512);   /* warm: map the hot pages */
	return b->failed ? -EIO : 0;
}

/* ---- bodies ---- */

static void kb_native(void *arg, uint64_t iters)
{
	static uint64_t mem[KB_HOT_PAGES * 512];
	uint64_t sum = 0;

	(void)arg;
	for (uint64_t i = 0; i < iters; i++)
		sum += *(volatile uint64_t *)&mem[(i % KB_HOT_PAGES) * 512 + (i & 511)];
	bench_sink(sum);
}

static void kb_hit(void *arg, uint64_t iters)
{
	kb_go(arg, KB_HIT, iters);
}

/* Fresh stage 2 each batch: the slot is deleted and re-added (host pages stay). */
static void kb_touch(void *arg, uint64_t iters)
{
	struct kb *b = arg;

	if (kb_slot(b, 1, 0, 0, 0) ||
	    kb_slot(b, 1, KB_COLD_GPA, KB_RAM - KB_COLD_GPA, b->ram + KB_COLD_GPA))
		b->failed = 1;
	kb_go(b, KB_TOUCH, iters < KB_COLD_PAGES ? iters : KB_COLD_PAGES);
}

static void kb_exits(void *arg, uint64_t iters)
{
	kb_go(arg, KB_EXITS, iters);
}

__attribute__((noinline)) static uint64_t kb_callee(uint64_t x)
{
	__asm__ volatile("" : "+r"(x));
	return x + 1;
}

static void kb_calls(void *arg, uint64_t iters)
{
	uint64_t (*volatile fn)(uint64_t) = kb_callee;
	uint64_t x = 0;

	(void)arg;
	for (uint64_t i = 0; i < iters; i++)
		x = fn(x);
	bench_sink(x);
}

int bench_suite_kvm(struct bench_ctx *ctx)
{
	struct kb *b = malloc(sizeof(*b));
	double native, hit, miss, exits, call;
	int ret;

	if (!b)
		return -ENOMEM;
	ret = kb_up(b);
	if (ret)
		goto out;
	native = bench_measure(ctx, kb_native, b, 2000000);
	hit = bench_measure(ctx, kb_hit, b, 2000000);
	bench_report(ctx, "kvm", "guest read8, TLB hit, 2 stages", hit, "native load", native,
		     "P1 two-stage, via mv_guest_read");
	miss = bench_measure(ctx, kb_touch, b, KB_COLD_PAGES);
	bench_report(ctx, "kvm", "stage-2 miss (EPT fault + GUP + map)", miss,
		     "guest read8, TLB hit, 2 stages", hit, "");
	bench_report(ctx, "kvm", "stage-2 faults per second (x1000)", 1e9 / miss / 1000.0, "", 0,
		     "value, not ns");
	call = bench_measure(ctx, kb_calls, b, 2000000);
	exits = bench_measure(ctx, kb_exits, b, 200000);
	bench_report(ctx, "kvm", "KVM_RUN round trip (MMIO exit)", exits, "plain function call",
		     call, "");
	ret = b->failed ? -EIO : 0;
out:
	if (b->m)
		mv_machine_destroy(b->m);
	free(b);
	return ret;
}
