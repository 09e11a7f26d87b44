/* SPDX-License-Identifier: MIT */
/*
 * memvisor's side of the differential runner, through the same uAPI the
 * host side uses: memvisor's /dev/kvm, KVM_CREATE_VM, KVM_CREATE_GUEST_MEMFD,
 * the memslot ioctls, and the file calls as syscalls of a memvisor task.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <memvisor/memvisor.h>
#include <memvisor/uapi/kvm.h>

#include "gmem_diff.h"

struct gd_mv_side {
	struct mv_machine *m;
	struct mv_task *t;
	long kvm, vm;
	long other_vm, other_gmem;  /* GD_FD_OTHER */
	long memfd;                 /* GD_FD_MEMFD */
	long ua;                    /* userspace_addr of every slot */
};

static long mv_sys(struct gd_mv_side *s, long nr, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
		   uint64_t e, uint64_t f)
{
	return mv_syscall(s->t, nr, a, b, c, d, e, f);
}

static long mv_ioctl_create(struct gd_mv_side *s, long vm, uint64_t size, uint64_t flags)
{
	struct kvm_create_guest_memfd g = { .size = size, .flags = flags };

	return mv_sys(s, MV_SYS_ioctl, (uint64_t)vm, KVM_CREATE_GUEST_MEMFD,
		      (uint64_t)(uintptr_t)&g, 0, 0, 0);
}

static long mv_create(void *ctx, uint64_t size, uint64_t flags)
{
	struct gd_mv_side *s = ctx;

	return mv_ioctl_create(s, s->vm, size, flags);
}

static long mv_bind(struct gd_mv_side *s, long fd, const struct gd_step *st)
{
	const long fds[] = { [GD_FD_SELF] = fd, [GD_FD_BAD] = 999, [GD_FD_MEMFD] = s->memfd,
			     [GD_FD_OTHER] = s->other_gmem };
	struct kvm_userspace_memory_region2 r;

	gd_region(&r, st, (uint64_t)s->ua, (int)fds[st->fdsel]);
	return mv_sys(s, MV_SYS_ioctl, (uint64_t)s->vm,
		      st->op == GD_BIND_V1 ? KVM_SET_USER_MEMORY_REGION : KVM_SET_USER_MEMORY_REGION2,
		      (uint64_t)(uintptr_t)&r, 0, 0, 0);
}

static long mv_call(void *ctx, long fd, const struct gd_step *st)
{
	struct gd_mv_side *s = ctx;
	char buf[8] = { 0 };
	struct stat sb;
	long r;

	switch (st->op) {
	case GD_FALLOCATE:
		return mv_sys(s, MV_SYS_fallocate, (uint64_t)fd, (uint64_t)st->mode,
			      (uint64_t)st->off, (uint64_t)st->len, 0, 0);
	case GD_FTRUNCATE:
		return mv_sys(s, MV_SYS_ftruncate, (uint64_t)fd, (uint64_t)st->len, 0, 0, 0, 0);
	case GD_READ:
	case GD_WRITE:
		return mv_sys(s, st->op == GD_READ ? MV_SYS_read : MV_SYS_write, (uint64_t)fd,
			      (uint64_t)(uintptr_t)buf, 1, 0, 0, 0);
	case GD_PREAD:
	case GD_PWRITE:
		return mv_sys(s, st->op == GD_PREAD ? MV_SYS_pread64 : MV_SYS_pwrite64,
			      (uint64_t)fd, (uint64_t)(uintptr_t)buf, 1, (uint64_t)st->off, 0, 0);
	case GD_FSTAT:
		r = mv_sys(s, MV_SYS_fstat, (uint64_t)fd, (uint64_t)(uintptr_t)&sb, 0, 0, 0, 0);
		return r ? r : gd_stat_field(&sb, st->at);
	case GD_BIND:
	case GD_BIND_V1:
		return mv_bind(s, fd, st);
	default:
		return -ENOSYS;
	}
}

/* A touch that faults queues a signal: report SIGBUS as the host sees it. */
static long mv_touch(struct gd_mv_side *s, uint64_t addr, bool write)
{
	struct mv_siginfo si;
	uint8_t v = 0x5a;

	if (write && mv_user_write(s->t, addr, &v, 1))
		goto fault;
	if (mv_user_read(s->t, addr, &v, 1))
		goto fault;
	return v;
fault:
	if (mv_task_take_signal(s->t, &si) == 1 && si.signo == SIGBUS)
		return GD_SIGBUS;
	return -EFAULT;
}

static long mv_map(void *ctx, long fd, const struct gd_step *st)
{
	struct gd_mv_side *s = ctx;
	long a = mv_sys(s, MV_SYS_mmap, 0, (uint64_t)st->len, (uint64_t)st->prot,
			(uint64_t)st->flags, (uint64_t)fd, (uint64_t)st->off);
	long r = 0;

	if (a < 0)
		return a;
	if (st->op == GD_TOUCH_READ || st->op == GD_TOUCH_WRITE)
		r = mv_touch(s, (uint64_t)a + st->at, st->op == GD_TOUCH_WRITE);
	mv_sys(s, MV_SYS_munmap, (uint64_t)a, (uint64_t)st->len, 0, 0, 0, 0);
	return r;
}

static void mv_close(void *ctx, long fd)
{
	struct gd_mv_side *s = ctx;

	mv_sys(s, MV_SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0);
}

static void mv_drop_vms(struct gd_mv_side *s)
{
	if (s->other_gmem >= 0)
		mv_close(s, s->other_gmem);
	if (s->other_vm >= 0)
		mv_close(s, s->other_vm);
	if (s->vm >= 0)
		mv_close(s, s->vm);
	s->vm = s->other_vm = s->other_gmem = -1;
}

static int mv_fresh_vm(void *ctx)
{
	struct gd_mv_side *s = ctx;

	mv_drop_vms(s);
	s->vm = mv_sys(s, MV_SYS_ioctl, (uint64_t)s->kvm, KVM_CREATE_VM, 0, 0, 0, 0);
	s->other_vm = mv_sys(s, MV_SYS_ioctl, (uint64_t)s->kvm, KVM_CREATE_VM, 0, 0, 0, 0);
	if (s->vm < 0 || s->other_vm < 0)
		return -EINVAL;
	s->other_gmem = mv_ioctl_create(s, s->other_vm, GD_SLOT_FILE, 0);
	return s->other_gmem < 0 ? (int)s->other_gmem : 0;
}

const struct gd_side_ops gd_mv_ops = {
	.name = "memvisor",
	.create = mv_create,
	.call = mv_call,
	.map = mv_map,
	.close = mv_close,
	.fresh_vm = mv_fresh_vm,
};

struct gd_mv_side *gd_mv_open(void)
{
	struct mv_machine_config cfg = { .ram_bytes = 256ull << 20 };
	struct gd_mv_side *s = calloc(1, sizeof(*s));
	long probe;

	if (!s)
		return NULL;
	if (mv_machine_create(&cfg, &s->m) || mv_task_spawn(s->m, &s->t)) {
		free(s);
		return NULL;
	}
	s->kvm = mv_sys(s, MV_SYS_openat, (uint64_t)AT_FDCWD, (uint64_t)(uintptr_t)"/dev/kvm",
			O_RDWR, 0, 0, 0);
	s->vm = s->kvm >= 0 ? mv_sys(s, MV_SYS_ioctl, (uint64_t)s->kvm, KVM_CREATE_VM, 0, 0, 0, 0)
			    : -1;
	s->other_vm = s->other_gmem = -1;
	probe = s->vm >= 0 ? mv_ioctl_create(s, s->vm, 4096, 0) : -1;
	if (probe < 0) {   /* memvisor's KVM must serve guest_memfd: never fall back */
		gd_mv_close(s);
		return NULL;
	}
	mv_close(s, probe);
	s->memfd = mv_sys(s, MV_SYS_memfd_create, (uint64_t)(uintptr_t)"gmem_diff", 0, 0, 0, 0, 0);
	if (s->memfd >= 0)
		mv_sys(s, MV_SYS_ftruncate, (uint64_t)s->memfd, GD_SLOT_FILE, 0, 0, 0, 0);
	s->ua = mv_sys(s, MV_SYS_mmap, 0, GD_SLOT_SPAN, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, (uint64_t)-1, 0);
	return s;
}

const char *gd_mv_path(const struct gd_mv_side *s)
{
	return "KVM_CREATE_GUEST_MEMFD on memvisor's /dev/kvm";
}

void gd_mv_close(struct gd_mv_side *s)
{
	mv_machine_destroy(s->m);
	free(s);
}
