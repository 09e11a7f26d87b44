/* SPDX-License-Identifier: MIT */
/*
 * The inline guest fast path (<memvisor/guest_fast.h>) against the VMM,
 * under ThreadSanitizer. vCPU threads write {sig, ~sig} canaries with
 * inline stores and read them back many times with inline loads while the
 * VMM drops, unmaps and remaps the pages behind an ordinary slot (a
 * witness task taking the freed frames and filling them with its own
 * pattern), or punches and converts a guest_memfd. Every word a guest reads
 * must be its own canary (signed with its id and the page) or zero; the
 * witness's frames must keep their pattern: a hit through a translation a
 * shootdown removed would show on either side.
 */
#include <pthread.h>
#include <stdbool.h>

#include <memvisor/guest_fast.h>

#include "kvmtest.h"

#define NR_VCPUS 2
#define REGION   (2ull << 20)
#define STRIDE   (16 * KT_PG)      /* 32 pages per region */
#define VMM_OPS  300
#define ROUNDS   40
#define REREADS  16
#define WPAT     0x5749544e45535321ull
#define WITNESS_PAGES 8

struct vthread {
	struct mv_task *t;
	int fd, id;
	int bad, run_errors;
	uint64_t own_seen, memfaults;
	uint64_t armed_seen;            /* reads made with the window armed: inline hits */
	unsigned int finished;          /* atomic */
	const unsigned int *vmm_ops;    /* atomic: operations the VMM has done */
};

static uint64_t sig(int id, uint64_t page, uint64_t round)
{
	return ((uint64_t)(id + 1) << 56) | (page << 32) | (round & 0xffffffff);
}

/* Zero (dropped, punched, converted) or a canary this vCPU wrote to this page. */
static bool own_or_zero(uint64_t x, int id, uint64_t page)
{
	return !x || ((x >> 56) == (uint64_t)(id + 1) && ((x >> 32) & 0xffffff) == page);
}

static void guest_fast_churn(struct mv_guest *g, void *arg)
{
	struct vthread *v = arg;
	struct mv_guest_fast *w = mv_guest_fast(g);
	uint64_t base = (uint64_t)v->id * REGION;
	const void *dead = w ? __atomic_load_n(&w->tlb, __ATOMIC_RELAXED) : NULL;   /* KVM_RUN killed it */

	if (!w) {
		v->bad++;
		return;
	}
	for (uint64_t r = 0; r < ROUNDS || __atomic_load_n(v->vmm_ops, __ATOMIC_RELAXED) < VMM_OPS;
	     r++) {
		for (uint64_t off = 0; off < REGION; off += STRIDE) {
			uint64_t p = off / KT_PG, s = sig(v->id, p, r), b0 = 0, b1 = 0;
			uint64_t gva = base + off + 64;

			if (mv_guest_fast_write64(w, gva, s) || mv_guest_fast_write64(w, gva + 8, ~s)) {
				v->bad++;
				continue;
			}
			for (int i = 0; i < REREADS; i++) {
				if (mv_guest_fast_read64(w, gva, &b0) ||
				    mv_guest_fast_read64(w, gva + 8, &b1)) {
					v->bad++;
					break;
				}
				if (!own_or_zero(b0, v->id, p) || !own_or_zero(b1 ? ~b1 : 0, v->id, p))
					v->bad++;
				else if (b0 == s && b1 == ~s)
					v->own_seen++;
				if (__atomic_load_n(&w->tlb, __ATOMIC_RELAXED) != dead)
					v->armed_seen++;
			}
		}
	}
}

/* KVM_RUN until HLT; a memory-fault exit (the page was unmapped) is retried. */
static void *vcpu_main(void *p)
{
	struct vthread *v = p;
	struct kvm_run *run = mv_vcpu_run_area(v->t, v->fd);

	for (;;) {
		long r = kt_ioctl(v->t, v->fd, KVM_RUN, 0);

		if (!r && run->exit_reason == KVM_EXIT_HLT)
			break;
		if (r == -EFAULT && run->exit_reason == KVM_EXIT_MEMORY_FAULT) {
			v->memfaults++;
			continue;
		}
		v->run_errors++;
		break;
	}
	__atomic_store_n(&v->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void start_vcpus(struct kvmtest *k, int vm, struct vthread *v, pthread_t *th,
			const unsigned int *ops)
{
	for (int i = 0; i < NR_VCPUS; i++) {
		v[i] = (struct vthread){ .id = i, .vmm_ops = ops };
		v[i].fd = (int)kt_ioctl(k->t, vm, KVM_CREATE_VCPU, (unsigned long)i);
		assert_true(v[i].fd >= 0);
		v[i].t = kt_thread(k->t);
		assert_int_equal(mv_vcpu_set_guest(k->t, v[i].fd, guest_fast_churn, &v[i]), 0);
	}
	for (int i = 0; i < NR_VCPUS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, vcpu_main, &v[i]), 0);
}

/* The VMM goes on until every guest has done its rounds and seen VMM_OPS operations. */
static bool vcpus_running(struct vthread *v, unsigned int *ops)
{
	bool running = false;

	__atomic_store_n(ops, *ops + 1, __ATOMIC_RELAXED);
	for (int i = 0; i < NR_VCPUS; i++)
		running |= !__atomic_load_n(&v[i].finished, __ATOMIC_ACQUIRE);
	return running;
}

static void finish_vcpus(struct vthread *v, pthread_t *th)
{
	for (int i = 0; i < NR_VCPUS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(v[i].bad, 0);
		assert_int_equal(v[i].run_errors, 0);
		assert_true(v[i].own_seen > 0);
		assert_true(v[i].armed_seen > 0);
		mv_task_exit(v[i].t);
	}
}

/* ---- an ordinary slot: drop, unmap and remap, a witness on the freed frames ---- */

struct witness {
	uint64_t addr;   /* 0: none */
};

static void witness_check_and_take(struct kvmtest *k, struct witness *wt)
{
	static uint64_t page[KT_PG / 8];

	if (wt->addr) {
		for (int p = 0; p < WITNESS_PAGES; p++) {
			assert_int_equal(mv_user_read(k->t, wt->addr + (uint64_t)p * KT_PG, page,
						      KT_PG), 0);
			for (size_t i = 0; i < KT_PG / 8; i++)
				assert_int_equal(page[i], WPAT);
		}
		assert_int_equal(mv_syscall(k->t, MV_SYS_munmap, wt->addr, WITNESS_PAGES * KT_PG,
					    0, 0, 0, 0), 0);
	}
	wt->addr = kt_mmap(k, WITNESS_PAGES * KT_PG);
	for (size_t i = 0; i < KT_PG / 8; i++)
		page[i] = WPAT;
	for (int p = 0; p < WITNESS_PAGES; p++)
		assert_int_equal(mv_user_write(k->t, wt->addr + (uint64_t)p * KT_PG, page, KT_PG), 0);
}

static void vmm_host_op(struct kvmtest *k, uint64_t hva, unsigned int op, struct witness *wt)
{
	uint64_t region = (op % NR_VCPUS) * REGION, off = (op * 37 % 32) * STRIDE;
	uint64_t a = hva + region + off;

	if (op % 3 == 2) {   /* unmap and map fresh memory in its place */
		assert_int_equal(mv_syscall(k->t, MV_SYS_munmap, a, STRIDE, 0, 0, 0, 0), 0);
		assert_int_equal(mv_syscall(k->t, MV_SYS_mmap, a, STRIDE, PROT_READ | PROT_WRITE,
					    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, (uint64_t)-1, 0),
				 (long)a);
	} else {
		assert_int_equal(mv_syscall(k->t, MV_SYS_madvise, a, STRIDE, MADV_DONTNEED,
					    0, 0, 0), 0);
	}
	witness_check_and_take(k, wt);
}

static void test_guest_fast_threads_never_see_a_dropped_or_unmapped_page(void **state)
{
	struct vthread v[NR_VCPUS];
	pthread_t th[NR_VCPUS];
	struct witness wt = { 0 };
	struct kvmtest k;
	unsigned int ops = 0;
	uint64_t hva;

	kt_setup(&k, 128ull << 20);
	hva = kt_mmap(&k, NR_VCPUS * REGION);
	assert_int_equal(kt_region(&k, 0, 0, 0, NR_VCPUS * REGION, hva), 0);
	start_vcpus(&k, k.vm, v, th, &ops);
	do
		vmm_host_op(&k, hva, ops, &wt);
	while (vcpus_running(v, &ops));
	finish_vcpus(v, th);
	witness_check_and_take(&k, &wt);
	kt_teardown(&k);
}

/* ---- a guest_memfd: punch and convert ---- */

static void vmm_gmem_op(struct kvmtest *k, int vm, long gmem, unsigned int op)
{
	uint64_t region = (op % NR_VCPUS) * REGION, off = (op * 37 % 32) * STRIDE;

	if (op % 2) {
		assert_int_equal(kt_set_attributes(k->t, vm, region + off, STRIDE,
						   (op / NR_VCPUS) % 2 ? 0 :
						   KVM_MEMORY_ATTRIBUTE_PRIVATE), 0);
		return;
	}
	assert_int_equal(mv_syscall(k->t, MV_SYS_fallocate, (uint64_t)gmem,
				    FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, region + off, STRIDE,
				    0, 0), 0);
}

static void test_guest_fast_threads_never_see_a_punched_or_converted_page(void **state)
{
	struct vthread v[NR_VCPUS];
	pthread_t th[NR_VCPUS];
	struct kvmtest k;
	unsigned int ops = 0;
	long gmem;
	int vm;

	kt_setup(&k, 128ull << 20);
	vm = kt_gmem_vm(&k, NR_VCPUS * REGION, &gmem);
	start_vcpus(&k, vm, v, th, &ops);
	do
		vmm_gmem_op(&k, vm, gmem, ops);
	while (vcpus_running(v, &ops));
	finish_vcpus(v, th);
	kt_teardown(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_fast_threads_never_see_a_dropped_or_unmapped_page),
		cmocka_unit_test(test_guest_fast_threads_never_see_a_punched_or_converted_page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
