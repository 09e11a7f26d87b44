/* SPDX-License-Identifier: MIT */
/*
 * memvisor attacks [--list] [NAME...]
 * Runs every attack the project knows (or those named) on fresh machines,
 * with the protection off and then on, and prints one row each: the
 * attack, its mechanism, what happened without and with the protection,
 * and the secret bytes that leaked with it on. A row is marked "!" when it
 * is not what the protection claims (or when the attack does not even
 * succeed without it, so it proves nothing); the exit status is then 1.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "attacks/attacks.h"
#include "cli.h"

static void attacks_usage(FILE *out)
{
	fprintf(out,
		"usage: memvisor attacks [--list] [NAME...]\n"
		"  --list   list the attacks (name, mechanism, what it tries) and exit\n"
		"  --help   this text\n"
		"With no NAME, every attack runs. Columns: WITHOUT and WITH the\n"
		"protection (succeeded, blocked, reported; '-' where it cannot be\n"
		"off), LEAKED the secret bytes read with it on. A claim of 'none'\n"
		"means the protection does not claim to stop the attack: the row\n"
		"says honestly what happens.\n"
		"\n"
		"exit status: 0 every attack as claimed, 1 one is not, 2 usage error\n");
}

static const char *const claim_names[] = { "blocks", "reports", "none" };

static void attacks_list(void)
{
	size_t n;
	const struct attack *all = attack_catalogue(&n);

	for (size_t i = 0; i < n; i++)
		printf("%-30s %-6s %s\n    %s\n", all[i].name, all[i].mechanism,
		       claim_names[all[i].claim], all[i].what);
}

/* One attack, both sides, one row. 0 as claimed, 1 not. */
static int attacks_one(const struct attack *a)
{
	struct attack_outcome off = { .verdict = ATTACK_NOT_RUN }, on = { .verdict = ATTACK_NOT_RUN };
	char why[160] = "";
	int ret = 0;

	if (!a->no_off)
		ret = a->run(false, &off);
	if (!ret)
		ret = a->run(true, &on);
	if (ret) {
		printf("%-30s %-6s could not set the stage: %s  !\n", a->name, a->mechanism,
		       atk_errno_name(ret));
		return 1;
	}
	bool ok = attack_as_claimed(a, &off, &on, why, sizeof(why));

	printf("%-30s %-6s %-10s %-10s %6llu%s\n    %.76s\n", a->name, a->mechanism,
	       attack_verdict_name(off.verdict), attack_verdict_name(on.verdict),
	       (unsigned long long)on.bytes_leaked, ok ? "" : "  !", on.how);
	if (!ok)
		printf("  ! %s\n", why);
	return !ok;
}

int cli_attacks(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	size_t n, bad = 0, ran = 0;
	const struct attack *all = attack_catalogue(&n);
	int c;

	while ((c = getopt_long(argc, argv, "lh", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			attacks_list();
			return CLI_OK;
		case 'h':
			attacks_usage(stdout);
			return CLI_OK;
		default:
			attacks_usage(stderr);
			return CLI_USAGE;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (!attack_find(argv[i])) {
			fprintf(stderr, "memvisor attacks: no attack '%s' (see --list)\n", argv[i]);
			return CLI_USAGE;
		}
	}
	printf("%-30s %-6s %-10s %-10s %6s\n", "ATTACK", "MECH", "WITHOUT", "WITH", "LEAKED");
	for (size_t i = 0; i < n; i++) {
		bool named = optind >= argc;

		for (int j = optind; j < argc && !named; j++)
			named = !strcmp(argv[j], all[i].name);
		if (!named)
			continue;
		bad += (size_t)attacks_one(&all[i]);
		ran++;
	}
	printf("\n%zu attack(s), %zu as claimed, %zu not\n", ran, ran - bad, bad);
	return bad ? CLI_FAIL : CLI_OK;
}
