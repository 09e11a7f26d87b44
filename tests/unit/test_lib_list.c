/* SPDX-License-Identifier: MIT */
/* Intrusive lists. */
#include "mvtest.h"
#include "lib/list.h"

struct item {
	int v;
	struct lib_list link;
};

static void collect(struct lib_list *head, int *out, int *n)
{
	struct item *it;

	*n = 0;
	lib_list_for_each_entry(it, head, link)
		out[(*n)++] = it->v;
}

static void test_list_add_and_add_tail_order(void **state)
{
	struct lib_list head = LIB_LIST_INIT(head);
	struct item a = { .v = 1 }, b = { .v = 2 }, c = { .v = 3 };
	int got[3], n;

	(void)state;
	assert_true(lib_list_empty(&head));
	lib_list_add_tail(&b.link, &head);
	lib_list_add(&a.link, &head);
	lib_list_add_tail(&c.link, &head);
	collect(&head, got, &n);
	assert_int_equal(n, 3);
	assert_int_equal(got[0], 1);
	assert_int_equal(got[1], 2);
	assert_int_equal(got[2], 3);
	assert_ptr_equal(lib_list_first_entry(&head, struct item, link), &a);
}

static void test_list_del_is_idempotent(void **state)
{
	struct lib_list head;
	struct item a = { .v = 1 }, b = { .v = 2 };
	int got[2], n;

	(void)state;
	lib_list_init(&head);
	lib_list_add_tail(&a.link, &head);
	lib_list_add_tail(&b.link, &head);
	lib_list_del(&a.link);
	lib_list_del(&a.link);
	collect(&head, got, &n);
	assert_int_equal(n, 1);
	assert_int_equal(got[0], 2);
	assert_true(lib_list_empty(&a.link));
	lib_list_del(&b.link);
	assert_true(lib_list_empty(&head));
}

static void test_list_safe_iteration_allows_deletion(void **state)
{
	struct lib_list head = LIB_LIST_INIT(head);
	struct item items[5], *it, *tmp;
	int i, got[5], n;

	(void)state;
	for (i = 0; i < 5; i++) {
		items[i].v = i;
		lib_list_add_tail(&items[i].link, &head);
	}
	lib_list_for_each_entry_safe(it, tmp, &head, link) {
		if (it->v % 2 == 0)
			lib_list_del(&it->link);
	}
	collect(&head, got, &n);
	assert_int_equal(n, 2);
	assert_int_equal(got[0], 1);
	assert_int_equal(got[1], 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_add_and_add_tail_order),
		cmocka_unit_test(test_list_del_is_idempotent),
		cmocka_unit_test(test_list_safe_iteration_allows_deletion),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
