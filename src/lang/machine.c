/* SPDX-License-Identifier: MIT */
/*
 * Machine options: one table says what machine(key=value, ...) and the
 * command line's --machine accept, with each key's limits. The checker
 * validates a value against it (so a bad one is an error with its
 * position before anything runs), the executor sets the configuration
 * through it, and --machine is parsed as a machine(...) step, so all
 * three agree by construction.
 *
 * The limits are the library's (mv_machine_create refuses anything
 * else); test_lang_machine checks that they still agree.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "lang/lang_int.h"
#include "lib/alloc.h"

#define MK_FIELD(f) offsetof(struct lang_machine_opts, f), \
		    sizeof(((struct lang_machine_opts *)0)->f)

static const struct lang_machine_key lang_machine_keys[] = {
	{ "ram", LMK_SIZE, NULL, 4ull << 20, 1ull << 40, 2ull << 20,
	  MK_FIELD(cfg.ram_bytes), offsetof(struct lang_machine_opts, ram_set) },
	{ "features_off", LMK_FLAGS, "MV_FEAT_", 0, MV_FEAT_ALL, 0,
	  MK_FIELD(cfg.features_off), offsetof(struct lang_machine_opts, features_set) },
	{ "epc", LMK_SIZE, NULL, 0, UINT64_MAX, 4096,
	  MK_FIELD(cfg.epc_bytes), offsetof(struct lang_machine_opts, epc_set) },
	{ "abi", LMK_CHOICE, "MV_ABI_", MV_ABI_MAINLINE, MV_ABI_SEED, 0,
	  MK_FIELD(cfg.abi), offsetof(struct lang_machine_opts, abi_set) },
	{ "seed", LMK_INT, NULL, 0, UINT64_MAX, 0,
	  MK_FIELD(cfg.seed), offsetof(struct lang_machine_opts, seed_set) },
};

#define LANG_NMACHINE_KEYS (sizeof(lang_machine_keys) / sizeof(lang_machine_keys[0]))

const struct lang_machine_key *lang_machine_key_find(const char *name)
{
	for (size_t i = 0; i < LANG_NMACHINE_KEYS; i++) {
		if (!strcmp(lang_machine_keys[i].name, name))
			return &lang_machine_keys[i];
	}
	return NULL;
}

const char *lang_machine_key_suggest(const char *name)
{
	struct lang_suggest sg;

	lang_suggest_init(&sg, name);
	for (size_t i = 0; i < LANG_NMACHINE_KEYS; i++)
		lang_suggest_add(&sg, lang_machine_keys[i].name);
	return lang_suggest_best(&sg);
}

void lang_machine_keys_list(char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < LANG_NMACHINE_KEYS && off < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%s",
					!i ? "" : i + 1 < LANG_NMACHINE_KEYS ? ", " : " or ",
					lang_machine_keys[i].name);
}

/* A size as a scenario writes it: "4M", "1G", "0x1800". */
void lang_fmt_size(char *buf, size_t size, uint64_t v)
{
	static const struct { char suffix; unsigned int shift; } units[] = {
		{ 'G', 30 }, { 'M', 20 }, { 'K', 10 },
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (v && !(v & ((1ull << units[i].shift) - 1))) {
			snprintf(buf, size, "%llu%c", (unsigned long long)(v >> units[i].shift),
				 units[i].suffix);
			return;
		}
	}
	snprintf(buf, size, "0x%llx", (unsigned long long)v);
}

static int lang_machine_check_size(const struct lang_machine_key *k, uint64_t v,
				   struct lang_pos pos, struct lang_diag *diag)
{
	const char *what = v < k->min ? "below the minimum" : v > k->max ? "above the maximum" :
			   "not a multiple";
	uint64_t lim = v < k->min ? k->min : v > k->max ? k->max : k->align;
	char size[32];

	if (!v || (v >= k->min && v <= k->max && (!k->align || !(v % k->align))))
		return 0;   /* 0: the library's default */
	lang_fmt_size(size, sizeof(size), lim);
	return lang_diag_set(diag, pos, -EINVAL, "%s: 0x%llx is %s of %s (0x%llx)", k->name,
			     (unsigned long long)v, what, size, (unsigned long long)lim);
}

int lang_machine_key_check(const struct lang_machine_key *k, uint64_t v, struct lang_pos pos,
			   struct lang_diag *diag)
{
	switch (k->kind) {
	case LMK_SIZE:
		return lang_machine_check_size(k, v, pos, diag);
	case LMK_FLAGS:
		if (v & ~k->max)
			return lang_diag_set(diag, pos, -EINVAL, "%s: 0x%llx has bits no feature "
					     "uses: expected SHSTK|IBT|MTE|SGX|MBEC|SMEP|SMAP or "
					     "ALL", k->name, (unsigned long long)v);
		return 0;
	case LMK_CHOICE:
		if (v < k->min || v > k->max)
			return lang_diag_set(diag, pos, -EINVAL, "%s: %llu is not an ABI: expected "
					     "mainline or seed", k->name, (unsigned long long)v);
		return 0;
	default:
		return 0;
	}
}

void lang_machine_key_set(const struct lang_machine_key *k, struct lang_machine_opts *mo,
			  uint64_t v)
{
	unsigned char *base = (unsigned char *)mo;

	if (k->size == sizeof(uint32_t)) {
		uint32_t v32 = (uint32_t)v;

		memcpy(base + k->offset, &v32, sizeof(v32));
	} else {
		memcpy(base + k->offset, &v, sizeof(v));
	}
	*(bool *)(base + k->set_offset) = true;
}

/* machine(key=value, ...): every key, checked by check.c, into @mo. */
void lang_machine_from_step(const struct lang_step *s, struct lang_machine_opts *mo)
{
	for (size_t i = 0; i < s->nargs; i++) {
		const struct lang_machine_key *k = lang_machine_key_find(s->args[i].key);
		uint64_t v;

		if (k && lang_expr_const(s->args[i].val, &v))
			lang_machine_key_set(k, mo, v);
	}
}

void lang_machine_opts_merge(struct lang_machine_opts *base, const struct lang_machine_opts *over)
{
	const unsigned char *from = (const unsigned char *)over;

	for (size_t i = 0; i < LANG_NMACHINE_KEYS; i++) {
		const struct lang_machine_key *k = &lang_machine_keys[i];
		uint64_t v = 0;

		if (!*(const bool *)(from + k->set_offset))
			continue;
		if (k->size == sizeof(uint32_t)) {
			uint32_t v32;

			memcpy(&v32, from + k->offset, sizeof(v32));
			v = v32;
		} else {
			memcpy(&v, from + k->offset, sizeof(v));
		}
		lang_machine_key_set(k, base, v);
	}
}

/*
 * The command line's "ram=64M,abi=seed" is parsed as the step
 * "machine(ram=64M,abi=seed)", so it takes what a scenario takes and is
 * checked the same way; columns in @diag count from the user's text.
 */
int lang_machine_opts_parse(const char *text, struct lang_machine_opts *opts,
			    struct lang_diag *diag)
{
	static const char head[] = "machine(";
	size_t len = strlen(text), n = sizeof(head) - 1 + len + 2;
	char *src = lib_malloc(n + 1);
	struct lang_program *p = NULL;
	int ret;

	memset(opts, 0, sizeof(*opts));
	memset(diag, 0, sizeof(*diag));
	if (!src)
		return lang_diag_set(diag, (struct lang_pos){ 0, 0 }, -ENOMEM, "out of memory");
	snprintf(src, n + 1, "%s%s)\n", head, text);
	ret = lang_parse("--machine", src, n, &p, diag);
	if (!ret && (p->nsteps != 1 || p->steps[0].desc->type != LC_MACHINE))
		ret = lang_diag_set(diag, (struct lang_pos){ 1, 1 }, -EINVAL,
				    "expected key=value,... for --machine");
	if (!ret)
		lang_machine_from_step(&p->steps[0], opts);
	if (ret && diag->col > (int)sizeof(head) - 1)
		diag->col -= (int)sizeof(head) - 1;
	lang_program_free(p);
	lib_free(src);
	return ret;
}
