/* SPDX-License-Identifier: MIT */
/*
 * guest_memfd in KVM: KVM_CREATE_GUEST_MEMFD and the capabilities, the file
 * outliving the VM fd, KVM_SET_MEMORY_ATTRIBUTES, private faults served
 * from the guest_memfd (never from the VMM's mapping), a private access the
 * slot cannot back (KVM_EXIT_MEMORY_FAULT with the PRIVATE flag), punches
 * reaching the guest through the invalidation sequence, and a conversion
 * requested by the guest with KVM_HC_MAP_GPA_RANGE.
 */
#include "kvmtest.h"
#include "api/api.h"
#include "kernel/guest_memfd.h"
#include "kvm/kvm.h"

#define MB (1ull << 20)
#define SW KVM_X86_SW_PROTECTED_VM

struct gk {
	struct kvmtest k;
	long sw;            /* a KVM_X86_SW_PROTECTED_VM */
	long gmem;          /* its guest_memfd */
	uint64_t ua;        /* the VMM's memory behind slot 0 */
	int vcpu;
};

struct gctx {
	long r[8];
	uint8_t v[8];
};

static long gk_gmem(struct kvmtest *k, long vm, uint64_t size, uint64_t flags)
{
	struct kvm_create_guest_memfd g = { .size = size, .flags = flags };

	return kt_ioctl_p(k->t, (int)vm, KVM_CREATE_GUEST_MEMFD, &g);
}

static long gk_attr(struct kvmtest *k, long vm, uint64_t gpa, uint64_t size, uint64_t attrs)
{
	struct kvm_memory_attributes a = { .address = gpa, .size = size, .attributes = attrs };

	return kt_ioctl_p(k->t, (int)vm, KVM_SET_MEMORY_ATTRIBUTES, &a);
}

/* A software-protected VM with 2 MiB at gpa 0: VMM memory, and a guest_memfd when @bind. */
static void gk_setup(struct gk *s, bool bind)
{
	struct kvm_userspace_memory_region2 r = { .slot = 0, .memory_size = 2 * MB };

	kt_setup(&s->k, 0);
	s->sw = kt_ioctl(s->k.t, s->k.kvm, KVM_CREATE_VM, SW);
	assert_true(s->sw >= 0);
	s->gmem = gk_gmem(&s->k, s->sw, 2 * MB, 0);
	assert_true(s->gmem >= 0);
	s->ua = kt_mmap(&s->k, 2 * MB);
	assert_int_equal(mv_user_write(s->k.t, s->ua, "\xaa\xaa\xaa\xaa", 4), 0);
	r.userspace_addr = s->ua;
	if (bind) {
		r.flags = KVM_MEM_GUEST_MEMFD;
		r.guest_memfd = (uint32_t)s->gmem;
	}
	assert_int_equal(kt_ioctl_p(s->k.t, (int)s->sw, KVM_SET_USER_MEMORY_REGION2, &r), 0);
	s->vcpu = (int)kt_ioctl(s->k.t, (int)s->sw, KVM_CREATE_VCPU, 0);
	assert_true(s->vcpu >= 0);
}

static void test_kvm_gmem_capabilities(void **state)
{
	struct gk s;
	const long all = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;

	gk_setup(&s, false);
	assert_int_equal(kt_ioctl(s.k.t, s.k.kvm, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD), 1);
	assert_int_equal(kt_ioctl(s.k.t, s.k.kvm, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD_FLAGS), all);
	assert_int_equal(kt_ioctl(s.k.t, s.k.kvm, KVM_CHECK_EXTENSION, KVM_CAP_MEMORY_ATTRIBUTES),
			 KVM_MEMORY_ATTRIBUTE_PRIVATE);
	assert_int_equal(kt_ioctl(s.k.t, s.k.vm, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD_FLAGS), all);
	assert_int_equal(kt_ioctl(s.k.t, s.k.vm, KVM_CHECK_EXTENSION, KVM_CAP_MEMORY_ATTRIBUTES), 0);
	/* a VM with private memory of its own cannot start its pages shared */
	assert_int_equal(kt_ioctl(s.k.t, (int)s.sw, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD_FLAGS),
			 GUEST_MEMFD_FLAG_MMAP);
	assert_int_equal(kt_ioctl(s.k.t, (int)s.sw, KVM_CHECK_EXTENSION, KVM_CAP_MEMORY_ATTRIBUTES),
			 KVM_MEMORY_ATTRIBUTE_PRIVATE);
	assert_int_equal(gk_gmem(&s.k, s.sw, MB, GUEST_MEMFD_FLAG_INIT_SHARED), -EINVAL);
	assert_true(gk_gmem(&s.k, s.sw, MB, GUEST_MEMFD_FLAG_MMAP) >= 0);
	assert_true(gk_gmem(&s.k, s.k.vm, MB, all) >= 0);
	assert_int_equal(kt_ioctl(s.k.t, s.k.kvm, KVM_CREATE_GUEST_MEMFD, 0), -EINVAL);  /* system fd */
	kt_teardown(&s.k);
}

static void test_kvm_gmem_outlives_the_vm_fd(void **state)
{
	struct kvmtest k;
	long gmem;
	struct kvm *kvm;
	struct file *f;

	kt_setup(&k, 0);
	gmem = gk_gmem(&k, k.vm, 2 * MB, 0);
	assert_true(gmem >= 0);
	f = fd_get(k.t, (int)gmem);
	kvm = gmem_owner(f);
	file_put(f);
	assert_int_equal(MVTEST_SYSCALL(k.t, MV_SYS_close, k.vm), 0);
	/* the file still holds the VM, and still works */
	assert_int_equal(__atomic_load_n(&kvm->refcount, __ATOMIC_RELAXED), 1);
	assert_int_equal(MVTEST_SYSCALL(k.t, MV_SYS_fallocate, gmem, FALLOC_FL_KEEP_SIZE, 0, 2 * MB), 0);
	assert_int_equal(MVTEST_SYSCALL(k.t, MV_SYS_close, gmem), 0);   /* the VM goes with it */
	kt_teardown(&k);
}

static void test_kvm_gmem_set_memory_attributes_errno_table(void **state)
{
	const struct {
		const char *name;
		uint64_t gpa, size, attrs, flags;
		long expect;
	} rows[] = {
		{ "private", 0, 2 * MB, KVM_MEMORY_ATTRIBUTE_PRIVATE, 0, 0 },
		{ "shared_again", 0, 2 * MB, 0, 0, 0 },
		{ "flags", 0, MB, KVM_MEMORY_ATTRIBUTE_PRIVATE, 1, -EINVAL },
		{ "unsupported_bit", 0, MB, 1, 0, -EINVAL },
		{ "size_zero", 0, 0, KVM_MEMORY_ATTRIBUTE_PRIVATE, 0, -EINVAL },
		{ "wraps", ~0ull << 12, 2 * 4096, KVM_MEMORY_ATTRIBUTE_PRIVATE, 0, -EINVAL },
		{ "address_unaligned", 1, 4096, KVM_MEMORY_ATTRIBUTE_PRIVATE, 0, -EINVAL },
		{ "size_unaligned", 0, 100, KVM_MEMORY_ATTRIBUTE_PRIVATE, 0, -EINVAL },
		{ "no_slot_needed", 64 * MB, MB, KVM_MEMORY_ATTRIBUTE_PRIVATE, 0, 0 },
	};
	struct gk s;

	gk_setup(&s, true);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct kvm_memory_attributes a = { .address = rows[i].gpa, .size = rows[i].size,
						   .attributes = rows[i].attrs, .flags = rows[i].flags };
		long r = kt_ioctl_p(s.k.t, (int)s.sw, KVM_SET_MEMORY_ATTRIBUTES, &a);

		if (r != rows[i].expect)
			fail_msg("%s: got %ld, want %ld", rows[i].name, r, rows[i].expect);
	}
	assert_int_equal(kt_ioctl(s.k.t, (int)s.sw, KVM_SET_MEMORY_ATTRIBUTES, 0), -EFAULT);
	/* a default VM has no attributes at all */
	assert_int_equal(gk_attr(&s.k, s.k.vm, 0, MB, KVM_MEMORY_ATTRIBUTE_PRIVATE), -ENOTTY);
	kt_teardown(&s.k);
}

static void guest_private_vs_shared(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;
	uint8_t secret = 0x5e;

	c->r[0] = mv_guest_read(g, 0x0, &c->v[0], 1);        /* private: the guest_memfd's */
	c->r[1] = mv_guest_read(g, 0x1000, &c->v[1], 1);     /* shared: the VMM's */
	c->r[2] = mv_guest_write(g, 0x10, &secret, 1);
	c->r[3] = mv_guest_read(g, 0x10, &c->v[2], 1);
}

static void test_kvm_gmem_private_pages_come_from_the_gmem(void **state)
{
	struct gctx c;
	struct kvm_run *run;
	uint8_t vmm[2];
	struct gk s;

	memset(&c, 0, sizeof(c));
	gk_setup(&s, true);
	assert_int_equal(mv_user_write(s.k.t, s.ua + 0x1000, "\xbb", 1), 0);
	assert_int_equal(gk_attr(&s.k, s.sw, 0, 0x1000, KVM_MEMORY_ATTRIBUTE_PRIVATE), 0);
	assert_int_equal(mv_vcpu_set_guest(s.k.t, s.vcpu, guest_private_vs_shared, &c), 0);
	run = mv_vcpu_run_area(s.k.t, s.vcpu);
	assert_int_equal(kt_run(&s.k, s.vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	for (int i = 0; i < 4; i++)
		assert_int_equal(c.r[i], 0);
	assert_int_equal(c.v[0], 0);      /* a fresh private page, not the VMM's 0xaa */
	assert_int_equal(c.v[1], 0xbb);
	assert_int_equal(c.v[2], 0x5e);
	/* the VMM never sees what the guest wrote privately */
	assert_int_equal(mv_user_read(s.k.t, s.ua, vmm, 2), 0);
	assert_int_equal(vmm[0], 0xaa);
	assert_int_equal(mv_user_read(s.k.t, s.ua + 0x10, vmm, 1), 0);
	assert_int_equal(vmm[0], 0);
	kt_teardown(&s.k);
}

static void guest_read_page1(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;

	c->r[0] = mv_guest_read(g, 0x1000, &c->v[0], 1);
}

static void test_kvm_gmem_private_without_gmem_is_a_memory_fault(void **state)
{
	struct gctx c;
	struct kvm_run *run;
	struct gk s;

	memset(&c, 0, sizeof(c));
	gk_setup(&s, false);
	assert_int_equal(gk_attr(&s.k, s.sw, 0x1000, 0x1000, KVM_MEMORY_ATTRIBUTE_PRIVATE), 0);
	assert_int_equal(mv_vcpu_set_guest(s.k.t, s.vcpu, guest_read_page1, &c), 0);
	run = mv_vcpu_run_area(s.k.t, s.vcpu);
	assert_int_equal(kt_run(&s.k, s.vcpu), -EFAULT);
	assert_int_equal(run->exit_reason, KVM_EXIT_MEMORY_FAULT);
	assert_int_equal(run->memory_fault.flags, KVM_MEMORY_EXIT_FLAG_PRIVATE);
	assert_int_equal(run->memory_fault.gpa, 0x1000);
	assert_int_equal(run->memory_fault.size, 0x1000);
	/* the VMM converts the page back to shared; the access completes */
	assert_int_equal(gk_attr(&s.k, s.sw, 0x1000, 0x1000, 0), 0);
	assert_int_equal(kt_run(&s.k, s.vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(c.r[0], 0);
	kt_teardown(&s.k);
}

static void guest_write_then_read(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;
	uint8_t v = 0x77;

	c->r[0] = mv_guest_write(g, 0x2000, &v, 1);
	c->r[1] = mv_guest_hypercall(g, KVM_HC_MAP_GPA_RANGE, 0x2000, 1, 0, 0);   /* "punch me" */
	c->r[2] = mv_guest_read(g, 0x2000, &c->v[0], 1);
}

static void test_kvm_gmem_punch_reaches_the_guest(void **state)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_EXIT_HYPERCALL,
				      .args = { 1ull << KVM_HC_MAP_GPA_RANGE } };
	struct gctx c;
	struct kvm_run *run;
	struct file *vf;
	struct kvm *kvm;
	uint64_t seq;
	struct gk s;

	memset(&c, 0, sizeof(c));
	gk_setup(&s, true);
	assert_int_equal(kt_ioctl_p(s.k.t, (int)s.sw, KVM_ENABLE_CAP, &cap), 0);
	assert_int_equal(gk_attr(&s.k, s.sw, 0, 2 * MB, KVM_MEMORY_ATTRIBUTE_PRIVATE), 0);
	assert_int_equal(mv_vcpu_set_guest(s.k.t, s.vcpu, guest_write_then_read, &c), 0);
	run = mv_vcpu_run_area(s.k.t, s.vcpu);
	assert_int_equal(kt_run(&s.k, s.vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HYPERCALL);
	vf = fd_get(s.k.t, (int)s.sw);
	kvm = kvm_from_file(vf);
	file_put(vf);
	seq = __atomic_load_n(&kvm->mmu_invalidate_seq, __ATOMIC_ACQUIRE);
	assert_true(kvm_mmu_lookup(kvm, 0x2000) != 0);   /* mapped from the guest_memfd */
	assert_int_equal(MVTEST_SYSCALL(s.k.t, MV_SYS_fallocate, s.gmem,
					FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0x2000, 0x1000), 0);
	assert_true(__atomic_load_n(&kvm->mmu_invalidate_seq, __ATOMIC_ACQUIRE) > seq);
	assert_int_equal(kvm_mmu_lookup(kvm, 0x2000), 0);
	run->hypercall.ret = 0;
	assert_int_equal(kt_run(&s.k, s.vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[2], 0);
	assert_int_equal(c.v[0], 0);   /* punched: zeroes, not the old 0x77 */
	kt_teardown(&s.k);
}

#define GK_ENCRYPTED (1ull << 4)   /* KVM_MAP_GPA_RANGE_ENCRYPTED */

/* Shared -> private -> shared, each time asking the VMM with KVM_HC_MAP_GPA_RANGE. */
static void guest_convert(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;
	uint8_t shared = 0x11, secret = 0x22;

	c->r[0] = mv_guest_write(g, 0x3000, &shared, 1);
	c->r[1] = mv_guest_hypercall(g, KVM_HC_MAP_GPA_RANGE, 0x3000, 1, GK_ENCRYPTED, 0);
	c->r[2] = mv_guest_read(g, 0x3000, &c->v[0], 1);     /* a fresh private page */
	c->r[3] = mv_guest_write(g, 0x3000, &secret, 1);
	c->r[4] = mv_guest_hypercall(g, KVM_HC_MAP_GPA_RANGE, 0x3000, 1, 0, 0);
	c->r[5] = mv_guest_read(g, 0x3000, &c->v[1], 1);     /* the shared page again */
	c->r[6] = mv_guest_hypercall(g, KVM_HC_MAP_GPA_RANGE, 0x3000, 1, GK_ENCRYPTED, 0);
	c->r[7] = mv_guest_read(g, 0x3000, &c->v[2], 1);     /* the private page kept its data */
}

/* The VMM's side of a conversion exit: set the attribute the guest asked for. */
static void gk_convert(struct gk *s, struct kvm_run *run)
{
	uint64_t attrs = run->hypercall.args[2] & GK_ENCRYPTED ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;

	assert_int_equal(run->exit_reason, KVM_EXIT_HYPERCALL);
	assert_int_equal(run->hypercall.nr, KVM_HC_MAP_GPA_RANGE);
	run->hypercall.ret = (uint64_t)gk_attr(&s->k, s->sw, run->hypercall.args[0],
					       run->hypercall.args[1] * 4096, attrs);
}

static void test_kvm_gmem_conversions_under_a_running_guest(void **state)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_EXIT_HYPERCALL,
				      .args = { 1ull << KVM_HC_MAP_GPA_RANGE } };
	struct kvm_run *run;
	struct gctx c;
	uint8_t vmm;
	struct gk s;

	memset(&c, 0, sizeof(c));
	gk_setup(&s, true);
	assert_int_equal(kt_ioctl_p(s.k.t, (int)s.sw, KVM_ENABLE_CAP, &cap), 0);
	assert_int_equal(mv_vcpu_set_guest(s.k.t, s.vcpu, guest_convert, &c), 0);
	run = mv_vcpu_run_area(s.k.t, s.vcpu);
	for (int exits = 0; exits < 3; exits++) {
		assert_int_equal(kt_run(&s.k, s.vcpu), 0);
		gk_convert(&s, run);
		/* the VMM sees the shared data, never the private */
		assert_int_equal(mv_user_read(s.k.t, s.ua + 0x3000, &vmm, 1), 0);
		assert_int_equal(vmm, 0x11);
	}
	assert_int_equal(kt_run(&s.k, s.vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	for (int i = 0; i < 8; i++)
		assert_int_equal(c.r[i], 0);
	assert_int_equal(c.v[0], 0);
	assert_int_equal(c.v[1], 0x11);
	assert_int_equal(c.v[2], 0x22);
	kt_teardown(&s.k);
}

static void guest_read_page0(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;

	c->r[0] = mv_guest_read(g, 0x0, &c->v[0], 1);
}

/* abi = seed: KVM_MEM_PRIVATE on the old ioctl, restricted_fd and restricted_offset. */
static void test_kvm_gmem_seed_restricted_memslot(void **state)
{
	struct mv_machine_config cfg = { .ram_bytes = 64 * MB, .abi = MV_ABI_SEED };
	struct kvm_userspace_memory_region2 ext = { .flags = KVM_MEM_GUEST_MEMFD, .memory_size = 2 * MB };
	struct kvmtest k = { 0 };
	struct gctx c;
	struct file *f;
	long vm, rfd, memfd, vcpu;

	memset(&c, 0, sizeof(c));
	assert_int_equal(mv_machine_create(&cfg, &k.m), 0);
	assert_int_equal(mv_task_spawn(k.m, &k.t), 0);
	k.kvm = (int)MVTEST_SYSCALL(k.t, MV_SYS_openat, AT_FDCWD, "/dev/kvm", O_RDWR, 0);
	vm = kt_ioctl(k.t, k.kvm, KVM_CREATE_VM, SW);
	rfd = MVTEST_SYSCALL(k.t, MV_SYS_memfd_restricted, 0);
	memfd = MVTEST_SYSCALL(k.t, MV_SYS_memfd_create, "x", 0);
	assert_true(vm >= 0 && rfd >= 0 && memfd >= 0);
	assert_int_equal(MVTEST_SYSCALL(k.t, MV_SYS_ftruncate, rfd, 2 * MB), 0);
	ext.userspace_addr = kt_mmap(&k, 2 * MB);
	ext.guest_memfd = 999;                                  /* restricted_fd */
	assert_int_equal(kt_ioctl_p(k.t, (int)vm, KVM_SET_USER_MEMORY_REGION, &ext), -EBADF);
	ext.guest_memfd = (uint32_t)memfd;
	assert_int_equal(kt_ioctl_p(k.t, (int)vm, KVM_SET_USER_MEMORY_REGION, &ext), -EINVAL);
	ext.guest_memfd = (uint32_t)rfd;
	ext.guest_memfd_offset = 100;                           /* restricted_offset */
	assert_int_equal(kt_ioctl_p(k.t, (int)vm, KVM_SET_USER_MEMORY_REGION, &ext), -EINVAL);
	ext.guest_memfd_offset = 0;
	assert_int_equal(kt_ioctl_p(k.t, (int)vm, KVM_SET_USER_MEMORY_REGION, &ext), 0);
	/* the private page is the restricted memfd's; the slot keeps the file alive */
	f = fd_get(k.t, (int)rfd);
	assert_true(file_is_restrictedmem(f));
	{
		hw_pfn_t pfn;
		unsigned int order;

		assert_int_equal(gmem_get_page(f, 0, &pfn, &order), 0);
		*(uint8_t *)hw_pfn_to_host(&k.m->hw, pfn) = 0x3c;
		hw_folio_put(&k.m->hw, pfn);
	}
	file_put(f);
	assert_int_equal(MVTEST_SYSCALL(k.t, MV_SYS_close, rfd), 0);
	assert_int_equal(gk_attr(&k, vm, 0, 2 * MB, KVM_MEMORY_ATTRIBUTE_PRIVATE), 0);
	vcpu = kt_ioctl(k.t, (int)vm, KVM_CREATE_VCPU, 0);
	assert_int_equal(mv_vcpu_set_guest(k.t, (int)vcpu, guest_read_page0, &c), 0);
	assert_int_equal(kt_run(&k, (int)vcpu), 0);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.v[0], 0x3c);
	kt_teardown(&k);
}

/* ---- KVM_MEMSLOT_GMEM_ONLY: an mmap-able guest_memfd backs shared pages too ---- */

#define GK_4G (1ull << 32)

struct gmem_only_ctx {
	uint64_t size;
	long r[2];
	int bad;          /* offset + 1 of the first byte that was not 0xaa */
};

/* guest_memfd_test.c's guest: every byte is the VMM's 0xaa, then all 0xff. */
static void guest_check_aa_fill_ff(struct mv_guest *g, void *arg)
{
	struct gmem_only_ctx *c = arg;
	uint8_t buf[4096];

	c->r[0] = mv_guest_read(g, GK_4G, buf, c->size);
	for (uint64_t i = 0; i < c->size && !c->bad; i++)
		if (buf[i] != 0xaa)
			c->bad = (int)i + 1;
	memset(buf, 0xff, c->size);
	c->r[1] = mv_guest_write(g, GK_4G, buf, c->size);
}

static uint64_t gk_map_gmem(struct kvmtest *k, long gmem, uint64_t size)
{
	long a = MVTEST_SYSCALL(k->t, MV_SYS_mmap, 0, size, PROT_READ | PROT_WRITE, MAP_SHARED,
				gmem, 0);

	assert_true(a > 0);
	return (uint64_t)a;
}

/*
 * The 6.18 selftest guest_memfd_test's guest case: a default VM, a
 * one-page guest_memfd with MMAP | INIT_SHARED bound at 4 GiB with
 * userspace_addr = 0. The VMM fills it through its own mmap of the file and
 * unmaps it; the guest reads the VMM's bytes and overwrites them; a new
 * mmap shows the guest's. The shared fault went to the file
 * (kvm_memslot_is_gmem_only), not to userspace_addr.
 */
static void test_kvm_gmem_only_slot_userspace_addr_zero(void **state)
{
	const uint64_t size = 4096;
	struct gmem_only_ctx c = { .size = size };
	struct kvmtest k;
	uint8_t page[4096];
	uint64_t mem;
	long gmem;
	int vcpu;

	kt_setup(&k, 0);
	gmem = gk_gmem(&k, k.vm, size, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	assert_true(gmem >= 0);
	assert_int_equal(kt_region_gmem(k.t, k.vm, 1, GK_4G, size, 0, (int)gmem, 0), 0);
	/* the memory map names the file behind the shared range too */
	{
		struct mv_vm_range r;

		assert_int_equal(mv_vm_memory_map(k.t, k.vm, &r, 1), 1);
		assert_int_equal(r.flags & MV_RANGE_PRIVATE, 0);
		assert_int_equal(r.gmem_fd, gmem);
		assert_int_equal(r.gmem_offset, 0);
	}
	mem = gk_map_gmem(&k, gmem, size);
	memset(page, 0xaa, size);
	assert_int_equal(mv_user_write(k.t, mem, page, size), 0);
	assert_int_equal(MVTEST_SYSCALL(k.t, MV_SYS_munmap, mem, size), 0);

	vcpu = kt_vcpu(&k, 0);
	assert_int_equal(mv_vcpu_set_guest(k.t, vcpu, guest_check_aa_fill_ff, &c), 0);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(mv_vcpu_run_area(k.t, vcpu)->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], 0);
	assert_int_equal(c.bad, 0);

	mem = gk_map_gmem(&k, gmem, size);
	assert_int_equal(mv_user_read(k.t, mem, page, size), 0);
	for (uint64_t i = 0; i < size; i++)
		assert_int_equal(page[i], 0xff);
	kt_teardown(&k);
}

static void guest_read_4g(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;
	uint8_t v = 0x3c;

	c->r[0] = mv_guest_read(g, GK_4G, &c->v[0], 1);
	c->r[1] = mv_guest_write(g, GK_4G + 1, &v, 1);
}

/*
 * Where a shared guest page comes from, by the bound file's flags: with
 * GUEST_MEMFD_FLAG_MMAP from the file (a fresh page reads 0) even when
 * userspace_addr points at the VMM's memory, which the guest never
 * touches; without it from userspace_addr, as before 6.18.
 */
static void test_kvm_gmem_only_by_file_flags_table(void **state)
{
	static const struct {
		const char *name;
		uint64_t flags;
		uint8_t guest_sees, vmm_byte1;
	} rows[] = {
		{ "mmap_init_shared", GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED, 0, 0x55 },
		{ "mmap_only", GUEST_MEMFD_FLAG_MMAP, 0, 0x55 },
		{ "no_mmap", 0, 0x55, 0x3c },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct gctx c;
		struct kvmtest k;
		uint8_t vmm[2];
		uint64_t ua;
		long gmem;
		int vcpu;

		memset(&c, 0, sizeof(c));
		kt_setup(&k, 0);
		ua = kt_mmap(&k, 2 * MB);
		assert_int_equal(mv_user_write(k.t, ua, "\x55\x55", 2), 0);
		gmem = gk_gmem(&k, k.vm, 2 * MB, rows[i].flags);
		assert_true(gmem >= 0);
		assert_int_equal(kt_region_gmem(k.t, k.vm, 1, GK_4G, 2 * MB, ua, (int)gmem, 0), 0);
		vcpu = kt_vcpu(&k, 0);
		assert_int_equal(mv_vcpu_set_guest(k.t, vcpu, guest_read_4g, &c), 0);
		assert_int_equal(kt_run(&k, vcpu), 0);
		assert_int_equal(c.r[0], 0);
		assert_int_equal(c.r[1], 0);
		assert_int_equal(mv_user_read(k.t, ua, vmm, 2), 0);
		if (c.v[0] != rows[i].guest_sees || vmm[1] != rows[i].vmm_byte1)
			fail_msg("%s: guest read 0x%x (want 0x%x), VMM byte 1 is 0x%x (want 0x%x)",
				 rows[i].name, c.v[0], rows[i].guest_sees, vmm[1], rows[i].vmm_byte1);
		kt_teardown(&k);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_gmem_capabilities),
		cmocka_unit_test(test_kvm_gmem_outlives_the_vm_fd),
		cmocka_unit_test(test_kvm_gmem_set_memory_attributes_errno_table),
		cmocka_unit_test(test_kvm_gmem_private_pages_come_from_the_gmem),
		cmocka_unit_test(test_kvm_gmem_private_without_gmem_is_a_memory_fault),
		cmocka_unit_test(test_kvm_gmem_punch_reaches_the_guest),
		cmocka_unit_test(test_kvm_gmem_seed_restricted_memslot),
		cmocka_unit_test(test_kvm_gmem_conversions_under_a_running_guest),
		cmocka_unit_test(test_kvm_gmem_only_slot_userspace_addr_zero),
		cmocka_unit_test(test_kvm_gmem_only_by_file_flags_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
