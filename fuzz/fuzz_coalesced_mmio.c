/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for coalesced MMIO (src/kvm/coalesced_mmio.c): struct
 * kvm_coalesced_mmio_zone through KVM_REGISTER/UNREGISTER_COALESCED_MMIO,
 * and the ring (struct kvm_coalesced_mmio_ring) the VMM maps at page
 * KVM_COALESCED_MMIO_PAGE_OFFSET of a vCPU fd and drains, scribbles on and
 * resets, between batches of guest MMIO accesses near the zones. Beside
 * it, a model of the zones of each bus and of the ring.
 *
 * Rules checked: register and unregister answer as their checks give
 * (pio other than 0 or 1 -EINVAL, a full bus -ENOSPC, else 0, unregister
 * removing every zone of its bus that contains its range); a guest write
 * wholly inside an MMIO zone, with room in the ring, is appended there and
 * does not exit; every other write, and every read, exits as
 * KVM_EXIT_MMIO with its address, length and data, in order; the ring
 * holds exactly the writes the model appended, in order, and a last the
 * VMM scribbled past the end makes every write exit.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <memvisor/memvisor.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FC_PG       4096ull
#define FC_BASE     0x40000000ull         /* no memslot here: every access is MMIO */
#define FC_ZONES    256u                  /* zones the model keeps (a bus holds 1000) */
#define FC_BATCH    16u
/* KVM_COALESCED_MMIO_MAX: the entries after the two indexes in one page */
#define FC_RING_MAX ((uint32_t)((FC_PG - sizeof(struct kvm_coalesced_mmio_ring)) / \
				     sizeof(struct kvm_coalesced_mmio)))

struct fc_zone {
	uint64_t addr;
	uint32_t size, pio;
};

struct fc_access {
	uint64_t gpa;
	uint32_t len;
	bool write;
	uint64_t val;
};

struct fc {
	const uint8_t *p;
	size_t left;
	struct mv_task *t;
	long vm, vcpu;
	struct kvm_run *run;
	uint64_t ring;                  /* the VMM's mapping of the ring page */
	struct fc_zone zone[FC_ZONES];
	unsigned int nzones;
	uint32_t first, last;           /* the ring as the model has it */
	struct fc_access q[FC_RING_MAX];   /* the model's entries, at their ring index */
	struct fc_access batch[FC_BATCH];
	unsigned int nbatch;
	long guest_ret[FC_BATCH];
	uint64_t guest_got[FC_BATCH];
};

static uint64_t fc_u(struct fc *f, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n && f->left; i++, f->left--)
		v |= (uint64_t)*f->p++ << (8 * i);
	return v;
}

/* What the VMM answers an MMIO read with: from the address alone. */
static uint64_t fc_reply(uint64_t gpa)
{
	return gpa * 0x9e3779b97f4a7c15ull ^ 0xa5a5;
}

static long fc_ioctl(struct fc *f, long fd, unsigned long cmd, const void *arg)
{
	return mv_syscall(f->t, MV_SYS_ioctl, (uint64_t)fd, cmd, (uint64_t)(uintptr_t)arg, 0, 0, 0);
}

/* coalesced_mmio_in_range(): the length is an int there. */
static bool fc_in_range(const struct fc_zone *z, uint64_t addr, uint32_t len)
{
	return (int32_t)len >= 0 && addr + len >= addr && addr >= z->addr &&
	       addr + len <= z->addr + z->size;
}

/* A zone near FC_BASE, mostly; sometimes any fields at all. */
static void fc_zone_input(struct fc *f, struct kvm_coalesced_mmio_zone *z)
{
	unsigned int sel = (unsigned int)fc_u(f, 1);

	memset(z, 0, sizeof(*z));
	z->addr = sel & 1 ? fc_u(f, 8) : FC_BASE + (fc_u(f, 2) % 512) * 8;
	z->size = (uint32_t)(sel & 2 ? fc_u(f, 4) : fc_u(f, 2) % 0x200);
	z->pio = (uint32_t)(sel & 4 ? fc_u(f, 4) : (sel >> 3) & 1);
}

static void fc_register(struct fc *f)
{
	struct kvm_coalesced_mmio_zone z;
	long want = 0;

	fc_zone_input(f, &z);
	if (z.pio > 1)
		want = -EINVAL;
	else if (f->nzones == FC_ZONES)
		return;   /* the model is full: not attempted */
	if (fc_ioctl(f, f->vm, KVM_REGISTER_COALESCED_MMIO, &z) != want)
		abort();
	if (!want)
		f->zone[f->nzones++] = (struct fc_zone){ z.addr, z.size, z.pio };
}

static void fc_unregister(struct fc *f)
{
	struct kvm_coalesced_mmio_zone z;
	unsigned int n = 0;

	fc_zone_input(f, &z);
	if (fc_ioctl(f, f->vm, KVM_UNREGISTER_COALESCED_MMIO, &z) != (z.pio > 1 ? -EINVAL : 0))
		abort();
	if (z.pio > 1)
		return;
	for (unsigned int i = 0; i < f->nzones; i++)
		if (!(f->zone[i].pio == z.pio && fc_in_range(&f->zone[i], z.addr, z.size)))
			f->zone[n++] = f->zone[i];
	f->nzones = n;
}

static uint32_t fc_ring_u32(struct fc *f, uint64_t off)
{
	uint32_t v;

	if (mv_user_read(f->t, f->ring + off, &v, sizeof(v)))
		abort();
	return v;
}

static void fc_ring_set(struct fc *f, uint64_t off, uint32_t v)
{
	if (mv_user_write(f->t, f->ring + off, &v, sizeof(v)))
		abort();
}

/* The VMM consumes up to @n entries: each is the model's, in order. */
static void fc_drain(struct fc *f, uint32_t n)
{
	if (fc_ring_u32(f, 0) != f->first || fc_ring_u32(f, 4) != f->last)
		abort();
	if (f->last >= FC_RING_MAX)
		return;   /* scribbled: nothing to read */
	for (; n && f->first != f->last; n--) {
		struct kvm_coalesced_mmio e, want = { .phys_addr = f->q[f->first].gpa,
						      .len = f->q[f->first].len };

		memcpy(want.data, &f->q[f->first].val, want.len);
		if (mv_user_read(f->t, f->ring + 8 + f->first * sizeof(e), &e, sizeof(e)) ||
		    memcmp(&e, &want, sizeof(e)))
			abort();
		f->first = (f->first + 1) % FC_RING_MAX;
	}
	fc_ring_set(f, 0, f->first);
}

/* The VMM writes the ring's indexes: a reset, or a last past the end. */
static void fc_scribble(struct fc *f)
{
	unsigned int sel = (unsigned int)fc_u(f, 1);
	uint32_t v = (uint32_t)(sel & 1 ? fc_u(f, 4) : fc_u(f, 1) % FC_RING_MAX);

	f->first = f->last = v % FC_RING_MAX;
	if (sel & 2)
		f->last = FC_RING_MAX + v % 0x10000;   /* past the end: the ring counts as full */
	fc_ring_set(f, 0, f->first);
	fc_ring_set(f, 4, f->last);
}

/* Coalesced, says the model, which appends it; false: it must exit. */
static bool fc_coalesce(struct fc *f, const struct fc_access *a)
{
	if (!a->write || f->last >= FC_RING_MAX || (f->last + 1) % FC_RING_MAX == f->first)
		return false;
	for (unsigned int i = 0; i < f->nzones; i++) {
		if (!f->zone[i].pio && fc_in_range(&f->zone[i], a->gpa, a->len)) {
			f->q[f->last] = *a;
			f->last = (f->last + 1) % FC_RING_MAX;
			return true;
		}
	}
	return false;
}

static void fc_guest(struct mv_guest *g, void *arg)
{
	struct fc *f = arg;

	for (unsigned int i = 0; i < f->nbatch; i++) {
		struct fc_access *a = &f->batch[i];

		f->guest_got[i] = 0;
		f->guest_ret[i] = a->write ? mv_guest_write(g, a->gpa, &a->val, a->len) :
			mv_guest_read(g, a->gpa, &f->guest_got[i], a->len);
	}
}

/* One exit: the access the model says must exit next, with its data. */
static void fc_check_exit(struct fc *f, const struct fc_access *a)
{
	struct kvm_run *run = f->run;
	uint64_t data = 0;

	if (run->exit_reason != KVM_EXIT_MMIO || run->mmio.phys_addr != a->gpa ||
	    run->mmio.len != a->len || run->mmio.is_write != a->write)
		abort();
	memcpy(&data, run->mmio.data, a->len);
	if (a->write && data != a->val)
		abort();
	if (!a->write) {
		uint64_t r = fc_reply(a->gpa);

		memcpy(run->mmio.data, &r, 8);
	}
}

/* A batch of guest accesses, naturally aligned, near the zones mostly; run to the halt. */
static void fc_batch(struct fc *f)
{
	struct fc_access exits[FC_BATCH];
	unsigned int nexit = 0, seen = 0;

	f->nbatch = (unsigned int)fc_u(f, 1) % FC_BATCH + 1;
	for (unsigned int i = 0; i < f->nbatch; i++) {
		struct fc_access *a = &f->batch[i];
		unsigned int sel = (unsigned int)fc_u(f, 1);

		a->len = 1u << (sel & 3);
		a->write = !(sel & 4);
		a->gpa = (sel & 8 ? fc_u(f, 2) << 16 : FC_BASE) + (fc_u(f, 2) % 0x1000);
		a->gpa &= ~(uint64_t)(a->len - 1);
		a->val = fc_u(f, a->len);
		if (!fc_coalesce(f, a))
			exits[nexit++] = *a;
	}
	if (mv_vcpu_set_guest(f->t, (int)f->vcpu, fc_guest, f))
		abort();
	for (;;) {
		if (mv_syscall(f->t, MV_SYS_ioctl, (uint64_t)f->vcpu, KVM_RUN, 0, 0, 0, 0))
			abort();
		if (f->run->exit_reason == KVM_EXIT_HLT)
			break;
		if (seen == nexit)
			abort();   /* an exit the model coalesced */
		fc_check_exit(f, &exits[seen++]);
	}
	if (seen != nexit)
		abort();       /* an exit the model expected never came */
	for (unsigned int i = 0; i < f->nbatch; i++)
		if (f->guest_ret[i] ||
		    (!f->batch[i].write &&
		     memcmp(&f->guest_got[i], &(uint64_t){ fc_reply(f->batch[i].gpa) },
			    f->batch[i].len)))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fc f;
	struct mv_machine_config cfg = { .ram_bytes = 16ull << 20 };
	struct mv_machine *m = NULL;
	long kvm, ring;

	if (!size)
		return 0;
	memset(&f, 0, offsetof(struct fc, q));
	f.p = data;
	f.left = size;
	if (mv_machine_create(&cfg, &m) || mv_task_spawn(m, &f.t))
		abort();
	kvm = mv_syscall(f.t, MV_SYS_openat, (uint64_t)AT_FDCWD, (uint64_t)(uintptr_t)"/dev/kvm",
			 O_RDWR, 0, 0, 0);
	f.vm = mv_syscall(f.t, MV_SYS_ioctl, (uint64_t)kvm, KVM_CREATE_VM, 0, 0, 0, 0);
	f.vcpu = mv_syscall(f.t, MV_SYS_ioctl, (uint64_t)f.vm, KVM_CREATE_VCPU, 0, 0, 0, 0);
	ring = mv_syscall(f.t, MV_SYS_mmap, 0, FC_PG, PROT_READ | PROT_WRITE, MAP_SHARED,
			  (uint64_t)f.vcpu, KVM_COALESCED_MMIO_PAGE_OFFSET * FC_PG);
	if (kvm < 0 || f.vm < 0 || f.vcpu < 0 || ring < 0)
		abort();
	f.ring = (uint64_t)ring;
	f.run = mv_vcpu_run_area(f.t, (int)f.vcpu);
	while (f.left) {
		switch (fc_u(&f, 1) % 8) {
		case 0:
		case 1:
			fc_register(&f);
			break;
		case 2:
			fc_unregister(&f);
			break;
		case 3:
			fc_drain(&f, (uint32_t)fc_u(&f, 1));
			break;
		case 4:
			fc_scribble(&f);
			break;
		default:
			fc_batch(&f);
			break;
		}
	}
	fc_drain(&f, FC_RING_MAX);
	mv_machine_destroy(m);
	return 0;
}
