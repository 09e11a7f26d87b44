/* SPDX-License-Identifier: MIT */
/*
 * Live migration (docs/snapshot.md, "Live migration"): pre-copy with dirty
 * logging between two machine objects over a pipe. A guest that writes
 * throughout loses no write (the source's and the destination's memory
 * are equal at stop time, and its counters go on from there); the moved
 * guest keeps every protection (IMMUTABLE text, a pinned CR, a tagged
 * pointer, private memory hidden from the VMM); a failed migration leaves
 * the source running.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>

#include "snaptest.h"
#include "vmm/migrate.h"

#define COUNTER  0x20000ull       /* per vCPU: COUNTER + 8 * idx */
#define AREA     0x80000ull       /* vCPU i writes pages AREA + i * 64 pages .. */
#define DOORBELL 0x40000000ull    /* outside RAM: an MMIO exit, a point where the VMM may pause */
#define PRIV     0x40000ull

struct writer {
	unsigned int idx;
	uint64_t limit;            /* stop after this many writes (0: until told) */
};

struct world {
	struct vmm *v;
	int stop;                  /* the doorbell answers it: the guest returns */
	long ret;
};

/* Keeps its progress in guest memory only: counter, then one u64 per write. */
static void guest_writer(struct mv_guest *g, void *arg)
{
	const struct writer *w = arg;
	uint64_t i = 0, bell = 0, base = AREA + w->idx * 64 * 4096;

	mv_guest_read(g, COUNTER + 8 * w->idx, &i, 8);
	for (uint64_t n = 0; !w->limit || n < w->limit; n++, i++) {
		uint64_t at = base + (i % 64) * 4096 + ((i / 64) % 512) * 8;

		mv_guest_write(g, at, &i, 8);
		mv_guest_write(g, COUNTER + 8 * w->idx, &(uint64_t){ i + 1 }, 8);
		mv_guest_read(g, DOORBELL, &bell, 8);
		if (bell)
			return;
	}
}

static void doorbell(void *ctx, unsigned int vcpu, struct kvm_run *run)
{
	struct world *w = ctx;
	uint64_t v = (uint64_t)__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE);

	(void)vcpu;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	if (!run->mmio.is_write)
		memcpy(run->mmio.data, &v, 8);
}

static void *run_thread(void *p)
{
	struct world *w = p;

	w->ret = vmm_run(w->v);
	return NULL;
}

static uint64_t counter(struct vmm *v, unsigned int idx)
{
	uint64_t c = 0;

	assert_true(mv_user_read(vmm_task(v), vmm_gpa_to_uaddr(v, COUNTER + 8 * idx), &c, 8) >= 0);
	return c;
}

static void wait_progress(struct vmm *v, unsigned int nr, uint64_t at_least)
{
	for (unsigned int i = 0; i < nr; i++)
		while (counter(v, i) < at_least)
			sched_yield();
}

static void start(struct world *w, struct vmm *v, struct writer *wr, unsigned int nr,
		  pthread_t *th)
{
	struct vmm_hooks hooks = { .mmio = doorbell, .ctx = w };

	w->v = v;
	vmm_set_hooks(v, &hooks);
	for (unsigned int i = 0; i < nr; i++)
		assert_int_equal(vmm_set_guest(v, i, guest_writer, &wr[i]), 0);
	assert_int_equal(pthread_create(th, NULL, run_thread, w), 0);
}

static void test_migration_loses_no_write_of_a_guest_writing_throughout(void **state)
{
	struct vmm_config cfg = { .nr_vcpus = 2, .ram_bytes = 2 * ST_MB };
	struct mv_machine *m1, *m2;
	struct mv_task *t1 = mvtest_task(&m1), *t2 = mvtest_task(&m2);
	struct vmm *src = st_vmm(t1, &cfg), *dst = NULL;
	struct writer wr[2] = { { 0, 0 }, { 1, 0 } }, more[2] = { { 0, 100 }, { 1, 100 } };
	struct world ws = { .stop = 0 }, wd = { .stop = 0 };
	struct vmm_migrate_stats st;
	uint8_t ds[SHA256_DIGEST_SIZE], dd[SHA256_DIGEST_SIZE];
	uint64_t c[2];
	const char *why = NULL;
	pthread_t th;

	(void)state;
	start(&ws, src, wr, 2, &th);
	wait_progress(src, 2, 200);
	if (vmm_migrate(src, t2, NULL, &dst, &st, &why))
		fail_msg("migrate: %s", why);
	pthread_join(th, NULL);
	assert_int_equal(ws.ret, 0);               /* the source's loops ended: handed off */
	/* stop time: both sides hold the same bytes, every write of the guest included */
	st_digest_ram(src, ds);
	st_digest_ram(dst, dd);
	assert_memory_equal(ds, dd, sizeof(ds));
	c[0] = counter(src, 0);
	c[1] = counter(src, 1);
	assert_int_equal(counter(dst, 0), c[0]);
	assert_int_equal(counter(dst, 1), c[1]);
	assert_true(st.rounds >= 2);
	assert_true(st.pages_sent >= 2 * 64);
	assert_true(st.bytes_sent > st.pages_sent * 4096);
	print_message("rounds %u, pages sent %llu (%llu at stop), downtime %llu us\n", st.rounds,
		      (unsigned long long)st.pages_sent, (unsigned long long)st.pages_at_stop,
		      (unsigned long long)(st.downtime_ns / 1000));
	/* the guest goes on at the destination from where it was */
	start(&wd, dst, more, 2, &th);
	pthread_join(th, NULL);
	assert_int_equal(wd.ret, 0);
	for (unsigned int i = 0; i < 2; i++) {
		uint64_t last = c[i] + 99, got = 0;
		uint64_t at = AREA + i * 64 * 4096 + (last % 64) * 4096 + ((last / 64) % 512) * 8;

		assert_int_equal(counter(dst, i), c[i] + 100);
		assert_true(mv_user_read(t2, vmm_gpa_to_uaddr(dst, at), &got, 8) >= 0);
		assert_int_equal(got, last);
	}
	vmm_destroy(dst);
	vmm_destroy(src);
	mv_machine_destroy(m2);
	mv_machine_destroy(m1);
}

/*
 * Auto-converge's rule (QEMU's): a round whose guest dirtied more than half
 * of what it sent is hot; two hot rounds running raise the throttle, to 20%
 * first, then by 10 to at most 99; a cool round resets the count.
 */
static void test_migration_auto_converge_rule(void **state)
{
	static const struct {
		uint64_t sent, dirtied;
		unsigned int pct;
	} steps[] = {
		{ 100, 51, 0 }, { 100, 50, 0 },   /* hot, then cool: the count starts again */
		{ 100, 51, 0 }, { 100, 90, 20 },  /* two hot: 20% */
		{ 100, 99, 20 }, { 100, 70, 30 }, /* two more: +10 */
		{ 0, 1, 30 }, { 0, 1, 40 },       /* nothing sent, something dirtied: hot */
		{ 100, 10, 40 },
	};
	struct vmm_mig_throttle t = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		assert_int_equal(vmm_mig_throttle_step(&t, steps[i].sent, steps[i].dirtied),
				 steps[i].pct);
	for (int i = 0; i < 40; i++)
		vmm_mig_throttle_step(&t, 1, 1);
	assert_int_equal(t.pct, VMM_MIG_THROTTLE_MAX);
}

/*
 * A guest that rewrites its working set as fast as it can: with
 * auto-converge the migration ends before its round limit, even asking
 * for at most four dirty pages at the stop, and nothing the guest wrote is
 * lost.
 */
static void test_migration_auto_converge_throttles_a_hot_guest(void **state)
{
	struct vmm_config cfg = { .nr_vcpus = 2, .ram_bytes = 2 * ST_MB };
	struct vmm_migrate_opts o = { .max_rounds = 1000, .stop_pages = 4, .auto_converge = 1 };
	struct mv_machine *m1, *m2;
	struct mv_task *t1 = mvtest_task(&m1), *t2 = mvtest_task(&m2);
	struct vmm *src = st_vmm(t1, &cfg), *dst = NULL;
	struct writer wr[2] = { { 0, 0 }, { 1, 0 } };
	struct world ws = { .stop = 0 };
	struct vmm_migrate_stats st;
	uint8_t ds[SHA256_DIGEST_SIZE], dd[SHA256_DIGEST_SIZE];
	const char *why = NULL;
	pthread_t th;

	(void)state;
	start(&ws, src, wr, 2, &th);
	wait_progress(src, 2, 200);
	if (vmm_migrate(src, t2, &o, &dst, &st, &why))
		fail_msg("migrate: %s", why);
	pthread_join(th, NULL);
	assert_int_equal(ws.ret, 0);
	st_digest_ram(src, ds);
	st_digest_ram(dst, dd);
	assert_memory_equal(ds, dd, sizeof(ds));
	assert_int_equal(counter(dst, 0), counter(src, 0));
	assert_int_equal(counter(dst, 1), counter(src, 1));
	print_message("rounds %u, throttle %u%%, held %llu us, %llu pages at stop\n", st.rounds,
		      st.throttle_pct, (unsigned long long)(st.throttled_ns / 1000),
		      (unsigned long long)st.pages_at_stop);
	/*
	 * It converged before the round limit: when the guest outran the
	 * sender the throttle rose until it could not (on a busy host the
	 * guest may be slow enough that it never had to); a throttled guest
	 * was held while rounds sent.
	 */
	assert_true(st.rounds < o.max_rounds);
	assert_true(st.pages_at_stop <= o.stop_pages + 2 * 64);
	assert_int_equal(st.throttle_pct > 0, st.throttled_ns > 0);
	vmm_destroy(dst);
	vmm_destroy(src);
	mv_machine_destroy(m2);
	mv_machine_destroy(m1);
}

static void test_migration_failure_leaves_the_source_running(void **state)
{
	struct vmm_config cfg = { .nr_vcpus = 2, .ram_bytes = 2 * ST_MB, .mte = 1 };
	struct mv_machine_config nomte = { .ram_bytes = 64 * ST_MB, .features_off = MV_FEAT_MTE };
	struct mv_machine *m1, *m2;
	struct mv_task *t1 = mvtest_task(&m1), *t2;
	struct vmm *src = st_vmm(t1, &cfg), *dst = NULL;
	struct writer wr[2] = { { 0, 0 }, { 1, 0 } };
	struct world ws = { .stop = 0 };
	const char *why = NULL;
	uint64_t c;
	pthread_t th;

	(void)state;
	assert_int_equal(mv_machine_create(&nomte, &m2), 0);
	assert_int_equal(mv_task_spawn(m2, &t2), 0);
	start(&ws, src, wr, 2, &th);
	wait_progress(src, 2, 50);
	/* the destination machine has no MTE: it cannot take the VM */
	assert_true(vmm_migrate(src, t2, NULL, &dst, NULL, &why) < 0);
	assert_null(dst);
	assert_non_null(why);
	c = counter(src, 0);
	wait_progress(src, 1, c + 50);             /* still running */
	assert_int_equal(vmm_get_config(src)->ram_flags, 0);   /* logging back off */
	__atomic_store_n(&ws.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	assert_int_equal(ws.ret, 0);
	vmm_destroy(src);
	mv_machine_destroy(m2);
	mv_machine_destroy(m1);
}

/* Retags one granule per step and writes through the new tag: tags change all the time. */
static void guest_retagger(struct mv_guest *g, void *arg)
{
	uint64_t bell = 0;

	(void)arg;
	for (uint64_t i = 0;; i++) {
		uint64_t at = AREA + (i % 32) * 4096 + ((i / 32) % 256) * 16;
		uint64_t tagged = ST_TAG(at, (i / 32 + 1) % 16);

		mv_guest_set_tag(g, tagged);
		mv_guest_write(g, tagged, &i, 8);
		mv_guest_write(g, COUNTER, &(uint64_t){ i + 1 }, 8);
		mv_guest_read(g, DOORBELL, &bell, 8);
		if (bell)
			return;
	}
}

static void all_tags(struct vmm *v, uint8_t *out)
{
	for (uint64_t p = 0; p < 32; p++) {
		struct kvm_arm_copy_mte_tags ct = { .guest_ipa = AREA + p * 4096, .length = 4096,
						     .addr = out + p * 256,
						     .flags = KVM_ARM_TAGS_FROM_GUEST };

		assert_int_equal(kt_ioctl_p(vmm_task(v), vmm_vm_fd(v), KVM_ARM_MTE_COPY_TAGS, &ct),
				 4096);
	}
}

static void test_migration_tags_travel_with_pages_retagged_during_it(void **state)
{
	struct vmm_config cfg = { .nr_vcpus = 2, .ram_bytes = 2 * ST_MB, .mte = 1 };
	struct mv_machine *m1, *m2;
	struct mv_task *t1 = mvtest_task(&m1), *t2 = mvtest_task(&m2);
	struct vmm *src = st_vmm(t1, &cfg), *dst = NULL;
	struct world ws = { .stop = 0 };
	struct vmm_hooks hooks = { .mmio = doorbell, .ctx = &ws };
	struct writer idle = { 1, 1 };
	uint8_t *ts = malloc(32 * 256), *td = malloc(32 * 256);
	uint8_t ds[SHA256_DIGEST_SIZE], dd[SHA256_DIGEST_SIZE];
	const char *why = NULL;
	pthread_t th;

	(void)state;
	assert_non_null(ts);
	assert_non_null(td);
	ws.v = src;
	vmm_set_hooks(src, &hooks);
	assert_int_equal(vmm_set_guest(src, 0, guest_retagger, NULL), 0);
	assert_int_equal(vmm_set_guest(src, 1, guest_writer, &idle), 0);
	assert_int_equal(pthread_create(&th, NULL, run_thread, &ws), 0);
	wait_progress(src, 1, 32 * 20);
	if (vmm_migrate(src, t2, NULL, &dst, NULL, &why))
		fail_msg("migrate: %s", why);
	pthread_join(th, NULL);
	all_tags(src, ts);
	all_tags(dst, td);
	assert_memory_equal(ts, td, 32 * 256);      /* every retag moved with its page */
	st_digest_ram(src, ds);
	st_digest_ram(dst, dd);
	assert_memory_equal(ds, dd, sizeof(ds));
	free(ts);
	free(td);
	vmm_destroy(dst);
	vmm_destroy(src);
	mv_machine_destroy(m2);
	mv_machine_destroy(m1);
}

/* ---- protections ---- */



static void guest_boot(struct mv_guest *g, void *arg)
{
	struct gst *c = arg;
	struct heki_pages e = { .pa = TEXT, .epa = TEXT + 0x1000,
				.permissions = MEM_ATTR_READ | MEM_ATTR_EXEC | MEM_ATTR_IMMUTABLE };
	uint64_t v = 0x7a6, text = 0x90c3;

	c->r[0] = mv_guest_set_tag(g, ST_TAG(0x3000, 5));
	c->r[1] = mv_guest_write(g, ST_TAG(0x3000, 5), &v, 8);
	ht_long_mode(g);
	c->r[2] = mv_guest_write(g, TEXT, &text, 8);
	c->r[3] = mv_guest_hypercall(g, KVM_HC_LOCK_CR_UPDATE, 0, CR0_WP, 0, 0);
	ht_put_list(g, HT_LIST, 0, &e, 1);
	c->r[4] = mv_guest_hypercall(g, KVM_HC_PROTECT_MEMORY, HT_LIST, 0, 0, 0);
}

static void guest_check(struct mv_guest *g, void *arg)
{
	struct gst *c = arg;
	uint64_t v = 0, bad = 0xcc, cr0 = 0;

	c->r[0] = mv_guest_write(g, TEXT, &bad, 8);                /* IMMUTABLE */
	fault_vec(g, c, 0);
	c->r[1] = mv_guest_read_cr(g, 0, &cr0);
	c->r[2] = mv_guest_write_cr(g, 0, cr0 & ~CR0_WP);          /* pinned */
	fault_vec(g, c, 2);
	c->r[3] = mv_guest_read(g, ST_TAG(0x3000, 5), &v, 8);      /* the right tag */
	c->val[0] = v;
	c->r[4] = mv_guest_read(g, ST_TAG(0x3000, 6), &v, 8);      /* the wrong one */
	fault_vec(g, c, 4);
	c->r[5] = mv_guest_read(g, TEXT, &c->val[1], 8);
}

static void test_migration_keeps_immutable_text_pinned_cr_and_tags(void **state)
{
	struct vmm_config cfg = { .nr_vcpus = 1, .ram_bytes = HT_RAM, .mte = 1 };
	struct mv_machine *m1, *m2;
	struct mv_task *t1 = mvtest_task(&m1), *t2 = mvtest_task(&m2);
	struct vmm *src = st_vmm(t1, &cfg), *dst = NULL;
	struct vmm_migrate_stats st;
	struct gst a = { 0 }, b = { 0 };
	const char *why = NULL;

	(void)state;
	st_run(src, guest_boot, &a);
	for (int i = 0; i < 5; i++)
		assert_int_equal(a.r[i], 0);
	if (vmm_migrate(src, t2, NULL, &dst, &st, &why))
		fail_msg("migrate: %s", why);
	st_run(dst, guest_check, &b);
	assert_int_equal(b.r[0], -EFAULT);
	assert_int_equal(b.vec[0], 14);
	assert_int_equal(b.r[1], 0);
	assert_int_equal(b.r[2], -EFAULT);
	assert_int_equal(b.vec[2], 13);
	assert_int_equal(b.r[3], 0);
	assert_int_equal(b.val[0], 0x7a6);
	assert_int_equal(b.r[4], -EFAULT);
	assert_int_equal(b.vec[4], 14);
	assert_int_equal(b.r[5], 0);
	assert_int_equal(b.val[1], 0x90c3);
	vmm_destroy(dst);
	vmm_destroy(src);
	mv_machine_destroy(m2);
	mv_machine_destroy(m1);
}

static const char secret[] = "private to the guest, opaque to both VMMs";

static void guest_secret(struct mv_guest *g, void *arg)
{
	long *r = arg;

	*r = mv_guest_write(g, PRIV, secret, sizeof(secret));
}

static void guest_read_secret(struct mv_guest *g, void *arg)
{
	long *r = arg;
	char got[sizeof(secret)] = { 0 };

	r[0] = mv_guest_read(g, PRIV, got, sizeof(got));
	r[1] = memcmp(got, secret, sizeof(got));
}

static void test_migration_of_private_memory_stops_and_copies_it_hidden(void **state)
{
	struct vmm_config cfg = { .nr_vcpus = 1, .ram_bytes = 2 * ST_MB,
				  .vm_type = KVM_X86_SW_PROTECTED_VM, .private_mem = 1 };
	struct kvm_memory_attributes ma = { .address = PRIV, .size = 0x1000,
					    .attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE };
	struct mv_machine *m1, *m2;
	struct mv_task *t1 = mvtest_task(&m1), *t2 = mvtest_task(&m2);
	struct vmm *src = st_vmm(t1, &cfg), *dst = NULL;
	struct vmm_migrate_stats st;
	char seen[sizeof(secret)];
	long r[2] = { 1, 1 };

	(void)state;
	assert_int_equal(kt_ioctl_p(t1, vmm_vm_fd(src), KVM_SET_MEMORY_ATTRIBUTES, &ma), 0);
	st_run(src, guest_secret, r);
	assert_int_equal(r[0], 0);
	assert_int_equal(vmm_migrate(src, t2, NULL, &dst, &st, NULL), 0);
	assert_int_equal(st.rounds, 0);            /* no dirty log on guest_memfd slots */
	assert_true(mv_user_read(t2, vmm_gpa_to_uaddr(dst, PRIV), seen, sizeof(seen)) >= 0);
	assert_true(memcmp(seen, secret, 8) != 0);
	st_run(dst, guest_read_secret, r);
	assert_int_equal(r[0], 0);
	assert_int_equal(r[1], 0);
	vmm_destroy(dst);
	vmm_destroy(src);
	mv_machine_destroy(m2);
	mv_machine_destroy(m1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migration_loses_no_write_of_a_guest_writing_throughout),
		cmocka_unit_test(test_migration_auto_converge_rule),
		cmocka_unit_test(test_migration_auto_converge_throttles_a_hot_guest),
		cmocka_unit_test(test_migration_failure_leaves_the_source_running),
		cmocka_unit_test(test_migration_tags_travel_with_pages_retagged_during_it),
		cmocka_unit_test(test_migration_keeps_immutable_text_pinned_cr_and_tags),
		cmocka_unit_test(test_migration_of_private_memory_stops_and_copies_it_hidden),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
