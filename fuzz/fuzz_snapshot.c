/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the snapshot file parser (src/vmm/snapshot_restore.c,
 * docs/snapshot.md). The input's first byte is the mode, the rest a
 * snapshot file. Mode bit 0: reseal it first (the total length at offset
 * 16 and the SHA-256 at 24 made to agree with the bytes), as a forger
 * would, so the mutations reach the section and field checks instead of
 * stopping at the checksum. Mode bit 1: also restore a file the checks
 * accept, into a new machine built for this input: through struct vmm
 * (vmm_snapshot_restore), and through vmm_snapshot_restore_built, which
 * builds any layout, for a file of several memslots or when mode bit 2 is
 * set.
 *
 * Rules: vmm_snapshot_check answers 0, -EINVAL, -EBADMSG or -EPROTO, with a
 * reason whenever it refuses; a file it refuses, restore refuses with the
 * same answer and leaves no fd behind; an unresealed file changed in its
 * body is -EBADMSG or -EINVAL, never accepted unless the checksum still
 * matches; a restore of an accepted file either succeeds (and the new VM
 * saves again into a file the checks accept) or fails with a reason and
 * leaves no fd behind; the built restore answers as struct vmm's does
 * where that one can take the file, and releases every fd it opened.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <memvisor/memvisor.h>

#include "lib/sha256.h"
#include "vmm/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* How many of fds [0, 128) the process has open: more than any restore opens. */
static long fz_open_fds(struct mv_task *t)
{
	struct stat st;
	long n = 0;

	for (int fd = 0; fd < 128; fd++)
		n += mv_syscall(t, MV_SYS_fstat, (uint64_t)fd, (uint64_t)(uintptr_t)&st, 0, 0, 0,
				0) == 0;
	return n;
}

/* vmm_snapshot_restore_built of @b in @t, which has @nfds fds open: its answer. */
static int fz_restore_built(struct mv_task *t, const uint8_t *b, size_t len, long nfds)
{
	struct vmm_snap_built vb;
	const char *why = NULL;
	void *again;
	size_t alen;
	int r = vmm_snapshot_restore_built(t, b, len, &vb, NULL, &why);

	if (r) {
		if (!why || fz_open_fds(t) != nfds)
			abort();
		return r;
	}
	if (vmm_snapshot_save_vm(&vb.vm, 0, &again, &alen) || vmm_snapshot_check(again, alen, NULL))
		abort();
	free(again);
	vmm_snapshot_built_release(&vb);
	if (fz_open_fds(t) != nfds)
		abort();   /* an fd the release missed */
	return 0;
}

/* Restores @b into a new machine; @check is what vmm_snapshot_check answered. */
static void fz_restore(const uint8_t *b, size_t len, int check, bool built)
{
	struct mv_machine_config mc = { .ram_bytes = 64ull << 20, .seed = 1 };
	struct mv_machine *m;
	struct mv_task *t;
	struct vmm *v = NULL;
	const char *why = NULL;
	long nfds;
	int r;

	if (mv_machine_create(&mc, &m) || mv_task_spawn(m, &t))
		abort();
	nfds = fz_open_fds(t);
	r = vmm_snapshot_restore(t, b, len, &v, NULL, &why);
	if (check && r != check)
		abort();        /* refused by the checks: the same answer */
	if (r) {
		if (!why || v || fz_open_fds(t) != nfds)
			abort();
	} else {
		void *again;
		size_t alen;

		if (!v || vmm_snapshot_save(v, &again, &alen) ||
		    vmm_snapshot_check(again, alen, NULL))
			abort();
		free(again);
		vmm_destroy(v);
	}
	if (built || r == -EOPNOTSUPP) {
		int rb = fz_restore_built(t, b, len, nfds);

		if ((check && rb != check) || (!r && rb))
			abort();   /* a layout struct vmm takes, the builder must take too */
	}
	mv_machine_destroy(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	uint8_t *b;
	size_t len;
	int r;

	if (size < 1)
		return 0;
	len = size - 1;
	b = malloc(len ? len : 1);
	if (!b)
		return 0;
	memcpy(b, data + 1, len);
	if ((data[0] & 1) && len >= VMM_SNAP_HDR_SIZE) {
		uint64_t total = len;

		memcpy(b + 16, &total, 8);
		sha256(b + VMM_SNAP_HDR_SIZE, len - VMM_SNAP_HDR_SIZE, b + 24);
	}
	r = vmm_snapshot_check(b, len, &why);
	if (r != 0 && r != -EINVAL && r != -EBADMSG && r != -EPROTO)
		abort();
	if (r && !why)
		abort();
	if (r == 0 && len >= VMM_SNAP_HDR_SIZE) {
		uint8_t d[SHA256_DIGEST_SIZE];

		sha256(b + VMM_SNAP_HDR_SIZE, len - VMM_SNAP_HDR_SIZE, d);
		if (memcmp(d, b + 24, sizeof(d)))
			abort();   /* accepted with a checksum that does not match */
	}
	if (data[0] & 2)
		fz_restore(b, len, r, data[0] & 4);
	free(b);
	return 0;
}
