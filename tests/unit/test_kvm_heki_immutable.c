/* SPDX-License-Identifier: MIT */
/*
 * IMMUTABLE can never be undone (SEMANTICS.md 2; docs/heki.md, "Memslot
 * games"): the guest's re-protect is -KVM_EPERM (test_kvm_heki_protect);
 * the VMM cannot delete or move a slot holding IMMUTABLE pages (-EPERM)
 * nor convert them with KVM_SET_MEMORY_ATTRIBUTES (-EPERM); elsewhere that
 * ioctl keeps the Heki bits; a guest_memfd punch is allowed and keeps the
 * protection (the content is the VMM's to lose); a slot added over gfns
 * already IMMUTABLE keeps the protection.
 */
#include "hekitest.h"

#define R  MEM_ATTR_READ
#define W  MEM_ATTR_WRITE
#define X  MEM_ATTR_EXEC
#define IM MEM_ATTR_IMMUTABLE
#define P(n) (HT_DATA + (n) * KT_PG)
#define HIGH 0x400000ull         /* no slot until the VMM adds one */
#define MB (1ull << 20)

struct ictx {
	long r[24];
	int vec[24];
	uint64_t v[4];
};

/* Maps [HIGH, HIGH + 4 KiB) identity through a PT at 0x14000. */
static void map_high(struct mv_guest *g)
{
	uint64_t e = 0x14000 | HT_PTE_P | HT_PTE_RW;

	mv_guest_write(g, 0x12000 + 2 * 8, &e, 8);
	e = HIGH | HT_PTE_P | HT_PTE_RW;
	mv_guest_write(g, 0x14000, &e, 8);
}

static long wr(struct mv_guest *g, struct ictx *c, int i, uint64_t gpa, uint64_t v)
{
	c->r[i] = mv_guest_write(g, gpa, &v, 8);
	c->vec[i] = c->r[i] ? ht_vector(g) : 0;
	return c->r[i];
}

static void guest_games(struct mv_guest *g, void *arg)
{
	struct ictx *c = arg;

	ht_long_mode(g);
	map_high(g);
	c->r[0] = ht_protect(g, P(0), P(2), R | X | IM);
	c->r[1] = ht_protect(g, P(5), P(6), R);
	wr(g, c, 2, P(8), 0x5eed);                             /* private (guest_memfd) page */
	c->r[3] = ht_protect(g, P(8), P(9), R | IM);
	c->r[4] = ht_protect(g, HIGH, HIGH + KT_PG, R | IM);   /* no slot there yet */
	/* the VMM plays its games during this exit */
	c->r[5] = mv_guest_hypercall(g, KVM_HC_MAP_GPA_RANGE, P(0), 1, 0, 0);
	wr(g, c, 6, P(0), 1);
	wr(g, c, 7, P(5), 1);
	wr(g, c, 8, P(8), 1);
	c->r[9] = mv_guest_read(g, P(8), &c->v[0], 8);
	wr(g, c, 10, HIGH, 1);
	c->r[11] = mv_guest_read(g, HIGH, &c->v[1], 8);
	c->r[12] = ht_protect(g, P(0), P(1), R | W);           /* the guest cannot either */
}

/* A software-protected VM whose slot 0 (2 MiB at GPA 0) also has a guest_memfd. */
static long sw_vm(struct ht *h, struct kvm_userspace_memory_region2 *r2)
{
	struct mv_machine_config cfg = { .ram_bytes = 64ull << 20 };
	struct kvm_create_guest_memfd gc = { .size = HT_RAM };
	long gmem;

	memset(h, 0, sizeof(*h));
	assert_int_equal(mv_machine_create(&cfg, &h->k.m), 0);
	assert_int_equal(mv_task_spawn(h->k.m, &h->k.t), 0);
	h->k.kvm = (int)mv_syscall(h->k.t, MV_SYS_openat, (uint64_t)AT_FDCWD,
				   (uint64_t)(uintptr_t)"/dev/kvm", O_RDWR, 0, 0, 0);
	h->k.vm = (int)kt_ioctl(h->k.t, h->k.kvm, KVM_CREATE_VM, KVM_X86_SW_PROTECTED_VM);
	assert_true(h->k.vm >= 0);
	gmem = kt_ioctl_p(h->k.t, h->k.vm, KVM_CREATE_GUEST_MEMFD, &gc);
	assert_true(gmem >= 0);
	h->map = kt_mmap(&h->k, HT_RAM);
	r2->userspace_addr = h->map;
	r2->guest_memfd = (uint32_t)gmem;
	assert_int_equal(kt_ioctl_p(h->k.t, h->k.vm, KVM_SET_USER_MEMORY_REGION2, r2), 0);
	h->vcpu = kt_vcpu(&h->k, 0);
	h->run = mv_vcpu_run_area(h->k.t, h->vcpu);
	return gmem;
}

static void test_kvm_heki_immutable_survives_memslot_games(void **state)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_EXIT_HYPERCALL,
				      .args = { 1ull << KVM_HC_MAP_GPA_RANGE } };
	struct kvm_userspace_memory_region2 r2 = { .slot = 0, .flags = KVM_MEM_GUEST_MEMFD,
						   .memory_size = HT_RAM };
	struct kvm_memory_attributes a = { .address = P(8), .size = KT_PG,
					   .attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE };
	struct ictx c;
	struct ht h;
	uint64_t high, v = 0x99;
	long gmem;

	(void)state;
	memset(&c, 0, sizeof(c));
	gmem = sw_vm(&h, &r2);
	assert_int_equal(kt_ioctl_p(h.k.t, h.k.vm, KVM_ENABLE_CAP, &cap), 0);
	assert_int_equal(kt_ioctl_p(h.k.t, h.k.vm, KVM_SET_MEMORY_ATTRIBUTES, &a), 0);
	ht_guest(&h, guest_games, &c);
	assert_int_equal(kt_run(&h.k, h.vcpu), 0);
	assert_int_equal(h.run->exit_reason, KVM_EXIT_HYPERCALL);

	/* delete: refused */
	assert_int_equal(kt_region(&h.k, 0, 0, 0, 0, 0), -EPERM);
	/* (a guest_memfd slot cannot move at all: -EINVAL, as the host) */
	r2.guest_phys_addr = 8 * MB;
	assert_int_equal(kt_ioctl_p(h.k.t, h.k.vm, KVM_SET_USER_MEMORY_REGION2, &r2), -EINVAL);
	/* converting an immutable page: refused */
	a.address = P(0);
	assert_int_equal(kt_ioctl_p(h.k.t, h.k.vm, KVM_SET_MEMORY_ATTRIBUTES, &a), -EPERM);
	a.address = P(8);
	a.attributes = 0;
	assert_int_equal(kt_ioctl_p(h.k.t, h.k.vm, KVM_SET_MEMORY_ATTRIBUTES, &a), -EPERM);
	/* elsewhere the attribute ioctl keeps the Heki bits */
	a.address = P(5);
	a.attributes = 0;
	assert_int_equal(kt_ioctl_p(h.k.t, h.k.vm, KVM_SET_MEMORY_ATTRIBUTES, &a), 0);
	/* a punch over the private immutable page: allowed, protection kept */
	assert_int_equal(mv_syscall(h.k.t, MV_SYS_fallocate, (uint64_t)gmem,
				    FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, P(8), KT_PG, 0, 0), 0);
	/* a slot where the guest had protected gfns without memory */
	high = kt_mmap(&h.k, 2 * MB);
	assert_int_equal(mv_user_write(h.k.t, high, &v, 8), 0);
	assert_int_equal(kt_region(&h.k, 1, 0, HIGH, 2 * MB, high), 0);
	/* which now cannot move */
	assert_int_equal(kt_region(&h.k, 1, 0, 32 * MB, 2 * MB, high), -EPERM);
	/* a slot without immutable pages can still go */
	assert_int_equal(kt_region(&h.k, 2, 0, 16 * MB, 2 * MB, kt_mmap(&h.k, 2 * MB)), 0);
	assert_int_equal(kt_region(&h.k, 2, 0, 16 * MB, 0, 0), 0);
	h.run->hypercall.ret = 0;
	ht_run_to_hlt(&h);

	for (int i = 0; i <= 5; i++)
		if (c.r[i])
			fail_msg("setup step %d: %ld", i, c.r[i]);
	assert_int_equal(c.r[6], -EFAULT);
	assert_int_equal(c.vec[6], 14);
	assert_int_equal(c.r[7], -EFAULT);                     /* still R only */
	assert_int_equal(c.r[8], -EFAULT);                     /* still immutable after the punch */
	assert_int_equal(c.r[9], 0);
	assert_int_equal(c.v[0], 0);                           /* the content went with the punch */
	assert_int_equal(c.r[10], -EFAULT);                    /* the new slot keeps it */
	assert_int_equal(c.r[11], 0);
	assert_int_equal(c.v[1], 0x99);
	assert_int_equal(c.r[12], -KVM_EPERM);
	/* and the slot holding them still cannot go */
	assert_int_equal(kt_region(&h.k, 1, 0, HIGH, 0, 0), -EPERM);
	ht_teardown(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_heki_immutable_survives_memslot_games),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
