/* SPDX-License-Identifier: MIT */
/*
 * Exceptions KVM queues and the VMM sees (KVM_GET/SET_VCPU_EVENTS, as
 * kvm_vcpu_ioctl_x86_get/set_vcpu_events check them), and the one memvisor
 * raises itself: an instruction fetch where no memslot is cannot be
 * emulated (handle_emulation_failure), so KVM queues #UD and, at CPL 0,
 * exits with KVM_EXIT_INTERNAL_ERROR / KVM_INTERNAL_ERROR_EMULATION first.
 */
#include "kvmtest.h"
#include "hw/cpu.h"

#define MB (1ull << 20)
#define MMIO 0x40000000ull
#define VEC_UD 6
#define VEC_GP 13
#define EXIT_REASON_EPT_VIOLATION 48

struct ectx {
	long r[8];
	uint64_t v[8];
	struct mv_guest_fault f[4];
	int step;
};

static struct kvm_run *ke_vcpu(struct kvmtest *k, int *vcpu, mv_guest_fn fn, void *arg)
{
	uint64_t map = kt_mmap(k, 2 * MB);

	assert_int_equal(kt_region(k, 0, 0, 0, 2 * MB, map), 0);
	*vcpu = kt_vcpu(k, 0);
	assert_int_equal(mv_vcpu_set_guest(k->t, *vcpu, fn, arg), 0);
	return mv_vcpu_run_area(k->t, *vcpu);
}

static void ke_events(struct kvmtest *k, int vcpu, struct kvm_vcpu_events *ev)
{
	assert_int_equal(kt_ioctl_p(k->t, vcpu, KVM_GET_VCPU_EVENTS, ev), 0);
}

/* ---- fetching where no memslot is ---- */

static void guest_fetch_mmio(struct mv_guest *g, void *arg)
{
	struct ectx *c = arg;

	c->r[0] = mv_guest_fetch(g, MMIO + 0x10, 4);
	mv_guest_last_fault(g, &c->f[0]);
	c->step = 1;
	c->r[1] = mv_guest_fetch(g, 0x1000, 4);            /* RAM: fine */
	c->r[2] = mv_guest_fetch(g, 2 * MB - 8, 16);       /* runs from RAM into nothing */
	mv_guest_last_fault(g, &c->f[1]);
	c->step = 2;
}

/*
 * handle_emulation_failure at CPL 0: KVM_EXIT_INTERNAL_ERROR with the
 * emulation-failure layout (flags, then VMX's exit information), #UD
 * queued and visible as an event; the next KVM_RUN delivers it.
 */
static void test_kvm_events_fetch_without_memslot_is_emulation_failure(void **state)
{
	struct ectx c = { .step = 0 };
	struct kvm_vcpu_events ev;
	struct kvm_run *run;
	struct kvmtest k;
	int vcpu;

	kt_setup(&k, 0);
	run = ke_vcpu(&k, &vcpu, guest_fetch_mmio, &c);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_INTERNAL_ERROR);
	assert_int_equal(run->emulation_failure.suberror, KVM_INTERNAL_ERROR_EMULATION);
	assert_int_equal(run->emulation_failure.ndata, 6);
	assert_int_equal(run->emulation_failure.flags, 0);   /* no instruction bytes */
	assert_int_equal(run->internal.data[1], EXIT_REASON_EPT_VIOLATION);
	assert_true(run->internal.data[2] & EPT_QUAL_FETCH);
	assert_int_equal(c.step, 0);
	ke_events(&k, vcpu, &ev);
	assert_int_equal(ev.exception.injected, 1);          /* pending, reported as injected */
	assert_int_equal(ev.exception.pending, 0);
	assert_int_equal(ev.exception.nr, VEC_UD);

	assert_int_equal(kt_run(&k, vcpu), 0);               /* the #UD, then the second fetch */
	assert_int_equal(run->exit_reason, KVM_EXIT_INTERNAL_ERROR);
	assert_int_equal(c.step, 1);
	assert_int_equal(c.r[0], -EFAULT);
	assert_int_equal(c.f[0].vector, VEC_UD);
	assert_int_equal(c.r[1], 0);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(c.r[2], -EFAULT);
	assert_int_equal(c.f[1].vector, VEC_UD);
	ke_events(&k, vcpu, &ev);
	assert_int_equal(ev.exception.injected, 0);          /* delivered */
	kt_teardown(&k);
}

/* KVM_SET_REGS drops an exception KVM raised (__set_regs): the fetch is tried again. */
static void test_kvm_events_set_regs_drops_the_ud(void **state)
{
	struct ectx c = { .step = 0 };
	struct kvm_regs regs;
	struct kvm_run *run;
	struct kvmtest k;
	int vcpu;

	kt_setup(&k, 0);
	run = ke_vcpu(&k, &vcpu, guest_fetch_mmio, &c);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_INTERNAL_ERROR);
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_GET_REGS, &regs), 0);
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_SET_REGS, &regs), 0);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_INTERNAL_ERROR);
	assert_int_equal(c.step, 0);                         /* the same fetch failed again */
	kt_teardown(&k);
}

/* At CPL 3 the guest takes the #UD without an exit to the VMM. */
static void test_kvm_events_fetch_at_cpl3_is_a_plain_ud(void **state)
{
	struct ectx c = { .step = 0 };
	struct kvm_sregs s;
	struct kvm_run *run;
	struct kvmtest k;
	int vcpu;

	kt_setup(&k, 0);
	run = ke_vcpu(&k, &vcpu, guest_fetch_mmio, &c);
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_GET_SREGS, &s), 0);
	s.ss.dpl = 3;
	s.cs.dpl = 3;
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_SET_SREGS, &s), 0);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(c.r[0], -EFAULT);
	assert_int_equal(c.f[0].vector, VEC_UD);
	assert_int_equal(c.r[2], -EFAULT);
	kt_teardown(&k);
}

/* ---- KVM_SET_VCPU_EVENTS ---- */

struct events_row {
	const char *name;
	uint32_t flags;
	uint8_t injected, pending, nr, smm, smi_pending, triple_fault;
	long expect;
	bool queued;       /* afterwards an exception is queued */
};

static const struct events_row events_rows[] = {
	{ "nothing", 0, 0, 0, 0, 0, 0, 0, 0, false },
	{ "all_known_flags_but_payload_and_triple", KVM_VCPUEVENT_VALID_NMI_PENDING |
	  KVM_VCPUEVENT_VALID_SIPI_VECTOR | KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM,
	  0, 0, 0, 0, 0, 0, 0, false },
	{ "unknown_flag", 1u << 6, 0, 0, 0, 0, 0, 0, -EINVAL, false },
	{ "payload_without_cap", KVM_VCPUEVENT_VALID_PAYLOAD, 0, 0, 0, 0, 0, 0, -EINVAL, false },
	{ "inject_gp", 0, 1, 0, VEC_GP, 0, 0, 0, 0, true },
	{ "inject_vector_31", 0, 1, 0, 31, 0, 0, 0, 0, true },
	{ "inject_vector_32", 0, 1, 0, 32, 0, 0, 0, -EINVAL, false },
	{ "inject_nmi_vector", 0, 1, 0, 2, 0, 0, 0, -EINVAL, false },
	/* without VALID_PAYLOAD "pending" is ignored: nothing is queued */
	{ "pending_ignored", 0, 0, 1, 32, 0, 0, 0, 0, false },
	/* no SMM: refused, after the exception was taken (as Linux without CONFIG_KVM_SMM) */
	{ "smm", KVM_VCPUEVENT_VALID_SMM, 1, 0, VEC_GP, 1, 0, 0, -EINVAL, true },
	{ "smi_pending", KVM_VCPUEVENT_VALID_SMM, 0, 0, 0, 0, 1, 0, -EINVAL, false },
	{ "smm_ignored_without_flag", 0, 0, 0, 0, 1, 1, 0, 0, false },
	{ "triple_fault_without_cap", KVM_VCPUEVENT_VALID_TRIPLE_FAULT, 0, 0, 0, 0, 0, 0,
	  -EINVAL, false },
};

static void test_kvm_events_set_errno_table(void **state)
{
	for (size_t i = 0; i < sizeof(events_rows) / sizeof(events_rows[0]); i++) {
		const struct events_row *row = &events_rows[i];
		struct kvm_vcpu_events ev;
		struct kvmtest k;
		long r;
		int vcpu;

		kt_setup(&k, 0);
		vcpu = kt_vcpu(&k, 0);
		memset(&ev, 0, sizeof(ev));
		ev.flags = row->flags;
		ev.exception.injected = row->injected;
		ev.exception.pending = row->pending;
		ev.exception.nr = row->nr;
		ev.smi.smm = row->smm;
		ev.smi.pending = row->smi_pending;
		r = kt_ioctl_p(k.t, vcpu, KVM_SET_VCPU_EVENTS, &ev);
		ke_events(&k, vcpu, &ev);
		if (r != row->expect || ev.exception.injected != row->queued)
			fail_msg("%s: got %ld (want %ld), exception queued %d (want %d)", row->name, r,
				 row->expect, ev.exception.injected, row->queued);
		kt_teardown(&k);
	}
}

static void test_kvm_events_get_reports_no_interrupt_state(void **state)
{
	struct kvm_vcpu_events ev;
	struct kvmtest k;
	int vcpu;

	kt_setup(&k, 0);
	vcpu = kt_vcpu(&k, 0);
	memset(&ev, 0xff, sizeof(ev));
	ke_events(&k, vcpu, &ev);
	assert_int_equal(ev.flags, KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW |
				   KVM_VCPUEVENT_VALID_SMM);
	assert_int_equal(ev.exception.injected | ev.interrupt.injected | ev.nmi.pending |
			 ev.nmi.masked | ev.interrupt.shadow | ev.smi.smm, 0);
	assert_int_equal(kt_ioctl(k.t, vcpu, KVM_GET_VCPU_EVENTS, 0), -EFAULT);
	assert_int_equal(kt_ioctl(k.t, vcpu, KVM_SET_VCPU_EVENTS, 0), -EFAULT);
	kt_teardown(&k);
}

static void guest_mmio_then_calls(struct mv_guest *g, void *arg)
{
	struct ectx *c = arg;
	uint64_t v = 0;

	c->r[0] = mv_guest_read(g, MMIO, &c->v[0], 8);
	c->step = 1;
	c->r[1] = mv_guest_read(g, 0x1000, &v, 8);
	mv_guest_last_fault(g, &c->f[0]);
	c->step = 2;
	c->r[2] = mv_guest_read(g, 0x1000, &v, 8);
	c->step = 3;
}

/*
 * An exception the VMM injects while the guest waits in an MMIO exit: the
 * MMIO read completes first (complete_userspace_io), and the guest takes
 * the exception instead of its next instruction.
 */
static void test_kvm_events_injected_exception_reaches_the_guest(void **state)
{
	struct ectx c = { .step = 0 };
	struct kvm_vcpu_events ev;
	struct kvm_run *run;
	struct kvmtest k;
	uint64_t data = 0x1122334455667788ull;
	int vcpu;

	kt_setup(&k, 0);
	run = ke_vcpu(&k, &vcpu, guest_mmio_then_calls, &c);
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_MMIO);
	memcpy(run->mmio.data, &data, 8);
	memset(&ev, 0, sizeof(ev));
	ev.exception.injected = 1;
	ev.exception.nr = VEC_GP;
	ev.exception.has_error_code = 1;
	ev.exception.error_code = 0x18;
	assert_int_equal(kt_ioctl_p(k.t, vcpu, KVM_SET_VCPU_EVENTS, &ev), 0);
	/* not ready for an interrupt while an exception waits */
	run->kvm_valid_regs = KVM_SYNC_X86_EVENTS;
	run->immediate_exit__unsafe = 1;
	assert_int_equal(kt_run(&k, vcpu), -EINTR);          /* completes the MMIO read only */
	assert_int_equal(c.step, 1);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.v[0], data);
	assert_int_equal(run->s.regs.events.exception.injected, 1);
	assert_int_equal(run->s.regs.events.exception.nr, VEC_GP);
	run->immediate_exit__unsafe = 0;
	assert_int_equal(kt_run(&k, vcpu), 0);
	assert_int_equal(run->exit_reason, KVM_EXIT_HLT);
	assert_int_equal(c.r[1], -EFAULT);
	assert_int_equal(c.f[0].vector, VEC_GP);
	assert_int_equal(c.f[0].error_code, 0x18);
	assert_int_equal(c.r[2], 0);
	assert_int_equal(run->s.regs.events.exception.injected, 0);
	kt_teardown(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_events_fetch_without_memslot_is_emulation_failure),
		cmocka_unit_test(test_kvm_events_set_regs_drops_the_ud),
		cmocka_unit_test(test_kvm_events_fetch_at_cpl3_is_a_plain_ud),
		cmocka_unit_test(test_kvm_events_set_errno_table),
		cmocka_unit_test(test_kvm_events_get_reports_no_interrupt_state),
		cmocka_unit_test(test_kvm_events_injected_exception_reaches_the_guest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
