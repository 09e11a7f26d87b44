// SPDX-License-Identifier: MIT
/* The stage every attack sets: machines, tasks, VMs; and the verdict rules. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "attacks.h"

int atk_machine(uint64_t features_off, struct mv_machine **m, struct mv_task **t)
{
	struct mv_machine_config cfg = {
		.ram_bytes = 64ull << 20, .features_off = features_off, .seed = 1,
	};
	int ret = mv_machine_create(&cfg, m);

	if (ret)
		return ret;
	ret = mv_task_spawn(*m, t);
	if (ret) {
		mv_machine_destroy(*m);
		*m = NULL;
	}
	return ret;
}

long atk_sys(struct mv_task *t, long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
	     uint64_t a4, uint64_t a5)
{
	return mv_syscall(t, nr, a0, a1, a2, a3, a4, a5);
}

long atk_mmap_anon(struct mv_task *t, uint64_t len)
{
	return atk_sys(t, MV_SYS_mmap, 0, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0);
}

void atk_outcome(struct attack_outcome *out, enum attack_verdict v, uint64_t leaked,
		 const char *fmt, ...)
{
	va_list ap;

	out->verdict = v;
	out->bytes_leaked = leaked;
	va_start(ap, fmt);
	vsnprintf(out->how, sizeof(out->how), fmt, ap);
	va_end(ap);
}

const char *atk_errno_name(long err)
{
	static const struct { int nr; const char *name; } names[] = {
		{ EFAULT, "EFAULT" }, { EINVAL, "EINVAL" }, { EPERM, "EPERM" },
		{ ENODEV, "ENODEV" }, { ESPIPE, "ESPIPE" }, { ENOMEM, "ENOMEM" },
		{ EBUSY, "EBUSY" }, { EACCES, "EACCES" }, { EIO, "EIO" }, { EBADMSG, "EBADMSG" },
	};
	static __thread char other[24];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].nr == -err)
			return names[i].name;
	snprintf(other, sizeof(other), "%ld", err);
	return other;
}

const char *atk_signal_name(const struct mv_siginfo *si)
{
	static __thread char buf[32];

	if (si->signo == SIGSEGV && si->code == SEGV_CPERR)
		return "#CP (SIGSEGV/SEGV_CPERR)";
	if (si->signo == SIGSEGV && si->code == SEGV_ACCERR)
		return "#PF (SIGSEGV/SEGV_ACCERR)";
	if (si->signo == SIGSEGV && si->code == SEGV_MAPERR)
		return "#PF (SIGSEGV/SEGV_MAPERR)";
	if (si->signo == SIGSEGV && si->code == SEGV_MTESERR)
		return "tag-check fault (SIGSEGV/SEGV_MTESERR)";
	if (!si->signo)
		return "no signal";
	snprintf(buf, sizeof(buf), "signal %d code %d", si->signo, si->code);
	return buf;
}

uint64_t atk_leaked(const void *seen, const void *secret, size_t len)
{
	const uint8_t *a = seen, *b = secret;
	uint64_t n = 0;

	while (n < len && a[n] == b[n])
		n++;
	return n;
}

int atk_vm_create_bare(struct atk_vm *v, uint64_t features_off, unsigned long type)
{
	int ret;

	memset(v, 0, sizeof(*v));
	v->kvm = v->vm = v->vcpu = -1;
	ret = atk_machine(features_off, &v->m, &v->vmm);
	if (ret)
		return ret;
	v->kvm = (int)atk_sys(v->vmm, MV_SYS_openat, (uint64_t)AT_FDCWD,
			      (uint64_t)(uintptr_t)"/dev/kvm", O_RDWR, 0, 0, 0);
	if (v->kvm >= 0)
		v->vm = (int)atk_ioctl(v, v->kvm, KVM_CREATE_VM, (const void *)(uintptr_t)type);
	if (v->vm >= 0)
		return 0;
	ret = v->kvm < 0 ? v->kvm : v->vm;
	atk_vm_destroy(v);
	return ret;
}

int atk_vm_add_vcpu(struct atk_vm *v)
{
	v->vcpu = (int)atk_ioctl(v, v->vm, KVM_CREATE_VCPU, NULL);
	return v->vcpu < 0 ? v->vcpu : 0;
}

int atk_vm_create(struct atk_vm *v, uint64_t features_off, unsigned long type)
{
	int ret = atk_vm_create_bare(v, features_off, type);

	if (!ret) {
		ret = atk_vm_add_vcpu(v);
		if (ret)
			atk_vm_destroy(v);
	}
	return ret;
}

void atk_vm_destroy(struct atk_vm *v)
{
	mv_machine_destroy(v->m);
	v->m = NULL;
}

long atk_ioctl(struct atk_vm *v, int fd, unsigned long cmd, const void *arg)
{
	return atk_sys(v->vmm, MV_SYS_ioctl, (uint64_t)fd, cmd, (uint64_t)(uintptr_t)arg, 0, 0, 0);
}

int atk_vm_ram(struct atk_vm *v, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size,
	       uint64_t *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa, .memory_size = size,
	};
	long a = atk_mmap_anon(v->vmm, size);

	if (a < 0)
		return (int)a;
	r.userspace_addr = (uint64_t)a;
	*hva = (uint64_t)a;
	return (int)atk_ioctl(v, v->vm, KVM_SET_USER_MEMORY_REGION, &r);
}

long atk_vm_run(struct atk_vm *v, mv_guest_fn fn, void *arg)
{
	struct kvm_run *run = mv_vcpu_run_area(v->vmm, v->vcpu);
	long ret = mv_vcpu_set_guest(v->vmm, v->vcpu, fn, arg);

	if (ret)
		return ret;
	for (;;) {
		ret = atk_ioctl(v, v->vcpu, KVM_RUN, NULL);
		if (ret < 0)
			return ret;
		if (run->exit_reason == KVM_EXIT_HLT)
			return 0;
		if (run->exit_reason != KVM_EXIT_MMIO)
			return run->exit_reason;
		if (!run->mmio.is_write)
			memset(run->mmio.data, 0, sizeof(run->mmio.data));
	}
}

const char *attack_verdict_name(enum attack_verdict v)
{
	switch (v) {
	case ATTACK_SUCCEEDED:
		return "succeeded";
	case ATTACK_BLOCKED:
		return "blocked";
	case ATTACK_REPORTED:
		return "reported";
	case ATTACK_NOT_RUN:
		break;
	}
	return "-";
}

bool attack_as_claimed(const struct attack *a, const struct attack_outcome *off,
		       const struct attack_outcome *on, char *why, size_t why_len)
{
	if (!a->no_off && off->verdict != ATTACK_SUCCEEDED) {
		snprintf(why, why_len, "without the protection the attack did not succeed (%s)",
			 off->how);
		return false;
	}
	switch (a->claim) {
	case CLAIM_BLOCKS:
		if (on->verdict == ATTACK_BLOCKED || on->verdict == ATTACK_REPORTED)
			return true;
		break;
	case CLAIM_REPORTS:
		if (on->verdict == ATTACK_REPORTED)
			return true;
		break;
	case CLAIM_NONE:
		return true;
	}
	snprintf(why, why_len, "with the protection on the attack %s (%s)",
		 attack_verdict_name(on->verdict), on->how);
	return false;
}
