/* SPDX-License-Identifier: MIT */
/*
 * The call sequences both sides run. Each file-level case is repeated for
 * every flag combination, so a flag that changes an answer shows up as a
 * row of its own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <string.h>
#include <sys/mman.h>

#include <memvisor/uapi/kvm.h>

#include "gmem_diff.h"

#define PG 4096ll
#define SZ (4ll << 20)
#define RW (PROT_READ | PROT_WRITE)
#define KEEP FALLOC_FL_KEEP_SIZE
#define PUNCH (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)
#define MM GUEST_MEMFD_FLAG_MMAP
#define SH GUEST_MEMFD_FLAG_INIT_SHARED

#define FALLOC(w, m, o, l) { .op = GD_FALLOCATE, .what = w, .mode = (m), .off = (o), .len = (l) }
#define MAPS(w, l, p, f, o) { .op = GD_MMAP, .what = w, .len = (l), .prot = (p), .flags = (f), .off = (o) }
#define TOUCH(op_, w, l, a) { .op = (op_), .what = w, .len = (l), .prot = RW, .flags = MAP_SHARED, .at = (a) }
#define STAT(w, fld) { .op = GD_FSTAT, .what = w, .at = (fld) }
#define CALL(op_, w, o, l) { .op = (op_), .what = w, .off = (o), .len = (l) }
#define MB (1ll << 20)
#define GM KVM_MEM_GUEST_MEMFD
/* A memslot: slot, flags, gpa, size, guest_memfd_offset, which fd */
#define BIND(w, sl, fl, g, l, o, fd) { .op = GD_BIND, .what = w, .slot = (sl), .mode = (fl), \
	.gpa = (g), .len = (l), .gmem_off = (o), .fdsel = (fd) }

/* The file cases of one flag combination. */
#define GD_FILE_CASES(tag, fl)                                                         \
	{ .name = "file_io" tag, .size = SZ, .flags = fl, .steps = {                                               \
		CALL(GD_READ, "read", 0, 0), CALL(GD_WRITE, "write", 0, 0),             \
		CALL(GD_PREAD, "pread", 0, 0), CALL(GD_PWRITE, "pwrite", 0, 0),         \
		CALL(GD_PREAD, "pread_negative", -1, 0),                               \
		CALL(GD_FTRUNCATE, "ftruncate_0", 0, 0),                                \
		CALL(GD_FTRUNCATE, "ftruncate_same", 0, SZ),                            \
		CALL(GD_FTRUNCATE, "ftruncate_grow", 0, 2 * SZ),                        \
		STAT("fstat.size", GD_ST_SIZE), STAT("fstat.blksize", GD_ST_BLKSIZE),   \
		STAT("fstat.blocks", GD_ST_BLOCKS), STAT("fstat.mode", GD_ST_MODE) } },  \
	{ .name = "fallocate_alloc" tag, .size = SZ, .flags = fl, .steps = {                                       \
		FALLOC("no_keep_size", 0, 0, PG), FALLOC("keep_size", KEEP, 0, PG),     \
		FALLOC("unaligned_off", KEEP, 1, PG), FALLOC("unaligned_len", KEEP, 0, 1), \
		FALLOC("at_eof", KEEP, SZ, PG), FALLOC("across_eof", KEEP, SZ - PG, 2 * PG), \
		FALLOC("whole_file", KEEP, 0, SZ), FALLOC("len_zero", KEEP, 0, 0),      \
		FALLOC("off_negative", KEEP, -PG, PG),                                  \
		FALLOC("zero_range", FALLOC_FL_ZERO_RANGE | KEEP, 0, PG),               \
		FALLOC("collapse", FALLOC_FL_COLLAPSE_RANGE, 0, PG),                    \
		STAT("fstat.blocks_after", GD_ST_BLOCKS) } },                           \
	{ .name = "fallocate_punch" tag, .size = SZ, .flags = fl, .steps = {                                       \
		FALLOC("alloc", KEEP, 0, SZ),                                           \
		FALLOC("no_keep_size", FALLOC_FL_PUNCH_HOLE, 0, PG),                    \
		FALLOC("punch", PUNCH, 0, PG), FALLOC("unaligned_off", PUNCH, 1, PG),   \
		FALLOC("unaligned_len", PUNCH, 0, 1), FALLOC("at_eof", PUNCH, SZ, PG),  \
		FALLOC("past_eof", PUNCH, 2 * SZ, PG),                                  \
		FALLOC("across_eof", PUNCH, SZ - PG, 2 * PG),                           \
		FALLOC("inside_2m", PUNCH, 5 * PG, 3 * PG),                             \
		FALLOC("whole_file", PUNCH, 0, SZ),                                     \
		STAT("fstat.size_after", GD_ST_SIZE) } },                               \
	{ .name = "mmap" tag, .size = SZ, .flags = fl, .steps = {                                                  \
		MAPS("shared_rw", PG, RW, MAP_SHARED, 0),                               \
		MAPS("private_rw", PG, RW, MAP_PRIVATE, 0),                             \
		MAPS("shared_ro", PG, PROT_READ, MAP_SHARED, 0),                        \
		MAPS("shared_none", PG, PROT_NONE, MAP_SHARED, 0),                      \
		MAPS("shared_exec", PG, PROT_READ | PROT_EXEC, MAP_SHARED, 0),          \
		MAPS("shared_validate", PG, PROT_READ, MAP_SHARED_VALIDATE, 0),         \
		MAPS("off_unaligned", PG, PROT_READ, MAP_SHARED, 1),                    \
		MAPS("off_past_eof", PG, PROT_READ, MAP_SHARED, 2 * SZ),                \
		MAPS("longer_than_file", 2 * SZ, RW, MAP_SHARED, 0) } },                \
	{ .name = "touch" tag, .size = SZ, .flags = fl, .steps = {                                                 \
		TOUCH(GD_TOUCH_READ, "read_page0", SZ, 0),                              \
		TOUCH(GD_TOUCH_WRITE, "write_page1", SZ, PG),                           \
		TOUCH(GD_TOUCH_READ, "read_page1_again", SZ, PG),                       \
		FALLOC("punch_page1", PUNCH, PG, PG),                                   \
		TOUCH(GD_TOUCH_READ, "read_page1_punched", SZ, PG),                     \
		TOUCH(GD_TOUCH_READ, "read_past_eof", 2 * SZ, SZ + 10) } }

const struct gd_case gd_cases[] = {
	{ .name = "create_flags_0", .size = SZ, .flags = 0, .expect_reject = false },
	{ .name = "create_flags_mmap", .size = SZ, .flags = MM, .expect_reject = false },
	{ .name = "create_flags_init_shared", .size = SZ, .flags = SH, .expect_reject = false },
	{ .name = "create_flags_both", .size = SZ, .flags = MM | SH, .expect_reject = false },
	{ .name = "create_flag_bit2", .size = SZ, .flags = 1ull << 2, .expect_reject = true },
	{ .name = "create_flag_bit63", .size = SZ, .flags = 1ull << 63, .expect_reject = true },
	{ .name = "create_size_0", .size = 0, .flags = 0, .expect_reject = true },
	{ .name = "create_size_100", .size = 100, .flags = 0, .expect_reject = true },
	{ .name = "create_size_page_plus_1", .size = PG + 1, .flags = 0, .expect_reject = true },
	{ .name = "create_size_2_pow_63", .size = 1ull << 63, .flags = 0, .expect_reject = true },
	{ .name = "create_size_2m_plus_page", .size = (2 << 20) + PG, .flags = 0, .expect_reject = false },
	{ .name = "create_size_1t", .size = 1ull << 40, .flags = 0, .expect_reject = false },
	GD_FILE_CASES("", 0),
	GD_FILE_CASES("/mmap", MM),
	GD_FILE_CASES("/init_shared", SH),
	GD_FILE_CASES("/mmap+init_shared", MM | SH),
	/* memslot bindings, as the host answered them (6.18) */
	{ .name = "bind_errors", .size = SZ, .needs_kvm = true, .steps = {
		BIND("bad_fd", 0, GM, 0, 2 * MB, 0, GD_FD_BAD),
		BIND("memfd", 0, GM, 0, 2 * MB, 0, GD_FD_MEMFD),
		BIND("other_vms_gmem", 0, GM, 0, 2 * MB, 0, GD_FD_OTHER),
		BIND("offset_unaligned", 0, GM, 0, 2 * MB, 1, GD_FD_SELF),
		BIND("offset_plus_size_past_eof", 0, GM, 0, 2 * MB, 3 * MB, GD_FD_SELF),
		BIND("size_past_eof", 0, GM, 0, 8 * MB, 0, GD_FD_SELF),
		BIND("with_log_dirty_pages", 0, GM | KVM_MEM_LOG_DIRTY_PAGES, 0, 2 * MB, 0, GD_FD_SELF),
		BIND("with_readonly", 0, GM | KVM_MEM_READONLY, 0, 2 * MB, 0, GD_FD_SELF),
		{ .op = GD_BIND_V1, .what = "old_ioctl", .slot = 2, .mode = GM, .gpa = 16 * MB,
		  .len = 2 * MB, .fdsel = GD_FD_SELF } } },
	{ .name = "bind_lifecycle", .size = SZ, .needs_kvm = true, .steps = {
		BIND("slot0", 0, GM, 0, 2 * MB, 0, GD_FD_SELF),
		BIND("overlapping_binding", 1, GM, 4 * MB, 2 * MB, 1 * MB, GD_FD_SELF),
		BIND("overlapping_gpa", 1, GM, 1 * MB, 2 * MB, 2 * MB, GD_FD_SELF),
		BIND("slot1", 1, GM, 4 * MB, 2 * MB, 2 * MB, GD_FD_SELF),
		BIND("modify_flags", 0, GM | KVM_MEM_LOG_DIRTY_PAGES, 0, 2 * MB, 0, GD_FD_SELF),
		BIND("move", 0, GM, 8 * MB, 2 * MB, 0, GD_FD_SELF),
		BIND("drop_gmem_flag", 0, 0, 0, 2 * MB, 0, GD_FD_SELF),
		BIND("same_again", 0, GM, 0, 2 * MB, 0, GD_FD_SELF),
		BIND("delete_slot0", 0, GM, 0, 0, 0, GD_FD_SELF),
		BIND("rebind_freed_range", 3, GM, 32 * MB, 2 * MB, 0, GD_FD_SELF) } },
	{ .name = NULL },
};

const char *gd_errno_name(int err)
{
	switch (err) {
	case EINVAL: return "EINVAL";
	case ENODEV: return "ENODEV";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ESPIPE: return "ESPIPE";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EBADF: return "EBADF";
	case EFAULT: return "EFAULT";
	case ENOMEM: return "ENOMEM";
	case ENOTTY: return "ENOTTY";
	case EFBIG: return "EFBIG";
	case ENOSYS: return "ENOSYS";
	default: return strerrorname_np(err) ? strerrorname_np(err) : "E?";
	}
}
