// SPDX-License-Identifier: MIT
/*
 * Attacks on the isolation KVM gives every VM: a guest reaching host memory
 * or another VM's data, or writing memory the VMM gave it read-only.
 */
#include <errno.h>
#include <string.h>

#include "attacks.h"

#define KV_SIZE   0x10000ull
#define KV_PG     4096ull

static const char kv_secret[] = "another tenant's session cookie";

struct kv_guest {
	uint64_t gpa;
	size_t len;
	char buf[KV_SIZE];
	long ret;
	bool write;
};

static void kv_guest_access(struct mv_guest *g, void *arg)
{
	struct kv_guest *k = arg;

	k->ret = k->write ? mv_guest_write(g, k->gpa, k->buf, k->len)
			  : mv_guest_read(g, k->gpa, k->buf, k->len);
}

/* A guest writes a KVM_MEM_READONLY slot (a ROM the VMM provides). */
static int atk_readonly_slot(bool protect, struct attack_outcome *out)
{
	static const char rom[] = "firmware image v1";
	static const char evil[sizeof(rom)] = "patched by guest";
	struct kv_guest k = { .gpa = 0x2000, .len = sizeof(evil), .write = true };
	struct atk_vm v;
	uint64_t hva;
	char after[sizeof(rom)];
	long ret = atk_vm_create(&v, 0, 0);

	if (ret)
		return (int)ret;
	ret = atk_vm_ram(&v, 0, protect ? KVM_MEM_READONLY : 0, 0, KV_SIZE, &hva);
	if (!ret)
		ret = mv_user_write(v.vmm, hva + k.gpa, rom, sizeof(rom));
	memcpy(k.buf, evil, sizeof(evil));
	if (!ret)
		ret = atk_vm_run(&v, kv_guest_access, &k);
	if (!ret)
		ret = mv_user_read(v.vmm, hva + k.gpa, after, sizeof(after));
	if (!ret) {
		bool patched = !memcmp(after, evil, sizeof(evil));

		atk_outcome(out, patched ? ATTACK_SUCCEEDED : ATTACK_BLOCKED, 0,
			    patched ? "the ROM holds the guest's bytes"
				    : "the write became MMIO exits; the ROM is intact");
	}
	atk_vm_destroy(&v);
	return (int)(ret > 0 ? -EIO : ret);
}

/* Scan @len bytes of guest memory for the secret: the bytes found in order. */
static uint64_t kv_scan(const char *mem, size_t len)
{
	uint64_t best = 0;

	for (size_t i = 0; i + sizeof(kv_secret) <= len; i++) {
		uint64_t n = atk_leaked(mem + i, kv_secret, sizeof(kv_secret));

		if (n > best)
			best = n;
	}
	return best;
}

/*
 * A VM full of a secret is destroyed; a new VM on the same machine reads
 * all of its fresh memory looking for it (frames are reused: is anything
 * left in them?).
 */
static int atk_freed_vm_memory(bool protect, struct attack_outcome *out)
{
	struct mv_machine_config cfg = { .ram_bytes = 8ull << 20, .seed = 1 };
	struct mv_machine *m;
	struct mv_task *a, *b;
	long ret = mv_machine_create(&cfg, &m);
	static struct kv_guest k;
	uint64_t leaked = 0;

	(void)protect;
	if (ret)
		return (int)ret;
	ret = mv_task_spawn(m, &a);
	if (!ret)
		ret = mv_task_spawn(m, &b);
	for (int round = 0; !ret && round < 2; round++) {
		struct atk_vm v = { .m = m, .vmm = round ? b : a };
		uint64_t hva;

		v.kvm = (int)atk_sys(v.vmm, MV_SYS_openat, (uint64_t)AT_FDCWD,
				     (uint64_t)(uintptr_t)"/dev/kvm", O_RDWR, 0, 0, 0);
		v.vm = (int)atk_ioctl(&v, v.kvm, KVM_CREATE_VM, NULL);
		v.vcpu = (int)atk_ioctl(&v, v.vm, KVM_CREATE_VCPU, NULL);
		ret = v.vcpu < 0 ? v.vcpu : atk_vm_ram(&v, 0, 0, 0, KV_SIZE, &hva);
		memset(&k, 0, sizeof(k));
		k.len = KV_SIZE;
		k.write = !round;
		for (size_t i = 0; !round && i + sizeof(kv_secret) <= KV_SIZE; i += KV_PG / 2)
			memcpy(k.buf + i, kv_secret, sizeof(kv_secret));
		if (!ret)
			ret = atk_vm_run(&v, kv_guest_access, &k);
		if (!ret && round)
			leaked = kv_scan(k.buf, KV_SIZE);
		/* the first VMM exits: its VM and memory are freed */
		if (!round) {
			mv_task_exit(a);
			a = NULL;
		}
	}
	if (!ret)
		atk_outcome(out, leaked == sizeof(kv_secret) ? ATTACK_SUCCEEDED : ATTACK_BLOCKED,
			    leaked == sizeof(kv_secret) ? leaked : 0,
			    leaked == sizeof(kv_secret) ? "the new VM found the secret"
							: "the new VM's memory was zeroed");
	mv_machine_destroy(m);
	return (int)(ret > 0 ? -EIO : ret);
}

/*
 * The VMM unmaps the slot's memory while the guest has it mapped in stage 2;
 * another process then gets the frame and fills it with a secret. Does the
 * guest still reach the old frame? (MMU notifiers must zap stage 2.)
 */
static int atk_stale_stage2(bool protect, struct attack_outcome *out)
{
	struct atk_vm v;
	struct mv_task *other = NULL;
	static struct kv_guest k;
	uint64_t hva, leaked;
	long ret = atk_vm_create(&v, 0, 0), mem;


	(void)protect;
	if (ret)
		return (int)ret;
	memset(&k, 0, sizeof(k));
	k.len = KV_SIZE;
	ret = atk_vm_ram(&v, 0, 0, 0, KV_SIZE, &hva);
	if (!ret)   /* fault every page into stage 2 */
		ret = atk_vm_run(&v, kv_guest_access, &k);
	if (!ret)
		ret = atk_sys(v.vmm, MV_SYS_munmap, hva, KV_SIZE, 0, 0, 0, 0);
	if (!ret)
		ret = mv_task_spawn(v.m, &other);
	mem = ret ? ret : atk_mmap_anon(other, 4 * KV_SIZE);
	for (uint64_t off = 0; mem > 0 && off < 4 * KV_SIZE && !ret; off += KV_PG)
		ret = mv_user_write(other, (uint64_t)mem + off, kv_secret, sizeof(kv_secret));
	if (mem < 0)
		ret = mem;
	if (!ret) {
		/* the slot's HVA is gone: KVM_RUN fails the access (-EFAULT, a memory-fault exit) */
		long run = atk_vm_run(&v, kv_guest_access, &k);

		leaked = kv_scan(k.buf, KV_SIZE);
		atk_outcome(out, leaked == sizeof(kv_secret) ? ATTACK_SUCCEEDED : ATTACK_BLOCKED,
			    leaked == sizeof(kv_secret) ? leaked : 0,
			    "no other process's bytes reached the guest (KVM_RUN %ld)", run);
	}
	atk_vm_destroy(&v);
	return (int)ret;
}

/* A guest reads guest-physical memory no memslot backs: host memory? */
static int atk_read_unbacked_gpa(bool protect, struct attack_outcome *out)
{
	static struct kv_guest k;
	struct atk_vm v;
	uint64_t hva;
	long ret = atk_vm_create(&v, 0, 0);

	(void)protect;
	if (ret)
		return (int)ret;
	memset(&k, 0, sizeof(k));
	k.gpa = 0x40000000;
	k.len = 64;
	memset(k.buf, 0x5a, k.len);
	ret = atk_vm_ram(&v, 0, 0, 0, KV_SIZE, &hva);
	if (!ret)
		ret = atk_vm_run(&v, kv_guest_access, &k);
	if (!ret) {
		bool zeros = true;

		for (size_t i = 0; i < k.len; i++)
			zeros &= k.buf[i] == 0;
		atk_outcome(out, zeros ? ATTACK_BLOCKED : ATTACK_SUCCEEDED, 0,
			    zeros ? "MMIO exits; the VMM answered zeros" : "the guest read bytes");
	}
	atk_vm_destroy(&v);
	return (int)(ret > 0 ? -EIO : ret);
}

const struct attack attacks_kvm[] = {
	{ "kvm-readonly-slot-write", "kvm", "a guest writes a KVM_MEM_READONLY slot (its ROM)",
	  CLAIM_BLOCKS, atk_readonly_slot, false },
	{ "kvm-freed-vm-memory", "kvm", "a new VM reads the frames a destroyed VM used",
	  CLAIM_BLOCKS, atk_freed_vm_memory, true },
	{ "kvm-stale-stage2", "kvm", "a guest uses stage 2 after the VMM unmapped the memory",
	  CLAIM_BLOCKS, atk_stale_stage2, true },
	{ "kvm-unbacked-gpa", "kvm", "a guest reads a GPA no memslot backs",
	  CLAIM_BLOCKS, atk_read_unbacked_gpa, true },
	{ NULL, NULL, NULL, CLAIM_NONE, NULL, false },
};
