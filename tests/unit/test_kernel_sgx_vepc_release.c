/* SPDX-License-Identifier: MIT */
/*
 * /dev/sgx_vepc, giving EPC back: SGX_IOC_VEPC_REMOVE_ALL (the count of
 * SECS pages that still have children, -EBUSY with a processor inside,
 * the two-pass protocol over several vEPCs), and release (children first,
 * then their SECS, SECS pinned from another vEPC parked as zombies and
 * retried at every later release). No EPC page is ever lost: opening,
 * filling and releasing vEPCs in every order returns the free count to
 * the total every time.
 */
#include "sgxtest.h"

#define RW (SGX_SECINFO_R | SGX_SECINFO_W)
#define EPC_B 0x200000ull
#define EPC_C 0x300000ull

/* An enclave: SECS at page 0 of the main vEPC, a TCS and a REG page at pages 1, 2. */
static void build_local(struct sgxt *s)
{
	assert_int_equal(sgt_ecreate(s, 0, 0), 0);
	assert_int_equal(sgt_eadd(s, 1, 0, 0, SGX_SECINFO_TCS, 0, NULL), 0);
	assert_int_equal(sgt_eadd(s, 2, 0, 0x1000, SGX_SECINFO_REG | RW, 7, NULL), 0);
}

/* EADD into the vEPC at @gpa (page @page) as a child of the SECS at main page @secs. */
static void eadd_at(struct sgxt *s, uint64_t gpa, uint64_t secs, uint64_t off)
{
	uint8_t src[4096] = { 0 };

	sgt_poke(s, SGT_SRC, src, sizeof(src));
	sgt_secinfo(s, SGX_SECINFO_REG | RW);
	sgt_pageinfo(s, SGT_BASE + off, SGT_SRC, SGT_SECINFO, sgt_epc_gpa(secs));
	assert_int_equal(sgt_encls(s, SGX_EADD, SGT_PAGEINFO, gpa, 0, NULL), 0);
}

/* REMOVE_ALL: the SECS (index 0) fails once for its children; a second call leaves nothing. */
static void test_sgx_remove_all_counts_child_present(void **state)
{
	struct sgxt s;

	(void)state;
	sgt_setup(&s, 16, 8);
	build_local(&s);
	assert_int_equal(sgt_remove_all(s.k.t, s.vepc), 1);
	assert_int_equal(sgt_epcm(&s, 1).valid, 0);
	assert_int_equal(sgt_epcm(&s, 0).valid, 1);
	assert_int_equal(sgt_remove_all(s.k.t, s.vepc), 0);
	assert_int_equal(sgt_epcm(&s, 0).valid, 0);
	/* the pages stay with the vEPC: nothing went back to the allocator */
	assert_int_equal(sgt_free(s.k.m), 13);
	assert_int_equal(hw_epc_check(sgt_epc(s.k.m)), 0);
	/* and the guest can build again at once */
	build_local(&s);
	sgt_teardown(&s);
}

/* REMOVE_ALL with a processor inside an enclave: -EBUSY. */
static void test_sgx_remove_all_enclave_active_ebusy(void **state)
{
	struct sgxt s;

	(void)state;
	sgt_setup(&s, 16, 8);
	build_local(&s);
	assert_int_equal(hw_epc_set_threads(sgt_epc(s.k.m), sgt_pa(&s, 0), 1), 0);
	assert_int_equal(sgt_remove_all(s.k.t, s.vepc), -EBUSY);
	assert_int_equal(hw_epc_set_threads(sgt_epc(s.k.m), sgt_pa(&s, 0), 0), 0);
	assert_int_equal(sgt_remove_all(s.k.t, s.vepc), 1);
	assert_int_equal(sgt_remove_all(s.k.t, s.vepc), 0);
	sgt_teardown(&s);
}

/* The documented protocol: REMOVE_ALL on every vEPC, then again on those that returned non-zero. */
static void test_sgx_remove_all_two_pass_protocol(void **state)
{
	struct sgxt s;
	uint64_t map_b;
	int b;

	(void)state;
	sgt_setup(&s, 16, 4);
	b = sgt_add_vepc(&s, 2, EPC_B, 4, &map_b);
	assert_int_equal(sgt_ecreate(&s, 0, 0), 0);
	eadd_at(&s, EPC_B, 0, 0);
	eadd_at(&s, EPC_B + KT_PG, 0, 0x1000);
	assert_int_equal(sgt_remove_all(s.k.t, s.vepc), 1);   /* children live in b */
	assert_int_equal(sgt_remove_all(s.k.t, b), 0);
	assert_int_equal(sgt_remove_all(s.k.t, s.vepc), 0);
	assert_int_equal(sgt_epcm(&s, 0).valid, 0);
	assert_int_equal(hw_epc_check(sgt_epc(s.k.m)), 0);
	sgt_teardown(&s);
}

/* release: children first, then the SECS they pinned; everything returns. */
static void test_sgx_release_frees_secs_after_children(void **state)
{
	struct sgxt s;

	(void)state;
	sgt_setup(&s, 16, 8);
	build_local(&s);
	sgt_drop_vepc(&s, 1, s.vepc, s.epc_map, s.epc_pages);
	assert_int_equal(sgt_free(s.k.m), 16);
	assert_int_equal(hw_epc_check(sgt_epc(s.k.m)), 0);
	sgt_teardown(&s);
}

static uint64_t zombies(struct mv_machine *m)
{
	struct mv_machine_stats st;

	mv_machine_get_stats(m, &st);
	return st.epc_zombie_secs;
}

/* A SECS whose children live in another vEPC becomes a zombie, freed by that vEPC's release. */
static void test_sgx_release_zombie_secs(void **state)
{
	struct sgxt s;
	uint64_t map_b;
	int b;

	(void)state;
	sgt_setup(&s, 16, 4);
	b = sgt_add_vepc(&s, 2, EPC_B, 4, &map_b);
	assert_int_equal(sgt_ecreate(&s, 0, 0), 0);
	eadd_at(&s, EPC_B, 0, 0);
	sgt_drop_vepc(&s, 1, s.vepc, s.epc_map, s.epc_pages);
	assert_int_equal(zombies(s.k.m), 1);
	assert_int_equal(sgt_free(s.k.m), 14);
	sgt_drop_vepc(&s, 2, b, map_b, 4);
	assert_int_equal(zombies(s.k.m), 0);
	assert_int_equal(sgt_free(s.k.m), 16);
	assert_int_equal(hw_epc_check(sgt_epc(s.k.m)), 0);
	sgt_teardown(&s);
}

/*
 * Three vEPCs: A holds SECS 1, B holds SECS 2 and a child of SECS 1, C
 * children of both. Released in each of the six orders: after every
 * release the EPCM is consistent, and after the last the free count is
 * the total and no zombie is left.
 */
static void test_sgx_release_every_order_loses_nothing(void **state)
{
	static const int orders[6][3] = {
		{ 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 },
	};

	(void)state;
	for (int o = 0; o < 6; o++) {
		struct sgxt s;
		uint64_t map[3];
		int fd[3];
		const uint32_t slot[3] = { 1, 2, 3 };
		const uint64_t pages[3] = { 4, 4, 4 };

		sgt_setup(&s, 12, 4);
		fd[0] = s.vepc;
		map[0] = s.epc_map;
		fd[1] = sgt_add_vepc(&s, 2, EPC_B, 4, &map[1]);
		fd[2] = sgt_add_vepc(&s, 3, EPC_C, 4, &map[2]);
		/* SECS 1 in A (page 0); SECS 2 in B (page 0) at another base */
		assert_int_equal(sgt_ecreate(&s, 0, 0), 0);
		{
			static struct sgx_secs secs;

			memset(&secs, 0, sizeof(secs));
			secs.size = SGT_SIZE;
			secs.base = 2 * SGT_BASE;
			secs.ssa_frame_size = 1;
			sgt_poke(&s, SGT_SRC, &secs, sizeof(secs));
			sgt_secinfo(&s, SGX_SECINFO_SECS);
			sgt_pageinfo(&s, 0, SGT_SRC, SGT_SECINFO, 0);
			assert_int_equal(sgt_encls(&s, SGX_ECREATE, SGT_PAGEINFO, EPC_B, 0, NULL), 0);
		}
		eadd_at(&s, EPC_B + KT_PG, 0, 0);                 /* B: child of SECS 1 */
		eadd_at(&s, EPC_C, 0, 0x1000);                    /* C: child of SECS 1 */
		{
			uint8_t src[4096] = { 0 };

			sgt_poke(&s, SGT_SRC, src, sizeof(src));
			sgt_secinfo(&s, SGX_SECINFO_REG | RW);
			sgt_pageinfo(&s, 2 * SGT_BASE, SGT_SRC, SGT_SECINFO, EPC_B);
			assert_int_equal(sgt_encls(&s, SGX_EADD, SGT_PAGEINFO, EPC_C + KT_PG, 0, NULL), 0);
		}
		/* touch the rest so every vEPC holds untyped pages too */
		for (int v = 0; v < 3; v++) {
			uint64_t x;

			assert_int_equal(mv_user_read(s.k.t, map[v] + 3 * KT_PG, &x, 8), 0);
		}
		assert_int_equal(sgt_free(s.k.m), 12 - 8);
		for (int i = 0; i < 3; i++) {
			int v = orders[o][i];

			sgt_drop_vepc(&s, slot[v], fd[v], map[v], pages[v]);
			assert_int_equal(hw_epc_check(sgt_epc(s.k.m)), 0);
		}
		if (sgt_free(s.k.m) != 12 || zombies(s.k.m) != 0)
			fail_msg("order %d %d %d: free %llu zombies %llu", orders[o][0], orders[o][1],
				 orders[o][2], (unsigned long long)sgt_free(s.k.m),
				 (unsigned long long)zombies(s.k.m));
		sgt_teardown(&s);
	}
}

/* A vEPC released while a processor is inside one of its enclaves keeps those pages (never reused with contents). */
static void test_sgx_release_enclave_active_keeps_pages(void **state)
{
	struct sgxt s;
	uint64_t secs_pa;

	(void)state;
	sgt_setup(&s, 16, 8);
	build_local(&s);
	secs_pa = sgt_pa(&s, 0);
	assert_int_equal(hw_epc_set_threads(sgt_epc(s.k.m), secs_pa, 1), 0);
	sgt_drop_vepc(&s, 1, s.vepc, s.epc_map, s.epc_pages);
	/* every page EREMOVE refused is parked (as Linux does): nothing went back with contents */
	assert_int_equal(zombies(s.k.m), 3);
	assert_int_equal(sgt_free(s.k.m), 13);
	assert_int_equal(hw_epc_check(sgt_epc(s.k.m)), 0);
	/* once the processor left, the next release of any vEPC frees them */
	assert_int_equal(hw_epc_set_threads(sgt_epc(s.k.m), secs_pa, 0), 0);
	mv_syscall(s.k.t, MV_SYS_close, (uint64_t)sgt_open_vepc(s.k.t), 0, 0, 0, 0, 0);
	assert_int_equal(zombies(s.k.m), 0);
	assert_int_equal(sgt_free(s.k.m), 16);
	sgt_teardown(&s);
}

/* The VMM exits without unmapping: its exit releases the vEPC and every page comes back. */
static void test_sgx_release_at_process_exit(void **state)
{
	struct mv_machine *m = sgt_machine(8);
	struct mv_task *t;
	uint64_t map, x;
	int fd;

	(void)state;
	assert_int_equal(mv_task_spawn(m, &t), 0);
	fd = sgt_open_vepc(t);
	map = sgt_map_vepc(t, fd, 6);
	for (int i = 0; i < 6; i++)
		assert_int_equal(mv_user_read(t, map + (uint64_t)i * KT_PG, &x, 8), 0);
	assert_int_equal(sgt_free(m), 2);
	mv_task_exit(t);
	assert_int_equal(sgt_free(m), 8);
	assert_int_equal(zombies(m), 0);
	assert_int_equal(hw_epc_check(sgt_epc(m)), 0);
	mv_machine_destroy(m);
}

/* A VMM with a VM and an enclave exits: the same, EPT leaves included. */
static void test_sgx_release_at_vmm_exit(void **state)
{
	struct sgxt s;
	struct mv_task *t;

	(void)state;
	sgt_setup(&s, 16, 8);
	build_local(&s);
	t = s.k.t;
	mv_task_exit(t);
	assert_int_equal(sgt_free(s.k.m), 16);
	assert_int_equal(zombies(s.k.m), 0);
	assert_int_equal(hw_epc_check(sgt_epc(s.k.m)), 0);
	mv_machine_destroy(s.k.m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sgx_remove_all_counts_child_present),
		cmocka_unit_test(test_sgx_remove_all_enclave_active_ebusy),
		cmocka_unit_test(test_sgx_remove_all_two_pass_protocol),
		cmocka_unit_test(test_sgx_release_frees_secs_after_children),
		cmocka_unit_test(test_sgx_release_zombie_secs),
		cmocka_unit_test(test_sgx_release_every_order_loses_nothing),
		cmocka_unit_test(test_sgx_release_enclave_active_keeps_pages),
		cmocka_unit_test(test_sgx_release_at_process_exit),
		cmocka_unit_test(test_sgx_release_at_vmm_exit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
