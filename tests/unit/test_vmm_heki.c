/* SPDX-License-Identifier: MIT */
/*
 * The VMM reports Heki events: with vmm_enable_heki it counts the
 * configure and denial exits, hands each to its observer (formatted by
 * vmm_exit_format) and lets the guest go on; the guest still takes its
 * fault.
 */
#include <stdio.h>
#include <string.h>

#include "mvtest.h"
#include "vmm/vmm.h"

#define MB (1ull << 20)

struct hg {
	long r[4];
	int vec;
};

struct seen {
	char lines[8][128];
	int n;
};

/* Paging stays off: GVA == GPA, and the hypercall's list address fits 32 bits. */
static void guest_heki(struct mv_guest *g, void *arg)
{
	struct hg *c = arg;
	struct heki_page_list l = { .npages = 1 };
	struct heki_pages e = { .pa = 0x100000, .epa = 0x101000, .permissions = MEM_ATTR_READ };
	struct mv_guest_fault f;
	uint64_t v = 1;

	mv_guest_write(g, 0x30000, &l, sizeof(l));
	mv_guest_write(g, 0x30000 + sizeof(l), &e, sizeof(e));
	c->r[0] = mv_guest_hypercall(g, KVM_HC_PROTECT_MEMORY, 0x30000, 0, 0, 0);
	c->r[1] = mv_guest_write(g, 0x100010, &v, 8);
	mv_guest_last_fault(g, &f);
	c->vec = f.vector;
}

static void observe(void *ctx, unsigned int vcpu, const struct kvm_run *run, long ret)
{
	struct seen *s = ctx;

	if (s->n < 8)
		vmm_exit_format(run, s->lines[s->n++], sizeof(s->lines[0]));
}

static void test_vmm_reports_heki_denials(void **state)
{
	struct vmm_config cfg = { .nr_vcpus = 1, .ram_bytes = 2 * MB };
	struct seen s = { .n = 0 };
	struct vmm_hooks hooks = { .observe = observe, .ctx = &s };
	struct mv_machine *m;
	struct mv_task *t = mvtest_task(&m);
	struct vmm_exit_stats st;
	struct hg c = { .r = { 0 }, .vec = 0 };
	struct vmm *v;

	(void)state;
	assert_int_equal(vmm_create(t, &cfg, &v), 0);
	vmm_set_hooks(v, &hooks);
	assert_int_equal(vmm_enable_heki(v, KVM_HEKI_EXIT_REASON_MEM, KVM_HEKI_EXIT_REASON_MEM), 0);
	assert_int_equal(vmm_enable_heki(v, 1ull << 7, 0), -EINVAL);
	assert_int_equal(vmm_set_guest(v, 0, guest_heki, &c), 0);
	assert_int_equal(vmm_run(v), 0);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], -EFAULT);
	assert_int_equal(c.vec, 14);
	vmm_exit_stats(v, 0, &st);
	assert_int_equal(st.heki_configure, 1);
	assert_int_equal(st.heki_denial, 1);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.lines[0], "HEKI_CONFIGURE mem 0x30000 npages=1");
	assert_string_equal(s.lines[1], "HEKI_DENIAL mem gpa=0x100010 access=0x2 permissions=0x1");
	assert_string_equal(s.lines[2], "HLT (5)");
	vmm_destroy(v);
	mv_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vmm_reports_heki_denials),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
