/* SPDX-License-Identifier: MIT */
/*
 * Heki's page list (SEMANTICS 2, guest side, second and third bullets):
 * at the end of boot the kernel walks its direct map and protects every
 * page in one KVM_HC_PROTECT_MEMORY; entries {pa, epa, permissions} merge
 * contiguous pages of equal permission; the text and the boot read-only
 * data are IMMUTABLE and writable pages never are; one guest page per list
 * node, chained by next_pa. Afterwards each change goes at once, and only
 * pages whose permission changed.
 */
#include "guesttest.h"

#define RAM (8ull << 20)

/* page 0 to the text RW, text RX+IMMUTABLE, rodata+ro_after_init R+IMMUTABLE, the rest RW */
static void body_boot_list(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	struct guest_heki_stats s;
	uint64_t data_pa, data_va, v = 0x1234;

	guest_heki_stats(k, &s);
	GT_EXPECT(t, guest_heki_protected(k));
	GT_EXPECT(t, s.hypercalls == 1);
	GT_EXPECT(t, s.boot_entries == 4);
	GT_EXPECT(t, s.boot_pages == RAM / GK_PAGE_SIZE);
	GT_EXPECT(t, s.boot_list_pages == 1);
	GT_EXPECT(t, s.last_error == 0);
	/* IMMUTABLE was dropped from writable pages: data stays writable */
	data_va = guest_kernel_section(k, GK_DATA, &data_pa, NULL);
	GT_EXPECT(t, mv_guest_write(g, data_va, &v, sizeof(v)) == 0);
	GT_EXPECT(t, mv_guest_write(g, GK_PAGE_OFFSET + data_pa + 8, &v, sizeof(v)) == 0);
}

static void test_guest_heki_boot_list_merges_and_marks_immutable(void **state)
{
	struct gt t;

	(void)state;
	gt_setup(&t, RAM, true);
	gt_run(&t, body_boot_list, NULL);
	gt_teardown(&t);
}

/* the list's shape: HEKI_PAGE_LIST_ENTRIES per node, next_pa chain, next the node's VA, 0 ends */
static void body_nodes(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	enum { N = 400 };
	static uint64_t pas[N], epas[N], perms[N];
	uint64_t list = 0, node, want[3] = { 169, 169, 62 };
	uint64_t base = RAM - 2 * N * GK_PAGE_SIZE;

	for (int i = 0; i < N; i++) {
		pas[i] = base + 2ull * i * GK_PAGE_SIZE;    /* not contiguous: no merging */
		epas[i] = pas[i] + GK_PAGE_SIZE;
		perms[i] = i % 2 ? MEM_ATTR_READ : MEM_ATTR_READ | MEM_ATTR_WRITE;
	}
	GT_EXPECT(t, guest_heki_build_list(k, pas, epas, perms, N, &list) == 0);
	node = list;
	for (int n = 0; n < 3; n++) {
		struct heki_page_list h;
		struct heki_pages e;

		GT_EXPECT(t, node && node % GK_PAGE_SIZE == 0);
		GT_EXPECT(t, mv_guest_read(g, GK_PAGE_OFFSET + node, &h, sizeof(h)) == 0);
		GT_EXPECT(t, h.npages == want[n]);
		GT_EXPECT(t, h.next == (h.next_pa ? GK_PAGE_OFFSET + h.next_pa : 0));
		GT_EXPECT(t, mv_guest_read(g, GK_PAGE_OFFSET + node + sizeof(h), &e, sizeof(e)) == 0);
		GT_EXPECT(t, e.pa == pas[n * 169] && e.epa == epas[n * 169] &&
			     e.permissions == perms[n * 169]);
		node = h.next_pa;
	}
	GT_EXPECT(t, node == 0);
	/* KVM takes it: these pages were READ|WRITE and none is IMMUTABLE */
	GT_EXPECT(t, mv_guest_hypercall(g, KVM_HC_PROTECT_MEMORY, list, 0, 0, 0) == 0);
	guest_heki_free_list(k, list);
	/* a page made read-only there is read-only now */
	GT_EXPECT(t, mv_guest_write(g, GK_PAGE_OFFSET + pas[1], &list, 8) == -EFAULT);
	GT_EXPECT(t, mv_guest_write(g, GK_PAGE_OFFSET + pas[0], &list, 8) == 0);
}

static void test_guest_heki_list_one_page_per_node_chained(void **state)
{
	struct gt t;

	(void)state;
	gt_setup(&t, RAM, true);
	gt_run(&t, body_nodes, NULL);
	gt_teardown(&t);
}

/* after boot: a change that does not move a page's union costs nothing; one that does, one call */
static void body_updates(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	struct guest_heki_stats s0, s1, s2, s3;
	uint64_t va = 0, pte0 = 0, pte3 = 0;

	(void)g;
	guest_heki_stats(k, &s0);
	GT_EXPECT(t, guest_vmalloc(k, 4, &va) == 0);         /* RW NX over RW pages */
	GT_EXPECT(t, guest_set_memory_ro(k, va, 4) == 0);    /* the direct map still writes */
	guest_heki_stats(k, &s1);
	GT_EXPECT(t, s1.hypercalls == s0.hypercalls);
	GT_EXPECT(t, guest_kernel_get_pte(k, va, &pte0) == 0);
	GT_EXPECT(t, guest_kernel_get_pte(k, va + 3 * GK_PAGE_SIZE, &pte3) == 0);
	GT_EXPECT(t, guest_set_memory_x(k, va, 4) == 0);     /* + EXEC: four pages at once */
	guest_heki_stats(k, &s2);
	GT_EXPECT(t, s2.hypercalls == s1.hypercalls + 1);
	GT_EXPECT(t, s2.pages == s1.pages + 4);
	if ((pte3 & GK_PTE_ADDR) - (pte0 & GK_PTE_ADDR) == 3 * GK_PAGE_SIZE)
		GT_EXPECT(t, s2.entries == s1.entries + 1);  /* contiguous: merged */
	GT_EXPECT(t, guest_heki_permissions(k, pte0 & GK_PTE_ADDR) ==
		     (MEM_ATTR_READ | MEM_ATTR_WRITE | MEM_ATTR_EXEC));
	GT_EXPECT(t, mv_guest_fetch(g, va, 16) == 0);
	GT_EXPECT(t, guest_vfree(k, va) == 0);               /* back to READ|WRITE: one call */
	guest_heki_stats(k, &s3);
	GT_EXPECT(t, s3.hypercalls == s2.hypercalls + 1);
	GT_EXPECT(t, s3.last_error == 0);
	GT_EXPECT(t, guest_heki_permissions(k, pte0 & GK_PTE_ADDR) ==
		     (MEM_ATTR_READ | MEM_ATTR_WRITE));
	/* the page lost EXEC at stage 2: executing it through a fresh alias is refused */
	GT_EXPECT(t, guest_kernel_poke_pte(k, GK_PAGE_OFFSET + (pte0 & GK_PTE_ADDR),
					   (pte0 & GK_PTE_ADDR) | GK_PTE_P | GK_PTE_RW) == 0);
	GT_EXPECT(t, mv_guest_fetch(g, GK_PAGE_OFFSET + (pte0 & GK_PTE_ADDR), 16) == -EFAULT);
}

static void test_guest_heki_changes_pushed_at_once(void **state)
{
	struct gt t;

	(void)state;
	gt_setup(&t, RAM, true);
	gt_run(&t, body_updates, NULL);
	gt_teardown(&t);
}

/* without Heki nothing is pushed, nothing is protected */
static void body_off(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	struct guest_heki_stats s;
	uint64_t va = 0;

	(void)g;
	GT_EXPECT(t, guest_vmalloc(k, 2, &va) == 0);
	GT_EXPECT(t, guest_set_memory_x(k, va, 2) == 0);
	guest_heki_stats(k, &s);
	GT_EXPECT(t, !guest_heki_protected(k));
	GT_EXPECT(t, s.hypercalls == 0 && s.entries == 0);
}

static void test_guest_heki_off_pushes_nothing(void **state)
{
	struct gt t;

	(void)state;
	gt_setup(&t, RAM, false);
	gt_run(&t, body_off, NULL);
	gt_teardown(&t);
}

/*
 * heki_check_counters: a permission an entry got behind the kernel's back
 * before the end of boot is counted by the end-of-boot walk, and KVM is
 * given it (the RFC's "bit of a hack": what was there at boot is trusted).
 */
#define POKED_PA (RAM - 5 * GK_PAGE_SIZE)
#define OTHER_PA (RAM - 7 * GK_PAGE_SIZE)

static void init_poke(struct guest_kernel *k, void *arg)
{
	long *ret = arg;

	/* the direct-map entry made executable directly: no counter sees it */
	*ret = guest_kernel_poke_pte(k, GK_PAGE_OFFSET + POKED_PA, POKED_PA | GK_PTE_P | GK_PTE_RW);
}

static void body_check_counters(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	struct guest_heki_counters c;

	GT_EXPECT(t, guest_heki_counters(k, POKED_PA, &c) == 0);
	GT_EXPECT(t, c.read == 1 && c.write == 1 && c.execute == 1);
	GT_EXPECT(t, guest_heki_permissions(k, POKED_PA) ==
		     (MEM_ATTR_READ | MEM_ATTR_WRITE | MEM_ATTR_EXEC));
	GT_EXPECT(t, mv_guest_fetch(g, GK_PAGE_OFFSET + POKED_PA, 16) == 0);
	/* the same poke after boot: not counted, and KVM never heard of it */
	GT_EXPECT(t, guest_kernel_poke_pte(k, GK_PAGE_OFFSET + OTHER_PA,
					   OTHER_PA | GK_PTE_P | GK_PTE_RW) == 0);
	GT_EXPECT(t, guest_heki_counters(k, OTHER_PA, &c) == 0 && c.execute == 0);
	GT_EXPECT(t, mv_guest_fetch(g, GK_PAGE_OFFSET + OTHER_PA, 16) == -EFAULT);
}

static void test_guest_heki_check_counters_counts_direct_permissions(void **state)
{
	struct gt t;
	long poked = -1;

	(void)state;
	gt_setup(&t, RAM, true);
	t.cfg.init = init_poke;
	t.cfg.init_arg = &poked;
	gt_run(&t, body_check_counters, NULL);
	assert_int_equal(poked, 0);
	gt_teardown(&t);
}

/* A boot list longer than one node: 400 pages alternating READ and READ|WRITE */
#define ALT_PA (1200 * GK_PAGE_SIZE)
#define ALT_N 400

static void init_alternate(struct guest_kernel *k, void *arg)
{
	long *ret = arg;

	for (uint64_t i = 0; i < ALT_N && !*ret; i += 2)
		*ret = guest_set_memory_ro(k, GK_PAGE_OFFSET + ALT_PA + i * GK_PAGE_SIZE, 1);
}

static void body_long_list(struct gt *t, struct guest_kernel *k, struct mv_guest *g)
{
	struct guest_heki_stats s;
	uint64_t pas[2] = { ALT_PA + 10 * GK_PAGE_SIZE, ALT_PA + 11 * GK_PAGE_SIZE }, va = 0;

	guest_heki_stats(k, &s);
	GT_EXPECT(t, s.hypercalls == 1);
	/* low RW, text, rodata, data up to ALT_PA, then 400 runs (the last merges with the tail) */
	GT_EXPECT(t, s.boot_entries == 4 + ALT_N);
	GT_EXPECT(t, s.boot_list_pages == (4 + ALT_N + HEKI_PAGE_LIST_ENTRIES - 1) /
					  HEKI_PAGE_LIST_ENTRIES);
	GT_EXPECT(t, s.boot_pages == RAM / GK_PAGE_SIZE);
	/* through a fresh writable alias: the read-only page is IMMUTABLE READ, its neighbour not */
	GT_EXPECT(t, guest_vmap(k, pas, 2, GK_PROT_READ | GK_PROT_WRITE, &va) == 0);
	GT_EXPECT(t, mv_guest_write(g, va, &va, 8) == -EFAULT);
	GT_EXPECT(t, mv_guest_write(g, va + GK_PAGE_SIZE, &va, 8) == 0);
}

static void test_guest_heki_boot_list_spans_nodes(void **state)
{
	struct gt t;
	long ret = 0;

	(void)state;
	gt_setup(&t, RAM, true);
	t.cfg.init = init_alternate;
	t.cfg.init_arg = &ret;
	gt_run(&t, body_long_list, NULL);
	assert_int_equal(ret, 0);
	gt_teardown(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_heki_boot_list_merges_and_marks_immutable),
		cmocka_unit_test(test_guest_heki_list_one_page_per_node_chained),
		cmocka_unit_test(test_guest_heki_changes_pushed_at_once),
		cmocka_unit_test(test_guest_heki_off_pushes_nothing),
		cmocka_unit_test(test_guest_heki_boot_list_spans_nodes),
		cmocka_unit_test(test_guest_heki_check_counters_counts_direct_permissions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
