/* SPDX-License-Identifier: MIT */
/*
 * The cases of mainline's tools/testing/selftests/kvm/guest_memfd_test.c,
 * re-expressed on memvisor's public API (one test per case, named after
 * it; docs/conformance.md has the table). As the selftest does, each file
 * case runs on every VM type KVM_CAP_VM_TYPES lists and for every flag
 * combination KVM_CAP_GUEST_MEMFD_FLAGS offers on that VM.
 *
 * Every test checks Linux's answer and fails on any other.
 */
#include <stdbool.h>
#include <stdio.h>

#include "kvmtest.h"

#define PG 4096ull
#define TOTAL (4 * PG)          /* the selftest's page_size * 4 */
#define PMD (2ull << 20)

struct sg {
	struct kvmtest k;
	int vm;                     /* a VM of the type under test */
};

static long sg_gmem(struct sg *s, uint64_t size, uint64_t flags)
{
	struct kvm_create_guest_memfd g = { .size = size, .flags = flags };

	return kt_ioctl_p(s->k.t, s->vm, KVM_CREATE_GUEST_MEMFD, &g);
}

static void sg_setup(struct sg *s, unsigned long type)
{
	kt_setup(&s->k, 0);
	s->vm = (int)kt_ioctl(s->k.t, s->k.kvm, KVM_CREATE_VM, type);
	assert_true(s->vm >= 0);
}

static uint64_t sg_flags(struct sg *s)
{
	long r = kt_ioctl(s->k.t, s->vm, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD_FLAGS);

	assert_true(r >= 0);
	return (uint64_t)r;
}

static unsigned long sg_vm_types(void)
{
	struct kvmtest k;
	long r;

	kt_setup(&k, 0);
	r = kt_ioctl(k.t, k.kvm, KVM_CHECK_EXTENSION, KVM_CAP_VM_TYPES);
	kt_teardown(&k);
	return r > 0 ? (unsigned long)r : 1ul;
}

static void sg_close(struct sg *s, long fd)
{
	assert_int_equal(MVTEST_SYSCALL(s->k.t, MV_SYS_close, fd), 0);
}

static long sg_mmap(struct sg *s, uint64_t addr, uint64_t len, int prot, int flags, long fd)
{
	return MVTEST_SYSCALL(s->k.t, MV_SYS_mmap, addr, len, prot, flags, fd, 0);
}

/* A user read of one byte: the byte, or -SIGBUS/-SIGSEGV if the access raised it. */
static int sg_peek(struct sg *s, uint64_t va)
{
	struct mv_siginfo si;
	uint8_t v = 0;

	if (mv_user_read(s->k.t, va, &v, 1) == 0)
		return v;
	assert_int_equal(mv_task_take_signal(s->k.t, &si), 1);
	return -si.signo;
}

/*
 * memset(mem, v, len) as the CPU runs it: page by page until an access
 * raises a signal. Returns the bytes written, and the signal in *sig (0 if none).
 */
static uint64_t sg_memset(struct sg *s, uint64_t va, uint8_t v, uint64_t len, int *sig)
{
	static uint8_t page[PG];
	struct mv_siginfo si;
	uint64_t done;

	memset(page, v, sizeof(page));
	*sig = 0;
	for (done = 0; done < len; done += PG) {
		if (mv_user_write(s->k.t, va + done, page, PG)) {
			assert_int_equal(mv_task_take_signal(s->k.t, &si), 1);
			*sig = si.signo;
			break;
		}
	}
	return done;
}

static void sg_expect_bytes(struct sg *s, uint64_t va, uint8_t v, uint64_t len)
{
	static uint8_t page[PG];

	for (uint64_t off = 0; off < len; off += PG) {
		assert_int_equal(mv_user_read(s->k.t, va + off, page, PG), 0);
		for (uint64_t i = 0; i < PG; i++)
			assert_int_equal(page[i], v);
	}
}

/* Runs @fn on a fresh guest_memfd of @size for each VM type and each flag set the selftest picks. */
typedef void (*sg_case_fn)(struct sg *s, long fd, uint64_t flags, uint64_t size);

enum sg_when { SG_ALWAYS, SG_MMAP_SHARED, SG_MMAP_PRIVATE, SG_MMAP_ANY, SG_NO_MMAP };

static bool sg_applies(enum sg_when w, uint64_t flags)
{
	bool mm = flags & GUEST_MEMFD_FLAG_MMAP, sh = flags & GUEST_MEMFD_FLAG_INIT_SHARED;

	switch (w) {
	case SG_MMAP_SHARED:
		return mm && sh;
	case SG_MMAP_PRIVATE:
		return mm && !sh;
	case SG_MMAP_ANY:
		return mm;
	case SG_NO_MMAP:
		return !mm;
	default:
		return true;
	}
}

static unsigned int sg_for_each(sg_case_fn fn, enum sg_when when, uint64_t size)
{
	unsigned long types = sg_vm_types();
	unsigned int ran = 0;

	for (unsigned long type = 0; type < 64; type++) {
		const uint64_t combos[] = { 0, GUEST_MEMFD_FLAG_MMAP,
					    GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED };
		struct sg s;
		uint64_t valid;

		if (!(types & (1ul << type)))
			continue;
		sg_setup(&s, type);
		valid = sg_flags(&s);
		for (unsigned int i = 0; i < 3; i++) {
			long fd;

			if ((combos[i] & valid) != combos[i] || !sg_applies(when, combos[i]))
				continue;
			fd = sg_gmem(&s, size, combos[i]);
			assert_true(fd >= 0);
			fn(&s, fd, combos[i], size);
			sg_close(&s, fd);
			ran++;
		}
		kt_teardown(&s.k);
	}
	return ran;
}

/* ------------------------------------------------------------ the cases */

/* test_guest_memfd_flags: every bit alone, accepted iff the VM lists it. */
static void test_selftest_guest_memfd_flags(void **state)
{
	unsigned long types = sg_vm_types();

	for (unsigned long type = 0; type < 64; type++) {
		struct sg s;
		uint64_t valid;

		if (!(types & (1ul << type)))
			continue;
		sg_setup(&s, type);
		valid = sg_flags(&s);
		for (uint64_t flag = 1; flag; flag <<= 1) {
			long fd = sg_gmem(&s, PG, flag);

			if (flag & valid) {
				assert_true(fd >= 0);
				sg_close(&s, fd);
			} else {
				assert_int_equal(fd, -EINVAL);
			}
		}
		kt_teardown(&s.k);
	}
}

/* test_create_guest_memfd_multiple: two files keep their own size and inode. */
static void test_selftest_guest_memfd_create_multiple(void **state)
{
	struct stat st1, st2;
	long fd1, fd2;
	struct sg s;

	sg_setup(&s, KVM_X86_DEFAULT_VM);
	fd1 = sg_gmem(&s, PG, 0);
	assert_true(fd1 >= 0);
	assert_int_equal(MVTEST_SYSCALL(s.k.t, MV_SYS_fstat, fd1, &st1), 0);
	assert_int_equal(st1.st_size, PG);
	fd2 = sg_gmem(&s, 2 * PG, 0);
	assert_true(fd2 >= 0);
	assert_int_equal(MVTEST_SYSCALL(s.k.t, MV_SYS_fstat, fd2, &st2), 0);
	assert_int_equal(st2.st_size, 2 * PG);
	assert_int_equal(MVTEST_SYSCALL(s.k.t, MV_SYS_fstat, fd1, &st1), 0);
	assert_int_equal(st1.st_size, PG);
	assert_true(st1.st_ino != st2.st_ino);
	sg_close(&s, fd2);
	sg_close(&s, fd1);
	kt_teardown(&s.k);
}

/* test_create_guest_memfd_invalid_sizes: 1 .. page_size - 1, for each flag set. */
static void test_selftest_guest_memfd_create_invalid_sizes(void **state)
{
	unsigned long types = sg_vm_types();

	for (unsigned long type = 0; type < 64; type++) {
		const uint64_t combos[] = { 0, GUEST_MEMFD_FLAG_MMAP,
					    GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED };
		struct sg s;

		if (!(types & (1ul << type)))
			continue;
		sg_setup(&s, type);
		for (unsigned int i = 0; i < 3; i++) {
			if ((combos[i] & sg_flags(&s)) != combos[i])
				continue;
			for (uint64_t size = 1; size < PG; size++)
				assert_int_equal(sg_gmem(&s, size, combos[i]), -EINVAL);
		}
		kt_teardown(&s.k);
	}
}

static void file_read_write(struct sg *s, long fd, uint64_t flags, uint64_t size)
{
	char buf[64];
	uintptr_t b = (uintptr_t)buf;

	assert_true(MVTEST_SYSCALL(s->k.t, MV_SYS_read, fd, b, sizeof(buf)) < 0);
	assert_true(MVTEST_SYSCALL(s->k.t, MV_SYS_write, fd, b, sizeof(buf)) < 0);
	assert_true(MVTEST_SYSCALL(s->k.t, MV_SYS_pread64, fd, b, sizeof(buf), 0) < 0);
	assert_true(MVTEST_SYSCALL(s->k.t, MV_SYS_pwrite64, fd, b, sizeof(buf), 0) < 0);
}

/* test_file_read_write */
static void test_selftest_guest_memfd_file_read_write(void **state)
{
	assert_true(sg_for_each(file_read_write, SG_ALWAYS, TOTAL) > 0);
}

static void mmap_supported(struct sg *s, long fd, uint64_t flags, uint64_t size)
{
	long mem = sg_mmap(s, 0, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
	int sig;

	assert_true(mem > 0);
	assert_int_equal(sg_memset(s, (uint64_t)mem, 0xaa, size, &sig), size);
	sg_expect_bytes(s, (uint64_t)mem, 0xaa, size);
	assert_int_equal(MVTEST_SYSCALL(s->k.t, MV_SYS_fallocate, fd,
					FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, PG), 0);
	sg_expect_bytes(s, (uint64_t)mem, 0, PG);
	sg_expect_bytes(s, (uint64_t)mem + PG, 0xaa, size - PG);
	assert_int_equal(sg_memset(s, (uint64_t)mem, 0xaa, PG, &sig), PG);
	sg_expect_bytes(s, (uint64_t)mem, 0xaa, size);
	assert_int_equal(MVTEST_SYSCALL(s->k.t, MV_SYS_munmap, mem, size), 0);
}

/* test_mmap_supported (MMAP | INIT_SHARED) */
static void test_selftest_guest_memfd_mmap_supported(void **state)
{
	assert_true(sg_for_each(mmap_supported, SG_MMAP_SHARED, TOTAL) > 0);
}

static void fault_sigbus(struct sg *s, long fd, uint64_t accessible, uint64_t map_size)
{
	long mem = sg_mmap(s, 0, map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
	int sig;

	assert_true(mem > 0);
	assert_int_equal(sg_memset(s, (uint64_t)mem, 0xaa, map_size, &sig), accessible);
	assert_int_equal(sig, SIGBUS);
	assert_int_equal(sg_peek(s, (uint64_t)mem + accessible), -SIGBUS);
	sg_expect_bytes(s, (uint64_t)mem, 0xaa, accessible);
	assert_int_equal(MVTEST_SYSCALL(s->k.t, MV_SYS_munmap, mem, map_size), 0);
}

static void fault_overflow(struct sg *s, long fd, uint64_t flags, uint64_t size)
{
	fault_sigbus(s, fd, size, size * 4);
}

/* test_fault_overflow (MMAP | INIT_SHARED): past EOF is SIGBUS, inside keeps the data */
static void test_selftest_guest_memfd_fault_overflow(void **state)
{
	assert_true(sg_for_each(fault_overflow, SG_MMAP_SHARED, TOTAL) > 0);
}

static void fault_private(struct sg *s, long fd, uint64_t flags, uint64_t size)
{
	fault_sigbus(s, fd, 0, size);
}

/* test_fault_private (MMAP without INIT_SHARED): every access is SIGBUS */
static void test_selftest_guest_memfd_fault_private(void **state)
{
	assert_true(sg_for_each(fault_private, SG_MMAP_PRIVATE, TOTAL) > 0);
}

static void mmap_cow(struct sg *s, long fd, uint64_t flags, uint64_t size)
{
	assert_true(sg_mmap(s, 0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd) < 0);
}

/* test_mmap_cow: MAP_PRIVATE is refused */
static void test_selftest_guest_memfd_mmap_cow(void **state)
{
	assert_true(sg_for_each(mmap_cow, SG_MMAP_ANY, TOTAL) > 0);
}

static void mmap_not_supported(struct sg *s, long fd, uint64_t flags, uint64_t size)
{
	assert_true(sg_mmap(s, 0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd) < 0);
	assert_true(sg_mmap(s, 0, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd) < 0);
}

/* test_mmap_not_supported: without MMAP no mapping at all */
static void test_selftest_guest_memfd_mmap_not_supported(void **state)
{
	assert_true(sg_for_each(mmap_not_supported, SG_NO_MMAP, TOTAL) > 0);
}

static void file_size(struct sg *s, long fd, uint64_t flags, uint64_t size)
{
	struct stat sb;

	assert_int_equal(MVTEST_SYSCALL(s->k.t, MV_SYS_fstat, fd, &sb), 0);
	assert_int_equal(sb.st_size, size);
	assert_int_equal(sb.st_blksize, PG);
}

/* test_file_size */
static void test_selftest_guest_memfd_file_size(void **state)
{
	assert_true(sg_for_each(file_size, SG_ALWAYS, TOTAL) > 0);
}

static long sg_falloc(struct sg *s, long fd, int mode, uint64_t off, uint64_t len)
{
	return MVTEST_SYSCALL(s->k.t, MV_SYS_fallocate, fd, mode, off, len);
}

static void fallocate_case(struct sg *s, long fd, uint64_t flags, uint64_t size)
{
	const int keep = FALLOC_FL_KEEP_SIZE, punch = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE;

	assert_int_equal(sg_falloc(s, fd, keep, 0, size), 0);
	assert_true(sg_falloc(s, fd, punch, PG - 1, PG) < 0);
	assert_true(sg_falloc(s, fd, keep, size, PG) < 0);
	assert_true(sg_falloc(s, fd, keep, size + PG, PG) < 0);
	assert_int_equal(sg_falloc(s, fd, punch, size, PG), 0);
	assert_int_equal(sg_falloc(s, fd, punch, size + PG, PG), 0);
	assert_true(sg_falloc(s, fd, punch, PG, PG - 1) < 0);
	assert_int_equal(sg_falloc(s, fd, punch, PG, PG), 0);
	assert_int_equal(sg_falloc(s, fd, keep, PG, PG), 0);
}

/* test_fallocate */
static void test_selftest_guest_memfd_fallocate(void **state)
{
	assert_true(sg_for_each(fallocate_case, SG_ALWAYS, TOTAL) > 0);
}

static void invalid_punch_hole(struct sg *s, long fd, uint64_t flags, uint64_t size)
{
	static const struct { uint64_t off, len; } rows[] = {
		{ 0, 1 }, { 0, PG - 1 }, { 0, PG + 1 },
		{ 1, 1 }, { 1, PG - 1 }, { 1, PG }, { 1, PG + 1 },
		{ PG, 1 }, { PG, PG - 1 }, { PG, PG + 1 },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		assert_int_equal(sg_falloc(s, fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
					   rows[i].off, rows[i].len), -EINVAL);
}

/* test_invalid_punch_hole */
static void test_selftest_guest_memfd_invalid_punch_hole(void **state)
{
	assert_true(sg_for_each(invalid_punch_hole, SG_ALWAYS, TOTAL) > 0);
}

/*
 * test_collapse (MMAP | INIT_SHARED, one PMD): MADV_HUGEPAGE on the
 * mapping is accepted, MADV_COLLAPSE is -EINVAL, MADV_DONTNEED and a
 * refault work. memvisor does not model THP advice and answers
 * MADV_HUGEPAGE with -EINVAL (docs/architecture.md).
 */

static void collapse(struct sg *s, long fd, uint64_t flags, uint64_t size)
{
	long reserved = sg_mmap(s, 0, 2 * PMD, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	uint64_t aligned = ((uint64_t)reserved + PMD - 1) & ~(PMD - 1);
	long mem, r;

	assert_true(reserved > 0);
	mem = sg_mmap(s, aligned, PMD, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_SHARED, fd);
	assert_int_equal(mem, (long)aligned);
	for (uint64_t i = 0; i < PMD; i += PG)
		assert_true(sg_peek(s, aligned + i) >= 0);
	r = MVTEST_SYSCALL(s->k.t, MV_SYS_madvise, aligned, PMD, 14 /* MADV_HUGEPAGE */);
	assert_int_equal(r, 0);
	assert_int_equal(MVTEST_SYSCALL(s->k.t, MV_SYS_madvise, aligned, PMD,
					25 /* MADV_COLLAPSE */), -EINVAL);
	assert_int_equal(MVTEST_SYSCALL(s->k.t, MV_SYS_madvise, aligned, PMD, MADV_DONTNEED), 0);
	assert_true(sg_peek(s, aligned) >= 0);
	assert_int_equal(MVTEST_SYSCALL(s->k.t, MV_SYS_munmap, reserved, 2 * PMD), 0);
}

static void test_selftest_guest_memfd_collapse(void **state)
{
	assert_true(sg_for_each(collapse, SG_MMAP_SHARED, PMD) > 0);
}

/*
 * test_guest_memfd_guest: a default VM offers MMAP and INIT_SHARED; the
 * host fills a guest_memfd through its mapping, a slot binds it with no
 * userspace_addr at all (the file is the slot's only memory), the guest
 * reads 0xaa and writes 0xff, the host reads 0xff back through a new mapping.
 */
struct guest_memfd_guest {
	uint64_t gpa, size;
	long bad, r;
};

static void guest_memfd_guest_code(struct mv_guest *g, void *arg)
{
	struct guest_memfd_guest *c = arg;
	uint8_t page[PG];

	c->r = mv_guest_read(g, c->gpa, page, c->size);
	if (c->r)
		return;
	for (uint64_t i = 0; i < c->size; i++)
		c->bad += page[i] != 0xaa;
	memset(page, 0xff, sizeof(page));
	c->r = mv_guest_write(g, c->gpa, page, c->size);
}

static void test_selftest_guest_memfd_guest(void **state)
{
	struct guest_memfd_guest c = { .gpa = 1ull << 32, .size = PG };
	const uint64_t both = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;
	struct kvm_run *run;
	long fd, mem, r;
	struct sg s;
	int vcpu, sig;

	sg_setup(&s, KVM_X86_DEFAULT_VM);
	assert_int_equal(sg_flags(&s) & both, both);
	fd = sg_gmem(&s, c.size, both);
	assert_true(fd >= 0);
	assert_int_equal(kt_region_gmem(s.k.t, s.vm, 1, c.gpa, c.size, 0, (int)fd, 0), 0);
	mem = sg_mmap(&s, 0, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
	assert_true(mem > 0);
	assert_int_equal(sg_memset(&s, (uint64_t)mem, 0xaa, c.size, &sig), c.size);
	assert_int_equal(MVTEST_SYSCALL(s.k.t, MV_SYS_munmap, mem, c.size), 0);
	vcpu = (int)kt_ioctl(s.k.t, s.vm, KVM_CREATE_VCPU, 0);
	assert_true(vcpu >= 0);
	assert_int_equal(mv_vcpu_set_guest(s.k.t, vcpu, guest_memfd_guest_code, &c), 0);
	run = mv_vcpu_run_area(s.k.t, vcpu);
	r = kt_ioctl(s.k.t, vcpu, KVM_RUN, 0);
	assert_int_equal(r, 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(c.r, 0);
	assert_int_equal(c.bad, 0);
	mem = sg_mmap(&s, 0, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
	assert_true(mem > 0);
	sg_expect_bytes(&s, (uint64_t)mem, 0xff, c.size);
	kt_teardown(&s.k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selftest_guest_memfd_flags),
		cmocka_unit_test(test_selftest_guest_memfd_create_multiple),
		cmocka_unit_test(test_selftest_guest_memfd_create_invalid_sizes),
		cmocka_unit_test(test_selftest_guest_memfd_file_read_write),
		cmocka_unit_test(test_selftest_guest_memfd_mmap_supported),
		cmocka_unit_test(test_selftest_guest_memfd_fault_overflow),
		cmocka_unit_test(test_selftest_guest_memfd_fault_private),
		cmocka_unit_test(test_selftest_guest_memfd_mmap_cow),
		cmocka_unit_test(test_selftest_guest_memfd_mmap_not_supported),
		cmocka_unit_test(test_selftest_guest_memfd_file_size),
		cmocka_unit_test(test_selftest_guest_memfd_fallocate),
		cmocka_unit_test(test_selftest_guest_memfd_invalid_punch_hole),
		cmocka_unit_test(test_selftest_guest_memfd_collapse),
		cmocka_unit_test(test_selftest_guest_memfd_guest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
