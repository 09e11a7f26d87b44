// SPDX-License-Identifier: MIT
/*
 * The race runner (bench/race.h). The VM is a software-protected one with
 * four regions, one per vCPU: regions 0 and 1 are guest_memfd slots (punch,
 * convert), 2 and 3 ordinary slots (delete/re-add, dirty logging,
 * MADV_DONTNEED). A guest writes {sig, ~sig} canaries and reads them back:
 * what it reads must be its own canary or zeros (a punched, dropped,
 * converted or absent page), nothing else. The witness process fills fresh
 * frames with its own pattern and checks them an operation later: a guest
 * that kept writing a frame after it was freed would show there.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <memvisor/memvisor.h>

#include "bench.h"
#include "bench/race.h"
#include "api/api.h"
#include "kernel/fs.h"
#include "kernel/guest_memfd.h"
#include "kvm/kvm.h"

#define RACE_VCPUS   4
#define RACE_PG      4096ull
#define RACE_REGION  (64 * RACE_PG)
#define RACE_WITNESS_BYTES (16 * RACE_PG)
#define RACE_WPAT    0x5749544e45535321ull   /* the witness's pattern */

struct race_vcpu {
	struct mv_task *t;          /* a thread of the VMM process */
	int fd, id;
	const unsigned int *stop;   /* atomic */
	uint64_t writes, own, zero, foreign, mmio, memfault, undocumented;
};

struct race {
	struct mv_machine *m;
	struct mv_task *vmm, *witness;
	int vm, gmem;
	uint64_t hva;                /* the VMM's memory behind all four slots */
	uint64_t witness_buf;        /* the witness's current frames (0: none) */
	bool dirty_on[RACE_VCPUS];
	unsigned int stop;
	struct race_vcpu v[RACE_VCPUS];
	struct race_report *out;
};

static uint64_t race_sig(int id, uint64_t page, uint64_t round)
{
	return ((uint64_t)(id + 1) << 56) | (page << 32) | (round & 0xffffffff);
}

static void race_guest(struct mv_guest *g, void *arg)
{
	struct race_vcpu *v = arg;
	uint64_t base = (uint64_t)v->id * RACE_REGION;

	for (uint64_t r = 0; !__atomic_load_n(v->stop, __ATOMIC_ACQUIRE); r++) {
		for (uint64_t p = 0; p < RACE_REGION / RACE_PG; p++) {
			uint64_t w[2] = { race_sig(v->id, p, r), ~race_sig(v->id, p, r) }, b[2];

			if (mv_guest_write(g, base + p * RACE_PG + 128, w, sizeof(w)) ||
			    mv_guest_read(g, base + p * RACE_PG + 128, b, sizeof(b))) {
				v->foreign++;     /* a fault inside the guest: not documented here */
				continue;
			}
			v->writes++;
			if (!b[0] && !b[1])
				v->zero++;
			else if (b[1] == ~b[0] && (b[0] >> 56) == (uint64_t)(v->id + 1) &&
				 ((b[0] >> 32) & 0xffffff) == p)
				v->own++;
			else
				v->foreign++;
		}
	}
}

/*
 * KVM_RUN until the guest halts. Documented answers here: MMIO exits (a
 * slot that is away), HLT, and -EFAULT with KVM_EXIT_MEMORY_FAULT (the
 * VMM resolves it by running again, as a VMM would after fixing memory).
 */
static void *race_vcpu_main(void *p)
{
	struct race_vcpu *v = p;
	struct kvm_run *run = mv_vcpu_run_area(v->t, v->fd);

	for (;;) {
		long r = mv_syscall(v->t, MV_SYS_ioctl, (uint64_t)v->fd, KVM_RUN, 0, 0, 0, 0);

		if (r == -EFAULT && run->exit_reason == KVM_EXIT_MEMORY_FAULT) {
			v->memfault++;
			continue;
		}
		if (r) {
			v->undocumented++;
			return NULL;
		}
		if (run->exit_reason == KVM_EXIT_HLT)
			return NULL;
		if (run->exit_reason != KVM_EXIT_MMIO) {
			v->undocumented++;
			return NULL;
		}
		v->mmio++;
		if (!run->mmio.is_write)
			memset(run->mmio.data, 0, sizeof(run->mmio.data));
	}
}

static long race_ioctl(struct race *r, unsigned long cmd, const void *arg)
{
	return mv_syscall(r->vmm, MV_SYS_ioctl, (uint64_t)r->vm, cmd, (uint64_t)(uintptr_t)arg, 0,
			  0, 0);
}

/* Slot @i as it should be now (dirty logging on or off). */
static long race_slot_set(struct race *r, int i, bool present)
{
	struct kvm_userspace_memory_region2 s = {
		.slot = (uint32_t)i, .guest_phys_addr = (uint64_t)i * RACE_REGION,
		.memory_size = present ? RACE_REGION : 0,
		.userspace_addr = r->hva + (uint64_t)i * RACE_REGION,
	};

	if (i < 2) {
		s.flags = KVM_MEM_GUEST_MEMFD;
		s.guest_memfd = (uint32_t)r->gmem;
		s.guest_memfd_offset = (uint64_t)i * RACE_REGION;
	} else if (r->dirty_on[i]) {
		s.flags = KVM_MEM_LOG_DIRTY_PAGES;
	}
	return race_ioctl(r, KVM_SET_USER_MEMORY_REGION2, &s);
}

static int race_setup(struct race *r, uint64_t *free_at_boot)
{
	struct mv_machine_config cfg = { .ram_bytes = 128ull << 20, .seed = 7 };
	struct kvm_create_guest_memfd cg = { .size = 2 * RACE_REGION };
	struct mv_machine_stats st;
	long kvm, ret;

	ret = mv_machine_create(&cfg, &r->m);
	if (ret)
		return (int)ret;
	mv_machine_get_stats(r->m, &st);
	*free_at_boot = st.frames_free;
	ret = mv_task_spawn(r->m, &r->vmm);
	if (!ret)
		ret = mv_task_spawn(r->m, &r->witness);
	if (ret)
		return (int)ret;
	kvm = mv_syscall(r->vmm, MV_SYS_openat, (uint64_t)AT_FDCWD, (uint64_t)(uintptr_t)"/dev/kvm",
			 O_RDWR, 0, 0, 0);
	if (kvm < 0)
		return (int)kvm;
	r->vm = (int)mv_syscall(r->vmm, MV_SYS_ioctl, (uint64_t)kvm, KVM_CREATE_VM,
				KVM_X86_SW_PROTECTED_VM, 0, 0, 0);
	if (r->vm < 0)
		return r->vm;
	r->gmem = (int)race_ioctl(r, KVM_CREATE_GUEST_MEMFD, &cg);
	ret = mv_syscall(r->vmm, MV_SYS_mmap, 0, RACE_VCPUS * RACE_REGION, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0);
	if (r->gmem < 0 || ret < 0)
		return r->gmem < 0 ? r->gmem : (int)ret;
	r->hva = (uint64_t)ret;
	for (int i = 0; i < RACE_VCPUS; i++) {
		ret = race_slot_set(r, i, true);
		if (ret)
			return (int)ret;
		r->v[i] = (struct race_vcpu){ .id = i, .stop = &r->stop };
		r->v[i].fd = (int)race_ioctl(r, KVM_CREATE_VCPU, (const void *)(uintptr_t)i);
		if (r->v[i].fd < 0)
			return r->v[i].fd;
		ret = mv_task_clone(r->vmm, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
				    CLONE_THREAD, &r->v[i].t);
		if (!ret)
			ret = mv_vcpu_set_guest(r->vmm, r->v[i].fd, race_guest, &r->v[i]);
		if (ret)
			return (int)ret;
	}
	return 0;
}

/* The witness: check the frames it took last time, free them, take fresh ones. */
static long race_witness(struct race *r)
{
	uint64_t pat[RACE_PG / 8], got[RACE_PG / 8];
	long a;

	for (size_t i = 0; i < RACE_PG / 8; i++)
		pat[i] = RACE_WPAT ^ i;
	if (r->witness_buf) {
		for (uint64_t off = 0; off < RACE_WITNESS_BYTES; off += RACE_PG) {
			if (mv_user_read(r->witness, r->witness_buf + off, got, sizeof(got)))
				return -EFAULT;
			if (memcmp(got, pat, sizeof(pat)))
				r->out->witness_corrupt++;
		}
		mv_syscall(r->witness, MV_SYS_munmap, r->witness_buf, RACE_WITNESS_BYTES, 0, 0, 0, 0);
		r->witness_buf = 0;
	}
	a = mv_syscall(r->witness, MV_SYS_mmap, 0, RACE_WITNESS_BYTES, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0);
	if (a < 0)
		return a;
	r->witness_buf = (uint64_t)a;
	for (uint64_t off = 0; off < RACE_WITNESS_BYTES; off += RACE_PG)
		if (mv_user_write(r->witness, r->witness_buf + off, pat, sizeof(pat)))
			return -EFAULT;
	return 0;
}

/* One VMM operation, chosen by @n. 0 or a negative errno (a VMM call failed). */
static long race_vmm_op(struct race *r, uint64_t n, uint8_t *bitmap)
{
	enum race_op op = (enum race_op)(n % RACE_OP_NR);
	int i = (int)(n / RACE_OP_NR % 2);        /* which region of the pair */
	uint64_t off = (n * 7 % 48) * RACE_PG, len = (1 + n % 16) * RACE_PG;
	long ret = 0;

	r->out->ops[op]++;
	switch (op) {
	case RACE_PUNCH:
		return mv_syscall(r->vmm, MV_SYS_fallocate, (uint64_t)r->gmem,
				  FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				  (uint64_t)i * RACE_REGION + off, len, 0, 0);
	case RACE_CONVERT: {
		struct kvm_memory_attributes a = {
			.address = (uint64_t)i * RACE_REGION + off, .size = len,
			.attributes = n / (2 * RACE_OP_NR) % 2 ? 0 : KVM_MEMORY_ATTRIBUTE_PRIVATE,
		};
		return race_ioctl(r, KVM_SET_MEMORY_ATTRIBUTES, &a);
	}
	case RACE_SLOT_CYCLE:
		ret = race_slot_set(r, 2 + i, false);
		return ret ? ret : race_slot_set(r, 2 + i, true);
	case RACE_DIRTY_TOGGLE: {
		struct kvm_dirty_log log = { .slot = (uint32_t)(2 + i), .dirty_bitmap = bitmap };

		if (r->dirty_on[2 + i])
			ret = race_ioctl(r, KVM_GET_DIRTY_LOG, &log);
		r->dirty_on[2 + i] = !r->dirty_on[2 + i];
		return ret ? ret : race_slot_set(r, 2 + i, true);
	}
	case RACE_DONTNEED:
		return mv_syscall(r->vmm, MV_SYS_madvise, r->hva + (uint64_t)(2 + i) * RACE_REGION + off,
				  len, MADV_DONTNEED, 0, 0, 0);
	case RACE_WITNESS:
	case RACE_OP_NR:
		break;
	}
	return race_witness(r);
}

/* The race windows, read once every vCPU thread is joined. */
static void race_windows(struct race *r)
{
	struct file *f = fd_get(r->vmm, r->vm);
	struct kvm *kvm = f ? kvm_from_file(f) : NULL;
	struct gmem_stats gs;

	if (kvm) {
		r->out->stage2_faults = READ_ONCE(kvm->stage2_faults);
		r->out->stage2_retries = READ_ONCE(kvm->stage2_retries);
		r->out->invalidations = READ_ONCE(kvm->mmu_invalidate_seq);
	}
	if (f)
		file_put(f);
	gmem_get_stats(mv_machine_kernel(r->m), &gs);
	r->out->folio_splits = gs.folio_splits;
}

static void race_collect(struct race *r)
{
	for (int i = 0; i < RACE_VCPUS; i++) {
		struct race_vcpu *v = &r->v[i];

		r->out->guest_writes += v->writes;
		r->out->own_reads += v->own;
		r->out->zero_reads += v->zero;
		r->out->foreign_reads += v->foreign;
		r->out->mmio_exits += v->mmio;
		r->out->memory_fault_exits += v->memfault;
		r->out->run_undocumented += v->undocumented;
	}
}

int race_run(double seconds, struct race_report *out)
{
	static uint8_t bitmap[RACE_REGION / RACE_PG / 8];
	struct race r = { .out = out };
	pthread_t th[RACE_VCPUS];
	uint64_t free_before = 0, n = 0;
	double start;
	int started = 0, ret;

	memset(out, 0, sizeof(*out));
	ret = race_setup(&r, &free_before);
	for (; !ret && started < RACE_VCPUS; started++)
		ret = -pthread_create(&th[started], NULL, race_vcpu_main, &r.v[started]);
	start = bench_now_ns();
	while (!ret && (n < 4 * RACE_OP_NR || bench_now_ns() - start < seconds * 1e9))
		ret = (int)race_vmm_op(&r, n++, bitmap);
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	out->seconds = (bench_now_ns() - start) / 1e9;
	out->error = ret;
	if (r.m && !ret) {
		struct mv_machine_stats st;

		race_collect(&r);
		race_windows(&r);
		/* tear everything down but the machine: every frame must come back */
		for (int i = 0; i < RACE_VCPUS; i++)
			mv_task_exit(r.v[i].t);
		mv_task_exit(r.vmm);
		mv_task_exit(r.witness);
		mv_machine_get_stats(r.m, &st);
		/* every task is gone: the machine is as it booted */
		out->frames_leaked = st.frames_free < free_before ? free_before - st.frames_free : 0;
	}
	mv_machine_destroy(r.m);
	return ret;
}
