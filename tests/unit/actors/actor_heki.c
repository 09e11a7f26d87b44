/* SPDX-License-Identifier: MIT */
/*
 * The Heki actor family of the all-actors test: a KVM_X86_SW_PROTECTED_VM
 * whose guest boots the guest kernel with Heki (its text IMMUTABLE, CR0.WP
 * and CR4.SMEP/SMAP/UMIP pinned) and then, round after round:
 *   - maps a text page writable with vmap and writes it: the write must be
 *     denied at stage 2 (#PF, one KVM_EXIT_HEKI_DENIAL) and the page keep
 *     its bytes; the vunmap must succeed;
 *   - makes a vmalloc buffer and a page of its .data read-only and back
 *     with set_memory_ro/rw: writes fail in between, land before and after;
 *   - clears a pinned CR bit: #GP (one denial exit), the bit stays.
 * Meanwhile its VMM thread adds and deletes a slot beyond the guest's RAM,
 * converts pages there and clears PRIVATE on the guest's writable pages
 * (all 0), is refused (-EPERM) the deletion of slot 0 and any conversion
 * of the text, and compares the text, through its own mapping, with the
 * bytes the loader put there. At the end the VM's denial counters must
 * equal both the denials the guest met and the exits its vCPU thread saw.
 */
#include <pthread.h>

#include <memvisor/guest_kernel.h>

#include "actors.h"
#include "kvmtest.h"
#include "api/api.h"
#include "kvm/kvm.h"

#define HK_RAM      (8ull << 20)
#define HK_SLOT1    (64ull << 20)      /* the VMM's own slot, beyond the guest's RAM */
#define HK_SLOT1_SZ (2ull << 20)
#define HK_BUF_PG   2                  /* the guest's vmalloc buffer */
#define CR0_WP      (1ull << 16)
#define CR4_SMEP    (1ull << 20)
#define MIN_ROUNDS  3

enum { HG_ROUNDS, HG_MEM_DENIED, HG_CR_REFUSED, HG_RO_REFUSED, HG_NR };
static const char *const hg_names[HG_NR] = { "rounds", "text writes denied",
	"pinned CR clears refused", "writes to set_memory_ro pages refused" };
enum { HX_EXITS, HX_MEM, HX_CR, HX_NR };
static const char *const hx_names[HX_NR] = { "exits", "memory denial exits", "CR denial exits" };
enum { HV_OPS, HV_SLOT, HV_CONVERT, HV_SHARE_RAM, HV_REFUSED, HV_TEXT_READ, HV_NR };
static const char *const hv_names[HV_NR] = { "ops", "slot 1 add+delete", "slot 1 conversions",
	"RAM pages made shared", "refusals", "text pages compared" };

struct heki_actor {
	struct act_vm proc;            /* the VMM, its vCPU thread (tx), its other thread (tv) */
	struct mv_machine *m;
	const unsigned int *stop;      /* atomic */
	uint64_t ram, slot1;           /* the VMM's mappings */
	struct lib_prng rng;           /* the VMM thread's */
	/* written by the guest before it sets booted (release), read-only after */
	struct guest_kernel *kernel;
	uint64_t text_va, text_pa, text_pages, data_va, buf;
	long boot;
	unsigned int booted;           /* atomic */
	struct act_err gerr, verr;     /* the vCPU thread's (guest and exits), the VMM thread's */
	uint64_t g[HG_NR], x[HX_NR], v[HV_NR];   /* act_inc: the runner watches progress */
};

/* ---- the guest ---- */

static bool hg_text_intact(struct heki_actor *h, struct mv_guest *g, uint64_t page)
{
	uint8_t b[64];

	if (mv_guest_read(g, h->text_va + page * KT_PG, b, sizeof(b)))
		return false;
	for (unsigned int i = 0; i < sizeof(b); i++)
		if (b[i] != guest_kernel_image_byte(GK_TEXT, page * KT_PG + i))
			return false;
	return true;
}

/* A text page mapped writable: the mapping is the guest's, stage 2 refuses the write. */
static void hg_write_text(struct heki_actor *h, struct guest_kernel *k, struct mv_guest *g,
			  uint64_t round)
{
	uint64_t page = round % h->text_pages, pa = h->text_pa + page * KT_PG, va = 0, junk = ~round;
	long m = guest_vmap(k, &pa, 1, GK_PROT_READ | GK_PROT_WRITE, &va), w = -1, u = -1;
	struct mv_guest_fault f = { 0 };

	if (!m) {
		w = mv_guest_write(g, va + 8 * (round % 8), &junk, 8);
		mv_guest_last_fault(g, &f);
		if (w == -EFAULT)
			act_inc(&h->g[HG_MEM_DENIED]);
		u = guest_vunmap(k, va);
	}
	if (m || w != -EFAULT || f.vector != 14 || u)
		act_fail(&h->gerr, "text page %llu through a writable vmap: vmap %ld, write %ld "
			 "(vector %d), vunmap %ld", ACT_ULL(page), m, w, f.vector, u);
	if (!hg_text_intact(h, g, page))
		act_fail(&h->gerr, "text page %llu changed", ACT_ULL(page));
}

/* @va, @n pages: writable, then read-only (writes fault, the bytes stay), then writable. */
static void hg_ro_rw(struct heki_actor *h, struct guest_kernel *k, struct mv_guest *g, uint64_t va,
		     uint64_t n, uint64_t round)
{
	uint64_t x = round, y = ~round, back = 0;
	long w1 = mv_guest_write(g, va, &x, 8);
	long ro = guest_set_memory_ro(k, va, n);
	long w2 = mv_guest_write(g, va, &y, 8);
	long r = mv_guest_read(g, va, &back, 8);
	long rw = guest_set_memory_rw(k, va, n);
	long w3 = mv_guest_write(g, va + 8, &y, 8);

	if (w2 == -EFAULT)
		act_inc(&h->g[HG_RO_REFUSED]);
	if (w1 || ro || w2 != -EFAULT || r || back != x || rw || w3)
		act_fail(&h->gerr, "set_memory_ro/rw of %#llx: write %ld, ro %ld, write %ld, read "
			 "%ld (%#llx, want %#llx), rw %ld, write %ld", ACT_ULL(va), w1, ro, w2, r,
			 ACT_ULL(back), ACT_ULL(x), rw, w3);
}

/* Clearing a pinned bit: #GP, and the register keeps it. */
static void hg_clear_pinned(struct heki_actor *h, struct mv_guest *g, uint64_t round)
{
	int cr = round & 1 ? 4 : 0;
	uint64_t bit = cr ? CR4_SMEP : CR0_WP, before = 0, after = 0;
	long rd = mv_guest_read_cr(g, cr, &before), w = mv_guest_write_cr(g, cr, before & ~bit);
	struct mv_guest_fault f = { 0 };

	if (w == -EFAULT)
		act_inc(&h->g[HG_CR_REFUSED]);
	mv_guest_last_fault(g, &f);
	if (rd || !(before & bit) || w != -EFAULT || f.vector != 13 ||
	    mv_guest_read_cr(g, cr, &after) || after != before)
		act_fail(&h->gerr, "clearing pinned CR%d bit %#llx of %#llx: %ld (vector %d), now "
			 "%#llx", cr, ACT_ULL(bit), ACT_ULL(before), w, f.vector, ACT_ULL(after));
}

static void hg_main(struct mv_guest *g, void *arg)
{
	struct heki_actor *h = arg;
	struct guest_kernel_config cfg = { .ram_bytes = HK_RAM, .heki = true };
	struct guest_kernel *k;
	uint64_t data_pa, n;

	h->boot = guest_kernel_boot(g, &cfg, &h->kernel);
	k = h->kernel;
	if (!h->boot) {
		h->text_va = guest_kernel_section(k, GK_TEXT, &h->text_pa, &h->text_pages);
		h->data_va = guest_kernel_section(k, GK_DATA, &data_pa, &n);
		h->boot = guest_vmalloc(k, HK_BUF_PG, &h->buf);
	}
	if (h->boot || !guest_heki_protected(k)) {
		act_fail(&h->gerr, "boot with Heki = %ld", h->boot);
		return;
	}
	__atomic_store_n(&h->booted, 1, __ATOMIC_RELEASE);
	for (uint64_t round = 1; !act_stopped(h->stop) && !h->gerr.n; round++) {
		hg_write_text(h, k, g, round);
		hg_ro_rw(h, k, g, h->buf, HK_BUF_PG, round);
		hg_ro_rw(h, k, g, h->data_va, 1, round);
		hg_clear_pinned(h, g, round);
		act_inc(&h->g[HG_ROUNDS]);
	}
}

/* ---- the vCPU thread: denial exits only, each one the guest's ---- */

static void hx_denial(struct heki_actor *h, struct kvm_run *run)
{
	struct kvm_heki_denial_exit d = KVM_RUN_HEKI_DENIAL(run);

	if (d.reason == KVM_HEKI_EXIT_REASON_MEM) {
		act_inc(&h->x[HX_MEM]);
		if (d.gpa < h->text_pa || d.gpa >= h->text_pa + h->text_pages * KT_PG ||
		    d.access != MEM_ATTR_WRITE || !(d.permissions & MEM_ATTR_IMMUTABLE))
			act_fail(&h->gerr, "memory denial at %#llx access %#llx perms %#llx",
				 ACT_ULL(d.gpa), ACT_ULL(d.access), ACT_ULL(d.permissions));
	} else if (d.reason == KVM_HEKI_EXIT_REASON_CR0 || d.reason == KVM_HEKI_EXIT_REASON_CR4) {
		act_inc(&h->x[HX_CR]);
	} else {
		act_fail(&h->gerr, "denial exit, reason %#llx", ACT_ULL(d.reason));
	}
}

static void *hx_main(void *p)
{
	struct heki_actor *h = p;
	struct kvm_run *run = mv_vcpu_run_area(h->proc.tx, h->proc.vcpu);

	while (run && !h->gerr.n) {
		long r = kt_ioctl(h->proc.tx, h->proc.vcpu, KVM_RUN, 0);

		act_inc(&h->x[HX_EXITS]);
		if (!r && run->exit_reason == KVM_EXIT_HLT)
			break;
		if (!r && run->exit_reason == KVM_EXIT_HEKI_DENIAL)
			hx_denial(h, run);
		else
			act_fail(&h->gerr, "KVM_RUN = %ld, exit reason %u", r, run->exit_reason);
	}
	if (!run)
		act_fail(&h->gerr, "no run area");
	act_vm_set_done(&h->proc);
	return NULL;
}

/* ---- the VMM thread ---- */

static void hv_slot(struct heki_actor *h)
{
	long r1 = kt_region_t(h->proc.tv, h->proc.vm, 1, 0, HK_SLOT1, HK_SLOT1_SZ, h->slot1);
	long r2 = kt_region_t(h->proc.tv, h->proc.vm, 1, 0, HK_SLOT1, 0, 0);

	if (r1 || r2)
		act_fail(&h->verr, "adding / deleting slot 1 = %ld / %ld", r1, r2);
	act_inc(&h->v[HV_SLOT]);
}

/* Pages of slot 1's range (present or not) private and shared again. */
static void hv_convert(struct heki_actor *h)
{
	uint64_t off, len;
	long r1, r2;

	act_pick_range(&h->rng, HK_SLOT1_SZ, &off, &len);
	r1 = kt_set_attributes(h->proc.tv, h->proc.vm, HK_SLOT1 + off, len, KVM_MEMORY_ATTRIBUTE_PRIVATE);
	r2 = kt_set_attributes(h->proc.tv, h->proc.vm, HK_SLOT1 + off, len, 0);
	if (r1 || r2)
		act_fail(&h->verr, "converting [%#llx, +%#llx) = %ld / %ld", ACT_ULL(HK_SLOT1 + off),
			 ACT_ULL(len), r1, r2);
	act_inc(&h->v[HV_CONVERT]);
}

/* A writable page of the guest's RAM made shared (it is): the Heki bits stay, 0. */
static void hv_share_ram(struct heki_actor *h)
{
	uint64_t first = (h->text_pa + 64 * KT_PG) / KT_PG, pages = HK_RAM / KT_PG - first;
	uint64_t gpa = (first + lib_prng_below(&h->rng, pages)) * KT_PG;
	long r = kt_set_attributes(h->proc.tv, h->proc.vm, gpa, KT_PG, 0);

	if (r)
		act_fail(&h->verr, "making RAM page %#llx shared = %ld", ACT_ULL(gpa), r);
	act_inc(&h->v[HV_SHARE_RAM]);
}

/* Slot 0 holds IMMUTABLE pages: it cannot go, and its text cannot be converted. */
static void hv_refused(struct heki_actor *h)
{
	uint64_t gpa = h->text_pa + lib_prng_below(&h->rng, h->text_pages) * KT_PG;
	long r1 = kt_region_t(h->proc.tv, h->proc.vm, 0, 0, 0, 0, 0);
	long r2 = kt_set_attributes(h->proc.tv, h->proc.vm, gpa, KT_PG, KVM_MEMORY_ATTRIBUTE_PRIVATE);
	long r3 = kt_set_attributes(h->proc.tv, h->proc.vm, gpa, KT_PG, 0);

	if (r1 != -EPERM || r2 != -EPERM || r3 != -EPERM)
		act_fail(&h->verr, "deleting slot 0, converting text %#llx: %ld, %ld, %ld (want "
			 "-EPERM)", ACT_ULL(gpa), r1, r2, r3);
	act_inc(&h->v[HV_REFUSED]);
}

/* What the loader put in a text page is still there, as the VMM sees it. */
static void hv_text(struct heki_actor *h)
{
	uint8_t b[4096];
	uint64_t page = lib_prng_below(&h->rng, h->text_pages);
	long r = mv_user_read(h->proc.tv, h->ram + h->text_pa + page * KT_PG, b, sizeof(b));

	for (unsigned int i = 0; !r && i < sizeof(b); i++)
		if (b[i] != guest_kernel_image_byte(GK_TEXT, page * KT_PG + i))
			r = 1000 + i;
	if (r)
		act_fail(&h->verr, "text page %llu as the VMM reads it: %ld", ACT_ULL(page), r);
	act_inc(&h->v[HV_TEXT_READ]);
}

static void (*const hv_ops[])(struct heki_actor *) = {
	hv_slot, hv_convert, hv_convert, hv_share_ram, hv_share_ram, hv_refused, hv_text,
};

static void *hv_main(void *p)
{
	struct heki_actor *h = p;

	while (!__atomic_load_n(&h->booted, __ATOMIC_ACQUIRE) && !act_vm_done(&h->proc))
		act_sleep_us(1000);
	while (!act_stopped(h->stop) && !act_vm_done(&h->proc)) {
		hv_ops[lib_prng_below(&h->rng, ACT_NELEM(hv_ops))](h);
		act_inc(&h->v[HV_OPS]);
		act_sleep_us((unsigned int)lib_prng_below(&h->rng, 300));
	}
	return NULL;
}

/* ---- the family ---- */

static void *heki_setup(const struct act_env *env)
{
	struct heki_actor *h = test_calloc(1, sizeof(*h));
	struct kvmtest k = { .m = env->m };
	struct kvm_enable_cap cap = { .cap = KVM_CAP_HEKI_DENIAL,
				      .args = { KVM_HEKI_EXIT_REASON_CR0 | KVM_HEKI_EXIT_REASON_CR4 |
						KVM_HEKI_EXIT_REASON_MEM } };

	h->m = env->m;
	h->stop = env->stop;
	lib_prng_seed(&h->rng, env->seed ^ 0x4e);
	act_vm_create(&h->proc, env->m, KVM_X86_SW_PROTECTED_VM, &k);
	assert_int_equal(kt_ioctl_p(h->proc.vmm, h->proc.vm, KVM_ENABLE_CAP, &cap), 0);
	h->ram = kt_mmap(&k, HK_RAM);
	h->slot1 = kt_mmap(&k, HK_SLOT1_SZ);
	assert_int_equal(kt_region(&k, 0, 0, 0, HK_RAM, h->ram), 0);
	act_vm_vcpu(&h->proc, &k, hg_main, h);
	return h;
}

static void heki_start(void *self)
{
	struct heki_actor *h = self;

	act_vm_start(&h->proc, hx_main, hv_main, h);
}

static bool heki_progress(void *self)
{
	struct heki_actor *h = self;

	if (act_get(&h->g[HG_ROUNDS]) < MIN_ROUNDS)
		return false;
	for (unsigned int i = HV_SLOT; i < HV_NR; i++)
		if (!act_get(&h->v[i]))
			return false;
	return true;
}

static void heki_report(void *self)
{
	struct heki_actor *h = self;

	act_print("heki guest", hg_names, h->g, HG_NR);
	act_print("heki vCPU", hx_names, h->x, HX_NR);
	act_print("heki VMM", hv_names, h->v, HV_NR);
}

/* Every denial the guest met was counted by KVM and reported to the VMM, once. */
static void heki_check(void *self)
{
	struct heki_actor *h = self;
	struct file *f = fd_get(h->proc.vmm, h->proc.vm);
	struct kvm *kvm = kvm_from_file(f);

	act_check(&h->gerr, "heki guest");
	act_check(&h->verr, "heki VMM thread");
	assert_true(act_vm_done(&h->proc) && heki_progress(h));
	assert_non_null(kvm);   /* every thread is joined: plain reads of its counters */
	assert_int_equal(kvm->heki.nr_denials, h->g[HG_MEM_DENIED]);
	assert_int_equal(h->x[HX_MEM], h->g[HG_MEM_DENIED]);
	assert_int_equal(kvm->heki.nr_cr_denials, h->g[HG_CR_REFUSED]);
	assert_int_equal(h->x[HX_CR], h->g[HG_CR_REFUSED]);
	file_put(f);
}

static void heki_teardown(void *self)
{
	struct heki_actor *h = self;

	act_vm_destroy(&h->proc);
	guest_kernel_free(h->kernel);
	test_free(h);
}

const struct act_family act_family_heki = {
	.name = "heki",
	.setup = heki_setup,
	.start = heki_start,
	.ended = act_vm_ended,
	.progress = heki_progress,
	.join = act_vm_join,
	.report = heki_report,
	.check = heki_check,
	.teardown = heki_teardown,
};
