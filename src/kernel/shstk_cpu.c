// SPDX-License-Identifier: MIT
/*
 * The task's CPU running CET instructions at CPL 3 (CALL, RET, RDSSP,
 * RSTORSSP, SAVEPREVSSP, WRSS, INCSSP), and the kernel's signal delivery
 * and sigreturn with the shadow-stack signal token.
 *
 * Every memory operand goes through the task's MMU with the SDM's access
 * kind (ordinary, or HW_ACC_SHSTK for shadow-stack pushes, pops and token
 * accesses), so the hardware rules decide: shadow-stack accesses need a
 * shadow-stack page (RW=0, D=1), ordinary stores never get one. An
 * instruction first translates all its operands, then commits, so a fault
 * changes nothing. A #PF goes to handle_mm_fault() under mmap_lock (as
 * the exception handler would) and the instruction is retried; a fault
 * Linux turns into a signal queues it and the call returns -EFAULT: #CP is
 * SIGSEGV/SEGV_CPERR, #GP SIGSEGV/SI_KERNEL, #UD SIGILL/ILL_ILLOPN.
 *
 * The first attempt runs without mmap_lock, like the hardware: a TLB hit
 * costs one compare per operand (the P2 bench measures it).
 */
#include <string.h>

#include "hw/ram.h"
#include "kernel/syscalls.h"
#include "kernel/shstk_internal.h"

/* #CP error codes (SDM vol. 1, 18.2.3 / vol. 3 6.15) */
#define CP_NEAR_RET 1
#define CP_RSTORSSP 4

/* What an instruction attempt ends with, besides 0. */
enum cpu_stop {
	CPU_PF = 1,   /* a translation faulted: *fault says how; fix it and retry */
	CPU_EXC_GP,
	CPU_EXC_UD,
	CPU_EXC_CP,
};

#define CPU_TRIES 8

struct cpu_insn {
	struct mv_task *t;
	int (*run)(struct cpu_insn *in, struct hw_fault *f);
	uint64_t arg, addr;   /* operands */
	uint64_t out;
	int cp_code;
};

/* An 8-byte operand: one host piece, or two when it straddles a page. */
struct cpu_op {
	uint8_t *h0, *h1;
	size_t n0;
};

static inline bool cpu_shstk_on(const struct hw_cpu *cpu)
{
	return (cpu->cr4 & X86_CR4_CET) && (cpu->u_cet & X86_CET_SHSTK_EN);
}

static inline uint64_t cpu_tlb_tag(const struct hw_tlb_entry *e, unsigned int acc)
{
	switch (acc) {
	case HW_ACC_READ:
		return e->tag_read;
	case HW_ACC_WRITE:
		return e->tag_write;
	case HW_ACC_SS_READ:
		return e->tag_ss_read;
	default:
		return e->tag_ss_write;
	}
}

static int cpu_xlate8_slow(struct hw_cpu *cpu, uint64_t va, unsigned int acc, struct cpu_op *op,
			   struct hw_fault *f)
{
	size_t room = (size_t)(HW_PAGE_SIZE - (va & ~HW_PAGE_MASK));
	struct hw_xlate x;

	if (hw_mmu_translate(cpu, va, acc, &x, f))
		return CPU_PF;
	op->h0 = x.host;
	op->h1 = NULL;
	op->n0 = 8;
	if (room >= 8)
		return 0;
	if (hw_mmu_translate(cpu, va + room, acc, &x, f))
		return CPU_PF;
	op->h1 = x.host;
	op->n0 = room;
	return 0;
}

/*
 * Translates an 8-byte operand. The TLB tag of an aligned address is its
 * page, so a hit is one compare (misaligned addresses never hit). The
 * caller synchronised the TLB at the start of the instruction.
 */
static inline int cpu_xlate8(struct hw_cpu *cpu, uint64_t va, unsigned int acc, struct cpu_op *op,
			     struct hw_fault *f)
{
	struct hw_tlb_entry *e = hw_tlb_slot(cpu, va, cpu->cpl == 3);

	if (__builtin_expect(cpu_tlb_tag(e, acc) == (va & (HW_PAGE_MASK | 7)), 1)) {
		hw_stat_inc(&cpu->tlb.stats.hits);
		op->h0 = (uint8_t *)(uintptr_t)(va + e->addend);
		op->h1 = NULL;
		op->n0 = 8;
		return 0;
	}
	return cpu_xlate8_slow(cpu, va, acc, op, f);
}

static inline uint64_t cpu_op_load(const struct cpu_op *op)
{
	uint64_t v;

	hw_ram_read(&v, op->h0, op->n0);
	if (op->h1)
		hw_ram_read((uint8_t *)&v + op->n0, op->h1, 8 - op->n0);
	return v;
}

static inline void cpu_op_store(const struct cpu_op *op, uint64_t v)
{
	hw_ram_write(op->h0, &v, op->n0);
	if (op->h1)
		hw_ram_write(op->h1, (const uint8_t *)&v + op->n0, 8 - op->n0);
}

static bool cpu_canonical(uint64_t va)
{
	return (uint64_t)((int64_t)(va << 16) >> 16) == va;
}

/* ------------------------------------------------------ exceptions */

static long cpu_raise(struct cpu_insn *in, int stop)
{
	struct mv_task *t = in->t;

	switch (stop) {
	case CPU_EXC_CP:   /* the #CP error code shows in the trace only, as in Linux's log */
		return task_fault_signal(t, in->cp_code == CP_NEAR_RET ? "cp_near_ret" : "cp_rstorssp",
				  SIGSEGV, SEGV_CPERR, 0);
	case CPU_EXC_UD:
		return task_fault_signal(t, "cpu_ud", SIGILL, ILL_ILLOPN, t->cpu.rip);
	default:
		return task_fault_signal(t, "cpu_gp", SIGSEGV, K_SI_KERNEL, 0);
	}
}

/*
 * One attempt of the instruction inside the CPU's access bracket, so a
 * shootdown that removes a translation it uses waits for it to finish
 * before the page can be freed (hw/cpu.h).
 */
static long cpu_run_bracketed(struct cpu_insn *in, struct hw_fault *f)
{
	struct hw_cpu *cpu = &in->t->cpu;
	uint64_t seq;
	long ret;

	hw_tlb_sync_gen(cpu, hw_access_begin(cpu, &seq));
	ret = in->run(in, f);
	hw_access_end(cpu, seq);
	return ret;
}

/* Fault, fix, retry, with mmap_lock held so the VMAs stay put. */
static long cpu_exec_slow(struct cpu_insn *in, struct hw_fault *f)
{
	struct mv_task *t = in->t;
	long ret = CPU_PF;

	pthread_rwlock_rdlock(&t->mm->mmap_lock);
	for (int i = 0; i < CPU_TRIES && ret == CPU_PF; i++) {
		ret = task_user_fault(t, f, "cpu_access");
		if (ret)
			break;
		memset(f, 0, sizeof(*f));
		ret = cpu_run_bracketed(in, f);
	}
	if (ret == CPU_PF)   /* the handler keeps saying "fixed": a denial */
		ret = task_fault_signal(t, "cpu_access", SIGSEGV, SEGV_ACCERR, f->addr);
	pthread_rwlock_unlock(&t->mm->mmap_lock);
	return ret;
}

static long cpu_exec(struct cpu_insn *in)
{
	struct hw_fault f;
	long ret;

	ret = cpu_run_bracketed(in, &f);
	if (__builtin_expect(ret == 0, 1))
		return 0;
	if (ret == CPU_PF)
		ret = cpu_exec_slow(in, &f);
	if (ret > 0)
		ret = cpu_raise(in, (int)ret);
	return ret;
}

/* ---------------------------------------------------- instructions */

static int cpu_run_call(struct cpu_insn *in, struct hw_fault *f)
{
	struct hw_cpu *cpu = &in->t->cpu;
	uint64_t rsp = cpu->rsp - 8, ssp = cpu->ssp - 8;
	bool on = cpu_shstk_on(cpu);
	struct cpu_op st, ss;

	if (cpu_xlate8(cpu, rsp, HW_ACC_WRITE, &st, f))
		return CPU_PF;
	if (on) {
		if (ssp & 7)
			return CPU_EXC_GP;
		if (cpu_xlate8(cpu, ssp, HW_ACC_SS_WRITE, &ss, f))
			return CPU_PF;
		cpu_op_store(&ss, in->arg);
		cpu->ssp = ssp;
	}
	cpu_op_store(&st, in->arg);
	cpu->rsp = rsp;
	return 0;
}

static int cpu_run_ret(struct cpu_insn *in, struct hw_fault *f)
{
	struct hw_cpu *cpu = &in->t->cpu;
	bool on = cpu_shstk_on(cpu);
	struct cpu_op st, ss;
	uint64_t ret;

	if (cpu_xlate8(cpu, cpu->rsp, HW_ACC_READ, &st, f))
		return CPU_PF;
	ret = cpu_op_load(&st);
	if (on) {
		if (cpu->ssp & 7)
			return CPU_EXC_GP;
		if (cpu_xlate8(cpu, cpu->ssp, HW_ACC_SS_READ, &ss, f))
			return CPU_PF;
		if (cpu_op_load(&ss) != ret) {
			in->cp_code = CP_NEAR_RET;
			return CPU_EXC_CP;
		}
	}
	if (!cpu_canonical(ret))
		return CPU_EXC_GP;
	if (on)
		cpu->ssp += 8;
	cpu->rsp += 8;
	cpu->rip = ret;
	in->out = ret;
	return 0;
}

/*
 * CALL and RET are the hot instructions: when every operand hits the TLB
 * they run here without the generic machinery (same checks, same order);
 * anything else takes the full path above.
 */
static inline uint8_t *cpu_hit8(const uint64_t *tag, uint64_t va,
				const struct hw_tlb_entry *e)
{
	if (__builtin_expect(*tag == (va & (HW_PAGE_MASK | 7)), 1))
		return (uint8_t *)(uintptr_t)(va + e->addend);
	return NULL;
}

long shstk_cpu_call(struct mv_task *t, uint64_t return_address)
{
	struct cpu_insn in = { .t = t, .run = cpu_run_call, .arg = return_address };
	struct hw_cpu *cpu = &t->cpu;
	uint64_t rsp = cpu->rsp - 8, ssp = cpu->ssp - 8, seq;
	struct hw_tlb_entry *e, *se;
	uint8_t *h, *sh;

	hw_tlb_sync_gen(cpu, hw_access_begin(cpu, &seq));
	e = hw_tlb_slot(cpu, rsp, cpu->cpl == 3);
	h = cpu_hit8(&e->tag_write, rsp, e);
	if (!h)
		goto slow;
	if (cpu_shstk_on(cpu)) {
		se = hw_tlb_slot(cpu, ssp, cpu->cpl == 3);
		sh = cpu_hit8(&se->tag_ss_write, ssp, se);
		if (!sh)
			goto slow;
		hw_ram_write(sh, &return_address, 8);
		cpu->ssp = ssp;
		hw_stat_inc(&cpu->tlb.stats.hits);
	}
	hw_ram_write(h, &return_address, 8);
	hw_access_end(cpu, seq);
	cpu->rsp = rsp;
	hw_stat_inc(&cpu->tlb.stats.hits);
	return 0;
slow:
	hw_access_end(cpu, seq);
	return cpu_exec(&in);
}

long shstk_cpu_ret(struct mv_task *t, uint64_t *return_address)
{
	struct cpu_insn in = { .t = t, .run = cpu_run_ret };
	struct hw_cpu *cpu = &t->cpu;
	struct hw_tlb_entry *e, *se;
	uint64_t ret, sret, seq;
	uint8_t *h, *sh;
	long r;

	hw_tlb_sync_gen(cpu, hw_access_begin(cpu, &seq));
	e = hw_tlb_slot(cpu, cpu->rsp, cpu->cpl == 3);
	h = cpu_hit8(&e->tag_read, cpu->rsp, e);
	if (!h)
		goto slow;
	hw_ram_read(&ret, h, 8);
	if (!cpu_canonical(ret))
		goto slow;
	if (cpu_shstk_on(cpu)) {
		se = hw_tlb_slot(cpu, cpu->ssp, cpu->cpl == 3);
		sh = cpu_hit8(&se->tag_ss_read, cpu->ssp, se);
		if (!sh)
			goto slow;
		hw_ram_read(&sret, sh, 8);
		if (sret != ret)
			goto slow;   /* #CP: raised by the full path */
		cpu->ssp += 8;
		hw_stat_inc(&cpu->tlb.stats.hits);
	}
	hw_access_end(cpu, seq);
	cpu->rsp += 8;
	cpu->rip = ret;
	hw_stat_inc(&cpu->tlb.stats.hits);
	if (return_address)
		*return_address = ret;
	return 0;
slow:
	hw_access_end(cpu, seq);
	r = cpu_exec(&in);
	if (!r && return_address)
		*return_address = in.out;
	return r;
}

/* RDSSP is a NOP with shadow stacks off: *ssp keeps what the caller put there. */
long shstk_cpu_rdssp(struct mv_task *t, uint64_t *ssp)
{
	if (cpu_shstk_on(&t->cpu))
		*ssp = t->cpu.ssp;
	return 0;
}

/*
 * RSTORSSP m64: the slot must hold a restore token for itself, i.e.
 * (m64 + 8) | 1 in 64-bit mode; it becomes a previous-ssp token (old SSP |
 * 2 | 1) and SSP = m64. The read-check-write is one locked operation, so two
 * threads racing for one token cannot both switch to it.
 */
static int cpu_run_rstorssp(struct cpu_insn *in, struct hw_fault *f)
{
	struct hw_cpu *cpu = &in->t->cpu;
	uint64_t la = in->addr, prev = cpu->ssp | 3, tok;
	struct cpu_op op;
	uint64_t *p;

	if (!cpu_shstk_on(cpu))
		return CPU_EXC_UD;
	if (la & 7)
		return CPU_EXC_GP;
	if (cpu_xlate8(cpu, la, HW_ACC_SS_WRITE, &op, f))
		return CPU_PF;
	p = (uint64_t *)(void *)op.h0;
	tok = __atomic_load_n(p, __ATOMIC_ACQUIRE);
	do {
		if ((tok & 3) != 1 || (((tok & ~1ull) - 8) & ~7ull) != la) {
			in->cp_code = CP_RSTORSSP;
			return CPU_EXC_CP;
		}
	} while (!__atomic_compare_exchange_n(p, &tok, prev, false, __ATOMIC_ACQ_REL,
					      __ATOMIC_ACQUIRE));
	cpu->ssp = la;
	return 0;
}

/*
 * SAVEPREVSSP: pops the previous-ssp token from the current shadow stack
 * and leaves a restore token for that old SSP on the old stack, so a later
 * RSTORSSP can come back.
 */
static int cpu_run_saveprevssp(struct cpu_insn *in, struct hw_fault *f)
{
	struct hw_cpu *cpu = &in->t->cpu;
	struct cpu_op cur, old;
	uint64_t tok, old_ssp;

	if (!cpu_shstk_on(cpu))
		return CPU_EXC_UD;
	if (cpu->ssp & 7)
		return CPU_EXC_GP;
	if (cpu_xlate8(cpu, cpu->ssp, HW_ACC_SS_READ, &cur, f))
		return CPU_PF;
	tok = cpu_op_load(&cur);
	if (!(tok & 2))
		return CPU_EXC_GP;
	old_ssp = tok & ~3ull;
	if (cpu_xlate8(cpu, (old_ssp & ~7ull) - 8, HW_ACC_SS_WRITE, &old, f))
		return CPU_PF;
	cpu_op_store(&old, old_ssp | 1);
	cpu->ssp += 8;
	return 0;
}

/* WRSS: a shadow-stack store from user mode, only with WRSS enabled. */
static int cpu_run_wrss(struct cpu_insn *in, struct hw_fault *f)
{
	struct hw_cpu *cpu = &in->t->cpu;
	struct cpu_op op;

	if (!cpu_shstk_on(cpu) || !(cpu->u_cet & X86_CET_WRSS_EN))
		return CPU_EXC_UD;
	if (in->addr & 7)
		return CPU_EXC_GP;
	if (cpu_xlate8(cpu, in->addr, HW_ACC_SS_WRITE, &op, f))
		return CPU_PF;
	cpu_op_store(&op, in->arg);
	return 0;
}

/* INCSSPQ: reads the first and last popped slots, then moves SSP. */
static int cpu_run_incssp(struct cpu_insn *in, struct hw_fault *f)
{
	struct hw_cpu *cpu = &in->t->cpu;
	uint64_t n = in->arg & 0xff, n1 = n ? n : 1;
	struct cpu_op op;

	if (!cpu_shstk_on(cpu))
		return CPU_EXC_UD;
	if (cpu_xlate8(cpu, cpu->ssp, HW_ACC_SS_READ, &op, f))
		return CPU_PF;
	if (cpu_xlate8(cpu, cpu->ssp + n1 * 8 - 8, HW_ACC_SS_READ, &op, f))
		return CPU_PF;
	cpu->ssp += n * 8;
	return 0;
}

long shstk_cpu_rstorssp(struct mv_task *t, uint64_t token_address)
{
	struct cpu_insn in = { .t = t, .run = cpu_run_rstorssp, .addr = token_address };

	return cpu_exec(&in);
}

long shstk_cpu_saveprevssp(struct mv_task *t)
{
	struct cpu_insn in = { .t = t, .run = cpu_run_saveprevssp };

	return cpu_exec(&in);
}

long shstk_cpu_wrss(struct mv_task *t, uint64_t address, uint64_t value)
{
	struct cpu_insn in = { .t = t, .run = cpu_run_wrss, .arg = value, .addr = address };

	return cpu_exec(&in);
}

long shstk_cpu_incssp(struct mv_task *t, uint32_t count)
{
	struct cpu_insn in = { .t = t, .run = cpu_run_incssp, .arg = count };

	return cpu_exec(&in);
}

/* --------------------------------------------------------- signals */

/*
 * memvisor's signal frame on the ordinary stack (the part of Linux's
 * rt_sigframe this model needs): pretcode is where the handler returns.
 */
struct shstk_sigframe {
	uint64_t pretcode;
	uint64_t signo;
	uint64_t rip, rsp;   /* the interrupted context (uc_mcontext) */
};
_Static_assert(sizeof(struct shstk_sigframe) == 32, "signal frame layout");

#define SIG_REDZONE 128

static long shstk_sig_fail(struct mv_task *t, const char *what)
{
	return task_fault_signal(t, what, SIGSEGV, K_SI_KERNEL, 0);
}

/*
 * setup_signal_shadow_stack: below the interrupted SSP, the signal token
 * (that SSP with bit 63 set, so it can never pass for a return address),
 * then the restorer, which the handler's RET pops. Called with mmap_lock
 * held, after the frame is written.
 */
static int shstk_push_sigframe(struct mv_task *t, uint64_t restorer, uint64_t *ssp)
{
	uint64_t slots[2] = { restorer, t->cpu.ssp | SHSTK_SIGFRAME_BIT };

	if (!restorer || !t->cpu.ssp || (t->cpu.ssp & 7))
		return -EINVAL;
	*ssp = t->cpu.ssp - 2 * SHSTK_FRAME;
	return shstk_kaccess_locked(t, *ssp, slots, sizeof(slots), HW_ACC_WRUSS);
}

long shstk_signal_deliver(struct mv_task *t, int signo, uint64_t handler, uint64_t restorer)
{
	struct shstk_sigframe fr = {
		.pretcode = restorer, .signo = (uint64_t)signo, .rip = t->cpu.rip, .rsp = t->cpu.rsp,
	};
	bool on = shstk_enabled(t, ARCH_SHSTK_SHSTK) && hw_has(t->k->hw, MV_FEAT_SHSTK);
	uint64_t sp = ((t->cpu.rsp - SIG_REDZONE - sizeof(fr)) & ~15ull) - 8;
	uint64_t ssp = t->cpu.ssp;
	int err = 0;

	/*
	 * x64_setup_rt_frame: every user access of the frame first, the
	 * shadow-stack push last, so a delivery that fails on the frame leaves
	 * nothing on the shadow stack, and no register moves unless all of it
	 * succeeded (a frame written before the push failed stays written).
	 */
	pthread_rwlock_rdlock(&t->mm->mmap_lock);
	err = shstk_kaccess_locked(t, sp, &fr, sizeof(fr), HW_ACC_WRITE);
	if (!err && on)
		err = shstk_push_sigframe(t, restorer, &ssp);
	pthread_rwlock_unlock(&t->mm->mmap_lock);
	if (err)
		return shstk_sig_fail(t, "signal_deliver");
	t->cpu.ssp = ssp;
	t->cpu.rsp = sp;
	t->cpu.rip = handler;
	return 0;
}

/*
 * shstk_pop_sigframe: SSP must point at a signal token; an SSP at a page
 * boundary may have run off the end of a shadow stack, so the VMA is
 * checked there (an ordinary load would read any readable page). Called
 * with mmap_lock held for read.
 */
static int shstk_pop_sigframe(struct mv_task *t, uint64_t *ssp)
{
	uint64_t tok;

	if (!*ssp || (*ssp & 7))
		return -EINVAL;
	if (shstk_kaccess_locked(t, *ssp, &tok, sizeof(tok), HW_ACC_READ))
		return -EFAULT;
	if (!(tok & SHSTK_SIGFRAME_BIT))
		return -EINVAL;
	if ((*ssp & ~HW_PAGE_MASK) == 0) {
		struct vma *vma = vma_find(t->mm, *ssp);

		if (!vma || !(vma->flags & VM_SHADOW_STACK))
			return -EFAULT;
	}
	tok &= ~SHSTK_SIGFRAME_BIT;
	if ((tok & 7) || tok >= K_TASK_SIZE)
		return -EINVAL;
	*ssp = tok;
	return 0;
}

/*
 * rt_sigreturn in mainline's order: the frame is read whole (a frame that
 * cannot be read changes nothing), its registers are restored
 * (restore_sigcontext), and only then is the shadow-stack token checked
 * (restore_signal_shadow_stack): a bad token leaves RIP and RSP already
 * restored from the frame, SSP where it was, and SIGSEGV pending.
 */
long shstk_sigreturn(struct mv_task *t)
{
	bool on = shstk_enabled(t, ARCH_SHSTK_SHSTK) && hw_has(t->k->hw, MV_FEAT_SHSTK);
	struct shstk_sigframe fr;
	uint64_t ssp = t->cpu.ssp;
	int err;

	/* The handler's RET already popped pretcode. */
	pthread_rwlock_rdlock(&t->mm->mmap_lock);
	err = shstk_kaccess_locked(t, t->cpu.rsp - 8, &fr, sizeof(fr), HW_ACC_READ);
	if (err) {
		pthread_rwlock_unlock(&t->mm->mmap_lock);
		return shstk_sig_fail(t, "rt_sigreturn");
	}
	if (on)
		err = shstk_pop_sigframe(t, &ssp);
	pthread_rwlock_unlock(&t->mm->mmap_lock);
	t->cpu.rip = fr.rip;
	t->cpu.rsp = fr.rsp;
	if (err)
		return shstk_sig_fail(t, "rt_sigreturn");
	t->cpu.ssp = ssp;
	return 0;
}

/*
 * rt_sigreturn(2), syscall 15: the same path. Linux returns the restored
 * RAX, or 0 with SIGSEGV forced on a bad frame; memvisor's frame carries no
 * RAX, so both answer 0 and the pending signal tells them apart.
 */
long sys_rt_sigreturn(struct mv_task *t, const uint64_t a[6])
{
	long ret = shstk_sigreturn(t);

	(void)a;
	return ret == -EFAULT ? 0 : ret;
}
