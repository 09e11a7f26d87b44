/* SPDX-License-Identifier: MIT */
/* Story comments ("#:"): which step each belongs to, and what text it keeps. */
#include <string.h>

#include "mvtest.h"
#include "lang/lang_int.h"

static struct lang_program *story_parse(const char *src)
{
	struct lang_program *p;
	struct lang_diag d;
	int ret = lang_parse("t.mvs", src, strlen(src), &p, &d);

	if (ret)
		fail_msg("parse failed: %d:%d: %s", d.line, d.col, d.msg);
	return p;
}

static void test_lang_story_attaches_to_the_next_step(void **state)
{
	struct lang_program *p = story_parse("#: # Title\n"
					     "# a plain comment is not a story\n"
					     "#:   indented text keeps its indent\n"
					     "#:\n"
					     "close(7) = -EBADF\n"
					     "close(8) = -EBADF\n"
					     "  #: second  \n"
					     "\n"
					     "close(9) = -EBADF #: trailing, not a story\n");

	assert_int_equal(p->nsteps, 3);
	assert_string_equal(p->steps[0].story, "# Title\n  indented text keeps its indent\n");
	assert_null(p->steps[1].story);
	assert_string_equal(p->steps[2].story, "second");
	assert_null(p->story_end);
	lang_program_free(p);
}

static void test_lang_story_after_the_last_step_belongs_to_the_program(void **state)
{
	struct lang_program *p = story_parse("close(7) = -EBADF\n#: the end\n#: really");

	assert_null(p->steps[0].story);
	assert_string_equal(p->story_end, "the end\nreally");
	lang_program_free(p);
}

static void test_lang_story_lines_inside_a_wrapped_step_go_to_the_next(void **state)
{
	struct lang_program *p = story_parse("r0 = mmap(0, 0x1000,\n#: inside\n"
					     "  PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n"
					     "close(7) = -EBADF\n");

	assert_null(p->steps[0].story);
	assert_string_equal(p->steps[1].story, "inside");
	lang_program_free(p);
}

static void test_lang_story_without_stories_is_null(void **state)
{
	struct lang_program *p = story_parse("# only comments\nclose(7) = -EBADF\n");

	assert_null(p->steps[0].story);
	assert_null(p->story_end);
	lang_program_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lang_story_attaches_to_the_next_step),
		cmocka_unit_test(test_lang_story_after_the_last_step_belongs_to_the_program),
		cmocka_unit_test(test_lang_story_lines_inside_a_wrapped_step_go_to_the_next),
		cmocka_unit_test(test_lang_story_without_stories_is_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
