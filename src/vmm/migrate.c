/* SPDX-License-Identifier: MIT */
/*
 * Live migration (migrate.h). The sender runs in the caller's thread and
 * reads the source VM as any VMM does (its mapping, KVM_GET_DIRTY_LOG,
 * KVM_ARM_MTE_COPY_TAGS); a receiver thread owns the destination and
 * writes what the wire brings into its memory. Records on the wire: a
 * header (type, flags, gfn, length) and the payload. The receiver checks
 * each before it acts: CONFIG first and once, PAGE inside RAM with the
 * exact length, STATE (a state-only snapshot, checked whole by
 * vmm_snapshot_apply), END last. After an error it drains the wire so the
 * sender never blocks, and destroys what it built.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmm/migrate.h"
#include "vmm/snapshot.h"

enum { MIG_CONFIG = 1, MIG_PAGE, MIG_STATE, MIG_END };
#define MIG_PAGE_TAGS 1u   /* flags: 256 tag bytes follow the page */

struct mig_hdr {
	uint32_t type;
	uint32_t flags;
	uint64_t gfn;
	uint64_t len;
};

struct mig_rx {
	int fd;
	struct mv_task *t;
	struct vmm *v;
	int err;
	const char *why;
	uint8_t *buf;      /* a page and its tags, or a STATE payload */
};

struct mig_tx {
	struct vmm *v;
	int fd;
	int err;
	struct vmm_migrate_stats *st;
	uint8_t page[VMM_SNAP_PAGE + VMM_SNAP_TAG_BYTES];
};

uint64_t vmm_mig_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int vmm_mig_io(int fd, void *p, size_t n, int wr)
{
	uint8_t *b = p;

	while (n) {
		ssize_t k = wr ? write(fd, b, n) : read(fd, b, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EPIPE;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

/* ---- the receiver ---- */

static void mig_rx_fail(struct mig_rx *rx, int err, const char *why)
{
	if (!rx->err) {
		rx->err = err;
		rx->why = why;
	}
}

static int mig_rx_config(struct mig_rx *rx, const struct mig_hdr *h)
{
	struct vmm_snap_config sc;
	struct vmm_config c;

	if (rx->v || h->len != sizeof(sc))
		return -EINVAL;
	if (vmm_mig_io(rx->fd, &sc, sizeof(sc), 0))
		return -EPIPE;
	c = (struct vmm_config){ .nr_vcpus = sc.nr_vcpus, .ram_bytes = sc.ram_bytes,
				 .ram_gpa = sc.ram_gpa,
				 .ram_flags = sc.ram_flags & ~(uint32_t)KVM_MEM_LOG_DIRTY_PAGES,
				 .vm_type = sc.vm_type, .private_mem = (int)sc.private_mem,
				 .mte = (int)sc.mte };
	return vmm_create(rx->t, &c, &rx->v);
}

static int mig_rx_page(struct mig_rx *rx, const struct mig_hdr *h)
{
	const struct vmm_config *c = rx->v ? vmm_get_config(rx->v) : NULL;
	size_t want = VMM_SNAP_PAGE + ((h->flags & MIG_PAGE_TAGS) ? VMM_SNAP_TAG_BYTES : 0);
	uint64_t gpa = h->gfn * VMM_SNAP_PAGE;
	long e;

	if (!c || h->len != want || (h->flags & ~MIG_PAGE_TAGS) || ((h->flags & MIG_PAGE_TAGS) && !c->mte) ||
	    h->gfn > (UINT64_MAX / VMM_SNAP_PAGE) || !vmm_gpa_to_uaddr(rx->v, gpa))
		return -EINVAL;
	if (vmm_mig_io(rx->fd, rx->buf, want, 0))
		return -EPIPE;
	e = mv_user_write(rx->t, vmm_gpa_to_uaddr(rx->v, gpa), rx->buf, VMM_SNAP_PAGE);
	if (e >= 0 && (h->flags & MIG_PAGE_TAGS)) {
		struct kvm_arm_copy_mte_tags ct = { .guest_ipa = gpa, .length = VMM_SNAP_PAGE,
						     .addr = rx->buf + VMM_SNAP_PAGE,
						     .flags = KVM_ARM_TAGS_TO_GUEST };

		e = mv_syscall(rx->t, MV_SYS_ioctl, (uint64_t)vmm_vm_fd(rx->v), KVM_ARM_MTE_COPY_TAGS,
			       (uint64_t)(uintptr_t)&ct, 0, 0, 0);
		e = e == VMM_SNAP_PAGE ? 0 : (e < 0 ? e : -EIO);
	}
	return e < 0 ? (int)e : 0;
}

static int mig_rx_state(struct mig_rx *rx, const struct mig_hdr *h)
{
	uint8_t *b;
	int r;

	if (!rx->v || !h->len || h->len > (1ull << 34))
		return -EINVAL;
	b = malloc(h->len);
	if (!b)
		return -ENOMEM;
	r = vmm_mig_io(rx->fd, b, h->len, 0);
	if (!r)
		r = vmm_snapshot_apply(rx->v, b, h->len, NULL, &rx->why);
	free(b);
	return r;
}

static void mig_rx_drain(int fd)
{
	uint8_t sink[4096];

	while (read(fd, sink, sizeof(sink)) > 0)
		;
}

static void *mig_rx_main(void *p)
{
	struct mig_rx *rx = p;
	int ended = 0, stated = 0;

	while (!rx->err && !ended) {
		struct mig_hdr h;
		int r;

		if (vmm_mig_io(rx->fd, &h, sizeof(h), 0)) {
			mig_rx_fail(rx, -EPIPE, "the wire closed before the end");
			break;
		}
		switch (h.type) {
		case MIG_CONFIG:
			r = mig_rx_config(rx, &h);
			break;
		case MIG_PAGE:
			r = stated ? -EINVAL : mig_rx_page(rx, &h);
			break;
		case MIG_STATE:
			r = stated++ ? -EINVAL : mig_rx_state(rx, &h);
			break;
		case MIG_END:
			r = (stated && !h.len) ? 0 : -EINVAL;
			ended = 1;
			break;
		default:
			r = -EINVAL;
			break;
		}
		if (r)
			mig_rx_fail(rx, r, rx->why ? rx->why : "a malformed or refused record");
	}
	mig_rx_drain(rx->fd);
	if (rx->err && rx->v) {
		vmm_destroy(rx->v);
		rx->v = NULL;
	}
	return NULL;
}

/* ---- the sender ---- */

static void mig_send(struct mig_tx *tx, uint32_t type, uint32_t flags, uint64_t gfn,
		     const void *p, uint64_t len)
{
	struct mig_hdr h = { type, flags, gfn, len };

	if (tx->err)
		return;
	tx->err = vmm_mig_io(tx->fd, &h, sizeof(h), 1);
	if (!tx->err && len)
		tx->err = vmm_mig_io(tx->fd, (void *)(uintptr_t)p, len, 1);
	tx->st->bytes_sent += sizeof(h) + len;
}

/* Sends the page at RAM offset @off (with its tags on an MTE VM); @skip_zero for round one. */
static void mig_send_page(struct mig_tx *tx, uint64_t off, int skip_zero)
{
	const struct vmm_config *c = vmm_get_config(tx->v);
	uint64_t gpa = c->ram_gpa + off;
	uint32_t flags = 0;
	long e = mv_user_read(vmm_task(tx->v), vmm_gpa_to_uaddr(tx->v, gpa), tx->page,
			      VMM_SNAP_PAGE);
	int zero = 1;

	if (e < 0) {
		tx->err = tx->err ? tx->err : (int)e;
		return;
	}
	if (c->mte) {
		struct kvm_arm_copy_mte_tags ct = { .guest_ipa = gpa, .length = VMM_SNAP_PAGE,
						     .addr = tx->page + VMM_SNAP_PAGE,
						     .flags = KVM_ARM_TAGS_FROM_GUEST };

		e = mv_syscall(vmm_task(tx->v), MV_SYS_ioctl, (uint64_t)vmm_vm_fd(tx->v),
			       KVM_ARM_MTE_COPY_TAGS, (uint64_t)(uintptr_t)&ct, 0, 0, 0);
		if (e != VMM_SNAP_PAGE) {
			tx->err = tx->err ? tx->err : (e < 0 ? (int)e : -EIO);
			return;
		}
		flags = MIG_PAGE_TAGS;
	}
	for (size_t i = 0; i < VMM_SNAP_PAGE + (flags ? VMM_SNAP_TAG_BYTES : 0) && zero; i++)
		zero = !tx->page[i];
	if (skip_zero && zero)
		return;
	mig_send(tx, MIG_PAGE, flags, gpa / VMM_SNAP_PAGE, tx->page,
		 VMM_SNAP_PAGE + (flags ? VMM_SNAP_TAG_BYTES : 0));
	tx->st->pages_sent++;
}

/* One harvest of the dirty log; each dirty page sent unless @send is 0. How many were dirty. */
static uint64_t mig_harvest(struct mig_tx *tx, uint64_t *bits, uint64_t words, int send)
{
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bits };
	uint64_t n = 0;
	long e;

	memset(bits, 0, words * 8);
	e = mv_syscall(vmm_task(tx->v), MV_SYS_ioctl, (uint64_t)vmm_vm_fd(tx->v), KVM_GET_DIRTY_LOG,
		       (uint64_t)(uintptr_t)&log, 0, 0, 0);
	if (e) {
		tx->err = tx->err ? tx->err : (int)e;
		return 0;
	}
	for (uint64_t w = 0; w < words && !tx->err; w++)
		for (uint64_t b = bits[w]; b; b &= b - 1) {
			if (send)
				mig_send_page(tx, (w * 64 + (uint64_t)__builtin_ctzll(b)) * VMM_SNAP_PAGE,
					      0);
			n++;
		}
	return n;
}

static void mig_send_all(struct mig_tx *tx)
{
	const struct vmm_config *c = vmm_get_config(tx->v);

	for (uint64_t off = 0; off < c->ram_bytes && !tx->err; off += VMM_SNAP_PAGE)
		mig_send_page(tx, off, 1);
}

static void mig_config(struct mig_tx *tx)
{
	const struct vmm_config *c = vmm_get_config(tx->v);
	struct vmm_snap_config sc = {
		.nr_vcpus = c->nr_vcpus, .ram_flags = c->ram_flags, .ram_bytes = c->ram_bytes,
		.ram_gpa = c->ram_gpa, .vm_type = c->vm_type, .private_mem = !!c->private_mem,
		.mte = !!c->mte,
	};

	mig_send(tx, MIG_CONFIG, 0, 0, &sc, sizeof(sc));
}

unsigned int vmm_mig_throttle_step(struct vmm_mig_throttle *t, uint64_t sent, uint64_t dirtied)
{
	if (dirtied <= sent / 2) {
		t->hot = 0;
		return t->pct;
	}
	if (++t->hot < 2)
		return t->pct;
	t->hot = 0;
	if (!t->pct)
		t->pct = VMM_MIG_THROTTLE_INITIAL;
	else if (t->pct + VMM_MIG_THROTTLE_INCREMENT < VMM_MIG_THROTTLE_MAX)
		t->pct += VMM_MIG_THROTTLE_INCREMENT;
	else
		t->pct = VMM_MIG_THROTTLE_MAX;
	return t->pct;
}

/*
 * The guest's run window. Rounds are short (tens of microseconds), far
 * below what a timer sleep can resolve, so short windows are timed by
 * the clock; a window shorter than the vCPUs' wake-up simply lets them run
 * little or not at all, which is what a high throttle asks for.
 */
static void mig_sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull),
			       .tv_nsec = (long)(ns % 1000000000ull) };
	uint64_t end = vmm_mig_now() + ns;

	if (ns < 1000000) {
		while (vmm_mig_now() < end)
			sched_yield();
		return;
	}
	while (nanosleep(&ts, &ts))
		;
}

/*
 * One pre-copy round: harvest the dirty log and send what it names. Once
 * auto-converge throttles at pct%, the guest is held (its vCPUs park at
 * their next exit) while the round sends, then, unless this round
 * converged (@stop_pages or fewer), runs for the round's time x
 * (100 - pct) / pct, so it runs (100 - pct)% of the time and the sender
 * never waits on it. How many pages were dirty; *@held_at is when the
 * guest was held if it still is.
 */
static uint64_t mig_round(struct mig_tx *tx, uint64_t *bits, uint64_t words, unsigned int pct,
			  uint64_t stop_pages, uint64_t *held_at)
{
	uint64_t n, t0 = vmm_mig_now(), held;

	if (!pct)
		return mig_harvest(tx, bits, words, 1);
	vmm_pause(tx->v);
	n = mig_harvest(tx, bits, words, 1);
	held = vmm_mig_now() - t0;
	tx->st->throttled_ns += held;
	if (n <= stop_pages) {
		*held_at = t0;       /* converged: the guest stays held for the stop */
		return n;
	}
	vmm_resume(tx->v, 0);
	mig_sleep_ns(held * (100 - pct) / pct);
	return n;
}

/*
 * Pre-copy: every page, then dirty rounds until few are left. Dirty
 * logging is on. When the guest is held already, *@held_at says since when.
 */
static void mig_precopy(struct mig_tx *tx, const struct vmm_migrate_opts *o, uint64_t *bits,
			uint64_t words, uint64_t *held_at)
{
	struct vmm_mig_throttle th = { 0 };
	uint64_t sent;

	mig_harvest(tx, bits, words, 0);   /* round one sends every page: start the log clean */
	mig_send_all(tx);
	sent = tx->st->pages_sent;
	tx->st->rounds = 1;
	while (!tx->err && tx->st->rounds < o->max_rounds) {
		uint64_t n = mig_round(tx, bits, words, th.pct, o->stop_pages, held_at);

		tx->st->rounds++;
		if (n <= o->stop_pages)
			break;
		/* n pages were dirtied while the last round sent its @sent */
		if (o->auto_converge)
			vmm_mig_throttle_step(&th, sent, n);
		sent = n;
	}
	tx->st->throttle_pct = th.pct;
}

/* Paused: the last dirty pages (or all of them without logging), the state, the end. */
static void mig_stop_and_copy(struct mig_tx *tx, uint32_t orig_flags, int logging, uint64_t *bits,
			      uint64_t words)
{
	uint64_t before = tx->st->pages_sent;
	void *state = NULL;
	size_t len = 0;
	int r;

	if (logging)
		mig_harvest(tx, bits, words, 1);
	else
		mig_send_all(tx);
	tx->st->pages_at_stop = tx->st->pages_sent - before;
	if (tx->err)
		return;
	if (logging && orig_flags != vmm_get_config(tx->v)->ram_flags) {
		r = vmm_set_ram_flags(tx->v, orig_flags);   /* the VM moves as it was */
		if (r) {
			tx->err = r;
			return;
		}
	}
	r = vmm_snapshot_save_flags(tx->v, VMM_SNAP_STATE_ONLY, &state, &len);
	if (r) {
		tx->err = r;
		return;
	}
	mig_send(tx, MIG_STATE, 0, 0, state, len);
	mig_send(tx, MIG_END, 0, 0, NULL, 0);
	free(state);
}

int vmm_migrate(struct vmm *src, struct mv_task *dst_task, const struct vmm_migrate_opts *opts,
		struct vmm **out, struct vmm_migrate_stats *stats, const char **why)
{
	struct vmm_migrate_opts o = { .max_rounds = 30, .stop_pages = 16 };
	struct vmm_migrate_stats st = { 0 };
	const struct vmm_config *c;
	struct mig_rx rx = { .fd = -1 };
	struct mig_tx *tx;
	uint64_t t0 = vmm_mig_now(), tstop, words, *bits;
	uint32_t orig_flags;
	pthread_t th;
	int pfd[2], logging, r;

	if (!src || !dst_task || !out)
		return -EINVAL;
	if (opts && opts->max_rounds)
		o.max_rounds = opts->max_rounds;
	if (opts && opts->stop_pages)
		o.stop_pages = opts->stop_pages;
	o.auto_converge = opts && opts->auto_converge;
	c = vmm_get_config(src);
	orig_flags = c->ram_flags;
	logging = !c->private_mem;
	words = (c->ram_bytes / VMM_SNAP_PAGE + 63) / 64;
	tx = calloc(1, sizeof(*tx));
	bits = calloc(words, 8);
	rx.buf = malloc(VMM_SNAP_PAGE + VMM_SNAP_TAG_BYTES);
	if (!tx || !bits || !rx.buf || pipe(pfd)) {
		r = -ENOMEM;
		goto out_free;
	}
	rx.fd = pfd[0];
	rx.t = dst_task;
	tx->v = src;
	tx->fd = pfd[1];
	tx->st = &st;
	if (pthread_create(&th, NULL, mig_rx_main, &rx)) {
		close(pfd[0]);
		close(pfd[1]);
		r = -EAGAIN;
		goto out_free;
	}
	mig_config(tx);
	if (logging && !(orig_flags & KVM_MEM_LOG_DIRTY_PAGES))
		tx->err = vmm_set_ram_flags(src, orig_flags | KVM_MEM_LOG_DIRTY_PAGES);
	tstop = 0;
	if (logging && !tx->err)
		mig_precopy(tx, &o, bits, words, &tstop);
	if (!tstop) {
		tstop = vmm_mig_now();
		vmm_pause(src);
	}
	mig_stop_and_copy(tx, orig_flags, logging, bits, words);
	close(pfd[1]);
	pthread_join(th, NULL);
	close(pfd[0]);
	st.downtime_ns = vmm_mig_now() - tstop;
	st.total_ns = vmm_mig_now() - t0;
	r = tx->err ? tx->err : rx.err;
	if (r) {
		if (why)
			*why = tx->err ? "the source could not be read or sent" : rx.why;
		if (rx.v)
			vmm_destroy(rx.v);
		if (vmm_get_config(src)->ram_flags != orig_flags && vmm_set_ram_flags(src, orig_flags))
			r = r ? r : -EIO;
		vmm_resume(src, 0);    /* the source goes on */
	} else {
		*out = rx.v;
		vmm_resume(src, 1);    /* the guest lives on the destination now */
	}
	if (stats)
		*stats = st;
out_free:
	free(rx.buf);
	free(bits);
	free(tx);
	return r;
}
