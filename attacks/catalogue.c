// SPDX-License-Identifier: MIT
/* The catalogue: each mechanism's attacks, in one list. */
#include <string.h>

#include "attacks.h"

static const struct attack *const attack_parts[] = {
	attacks_shstk,
	attacks_gmem,
	attacks_kvm,
	attacks_heki,
	attacks_mte,
	attacks_sgx,
	attacks_snapshot,
	attacks_mseal,
};

#define ATTACK_MAX 128

const struct attack *attack_catalogue(size_t *count)
{
	static struct attack all[ATTACK_MAX];
	static size_t n;

	/* Built once, before any thread of the CLI or the tests starts. */
	if (!n) {
		for (size_t p = 0; p < sizeof(attack_parts) / sizeof(attack_parts[0]); p++)
			for (const struct attack *a = attack_parts[p]; a->name && n < ATTACK_MAX; a++)
				all[n++] = *a;
	}
	*count = n;
	return all;
}

const struct attack *attack_find(const char *name)
{
	size_t n;
	const struct attack *all = attack_catalogue(&n);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(all[i].name, name))
			return &all[i];
	return NULL;
}
