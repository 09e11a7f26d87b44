/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the kernel and KVM: the input is a program of
 * system calls (memory with mremap and mseal, files, KVM ioctls,
 * arch_prctl), memory accesses, the task CPU's CALL and shadow-stack
 * instructions, signals, forks and exits, with arguments drawn from the bytes and biased towards values that
 * reach deep paths (page-aligned addresses inside earlier mappings, small
 * lengths, valid fds).
 *
 * Beyond "no crash, no sanitizer report", it checks one invariant that
 * catches reference-counting bugs: once every task has exited, every frame
 * the tasks used is free again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memvisor/memvisor.h>

#define FZ_TASKS 4
#define FZ_ADDRS 16
#define FZ_PAGE  4096ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
	const uint8_t *p;
	size_t left;
	struct mv_task *t[FZ_TASKS];
	uint64_t addr[FZ_ADDRS];
	unsigned int naddr;
};

static uint64_t fz_u(struct fz *f, unsigned int bytes)
{
	uint64_t v = 0;

	while (bytes-- && f->left) {
		v = (v << 8) | *f->p++;
		f->left--;
	}
	return v;
}

static struct mv_task *fz_task(struct fz *f)
{
	unsigned int i = (unsigned int)fz_u(f, 1) % FZ_TASKS;

	for (unsigned int n = 0; n < FZ_TASKS; n++, i = (i + 1) % FZ_TASKS)
		if (f->t[i])
			return f->t[i];
	return NULL;
}

/* An address: mostly near something mapped earlier, sometimes anything. */
static uint64_t fz_addr(struct fz *f)
{
	uint64_t sel = fz_u(f, 1);

	if (f->naddr && sel < 200)
		return f->addr[sel % f->naddr] + (fz_u(f, 1) % 8) * FZ_PAGE + (sel & 1 ? 0 : fz_u(f, 1));
	return fz_u(f, 6);
}

static uint64_t fz_len(struct fz *f)
{
	uint64_t v = fz_u(f, 1);

	return v < 240 ? (v % 8 + 1) * FZ_PAGE : fz_u(f, 4);
}

static void fz_remember(struct fz *f, long ret)
{
	if (ret > 0 && ((uint64_t)ret & (FZ_PAGE - 1)) == 0)
		f->addr[f->naddr++ % FZ_ADDRS] = (uint64_t)ret;
	if (f->naddr > FZ_ADDRS)
		f->naddr = FZ_ADDRS;
}

static const uint64_t fz_prots[] = {
	PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC, 0x7, 0x10, 0x40,
};
static const uint64_t fz_maps[] = {
	MAP_PRIVATE | MAP_ANONYMOUS, MAP_SHARED | MAP_ANONYMOUS,
	MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
	MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
};
/* Every advice madvise knows (HUGEPAGE 14 to COLLAPSE 25 by number), and one it does not. */
static const uint64_t fz_advice[] = {
	MADV_DONTNEED, MADV_NORMAL, MADV_DONTFORK, MADV_DOFORK, MADV_FREE, MADV_REMOVE, 99,
	MADV_WILLNEED, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 25,
};
/* mremap's flags: each valid set, and some it refuses (FIXED alone, an unknown bit). */
static const uint64_t fz_remap_flags[] = {
	0, MREMAP_MAYMOVE, MREMAP_MAYMOVE | MREMAP_FIXED, MREMAP_MAYMOVE | MREMAP_DONTUNMAP,
	MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, MREMAP_FIXED, 8,
};
/* The generic file ioctls (FIONREAD, FIONBIO, FIONCLEX, FIOCLEX, FIOASYNC, FIOQSIZE). */
static const uint64_t fz_file_ioctls[] = { 0x541B, 0x5421, 0x5450, 0x5451, 0x5452, 0x5460 };

#define PICK(f, arr) ((arr)[fz_u((f), 1) % (sizeof(arr) / sizeof((arr)[0]))])

/* mremap(2), its arguments drawn in order: old_len 0 now and then, new_len mostly the same. */
static void fz_mremap(struct fz *f, struct mv_task *t)
{
	uint64_t addr = fz_addr(f), old_len = fz_len(f), new_len = old_len, flags, new_addr;

	if (fz_u(f, 1) < 32)
		old_len = 0;
	if (fz_u(f, 1) >= 128)
		new_len = fz_len(f);
	flags = PICK(f, fz_remap_flags);
	new_addr = fz_addr(f);
	fz_remember(f, mv_syscall(t, MV_SYS_mremap, addr, old_len, new_len, flags, new_addr, 0));
}

static void fz_memory(struct fz *f, struct mv_task *t, unsigned int op)
{
	uint8_t buf[3 * FZ_PAGE];
	struct mv_siginfo si;
	uint64_t len;

	switch (op) {
	case 0:
		fz_remember(f, mv_syscall(t, MV_SYS_mmap, fz_u(f, 1) < 128 ? 0 : fz_addr(f),
					  fz_len(f), PICK(f, fz_prots), PICK(f, fz_maps),
					  fz_u(f, 1) % 8, (fz_u(f, 1) % 4) * FZ_PAGE));
		break;
	case 1:
		mv_syscall(t, MV_SYS_munmap, fz_addr(f), fz_len(f), 0, 0, 0, 0);
		break;
	case 2:
		mv_syscall(t, MV_SYS_mprotect, fz_addr(f), fz_len(f), PICK(f, fz_prots), 0, 0, 0);
		break;
	case 3:
		mv_syscall(t, MV_SYS_madvise, fz_addr(f), fz_len(f), PICK(f, fz_advice), 0, 0, 0);
		break;
	case 4:
		len = fz_u(f, 2) % sizeof(buf);
		memset(buf, (int)len, len);
		mv_user_write(t, fz_addr(f), buf, len);
		break;
	case 5:
		mv_user_read(t, fz_addr(f), buf, fz_u(f, 2) % sizeof(buf));
		break;
	case 6:   /* a resize, a move, a move of several VMAs (FIXED, same size) */
		fz_mremap(f, t);
		break;
	case 7:   /* seal: later munmap, mprotect, mremap, madvise and MAP_FIXED must refuse */
		len = fz_len(f);
		mv_syscall(t, MV_SYS_mseal, fz_addr(f), len, fz_u(f, 1) < 240 ? 0 : 1, 0, 0, 0);
		break;
	default:
		while (mv_task_take_signal(t, &si) == 1)
			;
		break;
	}
}

static void fz_files(struct fz *f, struct mv_task *t, unsigned int op)
{
	uint8_t buf[512];
	int fd = (int)(fz_u(f, 1) % 10) - 1;

	switch (op) {
	case 0:
		mv_syscall(t, MV_SYS_openat, (uint64_t)AT_FDCWD,
			   (uint64_t)(uintptr_t)(fz_u(f, 1) & 1 ? "/dev/zero" : "/dev/null"),
			   fz_u(f, 1) % 4, 0, 0, 0);
		break;
	case 1:
		mv_syscall(t, MV_SYS_memfd_create, (uint64_t)(uintptr_t)"fz", fz_u(f, 1) % 4, 0, 0,
			   0, 0);
		break;
	case 2:
		mv_syscall(t, MV_SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0);
		break;
	case 3:
		mv_syscall(t, MV_SYS_dup2, (uint64_t)fd, fz_u(f, 1) % 12, 0, 0, 0, 0);
		break;
	case 4:
		mv_syscall(t, MV_SYS_write, (uint64_t)fd, (uint64_t)(uintptr_t)buf,
			   fz_u(f, 2) % sizeof(buf), 0, 0, 0);
		break;
	case 5:
		mv_syscall(t, MV_SYS_pread64, (uint64_t)fd, (uint64_t)(uintptr_t)buf,
			   fz_u(f, 2) % sizeof(buf), fz_u(f, 2), 0, 0);
		break;
	case 6:
		mv_syscall(t, MV_SYS_ftruncate, (uint64_t)fd, fz_u(f, 3), 0, 0, 0, 0);
		break;
	case 7:   /* the argument: a host buffer (an int or a 64-bit size), or NULL */
		memset(buf, (int)fz_u(f, 1), 8);
		mv_syscall(t, MV_SYS_ioctl, (uint64_t)fd, PICK(f, fz_file_ioctls),
			   fz_u(f, 1) < 16 ? 0 : (uint64_t)(uintptr_t)buf, 0, 0, 0);
		break;
	default:
		mv_syscall(t, MV_SYS_fallocate, (uint64_t)fd, fz_u(f, 1) % 4, fz_u(f, 3) & ~0xfffull,
			   fz_len(f), 0, 0);
		break;
	}
}

/*
 * KVM through its file descriptors: fds are small integers, so the same
 * fd byte can hit /dev/kvm, a VM or a vCPU, and every ioctl is tried on
 * every kind of file, as a real fuzzer would.
 */
static void fz_kvm(struct fz *f, struct mv_task *t, unsigned int op)
{
	int fd = (int)(fz_u(f, 1) % 12);
	struct kvm_userspace_memory_region r;

	switch (op) {
	case 0:
		mv_syscall(t, MV_SYS_openat, (uint64_t)AT_FDCWD, (uint64_t)(uintptr_t)"/dev/kvm",
			   O_RDWR, 0, 0, 0);
		break;
	case 1:
		mv_syscall(t, MV_SYS_ioctl, (uint64_t)fd, KVM_CREATE_VM, fz_u(f, 1) % 3, 0, 0, 0);
		break;
	case 2:
		mv_syscall(t, MV_SYS_ioctl, (uint64_t)fd, KVM_CREATE_VCPU, fz_u(f, 2) % 5000, 0, 0,
			   0);
		break;
	case 3:
		r.slot = (uint32_t)(fz_u(f, 1) % 4) | (uint32_t)(fz_u(f, 1) % 2) << 16;
		r.flags = (uint32_t)fz_u(f, 1) % 8;
		r.guest_phys_addr = (fz_u(f, 1) % 16) * FZ_PAGE;
		r.memory_size = fz_len(f);
		r.userspace_addr = fz_addr(f);
		mv_syscall(t, MV_SYS_ioctl, (uint64_t)fd, KVM_SET_USER_MEMORY_REGION,
			   (uint64_t)(uintptr_t)&r, 0, 0, 0);
		break;
	case 4:
		mv_syscall(t, MV_SYS_ioctl, (uint64_t)fd, KVM_CHECK_EXTENSION, fz_u(f, 1), 0, 0, 0);
		break;
	case 5:
		fz_remember(f, mv_syscall(t, MV_SYS_mmap, 0, (fz_u(f, 1) % 4 + 1) * FZ_PAGE,
					  PROT_READ | PROT_WRITE, MAP_SHARED, (uint64_t)fd, 0));
		break;
	case 6:
		mv_syscall(t, MV_SYS_ioctl, (uint64_t)fd,
			   fz_u(f, 1) & 1 ? KVM_SET_NR_MMU_PAGES : KVM_GET_NR_MMU_PAGES, fz_u(f, 2), 0,
			   0, 0);
		break;
	default:
		mv_syscall(t, MV_SYS_ioctl, (uint64_t)fd, KVM_RUN, 0, 0, 0, 0);
		break;
	}
}

/*
 * arch_prctl(ARCH_SHSTK_ENABLE ... STATUS, and one code past them): the
 * features mostly one known bit (SHSTK, WRSS) or an unknown one, sometimes
 * anything; STATUS writes to a host buffer (syscall buffers are host
 * pointers), or to one in the first page, which faults.
 */
static void fz_arch_shstk(struct fz *f, struct mv_task *t)
{
	uint64_t sel = fz_u(f, 1), code = ARCH_SHSTK_ENABLE + sel % 6, arg, status;

	if (code == ARCH_SHSTK_STATUS)
		arg = sel & 0x80 ? fz_u(f, 1) : (uint64_t)(uintptr_t)&status;
	else
		arg = (sel >> 3) % 4 == 3 ? fz_u(f, 8) : 1ull << ((sel >> 3) % 4);
	mv_syscall(t, MV_SYS_arch_prctl, code, arg, 0, 0, 0, 0);
}

/*
 * The task's CPU: CALL, and the shadow-stack instructions (RDSSP, RSTORSSP,
 * SAVEPREVSSP, WRSS, INCSSP), signal delivery and sigreturn, at addresses
 * near the task's mappings (a shadow stack among them) or anywhere.
 */
static void fz_cpu(struct fz *f, struct mv_task *t)
{
	uint64_t v = 0;

	switch (fz_u(f, 1) % 8) {
	case 0:
		mv_cpu_call(t, fz_u(f, 8));
		break;
	case 1:
		mv_cpu_rdssp(t, &v);
		break;
	case 2:
		v = fz_addr(f);
		mv_cpu_rstorssp(t, fz_u(f, 1) < 128 ? v & ~7ull : v);   /* mostly aligned */
		break;
	case 3:
		mv_cpu_saveprevssp(t);
		break;
	case 4:
		v = fz_addr(f);
		mv_cpu_wrss(t, v, fz_u(f, 8));
		break;
	case 5:
		mv_cpu_incssp(t, (uint32_t)fz_u(f, 2));
		break;
	case 6:
		mv_cpu_signal_deliver(t, (int)(fz_u(f, 1) % 70), fz_u(f, 8), fz_addr(f));
		break;
	default:
		mv_cpu_sigreturn(t);
		break;
	}
}

static void fz_tasks(struct fz *f, struct mv_task *t, unsigned int op)
{
	uint64_t v = 0;

	switch (op) {
	case 0: /* fork or thread into a free slot */
		for (unsigned int i = 0; i < FZ_TASKS; i++) {
			if (!f->t[i]) {
				if (mv_task_clone(t, fz_u(f, 1) & 1 ? CLONE_VM : 0, &f->t[i]))
					f->t[i] = NULL;
				break;
			}
		}
		break;
	case 1: /* exit any task but the first */
		for (unsigned int i = 1; i < FZ_TASKS; i++) {
			if (f->t[i] == t) {
				mv_task_exit(t);
				f->t[i] = NULL;
			}
		}
		break;
	case 2:
		fz_remember(f, mv_syscall(t, MV_SYS_map_shadow_stack, fz_u(f, 1) < 200 ? 0 : fz_addr(f),
					  fz_len(f), fz_u(f, 1) % 3, 0, 0, 0));
		break;
	case 3:
		fz_arch_shstk(f, t);
		break;
	case 4:
		fz_cpu(f, t);
		break;
	case 5:   /* the PROT_SHADOW_STACK alternative: mmap's prot 0x40 then makes one */
		mv_task_set_prot_shadow_stack(t, (int)(fz_u(f, 1) % 3));
		break;
	default:
		mv_cpu_ret(t, &v);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_machine_config cfg = { .ram_bytes = 16ull << 20 };
	struct mv_machine_stats before, after;
	struct fz f = { .p = data, .left = size };
	struct mv_machine *m = NULL;

	if (mv_machine_create(&cfg, &m))
		abort();
	mv_machine_get_stats(m, &before);
	if (mv_task_spawn(m, &f.t[0]))
		abort();
	while (f.left) {
		struct mv_task *t = fz_task(&f);
		unsigned int op = (unsigned int)fz_u(&f, 1);

		if (!t)
			break;
		switch (op % 4) {
		case 0:
			fz_memory(&f, t, (op / 4) % 9);
			break;
		case 1:
			fz_files(&f, t, (op / 4) % 9);
			break;
		case 2:
			fz_kvm(&f, t, (op / 4) % 8);
			break;
		default:
			fz_tasks(&f, t, (op / 4) % 7);
			break;
		}
	}
	for (unsigned int i = 0; i < FZ_TASKS; i++)
		if (f.t[i])
			mv_task_exit(f.t[i]);
	mv_machine_get_stats(m, &after);
	if (after.frames_free != before.frames_free)
		abort();   /* a frame outlived every task that could reach it */
	mv_machine_destroy(m);
	return 0;
}
