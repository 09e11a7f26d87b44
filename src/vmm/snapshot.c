/* SPDX-License-Identifier: MIT */
/*
 * Saving a VM (snapshot.h, docs/snapshot.md), through the VM fd only, as a
 * VMM does: the memory map (mv_vm_memory_map) says which pages are
 * private, tagged or vEPC; shared bytes are read from the VMM's mapping,
 * private pages come out through KVM_GMEM_EXPORT_PAGE (ciphertext and MAC
 * only), tags through KVM_ARM_MTE_COPY_TAGS, Heki state through
 * KVM_HEKI_GET_STATE and registers through KVM_GET_REGS/SREGS/MSRS (the
 * CET MSRs and memvisor's MTE tag-check MSR).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/sha256.h"
#include "vmm/snapshot.h"

struct snap_buf {
	uint8_t *p;
	size_t len, cap;
	int err;
	size_t sec;      /* offset of the open section's header */
	uint32_t nsec;
};

static void *sb_room(struct snap_buf *b, size_t n)
{
	if (b->err)
		return NULL;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		uint8_t *p;

		while (cap < b->len + n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->err = -ENOMEM;
			return NULL;
		}
		b->p = p;
		b->cap = cap;
	}
	b->len += n;
	return b->p + b->len - n;
}

static void sb_put(struct snap_buf *b, const void *src, size_t n)
{
	void *d = sb_room(b, n);

	if (d)
		memcpy(d, src, n);
}

static void sb_open(struct snap_buf *b, uint32_t type)
{
	uint8_t *h = sb_room(b, VMM_SNAP_SEC_SIZE);

	b->sec = b->len - VMM_SNAP_SEC_SIZE;
	if (h) {
		memset(h, 0, VMM_SNAP_SEC_SIZE);
		memcpy(h, &type, 4);
	}
}

static void sb_close(struct snap_buf *b, uint32_t count)
{
	uint64_t len = b->len - b->sec - VMM_SNAP_SEC_SIZE;

	if (b->err)
		return;
	memcpy(b->p + b->sec + 4, &count, 4);
	memcpy(b->p + b->sec + 8, &len, 8);
	b->nsec++;
}

static long snap_ioctl(const struct vmm_snap_vm *v, int fd, unsigned long cmd, void *arg)
{
	return mv_syscall(v->t, MV_SYS_ioctl, (uint64_t)fd, cmd, (uint64_t)(uintptr_t)arg,
			  0, 0, 0);
}


static void snap_config(const struct vmm_snap_vm *v, struct snap_buf *b)
{
	const struct vmm_config *c = (&v->cfg);
	struct vmm_snap_config sc = {
		.nr_vcpus = c->nr_vcpus, .ram_flags = c->ram_flags, .ram_bytes = c->ram_bytes,
		.ram_gpa = c->ram_gpa, .vm_type = c->vm_type, .private_mem = !!c->private_mem,
		.mte = !!c->mte,
	};
	uint64_t limit;

	if (mv_vm_epc_usage(v->t, v->vm_fd, &sc.epc_pages, &limit))
		sc.epc_pages = 0;
	sb_open(b, VMM_SNAP_CONFIG);
	sb_put(b, &sc, sizeof(sc));
	sb_close(b, 1);
}

static void snap_slots(const struct vmm_snap_vm *v, struct snap_buf *b)
{
	const struct vmm_config *c = (&v->cfg);
	uint64_t npages = c->ram_bytes / VMM_SNAP_PAGE, words = (npages + 63) / 64;
	struct kvm_dirty_log log = { .slot = v->slot };
	uint64_t *bits;

	sb_open(b, VMM_SNAP_SLOTS);
	for (unsigned int i = 0; i < v->nslots; i++) {
		struct vmm_snap_slot s = v->slots[i].s;

		if (s.slot == v->slot)   /* the configuration's flags (a read-only RAM slot) */
			s.flags = c->ram_flags | (c->private_mem ? KVM_MEM_GUEST_MEMFD : 0);
		sb_put(b, &s, sizeof(s));
	}
	sb_close(b, v->nslots);
	/* the pending dirty bits of the RAM slot; other slots' are not carried */
	sb_open(b, VMM_SNAP_DIRTY);
	bits = sb_room(b, words * 8);
	if (bits) {
		memset(bits, 0, words * 8);
		log.dirty_bitmap = bits;
		if (c->ram_flags & KVM_MEM_LOG_DIRTY_PAGES) {
			long r = snap_ioctl(v, v->vm_fd, KVM_GET_DIRTY_LOG, &log);

			if (r)
				b->err = (int)r;
		}
	}
	sb_close(b, (uint32_t)npages);
}

static void snap_attrs(struct snap_buf *b, const struct mv_vm_range *r, long n)
{
	uint32_t count = 0;

	sb_open(b, VMM_SNAP_ATTRS);
	for (long i = 0; i < n; i++) {
		struct vmm_snap_run run = { .gfn = r[i].gpa / VMM_SNAP_PAGE,
					    .npages = r[i].size / VMM_SNAP_PAGE,
					    .val = KVM_MEMORY_ATTRIBUTE_PRIVATE };

		if (!(r[i].flags & MV_RANGE_PRIVATE))
			continue;
		sb_put(b, &run, sizeof(run));
		count++;
	}
	sb_close(b, count);
}

static bool snap_all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Shared pages from the VMM mapping; vEPC ranges are skipped (their contents cannot leave). */
static void snap_shared(const struct vmm_snap_vm *v, struct snap_buf *b, const struct mv_vm_range *r, long n)
{
	uint32_t count = 0;

	sb_open(b, VMM_SNAP_SHARED);
	for (long i = 0; i < n && !b->err; i++) {
		if (r[i].flags & (MV_RANGE_PRIVATE | MV_RANGE_EPC))
			continue;
		for (uint64_t off = 0; off < r[i].size && !b->err; off += VMM_SNAP_PAGE) {
			struct vmm_snap_page *pg = sb_room(b, sizeof(*pg));
			long e;

			if (!pg)
				break;
			pg->gfn = (r[i].gpa + off) / VMM_SNAP_PAGE;
			e = mv_user_read(v->t, r[i].hva + off, pg->data, VMM_SNAP_PAGE);
			if (e < 0) {
				b->err = (int)e;
			} else if (snap_all_zero(pg->data, VMM_SNAP_PAGE)) {
				b->len -= sizeof(*pg);   /* a zero page is what a new VM has */
			} else {
				count++;
			}
		}
	}
	sb_close(b, count);
}

static void snap_private(const struct vmm_snap_vm *v, struct snap_buf *b, const struct mv_vm_range *r, long n)
{
	uint32_t count = 0;

	sb_open(b, VMM_SNAP_PRIVATE);
	for (long i = 0; i < n && !b->err; i++) {
		if (!(r[i].flags & MV_RANGE_PRIVATE))
			continue;
		for (uint64_t off = 0; off < r[i].size && !b->err; off += VMM_SNAP_PAGE) {
			struct vmm_snap_private *pg = sb_room(b, sizeof(*pg));
			struct kvm_gmem_transport tp = { .gpa = r[i].gpa + off };
			long e;

			if (!pg)
				break;
			memset(pg->data + VMM_SNAP_PAGE, 0, VMM_SNAP_TAG_BYTES);
			if (v->cfg.mte)   /* the tags go through the platform too */
				tp.flags = KVM_GMEM_TRANSPORT_TAGS;
			tp.data = (uint64_t)(uintptr_t)pg->data;
			e = snap_ioctl(v, v->vm_fd, KVM_GMEM_EXPORT_PAGE, &tp);
			if (e) {
				b->err = (int)e;
				break;
			}
			pg->gfn = tp.gpa / VMM_SNAP_PAGE;
			memcpy(pg->mac, tp.mac, sizeof(pg->mac));
			count++;
		}
	}
	sb_close(b, count);
}

static void snap_tags(const struct vmm_snap_vm *v, struct snap_buf *b, const struct mv_vm_range *r, long n)
{
	uint32_t count = 0;

	sb_open(b, VMM_SNAP_TAGS);
	for (long i = 0; i < n && !b->err && (&v->cfg)->mte; i++) {
		if (!(r[i].flags & MV_RANGE_TAGGED) || (r[i].flags & MV_RANGE_PRIVATE))
			continue;
		for (uint64_t off = 0; off < r[i].size && !b->err; off += VMM_SNAP_PAGE) {
			struct vmm_snap_tags *pg = sb_room(b, sizeof(*pg));
			struct kvm_arm_copy_mte_tags ct = { .guest_ipa = r[i].gpa + off,
							     .length = VMM_SNAP_PAGE,
							     .flags = KVM_ARM_TAGS_FROM_GUEST };
			long e;

			if (!pg)
				break;
			pg->gfn = ct.guest_ipa / VMM_SNAP_PAGE;
			ct.addr = pg->tags;
			e = snap_ioctl(v, v->vm_fd, KVM_ARM_MTE_COPY_TAGS, &ct);
			if (e != VMM_SNAP_PAGE)
				b->err = e < 0 ? (int)e : -EIO;
			else if (snap_all_zero(pg->tags, VMM_SNAP_TAG_BYTES))
				b->len -= sizeof(*pg);
			else
				count++;
		}
	}
	sb_close(b, count);
}

static void snap_heki(const struct vmm_snap_vm *v, struct snap_buf *b)
{
	struct kvm_heki_state st = { .count = 0 };
	struct kvm_heki_perm_run *runs = NULL;
	struct vmm_snap_heki h = { .pad = 0 };
	long e = snap_ioctl(v, v->vm_fd, KVM_HEKI_GET_STATE, &st);

	if (e == -E2BIG) {
		runs = calloc(st.count, sizeof(*runs));
		if (!runs) {
			b->err = -ENOMEM;
			return;
		}
		st.entries = (uint64_t)(uintptr_t)runs;
		st.flags = 0;   /* an output field: an input must hold 0 */
		e = snap_ioctl(v, v->vm_fd, KVM_HEKI_GET_STATE, &st);
	}
	if (e) {
		b->err = b->err ? b->err : (int)e;
		free(runs);
		return;
	}
	h.cr_pinned[0] = st.cr_pinned[0];
	h.cr_pinned[1] = st.cr_pinned[1];
	h.flags = st.flags;
	sb_open(b, VMM_SNAP_HEKI);
	sb_put(b, &h, sizeof(h));
	for (uint32_t i = 0; i < st.count; i++) {
		struct vmm_snap_run run = { runs[i].gfn, runs[i].npages, runs[i].perms };

		sb_put(b, &run, sizeof(run));
	}
	sb_close(b, st.count);
	free(runs);
}

const uint32_t vmm_snap_cet_msrs[VMM_SNAP_CET_MSRS] = {
	MSR_IA32_U_CET, MSR_IA32_S_CET, MSR_IA32_PL0_SSP, MSR_IA32_PL1_SSP,
	MSR_IA32_PL2_SSP, MSR_IA32_PL3_SSP, MSR_IA32_INT_SSP_TAB,
};

/*
 * The vCPU's MSRs in one KVM_GET_MSRS, which answers how many it read,
 * stopping at the first it refuses: memvisor's MTE tag-check MSR (every
 * vCPU has it) first, then the CET MSRs, none on a guest without CET and
 * all of them on a guest with it. Anything else is an error.
 */
static long snap_get_msrs(const struct vmm_snap_vm *v, int fd, struct vmm_snap_vcpu *c)
{
	/* struct kvm_msrs and its entries, in 8-byte words (no struct around a flexible array) */
	uint64_t words[(sizeof(struct kvm_msrs) + (1 + VMM_SNAP_CET_MSRS) *
			sizeof(struct kvm_msr_entry)) / 8];
	struct kvm_msrs *m = (void *)words;
	uint64_t mte;
	long n;

	memset(words, 0, sizeof(words));
	m->nmsrs = 1 + VMM_SNAP_CET_MSRS;
	m->entries[0].index = MSR_MV_MTE_CTRL;
	for (unsigned int i = 0; i < VMM_SNAP_CET_MSRS; i++)
		m->entries[1 + i].index = vmm_snap_cet_msrs[i];
	n = snap_ioctl(v, fd, KVM_GET_MSRS, m);
	if (n < 0)
		return n;
	if (n != 1 && n != 1 + VMM_SNAP_CET_MSRS)
		return -EIO;
	mte = m->entries[0].data;
	c->mte_tcf = (uint32_t)(mte & MV_MTE_CTRL_TCF_MASK);
	c->mte_flags = (mte & MV_MTE_CTRL_TBI) ? VMM_SNAP_MTE_TBI : 0;
	c->ncet = (uint32_t)(n - 1);
	for (long i = 1; i < n; i++)
		c->cet[i - 1] = m->entries[i].data;
	return 0;
}

/* kvm_vcpu_ioctl_x86_get_vcpu_events(): the queued exception, as the file keeps it. */
static long snap_get_events(const struct vmm_snap_vm *v, int fd, struct vmm_snap_vcpu *c)
{
	struct kvm_vcpu_events ev;
	long e;

	memset(&ev, 0, sizeof(ev));
	e = snap_ioctl(v, fd, KVM_GET_VCPU_EVENTS, &ev);
	if (e)
		return e;
	c->exc_injected = ev.exception.injected ? 1 : 0;
	c->exc_nr = ev.exception.nr;
	c->exc_has_error_code = ev.exception.has_error_code ? 1 : 0;
	c->exc_error_code = ev.exception.error_code;
	return 0;
}

static void snap_vcpus(const struct vmm_snap_vm *v, struct snap_buf *b)
{
	unsigned int n = (&v->cfg)->nr_vcpus;

	sb_open(b, VMM_SNAP_VCPUS);
	for (unsigned int i = 0; i < n && !b->err; i++) {
		struct vmm_snap_vcpu *c = sb_room(b, sizeof(*c));
		long e;

		if (!c)
			break;
		memset(c, 0, sizeof(*c));
		e = snap_ioctl(v, v->vcpu_fds[i], KVM_GET_REGS, &c->regs);
		if (!e)
			e = snap_ioctl(v, v->vcpu_fds[i], KVM_GET_SREGS, &c->sregs);
		if (!e)
			e = snap_get_msrs(v, v->vcpu_fds[i], c);
		if (!e)
			e = snap_get_events(v, v->vcpu_fds[i], c);
		if (e)
			b->err = (int)e;
	}
	sb_close(b, n);
}

int vmm_snapshot_save(struct vmm *v, void **buf, size_t *len)
{
	return vmm_snapshot_save_flags(v, 0, buf, len);
}

int vmm_snapshot_save_flags(struct vmm *vmm, unsigned int flags, void **buf, size_t *len)
{
	struct vmm_snap_vm sv;

	if (!vmm)
		return -EINVAL;
	vmm_snap_vm_of(vmm, &sv);
	return vmm_snapshot_save_vm(&sv, flags, buf, len);
}

int vmm_snapshot_save_vm(const struct vmm_snap_vm *v, unsigned int flags, void **buf, size_t *len)
{
	struct snap_buf b = { .p = NULL };
	struct mv_vm_range *map;
	uint64_t total, reserved = 0;
	uint32_t version = VMM_SNAP_VERSION;
	long n;

	if (!v || !buf || !len || (flags & ~VMM_SNAP_STATE_ONLY))
		return -EINVAL;
	map = vmm_snap_memory_map(v->t, v->vm_fd, &n);
	if (!map)
		return (int)n;
	sb_room(&b, VMM_SNAP_HDR_SIZE);
	snap_config(v, &b);
	snap_slots(v, &b);
	snap_attrs(&b, map, n);
	snap_shared(v, &b, map, (flags & VMM_SNAP_STATE_ONLY) ? 0 : n);
	snap_private(v, &b, map, n);
	snap_tags(v, &b, map, (flags & VMM_SNAP_STATE_ONLY) ? 0 : n);
	snap_heki(v, &b);
	snap_vcpus(v, &b);
	free(map);
	if (b.err) {
		free(b.p);
		return b.err;
	}
	total = b.len;
	memcpy(b.p, VMM_SNAP_MAGIC, 8);
	memcpy(b.p + 8, &version, 4);
	memcpy(b.p + 12, &b.nsec, 4);
	memcpy(b.p + 16, &total, 8);
	sha256(b.p + VMM_SNAP_HDR_SIZE, b.len - VMM_SNAP_HDR_SIZE, b.p + 24);
	memcpy(b.p + 56, &reserved, 8);
	*buf = b.p;
	*len = b.len;
	return 0;
}

int vmm_snapshot_write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	int e = 0;

	if (!f)
		return -errno;
	if (fwrite(buf, 1, len, f) != len)
		e = -EIO;
	if (fclose(f) && !e)
		e = -EIO;
	return e;
}

int vmm_snapshot_read_file(const char *path, void **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 1 << 16, n = 0;
	uint8_t *p = NULL;

	if (!f)
		return -errno;
	for (;;) {
		uint8_t *q = realloc(p, cap);

		if (!q) {
			free(p);
			fclose(f);
			return -ENOMEM;
		}
		p = q;
		n += fread(p + n, 1, cap - n, f);
		if (n < cap)
			break;
		cap *= 2;
	}
	if (ferror(f)) {
		free(p);
		fclose(f);
		return -EIO;
	}
	fclose(f);
	*buf = p;
	*len = n;
	return 0;
}
