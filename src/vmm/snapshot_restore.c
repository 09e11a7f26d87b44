/* SPDX-License-Identifier: MIT */
/*
 * Checking and restoring a snapshot (snapshot.h, docs/snapshot.md). The
 * whole buffer is checked before anything is created: the header (magic,
 * version, length, SHA-256 of the rest), every section (type, order,
 * count, length) and every field against the configuration it belongs
 * to. Only then is a new VM built; if the kernel still refuses a step
 * (a private page whose MAC does not match, registers KVM_SET_SREGS
 * refuses), the new VM is destroyed and nothing remains.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/sha256.h"
#include "vmm/snapshot.h"

#define SNAP_MAX_RAM (1ull << 40)
#define SNAP_VEC_NMI 2   /* never a queued exception (KVM_SET_VCPU_EVENTS) */
/* The highest memslot id KVM_SET_USER_MEMORY_REGION takes: KVM_USER_MEM_SLOTS - 1 on x86. */
#define SNAP_MAX_SLOT_ID (0x7fffu - 3u - 1u)
#define SNAP_HEKI_PERMS (MEM_ATTR_READ | MEM_ATTR_WRITE | MEM_ATTR_EXEC | MEM_ATTR_IMMUTABLE)

struct snap_sec {
	const uint8_t *p;
	uint32_t count;
	uint64_t len;
};

struct snap_parsed {
	struct vmm_snap_config cfg;
	struct vmm_snap_slot slots[VMM_SNAP_MAX_SLOTS];
	uint32_t nslots;
	struct snap_sec s[VMM_SNAP_NR_SECTIONS + 1];
	uint64_t npages, first_gfn;   /* the RAM slot of the configuration */
	uint64_t epc_slot_pages;
	uint32_t version;             /* VMM_SNAP_VERSION_MIN..VMM_SNAP_VERSION */
};

#define REFUSE(why_, msg, err) do { if (why_) *(why_) = (msg); return (err); } while (0)

static int snap_header(const uint8_t *b, size_t len, uint32_t *version, const char **why)
{
	uint8_t digest[SHA256_DIGEST_SIZE];
	uint64_t total, reserved;

	if (len < VMM_SNAP_HDR_SIZE)
		REFUSE(why, "truncated: shorter than the header", -EINVAL);
	if (memcmp(b, VMM_SNAP_MAGIC, 8))
		REFUSE(why, "not a memvisor snapshot (bad magic)", -EINVAL);
	memcpy(version, b + 8, 4);
	if (*version < VMM_SNAP_VERSION_MIN || *version > VMM_SNAP_VERSION)
		REFUSE(why, "unsupported snapshot version", -EPROTO);
	memcpy(&total, b + 16, 8);
	if (total > len)
		REFUSE(why, "truncated: shorter than its header says", -EINVAL);
	if (total < len)
		REFUSE(why, "trailing bytes after the snapshot", -EINVAL);
	memcpy(&reserved, b + 56, 8);
	if (reserved)
		REFUSE(why, "reserved header field not zero", -EINVAL);
	sha256(b + VMM_SNAP_HDR_SIZE, len - VMM_SNAP_HDR_SIZE, digest);
	if (memcmp(digest, b + 24, SHA256_DIGEST_SIZE))
		REFUSE(why, "checksum mismatch (corrupted snapshot)", -EBADMSG);
	return 0;
}

static uint64_t snap_item_size(uint32_t version, uint32_t type)
{
	switch (type) {
	case VMM_SNAP_CONFIG: return sizeof(struct vmm_snap_config);
	case VMM_SNAP_SLOTS: return sizeof(struct vmm_snap_slot);
	case VMM_SNAP_ATTRS: return sizeof(struct vmm_snap_run);
	case VMM_SNAP_SHARED: return sizeof(struct vmm_snap_page);
	case VMM_SNAP_PRIVATE: return sizeof(struct vmm_snap_private);
	case VMM_SNAP_TAGS: return sizeof(struct vmm_snap_tags);
	case VMM_SNAP_HEKI: return sizeof(struct vmm_snap_run);
	case VMM_SNAP_VCPUS:
		return version == 2 ? VMM_SNAP_VCPU_V2_SIZE :
		       version == 3 ? VMM_SNAP_VCPU_V3_SIZE : sizeof(struct vmm_snap_vcpu);
	default: return 0;   /* DIRTY: words of its bitmap */
	}
}

static int snap_sections(const uint8_t *b, size_t len, struct snap_parsed *ps, const char **why)
{
	uint32_t nsec;
	size_t off = VMM_SNAP_HDR_SIZE;

	memcpy(&nsec, b + 12, 4);
	if (nsec != VMM_SNAP_NR_SECTIONS)
		REFUSE(why, "wrong number of sections", -EINVAL);
	for (uint32_t type = 1; type <= VMM_SNAP_NR_SECTIONS; type++) {
		uint32_t t, count;
		uint64_t l, want;

		if (len - off < VMM_SNAP_SEC_SIZE)
			REFUSE(why, "truncated section header", -EINVAL);
		memcpy(&t, b + off, 4);
		memcpy(&count, b + off + 4, 4);
		memcpy(&l, b + off + 8, 8);
		if (t != type)
			REFUSE(why, "section missing or out of order", -EINVAL);
		off += VMM_SNAP_SEC_SIZE;
		if (l > len - off)
			REFUSE(why, "section longer than the snapshot", -EINVAL);
		if (type == VMM_SNAP_DIRTY)
			want = ((uint64_t)count + 63) / 64 * 8;
		else if (type == VMM_SNAP_HEKI)
			want = sizeof(struct vmm_snap_heki) +
			       (uint64_t)count * snap_item_size(ps->version, type);
		else
			want = (uint64_t)count * snap_item_size(ps->version, type);
		if (l != want)
			REFUSE(why, "section length does not match its count", -EINVAL);
		ps->s[type] = (struct snap_sec){ .p = b + off, .count = count, .len = l };
		off += l;
	}
	if (off != len)
		REFUSE(why, "bytes after the last section", -EINVAL);
	return 0;
}

#define SNAP_SLOT_FLAGS (KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY | KVM_MEM_GUEST_MEMFD)

/* One memslot on its own: known flags, page-aligned, inside the limits, sane gmem offset. */
static int snap_check_slot(const struct snap_parsed *ps, const struct vmm_snap_slot *s,
			   const char **why)
{
	bool epc = s->flags & VMM_SNAP_SLOT_EPC;

	if (s->slot > SNAP_MAX_SLOT_ID)
		REFUSE(why, "slot: bad slot id", -EINVAL);
	if (epc ? s->flags != VMM_SNAP_SLOT_EPC : (s->flags & ~(uint32_t)SNAP_SLOT_FLAGS) != 0)
		REFUSE(why, "slot: unknown flags", -EINVAL);
	if (!s->size || s->size % VMM_SNAP_PAGE || s->gpa % VMM_SNAP_PAGE ||
	    s->size > SNAP_MAX_RAM || s->gpa > SNAP_MAX_RAM - s->size)
		REFUSE(why, "slot: bad size or address", -EINVAL);
	if (!(s->flags & KVM_MEM_GUEST_MEMFD) ? s->gmem_offset != 0 :
	    (s->gmem_offset % VMM_SNAP_PAGE || s->gmem_offset > SNAP_MAX_RAM - s->size ||
	     ps->cfg.vm_type != KVM_X86_SW_PROTECTED_VM ||
	     (s->flags & (KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY))))
		/* kvm_check_region_flags: a guest_memfd slot neither logs nor is read-only */
		REFUSE(why, "slot: bad guest_memfd offset or setting", -EINVAL);
	return 0;
}

/* Every memslot: each sane, sorted by GPA, disjoint, ids unique; one is the config's RAM. */
static int snap_check_slots(struct snap_parsed *ps, const char **why)
{
	const struct vmm_snap_config *c = &ps->cfg;
	const struct snap_sec *sec = &ps->s[VMM_SNAP_SLOTS];
	uint32_t ram_flags = c->ram_flags | (c->private_mem ? KVM_MEM_GUEST_MEMFD : 0);
	bool ram = false;

	if (!sec->count || sec->count > VMM_SNAP_MAX_SLOTS)
		REFUSE(why, "slot section: want 1 to 32 memslots", -EINVAL);
	ps->nslots = sec->count;
	memcpy(ps->slots, sec->p, (size_t)sec->count * sizeof(ps->slots[0]));
	for (uint32_t i = 0; i < ps->nslots; i++) {
		const struct vmm_snap_slot *s = &ps->slots[i];
		int r = snap_check_slot(ps, s, why);

		if (r)
			return r;
		if (i && s->gpa < ps->slots[i - 1].gpa + ps->slots[i - 1].size)
			REFUSE(why, "slots overlap or are out of order", -EINVAL);
		for (uint32_t j = 0; j < i; j++)
			if (ps->slots[j].slot == s->slot)
				REFUSE(why, "slot id used twice", -EINVAL);
		if (s->flags & VMM_SNAP_SLOT_EPC) {
			ps->epc_slot_pages += s->size / VMM_SNAP_PAGE;
		} else if (s->gpa == c->ram_gpa) {
			if (s->flags != ram_flags || s->size != c->ram_bytes || s->gmem_offset)
				REFUSE(why, "slot does not match the config", -EINVAL);
			ram = true;
		}
	}
	if (!ram)
		REFUSE(why, "slot does not match the config", -EINVAL);
	if (c->epc_pages > ps->epc_slot_pages)
		REFUSE(why, "config: more vEPC pages than the vEPC slots hold", -EINVAL);
	return 0;
}

/*
 * vCPU @i's record. A version 2 file has no MTE state: the vCPU keeps
 * what a new one has (kvm_mte_vcpu_init: sync checks and TBI with MTE).
 * Versions 2 and 3 have no queued exception: the fields stay zero, none.
 */
static void snap_vcpu(const struct snap_parsed *ps, uint32_t i, struct vmm_snap_vcpu *vc)
{
	size_t size = (size_t)snap_item_size(ps->version, VMM_SNAP_VCPUS);

	memset(vc, 0, sizeof(*vc));
	memcpy(vc, ps->s[VMM_SNAP_VCPUS].p + (size_t)i * size, size);
	if (ps->version == 2 && ps->cfg.mte) {
		vc->mte_tcf = MV_TCF_SYNC;
		vc->mte_flags = VMM_SNAP_MTE_TBI;
	}
}

static int snap_check_vcpus(const struct snap_parsed *ps, const char **why)
{
	const struct vmm_snap_config *c = &ps->cfg;

	if (ps->s[VMM_SNAP_VCPUS].count != c->nr_vcpus)
		REFUSE(why, "vCPU section does not match the config", -EINVAL);
	for (uint32_t i = 0; i < c->nr_vcpus; i++) {
		struct vmm_snap_vcpu vc;

		snap_vcpu(ps, i, &vc);
		if ((vc.ncet && vc.ncet != VMM_SNAP_CET_MSRS) || vc.pad)
			REFUSE(why, "vCPU section: bad CET state count", -EINVAL);
		for (uint32_t j = vc.ncet; j < VMM_SNAP_CET_MSRS; j++)
			if (vc.cet[j])
				REFUSE(why, "vCPU section: CET values beyond their count", -EINVAL);
		/* only what the guest could have set (MSR_MV_MTE_CTRL's rule) */
		if (vc.mte_tcf > MV_TCF_ASYMM || (!c->mte && vc.mte_tcf))
			REFUSE(why, "vCPU section: bad MTE tag-check mode", -EINVAL);
		if (vc.mte_flags != (c->mte ? VMM_SNAP_MTE_TBI : 0u))
			REFUSE(why, "vCPU section: bad MTE top-byte-ignore flag", -EINVAL);
		/* what KVM_SET_VCPU_EVENTS takes: an exception vector, never NMI */
		if (vc.exc_injected > 1 || vc.exc_has_error_code > 1 || vc.exc_pad ||
		    (vc.exc_injected && (vc.exc_nr > 31 || vc.exc_nr == SNAP_VEC_NMI)))
			REFUSE(why, "vCPU section: bad queued exception", -EINVAL);
	}
	return 0;
}

static int snap_check_config(struct snap_parsed *ps, const char **why)
{
	const struct vmm_snap_config *c = &ps->cfg;
	int r;

	if (ps->s[VMM_SNAP_CONFIG].count != 1)
		REFUSE(why, "config section: want exactly one entry", -EINVAL);
	memcpy(&ps->cfg, ps->s[VMM_SNAP_CONFIG].p, sizeof(ps->cfg));
	if (!c->nr_vcpus || c->nr_vcpus > VMM_MAX_VCPUS)
		REFUSE(why, "config: bad vCPU count", -EINVAL);
	if (!c->ram_bytes || c->ram_bytes % VMM_SNAP_PAGE || c->ram_bytes > SNAP_MAX_RAM ||
	    c->ram_gpa % VMM_SNAP_PAGE || c->ram_gpa > SNAP_MAX_RAM)
		REFUSE(why, "config: bad RAM size or address", -EINVAL);
	if (c->ram_flags & ~(uint32_t)(KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY))
		REFUSE(why, "config: unknown RAM slot flags", -EINVAL);
	if (c->vm_type != KVM_X86_DEFAULT_VM && c->vm_type != KVM_X86_SW_PROTECTED_VM)
		REFUSE(why, "config: unknown VM type", -EINVAL);
	if (c->private_mem > 1 || c->mte > 1 ||
	    (c->private_mem && (c->vm_type != KVM_X86_SW_PROTECTED_VM ||
				(c->ram_flags & (KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY)))))
		REFUSE(why, "config: bad private-memory or MTE setting", -EINVAL);
	r = snap_check_slots(ps, why);
	if (r)
		return r;
	ps->npages = c->ram_bytes / VMM_SNAP_PAGE;
	ps->first_gfn = c->ram_gpa / VMM_SNAP_PAGE;
	return snap_check_vcpus(ps, why);
}

/* The RAM (not vEPC) slot holding all of [@gfn, @gfn + @npages), or NULL. */
static const struct vmm_snap_slot *snap_ram_slot(const struct snap_parsed *ps, uint64_t gfn,
						 uint64_t npages)
{
	for (uint32_t i = 0; i < ps->nslots && npages; i++) {
		const struct vmm_snap_slot *s = &ps->slots[i];
		uint64_t first = s->gpa / VMM_SNAP_PAGE, n = s->size / VMM_SNAP_PAGE;

		if (!(s->flags & VMM_SNAP_SLOT_EPC) && gfn >= first && gfn - first < n &&
		    npages <= n - (gfn - first))
			return s;
	}
	return NULL;
}

static bool snap_in_ram(const struct snap_parsed *ps, uint64_t gfn, uint64_t npages)
{
	return snap_ram_slot(ps, gfn, npages) != NULL;
}

static const struct vmm_snap_run *snap_run(const struct snap_sec *s, size_t extra, uint32_t i,
					   struct vmm_snap_run *out)
{
	memcpy(out, s->p + extra + (size_t)i * sizeof(*out), sizeof(*out));
	return out;
}

static bool snap_all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Is @gfn in one of the (checked, sorted) private runs? */
static bool snap_is_private(const struct snap_parsed *ps, uint64_t gfn)
{
	const struct snap_sec *a = &ps->s[VMM_SNAP_ATTRS];
	struct vmm_snap_run r;

	for (uint32_t i = 0; i < a->count; i++)
		if (gfn >= snap_run(a, 0, i, &r)->gfn && gfn - r.gfn < r.npages)
			return true;
	return false;
}

/* Runs in RAM, sorted, disjoint, with allowed values; sum of pages in *@pages. */
static int snap_check_runs(const struct snap_parsed *ps, const struct snap_sec *s, size_t extra,
			   uint64_t allowed, uint64_t *pages, const char **why)
{
	uint64_t next = 0;
	struct vmm_snap_run r;

	*pages = 0;
	for (uint32_t i = 0; i < s->count; i++) {
		snap_run(s, extra, i, &r);
		if (!snap_in_ram(ps, r.gfn, r.npages) || r.gfn < next)
			REFUSE(why, "page run outside RAM or out of order", -EINVAL);
		if (!r.val || (r.val & ~allowed))
			REFUSE(why, "page run with unknown attribute or permission bits", -EINVAL);
		next = r.gfn + r.npages;
		*pages += r.npages;
	}
	return 0;
}

static int snap_check_pages(const struct snap_parsed *ps, const char **why)
{
	const struct snap_sec *sh = &ps->s[VMM_SNAP_SHARED], *pr = &ps->s[VMM_SNAP_PRIVATE];
	const struct snap_sec *tg = &ps->s[VMM_SNAP_TAGS];
	uint64_t gfn, next = 0, npriv;
	int r;

	r = snap_check_runs(ps, &ps->s[VMM_SNAP_ATTRS], 0, KVM_MEMORY_ATTRIBUTE_PRIVATE, &npriv,
			    why);
	if (r)
		return r;
	for (uint32_t i = 0; i < ps->s[VMM_SNAP_ATTRS].count; i++) {
		struct vmm_snap_run run;
		const struct vmm_snap_slot *s;

		snap_run(&ps->s[VMM_SNAP_ATTRS], 0, i, &run);
		s = snap_ram_slot(ps, run.gfn, run.npages);
		if (!s || !(s->flags & KVM_MEM_GUEST_MEMFD))
			REFUSE(why, "private pages in a VM without private memory", -EINVAL);
	}
	if (pr->count != npriv)
		REFUSE(why, "private page count does not match the private ranges", -EINVAL);
	for (uint32_t i = 0; i < sh->count; i++, next = gfn + 1) {
		memcpy(&gfn, sh->p + (size_t)i * sizeof(struct vmm_snap_page), 8);
		if (!snap_in_ram(ps, gfn, 1) || gfn < next || snap_is_private(ps, gfn))
			REFUSE(why, "shared page outside RAM, out of order or private", -EINVAL);
	}
	next = 0;
	for (uint32_t i = 0; i < pr->count; i++, next = gfn + 1) {
		const uint8_t *pg = pr->p + (size_t)i * sizeof(struct vmm_snap_private);

		memcpy(&gfn, pg, 8);
		if (gfn < next || !snap_is_private(ps, gfn))
			REFUSE(why, "private page out of order or not in a private range", -EINVAL);
		if (!ps->cfg.mte && !snap_all_zero(pg + 8 + 32 + VMM_SNAP_PAGE, VMM_SNAP_TAG_BYTES))
			REFUSE(why, "private page tags in a VM without MTE", -EINVAL);
	}
	if (tg->count && !ps->cfg.mte)
		REFUSE(why, "MTE tags in a VM without MTE", -EINVAL);
	next = 0;
	for (uint32_t i = 0; i < tg->count; i++, next = gfn + 1) {
		const uint8_t *t = tg->p + (size_t)i * sizeof(struct vmm_snap_tags);

		memcpy(&gfn, t, 8);
		if (!snap_in_ram(ps, gfn, 1) || gfn < next || snap_is_private(ps, gfn))
			REFUSE(why, "tagged page outside RAM, out of order or private", -EINVAL);
		for (unsigned int k = 0; k < VMM_SNAP_TAG_BYTES; k++)
			if (t[8 + k] > 0xf)
				REFUSE(why, "MTE tag above 15", -EINVAL);
	}
	return 0;
}

static int snap_check_rest(const struct snap_parsed *ps, const char **why)
{
	const struct snap_sec *d = &ps->s[VMM_SNAP_DIRTY], *h = &ps->s[VMM_SNAP_HEKI];
	struct vmm_snap_heki hk;
	uint64_t last, pages;

	if (d->count != ps->npages)
		REFUSE(why, "dirty bitmap does not match the RAM size", -EINVAL);
	if (ps->npages % 64) {
		memcpy(&last, d->p + d->len - 8, 8);
		if (last >> (ps->npages % 64))
			REFUSE(why, "dirty bits beyond the end of RAM", -EINVAL);
	}
	memcpy(&hk, h->p, sizeof(hk));
	if ((hk.flags & ~KVM_HEKI_STATE_LOCKED) || hk.pad)
		REFUSE(why, "Heki state: unknown flags", -EINVAL);
	return snap_check_runs(ps, h, sizeof(hk), SNAP_HEKI_PERMS, &pages, why);
}

static int snap_parse(const void *buf, size_t len, struct snap_parsed *ps, const char **why)
{
	int r;

	memset(ps, 0, sizeof(*ps));
	if (!buf)
		REFUSE(why, "no snapshot", -EINVAL);
	r = snap_header(buf, len, &ps->version, why);
	if (!r)
		r = snap_sections(buf, len, ps, why);
	if (!r)
		r = snap_check_config(ps, why);
	if (!r)
		r = snap_check_pages(ps, why);
	if (!r)
		r = snap_check_rest(ps, why);
	return r;
}

int vmm_snapshot_check(const void *buf, size_t len, const char **why)
{
	struct snap_parsed ps;

	return snap_parse(buf, len, &ps, why);
}

/* ---- building the new VM ---- */

static long snap_ioctl(const struct vmm_snap_vm *v, int fd, unsigned long cmd, const void *arg)
{
	return mv_syscall(v->t, MV_SYS_ioctl, (uint64_t)fd, cmd, (uint64_t)(uintptr_t)arg,
			  0, 0, 0);
}

/* The VMM's address of @gpa, in whichever of @v's slots holds it (the layout was checked). */
static uint64_t snap_uaddr(const struct vmm_snap_vm *v, uint64_t gpa)
{
	for (unsigned int i = 0; i < v->nslots; i++) {
		const struct vmm_snap_vm_slot *s = &v->slots[i];

		if (gpa >= s->s.gpa && gpa - s->s.gpa < s->s.size)
			return s->uaddr + (gpa - s->s.gpa);
	}
	return v->ram_uaddr + (gpa - v->cfg.ram_gpa);
}

/*
 * The VM to apply to has the snapshot's layout: the same slots (ids,
 * GPAs, sizes, vEPC or not, flags, guest_memfd offsets). Dirty logging is
 * switched on after the pages went in, so it is not compared; a probed
 * VM's guest_memfd shows only through private pages, so a probed slot
 * without the flag matches one with it (an import then needs it).
 */
static int snap_same_layout(const struct vmm_snap_vm *v, const struct snap_parsed *ps,
			    const char **why)
{
	const uint32_t mask = ~(uint32_t)KVM_MEM_LOG_DIRTY_PAGES;

	if (v->nslots != ps->nslots)
		REFUSE(why, "snapshot memslots differ from this VM's", -EINVAL);
	for (uint32_t i = 0; i < ps->nslots; i++) {
		const struct vmm_snap_slot *a = &v->slots[i].s, *b = &ps->slots[i];
		uint32_t fa = a->flags & mask, fb = b->flags & mask;

		if (v->probed && !(fa & KVM_MEM_GUEST_MEMFD) && (fb & KVM_MEM_GUEST_MEMFD))
			fa |= KVM_MEM_GUEST_MEMFD;
		if (v->probed)   /* a read-only slot is probed writable (docs/snapshot.md) */
			fb &= ~(uint32_t)KVM_MEM_READONLY;
		if (a->slot != b->slot || a->gpa != b->gpa || a->size != b->size || fa != fb ||
		    ((a->flags & KVM_MEM_GUEST_MEMFD) && a->gmem_offset != b->gmem_offset))
			REFUSE(why, "snapshot memslots differ from this VM's", -EINVAL);
	}
	return 0;
}

static int snap_put_memory(const struct vmm_snap_vm *v, const struct snap_parsed *ps, const char **why)
{
	const struct snap_sec *a = &ps->s[VMM_SNAP_ATTRS], *sh = &ps->s[VMM_SNAP_SHARED];
	const struct snap_sec *pr = &ps->s[VMM_SNAP_PRIVATE];
	struct vmm_snap_run r;
	long e;

	for (uint32_t i = 0; i < sh->count; i++) {
		const uint8_t *pg = sh->p + (size_t)i * sizeof(struct vmm_snap_page);
		uint64_t gfn;

		memcpy(&gfn, pg, 8);
		e = mv_user_write(v->t, snap_uaddr(v, gfn * VMM_SNAP_PAGE), pg + 8,
				  VMM_SNAP_PAGE);
		if (e < 0)
			REFUSE(why, "could not write a shared page", (int)e);
	}
	for (uint32_t i = 0; i < a->count; i++) {
		struct kvm_memory_attributes ma = { .attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE };

		snap_run(a, 0, i, &r);
		ma.address = r.gfn * VMM_SNAP_PAGE;
		ma.size = r.npages * VMM_SNAP_PAGE;
		e = snap_ioctl(v, v->vm_fd, KVM_SET_MEMORY_ATTRIBUTES, &ma);
		if (e)
			REFUSE(why, "KVM_SET_MEMORY_ATTRIBUTES refused a private range", (int)e);
	}
	for (uint32_t i = 0; i < pr->count; i++) {
		const uint8_t *pg = pr->p + (size_t)i * sizeof(struct vmm_snap_private);
		struct kvm_gmem_transport tp = { .gpa = 0 };
		uint64_t gfn;

		memcpy(&gfn, pg, 8);
		tp.gpa = gfn * VMM_SNAP_PAGE;
		tp.flags = ps->cfg.mte ? KVM_GMEM_TRANSPORT_TAGS : 0;
		memcpy(tp.mac, pg + 8, sizeof(tp.mac));
		tp.data = (uint64_t)(uintptr_t)(pg + 8 + sizeof(tp.mac));
		e = snap_ioctl(v, v->vm_fd, KVM_GMEM_IMPORT_PAGE, &tp);
		if (e)
			REFUSE(why, e == -EBADMSG ? "a private page failed its transport MAC"
						  : "KVM_GMEM_IMPORT_PAGE refused a private page", (int)e);
	}
	return 0;
}

static int snap_put_tags(const struct vmm_snap_vm *v, const struct snap_parsed *ps, const char **why)
{
	const struct snap_sec *tg = &ps->s[VMM_SNAP_TAGS];

	for (uint32_t i = 0; i < tg->count; i++) {
		const uint8_t *t = tg->p + (size_t)i * sizeof(struct vmm_snap_tags);
		struct kvm_arm_copy_mte_tags ct = { .length = VMM_SNAP_PAGE,
						     .flags = KVM_ARM_TAGS_TO_GUEST };
		uint64_t gfn;
		long e;

		memcpy(&gfn, t, 8);
		ct.guest_ipa = gfn * VMM_SNAP_PAGE;
		ct.addr = (void *)(uintptr_t)(t + 8);
		e = snap_ioctl(v, v->vm_fd, KVM_ARM_MTE_COPY_TAGS, &ct);
		if (e != VMM_SNAP_PAGE)
			REFUSE(why, "KVM_ARM_MTE_COPY_TAGS refused a page", e < 0 ? (int)e : -EIO);
	}
	return 0;
}

/*
 * The MSRs back in one KVM_SET_MSRS, which must take every one: memvisor's
 * MTE tag-check MSR, then the CET MSRs if the vCPU had them.
 */
static long snap_put_msrs(const struct vmm_snap_vm *v, int fd, const struct vmm_snap_vcpu *c)
{
	/* struct kvm_msrs and its entries, in 8-byte words (no struct around a flexible array) */
	uint64_t words[(sizeof(struct kvm_msrs) + (1 + VMM_SNAP_CET_MSRS) *
			sizeof(struct kvm_msr_entry)) / 8];
	struct kvm_msrs *m = (void *)words;
	long n;

	memset(words, 0, sizeof(words));
	m->nmsrs = 1 + c->ncet;
	m->entries[0].index = MSR_MV_MTE_CTRL;
	m->entries[0].data = c->mte_tcf | ((c->mte_flags & VMM_SNAP_MTE_TBI) ? MV_MTE_CTRL_TBI : 0);
	for (unsigned int i = 0; i < c->ncet; i++) {
		m->entries[1 + i].index = vmm_snap_cet_msrs[i];
		m->entries[1 + i].data = c->cet[i];
	}
	n = snap_ioctl(v, fd, KVM_SET_MSRS, m);
	return n < 0 ? n : n == (long)m->nmsrs ? 0 : -EINVAL;
}

/* The queued exception back, last: KVM_SET_REGS drops one KVM raised itself. */
static long snap_put_events(const struct vmm_snap_vm *v, int fd, const struct vmm_snap_vcpu *c)
{
	struct kvm_vcpu_events ev;

	memset(&ev, 0, sizeof(ev));
	ev.exception.injected = c->exc_injected;
	ev.exception.nr = c->exc_nr;
	ev.exception.has_error_code = c->exc_has_error_code;
	ev.exception.error_code = c->exc_error_code;
	return snap_ioctl(v, fd, KVM_SET_VCPU_EVENTS, &ev);
}

static int snap_put_vcpus(const struct vmm_snap_vm *v, const struct snap_parsed *ps, const char **why)
{
	const struct snap_sec *s = &ps->s[VMM_SNAP_VCPUS];

	for (uint32_t i = 0; i < s->count; i++) {
		struct vmm_snap_vcpu c;
		long e;

		snap_vcpu(ps, i, &c);
		e = snap_ioctl(v, v->vcpu_fds[i], KVM_SET_SREGS, &c.sregs);
		if (!e)
			e = snap_ioctl(v, v->vcpu_fds[i], KVM_SET_REGS, &c.regs);
		if (!e)
			e = snap_put_msrs(v, v->vcpu_fds[i], &c);
		if (!e)
			e = snap_put_events(v, v->vcpu_fds[i], &c);
		if (e)
			REFUSE(why, "KVM_SET_SREGS/REGS/MSRS/VCPU_EVENTS refused a vCPU's state", (int)e);
	}
	return 0;
}

static int snap_put_heki(const struct vmm_snap_vm *v, const struct snap_parsed *ps, const char **why)
{
	const struct snap_sec *h = &ps->s[VMM_SNAP_HEKI];
	struct kvm_heki_perm_run *runs = NULL;
	struct kvm_heki_state st = { .count = h->count };
	struct vmm_snap_heki hk;
	struct vmm_snap_run r;
	long e;

	memcpy(&hk, h->p, sizeof(hk));
	if (!hk.cr_pinned[0] && !hk.cr_pinned[1] && !hk.flags && !h->count)
		return 0;
	if (h->count) {
		runs = calloc(h->count, sizeof(*runs));
		if (!runs)
			REFUSE(why, "out of memory", -ENOMEM);
	}
	for (uint32_t i = 0; i < h->count; i++) {
		snap_run(h, sizeof(hk), i, &r);
		runs[i] = (struct kvm_heki_perm_run){ r.gfn, r.npages, r.val };
	}
	st.cr_pinned[0] = hk.cr_pinned[0];
	st.cr_pinned[1] = hk.cr_pinned[1];
	st.flags = hk.flags;
	st.entries = (uint64_t)(uintptr_t)runs;
	e = snap_ioctl(v, v->vm_fd, KVM_HEKI_SET_STATE, &st);
	free(runs);
	if (e)
		REFUSE(why, "KVM_HEKI_SET_STATE refused the Heki state", (int)e);
	return 0;
}

static void snap_info(const struct snap_parsed *ps, struct vmm_restore_info *info)
{
	const struct snap_sec *d = &ps->s[VMM_SNAP_DIRTY];

	memset(info, 0, sizeof(*info));
	info->epc_lost = ps->cfg.epc_pages;
	for (uint64_t i = 0; i < d->len / 8; i++) {
		uint64_t w;

		memcpy(&w, d->p + i * 8, 8);
		info->dirty_pages += (uint64_t)__builtin_popcountll(w);
	}
	info->shared_pages = ps->s[VMM_SNAP_SHARED].count;
	info->private_pages = ps->s[VMM_SNAP_PRIVATE].count;
	info->tagged_pages = ps->s[VMM_SNAP_TAGS].count;
	info->heki_runs = ps->s[VMM_SNAP_HEKI].count;
}

/* Everything after the VM exists; on failure the caller destroys it. */
static int snap_apply(const struct vmm_snap_vm *v, const struct snap_parsed *ps, const char **why)
{
	int r = snap_put_memory(v, ps, why);

	if (!r)
		r = snap_put_tags(v, ps, why);
	if (!r)
		r = snap_put_vcpus(v, ps, why);
	if (!r)
		r = snap_put_heki(v, ps, why);
	/* every slot that logged logs again, now the pages and tags are in */
	for (uint32_t i = 0; !r && i < ps->nslots; i++) {
		if (!(ps->slots[i].flags & KVM_MEM_LOG_DIRTY_PAGES))
			continue;
		r = vmm_snap_set_slot_flags(v, i, ps->slots[i].flags);
		if (r && why)
			*why = "could not turn dirty logging back on";
	}
	return r;
}

static struct vmm_config snap_vmm_config(const struct snap_parsed *ps)
{
	return (struct vmm_config){
		.nr_vcpus = ps->cfg.nr_vcpus, .ram_bytes = ps->cfg.ram_bytes,
		.ram_gpa = ps->cfg.ram_gpa,
		/* dirty logging refuses tags going in (KVM_ARM_MTE_COPY_TAGS): switched on last */
		.ram_flags = ps->cfg.ram_flags & ~(uint32_t)KVM_MEM_LOG_DIRTY_PAGES,
		.vm_type = ps->cfg.vm_type, .private_mem = (int)ps->cfg.private_mem,
		.mte = (int)ps->cfg.mte,
	};
}

int vmm_snapshot_restore(struct mv_task *t, const void *buf, size_t len, struct vmm **out,
			 struct vmm_restore_info *info, const char **why)
{
	struct snap_parsed ps;
	struct vmm_config cfg;
	struct vmm_snap_vm sv;
	struct vmm *v;
	int r;

	if (!t || !out)
		REFUSE(why, "no task or result pointer", -EINVAL);
	r = snap_parse(buf, len, &ps, why);
	if (r)
		return r;
	if (ps.nslots != 1)
		REFUSE(why, "several memslots: apply to a VM built with that layout", -EOPNOTSUPP);
	cfg = snap_vmm_config(&ps);
	r = vmm_create(t, &cfg, &v);
	if (r)
		REFUSE(why, "could not create the VM", r);
	vmm_snap_vm_of(v, &sv);
	r = snap_apply(&sv, &ps, why);
	if (!r && (ps.cfg.ram_flags & KVM_MEM_LOG_DIRTY_PAGES))
		r = vmm_set_ram_flags(v, ps.cfg.ram_flags);   /* the VMM's record of them */
	if (r) {
		vmm_destroy(v);
		return r;
	}
	if (info)
		snap_info(&ps, info);
	*out = v;
	return 0;
}

static int snap_apply_checked(const struct vmm_snap_vm *v, const void *buf, size_t len,
			      struct vmm_restore_info *info, const char **why, uint32_t *flags)
{
	const struct vmm_config *have = &v->cfg;
	struct snap_parsed ps;
	struct vmm_config want;
	int r;

	r = snap_parse(buf, len, &ps, why);
	if (r)
		return r;
	want = snap_vmm_config(&ps);
	if (v->nr_vcpus != want.nr_vcpus || have->ram_bytes != want.ram_bytes ||
	    have->ram_gpa != want.ram_gpa || have->ram_flags != want.ram_flags ||
	    have->vm_type != want.vm_type ||
	    (!have->private_mem != !want.private_mem && !(v->probed && want.private_mem)) ||
	    !have->mte != !want.mte)
		REFUSE(why, "snapshot does not match this VM's configuration", -EINVAL);
	r = snap_same_layout(v, &ps, why);
	if (!r)
		r = snap_apply(v, &ps, why);
	if (!r && info)
		snap_info(&ps, info);
	*flags = ps.cfg.ram_flags;
	return r;
}

int vmm_snapshot_apply(struct vmm *vmm, const void *buf, size_t len, struct vmm_restore_info *info,
		       const char **why)
{
	struct vmm_snap_vm sv;
	uint32_t flags = 0;
	int r;

	if (!vmm)
		REFUSE(why, "no VM", -EINVAL);
	vmm_snap_vm_of(vmm, &sv);
	r = snap_apply_checked(&sv, buf, len, info, why, &flags);
	if (!r && (flags & KVM_MEM_LOG_DIRTY_PAGES))
		r = vmm_set_ram_flags(vmm, flags);   /* the VMM's record of them */
	return r;
}

int vmm_snapshot_apply_vm(const struct vmm_snap_vm *v, const void *buf, size_t len,
			  struct vmm_restore_info *info, const char **why)
{
	uint32_t flags;

	if (!v)
		REFUSE(why, "no VM", -EINVAL);
	return snap_apply_checked(v, buf, len, info, why, &flags);
}

int vmm_snapshot_layout(const void *buf, size_t len, struct vmm_snap_layout *out,
			const char **why)
{
	struct snap_parsed ps;
	int r;

	if (!out)
		REFUSE(why, "no result pointer", -EINVAL);
	r = snap_parse(buf, len, &ps, why);
	if (r)
		return r;
	out->cfg = ps.cfg;
	out->nslots = ps.nslots;
	memcpy(out->slots, ps.slots, sizeof(out->slots));
	return 0;
}
