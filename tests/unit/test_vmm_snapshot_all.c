/* SPDX-License-Identifier: MIT */
/*
 * The VM with every protection at once (allvm.h: RAM that is also a
 * guest_memfd, a vEPC slot with an enclave, MTE, Heki, CET) saved and
 * restored into a VM of another machine object that its restoring VMM
 * built with the same memslots (a fresh, empty vEPC), and moved by
 * stop-and-copy over a pipe (private memory cannot log dirty pages). In
 * the destination each protection still holds (the private page's MTE
 * tags too, moved by the platform with its bytes), the enclave is gone and
 * reported, and all guest memory is equal at stop time on both sides
 * (docs/snapshot.md, "Several memslots").
 */
#include <pthread.h>
#include <unistd.h>

#include "allvm.h"
#include "snaptest.h"
#include "vmm/migrate.h"

#define SHARED_VA (GK_PAGE_OFFSET + 0x600000ull)
#define PRIV_VA   (GK_PAGE_OFFSET + PRIV_PA)

/* The source's guest leaves a secret in private memory and a tagged granule in shared memory. */
static void guest_prepare(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;

	c->r[0] = mv_guest_set_tag(g, TAG(PRIV_VA, 9));
	c->r[1] = mv_guest_write(g, TAG(PRIV_VA, 9), "secret", 6);
	c->r[2] = mv_guest_set_tag(g, TAG(SHARED_VA, 3));
	c->r[3] = mv_guest_write(g, TAG(SHARED_VA, 3), "shared!", 7);
}

/* All guest RAM as the guest reads it through the direct map (private pages included). */
struct dump {
	uint8_t *ram;
	long r;
};

static void guest_dump(struct mv_guest *g, void *arg)
{
	struct dump *d = arg;

	d->r = mv_guest_set_tcf(g, MV_TCF_NONE);
	for (uint64_t pa = 0; pa < RAM && !d->r; pa += KT_PG)
		d->r = mv_guest_read(g, GK_PAGE_OFFSET + pa, d->ram + pa, KT_PG);
}

static void ram_digest(struct allvm *v, uint8_t out[SHA256_DIGEST_SIZE])
{
	struct dump d = { .ram = malloc(RAM) };

	assert_non_null(d.ram);
	run_guest(v, guest_dump, &d);
	assert_int_equal(d.r, 0);
	sha256(d.ram, RAM, out);
	free(d.ram);
}

/* The restored guest, with no struct guest_kernel: only what came back in memory and registers. */
static void guest_check(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;
	uint64_t junk = 0xcccccccccccccccc, cr0 = 0, text = c->val[0];

	c->r[0] = mv_guest_write(g, text, &junk, sizeof(junk));
	note_fault(g, c, 0);
	(void)mv_guest_read_cr(g, 0, &cr0);
	c->r[1] = mv_guest_write_cr(g, 0, cr0 & ~CR0_WP);
	note_fault(g, c, 1);
	(void)mv_guest_read_cr(g, 0, &c->val[1]);
	c->r[2] = mv_guest_set_tcf(g, MV_TCF_SYNC);
	c->r[3] = mv_guest_read(g, TAG(SHARED_VA, 4), c->buf, 7);
	note_fault(g, c, 3);
	c->r[4] = mv_guest_read(g, TAG(SHARED_VA, 3), c->buf, 7);
	/* the private page's tags came back through the platform with its bytes */
	c->r[5] = mv_guest_read(g, TAG(PRIV_VA, 4), c->buf + 8, 6);
	note_fault(g, c, 5);
	c->r[6] = mv_guest_read(g, TAG(PRIV_VA, 9), c->buf + 8, 6);
	c->r[7] = mv_guest_set_tcf(g, MV_TCF_NONE);
}

/* A new VM's guest (paging off: the private page by its GPA) reads it with its tag, then not. */
static void guest_private_tag(struct mv_guest *g, void *arg)
{
	struct gctx *c = arg;

	c->r[0] = mv_guest_set_tcf(g, MV_TCF_SYNC);
	c->r[1] = mv_guest_read(g, TAG(PRIV_PA, 9), c->buf, 6);
	c->r[2] = mv_guest_read(g, TAG(PRIV_PA, 4), c->buf + 8, 6);
	note_fault(g, c, 2);
}

/* The memory map's flags at @gpa. */
static uint32_t map_flags(struct allvm *v, uint64_t gpa)
{
	struct mv_vm_range r[32];
	long n = mv_vm_memory_map(v->k.t, v->k.vm, r, 32);

	assert_true(n > 0 && n <= 32);
	for (long i = 0; i < n; i++)
		if (gpa >= r[i].gpa && gpa - r[i].gpa < r[i].size)
			return r[i].flags;
	return 0;
}

static bool contains(const uint8_t *b, size_t len, const char *s, size_t n)
{
	for (size_t i = 0; i + n <= len; i++)
		if (!memcmp(b + i, s, n))
			return true;
	return false;
}

struct src_state {
	uint8_t digest[SHA256_DIGEST_SIZE];
	uint64_t text, text_pa, epc_pages, ssp;
};

static void src_prepare(struct allvm *src, struct src_state *st)
{
	struct gctx c = { .v = src };
	uint64_t np = 0, limit;

	allvm_setup(src);
	run_guest(src, guest_prepare, &c);
	for (int i = 0; i < 4; i++)
		assert_int_equal(c.r[i], 0);
	st->text = guest_kernel_section(src->kernel, GK_TEXT, &st->text_pa, &np);
	assert_int_equal(mv_vm_epc_usage(src->k.t, src->k.vm, &st->epc_pages, &limit), 0);
	assert_true(st->epc_pages >= 2);   /* the SECS and one page of the enclave */
	st->ssp = get_msr(src, MSR_IA32_PL0_SSP);
}

/* Every protection in @dst, and its memory equal to @st's at stop time. */
static void dst_check(struct allvm *dst, const struct src_state *st,
		      const struct vmm_restore_info *info)
{
	struct gctx c = { .v = dst, .val = { st->text } };
	uint8_t digest[SHA256_DIGEST_SIZE], b[6];
	uint64_t usage = 1, limit;

	ram_digest(dst, digest);
	assert_memory_equal(digest, st->digest, sizeof(digest));
	assert_int_equal(get_msr(dst, MSR_IA32_S_CET), 1);
	assert_int_equal(get_msr(dst, MSR_IA32_PL0_SSP), st->ssp);
	/* the enclave: its pages were lost and reported; the new vEPC holds none */
	assert_int_equal(info->epc_lost, st->epc_pages);
	assert_int_equal(mv_vm_epc_usage(dst->k.t, dst->k.vm, &usage, &limit), 0);
	assert_int_equal(usage, 0);
	/* private memory: the guest reads its secret, the VMM's mapping does not show it */
	assert_int_equal(mv_user_read(dst->k.t, dst->map + PRIV_PA, b, 6), 0);
	assert_memory_not_equal(b, "secret", 6);
	assert_true(map_flags(dst, PRIV_PA) & MV_RANGE_PRIVATE);
	/* the text: IMMUTABLE and not writable at stage 2 */
	assert_true(map_flags(dst, st->text_pa) & MV_RANGE_IMMUTABLE);
	assert_false(map_flags(dst, st->text_pa) & MV_RANGE_WRITE);
	run_guest(dst, guest_check, &c);
	assert_int_equal(c.r[0], -EFAULT);
	assert_int_equal(c.f[0].vector, 14);
	assert_int_equal(c.r[1], -EFAULT);
	assert_int_equal(c.f[1].vector, 13);
	assert_true(c.val[1] & CR0_WP);
	assert_int_equal(c.r[2], 0);
	assert_int_equal(c.r[3], -EFAULT);
	assert_true(c.f[3].error_code & MV_PF_MTE);
	assert_int_equal(c.r[4], 0);
	assert_memory_equal(c.buf, "shared!", 7);
	assert_int_equal(c.r[5], -EFAULT);
	assert_true(c.f[5].error_code & MV_PF_MTE);
	assert_int_equal(c.r[6], 0);
	assert_memory_equal(c.buf + 8, "secret", 6);
	assert_int_equal(c.r[7], 0);
}

static void probe(struct allvm *v, struct vmm_snap_vm *sv)
{
	const char *why = NULL;

	assert_int_equal(vmm_snap_vm_probe(v->k.t, v->k.vm, &v->vcpu, 1, sv, &why), 0);
	assert_int_equal(sv->nslots, 2);
	assert_int_equal(sv->slots[0].s.gpa, 0);
	assert_int_equal(sv->slots[0].s.size, RAM);
	assert_int_equal(sv->slots[1].s.flags, VMM_SNAP_SLOT_EPC);
	assert_int_equal(sv->slots[1].s.gpa, EPC_GPA);
}

static void test_snapshot_of_all_protections_restores_every_protection(void **state)
{
	struct allvm src, dst;
	struct src_state st;
	struct vmm_snap_vm sv, dv;
	struct vmm_restore_info info;
	const char *why = NULL;
	struct vmm *none = NULL;
	void *buf;
	size_t len;

	(void)state;
	src_prepare(&src, &st);
	probe(&src, &sv);
	assert_int_equal(vmm_snapshot_save_vm(&sv, 0, &buf, &len), 0);
	ram_digest(&src, st.digest);   /* at stop time: the dump sets accessed bits, so after the save */
	assert_false(contains(buf, len, "secret", 6));   /* private pages only as ciphertext */
	/* struct vmm has one memslot: it refuses, and builds nothing */
	assert_int_equal(vmm_snapshot_restore(src.k.t, buf, len, &none, NULL, &why), -EOPNOTSUPP);
	assert_null(none);
	allvm_create(&dst);
	probe(&dst, &dv);
	assert_int_equal(vmm_snapshot_apply_vm(&dv, buf, len, &info, &why), 0);
	assert_int_equal(info.private_pages, 1);
	assert_true(info.tagged_pages >= 1);
	assert_true(info.heki_runs >= 1);
	dst_check(&dst, &st, &info);
	free(buf);
	allvm_teardown(&src);
	kt_teardown(&dst.k);
}

/* @b as the tests' struct allvm sees a VM (no guest kernel: only what came back). */
static void built_as_allvm(struct vmm_snap_built *b, struct mv_machine *m, struct allvm *v)
{
	memset(v, 0, sizeof(*v));
	v->k.m = m;
	v->k.t = b->vm.t;
	v->k.vm = b->vm.vm_fd;
	v->map = b->vm.ram_uaddr;
	v->gmem = b->vm.gmem_fd;
	v->vepc = b->slot_fd[1];
	v->epc_map = b->vm.slots[1].uaddr;
	v->vcpu = b->vm.vcpu_fds[0];
	v->run = mv_vcpu_run_area(b->vm.t, v->vcpu);
	assert_non_null(v->run);
}

/*
 * vmm_snapshot_restore_built is the restoring VMM: from the file alone it
 * builds both memslots (a guest_memfd of its own for RAM, a fresh vEPC)
 * on another machine, and every protection is back as in a VM its VMM
 * built by hand. On a machine without EPC it is refused with the reason
 * and leaves no fd behind.
 */
static void test_snapshot_restore_built_makes_the_layout_from_the_file(void **state)
{
	struct mv_machine_config no_epc = { .ram_bytes = 64ull << 20, .seed = 1,
					    .features_off = MV_FEAT_SGX };
	struct allvm src, dst;
	struct src_state st;
	struct vmm_snap_vm sv;
	struct vmm_snap_built b;
	struct vmm_restore_info info;
	struct mv_machine *m;
	struct mv_task *t;
	const char *why = NULL;
	void *buf;
	size_t len;
	long nfds;

	(void)state;
	src_prepare(&src, &st);
	probe(&src, &sv);
	assert_int_equal(vmm_snapshot_save_vm(&sv, 0, &buf, &len), 0);
	ram_digest(&src, st.digest);
	m = mvtest_machine(0);
	assert_int_equal(mv_task_spawn(m, &t), 0);
	assert_int_equal(vmm_snapshot_restore_built(t, buf, len, &b, &info, &why), 0);
	assert_int_equal(b.vm.nslots, 2);
	assert_int_equal(b.vm.slots[0].s.flags, KVM_MEM_GUEST_MEMFD);
	assert_int_equal(b.vm.slots[1].s.flags, VMM_SNAP_SLOT_EPC);
	assert_int_equal(info.private_pages, 1);
	built_as_allvm(&b, m, &dst);
	dst_check(&dst, &st, &info);
	vmm_snapshot_built_release(&b);
	mv_machine_destroy(m);

	assert_int_equal(mv_machine_create(&no_epc, &m), 0);
	assert_int_equal(mv_task_spawn(m, &t), 0);
	nfds = st_open_fds(t);
	assert_int_equal(vmm_snapshot_restore_built(t, buf, len, &b, NULL, &why), -ENOENT);
	assert_string_equal(why, "no /dev/sgx_vepc for the snapshot's vEPC slot");
	assert_int_equal(st_open_fds(t), nfds);
	mv_machine_destroy(m);
	free(buf);
	allvm_teardown(&src);
}

/*
 * Migration: the stopped source moves whole (private memory cannot log
 * dirty pages, so no pre-copy) over a pipe to the VM the destination's VMM
 * built in another machine; the destination is checked as a restore is.
 */
static void test_migration_of_all_protections_is_stop_and_copy_and_keeps_them(void **state)
{
	struct allvm src, dst;
	struct src_state st;
	struct vmm_snap_vm sv, dv;
	struct vmm_restore_info info;
	struct vmm_migrate_stats ms;
	const char *why = NULL;

	(void)state;
	src_prepare(&src, &st);
	probe(&src, &sv);
	allvm_create(&dst);
	probe(&dst, &dv);
	assert_int_equal(vmm_migrate_vm(&sv, &dv, &info, &ms, &why), 0);
	/*
	 * The source stayed stopped, so this is its memory at stop time; the
	 * dump (a guest reading through its page tables, which sets their
	 * accessed bits) runs on each side from that same state.
	 */
	ram_digest(&src, st.digest);
	assert_int_equal(ms.rounds, 0);
	assert_int_equal(ms.pages_sent, info.shared_pages + info.private_pages);
	assert_int_equal(ms.pages_at_stop, ms.pages_sent);
	assert_true(ms.bytes_sent > ms.pages_sent * KT_PG);
	assert_true(ms.downtime_ns > 0);
	assert_int_equal(info.private_pages, 1);
	dst_check(&dst, &st, &info);
	allvm_teardown(&src);
	kt_teardown(&dst.k);
}

/*
 * KVM_GMEM_TRANSPORT_TAGS: a private page's tags leave the platform only
 * encrypted and under the page's MAC; a changed tag byte is refused.
 */
static void test_private_page_tags_travel_only_under_the_mac(void **state)
{
	struct allvm src, dst;
	struct src_state st;
	uint8_t *ct = malloc(KVM_GMEM_TRANSPORT_SIZE + KVM_GMEM_TRANSPORT_TAG_BYTES);
	struct kvm_gmem_transport tp = { .gpa = PRIV_PA, .flags = KVM_GMEM_TRANSPORT_TAGS,
					 .data = (uint64_t)(uintptr_t)ct };
	struct gctx c;

	(void)state;
	assert_non_null(ct);
	src_prepare(&src, &st);
	assert_int_equal(kt_ioctl_p(src.k.t, src.k.vm, KVM_GMEM_EXPORT_PAGE, &tp), 0);
	/* the tags (9 in the first granule) are not in the clear */
	assert_false(ct[KVM_GMEM_TRANSPORT_SIZE] == 9 && ct[KVM_GMEM_TRANSPORT_SIZE + 1] == 9 &&
		     ct[KVM_GMEM_TRANSPORT_SIZE + 2] == 9);
	allvm_create(&dst);
	assert_int_equal(kt_set_attributes(dst.k.t, dst.k.vm, PRIV_PA, KT_PG,
					   KVM_MEMORY_ATTRIBUTE_PRIVATE), 0);
	ct[KVM_GMEM_TRANSPORT_SIZE + 1] ^= 1;
	assert_int_equal(kt_ioctl_p(dst.k.t, dst.k.vm, KVM_GMEM_IMPORT_PAGE, &tp), -EBADMSG);
	ct[KVM_GMEM_TRANSPORT_SIZE + 1] ^= 1;
	tp.flags = 0;                              /* the MAC covers what the flag says */
	assert_int_equal(kt_ioctl_p(dst.k.t, dst.k.vm, KVM_GMEM_IMPORT_PAGE, &tp), -EBADMSG);
	tp.flags = KVM_GMEM_TRANSPORT_TAGS;
	assert_int_equal(kt_ioctl_p(dst.k.t, dst.k.vm, KVM_GMEM_IMPORT_PAGE, &tp), 0);
	/* the guest finds its private page and its tag: 9 checks, 4 faults */
	memset(&c, 0, sizeof(c));
	c.v = &dst;
	run_guest(&dst, guest_private_tag, &c);
	assert_int_equal(c.r[0], 0);
	assert_int_equal(c.r[1], 0);
	assert_memory_equal(c.buf, "secret", 6);
	assert_int_equal(c.r[2], -EFAULT);
	assert_true(c.f[2].error_code & MV_PF_MTE);
	free(ct);
	allvm_teardown(&src);
	kt_teardown(&dst.k);
}

/* A restoring VMM whose layout differs (no vEPC, or another size) is refused before any change. */
static void test_snapshot_of_all_protections_needs_the_same_memslots(void **state)
{
	struct allvm src;
	struct kvmtest k;
	struct src_state st;
	struct vmm_snap_vm sv, dv;
	struct kvm_create_guest_memfd gm = { .size = RAM };
	struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_MTE };
	const char *why = NULL;
	uint8_t b[8] = { 1 };
	void *buf;
	size_t len;
	int gmem;

	(void)state;
	src_prepare(&src, &st);
	probe(&src, &sv);
	assert_int_equal(vmm_snapshot_save_vm(&sv, 0, &buf, &len), 0);
	k.m = mvtest_machine(0);
	assert_int_equal(mv_task_spawn(k.m, &k.t), 0);
	k.kvm = (int)mv_syscall(k.t, MV_SYS_openat, (uint64_t)AT_FDCWD,
				(uint64_t)(uintptr_t)"/dev/kvm", O_RDWR, 0, 0, 0);
	k.vm = (int)kt_ioctl(k.t, k.kvm, KVM_CREATE_VM, KVM_X86_SW_PROTECTED_VM);
	assert_int_equal(kt_ioctl_p(k.t, k.vm, KVM_ENABLE_CAP, &cap), 0);
	gmem = (int)kt_ioctl_p(k.t, k.vm, KVM_CREATE_GUEST_MEMFD, &gm);
	{
		uint64_t map = kt_mmap(&k, RAM);
		int vcpu;

		assert_int_equal(kt_region_gmem(k.t, k.vm, 0, 0, RAM, map, gmem, 0), 0);
		vcpu = kt_vcpu(&k, 0);
		assert_int_equal(vmm_snap_vm_probe(k.t, k.vm, &vcpu, 1, &dv, &why), 0);
		assert_int_equal(dv.nslots, 1);
		assert_int_equal(vmm_snapshot_apply_vm(&dv, buf, len, NULL, &why), -EINVAL);
		assert_string_equal(why, "snapshot memslots differ from this VM's");
		/* nothing was applied: RAM is still zero */
		assert_int_equal(mv_user_read(k.t, map + GK_IMAGE_PA, b, sizeof(b)), 0);
		for (unsigned int i = 0; i < sizeof(b); i++)
			assert_int_equal(b[i], 0);
	}
	free(buf);
	kt_teardown(&k);
	allvm_teardown(&src);
}

/* Forged memslot fields of a two-slot snapshot, resealed: each refused with its reason. */
static void test_snapshot_checks_every_memslot_of_a_resealed_forgery(void **state)
{
	static const struct { long at; uint64_t val; unsigned int width; const char *why; } f[] = {
		{ 32 + 8, 0x7ff000, 8, "slots overlap or are out of order" },      /* vEPC into RAM */
		{ 32 + 0, 0, 4, "slot id used twice" },
		{ 32 + 24, 0x1000, 8, "slot: bad guest_memfd offset or setting" }, /* vEPC with one */
		{ 32 + 4, VMM_SNAP_SLOT_EPC | KVM_MEM_READONLY, 4, "slot: unknown flags" },
		{ 32 + 16, 0, 8, "slot: bad size or address" },
		{ 24, 0x800000, 8, "slot does not match the config" },            /* RAM's offset */
		{ 8, EPC_GPA, 8, "slots overlap or are out of order" },           /* RAM onto vEPC */
		{ 32 + 0, 0x7ffc, 4, "slot: bad slot id" },   /* KVM_USER_MEM_SLOTS: KVM's limit */
		/* kvm_check_region_flags: a guest_memfd slot is never read-only */
		{ 4, KVM_MEM_GUEST_MEMFD | KVM_MEM_READONLY, 4,
		  "slot: bad guest_memfd offset or setting" },
	};
	struct allvm src;
	struct src_state st;
	struct vmm_snap_vm sv;
	void *buf;
	size_t len, off;
	uint32_t count = 0;

	(void)state;
	src_prepare(&src, &st);
	probe(&src, &sv);
	assert_int_equal(vmm_snapshot_save_vm(&sv, 0, &buf, &len), 0);
	assert_int_equal(vmm_snapshot_check(buf, len, NULL), 0);
	off = st_section(buf, len, VMM_SNAP_SLOTS, &count, NULL) + VMM_SNAP_SEC_SIZE;
	assert_int_equal(count, 2);
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		uint8_t *b = malloc(len);
		const char *why = NULL;

		assert_non_null(b);
		memcpy(b, buf, len);
		memcpy(b + off + (size_t)f[i].at, &f[i].val, f[i].width);
		st_reseal(b, len);
		print_message("forgery %zu\n", i);
		assert_int_equal(vmm_snapshot_check(b, len, &why), -EINVAL);
		assert_string_equal(why, f[i].why);
		free(b);
	}
	{
		/* nor is the configuration's RAM slot, when it has private memory */
		uint8_t *b = malloc(len);
		uint32_t ro = KVM_MEM_READONLY;
		const char *why = NULL;

		assert_non_null(b);
		memcpy(b, buf, len);
		memcpy(b + st_section(b, len, VMM_SNAP_CONFIG, NULL, NULL) + VMM_SNAP_SEC_SIZE +
		       offsetof(struct vmm_snap_config, ram_flags), &ro, sizeof(ro));
		st_reseal(b, len);
		assert_int_equal(vmm_snapshot_check(b, len, &why), -EINVAL);
		assert_string_equal(why, "config: bad private-memory or MTE setting");
		free(b);
	}
	free(buf);
	allvm_teardown(&src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_of_all_protections_restores_every_protection),
		cmocka_unit_test(test_snapshot_restore_built_makes_the_layout_from_the_file),
		cmocka_unit_test(test_migration_of_all_protections_is_stop_and_copy_and_keeps_them),
		cmocka_unit_test(test_private_page_tags_travel_only_under_the_mac),
		cmocka_unit_test(test_snapshot_of_all_protections_needs_the_same_memslots),
		cmocka_unit_test(test_snapshot_checks_every_memslot_of_a_resealed_forgery),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
