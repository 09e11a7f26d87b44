/* SPDX-License-Identifier: MIT */
/*
 * A truncated, corrupted or forged snapshot is refused with a clear reason
 * and nothing half-restored (docs/snapshot.md): every truncation, a flipped
 * byte in every section (the checksum), and, with the checksum resealed as
 * a forger would, every field checked against the configuration; a
 * forgery only the kernel can refuse (a bad CR pin, a register KVM_SET_SREGS
 * refuses) leaves no VM either. The source VM never changes.
 */
#include <stdio.h>
#include <unistd.h>

#include "snaptest.h"

#define PRIV 0x40000ull

struct fix {
	struct mv_machine *m;
	struct mv_task *t;
	struct vmm *src;
	uint8_t *buf;
	size_t len;
	uint8_t digest[SHA256_DIGEST_SIZE];
	long open_fds;
};

/* Every section non-empty: private pages, shared pages, tags, Heki runs and pins. */
static void guest_all(struct mv_guest *g, void *arg)
{
	struct heki_pages e = { .pa = HT_DATA, .epa = HT_DATA + 0x2000,
				.permissions = MEM_ATTR_READ | MEM_ATTR_IMMUTABLE };
	uint64_t v = 0x1234;

	(void)arg;
	mv_guest_write(g, PRIV, &v, 8);
	mv_guest_write(g, 0x20000, &v, 8);
	mv_guest_set_tag(g, ST_TAG(0x3000, 9));
	mv_guest_hypercall(g, KVM_HC_LOCK_CR_UPDATE, 4, 1ull << 11 /* UMIP */, 0, 0);
	ht_put_list(g, HT_LIST, 0, &e, 1);
	mv_guest_hypercall(g, KVM_HC_PROTECT_MEMORY, HT_LIST, 0, 0, 0);
}

static int fix_setup(void **state)
{
	struct vmm_config cfg = { .nr_vcpus = 1, .ram_bytes = 2 * ST_MB, .mte = 1,
				  .vm_type = KVM_X86_SW_PROTECTED_VM, .private_mem = 1 };
	struct kvm_memory_attributes ma = { .address = PRIV, .size = 0x1000,
					    .attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE };
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->t = mvtest_task(&f->m);
	f->src = st_vmm(f->t, &cfg);
	assert_int_equal(kt_ioctl_p(f->t, vmm_vm_fd(f->src), KVM_SET_MEMORY_ATTRIBUTES, &ma), 0);
	st_run(f->src, guest_all, NULL);
	assert_int_equal(vmm_snapshot_save(f->src, (void **)&f->buf, &f->len), 0);
	for (uint32_t type = 1; type <= VMM_SNAP_NR_SECTIONS; type++) {
		uint32_t count;

		st_section(f->buf, f->len, type, &count, NULL);
		assert_true(count > 0 || type == VMM_SNAP_HEKI);
	}
	st_digest_ram(f->src, f->digest);
	f->open_fds = st_open_fds(f->t);
	*state = f;
	return 0;
}

static int fix_teardown(void **state)
{
	struct fix *f = *state;

	free(f->buf);
	vmm_destroy(f->src);
	mv_machine_destroy(f->m);
	free(f);
	return 0;
}

/* Restores @b, expects @err with reason @why (NULL: any), and that nothing changed. */
static void expect_refused(struct fix *f, const uint8_t *b, size_t len, int err, const char *why)
{
	uint8_t d[SHA256_DIGEST_SIZE];
	struct vmm *v = NULL;
	const char *got = NULL;
	int r = vmm_snapshot_restore(f->t, b, len, &v, NULL, &got);

	if (r != err)
		fail_msg("want %d, got %d (%s)", err, r, got ? got : "-");
	assert_null(v);
	assert_non_null(got);
	if (why && strcmp(got, why))
		fail_msg("want \"%s\", got \"%s\"", why, got);
	assert_int_equal(st_open_fds(f->t), f->open_fds);   /* no VM, vCPU or gmem fd left */
	st_digest_ram(f->src, d);
	assert_memory_equal(d, f->digest, sizeof(d));
}

static uint8_t *copy(const struct fix *f)
{
	uint8_t *b = malloc(f->len);

	assert_non_null(b);
	memcpy(b, f->buf, f->len);
	return b;
}

static void test_snapshot_refuses_every_truncation(void **state)
{
	struct fix *f = *state;
	size_t cuts[] = { 0, 7, VMM_SNAP_HDR_SIZE - 1, VMM_SNAP_HDR_SIZE, f->len - 1 };

	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
		expect_refused(f, f->buf, cuts[i], -EINVAL, NULL);
	for (uint32_t type = 1; type <= VMM_SNAP_NR_SECTIONS; type++) {
		uint64_t l;
		size_t off = st_section(f->buf, f->len, type, NULL, &l);

		/* inside the section header, in the payload, at its end */
		expect_refused(f, f->buf, off + 5, -EINVAL, "truncated: shorter than its header says");
		expect_refused(f, f->buf, off + VMM_SNAP_SEC_SIZE + l / 2, -EINVAL,
			       "truncated: shorter than its header says");
		/* the same cut with the header's length and checksum made to agree */
		{
			uint8_t *b = copy(f);
			uint64_t total = off + VMM_SNAP_SEC_SIZE + l / 2;

			memcpy(b + 16, &total, 8);
			st_reseal(b, total);
			expect_refused(f, b, total, -EINVAL, NULL);
			free(b);
		}
	}
}

static void test_snapshot_refuses_a_flipped_byte_in_every_section(void **state)
{
	struct fix *f = *state;

	for (uint32_t type = 1; type <= VMM_SNAP_NR_SECTIONS; type++) {
		uint64_t l;
		size_t off = st_section(f->buf, f->len, type, NULL, &l);
		size_t at[] = { off, off + 4, off + 8, off + VMM_SNAP_SEC_SIZE + l - 1 };

		for (size_t i = 0; i < 4; i++) {
			uint8_t *b = copy(f);

			b[at[i]] ^= 0x40;
			expect_refused(f, b, f->len, -EBADMSG, "checksum mismatch (corrupted snapshot)");
			free(b);
		}
	}
}

static void test_snapshot_refuses_a_bad_header(void **state)
{
	struct fix *f = *state;
	uint8_t *b = copy(f), *longer = malloc(f->len + 1);
	const uint32_t unknown[] = { 0, 1 /* the one-memslot layout */, VMM_SNAP_VERSION + 1,
				     0xffffffffu };
	uint32_t v2 = 2;
	uint64_t one = 1;

	b[0] = 'X';
	expect_refused(f, b, f->len, -EINVAL, "not a memvisor snapshot (bad magic)");
	memcpy(b, f->buf, 8);
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		memcpy(b + 8, &unknown[i], 4);
		expect_refused(f, b, f->len, -EPROTO, "unsupported snapshot version");
	}
	/* a version 3 body called version 2: its vCPU records are too long */
	memcpy(b + 8, &v2, 4);
	expect_refused(f, b, f->len, -EINVAL, "section length does not match its count");
	memcpy(b + 8, f->buf + 8, 4);
	memcpy(b + 56, &one, 8);
	expect_refused(f, b, f->len, -EINVAL, "reserved header field not zero");
	assert_non_null(longer);
	memcpy(longer, f->buf, f->len);
	longer[f->len] = 0;
	expect_refused(f, longer, f->len + 1, -EINVAL, "trailing bytes after the snapshot");
	expect_refused(f, NULL, 0, -EINVAL, "no snapshot");
	free(longer);
	free(b);
}

/* A field change at @at (relative to section @type's payload; negative: its header), resealed. */
struct forge {
	const char *name;
	uint32_t type;
	long at;
	uint64_t val;
	unsigned int width;
	int err;
	const char *why;
};

static const struct forge forges[] = {
	{ "config_no_vcpus", VMM_SNAP_CONFIG, 0, 0, 4, -EINVAL, "config: bad vCPU count" },
	{ "config_ram_unaligned", VMM_SNAP_CONFIG, 8, 4097, 8, -EINVAL,
	  "config: bad RAM size or address" },
	{ "config_flags", VMM_SNAP_CONFIG, 4, 1u << 9, 4, -EINVAL, "config: unknown RAM slot flags" },
	{ "config_vm_type", VMM_SNAP_CONFIG, 24, 7, 8, -EINVAL, "config: unknown VM type" },
	{ "config_private_2", VMM_SNAP_CONFIG, 32, 2, 4, -EINVAL,
	  "config: bad private-memory or MTE setting" },
	{ "config_ram_size_vs_slot", VMM_SNAP_CONFIG, 8, 4 * ST_MB, 8, -EINVAL,
	  "slot does not match the config" },
	{ "slot_gpa", VMM_SNAP_SLOTS, 8, 0x1000, 8, -EINVAL, "slot does not match the config" },
	{ "slot_id", VMM_SNAP_SLOTS, 0, 0x8000, 4, -EINVAL, "slot: bad slot id" },
	{ "slot_flags", VMM_SNAP_SLOTS, 4, 1u << 9, 4, -EINVAL, "slot: unknown flags" },
	{ "slot_epc_with_gmem", VMM_SNAP_SLOTS, 4, VMM_SNAP_SLOT_EPC | KVM_MEM_GUEST_MEMFD, 4,
	  -EINVAL, "slot: unknown flags" },
	{ "slot_size_unaligned", VMM_SNAP_SLOTS, 16, 4097, 8, -EINVAL,
	  "slot: bad size or address" },
	{ "slot_past_limit", VMM_SNAP_SLOTS, 8, (1ull << 40) - 0x1000, 8, -EINVAL,
	  "slot: bad size or address" },
	{ "slot_gmem_offset_unaligned", VMM_SNAP_SLOTS, 24, 0x800, 8, -EINVAL,
	  "slot: bad guest_memfd offset or setting" },
	{ "slot_gmem_offset_huge", VMM_SNAP_SLOTS, 24, 1ull << 40, 8, -EINVAL,
	  "slot: bad guest_memfd offset or setting" },
	{ "slot_count_zero", VMM_SNAP_SLOTS, -12, 0, 4, -EINVAL,
	  "section length does not match its count" },
	{ "config_epc_without_slot", VMM_SNAP_CONFIG, 40, 2, 8, -EINVAL,
	  "config: more vEPC pages than the vEPC slots hold" },
	{ "section_type", VMM_SNAP_ATTRS, -16, VMM_SNAP_SHARED, 4, -EINVAL,
	  "section missing or out of order" },
	{ "section_count", VMM_SNAP_SHARED, -12, 99, 4, -EINVAL,
	  "section length does not match its count" },
	{ "section_length", VMM_SNAP_TAGS, -8, 1ull << 40, 8, -EINVAL,
	  "section longer than the snapshot" },
	{ "attrs_value", VMM_SNAP_ATTRS, 16, 0x10, 8, -EINVAL,
	  "page run with unknown attribute or permission bits" },
	{ "attrs_outside_ram", VMM_SNAP_ATTRS, 0, 0x100000, 8, -EINVAL,
	  "page run outside RAM or out of order" },
	{ "shared_outside_ram", VMM_SNAP_SHARED, 0, 0x1000, 8, -EINVAL,
	  "shared page outside RAM, out of order or private" },
	{ "shared_over_private", VMM_SNAP_SHARED, 0, PRIV >> 12, 8, -EINVAL,
	  "shared page outside RAM, out of order or private" },
	{ "private_not_private", VMM_SNAP_PRIVATE, 0, 0x41, 8, -EINVAL,
	  "private page out of order or not in a private range" },
	{ "tag_above_15", VMM_SNAP_TAGS, 8, 0x10, 1, -EINVAL, "MTE tag above 15" },
	{ "tags_outside_ram", VMM_SNAP_TAGS, 0, 0x200, 8, -EINVAL,
	  "tagged page outside RAM, out of order or private" },
	{ "heki_flags", VMM_SNAP_HEKI, 16, 2, 4, -EINVAL, "Heki state: unknown flags" },
	{ "heki_perms", VMM_SNAP_HEKI, 24 + 16, 0x30, 8, -EINVAL,
	  "page run with unknown attribute or permission bits" },
	{ "heki_run_empty", VMM_SNAP_HEKI, 24 + 8, 0, 8, -EINVAL,
	  "page run outside RAM or out of order" },
	{ "vcpus_count", VMM_SNAP_VCPUS, -12, 2, 4, -EINVAL,
	  "section length does not match its count" },
	{ "vcpu_cet_count", VMM_SNAP_VCPUS, (long)offsetof(struct vmm_snap_vcpu, ncet), 3, 4,
	  -EINVAL, "vCPU section: bad CET state count" },
	{ "vcpu_cet_pad", VMM_SNAP_VCPUS, (long)offsetof(struct vmm_snap_vcpu, pad), 1, 4,
	  -EINVAL, "vCPU section: bad CET state count" },
	{ "vcpu_mte_tcf_4", VMM_SNAP_VCPUS, (long)offsetof(struct vmm_snap_vcpu, mte_tcf), 4, 4,
	  -EINVAL, "vCPU section: bad MTE tag-check mode" },
	{ "vcpu_mte_tcf_huge", VMM_SNAP_VCPUS, (long)offsetof(struct vmm_snap_vcpu, mte_tcf),
	  0x80000002u, 4, -EINVAL, "vCPU section: bad MTE tag-check mode" },
	{ "vcpu_mte_no_tbi", VMM_SNAP_VCPUS, (long)offsetof(struct vmm_snap_vcpu, mte_flags), 0, 4,
	  -EINVAL, "vCPU section: bad MTE top-byte-ignore flag" },
	{ "vcpu_mte_flags", VMM_SNAP_VCPUS, (long)offsetof(struct vmm_snap_vcpu, mte_flags), 3, 4,
	  -EINVAL, "vCPU section: bad MTE top-byte-ignore flag" },
	{ "vcpu_exc_injected_2", VMM_SNAP_VCPUS, (long)offsetof(struct vmm_snap_vcpu, exc_injected),
	  2, 1, -EINVAL, "vCPU section: bad queued exception" },
	{ "vcpu_exc_error_code_flag", VMM_SNAP_VCPUS,
	  (long)offsetof(struct vmm_snap_vcpu, exc_has_error_code), 7, 1, -EINVAL,
	  "vCPU section: bad queued exception" },
	{ "vcpu_exc_pad", VMM_SNAP_VCPUS, (long)offsetof(struct vmm_snap_vcpu, exc_pad), 1, 1,
	  -EINVAL, "vCPU section: bad queued exception" },
	/* injected and vector in one 16-bit write: NMI, and a vector past 31 */
	{ "vcpu_exc_nmi", VMM_SNAP_VCPUS, (long)offsetof(struct vmm_snap_vcpu, exc_injected),
	  0x0201, 2, -EINVAL, "vCPU section: bad queued exception" },
	{ "vcpu_exc_vector_32", VMM_SNAP_VCPUS, (long)offsetof(struct vmm_snap_vcpu, exc_injected),
	  0x2001, 2, -EINVAL, "vCPU section: bad queued exception" },
	{ "config_no_mte_with_tcf", VMM_SNAP_CONFIG, (long)offsetof(struct vmm_snap_config, mte),
	  0, 4, -EINVAL, "vCPU section: bad MTE tag-check mode" },
	/* shape and fields fine: only the kernel can refuse, late; still nothing left behind */
	{ "heki_pin_without_wp", VMM_SNAP_HEKI, 0, 1, 8, -EINVAL,
	  "KVM_HEKI_SET_STATE refused the Heki state" },
	{ "sregs_cr0_pg_without_pe", VMM_SNAP_VCPUS, (long)(sizeof(struct kvm_regs) +
	  offsetof(struct kvm_sregs, cr0)), 1ull << 31, 8, -EINVAL,
	  "KVM_SET_SREGS/REGS/MSRS/VCPU_EVENTS refused a vCPU's state" },
};

static void test_snapshot_checks_every_field_of_a_resealed_forgery(void **state)
{
	struct fix *f = *state;

	for (size_t i = 0; i < sizeof(forges) / sizeof(forges[0]); i++) {
		const struct forge *fg = &forges[i];
		size_t off = st_section(f->buf, f->len, fg->type, NULL, NULL) + VMM_SNAP_SEC_SIZE;
		uint8_t *b = copy(f);

		print_message("forgery %s\n", fg->name);
		memcpy(b + (size_t)((long)off + fg->at), &fg->val, fg->width);
		st_reseal(b, f->len);
		expect_refused(f, b, f->len, fg->err, fg->why);
		free(b);
	}
}

static void test_snapshot_file_round_trip_and_unchanged_source(void **state)
{
	struct fix *f = *state;
	char path[] = "/tmp/mvsnapXXXXXX";
	int fd = mkstemp(path);
	struct vmm *v;
	void *b;
	size_t len;

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(vmm_snapshot_write_file(path, f->buf, f->len), 0);
	assert_int_equal(vmm_snapshot_read_file(path, &b, &len), 0);
	assert_int_equal(len, f->len);
	assert_memory_equal(b, f->buf, len);
	assert_int_equal(vmm_snapshot_check(b, len, NULL), 0);
	assert_int_equal(vmm_snapshot_restore(f->t, b, len, &v, NULL, NULL), 0);
	vmm_destroy(v);
	assert_int_equal(truncate(path, (off_t)len - 100), 0);
	free(b);
	assert_int_equal(vmm_snapshot_read_file(path, &b, &len), 0);
	expect_refused(f, b, len, -EINVAL, "truncated: shorter than its header says");
	free(b);
	unlink(path);
	assert_int_equal(vmm_snapshot_read_file("/nonexistent/x", &b, &len), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_snapshot_refuses_every_truncation, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_refuses_a_flipped_byte_in_every_section,
						fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_refuses_a_bad_header, fix_setup,
						fix_teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_checks_every_field_of_a_resealed_forgery,
						fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_file_round_trip_and_unchanged_source,
						fix_setup, fix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
