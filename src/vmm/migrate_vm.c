/* SPDX-License-Identifier: MIT */
/*
 * Stop-and-copy migration of a VM described by its fds (migrate.h,
 * vmm_migrate_vm): a VM of several memslots, such as one with a guest_memfd
 * slot and a vEPC slot, that struct vmm's pre-copy cannot pause. The
 * source is stopped; its whole snapshot goes over a host pipe (a u64
 * length, then the bytes) to a receiver thread, which applies it to the
 * VM the destination VMM built with the same memslots
 * (vmm_snapshot_apply_vm: every check of a restore first). A VM with
 * private memory has no other way anyway: its guest_memfd slot cannot log
 * dirty pages (docs/snapshot.md).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmm/migrate.h"
#include "vmm/snapshot.h"

#define MIGVM_MAX_LEN (1ull << 36)   /* what a receiver accepts on the wire */

struct migvm_rx {
	int fd;
	const struct vmm_snap_vm *dst;
	struct vmm_restore_info *info;
	int err;
	const char *why;
	uint64_t done_ns;
};

static void *migvm_rx_main(void *p)
{
	struct migvm_rx *rx = p;
	uint64_t len = 0;
	uint8_t *buf = NULL;

	rx->err = vmm_mig_io(rx->fd, &len, sizeof(len), 0);
	if (!rx->err && (len < VMM_SNAP_HDR_SIZE || len > MIGVM_MAX_LEN)) {
		rx->err = -EMSGSIZE;
		rx->why = "bad length on the wire";
	}
	if (!rx->err) {
		buf = malloc(len);
		rx->err = buf ? vmm_mig_io(rx->fd, buf, len, 0) : -ENOMEM;
	}
	if (!rx->err)
		rx->err = vmm_snapshot_apply_vm(rx->dst, buf, len, rx->info, &rx->why);
	else if (!rx->why)
		rx->why = "the wire broke";
	free(buf);
	rx->done_ns = vmm_mig_now();
	return NULL;
}

static int migvm_send(int fd, const void *buf, size_t len)
{
	uint64_t l = len;
	int r = vmm_mig_io(fd, &l, sizeof(l), 1);

	return r ? r : vmm_mig_io(fd, (void *)(uintptr_t)buf, len, 1);
}

int vmm_migrate_vm(const struct vmm_snap_vm *src, const struct vmm_snap_vm *dst,
		   struct vmm_restore_info *info, struct vmm_migrate_stats *stats,
		   const char **why)
{
	struct vmm_restore_info ri;
	struct migvm_rx rx = { .dst = dst, .info = info ? info : &ri };
	struct vmm_migrate_stats st = { .rounds = 0 };
	uint64_t t0 = vmm_mig_now();
	pthread_t th;
	void *buf = NULL;
	size_t len = 0;
	int fds[2], r;

	if (!src || !dst) {
		if (why)
			*why = "no VM";
		return -EINVAL;
	}
	if (pipe(fds))
		return -errno;
	rx.fd = fds[0];
	if (pthread_create(&th, NULL, migvm_rx_main, &rx)) {
		close(fds[0]);
		close(fds[1]);
		return -EAGAIN;
	}
	r = vmm_snapshot_save_vm(src, 0, &buf, &len);
	if (!r)
		r = migvm_send(fds[1], buf, len);
	close(fds[1]);   /* a receiver still reading sees the end */
	pthread_join(th, NULL);
	close(fds[0]);
	free(buf);
	if (r) {
		if (why)
			*why = "could not save or send the source";
		return r;
	}
	if (rx.err) {
		if (why)
			*why = rx.why;
		return rx.err;
	}
	st.pages_sent = rx.info->shared_pages + rx.info->private_pages;
	st.pages_at_stop = st.pages_sent;
	st.bytes_sent = len + sizeof(uint64_t);
	st.downtime_ns = rx.done_ns - t0;
	st.total_ns = st.downtime_ns;
	if (stats)
		*stats = st;
	return 0;
}
