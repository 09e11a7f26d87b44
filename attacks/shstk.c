// SPDX-License-Identifier: MIT
/*
 * Shadow-stack attacks. The attacker's goal is always the same: make a RET
 * go to an address of their choosing (EVIL). Every attack first overwrites
 * the return address on the ordinary stack, which is all it takes without
 * shadow stacks; with them on, each tries one more way to make the shadow
 * stack agree. "Off" is the same program in a task that did not enable
 * shadow stacks (ARCH_SHSTK_ENABLE), on the same CET machine.
 */
#include <errno.h>
#include <string.h>

#include "attacks.h"

#define EVIL   0x4141414141ull     /* where the attacker wants RET to go */
#define LEGIT  0x401000ull         /* where the program meant to return */
#define PG     4096ull

/* The attacker's extra step with shadow stacks on: 0, or -errno if refused. */
typedef long (*shstk_means)(struct mv_task *t, uint64_t ssp);

static long shstk_call_and_smash(struct mv_task *t)
{
	uint64_t rsp, evil = EVIL;
	long ret = mv_cpu_call(t, LEGIT);

	if (ret)
		return ret;
	ret = mv_cpu_get_reg(t, MV_REG_RSP, &rsp);
	return ret ? ret : mv_user_write(t, rsp, &evil, sizeof(evil));
}

/* RET, and what it did: the verdict. */
static void shstk_ret_verdict(struct mv_task *t, long means_ret, struct attack_outcome *out)
{
	struct mv_siginfo si = { 0 };
	uint64_t ra = 0;
	long ret;

	while (mv_task_take_signal(t, &si))   /* a refused step left its signal: not the RET's */
		;
	memset(&si, 0, sizeof(si));
	ret = mv_cpu_ret(t, &ra);
	if (!ret && ra == EVIL) {
		atk_outcome(out, ATTACK_SUCCEEDED, 0, "RET went to %#llx", (unsigned long long)ra);
		return;
	}
	mv_task_take_signal(t, &si);
	atk_outcome(out, ATTACK_BLOCKED, 0, "%s%s; RET: %s",
		    means_ret ? "step refused " : "step done",
		    means_ret ? atk_errno_name(means_ret) : "", atk_signal_name(&si));
}

static int shstk_attack(bool protect, shstk_means means, unsigned long features,
			struct attack_outcome *out)
{
	struct mv_machine *m;
	struct mv_task *t;
	uint64_t ssp = 0;
	long ret, means_ret = 0;

	ret = atk_machine(0, &m, &t);
	if (ret)
		return (int)ret;
	if (protect) {
		/* WRSS is enabled on its own, once the shadow stack is on */
		ret = atk_sys(t, MV_SYS_arch_prctl, ARCH_SHSTK_ENABLE, ARCH_SHSTK_SHSTK, 0, 0, 0, 0);
		if (!ret && (features & ARCH_SHSTK_WRSS))
			ret = atk_sys(t, MV_SYS_arch_prctl, ARCH_SHSTK_ENABLE, ARCH_SHSTK_WRSS, 0, 0,
				      0, 0);
		if (ret)
			goto out;
	}
	ret = shstk_call_and_smash(t);
	if (ret)
		goto out;
	if (protect) {
		ret = mv_cpu_rdssp(t, &ssp);
		if (ret)
			goto out;
		means_ret = means ? means(t, ssp) : 0;
	}
	shstk_ret_verdict(t, means_ret, out);
out:
	mv_machine_destroy(m);
	return (int)ret;
}

static long means_none(struct mv_task *t, uint64_t ssp)
{
	(void)t;
	(void)ssp;
	return 0;
}

static long means_plain_store(struct mv_task *t, uint64_t ssp)
{
	uint64_t evil = EVIL;

	return mv_user_write(t, ssp, &evil, sizeof(evil));
}

static long means_mprotect_writable(struct mv_task *t, uint64_t ssp)
{
	long ret = atk_sys(t, MV_SYS_mprotect, ssp & ~(PG - 1), PG, PROT_READ | PROT_WRITE, 0, 0, 0);

	return ret ? ret : means_plain_store(t, ssp);
}

/* Unmap the shadow-stack page, map ordinary memory there, forge the entry. */
static long means_remap_plain(struct mv_task *t, uint64_t ssp)
{
	uint64_t page = ssp & ~(PG - 1), copy[PG / 8];
	long ret = mv_user_read(t, page, copy, sizeof(copy));

	if (ret)
		return ret;
	ret = atk_sys(t, MV_SYS_mmap, page, PG, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, (uint64_t)-1, 0);
	if (ret < 0)
		return ret;
	copy[(ssp - page) / 8] = EVIL;
	return mv_user_write(t, page, copy, sizeof(copy));
}

static long means_wrss(struct mv_task *t, uint64_t ssp)
{
	return mv_cpu_wrss(t, ssp, EVIL);
}

static long means_remote_write(struct mv_task *t, uint64_t ssp)
{
	uint64_t evil = EVIL;
	long ret = mv_task_access_remote(t, ssp, &evil, sizeof(evil), MV_REMOTE_WRITE);

	return ret < 0 ? ret : 0;
}

static long means_ptrace_poke(struct mv_task *t, uint64_t ssp)
{
	uint64_t evil = EVIL;
	long ret = mv_task_access_remote(t, ssp, &evil, sizeof(evil),
					 MV_REMOTE_WRITE | MV_REMOTE_FORCE);

	return ret < 0 ? ret : 0;
}

/* Drop the shadow-stack page: it refaults as zeros. */
static long means_dontneed(struct mv_task *t, uint64_t ssp)
{
	return atk_sys(t, MV_SYS_madvise, ssp & ~(PG - 1), PG, MADV_DONTNEED, 0, 0, 0);
}

/* A restore token forged in ordinary memory, then RSTORSSP to it. */
static long means_forged_token(struct mv_task *t, uint64_t ssp)
{
	long buf = atk_mmap_anon(t, PG);
	uint64_t frame[2];

	(void)ssp;
	if (buf < 0)
		return buf;
	/* a token at A holds (A + 8) | 1 (64-bit mode); EVIL is the entry above it */
	frame[0] = ((uint64_t)buf + PG - 8) | 1;
	frame[1] = EVIL;
	if (mv_user_write(t, (uint64_t)buf + PG - 16, frame, sizeof(frame)))
		return -EFAULT;
	return mv_cpu_rstorssp(t, (uint64_t)buf + PG - 16);
}

#define SHSTK_ATTACK(fn, means, feats)                                       \
	static int fn(bool protect, struct attack_outcome *out)               \
	{                                                                     \
		return shstk_attack(protect, means, feats, out);              \
	}
SHSTK_ATTACK(atk_rop_return, means_none, ARCH_SHSTK_SHSTK)
SHSTK_ATTACK(atk_plain_store, means_plain_store, ARCH_SHSTK_SHSTK)
SHSTK_ATTACK(atk_mprotect, means_mprotect_writable, ARCH_SHSTK_SHSTK)
SHSTK_ATTACK(atk_remap, means_remap_plain, ARCH_SHSTK_SHSTK)
SHSTK_ATTACK(atk_wrss_off, means_wrss, ARCH_SHSTK_SHSTK)
SHSTK_ATTACK(atk_wrss_on, means_wrss, ARCH_SHSTK_SHSTK | ARCH_SHSTK_WRSS)
SHSTK_ATTACK(atk_remote, means_remote_write, ARCH_SHSTK_SHSTK)
SHSTK_ATTACK(atk_ptrace, means_ptrace_poke, ARCH_SHSTK_SHSTK)
SHSTK_ATTACK(atk_dontneed, means_dontneed, ARCH_SHSTK_SHSTK)
SHSTK_ATTACK(atk_forged_token, means_forged_token, ARCH_SHSTK_SHSTK)

/*
 * SROP: the saved RIP of a signal frame lives on the ordinary stack, and
 * rt_sigreturn restores it; the shadow stack guards the token (SSP), not
 * RIP. Goal: RIP = EVIL after sigreturn.
 */
static int atk_sigreturn_rip(bool protect, struct attack_outcome *out)
{
	struct mv_machine *m;
	struct mv_task *t;
	uint64_t rsp, rip = 0, evil = EVIL;
	long ret = atk_machine(0, &m, &t);

	if (ret)
		return (int)ret;
	if (protect)
		ret = atk_sys(t, MV_SYS_arch_prctl, ARCH_SHSTK_ENABLE, ARCH_SHSTK_SHSTK, 0, 0, 0, 0);
	if (!ret)
		ret = mv_cpu_signal_deliver(t, 10, 0x402000, 0x403000);
	if (!ret)
		ret = mv_cpu_get_reg(t, MV_REG_RSP, &rsp);
	if (!ret)   /* the frame: pretcode, signo, rip, rsp */
		ret = mv_user_write(t, rsp + 16, &evil, sizeof(evil));
	if (!ret)
		ret = mv_cpu_ret(t, NULL);
	if (!ret) {
		ret = mv_cpu_sigreturn(t);
		mv_cpu_get_reg(t, MV_REG_RIP, &rip);
		atk_outcome(out, rip == EVIL ? ATTACK_SUCCEEDED : ATTACK_BLOCKED, 0,
			    "RIP after rt_sigreturn %#llx", (unsigned long long)rip);
		ret = 0;
	}
	mv_machine_destroy(m);
	return (int)ret;
}

const struct attack attacks_shstk[] = {
	{ "shstk-rop-return", "shstk", "overwrite a return address on the stack (ROP)",
	  CLAIM_BLOCKS, atk_rop_return, false },
	{ "shstk-plain-store", "shstk", "forge the shadow-stack entry with a plain store",
	  CLAIM_BLOCKS, atk_plain_store, false },
	{ "shstk-mprotect-writable", "shstk", "mprotect the shadow stack writable, then store",
	  CLAIM_BLOCKS, atk_mprotect, false },
	{ "shstk-remap-plain", "shstk", "replace the shadow-stack page by ordinary memory",
	  CLAIM_BLOCKS, atk_remap, false },
	{ "shstk-wrss-disabled", "shstk", "WRSS without ARCH_SHSTK_WRSS",
	  CLAIM_BLOCKS, atk_wrss_off, false },
	{ "shstk-wrss-enabled", "shstk", "WRSS after the program opted in (its own choice)",
	  CLAIM_NONE, atk_wrss_on, false },
	{ "shstk-remote-write", "shstk", "process_vm_writev into the shadow stack",
	  CLAIM_BLOCKS, atk_remote, false },
	{ "shstk-ptrace-poke", "shstk", "ptrace / /proc/pid/mem write (FOLL_FORCE), as debuggers",
	  CLAIM_NONE, atk_ptrace, false },
	{ "shstk-dontneed", "shstk", "MADV_DONTNEED the shadow stack, then return",
	  CLAIM_BLOCKS, atk_dontneed, false },
	{ "shstk-forged-token", "shstk", "RSTORSSP to a restore token forged in ordinary memory",
	  CLAIM_BLOCKS, atk_forged_token, false },
	{ "shstk-sigreturn-rip", "shstk", "SROP: rewrite the saved RIP of a signal frame",
	  CLAIM_NONE, atk_sigreturn_rip, false },
	{ NULL, NULL, NULL, CLAIM_NONE, NULL, false },
};
