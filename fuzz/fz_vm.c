/* SPDX-License-Identifier: MIT */
/*
 * The KVM harnesses' shared machine, shadow and checks (see fz_vm.h).
 * Everything here aborts on a broken rule: libFuzzer reports an abort as
 * a crash and keeps the input.
 */
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>

#include "fz_vm.h"

#define FZ_ERRNO_MAX 133        /* EHWPOISON, the last errno Linux has */
uint64_t fz_u(struct fz_in *in, unsigned int bytes)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < bytes && in->left; i++) {
		v |= (uint64_t)*in->p++ << (8 * i);
		in->left--;
	}
	return v;
}

void fz_bytes(struct fz_in *in, void *dst, size_t n)
{
	size_t take = n < in->left ? n : in->left;

	memcpy(dst, in->p, take);
	memset((uint8_t *)dst + take, 0, n - take);
	in->p += take;
	in->left -= take;
}

/* ---- the machine ---- */

void fz_vm_start(struct fz_vm *v, const uint8_t *data, size_t size)
{
	struct mv_machine_config cfg = { .ram_bytes = 16ull << 20, .seed = 1 };
	struct mv_machine_stats st;
	unsigned int conf;
	long r;

	memset(v, 0, sizeof(*v));
	v->in = (struct fz_in){ .p = data, .left = size };
	conf = (unsigned int)fz_u(&v->in, 1);
	v->seed = conf & 1;
	v->type = conf & 2 ? KVM_X86_SW_PROTECTED_VM : KVM_X86_DEFAULT_VM;
	cfg.abi = v->seed ? MV_ABI_SEED : MV_ABI_MAINLINE;
	cfg.features_off = (conf & 4 ? MV_FEAT_SMEP : 0) | (conf & 8 ? MV_FEAT_SMAP : 0) |
			   (conf & 16 ? MV_FEAT_SHSTK : 0);
	if (mv_machine_create(&cfg, &v->m))
		abort();
	mv_machine_get_stats(v->m, &st);
	v->frames_free = st.frames_free;
	if (mv_task_spawn(v->m, &v->t))
		abort();
	v->kvm = (int)mv_syscall(v->t, MV_SYS_openat, (uint64_t)AT_FDCWD,
				 (uint64_t)(uintptr_t)"/dev/kvm", O_RDWR, 0, 0, 0);
	if (v->kvm < 0)
		abort();
	v->vm = (int)mv_syscall(v->t, MV_SYS_ioctl, (uint64_t)v->kvm, KVM_CREATE_VM, v->type, 0, 0,
				0);
	if (v->vm < 0)
		abort();
	for (unsigned int i = 0; i < FZ_GMEMS; i++)
		v->gmem[i] = -1;
	for (unsigned int i = 0; i < FZ_VCPUS; i++)
		v->vcpu[i] = (struct fz_vcpu){ .v = v, .fd = -1 };
	for (unsigned int i = 0; i < FZ_MAPS; i++) {
		r = mv_syscall(v->t, MV_SYS_mmap, 0, FZ_MAP_PAGES * FZ_PAGE, PROT_READ | PROT_WRITE,
			       (conf & 32 ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, (uint64_t)-1, 0);
		if (r < 0)
			abort();
		v->map[i] = (uint64_t)r;
	}
}

void fz_vm_finish(struct fz_vm *v)
{
	struct mv_machine_stats st;

	mv_task_exit(v->t);
	mv_machine_get_stats(v->m, &st);
	if (st.frames_free != v->frames_free)
		abort();   /* a frame outlived the VMM and everything it opened */
	mv_machine_destroy(v->m);
}

/* ---- system calls ---- */

void fz_check_ret(long r)
{
	if (r < -FZ_ERRNO_MAX)
		abort();   /* not an errno: a kernel-internal code or garbage leaked out */
}

long fz_syscall(struct fz_vm *v, long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
		uint64_t a4, uint64_t a5)
{
	long r = mv_syscall(v->t, nr, a0, a1, a2, a3, a4, a5);

	fz_check_ret(r);
	return r;
}

long fz_ioctl_sized(struct fz_vm *v, int fd, unsigned int cmd, void *arg, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	long r;

	if (!buf)
		abort();
	memcpy(buf, arg, size);
	r = fz_syscall(v, MV_SYS_ioctl, (uint64_t)fd, cmd, (uint64_t)(uintptr_t)buf, 0, 0, 0);
	memcpy(arg, buf, size);
	free(buf);
	return r;
}

long fz_ioctl(struct fz_vm *v, int fd, unsigned int cmd, void *arg)
{
	return fz_ioctl_sized(v, fd, cmd, arg, _IOC_SIZE(cmd));
}

/*
 * The host page just below the top of user space, mapped once. A pointer
 * running over the top is refused whole by most ioctls, but one that copies
 * up to the fault (KVM_ARM_MTE_COPY_TAGS) moves the bytes below the top,
 * and syscall buffers are host pointers: like a caller, the harness must
 * own them (as the unit tests' edge_buffer() does).
 */
static void fz_map_top_page(void)
{
	static bool mapped;
	void *p;

	if (mapped)
		return;
	mapped = true;
	p = mmap((void *)(0x7ffffffff000ull - FZ_PAGE), FZ_PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != (void *)(0x7ffffffff000ull - FZ_PAGE))
		abort();   /* the host has something there: the pointer below is not ours */
}

uint64_t fz_bad_ptr(unsigned int sel)
{
	/* the first page, past the top of user space, running over it, wrapping */
	static const uint64_t bad[] = {
		0, 1, 0xff8, 0x7ffffffff000ull - 4, 0x7ffffffff000ull, 0x800000000000ull,
		0xffff800000000000ull, ~0ull - 7,
	};

	fz_map_top_page();
	return bad[sel % (sizeof(bad) / sizeof(bad[0]))];
}

static const unsigned int fz_known_cmds[] = {
	KVM_GET_API_VERSION, KVM_CREATE_VM, KVM_CHECK_EXTENSION, KVM_GET_VCPU_MMAP_SIZE,
	KVM_CREATE_VCPU, KVM_GET_DIRTY_LOG, KVM_SET_USER_MEMORY_REGION,
	KVM_SET_USER_MEMORY_REGION2, KVM_ARM_MTE_COPY_TAGS, KVM_ENABLE_CAP, KVM_RUN,
	KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS, KVM_SET_MEMORY_ATTRIBUTES,
	KVM_CREATE_GUEST_MEMFD,
};

void fz_check_foreign_cmd(struct fz_vm *v, int fd, unsigned int cmd, unsigned int sel,
			  long expect)
{
	unsigned int size = _IOC_SIZE(cmd), dir = _IOC_DIR(cmd), n = (sel >> 2) % 64 + 1;
	unsigned int other;
	long r;

	switch (sel % 4) {
	case 0:
		size = (size + n) & ((1u << _IOC_SIZEBITS) - 1);
		break;
	case 1:
		size = (size - n) & ((1u << _IOC_SIZEBITS) - 1);
		break;
	case 2:
		dir ^= n % 3 + 1;
		break;
	default:
		size = sel >> 2;
		break;
	}
	other = _IOC(dir, KVMIO, _IOC_NR(cmd), size);
	for (size_t i = 0; i < sizeof(fz_known_cmds) / sizeof(fz_known_cmds[0]); i++)
		if (other == fz_known_cmds[i])
			return;
	/* NULL: a handler that took the number for its own would answer -EFAULT */
	r = fz_syscall(v, MV_SYS_ioctl, (uint64_t)fd, other, 0, 0, 0, 0);
	if (r != expect)
		abort();
}

/* ---- biased picks ---- */

uint64_t fz_vm_uaddr(struct fz_vm *v)
{
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);

	if (sel < 224)
		return v->map[sel % FZ_MAPS] + (sel / FZ_MAPS % 4) * FZ_PAGE;
	return fz_u(&v->in, 6) & ~(FZ_PAGE - 1);
}

uint64_t fz_vm_gpa(struct fz_vm *v)
{
	return (fz_u(&v->in, 2) % FZ_LOW_PAGES) * FZ_PAGE;
}

int fz_vm_gmem_fd(struct fz_vm *v)
{
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);

	if (sel < 200)
		return v->gmem[sel % FZ_GMEMS];
	if (sel < 220)
		return v->vm;
	return (int)(sel % 16) - 1;
}

/* ---- the memslot shadow ---- */

struct fz_slot *fz_slot_by_id(struct fz_vm *v, uint32_t id)
{
	for (unsigned int i = 0; i < v->nslots; i++)
		if (v->slot[i].id == id)
			return &v->slot[i];
	return NULL;
}

struct fz_slot *fz_slot_at(struct fz_vm *v, uint64_t gfn)
{
	for (unsigned int i = 0; i < v->nslots; i++)
		if (gfn >= v->slot[i].gfn && gfn - v->slot[i].gfn < v->slot[i].npages)
			return &v->slot[i];
	return NULL;
}

void fz_vm_note_vcpu_map(struct fz_vm *v, uint64_t start, uint64_t len)
{
	if (v->nvcpu_maps == FZ_VCPU_MAPS) {
		v->vcpu_maps_lost = true;
		return;
	}
	v->vcpu_map[v->nvcpu_maps][0] = start;
	v->vcpu_map[v->nvcpu_maps++][1] = start + len;
}

bool fz_vm_run_page_reachable(const struct fz_vm *v)
{
	if (v->vcpu_maps_lost)
		return v->nslots != 0;
	for (unsigned int i = 0; i < v->nslots; i++) {
		uint64_t start = v->slot[i].uaddr, end = start + v->slot[i].npages * FZ_PAGE;

		for (unsigned int j = 0; j < v->nvcpu_maps; j++)
			if (start < v->vcpu_map[j][1] && v->vcpu_map[j][0] < end)
				return true;
	}
	return false;
}

static bool fz_slot_overlaps(struct fz_vm *v, uint32_t id, uint64_t gfn, uint64_t npages)
{
	for (unsigned int i = 0; i < v->nslots; i++) {
		const struct fz_slot *s = &v->slot[i];

		if (s->id != id && gfn < s->gfn + s->npages && s->gfn < gfn + npages)
			return true;
	}
	return false;
}

void fz_slot_update(struct fz_vm *v, const struct kvm_userspace_memory_region2 *mem, long ret)
{
	uint32_t id = mem->slot & 0xffff;
	struct fz_slot *s = fz_slot_by_id(v, id);
	uint64_t gfn = mem->guest_phys_addr / FZ_PAGE, npages = mem->memory_size / FZ_PAGE;

	if (ret)
		return;   /* an error changes nothing: fz_vm_check_map holds KVM to that */
	v->changes++;
	if (mem->slot >> 16 || ((mem->guest_phys_addr | mem->memory_size | mem->userspace_addr) &
				(FZ_PAGE - 1)) || (mem->flags & ~7u))
		abort();
	if (!mem->memory_size) {
		if (!s)
			abort();   /* deleted a slot that did not exist */
		*s = v->slot[--v->nslots];
		return;
	}
	if (s) {
		/* a move or a flags change: size, address and read-only-ness stay */
		if (s->npages != npages || s->uaddr != mem->userspace_addr ||
		    ((s->flags ^ mem->flags) & KVM_MEM_READONLY) ||
		    ((s->flags | mem->flags) & KVM_MEM_GUEST_MEMFD))
			abort();
		if (gfn != s->gfn && (fz_slot_overlaps(v, id, gfn, npages) ||
				      gfn + npages - 1 > FZ_MAX_GFN))
			abort();
		if (!(mem->flags & KVM_MEM_LOG_DIRTY_PAGES))
			s->ndirty = 0;   /* the bitmap goes with the logging */
		s->gfn = gfn;
		s->flags = mem->flags;
		return;
	}
	if (fz_slot_overlaps(v, id, gfn, npages) || v->nslots == FZ_SLOTS)
		abort();
	if (gfn + npages - 1 > FZ_MAX_GFN)
		abort();   /* beyond what stage 2 can map (x86: kvm_mmu_max_gfn) */
	v->slot[v->nslots++] = (struct fz_slot){
		.id = id, .flags = mem->flags, .gfn = gfn, .npages = npages,
		.uaddr = mem->userspace_addr,
	};
}

long fz_vm_set_region(struct fz_vm *v, struct kvm_userspace_memory_region2 *mem, bool two)
{
	unsigned int cmd = two ? KVM_SET_USER_MEMORY_REGION2 : KVM_SET_USER_MEMORY_REGION;
	size_t size = _IOC_SIZE(cmd);
	long r;

	/* the seed's old ioctl took its longer struct when it named a file */
	if (!two && v->seed && (mem->flags & KVM_MEM_GUEST_MEMFD))
		size = sizeof(*mem);
	if (v->nslots == FZ_SLOTS && !fz_slot_by_id(v, mem->slot & 0xffff))
		return -ENOSPC;   /* the shadow is full: not attempted */
	r = fz_ioctl_sized(v, v->vm, cmd, mem, size);
	fz_slot_update(v, mem, r);
	fz_vm_check_map(v);
	return r;
}

/* ---- the attribute shadow ---- */

uint64_t fz_attr_at(const struct fz_vm *v, uint64_t gfn)
{
	for (unsigned int i = v->nattr; i-- > 0;)
		if (gfn >= v->attr[i].start && gfn < v->attr[i].end)
			return v->attr[i].attrs;
	return 0;
}

void fz_attr_update(struct fz_vm *v, const struct kvm_memory_attributes *a)
{
	if (v->nattr == FZ_ATTRS)
		abort();   /* callers check for room first */
	v->changes++;
	v->attr[v->nattr++] = (struct fz_attr){
		.start = a->address / FZ_PAGE, .end = (a->address + a->size) / FZ_PAGE,
		.attrs = a->attributes,
	};
}

/* Is @r's private flag what the shadow says at every gfn where the shadow could change? */
static void fz_check_range_attrs(const struct fz_vm *v, const struct mv_vm_range *r)
{
	uint64_t g0 = r->gpa / FZ_PAGE, g1 = g0 + r->size / FZ_PAGE;
	bool priv = r->flags & MV_RANGE_PRIVATE;

	if (!!(fz_attr_at(v, g0) & KVM_MEMORY_ATTRIBUTE_PRIVATE) != priv)
		abort();
	for (unsigned int i = 0; i < v->nattr; i++) {
		uint64_t at[2] = { v->attr[i].start, v->attr[i].end };

		for (int k = 0; k < 2; k++)
			if (at[k] > g0 && at[k] < g1 &&
			    !!(fz_attr_at(v, at[k]) & KVM_MEMORY_ATTRIBUTE_PRIVATE) != priv)
				abort();
	}
}

static void fz_check_range(struct fz_vm *v, const struct mv_vm_range *r)
{
	const struct fz_slot *s = fz_slot_by_id(v, r->slot);
	uint32_t want = MV_RANGE_READ | MV_RANGE_EXEC;

	if (!s || !r->size || ((r->gpa | r->size) & (FZ_PAGE - 1)))
		abort();
	if (r->gpa / FZ_PAGE < s->gfn || r->gpa / FZ_PAGE + r->size / FZ_PAGE > s->gfn + s->npages)
		abort();   /* a range outside the slot it names */
	if (r->hva != s->uaddr + (r->gpa - s->gfn * FZ_PAGE))
		abort();
	if (!(s->flags & KVM_MEM_READONLY))
		want |= MV_RANGE_WRITE;
	if (s->flags & KVM_MEM_LOG_DIRTY_PAGES)
		want |= MV_RANGE_DIRTY_LOG;
	if (v->mte)
		want |= MV_RANGE_TAGGED;
	if ((r->flags & ~(uint32_t)MV_RANGE_PRIVATE) != want)
		abort();
	if (r->gmem_fd != -1 && !(s->flags & KVM_MEM_GUEST_MEMFD))
		abort();   /* only a guest_memfd slot's bytes can live in a file */
	fz_check_range_attrs(v, r);
}

void fz_vm_check_map(struct fz_vm *v)
{
	struct mv_vm_range stack[64], *r = stack;
	uint64_t pages = 0, shadow = 0, end = 0;
	long n;

	if (v->vm < 0)
		return;
	n = mv_vm_memory_map(v->t, v->vm, r, 64);
	if (n > 64) {
		r = calloc((size_t)n, sizeof(*r));
		if (!r || mv_vm_memory_map(v->t, v->vm, r, (size_t)n) != n)
			abort();
	}
	if (n < 0)
		abort();
	for (long i = 0; i < n; i++) {
		if (i && r[i].gpa < end)
			abort();   /* out of order or overlapping */
		fz_check_range(v, &r[i]);
		end = r[i].gpa + r[i].size;
		pages += r[i].size / FZ_PAGE;
	}
	for (unsigned int i = 0; i < v->nslots; i++)
		shadow += v->slot[i].npages;
	if (pages != shadow)
		abort();   /* the VM's slots are not the ones its ioctls made */
	if (r != stack)
		free(r);
}

/* ---- the dirty log ---- */

static bool fz_bit(const uint8_t *bm, uint64_t i)
{
	return bm[i / 8] >> (i % 8) & 1;
}

/* A harvest that worked: the bits are within the slot and include every remembered write. */
static void fz_check_harvest(struct fz_slot *s, const uint8_t *bm, size_t n)
{
	for (uint64_t i = s->npages; i < n * 8; i++)
		if (fz_bit(bm, i))
			abort();   /* a page past the end of the slot */
	for (unsigned int k = 0; k < s->ndirty; k++)
		if (!fz_bit(bm, s->dirty[k]))
			abort();   /* the guest wrote the page since the last harvest */
	s->ndirty = 0;
}

long fz_vm_dirty_log(struct fz_vm *v, uint32_t id, unsigned int mode)
{
	struct fz_slot *s = fz_slot_by_id(v, id);
	struct kvm_dirty_log log = { .slot = id };
	size_t n = s ? (size_t)((s->npages + 63) / 64) * 8 : 0;
	uint8_t *bm = NULL;
	long r, want;

	if (s && !(id >> 16) && n <= (1u << 20) && mode < 2) {
		bm = malloc(n);   /* exactly the slot's bitmap: more would hide an overflow */
		if (!bm)
			abort();
		memset(bm, 0xa5, n);
		log.dirty_bitmap = bm;
	} else {
		log.padding2 = fz_bad_ptr(mode);
	}
	r = fz_ioctl(v, v->vm, KVM_GET_DIRTY_LOG, &log);
	if (v->vm < 0)
		want = -EBADF;
	else if (id >> 16 || (id & 0xffff) >= 0x7fff - 3)
		want = -EINVAL;
	else if (!s || !(s->flags & KVM_MEM_LOG_DIRTY_PAGES))
		want = -ENOENT;
	else
		want = bm ? 0 : -EFAULT;
	if (r != want && r != -ENOMEM)
		abort();
	if (s && want == -EFAULT)
		s->ndirty = 0;   /* harvested, then lost in the copy-out, as on Linux */
	if (r == 0) {
		fz_check_harvest(s, bm, n);
		if (mode == 1) {
			/* nothing ran since: nothing can be dirty */
			memset(bm, 0xa5, n);
			if (fz_ioctl(v, v->vm, KVM_GET_DIRTY_LOG, &log) != 0)
				abort();
			for (size_t i = 0; i < n; i++)
				if (bm[i])
					abort();
		}
	}
	free(bm);
	return r;
}

/* ---- checked ioctls shared by the harnesses ---- */

long fz_vm_enable_cap(struct fz_vm *v, int fd, struct kvm_enable_cap *cap)
{
	long r = fz_ioctl(v, fd, KVM_ENABLE_CAP, cap);
	bool hc = cap->cap == KVM_CAP_EXIT_HYPERCALL;
	bool ok = !cap->flags && hc && !(cap->args[0] & ~(1ull << KVM_HC_MAP_GPA_RANGE));

	if (fd != v->vm || fd < 0)
		return r;
	if (r == 0 && cap->flags)
		abort();   /* no flags are defined */
	if (hc && r == 0 && !ok)
		abort();   /* a hypercall memvisor cannot exit for */
	if (ok && r != 0)
		abort();
	if (hc && r != 0 && r != -EINVAL)
		abort();
	if (hc && r == 0)
		v->hc_enabled = cap->args[0];
	if (cap->cap == KVM_CAP_ARM_MTE && r == 0)
		v->mte = true;
	return r;
}

long fz_vm_set_attributes(struct fz_vm *v, struct kvm_memory_attributes *a)
{
	uint64_t supported = v->type == KVM_X86_SW_PROTECTED_VM ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
	bool valid = !a->flags && !(a->attributes & ~supported) && a->size &&
		     a->address + a->size > a->address && !((a->address | a->size) & (FZ_PAGE - 1));
	long r;

	if (v->nattr == FZ_ATTRS)
		return -ENOSPC;   /* the shadow is full: not attempted */
	r = fz_ioctl(v, v->vm, KVM_SET_MEMORY_ATTRIBUTES, a);
	if (r == 0 && !valid)
		abort();
	if (valid && supported && v->vm >= 0 && r != 0 && r != -ENOMEM)
		abort();
	if (r == 0)
		fz_attr_update(v, a);
	fz_vm_check_map(v);
	return r;
}

/* What KVM_SET_SREGS must leave behind: all of it, or nothing. */
long fz_vm_set_sregs(struct fz_vm *v, struct fz_vcpu *c, struct kvm_sregs *s)
{
	struct kvm_sregs before, after;
	long r;

	if (fz_ioctl(v, c->fd, KVM_GET_SREGS, &before))
		abort();
	r = fz_ioctl(v, c->fd, KVM_SET_SREGS, s);
	if (r != 0 && r != -EINVAL)
		abort();
	if (fz_ioctl(v, c->fd, KVM_GET_SREGS, &after))
		abort();
	if (r) {
		if (memcmp(&before, &after, sizeof(after)))
			abort();   /* a refused KVM_SET_SREGS changed something */
		return r;
	}
	if (after.cr0 != s->cr0 || after.cr2 != s->cr2 || after.cr3 != s->cr3 ||
	    after.cr4 != s->cr4 || after.efer != s->efer)
		abort();
	if (after.cr8 > 15 || (s->cr8 <= 15 && after.cr8 != s->cr8))
		abort();   /* CR8 holds the four bits of the TPR */
	if ((s->cr0 >> 32) || ((s->cr0 & FZ_CR0_PG) && !(s->cr0 & 1)))
		abort();
	c->cpl3 = s->ss.dpl == 3;
	c->sregs_gen++;
	return r;
}

int fz_vm_drive(const uint8_t *data, size_t size, const struct fz_op *ops)
{
	struct fz_vm v;

	fz_vm_start(&v, data, size);
	while (fz_more(&v.in)) {
		unsigned int op = (unsigned int)fz_u(&v.in, 1);
		const struct fz_op *o = ops;

		while (o->fn && op >= o->below)
			o++;
		if (o->fn)
			o->fn(&v);
		else
			fz_vm_support(&v, op);
	}
	fz_vm_finish(&v);
	return 0;
}
