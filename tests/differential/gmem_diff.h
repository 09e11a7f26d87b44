/* SPDX-License-Identifier: MIT */
/* The differential runner's pieces: steps, cases, and the two sides. */
#ifndef MV_TESTS_GMEM_DIFF_H
#define MV_TESTS_GMEM_DIFF_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <memvisor/uapi/kvm.h>

#define GD_MAX_STEPS 12
#define GD_SIGBUS    (-100000)   /* a touch raised SIGBUS */
#define GD_SLOT_FILE (4ull << 20)  /* the size of the other VM's guest_memfd and the memfd */
#define GD_SLOT_SPAN (8ull << 20)  /* the VMM mapping every slot's userspace_addr points at */

enum gd_op {
	GD_END = 0,
	GD_FALLOCATE,       /* mode, off, len */
	GD_FTRUNCATE,       /* len */
	GD_READ, GD_WRITE,  /* one byte */
	GD_PREAD, GD_PWRITE,/* one byte at off */
	GD_FSTAT,           /* the field selected by at */
	GD_MMAP,            /* len, prot, flags, off: map and unmap */
	GD_TOUCH_READ,      /* map, read byte at, unmap: the byte or SIGBUS */
	GD_TOUCH_WRITE,     /* map, write 0x5a at, read it back, unmap */
	GD_BIND,            /* KVM_SET_USER_MEMORY_REGION2: slot, mode (flags), gpa, len, gmem_off, fdsel */
	GD_BIND_V1,         /* the same through the old KVM_SET_USER_MEMORY_REGION */
};

/* GD_BIND's fdsel: which file the slot names */
#define GD_FD_SELF  0       /* the case's guest_memfd */
#define GD_FD_BAD   1       /* an fd that is not open */
#define GD_FD_MEMFD 2       /* a memfd: not a guest_memfd */
#define GD_FD_OTHER 3       /* another VM's guest_memfd */

/* GD_FSTAT fields */
#define GD_ST_SIZE    0
#define GD_ST_BLKSIZE 1
#define GD_ST_BLOCKS  2
#define GD_ST_MODE    3

struct gd_step {
	enum gd_op op;
	const char *what;
	int mode, prot, flags;
	int64_t off, len;
	uint64_t at;
	uint32_t slot;              /* GD_BIND */
	uint64_t gpa, gmem_off;
	int fdsel;
};

struct gd_case {
	const char *name;
	uint64_t size, flags;       /* KVM_CREATE_GUEST_MEMFD arguments */
	bool expect_reject;         /* creation must fail on both sides */
	bool needs_kvm;             /* binds memslots: a fresh VM, memvisor's real ioctl path */
	struct gd_step steps[GD_MAX_STEPS];
};

extern const struct gd_case gd_cases[];   /* ends with a NULL name */

struct gd_side_ops {
	const char *name;
	long (*create)(void *ctx, uint64_t size, uint64_t flags);   /* fd or -errno */
	long (*call)(void *ctx, long fd, const struct gd_step *s);
	long (*map)(void *ctx, long fd, const struct gd_step *s);
	void (*close)(void *ctx, long fd);
	int (*fresh_vm)(void *ctx);                 /* a new VM (and another VM's gmem) */
};

/* memvisor's side (gmem_mv.c) */
struct gd_mv_side;
extern const struct gd_side_ops gd_mv_ops;
struct gd_mv_side *gd_mv_open(void);   /* NULL if memvisor cannot serve the calls */
const char *gd_mv_path(const struct gd_mv_side *mv);
void gd_mv_close(struct gd_mv_side *mv);

static inline long gd_stat_field(const struct stat *st, uint64_t field)
{
	switch (field) {
	case GD_ST_SIZE:
		return (long)st->st_size;
	case GD_ST_BLKSIZE:
		return (long)st->st_blksize;
	case GD_ST_BLOCKS:
		return (long)st->st_blocks;
	default:
		return (long)st->st_mode;
	}
}

const char *gd_errno_name(int err);

/* The memslot a GD_BIND step describes. */
static inline void gd_region(struct kvm_userspace_memory_region2 *r, const struct gd_step *s,
			     uint64_t ua, int fd)
{
	memset(r, 0, sizeof(*r));
	r->slot = s->slot;
	r->flags = (uint32_t)s->mode;
	r->guest_phys_addr = s->gpa;
	r->memory_size = (uint64_t)s->len;
	r->userspace_addr = ua;
	r->guest_memfd_offset = s->gmem_off;
	r->guest_memfd = (uint32_t)fd;
}

#endif
