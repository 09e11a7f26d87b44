/* SPDX-License-Identifier: MIT */
/*
 * /dev/sgx_vepc, the file's rules (Linux's sgx/virt.c): present only with
 * SGX (and under the RFC's name with abi = seed), MAP_SHARED only,
 * REMOVE_ALL's argument and unknown ioctls, PFN-map semantics (not copied
 * on fork, not reachable by GUP, no MADV_DOFORK), one EPC page per file
 * page on first touch, SIGBUS when the EPC is full.
 */
#include "sgxtest.h"

struct vt {
	struct mv_machine *m;
	struct mv_task *t;
	int fd;
};

static void vt_setup(struct vt *v, uint64_t epc_pages)
{
	v->m = sgt_machine(epc_pages);
	assert_int_equal(mv_task_spawn(v->m, &v->t), 0);
	v->fd = sgt_open_vepc(v->t);
}

static long vt_open(struct mv_machine *m, const char *path)
{
	struct mv_task *t;

	assert_int_equal(mv_task_spawn(m, &t), 0);
	return mv_syscall(t, MV_SYS_openat, (uint64_t)AT_FDCWD, (uint64_t)(uintptr_t)path, O_RDWR,
			  0, 0, 0);
}

/* The device exists only on a machine with SGX; the RFC's name only with abi = seed. */
static void test_sgx_vepc_device_presence(void **state)
{
	static const struct {
		uint64_t features_off;
		uint32_t abi;
		const char *path;
		int ok;
	} rows[] = {
		{ 0, MV_ABI_MAINLINE, "/dev/sgx_vepc", 1 },
		{ 0, MV_ABI_MAINLINE, "/dev/sgx_virt_epc", 0 },
		{ 0, MV_ABI_SEED, "/dev/sgx_virt_epc", 1 },
		{ 0, MV_ABI_SEED, "/dev/sgx_vepc", 1 },
		{ MV_FEAT_SGX, MV_ABI_MAINLINE, "/dev/sgx_vepc", 0 },
		{ MV_FEAT_SGX, MV_ABI_SEED, "/dev/sgx_virt_epc", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct mv_machine_config cfg = { .features_off = rows[i].features_off,
						 .abi = rows[i].abi, .epc_bytes = 16 * KT_PG };
		struct mv_machine *m;
		struct mv_machine_stats st;
		long fd;

		assert_int_equal(mv_machine_create(&cfg, &m), 0);
		fd = vt_open(m, rows[i].path);
		if (rows[i].ok)
			assert_true(fd >= 0);
		else
			assert_int_equal(fd, -ENOENT);
		mv_machine_get_stats(m, &st);
		assert_int_equal(st.epc_pages_total, rows[i].features_off ? 0 : 16);
		mv_machine_destroy(m);
	}
}

/* Each row one call on a vEPC file and the result Linux gives. */
static void test_sgx_vepc_file_rules(void **state)
{
	struct vt v;

	(void)state;
	vt_setup(&v, 16);
	const uint64_t fd = (uint64_t)v.fd;
	const struct {
		const char *what;
		long nr;
		uint64_t a[6];
		long want;
	} rows[] = {
		{ "mmap MAP_PRIVATE", MV_SYS_mmap,
		  { 0, 4 * KT_PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0 }, -EINVAL },
		{ "REMOVE_ALL with arg 1", MV_SYS_ioctl, { fd, SGX_IOC_VEPC_REMOVE_ALL, 1 }, -EINVAL },
		{ "unknown ioctl", MV_SYS_ioctl, { fd, _IO(SGX_MAGIC, 0x07), 0 }, -ENOTTY },
		{ "KVM ioctl on a vEPC", MV_SYS_ioctl, { fd, KVM_GET_API_VERSION, 0 }, -ENOTTY },
		{ "REMOVE_ALL on an empty vEPC", MV_SYS_ioctl, { fd, SGX_IOC_VEPC_REMOVE_ALL, 0 }, 0 },
		{ "read", MV_SYS_read, { fd, 0x1000, 8 }, -EINVAL },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		long r = mv_syscall(v.t, rows[i].nr, rows[i].a[0], rows[i].a[1], rows[i].a[2],
				    rows[i].a[3], rows[i].a[4], rows[i].a[5]);

		if (r != rows[i].want)
			fail_msg("%s: %ld, want %ld", rows[i].what, r, rows[i].want);
	}
	mv_machine_destroy(v.m);
}

/* MAP_SHARED: each first touch takes one EPC page; a second touch, or another mapping of the same offset, none. */
static void test_sgx_vepc_first_touch_allocates_one_page(void **state)
{
	struct vt v;
	uint64_t a, b, x;

	(void)state;
	vt_setup(&v, 16);
	a = sgt_map_vepc(v.t, v.fd, 8);
	assert_int_equal(sgt_free(v.m), 16);
	assert_int_equal(mv_user_read(v.t, a, &x, 8), 0);
	assert_int_equal(sgt_free(v.m), 15);
	assert_int_equal(mv_user_read(v.t, a + 8, &x, 8), 0);
	assert_int_equal(sgt_free(v.m), 15);
	assert_int_equal(mv_user_read(v.t, a + 5 * KT_PG, &x, 8), 0);
	assert_int_equal(sgt_free(v.m), 14);
	b = sgt_map_vepc(v.t, v.fd, 8);   /* same file, offset 0 */
	assert_int_equal(mv_user_read(v.t, b + 5 * KT_PG, &x, 8), 0);
	assert_int_equal(sgt_free(v.m), 14);
	{
		uint64_t pa1 = 0, pa2 = 0;

		assert_int_equal(sgx_vepc_lookup(v.t, v.fd, 5, &pa1), 0);
		assert_true(hw_pa_is_epc(&v.m->hw, pa1));
		assert_int_equal(sgx_vepc_lookup(v.t, v.fd, 1, &pa2), -ENOENT);
	}
	mv_machine_destroy(v.m);
}

/* The EPC full and nothing reclaimable: the touch gets SIGBUS (BUS_ADRERR) at the address. */
static void test_sgx_vepc_full_epc_sigbus(void **state)
{
	struct vt v;
	struct mv_machine_stats st;
	uint64_t a, x;

	(void)state;
	vt_setup(&v, 4);
	a = sgt_map_vepc(v.t, v.fd, 8);
	for (int i = 0; i < 4; i++)
		assert_int_equal(mv_user_read(v.t, a + (uint64_t)i * KT_PG, &x, 8), 0);
	assert_int_equal(mv_user_read(v.t, a + 4 * KT_PG, &x, 8), -EFAULT);
	mvtest_expect_signal(v.t, SIGBUS, BUS_ADRERR, a + 4 * KT_PG);
	mv_machine_get_stats(v.m, &st);
	assert_int_equal(st.epc_pages_free, 0);
	assert_int_equal(st.epc_sigbus, 1);
	assert_int_equal(st.epc_vepc_pages, 4);
	mv_machine_destroy(v.m);
}

/* fork does not copy the mapping (VM_DONTCOPY): the child faults where the parent had EPC. */
static void test_sgx_vepc_not_copied_on_fork(void **state)
{
	struct vt v;
	struct mv_task *child;
	uint64_t a, x;

	(void)state;
	vt_setup(&v, 16);
	a = sgt_map_vepc(v.t, v.fd, 2);
	assert_int_equal(mv_user_read(v.t, a, &x, 8), 0);
	assert_int_equal(mv_task_clone(v.t, 0, &child), 0);
	assert_int_equal(mv_user_read(child, a, &x, 8), -EFAULT);
	mvtest_expect_signal(child, SIGSEGV, SEGV_MAPERR, a);
	assert_int_equal(sgt_free(v.m), 15);
	mv_machine_destroy(v.m);
}

struct iov_ {
	uint64_t base, len;
};

/* No GUP on a PFN map: process_vm_readv of the vEPC fails; MADV_DOFORK is refused (VM_IO). */
static void test_sgx_vepc_no_gup(void **state)
{
	struct vt v;
	struct mv_task *other;
	uint64_t a, buf[2];
	struct iov_ local = { (uint64_t)(uintptr_t)buf, 8 }, remote;
	long pid;

	(void)state;
	vt_setup(&v, 16);
	a = sgt_map_vepc(v.t, v.fd, 2);
	remote = (struct iov_){ a, 8 };
	assert_int_equal(mv_task_spawn(v.m, &other), 0);
	pid = mv_syscall(v.t, MV_SYS_gettid, 0, 0, 0, 0, 0, 0);
	assert_int_equal(mv_syscall(other, MV_SYS_process_vm_readv, (uint64_t)pid,
				    (uint64_t)(uintptr_t)&local, 1, (uint64_t)(uintptr_t)&remote, 1, 0),
			 -EFAULT);
	assert_int_equal(mv_syscall(v.t, MV_SYS_madvise, a, 2 * KT_PG, MADV_DOFORK, 0, 0, 0), -EINVAL);
	mv_machine_destroy(v.m);
}

/* Closing the fd keeps the file alive while mapped; munmap then releases every page. */
static void test_sgx_vepc_release_after_last_mapping(void **state)
{
	struct vt v;
	uint64_t a, x;

	(void)state;
	vt_setup(&v, 16);
	a = sgt_map_vepc(v.t, v.fd, 8);
	for (int i = 0; i < 8; i++)
		assert_int_equal(mv_user_read(v.t, a + (uint64_t)i * KT_PG, &x, 8), 0);
	assert_int_equal(mv_syscall(v.t, MV_SYS_close, (uint64_t)v.fd, 0, 0, 0, 0, 0), 0);
	assert_int_equal(sgt_free(v.m), 8);
	assert_int_equal(mv_syscall(v.t, MV_SYS_munmap, a, 8 * KT_PG, 0, 0, 0, 0), 0);
	assert_int_equal(sgt_free(v.m), 16);
	assert_int_equal(hw_epc_check(sgt_epc(v.m)), 0);
	mv_machine_destroy(v.m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sgx_vepc_device_presence),
		cmocka_unit_test(test_sgx_vepc_file_rules),
		cmocka_unit_test(test_sgx_vepc_first_touch_allocates_one_page),
		cmocka_unit_test(test_sgx_vepc_full_epc_sigbus),
		cmocka_unit_test(test_sgx_vepc_not_copied_on_fork),
		cmocka_unit_test(test_sgx_vepc_no_gup),
		cmocka_unit_test(test_sgx_vepc_release_after_last_mapping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
