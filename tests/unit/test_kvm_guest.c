/* SPDX-License-Identifier: MIT */
/*
 * Guests: C functions run by KVM_RUN on their own stacks, touching memory
 * through two-stage translation. Write and read back, the VMM's view of
 * the same memory, read-only slots and unbacked addresses as MMIO exits,
 * a VMM mapping that vanished (KVM_EXIT_MEMORY_FAULT), host changes
 * reaching the guest (MADV_DONTNEED, slot deletion), dirty logging, guest
 * paging with its own page tables, control registers and the faults the
 * guest sees.
 */
#include "kvmtest.h"

#define MB (1ull << 20)

struct gctx {
	long r[16];
	uint64_t v[16];
	struct mv_guest_fault f;
	int nr;
};

static void kt_ram(struct kvmtest *k, uint64_t *map)
{
	*map = kt_mmap(k, 2 * MB);
	assert_int_equal(kt_region(k, 0, 0, 0, 2 * MB, *map), 0);
}

static struct kvm_run *kt_guest(struct kvmtest *k, int vcpu, mv_guest_fn fn, void *arg)
{
	assert_int_equal(mv_vcpu_set_guest(k->t, vcpu, fn, arg), 0);
	return mv_vcpu_run_area(k->t, vcpu);
}

/* ---- write and read back ---- */

static void guest_write_read(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;
	char buf[64], back[64];

	for (int i = 0; i < 64; i++)
		buf[i] = (char)(i * 7);
	c->r[0] = mv_guest_write(g, 0x1ff0, buf, sizeof(buf));    /* crosses a page */
	c->r[1] = mv_guest_read(g, 0x1ff0, back, sizeof(back));
	c->r[2] = memcmp(buf, back, sizeof(buf));
	c->r[3] = mv_guest_read(g, 0x5000, &c->v[0], 8);         /* the VMM wrote it */
}

static void test_kvm_guest_write_read_back(void **state)
{
	struct kvmtest k;
	struct gctx c = { 0 };
	struct kvm_run *run;
	uint64_t map, v = 0x1122334455667788ull;
	char seen[64];
	int vcpu;

	kt_setup(&k, 0);
	kt_ram(&k, &map);
	assert_int_equal(mv_user_write(k.t, map + 0x5000, &v, 8), 0);
	vcpu = kt_vcpu(&k, 0);
	run = kt_guest(&k, vcpu, guest_write_read, &c);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], 0);
	assert_int_equal(c.r[2], 0);
	assert_int_equal(c.r[3], 0);
	assert_int_equal(c.v[0], v);
	assert_int_equal(mv_user_read(k.t, map + 0x1ff0, seen, sizeof(seen)), 0);
	for (int i = 0; i < 64; i++)
		assert_int_equal(seen[i], (char)(i * 7));
	/* a finished guest keeps halting */
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	kt_teardown(&k);
}

/* ---- MMIO: read-only slot, no slot ---- */

static void guest_mmio(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;
	uint32_t w = 0xdeadbeef, rd = 0;
	uint8_t big[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

	c->r[0] = mv_guest_read(g, 2 * MB + 0x10, &c->v[0], 8);   /* RO slot: plain read */
	c->r[1] = mv_guest_write(g, 2 * MB + 0x20, &w, 4);       /* RO slot: MMIO write */
	c->r[2] = mv_guest_read(g, 0x40000000, &rd, 4);          /* no slot: MMIO read */
	c->v[1] = rd;
	c->r[3] = mv_guest_write(g, 0x40001000, big, sizeof(big));  /* split 8 + 4 */
}

static void test_kvm_guest_mmio_exits(void **state)
{
	struct kvmtest k;
	struct gctx c = { 0 };
	struct kvm_run *run;
	uint64_t map, ro, v = 0xabcdefull, after = 0;
	uint32_t v32;
	int vcpu;

	kt_setup(&k, 0);
	kt_ram(&k, &map);
	ro = kt_mmap(&k, 2 * MB);
	assert_int_equal(mv_user_write(k.t, ro + 0x10, &v, 8), 0);
	assert_int_equal(kt_region(&k, 1, KVM_MEM_READONLY, 2 * MB, 2 * MB, ro), 0);
	vcpu = kt_vcpu(&k, 0);
	run = kt_guest(&k, vcpu, guest_mmio, &c);

	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
	assert_int_equal(run->mmio.phys_addr, 2 * MB + 0x20);
	assert_int_equal(run->mmio.len, 4);
	assert_int_equal(run->mmio.is_write, 1);
	memcpy(&v32, run->mmio.data, sizeof(v32));
	assert_int_equal(v32, 0xdeadbeef);

	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
	assert_int_equal(run->mmio.phys_addr, 0x40000000);
	assert_int_equal(run->mmio.len, 4);
	assert_int_equal(run->mmio.is_write, 0);
	v32 = 0x600df00d;
	memcpy(run->mmio.data, &v32, sizeof(v32));

	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
	assert_int_equal(run->mmio.phys_addr, 0x40001000);
	assert_int_equal(run->mmio.len, 8);
	assert_int_equal(run->mmio.data[7], 8);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->mmio.phys_addr, 0x40001008);
	assert_int_equal(run->mmio.len, 4);
	assert_int_equal(run->mmio.data[3], 12);

	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.v[0], v);
	assert_int_equal(c.r[1], 0);
	assert_int_equal(c.r[2], 0);
	assert_int_equal(c.v[1], 0x600df00d);
	assert_int_equal(c.r[3], 0);
	/* the read-only slot's memory never changed */
	assert_int_equal(mv_user_read(k.t, ro + 0x20, &after, 8), 0);
	assert_int_equal(after, 0);
	kt_teardown(&k);
}

/* ---- the VMM's memory is gone: KVM_EXIT_MEMORY_FAULT, then a retry ---- */

static void guest_touch_4m(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;
	uint64_t v = 77;

	c->r[0] = mv_guest_write(g, 4 * MB + 0x100, &v, 8);
	c->r[1] = mv_guest_read(g, 4 * MB + 0x100, &c->v[0], 8);
}

static void test_kvm_guest_memory_fault_exit(void **state)
{
	struct kvmtest k;
	struct gctx c = { 0 };
	struct kvm_run *run;
	uint64_t map, hole, v = 0;
	long a;
	int vcpu;

	kt_setup(&k, 0);
	kt_ram(&k, &map);
	hole = kt_mmap(&k, 2 * MB);
	assert_int_equal(mv_syscall(k.t, MV_SYS_munmap, hole, 2 * MB, 0, 0, 0, 0), 0);
	assert_int_equal(kt_region(&k, 1, 0, 4 * MB, 2 * MB, hole), 0);
	vcpu = kt_vcpu(&k, 0);
	run = kt_guest(&k, vcpu, guest_touch_4m, &c);
	assert_int_equal(kt_run(&k, vcpu), -EFAULT);
	assert_int_equal(run->exit_reason, KVM_EXIT_MEMORY_FAULT);
	assert_int_equal(run->memory_fault.gpa, 4 * MB);
	assert_int_equal(run->memory_fault.size, KT_PG);
	assert_int_equal(run->memory_fault.flags, 0);
	/* map it again: the access is retried and goes through */
	a = mv_syscall(k.t, MV_SYS_mmap, hole, 2 * MB, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, (uint64_t)-1, 0);
	assert_int_equal(a, (long)hole);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.v[0], 77);
	assert_int_equal(mv_user_read(k.t, hole + 0x100, &v, 8), 0);
	assert_int_equal(v, 77);
	kt_teardown(&k);
}

/* ---- host changes reach the guest ---- */

static void guest_punch(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;
	uint64_t v = 0x5a5a5a5a, sync = 0;

	c->r[0] = mv_guest_write(g, 0x3000, &v, 8);
	mv_guest_write(g, 0x40000000, &sync, 8);         /* MMIO: hand over to the VMM */
	c->r[1] = mv_guest_read(g, 0x3000, &c->v[0], 8);  /* after MADV_DONTNEED: zero */
	mv_guest_write(g, 0x40000000, &sync, 8);
	c->r[2] = mv_guest_read(g, 0x3000, &c->v[1], 8);  /* the VMM wrote it */
	mv_guest_write(g, 0x40000000, &sync, 8);
	c->r[3] = mv_guest_read(g, 0x3000, &c->v[2], 8);  /* slot deleted: MMIO */
}

static void test_kvm_guest_sees_host_changes(void **state)
{
	struct kvmtest k;
	struct gctx c = { 0 };
	struct kvm_run *run;
	uint64_t map, v = 0x1234;
	int vcpu;

	kt_setup(&k, 0);
	kt_ram(&k, &map);
	vcpu = kt_vcpu(&k, 0);
	run = kt_guest(&k, vcpu, guest_punch, &c);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
	assert_int_equal(mv_syscall(k.t, MV_SYS_madvise, map, 2 * MB, MADV_DONTNEED, 0, 0, 0), 0);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
	assert_int_equal(mv_user_write(k.t, map + 0x3000, &v, 8), 0);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
	assert_int_equal(kt_region(&k, 0, 0, 0, 0, 0), 0);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
	assert_int_equal(run->mmio.phys_addr, 0x3000);
	assert_int_equal(run->mmio.is_write, 0);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.v[0], 0);
	assert_int_equal(c.v[1], 0x1234);
	assert_int_equal(c.r[3], 0);
	kt_teardown(&k);
}

/* ---- dirty logging ---- */

static void guest_dirty(struct mv_guest *g, void *arg)
{
	uint64_t v = 1, sync = 0;

	mv_guest_write(g, 0x1000, &v, 8);
	mv_guest_write(g, 0x3008, &v, 8);
	mv_guest_write(g, 0x40000000, &sync, 8);
	mv_guest_write(g, 0x3010, &v, 8);   /* write-protected again: logged again */
}

static void test_kvm_guest_dirty_log(void **state)
{
	struct kvmtest k;
	unsigned long bits[1] = { 0 };
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bits };
	struct kvm_run *run;
	uint64_t map;
	int vcpu;

	kt_setup(&k, 0);
	map = kt_mmap(&k, 64 * KT_PG);
	assert_int_equal(kt_region(&k, 0, KVM_MEM_LOG_DIRTY_PAGES, 0, 64 * KT_PG, map), 0);
	vcpu = kt_vcpu(&k, 0);
	run = kt_guest(&k, vcpu, guest_dirty, NULL);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_GET_DIRTY_LOG, &log), 0);
	assert_int_equal(bits[0], (1ul << 1) | (1ul << 3));
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_GET_DIRTY_LOG, &log), 0);
	assert_int_equal(bits[0], 0);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_GET_DIRTY_LOG, &log), 0);
	assert_int_equal(bits[0], 1ul << 3);
	kt_teardown(&k);
}

static void guest_write_twice(struct mv_guest *g, void *arg)
{
	uint64_t v = 1, sync = 0;

	mv_guest_write(g, 0x2000, &v, 8);
	mv_guest_write(g, 0x40000000, &sync, 8);
	mv_guest_write(g, 0x2008, &v, 8);
}

/* Turning logging on for a slot already mapped writable write-protects it. */
static void test_kvm_guest_dirty_log_enabled_late(void **state)
{
	struct kvmtest k;
	unsigned long bits[1] = { 0 };
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bits };
	uint64_t map;
	int vcpu;

	kt_setup(&k, 0);
	map = kt_mmap(&k, 64 * KT_PG);
	assert_int_equal(kt_region(&k, 0, 0, 0, 64 * KT_PG, map), 0);
	vcpu = kt_vcpu(&k, 0);
	kt_guest(&k, vcpu, guest_write_twice, NULL);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(kt_region(&k, 0, KVM_MEM_LOG_DIRTY_PAGES, 0, 64 * KT_PG, map), 0);
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_GET_DIRTY_LOG, &log), 0);
	assert_int_equal(bits[0], 0);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(mv_vcpu_run_area(k.t, vcpu)->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_GET_DIRTY_LOG, &log), 0);
	assert_int_equal(bits[0], 1ul << 2);
	/* moved, the slot keeps its log; turned off, the log is gone */
	assert_int_equal(kt_region(&k, 0, KVM_MEM_LOG_DIRTY_PAGES, 1ull << 30, 64 * KT_PG, map), 0);
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_GET_DIRTY_LOG, &log), 0);
	assert_int_equal(kt_region(&k, 0, 0, 1ull << 30, 64 * KT_PG, map), 0);
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_GET_DIRTY_LOG, &log), -ENOENT);
	kt_teardown(&k);
}

/* ---- guest paging: its own 4-level tables in guest memory ---- */

#define PT_P  1ull
#define PT_RW 2ull
#define PT_US 4ull

static void guest_paging(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;
	/* PML4 0x10000 -> PDPT 0x11000 -> PD 0x12000 -> PT 0x13000 */
	uint64_t e, v = 0xfeedfacecafebeefull;
	uint64_t cr0;

	e = 0x11000 | PT_P | PT_RW;
	mv_guest_write(g, 0x10000, &e, 8);
	e = 0x12000 | PT_P | PT_RW;
	mv_guest_write(g, 0x11000, &e, 8);
	e = 0x13000 | PT_P | PT_RW;
	mv_guest_write(g, 0x12000 + 2 * 8, &e, 8);               /* 4 MiB region */
	e = 0x20000 | PT_P | PT_RW;
	mv_guest_write(g, 0x13000, &e, 8);                      /* 0x400000 -> 0x20000 */
	e = 0x21000 | PT_P;
	mv_guest_write(g, 0x13000 + 8, &e, 8);                  /* 0x401000 -> 0x21000, RO */

	c->r[0] = mv_guest_write_cr(g, 0, (1ull << 31) | 1);    /* PG without PAE: #GP */
	mv_guest_last_fault(g, &c->f);
	c->v[0] = (uint64_t)c->f.vector;
	mv_guest_write_cr(g, 4, 1ull << 5);
	mv_guest_write_cr(g, 3, 0x10000);
	c->r[1] = mv_guest_write_cr(g, 0, (1ull << 31) | (1ull << 16) | 1);
	mv_guest_read_cr(g, 0, &cr0);
	c->v[1] = cr0;
	c->r[2] = mv_guest_write(g, 0x400010, &v, 8);
	c->r[3] = mv_guest_read(g, 0x400010, &c->v[2], 8);
	c->r[4] = mv_guest_write(g, 0x401000, &v, 8);           /* read-only PTE: #PF */
	mv_guest_last_fault(g, &c->f);
	c->v[3] = (uint64_t)c->f.vector;
	c->v[4] = c->f.error_code;
	c->v[5] = c->f.address;
	c->r[5] = mv_guest_read(g, 0x800000, &c->v[6], 8);      /* not mapped: #PF */
	mv_guest_last_fault(g, &c->f);
	c->v[7] = c->f.error_code;
	c->r[6] = mv_guest_fetch(g, 0x400000, 16);              /* NX clear: fetch works */
	c->r[7] = mv_guest_read(g, 0x8000000000000000ull, &c->v[8], 8);  /* non-canonical */
	mv_guest_last_fault(g, &c->f);
	c->v[9] = (uint64_t)c->f.vector;
	/* a write spanning a good and a faulting page changes nothing */
	c->r[8] = mv_guest_write(g, 0x400ffc, &v, 8);
}

static void test_kvm_guest_paging_two_stage(void **state)
{
	struct kvmtest k;
	struct gctx c = { 0 };
	struct kvm_run *run;
	uint64_t map, seen = 0;
	int vcpu;

	kt_setup(&k, 0);
	kt_ram(&k, &map);
	vcpu = kt_vcpu(&k, 0);
	run = kt_guest(&k, vcpu, guest_paging, &c);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(c.r[0], -EFAULT);
	assert_int_equal(c.v[0], 13);
	assert_int_equal(c.r[1], 0);
	assert_int_equal(c.v[1] >> 31, 1);
	assert_int_equal(c.r[2], 0);
	assert_int_equal(c.r[3], 0);
	assert_int_equal(c.v[2], 0xfeedfacecafebeefull);
	assert_int_equal(mv_user_read(k.t, map + 0x20010, &seen, 8), 0);   /* GPA 0x20010 */
	assert_int_equal(seen, 0xfeedfacecafebeefull);
	assert_int_equal(c.r[4], -EFAULT);
	assert_int_equal(c.v[3], 14);
	assert_int_equal(c.v[4], 0x3);          /* P | W */
	assert_int_equal(c.v[5], 0x401000);
	assert_int_equal(c.r[5], -EFAULT);
	assert_int_equal(c.v[7], 0);            /* not present, read */
	assert_int_equal(c.r[6], 0);
	assert_int_equal(c.r[7], -EFAULT);
	assert_int_equal(c.v[9], 13);
	assert_int_equal(c.r[8], -EFAULT);
	assert_int_equal(mv_user_read(k.t, map + 0x20ffc, &seen, 8), 0);
	assert_int_equal(seen, 0);
	/* KVM_GET_SREGS sees the guest's control registers */
	{
		struct kvm_sregs s;

		assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_GET_SREGS, &s), 0);
		assert_int_equal(s.cr3, 0x10000);
		assert_true(s.efer & (1ull << 10));
		assert_int_equal(s.cs.l, 1);
	}
	kt_teardown(&k);
}

/* ---- control registers ---- */

static void guest_crs(struct mv_guest *g, void *arg)
{
	static const struct { int cr; uint64_t v; long expect; int vector; } rows[] = {
		{ 0, 1ull << 32, -EFAULT, 13 },         /* reserved high bits */
		{ 0, 1ull << 29, -EFAULT, 13 },         /* NW without CD */
		{ 1, 0, -EFAULT, 6 },                   /* no CR1: #UD */
		{ 5, 0, -EFAULT, 6 },
		{ 8, 16, -EFAULT, 13 },
		{ 8, 15, 0, 0 },
		{ 4, 1ull << 30, -EFAULT, 13 },         /* reserved CR4 bit */
		{ 4, 1ull << 23, -EFAULT, 13 },         /* CET needs CR0.WP */
		{ 3, 1ull << 50, -EFAULT, 13 },
		{ 2, 0x1234, 0, 0 },
	};
	struct gctx *c = arg;
	struct mv_guest_fault f;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		long r = mv_guest_write_cr(g, rows[i].cr, rows[i].v);

		if (r != rows[i].expect)
			c->nr = (int)i + 1;
		if (r && (mv_guest_last_fault(g, &f) != 1 || f.vector != rows[i].vector))
			c->nr = (int)i + 100;
	}
	c->r[0] = mv_guest_read_cr(g, 7, &c->v[0]);
	c->r[1] = mv_guest_set_tag(g, 0x1000);      /* no MTE on this VM */
	mv_guest_last_fault(g, &f);
	c->v[1] = (uint64_t)f.vector;
}

static void test_kvm_guest_control_registers(void **state)
{
	struct kvmtest k;
	struct gctx c = { 0 };
	int vcpu;

	kt_setup(&k, 0);
	vcpu = kt_vcpu(&k, 0);
	kt_guest(&k, vcpu, guest_crs, &c);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(c.nr, 0);
	assert_int_equal(c.r[0], -EFAULT);
	assert_int_equal(c.r[1], -EFAULT);
	assert_int_equal(c.v[1], 6);
	kt_teardown(&k);
}

/* A program can be replaced; the new one starts from its beginning. */
static void guest_count(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;
	uint64_t sync = 0;

	c->nr++;
	mv_guest_write(g, 0x40000000, &sync, 8);
	c->nr++;
}

static void test_kvm_guest_replace_program(void **state)
{
	struct kvmtest k;
	struct gctx c = { 0 };
	int vcpu;

	kt_setup(&k, 0);
	vcpu = kt_vcpu(&k, 0);
	kt_guest(&k, vcpu, guest_count, &c);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(c.nr, 1);
	kt_guest(&k, vcpu, guest_count, &c);    /* the first is abandoned at its exit */
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(c.nr, 2);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(c.nr, 3);
	kt_teardown(&k);
}

static void guest_leak_handle(struct mv_guest *g, void *arg)
{
	*(struct mv_guest **)arg = g;
}

/* Outside KVM_RUN (on the VMM's own stack) the guest calls refuse to work. */
static void test_kvm_guest_calls_outside_run(void **state)
{
	struct mv_guest *g = NULL;
	struct kvmtest k;
	uint64_t v, cr;
	int vcpu;

	kt_setup(&k, 0);
	vcpu = kt_vcpu(&k, 0);
	kt_guest(&k, vcpu, guest_leak_handle, &g);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_non_null(g);
	assert_int_equal(mv_guest_read(g, 0, &v, 8), -EINVAL);
	assert_int_equal(mv_guest_write(g, 0, &v, 8), -EINVAL);
	assert_int_equal(mv_guest_fetch(g, 0, 8), -EINVAL);
	assert_int_equal(mv_guest_read_cr(g, 0, &cr), -EINVAL);
	assert_int_equal(mv_guest_write_cr(g, 0, 1), -EINVAL);
	assert_int_equal(mv_guest_hypercall(g, 1, 0, 0, 0, 0), -EINVAL);
	assert_int_equal(mv_guest_read(NULL, 0, &v, 8), -EINVAL);
	kt_teardown(&k);
}

/* ---- tracing: exits, stage-2 faults, memslot changes and invalidations ---- */

struct tsink {
	char text[8192];
	size_t len;
};

static void sink(void *ctx, const char *line, size_t len)
{
	struct tsink *t = ctx;

	if (t->len + len + 1 < sizeof(t->text)) {
		memcpy(t->text + t->len, line, len);
		t->len += len;
		t->text[t->len++] = '\n';
		t->text[t->len] = 0;
	}
}

static void test_kvm_guest_trace_events(void **state)
{
	struct tsink ts = { .len = 0 };
	struct kvmtest k;
	struct gctx c = { 0 };
	uint64_t map;
	int vcpu;

	kt_setup(&k, 0);
	mv_machine_set_trace(k.m, sink, &ts);
	kt_ram(&k, &map);
	vcpu = kt_vcpu(&k, 0);
	kt_guest(&k, vcpu, guest_punch, &c);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(mv_syscall(k.t, MV_SYS_madvise, map, 2 * MB, MADV_DONTNEED, 0, 0, 0), 0);
	mv_machine_set_trace(k.m, NULL, NULL);
	assert_non_null(strstr(ts.text, "\"kvm_memslot\""));
	assert_non_null(strstr(ts.text, "\"create\""));
	assert_non_null(strstr(ts.text, "\"kvm_s2_fault\""));
	assert_non_null(strstr(ts.text, "\"gpa\":\"0x3000\""));
	assert_non_null(strstr(ts.text, "\"kvm_exit\""));
	assert_non_null(strstr(ts.text, "\"reason\":6"));
	assert_non_null(strstr(ts.text, "\"kvm_invalidate\""));
	kt_teardown(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_guest_write_read_back),
		cmocka_unit_test(test_kvm_guest_mmio_exits),
		cmocka_unit_test(test_kvm_guest_memory_fault_exit),
		cmocka_unit_test(test_kvm_guest_sees_host_changes),
		cmocka_unit_test(test_kvm_guest_dirty_log),
		cmocka_unit_test(test_kvm_guest_dirty_log_enabled_late),
		cmocka_unit_test(test_kvm_guest_paging_two_stage),
		cmocka_unit_test(test_kvm_guest_control_registers),
		cmocka_unit_test(test_kvm_guest_replace_program),
		cmocka_unit_test(test_kvm_guest_trace_events),
		cmocka_unit_test(test_kvm_guest_calls_outside_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
