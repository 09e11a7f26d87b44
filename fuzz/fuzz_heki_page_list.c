/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for Heki's page list (struct heki_page_list /
 * heki_pages, KVM_HC_PROTECT_MEMORY) and KVM_HC_LOCK_CR_UPDATE: lists of
 * one to three nodes built from the input (entries taken whole, or pulled
 * towards pages that exist; next_pa to the next node, the end, an
 * unaligned or unbacked address), handed to KVM by a guest, with a model
 * of every page's permissions beside it (and of the IMMUTABLE ranges an
 * "anything" address put far beyond the modelled pages).
 *
 * Rules checked after every call: the answer is the one the checks in
 * docs/heki.md give, in their order, for the model's state; a refused list
 * changes nothing; after a success each page has the entry's permissions
 * (EXEC added without MBEC); a guest write, read or fetch succeeds exactly
 * when the model allows it, and a refused write leaves the page as it was;
 * CR pins only grow and a CR write clearing a pinned bit is #GP with the
 * register unchanged.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <memvisor/memvisor.h>

#include "kvm/heki.h"   /* KVM_HEKI_MAX_UNBACKED_PAGES */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FH_PG      4096ull
#define FH_RAM     (2ull << 20)
#define FH_GFNS    600               /* modelled gfns: the slot's 512 and some beyond */
#define FH_LIST    0x1f0000ull       /* node i at FH_LIST + i pages */
#define FH_NODES   3
#define FH_PERMS   (MEM_ATTR_READ | MEM_ATTR_WRITE | MEM_ATTR_EXEC | MEM_ATTR_IMMUTABLE)
#define FH_CR4_OK  ((1ull << 11) | (1ull << 16) | (1ull << 20) | (1ull << 21))

struct fh {
	const uint8_t *p;
	size_t left;
	struct mv_task *t;
	uint64_t map;
	bool mbec;
	uint8_t perms[FH_GFNS];
	uint64_t pinned[2];
	uint64_t unbacked;      /* pages without a memslot protected so far */
	unsigned int nfar;      /* IMMUTABLE ranges at or past FH_GFNS, in fh_far */
};

/*
 * IMMUTABLE gfn ranges beyond the modelled gfns ("anything" addresses): an
 * entry touching one is refused with EPERM. Every entry takes an input
 * byte, so an input of at most max_len bytes records fewer than this.
 */
#define FH_FAR_MAX 2048
static uint64_t fh_far[FH_FAR_MAX][2];

static uint64_t fh_u(struct fh *f, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n && f->left; i++, f->left--)
		v |= (uint64_t)*f->p++ << (8 * i);
	return v;
}

static uint64_t fh_addr(struct fh *f)
{
	unsigned int sel = (unsigned int)fh_u(f, 1);
	uint64_t a = (fh_u(f, 2) % (sel & 8 ? FH_GFNS + 1 : 64)) * FH_PG;

	if ((sel & 7) == 0)
		a += fh_u(f, 2) % FH_PG;              /* unaligned */
	else if ((sel & 7) == 1)
		a = fh_u(f, 8);                       /* anything */
	return a;
}

/* What one entry's checks answer against the model (kvm_heki_check_entry). */
static long fh_check_entry(const struct fh *f, const struct heki_pages *e)
{
	if (((e->pa | e->epa) & (FH_PG - 1)) || e->epa <= e->pa)
		return -KVM_EINVAL;
	if (!e->permissions || (e->permissions & ~FH_PERMS))
		return -KVM_EINVAL;
	if ((e->epa >> 12) - 1 > (1ull << 34) - 1)
		return -KVM_EINVAL;
	for (uint64_t g = e->pa >> 12; g < e->epa >> 12 && g < FH_GFNS; g++)
		if (f->perms[g] & MEM_ATTR_IMMUTABLE)
			return -KVM_EPERM;
	for (unsigned int i = 0; i < f->nfar; i++)
		if (e->pa >> 12 < fh_far[i][1] && e->epa >> 12 > fh_far[i][0])
			return -KVM_EPERM;
	return 0;
}

struct fh_list {
	struct heki_page_list hdr[FH_NODES];
	struct heki_pages e[FH_NODES][8];
	unsigned int nodes;
	uint64_t unbacked;      /* the list's pages beyond the slot's gfns [0, 512) */
};

/* An entry's pages no memslot covers (the one slot: gfns [0, FH_RAM / FH_PG)). */
static uint64_t fh_unbacked(const struct heki_pages *e)
{
	uint64_t a = e->pa >> 12, b = e->epa >> 12, slot_end = FH_RAM / FH_PG;
	uint64_t in = a < slot_end ? (b < slot_end ? b : slot_end) - a : 0;

	return (b - a) - in;
}

/* Builds the nodes in the VMM's memory; returns the model's answer. */
static long fh_build(struct fh *f, struct fh_list *l)
{
	long want = 0;
	bool ended = false;

	l->nodes = (unsigned int)fh_u(f, 1) % FH_NODES + 1;
	for (unsigned int i = 0; i < l->nodes; i++) {
		unsigned int sel = (unsigned int)fh_u(f, 1), nsel = (unsigned int)fh_u(f, 1);
		uint64_t n = sel % 5, gpa = FH_LIST + i * FH_PG;

		for (uint64_t j = 0; j < n; j++) {
			struct heki_pages *e = &l->e[i][j];

			unsigned int how = (unsigned int)fh_u(f, 1);

			if ((how & 7) == 0) {   /* taken whole */
				e->pa = fh_u(f, 8);
				e->epa = fh_u(f, 8);
				e->permissions = fh_u(f, 8);
			} else {
				e->pa = fh_addr(f);
				e->epa = e->pa + (how & 0x80 ? fh_u(f, 1) % 8 : fh_u(f, 1) % 7 + 1) * FH_PG;
				e->permissions = (how >> 3) & (how & 4 ? 0x1f : 0xf);
				if (!e->permissions && !(how & 0x40))
					e->permissions = MEM_ATTR_READ;
			}
		}
		l->hdr[i] = (struct heki_page_list){ .npages = n };
		if ((nsel & 0x38) == 0x38)
			l->hdr[i].npages = HEKI_PAGE_LIST_ENTRIES + 1 + fh_u(f, 1);
		if (i + 1 < l->nodes)
			l->hdr[i].next_pa = FH_LIST + (i + 1) * FH_PG;
		if ((nsel & 7) == 1)
			l->hdr[i].next_pa = FH_LIST + (i + 1) * FH_PG + 8;     /* unaligned */
		else if ((nsel & 7) == 2)
			l->hdr[i].next_pa = 0x40000000;                        /* nothing there */
		if (mv_user_write(f->t, f->map + gpa, &l->hdr[i], sizeof(l->hdr[i])) ||
		    (n && mv_user_write(f->t, f->map + gpa + sizeof(l->hdr[i]), l->e[i],
					n * sizeof(l->e[i][0]))))
			abort();
		/* the model walks what KVM will walk */
		if (ended || want)
			continue;
		if (l->hdr[i].npages > HEKI_PAGE_LIST_ENTRIES) {
			want = -KVM_EINVAL;
			continue;
		}
		for (uint64_t j = 0; j < n && !want; j++) {
			want = fh_check_entry(f, &l->e[i][j]);
			if (!want) {
				l->unbacked += fh_unbacked(&l->e[i][j]);
				if (f->unbacked + l->unbacked > KVM_HEKI_MAX_UNBACKED_PAGES)
					want = -KVM_E2BIG;
			}
		}
		if (!want && l->hdr[i].next_pa == FH_LIST + (i + 1) * FH_PG + 8)
			want = -KVM_EINVAL;
		else if (!want && l->hdr[i].next_pa == 0x40000000)
			want = -KVM_EFAULT;
		else if (!l->hdr[i].next_pa)
			ended = true;
	}
	return want;
}

static void fh_apply(struct fh *f, const struct fh_list *l)
{
	for (unsigned int i = 0; i < l->nodes; i++) {
		for (uint64_t j = 0; j < l->hdr[i].npages; j++) {
			const struct heki_pages *e = &l->e[i][j];
			uint64_t perms = e->permissions;

			if (!f->mbec)
				perms |= MEM_ATTR_EXEC;
			for (uint64_t g = e->pa >> 12; g < e->epa >> 12 && g < FH_GFNS; g++)
				f->perms[g] = (uint8_t)perms;
			if ((perms & MEM_ATTR_IMMUTABLE) && e->epa >> 12 > FH_GFNS) {
				uint64_t a = e->pa >> 12;

				if (f->nfar == FH_FAR_MAX)
					abort();   /* cannot happen: see FH_FAR_MAX */
				fh_far[f->nfar][0] = a > FH_GFNS ? a : FH_GFNS;
				fh_far[f->nfar++][1] = e->epa >> 12;
			}
		}
		if (!l->hdr[i].next_pa)
			break;
	}
}

static void fh_protect(struct mv_guest *g, struct fh *f)
{
	struct fh_list l;
	long want, r;

	memset(&l, 0, sizeof(l));
	want = fh_build(f, &l);
	r = mv_guest_hypercall(g, KVM_HC_PROTECT_MEMORY, FH_LIST, 0, 0, 0);
	if (r != want)
		abort();
	if (!r) {
		fh_apply(f, &l);
		f->unbacked += l.unbacked;
	}
}

static void fh_probe(struct mv_guest *g, struct fh *f)
{
	uint64_t gfn = fh_u(f, 2) % 72, gpa = gfn * FH_PG + (fh_u(f, 2) % (FH_PG - 8));
	uint64_t v = fh_u(f, 8), before = 0, after = 0, back;
	uint8_t p = f->perms[gfn];
	bool r_ok = !p || (p & (MEM_ATTR_READ | MEM_ATTR_WRITE));
	bool w_ok = !p || (p & MEM_ATTR_WRITE);
	bool x_ok = !p || !f->mbec || (p & MEM_ATTR_EXEC);
	struct mv_guest_fault flt;

	if (mv_user_read(f->t, f->map + gpa, &before, 8))
		abort();
	if ((mv_guest_write(g, gpa, &v, 8) == 0) != w_ok)
		abort();
	if (!w_ok) {
		if (mv_guest_last_fault(g, &flt) != 1 || flt.vector != 14 ||
		    mv_user_read(f->t, f->map + gpa, &after, 8) || after != before)
			abort();
	}
	if ((mv_guest_read(g, gpa, &back, 8) == 0) != r_ok)
		abort();
	if ((mv_guest_fetch(g, gpa, 8) == 0) != x_ok)
		abort();
}

static long fh_lock_want(uint64_t cr, uint64_t pin, uint64_t flags)
{
	if (flags == KVM_LOCK_CR_UPDATE_VERSION)
		return (cr || pin) ? -KVM_EINVAL : 1;
	if (flags || !pin || cr > 0xffffffffull)
		return -KVM_EINVAL;
	if (cr == 0)
		return (!(pin & (1ull << 16)) || (pin & ~((1ull << 16) | 1ull | (1ull << 31))))
			       ? -KVM_EINVAL : 0;
	if (cr == 4)
		return (pin & ~(FH_CR4_OK | (1ull << 23))) ? -KVM_EINVAL : 0;
	return -KVM_EINVAL;
}

static void fh_cr(struct mv_guest *g, struct fh *f)
{
	unsigned int sel = (unsigned int)fh_u(f, 1);
	uint64_t cr = sel & 1 ? 4 : 0, pin, flags, oldv = 0, newv, now = 0;
	long want, r;

	if (sel & 2) {   /* a lock call */
		pin = sel & 4 ? fh_u(f, 8) : fh_u(f, 1) << (sel & 8 ? 16 : 0);
		flags = sel & 16 ? fh_u(f, 1) % 3 : 0;
		if (sel & 32)
			cr = fh_u(f, 8);
		/* paging is off: the call is 32 bits wide (kvm_emulate_hypercall) */
		want = fh_lock_want(cr & 0xffffffffull, pin & 0xffffffffull, flags);
		r = mv_guest_hypercall(g, KVM_HC_LOCK_CR_UPDATE, cr, pin, flags, 0);
		if (r != want)
			abort();
		pin &= 0xffffffffull;
		if (!r && flags == 0)
			f->pinned[(cr & 0xffffffffull) == 4] |= (cr & 0xffffffffull) == 4 ? pin & FH_CR4_OK
										    : pin;
		return;
	}
	/* a write: CR0 = PE | maybe WP; CR4 = a subset of the pinnable bits present */
	newv = cr ? fh_u(f, 8) & FH_CR4_OK : 1ull | (sel & 4 ? 1ull << 16 : 0);
	mv_guest_read_cr(g, (int)cr, &oldv);
	r = mv_guest_write_cr(g, (int)cr, newv);
	mv_guest_read_cr(g, (int)cr, &now);
	if (oldv & f->pinned[cr == 4] & ~newv) {
		struct mv_guest_fault flt;

		if (r != -EFAULT || mv_guest_last_fault(g, &flt) != 1 || flt.vector != 13 ||
		    now != oldv)
			abort();
	} else if (r != 0 || now != newv) {
		abort();
	}
}

static void fh_guest(struct mv_guest *g, void *arg)
{
	struct fh *f = arg;

	while (f->left) {
		switch (fh_u(f, 1) % 4) {
		case 0:
		case 1:
			fh_protect(g, f);
			break;
		case 2:
			fh_probe(g, f);
			break;
		default:
			fh_cr(g, f);
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fh f;
	struct mv_machine_config cfg = { .ram_bytes = 64ull << 20 };
	struct kvm_userspace_memory_region r = { .memory_size = FH_RAM };
	struct mv_machine *m = NULL;
	struct kvm_run *run;
	long kvm, vm, vcpu;

	if (!size)
		return 0;
	memset(&f, 0, sizeof(f));
	f.p = data + 1;
	f.left = size - 1;
	f.mbec = !(data[0] & 1);
	cfg.features_off = f.mbec ? 0 : MV_FEAT_MBEC;
	if (mv_machine_create(&cfg, &m) || mv_task_spawn(m, &f.t))
		abort();
	kvm = mv_syscall(f.t, MV_SYS_openat, (uint64_t)AT_FDCWD, (uint64_t)(uintptr_t)"/dev/kvm",
			 O_RDWR, 0, 0, 0);
	vm = mv_syscall(f.t, MV_SYS_ioctl, (uint64_t)kvm, KVM_CREATE_VM, 0, 0, 0, 0);
	f.map = (uint64_t)mv_syscall(f.t, MV_SYS_mmap, 0, FH_RAM, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0);
	r.userspace_addr = f.map;
	if (kvm < 0 || vm < 0 ||
	    mv_syscall(f.t, MV_SYS_ioctl, (uint64_t)vm, KVM_SET_USER_MEMORY_REGION,
		       (uint64_t)(uintptr_t)&r, 0, 0, 0))
		abort();
	vcpu = mv_syscall(f.t, MV_SYS_ioctl, (uint64_t)vm, KVM_CREATE_VCPU, 0, 0, 0, 0);
	if (vcpu < 0 || mv_vcpu_set_guest(f.t, (int)vcpu, fh_guest, &f))
		abort();
	run = mv_vcpu_run_area(f.t, (int)vcpu);
	if (mv_syscall(f.t, MV_SYS_ioctl, (uint64_t)vcpu, KVM_RUN, 0, 0, 0, 0) ||
	    run->exit_reason != KVM_EXIT_HLT)
		abort();
	mv_machine_destroy(m);
	return 0;
}
