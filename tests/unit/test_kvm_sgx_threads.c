/* SPDX-License-Identifier: MIT */
/*
 * SGX under concurrency (TSan): two vCPUs build and tear down enclaves in
 * one vEPC with ENCLS while a VMM thread keeps resetting the vEPC with
 * SGX_IOC_VEPC_REMOVE_ALL. Whatever interleaving happens, every leaf sees
 * the EPCM whole: the child counts match the children, no child outlives
 * its SECS, and afterwards two REMOVE_ALLs and the release give every
 * page back.
 */
#include <pthread.h>

#include "sgxtest.h"

#define ITERS    150
#define CHILDREN 3
#define RW (SGX_SECINFO_R | SGX_SECINFO_W)

struct gv {
	struct mv_task *t;
	int fd, id;
	long run_ret;
	uint32_t exit_reason;
	long results[4];       /* counts: success, SGX code, fault, other */
};

static unsigned int done_vcpus;   /* atomic */

/* Guest RAM layout for vCPU @id: its own PAGEINFOs; SECINFOs and sources are shared. */
#define PI(id, n)  (0x1000ull + (uint64_t)(id) * 0x400 + (uint64_t)(n) * 32)
#define SI_SECS    0x1800ull
#define SI_REG     0x1840ull
#define SRC_SECS   0x2000ull
#define SRC_DATA   0x3000ull
#define EPC_PAGE(id, n) (SGT_EPC_GPA + ((uint64_t)(id) * 8 + (uint64_t)(n)) * KT_PG)

static void tally(struct gv *v, long r)
{
	if (r == 0)
		v->results[0]++;
	else if (r > 0)
		v->results[1]++;
	else if (r == -EFAULT)
		v->results[2]++;
	else
		v->results[3]++;
}

static void guest_churn(struct mv_guest *g, void *arg)
{
	struct gv *v = arg;

	for (int it = 0; it < ITERS; it++) {
		tally(v, mv_guest_encls(g, SGX_ECREATE, PI(v->id, 0), EPC_PAGE(v->id, 0), 0));
		for (int c = 1; c <= CHILDREN; c++) {
			tally(v, mv_guest_encls(g, SGX_EADD, PI(v->id, c), EPC_PAGE(v->id, c), 0));
			tally(v, mv_guest_encls(g, SGX_EEXTEND, 0, EPC_PAGE(v->id, c), 0));
		}
		for (int c = CHILDREN; c >= 0; c--)
			tally(v, mv_guest_encls(g, SGX_EREMOVE, 0, EPC_PAGE(v->id, c), 0));
	}
}

static void *vcpu_main(void *p)
{
	struct gv *v = p;
	struct kvm_run *run = mv_vcpu_run_area(v->t, v->fd);

	v->run_ret = kt_ioctl(v->t, v->fd, KVM_RUN, 0);
	v->exit_reason = run->exit_reason;
	__atomic_fetch_add(&done_vcpus, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void layout(struct sgxt *s)
{
	static struct sgx_secs secs;
	static uint8_t data[4096];

	memset(&secs, 0, sizeof(secs));
	secs.size = SGT_SIZE;
	secs.base = SGT_BASE;
	secs.ssa_frame_size = 1;
	sgt_poke(s, SRC_SECS, &secs, sizeof(secs));
	memset(data, 0x3c, sizeof(data));
	sgt_poke(s, SRC_DATA, data, sizeof(data));
	{
		struct sgx_secinfo si = { .flags = SGX_SECINFO_SECS };

		sgt_poke(s, SI_SECS, &si, sizeof(si));
		si.flags = SGX_SECINFO_REG | RW;
		sgt_poke(s, SI_REG, &si, sizeof(si));
	}
	for (int id = 0; id < 2; id++) {
		struct sgx_pageinfo pi = { .contents = SRC_SECS, .metadata = SI_SECS };

		sgt_poke(s, PI(id, 0), &pi, sizeof(pi));
		for (int c = 1; c <= CHILDREN; c++) {
			pi = (struct sgx_pageinfo){ .addr = SGT_BASE + (uint64_t)c * KT_PG,
						    .contents = SRC_DATA, .metadata = SI_REG,
						    .secs = EPC_PAGE(id, 0) };
			sgt_poke(s, PI(id, c), &pi, sizeof(pi));
		}
	}
}

static void race(uint64_t epc_pages, bool reclaim);

/* REMOVE_ALL racing guest ENCLS on two vCPUs never corrupts the EPCM. */
static void test_sgx_remove_all_races_guest_encls(void **state)
{
	(void)state;
	race(32, false);
}

/* The same with an EPC smaller than the vEPC and oversubscription on: evictions race too. */
static void test_sgx_remove_all_races_guest_encls_reclaim(void **state)
{
	(void)state;
	race(7, true);
}

static void race(uint64_t epc_pages, bool reclaim)
{
	struct sgxt s;
	struct gv v[2];
	pthread_t th[2];
	struct mv_task *vmm;
	long resets = 0, busy = 0;

	sgt_setup(&s, epc_pages, 16);
	if (reclaim) {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_SGX_EPC_LIMIT,
					      .args = { 0, KVM_SGX_EPC_RECLAIM } };

		assert_int_equal(kt_ioctl_p(s.k.t, s.k.vm, KVM_ENABLE_CAP, &cap), 0);
	}
	layout(&s);
	done_vcpus = 0;
	for (int i = 0; i < 2; i++) {
		memset(&v[i], 0, sizeof(v[i]));
		v[i].id = i;
		v[i].fd = i == 0 ? s.vcpu : kt_vcpu(&s.k, 1);
		v[i].t = kt_thread(s.k.t);
		assert_int_equal(mv_vcpu_set_guest(s.k.t, v[i].fd, guest_churn, &v[i]), 0);
	}
	vmm = kt_thread(s.k.t);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, vcpu_main, &v[i]), 0);
	while (__atomic_load_n(&done_vcpus, __ATOMIC_ACQUIRE) < 2) {
		long r = sgt_remove_all(vmm, s.vepc);

		assert_true(r >= 0 || r == -EBUSY);
		resets++;
		busy += r == -EBUSY;
		assert_int_equal(hw_epc_check(sgt_epc(s.k.m)), 0);
		sched_yield();
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(v[i].run_ret, 0);
		assert_int_equal(v[i].exit_reason, KVM_EXIT_HLT);
		assert_int_equal(v[i].results[3], 0);   /* only RAX codes and architectural faults */
		assert_true(v[i].results[0] > 0);
	}
	assert_int_equal(busy, 0);   /* no processor is ever inside */
	assert_true(resets > 0);
	assert_int_equal(hw_epc_check(sgt_epc(s.k.m)), 0);
	/* the two-pass reset leaves nothing; release gives every page back */
	assert_true(sgt_remove_all(s.k.t, s.vepc) >= 0);
	assert_int_equal(sgt_remove_all(s.k.t, s.vepc), 0);
	sgt_drop_vepc(&s, 1, s.vepc, s.epc_map, s.epc_pages);
	assert_int_equal(sgt_free(s.k.m), epc_pages);
	assert_int_equal(hw_epc_check(sgt_epc(s.k.m)), 0);
	sgt_teardown(&s);
}

/* ---- vEPC files opened, filled and released on several threads at once ---- */

#define CHURN_ROUNDS 60
#define CHURN_PAGES  4

struct churn {
	struct mv_task *t;
	long errors;
	uint64_t sigbus;
};

static void *churn_main(void *p)
{
	struct churn *c = p;

	for (int r = 0; r < CHURN_ROUNDS; r++) {
		long fd = mv_syscall(c->t, MV_SYS_openat, (uint64_t)AT_FDCWD,
				     (uint64_t)(uintptr_t)"/dev/sgx_vepc", O_RDWR, 0, 0, 0);
		long map = fd < 0 ? fd : mv_syscall(c->t, MV_SYS_mmap, 0, CHURN_PAGES * KT_PG,
						    PROT_READ | PROT_WRITE, MAP_SHARED,
						    (uint64_t)fd, 0);
		struct mv_siginfo si;
		uint64_t x;

		if (fd < 0 || map < 0) {
			c->errors++;
			continue;
		}
		for (uint64_t i = 0; i < CHURN_PAGES; i++) {
			/* the EPC may be full for a moment: SIGBUS, taken and counted */
			if (mv_user_read(c->t, (uint64_t)map + i * KT_PG, &x, 8)) {
				c->sigbus += mv_task_take_signal(c->t, &si) == 1 && si.signo == SIGBUS;
			} else if (x != ~0ull) {
				c->errors++;   /* outside an enclave: all ones */
			}
		}
		if (mv_syscall(c->t, MV_SYS_ioctl, (uint64_t)fd, SGX_IOC_VEPC_REMOVE_ALL, 0, 0, 0, 0))
			c->errors++;
		mv_syscall(c->t, MV_SYS_munmap, (uint64_t)map, CHURN_PAGES * KT_PG, 0, 0, 0, 0);
		mv_syscall(c->t, MV_SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0);
	}
	return NULL;
}

/* Three processes churn vEPCs on a small EPC while stats are read: no page is ever lost. */
static void test_sgx_vepc_churn_loses_nothing(void **state)
{
	struct mv_machine *m = sgt_machine(8);
	struct churn c[3];
	pthread_t th[3];
	uint64_t sigbus = 0;

	(void)state;
	for (int i = 0; i < 3; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		assert_int_equal(mv_task_spawn(m, &c[i].t), 0);
		assert_int_equal(pthread_create(&th[i], NULL, churn_main, &c[i]), 0);
	}
	for (int i = 0; i < 100; i++) {
		struct mv_machine_stats st;

		mv_machine_get_stats(m, &st);
		assert_true(st.epc_pages_free <= 8);
		sched_yield();
	}
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(c[i].errors, 0);
		sigbus += c[i].sigbus;
	}
	assert_int_equal(sgt_free(m), 8);
	assert_int_equal(hw_epc_check(sgt_epc(m)), 0);
	(void)sigbus;   /* how often the EPC was full depends on the interleaving */
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sgx_remove_all_races_guest_encls),
		cmocka_unit_test(test_sgx_remove_all_races_guest_encls_reclaim),
		cmocka_unit_test(test_sgx_vepc_churn_loses_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
