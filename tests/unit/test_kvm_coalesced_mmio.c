/* SPDX-License-Identifier: MIT */
/*
 * Coalesced MMIO as virt/kvm/coalesced_mmio.c does it: zones registered
 * with KVM_REGISTER_COALESCED_MMIO (kvm_vm_ioctl_register_coalesced_mmio),
 * guest writes wholly inside one appended to the VM's one ring
 * (coalesced_mmio_write) instead of exiting, reads and full rings exiting
 * as usual, and the ring page shared by every vCPU fd at page 2.
 */
#include "kvmtest.h"

#define MB (1ull << 20)
#define ZONE 0x40000000ull
#define RING_MAX ((4096 - 8) / 24)

struct zone_row {
	const char *name;
	unsigned long cmd;
	uint64_t addr;
	uint32_t size, pio;
	long expect;
};

static const struct zone_row zone_rows[] = {
	{ "mmio", KVM_REGISTER_COALESCED_MMIO, ZONE, 0x1000, 0, 0 },
	{ "pio", KVM_REGISTER_COALESCED_MMIO, 0x3f8, 8, 1, 0 },
	{ "pio_2", KVM_REGISTER_COALESCED_MMIO, ZONE, 0x1000, 2, -EINVAL },
	{ "pio_all_ones", KVM_REGISTER_COALESCED_MMIO, ZONE, 0x1000, ~0u, -EINVAL },
	{ "overlapping_is_fine", KVM_REGISTER_COALESCED_MMIO, ZONE + 0x800, 0x1000, 0, 0 },
	{ "empty_is_fine", KVM_REGISTER_COALESCED_MMIO, ZONE, 0, 0, 0 },
	{ "unregister_pio_2", KVM_UNREGISTER_COALESCED_MMIO, ZONE, 0x1000, 2, -EINVAL },
	{ "unregister_nothing_there", KVM_UNREGISTER_COALESCED_MMIO, 0x1234000, 8, 0, 0 },
	{ "unregister_inside", KVM_UNREGISTER_COALESCED_MMIO, ZONE + 8, 8, 0, 0 },
};

static void test_kvm_coalesced_mmio_zone_errno_table(void **state)
{
	struct kvmtest k;

	kt_setup(&k, 0);
	for (size_t i = 0; i < sizeof(zone_rows) / sizeof(zone_rows[0]); i++) {
		struct kvm_coalesced_mmio_zone z = { .addr = zone_rows[i].addr,
						     .size = zone_rows[i].size,
						     .pio = zone_rows[i].pio };
		long r = kt_ioctl_p(k.t, k.vm, zone_rows[i].cmd, &z);

		if (r != zone_rows[i].expect)
			fail_msg("%s: got %ld, want %ld", zone_rows[i].name, r, zone_rows[i].expect);
	}
	assert_int_equal(kt_ioctl(k.t, k.vm, KVM_REGISTER_COALESCED_MMIO, 0), -EFAULT);
	assert_int_equal(kt_ioctl(k.t, k.vm, KVM_UNREGISTER_COALESCED_MMIO, 0), -EFAULT);
	kt_teardown(&k);
}

/* kvm_io_bus_register_dev(): at most NR_IOBUS_DEVS (1000) devices on each bus. */
static void test_kvm_coalesced_mmio_bus_is_full_at_1000(void **state)
{
	struct kvm_coalesced_mmio_zone z = { .size = 8 };
	struct kvmtest k;

	kt_setup(&k, 0);
	for (uint64_t i = 0; i < 1000; i++) {
		z.addr = ZONE + i * 8;
		assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_REGISTER_COALESCED_MMIO, &z), 0);
	}
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_REGISTER_COALESCED_MMIO, &z), -ENOSPC);
	z.pio = 1;                                   /* the PIO bus has its own room */
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_REGISTER_COALESCED_MMIO, &z), 0);
	z.pio = 0;
	z.addr = ZONE;
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_UNREGISTER_COALESCED_MMIO, &z), 0);
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_REGISTER_COALESCED_MMIO, &z), 0);
	kt_teardown(&k);
}

/* ---- the ring ---- */

struct cm {
	struct kvmtest k;
	int vcpu[2];
	uint64_t ring[2];          /* each vCPU fd's page 2, mapped by the VMM */
	struct kvm_run *run;
};

static void cm_setup(struct cm *c, mv_guest_fn fn, void *arg)
{
	struct kvm_coalesced_mmio_zone z = { .addr = ZONE, .size = 0x1000 };
	uint64_t map;

	kt_setup(&c->k, 0);
	map = kt_mmap(&c->k, 2 * MB);
	assert_int_equal(kt_region(&c->k, 0, 0, 0, 2 * MB, map), 0);
	assert_int_equal(kt_ioctl_p(c->k.t, c->k.vm, KVM_REGISTER_COALESCED_MMIO, &z), 0);
	for (int i = 0; i < 2; i++) {
		long a;

		c->vcpu[i] = kt_vcpu(&c->k, (unsigned long)i);
		a = mv_syscall(c->k.t, MV_SYS_mmap, 0, KT_PG, PROT_READ | PROT_WRITE, MAP_SHARED,
			       (uint64_t)c->vcpu[i], 2 * KT_PG);
		assert_true(a > 0);
		c->ring[i] = (uint64_t)a;
	}
	assert_int_equal(mv_vcpu_set_guest(c->k.t, c->vcpu[0], fn, arg), 0);
	c->run = mv_vcpu_run_area(c->k.t, c->vcpu[0]);
}

static uint32_t cm_u32(struct cm *c, int vcpu, uint64_t off)
{
	uint32_t v = 0;

	assert_int_equal(mv_user_read(c->k.t, c->ring[vcpu] + off, &v, 4), 0);
	return v;
}

/* Entry @i as the VMM reads it through vCPU @vcpu's mapping. */
static void cm_entry(struct cm *c, int vcpu, uint32_t i, struct kvm_coalesced_mmio *e)
{
	assert_int_equal(mv_user_read(c->k.t, c->ring[vcpu] + 8 + i * sizeof(*e), e, sizeof(*e)), 0);
}

struct gw {
	long r[8];
	uint64_t v;
	int n;
};

#define ZONE2 (ZONE + 0x2008)   /* a second zone, starting inside a page */

static void guest_zone_accesses(struct mv_guest *g, void *arg)
{
	struct gw *c = arg;
	uint32_t w = 0xdeadbeef;
	uint64_t q = 0x1122334455667788ull;
	uint8_t big[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

	c->r[0] = mv_guest_write(g, ZONE + 0x10, &w, 4);          /* coalesced */
	c->r[1] = mv_guest_read(g, ZONE + 0x10, &c->v, 4);        /* reads always exit */
	/* split at the page first: 4 bytes inside the zone, 4 past its end */
	c->r[2] = mv_guest_write(g, ZONE + 0xffc, &q, 8);
	/* 8 bytes before ZONE2 exit, and so do the 4 inside it that follow */
	c->r[3] = mv_guest_write(g, ZONE2 - 8, big, 12);
}

static void test_kvm_coalesced_mmio_writes_in_a_zone_skip_the_exit(void **state)
{
	struct kvm_coalesced_mmio_zone z2 = { .addr = ZONE2, .size = 0x100 };
	struct kvm_coalesced_mmio e;
	struct gw w = { .n = 0 };
	struct cm c;

	cm_setup(&c, guest_zone_accesses, &w);
	assert_int_equal(kt_ioctl_p(c.k.t, c.k.vm, KVM_REGISTER_COALESCED_MMIO, &z2), 0);
	assert_int_equal(kt_run(&c.k, c.vcpu[0]), 0);
	assert_int_equal(c.run->exit_reason, KVM_EXIT_MMIO);       /* the read */
	assert_int_equal(c.run->mmio.phys_addr, ZONE + 0x10);
	assert_int_equal(c.run->mmio.is_write, 0);
	/* the write before it is in the ring, seen through either vCPU's page 2 */
	for (int v = 0; v < 2; v++) {
		assert_int_equal(cm_u32(&c, v, 0), 0);                /* first */
		assert_int_equal(cm_u32(&c, v, 4), 1);                /* last */
		cm_entry(&c, v, 0, &e);
		assert_int_equal(e.phys_addr, ZONE + 0x10);
		assert_int_equal(e.len, 4);
		assert_int_equal(e.pio, 0);
		assert_int_equal(e.data[0], 0xef);
		assert_int_equal(e.data[3], 0xde);
	}
	assert_int_equal(kt_run(&c.k, c.vcpu[0]), 0);
	assert_int_equal(c.run->mmio.phys_addr, ZONE + 0x1000);
	assert_int_equal(c.run->mmio.len, 4);
	assert_int_equal(c.run->mmio.is_write, 1);
	assert_int_equal(c.run->mmio.data[0], 0x44);
	assert_int_equal(cm_u32(&c, 1, 4), 2);
	cm_entry(&c, 1, 1, &e);
	assert_int_equal(e.phys_addr, ZONE + 0xffc);
	assert_int_equal(e.len, 4);
	assert_int_equal(e.data[0], 0x88);
	assert_int_equal(kt_run(&c.k, c.vcpu[0]), 0);
	assert_int_equal(c.run->mmio.phys_addr, ZONE2 - 8);
	assert_int_equal(c.run->mmio.len, 8);
	assert_int_equal(kt_run(&c.k, c.vcpu[0]), 0);            /* vcpu_mmio_write stopped: */
	assert_int_equal(c.run->mmio.phys_addr, ZONE2);          /* the rest goes out too */
	assert_int_equal(c.run->mmio.len, 4);
	assert_int_equal(kt_run(&c.k, c.vcpu[0]), 0);
	assert_int_equal(c.run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(cm_u32(&c, 0, 4), 2);
	for (int i = 0; i < 4; i++)
		assert_int_equal(w.r[i], 0);
	kt_teardown(&c.k);
}

static void guest_fill_ring(struct mv_guest *g, void *arg)
{
	struct gw *c = arg;

	for (c->n = 0; c->n < RING_MAX + 1; c->n++) {
		uint64_t v = (uint64_t)c->n;

		c->r[0] = mv_guest_write(g, ZONE, &v, 8);
	}
}

/*
 * The ring holds RING_MAX - 1 entries (one slot stays empty): the next
 * write exits as KVM_EXIT_MMIO; once the VMM consumed them (first = last),
 * writes are coalesced again.
 */
static void test_kvm_coalesced_mmio_full_ring_exits(void **state)
{
	struct kvm_coalesced_mmio e;
	struct gw w = { .n = 0 };
	uint32_t last;
	struct cm c;

	cm_setup(&c, guest_fill_ring, &w);
	assert_int_equal(kt_run(&c.k, c.vcpu[0]), 0);
	assert_int_equal(c.run->exit_reason, KVM_EXIT_MMIO);
	assert_int_equal(w.n, RING_MAX - 1);
	assert_int_equal(cm_u32(&c, 0, 4), RING_MAX - 1);
	cm_entry(&c, 0, RING_MAX - 2, &e);
	assert_int_equal(e.data[0], RING_MAX - 2);
	last = cm_u32(&c, 0, 4);
	assert_int_equal(mv_user_write(c.k.t, c.ring[1], &last, 4), 0);   /* consumed */
	assert_int_equal(kt_run(&c.k, c.vcpu[0]), 0);
	assert_int_equal(c.run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(cm_u32(&c, 0, 4), 0);                             /* wrapped */
	cm_entry(&c, 0, RING_MAX - 1, &e);
	assert_int_equal(e.data[0], RING_MAX);
	kt_teardown(&c.k);
}

static void guest_write_zone_twice(struct mv_guest *g, void *arg)
{
	struct gw *c = arg;
	uint64_t v = 7, s = 0;

	c->r[0] = mv_guest_write(g, ZONE + 0x100, &v, 8);
	mv_guest_read(g, ZONE, &s, 8);                                   /* hand over */
	c->r[1] = mv_guest_write(g, ZONE + 0x100, &v, 8);
}

/* Unregistering a range inside a zone removes the zone: its writes exit again. */
static void test_kvm_coalesced_mmio_unregister(void **state)
{
	struct kvm_coalesced_mmio_zone z = { .addr = ZONE + 0x100, .size = 8 };
	struct gw w = { .n = 0 };
	struct cm c;

	cm_setup(&c, guest_write_zone_twice, &w);
	assert_int_equal(kt_run(&c.k, c.vcpu[0]), 0);
	assert_int_equal(c.run->mmio.is_write, 0);
	assert_int_equal(cm_u32(&c, 0, 4), 1);
	assert_int_equal(kt_ioctl_p(c.k.t, c.k.vm, KVM_UNREGISTER_COALESCED_MMIO, &z), 0);
	assert_int_equal(kt_run(&c.k, c.vcpu[0]), 0);
	assert_int_equal(c.run->exit_reason, KVM_EXIT_MMIO);
	assert_int_equal(c.run->mmio.is_write, 1);
	assert_int_equal(c.run->mmio.phys_addr, ZONE + 0x100);
	assert_int_equal(cm_u32(&c, 0, 4), 1);
	kt_teardown(&c.k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_coalesced_mmio_zone_errno_table),
		cmocka_unit_test(test_kvm_coalesced_mmio_bus_is_full_at_1000),
		cmocka_unit_test(test_kvm_coalesced_mmio_writes_in_a_zone_skip_the_exit),
		cmocka_unit_test(test_kvm_coalesced_mmio_full_ring_exits),
		cmocka_unit_test(test_kvm_coalesced_mmio_unregister),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
