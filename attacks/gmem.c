// SPDX-License-Identifier: MIT
/*
 * Guest private memory attacks: a guest keeps a secret in a page; the VMM
 * (or another party) tries to read or change it. "On" is a software-
 * protected VM whose page is private (KVM_MEMORY_ATTRIBUTE_PRIVATE, bytes
 * in a guest_memfd); "off" is the same VM with the page left shared, its
 * bytes in the VMM's own memory, as every VM's were before guest_memfd.
 */
#include <errno.h>
#include <string.h>

#include "attacks.h"

#define GM_SIZE    0x10000ull
#define GM_SECRET  0x3000ull      /* GPA of the guest's secret */
#define GM_PG      4096ull

static const char gm_secret[] = "guest disk key: 7f3a9c0e51d2b846";

struct gm_stage {
	struct atk_vm v;
	uint64_t hva;               /* the VMM's mapping of the slot */
	int gmem;
	/* what the guest does and sees */
	bool read_back;
	char seen[sizeof(gm_secret)];
	long guest_ret;
};

static void gm_guest_write(struct mv_guest *g, void *arg)
{
	struct gm_stage *s = arg;

	s->guest_ret = mv_guest_write(g, GM_SECRET, gm_secret, sizeof(gm_secret));
}

static void gm_guest_read(struct mv_guest *g, void *arg)
{
	struct gm_stage *s = arg;

	s->guest_ret = mv_guest_read(g, GM_SECRET, s->seen, sizeof(s->seen));
}

/* A protected VM, one guest_memfd slot; the secret page private when @protect. */
static int gm_stage_init(struct gm_stage *s, bool protect)
{
	struct kvm_create_guest_memfd cg = { .size = GM_SIZE };
	struct kvm_userspace_memory_region2 r = {
		.slot = 0, .flags = KVM_MEM_GUEST_MEMFD, .memory_size = GM_SIZE,
	};
	struct kvm_memory_attributes a = {
		.address = GM_SECRET, .size = GM_PG, .attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE,
	};
	long ret, hva;

	memset(s, 0, sizeof(*s));
	ret = atk_vm_create(&s->v, 0, KVM_X86_SW_PROTECTED_VM);
	if (ret)
		return (int)ret;
	s->gmem = (int)atk_ioctl(&s->v, s->v.vm, KVM_CREATE_GUEST_MEMFD, &cg);
	hva = atk_mmap_anon(s->v.vmm, GM_SIZE);
	if (s->gmem < 0 || hva < 0) {
		ret = s->gmem < 0 ? s->gmem : hva;
		goto fail;
	}
	s->hva = (uint64_t)hva;
	r.userspace_addr = s->hva;
	r.guest_memfd = (uint32_t)s->gmem;
	ret = atk_ioctl(&s->v, s->v.vm, KVM_SET_USER_MEMORY_REGION2, &r);
	if (!ret && protect)
		ret = atk_ioctl(&s->v, s->v.vm, KVM_SET_MEMORY_ATTRIBUTES, &a);
	if (!ret)
		ret = atk_vm_run(&s->v, gm_guest_write, s);
	if (!ret && s->guest_ret)
		ret = s->guest_ret;
	if (!ret)
		return 0;
fail:
	atk_vm_destroy(&s->v);
	return (int)(ret > 0 ? -EIO : ret);
}

/* The verdict from bytes the attacker obtained (NULL: none at all). */
static void gm_verdict(struct attack_outcome *out, const char *got, const char *means)
{
	uint64_t n = got ? atk_leaked(got, gm_secret, sizeof(gm_secret)) : 0;

	if (n == sizeof(gm_secret))
		atk_outcome(out, ATTACK_SUCCEEDED, n, "%s read the secret", means);
	else
		atk_outcome(out, ATTACK_BLOCKED, n, "%s: %s", means,
			    got ? "other bytes" : "refused");
}

/* One way for the VMM to read the secret: the bytes read, or a negative errno. */
typedef long (*gm_reader)(struct gm_stage *s, char *got, size_t len);

static long gm_read_mapping(struct gm_stage *s, char *got, size_t len)
{
	long ret = mv_user_read(s->v.vmm, s->hva + GM_SECRET, got, len);

	return ret ? ret : (long)len;
}

/* Another process reads the VMM's memory (process_vm_readv, GUP). */
static long gm_read_remote(struct gm_stage *s, char *got, size_t len)
{
	return mv_task_access_remote(s->v.vmm, s->hva + GM_SECRET, got, len, 0);
}

/* pread() on the guest_memfd itself. */
static long gm_read_fd(struct gm_stage *s, char *got, size_t len)
{
	return atk_sys(s->v.vmm, MV_SYS_pread64, (uint64_t)s->gmem, (uint64_t)(uintptr_t)got, len,
		       GM_SECRET, 0, 0);
}

static int gm_read_attack(bool protect, struct attack_outcome *out, gm_reader read,
			  const char *means)
{
	struct gm_stage s;
	char got[sizeof(gm_secret)];
	int ret = gm_stage_init(&s, protect);
	long n;

	if (ret)
		return ret;
	n = read(&s, got, sizeof(got));
	if (n == (long)sizeof(got))
		gm_verdict(out, got, means);
	else
		atk_outcome(out, ATTACK_BLOCKED, 0, "%s: %s", means,
			    n < 0 ? atk_errno_name(n) : "short read");
	atk_vm_destroy(&s.v);
	return 0;
}

static int atk_vmm_reads_mapping(bool protect, struct attack_outcome *out)
{
	return gm_read_attack(protect, out, gm_read_mapping, "the VMM's load of the slot's HVA");
}

static int atk_remote_reads(bool protect, struct attack_outcome *out)
{
	return gm_read_attack(protect, out, gm_read_remote, "process_vm_readv of the VMM");
}

static int atk_read_gmem_fd(bool protect, struct attack_outcome *out)
{
	return gm_read_attack(protect, out, gm_read_fd, "pread of the guest_memfd");
}

/* The VMM writes through its mapping: does the guest see the forgery? */
static int atk_vmm_writes(bool protect, struct attack_outcome *out)
{
	static const char forged[sizeof(gm_secret)] = "attacker-chosen bytes, same len";
	struct gm_stage s;
	int ret = gm_stage_init(&s, protect);

	if (ret)
		return ret;
	ret = (int)mv_user_write(s.v.vmm, s.hva + GM_SECRET, forged, sizeof(forged));
	if (!ret)
		ret = (int)atk_vm_run(&s.v, gm_guest_read, &s);
	if (!ret) {
		bool changed = !memcmp(s.seen, forged, sizeof(forged));

		atk_outcome(out, changed ? ATTACK_SUCCEEDED : ATTACK_BLOCKED, 0,
			    changed ? "the guest read the VMM's bytes" : "the guest's page kept its bytes");
	}
	atk_vm_destroy(&s.v);
	return ret > 0 ? -EIO : ret;
}

/* The VMM flips the page to shared behind the guest's back, then reads it. */
static int atk_convert_then_read(bool protect, struct attack_outcome *out)
{
	struct kvm_memory_attributes a = { .address = GM_SECRET, .size = GM_PG };
	struct gm_stage s;
	char got[sizeof(gm_secret)];
	int ret = gm_stage_init(&s, protect);

	if (ret)
		return ret;
	ret = protect ? (int)atk_ioctl(&s.v, s.v.vm, KVM_SET_MEMORY_ATTRIBUTES, &a) : 0;
	if (!ret)
		ret = (int)mv_user_read(s.v.vmm, s.hva + GM_SECRET, got, sizeof(got));
	if (!ret)
		gm_verdict(out, got, "after converting to shared, the VMM's load");
	atk_vm_destroy(&s.v);
	return ret;
}

/* The VMM punches the private page out and the guest reads it back: stale bytes? */
static int atk_stale_after_punch(bool protect, struct attack_outcome *out)
{
	struct gm_stage s;
	long ret;

	(void)protect;
	ret = gm_stage_init(&s, true);
	if (ret)
		return (int)ret;
	ret = atk_sys(s.v.vmm, MV_SYS_fallocate, (uint64_t)s.gmem,
		      FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, GM_SECRET, GM_PG, 0, 0);
	if (!ret)
		ret = atk_vm_run(&s.v, gm_guest_read, &s);
	if (!ret)
		gm_verdict(out, s.seen, "the guest's read after the punch");
	atk_vm_destroy(&s.v);
	return (int)(ret > 0 ? -EIO : ret);
}

/* mmap of the guest_memfd (the GUEST_MEMFD_FLAG_MMAP file of a protected VM). */
static int atk_mmap_gmem(bool protect, struct attack_outcome *out)
{
	struct kvm_create_guest_memfd cg = { .size = GM_SIZE, .flags = GUEST_MEMFD_FLAG_MMAP };
	struct gm_stage s;
	char got[sizeof(gm_secret)];
	long fd, map;
	int ret = gm_stage_init(&s, protect);

	if (ret)
		return ret;
	/* the bound file first, then a file asking for mmap support */
	map = atk_sys(s.v.vmm, MV_SYS_mmap, 0, GM_SIZE, PROT_READ, MAP_SHARED, (uint64_t)s.gmem, 0);
	if (map < 0) {
		fd = atk_ioctl(&s.v, s.v.vm, KVM_CREATE_GUEST_MEMFD, &cg);
		atk_outcome(out, ATTACK_BLOCKED, 0, "mmap of the guest_memfd: %s%s",
			    atk_errno_name(map),
			    fd < 0 ? "; an mmap-able file is refused too" : "");
	} else if (mv_user_read(s.v.vmm, (uint64_t)map + GM_SECRET, got, sizeof(got))) {
		atk_outcome(out, ATTACK_BLOCKED, 0, "the mapping's load faults (SIGBUS)");
	} else {
		gm_verdict(out, got, "a load through the guest_memfd mapping");
	}
	atk_vm_destroy(&s.v);
	return 0;
}

const struct attack attacks_gmem[] = {
	{ "gmem-vmm-reads-mapping", "gmem", "the VMM loads the guest's secret through its HVA",
	  CLAIM_BLOCKS, atk_vmm_reads_mapping, false },
	{ "gmem-remote-read", "gmem", "another process reads the VMM (process_vm_readv)",
	  CLAIM_BLOCKS, atk_remote_reads, false },
	{ "gmem-read-fd", "gmem", "pread() on the guest_memfd",
	  CLAIM_BLOCKS, atk_read_gmem_fd, true },
	{ "gmem-vmm-writes", "gmem", "the VMM writes the guest's page (DMA-style corruption)",
	  CLAIM_BLOCKS, atk_vmm_writes, false },
	{ "gmem-convert-then-read", "gmem", "the VMM converts the page to shared, then reads",
	  CLAIM_BLOCKS, atk_convert_then_read, false },
	{ "gmem-stale-after-punch", "gmem", "the guest reads a punched page: stale bytes?",
	  CLAIM_BLOCKS, atk_stale_after_punch, true },
	{ "gmem-mmap-private", "gmem", "mmap the guest_memfd and load the private page",
	  CLAIM_BLOCKS, atk_mmap_gmem, true },
	{ NULL, NULL, NULL, CLAIM_NONE, NULL, false },
};
