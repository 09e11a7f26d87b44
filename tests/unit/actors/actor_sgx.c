/* SPDX-License-Identifier: MIT */
/*
 * The SGX actor family of the all-actors test: a VMM process with a vEPC
 * (/dev/sgx_vepc, MAP_SHARED) as a VM's EPC slot. Its guest builds an
 * enclave with ENCLS round after round (ECREATE, EADD and EEXTEND of three
 * children, EREMOVE of them all) while its VMM thread, under an epoch,
 * resets the vEPC with SGX_IOC_VEPC_REMOVE_ALL or replaces it (slot
 * deleted, unmapped, closed with the enclave in it, a new vEPC mapped and
 * added), and opens, faults, resets, unmaps and closes vEPC files of its
 * own. A round no reset or replacement overlapped must succeed at every
 * leaf; any other gives only SGX error codes and architectural faults
 * (#GP while the slot is away), never anything else, and a reset is never
 * -EBUSY (no processor is inside an enclave). The guest's EPC pages are
 * faulted when its vEPC is made; the EPC (ACT_EPC_PAGES) is too small for
 * them and a whole file of the VMM thread's, whose last pages fault with
 * SIGBUS. The EPCM stays consistent throughout, and once the family is
 * gone every EPC page is free (the runner's check).
 */
#include <pthread.h>

#include "actors.h"
#include "kvmtest.h"
#include "api/api.h"
#include "hw/sgx.h"

#define SX_RAM      (1ull << 20)
#define SX_EPC_GPA  0x100000ull
#define SX_VEPC_PG  16
#define SX_OWN_PG   8                    /* pages of the VMM thread's own vEPC files */
#define SX_CHILDREN 3
#define SX_PI(n)    (0x1000ull + (uint64_t)(n) * 32)   /* PAGEINFO of the SECS (0), a child */
#define SX_SI_SECS  0x1800ull
#define SX_SI_REG   0x1840ull
#define SX_SRC_SECS 0x2000ull
#define SX_SRC_DATA 0x3000ull
#define SX_BASE     0x40000000ull
#define SX_EPC(n)   (SX_EPC_GPA + (uint64_t)(n) * KT_PG)
#define MIN_ROUNDS  4

enum { SG_ROUNDS, SG_QUIET, SG_OK, SG_CODE, SG_FAULT, SG_NR };
static const char *const sg_names[SG_NR] = { "rounds", "rounds no reset overlapped",
	"leaves done", "SGX error codes", "faults" };
enum { SV_OPS, SV_RESETS, SV_RESET_LEFT, SV_SWAPS, SV_FILES, SV_SIGBUS, SV_NR };
static const char *const sv_names[SV_NR] = { "ops", "REMOVE_ALL of the VM's vEPC",
	"of them leaving SECS pages for the second pass", "VM's vEPC closed and a new one in",
	"own vEPC files opened and closed", "faults on a full EPC" };

struct sgx_actor {
	struct act_vm proc;            /* the VMM, its vCPU thread, its resetting thread (tv) */
	struct mv_machine *m;
	const unsigned int *stop;      /* atomic */
	int vepc;
	uint64_t ram, epc_map;
	uint64_t epoch;                /* odd while the VMM thread resets the vEPC */
	struct act_err gerr, verr;
	uint64_t g[SG_NR], v[SV_NR];   /* act_inc: the runner watches progress */
};

/* ---- the guest: one enclave built and torn down per round ---- */

static long sg_leaf(struct sgx_actor *s, struct mv_guest *g, uint32_t leaf, uint64_t rbx,
		    uint64_t rcx)
{
	long r = mv_guest_encls(g, leaf, rbx, rcx, 0);
	struct mv_guest_fault f = { 0 };

	if (r == -EFAULT && mv_guest_last_fault(g, &f) == 1 && (f.vector == 13 || f.vector == 14))
		act_inc(&s->g[SG_FAULT]);
	else if (r > 0)
		act_inc(&s->g[SG_CODE]);
	else if (r == 0)
		act_inc(&s->g[SG_OK]);
	else
		act_fail(&s->gerr, "ENCLS leaf %u on %#llx = %ld (vector %d): not a code or an "
			 "architectural fault", leaf, ACT_ULL(rcx), r, f.vector);
	return r;
}

/* How many leaves of the round failed. */
static unsigned int sg_round(struct sgx_actor *s, struct mv_guest *g)
{
	unsigned int failed = sg_leaf(s, g, SGX_ECREATE, SX_PI(0), SX_EPC(0)) != 0;

	for (int c = 1; c <= SX_CHILDREN; c++) {
		failed += sg_leaf(s, g, SGX_EADD, SX_PI(c), SX_EPC(c)) != 0;
		failed += sg_leaf(s, g, SGX_EEXTEND, 0, SX_EPC(c)) != 0;
	}
	for (int c = SX_CHILDREN; c >= 0; c--)
		failed += sg_leaf(s, g, SGX_EREMOVE, 0, SX_EPC(c)) != 0;
	return failed;
}

static void sg_main(struct mv_guest *g, void *arg)
{
	struct sgx_actor *s = arg;

	while (!act_stopped(s->stop) && !s->gerr.n) {
		uint64_t before = act_epoch_read(&s->epoch), after;
		unsigned int failed = sg_round(s, g);

		after = act_epoch_read(&s->epoch);
		if (act_epoch_quiet(before, after)) {
			act_inc(&s->g[SG_QUIET]);
			if (failed)
				act_fail(&s->gerr, "%u leaves failed, no reset overlapped", failed);
		}
		act_inc(&s->g[SG_ROUNDS]);
	}
}

static void *sx_main(void *p)
{
	struct sgx_actor *s = p;

	act_vm_run_to_hlt(&s->proc, &s->gerr);
	return NULL;
}

/* ---- the VMM thread (and setup: sv_new_vepc) ---- */

/* A fresh vEPC for the VM's EPC slot, the guest's pages faulted now (all ones). 0 or an errno. */
static long sv_new_vepc(struct sgx_actor *s, struct mv_task *t)
{
	long fd = MVTEST_SYSCALL(t, MV_SYS_openat, AT_FDCWD, "/dev/sgx_vepc", O_RDWR);
	long map = fd < 0 ? fd : MVTEST_SYSCALL(t, MV_SYS_mmap, 0, SX_VEPC_PG * KT_PG,
						PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	uint64_t x = 0;

	if (map < 0)
		return map;
	s->vepc = (int)fd;
	s->epc_map = (uint64_t)map;
	for (uint64_t i = 0; i <= SX_CHILDREN; i++)
		if (mv_user_read(t, s->epc_map + i * KT_PG, &x, 8) || x != ~0ull)
			return -EIO;
	return kt_region_t(t, s->proc.vm, 1, 0, SX_EPC_GPA, SX_VEPC_PG * KT_PG, s->epc_map);
}

/*
 * The VM's vEPC closed under the guest (its slot gone first: the guest's
 * leaves meanwhile are #GP), enclave pages and all, and a new one put in.
 */
static void sv_swap(struct sgx_actor *s)
{
	long d, u, c, n;

	act_epoch_begin(&s->epoch);
	d = kt_region_t(s->proc.tv, s->proc.vm, 1, 0, 0, 0, 0);
	u = MVTEST_SYSCALL(s->proc.tv, MV_SYS_munmap, s->epc_map, SX_VEPC_PG * KT_PG);
	c = MVTEST_SYSCALL(s->proc.tv, MV_SYS_close, s->vepc);
	n = sv_new_vepc(s, s->proc.tv);
	act_epoch_end(&s->epoch);
	if (d || u || c || n)
		act_fail(&s->verr, "swapping the VM's vEPC: delete %ld, munmap %ld, close %ld, new "
			 "%ld", d, u, c, n);
	act_inc(&s->v[SV_SWAPS]);
}

static void sv_reset(struct sgx_actor *s)
{
	long r;

	act_epoch_begin(&s->epoch);
	r = kt_ioctl(s->proc.tv, s->vepc, SGX_IOC_VEPC_REMOVE_ALL, 0);
	act_epoch_end(&s->epoch);
	if (r < 0)
		act_fail(&s->verr, "SGX_IOC_VEPC_REMOVE_ALL = %ld", r);
	if (hw_epc_check(s->m->hw.epc))
		act_fail(&s->verr, "the EPCM is inconsistent after a reset");
	act_inc(&s->v[SV_RESETS]);
	if (r > 0)
		act_inc(&s->v[SV_RESET_LEFT]);
}

/* A vEPC of its own: opened, mapped, every page faulted (all ones), reset, closed. */
static void sv_file(struct sgx_actor *s)
{
	long fd = MVTEST_SYSCALL(s->proc.tv, MV_SYS_openat, AT_FDCWD, "/dev/sgx_vepc", O_RDWR);
	long map = fd < 0 ? fd : MVTEST_SYSCALL(s->proc.tv, MV_SYS_mmap, 0, SX_OWN_PG * KT_PG,
						PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	struct mv_machine_stats st;
	struct mv_siginfo si;
	uint64_t x;

	if (fd < 0 || map < 0) {
		act_fail(&s->verr, "opening / mapping a vEPC = %ld / %ld", fd, map);
		return;
	}
	for (uint64_t i = 0; i < SX_OWN_PG; i++) {
		if (mv_user_read(s->proc.tv, (uint64_t)map + i * KT_PG, &x, 8)) {
			if (mv_task_take_signal(s->proc.tv, &si) != 1 || si.signo != SIGBUS)
				act_fail(&s->verr, "a vEPC read failed without SIGBUS");
			act_inc(&s->v[SV_SIGBUS]);
		} else if (x != ~0ull) {
			act_fail(&s->verr, "vEPC page outside an enclave reads %#llx", ACT_ULL(x));
		}
	}
	if (kt_ioctl(s->proc.tv, (int)fd, SGX_IOC_VEPC_REMOVE_ALL, 0) ||
	    MVTEST_SYSCALL(s->proc.tv, MV_SYS_munmap, map, SX_OWN_PG * KT_PG) ||
	    MVTEST_SYSCALL(s->proc.tv, MV_SYS_close, fd))
		act_fail(&s->verr, "resetting, unmapping or closing its own vEPC failed");
	mv_machine_get_stats(s->m, &st);
	if (st.epc_pages_free > st.epc_pages_total)
		act_fail(&s->verr, "%llu of %llu EPC pages free", ACT_ULL(st.epc_pages_free),
			 ACT_ULL(st.epc_pages_total));
	act_inc(&s->v[SV_FILES]);
}

static void *sv_main(void *p)
{
	struct sgx_actor *s = p;

	for (uint64_t i = 0; !act_stopped(s->stop) && !act_vm_done(&s->proc); i++) {
		if (i % 8 == 7)
			sv_swap(s);
		else if (i % 4 == 3)
			sv_file(s);
		else
			sv_reset(s);
		act_inc(&s->v[SV_OPS]);
		act_sleep_us(200 + (unsigned int)(i % 5) * 100);
	}
	return NULL;
}

/* ---- the family ---- */

/* The SECS, one child's source, their SECINFOs and PAGEINFOs, in guest RAM. */
static void sgx_layout(struct sgx_actor *s)
{
	static struct sgx_secs secs;   /* a page: too big for some stacks */
	struct sgx_secinfo si = { .flags = SGX_SECINFO_SECS };
	struct sgx_pageinfo pi = { .contents = SX_SRC_SECS, .metadata = SX_SI_SECS };
	uint8_t data[4096];

	memset(&secs, 0, sizeof(secs));
	secs.size = 0x100000;
	secs.base = SX_BASE;
	secs.ssa_frame_size = 1;
	secs.attributes = SGX_ATTR_MODE64BIT;
	secs.xfrm = 3;
	memset(data, 0x3c, sizeof(data));
	assert_int_equal(mv_user_write(s->proc.vmm, s->ram + SX_SRC_SECS, &secs, sizeof(secs)), 0);
	assert_int_equal(mv_user_write(s->proc.vmm, s->ram + SX_SRC_DATA, data, sizeof(data)), 0);
	assert_int_equal(mv_user_write(s->proc.vmm, s->ram + SX_SI_SECS, &si, sizeof(si)), 0);
	si.flags = SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W;
	assert_int_equal(mv_user_write(s->proc.vmm, s->ram + SX_SI_REG, &si, sizeof(si)), 0);
	assert_int_equal(mv_user_write(s->proc.vmm, s->ram + SX_PI(0), &pi, sizeof(pi)), 0);
	for (int c = 1; c <= SX_CHILDREN; c++) {
		pi = (struct sgx_pageinfo){ .addr = SX_BASE + (uint64_t)c * KT_PG,
					    .contents = SX_SRC_DATA, .metadata = SX_SI_REG,
					    .secs = SX_EPC(0) };
		assert_int_equal(mv_user_write(s->proc.vmm, s->ram + SX_PI(c), &pi, sizeof(pi)), 0);
	}
}

static void *sgx_setup(const struct act_env *env)
{
	struct sgx_actor *s = test_calloc(1, sizeof(*s));
	struct kvmtest k = { .m = env->m };

	s->m = env->m;
	s->stop = env->stop;
	act_vm_create(&s->proc, env->m, 0, &k);
	s->ram = kt_mmap(&k, SX_RAM);
	assert_int_equal(kt_region(&k, 0, 0, 0, SX_RAM, s->ram), 0);
	/* the guest's pages faulted now: later the VMM thread's own files find the EPC full */
	assert_int_equal(sv_new_vepc(s, s->proc.vmm), 0);
	sgx_layout(s);
	act_vm_vcpu(&s->proc, &k, sg_main, s);
	return s;
}

static void sgx_start(void *self)
{
	struct sgx_actor *s = self;

	act_vm_start(&s->proc, sx_main, sv_main, s);
}

static bool sgx_progress(void *self)
{
	struct sgx_actor *s = self;

	return act_get(&s->g[SG_ROUNDS]) >= MIN_ROUNDS && act_get(&s->g[SG_QUIET]) &&
	       act_get(&s->v[SV_RESETS]) && act_get(&s->v[SV_SWAPS]) && act_get(&s->v[SV_FILES]) &&
	       act_get(&s->v[SV_SIGBUS]);
}

static void sgx_report(void *self)
{
	struct sgx_actor *s = self;

	act_print("sgx guest", sg_names, s->g, SG_NR);
	act_print("sgx VMM", sv_names, s->v, SV_NR);
}

static void sgx_check(void *self)
{
	struct sgx_actor *s = self;

	act_check(&s->gerr, "sgx guest");
	act_check(&s->verr, "sgx VMM thread");
	assert_true(act_vm_done(&s->proc) && sgx_progress(s));
	assert_int_equal(hw_epc_check(s->m->hw.epc), 0);
}

/* Two resets leave nothing; the slot, the mapping and the fd go, the release frees the rest. */
static void sgx_teardown(void *self)
{
	struct sgx_actor *s = self;

	assert_true(kt_ioctl(s->proc.vmm, s->vepc, SGX_IOC_VEPC_REMOVE_ALL, 0) >= 0);
	assert_int_equal(kt_ioctl(s->proc.vmm, s->vepc, SGX_IOC_VEPC_REMOVE_ALL, 0), 0);
	assert_int_equal(kt_region_t(s->proc.vmm, s->proc.vm, 1, 0, 0, 0, 0), 0);
	assert_int_equal(MVTEST_SYSCALL(s->proc.vmm, MV_SYS_munmap, s->epc_map, SX_VEPC_PG * KT_PG), 0);
	assert_int_equal(MVTEST_SYSCALL(s->proc.vmm, MV_SYS_close, s->vepc), 0);
	act_vm_destroy(&s->proc);
	assert_int_equal(hw_epc_check(s->m->hw.epc), 0);
	test_free(s);
}

const struct act_family act_family_sgx = {
	.name = "sgx",
	.setup = sgx_setup,
	.start = sgx_start,
	.ended = act_vm_ended,
	.progress = sgx_progress,
	.join = act_vm_join,
	.report = sgx_report,
	.check = sgx_check,
	.teardown = sgx_teardown,
};
