/* SPDX-License-Identifier: MIT */
/*
 * The VMM skeleton: a VM with N vCPUs and RAM, guests run to completion on
 * their own threads, exits handled and counted, bad configurations refused.
 */
#include <stdio.h>
#include <string.h>

#include "mvtest.h"
#include "vmm/vmm.h"

#define MB (1ull << 20)

struct vg {
	unsigned int id;
	uint64_t seen;
	long r;
};

static void guest_work(struct mv_guest *g, void *arg)
{
	struct vg *c = arg;
	uint64_t v = 0x100 + c->id, io = 0;

	c->r = mv_guest_write(g, 0x1000 * (c->id + 1), &v, 8);
	c->r |= mv_guest_read(g, 0x1000 * (c->id + 1), &c->seen, 8);
	c->r |= mv_guest_write(g, 0xfee00000, &v, 4);      /* an MMIO write */
	c->r |= mv_guest_read(g, 0xfee00000, &io, 4);      /* and a read: 0x2a */
	if (io != 0x2a)
		c->r = -1;
	c->r |= mv_guest_hypercall(g, KVM_HC_VAPIC_POLL_IRQ, 0, 0, 0, 0);
}

static void mmio_hook(void *ctx, unsigned int vcpu, struct kvm_run *run)
{
	if (!run->mmio.is_write)
		run->mmio.data[0] = 0x2a;
}

static void test_vmm_run_vcpus_to_completion(void **state)
{
	struct vmm_config cfg = { .nr_vcpus = 4, .ram_bytes = 4 * MB };
	struct vmm_hooks hooks = { .mmio = mmio_hook };
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	struct vg g[4];
	struct vmm *v;

	assert_int_equal(vmm_create(t, &cfg, &v), 0);
	vmm_set_hooks(v, &hooks);
	for (unsigned int i = 0; i < 4; i++) {
		g[i] = (struct vg){ .id = i };
		assert_int_equal(vmm_set_guest(v, i, guest_work, &g[i]), 0);
	}
	assert_int_equal(vmm_run(v), 0);
	for (unsigned int i = 0; i < 4; i++) {
		struct vmm_exit_stats s;
		uint64_t seen = 0;

		assert_int_equal(g[i].r, 0);
		assert_int_equal(g[i].seen, 0x100 + i);
		assert_int_equal(mv_user_read(t, vmm_gpa_to_uaddr(v, 0x1000 * (i + 1)), &seen, 8), 0);
		assert_int_equal(seen, 0x100 + i);
		vmm_exit_stats(v, i, &s);
		assert_int_equal(s.hlt, 1);
		assert_int_equal(s.mmio_write, 1);
		assert_int_equal(s.mmio_read, 1);
	}
	assert_int_equal(vmm_gpa_to_uaddr(v, 4 * MB), 0);
	vmm_destroy(v);
	mv_machine_destroy(m);
}

static void test_vmm_bad_config(void **state)
{
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	struct vmm_config rows[] = {
		{ .nr_vcpus = 0, .ram_bytes = MB },
		{ .nr_vcpus = VMM_MAX_VCPUS + 1, .ram_bytes = MB },
		{ .nr_vcpus = 1, .ram_bytes = 0 },
		{ .nr_vcpus = 1, .ram_bytes = MB + 1 },
		{ .nr_vcpus = 1, .ram_bytes = MB, .ram_gpa = 12 },
	};
	struct vmm_config bad_type = { .nr_vcpus = 1, .ram_bytes = MB, .vm_type = 7 };
	struct vmm *v;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		assert_int_equal(vmm_create(t, &rows[i], &v), -EINVAL);
	assert_int_equal(vmm_create(t, &bad_type, &v), -EINVAL);
	mv_machine_destroy(m);
}

static void test_vmm_exit_format(void **state)
{
	struct kvm_run run;
	char buf[128];

	memset(&run, 0, sizeof(run));
	run.exit_reason = KVM_EXIT_MMIO;
	run.mmio.phys_addr = 0x1000;
	run.mmio.len = 4;
	run.mmio.is_write = 1;
	vmm_exit_format(&run, buf, sizeof(buf));
	assert_string_equal(buf, "MMIO write gpa=0x1000 len=4");
	run.exit_reason = KVM_EXIT_HLT;
	vmm_exit_format(&run, buf, sizeof(buf));
	assert_string_equal(buf, "HLT (5)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vmm_run_vcpus_to_completion),
		cmocka_unit_test(test_vmm_bad_config),
		cmocka_unit_test(test_vmm_exit_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
