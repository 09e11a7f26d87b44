/* SPDX-License-Identifier: MIT */
/*
 * memvisor's snapshot uAPI (<memvisor/uapi/kvm_snapshot.h>,
 * docs/snapshot.md): KVM_HEKI_GET_STATE / KVM_HEKI_SET_STATE and
 * KVM_GMEM_EXPORT_PAGE / KVM_GMEM_IMPORT_PAGE, their errnos, the
 * restore-only window (closed by the first KVM_RUN), and what a restored
 * Heki state does: IMMUTABLE pages refuse the guest's own attempts to
 * loosen them, as after the guest's own PROTECT_MEMORY.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "hekitest.h"

#define CR0_WP (1ull << 16)
#define MB     (1ull << 20)

static long heki_get(struct ht *h, struct kvm_heki_state *st, struct kvm_heki_perm_run *runs,
		     uint32_t room)
{
	memset(st, 0, sizeof(*st));
	st->count = room;
	st->entries = (uint64_t)(uintptr_t)runs;
	return kt_ioctl_p(h->k.t, h->k.vm, KVM_HEKI_GET_STATE, st);
}

static void test_heki_get_state_counts_runs_and_says_e2big(void **state)
{
	struct kvm_heki_perm_run in[2] = {
		{ .gfn = 0x100, .npages = 2, .perms = MEM_ATTR_READ | MEM_ATTR_IMMUTABLE },
		{ .gfn = 0x110, .npages = 1, .perms = MEM_ATTR_READ | MEM_ATTR_WRITE },
	};
	struct kvm_heki_state set = { .cr_pinned = { CR0_WP, 0 }, .flags = KVM_HEKI_STATE_LOCKED,
				      .count = 2, .entries = (uint64_t)(uintptr_t)in };
	struct kvm_heki_perm_run out[2];
	struct kvm_heki_state st;
	struct ht h;

	(void)state;
	ht_setup(&h);
	assert_int_equal(heki_get(&h, &st, NULL, 0), 0);          /* nothing yet */
	assert_int_equal(st.count, 0);
	assert_int_equal(st.flags, 0);
	assert_int_equal(kt_ioctl_p(h.k.t, h.k.vm, KVM_HEKI_SET_STATE, &set), 0);
	assert_int_equal(heki_get(&h, &st, out, 1), -E2BIG);
	assert_int_equal(st.count, 2);
	assert_int_equal(heki_get(&h, &st, out, 2), 0);
	assert_int_equal(st.count, 2);
	assert_int_equal(st.cr_pinned[0], CR0_WP);
	assert_int_equal(st.flags, KVM_HEKI_STATE_LOCKED);
	assert_memory_equal(out, in, sizeof(in));
	/* an input flag or reserved word: -EINVAL; the struct unreadable: -EFAULT */
	st.flags = 1;
	assert_int_equal(kt_ioctl_p(h.k.t, h.k.vm, KVM_HEKI_GET_STATE, &st), -EINVAL);
	memset(&st, 0, sizeof(st));
	st.reserved[3] = 1;
	assert_int_equal(kt_ioctl_p(h.k.t, h.k.vm, KVM_HEKI_GET_STATE, &st), -EINVAL);
	assert_int_equal(kt_ioctl(h.k.t, h.k.vm, KVM_HEKI_GET_STATE, 8), -EFAULT);
	ht_teardown(&h);
}

static void test_heki_set_state_checks_everything_before_changing_anything(void **state)
{
	struct kvm_heki_perm_run ok = { .gfn = 0x100, .npages = 1, .perms = MEM_ATTR_READ };
	struct kvm_heki_perm_run runs[2] = { ok, ok };
	struct kvm_heki_state st = { .count = 2, .entries = (uint64_t)(uintptr_t)runs };
	struct kvm_heki_state got;
	const struct { const char *name; struct kvm_heki_perm_run bad; uint64_t cr0, cr4; } c[] = {
		{ "no_pages", { 0x100, 0, MEM_ATTR_READ }, 0, 0 },
		{ "no_perms", { 0x100, 1, 0 }, 0, 0 },
		{ "unknown_perm", { 0x100, 1, 1ull << 4 }, 0, 0 },
		{ "outside_slots", { HT_RAM >> 12, 1, MEM_ATTR_READ }, 0, 0 },
		{ "wraps", { ~0ull, 2, MEM_ATTR_READ }, 0, 0 },
		{ "cr0_without_wp", { 0x100, 1, MEM_ATTR_READ }, 1, 0 },
		{ "cr4_unknown", { 0x100, 1, MEM_ATTR_READ }, 0, 1ull << 2 },
	};
	struct ht h;

	(void)state;
	ht_setup(&h);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		print_message("%s\n", c[i].name);
		runs[1] = c[i].bad;
		st.cr_pinned[0] = c[i].cr0;
		st.cr_pinned[1] = c[i].cr4;
		assert_int_equal(kt_ioctl_p(h.k.t, h.k.vm, KVM_HEKI_SET_STATE, &st), -EINVAL);
		assert_int_equal(heki_get(&h, &got, NULL, 0), 0);    /* run 0 not applied either */
		assert_int_equal(got.count, 0);
		assert_int_equal(got.cr_pinned[0] | got.cr_pinned[1], 0);
	}
	st.count = KVM_HEKI_STATE_MAX_RUNS + 1;
	assert_int_equal(kt_ioctl_p(h.k.t, h.k.vm, KVM_HEKI_SET_STATE, &st), -EINVAL);
	st.count = 1;
	st.entries = 8;
	assert_int_equal(kt_ioctl_p(h.k.t, h.k.vm, KVM_HEKI_SET_STATE, &st), -EFAULT);
	ht_teardown(&h);
	/* a machine without SMEP cannot take a VM whose CR4.SMEP is pinned */
	ht_setup_full(&h, MV_FEAT_SMEP, 0);
	st.count = 0;
	st.cr_pinned[0] = CR0_WP;
	st.cr_pinned[1] = 1ull << 20;
	assert_int_equal(kt_ioctl_p(h.k.t, h.k.vm, KVM_HEKI_SET_STATE, &st), -EINVAL);
	st.cr_pinned[1] = 0;
	assert_int_equal(kt_ioctl_p(h.k.t, h.k.vm, KVM_HEKI_SET_STATE, &st), 0);
	ht_teardown(&h);
}

/* The guest tries to make its restored IMMUTABLE page writable again. */
static void guest_loosen(struct mv_guest *g, void *arg)
{
	long *r = arg;
	struct heki_pages e = { .pa = HT_DATA, .epa = HT_DATA + 0x1000,
				.permissions = MEM_ATTR_READ | MEM_ATTR_WRITE };
	uint64_t v = 1;
	uint64_t cr0 = 0;

	ht_long_mode(g);
	r[0] = mv_guest_write(g, HT_DATA, &v, 8);
	ht_put_list(g, HT_LIST, 0, &e, 1);
	r[1] = mv_guest_hypercall(g, KVM_HC_PROTECT_MEMORY, HT_LIST, 0, 0, 0);
	mv_guest_read_cr(g, 0, &cr0);
	r[2] = mv_guest_write_cr(g, 0, cr0 & ~CR0_WP);
}

static void test_heki_set_state_is_restore_only_and_binds_the_guest(void **state)
{
	struct kvm_heki_perm_run run = { .gfn = HT_DATA >> 12, .npages = 1,
					  .perms = MEM_ATTR_READ | MEM_ATTR_IMMUTABLE };
	struct kvm_heki_state st = { .cr_pinned = { CR0_WP, 0 }, .flags = KVM_HEKI_STATE_LOCKED,
				     .count = 1, .entries = (uint64_t)(uintptr_t)&run };
	long r[3] = { 0 };
	struct ht h;

	(void)state;
	ht_setup(&h);
	assert_int_equal(kt_ioctl_p(h.k.t, h.k.vm, KVM_HEKI_SET_STATE, &st), 0);
	ht_guest(&h, guest_loosen, r);
	ht_run_to_hlt(&h);
	assert_int_equal(r[0], -EFAULT);          /* stage 2: read-only */
	assert_int_equal(r[1], -KVM_EPERM);       /* IMMUTABLE: the guest cannot undo it */
	assert_int_equal(r[2], -EFAULT);          /* CR0.WP pinned: #GP */
	/* the VM ran: the window is closed, even for a state that only adds */
	assert_int_equal(kt_ioctl_p(h.k.t, h.k.vm, KVM_HEKI_SET_STATE, &st), -EBUSY);
	ht_teardown(&h);
}

/* ---- private pages for transport ---- */

struct pv {
	struct kvmtest k;
	int gmem, vcpu;
	uint64_t map;
};

static void pv_setup(struct pv *p)
{
	struct kvm_create_guest_memfd g = { .size = 2 * MB };

	kt_setup(&p->k, 0);
	p->k.vm = (int)kt_ioctl(p->k.t, p->k.kvm, KVM_CREATE_VM, KVM_X86_SW_PROTECTED_VM);
	assert_true(p->k.vm >= 0);
	p->gmem = (int)kt_ioctl_p(p->k.t, p->k.vm, KVM_CREATE_GUEST_MEMFD, &g);
	assert_true(p->gmem >= 0);
	p->map = kt_mmap(&p->k, 2 * MB);
	assert_int_equal(kt_region_gmem(p->k.t, p->k.vm, 0, 0, 2 * MB, p->map, p->gmem, 0), 0);
	assert_int_equal(kt_set_attributes(p->k.t, p->k.vm, 0x10000, 0x2000,
					   KVM_MEMORY_ATTRIBUTE_PRIVATE), 0);
	p->vcpu = kt_vcpu(&p->k, 0);
}

static const char secret[] = "a private page's plaintext";

static void guest_secret(struct mv_guest *g, void *arg)
{
	(void)arg;
	mv_guest_write(g, 0x10000, secret, sizeof(secret));
}

static long xfer(struct pv *p, unsigned long cmd, struct kvm_gmem_transport *tp)
{
	return kt_ioctl_p(p->k.t, p->k.vm, cmd, tp);
}

static void test_gmem_export_import_checks_and_binds_the_gpa(void **state)
{
	uint8_t *ct = malloc(KVM_GMEM_TRANSPORT_SIZE);
	struct kvm_gmem_transport tp = { .gpa = 0x10000, .data = (uint64_t)(uintptr_t)ct };
	struct kvm_gmem_transport bad;
	struct pv src, dst;

	(void)state;
	assert_non_null(ct);
	pv_setup(&src);
	assert_int_equal(mv_vcpu_set_guest(src.k.t, src.vcpu, guest_secret, NULL), 0);
	assert_int_equal(kt_run(&src.k, src.vcpu), 0);
	/* the argument checks */
	bad = tp;
	bad.gpa = 0x10001;
	assert_int_equal(xfer(&src, KVM_GMEM_EXPORT_PAGE, &bad), -EINVAL);
	bad = tp;
	bad.gpa = 0x20000;                                  /* shared */
	assert_int_equal(xfer(&src, KVM_GMEM_EXPORT_PAGE, &bad), -EINVAL);
	bad = tp;
	bad.flags = KVM_GMEM_TRANSPORT_TAGS;                /* a VM without MTE */
	assert_int_equal(xfer(&src, KVM_GMEM_EXPORT_PAGE, &bad), -EINVAL);
	bad.flags = 2;                                      /* unknown */
	assert_int_equal(xfer(&src, KVM_GMEM_EXPORT_PAGE, &bad), -EINVAL);
	bad = tp;
	bad.reserved[1] = 1;
	assert_int_equal(xfer(&src, KVM_GMEM_EXPORT_PAGE, &bad), -EINVAL);
	bad = tp;
	bad.data = 8;
	assert_int_equal(xfer(&src, KVM_GMEM_EXPORT_PAGE, &bad), -EFAULT);
	assert_int_equal(kt_ioctl(src.k.t, src.k.vm, KVM_GMEM_EXPORT_PAGE, 8), -EFAULT);
	/* the export: no plaintext for the VMM */
	assert_int_equal(xfer(&src, KVM_GMEM_EXPORT_PAGE, &tp), 0);
	assert_null(memmem(ct, KVM_GMEM_TRANSPORT_SIZE, secret, 8));
	/* the import: the MAC binds the bytes and the GPA */
	pv_setup(&dst);
	bad = tp;
	bad.gpa = 0x11000;                                  /* replayed at another private page */
	assert_int_equal(xfer(&dst, KVM_GMEM_IMPORT_PAGE, &bad), -EBADMSG);
	ct[7] ^= 1;
	assert_int_equal(xfer(&dst, KVM_GMEM_IMPORT_PAGE, &tp), -EBADMSG);
	ct[7] ^= 1;
	bad = tp;
	bad.mac[0] ^= 1;
	assert_int_equal(xfer(&dst, KVM_GMEM_IMPORT_PAGE, &bad), -EBADMSG);
	assert_int_equal(xfer(&dst, KVM_GMEM_IMPORT_PAGE, &tp), 0);
	kt_teardown(&src.k);
	kt_teardown(&dst.k);
	free(ct);
}

static void guest_read_secret(struct mv_guest *g, void *arg)
{
	long *r = arg;
	char got[sizeof(secret)] = { 0 };

	r[0] = mv_guest_read(g, 0x10000, got, sizeof(got));
	r[1] = memcmp(got, secret, sizeof(got));
}

static void test_gmem_import_serves_the_guest_and_closes_after_run(void **state)
{
	uint8_t *ct = malloc(KVM_GMEM_TRANSPORT_SIZE);
	struct kvm_gmem_transport tp = { .gpa = 0x10000, .data = (uint64_t)(uintptr_t)ct };
	struct pv src, dst;
	long r[2] = { 1, 1 };

	(void)state;
	assert_non_null(ct);
	pv_setup(&src);
	assert_int_equal(mv_vcpu_set_guest(src.k.t, src.vcpu, guest_secret, NULL), 0);
	assert_int_equal(kt_run(&src.k, src.vcpu), 0);
	assert_int_equal(xfer(&src, KVM_GMEM_EXPORT_PAGE, &tp), 0);
	pv_setup(&dst);
	assert_int_equal(xfer(&dst, KVM_GMEM_IMPORT_PAGE, &tp), 0);
	assert_int_equal(mv_vcpu_set_guest(dst.k.t, dst.vcpu, guest_read_secret, r), 0);
	assert_int_equal(kt_run(&dst.k, dst.vcpu), 0);
	assert_int_equal(r[0], 0);
	assert_int_equal(r[1], 0);
	assert_int_equal(xfer(&dst, KVM_GMEM_IMPORT_PAGE, &tp), -EBUSY);
	/* export stays open: a running VM can still be saved */
	assert_int_equal(xfer(&dst, KVM_GMEM_EXPORT_PAGE, &tp), 0);
	kt_teardown(&src.k);
	kt_teardown(&dst.k);
	free(ct);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heki_get_state_counts_runs_and_says_e2big),
		cmocka_unit_test(test_heki_set_state_checks_everything_before_changing_anything),
		cmocka_unit_test(test_heki_set_state_is_restore_only_and_binds_the_guest),
		cmocka_unit_test(test_gmem_export_import_checks_and_binds_the_gpa),
		cmocka_unit_test(test_gmem_import_serves_the_guest_and_closes_after_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
