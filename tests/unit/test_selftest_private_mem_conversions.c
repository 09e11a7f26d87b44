/* SPDX-License-Identifier: MIT */
/*
 * The cases of mainline's
 * tools/testing/selftests/kvm/x86/private_mem_conversions_test.c,
 * re-expressed on memvisor's public API (docs/conformance.md has the
 * table). The guest asks for conversions with KVM_HC_MAP_GPA_RANGE (an
 * exit the VMM handles with fallocate and KVM_SET_MEMORY_ATTRIBUTES, as the
 * selftest's handle_exit_hypercall does); its GUEST_SYNCs are MMIO writes
 * to a GPA no slot covers, after which the VMM checks (and for shared
 * ranges rewrites) what it sees through its own mapping.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "kvmtest.h"

#define PG 4096ull
#define SZ_2M (2ull << 20)
#define BASE_DATA_SLOT 10u
/*
 * The selftest's guest is 64-bit and puts its data at 4 GiB; a memvisor
 * vCPU starts in protected mode, where hypercall arguments are 32 bits,
 * so the data goes at 1 GiB instead.
 */
#define BASE_DATA_GPA (1ull << 30)
#define PER_CPU_DATA_SIZE (SZ_2M + PG)
#define PER_CPU_SIZE (2 * SZ_2M)          /* PER_CPU_DATA_SIZE aligned up to 2 MiB */
#define SYNC_GPA 0xd0000000ull

#define MAP_GPA_SET_ATTRIBUTES (1ull << 0)
#define MAP_GPA_SHARED         (1ull << 1)
#define MAP_GPA_DO_FALLOCATE   (1ull << 2)

enum { SYNC_SHARED, SYNC_PRIVATE };

struct cv_sync {
	uint64_t cmd, gpa, size, cur, next;
};

struct cv_vcpu {
	struct cv *c;
	int fd;
	uint64_t base;
	struct mv_task *t;        /* the thread that runs it */
	struct cv_sync sync;      /* the guest's GUEST_SYNC arguments */
	char err[160];            /* the first failed guest or host check */
};

struct cv {
	struct kvmtest k;
	int vm;
	long memfd;
	uint64_t ua;              /* the VMM's mapping of all slots */
	uint32_t nr_vcpus, nr_slots;
	struct cv_vcpu vcpus[4];
};

static const struct { uint64_t offset, size; } test_ranges[] = {
	{ 0, PG }, { 0, SZ_2M }, { PG, PG }, { PG, SZ_2M }, { SZ_2M, PG },
};

/* ------------------------------------------------------------------ guest */

static void g_fail(struct cv_vcpu *v, const char *what, uint64_t gpa, uint64_t want, uint64_t got)
{
	if (!v->err[0])
		snprintf(v->err, sizeof(v->err), "guest: %s at gpa %#llx: want %#llx got %#llx", what,
			 (unsigned long long)gpa, (unsigned long long)want, (unsigned long long)got);
}

static void g_memset(struct mv_guest *g, struct cv_vcpu *v, uint64_t gpa, uint8_t p, uint64_t size)
{
	static __thread uint8_t buf[SZ_2M + PG];

	memset(buf, p, size);
	if (mv_guest_write(g, gpa, buf, size))
		g_fail(v, "write", gpa, 0, 1);
}

static void g_memcmp(struct mv_guest *g, struct cv_vcpu *v, uint64_t gpa, uint8_t p, uint64_t size)
{
	static __thread uint8_t buf[SZ_2M + PG];

	if (mv_guest_read(g, gpa, buf, size)) {
		g_fail(v, "read", gpa, 0, 1);
		return;
	}
	for (uint64_t i = 0; i < size; i++)
		if (buf[i] != p) {
			g_fail(v, "pattern", gpa + i, p, buf[i]);
			return;
		}
}

static void g_sync(struct mv_guest *g, struct cv_vcpu *v, uint64_t cmd, uint64_t gpa,
		   uint64_t size, uint64_t cur, uint64_t next)
{
	uint8_t one = 1;

	v->sync = (struct cv_sync){ cmd, gpa, size, cur, next };
	mv_guest_write(g, SYNC_GPA, &one, 1);
}

static void g_map(struct mv_guest *g, struct cv_vcpu *v, uint64_t gpa, uint64_t size,
		  bool shared, bool falloc, bool attrs)
{
	uint64_t flags = (attrs ? MAP_GPA_SET_ATTRIBUTES : 0) | (shared ? MAP_GPA_SHARED : 0) |
			 (falloc ? MAP_GPA_DO_FALLOCATE : 0);
	long r = mv_guest_hypercall(g, KVM_HC_MAP_GPA_RANGE, gpa, size / PG, flags, 0);

	if (r)
		g_fail(v, "map_gpa_range", gpa, 0, (uint64_t)r);
}

static void guest_test_explicit_conversion(struct mv_guest *g, struct cv_vcpu *v, bool falloc)
{
	const uint64_t base = v->base;
	const uint8_t def_p = 0xaa, init_p = 0xcc;

	g_memset(g, v, base, def_p, PER_CPU_DATA_SIZE);
	g_memcmp(g, v, base, def_p, PER_CPU_DATA_SIZE);
	g_sync(g, v, SYNC_SHARED, base, PER_CPU_DATA_SIZE, def_p, init_p);
	g_memcmp(g, v, base, init_p, PER_CPU_DATA_SIZE);
	for (size_t i = 0; i < sizeof(test_ranges) / sizeof(test_ranges[0]); i++) {
		uint64_t gpa = base + test_ranges[i].offset, size = test_ranges[i].size;
		const uint8_t p1 = 0x11, p2 = 0x22, p3 = 0x33, p4 = 0x44;

		g_memset(g, v, gpa, p1, size);
		g_map(g, v, gpa, size, false, falloc, true);
		if (size > PG) {
			g_memset(g, v, gpa, p2, PG);
			goto skip;
		}
		g_memset(g, v, gpa, p2, size);
		g_sync(g, v, SYNC_PRIVATE, gpa, size, p1, 0);
		g_memcmp(g, v, gpa, p2, size);
		if (gpa > base)
			g_memcmp(g, v, base, init_p, gpa - base);
		if (gpa + size < base + PER_CPU_DATA_SIZE)
			g_memcmp(g, v, gpa + size, init_p, base + PER_CPU_DATA_SIZE - (gpa + size));
		for (uint64_t j = 0; j < size; j += PG) {
			if ((j / PG) & 1) {
				g_map(g, v, gpa + j, PG, true, falloc, true);
				g_sync(g, v, SYNC_SHARED, gpa + j, PG, p1, p3);
				g_memcmp(g, v, gpa + j, p3, PG);
			} else {
				g_sync(g, v, SYNC_PRIVATE, gpa + j, PG, p1, 0);
			}
		}
skip:
		g_map(g, v, gpa, size, true, falloc, true);
		g_memset(g, v, gpa, p3, size);
		g_sync(g, v, SYNC_SHARED, gpa, size, p3, p4);
		g_memcmp(g, v, gpa, p4, size);
		g_memset(g, v, gpa, init_p, size);
		g_map(g, v, base, PER_CPU_DATA_SIZE, true, true, true);
	}
}

static void guest_test_punch_hole(struct mv_guest *g, struct cv_vcpu *v, bool precise)
{
	const uint64_t base = v->base;
	const uint8_t init_p = 0xcc;

	g_map(g, v, base, PER_CPU_DATA_SIZE, false, false, true);
	for (size_t i = 0; i < sizeof(test_ranges) / sizeof(test_ranges[0]); i++) {
		uint64_t gpa = base + test_ranges[i].offset, size = test_ranges[i].size;

		g_map(g, v, base, PER_CPU_DATA_SIZE, true, true, false);    /* guest_punch_hole */
		if (precise) {
			g_memset(g, v, gpa, init_p, size);
			g_memcmp(g, v, gpa, init_p, size);
		} else {
			g_memset(g, v, base, init_p, PER_CPU_DATA_SIZE);
			g_memcmp(g, v, base, init_p, PER_CPU_DATA_SIZE);
		}
		g_map(g, v, gpa, size, true, true, false);
		g_memcmp(g, v, gpa, 0, size);
	}
}

enum cv_phase { CV_EXPLICIT, CV_EXPLICIT_FALLOC, CV_PUNCH, CV_PUNCH_PRECISE, CV_ALL };
static enum cv_phase cv_phase;

static void guest_code(struct mv_guest *g, void *arg)
{
	struct cv_vcpu *v = arg;

	if (cv_phase == CV_EXPLICIT || cv_phase == CV_ALL)
		guest_test_explicit_conversion(g, v, false);
	if (cv_phase == CV_EXPLICIT_FALLOC || cv_phase == CV_ALL)
		guest_test_explicit_conversion(g, v, true);
	if (cv_phase == CV_PUNCH || cv_phase == CV_ALL)
		guest_test_punch_hole(g, v, false);
	if (cv_phase == CV_PUNCH_PRECISE || cv_phase == CV_ALL)
		guest_test_punch_hole(g, v, true);
}

/* ------------------------------------------------------------------- host */

static void h_fail(struct cv_vcpu *v, const char *what, uint64_t gpa, long r)
{
	if (!v->err[0])
		snprintf(v->err, sizeof(v->err), "host: %s at gpa %#llx: %ld", what,
			 (unsigned long long)gpa, r);
}

/* vm_guest_mem_fallocate: punch for shared, allocate for private, through the slot's file range. */
static void h_fallocate(struct cv_vcpu *v, uint64_t gpa, uint64_t size, bool punch)
{
	uint64_t off = gpa - BASE_DATA_GPA;
	int mode = FALLOC_FL_KEEP_SIZE | (punch ? FALLOC_FL_PUNCH_HOLE : 0);
	long r = mv_syscall(v->t, MV_SYS_fallocate, (uint64_t)v->c->memfd, (uint64_t)mode, off,
			    size, 0, 0);

	if (r)
		h_fail(v, "fallocate", gpa, r);
}

static void handle_exit_hypercall(struct cv_vcpu *v, struct kvm_run *run)
{
	uint64_t gpa = run->hypercall.args[0], size = run->hypercall.args[1] * PG;
	uint64_t flags = run->hypercall.args[2];
	bool shared = flags & MAP_GPA_SHARED;

	if (run->hypercall.nr != KVM_HC_MAP_GPA_RANGE)
		h_fail(v, "hypercall nr", gpa, (long)run->hypercall.nr);
	if (flags & MAP_GPA_DO_FALLOCATE)
		h_fallocate(v, gpa, size, shared);
	if (flags & MAP_GPA_SET_ATTRIBUTES) {
		long r = kt_set_attributes(v->t, v->c->vm, gpa, size,
					   shared ? 0 : KVM_MEMORY_ATTRIBUTE_PRIVATE);

		if (r)
			h_fail(v, "set attributes", gpa, r);
	}
	run->hypercall.ret = 0;
}

/* The host always sees the shared data; for shared ranges it writes the next pattern. */
static void handle_sync(struct cv_vcpu *v)
{
	static __thread uint8_t buf[SZ_2M + PG];
	const struct cv_sync *s = &v->sync;
	uint64_t hva = v->c->ua + (s->gpa - BASE_DATA_GPA);

	if (mv_user_read(v->t, hva, buf, s->size)) {
		h_fail(v, "read", s->gpa, -EFAULT);
		return;
	}
	for (uint64_t i = 0; i < s->size; i++)
		if (buf[i] != (uint8_t)s->cur) {
			h_fail(v, "host pattern", s->gpa + i, buf[i]);
			return;
		}
	if (s->cmd == SYNC_SHARED) {
		memset(buf, (int)s->next, s->size);
		if (mv_user_write(v->t, hva, buf, s->size))
			h_fail(v, "write", s->gpa, -EFAULT);
	}
}

static void *__test_mem_conversions(void *arg)
{
	struct cv_vcpu *v = arg;
	struct kvm_run *run = mv_vcpu_run_area(v->t, v->fd);

	for (;;) {
		long r = kt_ioctl(v->t, v->fd, KVM_RUN, 0);

		if (r) {
			h_fail(v, "KVM_RUN", 0, r);
			return NULL;
		}
		if (run->exit_reason == KVM_EXIT_HYPERCALL) {
			handle_exit_hypercall(v, run);
		} else if (run->exit_reason == KVM_EXIT_MMIO && run->mmio.phys_addr == SYNC_GPA) {
			handle_sync(v);
		} else {
			if (run->exit_reason != KVM_EXIT_HLT)
				h_fail(v, "exit reason", 0, run->exit_reason);
			return NULL;   /* GUEST_DONE */
		}
	}
}

static void test_mem_conversions(uint32_t nr_vcpus, uint32_t nr_memslots, enum cv_phase phase)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_EXIT_HYPERCALL,
				      .args = { 1ull << KVM_HC_MAP_GPA_RANGE } };
	const uint64_t memfd_size = PER_CPU_SIZE * nr_vcpus, slot_size = memfd_size / nr_memslots;
	struct kvm_create_guest_memfd gm = { .size = memfd_size };
	pthread_t th[4];
	struct cv c;

	memset(&c, 0, sizeof(c));
	cv_phase = phase;
	kt_setup(&c.k, 256ull << 20);
	c.vm = (int)kt_ioctl(c.k.t, c.k.kvm, KVM_CREATE_VM, KVM_X86_SW_PROTECTED_VM);
	assert_true(c.vm >= 0);
	assert_int_equal(kt_ioctl_p(c.k.t, c.vm, KVM_ENABLE_CAP, &cap), 0);
	c.memfd = kt_ioctl_p(c.k.t, c.vm, KVM_CREATE_GUEST_MEMFD, &gm);
	assert_true(c.memfd >= 0);
	c.ua = kt_mmap(&c.k, memfd_size);
	for (uint32_t i = 0; i < nr_memslots; i++)
		assert_int_equal(kt_region_gmem(c.k.t, c.vm, BASE_DATA_SLOT + i,
						BASE_DATA_GPA + slot_size * i, slot_size,
						c.ua + slot_size * i, (int)c.memfd, slot_size * i), 0);
	for (uint32_t i = 0; i < nr_vcpus; i++) {
		struct cv_vcpu *v = &c.vcpus[i];

		v->c = &c;
		v->base = BASE_DATA_GPA + i * PER_CPU_SIZE;
		v->fd = (int)kt_ioctl(c.k.t, c.vm, KVM_CREATE_VCPU, i);
		assert_true(v->fd >= 0);
		assert_int_equal(mv_vcpu_set_guest(c.k.t, v->fd, guest_code, v), 0);
		v->t = kt_thread(c.k.t);
	}
	for (uint32_t i = 0; i < nr_vcpus; i++)
		assert_int_equal(pthread_create(&th[i], NULL, __test_mem_conversions, &c.vcpus[i]), 0);
	for (uint32_t i = 0; i < nr_vcpus; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		if (c.vcpus[i].err[0])
			fail_msg("vCPU %u: %s", i, c.vcpus[i].err);
		mv_task_exit(c.vcpus[i].t);
	}
	/* the guest_memfd holds the VM: it still works after the VM fd is closed */
	assert_int_equal(MVTEST_SYSCALL(c.k.t, MV_SYS_close, c.vm), 0);
	for (uint32_t i = 0; i < nr_vcpus; i++)
		assert_int_equal(MVTEST_SYSCALL(c.k.t, MV_SYS_close, c.vcpus[i].fd), 0);
	assert_int_equal(MVTEST_SYSCALL(c.k.t, MV_SYS_fallocate, c.memfd,
					FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, memfd_size), 0);
	assert_int_equal(MVTEST_SYSCALL(c.k.t, MV_SYS_fallocate, c.memfd, FALLOC_FL_KEEP_SIZE, 0,
					memfd_size), 0);
	assert_int_equal(MVTEST_SYSCALL(c.k.t, MV_SYS_close, c.memfd), 0);
	kt_teardown(&c.k);
}

/* guest_test_explicit_conversion(base, false) */
static void test_selftest_private_mem_conversions_explicit_conversion(void **state)
{
	test_mem_conversions(1, 1, CV_EXPLICIT);
}

/* guest_test_explicit_conversion(base, true) */
static void test_selftest_private_mem_conversions_explicit_conversion_fallocate(void **state)
{
	test_mem_conversions(1, 1, CV_EXPLICIT_FALLOC);
}

/* guest_test_punch_hole(base, false) */
static void test_selftest_private_mem_conversions_punch_hole(void **state)
{
	test_mem_conversions(1, 1, CV_PUNCH);
}

/* guest_test_punch_hole(base, true) */
static void test_selftest_private_mem_conversions_punch_hole_precise(void **state)
{
	test_mem_conversions(1, 1, CV_PUNCH_PRECISE);
}

/* The whole guest_code with -n 2 -m 2: two vCPUs, two memslots, one guest_memfd. */
static void test_selftest_private_mem_conversions_vcpus_and_memslots(void **state)
{
	test_mem_conversions(2, 2, CV_ALL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selftest_private_mem_conversions_explicit_conversion),
		cmocka_unit_test(test_selftest_private_mem_conversions_explicit_conversion_fallocate),
		cmocka_unit_test(test_selftest_private_mem_conversions_punch_hole),
		cmocka_unit_test(test_selftest_private_mem_conversions_punch_hole_precise),
		cmocka_unit_test(test_selftest_private_mem_conversions_vcpus_and_memslots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
