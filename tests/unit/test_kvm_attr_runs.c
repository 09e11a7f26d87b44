/* SPDX-License-Identifier: MIT */
/*
 * The memory attribute map (kvm/attr.c) as runs of equal values: what a
 * huge range costs, how runs split and merge, Heki-style clear/set
 * updates, all-or-nothing updates under injected -ENOMEM, and a snapshot
 * restored after a failed update without allocating. A random sequence
 * checks the map against a per-gfn model (the seed is printed).
 */
#include <stdlib.h>

#include "kvmtest.h"
#include "kvm/kvm.h"
#include "lib/alloc.h"
#include "lib/prng.h"

#define P KVM_MEMORY_ATTRIBUTE_PRIVATE
#define TIB_GFNS (1ull << 28)
/* KVM_SET_MEMORY_ATTRIBUTES at address 0, size 2^64 - one page: the largest it takes */
#define MAX_END_GFN ((~0ull - 4095) >> 12)
#define MODEL_GFNS 96

static struct kvm *attr_vm(void)
{
	struct kvm *kvm = calloc(1, sizeof(*kvm));

	assert_non_null(kvm);
	assert_int_equal(kvm_attr_init(kvm), 0);
	return kvm;
}

static void attr_vm_free(struct kvm *kvm)
{
	kvm_attr_destroy(kvm);
	free(kvm);
}

/* The nonzero runs below @limit, checked canonical (no two touching ones equal). */
static size_t attr_runs(struct kvm *kvm, uint64_t limit, struct kvm_attr_run *out, size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&kvm->attr_lock);
	for (uint64_t g = 0, e; g < limit; g = e) {
		uint64_t v = kvm_attr_run_locked(kvm, g, limit, &e);

		assert_true(e > g);
		if (!v)
			continue;
		if (n && out[n - 1].end == g && out[n - 1].val == v)
			fail_msg("runs [%#llx, %#llx) and [%#llx, %#llx) both hold %#llx",
				 (unsigned long long)out[n - 1].start, (unsigned long long)g,
				 (unsigned long long)g, (unsigned long long)e, (unsigned long long)v);
		assert_true(n < max);
		out[n++] = (struct kvm_attr_run){ g, e, v };
	}
	pthread_mutex_unlock(&kvm->attr_lock);
	return n;
}

static void expect_runs(struct kvm *kvm, const struct kvm_attr_run *want, size_t n)
{
	struct kvm_attr_run got[64];
	size_t m = attr_runs(kvm, ~0ull, got, 64);

	assert_int_equal(kvm_attr_nr_runs(kvm), m);
	if (m != n)
		fail_msg("%zu runs, want %zu", m, n);
	for (size_t i = 0; i < n; i++)
		if (got[i].start != want[i].start || got[i].end != want[i].end ||
		    got[i].val != want[i].val)
			fail_msg("run %zu is [%#llx, %#llx) = %#llx, want [%#llx, %#llx) = %#llx", i,
				 (unsigned long long)got[i].start, (unsigned long long)got[i].end,
				 (unsigned long long)got[i].val, (unsigned long long)want[i].start,
				 (unsigned long long)want[i].end, (unsigned long long)want[i].val);
}

/* Every node the map holds: its runs, its update cache, restore's spares. */
static size_t attr_nodes(struct kvm *kvm)
{
	return kvm->mem_attr.runs.count + kvm->mem_attr.nr_cache + kvm->mem_attr.nr_spare;
}

static void test_kvm_attr_a_tebibyte_costs_one_run(void **state)
{
	struct kvm *kvm = attr_vm();

	(void)state;
	assert_int_equal(kvm_attr_set_range(kvm, 0, TIB_GFNS, P), 0);
	assert_int_equal(kvm_attr_nr_runs(kvm), 1);
	assert_true(attr_nodes(kvm) <= 5);   /* the run and at most a cache of four */
	assert_int_equal(kvm_attr_get(kvm, TIB_GFNS - 1), P);
	assert_int_equal(kvm_attr_get(kvm, TIB_GFNS), 0);
	assert_true(kvm_attr_range_is(kvm, 0, TIB_GFNS, P, P));
	/* growing it to all KVM accepts extends the same run, allocating nothing */
	lib_fail_after(1);
	assert_int_equal(kvm_attr_set_range(kvm, 0, MAX_END_GFN, P), 0);
	lib_fail_after(0);
	expect_runs(kvm, (struct kvm_attr_run[]){ { 0, MAX_END_GFN, P } }, 1);
	assert_true(attr_nodes(kvm) <= 5);
	/* a shared tebibyte in the middle: two runs */
	assert_int_equal(kvm_attr_set_range(kvm, TIB_GFNS, 2 * TIB_GFNS, 0), 0);
	expect_runs(kvm, (struct kvm_attr_run[]){ { 0, TIB_GFNS, P },
						  { 2 * TIB_GFNS, MAX_END_GFN, P } }, 2);
	assert_int_equal(kvm_attr_set_range(kvm, 0, MAX_END_GFN, 0), 0);
	assert_int_equal(kvm_attr_nr_runs(kvm), 0);
	assert_true(attr_nodes(kvm) <= 4);
	attr_vm_free(kvm);
}

static void test_kvm_attr_ioctl_takes_the_largest_range(void **state)
{
	struct kvmtest k;
	long vm;

	(void)state;
	kt_setup(&k, 0);
	vm = kt_ioctl(k.t, k.kvm, KVM_CREATE_VM, KVM_X86_SW_PROTECTED_VM);
	assert_true(vm >= 0);
	assert_int_equal(kt_set_attributes(k.t, (int)vm, 0, ~0ull - 4095, P), 0);
	assert_int_equal(kt_set_attributes(k.t, (int)vm, 1ull << 40, 1ull << 40, 0), 0);
	assert_int_equal(kt_set_attributes(k.t, (int)vm, 0, ~0ull - 4095, 0), 0);
	kt_teardown(&k);
}

static void test_kvm_attr_alternating_pattern_gives_one_run_each(void **state)
{
	struct kvm *kvm = attr_vm();
	struct kvm_attr_run want[32];

	(void)state;
	for (uint64_t i = 0; i < 32; i++) {
		assert_int_equal(kvm_attr_set_range(kvm, 2 * i, 2 * i + 1, P), 0);
		want[i] = (struct kvm_attr_run){ 2 * i, 2 * i + 1, P };
	}
	expect_runs(kvm, want, 32);
	/* filling the holes with the same value leaves one run */
	assert_int_equal(kvm_attr_update_range(kvm, 0, 64, 0, P), 0);
	expect_runs(kvm, (struct kvm_attr_run[]){ { 0, 64, P } }, 1);
	/* two values alternating: every gfn its own run */
	for (uint64_t i = 0; i < 32; i++) {
		assert_int_equal(kvm_attr_set_range(kvm, 2 * i + 1, 2 * i + 2, 2), 0);
		want[i] = (struct kvm_attr_run){ 2 * i + 1, 2 * i + 2, 2 };
	}
	assert_int_equal(kvm_attr_nr_runs(kvm), 64);
	/* clearing PRIVATE everywhere leaves the odd runs */
	assert_int_equal(kvm_attr_update_range(kvm, 0, 64, P, 0), 0);
	expect_runs(kvm, want, 32);
	attr_vm_free(kvm);
}

/* Each row: an update applied to [0,10)=1 [10,20)=2 [30,40)=1, and the runs after it. */
static void test_kvm_attr_split_and_merge_table(void **state)
{
	static const struct {
		const char *name;
		uint64_t start, end, clear, set;
		size_t n;
		struct kvm_attr_run want[5];
	} rows[] = {
		{ "inside_a_run", 2, 4, ~0ull, 3, 5,
		  { { 0, 2, 1 }, { 2, 4, 3 }, { 4, 10, 1 }, { 10, 20, 2 }, { 30, 40, 1 } } },
		{ "hole_inside_a_run", 2, 4, ~0ull, 0, 4,
		  { { 0, 2, 1 }, { 4, 10, 1 }, { 10, 20, 2 }, { 30, 40, 1 } } },
		{ "across_two_runs", 5, 15, ~0ull, 3, 4,
		  { { 0, 5, 1 }, { 5, 15, 3 }, { 15, 20, 2 }, { 30, 40, 1 } } },
		{ "exactly_a_run", 10, 20, ~0ull, 1, 2, { { 0, 20, 1 }, { 30, 40, 1 } } },
		{ "the_hole_joins_neighbours", 20, 30, ~0ull, 1, 3,
		  { { 0, 10, 1 }, { 10, 20, 2 }, { 20, 40, 1 } } },
		{ "run_and_hole_to_one_value", 10, 30, ~0ull, 1, 1, { { 0, 40, 1 } } },
		{ "clear_merges_holes", 5, 35, ~0ull, 0, 2, { { 0, 5, 1 }, { 35, 40, 1 } } },
		{ "at_a_left_boundary", 10, 12, ~0ull, 1, 3,
		  { { 0, 12, 1 }, { 12, 20, 2 }, { 30, 40, 1 } } },
		{ "at_a_right_boundary", 18, 20, ~0ull, 0, 3,
		  { { 0, 10, 1 }, { 10, 18, 2 }, { 30, 40, 1 } } },
		{ "same_value_changes_nothing", 3, 8, ~0ull, 1, 3,
		  { { 0, 10, 1 }, { 10, 20, 2 }, { 30, 40, 1 } } },
		{ "or_a_bit_over_all", 0, 40, 0, 4, 4,
		  { { 0, 10, 5 }, { 10, 20, 6 }, { 20, 30, 4 }, { 30, 40, 5 } } },
		{ "clear_a_bit_absent", 0, 50, 4, 0, 3,
		  { { 0, 10, 1 }, { 10, 20, 2 }, { 30, 40, 1 } } },
		{ "swap_bit_makes_equal", 10, 20, 2, 1, 2, { { 0, 20, 1 }, { 30, 40, 1 } } },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct kvm *kvm = attr_vm();

		assert_int_equal(kvm_attr_set_range(kvm, 0, 10, 1), 0);
		assert_int_equal(kvm_attr_set_range(kvm, 10, 20, 2), 0);
		assert_int_equal(kvm_attr_set_range(kvm, 30, 40, 1), 0);
		if (kvm_attr_update_range(kvm, rows[i].start, rows[i].end, rows[i].clear,
					  rows[i].set))
			fail_msg("%s: update failed", rows[i].name);
		print_message("%s\n", rows[i].name);
		expect_runs(kvm, rows[i].want, rows[i].n);
		attr_vm_free(kvm);
	}
}

/* Heki keeps its permission bits beside PRIVATE with clear/set masks. */
static void test_kvm_attr_heki_masks_keep_private(void **state)
{
	const uint64_t perms = KVM_HEKI_ATTR_MASK;
	const uint64_t r = perms & -perms;   /* the lowest permission bit */
	struct kvm *kvm = attr_vm();

	(void)state;
	assert_int_equal(kvm_attr_update_range(kvm, 0, 100, P, P), 0);
	assert_int_equal(kvm_attr_update_range(kvm, 20, 40, perms, r), 0);
	expect_runs(kvm, (struct kvm_attr_run[]){ { 0, 20, P }, { 20, 40, P | r }, { 40, 100, P } },
		    3);
	/* KVM_SET_MEMORY_ATTRIBUTES to shared touches only PRIVATE */
	assert_int_equal(kvm_attr_update_range(kvm, 0, 100, P, 0), 0);
	expect_runs(kvm, (struct kvm_attr_run[]){ { 20, 40, r } }, 1);
	assert_true(kvm_attr_range_is(kvm, 20, 40, perms, r));
	assert_false(kvm_attr_range_is(kvm, 19, 40, perms, r));
	assert_true(kvm_attr_range_is(kvm, 40, 100, perms, 0));
	assert_false(kvm_attr_range_is(kvm, 0, 21, perms, 0));
	attr_vm_free(kvm);
}

static void attr_fragment(struct kvm *kvm)
{
	for (uint64_t g = 0; g < 40; g += 4)
		assert_int_equal(kvm_attr_set_range(kvm, g, g + 1 + g % 3, 1 + g % 5), 0);
}

static void attr_model_fragment(uint64_t *model, size_t n)
{
	for (uint64_t g = 0; g < n; g++)
		model[g] = 0;
	for (uint64_t g = 0; g < 40; g += 4)
		for (uint64_t i = g; i < g + 1 + g % 3; i++)
			model[i] = 1 + g % 5;
}

static void expect_model(struct kvm *kvm, const uint64_t *model, size_t n)
{
	for (uint64_t g = 0; g < n; g++)
		if (kvm_attr_get(kvm, g) != model[g])
			fail_msg("gfn %llu holds %#llx, want %#llx", (unsigned long long)g,
				 (unsigned long long)kvm_attr_get(kvm, g),
				 (unsigned long long)model[g]);
}

/*
 * Updates of attr_fragment()'s map ([0,1)=1 [4,6)=5 [8,11)=4 [12,13)=3
 * [16,18)=2 [20,23)=1 [24,25)=5 [28,30)=4 [32,35)=3 [36,37)=2), each with
 * its 1st, 2nd, ... allocation failing until it succeeds: a failure
 * changes nothing, and a success gives what the per-gfn model says.
 */
static void test_kvm_attr_enomem_at_every_allocation_changes_nothing(void **state)
{
	static const struct {
		uint64_t start, end, clear, set;
	} ops[] = {
		{ 2, 38, ~0ull, 7 },    /* the first run grows over every hole */
		{ 1, 3, 0, 8 },         /* a new run in a hole */
		{ 0, 64, 0, 8 },        /* every hole its own run: more than the cache */
		{ 5, 6, ~0ull, 0 },     /* a hole cut at the end of a run */
		{ 9, 10, ~0ull, 6 },    /* a run split in three */
		{ 1, 39, 1, 0 },        /* values change in place, some merge */
		{ 1, 39, 3, 4 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		struct kvm_attr_run before[64], after[64];
		uint64_t model[64];
		size_t nb, na;
		unsigned long nth;
		struct kvm *kvm = attr_vm();
		int r;

		attr_fragment(kvm);
		attr_model_fragment(model, 64);
		nb = attr_runs(kvm, ~0ull, before, 64);
		for (nth = 1;; nth++) {
			lib_fail_after(nth);
			r = kvm_attr_update_range(kvm, ops[i].start, ops[i].end, ops[i].clear,
						  ops[i].set);
			lib_fail_after(0);
			if (!r)
				break;
			assert_int_equal(r, -ENOMEM);
			na = attr_runs(kvm, ~0ull, after, 64);
			assert_int_equal(na, nb);
			assert_memory_equal(after, before, nb * sizeof(before[0]));
		}
		for (uint64_t g = ops[i].start; g < ops[i].end; g++)
			model[g] = (model[g] & ~ops[i].clear) | ops[i].set;
		expect_model(kvm, model, 64);
		assert_int_equal(attr_runs(kvm, ~0ull, after, 64), kvm_attr_nr_runs(kvm));
		attr_vm_free(kvm);
	}
}

static void test_kvm_attr_restore_after_failed_update_allocates_nothing(void **state)
{
	struct kvm_attr_runs old = { .run = NULL };
	struct kvm_attr_run before[64], after[64];
	struct kvm *kvm = attr_vm();
	size_t nb, na;

	(void)state;
	attr_fragment(kvm);
	nb = attr_runs(kvm, ~0ull, before, 64);
	assert_int_equal(kvm_attr_snapshot(kvm, 1, 17, &old), 0);
	assert_int_equal(kvm_attr_snapshot(kvm, 22, 38, &old), 0);
	/*
	 * The first range changes, the second fails part-way through the
	 * sequence: the first used up the cache, whose top-up takes the next
	 * four allocations; the fifth is one of the six nodes the second needs.
	 */
	assert_int_equal(kvm_attr_update_range(kvm, 1, 17, 0, 8), 0);
	assert_int_equal(kvm->mem_attr.nr_cache, 0);
	lib_fail_after(5);
	assert_int_equal(kvm_attr_update_range(kvm, 22, 38, 0, 8), -ENOMEM);
	lib_fail_after(0);
	assert_int_equal(kvm_attr_update_range(kvm, 22, 30, ~0ull, 9), 0);
	/* an allocation in restore would fail: there is none */
	lib_fail_after(1);
	assert_int_equal(kvm_attr_restore(kvm, &old), 0);
	lib_fail_after(0);
	na = attr_runs(kvm, ~0ull, after, 64);
	assert_int_equal(na, nb);
	assert_memory_equal(after, before, nb * sizeof(before[0]));
	kvm_attr_snapshot_release(kvm, &old);
	assert_null(old.run);
	attr_vm_free(kvm);
}

/* An update that went through: releasing its snapshot gives back every node set aside. */
static void test_kvm_attr_snapshot_release_gives_back_the_spares(void **state)
{
	struct kvm_attr_runs old = { .run = NULL };
	struct kvm *kvm = attr_vm();
	size_t runs;

	(void)state;
	attr_fragment(kvm);
	assert_int_equal(kvm_attr_snapshot(kvm, 1, 17, &old), 0);
	assert_int_equal(kvm_attr_snapshot(kvm, 22, 38, &old), 0);
	assert_true(old.n > 2);
	assert_true(kvm->mem_attr.nr_spare >= 2 * old.n);
	assert_int_equal(kvm_attr_update_range(kvm, 1, 17, 0, 8), 0);
	assert_int_equal(kvm_attr_update_range(kvm, 22, 38, 0, 8), 0);
	runs = kvm_attr_nr_runs(kvm);
	kvm_attr_snapshot_release(kvm, &old);
	assert_null(old.run);
	assert_int_equal(old.n, 0);
	assert_int_equal(kvm->mem_attr.nr_spare, 0);
	assert_null(kvm->mem_attr.spare);
	assert_int_equal(kvm_attr_nr_runs(kvm), runs);
	assert_true(attr_nodes(kvm) <= runs + 4);   /* the runs and at most the cache */
	attr_vm_free(kvm);
}

static void test_kvm_attr_random_updates_match_a_per_gfn_model(void **state)
{
	uint64_t model[MODEL_GFNS] = { 0 };
	struct kvm *kvm = attr_vm();
	struct lib_prng rng;

	(void)state;
	lib_prng_seed(&rng, mvtest_seed());
	for (int step = 0; step < 3000; step++) {
		uint64_t a = lib_prng_below(&rng, MODEL_GFNS), b = lib_prng_below(&rng, MODEL_GFNS);
		uint64_t clear = lib_prng_below(&rng, 8), set = lib_prng_below(&rng, 4);
		uint64_t start = a < b ? a : b, end = (a < b ? b : a) + 1;
		struct kvm_attr_run runs[MODEL_GFNS];
		size_t n;

		if (lib_prng_below(&rng, 4) == 0)
			lib_fail_after(1 + lib_prng_below(&rng, 3));
		if (kvm_attr_update_range(kvm, start, end, clear, set) == 0)
			for (uint64_t g = start; g < end; g++)
				model[g] = (model[g] & ~clear) | set;
		lib_fail_after(0);
		n = attr_runs(kvm, ~0ull, runs, MODEL_GFNS);
		assert_int_equal(kvm_attr_nr_runs(kvm), n);
		for (uint64_t g = 0, i = 0; g < MODEL_GFNS; g++) {
			while (i < n && runs[i].end <= g)
				i++;
			uint64_t v = i < n && runs[i].start <= g ? runs[i].val : 0;

			if (v != model[g] || kvm_attr_get(kvm, g) != v)
				fail_msg("step %d: gfn %llu holds %#llx, model %#llx", step,
					 (unsigned long long)g, (unsigned long long)v,
					 (unsigned long long)model[g]);
		}
	}
	attr_vm_free(kvm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_attr_a_tebibyte_costs_one_run),
		cmocka_unit_test(test_kvm_attr_ioctl_takes_the_largest_range),
		cmocka_unit_test(test_kvm_attr_alternating_pattern_gives_one_run_each),
		cmocka_unit_test(test_kvm_attr_split_and_merge_table),
		cmocka_unit_test(test_kvm_attr_heki_masks_keep_private),
		cmocka_unit_test(test_kvm_attr_enomem_at_every_allocation_changes_nothing),
		cmocka_unit_test(test_kvm_attr_restore_after_failed_update_allocates_nothing),
		cmocka_unit_test(test_kvm_attr_snapshot_release_gives_back_the_spares),
		cmocka_unit_test(test_kvm_attr_random_updates_match_a_per_gfn_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
