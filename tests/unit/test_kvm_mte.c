/* SPDX-License-Identifier: MIT */
/*
 * MTE for KVM guests (SEMANTICS 5): KVM_CAP_ARM_MTE, the memslot rule,
 * KVM_ARM_MTE_COPY_TAGS's checks, answers and partial progress, sanitising
 * on the first stage-2 map (and not on permission faults), guest tag
 * checks sync and async, and stale tags never reaching a new owner.
 */
#include "kvmtest.h"

#define MB (1ull << 20)
#define TAG(p, t) (((uint64_t)(p) & ~(0xfull << 56)) | ((uint64_t)(t) << 56))

struct gctx {
	long r[16];
	uint8_t tags[64];
	struct mv_guest_fault f[4];
	int mode;
};

static long enable_mte(struct kvmtest *k)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_MTE };

	return kt_ioctl_p(k->t, k->vm, KVM_ENABLE_CAP, &cap);
}

static long copy_tags(struct kvmtest *k, uint64_t ipa, uint64_t len, void *buf, uint64_t flags)
{
	struct kvm_arm_copy_mte_tags ct = {
		.guest_ipa = ipa, .length = len, .addr = buf, .flags = flags,
	};

	return kt_ioctl_p(k->t, k->vm, KVM_ARM_MTE_COPY_TAGS, &ct);
}

/* A machine, a VM with MTE on and 2 MiB of anonymous memory at GPA 0. */
static uint64_t mte_vm(struct kvmtest *k)
{
	uint64_t map;

	kt_setup(k, 0);
	assert_int_equal(enable_mte(k), 0);
	map = kt_mmap(k, 2 * MB);
	assert_int_equal(kt_region(k, 0, 0, 0, 2 * MB, map), 0);
	return map;
}

static void run_guest(struct kvmtest *k, int vcpu, mv_guest_fn fn, void *arg)
{
	struct kvm_run *run;

	assert_int_equal(mv_vcpu_set_guest(k->t, vcpu, fn, arg), 0);
	run = mv_vcpu_run_area(k->t, vcpu);
	assert_int_equal(kt_run(k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
}

static void test_cap_arm_mte_checked_and_enabled_before_any_vcpu(void **state)
{
	struct mv_machine_config cfg = { .ram_bytes = 64 * MB, .features_off = MV_FEAT_MTE };
	struct kvmtest k;
	struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_MTE, .flags = 1 };

	kt_setup(&k, 0);
	assert_int_equal(kt_ioctl(k.t, k.kvm, KVM_CHECK_EXTENSION, KVM_CAP_ARM_MTE), 1);
	assert_int_equal(kt_ioctl(k.t, k.vm, KVM_CHECK_EXTENSION, KVM_CAP_ARM_MTE), 1);
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_ENABLE_CAP, &cap), -EINVAL);   /* flags */
	assert_int_equal(enable_mte(&k), 0);
	assert_int_equal(enable_mte(&k), 0);
	kt_vcpu(&k, 0);
	assert_int_equal(enable_mte(&k), -EINVAL);     /* a vCPU exists */
	kt_teardown(&k);

	/* a machine without MTE: 0 and -EINVAL */
	assert_int_equal(mv_machine_create(&cfg, &k.m), 0);
	assert_int_equal(mv_task_spawn(k.m, &k.t), 0);
	k.kvm = (int)mv_syscall(k.t, MV_SYS_openat, (uint64_t)AT_FDCWD,
				(uint64_t)(uintptr_t)"/dev/kvm", O_RDWR, 0, 0, 0);
	k.vm = (int)kt_ioctl(k.t, k.kvm, KVM_CREATE_VM, 0);
	assert_int_equal(kt_ioctl(k.t, k.kvm, KVM_CHECK_EXTENSION, KVM_CAP_ARM_MTE), 0);
	assert_int_equal(kt_ioctl(k.t, k.vm, KVM_CHECK_EXTENSION, KVM_CAP_ARM_MTE), 0);
	assert_int_equal(enable_mte(&k), -EINVAL);
	kt_teardown(&k);
}

static void test_memslot_must_be_backed_by_memory_that_can_hold_tags(void **state)
{
	struct kvmtest k;
	long fd, dz, a;

	mte_vm(&k);
	dz = mv_syscall(k.t, MV_SYS_openat, (uint64_t)AT_FDCWD, (uint64_t)(uintptr_t)"/dev/zero",
			O_RDWR, 0, 0, 0);
	a = mv_syscall(k.t, MV_SYS_mmap, 0, 2 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		       (uint64_t)dz, 0);
	assert_true(a > 0);
	assert_int_equal(kt_region(&k, 1, 0, 4 * MB, 2 * MB, (uint64_t)a), -EINVAL);
	fd = mv_syscall(k.t, MV_SYS_memfd_create, (uint64_t)(uintptr_t)"guest", 0, 0, 0, 0, 0);
	assert_int_equal(mv_syscall(k.t, MV_SYS_ftruncate, (uint64_t)fd, 2 * MB, 0, 0, 0, 0), 0);
	a = mv_syscall(k.t, MV_SYS_mmap, 0, 2 * MB, PROT_READ | PROT_WRITE, MAP_SHARED,
		       (uint64_t)fd, 0);
	assert_true(a > 0);
	assert_int_equal(kt_region(&k, 1, 0, 4 * MB, 2 * MB, (uint64_t)a), 0);
	kt_teardown(&k);
}

static void test_copy_tags_checks_and_errnos(void **state)
{
	struct kvmtest k;
	uint8_t buf[512];
	struct kvm_arm_copy_mte_tags ct = { .guest_ipa = 0, .length = KT_PG, .addr = buf };
	static const struct { uint64_t ipa, len, flags, r0; long ret; } rows[] = {
		{ 0, KT_PG, 2, 0, -EINVAL },                /* unknown flag */
		{ 0, KT_PG, 0, 1, -EINVAL },                /* reserved */
		{ 0x800, KT_PG, 0, 0, -EINVAL },            /* ipa not page aligned */
		{ 0, 100, 1, 0, -EINVAL },                  /* length not page aligned */
		{ 0, 1ull << 31, 1, 0, -EINVAL },           /* past INT_MAX */
		{ 64 * MB, KT_PG, 1, 0, -EFAULT },          /* no memslot */
		{ 64 * MB, KT_PG, 0, 0, -EFAULT },
	};

	kt_setup(&k, 0);
	/* MTE not enabled on the VM */
	assert_int_equal(copy_tags(&k, 0, KT_PG, buf, KVM_ARM_TAGS_FROM_GUEST), -EINVAL);
	kt_teardown(&k);

	mte_vm(&k);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ct = (struct kvm_arm_copy_mte_tags){ .guest_ipa = rows[i].ipa, .length = rows[i].len,
						     .addr = buf, .flags = rows[i].flags };
		ct.reserved[1] = rows[i].r0;
		assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_ARM_MTE_COPY_TAGS, &ct), rows[i].ret);
	}
	assert_int_equal(kt_ioctl(k.t, k.vm, KVM_ARM_MTE_COPY_TAGS, 8), -EFAULT);   /* the struct */
	assert_int_equal(copy_tags(&k, 0, 0, buf, 0), 0);
	kt_teardown(&k);
}

static void test_copy_tags_to_guest_is_ebusy_while_dirty_logging(void **state)
{
	struct kvmtest k;
	uint8_t buf[256] = { 0 };
	uint64_t map = mte_vm(&k);

	assert_int_equal(kt_region(&k, 0, KVM_MEM_LOG_DIRTY_PAGES, 0, 2 * MB, map), 0);
	assert_int_equal(copy_tags(&k, 0, KT_PG, buf, KVM_ARM_TAGS_TO_GUEST), -EBUSY);
	assert_int_equal(copy_tags(&k, 0, KT_PG, buf, KVM_ARM_TAGS_FROM_GUEST), (long)KT_PG);
	kt_teardown(&k);
}

static void test_copy_tags_round_trip_and_partial_progress(void **state)
{
	struct kvmtest k;
	uint8_t in[3 * 256], out[3 * 256];
	uint64_t map;

	mte_vm(&k);
	map = kt_mmap(&k, KT_PG);
	assert_int_equal(kt_region(&k, 1, 0, 4 * MB, KT_PG, map), 0);
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 5 + 1) & 0xf;
	assert_int_equal(copy_tags(&k, 0x1000, 2 * KT_PG, in, KVM_ARM_TAGS_TO_GUEST), 2 * KT_PG);
	memset(out, 0xff, sizeof(out));
	assert_int_equal(copy_tags(&k, 0x1000, 2 * KT_PG, out, KVM_ARM_TAGS_FROM_GUEST), 2 * KT_PG);
	assert_memory_equal(in, out, 512);
	/* the high nibble is not a tag: dropped */
	in[0] = 0xf3;
	assert_int_equal(copy_tags(&k, 0x1000, KT_PG, in, KVM_ARM_TAGS_TO_GUEST), KT_PG);
	assert_int_equal(copy_tags(&k, 0x1000, KT_PG, out, KVM_ARM_TAGS_FROM_GUEST), KT_PG);
	assert_int_equal(out[0], 3);
	/* the second page has no slot: the bytes done */
	assert_int_equal(copy_tags(&k, 4 * MB, 2 * KT_PG, out, KVM_ARM_TAGS_FROM_GUEST), KT_PG);
	assert_int_equal(copy_tags(&k, 4 * MB, 3 * KT_PG, in, KVM_ARM_TAGS_TO_GUEST), KT_PG);
	kt_teardown(&k);
}

static void test_copy_tags_from_guest_on_untagged_page_gives_zeros(void **state)
{
	struct kvmtest k;
	uint8_t out[256];
	uint64_t map;
	long a;

	kt_setup(&k, 0);
	assert_int_equal(enable_mte(&k), 0);
	/* a host task's tagged page, freed with its tags still in storage */
	a = mv_syscall(k.t, MV_SYS_mmap, 0, 64 * KT_PG, PROT_READ | PROT_WRITE | PROT_MTE,
		       MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0);
	assert_int_equal(mv_syscall(k.t, MV_SYS_prctl, PR_SET_TAGGED_ADDR_CTRL,
				    PR_TAGGED_ADDR_ENABLE, 0, 0, 0, 0), 0);
	for (uint64_t off = 0; off < 64 * KT_PG; off += 16)
		assert_int_equal(mv_user_set_tag(k.t, TAG(a + off, 0xd)), 0);
	assert_int_equal(mv_syscall(k.t, MV_SYS_munmap, (uint64_t)a, 64 * KT_PG, 0, 0, 0, 0), 0);
	/* the VMM's memory, touched but never mapped tagged nor by the guest */
	map = kt_mmap(&k, 64 * KT_PG);
	for (uint64_t off = 0; off < 64 * KT_PG; off += KT_PG)
		assert_int_equal(mv_user_write(k.t, map + off, "x", 1), 0);
	assert_int_equal(kt_region(&k, 0, 0, 0, 64 * KT_PG, map), 0);
	for (uint64_t off = 0; off < 64 * KT_PG; off += KT_PG) {
		memset(out, 0xff, sizeof(out));
		assert_int_equal(copy_tags(&k, off, KT_PG, out, KVM_ARM_TAGS_FROM_GUEST), KT_PG);
		for (size_t i = 0; i < sizeof(out); i++)
			assert_int_equal(out[i], 0);
	}
	kt_teardown(&k);
}

/* The last bytes below the top of user space: a buffer that runs out part-way. */
static uint8_t *edge_buffer(size_t room)
{
	const uintptr_t top = 0x00007ffffffff000ull;
	void *p = mmap((void *)(top - KT_PG), KT_PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	assert_true(p == (void *)(top - KT_PG));
	memset(p, 0x7, KT_PG);
	return (uint8_t *)p + KT_PG - room;
}

static void test_copy_tags_to_guest_failing_part_way_clears_the_page(void **state)
{
	struct kvmtest k;
	uint8_t full[512], out[256];
	uint8_t *edge = edge_buffer(256 + 100);   /* page 1 whole, page 2: 100 of 256 */

	mte_vm(&k);
	memset(full, 0x9, sizeof(full));
	assert_int_equal(copy_tags(&k, 0, 2 * KT_PG, full, KVM_ARM_TAGS_TO_GUEST), 2 * KT_PG);
	assert_int_equal(copy_tags(&k, 0, 2 * KT_PG, edge, KVM_ARM_TAGS_TO_GUEST), KT_PG);
	assert_int_equal(copy_tags(&k, KT_PG, KT_PG, out, KVM_ARM_TAGS_FROM_GUEST), KT_PG);
	for (size_t i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 0);            /* neither stale 9s nor half of the 7s */
	assert_int_equal(copy_tags(&k, 0, KT_PG, out, KVM_ARM_TAGS_FROM_GUEST), KT_PG);
	assert_int_equal(out[5], 7);
	/* FROM_GUEST into too short a buffer: no progress at all is -EFAULT */
	assert_int_equal(copy_tags(&k, 0, KT_PG, edge + 256, KVM_ARM_TAGS_FROM_GUEST), -EFAULT);
	/* no buffer at all (NULL): FROM_GUEST is -EFAULT and leaves the tags ... */
	assert_int_equal(copy_tags(&k, 0, KT_PG, NULL, KVM_ARM_TAGS_FROM_GUEST), -EFAULT);
	assert_int_equal(copy_tags(&k, 0, KT_PG, out, KVM_ARM_TAGS_FROM_GUEST), KT_PG);
	assert_int_equal(out[5], 7);
	/* ... TO_GUEST is -EFAULT and clears the page it failed on */
	assert_int_equal(copy_tags(&k, 0, KT_PG, NULL, KVM_ARM_TAGS_TO_GUEST), -EFAULT);
	assert_int_equal(copy_tags(&k, 0, KT_PG, out, KVM_ARM_TAGS_FROM_GUEST), KT_PG);
	assert_int_equal(out[5], 0);
	munmap(edge - KT_PG + 256 + 100, KT_PG);
	kt_teardown(&k);
}

/* ---- the guest ---- */

static void guest_tags(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;
	uint64_t v = 0x55;

	c->r[0] = mv_guest_set_tag(g, TAG(0x3000, 3));
	c->r[1] = mv_guest_set_tag(g, TAG(0x3010, 4));
	c->r[2] = mv_guest_write(g, TAG(0x3000, 3), &v, 8);
	v = 0x66;
	c->r[3] = mv_guest_write(g, TAG(0x3008, 3), &v, 16);    /* overflows into tag 4 */
	mv_guest_last_fault(g, &c->f[0]);
	c->r[4] = mv_guest_read(g, TAG(0x3000, 3), &v, 8);
	c->r[5] = (long)v;
	c->r[6] = mv_guest_get_tag(g, 0x3010, &c->tags[0]);
	c->r[7] = mv_guest_read(g, 0x3000, &v, 8);                /* tag 0 is a tag too */
	mv_guest_last_fault(g, &c->f[1]);
	c->r[8] = mv_guest_get_tag(g, 0x5000, &c->tags[1]);       /* a fresh page: sanitised */
}

static void test_guest_tag_check_sync_faults_to_the_guest(void **state)
{
	struct kvmtest k;
	struct gctx c = { 0 };
	int vcpu;

	mte_vm(&k);
	vcpu = kt_vcpu(&k, 0);
	run_guest(&k, vcpu, guest_tags, &c);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], 0);
	assert_int_equal(c.r[2], 0);
	assert_int_equal(c.r[3], -EFAULT);
	assert_int_equal(c.f[0].vector, 14);
	assert_int_equal(c.f[0].error_code, MV_PF_MTE | 1 | 2);
	assert_int_equal(c.f[0].address, TAG(0x3010, 3));
	assert_int_equal(c.r[4], 0);
	assert_int_equal(c.r[5], 0x55);                           /* nothing written */
	assert_int_equal(c.r[6], 0);
	assert_int_equal(c.tags[0], 4);
	assert_int_equal(c.r[7], -EFAULT);
	assert_int_equal(c.f[1].error_code, MV_PF_MTE | 1);
	assert_int_equal(c.r[8], 0);
	assert_int_equal(c.tags[1], 0);
	kt_teardown(&k);
}

static void guest_no_mte(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;
	uint8_t t;

	c->r[0] = mv_guest_set_tag(g, TAG(0x3000, 3));
	mv_guest_last_fault(g, &c->f[0]);
	c->r[1] = mv_guest_get_tag(g, 0x3000, &t);
	c->r[2] = mv_guest_set_tcf(g, MV_TCF_ASYNC);
	c->r[3] = mv_guest_get_tag(g, 0x3000, NULL);
}

static void test_guest_tag_instructions_need_cap_arm_mte(void **state)
{
	struct kvmtest k;
	struct gctx c = { 0 };
	uint64_t map;
	int vcpu;

	kt_setup(&k, 0);
	map = kt_mmap(&k, 2 * MB);
	assert_int_equal(kt_region(&k, 0, 0, 0, 2 * MB, map), 0);
	vcpu = kt_vcpu(&k, 0);
	run_guest(&k, vcpu, guest_no_mte, &c);
	assert_int_equal(c.r[0], -EFAULT);
	assert_int_equal(c.f[0].vector, 6);
	assert_int_equal(c.r[1], -EFAULT);
	assert_int_equal(c.r[2], -EFAULT);
	assert_int_equal(c.r[3], -EINVAL);
	kt_teardown(&k);
}

static void guest_async(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;
	uint64_t v = 1;

	c->r[0] = mv_guest_set_tcf(g, c->mode);
	c->r[1] = mv_guest_set_tag(g, TAG(0x4000, 2));
	c->r[2] = mv_guest_write(g, TAG(0x4000, 9), &v, 8);      /* goes through */
	c->r[3] = mv_guest_read(g, TAG(0x4000, 2), &v, 8);       /* the report comes first */
	mv_guest_last_fault(g, &c->f[0]);
	c->r[4] = mv_guest_read(g, TAG(0x4000, 2), &v, 8);
	c->r[5] = (long)v;
	c->r[6] = mv_guest_read(g, TAG(0x4000, 9), &v, 8);       /* asymm: reads are sync */
	mv_guest_last_fault(g, &c->f[1]);
	c->r[7] = mv_guest_set_tcf(g, 7);
}

static void test_guest_tag_check_async_and_asymm_report_later(void **state)
{
	for (int mode = MV_TCF_ASYNC; mode <= MV_TCF_ASYMM; mode++) {
		struct kvmtest k;
		struct gctx c = { .mode = mode };
		int vcpu;

		mte_vm(&k);
		vcpu = kt_vcpu(&k, 0);
		run_guest(&k, vcpu, guest_async, &c);
		assert_int_equal(c.r[0], 0);
		assert_int_equal(c.r[2], 0);
		assert_int_equal(c.r[3], -EFAULT);
		assert_int_equal(c.f[0].vector, 14);
		assert_int_equal(c.f[0].error_code, MV_PF_MTE_ASYNC);
		assert_int_equal(c.f[0].address, 0);
		assert_int_equal(c.r[4], 0);
		assert_int_equal(c.r[5], 1);
		if (mode == MV_TCF_ASYMM) {
			assert_int_equal(c.r[6], -EFAULT);
			assert_int_equal(c.f[1].error_code, MV_PF_MTE | 1);
		} else {
			assert_int_equal(c.r[6], 0);
		}
		assert_int_equal(c.r[7], -EINVAL);
		kt_teardown(&k);
	}
}

static void guest_stg_then_write(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;
	uint64_t v = 2, sync = 0;

	c->r[0] = mv_guest_write(g, 0x6000, &v, 8);
	c->r[1] = mv_guest_set_tag(g, TAG(0x6000, 6));
	mv_guest_write(g, 0x40000000, &sync, 8);                   /* MMIO: the VMM harvests */
	c->r[2] = mv_guest_write(g, TAG(0x6000, 6), &v, 8);        /* a permission fault */
	c->r[3] = mv_guest_get_tag(g, 0x6000, &c->tags[0]);
}

static void test_permission_faults_do_not_resanitise(void **state)
{
	struct kvmtest k;
	struct gctx c = { 0 };
	uint64_t map = mte_vm(&k), bitmap[8] = { 0 };
	struct kvm_run *run;
	int vcpu;

	assert_int_equal(kt_region(&k, 0, KVM_MEM_LOG_DIRTY_PAGES, 0, 2 * MB, map), 0);
	vcpu = kt_vcpu(&k, 0);
	assert_int_equal(mv_vcpu_set_guest(k.t, vcpu, guest_stg_then_write, &c), 0);
	run = mv_vcpu_run_area(k.t, vcpu);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
	assert_int_equal(kt_dirty_log(k.t, k.vm, 0, bitmap), 0);  /* write-protects again */
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], 0);
	assert_int_equal(c.r[2], 0);
	assert_int_equal(c.tags[0], 6);
	kt_teardown(&k);
}

static void guest_tag_whole_page(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;

	for (uint64_t a = 0x7000; a < 0x8000; a += 16)
		c->r[0] |= mv_guest_set_tag(g, TAG(a, 0xb));
}

static void guest_read_tags(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;

	for (uint64_t a = 0; a < 0x10000; a += 16) {
		uint8_t t = 0xff;

		c->r[0] |= mv_guest_get_tag(g, a, &t);
		c->r[1] |= t;
	}
}

static void test_stale_tags_never_reach_another_vm(void **state)
{
	struct kvmtest k;
	struct gctx c = { 0 };
	uint64_t map;
	int vcpu;

	for (int vm = 0; vm < 2; vm++) {
		map = mte_vm(&k);
		vcpu = kt_vcpu(&k, 0);
		run_guest(&k, vcpu, vm == 0 ? guest_tag_whole_page : guest_read_tags, &c);
		assert_int_equal(c.r[0], 0);
		assert_int_equal(c.r[1], 0);
		(void)map;
		kt_teardown(&k);
	}
	/* the same inside one machine: the first VM's memory freed, a second VM's reused */
	kt_setup(&k, 0);
	{
		int vm2 = (int)kt_ioctl(k.t, k.kvm, KVM_CREATE_VM, 0);
		struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_MTE };
		uint64_t m2;

		assert_int_equal(enable_mte(&k), 0);
		map = kt_mmap(&k, 2 * MB);
		assert_int_equal(kt_region(&k, 0, 0, 0, 2 * MB, map), 0);
		vcpu = kt_vcpu(&k, 0);
		run_guest(&k, vcpu, guest_tag_whole_page, &c);
		assert_int_equal(kt_region(&k, 0, 0, 0, 0, map), 0);
		assert_int_equal(mv_syscall(k.t, MV_SYS_munmap, map, 2 * MB, 0, 0, 0, 0), 0);
		assert_int_equal(kt_ioctl_p(k.t, vm2, KVM_ENABLE_CAP, &cap), 0);
		m2 = kt_mmap(&k, 2 * MB);
		assert_int_equal(kt_region_t(k.t, vm2, 0, 0, 0, 2 * MB, m2), 0);
		k.vm = vm2;
		vcpu = kt_vcpu(&k, 0);
		memset(&c, 0, sizeof(c));
		run_guest(&k, vcpu, guest_read_tags, &c);
		assert_int_equal(c.r[0], 0);
		assert_int_equal(c.r[1], 0);
	}
	kt_teardown(&k);
}

/* A guest allocator: tag on malloc, retag on free; then a dangling read and an overflow. */
static void guest_attacks(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;
	uint64_t secret = 0x5ec7e7, v = 0;
	uint8_t big[48];

	c->r[0] = mv_guest_set_tcf(g, c->mode);
	for (uint64_t a = 0x8000; a < 0x8020; a += 16)
		c->r[1] |= mv_guest_set_tag(g, TAG(a, 3));            /* malloc(32): tag 3 */
	c->r[1] |= mv_guest_set_tag(g, TAG(0x8020, 6));           /* the next chunk: tag 6 */
	c->r[2] = mv_guest_write(g, TAG(0x8000, 3), &secret, 8);
	for (uint64_t a = 0x8000; a < 0x8020; a += 16)
		c->r[1] |= mv_guest_set_tag(g, TAG(a, 4));            /* free(): retagged */
	c->r[3] = mv_guest_read(g, TAG(0x8000, 3), &v, 8);        /* use after free */
	mv_guest_last_fault(g, &c->f[0]);
	c->r[4] = mv_guest_read_cr(g, 0, &v);                     /* the next instruction */
	mv_guest_last_fault(g, &c->f[1]);
	memset(big, 0xee, sizeof(big));
	c->r[5] = mv_guest_write(g, TAG(0x8000, 4), big, sizeof(big));   /* overflow */
	mv_guest_last_fault(g, &c->f[2]);
	c->r[6] = mv_guest_read_cr(g, 0, &v);
	mv_guest_last_fault(g, &c->f[3]);
	c->r[7] = mv_guest_read(g, TAG(0x8020, 6), &v, 8);
	c->r[8] = (long)v;
}

static void test_attack_use_after_free_and_overflow_in_a_guest_sync_and_async(void **state)
{
	for (int mode = MV_TCF_SYNC; mode <= MV_TCF_ASYNC; mode++) {
		struct kvmtest k;
		struct gctx c = { .mode = mode };

		mte_vm(&k);
		run_guest(&k, kt_vcpu(&k, 0), guest_attacks, &c);
		assert_int_equal(c.r[0], 0);
		assert_int_equal(c.r[1], 0);
		assert_int_equal(c.r[2], 0);
		if (mode == MV_TCF_SYNC) {
			assert_int_equal(c.r[3], -EFAULT);
			assert_int_equal(c.f[0].error_code, MV_PF_MTE | 1);
			assert_int_equal(c.f[0].address, TAG(0x8000, 3));
			assert_int_equal(c.r[4], 0);
			assert_int_equal(c.r[5], -EFAULT);
			assert_int_equal(c.f[2].error_code, MV_PF_MTE | 3);
			assert_int_equal(c.f[2].address, TAG(0x8020, 4));   /* where it crossed */
			assert_int_equal(c.r[6], 0);
			assert_int_equal(c.r[8], 0);                        /* the next chunk untouched */
		} else {
			assert_int_equal(c.r[3], 0);                        /* goes through ... */
			assert_int_equal(c.r[4], -EFAULT);                  /* ... reported next */
			assert_int_equal(c.f[1].error_code, MV_PF_MTE_ASYNC);
			assert_int_equal(c.r[5], 0);
			assert_int_equal(c.r[6], -EFAULT);
			assert_int_equal(c.f[3].error_code, MV_PF_MTE_ASYNC);
			assert_int_equal(c.r[8], (long)0xeeeeeeeeeeeeeeeeull);
		}
		assert_int_equal(c.r[7], 0);
		kt_teardown(&k);
	}
}

static void test_attack_stale_tags_host_task_freed_then_guest(void **state)
{
	struct kvmtest k;
	struct gctx c = { 0 };
	uint64_t map;
	long a;

	kt_setup(&k, 0);
	assert_int_equal(enable_mte(&k), 0);
	assert_int_equal(mv_syscall(k.t, MV_SYS_prctl, PR_SET_TAGGED_ADDR_CTRL,
				    PR_TAGGED_ADDR_ENABLE, 0, 0, 0, 0), 0);
	a = mv_syscall(k.t, MV_SYS_mmap, 0, 16 * KT_PG, PROT_READ | PROT_WRITE | PROT_MTE,
		       MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0);
	assert_true(a > 0);
	for (uint64_t off = 0; off < 16 * KT_PG; off += 16)
		assert_int_equal(mv_user_set_tag(k.t, TAG(a + off, 0xd)), 0);
	assert_int_equal(mv_syscall(k.t, MV_SYS_munmap, (uint64_t)a, 16 * KT_PG, 0, 0, 0, 0), 0);
	map = kt_mmap(&k, 16 * KT_PG);
	assert_int_equal(kt_region(&k, 0, 0, 0, 16 * KT_PG, map), 0);
	run_guest(&k, kt_vcpu(&k, 0), guest_read_tags, &c);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], 0);          /* every granule of every page: 0 */
	kt_teardown(&k);
}

/* Guest paging: PML4 0x10000 -> PDPT 0x11000 -> PD 0x12000 -> PT 0x13000; 0x400000 -> 0x20000. */
static void guest_paging_tagged(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;
	uint64_t e, v = 0x7a66ed;

	e = 0x11000 | 3;
	mv_guest_write(g, 0x10000, &e, 8);
	e = 0x12000 | 3;
	mv_guest_write(g, 0x11000, &e, 8);
	e = 0x13000 | 3;
	mv_guest_write(g, 0x12000 + 2 * 8, &e, 8);
	e = 0x20000 | 3;
	mv_guest_write(g, 0x13000, &e, 8);
	mv_guest_write_cr(g, 4, 1ull << 5);
	mv_guest_write_cr(g, 3, 0x10000);
	c->r[0] = mv_guest_write_cr(g, 0, (1ull << 31) | (1ull << 16) | 1);
	c->r[1] = mv_guest_set_tag(g, TAG(0x400010, 0xa));
	c->r[2] = mv_guest_write(g, TAG(0x400010, 0xa), &v, 8);
	c->r[3] = mv_guest_read(g, TAG(0x400010, 0xa) | (0xfull << 60), &c->r[4], 8);
	/* the top byte is ignored, bits 55:47 are not: bit 55 alone is non-canonical */
	c->r[5] = mv_guest_read(g, TAG(0x400010, 0xa) | (1ull << 55), &v, 8);
	mv_guest_last_fault(g, &c->f[0]);
	/* a #PF reports the address the walk used: untagged */
	c->r[6] = mv_guest_read(g, TAG(0x800000, 0xa), &v, 8);
	mv_guest_last_fault(g, &c->f[1]);
	c->r[7] = mv_guest_get_tag(g, 0x400010, &c->tags[0]);
}

static void test_guest_tagged_pointers_keep_4_level_canonical_checks(void **state)
{
	struct kvmtest k;
	struct gctx c = { 0 };
	uint64_t seen = 0, map = mte_vm(&k);

	run_guest(&k, kt_vcpu(&k, 0), guest_paging_tagged, &c);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], 0);
	assert_int_equal(c.r[2], 0);
	assert_int_equal(c.r[3], 0);
	assert_int_equal(c.r[4], 0x7a66ed);
	assert_int_equal(c.r[5], -EFAULT);
	assert_int_equal(c.f[0].vector, 13);
	assert_int_equal(c.r[6], -EFAULT);
	assert_int_equal(c.f[1].vector, 14);
	assert_int_equal(c.f[1].address, 0x800000);
	assert_int_equal(c.r[7], 0);
	assert_int_equal(c.tags[0], 0xa);
	assert_int_equal(mv_user_read(k.t, map + 0x20010, &seen, 8), 0);   /* GPA 0x20010 */
	assert_int_equal(seen, 0x7a66ed);
	kt_teardown(&k);
}

static void test_memory_map_shows_tagged_ranges(void **state)
{
	struct kvmtest k;
	struct mv_vm_range r[4];

	mte_vm(&k);
	assert_int_equal(mv_vm_memory_map(k.t, k.vm, r, 4), 1);
	assert_true(r[0].flags & MV_RANGE_TAGGED);
	kt_teardown(&k);
	kt_setup(&k, 0);
	assert_int_equal(kt_region(&k, 0, 0, 0, 2 * MB, kt_mmap(&k, 2 * MB)), 0);
	assert_int_equal(mv_vm_memory_map(k.t, k.vm, r, 4), 1);
	assert_false(r[0].flags & MV_RANGE_TAGGED);
	kt_teardown(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cap_arm_mte_checked_and_enabled_before_any_vcpu),
		cmocka_unit_test(test_memslot_must_be_backed_by_memory_that_can_hold_tags),
		cmocka_unit_test(test_copy_tags_checks_and_errnos),
		cmocka_unit_test(test_copy_tags_to_guest_is_ebusy_while_dirty_logging),
		cmocka_unit_test(test_copy_tags_round_trip_and_partial_progress),
		cmocka_unit_test(test_copy_tags_from_guest_on_untagged_page_gives_zeros),
		cmocka_unit_test(test_copy_tags_to_guest_failing_part_way_clears_the_page),
		cmocka_unit_test(test_guest_tag_check_sync_faults_to_the_guest),
		cmocka_unit_test(test_guest_tag_instructions_need_cap_arm_mte),
		cmocka_unit_test(test_guest_tag_check_async_and_asymm_report_later),
		cmocka_unit_test(test_permission_faults_do_not_resanitise),
		cmocka_unit_test(test_stale_tags_never_reach_another_vm),
		cmocka_unit_test(test_attack_use_after_free_and_overflow_in_a_guest_sync_and_async),
		cmocka_unit_test(test_attack_stale_tags_host_task_freed_then_guest),
		cmocka_unit_test(test_guest_tagged_pointers_keep_4_level_canonical_checks),
		cmocka_unit_test(test_memory_map_shows_tagged_ranges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
