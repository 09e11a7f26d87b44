// SPDX-License-Identifier: MIT
/*
 * MTE attacks: memory-safety bugs an allocator that tags its chunks turns
 * into faults (tag on malloc, retag on free), and stale tags that must never
 * reach a page's next owner. "Off" is the same program without tagging: a
 * task whose heap is not PROT_MTE and whose tag checks are off, a VM
 * without KVM_CAP_ARM_MTE; its pointers carry no tag.
 */
#include <errno.h>
#include <string.h>

#include "attacks.h"

#define MT_PG 4096ull
#define TAG(p, t) (((uint64_t)(p) & ~(0xfull << 56)) | ((uint64_t)(t) << 56))

static const char mt_secret[32] = "session key 0x5ec7e7a11ce";

/* The pointer the program uses: tagged with MTE, plain without. */
static uint64_t mt_ptr(bool protect, uint64_t a, unsigned int tag)
{
	return protect ? TAG(a, tag) : a;
}

/* ---- a host task ---- */

struct mt_task {
	struct mv_machine *m;
	struct mv_task *t;
	uint64_t heap;
};

static int mt_task_up(struct mt_task *h, bool protect, uint64_t tcf)
{
	long a;
	int ret = atk_machine(0, &h->m, &h->t);

	if (ret)
		return ret;
	if (protect)
		ret = (int)atk_sys(h->t, MV_SYS_prctl, PR_SET_TAGGED_ADDR_CTRL,
				   PR_TAGGED_ADDR_ENABLE | tcf | (0xfffeull << PR_MTE_TAG_SHIFT), 0, 0,
				   0, 0);
	a = ret ? ret : atk_sys(h->t, MV_SYS_mmap, 0, MT_PG,
				PROT_READ | PROT_WRITE | (protect ? PROT_MTE : 0),
				MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0);
	if (a < 0) {
		mv_machine_destroy(h->m);
		return (int)a;
	}
	h->heap = (uint64_t)a;
	return 0;
}

/* The allocator: @len bytes at @off get @tag (a no-op without MTE). */
static int mt_task_tag(struct mt_task *h, bool protect, uint64_t off, uint64_t len,
		       unsigned int tag)
{
	for (uint64_t a = h->heap + off; protect && a < h->heap + off + len; a += 16)
		if (mv_user_set_tag(h->t, TAG(a, tag)))
			return -EIO;
	return 0;
}

/* malloc(32), store a secret, free() (retag), read through the dangling pointer. */
static int mt_task_uaf(bool protect, uint64_t tcf, struct attack_outcome *out)
{
	struct mt_task h;
	struct mv_siginfo si = { 0 };
	char got[sizeof(mt_secret)];
	uint64_t p;
	int ret = mt_task_up(&h, protect, tcf);
	long r;

	if (ret)
		return ret;
	p = mt_ptr(protect, h.heap, 3);
	ret = mt_task_tag(&h, protect, 0, 32, 3);
	if (!ret)
		ret = (int)mv_user_write(h.t, p, mt_secret, sizeof(mt_secret));
	if (!ret)
		ret = mt_task_tag(&h, protect, 0, 32, 4);
	if (!ret) {
		uint64_t n;

		memset(got, 0, sizeof(got));
		r = mv_user_read(h.t, p, got, sizeof(got));
		n = r ? 0 : atk_leaked(got, mt_secret, sizeof(mt_secret));
		atk_sys(h.t, MV_SYS_getpid, 0, 0, 0, 0, 0, 0);   /* the next kernel entry */
		mv_task_take_signal(h.t, &si);
		if (si.signo == SIGSEGV && si.code == SEGV_MTEAERR)
			atk_outcome(out, ATTACK_REPORTED, n, "read went through; SEGV_MTEAERR at the "
				    "next kernel entry");
		else if (r)
			atk_outcome(out, ATTACK_BLOCKED, 0, "the load faults: %s", atk_signal_name(&si));
		else
			atk_outcome(out, n == sizeof(mt_secret) ? ATTACK_SUCCEEDED : ATTACK_BLOCKED,
				    n, "the dangling pointer read the freed chunk");
	}
	mv_machine_destroy(h.m);
	return ret;
}

static int atk_task_uaf_sync(bool protect, struct attack_outcome *out)
{
	return mt_task_uaf(protect, PR_MTE_TCF_SYNC, out);
}

static int atk_task_uaf_async(bool protect, struct attack_outcome *out)
{
	return mt_task_uaf(protect, PR_MTE_TCF_ASYNC, out);
}

/* Chunk a (32 bytes, tag 1), chunk b after it (tag 2): a 48-byte write through a. */
static int atk_task_overflow(bool protect, struct attack_outcome *out)
{
	struct mt_task h;
	struct mv_siginfo si = { 0 };
	uint8_t big[48], victim[16];
	int ret = mt_task_up(&h, protect, PR_MTE_TCF_SYNC);

	if (ret)
		return ret;
	ret = mt_task_tag(&h, protect, 0, 32, 1);
	if (!ret)
		ret = mt_task_tag(&h, protect, 32, 16, 2);
	memset(victim, 0x5a, sizeof(victim));
	memset(big, 0xee, sizeof(big));
	if (!ret)
		ret = (int)mv_user_write(h.t, mt_ptr(protect, h.heap + 32, 2), victim, sizeof(victim));
	if (!ret) {
		long r = mv_user_write(h.t, mt_ptr(protect, h.heap, 1), big, sizeof(big));

		mv_task_take_signal(h.t, &si);
		ret = (int)mv_user_read(h.t, mt_ptr(protect, h.heap + 32, 2), victim, sizeof(victim));
		if (!ret && victim[0] == 0xee)
			atk_outcome(out, ATTACK_SUCCEEDED, 0, "the next chunk was overwritten");
		else if (!ret)
			atk_outcome(out, ATTACK_BLOCKED, 0, "%s; the next chunk intact",
				    r ? atk_signal_name(&si) : "no fault");
	}
	mv_machine_destroy(h.m);
	return ret;
}

/* ---- a guest ---- */

struct mt_guest {
	bool protect;
	int mode;
	long setup, uaf, overflow, next;
	uint64_t got[4], victim;
	struct mv_guest_fault f;
};

static void mt_guest_tag(struct mv_guest *g, struct mt_guest *c, uint64_t a, uint64_t len,
			 unsigned int tag)
{
	for (uint64_t x = a; c->protect && x < a + len; x += 16)
		c->setup |= mv_guest_set_tag(g, TAG(x, tag));
}

/* The guest's allocator: malloc, free, a dangling read; then an overflow into the next chunk. */
static void mt_guest_main(struct mv_guest *g, void *arg)
{
	struct mt_guest *c = arg;
	uint64_t v = 0x5a5a5a5a5a5a5a5aull;
	uint8_t big[48];

	if (c->protect)
		c->setup = mv_guest_set_tcf(g, c->mode);
	mt_guest_tag(g, c, 0x8000, 32, 3);                 /* malloc(32): tag 3 */
	mt_guest_tag(g, c, 0x8020, 16, 6);                 /* the next chunk: tag 6 */
	c->setup |= mv_guest_write(g, mt_ptr(c->protect, 0x8000, 3), mt_secret, sizeof(mt_secret));
	c->setup |= mv_guest_write(g, mt_ptr(c->protect, 0x8020, 6), &v, 8);
	mt_guest_tag(g, c, 0x8000, 32, 4);                 /* free(): retagged */
	c->uaf = mv_guest_read(g, mt_ptr(c->protect, 0x8000, 3), c->got, sizeof(c->got));
	if (c->uaf)
		mv_guest_last_fault(g, &c->f);
	else if (mv_guest_read_cr(g, 0, &v))               /* an async report comes here */
		mv_guest_last_fault(g, &c->f);
	memset(big, 0xee, sizeof(big));
	c->overflow = mv_guest_write(g, mt_ptr(c->protect, 0x8000, 4), big, sizeof(big));
	mv_guest_read_cr(g, 0, &v);
	c->next = mv_guest_read(g, mt_ptr(c->protect, 0x8020, 6), &c->victim, 8);
}

static int mt_guest_run(bool protect, int mode, struct mt_guest *c)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_MTE };
	struct atk_vm v;
	uint64_t hva;
	long ret = atk_vm_create_bare(&v, 0, 0);

	if (ret)
		return (int)ret;
	memset(c, 0, sizeof(*c));
	c->protect = protect;
	c->mode = mode;
	if (protect)
		ret = atk_ioctl(&v, v.vm, KVM_ENABLE_CAP, &cap);
	if (!ret)
		ret = atk_vm_ram(&v, 0, 0, 0, 0x10000, &hva);
	if (!ret)
		ret = atk_vm_add_vcpu(&v);
	if (!ret)
		ret = atk_vm_run(&v, mt_guest_main, c);
	atk_vm_destroy(&v);
	if (!ret && c->setup)
		ret = -EIO;
	return (int)(ret > 0 ? -EIO : ret);
}

static int mt_guest_uaf(bool protect, int mode, struct attack_outcome *out)
{
	struct mt_guest c;
	int ret = mt_guest_run(protect, mode, &c);
	uint64_t n;

	if (ret)
		return ret;
	n = c.uaf ? 0 : atk_leaked(c.got, mt_secret, sizeof(mt_secret));
	if (c.f.error_code & MV_PF_MTE_ASYNC)
		atk_outcome(out, ATTACK_REPORTED, n, "read went through; #PF (MTE async) at the "
			    "guest's next instruction");
	else if (c.uaf)
		atk_outcome(out, ATTACK_BLOCKED, 0, "tag-check fault to the guest (#PF, MTE)");
	else
		atk_outcome(out, n == sizeof(mt_secret) ? ATTACK_SUCCEEDED : ATTACK_BLOCKED, n,
			    "the dangling pointer read the freed chunk");
	return 0;
}

static int atk_guest_uaf_sync(bool protect, struct attack_outcome *out)
{
	return mt_guest_uaf(protect, MV_TCF_SYNC, out);
}

static int atk_guest_uaf_async(bool protect, struct attack_outcome *out)
{
	return mt_guest_uaf(protect, MV_TCF_ASYNC, out);
}

static int atk_guest_overflow(bool protect, struct attack_outcome *out)
{
	struct mt_guest c;
	int ret = mt_guest_run(protect, MV_TCF_SYNC, &c);

	if (ret)
		return ret;
	if (c.next)
		return -EIO;
	if (c.victim == 0xeeeeeeeeeeeeeeeeull)
		atk_outcome(out, ATTACK_SUCCEEDED, 0, "the next chunk was overwritten");
	else
		atk_outcome(out, ATTACK_BLOCKED, 0, "tag-check fault; the next chunk intact");
	return 0;
}

/* ---- stale tags ---- */

static void mt_guest_read_tags(struct mv_guest *g, void *arg)
{
	long *nonzero = arg;

	for (uint64_t a = 0; a < 16 * MT_PG; a += 16) {
		uint8_t t = 0xff;

		if (mv_guest_get_tag(g, a, &t) || t)
			(*nonzero)++;
	}
}

/*
 * A host task tags 16 pages with 0xd and unmaps them; a VM with MTE on the
 * same machine gets fresh memory: does any granule show an old tag?
 */
static int atk_stale_tags_task_to_guest(bool protect, struct attack_outcome *out)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_MTE };
	struct atk_vm v;
	uint64_t hva;
	long nonzero = 0, a, ret = atk_vm_create_bare(&v, 0, 0);

	(void)protect;
	if (ret)
		return (int)ret;
	ret = atk_ioctl(&v, v.vm, KVM_ENABLE_CAP, &cap);
	if (!ret)
		ret = atk_sys(v.vmm, MV_SYS_prctl, PR_SET_TAGGED_ADDR_CTRL, PR_TAGGED_ADDR_ENABLE, 0,
			      0, 0, 0);
	a = ret ? ret : atk_sys(v.vmm, MV_SYS_mmap, 0, 16 * MT_PG,
				PROT_READ | PROT_WRITE | PROT_MTE, MAP_PRIVATE | MAP_ANONYMOUS,
				(uint64_t)-1, 0);
	for (uint64_t off = 0; a > 0 && !ret && off < 16 * MT_PG; off += 16)
		ret = mv_user_set_tag(v.vmm, TAG((uint64_t)a + off, 0xd));
	if (a < 0)
		ret = a;
	if (!ret)
		ret = atk_sys(v.vmm, MV_SYS_munmap, (uint64_t)a, 16 * MT_PG, 0, 0, 0, 0);
	if (!ret)
		ret = atk_vm_ram(&v, 0, 0, 0, 16 * MT_PG, &hva);
	if (!ret)
		ret = atk_vm_add_vcpu(&v);
	if (!ret)
		ret = atk_vm_run(&v, mt_guest_read_tags, &nonzero);
	if (!ret)
		atk_outcome(out, nonzero ? ATTACK_SUCCEEDED : ATTACK_BLOCKED, 0,
			    nonzero ? "the guest saw %ld stale granule tags" :
			    "every granule of the guest's pages reads tag 0", nonzero);
	atk_vm_destroy(&v);
	return (int)(ret > 0 ? -EIO : ret);
}

const struct attack attacks_mte[] = {
	{ "mte-task-use-after-free", "mte", "a task reads a freed chunk (sync checks)",
	  CLAIM_BLOCKS, atk_task_uaf_sync, false },
	{ "mte-task-use-after-free-async", "mte", "the same with async checks: read, then told",
	  CLAIM_REPORTS, atk_task_uaf_async, false },
	{ "mte-task-linear-overflow", "mte", "a task writes past its chunk into the next",
	  CLAIM_BLOCKS, atk_task_overflow, false },
	{ "mte-guest-use-after-free", "mte", "a guest reads a freed chunk (sync checks)",
	  CLAIM_BLOCKS, atk_guest_uaf_sync, false },
	{ "mte-guest-use-after-free-async", "mte", "the same with async checks: read, then told",
	  CLAIM_REPORTS, atk_guest_uaf_async, false },
	{ "mte-guest-linear-overflow", "mte", "a guest writes past its chunk into the next",
	  CLAIM_BLOCKS, atk_guest_overflow, false },
	{ "mte-stale-tags-task-to-guest", "mte", "a guest reads the tags a freed task page had",
	  CLAIM_BLOCKS, atk_stale_tags_task_to_guest, true },
	{ NULL, NULL, NULL, CLAIM_NONE, NULL, false },
};
