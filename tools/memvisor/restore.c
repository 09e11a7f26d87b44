/* SPDX-License-Identifier: MIT */
/*
 * memvisor restore: check a snapshot file and restore it into a new VM on
 * a new machine (docs/snapshot.md), then say what came back. A truncated,
 * corrupted or forged file is refused with the reason, and nothing is left.
 */
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "lang/lang.h"

static void restore_usage(FILE *out)
{
	fprintf(out,
		"usage: memvisor restore [--machine LIST] FILE\n"
		"\n"
		"Checks every byte of a snapshot written by 'memvisor snapshot' (magic,\n"
		"version, checksum, every section and field), restores it into a new VM\n"
		"built with the memslots it describes (guest_memfd and vEPC slots too)\n"
		"and reports what it holds. A refused file is reported with the reason.\n"
		"\n"
		"  --machine LIST   machine settings, as for 'memvisor run'\n"
		"  --help           this text\n"
		"\n"
		"exit status: 0 restored, 1 refused or unreadable, 2 usage error\n");
}

static void restore_print(const char *path, const struct lang_snapshot_info *in)
{
	printf("%s: restored: %llu bytes, %u vCPU(s), RAM 0x%llx bytes at 0x%llx\n", path,
	       (unsigned long long)in->bytes, in->nr_vcpus, (unsigned long long)in->ram_bytes,
	       (unsigned long long)in->ram_gpa);
	printf("  memslots %u (guest_memfd %u, vEPC %u)\n", in->nr_slots, in->nr_gmem_slots,
	       in->nr_epc_slots);
	printf("  shared pages %llu, private pages %llu, tagged pages %llu, Heki runs %llu\n",
	       (unsigned long long)in->shared_pages, (unsigned long long)in->private_pages,
	       (unsigned long long)in->tagged_pages, (unsigned long long)in->heki_runs);
	printf("  pending dirty pages %llu, vEPC pages lost %llu\n",
	       (unsigned long long)in->dirty_pages, (unsigned long long)in->epc_lost);
}

int cli_restore(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "machine", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lang_machine_opts mo, all;
	struct lang_snapshot_info info;
	struct lang_diag diag;
	const char *why = NULL;
	int c, r;

	memset(&all, 0, sizeof(all));
	while ((c = getopt_long(argc, argv, "m:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (lang_machine_opts_parse(optarg, &mo, &diag)) {
				fprintf(stderr, "memvisor restore: --machine: column %d: %s\n",
					diag.col, diag.msg);
				return CLI_USAGE;
			}
			lang_machine_opts_merge(&all, &mo);
			break;
		case 'h':
			restore_usage(stdout);
			return CLI_OK;
		default:
			restore_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "memvisor restore: %s\n", optind >= argc ? "no snapshot file given" :
			"one snapshot file at a time");
		restore_usage(stderr);
		return CLI_USAGE;
	}
	r = lang_vm_snapshot_try_restore(argv[optind], &all, &info, &why);
	if (r) {
		fprintf(stderr, "%s: refused: %s (%s)\n", argv[optind], why ? why : "not restored",
			strerror(-r));
		return CLI_FAIL;
	}
	restore_print(argv[optind], &info);
	return CLI_OK;
}
