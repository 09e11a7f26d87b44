/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the snapshot tests: a VM through src/vmm, the guest
 * programs' shared state, and byte surgery on a snapshot buffer (finding
 * a section, resealing the checksum after a deliberate field change).
 */
#ifndef MV_TESTS_SNAPTEST_H
#define MV_TESTS_SNAPTEST_H

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hekitest.h"
#include "lib/sha256.h"
#include "vmm/snapshot.h"

#define ST_MB (1ull << 20)
#define ST_TAG(p, t) (((uint64_t)(p) & ~(0xfull << 56)) | ((uint64_t)(t) << 56))

#define CR0_WP (1ull << 16)
#define TEXT   HT_DATA        /* "kernel text": READ|EXEC|IMMUTABLE after protection */

/* What a guest program saw: results, fault vectors, values read. */
struct gst {
	long r[16];
	int vec[16];
	uint64_t val[8];
};

/* The vector of the guest's last fault into c->vec[@i]. */
static inline void fault_vec(struct mv_guest *g, struct gst *c, int i)
{
	struct mv_guest_fault f = { 0 };

	mv_guest_last_fault(g, &f);
	c->vec[i] = f.vector;
}

static inline struct vmm *st_vmm(struct mv_task *t, const struct vmm_config *cfg)
{
	struct vmm *v;

	assert_int_equal(vmm_create(t, cfg, &v), 0);
	return v;
}

static inline void st_run(struct vmm *v, mv_guest_fn fn, void *arg)
{
	assert_int_equal(vmm_set_guest(v, 0, fn, arg), 0);
	assert_int_equal(vmm_run(v), 0);
}

/* Offset of section @type's header in a well-formed snapshot. */
static inline size_t st_section(const uint8_t *b, size_t len, uint32_t type, uint32_t *count,
				uint64_t *slen)
{
	size_t off = VMM_SNAP_HDR_SIZE;

	for (;;) {
		uint32_t t, c;
		uint64_t l;

		assert_true(off + VMM_SNAP_SEC_SIZE <= len);
		memcpy(&t, b + off, 4);
		memcpy(&c, b + off + 4, 4);
		memcpy(&l, b + off + 8, 8);
		if (t == type) {
			if (count)
				*count = c;
			if (slen)
				*slen = l;
			return off;
		}
		off += VMM_SNAP_SEC_SIZE + l;
	}
}

/* Recomputes the checksum, as someone forging a snapshot would. */
static inline void st_reseal(uint8_t *b, size_t len)
{
	sha256(b + VMM_SNAP_HDR_SIZE, len - VMM_SNAP_HDR_SIZE, b + 24);
}

/*
 * How many of fds [0, 128) the process has open (fstat answers): unchanged
 * when a refused restore left nothing open. A restore opens at most
 * /dev/kvm, the VM, 64 vCPUs and 32 memslots' files.
 */
static inline long st_open_fds(struct mv_task *t)
{
	struct stat st;
	long n = 0;

	for (int fd = 0; fd < 128; fd++)
		n += mv_syscall(t, MV_SYS_fstat, (uint64_t)fd, (uint64_t)(uintptr_t)&st, 0, 0, 0,
				0) == 0;
	return n;
}

static inline void st_digest_ram(struct vmm *v, uint8_t out[SHA256_DIGEST_SIZE])
{
	const struct vmm_config *c = vmm_get_config(v);
	struct sha256_state s;
	uint8_t page[4096];

	sha256_init(&s);
	for (uint64_t off = 0; off < c->ram_bytes; off += sizeof(page)) {
		assert_true(mv_user_read(vmm_task(v), vmm_gpa_to_uaddr(v, c->ram_gpa + off), page,
					 sizeof(page)) >= 0);
		sha256_update(&s, page, sizeof(page));
	}
	sha256_final(&s, out);
}

#endif
