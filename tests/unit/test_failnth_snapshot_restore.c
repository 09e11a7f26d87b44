/* SPDX-License-Identifier: MIT */
/*
 * The fail-nth sweep (docs/testing.md) over a whole restore of the VM
 * with every protection (allvm.h: a guest_memfd RAM slot, a vEPC slot,
 * MTE, Heki, CET, a private page) by vmm_snapshot_restore_built: the
 * 1st, 2nd, ... allocation fails in turn until the restore succeeds. Each
 * refusal gives -ENOMEM and a reason, and leaves nothing: no fd, no
 * frame, no EPC page. The restore that finally succeeds has every page.
 */
#include <stdlib.h>

#include "allvm.h"
#include "lib/alloc.h"
#include "snaptest.h"

#define FN_MAX_NTH 100000   /* far above a restore's allocations: the sweep must end */

static void test_failnth_restore_built_fails_cleanly_at_every_allocation(void **state)
{
	struct allvm src;
	struct vmm_snap_vm sv;
	struct vmm_snap_built b;
	struct vmm_restore_info info;
	struct mv_machine_stats s0, s1;
	struct mv_machine *m;
	struct mv_task *t;
	const char *why = NULL;
	unsigned long nth, refused = 0;
	void *buf;
	size_t len;
	long nfds;
	int r = -1;

	(void)state;
	allvm_setup(&src);
	assert_int_equal(vmm_snap_vm_probe(src.k.t, src.k.vm, &src.vcpu, 1, &sv, &why), 0);
	assert_int_equal(vmm_snapshot_save_vm(&sv, 0, &buf, &len), 0);
	m = mvtest_machine(0);
	assert_int_equal(mv_task_spawn(m, &t), 0);
	nfds = st_open_fds(t);
	mv_machine_get_stats(m, &s0);
	for (nth = 1; nth <= FN_MAX_NTH; nth++) {
		why = NULL;
		lib_fail_after(nth);
		r = vmm_snapshot_restore_built(t, buf, len, &b, &info, &why);
		lib_fail_after(0);
		if (!r)
			break;
		refused++;
		if (r != -ENOMEM || !why)
			fail_msg("allocation #%lu failing: got %d (%s), want -ENOMEM and a reason",
				 nth, r, why ? why : "no reason");
		mv_machine_get_stats(m, &s1);
		if (st_open_fds(t) != nfds || s1.frames_free != s0.frames_free ||
		    s1.epc_pages_free != s0.epc_pages_free)
			fail_msg("allocation #%lu failing (%s): fds open %ld of %ld, frames free "
				 "%llu of %llu, EPC pages free %llu of %llu", nth, why, st_open_fds(t), nfds,
				 (unsigned long long)s1.frames_free,
				 (unsigned long long)s0.frames_free,
				 (unsigned long long)s1.epc_pages_free,
				 (unsigned long long)s0.epc_pages_free);
	}
	assert_int_equal(r, 0);
	print_message("%lu allocations, each refused cleanly when it failed\n", refused);
	assert_true(refused > 10);   /* the sweep went through the whole restore */
	assert_int_equal(info.private_pages, 1);
	assert_true(info.heki_runs >= 1);
	vmm_snapshot_built_release(&b);
	assert_int_equal(st_open_fds(t), nfds);
	mv_machine_destroy(m);
	free(buf);
	allvm_teardown(&src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failnth_restore_built_fails_cleanly_at_every_allocation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
