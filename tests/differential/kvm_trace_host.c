/* SPDX-License-Identifier: MIT */
/*
 * The host's side of kvm_trace: every step as real ioctls on /dev/kvm.
 * The guest program becomes x86 code in 32-bit protected mode with paging
 * off (a memvisor vCPU's starting mode), assembled into the VMM memory the
 * case names with guest_code, and vCPU 0 starts there.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <memvisor/uapi/kvm.h>

#include "kvm_trace.h"

#define HOST_VCPUS 8

struct host_ctx {
	int kvm, vm;
	int vcpu[HOST_VCPUS];
	struct kvm_run *run[HOST_VCPUS];
	unsigned int nr_vcpus;
	long run_size;
	uint8_t *mem[KD_MEMS];
	uint64_t mem_size[KD_MEMS];
	struct kd_program prog;
	int code_mem;
	uint64_t code_gpa;
	bool started;
	bool amd;
	struct rlimit saved_nofile;
	int *fds;                  /* every VM and vCPU fd the case opened */
	size_t nfds, fds_cap;
};

static void host_keep_fd(struct host_ctx *h, int fd)
{
	if (h->nfds == h->fds_cap) {
		size_t cap = h->fds_cap ? 2 * h->fds_cap : 64;
		int *n = realloc(h->fds, cap * sizeof(*n));

		if (!n) {
			close(fd);
			return;
		}
		h->fds = n;
		h->fds_cap = cap;
	}
	h->fds[h->nfds++] = fd;
}

static long host_ret(long r)
{
	return r < 0 ? -errno : r;
}

/* ------------------------------------------------------------ x86 code */

struct asm_buf {
	uint8_t *p;
	size_t n, max;
};

static void emit(struct asm_buf *b, const void *bytes, size_t n)
{
	if (b->n + n <= b->max)
		memcpy(b->p + b->n, bytes, n);
	b->n += n;
}

static void emit8(struct asm_buf *b, uint8_t v)
{
	emit(b, &v, 1);
}

static void emit32(struct asm_buf *b, uint32_t v)
{
	emit(b, &v, 4);
}

/* mov r32, imm32 (B8+r) */
static void emit_mov_imm(struct asm_buf *b, int reg, uint32_t v)
{
	emit8(b, (uint8_t)(0xb8 + reg));
	emit32(b, v);
}

static void host_assemble(struct host_ctx *h, struct asm_buf *b)
{
	for (unsigned int i = 0; i < h->prog.n; i++) {
		const struct kd_step *s = &h->prog.steps[i];

		switch (s->op) {
		case KD_G_WRITE:   /* mov byte/word/dword [disp32], imm */
			if (s->a[1] == 2)
				emit8(b, 0x66);
			emit8(b, s->a[1] == 1 ? 0xc6 : 0xc7);
			emit8(b, 0x05);
			emit32(b, (uint32_t)s->a[0]);
			emit(b, &s->a[2], s->a[1] == 4 ? 4 : s->a[1]);
			break;
		case KD_G_READ:    /* mov eax, [moffs32] */
			emit8(b, 0xa1);
			emit32(b, (uint32_t)s->a[0]);
			break;
		case KD_G_REPORT:  /* mov [moffs32], eax */
			emit8(b, 0xa3);
			emit32(b, (uint32_t)s->a[0]);
			break;
		case KD_G_HYPERCALL:
			emit_mov_imm(b, 0, (uint32_t)s->a[0]);   /* eax: nr */
			emit_mov_imm(b, 3, (uint32_t)s->a[1]);   /* ebx */
			emit_mov_imm(b, 1, (uint32_t)s->a[2]);   /* ecx */
			emit_mov_imm(b, 2, (uint32_t)s->a[3]);   /* edx */
			emit_mov_imm(b, 6, 0);                   /* esi */
			emit(b, h->amd ? "\x0f\x01\xd9" : "\x0f\x01\xc1", 3);   /* vmmcall / vmcall */
			break;
		default:
			break;
		}
	}
	emit(b, "\xf4\xeb\xfd", 3);   /* 1: hlt; jmp 1b */
}

static void host_seg(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->db = 1;
	s->s = 1;
	s->g = 1;
}

/* vCPU 0 enters the program in flat 32-bit protected mode, paging off. */
static long host_start_guest(struct host_ctx *h)
{
	struct asm_buf b = { 0 };
	struct kvm_sregs sr;
	struct kvm_regs regs = { 0 };

	if (h->code_mem < 0 || !h->mem[h->code_mem])
		return -EINVAL;
	b.p = h->mem[h->code_mem];
	b.max = h->mem_size[h->code_mem];
	host_assemble(h, &b);
	if (b.n > b.max)
		return -E2BIG;
	if (ioctl(h->vcpu[0], KVM_GET_SREGS, &sr))
		return -errno;
	host_seg(&sr.cs, 0x8, 0xb);
	host_seg(&sr.ds, 0x10, 0x3);
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	sr.ss.selector = 0x10;
	sr.cr0 = (sr.cr0 | 1) & ~(1ull << 31);
	if (ioctl(h->vcpu[0], KVM_SET_SREGS, &sr))
		return -errno;
	regs.rip = h->code_gpa;
	regs.rflags = 2;
	if (ioctl(h->vcpu[0], KVM_SET_REGS, &regs))
		return -errno;
	h->started = true;
	return 0;
}

/* ------------------------------------------------------------ steps */

static long host_add_vcpu(struct host_ctx *h, uint64_t id)
{
	int fd = ioctl(h->vm, KVM_CREATE_VCPU, id);

	if (fd < 0)
		return -errno;
	host_keep_fd(h, fd);
	if (h->nr_vcpus < HOST_VCPUS) {
		void *run = mmap(NULL, (size_t)h->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

		if (run == MAP_FAILED)
			return -errno;
		h->vcpu[h->nr_vcpus] = fd;
		h->run[h->nr_vcpus++] = run;
	}
	return 0;
}

static void host_create_vcpus(struct host_ctx *h, const struct kd_step *s, char *res, size_t len)
{
	uint64_t i;
	long r = 0;

	for (i = 0; i < s->a[1]; i++) {
		r = host_add_vcpu(h, s->a[0] + i);
		if (r < 0)
			break;
	}
	kd_fmt_created(res, len, i, r < 0 ? r : 0);
}

static uint64_t host_ua(struct host_ctx *h, const struct kd_step *s, int mem_arg, int off_arg)
{
	uint64_t mem = s->a[mem_arg];

	if (mem == KD_RAW_UA)
		return s->a[off_arg];
	return mem < KD_MEMS ? (uint64_t)(uintptr_t)h->mem[mem] + s->a[off_arg] : 0;
}

static void host_fill_slots(struct host_ctx *h, const struct kd_step *s, char *res, size_t len)
{
	uint64_t i;
	long r = 0;

	for (i = 0; i < s->a[1]; i++) {
		struct kvm_userspace_memory_region reg = {
			.slot = (uint32_t)(s->a[0] + i), .guest_phys_addr = i * s->a[2],
			.memory_size = s->a[2],
			.userspace_addr = (uint64_t)(uintptr_t)h->mem[s->a[3] % KD_MEMS] + i * s->a[2],
		};

		r = host_ret(ioctl(h->vm, KVM_SET_USER_MEMORY_REGION, &reg));
		if (r < 0)
			break;
	}
	kd_fmt_created(res, len, i, r < 0 ? r : 0);
}

static long host_region(struct host_ctx *h, const struct kd_step *s)
{
	struct kvm_userspace_memory_region2 r = {
		.slot = (uint32_t)s->a[1], .flags = (uint32_t)s->a[2],
		.guest_phys_addr = s->a[3], .memory_size = s->a[4], .userspace_addr = host_ua(h, s, 5, 6),
	};

	return host_ret(ioctl(h->vm, s->a[0] == 1 ? KVM_SET_USER_MEMORY_REGION
						  : KVM_SET_USER_MEMORY_REGION2, &r));
}

static long host_map(struct host_ctx *h, const struct kd_step *s)
{
	void *p = mmap(NULL, s->a[1], PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return -errno;
	h->mem[s->a[0] % KD_MEMS] = p;
	h->mem_size[s->a[0] % KD_MEMS] = s->a[1];
	return 0;
}

bool kd_host_timed_out;

static void host_alarm(int sig)
{
	(void)sig;   /* interrupts a KVM_RUN that does not come back */
	kd_host_timed_out = true;
}

static long host_run(struct host_ctx *h, const struct kd_step *s, char *res, size_t len)
{
	struct sigaction sa = { .sa_handler = host_alarm }, old;
	long r;

	if (kd_host_timed_out) {
		snprintf(res, len, "-");   /* the vCPU is stuck: the case is not recorded */
		return 0;
	}
	if (s->a[0] >= h->nr_vcpus)
		return -EBADF;
	if (s->a[0] == 0 && !h->started) {
		r = host_start_guest(h);
		if (r)
			return r;
	}
	sigaction(SIGALRM, &sa, &old);
	alarm(5);
	r = host_ret(ioctl(h->vcpu[s->a[0]], KVM_RUN, s->a[1]));
	alarm(0);
	sigaction(SIGALRM, &old, NULL);
	kd_fmt_exit(res, len, r, h->run[s->a[0]]);
	return 0;
}

static long host_reply(struct host_ctx *h, const struct kd_step *s)
{
	struct kvm_run *run;

	if (s->a[0] >= h->nr_vcpus)
		return -EBADF;
	run = h->run[s->a[0]];
	if (s->op == KD_MMIO_REPLY)
		memcpy(run->mmio.data, &s->a[1], 8);
	else if (s->op == KD_HYPERCALL_REPLY)
		run->hypercall.ret = s->a[1];
	else
		run->immediate_exit = (uint8_t)s->a[1];
	return 0;
}

static long host_simple(struct host_ctx *h, const struct kd_step *s)
{
	switch (s->op) {
	case KD_API_VERSION:
		return host_ret(ioctl(h->kvm, KVM_GET_API_VERSION, 0));
	case KD_VCPU_MMAP_SIZE:
		return host_ret(ioctl(h->kvm, KVM_GET_VCPU_MMAP_SIZE, 0));
	case KD_CHECK_EXTENSION:
		return host_ret(ioctl(s->a[0] ? h->vm : h->kvm, KVM_CHECK_EXTENSION, s->a[1]));
	case KD_IOCTL: {
		int fd = s->a[0] == 0 ? h->kvm : s->a[0] == 1 ? h->vm : h->nr_vcpus ? h->vcpu[0] : -1;

		return host_ret(ioctl(fd, (unsigned long)s->a[1], s->a[2]));
	}
	case KD_CREATE_VM: {
		int vm = ioctl(h->kvm, KVM_CREATE_VM, s->a[0]);

		if (vm < 0)
			return -errno;
		host_keep_fd(h, vm);
		h->vm = vm;
		return 0;
	}
	case KD_CREATE_VCPU:
		return host_add_vcpu(h, s->a[0]);
	case KD_SET_NOFILE: {
		struct rlimit l = { s->a[0], s->a[0] };

		return host_ret(setrlimit(RLIMIT_NOFILE, &l));
	}
	case KD_MAP:
		return host_map(h, s);
	case KD_UNMAP:
		return host_ret(munmap(h->mem[s->a[0] % KD_MEMS], h->mem_size[s->a[0] % KD_MEMS]));
	case KD_WRITE_MEM:
		memcpy(h->mem[s->a[0] % KD_MEMS] + s->a[1], &s->a[2], 8);
		return 0;
	case KD_SET_REGION:
		return host_region(h, s);
	case KD_ENABLE_CAP: {
		struct kvm_enable_cap cap = { .cap = (uint32_t)s->a[0], .flags = (uint32_t)s->a[2],
					      .args = { s->a[1] } };

		return host_ret(ioctl(h->vm, KVM_ENABLE_CAP, &cap));
	}
	case KD_CREATE_GMEM: {
		struct kvm_create_guest_memfd g = { .size = s->a[0], .flags = s->a[1] };
		long fd = host_ret(ioctl(h->vm, KVM_CREATE_GUEST_MEMFD, &g));

		if (fd >= 0)
			host_keep_fd(h, (int)fd);
		return fd >= 0 ? 0 : fd;
	}
	case KD_GUEST_CODE:
		h->code_mem = (int)(s->a[0] % KD_MEMS);
		h->code_gpa = s->a[1];
		return 0;
	case KD_MMIO_REPLY:
	case KD_HYPERCALL_REPLY:
	case KD_IMMEDIATE_EXIT:
		return host_reply(h, s);
	default:
		return -ENOSYS;
	}
}

static long host_vcpu_ioctl(void *ctx, uint64_t vcpu, unsigned long cmd, void *arg)
{
	struct host_ctx *h = ctx;

	return vcpu < h->nr_vcpus ? host_ret(ioctl(h->vcpu[vcpu], cmd, arg)) : -EBADF;
}

static void host_step(void *ctx, const struct kd_step *s, char *res, size_t len)
{
	struct host_ctx *h = ctx;
	long r;

	if (kd_ops[s->op].program) {
		if (h->prog.n < KD_MAX_GUEST)
			h->prog.steps[h->prog.n++] = *s;
		snprintf(res, len, "-");
		return;
	}
	switch (s->op) {
	case KD_CREATE_VCPUS:
		host_create_vcpus(h, s, res, len);
		return;
	case KD_FILL_SLOTS:
		host_fill_slots(h, s, res, len);
		return;
	case KD_READ_MEM: {
		uint64_t v;

		memcpy(&v, h->mem[s->a[0] % KD_MEMS] + s->a[1], 8);
		snprintf(res, len, "%#llx", (unsigned long long)v);
		return;
	}
	case KD_DIRTY_LOG: {
		static uint64_t bits[1 << 12];
		struct kvm_dirty_log l = { .slot = (uint32_t)s->a[0], .dirty_bitmap = bits };

		memset(bits, 0, sizeof(bits));
		r = host_ret(ioctl(h->vm, KVM_GET_DIRTY_LOG, &l));
		if (!r) {
			snprintf(res, len, "bits=%#llx", (unsigned long long)bits[0]);
			return;
		}
		break;
	}
	case KD_RUN:
		r = host_run(h, s, res, len);
		if (!r)
			return;
		break;
	case KD_SET_EVENTS:
	case KD_GET_EVENTS:
	case KD_SET_SREGS:
	case KD_GET_SREGS:
	case KD_SET_REGS:
	case KD_GET_REGS:
		kd_vcpu_state_step(h, host_vcpu_ioctl, s, res, len);
		return;
	default:
		r = host_simple(h, s);
	}
	kd_fmt_ret(res, len, r);
}

static bool host_is_amd(void)
{
	char line[256];
	bool amd = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "vendor_id", 9)) {
			amd = strstr(line, "AMD") || strstr(line, "Hygon");
			break;
		}
	if (f)
		fclose(f);
	return amd;
}

static void *host_begin(void)
{
	struct host_ctx *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	h->vm = -1;
	h->code_mem = -1;
	h->amd = host_is_amd();
	getrlimit(RLIMIT_NOFILE, &h->saved_nofile);
	h->run_size = h->kvm >= 0 ? ioctl(h->kvm, KVM_GET_VCPU_MMAP_SIZE, 0) : -1;
	if (h->kvm < 0 || h->run_size <= 0) {
		if (h->kvm >= 0)
			close(h->kvm);
		free(h);
		return NULL;
	}
	return h;
}

static void host_end(void *ctx)
{
	struct host_ctx *h = ctx;

	for (unsigned int i = 0; i < h->nr_vcpus; i++)
		munmap(h->run[i], (size_t)h->run_size);
	for (int i = 0; i < KD_MEMS; i++)
		if (h->mem[i])
			munmap(h->mem[i], h->mem_size[i]);
	for (size_t i = 0; i < h->nfds; i++)
		close(h->fds[i]);
	free(h->fds);
	close(h->kvm);
	setrlimit(RLIMIT_NOFILE, &h->saved_nofile);
	free(h);
}

/* The transcript header's account of the host: what it offers and what it lacks. */
int kd_host_describe(char *buf, size_t len)
{
	static const struct { long cap; const char *name; } caps[] = {
		{ KVM_CAP_USER_MEMORY2, "USER_MEMORY2" }, { KVM_CAP_GUEST_MEMFD, "GUEST_MEMFD" },
		{ KVM_CAP_GUEST_MEMFD_FLAGS, "GUEST_MEMFD_FLAGS" },
		{ KVM_CAP_MEMORY_ATTRIBUTES, "MEMORY_ATTRIBUTES" }, { KVM_CAP_VM_TYPES, "VM_TYPES" },
		{ KVM_CAP_MEMORY_FAULT_INFO, "MEMORY_FAULT_INFO" },
		{ KVM_CAP_EXIT_HYPERCALL, "EXIT_HYPERCALL" },
		{ KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, "MANUAL_DIRTY_LOG_PROTECT2" },
		{ 192, "DIRTY_LOG_RING" }, { KVM_CAP_NR_MEMSLOTS, "NR_MEMSLOTS" },
		{ KVM_CAP_MAX_VCPUS, "MAX_VCPUS" },
	};
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	size_t n = 0;
	long gmem;

	if (kvm < 0)
		return -1;
	n += (size_t)snprintf(buf + n, len - n, "# host KVM (KVM_CHECK_EXTENSION on /dev/kvm):");
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]) && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s %s=%d", i % 4 == 3 ? "\n#  " : "",
				      caps[i].name, ioctl(kvm, KVM_CHECK_EXTENSION, caps[i].cap));
	gmem = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD);
	if (access("/sys/module/kvm_pvm", F_OK) == 0 && n < len)
		n += (size_t)snprintf(buf + n, len - n,
			"\n# host backend: kvm_pvm (the out-of-tree PVM backend, software\n"
			"# virtualization without VMX/SVM), not kvm_intel or kvm_amd");
	if (n < len)
		n += (size_t)snprintf(buf + n, len - n, "\n# host CPU: %s\n",
				      host_is_amd() ? "AMD (VMMCALL)" : "Intel (VMCALL)");
	if (gmem <= 0 && n < len)
		n += (size_t)snprintf(buf + n, len - n,
			"# This host has no guest_memfd (KVM_CAP_GUEST_MEMFD = 0) and no\n"
			"# KVM_X86_SW_PROTECTED_VM: guest_memfd files, private memory and\n"
			"# memory attributes cannot be recorded here. The sequences that touch\n"
			"# them are recorded as the host answers and marked 'differs'; the\n"
			"# guest_memfd file sequences stay in the live runner (gmem_diff).\n");
	close(kvm);
	return 0;
}

const struct kd_side kd_host_side = {
	.name = "host",
	.begin = host_begin,
	.step = host_step,
	.end = host_end,
};
