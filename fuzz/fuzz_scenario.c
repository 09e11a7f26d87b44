/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the scenario language: any bytes are a candidate
 * scenario. Parsing and checking must never crash and must either succeed
 * or give a positioned diagnostic; short programs that check are also run
 * (on a small machine), which fuzzes the kernel through the whole stack.
 * Steps that write files (vm_snapshot) write them into a scratch
 * directory of the process's own, never where the fuzzer was started.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lang/lang.h"

#define FUZZ_RUN_MAX_STEPS 24

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* @path made absolute against @cwd (kept for the process's life), or itself. */
static char *fz_absolute(const char *cwd, char *path)
{
	char *abs;

	if (!*path || *path == '/')
		return path;
	abs = malloc(strlen(cwd) + strlen(path) + 2);
	if (!abs)
		abort();
	sprintf(abs, "%s/%s", cwd, path);
	return abs;
}

static char fz_scratch[] = "/tmp/memvisor-fuzz-scenario-XXXXXX";

/* At exit: the scratch directory and the files the scenarios wrote in it. */
static void fz_scratch_remove(void)
{
	DIR *d = opendir(fz_scratch);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		unlinkat(dirfd(d), e->d_name, 0);   /* "." and "..": refused, harmless */
	closedir(d);
	rmdir(fz_scratch);
}

/*
 * Runs before libFuzzer reads its arguments: the corpus directories, input
 * files and the artifact prefix are made absolute, then the process moves
 * into a scratch directory of its own, where vm_snapshot's files land (a
 * scenario names any path; a relative one stays in the scratch directory).
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char prefix[] = "-artifact_prefix=";
	char cwd[4096];

	if (!getcwd(cwd, sizeof(cwd)))
		abort();
	for (int i = 1; i < *argc; i++) {
		char *a = (*argv)[i];

		if (!strncmp(a, prefix, sizeof(prefix) - 1)) {
			char *abs = fz_absolute(cwd, a + sizeof(prefix) - 1);
			char *flag = malloc(sizeof(prefix) + strlen(abs));

			if (!flag)
				abort();
			sprintf(flag, "%s%s", prefix, abs);
			(*argv)[i] = flag;
		} else if (a[0] != '-') {
			(*argv)[i] = fz_absolute(cwd, a);
		}
	}
	if (!mkdtemp(fz_scratch) || chdir(fz_scratch))
		abort();
	atexit(fz_scratch_remove);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lang_program *p = NULL;
	struct lang_diag diag = { 0 };
	struct lang_run_opts opts = { 0 };
	struct lang_run_result res = { 0 };
	int ret;

	ret = lang_parse("fuzz.mvs", (const char *)data, size, &p, &diag);
	if (ret) {
		/* A refusal must say where. */
		if (diag.line <= 0 || diag.col <= 0 || !diag.msg[0])
			abort();
		return 0;
	}
	if (lang_program_nsteps(p) <= FUZZ_RUN_MAX_STEPS) {
		opts.machine.cfg.ram_bytes = 16ull << 20;
		opts.machine.ram_set = true;
		lang_run(p, &opts, &res, &diag);
	}
	lang_program_free(p);
	return 0;
}
