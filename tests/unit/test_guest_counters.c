/* SPDX-License-Identifier: MIT */
/*
 * Heki's per-page counters (SEMANTICS 2, guest side, first bullet): for
 * every 4 KiB guest page, the number of kernel mappings that allow read,
 * write and execute, kept right across map, unmap and permission changes;
 * a page's permission is the union, READ|WRITE with no mapping. The
 * reference model is an independent walk of the kernel's page tables in
 * guest memory, after random vmalloc/vfree/vmap/vunmap/set_memory_*
 * sequences from a seeded PRNG (MVTEST_SEED replays one).
 */
#include <stdlib.h>

#include "guesttest.h"
#include "lib/prng.h"

#define RAM (8ull << 20)
#define MAX_AREAS 24
#define MAX_N 4

/* What the test believes each of its areas maps, and with what entry flags. */
struct model_area {
	uint64_t va, n;
	bool owned;
	uint64_t pas[MAX_N];
	uint64_t flags[MAX_N];    /* P|RW|NX of each page */
};

struct model {
	struct lib_prng rng;
	struct model_area a[MAX_AREAS];
	int na;
	uint32_t *ref;            /* r, w, x per page, from the walk */
	uint64_t ops, checks;
};

/* ---- the reference: count every kernel-half leaf entry ---- */

static void ref_walk(struct mv_guest *g, uint64_t table, int level, uint64_t base, uint32_t *ref)
{
	uint64_t t[512];

	if (mv_guest_read(g, GK_PAGE_OFFSET + table, t, sizeof(t)))
		return;
	for (uint64_t i = level ? 0 : 256; i < 512; i++) {
		uint64_t e = t[i], pa = e & GK_PTE_ADDR;

		if (!(e & GK_PTE_P))
			continue;
		if (level < 3) {
			ref_walk(g, pa, level + 1, base, ref);
			continue;
		}
		if (pa >= RAM)
			continue;
		ref[(pa / GK_PAGE_SIZE) * 3 + 0]++;
		ref[(pa / GK_PAGE_SIZE) * 3 + 1] += (e & GK_PTE_RW) ? 1 : 0;
		ref[(pa / GK_PAGE_SIZE) * 3 + 2] += (e & GK_PTE_NX) ? 0 : 1;
	}
}

static void check_counters(struct gt *t, struct guest_kernel *k, struct mv_guest *g,
			   struct model *m)
{
	uint64_t cr3 = 0;

	memset(m->ref, 0, (RAM / GK_PAGE_SIZE) * 3 * sizeof(uint32_t));
	GT_EXPECT(t, mv_guest_read_cr(g, 3, &cr3) == 0);
	ref_walk(g, cr3 & GK_PTE_ADDR, 0, 0, m->ref);
	for (uint64_t p = 0; p < RAM / GK_PAGE_SIZE; p++) {
		struct guest_heki_counters c;
		const uint32_t *r = &m->ref[p * 3];
		uint64_t perm = (r[0] ? MEM_ATTR_READ : 0) | (r[1] ? MEM_ATTR_WRITE : 0) |
				(r[2] ? MEM_ATTR_EXEC : 0);

		GT_EXPECT(t, guest_heki_counters(k, p * GK_PAGE_SIZE, &c) == 0);
		GT_EXPECT(t, c.read == r[0] && c.write == r[1] && c.execute == r[2]);
		if (!perm)
			perm = MEM_ATTR_READ | MEM_ATTR_WRITE;
		GT_EXPECT(t, guest_heki_permissions(k, p * GK_PAGE_SIZE) == perm);
	}
	m->checks++;
}

/* Every page of @a has the entry the model says. */
static void check_area(struct gt *t, struct guest_kernel *k, const struct model_area *a)
{
	for (uint64_t i = 0; i < a->n; i++) {
		uint64_t pte = 0;

		GT_EXPECT(t, guest_kernel_get_pte(k, a->va + i * GK_PAGE_SIZE, &pte) == 0);
		GT_EXPECT(t, (pte & GK_PTE_ADDR) == a->pas[i]);
		GT_EXPECT(t, (pte & (GK_PTE_P | GK_PTE_RW | GK_PTE_NX)) == a->flags[i]);
	}
}

static void drop_area(struct model *m, int i)
{
	m->a[i] = m->a[--m->na];
}

/* A page some area owns, or an image page: aliases of the same page are the point. */
static uint64_t pick_page(struct guest_kernel *k, struct model *m)
{
	uint64_t pa, n;

	if (m->na && lib_prng_below(&m->rng, 2)) {
		const struct model_area *a = &m->a[lib_prng_below(&m->rng, (uint64_t)m->na)];

		return a->pas[lib_prng_below(&m->rng, a->n)];
	}
	guest_kernel_section(k, (enum guest_section)lib_prng_below(&m->rng, GK_NR_SECTIONS), &pa, &n);
	return pa + lib_prng_below(&m->rng, n) * GK_PAGE_SIZE;
}

static void op_map(struct gt *t, struct guest_kernel *k, struct model *m, bool owned)
{
	static const unsigned prots[] = { GK_PROT_READ, GK_PROT_READ | GK_PROT_WRITE,
					  GK_PROT_READ | GK_PROT_EXEC,
					  GK_PROT_READ | GK_PROT_WRITE | GK_PROT_EXEC };
	struct model_area *a = &m->a[m->na];
	unsigned prot = GK_PROT_READ | GK_PROT_WRITE;
	uint64_t flags;

	memset(a, 0, sizeof(*a));
	a->n = 1 + lib_prng_below(&m->rng, MAX_N);
	a->owned = owned;
	if (owned) {
		GT_EXPECT(t, guest_vmalloc(k, a->n, &a->va) == 0);
		for (uint64_t i = 0; i < a->n; i++) {
			uint64_t pte = 0;

			GT_EXPECT(t, guest_kernel_get_pte(k, a->va + i * GK_PAGE_SIZE, &pte) == 0);
			a->pas[i] = pte & GK_PTE_ADDR;
		}
	} else {
		prot = prots[lib_prng_below(&m->rng, 4)];
		for (uint64_t i = 0; i < a->n; i++)
			a->pas[i] = pick_page(k, m);
		GT_EXPECT(t, guest_vmap(k, a->pas, a->n, prot, &a->va) == 0);
	}
	flags = GK_PTE_P | (prot & GK_PROT_WRITE ? GK_PTE_RW : 0) |
		(prot & GK_PROT_EXEC ? 0 : GK_PTE_NX);
	for (uint64_t i = 0; i < a->n; i++)
		a->flags[i] = flags;
	m->na++;
}

static void op_set_memory(struct gt *t, struct guest_kernel *k, struct model *m)
{
	struct model_area *a = &m->a[lib_prng_below(&m->rng, (uint64_t)m->na)];
	uint64_t first = lib_prng_below(&m->rng, a->n);
	uint64_t n = 1 + lib_prng_below(&m->rng, a->n - first);
	uint64_t va = a->va + first * GK_PAGE_SIZE, set = 0, clear = 0;

	switch (lib_prng_below(&m->rng, 4)) {
	case 0:
		GT_EXPECT(t, guest_set_memory_ro(k, va, n) == 0);
		clear = GK_PTE_RW;
		break;
	case 1:
		GT_EXPECT(t, guest_set_memory_rw(k, va, n) == 0);
		set = GK_PTE_RW;
		break;
	case 2:
		GT_EXPECT(t, guest_set_memory_x(k, va, n) == 0);
		clear = GK_PTE_NX;
		break;
	default:
		GT_EXPECT(t, guest_set_memory_nx(k, va, n) == 0);
		set = GK_PTE_NX;
		break;
	}
	for (uint64_t i = first; i < first + n; i++)
		a->flags[i] = (a->flags[i] | set) & ~clear;
	check_area(t, k, a);
}

static void one_op(struct gt *t, struct guest_kernel *k, struct model *m)
{
	uint64_t what = lib_prng_below(&m->rng, 6);

	if (what <= 1 && m->na < MAX_AREAS) {
		op_map(t, k, m, what == 0);
		check_area(t, k, &m->a[m->na - 1]);
	} else if (what == 2 && m->na) {
		int i = (int)lib_prng_below(&m->rng, (uint64_t)m->na);

		GT_EXPECT(t, (m->a[i].owned ? guest_vfree(k, m->a[i].va) :
			      guest_vunmap(k, m->a[i].va)) == 0);
		drop_area(m, i);
	} else if (m->na) {
		op_set_memory(t, k, m);
	}
	m->ops++;
}

static void body_random(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	struct model *m = t->arg;

	check_counters(t, k, g, m);
	for (int i = 0; i < 300 && !t->fail; i++) {
		one_op(t, k, m);
		if (i % 15 == 14)
			check_counters(t, k, g, m);
	}
	while (m->na && !t->fail) {
		GT_EXPECT(t, (m->a[0].owned ? guest_vfree(k, m->a[0].va) :
			      guest_vunmap(k, m->a[0].va)) == 0);
		drop_area(m, 0);
	}
	check_counters(t, k, g, m);
}

static void run_random(bool heki, uint64_t salt)
{
	struct gt t;
	struct model m;

	memset(&m, 0, sizeof(m));
	lib_prng_seed(&m.rng, mvtest_seed() ^ salt);
	m.ref = calloc((RAM / GK_PAGE_SIZE) * 3, sizeof(uint32_t));
	assert_non_null(m.ref);
	gt_setup(&t, RAM, heki);
	gt_run(&t, body_random, &m);
	assert_true(m.checks >= 20);
	assert_int_equal(m.ops, 300);
	if (heki) {
		struct guest_heki_stats s;

		guest_heki_stats(t.kernel, &s);
		assert_int_equal(s.last_error, 0);
		assert_true(s.hypercalls > 1);
	}
	gt_teardown(&t);
	free(m.ref);
}

/* counters == a walk of the page tables, after random map/unmap/protect sequences */
static void test_guest_counters_match_mappings_random(void **state)
{
	(void)state;
	run_random(false, 1);
}

/* the same with Heki on: protection does not change the counting, every change is pushed */
static void test_guest_counters_match_mappings_random_heki(void **state)
{
	(void)state;
	run_random(true, 2);
}

/* the boot mappings: direct map RW NX, text RX, rodata R, the rest RW, the read-only aliases */
static void body_boot(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	static const struct guest_heki_counters want[GK_NR_SECTIONS] = {
		[GK_TEXT] = { 2, 0, 1 },          /* image RX + direct map R NX */
		[GK_RODATA] = { 2, 0, 0 },
		[GK_RO_AFTER_INIT] = { 2, 0, 0 }, /* after mark_rodata_ro */
		[GK_DATA] = { 2, 2, 0 },
		[GK_BSS] = { 2, 2, 0 },
	};
	struct guest_heki_counters c;
	uint64_t pa, n, cr0 = 0;

	(void)g;
	for (int s = 0; s < GK_NR_SECTIONS; s++) {
		guest_kernel_section(k, (enum guest_section)s, &pa, &n);
		for (uint64_t i = 0; i < n; i++) {
			GT_EXPECT(t, guest_heki_counters(k, pa + i * GK_PAGE_SIZE, &c) == 0);
			GT_EXPECT(t, !memcmp(&c, &want[s], sizeof(c)));
		}
	}
	/* a free page: only the direct map */
	GT_EXPECT(t, guest_heki_counters(k, RAM - GK_PAGE_SIZE, &c) == 0);
	GT_EXPECT(t, c.read == 1 && c.write == 1 && c.execute == 0);
	GT_EXPECT(t, guest_heki_permissions(k, RAM - GK_PAGE_SIZE) ==
		     (MEM_ATTR_READ | MEM_ATTR_WRITE));
	GT_EXPECT(t, guest_heki_counters(k, RAM, &c) == -EINVAL);
	GT_EXPECT(t, mv_guest_read_cr(g, 0, &cr0) == 0 && (cr0 & (1ull << 16)) && (cr0 >> 31));
}

static void test_guest_counters_boot_mappings(void **state)
{
	struct gt t;

	(void)state;
	gt_setup(&t, RAM, false);
	gt_run(&t, body_boot, NULL);
	gt_teardown(&t);
}

/* a page with no mapping at all is READ|WRITE (heki_default_permissions) */
static void body_unmapped(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	uint64_t pa = RAM - 2 * GK_PAGE_SIZE;
	struct guest_heki_counters c;

	(void)g;
	GT_EXPECT(t, guest_set_memory_ro(k, GK_PAGE_OFFSET + pa, 1) == 0);
	GT_EXPECT(t, guest_heki_permissions(k, pa) == MEM_ATTR_READ);
	/* unmapping the only mapping: no counter left, the default again */
	{
		uint64_t va = 0;

		GT_EXPECT(t, guest_vmap(k, &pa, 1, GK_PROT_READ | GK_PROT_EXEC, &va) == 0);
		GT_EXPECT(t, guest_heki_permissions(k, pa) == (MEM_ATTR_READ | MEM_ATTR_EXEC));
		GT_EXPECT(t, guest_vunmap(k, va) == 0);
		GT_EXPECT(t, guest_heki_permissions(k, pa) == MEM_ATTR_READ);
	}
	GT_EXPECT(t, guest_set_memory_nx(k, GK_PAGE_OFFSET + pa, 1) == 0);
	GT_EXPECT(t, guest_heki_counters(k, pa, &c) == 0 && c.read == 1 && c.write == 0);
}

static void test_guest_counters_union_and_default(void **state)
{
	struct gt t;

	(void)state;
	gt_setup(&t, RAM, false);
	gt_run(&t, body_unmapped, NULL);
	gt_teardown(&t);
}

/*
 * set_memory_* as Linux's CPA: a page nothing maps is -EFAULT (and nothing
 * counted), an unaligned address is rounded down, zero pages is a no-op
 */
static void body_errors(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	uint64_t va = 0, pa = RAM - 3 * GK_PAGE_SIZE;
	struct guest_heki_counters c;

	(void)g;
	GT_EXPECT(t, guest_set_memory_ro(k, GK_VMALLOC_START + 0x123000, 1) == -EFAULT);
	GT_EXPECT(t, guest_set_memory_ro(k, GK_PAGE_OFFSET + pa + 1, 1) == 0);
	GT_EXPECT(t, guest_heki_counters(k, pa, &c) == 0 && c.read == 1 && c.write == 0);
	GT_EXPECT(t, guest_set_memory_x(k, GK_PAGE_OFFSET + pa, 0) == 0);
	GT_EXPECT(t, guest_heki_counters(k, pa, &c) == 0 && c.execute == 0);
	/* the pages before the hole are changed, as Linux leaves them */
	GT_EXPECT(t, guest_set_memory_rw(k, GK_PAGE_OFFSET + RAM - GK_PAGE_SIZE, 2) == -EFAULT);
	GT_EXPECT(t, guest_heki_counters(k, RAM - GK_PAGE_SIZE, &c) == 0 && c.write == 1);
	GT_EXPECT(t, guest_vfree(k, GK_VMALLOC_START) == -EINVAL);
	GT_EXPECT(t, guest_vmap(k, &va, 1, 0, &va) == -EINVAL);
	va = 123;
	GT_EXPECT(t, guest_vmap(k, &va, 1, GK_PROT_READ, &va) == -EINVAL);
	va = RAM;
	GT_EXPECT(t, guest_vmap(k, &va, 1, GK_PROT_READ, &va) == -EINVAL);
}

static void test_guest_counters_set_memory_as_cpa(void **state)
{
	struct gt t;

	(void)state;
	gt_setup(&t, RAM, false);
	gt_run(&t, body_errors, NULL);
	gt_teardown(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_counters_boot_mappings),
		cmocka_unit_test(test_guest_counters_union_and_default),
		cmocka_unit_test(test_guest_counters_set_memory_as_cpa),
		cmocka_unit_test(test_guest_counters_match_mappings_random),
		cmocka_unit_test(test_guest_counters_match_mappings_random_heki),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
