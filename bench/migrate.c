/* SPDX-License-Identifier: MIT */
/*
 * Live migration (src/vmm/migrate.c): a guest writing throughout is moved
 * between two machine objects by pre-copy with dirty logging; its
 * downtime (source paused .. destination ready) is reported against the
 * time a stop-and-copy takes for the same VM in the same run (a snapshot
 * saved and restored while the guest is stopped), with the rounds and the
 * pages sent in the note. 16 MiB of guest RAM, 4 MiB with --quick.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memvisor/memvisor.h>

#include "bench.h"
#include "vmm/migrate.h"
#include "vmm/snapshot.h"

#define MB_RAM(x) ((uint64_t)(x) << 20)
#define MB_DOORBELL 0x40000000ull

struct mb_world {
	struct vmm *v;
	uint64_t pages;       /* the guest writes over this many pages, round and round */
	int stop;
	long ret;
};

static void mb_guest(struct mv_guest *g, void *arg)
{
	struct mb_world *w = arg;
	uint64_t bell = 0;

	for (uint64_t i = 0;; i++) {
		uint64_t at = (i % w->pages) * 4096 + ((i / w->pages) % 512) * 8;

		mv_guest_write(g, at, &i, 8);
		if (i % 16 == 0) {
			mv_guest_read(g, MB_DOORBELL, &bell, 8);
			if (bell)
				return;
		}
	}
}

static void mb_doorbell(void *ctx, unsigned int vcpu, struct kvm_run *run)
{
	struct mb_world *w = ctx;
	uint64_t v = (uint64_t)__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE);

	(void)vcpu;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	memcpy(run->mmio.data, &v, 8);
}

static void *mb_run(void *p)
{
	struct mb_world *w = p;

	w->ret = vmm_run(w->v);
	return NULL;
}

/* A running two-vCPU VM of @t whose vCPUs both write over half its RAM. */
static int mb_start(struct mv_task *t, uint64_t ram, struct mb_world *w, pthread_t *th)
{
	struct vmm_config cfg = { .nr_vcpus = 2, .ram_bytes = ram };
	struct vmm_hooks hooks = { .mmio = mb_doorbell };
	int r = vmm_create(t, &cfg, &w->v);

	if (r)
		return r;
	hooks.ctx = w;
	w->pages = ram / 4096 / 2;   /* half the RAM is the working set */
	vmm_set_hooks(w->v, &hooks);
	r = vmm_set_guest(w->v, 0, mb_guest, w);
	if (!r)
		r = vmm_set_guest(w->v, 1, mb_guest, w);
	if (!r && pthread_create(th, NULL, mb_run, w))
		r = -EAGAIN;
	if (r)
		vmm_destroy(w->v);
	return r;
}

/* Until the guest has gone once over its working set. */
static void mb_wait(struct mv_task *t, struct mb_world *w)
{
	uint64_t v = 0, last = (w->pages - 1) * 4096;

	while (!v && mv_user_read(t, vmm_gpa_to_uaddr(w->v, last), &v, 8) >= 0)
		sched_yield();
}

/* Stop-and-copy of the same kind of VM: the guest paused for a whole save and restore. */
static int mb_stop_and_copy(struct mv_task *t1, struct mv_task *t2, uint64_t ram, double *ns)
{
	struct mb_world w = { .stop = 0 };
	struct vmm *dst;
	pthread_t th;
	void *buf;
	size_t len;
	double t0;
	int r = mb_start(t1, ram, &w, &th);

	if (r)
		return r;
	mb_wait(t1, &w);
	t0 = bench_now_ns();
	vmm_pause(w.v);
	r = vmm_snapshot_save(w.v, &buf, &len);
	if (!r) {
		r = vmm_snapshot_restore(t2, buf, len, &dst, NULL, NULL);
		free(buf);
	}
	*ns = bench_now_ns() - t0;
	if (!r)
		vmm_destroy(dst);
	__atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
	vmm_resume(w.v, 0);
	pthread_join(th, NULL);
	vmm_destroy(w.v);
	return r;
}

static int mb_live(struct mv_task *t1, struct mv_task *t2, uint64_t ram,
		   const struct vmm_migrate_opts *o, struct vmm_migrate_stats *st)
{
	struct mb_world w = { .stop = 0 };
	struct vmm *dst = NULL;
	pthread_t th;
	int r = mb_start(t1, ram, &w, &th);

	if (r)
		return r;
	mb_wait(t1, &w);
	r = vmm_migrate(w.v, t2, o, &dst, st, NULL);
	if (r) {
		__atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
	}
	pthread_join(th, NULL);
	if (dst)
		vmm_destroy(dst);
	vmm_destroy(w.v);
	return r;
}

int bench_suite_migrate(struct bench_ctx *ctx)
{
	struct mv_machine_config mc = { .ram_bytes = MB_RAM(256) };
	uint64_t ram = ctx->quick ? MB_RAM(4) : MB_RAM(16);
	struct vmm_migrate_opts ac = { .auto_converge = 1 };
	struct vmm_migrate_stats st;
	struct mv_machine *m1 = NULL, *m2 = NULL;
	struct mv_task *t1, *t2;
	double sc_ns;
	char note[96];
	int r;

	r = mv_machine_create(&mc, &m1);
	if (!r)
		r = mv_machine_create(&mc, &m2);
	if (!r)
		r = mv_task_spawn(m1, &t1);
	if (!r)
		r = mv_task_spawn(m2, &t2);
	if (!r)
		r = mb_stop_and_copy(t1, t2, ram, &sc_ns);
	if (!r)
		r = mb_live(t1, t2, ram, NULL, &st);
	if (!r) {
		snprintf(note, sizeof(note), "rounds %u, pages sent %llu (%llu at stop)", st.rounds,
			 (unsigned long long)st.pages_sent, (unsigned long long)st.pages_at_stop);
		bench_report(ctx, "migrate", "live migration downtime, guest writing",
			     (double)st.downtime_ns, "stop-and-copy (save + restore)", sc_ns, note);
		bench_report(ctx, "migrate", "live migration, whole, per page sent",
			     (double)st.total_ns / (double)(st.pages_sent ? st.pages_sent : 1),
			     "stop-and-copy, per page of RAM", sc_ns / (double)(ram / 4096),
			     "pre-copy resends what the guest dirties");
		r = mb_live(t1, t2, ram, &ac, &st);
	}
	if (!r) {
		snprintf(note, sizeof(note), "rounds %u, throttle %u%%, held %.1f ms, %llu pages at stop",
			 st.rounds, st.throttle_pct, (double)st.throttled_ns / 1e6,
			 (unsigned long long)st.pages_at_stop);
		bench_report(ctx, "migrate", "live migration downtime, auto-converge",
			     (double)st.downtime_ns, "stop-and-copy (save + restore)", sc_ns, note);
		bench_report(ctx, "migrate", "live migration with auto-converge, whole",
			     (double)st.total_ns, "stop-and-copy (save + restore)", sc_ns,
			     "the guest throttled until a round leaves few pages");
	}
	if (m2)
		mv_machine_destroy(m2);
	if (m1)
		mv_machine_destroy(m1);
	return r;
}
