/* SPDX-License-Identifier: MIT */
/*
 * Snapshot round trips (docs/snapshot.md): each kind of state survives a
 * save and a restore into a new VM (on the same or another machine), and
 * a guest program given to the restored vCPU continues from the saved
 * architectural state with every protection still enforced: IMMUTABLE
 * text still refuses writes, a pinned CR bit stays pinned, a tagged
 * pointer is still checked, private memory is still invisible to the VMM.
 * The guest programs keep their state in guest memory and registers only,
 * as the model requires.
 */
#define _GNU_SOURCE
#include "snaptest.h"

#define CR0_PE 1ull

#define COUNTER 0x20000ull     /* the guest's own progress counter */



/* ---- Heki, pinned CRs, paging, registers ---- */

/* Boots: long mode (page tables in guest memory), counter 41, CR0.WP pinned, TEXT locked. */
static void guest_boot(struct mv_guest *g, void *arg)
{
	struct gst *c = arg;
	struct heki_pages e = { .pa = TEXT, .epa = TEXT + 0x1000,
				.permissions = MEM_ATTR_READ | MEM_ATTR_EXEC | MEM_ATTR_IMMUTABLE };
	uint64_t v = 41, text = 0x90c3;

	ht_long_mode(g);
	c->r[0] = mv_guest_write(g, COUNTER, &v, 8);
	c->r[1] = mv_guest_write(g, TEXT, &text, 8);
	c->r[2] = mv_guest_hypercall(g, KVM_HC_LOCK_CR_UPDATE, 0, CR0_WP, 0, 0);
	ht_put_list(g, HT_LIST, 0, &e, 1);
	c->r[3] = mv_guest_hypercall(g, KVM_HC_PROTECT_MEMORY, HT_LIST, 0, 0, 0);
}

/* The restored program: no setup of its own, it goes on from CR3/CR0 and memory. */
static void guest_resume(struct mv_guest *g, void *arg)
{
	struct gst *c = arg;
	uint64_t v = 0, bad = 0xcc;

	c->r[0] = mv_guest_read(g, COUNTER, &v, 8);
	c->val[0] = v;
	v++;
	c->r[1] = mv_guest_write(g, COUNTER, &v, 8);
	c->r[2] = mv_guest_read(g, TEXT, &c->val[1], 8);
	c->r[3] = mv_guest_write(g, TEXT, &bad, 8);            /* IMMUTABLE */
	fault_vec(g, c, 3);
	c->r[4] = mv_guest_read_cr(g, 0, &c->val[2]);
	c->r[5] = mv_guest_write_cr(g, 0, c->val[2] & ~CR0_WP); /* pinned */
	fault_vec(g, c, 5);
	c->r[6] = mv_guest_read_cr(g, 3, &c->val[3]);
}

static void get_heki(struct vmm *v, struct kvm_heki_state *st, struct kvm_heki_perm_run *runs,
		     uint32_t room)
{
	memset(st, 0, sizeof(*st));
	st->count = room;
	st->entries = (uint64_t)(uintptr_t)runs;
	assert_int_equal(mv_syscall(vmm_task(v), MV_SYS_ioctl, (uint64_t)vmm_vm_fd(v),
				    KVM_HEKI_GET_STATE, (uint64_t)(uintptr_t)st, 0, 0, 0), 0);
}

static void get_regs(struct vmm *v, struct kvm_regs *r, struct kvm_sregs *s)
{
	struct mv_task *t = vmm_task(v);

	assert_int_equal(kt_ioctl_p(t, vmm_vcpu_fd(v, 0), KVM_GET_REGS, r), 0);
	assert_int_equal(kt_ioctl_p(t, vmm_vcpu_fd(v, 0), KVM_GET_SREGS, s), 0);
}

static void test_snapshot_restores_heki_pins_paging_and_registers_on_another_machine(void **state)
{
	struct vmm_config cfg = { .nr_vcpus = 1, .ram_bytes = HT_RAM };
	struct mv_machine *m1, *m2;
	struct mv_task *t1 = mvtest_task(&m1), *t2 = mvtest_task(&m2);
	struct vmm *src = st_vmm(t1, &cfg), *dst;
	struct kvm_heki_state hs, hd;
	struct kvm_heki_perm_run rs[8], rd[8];
	struct kvm_regs regs_s, regs_d;
	struct kvm_sregs sregs_s, sregs_d;
	struct vmm_restore_info info;
	struct gst a = { 0 }, b = { 0 };
	const char *why = NULL;
	void *buf;
	size_t len;

	(void)state;
	st_run(src, guest_boot, &a);
	for (int i = 0; i < 4; i++)
		assert_int_equal(a.r[i], 0);
	assert_int_equal(vmm_snapshot_save(src, &buf, &len), 0);
	if (vmm_snapshot_restore(t2, buf, len, &dst, &info, &why))
		fail_msg("restore: %s", why);
	assert_null(why);
	assert_int_equal(info.heki_runs, 1);
	/* the state as KVM holds it, before the restored guest runs */
	get_heki(src, &hs, rs, 8);
	get_heki(dst, &hd, rd, 8);
	assert_int_equal(hd.cr_pinned[0], CR0_WP);
	assert_int_equal(hd.flags, KVM_HEKI_STATE_LOCKED);
	assert_int_equal(hd.count, hs.count);
	assert_memory_equal(rd, rs, hs.count * sizeof(rs[0]));
	get_regs(src, &regs_s, &sregs_s);
	get_regs(dst, &regs_d, &sregs_d);
	assert_memory_equal(&regs_d, &regs_s, sizeof(regs_s));
	assert_int_equal(sregs_d.cr0, sregs_s.cr0);
	assert_int_equal(sregs_d.cr3, sregs_s.cr3);
	assert_int_equal(sregs_d.cr4, sregs_s.cr4);
	assert_int_equal(sregs_d.efer, sregs_s.efer);
	/* the guest goes on, protections intact */
	st_run(dst, guest_resume, &b);
	assert_int_equal(b.r[0], 0);
	assert_int_equal(b.val[0], 41);
	assert_int_equal(b.r[1], 0);
	assert_int_equal(b.r[2], 0);
	assert_int_equal(b.val[1], 0x90c3);
	assert_int_equal(b.r[3], -EFAULT);
	assert_int_equal(b.vec[3], 14);
	assert_int_equal(b.r[4], 0);
	assert_true(b.val[2] & CR0_WP);
	assert_int_equal(b.r[5], -EFAULT);
	assert_int_equal(b.vec[5], 13);
	assert_int_equal(b.val[3], 0x10000);
	free(buf);
	vmm_destroy(dst);
	vmm_destroy(src);
	mv_machine_destroy(m2);
	mv_machine_destroy(m1);
}

static void test_snapshot_restore_only_ioctls_refused_once_the_vm_ran(void **state)
{
	struct vmm_config cfg = { .nr_vcpus = 1, .ram_bytes = HT_RAM };
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	struct vmm *v = st_vmm(t, &cfg);
	struct kvm_heki_perm_run run = { .gfn = 0x100, .npages = 1, .perms = MEM_ATTR_READ };
	struct kvm_heki_state st = { .count = 1, .entries = (uint64_t)(uintptr_t)&run };
	struct kvm_heki_state bad = st;
	struct kvm_heki_perm_run far = { .gfn = 0x10000, .npages = 1, .perms = MEM_ATTR_READ };
	struct gst a = { 0 };
	uint8_t page[4096] = { 0 };
	struct kvm_gmem_transport tp = { .gpa = 0x1000, .data = (uint64_t)(uintptr_t)page };
	int vm = vmm_vm_fd(v);

	(void)state;
	assert_int_equal(kt_ioctl(t, vm, KVM_CHECK_EXTENSION, KVM_CAP_SNAPSHOT), 1);
	/* before the first run: checked, then served */
	bad.entries = (uint64_t)(uintptr_t)&far;                 /* outside every memslot */
	assert_int_equal(kt_ioctl_p(t, vm, KVM_HEKI_SET_STATE, &bad), -EINVAL);
	bad = st;
	bad.cr_pinned[0] = CR0_PE;                           /* a CR0 pin must hold WP */
	assert_int_equal(kt_ioctl_p(t, vm, KVM_HEKI_SET_STATE, &bad), -EINVAL);
	bad = st;
	bad.flags = 2;
	assert_int_equal(kt_ioctl_p(t, vm, KVM_HEKI_SET_STATE, &bad), -EINVAL);
	assert_int_equal(kt_ioctl_p(t, vm, KVM_GMEM_IMPORT_PAGE, &tp), -EINVAL);  /* not private */
	assert_int_equal(kt_ioctl_p(t, vm, KVM_HEKI_SET_STATE, &st), 0);
	st_run(v, guest_boot, &a);
	/* after it: the VMM cannot loosen or rewrite a running guest's protections */
	assert_int_equal(kt_ioctl_p(t, vm, KVM_HEKI_SET_STATE, &st), -EBUSY);
	assert_int_equal(kt_ioctl_p(t, vm, KVM_GMEM_IMPORT_PAGE, &tp), -EBUSY);
	vmm_destroy(v);
	mv_machine_destroy(m);
}

/* ---- MTE ---- */

static void guest_tag(struct mv_guest *g, void *arg)
{
	struct gst *c = arg;
	uint64_t v = 0x7a6;

	c->r[0] = mv_guest_set_tag(g, ST_TAG(0x3000, 5));
	c->r[1] = mv_guest_write(g, ST_TAG(0x3000, 5), &v, 8);
}

static void guest_tag_resume(struct mv_guest *g, void *arg)
{
	struct gst *c = arg;
	uint64_t v = 0;
	uint8_t tag = 0;

	c->r[0] = mv_guest_read(g, ST_TAG(0x3000, 5), &v, 8);
	c->val[0] = v;
	c->r[1] = mv_guest_read(g, ST_TAG(0x3000, 6), &v, 8);   /* wrong tag */
	fault_vec(g, c, 1);
	c->r[2] = mv_guest_get_tag(g, 0x3000, &tag);
	c->val[1] = tag;
}

/* guest_tag_resume in sync mode: the wrong tag faults on the access, the tag reads back 5. */
static void assert_sync_tag_resume(const struct gst *b)
{
	assert_int_equal(b->r[1], -EFAULT);
	assert_int_equal(b->vec[1], 14);
	assert_int_equal(b->r[2], 0);
	assert_int_equal(b->val[1], 5);
}

static void test_snapshot_carries_mte_tags_and_checks_stay_on(void **state)
{
	struct vmm_config cfg = { .nr_vcpus = 1, .ram_bytes = 2 * ST_MB, .mte = 1 };
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	struct vmm *src = st_vmm(t, &cfg), *dst;
	struct vmm_restore_info info;
	struct gst a = { 0 }, b = { 0 };
	uint8_t ts[256], td[256];
	struct kvm_arm_copy_mte_tags ct = { .guest_ipa = 0x3000, .length = 4096,
					     .flags = KVM_ARM_TAGS_FROM_GUEST };
	void *buf;
	size_t len;

	(void)state;
	st_run(src, guest_tag, &a);
	assert_int_equal(a.r[0], 0);
	assert_int_equal(a.r[1], 0);
	assert_int_equal(vmm_snapshot_save(src, &buf, &len), 0);
	assert_int_equal(vmm_snapshot_restore(t, buf, len, &dst, &info, NULL), 0);
	assert_int_equal(info.tagged_pages, 1);
	ct.addr = ts;
	assert_int_equal(kt_ioctl_p(t, vmm_vm_fd(src), KVM_ARM_MTE_COPY_TAGS, &ct), 4096);
	ct.addr = td;
	assert_int_equal(kt_ioctl_p(t, vmm_vm_fd(dst), KVM_ARM_MTE_COPY_TAGS, &ct), 4096);
	assert_memory_equal(ts, td, sizeof(ts));
	assert_int_equal(td[0], 5);
	st_run(dst, guest_tag_resume, &b);
	assert_int_equal(b.r[0], 0);
	assert_int_equal(b.val[0], 0x7a6);
	assert_sync_tag_resume(&b);
	free(buf);
	vmm_destroy(dst);
	vmm_destroy(src);
	mv_machine_destroy(m);
}

/* The guest kernel picks asynchronous checks (SCTLR_EL1.TCF) and tags a granule. */
static void guest_async(struct mv_guest *g, void *arg)
{
	struct gst *c = arg;

	c->r[0] = mv_guest_set_tcf(g, MV_TCF_ASYNC);
	c->r[1] = mv_guest_set_tag(g, ST_TAG(0x3000, 5));
}

/* No mode of its own: a mismatching write goes through and is reported after it. */
static void guest_async_resume(struct mv_guest *g, void *arg)
{
	struct gst *c = arg;
	struct mv_guest_fault f = { 0 };
	uint64_t v = 0x5151, got = 0;

	c->r[0] = mv_guest_write(g, ST_TAG(0x3000, 6), &v, 8);   /* wrong tag */
	c->r[1] = mv_guest_read(g, ST_TAG(0x3000, 5), &got, 8);
	mv_guest_last_fault(g, &f);
	c->vec[1] = f.vector;
	c->val[1] = f.error_code;
	c->r[2] = mv_guest_read(g, ST_TAG(0x3000, 5), &got, 8);
	c->val[2] = got;
}

static uint64_t mte_ctrl(struct vmm *v)
{
	uint64_t words[(sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)) / 8] = { 0 };
	struct kvm_msrs *m = (void *)words;

	m->nmsrs = 1;
	m->entries[0].index = MSR_MV_MTE_CTRL;
	assert_int_equal(kt_ioctl_p(vmm_task(v), vmm_vcpu_fd(v, 0), KVM_GET_MSRS, m), 1);
	return m->entries[0].data;
}

/* Asserts the async program's view: the write went through, its mismatch came after it. */
static void assert_async_resume(const struct gst *b)
{
	assert_int_equal(b->r[0], 0);              /* not a sync fault */
	assert_int_equal(b->r[1], -EFAULT);        /* the recorded mismatch, next instruction */
	assert_int_equal(b->vec[1], 14);
	assert_int_equal(b->val[1], MV_PF_MTE_ASYNC);
	assert_int_equal(b->r[2], 0);
	assert_int_equal(b->val[2], 0x5151);       /* the mismatching write landed */
}

/*
 * The guest's tag-check mode travels (MSR_MV_MTE_CTRL in the vCPU
 * record): restored, a guest that chose async checks still records a
 * mismatch and reports it later instead of faulting on the access.
 */
static void test_snapshot_keeps_the_guest_async_tag_check_mode(void **state)
{
	struct vmm_config cfg = { .nr_vcpus = 1, .ram_bytes = 2 * ST_MB, .mte = 1 };
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	struct vmm *src = st_vmm(t, &cfg), *dst, *fresh = st_vmm(t, &cfg);
	struct gst a = { 0 }, b = { 0 };
	void *buf;
	size_t len;

	(void)state;
	assert_int_equal(mte_ctrl(fresh), MV_TCF_SYNC | MV_MTE_CTRL_TBI);
	vmm_destroy(fresh);
	st_run(src, guest_async, &a);
	assert_int_equal(a.r[0], 0);
	assert_int_equal(a.r[1], 0);
	assert_int_equal(mte_ctrl(src), MV_TCF_ASYNC | MV_MTE_CTRL_TBI);
	assert_int_equal(vmm_snapshot_save(src, &buf, &len), 0);
	assert_int_equal(vmm_snapshot_restore(t, buf, len, &dst, NULL, NULL), 0);
	assert_int_equal(mte_ctrl(dst), MV_TCF_ASYNC | MV_MTE_CTRL_TBI);
	st_run(dst, guest_async_resume, &b);
	assert_async_resume(&b);
	free(buf);
	vmm_destroy(dst);
	vmm_destroy(src);
	mv_machine_destroy(m);
}

/*
 * @b, a snapshot of @nr_vcpus vCPUs in the current version, as version
 * @ver wrote it (vCPU records cut to @rec_size bytes: 2 had no MTE state,
 * 3 no queued exception), resealed. The result is shorter.
 */
static size_t to_version(uint8_t *b, size_t len, uint32_t nr_vcpus, uint32_t ver,
			 size_t rec_size)
{
	size_t off = st_section(b, len, VMM_SNAP_VCPUS, NULL, NULL);
	uint8_t *rec = b + off + VMM_SNAP_SEC_SIZE;
	uint64_t slen = (uint64_t)nr_vcpus * rec_size, total;

	for (uint32_t i = 0; i < nr_vcpus; i++)
		memmove(rec + i * rec_size, rec + i * sizeof(struct vmm_snap_vcpu), rec_size);
	memcpy(b + off + 8, &slen, 8);
	total = off + VMM_SNAP_SEC_SIZE + slen;
	assert_true(total == len - nr_vcpus * (sizeof(struct vmm_snap_vcpu) - rec_size));
	memcpy(b + 8, &ver, 4);
	memcpy(b + 16, &total, 8);
	st_reseal(b, (size_t)total);
	return (size_t)total;
}

static struct kvm_vcpu_events vcpu_events(struct vmm *v)
{
	struct kvm_vcpu_events ev;

	memset(&ev, 0xa5, sizeof(ev));
	assert_int_equal(kt_ioctl_p(vmm_task(v), vmm_vcpu_fd(v, 0), KVM_GET_VCPU_EVENTS, &ev), 0);
	return ev;
}

/* The first access takes the queued fault; the next one runs. */
static void guest_take_queued(struct mv_guest *g, void *arg)
{
	struct gst *c = arg;
	struct mv_guest_fault f = { 0 };
	uint64_t got = 0;

	c->r[0] = mv_guest_read(g, ST_TAG(0x3000, 5), &got, 8);
	mv_guest_last_fault(g, &f);
	c->vec[0] = f.vector;
	c->val[0] = f.error_code;
	c->r[1] = mv_guest_read(g, ST_TAG(0x3000, 5), &got, 8);
}

/*
 * An exception KVM holds for the guest when the VM is saved (here the
 * asynchronous tag-check #PF a stopped vCPU had not yet taken, queued by
 * KVM_SET_VCPU_EVENTS as a VMM would) travels in the vCPU record and is
 * delivered at the restored guest's first instruction; a version 3 file,
 * which had no such field, restores with nothing queued.
 */
static void test_snapshot_carries_a_queued_exception_and_version_3_has_none(void **state)
{
	struct vmm_config cfg = { .nr_vcpus = 1, .ram_bytes = 2 * ST_MB, .mte = 1 };
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	struct vmm *src = st_vmm(t, &cfg), *dst, *old;
	struct kvm_vcpu_events ev = { 0 };
	struct gst a = { 0 }, b = { 0 }, c = { 0 };
	uint8_t *buf;
	size_t len;

	(void)state;
	st_run(src, guest_async, &a);
	ev.exception.injected = 1;
	ev.exception.nr = 14;
	ev.exception.has_error_code = 1;
	ev.exception.error_code = MV_PF_MTE_ASYNC;
	assert_int_equal(kt_ioctl_p(t, vmm_vcpu_fd(src, 0), KVM_SET_VCPU_EVENTS, &ev), 0);
	assert_int_equal(vmm_snapshot_save(src, (void **)&buf, &len), 0);
	assert_int_equal(vmm_snapshot_restore(t, buf, len, &dst, NULL, NULL), 0);
	ev = vcpu_events(dst);
	assert_int_equal(ev.exception.injected, 1);
	assert_int_equal(ev.exception.nr, 14);
	assert_int_equal(ev.exception.has_error_code, 1);
	assert_int_equal(ev.exception.error_code, MV_PF_MTE_ASYNC);
	st_run(dst, guest_take_queued, &b);
	assert_int_equal(b.r[0], -EFAULT);
	assert_int_equal(b.vec[0], 14);
	assert_int_equal(b.val[0], MV_PF_MTE_ASYNC);
	assert_int_equal(b.r[1], 0);
	assert_int_equal(vcpu_events(dst).exception.injected, 0);

	len = to_version(buf, len, cfg.nr_vcpus, 3, VMM_SNAP_VCPU_V3_SIZE);
	assert_int_equal(vmm_snapshot_restore(t, buf, len, &old, NULL, NULL), 0);
	assert_int_equal(vcpu_events(old).exception.injected, 0);
	st_run(old, guest_take_queued, &c);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], 0);
	free(buf);
	vmm_destroy(old);
	vmm_destroy(dst);
	vmm_destroy(src);
	mv_machine_destroy(m);
}

/*
 * A version 2 file (before the vCPU records had the MTE state) still
 * restores, tags and registers included; its vCPUs start as a new vCPU
 * does, in sync mode, as a version 2 restore always left them.
 */
static void test_snapshot_version_2_file_still_restores_in_sync_mode(void **state)
{
	struct vmm_config cfg = { .nr_vcpus = 1, .ram_bytes = 2 * ST_MB, .mte = 1 };
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	struct vmm *src = st_vmm(t, &cfg), *dst;
	struct vmm_restore_info info;
	struct gst a = { 0 }, b = { 0 };
	const char *why = NULL;
	uint8_t *buf;
	size_t len;

	(void)state;
	st_run(src, guest_async, &a);
	assert_int_equal(vmm_snapshot_save(src, (void **)&buf, &len), 0);
	len = to_version(buf, len, cfg.nr_vcpus, 2, VMM_SNAP_VCPU_V2_SIZE);
	assert_int_equal(vmm_snapshot_check(buf, len, &why), 0);
	assert_int_equal(vmm_snapshot_restore(t, buf, len, &dst, &info, NULL), 0);
	assert_int_equal(info.tagged_pages, 1);
	assert_int_equal(mte_ctrl(dst), MV_TCF_SYNC | MV_MTE_CTRL_TBI);
	st_run(dst, guest_tag_resume, &b);
	assert_sync_tag_resume(&b);
	free(buf);
	vmm_destroy(dst);
	vmm_destroy(src);
	mv_machine_destroy(m);
}

/* ---- private memory ---- */

#define PRIV 0x40000ull
static const char secret[] = "the guest's private key material, never the VMM's";

static void guest_private(struct mv_guest *g, void *arg)
{
	struct gst *c = arg;
	uint64_t v = 7;

	c->r[0] = mv_guest_write(g, PRIV, secret, sizeof(secret));
	c->r[1] = mv_guest_write(g, PRIV + 0x1000, secret, sizeof(secret));
	c->r[2] = mv_guest_write(g, COUNTER, &v, 8);
}

static void guest_private_resume(struct mv_guest *g, void *arg)
{
	struct gst *c = arg;
	char got[sizeof(secret)] = { 0 };

	c->r[0] = mv_guest_read(g, PRIV + 0x1000, got, sizeof(got));
	c->r[1] = memcmp(got, secret, sizeof(secret));
	c->r[2] = mv_guest_read(g, COUNTER, &c->val[0], 8);
}

static void set_private(struct vmm *v, uint64_t gpa, uint64_t size)
{
	struct kvm_memory_attributes ma = { .address = gpa, .size = size,
					    .attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE };

	assert_int_equal(kt_ioctl_p(vmm_task(v), vmm_vm_fd(v), KVM_SET_MEMORY_ATTRIBUTES, &ma), 0);
}

static bool contains(const void *hay, size_t n, const void *needle, size_t m)
{
	return memmem(hay, n, needle, m) != NULL;
}

static void test_snapshot_moves_private_memory_only_as_platform_ciphertext(void **state)
{
	struct vmm_config cfg = { .nr_vcpus = 1, .ram_bytes = 2 * ST_MB,
				  .vm_type = KVM_X86_SW_PROTECTED_VM, .private_mem = 1 };
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	struct vmm *src = st_vmm(t, &cfg), *dst = NULL;
	struct vmm_restore_info info;
	struct gst a = { 0 }, b = { 0 };
	char seen[sizeof(secret)];
	const char *why = NULL;
	uint32_t count;
	uint8_t *buf;
	size_t len, off;
	long nfds;

	(void)state;
	set_private(src, PRIV, 0x2000);
	st_run(src, guest_private, &a);
	assert_int_equal(a.r[0], 0);
	assert_int_equal(a.r[2], 0);
	assert_int_equal(vmm_snapshot_save(src, (void **)&buf, &len), 0);
	/* the VMM never held the plaintext: not in the file */
	assert_false(contains(buf, len, secret, sizeof(secret) - 1));
	assert_int_equal(vmm_snapshot_restore(t, buf, len, &dst, &info, &why), 0);
	assert_int_equal(info.private_pages, 2);
	/* the VMM's view of the restored private page is its own (zero) memory */
	assert_true(mv_user_read(t, vmm_gpa_to_uaddr(dst, PRIV + 0x1000), seen, sizeof(seen)) >= 0);
	assert_false(contains(seen, sizeof(seen), secret, 8));
	st_run(dst, guest_private_resume, &b);
	assert_int_equal(b.r[0], 0);
	assert_int_equal(b.r[1], 0);
	assert_int_equal(b.val[0], 7);
	vmm_destroy(dst);
	/* a forger who changes a ciphertext byte and reseals the file: the platform's MAC refuses it */
	off = st_section(buf, len, VMM_SNAP_PRIVATE, &count, NULL);
	assert_int_equal(count, 2);
	buf[off + VMM_SNAP_SEC_SIZE + 8 + 32 + 100] ^= 1;
	st_reseal(buf, len);
	nfds = st_open_fds(t);
	why = NULL;
	dst = NULL;
	assert_int_equal(vmm_snapshot_restore(t, buf, len, &dst, NULL, &why), -EBADMSG);
	assert_null(dst);
	assert_string_equal(why, "a private page failed its transport MAC");
	assert_int_equal(st_open_fds(t), nfds);
	free(buf);
	vmm_destroy(src);
	mv_machine_destroy(m);
}

/* ---- dirty log ---- */

static void guest_dirty(struct mv_guest *g, void *arg)
{
	uint64_t v = 1;

	(void)arg;
	for (uint64_t p = 0; p < 3; p++)
		mv_guest_write(g, 0x80000 + p * 0x1000, &v, 8);
}

static void test_snapshot_keeps_dirty_logging_and_reports_pending_bits(void **state)
{
	struct vmm_config cfg = { .nr_vcpus = 1, .ram_bytes = 2 * ST_MB,
				  .ram_flags = KVM_MEM_LOG_DIRTY_PAGES };
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	struct vmm *src = st_vmm(t, &cfg), *dst;
	struct vmm_restore_info info;
	struct vmm_snap_built b;
	uint64_t bits[8] = { 0 };
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bits };
	void *buf;
	size_t len;

	(void)state;
	st_run(src, guest_dirty, NULL);
	assert_int_equal(vmm_snapshot_save(src, &buf, &len), 0);
	assert_int_equal(vmm_snapshot_restore(t, buf, len, &dst, &info, NULL), 0);
	assert_int_equal(info.dirty_pages, 3);
	assert_int_equal(vmm_get_config(dst)->ram_flags, KVM_MEM_LOG_DIRTY_PAGES);
	assert_int_equal(kt_ioctl_p(t, vmm_vm_fd(dst), KVM_GET_DIRTY_LOG, &log), 0);
	st_run(dst, guest_dirty, NULL);
	memset(bits, 0, sizeof(bits));
	assert_int_equal(kt_ioctl_p(t, vmm_vm_fd(dst), KVM_GET_DIRTY_LOG, &log), 0);
	assert_int_equal(bits[2], 0x7);          /* gfns 0x80..0x82: the log runs on */

	/* the VM vmm_snapshot_restore_built makes logs too, switched on after the pages */
	assert_int_equal(vmm_snapshot_restore_built(t, buf, len, &b, &info, NULL), 0);
	assert_int_equal(info.dirty_pages, 3);
	assert_int_equal(b.vm.cfg.ram_flags, KVM_MEM_LOG_DIRTY_PAGES);
	memset(bits, 0xff, sizeof(bits));
	assert_int_equal(kt_ioctl_p(t, b.vm.vm_fd, KVM_GET_DIRTY_LOG, &log), 0);
	assert_int_equal(bits[0] | bits[1] | bits[2] | bits[3], 0);   /* the pages went in first */
	assert_int_equal(mv_vcpu_set_guest(t, b.vm.vcpu_fds[0], guest_dirty, NULL), 0);
	assert_int_equal(kt_ioctl(t, b.vm.vcpu_fds[0], KVM_RUN, 0), 0);
	assert_int_equal(kt_ioctl_p(t, b.vm.vm_fd, KVM_GET_DIRTY_LOG, &log), 0);
	assert_int_equal(bits[2], 0x7);
	vmm_snapshot_built_release(&b);
	free(buf);
	vmm_destroy(dst);
	vmm_destroy(src);
	mv_machine_destroy(m);
}

#define LOG_SLOT_GPA 0x400000ull

static void guest_dirty_second_slot(struct mv_guest *g, void *arg)
{
	uint64_t v = 1;

	(void)arg;
	mv_guest_write(g, LOG_SLOT_GPA + 0x1000, &v, 8);
}

/*
 * A second RAM slot that logs dirty pages logs again in the VM the
 * snapshot is applied to (here the one vmm_snapshot_restore_built makes):
 * every logged slot is switched back on, not only the configuration's.
 */
static void test_snapshot_restores_dirty_logging_of_every_slot(void **state)
{
	struct kvmtest k;
	struct vmm_snap_vm sv;
	struct vmm_snap_built b;
	uint64_t bits[1] = { 0 };
	struct kvm_dirty_log log = { .slot = 5, .dirty_bitmap = bits };
	const char *why = NULL;
	void *buf;
	size_t len;
	int vcpu;

	(void)state;
	kt_setup(&k, 0);
	assert_int_equal(kt_region(&k, 0, 0, 0, 2 * ST_MB, kt_mmap(&k, 2 * ST_MB)), 0);
	assert_int_equal(kt_region(&k, 5, KVM_MEM_LOG_DIRTY_PAGES, LOG_SLOT_GPA, 0x10000,
				   kt_mmap(&k, 0x10000)), 0);
	vcpu = kt_vcpu(&k, 0);
	assert_int_equal(vmm_snap_vm_probe(k.t, k.vm, &vcpu, 1, &sv, &why), 0);
	assert_int_equal(sv.nslots, 2);
	assert_int_equal(sv.slots[1].s.flags, KVM_MEM_LOG_DIRTY_PAGES);
	assert_int_equal(vmm_snapshot_save_vm(&sv, 0, &buf, &len), 0);
	assert_int_equal(vmm_snapshot_restore_built(k.t, buf, len, &b, NULL, &why), 0);
	assert_int_equal(kt_ioctl_p(k.t, b.vm.vm_fd, KVM_GET_DIRTY_LOG, &log), 0);
	assert_int_equal(bits[0], 0);
	assert_int_equal(mv_vcpu_set_guest(k.t, b.vm.vcpu_fds[0], guest_dirty_second_slot, NULL), 0);
	assert_int_equal(kt_ioctl(k.t, b.vm.vcpu_fds[0], KVM_RUN, 0), 0);
	assert_int_equal(kt_ioctl_p(k.t, b.vm.vm_fd, KVM_GET_DIRTY_LOG, &log), 0);
	assert_int_equal(bits[0], 0x2);           /* the page at LOG_SLOT_GPA + 0x1000 */
	vmm_snapshot_built_release(&b);
	free(buf);
	kt_teardown(&k);
}

/* ---- CET state ---- */

/* One CET MSR of vCPU 0 through KVM_GET_MSRS / KVM_SET_MSRS: the count the ioctl answered. */
static long cet_msr(struct vmm *v, unsigned long cmd, uint32_t index, uint64_t *data)
{
	uint64_t words[(sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)) / 8] = { 0 };
	struct kvm_msrs *m = (void *)words;
	long n;

	m->nmsrs = 1;
	m->entries[0].index = index;
	m->entries[0].data = *data;
	n = kt_ioctl_p(vmm_task(v), vmm_vcpu_fd(v, 0), cmd, m);
	*data = m->entries[0].data;
	return n;
}

/*
 * The guest's shadow-stack state (U_CET, PL3_SSP, ... by KVM_GET_MSRS)
 * travels with the snapshot; a machine without shadow stacks refuses it,
 * leaving nothing behind.
 */
static void test_snapshot_carries_cet_msrs_and_a_machine_without_cet_refuses(void **state)
{
	struct vmm_config cfg = { .nr_vcpus = 1, .ram_bytes = 2 * ST_MB };
	struct mv_machine_config nocet = { .features_off = MV_FEAT_SHSTK | MV_FEAT_IBT };
	struct mv_machine *m, *m2;
	struct mv_task *t = mvtest_task(&m), *t2;
	struct vmm *src = st_vmm(t, &cfg), *dst = NULL;
	uint64_t u_cet = 1, ssp = 0x7ffff000, back;
	const char *why = NULL;
	void *buf;
	size_t len;

	(void)state;
	assert_int_equal(cet_msr(src, KVM_SET_MSRS, MSR_IA32_U_CET, &u_cet), 1);
	assert_int_equal(cet_msr(src, KVM_SET_MSRS, MSR_IA32_PL3_SSP, &ssp), 1);
	assert_int_equal(vmm_snapshot_save(src, &buf, &len), 0);
	assert_int_equal(vmm_snapshot_restore(t, buf, len, &dst, NULL, NULL), 0);
	back = 0;
	assert_int_equal(cet_msr(dst, KVM_GET_MSRS, MSR_IA32_U_CET, &back), 1);
	assert_int_equal(back, 1);
	back = 0;
	assert_int_equal(cet_msr(dst, KVM_GET_MSRS, MSR_IA32_PL3_SSP, &back), 1);
	assert_int_equal(back, 0x7ffff000);
	vmm_destroy(dst);
	/* a machine whose CPU has no shadow stacks cannot take that state */
	assert_int_equal(mv_machine_create(&nocet, &m2), 0);
	assert_int_equal(mv_task_spawn(m2, &t2), 0);
	dst = NULL;
	assert_int_equal(vmm_snapshot_restore(t2, buf, len, &dst, NULL, &why), -EINVAL);
	assert_null(dst);
	assert_non_null(why);
	assert_non_null(strstr(why, "MSRS"));
	free(buf);
	vmm_destroy(src);
	mv_machine_destroy(m2);
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_restores_heki_pins_paging_and_registers_on_another_machine),
		cmocka_unit_test(test_snapshot_restore_only_ioctls_refused_once_the_vm_ran),
		cmocka_unit_test(test_snapshot_carries_mte_tags_and_checks_stay_on),
		cmocka_unit_test(test_snapshot_keeps_the_guest_async_tag_check_mode),
		cmocka_unit_test(test_snapshot_version_2_file_still_restores_in_sync_mode),
		cmocka_unit_test(test_snapshot_carries_a_queued_exception_and_version_3_has_none),
		cmocka_unit_test(test_snapshot_moves_private_memory_only_as_platform_ciphertext),
		cmocka_unit_test(test_snapshot_keeps_dirty_logging_and_reports_pending_bits),
		cmocka_unit_test(test_snapshot_restores_dirty_logging_of_every_slot),
		cmocka_unit_test(test_snapshot_carries_cet_msrs_and_a_machine_without_cet_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
