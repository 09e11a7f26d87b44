/* SPDX-License-Identifier: MIT */
/*
 * guest_memfd creation (KVM_CREATE_GUEST_MEMFD's checks, through
 * gmem_create), one inode per fd, the reference on the owner, and the
 * bindings an owner makes on the file.
 */
#include "gmemtest.h"

static const struct {
	const char *name;
	uint64_t size, flags;
	long expect;           /* 0: an fd */
} create_rows[] = {
	{ "no_flags", 4 * GT_PG, 0, 0 },
	{ "flag_mmap", 4 * GT_PG, GUEST_MEMFD_FLAG_MMAP, 0 },
	/* the host accepts INIT_SHARED without MMAP (6.18): the host wins */
	{ "flag_init_shared_alone", 4 * GT_PG, GUEST_MEMFD_FLAG_INIT_SHARED, 0 },
	{ "flag_both", 4 * GT_PG, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED, 0 },
	{ "flag_bit2", 4 * GT_PG, 1ull << 2, -EINVAL },
	{ "flag_bit63", 4 * GT_PG, 1ull << 63, -EINVAL },
	{ "size_zero", 0, 0, -EINVAL },
	{ "size_unaligned", 100, 0, -EINVAL },
	{ "size_page_plus_one", GT_PG + 1, 0, -EINVAL },
	{ "size_negative_loff", 1ull << 63, 0, -EINVAL },
	{ "size_max_aligned", ~0ull << 12, 0, -EINVAL },
	{ "size_2m_plus_page", GT_2M + GT_PG, 0, 0 },
	{ "size_1t", 1ull << 40, 0, 0 },
	{ "size_2_pow_62", 1ull << 62, 0, 0 },
};

static void test_gmem_create_errno_table(void **state)
{
	struct gmemtest *g = *state;

	for (size_t i = 0; i < sizeof(create_rows) / sizeof(create_rows[0]); i++) {
		long fd = gt_create(g, create_rows[i].size, create_rows[i].flags);

		if (create_rows[i].expect) {
			if (fd != create_rows[i].expect)
				fail_msg("%s: got %ld", create_rows[i].name, fd);
			continue;
		}
		if (fd < 0)
			fail_msg("%s: got %ld", create_rows[i].name, fd);
		gt_close(g, fd);
	}
	assert_int_equal(g->owner.refs, 0);
}

static void test_gmem_create_one_inode_per_fd(void **state)
{
	struct gmemtest *g = *state;
	long a = gt_create(g, GT_PG, 0), b = gt_create(g, GT_PG, 0);
	long c = MVTEST_SYSCALL(g->t, MV_SYS_dup, a);
	struct stat sa, sb, sc;

	assert_true(a >= 0 && b >= 0 && c >= 0);
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_fstat, a, &sa), 0);
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_fstat, b, &sb), 0);
	assert_int_equal(MVTEST_SYSCALL(g->t, MV_SYS_fstat, c, &sc), 0);
	assert_int_not_equal(sa.st_ino, sb.st_ino);
	assert_int_equal(sa.st_ino, sc.st_ino);
}

static void test_gmem_create_holds_the_owner(void **state)
{
	struct gmemtest *g = *state;
	long fd = gt_create(g, GT_2M, 0);
	struct file *f = gt_file(g, fd);

	assert_int_equal(g->owner.refs, 1);
	assert_ptr_equal(gmem_owner(f), &g->owner);
	assert_int_equal(gmem_size(f), GT_2M);
	file_put(f);
	gt_close(g, fd);
	assert_int_equal(g->owner.refs, 0);
}

static void test_gmem_create_outlives_the_owner_fd(void **state)
{
	struct gmemtest *g = *state;
	long fd = gt_create(g, GT_2M, 0);
	struct file *f;

	/* the owner's own reference goes (the VM fd is closed); the file keeps it alive */
	assert_int_equal(g->owner.refs, 1);
	assert_int_equal(gt_fallocate(g, fd, GT_KEEP, 0, GT_PG), 0);
	f = gt_file(g, fd);
	gt_poke(g, f, 0, 0x5a);
	assert_int_equal(gt_peek(g, f, 0), 0x5a);
	file_put(f);
	gt_close(g, fd);
	assert_int_equal(g->owner.refs, 0);
	assert_int_equal(gt_frames_free(g->m), g->free_at_start);
}

static void test_gmem_create_bind_errno_table(void **state)
{
	struct gmemtest *g = *state;
	long fd = gt_create(g, 16 * GT_PG, 0);
	long memfd = MVTEST_SYSCALL(g->t, MV_SYS_memfd_create, "x", 0);
	struct file *f = gt_file(g, fd), *shm = fd_get(g->t, (int)memfd);
	struct gmem_binding b1, b2;
	struct gt_owner other = { 0 };
	int slot1, slot2;

	assert_int_equal(gmem_bind(f, &g->owner, &b1, 4, 4, &slot1), 0);
	assert_int_equal(gmem_bind(shm, &g->owner, &b2, 0, 1, &slot2), -EINVAL);   /* not a gmem */
	assert_int_equal(gmem_bind(f, &other, &b2, 0, 1, &slot2), -EINVAL);        /* another VM's */
	assert_int_equal(gmem_bind(f, &g->owner, &b2, 0, 0, &slot2), -EINVAL);     /* empty */
	assert_int_equal(gmem_bind(f, &g->owner, &b2, 12, 5, &slot2), -EINVAL);    /* past EOF */
	assert_int_equal(gmem_bind(f, &g->owner, &b2, 7, 2, &slot2), -EINVAL);     /* overlap */
	assert_int_equal(gmem_bind(f, &g->owner, &b2, ~0ull, 2, &slot2), -EINVAL); /* wraps */
	assert_int_equal(gmem_bind(f, &g->owner, &b2, 8, 8, &slot2), 0);           /* adjacent */
	assert_ptr_equal(gmem_binding_at(f, 4), &slot1);
	assert_ptr_equal(gmem_binding_at(f, 7), &slot1);
	assert_ptr_equal(gmem_binding_at(f, 8), &slot2);
	assert_null(gmem_binding_at(f, 3));
	gmem_unbind(f, &b1);
	assert_null(gmem_binding_at(f, 4));
	gmem_unbind(f, &b2);
	file_put(shm);
	file_put(f);
}

struct gt_slot {
	struct file *f;        /* not a reference, as a memslot's */
	int gone, tryget_ok;
};

/* The owner's side: the file is being released, no reference can be had. */
static void gt_binding_released(struct gmem_binding *b)
{
	struct gt_slot *s = b->data;

	s->gone++;
	if (gmem_file_tryget(s->f))
		s->tryget_ok++;
}

/* Bindings hold no reference: closing the last fd unlinks them and tells the owner. */
static void test_gmem_create_release_tells_the_bindings(void **state)
{
	struct gmemtest *g = *state;
	long fd = gt_create(g, 16 * GT_PG, 0);
	struct gt_slot slot = { .f = gt_file(g, fd) };
	struct gmem_binding b1 = { .released = gt_binding_released };
	struct gmem_binding b2 = { .released = gt_binding_released };

	assert_int_equal(gmem_bind(slot.f, &g->owner, &b1, 0, 4, &slot), 0);
	assert_int_equal(gmem_bind(slot.f, &g->owner, &b2, 4, 4, &slot), 0);
	/* while an fd is open the owner can take a reference through its binding */
	assert_true(gmem_file_tryget(slot.f));
	file_put(slot.f);
	file_put(slot.f);
	assert_int_equal(slot.gone, 0);
	gt_close(g, fd);
	assert_int_equal(slot.gone, 2);
	assert_int_equal(slot.tryget_ok, 0);
	assert_int_equal(g->owner.refs, 0);
}

int main(void)
{
#define GT(fn) cmocka_unit_test_setup_teardown(fn, gt_setup, gt_teardown)
	const struct CMUnitTest tests[] = {
		GT(test_gmem_create_errno_table),
		GT(test_gmem_create_one_inode_per_fd),
		GT(test_gmem_create_holds_the_owner),
		GT(test_gmem_create_outlives_the_owner_fd),
		GT(test_gmem_create_bind_errno_table),
		GT(test_gmem_create_release_tells_the_bindings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
