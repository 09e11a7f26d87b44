/* SPDX-License-Identifier: MIT */
/*
 * The MTE VM actor family of the all-actors test: a VM with
 * KVM_CAP_ARM_MTE and one vCPU. The guest owns the allocation tags of its
 * G pages: round after round it retags a granule of each, stores and loads
 * through the new tag, and a load with another tag must fault (#PF with
 * MV_PF_MTE) and change nothing. The VMM owns the tags of the V pages: its
 * thread writes them with KVM_ARM_MTE_COPY_TAGS TO_GUEST (one of two
 * patterns) and reads them straight back (exactly what it wrote), reads
 * the G pages' tags FROM_GUEST (only granules the guest tags are ever
 * non-zero, and only with the guest's tags), and drops a V page with
 * MADV_DONTNEED, after which the page's next owner reads tag 0 everywhere.
 * The guest meanwhile reads V pages' tags (0 or either pattern, granule by
 * granule) and loads through them. At the end the G pages hold exactly
 * the tags the guest last set, and a fresh process of the machine finds
 * tag 0 on every page it faults (no tag outlives its owner).
 */
#include <pthread.h>

#include "actors.h"
#include "kvmtest.h"

#define VM_G       8                     /* guest-tagged pages, from GPA 0 */
#define VM_V       8                     /* VMM-tagged pages after them */
#define VM_PAGES   (VM_G + VM_V)
#define VM_GRANS   4                     /* granules of each G page the guest tags */
#define VM_TAG(p, t) (((uint64_t)(p) & ~(0xfull << 56)) | ((uint64_t)(t) << 56))
#define VM_FRESH   (4ull << 20)          /* the fresh process's tagged memory */
#define MIN_ROUNDS 4

enum { VG_ROUNDS, VG_TAGGED, VG_MISMATCHES, VG_V_READS, VG_V_RACED, VG_NR };
static const char *const vg_names[VG_NR] = { "rounds", "granules retagged",
	"mismatches caught", "VMM-tagged granules read", "of them retagged under the load" };
enum { VV_OPS, VV_TO_GUEST, VV_FROM_GUEST, VV_DROPPED, VV_NR };
static const char *const vv_names[VV_NR] = { "ops", "TO_GUEST (read back exact)",
	"FROM_GUEST of the guest's pages", "V pages dropped (tag 0 after)" };

struct mte_vm_actor {
	struct act_vm proc;            /* the VMM, its vCPU thread, its other thread (tv) */
	struct mv_machine *m;
	const unsigned int *stop;      /* atomic */
	uint64_t ram;
	struct lib_prng rng;           /* the VMM thread's */
	uint8_t last[VM_G][VM_GRANS];  /* the guest's: each granule's last tag */
	struct act_err gerr, verr;
	uint64_t g[VG_NR], v[VV_NR];   /* act_inc: the runner watches progress */
};

static unsigned int vm_guest_tag(uint64_t round, uint64_t page)
{
	return (unsigned int)((round + page) % 7) + 1;   /* 1..7: the guest's tags */
}

/* The two patterns the VMM writes into V pages: 8..15 either way, never equal. */
static unsigned int vm_vmm_tag(uint64_t granule, int phase)
{
	return phase ? 8 + (unsigned int)(granule % 8) : 15 - (unsigned int)(granule % 8);
}

/* ---- the guest ---- */

static void vg_own_page(struct mte_vm_actor *a, struct mv_guest *g, uint64_t p, uint64_t round)
{
	uint64_t gr = round % VM_GRANS, gva = p * KT_PG + gr * 16, v = round << 8 | p, got = 0;
	unsigned int tag = vm_guest_tag(round, p), bad = tag % 7 + 1;
	struct mv_guest_fault f = { 0 };
	long s = mv_guest_set_tag(g, VM_TAG(gva, tag));
	long w = mv_guest_write(g, VM_TAG(gva, tag), &v, 8);
	long r = mv_guest_read(g, VM_TAG(gva, bad), &got, 8);

	mv_guest_last_fault(g, &f);
	if (!s)
		a->last[p][gr] = (uint8_t)tag;
	if (s || w || r != -EFAULT || f.vector != 14 || !(f.error_code & MV_PF_MTE) ||
	    mv_guest_read(g, VM_TAG(gva, tag), &got, 8) || got != v)
		act_fail(&a->gerr, "G granule %#llx tag %u: set %ld, write %ld, wrong-tag read %ld "
			 "(vector %d, error %#llx), read back %#llx", ACT_ULL(gva), tag, s, w, r,
			 f.vector, ACT_ULL(f.error_code), ACT_ULL(got));
	act_inc(&a->g[VG_TAGGED]);
	act_inc(&a->g[VG_MISMATCHES]);
}

/* A V granule: untagged yet or either VMM pattern; a load with its tag passes unless retagged. */
static void vg_vmm_page(struct mte_vm_actor *a, struct mv_guest *g, uint64_t p, uint64_t round)
{
	uint64_t gr = (round * 31 + p) % 256, gva = (VM_G + p) * KT_PG + gr * 16, x = 0;
	uint8_t t = 0xff, again = 0xff;
	long r;

	if (mv_guest_get_tag(g, gva, &t) ||
	    (t != 0 && t != vm_vmm_tag(gr, 0) && t != vm_vmm_tag(gr, 1))) {
		act_fail(&a->gerr, "V granule %#llx reads tag %u", ACT_ULL(gva), t);
		return;
	}
	r = mv_guest_read(g, VM_TAG(gva, t), &x, 8);
	if (r && (mv_guest_get_tag(g, gva, &again) || again == t))
		act_fail(&a->gerr, "V granule %#llx: a load with its tag %u = %ld", ACT_ULL(gva), t,
			 r);
	act_inc(&a->g[r ? VG_V_RACED : VG_V_READS]);
}

static void vg_main(struct mv_guest *g, void *arg)
{
	struct mte_vm_actor *a = arg;

	for (uint64_t round = 1; !act_stopped(a->stop) && !a->gerr.n; round++) {
		for (uint64_t p = 0; p < VM_G; p++)
			vg_own_page(a, g, p, round);
		for (uint64_t p = 0; p < VM_V; p++)
			vg_vmm_page(a, g, p, round);
		act_inc(&a->g[VG_ROUNDS]);
	}
}

static void *vx_main(void *p)
{
	struct mte_vm_actor *a = p;

	act_vm_run_to_hlt(&a->proc, &a->gerr);
	return NULL;
}

/* ---- the VMM thread ---- */

static long vv_copy(struct mte_vm_actor *a, uint64_t gpa, uint64_t len, void *tags,
		    uint64_t flags)
{
	struct kvm_arm_copy_mte_tags ct = { .guest_ipa = gpa, .length = len, .addr = tags,
					    .flags = flags };

	return kt_ioctl_p(a->proc.tv, a->proc.vm, KVM_ARM_MTE_COPY_TAGS, &ct);
}

static void vv_to_guest(struct mte_vm_actor *a)
{
	uint64_t p = VM_G + lib_prng_below(&a->rng, VM_V);
	int phase = (int)lib_prng_below(&a->rng, 2);
	uint8_t tags[256], back[256];
	long w, r;

	for (uint64_t gr = 0; gr < 256; gr++)
		tags[gr] = (uint8_t)vm_vmm_tag(gr, phase);
	w = vv_copy(a, p * KT_PG, KT_PG, tags, KVM_ARM_TAGS_TO_GUEST);
	r = vv_copy(a, p * KT_PG, KT_PG, back, KVM_ARM_TAGS_FROM_GUEST);
	if (w != (long)KT_PG || r != (long)KT_PG || memcmp(tags, back, sizeof(tags)))
		act_fail(&a->verr, "V page %llu: TO_GUEST %ld, FROM_GUEST %ld, %s", ACT_ULL(p), w, r,
			 memcmp(tags, back, sizeof(tags)) ? "other tags" : "same tags");
	act_inc(&a->v[VV_TO_GUEST]);
}

/* The guest's pages: its tags on its granules, nothing anywhere else. */
static void vv_from_guest(struct mte_vm_actor *a)
{
	uint8_t tags[VM_G][256];
	long r = vv_copy(a, 0, VM_G * KT_PG, tags, KVM_ARM_TAGS_FROM_GUEST);

	if (r != (long)(VM_G * KT_PG))
		act_fail(&a->verr, "FROM_GUEST of the G pages = %ld", r);
	for (uint64_t p = 0; !r && p < VM_G; p++)
		for (uint64_t gr = 0; gr < 256; gr++)
			if (gr < VM_GRANS ? tags[p][gr] > 7 : tags[p][gr] != 0)
				act_fail(&a->verr, "G page %llu granule %llu has tag %u",
					 ACT_ULL(p), ACT_ULL(gr), tags[p][gr]);
	act_inc(&a->v[VV_FROM_GUEST]);
}

/* A V page dropped: whatever faults it next finds every tag 0. */
static void vv_drop(struct mte_vm_actor *a)
{
	uint64_t p = VM_G + lib_prng_below(&a->rng, VM_V);
	uint8_t tags[256];
	long z = MVTEST_SYSCALL(a->proc.tv, MV_SYS_madvise, a->ram + p * KT_PG, KT_PG, MADV_DONTNEED);
	long r = vv_copy(a, p * KT_PG, KT_PG, tags, KVM_ARM_TAGS_FROM_GUEST);

	for (uint64_t gr = 0; !z && r == (long)KT_PG && gr < 256; gr++)
		if (tags[gr])
			z = 1000 + (long)gr;
	if (z || r != (long)KT_PG)
		act_fail(&a->verr, "V page %llu after DONTNEED: %ld, FROM_GUEST %ld", ACT_ULL(p), z,
			 r);
	act_inc(&a->v[VV_DROPPED]);
}

static void (*const vv_ops[])(struct mte_vm_actor *) = {
	vv_to_guest, vv_to_guest, vv_to_guest, vv_from_guest, vv_from_guest, vv_drop,
};

static void *vv_main(void *p)
{
	struct mte_vm_actor *a = p;

	while (!act_stopped(a->stop) && !act_vm_done(&a->proc)) {
		vv_ops[lib_prng_below(&a->rng, ACT_NELEM(vv_ops))](a);
		act_inc(&a->v[VV_OPS]);
		act_sleep_us((unsigned int)lib_prng_below(&a->rng, 300));
	}
	return NULL;
}

/* ---- the family ---- */

static void *mte_vm_setup(const struct act_env *env)
{
	struct mte_vm_actor *a = test_calloc(1, sizeof(*a));
	struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_MTE };
	struct kvmtest k = { .m = env->m };

	a->m = env->m;
	a->stop = env->stop;
	lib_prng_seed(&a->rng, env->seed ^ 0x3f);
	act_vm_create(&a->proc, env->m, 0, &k);
	assert_int_equal(kt_ioctl_p(a->proc.vmm, a->proc.vm, KVM_ENABLE_CAP, &cap), 0);
	a->ram = kt_mmap(&k, VM_PAGES * KT_PG);
	assert_int_equal(kt_region(&k, 0, 0, 0, VM_PAGES * KT_PG, a->ram), 0);
	act_vm_vcpu(&a->proc, &k, vg_main, a);
	return a;
}

static void mte_vm_start(void *self)
{
	struct mte_vm_actor *a = self;

	act_vm_start(&a->proc, vx_main, vv_main, a);
}

static bool mte_vm_progress(void *self)
{
	struct mte_vm_actor *a = self;

	if (act_get(&a->g[VG_ROUNDS]) < MIN_ROUNDS)
		return false;
	for (unsigned int i = VV_TO_GUEST; i < VV_NR; i++)
		if (!act_get(&a->v[i]))
			return false;
	return true;
}

static void mte_vm_report(void *self)
{
	struct mte_vm_actor *a = self;

	act_print("mte guest", vg_names, a->g, VG_NR);
	act_print("mte VMM", vv_names, a->v, VV_NR);
}

/* The G pages hold exactly the guest's last tags. */
static void mte_vm_check(void *self)
{
	struct mte_vm_actor *a = self;
	static uint8_t tags[VM_G][256];

	act_check(&a->gerr, "mte guest");
	act_check(&a->verr, "mte VMM thread");
	assert_true(act_vm_done(&a->proc) && mte_vm_progress(a));
	assert_int_equal(vv_copy(a, 0, VM_G * KT_PG, tags, KVM_ARM_TAGS_FROM_GUEST),
			 (long)(VM_G * KT_PG));
	for (uint64_t p = 0; p < VM_G; p++)
		assert_memory_equal(tags[p], a->last[p], VM_GRANS);
}

/* After every tagged owner is gone, a fresh process faults its pages with tag 0 everywhere. */
static void mte_vm_fresh_owner(struct mv_machine *m)
{
	struct mv_task *t = NULL;
	long map;

	assert_int_equal(mv_task_spawn(m, &t), 0);
	map = MVTEST_SYSCALL(t, MV_SYS_mmap, 0, VM_FRESH, PROT_READ | PROT_WRITE | PROT_MTE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(map > 0);
	for (uint64_t off = 0; off < VM_FRESH; off += 16) {
		uint8_t tag = 0xff;

		assert_int_equal(mv_user_get_tag(t, (uint64_t)map + off, &tag), 0);
		assert_int_equal(tag, 0);
	}
	mv_task_exit(t);
}

static void mte_vm_teardown(void *self)
{
	struct mte_vm_actor *a = self;

	act_vm_destroy(&a->proc);
	mte_vm_fresh_owner(a->m);
	test_free(a);
}

const struct act_family act_family_mte_vm = {
	.name = "mte_vm",
	.setup = mte_vm_setup,
	.start = mte_vm_start,
	.ended = act_vm_ended,
	.progress = mte_vm_progress,
	.join = act_vm_join,
	.report = mte_vm_report,
	.check = mte_vm_check,
	.teardown = mte_vm_teardown,
};
