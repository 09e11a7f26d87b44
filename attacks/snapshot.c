// SPDX-License-Identifier: MIT
/*
 * Snapshot attacks (docs/snapshot.md): a malicious VMM uses a snapshot or
 * a migration to change what the guest protected. "On" is memvisor's
 * design: private pages travel only as platform ciphertext with a MAC,
 * and the restore-only uAPI closes when the VM first runs.
 */
#include <errno.h>
#include <string.h>

#include "attacks.h"

#define SN_PG   4096ull
#define SN_RAM  (2ull << 20)
#define SN_PRIV 0x40000ull
#define SN_TEXT 0x100000ull

static const char sn_flag[16] = "admin=0;";
static const char sn_want[16] = "admin=1;";

/* A VM with RAM at 0: with @protect a protected VM whose page SN_PRIV is private. */
static int sn_vm(struct atk_vm *v, bool protect, uint64_t *hva)
{
	struct kvm_create_guest_memfd g = { .size = SN_RAM };
	struct kvm_userspace_memory_region2 r = { .slot = 0, .memory_size = SN_RAM };
	struct kvm_memory_attributes a = { .address = SN_PRIV, .size = SN_PG,
					   .attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE };
	long gmem, e;
	int ret = atk_vm_create(v, 0, protect ? KVM_X86_SW_PROTECTED_VM : 0);

	if (ret)
		return ret;
	e = atk_mmap_anon(v->vmm, SN_RAM);
	*hva = (uint64_t)e;
	r.userspace_addr = (uint64_t)e;
	if (e >= 0 && protect) {
		gmem = atk_ioctl(v, v->vm, KVM_CREATE_GUEST_MEMFD, &g);
		r.flags = KVM_MEM_GUEST_MEMFD;
		r.guest_memfd = (uint32_t)gmem;
		e = gmem < 0 ? gmem : 0;
	}
	if (e >= 0)
		e = atk_ioctl(v, v->vm, KVM_SET_USER_MEMORY_REGION2, &r);
	if (!e && protect)
		e = atk_ioctl(v, v->vm, KVM_SET_MEMORY_ATTRIBUTES, &a);
	if (e < 0) {
		atk_vm_destroy(v);
		return (int)e;
	}
	return 0;
}

static void sn_guest_write_flag(struct mv_guest *g, void *arg)
{
	(void)arg;
	mv_guest_write(g, SN_PRIV, sn_flag, sizeof(sn_flag));
}

static void sn_guest_read_flag(struct mv_guest *g, void *arg)
{
	mv_guest_read(g, SN_PRIV, arg, sizeof(sn_flag));
}

/*
 * The VMM moves the guest and, on the way, turns its "admin=0" into
 * "admin=1": without platform mediation by writing the page it carries;
 * with it, by flipping ciphertext bits (the keystream cipher is malleable,
 * the MAC is not).
 */
static int sn_forge_private(bool protect, struct attack_outcome *out)
{
	uint8_t ct[SN_PG], page[SN_PG];
	struct kvm_gmem_transport tp = { .gpa = SN_PRIV, .data = (uint64_t)(uintptr_t)ct };
	struct atk_vm src, dst;
	uint64_t hs, hd;
	char seen[sizeof(sn_flag)] = { 0 };
	long e;
	int ret = sn_vm(&src, protect, &hs);

	if (ret)
		return ret;
	ret = sn_vm(&dst, protect, &hd);
	if (ret) {
		atk_vm_destroy(&src);
		return ret;
	}
	e = atk_vm_run(&src, sn_guest_write_flag, NULL);
	if (!e && protect) {
		e = atk_ioctl(&src, src.vm, KVM_GMEM_EXPORT_PAGE, &tp);
		for (size_t i = 0; i < sizeof(sn_flag); i++)
			ct[i] ^= (uint8_t)(sn_flag[i] ^ sn_want[i]);
		if (!e)
			e = atk_ioctl(&dst, dst.vm, KVM_GMEM_IMPORT_PAGE, &tp);
	} else if (!e) {
		e = mv_user_read(src.vmm, hs + SN_PRIV, page, SN_PG);
		memcpy(page, sn_want, sizeof(sn_want));
		if (e >= 0)
			e = mv_user_write(dst.vmm, hd + SN_PRIV, page, SN_PG);
	}
	if (e < 0 && e != -EBADMSG) {
		ret = (int)e;
	} else if (!atk_vm_run(&dst, sn_guest_read_flag, seen) && !memcmp(seen, sn_want, 8)) {
		atk_outcome(out, ATTACK_SUCCEEDED, 0, "the guest now reads \"admin=1;\"");
	} else {
		atk_outcome(out, ATTACK_BLOCKED, 0, "import refused (%s): the MAC binds the page",
			    atk_errno_name(e));
	}
	atk_vm_destroy(&dst);
	atk_vm_destroy(&src);
	return ret;
}

/* The guest locks its text (Heki) and later checks it is still intact. */
static void sn_guest_lock_text(struct mv_guest *g, void *arg)
{
	static const uint8_t code[8] = { 0x55, 0x48, 0x89, 0xe5, 0xc3 };
	struct heki_page_list l = { .npages = 1 };
	struct heki_pages e = { .pa = SN_TEXT, .epa = SN_TEXT + SN_PG,
				.permissions = MEM_ATTR_READ | MEM_ATTR_EXEC | MEM_ATTR_IMMUTABLE };

	(void)arg;
	mv_guest_write(g, SN_TEXT, code, sizeof(code));
	mv_guest_write(g, 0x30000, &l, sizeof(l));
	mv_guest_write(g, 0x30000 + sizeof(l), &e, sizeof(e));
	mv_guest_hypercall(g, KVM_HC_PROTECT_MEMORY, 0x30000, 0, 0, 0);
}

/* What a compromised guest kernel then tries: patch its own text. */
static void sn_guest_patch_text(struct mv_guest *g, void *arg)
{
	static const uint8_t evil[8] = { 0xcc, 0xcc, 0xcc, 0xcc };
	long *r = arg;

	*r = mv_guest_write(g, SN_TEXT, evil, sizeof(evil));
}

/*
 * The VMM re-opens a running guest's IMMUTABLE text with the restore uAPI
 * (KVM_HEKI_SET_STATE: the page read-write-execute), then the guest's
 * compromised kernel patches it.
 */
static int sn_loosen_running(bool protect, struct attack_outcome *out)
{
	struct kvm_heki_perm_run run = { .gfn = SN_TEXT / SN_PG, .npages = 1,
					  .perms = MEM_ATTR_READ | MEM_ATTR_WRITE | MEM_ATTR_EXEC };
	struct kvm_heki_state st = { .count = 1, .entries = (uint64_t)(uintptr_t)&run };
	struct atk_vm v;
	uint64_t hva;
	long e, r = 0;
	int ret = sn_vm(&v, false, &hva);

	(void)protect;
	if (ret)
		return ret;
	e = atk_vm_run(&v, sn_guest_lock_text, NULL);
	if (!e)
		e = atk_ioctl(&v, v.vm, KVM_HEKI_SET_STATE, &st);
	if (e && e != -EBUSY) {
		atk_vm_destroy(&v);
		return (int)e;
	}
	if (atk_vm_run(&v, sn_guest_patch_text, &r) || r)
		atk_outcome(out, ATTACK_BLOCKED, 0, "KVM_HEKI_SET_STATE: %s; the patch faults",
			    atk_errno_name(e));
	else
		atk_outcome(out, ATTACK_SUCCEEDED, 0, "the text was patched");
	atk_vm_destroy(&v);
	return 0;
}

const struct attack attacks_snapshot[] = {
	{ "snapshot-forge-private-page", "snap",
	  "the VMM flips a private page's bits while moving the guest",
	  CLAIM_BLOCKS, sn_forge_private, false },
	{ "snapshot-loosen-running-guest", "snap",
	  "the VMM reopens a running guest's immutable text with the restore uAPI",
	  CLAIM_BLOCKS, sn_loosen_running, true },
	{ NULL, NULL, NULL, CLAIM_NONE, NULL, false },
};
