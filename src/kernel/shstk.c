// SPDX-License-Identifier: MIT
/*
 * Shadow stacks, the kernel side: map_shadow_stack (and the seed
 * revision's number and errnos), arch_prctl(ARCH_SHSTK_*), the thread
 * shadow stack that ENABLE allocates, the clone/exit hooks, the kernel's
 * restore-token writes (the WRUSS path), and the reviewer's alternative
 * mmap(PROT_SHADOW_STACK) for processes that opt in.
 *
 * Shadow-stack memory is an anonymous private VMA with VM_SHADOW_STACK |
 * VM_WRITE and PROT_READ: fault.c maps it with shadow-stack PTEs (RW=0,
 * D=1) on shadow-stack accesses only, so an ordinary store can never write
 * it, and vma.c keeps one page below it free (mainline keeps nothing above).
 *
 * Tokens are written while mmap_lock is held for write, so no other thread
 * can see a new shadow stack before its token is in place.
 */
#include <string.h>

#include "kernel/syscalls.h"
#include "kernel/shstk_internal.h"
#include "lib/alloc.h"

#define SHSTK_VM_FLAGS (VM_READ | VM_WRITE | VM_SHADOW_STACK | VM_MAYREAD | VM_MAYWRITE | \
			VM_MAYEXEC)
#define SHSTK_KACCESS_TRIES 8

int shstk_kaccess_locked(struct mv_task *t, uint64_t va, void *buf, size_t len, unsigned int acc)
{
	for (int i = 0; i < SHSTK_KACCESS_TRIES; i++) {
		struct hw_fault f;
		int r, code = 0;

		memset(&f, 0, sizeof(f));
		r = task_cpu_access(t, va, buf, len, acc, &f);
		if (!r)
			return 0;
		if (r != -EFAULT || f.kind != HW_FAULT_PF)
			return -EFAULT;
		if (handle_mm_fault(t->mm, f.addr, fault_flags_from_pf(f.error_code), &code))
			return -EFAULT;
		hw_tlb_flush_page(&t->cpu, f.addr);
	}
	return -EFAULT;
}

/*
 * The state of @t, allocated on first use. NULL: -ENOMEM. Published with a
 * compare-and-swap: another thread may be turning the process-wide
 * PROT_SHADOW_STACK option on for @t at the same time.
 */
static struct shstk_state *shstk_state_get(struct mv_task *t)
{
	struct shstk_state *st = __atomic_load_n(&t->shstk, __ATOMIC_ACQUIRE), *none = NULL;

	if (st)
		return st;
	st = lib_zalloc(sizeof(*st));
	if (st && !__atomic_compare_exchange_n(&t->shstk, &none, st, false, __ATOMIC_ACQ_REL,
					       __ATOMIC_ACQUIRE)) {
		lib_free(st);
		st = none;
	}
	return st;
}

/* ------------------------------------------------------------ mapping */

/*
 * do_mmap of an anonymous private shadow stack above 4 GiB, placed as
 * @map_flags say. Called with mmap_lock held for write.
 */
static long shstk_alloc_locked(struct mv_task *t, uint64_t addr, uint64_t size,
			       unsigned long map_flags)
{
	map_flags |= MAP_ANONYMOUS | MAP_PRIVATE | K_MAP_ABOVE4G;
	if (!size)
		return -EINVAL;
	if (t->mm->map_count > K_MAX_MAP_COUNT)
		return -ENOMEM;
	return mm_map_locked(t, NULL, addr, size, SHSTK_VM_FLAGS, map_flags, 0);
}

/*
 * A restore token for SSP @ssp, as the kernel writes it with WRUSS: the
 * slot below @ssp holds @ssp | 1 (64-bit mode). Called with mmap_lock held.
 */
static int shstk_put_restore_token(struct mv_task *t, uint64_t ssp)
{
	uint64_t token = ssp | 1;

	if (ssp & 7)
		return -EINVAL;
	return shstk_kaccess_locked(t, ssp - SHSTK_FRAME, &token, sizeof(token), HW_ACC_WRUSS);
}

/*
 * Maps a shadow stack and, with @set_token, writes the restore token for
 * SSP = base + @token_offset. A token that cannot be written takes the
 * mapping with it: -EINVAL.
 */
static long shstk_alloc(struct mv_task *t, uint64_t addr, uint64_t size, unsigned long map_flags,
			uint64_t token_offset, bool set_token)
{
	struct mm *mm = t->mm;
	long base;

	pthread_rwlock_wrlock(&mm->mmap_lock);
	base = shstk_alloc_locked(t, addr, size, map_flags);
	if (base >= 0 && set_token &&
	    shstk_put_restore_token(t, (uint64_t)base + token_offset)) {
		(void)mm_unmap_locked(mm, (uint64_t)base, (uint64_t)base + size);
		base = -EINVAL;
	}
	pthread_rwlock_unlock(&mm->mmap_lock);
	return base;
}

/* map_shadow_stack's checks, in Linux's order; @seed: the seed revision's errnos. */
static long shstk_map(struct mv_task *t, uint64_t addr, uint64_t size, unsigned int flags,
		      bool seed)
{
	bool set_tok = flags & SHADOW_STACK_SET_TOKEN;
	uint64_t aligned;

	if (!hw_has(t->k->hw, MV_FEAT_SHSTK))
		return -EOPNOTSUPP;
	if (flags & ~(unsigned int)SHADOW_STACK_SET_TOKEN)
		return -EINVAL;
	if (set_tok && size < 8)
		return seed ? -EINVAL : -ENOSPC;
	if (seed && addr && addr <= 0xFFFFFFFFull)
		return -EINVAL;
	if (!seed && addr && addr < SHSTK_4G)
		return -ERANGE;
	aligned = K_PAGE_ALIGN(size);
	if (aligned < size)
		return -EOVERFLOW;
	return shstk_alloc(t, addr, aligned, addr ? MAP_FIXED_NOREPLACE : 0, size, set_tok);
}

static bool shstk_abi_seed(const struct mv_task *t)
{
	return t->k->hw->cfg.abi == MV_ABI_SEED;
}

long sys_map_shadow_stack(struct mv_task *t, const uint64_t a[6])
{
	/* flags is an unsigned int: the upper half of the register is ignored. */
	return shstk_map(t, a[0], a[1], (unsigned int)a[2], shstk_abi_seed(t));
}

/* 451: only the seed revision had it; mainline machines have nothing there. */
long sys_map_shadow_stack_seed(struct mv_task *t, const uint64_t a[6])
{
	if (!shstk_abi_seed(t))
		return -ENOSYS;
	return shstk_map(t, a[0], a[1], (unsigned int)a[2], true);
}

/* ------------------------------------------------- per-thread state */

/* min(RLIMIT_STACK, 4 GiB), page aligned: the thread shadow stack size. */
static uint64_t shstk_default_size(struct mv_task *t)
{
	uint64_t lim;

	pthread_mutex_lock(&t->k->lock);   /* limits are process-wide, kept under it */
	lim = t->rlim[K_RLIMIT_STACK].cur;
	pthread_mutex_unlock(&t->k->lock);

	return K_PAGE_ALIGN(lim < SHSTK_4G ? lim : SHSTK_4G);
}

/* Unmaps the thread shadow stack of @t, if it has one of its own. */
static void shstk_free(struct mv_task *t)
{
	struct shstk_state *st = task_shstk(t);

	if (!hw_has(t->k->hw, MV_FEAT_SHSTK) || !shstk_enabled(t, ARCH_SHSTK_SHSTK))
		return;
	if (!st->base || !st->size)
		return;
	pthread_rwlock_wrlock(&t->mm->mmap_lock);
	(void)mm_unmap_locked(t->mm, st->base, st->base + st->size);
	pthread_rwlock_unlock(&t->mm->mmap_lock);
	st->size = 0;
}

static int shstk_setup(struct mv_task *t)
{
	struct shstk_state *st;
	uint64_t size;
	long addr;

	if (shstk_enabled(t, ARCH_SHSTK_SHSTK))
		return 0;
	if (!hw_has(t->k->hw, MV_FEAT_SHSTK))
		return -EOPNOTSUPP;
	st = shstk_state_get(t);
	if (!st)
		return -ENOMEM;
	size = shstk_default_size(t);
	addr = shstk_alloc(t, 0, size, 0, 0, false);
	if (addr < 0)
		return (int)addr;
	t->cpu.ssp = (uint64_t)addr + size;
	t->cpu.u_cet = X86_CET_SHSTK_EN;
	st->base = (uint64_t)addr;
	st->size = size;
	st->features |= ARCH_SHSTK_SHSTK;
	return 0;
}

static int shstk_disable(struct mv_task *t)
{
	if (!hw_has(t->k->hw, MV_FEAT_SHSTK))
		return -EOPNOTSUPP;
	if (!shstk_enabled(t, ARCH_SHSTK_SHSTK))
		return 0;
	/* WRSS goes with it. */
	t->cpu.u_cet = 0;
	t->cpu.ssp = 0;
	shstk_free(t);
	task_shstk(t)->features &= ~(ARCH_SHSTK_SHSTK | ARCH_SHSTK_WRSS);
	return 0;
}

static int shstk_wrss_control(struct mv_task *t, bool enable)
{
	if (!hw_has(t->k->hw, MV_FEAT_SHSTK))
		return -EOPNOTSUPP;
	if (!shstk_enabled(t, ARCH_SHSTK_SHSTK))
		return -EPERM;
	if (shstk_enabled(t, ARCH_SHSTK_WRSS) == enable)
		return 0;
	if (enable) {
		task_shstk(t)->features |= ARCH_SHSTK_WRSS;
		t->cpu.u_cet |= X86_CET_WRSS_EN;
	} else {
		task_shstk(t)->features &= ~ARCH_SHSTK_WRSS;
		t->cpu.u_cet &= ~X86_CET_WRSS_EN;
	}
	return 0;
}

static long shstk_status(struct mv_task *t, uint64_t uptr)
{
	const struct shstk_state *st = task_shstk(t);
	uint64_t features = st ? st->features : 0;
	void *p = (void *)(uintptr_t)uptr;

	if (k_host_range_faults(p, sizeof(features)))
		return -EFAULT;
	memcpy(p, &features, sizeof(features));
	return 0;
}

/*
 * shstk_prctl for the calling task. UNLOCK is meant for a tracer (CRIU);
 * from the task itself Linux does not special-case it, so it runs through
 * the same checks as ENABLE and acts like it. memvisor answers the same.
 */
static long shstk_prctl(struct mv_task *t, int option, uint64_t features)
{
	struct shstk_state *st;

	if (option == ARCH_SHSTK_STATUS)
		return shstk_status(t, features);
	if (option == ARCH_SHSTK_LOCK) {
		st = shstk_state_get(t);
		if (!st)
			return -ENOMEM;
		st->locked |= features;
		return 0;
	}
	if (task_shstk(t) && (features & task_shstk(t)->locked))
		return -EPERM;
	if (__builtin_popcountll(features) > 1)
		return -EINVAL;
	if (option == ARCH_SHSTK_DISABLE) {
		if (features & ARCH_SHSTK_WRSS)
			return shstk_wrss_control(t, false);
		if (features & ARCH_SHSTK_SHSTK)
			return shstk_disable(t);
		return -EINVAL;
	}
	if (features & ARCH_SHSTK_SHSTK)
		return shstk_setup(t);
	if (features & ARCH_SHSTK_WRSS)
		return shstk_wrss_control(t, true);
	return -EINVAL;
}

/*
 * arch_prctl(int option, unsigned long arg2). memvisor models only the
 * shadow-stack options; the others (ARCH_SET_FS, ...) answer -EINVAL, as
 * Linux does for an option it does not know.
 */
long sys_arch_prctl(struct mv_task *t, const uint64_t a[6])
{
	int option = (int)a[0];

	switch (option) {
	case ARCH_SHSTK_ENABLE:
	case ARCH_SHSTK_DISABLE:
	case ARCH_SHSTK_LOCK:
	case ARCH_SHSTK_UNLOCK:
	case ARCH_SHSTK_STATUS:
		return shstk_prctl(t, option, a[1]);
	default:
		return -EINVAL;
	}
}

/* ------------------------------------------------------ task hooks */

/*
 * shstk_alloc_thread_stack: the child inherits features, locks and the CET
 * MSR state; a CLONE_VM thread (not vfork) gets a fresh thread shadow stack
 * in the shared mm, of PAGE_ALIGN(@stack_size) bytes when the caller gave
 * one (clone3's stack_size; adjust_shstk_size()) or the default; a vfork
 * child runs on its parent's; a fork child keeps the copy that came with
 * the mm.
 */
int shstk_clone(struct mv_task *parent, struct mv_task *child, unsigned long flags,
		uint64_t stack_size)
{
	struct shstk_state *cs;
	uint64_t size;
	long addr;

	if (!task_shstk(parent))
		return 0;
	cs = lib_zalloc(sizeof(*cs));
	if (!cs)
		return -ENOMEM;
	cs->base = parent->shstk->base;
	cs->size = parent->shstk->size;
	cs->features = parent->shstk->features;
	cs->locked = parent->shstk->locked;
	cs->prot_opt = __atomic_load_n(&parent->shstk->prot_opt, __ATOMIC_ACQUIRE);
	child->shstk = cs;
	child->cpu.u_cet = parent->cpu.u_cet;
	child->cpu.ssp = parent->cpu.ssp;
	if (!(cs->features & ARCH_SHSTK_SHSTK))
		return 0;
	if (flags & CLONE_VFORK) {
		cs->base = cs->size = 0;
		return 0;
	}
	if (!(flags & CLONE_VM))
		return 0;
	size = stack_size ? K_PAGE_ALIGN(stack_size) : shstk_default_size(parent);
	addr = shstk_alloc(child, 0, size, 0, 0, false);
	if (addr < 0) {
		child->shstk = NULL;
		lib_free(cs);
		return (int)addr;
	}
	cs->base = (uint64_t)addr;
	cs->size = size;
	child->cpu.ssp = (uint64_t)addr + size;
	return 0;
}

void shstk_exit(struct mv_task *t)
{
	if (!task_shstk(t))
		return;
	if (t->mm)
		shstk_free(t);
	lib_free(t->shstk);
	t->shstk = NULL;
}

/* ------------------------------------ the PROT_SHADOW_STACK alternative */

long shstk_set_prot_option(struct mv_task *t, bool enable)
{
	struct kernel *k = t->k;
	struct mv_task *it;
	long ret = 0;

	pthread_mutex_lock(&k->lock);
	lib_list_for_each_entry(it, &k->tasks, link) {
		if (it->tgid != t->tgid)
			continue;
		struct shstk_state *st = shstk_state_get(it);

		if (!st) {
			ret = -ENOMEM;
			break;
		}
		__atomic_store_n(&st->prot_opt, enable, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&k->lock);
	return ret;
}

bool shstk_mmap_wanted(struct mv_task *t, uint64_t prot)
{
	struct shstk_state *st = __atomic_load_n(&t->shstk, __ATOMIC_ACQUIRE);

	return (prot & PROT_SHADOW_STACK) && st && __atomic_load_n(&st->prot_opt, __ATOMIC_ACQUIRE);
}

/*
 * mmap(addr, len, PROT_SHADOW_STACK [| PROT_READ], MAP_PRIVATE |
 * MAP_ANONYMOUS [| MAP_FIXED | MAP_FIXED_NOREPLACE], -1, 0): a shadow stack
 * above 4 GiB whose top slot the kernel fills with a restore token, in one
 * step and under mmap_lock, so the memory is never ordinary-writable. A
 * writable or executable request, file or shared memory is -EINVAL, so
 * nothing can be converted later (mprotect refuses the bit altogether).
 */
long shstk_mmap(struct mv_task *t, uint64_t addr, uint64_t len, uint64_t prot,
		unsigned long flags, int fd, uint64_t off)
{
	const unsigned long placement = MAP_FIXED | MAP_FIXED_NOREPLACE;
	uint64_t aligned;

	if (off & ~HW_PAGE_MASK)
		return -EINVAL;
	if (!hw_has(t->k->hw, MV_FEAT_SHSTK))
		return -EOPNOTSUPP;
	if ((flags & MAP_TYPE) != MAP_PRIVATE || !(flags & MAP_ANONYMOUS))
		return -EINVAL;
	if (prot & ~(uint64_t)(PROT_SHADOW_STACK | PROT_READ))
		return -EINVAL;
	if (flags & (MAP_GROWSDOWN | MAP_HUGETLB | MAP_32BIT))
		return -EINVAL;
	if (!len)
		return -EINVAL;
	aligned = K_PAGE_ALIGN(len);
	if (!aligned)
		return -ENOMEM;
	if ((flags & placement) && addr < SHSTK_4G)
		return -EINVAL;
	if (!(flags & placement))
		addr = addr >= SHSTK_4G ? addr & HW_PAGE_MASK : 0;
	return shstk_alloc(t, addr, aligned, flags & placement, aligned, true);
}
