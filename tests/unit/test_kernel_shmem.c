/* SPDX-License-Identifier: MIT */
/*
 * shmem files and the page cache: memfd_create's checks, read/write,
 * fallocate (allocate, KEEP_SIZE, punch hole), ftruncate, page counts,
 * shared mappings, and that every frame comes back.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "mvtest.h"
#include "api/api.h"
#include "kernel/kernel.h"
#include "lib/alloc.h"

#define PG 4096L

struct shtest {
	struct mv_machine *m;
	struct mv_task *t;
	long fd;
};

static int shtest_setup(void **state)
{
	struct shtest *s = test_calloc(1, sizeof(*s));

	s->t = mvtest_task(&s->m);
	s->fd = MVTEST_SYSCALL(s->t, MV_SYS_memfd_create, "shmem-test", 0);
	assert_true(s->fd >= 0);
	*state = s;
	return 0;
}

static int shtest_teardown(void **state)
{
	struct shtest *s = *state;

	mv_machine_destroy(s->m);
	test_free(s);
	return 0;
}

static uint64_t frames_free(struct mv_machine *m)
{
	struct mv_machine_stats st;

	mv_machine_get_stats(m, &st);
	return st.frames_free;
}

/* Pages in the file's page cache, read from the kernel's own structures. */
static uint64_t cache_pages(struct mv_task *t, long fd)
{
	struct file *f = fd_get(t, (int)fd);
	uint64_t n;

	assert_non_null(f);
	assert_true(file_is_shmem(f));
	n = f->mapping->nr_pages;
	file_put(f);
	return n;
}

static struct stat stat_fd(struct mv_task *t, long fd)
{
	struct stat st;

	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_fstat, fd, &st), 0);
	return st;
}

static void fill(struct mv_task *t, long fd, int c, long off, long len)
{
	static char buf[8 * PG];

	assert_true(len <= (long)sizeof(buf));
	memset(buf, c, (size_t)len);
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_pwrite64, fd, buf, len, off), len);
}

/* Asserts that bytes [off, off + len) all read as @c. */
static void expect_bytes(struct mv_task *t, long fd, int c, long off, long len)
{
	static char buf[8 * PG];

	assert_true(len <= (long)sizeof(buf));
	assert_int_equal(MVTEST_SYSCALL(t, MV_SYS_pread64, fd, buf, len, off), len);
	for (long i = 0; i < len; i++)
		if (buf[i] != (char)c)
			fail_msg("byte %ld is %d, want %d", off + i, buf[i], c);
}

static void test_shmem_memfd_create_errno_table(void **state)
{
	static char name249[250], name250[251];
	static const struct {
		const char *what;
		const char *name;
		unsigned int flags;
		long expect;   /* < 0 errno, else success */
	} rows[] = {
		{ "NULL name",              NULL, 0, -EFAULT },
		{ "name in page 0",         (const char *)8, 0, -EFAULT },
		{ "name of 250",            name250, 0, -EINVAL },
		{ "name of 249",            name249, 0, 0 },
		{ "empty name",             "", 0, 0 },
		{ "unknown flag",           "x", 0x100, -EINVAL },
		{ "flags before name",      NULL, 0x100, -EINVAL },
		{ "huge size without HUGETLB", "x", 21u << 26, -EINVAL },
		{ "EXEC with NOEXEC_SEAL",  "x", MFD_EXEC | MFD_NOEXEC_SEAL, -EINVAL },
		{ "HUGETLB (no hugetlbfs)", "x", MFD_HUGETLB, -ENOSYS },
		{ "HUGETLB bad size bits",  "x", MFD_HUGETLB | 0x800000u, -EINVAL },
		{ "all ordinary flags",     "x", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC, 0 },
		{ "NOEXEC_SEAL",            "x", MFD_NOEXEC_SEAL, 0 },
	};
	struct shtest *s = *state;

	memset(name249, 'n', sizeof(name249) - 1);
	memset(name250, 'n', sizeof(name250) - 1);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		long ret = MVTEST_SYSCALL(s->t, MV_SYS_memfd_create, rows[i].name, rows[i].flags);

		if (rows[i].expect < 0 ? ret != rows[i].expect : ret < 0)
			fail_msg("%s: got %ld, want %ld", rows[i].what, ret, rows[i].expect);
	}
}

static void test_shmem_write_read_round_trip(void **state)
{
	struct shtest *s = *state;
	char in[3 * PG + 10], out[sizeof(in)];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (char)(i ^ (i >> 8));
	assert_int_equal(MVTEST_SYSCALL(s->t, MV_SYS_pwrite64, s->fd, in, sizeof(in), 100),
			 sizeof(in));
	assert_int_equal(stat_fd(s->t, s->fd).st_size, 100 + sizeof(in));
	assert_int_equal(cache_pages(s->t, s->fd), 4);
	assert_int_equal(MVTEST_SYSCALL(s->t, MV_SYS_pread64, s->fd, out, sizeof(out), 100),
			 sizeof(out));
	assert_memory_equal(in, out, sizeof(in));
	expect_bytes(s->t, s->fd, 0, 0, 100);
}

static void test_shmem_holes_read_zeroes_without_allocating(void **state)
{
	struct shtest *s = *state;

	assert_int_equal(MVTEST_SYSCALL(s->t, MV_SYS_ftruncate, s->fd, 5 * PG), 0);
	expect_bytes(s->t, s->fd, 0, 0, 5 * PG);
	assert_int_equal(cache_pages(s->t, s->fd), 0);
	assert_int_equal(stat_fd(s->t, s->fd).st_blocks, 0);
}

static void test_shmem_fallocate_errno_table(void **state)
{
	enum { FD_MEMFD, FD_NULL, FD_ZERO_RO, FD_DIR, FD_BAD };
	static const struct {
		const char *what;
		int file;
		int mode;
		int64_t off, len;
		long expect;
	} rows[] = {
		{ "negative offset",         FD_MEMFD, 0, -1, PG, -EINVAL },
		{ "zero length",             FD_MEMFD, 0, 0, 0, -EINVAL },
		{ "negative length",         FD_MEMFD, 0, 0, -PG, -EINVAL },
		{ "bad fd",                  FD_BAD, 0, 0, PG, -EBADF },
		{ "bad fd before EINVAL",    FD_BAD, 0, -1, 0, -EBADF },
		{ "punch without KEEP_SIZE", FD_MEMFD, FALLOC_FL_PUNCH_HOLE, 0, PG, -EOPNOTSUPP },
		{ "unknown mode bit",        FD_MEMFD, 0x100, 0, PG, -EOPNOTSUPP },
		{ "NO_HIDE_STALE",           FD_MEMFD, FALLOC_FL_NO_HIDE_STALE, 0, PG, -EOPNOTSUPP },
		{ "punch and zero",          FD_MEMFD,
		  FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, PG,
		  -EOPNOTSUPP },
		{ "collapse with KEEP_SIZE", FD_MEMFD,
		  FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_KEEP_SIZE, 0, PG, -EOPNOTSUPP },
		{ "ZERO_RANGE (shmem)",      FD_MEMFD, FALLOC_FL_ZERO_RANGE, 0, PG, -EOPNOTSUPP },
		{ "COLLAPSE (shmem)",        FD_MEMFD, FALLOC_FL_COLLAPSE_RANGE, 0, PG, -EOPNOTSUPP },
		{ "INSERT (shmem)",          FD_MEMFD, FALLOC_FL_INSERT_RANGE, 0, PG, -EOPNOTSUPP },
		{ "UNSHARE (shmem)",         FD_MEMFD, FALLOC_FL_UNSHARE_RANGE, 0, PG, -EOPNOTSUPP },
		{ "offset + len overflows",  FD_MEMFD, 0, LLONG_MAX - PG, 2 * PG, -EFBIG },
		{ "punch overflows too",     FD_MEMFD, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		  LLONG_MAX, 1, -EFBIG },
		{ "character device",        FD_NULL, 0, 0, PG, -ENODEV },
		{ "read-only fd",            FD_ZERO_RO, 0, 0, PG, -EBADF },
		{ "read-only directory",     FD_DIR, 0, 0, PG, -EBADF },
		{ "mode checked before fd mode", FD_ZERO_RO, 0x100, 0, PG, -EOPNOTSUPP },
		{ "punch past EOF",          FD_MEMFD, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		  1ll << 40, PG, 0 },
		{ "allocate",                FD_MEMFD, 0, 0, PG, 0 },
		{ "KEEP_SIZE",               FD_MEMFD, FALLOC_FL_KEEP_SIZE, PG, 1, 0 },
	};
	struct shtest *s = *state;
	long fds[] = {
		s->fd,
		MVTEST_SYSCALL(s->t, MV_SYS_openat, AT_FDCWD, "/dev/null", O_RDWR),
		MVTEST_SYSCALL(s->t, MV_SYS_openat, AT_FDCWD, "/dev/zero", O_RDONLY),
		MVTEST_SYSCALL(s->t, MV_SYS_openat, AT_FDCWD, "/dev", O_RDONLY),
		444,
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		long ret = MVTEST_SYSCALL(s->t, MV_SYS_fallocate, fds[rows[i].file], rows[i].mode,
					  rows[i].off, rows[i].len);

		if (ret != rows[i].expect)
			fail_msg("%s: got %ld, want %ld", rows[i].what, ret, rows[i].expect);
	}
}

static void test_shmem_fallocate_extends_unless_keep_size(void **state)
{
	struct shtest *s = *state;
	struct stat st;

	assert_int_equal(MVTEST_SYSCALL(s->t, MV_SYS_fallocate, s->fd, 0, 100, 2 * PG), 0);
	st = stat_fd(s->t, s->fd);
	assert_int_equal(st.st_size, 100 + 2 * PG);
	assert_int_equal(st.st_blocks, 3 * 8);   /* pages 0, 1 and 2 */
	assert_int_equal(MVTEST_SYSCALL(s->t, MV_SYS_fallocate, s->fd, FALLOC_FL_KEEP_SIZE,
					10 * PG, PG), 0);
	st = stat_fd(s->t, s->fd);
	assert_int_equal(st.st_size, 100 + 2 * PG);
	assert_int_equal(st.st_blocks, 4 * 8);
	/* allocating what is there keeps the data */
	fill(s->t, s->fd, 'q', 0, PG);
	assert_int_equal(MVTEST_SYSCALL(s->t, MV_SYS_fallocate, s->fd, 0, 0, 4 * PG), 0);
	expect_bytes(s->t, s->fd, 'q', 0, PG);
	expect_bytes(s->t, s->fd, 0, PG, 3 * PG);
	assert_int_equal(stat_fd(s->t, s->fd).st_size, 4 * PG);
	/* a smaller range never shrinks the file */
	assert_int_equal(MVTEST_SYSCALL(s->t, MV_SYS_fallocate, s->fd, 0, 0, 1), 0);
	assert_int_equal(stat_fd(s->t, s->fd).st_size, 4 * PG);
}

static void test_shmem_fallocate_failure_undoes_its_pages(void **state)
{
	struct shtest *s = *state;
	uint64_t before;

	fill(s->t, s->fd, 'k', 2 * PG, PG);
	before = frames_free(s->m);
	lib_fail_after(5);
	assert_int_equal(MVTEST_SYSCALL(s->t, MV_SYS_fallocate, s->fd, 0, 0, 8 * PG), -ENOMEM);
	lib_fail_after(0);
	assert_int_equal(cache_pages(s->t, s->fd), 1);
	assert_int_equal(stat_fd(s->t, s->fd).st_size, 3 * PG);
	assert_int_equal(frames_free(s->m), before);
	expect_bytes(s->t, s->fd, 'k', 2 * PG, PG);
}

static void test_shmem_punch_hole_zeroes_exactly_the_range(void **state)
{
	struct shtest *s = *state;

	fill(s->t, s->fd, 0x77, 0, 4 * PG);
	assert_int_equal(cache_pages(s->t, s->fd), 4);
	/* from inside page 0 to inside page 2: page 1 goes, the edges are zeroed */
	assert_int_equal(MVTEST_SYSCALL(s->t, MV_SYS_fallocate, s->fd,
					FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100,
					2 * PG + 200 - 100), 0);
	expect_bytes(s->t, s->fd, 0x77, 0, 100);
	expect_bytes(s->t, s->fd, 0, 100, 2 * PG + 100);
	expect_bytes(s->t, s->fd, 0x77, 2 * PG + 200, 2 * PG - 200);
	assert_int_equal(cache_pages(s->t, s->fd), 3);
	assert_int_equal(stat_fd(s->t, s->fd).st_size, 4 * PG);
	/* within one page */
	assert_int_equal(MVTEST_SYSCALL(s->t, MV_SYS_fallocate, s->fd,
					FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 3 * PG + 10, 5), 0);
	expect_bytes(s->t, s->fd, 0x77, 3 * PG, 10);
	expect_bytes(s->t, s->fd, 0, 3 * PG + 10, 5);
	expect_bytes(s->t, s->fd, 0x77, 3 * PG + 15, PG - 15);
	/* whole aligned pages */
	assert_int_equal(MVTEST_SYSCALL(s->t, MV_SYS_fallocate, s->fd,
					FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2 * PG, 2 * PG), 0);
	assert_int_equal(cache_pages(s->t, s->fd), 1);
	expect_bytes(s->t, s->fd, 0, 2 * PG, 2 * PG);
	assert_int_equal(stat_fd(s->t, s->fd).st_size, 4 * PG);
}

static void test_shmem_ftruncate_shrinks_and_grows(void **state)
{
	struct shtest *s = *state;

	fill(s->t, s->fd, 0x33, 0, 3 * PG);
	assert_int_equal(MVTEST_SYSCALL(s->t, MV_SYS_ftruncate, s->fd, PG + 100), 0);
	assert_int_equal(stat_fd(s->t, s->fd).st_size, PG + 100);
	assert_int_equal(cache_pages(s->t, s->fd), 2);
	/* growing again shows zeroes past the old end, even inside the kept page */
	assert_int_equal(MVTEST_SYSCALL(s->t, MV_SYS_ftruncate, s->fd, 3 * PG), 0);
	expect_bytes(s->t, s->fd, 0x33, 0, PG + 100);
	expect_bytes(s->t, s->fd, 0, PG + 100, 2 * PG - 100);
	assert_int_equal(cache_pages(s->t, s->fd), 2);
	/* truncating to the same size drops pages fallocated past EOF */
	assert_int_equal(MVTEST_SYSCALL(s->t, MV_SYS_fallocate, s->fd, FALLOC_FL_KEEP_SIZE,
					8 * PG, PG), 0);
	assert_int_equal(cache_pages(s->t, s->fd), 3);
	assert_int_equal(MVTEST_SYSCALL(s->t, MV_SYS_ftruncate, s->fd, 3 * PG), 0);
	assert_int_equal(cache_pages(s->t, s->fd), 2);
	assert_int_equal(MVTEST_SYSCALL(s->t, MV_SYS_ftruncate, s->fd, 0), 0);
	assert_int_equal(cache_pages(s->t, s->fd), 0);
}

static void test_shmem_ftruncate_errno_table(void **state)
{
	enum { FD_MEMFD, FD_NULL, FD_DIR, FD_BAD };
	static const struct {
		const char *what;
		int file;
		int64_t len;
		long expect;
	} rows[] = {
		{ "negative length",        FD_MEMFD, -1, -EINVAL },
		{ "negative before bad fd", FD_BAD, -1, -EINVAL },
		{ "bad fd",                 FD_BAD, 0, -EBADF },
		{ "character device",       FD_NULL, 0, -EINVAL },
		{ "directory",              FD_DIR, 0, -EINVAL },
		{ "largest size",           FD_MEMFD, LLONG_MAX, 0 },
		{ "back to zero",           FD_MEMFD, 0, 0 },
	};
	struct shtest *s = *state;
	long fds[] = {
		s->fd,
		MVTEST_SYSCALL(s->t, MV_SYS_openat, AT_FDCWD, "/dev/null", O_RDWR),
		MVTEST_SYSCALL(s->t, MV_SYS_openat, AT_FDCWD, "/dev", O_RDONLY),
		444,
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		long ret = MVTEST_SYSCALL(s->t, MV_SYS_ftruncate, fds[rows[i].file], rows[i].len);

		if (ret != rows[i].expect)
			fail_msg("%s: got %ld, want %ld", rows[i].what, ret, rows[i].expect);
	}
}

static void test_shmem_close_returns_every_frame(void **state)
{
	struct shtest *s = *state;
	uint64_t before = frames_free(s->m);
	long fd = MVTEST_SYSCALL(s->t, MV_SYS_memfd_create, "leak", 0);
	long dup;

	fill(s->t, fd, 1, 0, 8 * PG);
	assert_int_equal(MVTEST_SYSCALL(s->t, MV_SYS_fallocate, fd, 0, 100 * PG, 50 * PG), 0);
	assert_true(frames_free(s->m) <= before - 58);
	dup = MVTEST_SYSCALL(s->t, MV_SYS_dup, fd);
	assert_int_equal(MVTEST_SYSCALL(s->t, MV_SYS_close, fd), 0);
	assert_true(frames_free(s->m) <= before - 58);   /* the dup keeps the file */
	assert_int_equal(MVTEST_SYSCALL(s->t, MV_SYS_close, dup), 0);
	assert_int_equal(frames_free(s->m), before);
}

static void test_shmem_mmap_shares_the_page_cache(void **state)
{
	struct shtest *s = *state;
	uint64_t before = frames_free(s->m);
	long fd = MVTEST_SYSCALL(s->t, MV_SYS_memfd_create, "map", 0);
	char buf[16];
	long addr;

	assert_int_equal(MVTEST_SYSCALL(s->t, MV_SYS_ftruncate, fd, 2 * PG), 0);
	addr = MVTEST_SYSCALL(s->t, MV_SYS_mmap, 0, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED,
			      fd, 0);
	assert_true(addr > 0);
	assert_int_equal(mv_user_write(s->t, (uint64_t)addr + PG + 5, "mapped", 6), 0);
	expect_bytes(s->t, fd, 0, PG, 5);
	assert_int_equal(MVTEST_SYSCALL(s->t, MV_SYS_pread64, fd, buf, 6, PG + 5), 6);
	assert_memory_equal(buf, "mapped", 6);
	assert_int_equal(MVTEST_SYSCALL(s->t, MV_SYS_pwrite64, fd, "file", 4, 0), 4);
	assert_int_equal(mv_user_read(s->t, (uint64_t)addr, buf, 4), 0);
	assert_memory_equal(buf, "file", 4);
	/* punching drops the page from the mapping too */
	assert_int_equal(MVTEST_SYSCALL(s->t, MV_SYS_fallocate, fd,
					FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, PG, PG), 0);
	assert_int_equal(mv_user_read(s->t, (uint64_t)addr + PG + 5, buf, 6), 0);
	assert_memory_equal(buf, "\0\0\0\0\0\0", 6);
	/* past EOF is SIGBUS */
	assert_int_equal(mv_user_read(s->t, (uint64_t)addr + 2 * PG, buf, 1), -EFAULT);
	mvtest_expect_signal(s->t, SIGBUS, BUS_ADRERR, (uint64_t)addr + 2 * PG);
	/* shrinking unmaps: the old page is gone, the access is SIGBUS */
	assert_int_equal(MVTEST_SYSCALL(s->t, MV_SYS_ftruncate, fd, 0), 0);
	assert_int_equal(mv_user_read(s->t, (uint64_t)addr, buf, 1), -EFAULT);
	mvtest_expect_signal(s->t, SIGBUS, BUS_ADRERR, (uint64_t)addr);
	assert_int_equal(MVTEST_SYSCALL(s->t, MV_SYS_close, fd), 0);
	assert_int_equal(MVTEST_SYSCALL(s->t, MV_SYS_munmap, addr, 3 * PG), 0);
	assert_true(frames_free(s->m) + 8 >= before);   /* page tables may stay */
}

static void test_shmem_dev_zero_mappings(void **state)
{
	struct shtest *s = *state;
	long zfd = MVTEST_SYSCALL(s->t, MV_SYS_openat, AT_FDCWD, "/dev/zero", O_RDWR);
	long priv, shared;
	struct mv_task *child = NULL;
	char c = 0;

	priv = MVTEST_SYSCALL(s->t, MV_SYS_mmap, 0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, zfd, 0);
	shared = MVTEST_SYSCALL(s->t, MV_SYS_mmap, 0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, zfd,
				0);
	assert_true(priv > 0 && shared > 0);
	assert_int_equal(mv_user_write(s->t, (uint64_t)priv, "p", 1), 0);
	assert_int_equal(mv_user_write(s->t, (uint64_t)shared, "s", 1), 0);
	assert_int_equal(mv_task_clone(s->t, 0, &child), 0);
	/* after fork, a shared /dev/zero page is shared, a private one copied */
	assert_int_equal(mv_user_write(child, (uint64_t)priv, "P", 1), 0);
	assert_int_equal(mv_user_write(child, (uint64_t)shared, "S", 1), 0);
	assert_int_equal(mv_user_read(s->t, (uint64_t)priv, &c, 1), 0);
	assert_int_equal(c, 'p');
	assert_int_equal(mv_user_read(s->t, (uint64_t)shared, &c, 1), 0);
	assert_int_equal(c, 'S');
	mv_task_exit(child);
	/* /dev/null cannot be mapped */
	assert_int_equal(MVTEST_SYSCALL(s->t, MV_SYS_mmap, 0, PG, PROT_READ, MAP_PRIVATE,
					MVTEST_SYSCALL(s->t, MV_SYS_openat, AT_FDCWD, "/dev/null",
						       O_RDWR), 0), -ENODEV);
}

int main(void)
{
#define SHT(fn) cmocka_unit_test_setup_teardown(fn, shtest_setup, shtest_teardown)
	const struct CMUnitTest tests[] = {
		SHT(test_shmem_memfd_create_errno_table),
		SHT(test_shmem_write_read_round_trip),
		SHT(test_shmem_holes_read_zeroes_without_allocating),
		SHT(test_shmem_fallocate_errno_table),
		SHT(test_shmem_fallocate_extends_unless_keep_size),
		SHT(test_shmem_fallocate_failure_undoes_its_pages),
		SHT(test_shmem_punch_hole_zeroes_exactly_the_range),
		SHT(test_shmem_ftruncate_shrinks_and_grows),
		SHT(test_shmem_ftruncate_errno_table),
		SHT(test_shmem_close_returns_every_frame),
		SHT(test_shmem_mmap_shares_the_page_cache),
		SHT(test_shmem_dev_zero_mappings),
	};
#undef SHT

	return cmocka_run_group_tests(tests, NULL, NULL);
}
