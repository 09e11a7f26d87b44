/* SPDX-License-Identifier: MIT */
/*
 * The inline guest fast path (<memvisor/guest_fast.h>): it reads and writes
 * what mv_guest_read/mv_guest_write do, hits stay inline once a page is in
 * the TLB, and everything the one compare cannot vouch for (a miss, an
 * MTE-checked page, MMIO, a write-protected page, an unaligned or
 * page-crossing access, an exception queued by the VMM) goes the whole way
 * with the same data, exits and faults.
 */
#include <memvisor/guest_fast.h>

#include "kvmtest.h"
#include "api/api.h"
#include "hw/cpu.h"
#include "kvm/guest.h"
#include "kvm/kvm.h"

#define MB (1ull << 20)
#define TAG(p, t) (((uint64_t)(p) & ~(0xfull << 56)) | ((uint64_t)(t) << 56))
#define MMIO_GPA 0x40000000ull

struct fctx {
	long r[16];
	uint64_t v[16];
	struct mv_guest_fault f[4];
	int bad;
	uint64_t seed;
};

/* A VM with 2 MiB of RAM at GPA 0 whose bytes are a function of their address. */
static uint64_t fast_vm(struct kvmtest *k)
{
	uint64_t map;

	kt_setup(k, 0);
	map = kt_mmap(k, 2 * MB);
	assert_int_equal(kt_region(k, 0, 0, 0, 2 * MB, map), 0);
	for (uint64_t a = 0; a < 64 * KT_PG; a += 8) {
		uint64_t x = a * 0x9e3779b97f4a7c15ull;

		assert_int_equal(mv_user_write(k->t, map + a, &x, 8), 0);
	}
	return map;
}

static struct kvm_run *run_to_exit(struct kvmtest *k, int vcpu, mv_guest_fn fn, void *arg)
{
	assert_int_equal(mv_vcpu_set_guest(k->t, vcpu, fn, arg), 0);
	assert_int_equal(kt_run(k, vcpu), 0);
	return mv_vcpu_run_area(k->t, vcpu);
}

static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s >> 17;
}

/* ---- same data ---- */

static long fast_read(struct mv_guest_fast *w, uint64_t gva, uint64_t *out, int size)
{
	long r;

	switch (size) {
	case 1: { uint8_t x = 0; r = mv_guest_fast_read8(w, gva, &x); *out = x; return r; }
	case 2: { uint16_t x = 0; r = mv_guest_fast_read16(w, gva, &x); *out = x; return r; }
	case 4: { uint32_t x = 0; r = mv_guest_fast_read32(w, gva, &x); *out = x; return r; }
	default: return mv_guest_fast_read64(w, gva, out);
	}
}

static long fast_write(struct mv_guest_fast *w, uint64_t gva, uint64_t v, int size)
{
	switch (size) {
	case 1: return mv_guest_fast_write8(w, gva, (uint8_t)v);
	case 2: return mv_guest_fast_write16(w, gva, (uint16_t)v);
	case 4: return mv_guest_fast_write32(w, gva, (uint32_t)v);
	default: return mv_guest_fast_write64(w, gva, v);
	}
}

/* Random sizes and addresses (aligned or not, some crossing a page) in 64 pages. */
static void guest_same_data(struct mv_guest *g, void *arg)
{
	static const int sizes[4] = { 1, 2, 4, 8 };
	struct fctx *c = arg;
	struct mv_guest_fast *w = mv_guest_fast(g);
	uint64_t s = c->seed;

	if (!w) {
		c->bad = -1;
		return;
	}
	for (int i = 0; i < 20000; i++) {
		int size = sizes[lcg(&s) % 4];
		uint64_t gva = lcg(&s) % (64 * KT_PG - 8), want = 0, got = 0, v = lcg(&s);

		if (i % 3 == 0)
			gva &= ~(uint64_t)(size - 1);
		if (mv_guest_read(g, gva, &want, (size_t)size) || fast_read(w, gva, &got, size) ||
		    want != got)
			c->bad++;
		if (fast_write(w, gva, v, size) || mv_guest_read(g, gva, &got, (size_t)size) ||
		    memcmp(&got, &v, (size_t)size))
			c->bad++;
	}
}

static void test_guest_fast_reads_and_writes_what_mv_guest_read_sees(void **state)
{
	struct kvmtest k;
	struct fctx c = { .seed = mvtest_seed() };

	fast_vm(&k);
	assert_int_equal(run_to_exit(&k, kt_vcpu(&k, 0), guest_same_data, &c)->exit_reason,
			 KVM_EXIT_HLT);
	assert_int_equal(c.bad, 0);
	kt_teardown(&k);
}

/* ---- a miss, then hits that stay inline ---- */

static void guest_hit_after_miss(struct mv_guest *g, void *arg)
{
	struct fctx *c = arg;
	struct mv_guest_fast *w = mv_guest_fast(g);
	const void *dead = w->tlb;   /* KVM_RUN pointed it at entries that never match */

	c->r[0] = mv_guest_fast_read64(w, 0x5008, &c->v[0]);   /* first touch: stage-2 fault */
	c->r[1] = mv_guest_read(g, 0x5008, &c->v[1], 8);
	c->v[2] = w->tlb != dead;                               /* the miss re-armed it */
	for (uint64_t i = 0; i < 100; i++) {
		uint64_t x = 0;

		c->r[2] |= mv_guest_fast_read64(w, 0x5000 + 8 * i, &x);
		if (x != (0x5000 + 8 * i) * 0x9e3779b97f4a7c15ull || w->tlb == dead ||
		    (w->access_seq & 1))
			c->bad++;
	}
}

static void test_guest_fast_miss_goes_the_whole_way_and_rearms_the_window(void **state)
{
	struct kvmtest k;
	struct fctx c = { 0 };

	fast_vm(&k);
	assert_int_equal(run_to_exit(&k, kt_vcpu(&k, 0), guest_hit_after_miss, &c)->exit_reason,
			 KVM_EXIT_HLT);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], 0);
	assert_int_equal(c.v[0], 0x5008 * 0x9e3779b97f4a7c15ull);
	assert_int_equal(c.v[0], c.v[1]);
	assert_int_equal(c.v[2], 1);
	assert_int_equal(c.r[2], 0);
	assert_int_equal(c.bad, 0);
	kt_teardown(&k);
}

/* ---- MMIO ---- */

static void guest_mmio(struct mv_guest *g, void *arg)
{
	struct fctx *c = arg;
	struct mv_guest_fast *w = mv_guest_fast(g);

	c->r[0] = mv_guest_fast_read64(w, MMIO_GPA + 8, &c->v[0]);
	c->r[1] = mv_guest_fast_write32(w, MMIO_GPA + 0x10, 0xabcd1234u);
	c->r[2] = mv_guest_read(g, MMIO_GPA + 8, &c->v[1], 8);
}

static void test_guest_fast_mmio_becomes_the_same_exits(void **state)
{
	struct kvmtest k;
	struct fctx c = { 0 };
	uint64_t d = 0x1122334455667788ull;
	uint32_t d32;
	int vcpu;
	struct kvm_run *run;

	fast_vm(&k);
	vcpu = kt_vcpu(&k, 0);
	run = run_to_exit(&k, vcpu, guest_mmio, &c);
	for (int i = 0; i < 2; i++) {   /* the inline read, then mv_guest_read: the same exit */
		if (i) {
			assert_int_equal(kt_run(&k, vcpu), 0);   /* completes the write */
			assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
		}
		assert_int_equal(run->mmio.phys_addr, MMIO_GPA + 8);
		assert_int_equal(run->mmio.len, 8);
		assert_int_equal(run->mmio.is_write, 0);
		memcpy(run->mmio.data, &d, 8);
		assert_int_equal(kt_run(&k, vcpu), 0);
		if (!i) {
			assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
			assert_int_equal(run->mmio.phys_addr, MMIO_GPA + 0x10);
			assert_int_equal(run->mmio.len, 4);
			assert_int_equal(run->mmio.is_write, 1);
			memcpy(&d32, run->mmio.data, 4);
			assert_int_equal(d32, 0xabcd1234u);
		}
	}
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], 0);
	assert_int_equal(c.r[2], 0);
	assert_int_equal(c.v[0], d);
	assert_int_equal(c.v[1], d);
	kt_teardown(&k);
}

/* ---- write-protected pages ---- */

static void guest_write_protected(struct mv_guest *g, void *arg)
{
	struct fctx *c = arg;
	struct mv_guest_fast *w = mv_guest_fast(g);

	/* a read-only slot: the read hits inline, the write must not */
	c->r[0] = mv_guest_fast_read64(w, 2 * MB + 0x40, &c->v[0]);
	c->r[1] = mv_guest_fast_read64(w, 2 * MB + 0x48, &c->v[1]);
	c->r[2] = mv_guest_fast_write64(w, 2 * MB + 0x40, 0x77);
	c->r[3] = mv_guest_fast_read64(w, 2 * MB + 0x40, &c->v[2]);
	/* dirty logging write-protects at stage 2 until the first write */
	c->r[4] = mv_guest_fast_read64(w, 0x7000, &c->v[3]);
	c->r[5] = mv_guest_fast_write64(w, 0x7000, 0x99);
	c->r[6] = mv_guest_read(g, 0x7000, &c->v[4], 8);
}

static void test_guest_fast_write_protected_pages_fall_back(void **state)
{
	struct kvmtest k;
	struct fctx c = { 0 };
	uint64_t map, ro, bitmap[8] = { 0 }, x = 0x5555;
	struct kvm_run *run;
	int vcpu;

	kt_setup(&k, 0);
	map = kt_mmap(&k, 2 * MB);
	ro = kt_mmap(&k, 2 * MB);
	assert_int_equal(mv_user_write(k.t, ro + 0x40, &x, 8), 0);
	assert_int_equal(kt_region(&k, 0, KVM_MEM_LOG_DIRTY_PAGES, 0, 2 * MB, map), 0);
	assert_int_equal(kt_region(&k, 1, KVM_MEM_READONLY, 2 * MB, 2 * MB, ro), 0);
	vcpu = kt_vcpu(&k, 0);
	run = run_to_exit(&k, vcpu, guest_write_protected, &c);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);   /* as mv_guest_write does */
	assert_int_equal(run->mmio.phys_addr, 2 * MB + 0x40);
	assert_int_equal(run->mmio.is_write, 1);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	for (int i = 0; i < 7; i++)
		assert_int_equal(c.r[i], 0);
	assert_int_equal(c.v[0], 0x5555);
	assert_int_equal(c.v[2], 0x5555);   /* the slot stayed read-only */
	assert_int_equal(c.v[4], 0x99);
	assert_int_equal(kt_dirty_log(k.t, k.vm, 0, bitmap), 0);
	assert_int_equal(bitmap[0], 1ull << 7);
	kt_teardown(&k);
}

/* ---- MTE-checked pages ---- */

static void guest_mte(struct mv_guest *g, void *arg)
{
	struct fctx *c = arg;
	struct mv_guest_fast *w = mv_guest_fast(g);

	c->r[0] = mv_guest_set_tag(g, TAG(0x3000, 3));
	c->r[1] = mv_guest_fast_write64(w, TAG(0x3000, 3), 0x1234);
	c->r[2] = mv_guest_fast_read64(w, TAG(0x3000, 3), &c->v[0]);
	c->r[3] = mv_guest_fast_read64(w, TAG(0x3000, 3), &c->v[1]);   /* the TLB has it now */
	/* a mismatch: a sync fault, nothing read, as mv_guest_read reports it */
	c->v[2] = 0xfeed;
	c->r[4] = mv_guest_fast_read64(w, TAG(0x3000, 5), &c->v[2]);
	mv_guest_last_fault(g, &c->f[0]);
	c->r[5] = mv_guest_read(g, TAG(0x3000, 5), &c->v[3], 8);
	mv_guest_last_fault(g, &c->f[1]);
	c->r[6] = mv_guest_fast_write64(w, TAG(0x3000, 5), 0x666);
	mv_guest_last_fault(g, &c->f[2]);
	c->r[7] = mv_guest_fast_read64(w, TAG(0x3000, 3), &c->v[4]);
}

static void test_guest_fast_mte_checked_page_faults_as_mv_guest_read(void **state)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_MTE };
	struct kvmtest k;
	struct fctx c = { 0 };
	uint64_t map;

	kt_setup(&k, 0);
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_ENABLE_CAP, &cap), 0);
	map = kt_mmap(&k, 2 * MB);
	assert_int_equal(kt_region(&k, 0, 0, 0, 2 * MB, map), 0);
	assert_int_equal(run_to_exit(&k, kt_vcpu(&k, 0), guest_mte, &c)->exit_reason,
			 KVM_EXIT_HLT);
	for (int i = 0; i < 4; i++)
		assert_int_equal(c.r[i], 0);
	assert_int_equal(c.v[0], 0x1234);
	assert_int_equal(c.v[1], 0x1234);
	assert_int_equal(c.r[4], -EFAULT);
	assert_int_equal(c.r[5], -EFAULT);
	assert_int_equal(c.v[2], 0xfeed);
	assert_memory_equal(&c.f[0], &c.f[1], sizeof(c.f[0]));
	assert_int_equal(c.f[0].vector, 14);
	assert_int_equal(c.f[0].error_code, MV_PF_MTE | 1);
	assert_int_equal(c.f[0].address, TAG(0x3000, 5));
	assert_int_equal(c.r[6], -EFAULT);
	assert_int_equal(c.f[2].error_code, MV_PF_MTE | 1 | 2);
	assert_int_equal(c.r[7], 0);
	assert_int_equal(c.v[4], 0x1234);   /* the faulting write wrote nothing */
	kt_teardown(&k);
}

/* ---- unaligned and page-crossing accesses ---- */

static void guest_crossing(struct mv_guest *g, void *arg)
{
	struct fctx *c = arg;
	struct mv_guest_fast *w = mv_guest_fast(g);
	uint32_t x = 0;

	c->r[0] = mv_guest_fast_read64(w, 0x1ffc, &c->v[0]);     /* two RAM pages */
	c->r[1] = mv_guest_read(g, 0x1ffc, &c->v[1], 8);
	c->r[2] = mv_guest_fast_read32(w, 0x3001, &x);           /* unaligned in one page */
	c->v[2] = x;
	c->r[3] = mv_guest_read(g, 0x3001, &x, 4);
	c->v[3] = x;
	c->r[4] = mv_guest_fast_write64(w, 0x4ffa, 0x0102030405060708ull);
	c->r[5] = mv_guest_read(g, 0x4ffa, &c->v[4], 8);
	/* from the last RAM page into no memslot: the tail becomes an MMIO exit */
	c->r[6] = mv_guest_fast_read64(w, 2 * MB - 4, &c->v[5]);
	c->r[7] = mv_guest_read(g, 2 * MB - 4, &c->v[6], 8);
}

static void test_guest_fast_unaligned_and_page_crossing_go_the_whole_way(void **state)
{
	struct kvmtest k;
	struct fctx c = { 0 };
	uint64_t map, head = 0x7766554433221100ull, want;
	uint32_t tail = 0xa5a5a5a5u;
	struct kvm_run *run;
	int vcpu;

	map = fast_vm(&k);
	assert_int_equal(mv_user_write(k.t, map + 2 * MB - 4, &head, 4), 0);
	vcpu = kt_vcpu(&k, 0);
	run = run_to_exit(&k, vcpu, guest_crossing, &c);
	for (int i = 0; i < 2; i++) {   /* the inline read, then mv_guest_read: the same exit */
		if (i)
			assert_int_equal(kt_run(&k, vcpu), 0);
		assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
		assert_int_equal(run->mmio.phys_addr, 2 * MB);
		assert_int_equal(run->mmio.len, 4);
		assert_int_equal(run->mmio.is_write, 0);
		memcpy(run->mmio.data, &tail, 4);
	}
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	for (int i = 0; i < 8; i++)
		assert_int_equal(c.r[i], 0);
	assert_int_equal(c.v[0], c.v[1]);
	assert_int_equal(c.v[2], c.v[3]);
	assert_int_equal(c.v[4], 0x0102030405060708ull);
	want = ((uint64_t)tail << 32) | 0x33221100u;
	assert_int_equal(c.v[5], want);
	assert_int_equal(c.v[6], want);
	kt_teardown(&k);
}

/* ---- an exception the VMM queued between two runs ---- */

static void guest_queued_exception(struct mv_guest *g, void *arg)
{
	struct fctx *c = arg;
	struct mv_guest_fast *w = mv_guest_fast(g);

	c->r[0] = mv_guest_fast_read64(w, 0x1000, &c->v[0]);   /* armed, hitting */
	c->r[1] = mv_guest_fast_read64(w, 0x1000, &c->v[0]);
	c->r[2] = mv_guest_fast_write64(w, MMIO_GPA, 1);        /* exit: the VMM queues #GP */
	c->v[1] = 0xfeed;
	c->r[3] = mv_guest_fast_read64(w, 0x1000, &c->v[1]);    /* takes it instead */
	mv_guest_last_fault(g, &c->f[0]);
	c->r[4] = mv_guest_fast_read64(w, 0x1000, &c->v[2]);
}

static void test_guest_fast_delivers_an_exception_queued_between_runs(void **state)
{
	struct kvmtest k;
	struct fctx c = { 0 };
	struct kvm_vcpu_events ev;
	struct kvm_run *run;
	int vcpu;

	fast_vm(&k);
	vcpu = kt_vcpu(&k, 0);
	run = run_to_exit(&k, vcpu, guest_queued_exception, &c);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_GET_VCPU_EVENTS, &ev), 0);
	ev.exception.injected = 0;
	ev.exception.pending = 0;
	ev.exception.nr = 13;
	ev.exception.has_error_code = 1;
	ev.exception.error_code = 0;
	ev.exception.injected = 1;
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_SET_VCPU_EVENTS, &ev), 0);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], 0);
	assert_int_equal(c.r[2], 0);
	assert_int_equal(c.r[3], -EFAULT);
	assert_int_equal(c.v[1], 0xfeed);
	assert_int_equal(c.f[0].vector, 13);
	assert_int_equal(c.r[4], 0);
	assert_int_equal(c.v[2], 0x1000 * 0x9e3779b97f4a7c15ull);
	kt_teardown(&k);
}

/* ---- the window outside a guest program ---- */

static void guest_abi(struct mv_guest *g, void *arg)
{
	struct fctx *c = arg;

	c->r[0] = mv_guest_fast_get(g, MV_GUEST_FAST_ABI + 1) == NULL;
	c->r[1] = mv_guest_fast_get(g, MV_GUEST_FAST_ABI | (1u << 20)) == NULL;
	c->r[2] = mv_guest_fast(g) != NULL;
}

static void test_guest_fast_window_only_inside_a_guest_program_of_its_abi(void **state)
{
	struct kvmtest k;
	struct fctx c = { 0 };
	uint64_t v = 0;

	assert_null(mv_guest_fast(NULL));
	assert_int_equal(mv_guest_fast_access(NULL, 0, &v, 8, 0), -EINVAL);
	fast_vm(&k);
	assert_int_equal(run_to_exit(&k, kt_vcpu(&k, 0), guest_abi, &c)->exit_reason,
			 KVM_EXIT_HLT);
	assert_int_equal(c.r[0], 1);
	assert_int_equal(c.r[1], 1);
	assert_int_equal(c.r[2], 1);
	kt_teardown(&k);
}

/* ---- plain and seq_cst callers on a machine without membarrier ---- */

/* @c->seed: 0 asks seq_cst first, then plain; 1 the other way round. */
static void guest_mixed_order(struct mv_guest *g, void *arg)
{
	struct fctx *c = arg;
	unsigned int seq = MV_GUEST_FAST_ABI | MV_GUEST_FAST_ORDER_SEQ_CST;
	struct mv_guest_fast *w = mv_guest_fast_get(g, c->seed ? MV_GUEST_FAST_ABI : seq);
	uint64_t x = 0;

	c->r[0] = mv_guest_fast_read64(w, 0x2000, &x);   /* a miss: armed if it may be */
	c->v[0] = !hw_tlb_fast_dead(&g->vcpu->cpu);
	w = mv_guest_fast_get(g, c->seed ? seq : MV_GUEST_FAST_ABI);
	for (int i = 0; i < 4; i++) {
		c->r[1] |= mv_guest_fast_read64(w, 0x2000 + 8 * (uint64_t)i, &x);
		c->v[1] |= !hw_tlb_fast_dead(&g->vcpu->cpu);
	}
}

/*
 * Plain-store brackets are unsound against seq_cst shootdowns: once any
 * code of the guest asks for the window with them on a machine without
 * membarrier, the window stays dead, whichever asked first, and every
 * access still answers (through the whole path).
 */
static void test_guest_fast_plain_caller_without_membarrier_keeps_the_window_dead(void **state)
{
	for (uint64_t order = 0; order < 2; order++) {
		struct kvmtest k;
		struct fctx c = { .seed = order };

		(void)state;
		fast_vm(&k);
		k.m->hw.asym_fence = false;   /* as on a host without membarrier */
		assert_int_equal(run_to_exit(&k, kt_vcpu(&k, 0), guest_mixed_order, &c)->exit_reason,
				 KVM_EXIT_HLT);
		assert_int_equal(c.r[0], 0);
		assert_int_equal(c.r[1], 0);
		assert_int_equal(c.v[0], order == 0);   /* seq_cst alone may arm */
		assert_int_equal(c.v[1], 0);            /* never after a plain caller */
		kt_teardown(&k);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_fast_reads_and_writes_what_mv_guest_read_sees),
		cmocka_unit_test(test_guest_fast_miss_goes_the_whole_way_and_rearms_the_window),
		cmocka_unit_test(test_guest_fast_mmio_becomes_the_same_exits),
		cmocka_unit_test(test_guest_fast_write_protected_pages_fall_back),
		cmocka_unit_test(test_guest_fast_mte_checked_page_faults_as_mv_guest_read),
		cmocka_unit_test(test_guest_fast_unaligned_and_page_crossing_go_the_whole_way),
		cmocka_unit_test(test_guest_fast_delivers_an_exception_queued_between_runs),
		cmocka_unit_test(test_guest_fast_window_only_inside_a_guest_program_of_its_abi),
		cmocka_unit_test(test_guest_fast_plain_caller_without_membarrier_keeps_the_window_dead),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
