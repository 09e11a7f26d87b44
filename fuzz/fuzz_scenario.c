/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the scenario language: any bytes are a candidate
 * scenario. Parsing and checking must never crash and must either succeed
 * or give a positioned diagnostic; short programs that check are also run
 * (on a small machine), which fuzzes the kernel through the whole stack.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "lang/lang.h"

#define FUZZ_RUN_MAX_STEPS 24

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
