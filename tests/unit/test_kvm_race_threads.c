/* SPDX-License-Identifier: MIT */
/*
 * The race runner's short form (bench/race.c; `memvisor race` runs it for a
 * minute): vCPU threads against a VMM that punches, converts, cycles
 * memslots, toggles dirty logging and drops pages. No guest reads data not
 * its own, no freed frame is written after reuse, every KVM_RUN answers as
 * documented, no frame leaks; and every VMM operation really ran.
 * MVTEST_RACE_SECONDS runs it longer. Run under ThreadSanitizer.
 */
#include <stdlib.h>

#include "mvtest.h"
#include "bench/race.h"

static void test_kvm_race_guests_never_see_freed_or_foreign_data(void **state)
{
	const char *env = getenv("MVTEST_RACE_SECONDS");
	struct race_report r;

	(void)state;
	assert_int_equal(race_run(env ? atof(env) : 0.5, &r), 0);
	assert_int_equal(r.foreign_reads, 0);
	assert_int_equal(r.witness_corrupt, 0);
	assert_int_equal(r.run_undocumented, 0);
	assert_int_equal(r.frames_leaked, 0);
	for (int i = 0; i < RACE_OP_NR; i++)
		assert_true(r.ops[i] >= 4);
	assert_true(r.own_reads > 0);
	assert_true(r.invalidations > 0);
	print_message("%.1f s: %llu canaries, %llu own, %llu zero; %llu retries, %llu invalidations\n",
		      r.seconds, (unsigned long long)r.guest_writes, (unsigned long long)r.own_reads,
		      (unsigned long long)r.zero_reads, (unsigned long long)r.stage2_retries,
		      (unsigned long long)r.invalidations);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_race_guests_never_see_freed_or_foreign_data),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
