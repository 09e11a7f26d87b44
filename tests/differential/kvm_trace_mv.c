/* SPDX-License-Identifier: MIT */
/*
 * memvisor's side of kvm_trace: every step through memvisor's /dev/kvm and
 * a memvisor task's syscalls, as a VMM would make them. The guest program
 * runs as a memvisor guest in the protected mode a vCPU starts in, which
 * is the mode the host side puts its vCPU in.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memvisor/memvisor.h>

#include "kvm_trace.h"

#define MV_VCPUS 8   /* the vCPUs a case can name; more may be created */

struct mv_ctx {
	struct mv_machine *m;
	struct mv_task *t;
	long kvm, vm;
	long vcpu[MV_VCPUS];
	unsigned int nr_vcpus;
	uint64_t mem[KD_MEMS], mem_size[KD_MEMS];
	struct kd_program prog;
	bool prog_set;
};

static long mvc_sys(struct mv_ctx *c, long nr, uint64_t a, uint64_t b, uint64_t d, uint64_t e,
		    uint64_t f, uint64_t g)
{
	return mv_syscall(c->t, nr, a, b, d, e, f, g);
}

static long mvc_ioctl(struct mv_ctx *c, long fd, unsigned long cmd, const void *p)
{
	return mvc_sys(c, MV_SYS_ioctl, (uint64_t)fd, cmd, (uint64_t)(uintptr_t)p, 0, 0, 0);
}

static long mvc_ioctl_v(struct mv_ctx *c, long fd, unsigned long cmd, uint64_t v)
{
	return mvc_sys(c, MV_SYS_ioctl, (uint64_t)fd, cmd, v, 0, 0, 0);
}

/* The guest program: the case's guest.* steps, with one 32-bit accumulator. */
static void mvc_guest(struct mv_guest *g, void *arg)
{
	const struct kd_program *p = arg;
	uint32_t acc = 0;

	for (unsigned int i = 0; i < p->n; i++) {
		const struct kd_step *s = &p->steps[i];
		uint32_t v = (uint32_t)s->a[2];

		switch (s->op) {
		case KD_G_WRITE:
			mv_guest_write(g, s->a[0], &v, s->a[1]);
			break;
		case KD_G_READ:
			mv_guest_read(g, s->a[0], &acc, 4);
			break;
		case KD_G_REPORT:
			mv_guest_write(g, s->a[0], &acc, 4);
			break;
		case KD_G_HYPERCALL:
			acc = (uint32_t)mv_guest_hypercall(g, s->a[0], s->a[1], s->a[2], s->a[3], 0);
			break;
		default:
			break;
		}
	}
}

static struct kvm_run *mvc_run_area(struct mv_ctx *c, uint64_t vcpu)
{
	return vcpu < c->nr_vcpus ? mv_vcpu_run_area(c->t, (int)c->vcpu[vcpu]) : NULL;
}

static long mvc_region(struct mv_ctx *c, const struct kd_step *s)
{
	uint64_t ua = s->a[5] == KD_RAW_UA ? s->a[6] :
		      s->a[5] < KD_MEMS ? c->mem[s->a[5]] + s->a[6] : 0;
	struct kvm_userspace_memory_region2 r = {
		.slot = (uint32_t)s->a[1], .flags = (uint32_t)s->a[2],
		.guest_phys_addr = s->a[3], .memory_size = s->a[4], .userspace_addr = ua,
	};

	return mvc_ioctl(c, c->vm, s->a[0] == 1 ? KVM_SET_USER_MEMORY_REGION
						: KVM_SET_USER_MEMORY_REGION2, &r);
}

static void mvc_create_vcpus(struct mv_ctx *c, const struct kd_step *s, char *res, size_t len)
{
	uint64_t i;
	long r = 0;

	for (i = 0; i < s->a[1]; i++) {
		r = mvc_ioctl_v(c, c->vm, KVM_CREATE_VCPU, s->a[0] + i);
		if (r < 0)
			break;
		if (c->nr_vcpus < MV_VCPUS)
			c->vcpu[c->nr_vcpus++] = r;
	}
	kd_fmt_created(res, len, i, r < 0 ? r : 0);
}

static void mvc_fill_slots(struct mv_ctx *c, const struct kd_step *s, char *res, size_t len)
{
	uint64_t i;
	long r = 0;

	for (i = 0; i < s->a[1]; i++) {
		struct kvm_userspace_memory_region reg = {
			.slot = (uint32_t)(s->a[0] + i), .guest_phys_addr = i * s->a[2],
			.memory_size = s->a[2], .userspace_addr = c->mem[s->a[3] % KD_MEMS] + i * s->a[2],
		};

		r = mvc_ioctl(c, c->vm, KVM_SET_USER_MEMORY_REGION, &reg);
		if (r < 0)
			break;
	}
	kd_fmt_created(res, len, i, r < 0 ? r : 0);
}

static long mvc_run(struct mv_ctx *c, const struct kd_step *s, char *res, size_t len)
{
	struct kvm_run *run = mvc_run_area(c, s->a[0]);
	long r;

	if (!run)
		return -EBADF;
	if (!c->prog_set && s->a[0] == 0) {
		r = mv_vcpu_set_guest(c->t, (int)c->vcpu[0], mvc_guest, &c->prog);
		if (r)
			return r;
		c->prog_set = true;
	}
	r = mvc_ioctl_v(c, c->vcpu[s->a[0]], KVM_RUN, s->a[1]);
	kd_fmt_exit(res, len, r, run);
	return 0;
}

static long mvc_map(struct mv_ctx *c, const struct kd_step *s)
{
	long a = mvc_sys(c, MV_SYS_mmap, 0, s->a[1], PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, (uint64_t)-1, 0);

	if (a < 0)
		return a;
	c->mem[s->a[0] % KD_MEMS] = (uint64_t)a;
	c->mem_size[s->a[0] % KD_MEMS] = s->a[1];
	return 0;
}

static long mvc_vcpu_ioctl(void *ctx, uint64_t vcpu, unsigned long cmd, void *arg)
{
	struct mv_ctx *c = ctx;

	return vcpu < c->nr_vcpus ? mvc_ioctl(c, c->vcpu[vcpu], cmd, arg) : -EBADF;
}

/* Steps on the VMM's memory: 1 when @s was one (its result in @res). */
static bool mvc_mem_step(struct mv_ctx *c, const struct kd_step *s, char *res, size_t len)
{
	uint64_t v = 0;
	long r;

	switch (s->op) {
	case KD_MAP:
		r = mvc_map(c, s);
		break;
	case KD_UNMAP:
		r = mvc_sys(c, MV_SYS_munmap, c->mem[s->a[0] % KD_MEMS], c->mem_size[s->a[0] % KD_MEMS],
			    0, 0, 0, 0);
		break;
	case KD_WRITE_MEM:
		v = s->a[2];
		r = mv_user_write(c->t, c->mem[s->a[0] % KD_MEMS] + s->a[1], &v, 8);
		break;
	case KD_READ_MEM:
		r = mv_user_read(c->t, c->mem[s->a[0] % KD_MEMS] + s->a[1], &v, 8);
		if (!r) {
			snprintf(res, len, "%#llx", (unsigned long long)v);
			return true;
		}
		break;
	default:
		return false;
	}
	kd_fmt_ret(res, len, r);
	return true;
}

/* What the VMM writes into a vCPU's kvm_run before the next KVM_RUN. */
static long mvc_run_input(struct mv_ctx *c, const struct kd_step *s)
{
	struct kvm_run *run = mvc_run_area(c, s->a[0]);
	uint64_t v = s->a[1];

	if (!run)
		return -EBADF;
	if (s->op == KD_MMIO_REPLY)
		memcpy(run->mmio.data, &v, 8);
	else if (s->op == KD_HYPERCALL_REPLY)
		run->hypercall.ret = v;
	else
		run->immediate_exit = (uint8_t)v;
	return 0;
}

/* Steps that create fds: 0 or the errno the creating call gave. */
static long mvc_create(struct mv_ctx *c, const struct kd_step *s)
{
	long r;

	if (s->op == KD_CREATE_VM) {
		r = mvc_ioctl_v(c, c->kvm, KVM_CREATE_VM, s->a[0]);
		if (r >= 0)
			c->vm = r;
	} else if (s->op == KD_CREATE_VCPU) {
		r = mvc_ioctl_v(c, c->vm, KVM_CREATE_VCPU, s->a[0]);
		if (r >= 0 && c->nr_vcpus < MV_VCPUS)
			c->vcpu[c->nr_vcpus++] = r;
	} else {
		struct kvm_create_guest_memfd g = { .size = s->a[0], .flags = s->a[1] };

		r = mvc_ioctl(c, c->vm, KVM_CREATE_GUEST_MEMFD, &g);
	}
	return r >= 0 ? 0 : r;
}

static long mvc_dirty_log(struct mv_ctx *c, const struct kd_step *s, char *res, size_t len)
{
	uint64_t bits[512] = { 0 };
	struct kvm_dirty_log l = { .slot = (uint32_t)s->a[0], .dirty_bitmap = bits };
	long r = mvc_ioctl(c, c->vm, KVM_GET_DIRTY_LOG, &l);

	if (!r)
		snprintf(res, len, "bits=%#llx", (unsigned long long)bits[0]);
	return r;
}

/* RLIMIT_NOFILE (KD_SET_NOFILE) or KVM_ENABLE_CAP on the VM (KD_ENABLE_CAP). */
static long mvc_limit_or_cap(struct mv_ctx *c, const struct kd_step *s)
{
	struct { uint64_t cur, max; } lim = { s->a[0], s->a[0] };
	struct kvm_enable_cap cap = { .cap = (uint32_t)s->a[0], .flags = (uint32_t)s->a[2],
				      .args = { s->a[1] } };

	if (s->op == KD_SET_NOFILE)
		return mvc_sys(c, MV_SYS_setrlimit, 7, (uint64_t)(uintptr_t)&lim, 0, 0, 0, 0);
	return mvc_ioctl(c, c->vm, KVM_ENABLE_CAP, &cap);
}

static void mvc_step(void *ctx, const struct kd_step *s, char *res, size_t len)
{
	struct mv_ctx *c = ctx;
	long r = 0;

	if (kd_ops[s->op].program) {
		if (c->prog.n < KD_MAX_GUEST)
			c->prog.steps[c->prog.n++] = *s;
		snprintf(res, len, "-");
		return;
	}
	if (mvc_mem_step(c, s, res, len))
		return;
	switch (s->op) {
	case KD_API_VERSION:
		r = mvc_ioctl_v(c, c->kvm, KVM_GET_API_VERSION, 0);
		break;
	case KD_VCPU_MMAP_SIZE:
		r = mvc_ioctl_v(c, c->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
		break;
	case KD_CHECK_EXTENSION:
		r = mvc_ioctl_v(c, s->a[0] ? c->vm : c->kvm, KVM_CHECK_EXTENSION, s->a[1]);
		break;
	case KD_IOCTL:
		r = mvc_ioctl_v(c, s->a[0] == 0 ? c->kvm : s->a[0] == 1 ? c->vm :
				c->nr_vcpus ? c->vcpu[0] : -1, (unsigned long)s->a[1], s->a[2]);
		break;
	case KD_CREATE_VM:
	case KD_CREATE_VCPU:
	case KD_CREATE_GMEM:
		r = mvc_create(c, s);
		break;
	case KD_CREATE_VCPUS:
		mvc_create_vcpus(c, s, res, len);
		return;
	case KD_SET_NOFILE:
	case KD_ENABLE_CAP:
		r = mvc_limit_or_cap(c, s);
		break;
	case KD_SET_REGION:
		r = mvc_region(c, s);
		break;
	case KD_FILL_SLOTS:
		mvc_fill_slots(c, s, res, len);
		return;
	case KD_DIRTY_LOG:
		r = mvc_dirty_log(c, s, res, len);
		if (!r)
			return;
		break;
	case KD_GUEST_CODE:
		break;   /* memvisor's guest is a program, not code in guest memory */
	case KD_RUN:
		r = mvc_run(c, s, res, len);
		if (!r)
			return;
		break;
	case KD_SET_EVENTS:
	case KD_GET_EVENTS:
	case KD_SET_SREGS:
	case KD_GET_SREGS:
	case KD_SET_REGS:
	case KD_GET_REGS:
		kd_vcpu_state_step(c, mvc_vcpu_ioctl, s, res, len);
		return;
	case KD_MMIO_REPLY:
	case KD_HYPERCALL_REPLY:
	case KD_IMMEDIATE_EXIT:
		r = mvc_run_input(c, s);
		break;
	default:
		r = -ENOSYS;
	}
	kd_fmt_ret(res, len, r);
}

static void *mvc_begin(void)
{
	struct mv_machine_config cfg = { .ram_bytes = 256ull << 20 };
	struct mv_ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (mv_machine_create(&cfg, &c->m) || mv_task_spawn(c->m, &c->t)) {
		free(c);
		return NULL;
	}
	c->kvm = mvc_sys(c, MV_SYS_openat, (uint64_t)AT_FDCWD, (uint64_t)(uintptr_t)"/dev/kvm",
			 O_RDWR, 0, 0, 0);
	c->vm = -1;
	if (c->kvm < 0) {
		mv_machine_destroy(c->m);
		free(c);
		return NULL;
	}
	return c;
}

static void mvc_end(void *ctx)
{
	struct mv_ctx *c = ctx;

	mv_machine_destroy(c->m);
	free(c);
}

const struct kd_side kd_mv_side = {
	.name = "memvisor",
	.begin = mvc_begin,
	.step = mvc_step,
	.end = mvc_end,
};
