/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the mseal_test.c port (test_selftest_mseal.c: sealing,
 * mprotect, munmap; test_selftest_mseal_remap.c: mremap, mmap, madvise):
 * a fresh machine per case, mappings whose pages each hold their own
 * byte, and checks of a VMA's bounds, protection and seal.
 */
#ifndef MEMVISOR_TEST_MSEAL_H
#define MEMVISOR_TEST_MSEAL_H

#include <stdbool.h>
#include <string.h>

#include "mvtest.h"
#include "kernel/kernel.h"

#define PG 4096ull
#define R PROT_READ
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define MOVE (MREMAP_MAYMOVE | MREMAP_FIXED)

struct env {
	struct mv_machine *m;
	struct mv_task *t;
};

static inline struct env start(void)
{
	struct env e = { .m = mvtest_machine(0) };

	assert_int_equal(mv_task_spawn(e.m, &e.t), 0);
	return e;
}

static inline void finish(struct env *e)
{
	mv_machine_destroy(e->m);
}

#define sys_mmap(e, a, l, prot, fl) MVTEST_SYSCALL((e)->t, MV_SYS_mmap, a, l, prot, fl, -1, 0)
#define sys_mseal(e, a, l)           MVTEST_SYSCALL((e)->t, MV_SYS_mseal, a, l, 0)
#define sys_mprotect(e, a, l, prot)  MVTEST_SYSCALL((e)->t, MV_SYS_mprotect, a, l, prot)
#define sys_munmap(e, a, l)          MVTEST_SYSCALL((e)->t, MV_SYS_munmap, a, l)
#define sys_madvise(e, a, l, adv)    MVTEST_SYSCALL((e)->t, MV_SYS_madvise, a, l, adv)
#define sys_mremap(e, a, ol, nl, fl, na) MVTEST_SYSCALL((e)->t, MV_SYS_mremap, a, ol, nl, fl, na)

/* The byte page @i of a setup() mapping holds. */
static inline uint8_t page_byte(uint64_t i)
{
	return (uint8_t)(0xa0 + i);
}

/* setup_single_address(_rw): an anonymous private mapping, each page filled with its byte. */
static inline uint64_t setup_prot(struct env *e, uint64_t size, uint64_t prot)
{
	long p = sys_mmap(e, 0, size, prot, ANON);
	uint8_t buf[PG];

	assert_true(p > 0);
	for (uint64_t i = 0; i < size / PG; i++) {
		memset(buf, page_byte(i), sizeof(buf));
		assert_int_equal(mv_task_access_remote(e->t, (uint64_t)p + i * PG, buf, PG,
						       MV_REMOTE_WRITE | MV_REMOTE_FORCE), (long)PG);
	}
	return (uint64_t)p;
}

static inline uint64_t setup(struct env *e, uint64_t size)
{
	return setup_prot(e, size, R);
}

/* Pages [first, first + n) of the setup() mapping at @base still hold their bytes. */
static inline void expect_intact(struct env *e, uint64_t base, uint64_t first, uint64_t n)
{
	uint8_t buf[PG];

	for (uint64_t i = first; i < first + n; i++) {
		assert_int_equal(mv_task_access_remote(e->t, base + i * PG, buf, PG, 0), (long)PG);
		for (uint64_t j = 0; j < PG; j++)
			if (buf[j] != page_byte(i))
				fail_msg("page %llu of %#llx lost its bytes", (unsigned long long)i,
					 (unsigned long long)base);
	}
}

static inline unsigned long vm_prot(uint64_t prot)
{
	return ((prot & PROT_READ) ? VM_READ : 0) | ((prot & PROT_WRITE) ? VM_WRITE : 0) |
	       ((prot & PROT_EXEC) ? VM_EXEC : 0);
}

/* get_vma_size(): a VMA starts at @addr, @size long, with @prot and sealed or not. */
static inline void expect_vma(struct env *e, uint64_t addr, uint64_t size, uint64_t prot, bool sealed)
{
	struct vma *vma = vma_find(e->t->mm, addr);

	if (!vma || vma_start(vma) != addr)
		fail_msg("no VMA starts at %#llx", (unsigned long long)addr);
	assert_int_equal(vma_end(vma) - vma_start(vma), size);
	assert_int_equal(vma->flags & VM_ACCESS_FLAGS, vm_prot(prot));
	assert_int_equal(vma_is_sealed(vma), sealed);
}

/* The page at @addr is mapped with @prot, sealed or not, wherever its VMA starts. */
static inline void expect_page(struct env *e, uint64_t addr, uint64_t prot, bool sealed)
{
	struct vma *vma = vma_find(e->t->mm, addr);

	if (!vma)
		fail_msg("%#llx is not mapped", (unsigned long long)addr);
	assert_int_equal(vma->flags & VM_ACCESS_FLAGS, vm_prot(prot));
	assert_int_equal(vma_is_sealed(vma), sealed);
}

static inline void expect_unmapped(struct env *e, uint64_t addr, uint64_t len)
{
	for (uint64_t a = addr; a < addr + len; a += PG)
		if (vma_find(e->t->mm, a))
			fail_msg("%#llx is still mapped", (unsigned long long)a);
}

/*
 * Runs @fn unsealed, then sealed, each time on a fresh machine with a
 * setup() mapping of @pages pages at @p (none when 0: @fn makes its own).
 */
static inline void both(void (*fn)(struct env *e, uint64_t p, bool seal), uint64_t pages)
{
	for (int seal = 0; seal < 2; seal++) {
		struct env e = start();

		fn(&e, pages ? setup(&e, pages * PG) : 0, seal);
		finish(&e);
	}
}

/* Runs @fn once, on a fresh machine with a setup() mapping of @pages pages. */
static inline void once(void (*fn)(struct env *e, uint64_t p), uint64_t pages)
{
	struct env e = start();

	fn(&e, setup(&e, pages * PG));
	finish(&e);
}

#define ONE(name, fn, pages) \
	static void test_selftest_mseal_##name(void **state) { once(fn, pages); }
#define BOTH(name, fn, pages) \
	static void test_selftest_mseal_##name(void **state) { both(fn, pages); }

/* The variant's mseal: only when sealing. */
static inline void seal_if(struct env *e, bool seal, uint64_t addr, uint64_t len)
{
	if (seal)
		assert_int_equal(sys_mseal(e, addr, len), 0);
}

/* A call that must answer @want sealed and 0 unsealed. */
static inline void expect_refused(long got, bool seal, long want)
{
	assert_int_equal(got, seal ? want : 0);
}

#endif
