/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the VMM's side of Heki and of snapshots: struct
 * kvm_heki_policy (KVM_HEKI_SET_POLICY, with its array of module hashes or
 * patch sites), struct kvm_heki_state and its runs (KVM_HEKI_GET_STATE,
 * KVM_HEKI_SET_STATE), and struct kvm_gmem_transport (KVM_GMEM_EXPORT_PAGE,
 * KVM_GMEM_IMPORT_PAGE), all taken raw from the input. The arrays and the
 * page the structures point at are host buffers of the harness (ioctl
 * arguments are host pointers in memvisor, fz_vm.h); a count the harness
 * has no room for is given a pointer the kernel must refuse.
 *
 * Rules: every answer is a value or an errno; a refused KVM_HEKI_SET_STATE
 * changes nothing KVM_HEKI_GET_STATE shows; an imported page whose bytes or
 * MAC were changed after export is never accepted; no frame outlives the
 * VMM. Guest programs run meanwhile (the support operations), so the
 * before- and after-the-first-KVM_RUN answers are both reached.
 */
#include <stdlib.h>
#include <string.h>

#include "fz_vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FH_ROOM    (2 * FZ_PAGE)          /* bytes of each host buffer */
#define FH_RUNS    64

static uint64_t fh_buf[3][FH_ROOM / 8];   /* policy entries, SET_STATE runs, GET_STATE runs */
static uint8_t fh_page[KVM_GMEM_TRANSPORT_SIZE + KVM_GMEM_TRANSPORT_TAG_BYTES];

static uint64_t fh_ptr(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static void fh_policy_raw(struct fz_vm *v)
{
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);
	struct kvm_heki_policy p;
	size_t esize;
	long r;

	fz_bytes(&v->in, &p, sizeof(p));
	if (sel & 1)
		p.type = 1 + p.type % 2;
	if (sel & 2) {
		p.flags = p.pad = 0;
		memset(p.reserved, 0, sizeof(p.reserved));
	}
	if (sel & 4)
		p.count %= 9;
	esize = p.type == KVM_HEKI_POLICY_PATCH_SITES ? sizeof(struct kvm_heki_patch_site)
						      : sizeof(struct kvm_heki_module_hash);
	if ((uint64_t)p.count * esize <= FH_ROOM) {
		fz_bytes(&v->in, fh_buf[0], p.count * esize);
		p.entries = fh_ptr(fh_buf[0]);
	} else
		p.entries = fz_bad_ptr(sel / 8);
	r = fz_ioctl(v, v->vm, KVM_HEKI_SET_POLICY, &p);
	if (!r && (p.flags || p.pad || p.count > KVM_HEKI_POLICY_MAX))
		abort();   /* accepted what the uAPI refuses */
}

/* KVM_HEKI_GET_STATE into @st with room for FH_RUNS runs, copied to @runs. */
static long fh_get_state(struct fz_vm *v, struct kvm_heki_state *st, uint8_t *runs)
{
	long r;

	memset(st, 0, sizeof(*st));
	st->count = FH_RUNS;
	st->entries = fh_ptr(fh_buf[2]);
	r = fz_ioctl(v, v->vm, KVM_HEKI_GET_STATE, st);
	if (!r && st->count > FH_RUNS)
		abort();   /* more runs than room, and no -E2BIG */
	if (!r)
		memcpy(runs, fh_buf[2], st->count * sizeof(struct kvm_heki_perm_run));
	return r;
}

static void fh_state_raw(struct fz_vm *v)
{
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);
	uint8_t before[FH_RUNS * sizeof(struct kvm_heki_perm_run)];
	uint8_t after[sizeof(before)];
	struct kvm_heki_state st, s0, s1;
	long g0, r;

	fz_bytes(&v->in, &st, sizeof(st));
	if (sel & 1)
		memset(st.reserved, 0, sizeof(st.reserved));
	if (sel & 2)
		st.count %= FH_RUNS + 1;
	if ((uint64_t)st.count * sizeof(struct kvm_heki_perm_run) <= FH_ROOM) {
		fz_bytes(&v->in, fh_buf[1], st.count * sizeof(struct kvm_heki_perm_run));
		st.entries = fh_ptr(fh_buf[1]);
	} else
		st.entries = fz_bad_ptr(sel / 4);
	g0 = fh_get_state(v, &s0, before);
	r = fz_ioctl(v, v->vm, KVM_HEKI_SET_STATE, &st);
	if (r && !g0 && !fh_get_state(v, &s1, after) &&
	    (memcmp(s0.cr_pinned, s1.cr_pinned, sizeof(s0.cr_pinned)) || s0.flags != s1.flags ||
	     s0.count != s1.count ||
	     memcmp(before, after, s0.count * sizeof(struct kvm_heki_perm_run))))
		abort();   /* a refused SET_STATE changed the state */
}

/* Export a page, then import it back, the record unchanged or with one byte flipped. */
static void fh_transport_raw(struct fz_vm *v)
{
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);
	size_t len = sizeof(fh_page);
	struct kvm_gmem_transport t;
	long r;

	fz_bytes(&v->in, &t, sizeof(t));
	if (sel & 1)
		t.gpa = fz_vm_gpa(v);
	if (sel & 2) {
		t.flags &= KVM_GMEM_TRANSPORT_TAGS;
		memset(t.reserved, 0, sizeof(t.reserved));
	}
	t.data = sel & 4 ? fz_bad_ptr(sel / 8) : fh_ptr(fh_page);
	r = fz_ioctl(v, v->vm, KVM_GMEM_EXPORT_PAGE, &t);
	if (r || (sel & 4))
		return;
	if (sel & 16) {
		/* tamper: one byte of the ciphertext or of the MAC */
		/* the bytes the record covers: the page, and its tags when they travel */
		size_t covered = t.flags & KVM_GMEM_TRANSPORT_TAGS ? len : KVM_GMEM_TRANSPORT_SIZE;
		uint64_t at = fz_u(&v->in, 2) % (covered + sizeof(t.mac));

		if (at < covered)
			fh_page[at] ^= 1;
		else
			t.mac[at - covered] ^= 1;
		if (!fz_ioctl(v, v->vm, KVM_GMEM_IMPORT_PAGE, &t))
			abort();   /* a forged page was accepted */
		return;
	}
	fz_ioctl(v, v->vm, KVM_GMEM_IMPORT_PAGE, &t);
}

static const struct fz_op fz_heki_vmm_ops[] = {
	{ 48, fh_policy_raw },
	{ 100, fh_state_raw },
	{ 150, fh_transport_raw },
	{ 0, NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_vm_drive(data, size, fz_heki_vmm_ops);
}
