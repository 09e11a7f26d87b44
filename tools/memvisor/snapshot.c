/* SPDX-License-Identifier: MIT */
/*
 * memvisor snapshot: run a scenario and save the VM it leaves to a file
 * (docs/snapshot.md). The VM is --vm's result, or the first result holding
 * a VM fd; its vCPU --vcpu's, or the first result holding a vCPU fd.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lang/lang.h"

#define SNAP_FILE_MAX (1u << 20)

struct snap_ctx {
	const char *vm_name, *vcpu_name, *output;
	const char *found_vm, *found_vcpu, *why;
	long ret;            /* the save's answer; -ENOENT: no VM, -ESRCH: no vCPU */
};

static void snapshot_usage(FILE *out)
{
	fprintf(out,
		"usage: memvisor snapshot [--vm rN] [--vcpu rN] -o FILE SCENARIO.mvs\n"
		"\n"
		"Runs the scenario and saves the VM it leaves (one vCPU, one RAM\n"
		"memslot) to FILE: memory, attributes, private pages as platform\n"
		"ciphertext, MTE tags, Heki state, registers. 'memvisor restore FILE'\n"
		"checks it and restores it.\n"
		"\n"
		"  --vm rN          the result holding the VM fd (default: the first)\n"
		"  --vcpu rN        the result holding its vCPU fd (default: the first)\n"
		"  -o, --output FILE  where to write the snapshot\n"
		"  --help           this text\n"
		"\n"
		"exit status: 0 saved, 1 a step failed, no VM or vCPU, or the save\n"
		"failed, 2 usage error\n");
}

/* The first result (named @name if given) that @is accepts, in task 0 .. */
static int snap_find(const struct lang_run_state *st, const char *name,
		     int (*is)(struct mv_task *, int), struct mv_task **t, int *fd)
{
	for (int slot = 0; slot < st->nvalues; slot++) {
		uint64_t v = st->values[slot];

		if ((name && strcmp(name, st->value_names[slot])) || v > INT_MAX)
			continue;
		for (int i = 0; i < st->ntasks; i++) {
			if (st->tasks[i] && is(st->tasks[i], (int)v)) {
				*t = st->tasks[i];
				*fd = (int)v;
				return slot;
			}
		}
	}
	return -1;
}

static int snap_is_vm(struct mv_task *t, int fd)
{
	return mv_vm_memory_map(t, fd, NULL, 0) >= 0;
}

static void snapshot_on_end(void *ctx, const struct lang_run_state *st)
{
	struct snap_ctx *sc = ctx;
	struct mv_task *t, *tv;
	int vm, vcpu, s1, s2;

	s1 = snap_find(st, sc->vm_name, snap_is_vm, &t, &vm);
	if (s1 < 0) {
		sc->ret = -ENOENT;
		return;
	}
	s2 = snap_find(st, sc->vcpu_name, lang_is_vcpu_fd, &tv, &vcpu);
	if (s2 < 0 || tv != t) {
		sc->ret = -ESRCH;
		return;
	}
	sc->found_vm = st->value_names[s1];
	sc->found_vcpu = st->value_names[s2];
	sc->ret = lang_vm_snapshot_save(t, vm, vcpu, sc->output, &sc->why);
}

static int snapshot_run(const char *path, struct snap_ctx *sc)
{
	struct lang_run_opts opts;
	struct lang_program *p;
	struct lang_run_result res;
	struct lang_diag diag;
	size_t len;
	char *src;
	int ret;

	if (cli_load_scenario("snapshot", path, SNAP_FILE_MAX, &src, &len, &p))
		return CLI_FAIL;
	memset(&opts, 0, sizeof(opts));
	opts.on_end = snapshot_on_end;
	opts.end_ctx = sc;
	ret = lang_run(p, &opts, &res, &diag);
	if (ret)
		fprintf(stderr, "%s: error: %s\n", path, diag.msg);
	else if (res.failed)
		fprintf(stderr, "%s: %d of %d steps failed: nothing saved\n", path, res.failed,
			res.steps);
	else if (sc->ret == -ENOENT && sc->vm_name)
		fprintf(stderr, "%s: --vm %s holds no VM fd when the scenario ends\n", path,
			sc->vm_name);
	else if (sc->ret == -ENOENT)
		fprintf(stderr, "%s: the scenario leaves no VM (KVM_CREATE_VM) to save\n", path);
	else if (sc->ret == -ESRCH)
		fprintf(stderr, "%s: %s%s: no vCPU fd of the VM's process\n", path,
			sc->vcpu_name ? "--vcpu " : "no result holds one",
			sc->vcpu_name ? sc->vcpu_name : "");
	else if (sc->ret < 0)
		fprintf(stderr, "%s: %s: %s (%s)\n", path, sc->output,
			sc->why ? sc->why : "not saved", strerror((int)-sc->ret));
	else
		printf("saved VM %s (vCPU %s) to %s: %ld bytes\n", sc->found_vm, sc->found_vcpu,
		       sc->output, sc->ret);
	lang_program_free(p);
	free(src);
	return ret || res.failed || sc->ret < 0 ? CLI_FAIL : CLI_OK;
}

int cli_snapshot(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "vm", required_argument, NULL, 'v' },
		{ "vcpu", required_argument, NULL, 'c' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct snap_ctx sc = { .ret = -ENOENT };
	int c;

	while ((c = getopt_long(argc, argv, "v:c:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'v':
			sc.vm_name = optarg;
			break;
		case 'c':
			sc.vcpu_name = optarg;
			break;
		case 'o':
			sc.output = optarg;
			break;
		case 'h':
			snapshot_usage(stdout);
			return CLI_OK;
		default:
			snapshot_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind + 1 != argc || !sc.output) {
		fprintf(stderr, "memvisor snapshot: %s\n", !sc.output ? "no output file (-o FILE)" :
			optind >= argc ? "no scenario file given" : "one scenario file at a time");
		snapshot_usage(stderr);
		return CLI_USAGE;
	}
	return snapshot_run(argv[optind], &sc);
}
