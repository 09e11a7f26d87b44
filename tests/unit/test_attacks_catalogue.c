/* SPDX-License-Identifier: MIT */
/*
 * Every attack of the catalogue (attacks/) as a test case of its own, named
 * after it: without the protection the attack succeeds (so it proves
 * something), with it on the verdict is what the protection claims.
 */
#include <stdio.h>
#include <stdlib.h>

#include "mvtest.h"
#include "attacks/attacks.h"

static void test_attack_as_claimed(void **state)
{
	const struct attack *a = *state;
	struct attack_outcome off = { .verdict = ATTACK_NOT_RUN }, on = { .verdict = ATTACK_NOT_RUN };
	char why[160] = "";

	if (!a->no_off)
		assert_int_equal(a->run(false, &off), 0);
	assert_int_equal(a->run(true, &on), 0);
	if (!attack_as_claimed(a, &off, &on, why, sizeof(why)))
		fail_msg("%s: %s", a->name, why);
	/* a blocked attack leaks nothing whole */
	if (a->claim != CLAIM_NONE)
		assert_true(on.verdict != ATTACK_SUCCEEDED);
}

/* The catalogue itself: unique names, every field set. */
static void test_attack_catalogue_well_formed(void **state)
{
	size_t n;
	const struct attack *all = attack_catalogue(&n);

	(void)state;
	assert_true(n >= 20);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(all[i].run);
		assert_non_null(all[i].mechanism);
		assert_non_null(all[i].what);
		assert_ptr_equal(attack_find(all[i].name), &all[i]);
	}
	assert_null(attack_find("no-such-attack"));
}

int main(void)
{
	size_t n;
	const struct attack *all = attack_catalogue(&n);
	struct CMUnitTest *tests = calloc(n + 1, sizeof(*tests));
	int ret;

	if (!tests)
		return 1;
	tests[0] = (struct CMUnitTest)cmocka_unit_test(test_attack_catalogue_well_formed);
	for (size_t i = 0; i < n; i++) {
		tests[i + 1].name = all[i].name;
		tests[i + 1].test_func = test_attack_as_claimed;
		tests[i + 1].initial_state = (void *)&all[i];
	}
	ret = _cmocka_run_group_tests("attacks", tests, n + 1, NULL, NULL);
	free(tests);
	return ret;
}
