/* SPDX-License-Identifier: MIT */
/*
 * Guest programs: C functions running as coroutines on their own stacks,
 * one per vCPU. KVM_RUN switches to the guest; the guest switches back
 * when it needs user space (MMIO, a hypercall exit, a memory fault) or
 * when its function returns (HLT). The next KVM_RUN resumes it right after
 * the switch, which is where the interrupted access is completed or
 * retried. Everything a guest touches goes through the vCPU's hw_cpu:
 * stage 1 (its own page tables, once it enables paging) and stage 2 (EPT).
 *
 * The stack switch is hand-written for x86-64 (callee-saved registers and
 * the stack pointer, nothing else: no signal-mask system call), with a
 * ucontext fallback elsewhere. AddressSanitizer and ThreadSanitizer are
 * told about every switch (their fiber interfaces); without that they
 * report nonsense about the foreign stack.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "hw/mte.h"
#include "hw/ram.h"
#include "kvm/guest.h"
#include "kvm/kvm.h"
#include "lib/alloc.h"

#if defined(__SANITIZE_ADDRESS__)
#define KVM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KVM_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define KVM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KVM_TSAN 1
#endif
#endif
#ifdef KVM_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef KVM_TSAN
#include <sanitizer/tsan_interface.h>
#endif

#ifdef KVM_ASAN
#define KVM_GUEST_STACK (1024u * 1024)
#else
#define KVM_GUEST_STACK (256u * 1024)
#endif

/* ---- the stack switch ---- */

#ifndef KVM_GUEST_UCONTEXT
/*
 * kvm_coro_switch(save, load): pushes the callee-saved registers, stores
 * the stack pointer in *save, loads @load and pops the other side's. A new
 * stack is prepared so that the first switch "returns" into
 * kvm_coro_start with the guest in %rbx.
 */
__attribute__((visibility("hidden"))) void kvm_coro_switch(void **save, void *load);
__attribute__((visibility("hidden"))) void kvm_coro_start(void);
__attribute__((visibility("hidden"))) void kvm_guest_entry(struct mv_guest *g);

__asm__(".text\n"
	".globl kvm_coro_switch\n"
	".hidden kvm_coro_switch\n"
	".type kvm_coro_switch,@function\n"
	"kvm_coro_switch:\n"
	"\tpushq %rbp\n\tpushq %rbx\n\tpushq %r12\n\tpushq %r13\n\tpushq %r14\n\tpushq %r15\n"
	"\tmovq %rsp, (%rdi)\n"
	"\tmovq %rsi, %rsp\n"
	"\tpopq %r15\n\tpopq %r14\n\tpopq %r13\n\tpopq %r12\n\tpopq %rbx\n\tpopq %rbp\n"
	"\tret\n"
	".size kvm_coro_switch, .-kvm_coro_switch\n"
	".globl kvm_coro_start\n"
	".hidden kvm_coro_start\n"
	".type kvm_coro_start,@function\n"
	"kvm_coro_start:\n"
	"\tmovq %rbx, %rdi\n"
	"\tcall kvm_guest_entry\n"
	"\tud2\n"
	".size kvm_coro_start, .-kvm_coro_start\n");

static void kvm_coro_prepare(struct mv_guest *g)
{
	uintptr_t top = ((uintptr_t)g->stack + g->stack_size) & ~(uintptr_t)15;
	uint64_t *sp = (uint64_t *)(top - 7 * sizeof(uint64_t));

	memset(sp, 0, 7 * sizeof(uint64_t));
	sp[4] = (uint64_t)(uintptr_t)g;                 /* popped into %rbx */
	sp[6] = (uint64_t)(uintptr_t)kvm_coro_start;    /* the return address */
	g->guest_sp = sp;
}
#else
static void kvm_guest_entry(struct mv_guest *g);

static void kvm_coro_uc_entry(unsigned int hi, unsigned int lo)
{
	kvm_guest_entry((struct mv_guest *)(((uintptr_t)hi << 32) | lo));
}

static void kvm_coro_prepare(struct mv_guest *g)
{
	uintptr_t p = (uintptr_t)g;

	getcontext(&g->guest_uc);
	g->guest_uc.uc_stack.ss_sp = g->stack;
	g->guest_uc.uc_stack.ss_size = g->stack_size;
	g->guest_uc.uc_link = NULL;
	makecontext(&g->guest_uc, (void (*)(void))kvm_coro_uc_entry, 2, (unsigned int)(p >> 32),
		    (unsigned int)p);
}
#endif

/* Host (KVM_RUN) -> guest. Returns when the guest hands the vCPU back. */
static void kvm_switch_to_guest(struct mv_guest *g)
{
#ifdef KVM_TSAN
	g->tsan_host = __tsan_get_current_fiber();
#endif
#ifdef KVM_ASAN
	__sanitizer_start_switch_fiber(&g->asan_fake_host, g->stack, g->stack_size);
#endif
#ifdef KVM_TSAN
	__tsan_switch_to_fiber(g->tsan_fiber, 0);
#endif
#ifdef KVM_GUEST_UCONTEXT
	swapcontext(&g->host_uc, &g->guest_uc);
#else
	kvm_coro_switch(&g->host_sp, g->guest_sp);
#endif
#ifdef KVM_ASAN
	__sanitizer_finish_switch_fiber(g->asan_fake_host, NULL, NULL);
#endif
}

/* Runs on the guest stack each time the guest (re)gains the CPU. */
static void kvm_guest_arrived(struct mv_guest *g, bool first)
{
#ifdef KVM_ASAN
	__sanitizer_finish_switch_fiber(first ? NULL : g->asan_fake_guest, &g->host_bottom,
					&g->host_size);
#else
	(void)g;
	(void)first;
#endif
}

/* Guest -> host. @final: the guest will never run again. */
static void kvm_switch_to_host(struct mv_guest *g, bool final)
{
#ifdef KVM_ASAN
	__sanitizer_start_switch_fiber(final ? NULL : &g->asan_fake_guest, g->host_bottom,
				       g->host_size);
#endif
#ifdef KVM_TSAN
	__tsan_switch_to_fiber(g->tsan_host, 0);
#endif
#ifdef KVM_GUEST_UCONTEXT
	swapcontext(&g->guest_uc, &g->host_uc);
#else
	kvm_coro_switch(&g->guest_sp, g->host_sp);
#endif
	if (!final)
		kvm_guest_arrived(g, false);
}

/* ---- instruction boundaries ---- */

static void kvm_guest_update_work(struct mv_guest *g)
{
	const struct kvm_queued_exception *ex = &g->vcpu->exception;

	g->boundary_work = g->stop_at_boundary || ex->pending || ex->injected;
	/* the inline fast path does not look at boundary_work: make it miss */
	if (g->boundary_work)
		hw_tlb_fast_kill(&g->vcpu->cpu);
}

/*
 * immediate_exit asked KVM_RUN to return once the pending exit is
 * complete: this is the first point after it. KVM_RUN returns -EINTR and
 * leaves exit_reason as the last exit set it (kvm_arch_vcpu_ioctl_run's
 * !wants_to_run path writes no exit).
 */
static void kvm_guest_stop_point(struct mv_guest *g)
{
	if (!g->stop_at_boundary)
		return;
	g->stop_at_boundary = false;
	kvm_guest_update_work(g);
	kvm_guest_exit_to_user(g, -EINTR);
}

/* A queued exception, delivered: -EFAULT and mv_guest_last_fault describes it. 0 if none. */
static long kvm_guest_deliver_exception(struct mv_guest *g)
{
	struct kvm_vcpu *vcpu = g->vcpu;
	struct kvm_queued_exception *ex = &vcpu->exception;
	long r = 0;

	if (ex->pending || ex->injected) {
		ex->pending = ex->injected = false;
		r = kvm_guest_raise(g, ex->vector, ex->has_error_code ? ex->error_code : 0,
				    ex->vector == X86_VEC_PF ? vcpu->cpu.cr2 : 0);
	}
	kvm_guest_update_work(g);
	return r;
}

long kvm_guest_boundary_slow(struct mv_guest *g)
{
	kvm_guest_stop_point(g);
	return kvm_guest_deliver_exception(g);
}

#ifndef KVM_GUEST_UCONTEXT
void kvm_guest_entry(struct mv_guest *g)
#else
static void kvm_guest_entry(struct mv_guest *g)
#endif
{
	struct kvm_run *run = g->vcpu->run;

	kvm_guest_arrived(g, true);
	g->fn(g, g->arg);
	/* the return stands for HLT, an instruction like the others */
	kvm_guest_stop_point(g);
	g->done = true;
	run->exit_reason = KVM_EXIT_HLT;
	g->run_ret = 0;
	for (;;)   /* KVM_RUN never switches to a finished guest */
		kvm_switch_to_host(g, true);
}

/* ---- lifetime and KVM_RUN ---- */

/*
 * Guest stacks are host mappings with an inaccessible page below them, so
 * a guest program that overflows its stack crashes loudly instead of
 * corrupting the heap. Failure injection applies as to any allocation.
 */
static void *kvm_stack_alloc(size_t size)
{
	uint8_t *p;

	if (lib_fail_now())
		return NULL;
	p = mmap(NULL, size + K_PAGE_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (mprotect(p, K_PAGE_SIZE, PROT_NONE)) {
		munmap(p, size + K_PAGE_SIZE);
		return NULL;
	}
	return p + K_PAGE_SIZE;
}

static void kvm_stack_free(void *stack, size_t size)
{
	if (!stack)
		return;
#ifdef KVM_ASAN
	/* frames that lived there left redzones in the shadow */
	__asan_unpoison_memory_region(stack, size);
#endif
	munmap((uint8_t *)stack - K_PAGE_SIZE, size + K_PAGE_SIZE);
}

void kvm_guest_destroy(struct mv_guest *g)
{
	if (!g)
		return;
#ifdef KVM_TSAN
	__tsan_destroy_fiber(g->tsan_fiber);
#endif
	kvm_stack_free(g->stack, g->stack_size);
	lib_free(g);
}

/* Called with vcpu->mutex held. */
int kvm_guest_create(struct kvm_vcpu *vcpu, mv_guest_fn fn, void *arg)
{
	struct mv_guest *g = lib_zalloc(sizeof(*g));

	if (!g)
		return -ENOMEM;
	g->stack_size = KVM_GUEST_STACK;
	g->stack = kvm_stack_alloc(g->stack_size);
	if (!g->stack) {
		lib_free(g);
		return -ENOMEM;
	}
	g->vcpu = vcpu;
	g->fn = fn;
	g->arg = arg;
#ifdef KVM_TSAN
	g->tsan_fiber = __tsan_create_fiber(0);
#endif
	kvm_coro_prepare(g);
	kvm_guest_destroy(vcpu->guest);
	vcpu->guest = g;
	return 0;
}

/* One JSON-lines event per exit to user space (when tracing is on). */
static __attribute__((noinline, cold)) void kvm_trace_exit(const struct kvm_vcpu *vcpu, long ret)
{
	const struct kvm_run *run = vcpu->run;
	struct lib_trace_ev ev;

	if (!lib_trace_begin(&ev, &vcpu->kvm->hw->trace, "kvm_exit"))
		return;
	lib_trace_u64(&ev, "vm", vcpu->kvm->vmid);
	lib_trace_u64(&ev, "vcpu", (uint64_t)vcpu->vcpu_id);
	lib_trace_u64(&ev, "reason", run->exit_reason);
	lib_trace_i64(&ev, "ret", ret);
	if (run->exit_reason == KVM_EXIT_MMIO) {
		lib_trace_hex(&ev, "gpa", run->mmio.phys_addr);
		lib_trace_u64(&ev, "len", run->mmio.len);
		lib_trace_bool(&ev, "write", run->mmio.is_write);
	} else if (run->exit_reason == KVM_EXIT_MEMORY_FAULT) {
		lib_trace_hex(&ev, "gpa", run->memory_fault.gpa);
	} else if (run->exit_reason == KVM_EXIT_HYPERCALL) {
		lib_trace_u64(&ev, "nr", run->hypercall.nr);
	} else if (run->exit_reason == KVM_EXIT_HEKI_DENIAL) {
		lib_trace_u64(&ev, "heki_reason", run->heki_denial.reason);
		lib_trace_hex(&ev, "value", run->heki_denial.gpa);
	}
	lib_trace_emit(&ev);
}

/*
 * KVM_RUN: called with vcpu->mutex held. Without @wants_to_run only an
 * exit waiting for completion (g->cui) lets the guest run, up to the next
 * instruction boundary, as complete_userspace_io runs before the
 * immediate_exit check.
 */
long kvm_guest_run(struct kvm_vcpu *vcpu, bool wants_to_run)
{
	struct mv_guest *g = vcpu->guest;
	bool runnable = g && !g->done;

	if (!wants_to_run && (!runnable || !g->cui))
		return -EINTR;
	if (!runnable) {   /* nothing to run: the CPU sits in HLT */
		vcpu->run->exit_reason = KVM_EXIT_HLT;
		return 0;
	}
	g->stop_at_boundary = !wants_to_run;
	kvm_guest_update_work(g);
	/*
	 * The VMM may have changed anything between two runs (registers,
	 * privilege, memory): the first inline access misses and re-arms.
	 */
	hw_tlb_fast_kill(&vcpu->cpu);
	g->run_ret = 0;
	g->in_guest = true;
	kvm_switch_to_guest(g);
	g->in_guest = false;
	g->stop_at_boundary = false;
	vcpu->exits++;
	/* the event's buffer is only set up when someone listens */
	if (__builtin_expect(lib_trace_on(&vcpu->kvm->hw->trace), 0))
		kvm_trace_exit(vcpu, g->run_ret);
	return g->run_ret;
}

void kvm_guest_exit_to_user(struct mv_guest *g, long run_ret)
{
	g->run_ret = run_ret;
	kvm_switch_to_host(g, false);
}

void kvm_guest_exit_for_completion(struct mv_guest *g)
{
	g->cui = true;
	kvm_guest_exit_to_user(g, 0);
	g->cui = false;
}

struct kvm_vcpu *kvm_guest_vcpu(struct mv_guest *g)
{
	return g->vcpu;
}

bool kvm_guest_long_mode(const struct kvm_vcpu *vcpu)
{
	return (vcpu->cpu.efer & X86_EFER_LMA) && (vcpu->cpu.cr0 & X86_CR0_PG);
}

/* ---- faults delivered to the guest ---- */

long kvm_guest_raise(struct mv_guest *g, int vector, uint64_t error_code, uint64_t addr)
{
	g->fault = (struct mv_guest_fault){ .vector = vector, .error_code = error_code,
					    .address = addr };
	g->has_fault = true;
	return -EFAULT;
}

/* ---- memory accesses ---- */

enum kvm_acc { KVM_ACC_RETRY, KVM_ACC_FAULT, KVM_ACC_MMIO };

enum kvm_hw_op { KVM_HW_PROBE, KVM_HW_READ, KVM_HW_WRITE, KVM_HW_STG, KVM_HW_LDG };

/*
 * An asynchronous tag-check fault the access left in the vCPU's TFSR:
 * the guest hears of it at its next instruction boundary, as #PF with
 * HW_PF_MTE_ASYNC and no address (hw/mte.h).
 */
static void kvm_guest_mte_async(struct mv_guest *g)
{
	struct kvm_vcpu *vcpu = g->vcpu;

	if (!hw_mte_take_async(&vcpu->cpu) || vcpu->exception.pending)
		return;
	vcpu->exception = (struct kvm_queued_exception){
		.pending = true, .vector = X86_VEC_PF, .has_error_code = true,
		.error_code = HW_PF_MTE_ASYNC,
	};
	vcpu->cpu.cr2 = 0;
	kvm_guest_update_work(g);
}

/* STG / LDG on a translated granule: memory not mapped tagged ignores STG, reads 0. */
static void kvm_guest_tag_op(struct kvm_vcpu *v, enum kvm_hw_op op, const struct hw_xlate *x,
			     uint64_t va, uint8_t *buf)
{
	if (op == KVM_HW_STG && x->tagged)
		hw_mte_set_tag(v->cpu.m, x->pa, hw_mte_ptr_tag(va));
	else if (op == KVM_HW_LDG)
		*buf = x->tagged ? (uint8_t)hw_mte_get_tag(v->cpu.m, x->pa) : 0;
}

/*
 * One hardware access inside the vCPU's bracket: zaps wait for the bracket
 * to close before they free pages (see kvm_flush_remote_tlbs).
 */
static int kvm_guest_hw(struct mv_guest *g, enum kvm_hw_op op, uint64_t va, void *buf, size_t n,
			unsigned int acc, struct hw_fault *f)
{
	struct kvm_vcpu *v = g->vcpu;
	uint64_t seq;
	struct hw_xlate x;
	int r;

	hw_tlb_sync_gen(&v->cpu, hw_access_begin(&v->cpu, &seq));
	/* @n never crosses a page: one translation covers the copy */
	if (op == KVM_HW_WRITE || op == KVM_HW_STG)
		acc = (acc & ~HW_ACC_TYPE_MASK) | HW_ACC_WRITE;
	r = hw_mmu_translate(&v->cpu, va, acc, &x, f);
	/* loads, stores and their probes are tag checked; fetches and STG/LDG are not */
	if (!r && op <= KVM_HW_WRITE && (acc & HW_ACC_TYPE_MASK) != HW_ACC_FETCH)
		r = hw_mte_check(&v->cpu, &x, va, n, acc, f);
	if (!r && op == KVM_HW_READ)
		hw_ram_read(buf, x.host, n);
	else if (!r && op == KVM_HW_WRITE)
		hw_ram_write(x.host, buf, n);
	else if (!r && op >= KVM_HW_STG)
		kvm_guest_tag_op(v, op, &x, va, buf);
	hw_access_end(&v->cpu, seq);
	if (__builtin_expect(v->cpu.mte_tfsr, 0))
		kvm_guest_mte_async(g);
	return r;
}

#define VMX_EXIT_REASON_EPT_VIOLATION 48

/*
 * prepare_emulation_failure_exit(): KVM_EXIT_INTERNAL_ERROR with
 * KVM_INTERNAL_ERROR_EMULATION. data[0] is emulation_failure.flags (0: no
 * instruction bytes, memvisor's guests have none), data[1..5] VMX's exit
 * information: exit reason, exit qualification, IDT-vectoring info,
 * interruption info and its error code (nothing was being delivered).
 */
static void kvm_guest_prepare_emulation_failure(struct mv_guest *g, uint64_t reason,
						uint64_t qual)
{
	struct kvm_run *run = g->vcpu->run;

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->emulation_failure.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run->emulation_failure.flags = 0;
	memset(&run->internal.data[1], 0, 5 * sizeof(run->internal.data[0]));
	run->internal.data[1] = reason;
	run->internal.data[2] = qual;
	run->emulation_failure.ndata = 6;
}

/* KVM could not emulate: KVM_EXIT_INTERNAL_ERROR; the access is retried on resume. */
static void kvm_guest_emulation_failure(struct mv_guest *g, uint64_t reason, uint64_t qual)
{
	kvm_guest_prepare_emulation_failure(g, reason, qual);
	kvm_guest_exit_to_user(g, 0);
}

/*
 * handle_emulation_failure() for an instruction fetch where no memslot is:
 * KVM would have to emulate an instruction whose bytes it cannot read. It
 * queues #UD; at CPL 0 it tells the VMM first (KVM_EXIT_INTERNAL_ERROR) and
 * the guest takes the #UD on the next KVM_RUN, unless the VMM dropped it
 * meanwhile (KVM_SET_REGS, KVM_SET_VCPU_EVENTS): then the fetch is tried
 * again. At CPL 3 the guest takes the #UD without an exit. Returns -EFAULT
 * when an exception was delivered, 0 to retry.
 */
static long kvm_guest_fetch_failure(struct mv_guest *g, const struct hw_fault *f)
{
	struct kvm_vcpu *vcpu = g->vcpu;

	vcpu->exception = (struct kvm_queued_exception){ .pending = true, .vector = X86_VEC_UD };
	if (vcpu->cpu.cpl == 0)
		kvm_guest_emulation_failure(g, VMX_EXIT_REASON_EPT_VIOLATION, f->qualification);
	return kvm_guest_deliver_exception(g);
}

void kvm_guest_memory_fault_exit(struct mv_guest *g, uint64_t gpa, bool private)
{
	struct kvm_run *run = g->vcpu->run;

	run->exit_reason = KVM_EXIT_MEMORY_FAULT;
	run->memory_fault.flags = private ? KVM_MEMORY_EXIT_FLAG_PRIVATE : 0;
	run->memory_fault.gpa = gpa & HW_PAGE_MASK;
	run->memory_fault.size = K_PAGE_SIZE;
	kvm_guest_exit_to_user(g, -EFAULT);
}

/* What the vCPU does with a fault the hardware raised. */
static enum kvm_acc kvm_guest_fault(struct mv_guest *g, const struct hw_fault *f)
{
	enum kvm_pf_result r;

	switch (f->kind) {
	case HW_FAULT_PF:
		kvm_guest_raise(g, X86_VEC_PF, f->error_code, f->addr);
		return KVM_ACC_FAULT;
	case HW_FAULT_GP:
		kvm_guest_raise(g, X86_VEC_GP, 0, 0);
		return KVM_ACC_FAULT;
	case HW_FAULT_CP:
		kvm_guest_raise(g, X86_VEC_CP, f->error_code, 0);
		return KVM_ACC_FAULT;
	case HW_FAULT_MTE:   /* a synchronous tag-check fault: #PF with HW_PF_MTE (hw/mte.h) */
		g->vcpu->cpu.cr2 = f->addr;
		kvm_guest_raise(g, X86_VEC_PF, HW_PF_MTE | X86_PF_P | f->error_code |
			       (g->vcpu->cpu.cpl == 3 ? X86_PF_U : 0), f->addr);
		return KVM_ACC_FAULT;
	case HW_FAULT_EPT_VIOLATION:
		break;
	default:
		kvm_guest_emulation_failure(g, 0, 0);
		return KVM_ACC_RETRY;
	}
	r = kvm_mmu_page_fault(g->vcpu, f->addr, f->qualification);
	switch (r) {
	case KVM_PF_FIXED:
		return KVM_ACC_RETRY;
	case KVM_PF_MMIO:
		if (f->qualification & EPT_QUAL_GLA_XLATE)
			return KVM_ACC_MMIO;
		/* the guest's page tables live where no memory is: cannot emulate */
		kvm_guest_emulation_failure(g, VMX_EXIT_REASON_EPT_VIOLATION, f->qualification);
		return KVM_ACC_RETRY;
	case KVM_PF_HEKI_DENIED:   /* reported to the VMM if it asked, then #PF */
		kvm_heki_deny(g, f);
		return KVM_ACC_FAULT;
	case KVM_PF_EFAULT:
	case KVM_PF_EFAULT_PRIVATE:
		kvm_guest_memory_fault_exit(g, f->addr, r == KVM_PF_EFAULT_PRIVATE);
		return KVM_ACC_RETRY;
	default:
		kvm_guest_exit_to_user(g, -ENOMEM);
		return KVM_ACC_RETRY;
	}
}

/*
 * MMIO: exits of at most 8 bytes each; a read completes from run->mmio.data
 * on resume. A write goes to the in-kernel bus first, 8 bytes at a time,
 * as vcpu_mmio_write() does: pieces a coalesced-MMIO zone takes need no
 * exit, and from the first piece nothing takes, the rest goes to the VMM.
 */
static void kvm_guest_mmio(struct mv_guest *g, uint64_t gpa, uint8_t *buf, size_t n, bool write)
{
	struct kvm_run *run = g->vcpu->run;
	bool bus = write;

	for (size_t off = 0; off < n;) {
		size_t piece = n - off < 8 ? n - off : 8;

		if (bus && kvm_coalesced_mmio_write(g->vcpu->kvm, gpa + off, (uint32_t)piece,
						    buf + off)) {
			off += piece;
			continue;
		}
		bus = false;

		run->exit_reason = KVM_EXIT_MMIO;
		run->mmio.phys_addr = gpa + off;
		run->mmio.len = (uint32_t)piece;
		run->mmio.is_write = write;
		memset(run->mmio.data, 0, sizeof(run->mmio.data));
		if (write)
			memcpy(run->mmio.data, buf + off, piece);
		kvm_guest_exit_for_completion(g);
		if (!write)
			memcpy(buf + off, run->mmio.data, piece);
		off += piece;
	}
}

/* One page-bounded piece: fault in stage 2 as needed, then copy (or only check). */
static int kvm_guest_page(struct mv_guest *g, enum kvm_hw_op op, uint64_t va, uint8_t *buf,
			  size_t n, unsigned int acc)
{
	for (;;) {
		struct hw_fault f;
		int r = kvm_guest_hw(g, op, va, buf, n, acc, &f);

		if (r != -EFAULT)
			return r;
		switch (kvm_guest_fault(g, &f)) {
		case KVM_ACC_RETRY:
			continue;
		case KVM_ACC_MMIO:
			/* an instruction cannot be fetched from MMIO: checked before a probe returns */
			if ((acc & HW_ACC_TYPE_MASK) == HW_ACC_FETCH) {
				r = (int)kvm_guest_fetch_failure(g, &f);
				if (r)
					return r;
				continue;
			}
			if (op == KVM_HW_PROBE || op == KVM_HW_STG)
				return 0;
			if (op == KVM_HW_LDG) {   /* no tags outside RAM: reads as 0 */
				*buf = 0;
				return 0;
			}
			kvm_guest_mmio(g, f.addr, buf, n, op == KVM_HW_WRITE);
			return 0;
		default:
			return -EFAULT;
		}
	}
}

/*
 * For instructions modelled in other files (ENCLS): what the vCPU does with
 * the fault an access raised. 0: stage 2 was fixed (or the VMM answered),
 * run the instruction again; -EFAULT: the guest took an exception (an
 * operand in MMIO is #GP: nothing emulates it).
 */
long kvm_guest_handle_fault(struct mv_guest *g, const struct hw_fault *f)
{
	switch (kvm_guest_fault(g, f)) {
	case KVM_ACC_RETRY:
		return 0;
	case KVM_ACC_MMIO:
		return kvm_guest_raise(g, X86_VEC_GP, 0, 0);
	default:
		return -EFAULT;
	}
}

/*
 * The whole access: every page is checked first, so a fault the guest sees
 * (#PF, #GP) leaves memory untouched; then each page is copied, or turned
 * into MMIO exits where no RAM backs it.
 */
static long kvm_guest_access(struct mv_guest *g, uint64_t gva, void *buf, size_t len,
			     unsigned int acc, enum kvm_hw_op op)
{
	uint8_t *p = buf;
	long b;
	int r;

	if (!kvm_guest_usable(g) || (!buf && len && op != KVM_HW_PROBE))
		return -EINVAL;
	b = kvm_guest_boundary(g);
	if (b)
		return b;
	/* within one page there is nothing to check first: the copy is all or nothing */
	if (len && (gva & (K_PAGE_SIZE - 1)) + len <= K_PAGE_SIZE)
		return kvm_guest_page(g, op, gva, p, len, acc);
	for (int pass = 0; pass < 2; pass++) {
		enum kvm_hw_op pop = pass == 0 ? KVM_HW_PROBE : op;

		if (pass == 1 && op == KVM_HW_PROBE)
			break;
		for (size_t off = 0; off < len;) {
			uint64_t va = gva + off;
			size_t n = K_PAGE_SIZE - (va & (K_PAGE_SIZE - 1));

			if (n > len - off)
				n = len - off;
			r = kvm_guest_page(g, pop, va, p ? p + off : NULL, n, acc);
			if (r)
				return r;
			off += n;
		}
	}
	return 0;
}

/* A one-page read or write that did not hit the TLB: the whole path. */
static __attribute__((noinline)) long kvm_guest_rw_slow(struct mv_guest *g, enum kvm_hw_op op,
							 uint64_t gva, void *buf, size_t len)
{
	return kvm_guest_page(g, op, gva, buf, len,
			      op == KVM_HW_WRITE ? HW_ACC_WRITE : HW_ACC_READ);
}

/*
 * mv_guest_read / mv_guest_write: what kvm_guest_access does, with the
 * common case (a usable guest, a buffer, 1..page bytes within one page)
 * first and a TLB hit handled here: the bracket, hw_mmu_translate()'s hit
 * test and the copy, with no call for 1, 2, 4, 8 bytes; a page that needs
 * an MTE tag check is checked on the entry that one probe loaded
 * (hw_tlb_hit_rw_checked). When the TLB has a
 * shootdown to catch up with, or misses, the bracket closes untouched and
 * the access goes the whole way (kvm_guest_page opens its own, syncs,
 * walks and handles faults). Everything else is kvm_guest_access.
 */
static inline __attribute__((always_inline)) long
kvm_guest_rw(struct mv_guest *g, uint64_t gva, void *buf, size_t len, enum kvm_hw_op op)
{
	/* len - 1 wraps for 0: one compare for "1..page bytes, within the page" */
	if (__builtin_expect(kvm_guest_usable(g) && !g->boundary_work && buf &&
			     len - 1 < K_PAGE_SIZE - (gva & (K_PAGE_SIZE - 1)), 1)) {
		struct kvm_vcpu *v = g->vcpu;
		struct hw_cpu *cpu = &v->cpu;
		uint64_t seq;
		uint64_t gen = hw_access_begin(cpu, &seq);
		void *host;

		if (__builtin_expect(gen == cpu->tlb.gen, 1) &&
		    hw_tlb_hit_rw_checked(cpu, gva, op == KVM_HW_WRITE, len, &host)) {
			if (op == KVM_HW_WRITE)
				hw_ram_write(host, buf, len);
			else
				hw_ram_read(buf, host, len);
			hw_access_end(&v->cpu, seq);
			if (__builtin_expect(cpu->mte_tfsr, 0))
				kvm_guest_mte_async(g);
			return 0;
		}
		hw_access_end(&v->cpu, seq);
		return kvm_guest_rw_slow(g, op, gva, buf, len);
	}
	return kvm_guest_access(g, gva, buf, len, op == KVM_HW_WRITE ? HW_ACC_WRITE : HW_ACC_READ,
				op);
}

MV_API long mv_guest_read(struct mv_guest *g, uint64_t gva, void *buf, size_t len)
{
	return kvm_guest_rw(g, gva, buf, len, KVM_HW_READ);
}

MV_API long mv_guest_write(struct mv_guest *g, uint64_t gva, const void *buf, size_t len)
{
	return kvm_guest_rw(g, gva, (void *)(uintptr_t)buf, len, KVM_HW_WRITE);
}

long kvm_guest_tag_access(struct mv_guest *g, uint64_t gva, bool set, uint8_t *tag)
{
	uint8_t dummy = 0;

	return kvm_guest_access(g, gva, set ? &dummy : tag, 1, set ? HW_ACC_WRITE : HW_ACC_READ,
				set ? KVM_HW_STG : KVM_HW_LDG);
}

MV_API long mv_guest_fetch(struct mv_guest *g, uint64_t gva, size_t len)
{
	return kvm_guest_access(g, gva, NULL, len, HW_ACC_FETCH, KVM_HW_PROBE);
}
