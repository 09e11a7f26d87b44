/* SPDX-License-Identifier: MIT */
/*
 * KVM_RUN and its run area, as kvm_vcpu_ioctl() and x86's
 * kvm_arch_vcpu_ioctl_run() treat them: immediate_exit finishes the exit
 * left pending (complete_userspace_io) and returns -EINTR with exit_reason
 * untouched; kvm_valid_regs / kvm_dirty_regs are checked (-EINVAL on
 * unknown bits) and honoured through s.regs (sync_regs, store_regs); cr8
 * goes in and out; if_flag, apic_base, ready_for_interrupt_injection and
 * flags come out (post_kvm_run_save).
 */
#include "kvmtest.h"

#define MB (1ull << 20)
#define MMIO 0x40000000ull
#define RFLAGS_IF (1ull << 9)

struct rctx {
	long r[8];
	uint64_t v[8];
	int step;          /* how far the guest program got */
};

static struct kvm_run *kt_ram_vcpu(struct kvmtest *k, uint64_t *map, int *vcpu, mv_guest_fn fn,
				   void *arg)
{
	*map = kt_mmap(k, 2 * MB);
	assert_int_equal(kt_region(k, 0, 0, 0, 2 * MB, *map), 0);
	*vcpu = kt_vcpu(k, 0);
	if (fn)
		assert_int_equal(mv_vcpu_set_guest(k->t, *vcpu, fn, arg), 0);
	return mv_vcpu_run_area(k->t, *vcpu);
}

static uint64_t kt_read_u64(struct kvmtest *k, uint64_t addr)
{
	uint64_t v = 0;

	assert_int_equal(mv_user_read(k->t, addr, &v, 8), 0);
	return v;
}

/* ---- immediate_exit ---- */

/* Nothing pending: -EINTR at once, the guest never starts, exit_reason is untouched. */
static void test_kvm_run_immediate_exit_nothing_pending(void **state)
{
	struct kvm_run *run;
	struct kvmtest k;
	uint64_t map;
	int vcpu;

	kt_setup(&k, 0);
	run = kt_ram_vcpu(&k, &map, &vcpu, NULL, NULL);
	run->immediate_exit__unsafe = 1;
	assert_int_equal(kt_run(&k, vcpu), -EINTR);
	assert_int_equal(run->exit_reason, KVM_EXIT_UNKNOWN);   /* nothing ever exited */
	kt_teardown(&k);
}

/* read MMIO; remember it; write a marker to RAM; done */
static void guest_mmio_read_then_mark(struct mv_guest *g, void *arg)
{
	struct rctx *c = arg;
	uint64_t mark = 0x600d;

	c->r[0] = mv_guest_read(g, MMIO, &c->v[0], 4);
	c->step = 1;
	c->r[1] = mv_guest_write(g, 0x1000, &mark, 8);
	c->step = 2;
}

/*
 * complete_userspace_io runs before the immediate_exit check: the MMIO
 * read takes the VMM's data, and the guest stops before its next
 * instruction, with the MMIO exit still in the run area.
 */
static void test_kvm_run_immediate_exit_completes_mmio(void **state)
{
	struct rctx c = { .step = 0 };
	struct kvm_run *run;
	struct kvmtest k;
	uint32_t data = 0xfeedbeef;
	uint64_t map;
	int vcpu;

	kt_setup(&k, 0);
	run = kt_ram_vcpu(&k, &map, &vcpu, guest_mmio_read_then_mark, &c);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
	memcpy(run->mmio.data, &data, 4);
	run->immediate_exit__unsafe = 1;
	assert_int_equal(kt_run(&k, vcpu), -EINTR);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
	assert_int_equal(c.step, 1);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.v[0], 0xfeedbeef);
	assert_int_equal(kt_read_u64(&k, map + 0x1000), 0);      /* the next instruction waits */
	/* again: nothing is pending any more */
	assert_int_equal(kt_run(&k, vcpu), -EINTR);
	assert_int_equal(c.step, 1);
	run->immediate_exit__unsafe = 0;
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(c.step, 2);
	assert_int_equal(kt_read_u64(&k, map + 0x1000), 0x600d);
	kt_teardown(&k);
}

static void guest_mmio_write_12(struct mv_guest *g, void *arg)
{
	struct rctx *c = arg;
	uint8_t big[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	uint64_t mark = 1;

	c->r[0] = mv_guest_write(g, MMIO, big, sizeof(big));
	c->step = 1;
	c->r[1] = mv_guest_write(g, 0x2000, &mark, 8);
	c->step = 2;
}

/*
 * A 12-byte MMIO write is two fragments: completing the first needs the
 * second exit, which KVM_RUN returns (0) even with immediate_exit set
 * (complete_emulated_mmio); completing the second ends with -EINTR.
 */
static void test_kvm_run_immediate_exit_next_fragment(void **state)
{
	struct rctx c = { .step = 0 };
	struct kvm_run *run;
	struct kvmtest k;
	uint64_t map;
	int vcpu;

	kt_setup(&k, 0);
	run = kt_ram_vcpu(&k, &map, &vcpu, guest_mmio_write_12, &c);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->mmio.len, 8);
	run->immediate_exit__unsafe = 1;
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
	assert_int_equal(run->mmio.phys_addr, MMIO + 8);
	assert_int_equal(run->mmio.len, 4);
	assert_int_equal(c.step, 0);
	assert_int_equal(kt_run(&k, vcpu), -EINTR);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
	assert_int_equal(run->mmio.phys_addr, MMIO + 8);
	assert_int_equal(c.step, 1);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(kt_read_u64(&k, map + 0x2000), 0);
	run->immediate_exit__unsafe = 0;
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(c.step, 2);
	kt_teardown(&k);
}

static void guest_map_gpa_then_mark(struct mv_guest *g, void *arg)
{
	struct rctx *c = arg;
	uint64_t mark = 1;

	c->r[0] = mv_guest_hypercall(g, KVM_HC_MAP_GPA_RANGE, 0x1000, 1, 0, 0);
	c->step = 1;
	c->r[1] = mv_guest_write(g, 0x3000, &mark, 8);
	c->step = 2;
}

/* complete_hypercall_exit: the VMM's run->hypercall.ret reaches the guest first. */
static void test_kvm_run_immediate_exit_completes_hypercall(void **state)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_EXIT_HYPERCALL,
				      .args = { 1ull << KVM_HC_MAP_GPA_RANGE } };
	struct rctx c = { .step = 0 };
	struct kvm_run *run;
	struct kvmtest k;
	uint64_t map;
	int vcpu;

	kt_setup(&k, 0);
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_ENABLE_CAP, &cap), 0);
	run = kt_ram_vcpu(&k, &map, &vcpu, guest_map_gpa_then_mark, &c);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HYPERCALL);
	run->hypercall.ret = (uint64_t)-KVM_EINVAL;
	run->immediate_exit__unsafe = 1;
	assert_int_equal(kt_run(&k, vcpu), -EINTR);
	assert_int_equal(run->exit_reason, KVM_EXIT_HYPERCALL);
	assert_int_equal(c.step, 1);
	assert_int_equal(c.r[0], -KVM_EINVAL);
	assert_int_equal(kt_read_u64(&k, map + 0x3000), 0);
	kt_teardown(&k);
}

static void guest_touch_hole(struct mv_guest *g, void *arg)
{
	struct rctx *c = arg;
	uint64_t v = 5;

	c->r[0] = mv_guest_write(g, 4 * MB, &v, 8);
	c->step = 1;
}

/*
 * A memory fault has nothing to complete: the access is retried on a
 * later entry, so immediate_exit does not let the guest run at all.
 */
static void test_kvm_run_immediate_exit_after_memory_fault(void **state)
{
	struct rctx c = { .step = 0 };
	struct kvm_run *run;
	struct kvmtest k;
	uint64_t map, hole;
	int vcpu;

	kt_setup(&k, 0);
	run = kt_ram_vcpu(&k, &map, &vcpu, guest_touch_hole, &c);
	hole = kt_mmap(&k, 2 * MB);
	assert_int_equal(mv_syscall(k.t, MV_SYS_munmap, hole, 2 * MB, 0, 0, 0, 0), 0);
	assert_int_equal(kt_region(&k, 1, 0, 4 * MB, 2 * MB, hole), 0);
	assert_int_equal(kt_run(&k, vcpu), -EFAULT);
	assert_int_equal(run->exit_reason, KVM_EXIT_MEMORY_FAULT);
	assert_int_equal(mv_syscall(k.t, MV_SYS_mmap, hole, 2 * MB, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, (uint64_t)-1, 0),
			 (long)hole);
	run->immediate_exit__unsafe = 1;
	assert_int_equal(kt_run(&k, vcpu), -EINTR);
	assert_int_equal(run->exit_reason, KVM_EXIT_MEMORY_FAULT);
	assert_int_equal(c.step, 0);
	assert_int_equal(kt_read_u64(&k, hole), 0);
	run->immediate_exit__unsafe = 0;
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(kt_read_u64(&k, hole), 5);
	kt_teardown(&k);
}

/* ---- kvm_valid_regs, kvm_dirty_regs, cr8: checked before anything runs ---- */

struct sync_row {
	const char *name;
	uint64_t valid, dirty, cr8;
	void (*poison)(struct kvm_run *run);
	long expect;       /* with immediate_exit set: -EINTR when everything was accepted */
	uint64_t dirty_left;
};

static void poison_sregs(struct kvm_run *run)
{
	run->s.regs.sregs.cr0 |= 1ull << 63;       /* reserved: kvm_is_valid_sregs fails */
}

static void poison_apic_base(struct kvm_run *run)
{
	run->s.regs.sregs.apic_base |= 1ull << 40;  /* above the guest's MAXPHYADDR */
}

static void poison_events(struct kvm_run *run)
{
	run->s.regs.events.flags = 1u << 7;        /* unknown KVM_VCPUEVENT_VALID_* */
}

static void poison_events_vector(struct kvm_run *run)
{
	run->s.regs.events.exception.injected = 1;
	run->s.regs.events.exception.nr = 2;       /* NMI is no exception */
}

static const struct sync_row sync_rows[] = {
	{ "all_valid", KVM_SYNC_X86_VALID_FIELDS, 0, 0, NULL, -EINTR, 0 },
	{ "valid_unknown_bit", 1u << 3, 0, 0, NULL, -EINVAL, 0 },
	{ "valid_bit_63", 1ull << 63, 0, 0, NULL, -EINVAL, 0 },
	{ "dirty_unknown_bit", 0, 1u << 3, 0, NULL, -EINVAL, 1u << 3 },
	{ "dirty_all_clean_state", KVM_SYNC_X86_VALID_FIELDS, KVM_SYNC_X86_VALID_FIELDS, 0, NULL,
	  -EINTR, 0 },
	{ "dirty_sregs_invalid", 0, KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS, 0, poison_sregs,
	  -EINVAL, KVM_SYNC_X86_SREGS },
	{ "dirty_apic_base_reserved", 0, KVM_SYNC_X86_SREGS, 0, poison_apic_base, -EINVAL,
	  KVM_SYNC_X86_SREGS },
	{ "dirty_events_flags", 0, KVM_SYNC_X86_EVENTS, 0, poison_events, -EINVAL,
	  KVM_SYNC_X86_EVENTS },
	{ "dirty_events_nmi_vector", 0, KVM_SYNC_X86_EVENTS, 0, poison_events_vector, -EINVAL,
	  KVM_SYNC_X86_EVENTS },
	{ "cr8_15", 0, 0, 15, NULL, -EINTR, 0 },
	{ "cr8_reserved", 0, 0, 16, NULL, -EINVAL, 0 },
};

/*
 * Each row on a fresh vCPU, with immediate_exit set: what is refused is
 * -EINVAL before the immediate exit; what is accepted ends in -EINTR. The
 * dirty bits of the parts loaded are cleared, a refused part's stays.
 */
static void test_kvm_run_sync_regs_errno_table(void **state)
{
	for (size_t i = 0; i < sizeof(sync_rows) / sizeof(sync_rows[0]); i++) {
		const struct sync_row *row = &sync_rows[i];
		struct kvm_run *run;
		struct kvmtest k;
		uint64_t map;
		long r;
		int vcpu;

		kt_setup(&k, 0);
		run = kt_ram_vcpu(&k, &map, &vcpu, NULL, NULL);
		/* start from the vCPU's own state, as a VMM would */
		assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_GET_REGS, &run->s.regs.regs), 0);
		assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_GET_SREGS, &run->s.regs.sregs), 0);
		assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_GET_VCPU_EVENTS, &run->s.regs.events), 0);
		if (row->poison)
			row->poison(run);
		run->kvm_valid_regs = row->valid;
		run->kvm_dirty_regs = row->dirty;
		run->cr8 = row->cr8;
		run->immediate_exit__unsafe = 1;
		r = kt_run(&k, vcpu);
		if (r != row->expect || run->kvm_dirty_regs != row->dirty_left)
			fail_msg("%s: got %ld (want %ld), dirty bits left 0x%llx (want 0x%llx)",
				 row->name, r, row->expect, (unsigned long long)run->kvm_dirty_regs,
				 (unsigned long long)row->dirty_left);
		kt_teardown(&k);
	}
}

/* Registers written into s.regs reach the vCPU; the valid parts come back. */
static void test_kvm_run_sync_regs_round_trip(void **state)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_run *run;
	struct kvmtest k;
	uint64_t map;
	int vcpu;

	kt_setup(&k, 0);
	run = kt_ram_vcpu(&k, &map, &vcpu, NULL, NULL);
	run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
	assert_int_equal(kt_run(&k, vcpu), 0);              /* no program: HLT */
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_GET_REGS, &regs), 0);
	assert_int_equal(memcmp(&regs, &run->s.regs.regs, sizeof(regs)), 0);
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_GET_SREGS, &sregs), 0);
	assert_int_equal(memcmp(&sregs, &run->s.regs.sregs, sizeof(sregs)), 0);
	assert_int_equal(run->s.regs.sregs.apic_base, 0xfee00900);

	run->s.regs.regs.rax = 0x1234;
	run->s.regs.regs.rip = 0x8000;
	run->s.regs.sregs.cr2 = 0xabc000;
	run->kvm_dirty_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->kvm_dirty_regs, 0);
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_GET_REGS, &regs), 0);
	assert_int_equal(regs.rax, 0x1234);
	assert_int_equal(regs.rip, 0x8000);
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_GET_SREGS, &sregs), 0);
	assert_int_equal(sregs.cr2, 0xabc000);
	/* not asked for: s.regs is left alone */
	run->kvm_valid_regs = 0;
	run->s.regs.regs.rax = 0x99;
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->s.regs.regs.rax, 0x99);
	kt_teardown(&k);
}

/* ---- cr8, apic_base, if_flag, ready_for_interrupt_injection, flags ---- */

static void guest_cr8(struct mv_guest *g, void *arg)
{
	struct rctx *c = arg;
	uint64_t s = 0;

	c->r[0] = mv_guest_write_cr(g, 8, 7);
	mv_guest_write(g, MMIO, &s, 8);
	c->r[1] = mv_guest_read_cr(g, 8, &c->v[0]);
}

static void test_kvm_run_cr8_in_and_out(void **state)
{
	struct rctx c = { .step = 0 };
	struct kvm_sregs sregs;
	struct kvm_run *run;
	struct kvmtest k;
	uint64_t map;
	int vcpu;

	kt_setup(&k, 0);
	run = kt_ram_vcpu(&k, &map, &vcpu, guest_cr8, &c);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
	assert_int_equal(run->cr8, 7);                      /* out: the guest's TPR */
	run->cr8 = 3;                                       /* in: the VMM's */
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(c.r[1], 0);
	assert_int_equal(c.v[0], 3);
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_GET_SREGS, &sregs), 0);
	assert_int_equal(sregs.cr8, 3);
	/* KVM_SET_SREGS ignores a CR8 with reserved bits (kvm_set_cr8's result is dropped) */
	sregs.cr8 = 0x10;
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_SET_SREGS, &sregs), 0);
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_GET_SREGS, &sregs), 0);
	assert_int_equal(sregs.cr8, 3);
	kt_teardown(&k);
}

static void test_kvm_run_output_fields(void **state)
{
	struct kvm_regs regs;
	struct kvm_run *run, *run1;
	struct kvmtest k;
	uint64_t map;
	int vcpu, vcpu1;

	kt_setup(&k, 0);
	run = kt_ram_vcpu(&k, &map, &vcpu, NULL, NULL);
	vcpu1 = kt_vcpu(&k, 1);
	run1 = mv_vcpu_run_area(k.t, vcpu1);
	run->flags = 0xffff;                                /* output only: cleared */
	run->if_flag = 1;
	run->ready_for_interrupt_injection = 1;
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->flags, 0);
	assert_int_equal(run->if_flag, 0);                  /* RFLAGS.IF clear at reset */
	assert_int_equal(run->ready_for_interrupt_injection, 0);
	assert_int_equal(run->apic_base, 0xfee00900);       /* enabled, BSP */
	assert_int_equal(kt_run(&k, vcpu1), 0);
	assert_int_equal(run1->apic_base, 0xfee00800);      /* enabled, AP */

	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_GET_REGS, &regs), 0);
	regs.rflags |= RFLAGS_IF;
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_SET_REGS, &regs), 0);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->if_flag, 1);
	assert_int_equal(run->ready_for_interrupt_injection, 1);
	/* even a refused KVM_RUN fills them */
	run->if_flag = 0;
	run->cr8 = 99;
	assert_int_equal(kt_run(&k, vcpu), -EINVAL);
	assert_int_equal(run->if_flag, 1);
	assert_int_equal(run->cr8, 0);
	kt_teardown(&k);
}

/* KVM_SET_SREGS and the APIC base (kvm_apic_set_base for the host). */
static void test_kvm_run_apic_base_errno_table(void **state)
{
	static const struct {
		const char *name;
		uint64_t apic_base;
		long expect;
	} rows[] = {
		{ "unchanged", 0xfee00900, 0 },
		{ "disabled", 0, 0 },
		{ "moved", 0xfed00900, 0 },
		{ "ap", 0xfee00800, 0 },
		{ "below_maxphyaddr_36", 0xffff00800ull, 0 },
		{ "above_maxphyaddr_36", 1ull << 36 | 0xfee00800, -EINVAL },
		{ "reserved_low_bits", 0xfee00801, -EINVAL },
		{ "reserved_bit_9", 0xfee00a00, -EINVAL },
		{ "x2apic_without_cpuid", 0xfee00c00, -EINVAL },
	};
	struct kvm_sregs s;
	struct kvmtest k;
	int vcpu;

	kt_setup(&k, 0);
	vcpu = kt_vcpu(&k, 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		long r;

		assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_GET_SREGS, &s), 0);
		s.apic_base = rows[i].apic_base;
		r = kt_ioctl_p(k.t, vcpu, KVM_SET_SREGS, &s);
		if (r != rows[i].expect)
			fail_msg("%s: got %ld, want %ld", rows[i].name, r, rows[i].expect);
		assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_GET_SREGS, &s), 0);
		if (!r && s.apic_base != rows[i].apic_base)
			fail_msg("%s: apic_base 0x%llx not kept", rows[i].name,
				 (unsigned long long)s.apic_base);
	}
	kt_teardown(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_run_immediate_exit_nothing_pending),
		cmocka_unit_test(test_kvm_run_immediate_exit_completes_mmio),
		cmocka_unit_test(test_kvm_run_immediate_exit_next_fragment),
		cmocka_unit_test(test_kvm_run_immediate_exit_completes_hypercall),
		cmocka_unit_test(test_kvm_run_immediate_exit_after_memory_fault),
		cmocka_unit_test(test_kvm_run_sync_regs_errno_table),
		cmocka_unit_test(test_kvm_run_sync_regs_round_trip),
		cmocka_unit_test(test_kvm_run_cr8_in_and_out),
		cmocka_unit_test(test_kvm_run_output_fields),
		cmocka_unit_test(test_kvm_run_apic_base_errno_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
