/* SPDX-License-Identifier: MIT */
/* errno names and ERR_PTR helpers. */
#include <string.h>

#include "mvtest.h"
#include "lib/err.h"

static const struct {
	const char *name;
	int nr;
} errno_rows[] = {
	{ "EPERM", 1 },		{ "ENOENT", 2 },	{ "EAGAIN", 11 },
	{ "ENOMEM", 12 },	{ "EACCES", 13 },	{ "EFAULT", 14 },
	{ "EEXIST", 17 },	{ "EINVAL", 22 },	{ "ENOSPC", 28 },
	{ "EDEADLK", 35 },	{ "ENOSYS", 38 },	{ "ELOOP", 40 },
	{ "ENOMSG", 42 },	{ "EBADSLT", 57 },	{ "EBFONT", 59 },
	{ "EOVERFLOW", 75 },	{ "EOPNOTSUPP", 95 },	{ "ETIMEDOUT", 110 },
	{ "ECANCELED", 125 },	{ "ENOTRECOVERABLE", 131 }, { "EHWPOISON", 133 },
};

static void test_err_name_matches_linux_numbers(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(errno_rows) / sizeof(errno_rows[0]); i++) {
		assert_string_equal(lib_errno_name(errno_rows[i].nr), errno_rows[i].name);
		assert_string_equal(lib_errno_name(-errno_rows[i].nr), errno_rows[i].name);
		assert_int_equal(lib_errno_from_name(errno_rows[i].name), errno_rows[i].nr);
	}
}

static void test_err_name_agrees_with_host_errno(void **state)
{
	(void)state;
	/* the host is Linux: its macros must give the same numbers */
	assert_int_equal(lib_errno_from_name("EINVAL"), EINVAL);
	assert_int_equal(lib_errno_from_name("ENOTSUP"), ENOTSUP);
	assert_int_equal(lib_errno_from_name("EHWPOISON"), EHWPOISON);
	assert_int_equal(lib_errno_from_name("ERFKILL"), ERFKILL);
	assert_int_equal(lib_errno_from_name("EMEDIUMTYPE"), EMEDIUMTYPE);
}

static void test_err_name_covers_every_number_but_the_aliases(void **state)
{
	long nr;

	(void)state;
	for (nr = 1; nr <= 133; nr++) {
		const char *name = lib_errno_name(nr);

		if (nr == 41 || nr == 58) {
			assert_null(name);
			continue;
		}
		assert_non_null(name);
		assert_int_equal(lib_errno_from_name(name), nr);
	}
}

static void test_err_aliases_map_to_primary_numbers(void **state)
{
	(void)state;
	assert_int_equal(lib_errno_from_name("EWOULDBLOCK"), 11);
	assert_int_equal(lib_errno_from_name("EDEADLOCK"), 35);
	assert_int_equal(lib_errno_from_name("ENOTSUP"), 95);
	assert_string_equal(lib_errno_name(11), "EAGAIN");
	assert_string_equal(lib_errno_name(95), "EOPNOTSUPP");
}

static void test_err_unknown_is_null_or_zero(void **state)
{
	(void)state;
	assert_null(lib_errno_name(0));
	assert_null(lib_errno_name(134));
	assert_null(lib_errno_name(-4096));
	assert_int_equal(lib_errno_from_name("EBOGUS"), 0);
	assert_int_equal(lib_errno_from_name("einval"), 0);
	assert_int_equal(lib_errno_from_name(""), 0);
	assert_int_equal(lib_errno_from_name(NULL), 0);
}

static void test_err_ptr_round_trips(void **state)
{
	void *p = lib_err_ptr(-ENOMEM);
	int x;

	(void)state;
	assert_true(lib_is_err(p));
	assert_int_equal(lib_ptr_err(p), -ENOMEM);
	assert_true(lib_is_err(lib_err_ptr(-LIB_MAX_ERRNO)));
	assert_false(lib_is_err(lib_err_ptr(-LIB_MAX_ERRNO - 1)));
	assert_false(lib_is_err(&x));
	assert_false(lib_is_err(NULL));
	assert_true(lib_is_err_or_null(NULL));
	assert_true(lib_is_err_or_null(p));
	assert_false(lib_is_err_or_null(&x));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_name_matches_linux_numbers),
		cmocka_unit_test(test_err_name_agrees_with_host_errno),
		cmocka_unit_test(test_err_name_covers_every_number_but_the_aliases),
		cmocka_unit_test(test_err_aliases_map_to_primary_numbers),
		cmocka_unit_test(test_err_unknown_is_null_or_zero),
		cmocka_unit_test(test_err_ptr_round_trips),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
