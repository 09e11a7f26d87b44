/* SPDX-License-Identifier: MIT */
/*
 * The scenario language through lang/lang.h alone, as tools use it: a
 * program's steps, their positions and stories, each step's source text
 * as written, and what a finished run leaves. Nothing here includes
 * lang_int.h, which is the point.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mvtest.h"
#include "lang/lang.h"

#ifdef MV_LANG_LANG_INT_H
#error "this test must see the public header only"
#endif

static struct lang_program *parse_ok(const char *src)
{
	struct lang_program *p;
	struct lang_diag d;

	if (lang_parse("api.mvs", src, strlen(src), &p, &d))
		fail_msg("parse: %d:%d: %s", d.line, d.col, d.msg);
	return p;
}

/* Step @i's text with @flags, checked against @want. */
static void assert_source(const struct lang_program *p, size_t i, unsigned int flags,
			  const char *want)
{
	char buf[512];
	size_t n = lang_step_source(lang_program_step(p, i), flags, buf, sizeof(buf));

	assert_string_equal(buf, want);
	assert_int_equal(n, strlen(want));
}

static const char wrapped_src[] =
	"r0 = openat(AT_FDCWD, \"/dev/kvm\", O_RDWR)   # a comment\n"
	"r1 = ioctl(r0, KVM_CREATE_VM, 0)\n"
	"#: the story of the wrapped step\n"
	"r2 = mmap(0, 0x1000,\n"
	"          PROT_READ,        # a comment inside the call\n"
	"\n"
	"          MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)   = -EBADF   # and after it\n"
	"write_mem(r2, \"a#b\")  = 0\n";

static void test_lang_api_step_source_prints_wrapped_steps_whole(void **state)
{
	struct lang_program *p = parse_ok(wrapped_src);

	assert_int_equal(lang_program_nsteps(p), 4);
	assert_source(p, 0, 0, "r0 = openat(AT_FDCWD, \"/dev/kvm\", O_RDWR)");
	assert_source(p, 2, 0, "r2 = mmap(0, 0x1000,\nPROT_READ,\n"
		      "MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)   = -EBADF");
	assert_source(p, 2, LANG_SRC_CALL, "r2 = mmap(0, 0x1000,\nPROT_READ,\n"
		      "MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)");
	assert_source(p, 2, LANG_SRC_CALL | LANG_SRC_FLAT,
		      "r2 = mmap(0, 0x1000, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)");
	/* a '#' inside a string is text */
	assert_source(p, 3, 0, "write_mem(r2, \"a#b\")  = 0");
	assert_int_equal(lang_step_pos(lang_program_step(p, 2)).line, 4);
	assert_int_equal(lang_step_end(lang_program_step(p, 2)).line, 7);
	assert_int_equal(lang_step_index(lang_program_step(p, 2)), 2);
	assert_string_equal(lang_step_story(lang_program_step(p, 2)),
			    "the story of the wrapped step");
	assert_null(lang_step_story(lang_program_step(p, 3)));
	assert_null(lang_program_step(p, 4));
	lang_program_free(p);
}

static const char guest_src[] =
	"r0 = openat(AT_FDCWD, \"/dev/kvm\", O_RDWR)\n"
	"r1 = ioctl(r0, KVM_CREATE_VM, 0)\n"
	"r2 = ioctl(r1, KVM_CREATE_VCPU, 0)\n"
	"guest(r2) {\n"
	"  write(0x40000000, \"x\")     # MMIO\n"
	"  read_cr(0)\n"
	"}\n"
	"ioctl(r2, KVM_RUN, 0) = exit(KVM_EXIT_MMIO,\n"
	"                             phys_addr=0x40000000)\n";

static void test_lang_api_guest_block_prints_with_its_brace(void **state)
{
	struct lang_program *p = parse_ok(guest_src);
	const struct lang_step *g = lang_program_step(p, 3);

	assert_int_equal(lang_step_nops(g), 2);
	assert_source(p, 3, 0, "guest(r2) {\nwrite(0x40000000, \"x\")\nread_cr(0)\n}");
	assert_source(p, 3, LANG_SRC_HEAD, "guest(r2) {");
	assert_source(p, 4, LANG_SRC_CALL, "ioctl(r2, KVM_RUN, 0)");
	assert_source(p, 4, LANG_SRC_FLAT,
		      "ioctl(r2, KVM_RUN, 0) = exit(KVM_EXIT_MMIO, phys_addr=0x40000000)");
	assert_ptr_equal(lang_step_parent(lang_step_op(g, 1)), g);
	assert_int_equal(lang_step_index(lang_step_op(g, 1)), 1);
	assert_int_equal(lang_step_pos(lang_step_op(g, 1)).line, 6);
	assert_null(lang_step_op(g, 2));
	assert_null(lang_step_parent(g));
	lang_program_free(p);
}

static void test_lang_api_step_source_cuts_like_snprintf(void **state)
{
	struct lang_program *p = parse_ok("close(1234567) = -EBADF\n");
	char buf[8];

	assert_int_equal(lang_step_source(lang_program_step(p, 0), 0, buf, sizeof(buf)), 23);
	assert_string_equal(buf, "close(1");
	assert_int_equal(lang_step_source(lang_program_step(p, 0), 0, NULL, 0), 23);
	lang_program_free(p);
}

struct end_seen {
	int nvalues;
	char names[4][8];
	uint64_t fd;
	bool t0_alive;
};

static void on_end(void *ctx, const struct lang_run_state *st)
{
	struct end_seen *e = ctx;

	e->nvalues = st->nvalues;
	for (int i = 0; i < st->nvalues && i < 4; i++)
		snprintf(e->names[i], sizeof(e->names[i]), "%s", st->value_names[i]);
	e->fd = st->values[0];
	e->t0_alive = st->ntasks >= 1 && !strcmp(st->task_names[0], "t0") && st->tasks[0];
}

static void test_lang_api_run_state_names_every_result(void **state)
{
	struct lang_program *p = parse_ok("r0 = memfd_create(\"m\", 0)\nr1 = dup(r0)\n");
	struct lang_run_opts opts = { 0 };
	struct lang_run_result res;
	struct end_seen e = { 0 };
	struct lang_diag d;

	opts.on_end = on_end;
	opts.end_ctx = &e;
	opts.machine.cfg.ram_bytes = 64 << 20;
	opts.machine.ram_set = true;
	assert_int_equal(lang_run(p, &opts, &res, &d), 0);
	assert_int_equal(res.failed, 0);
	assert_int_equal(e.nvalues, 2);
	assert_string_equal(e.names[0], "r0");
	assert_string_equal(e.names[1], "r1");
	assert_int_equal(e.fd, 0);
	assert_true(e.t0_alive);
	lang_program_free(p);
}

static void test_lang_api_signal_names(void **state)
{
	assert_string_equal(lang_signal_name(SIGSEGV), "SIGSEGV");
	assert_string_equal(lang_signal_code_name(SIGSEGV, 2), "SEGV_ACCERR");
	assert_string_equal(lang_signal_code_name(SIGBUS, 2), "BUS_ADRERR");
	assert_null(lang_signal_name(0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lang_api_step_source_prints_wrapped_steps_whole),
		cmocka_unit_test(test_lang_api_guest_block_prints_with_its_brace),
		cmocka_unit_test(test_lang_api_step_source_cuts_like_snprintf),
		cmocka_unit_test(test_lang_api_run_state_names_every_result),
		cmocka_unit_test(test_lang_api_signal_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
