/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>

#include "mvtest.h"

uint64_t mvtest_seed(void)
{
	static uint64_t seed;
	static int done;

	if (!done) {
		const char *s = getenv("MVTEST_SEED");

		seed = s ? strtoull(s, NULL, 0) : 0x6d656d7669736f72ull;
		fprintf(stderr, "# MVTEST_SEED=0x%llx\n", (unsigned long long)seed);
		done = 1;
	}
	return seed;
}
