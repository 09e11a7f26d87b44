// SPDX-License-Identifier: MIT
/*
 * SGX attacks: a VMM or a guest kernel after an enclave's secret, or
 * trying to corrupt it or to feed it an old copy of its own page. The guest
 * builds the enclave in its virtual EPC (/dev/sgx_vepc as a memslot) with
 * ECREATE and EADD, then wipes the source page: the secret lives only in
 * the enclave. "Off" keeps the same secret in an ordinary guest page.
 * Enclave entry is not modelled, so the enclave never reads its own data:
 * a debug enclave's EDBGRD is how an attack that writes checks what it did.
 */
#include <errno.h>
#include <string.h>

#include "attacks.h"

#define SG_RAM     0x10000ull
#define SG_EPC     0x100000ull     /* the vEPC memslot */
#define SG_PLAIN   0x8000ull       /* "off": the secret's ordinary page */
#define SG_PI      0x1000ull       /* PAGEINFO */
#define SG_SI      0x1040ull       /* SECINFO */
#define SG_PCMD    0x1080ull
#define SG_SECS    0x2000ull       /* the SECS source */
#define SG_SRC     0x3000ull       /* the page EADD copies */
#define SG_BLOB    0x4000ull       /* EWB's output */
#define SG_OLD     0x5000ull       /* an attacker's copy of an older blob */
#define SG_OLDPCMD 0x1100ull
#define SG_BASE    0x10000000ull
#define SG_PG      4096ull

static const char sg_secret[32] = "enclave sealing key 0x5e1f00d";

struct sg_stage {
	struct atk_vm v;
	uint64_t ram, epc;
	long vepc;
};

static int sg_up(struct sg_stage *s)
{
	struct kvm_userspace_memory_region r = { .slot = 1, .guest_phys_addr = SG_EPC,
						 .memory_size = 4 * SG_PG };
	int ret = atk_vm_create(&s->v, 0, 0);

	if (ret)
		return ret;
	ret = atk_vm_ram(&s->v, 0, 0, 0, SG_RAM, &s->ram);
	s->vepc = ret ? ret : atk_sys(s->v.vmm, MV_SYS_openat, (uint64_t)AT_FDCWD,
				      (uint64_t)(uintptr_t)"/dev/sgx_vepc", O_RDWR, 0, 0, 0);
	s->epc = s->vepc < 0 ? 0 : (uint64_t)atk_sys(s->v.vmm, MV_SYS_mmap, 0, 4 * SG_PG,
						     PROT_READ | PROT_WRITE, MAP_SHARED,
						     (uint64_t)s->vepc, 0);
	r.userspace_addr = s->epc;
	if (!ret && (s->vepc < 0 || (long)s->epc < 0))
		ret = -EIO;
	if (!ret)
		ret = (int)atk_ioctl(&s->v, s->v.vm, KVM_SET_USER_MEMORY_REGION, &r);
	if (ret)
		atk_vm_destroy(&s->v);
	return ret;
}

/* ---- the guest ---- */

enum sg_mode { SG_READ, SG_WRITE, SG_EDBGRD, SG_TAMPER, SG_REPLAY };

struct sg_guest {
	bool protect;
	enum sg_mode mode;
	uint64_t attrs;          /* of the enclave */
	long bad;                /* a setup step failed */
	long rax;                /* what the attack's last ENCLS answered */
	char got[sizeof(sg_secret)];
};

static void sg_w64(struct mv_guest *g, struct sg_guest *c, uint64_t gpa, uint64_t v)
{
	c->bad |= mv_guest_write(g, gpa, &v, 8);
}

static void sg_pageinfo(struct mv_guest *g, struct sg_guest *c, uint64_t lin, uint64_t src,
			uint64_t meta, uint64_t secs)
{
	sg_w64(g, c, SG_PI, lin);
	sg_w64(g, c, SG_PI + 8, src);
	sg_w64(g, c, SG_PI + 16, meta);
	sg_w64(g, c, SG_PI + 24, secs);
}

/* SECS at EPC page 0, the secret in a REG page at EPC page 1; the source wiped. */
static void sg_build(struct mv_guest *g, struct sg_guest *c)
{
	static const uint8_t zero[sizeof(sg_secret)];

	sg_w64(g, c, SG_SECS, 0x10000);
	sg_w64(g, c, SG_SECS + 8, SG_BASE);
	sg_w64(g, c, SG_SECS + 16, 1);
	sg_w64(g, c, SG_SECS + 48, c->attrs);
	sg_w64(g, c, SG_SI, SGX_SECINFO_SECS);
	sg_pageinfo(g, c, 0, SG_SECS, SG_SI, 0);
	c->bad |= mv_guest_encls(g, SGX_ECREATE, SG_PI, SG_EPC, 0);
	c->bad |= mv_guest_write(g, SG_SRC, sg_secret, sizeof(sg_secret));
	sg_w64(g, c, SG_SI, SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W);
	sg_pageinfo(g, c, SG_BASE + SG_PG, SG_SRC, SG_SI, SG_EPC);
	c->bad |= mv_guest_encls(g, SGX_EADD, SG_PI, SG_EPC + SG_PG, 0);
	c->bad |= mv_guest_write(g, SG_SRC, zero, sizeof(zero));
}

/* Reads the enclave page's first bytes through EDBGRD (debug enclaves). */
static long sg_edbgrd(struct mv_guest *g, char *out, size_t len)
{
	for (size_t off = 0; off < len; off += 8) {
		uint64_t rbx = 0, rcx = SG_EPC + SG_PG + off, rdx = 0;
		long r = mv_guest_encls_regs(g, SGX_EDBGRD, &rbx, &rcx, &rdx);

		if (r)
			return r;
		memcpy(out + off, &rbx, len - off < 8 ? len - off : 8);
	}
	return 0;
}

/* EBLOCK, ETRACK, EWB of the secret's page into SG_BLOB and VA slot @slot of EPC page 2. */
static long sg_evict(struct mv_guest *g, struct sg_guest *c, uint64_t slot)
{
	c->bad |= mv_guest_encls(g, SGX_EBLOCK, 0, SG_EPC + SG_PG, 0);
	c->bad |= mv_guest_encls(g, SGX_ETRACK, 0, SG_EPC, 0);
	sg_pageinfo(g, c, 0, SG_BLOB, SG_PCMD, 0);
	return mv_guest_encls(g, SGX_EWB, SG_PI, SG_EPC + SG_PG, SG_EPC + 2 * SG_PG + 8 * slot);
}

static long sg_load(struct mv_guest *g, struct sg_guest *c, uint64_t blob, uint64_t pcmd,
		    uint64_t slot)
{
	sg_pageinfo(g, c, SG_BASE + SG_PG, blob, pcmd, SG_EPC);
	return mv_guest_encls(g, SGX_ELDU, SG_PI, SG_EPC + SG_PG, SG_EPC + 2 * SG_PG + 8 * slot);
}

/* Copies @len guest bytes from @from to @to. */
static void sg_copy(struct mv_guest *g, struct sg_guest *c, uint64_t from, uint64_t to, size_t len)
{
	char buf[SG_PG];

	c->bad |= mv_guest_read(g, from, buf, len);
	c->bad |= mv_guest_write(g, to, buf, len);
}

/* The attacker's paging games; *c->got ends with what EDBGRD sees. */
static void sg_paging(struct mv_guest *g, struct sg_guest *c)
{
	c->bad |= mv_guest_encls(g, SGX_EPA, SGX_PAGE_TYPE_VA, SG_EPC + 2 * SG_PG, 0);
	c->bad |= sg_evict(g, c, 0);
	if (c->mode == SG_TAMPER) {
		uint8_t b;

		/* the attacker flips a bit of (a copy of) the encrypted page */
		sg_copy(g, c, SG_BLOB, SG_OLD, SG_PG);
		c->bad |= mv_guest_read(g, SG_OLD + 100, &b, 1);
		b ^= 0x20;
		c->bad |= mv_guest_write(g, SG_OLD + 100, &b, 1);
		c->rax = sg_load(g, c, SG_OLD, SG_PCMD, 0);
	} else {
		static const char fresh[8] = "rotated";
		uint64_t v;

		/* keep the old copy, load it back, change the secret, evict again */
		sg_copy(g, c, SG_BLOB, SG_OLD, SG_PG);
		sg_copy(g, c, SG_PCMD, SG_OLDPCMD, 128);
		c->bad |= sg_load(g, c, SG_BLOB, SG_PCMD, 0);
		memcpy(&v, fresh, 8);
		c->bad |= mv_guest_encls(g, SGX_EDBGWR, v, SG_EPC + SG_PG, 0);
		c->bad |= sg_evict(g, c, 0);
		/* replay: the old page, its old PCMD, the slot of the new one */
		c->rax = sg_load(g, c, SG_OLD, SG_OLDPCMD, 0);
	}
	if (c->rax) {   /* refused: the genuine page still loads */
		long r = sg_load(g, c, SG_BLOB, SG_PCMD, 0);

		c->bad |= r;
	}
	c->bad |= sg_edbgrd(g, c->got, sizeof(c->got));
}

static void sg_guest(struct mv_guest *g, void *arg)
{
	struct sg_guest *c = arg;
	uint64_t where = c->protect ? SG_EPC + SG_PG : SG_PLAIN;

	if (c->protect || c->mode == SG_TAMPER || c->mode == SG_REPLAY)
		sg_build(g, c);
	else
		c->bad |= mv_guest_write(g, SG_PLAIN, sg_secret, sizeof(sg_secret));
	switch (c->mode) {
	case SG_READ:
		c->bad |= mv_guest_read(g, where, c->got, sizeof(c->got));
		break;
	case SG_WRITE: {
		static const char junk[sizeof(sg_secret)] = "overwritten by the guest kernel";

		c->bad |= mv_guest_write(g, where, junk, sizeof(junk));
		if (c->protect)
			c->bad |= sg_edbgrd(g, c->got, sizeof(c->got));
		else
			c->bad |= mv_guest_read(g, where, c->got, sizeof(c->got));
		break;
	}
	case SG_EDBGRD:
		c->rax = sg_edbgrd(g, c->got, sizeof(c->got));
		break;
	default:
		sg_paging(g, c);
	}
}

/* Builds the stage, runs the guest; 0 with *c filled, or an error. */
static int sg_run(struct sg_guest *c, struct sg_stage *s)
{
	long ret = sg_up(s);

	if (ret)
		return (int)ret;
	ret = atk_vm_run(&s->v, sg_guest, c);
	if (!ret && c->bad)
		ret = -EIO;
	if (ret)
		atk_vm_destroy(&s->v);
	return (int)(ret > 0 ? -EIO : ret);
}

/* ---- the attacks ---- */

/* The VMM reads the page through its own mapping of the vEPC. */
static int atk_vmm_reads(bool protect, struct attack_outcome *out)
{
	struct sg_guest c = { .protect = protect, .mode = SG_READ };
	struct sg_stage s;
	char got[sizeof(sg_secret)];
	int ret = sg_run(&c, &s);
	uint64_t n;

	if (ret)
		return ret;
	ret = (int)mv_user_read(s.v.vmm, protect ? s.epc + SG_PG : s.ram + SG_PLAIN, got, sizeof(got));
	n = ret ? 0 : atk_leaked(got, sg_secret, sizeof(sg_secret));
	if (!ret)
		atk_outcome(out, n ? ATTACK_SUCCEEDED : ATTACK_BLOCKED, n,
			    n ? "the VMM read the secret" : "the VMM reads all ones (abort page)");
	atk_vm_destroy(&s.v);
	return ret;
}

/* The guest's own kernel, outside the enclave, reads the page. */
static int atk_guest_reads(bool protect, struct attack_outcome *out)
{
	struct sg_guest c = { .protect = protect, .mode = SG_READ };
	struct sg_stage s;
	int ret = sg_run(&c, &s);
	uint64_t n;

	if (ret)
		return ret;
	n = atk_leaked(c.got, sg_secret, sizeof(sg_secret));
	atk_outcome(out, n ? ATTACK_SUCCEEDED : ATTACK_BLOCKED, n,
		    n ? "the guest kernel read the secret" : "all ones: outside the enclave");
	atk_vm_destroy(&s.v);
	return 0;
}

/* The guest kernel overwrites the page (checked through a debug enclave's EDBGRD). */
static int atk_guest_writes(bool protect, struct attack_outcome *out)
{
	struct sg_guest c = { .protect = protect, .mode = SG_WRITE, .attrs = SGX_ATTR_DEBUG };
	struct sg_stage s;
	int ret = sg_run(&c, &s);
	bool intact;

	if (ret)
		return ret;
	intact = !memcmp(c.got, sg_secret, sizeof(sg_secret));
	atk_outcome(out, intact ? ATTACK_BLOCKED : ATTACK_SUCCEEDED, 0,
		    intact ? "the stores were dropped; the enclave page is intact"
			   : "the secret was overwritten");
	atk_vm_destroy(&s.v);
	return 0;
}

/* The guest kernel reads a production enclave with EDBGRD ("off": a debug enclave). */
static int atk_edbgrd(bool protect, struct attack_outcome *out)
{
	struct sg_guest c = { .protect = true, .mode = SG_EDBGRD,
			      .attrs = protect ? 0 : SGX_ATTR_DEBUG };
	struct sg_stage s;
	int ret = sg_run(&c, &s);
	uint64_t n;

	if (ret)
		return ret;
	n = c.rax ? 0 : atk_leaked(c.got, sg_secret, sizeof(sg_secret));
	if (c.rax)
		atk_outcome(out, ATTACK_BLOCKED, 0, "EDBGRD: SGX_PAGE_NOT_DEBUGGABLE (%ld)", c.rax);
	else
		atk_outcome(out, n ? ATTACK_SUCCEEDED : ATTACK_BLOCKED, n,
			    "EDBGRD of a debug enclave reads it");
	atk_vm_destroy(&s.v);
	return 0;
}

/* EWB, a flipped bit in the evicted page, ELDU. */
static int atk_tamper(bool protect, struct attack_outcome *out)
{
	struct sg_guest c = { .protect = true, .mode = SG_TAMPER, .attrs = SGX_ATTR_DEBUG };
	struct sg_stage s;
	int ret = sg_run(&c, &s);

	(void)protect;
	if (ret)
		return ret;
	if (c.rax == SGX_MAC_COMPARE_FAIL && !memcmp(c.got, sg_secret, sizeof(sg_secret)))
		atk_outcome(out, ATTACK_BLOCKED, 0, "ELDU: SGX_MAC_COMPARE_FAIL; the page is intact");
	else
		atk_outcome(out, ATTACK_SUCCEEDED, 0, "ELDU took the altered page (%ld)", c.rax);
	atk_vm_destroy(&s.v);
	return 0;
}

/* EWB, keep the copy, the enclave moves on, EWB again; ELDU of the old copy. */
static int atk_replay(bool protect, struct attack_outcome *out)
{
	struct sg_guest c = { .protect = true, .mode = SG_REPLAY, .attrs = SGX_ATTR_DEBUG };
	struct sg_stage s;
	int ret = sg_run(&c, &s);
	uint64_t n;

	(void)protect;
	if (ret)
		return ret;
	n = atk_leaked(c.got, sg_secret, sizeof(sg_secret));
	if (c.rax == SGX_MAC_COMPARE_FAIL && n < 8)
		atk_outcome(out, ATTACK_BLOCKED, 0, "ELDU: SGX_MAC_COMPARE_FAIL; the new page stays");
	else
		atk_outcome(out, ATTACK_SUCCEEDED, n, "the old page came back (%ld)", c.rax);
	atk_vm_destroy(&s.v);
	return 0;
}

const struct attack attacks_sgx[] = {
	{ "sgx-vmm-reads-enclave", "sgx", "the VMM reads an enclave page through its vEPC mapping",
	  CLAIM_BLOCKS, atk_vmm_reads, false },
	{ "sgx-guest-reads-enclave", "sgx", "the guest's kernel reads an enclave page",
	  CLAIM_BLOCKS, atk_guest_reads, false },
	{ "sgx-guest-writes-enclave", "sgx", "the guest's kernel overwrites an enclave page",
	  CLAIM_BLOCKS, atk_guest_writes, false },
	{ "sgx-edbgrd-production", "sgx", "EDBGRD of a production enclave's page",
	  CLAIM_BLOCKS, atk_edbgrd, false },
	{ "sgx-eldu-tampered-page", "sgx", "ELDU of an evicted page with a bit flipped",
	  CLAIM_BLOCKS, atk_tamper, true },
	{ "sgx-eldu-replay", "sgx", "ELDU of an older copy of an evicted page",
	  CLAIM_BLOCKS, atk_replay, true },
	{ NULL, NULL, NULL, CLAIM_NONE, NULL, false },
};
