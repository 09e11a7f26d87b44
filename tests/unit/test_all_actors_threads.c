/* SPDX-License-Identifier: MIT */
/*
 * Every actor at once on one machine, each on its own host thread. The
 * families (tests/unit/actors/, one file or a few each; actors.h has the
 * table):
 *   kvm     four vCPUs writing canaries in a normal, a guest_memfd, a
 *           read-only slot and a hole, and VMM threads A, B, C changing
 *           those slots, their backing and the VMM's own memory (kvm.h);
 *   cow     a second process forking beside it all;
 *   heki    a guest kernel booted with Heki whose writes to its immutable
 *           text are denied and whose pinned CR bits stay set, while it
 *           remaps its own pages and the VMM plays with other slots;
 *   sgx     a VM building enclaves with ENCLS in a vEPC while a VMM
 *           thread resets it and churns vEPC files of its own;
 *   mte     a process with tagged memory (sync tag checks), a thread
 *           forking children that read it, fresh pages that must read tag 0;
 *   mte_vm  a VM with KVM_CAP_ARM_MTE tagging its pages while the VMM
 *           copies tags in and out of the same pages.
 * Each family's threads check their invariants at every step; when the
 * run is over (MVTEST_ACTORS_SECONDS, default 3, and until every check
 * ran at least once; seed MVTEST_SEED) each family checks what it saw,
 * then every frame and every EPC page must be free again.
 */
#include "actors/actors.h"

#define RAM   (128ull << 20)
#define EPC   (ACT_EPC_PAGES * 4096ull)

static const struct act_family *const families[] = {
	&act_family_kvm, &act_family_cow, &act_family_heki, &act_family_sgx, &act_family_mte,
	&act_family_mte_vm,
};
#define NR_FAMILIES ACT_NELEM(families)

static bool all_progressed(void *const self[])
{
	for (unsigned int i = 0; i < NR_FAMILIES; i++)
		if (!families[i]->progress(self[i]))
			return false;
	return true;
}

static bool any_ended(void *const self[])
{
	bool early = false;

	for (unsigned int i = 0; i < NR_FAMILIES; i++)
		early |= families[i]->ended && families[i]->ended(self[i]);
	return early;
}

/* Starts every family, lets them run for the time given (and until each check ran), joins. */
static void run_actors(void *const self[], unsigned int *stop, double seconds)
{
	uint64_t start = act_now_ns(), end = start + (uint64_t)(seconds * 1e9);
	uint64_t cap = end + (uint64_t)((20 * seconds + 30) * 1e9);

	for (unsigned int i = 0; i < NR_FAMILIES; i++)
		families[i]->start(self[i]);
	for (;;) {
		uint64_t now = act_now_ns();

		if (any_ended(self) || now >= cap || (now >= end && all_progressed(self)))
			break;
		act_sleep_us(10000);
	}
	__atomic_store_n(stop, 1, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < NR_FAMILIES; i++)
		families[i]->join(self[i]);
	print_message("actors ran %.2f s\n", (double)(act_now_ns() - start) / 1e9);
}

static void test_all_actors_at_once_keep_every_answer_exact(void **state)
{
	struct mv_machine_config cfg = { .ram_bytes = RAM, .epc_bytes = EPC };
	struct mv_machine_stats st;
	struct act_env env = { .seed = mvtest_seed() };
	void *self[NR_FAMILIES];
	unsigned int stop = 0;   /* atomic */
	double seconds = act_seconds(3.0);
	uint64_t free_at_start;

	(void)state;
	print_message("MVTEST_SEED=0x%llx MVTEST_ACTORS_SECONDS=%.2f\n", ACT_ULL(env.seed),
		      seconds);
	assert_int_equal(mv_machine_create(&cfg, &env.m), 0);
	env.stop = &stop;
	free_at_start = act_frames_free(env.m);
	for (unsigned int i = 0; i < NR_FAMILIES; i++)
		self[i] = families[i]->setup(&env);
	run_actors(self, &stop, seconds);
	for (unsigned int i = 0; i < NR_FAMILIES; i++)
		families[i]->report(self[i]);
	for (unsigned int i = 0; i < NR_FAMILIES; i++)
		families[i]->check(self[i]);
	for (unsigned int i = 0; i < NR_FAMILIES; i++)
		families[i]->teardown(self[i]);
	/* nothing leaked: every frame back, every EPC page free */
	mv_machine_get_stats(env.m, &st);
	assert_int_equal(st.frames_free, free_at_start);
	assert_int_equal(st.epc_pages_free, st.epc_pages_total);
	assert_int_equal(st.epc_pages_total, EPC / 4096);
	mv_machine_destroy(env.m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_actors_at_once_keep_every_answer_exact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
