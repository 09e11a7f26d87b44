/* SPDX-License-Identifier: MIT */
/*
 * "Did you mean ...?": the one place that decides which known name is
 * close to an unknown one, for constants, calls, guest operations, struct
 * fields and machine keys alike. Two kinds of slip count: a typo (a few
 * letters wrong, missing or swapped: PROT_RAED) and a shortening (letters
 * left out, the rest in order: memsize for memory_size). A typo beats a
 * shortening; among equals the smaller distance, then the first, wins.
 */
#include <string.h>

#include "lang/lang_int.h"

int lang_edit_distance(const char *a, const char *b)
{
	enum { MAXLEN = 64 };
	int prev[MAXLEN + 1], cur[MAXLEN + 1];
	size_t la = strlen(a), lb = strlen(b);

	if (la > MAXLEN || lb > MAXLEN)
		return MAXLEN;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			int del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, sizeof(prev));
	}
	return prev[lb];
}

/* At most about a third of the name wrong. */
static bool lang_is_typo(const char *name, int dist)
{
	int len = (int)strlen(name);

	return dist <= (len < 6 ? 2 : len / 3 + 1);
}

/*
 * @name is @cand with letters left out: same first letter, the rest in
 * order, and at least three letters and half of @cand kept.
 */
static bool lang_is_shortening(const char *name, const char *cand)
{
	size_t n = strlen(name), c = strlen(cand), i = 0;

	if (n < 3 || 2 * n < c || n >= c || name[0] != cand[0])
		return false;
	for (size_t j = 0; j < c && i < n; j++)
		i += cand[j] == name[i];
	return i == n;
}

void lang_suggest_init(struct lang_suggest *sg, const char *name)
{
	sg->name = name;
	sg->best = NULL;
	sg->score = 1 << 20;
}

void lang_suggest_add(struct lang_suggest *sg, const char *cand)
{
	int d = lang_edit_distance(sg->name, cand), score;

	if (lang_is_typo(sg->name, d))
		score = d;
	else if (lang_is_shortening(sg->name, cand))
		score = 1000 + d;
	else
		return;
	if (score < sg->score) {
		sg->score = score;
		sg->best = cand;
	}
}

const char *lang_suggest_best(const struct lang_suggest *sg)
{
	return sg->best;
}
