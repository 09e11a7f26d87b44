/* SPDX-License-Identifier: MIT */
/*
 * memvisor: the inline guest memory fast path.
 *
 * mv_guest_read()/mv_guest_write() are calls into the library that check
 * everything each time. A guest program whose loop is made of loads and
 * stores can instead compile the TLB-hit case into its own code, as a
 * binary translator emits the software-TLB compare inline before each
 * guest access and calls out only when it misses:
 *
 *	struct mv_guest_fast *w = mv_guest_fast(g);
 *	uint64_t v;
 *
 *	if (w && mv_guest_fast_read64(w, gva, &v))
 *		... a fault, exactly as mv_guest_read() reports it ...
 *
 * A hit opens the vCPU's access bracket, probes one entry of the vCPU's
 * direct-mapped TLB with one compare and moves the bytes. Everything else
 * fails that compare and calls mv_guest_fast_access(), which is
 * mv_guest_read()/mv_guest_write() (same faults, same exits, same return
 * values) and then re-arms the window: a TLB miss, a page that needs
 * checks (MTE-checked, EPC, a shadow-stack or Heki-protected page), MMIO
 * (never in the TLB), a store to a read-only page, an address not aligned
 * to the access size (so never crossing a page), a pending exception or
 * immediate_exit, the first access after each KVM_RUN, and any TLB
 * shootdown of the VM since the last miss.
 *
 * The window (struct mv_guest_fast) is the vCPU's: valid while the vCPU
 * exists, usable only by the guest program running on it (the same rule
 * as for mv_guest_* calls; using it from another thread is undefined).
 * Inline hits are not counted in the vCPU's TLB statistics.
 *
 * ABI: the window's two fields and the TLB entry layout below are what
 * inline code compiled against this header relies on. MV_GUEST_FAST_ABI
 * names that layout; mv_guest_fast() passes it, and a library with
 * another layout returns NULL, so a caller built against an older header
 * falls back to mv_guest_read()/mv_guest_write() instead of misreading
 * the TLB. A layout change bumps MV_GUEST_FAST_ABI.
 *
 * Ordering: the library opens its own brackets with a plain store when the
 * host has membarrier (the shootdown pays for the ordering) and with
 * seq_cst otherwise. Code built with ThreadSanitizer (or with
 * MV_GUEST_FAST_SEQ_CST defined to 1) uses seq_cst here too and works
 * either way; plain-store code on a library that lacks membarrier gets a
 * window that never hits (every access is a correct out-of-line call).
 */
#ifndef MEMVISOR_GUEST_FAST_H
#define MEMVISOR_GUEST_FAST_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <memvisor/memvisor.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MV_GUEST_FAST_ABI 1u
/* Flag beside the ABI number: the caller's brackets are seq_cst. */
#define MV_GUEST_FAST_ORDER_SEQ_CST (1u << 16)

#ifndef MV_GUEST_FAST_SEQ_CST
#if defined(__SANITIZE_THREAD__)
#define MV_GUEST_FAST_SEQ_CST 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MV_GUEST_FAST_SEQ_CST 1
#endif
#endif
#endif
#ifndef MV_GUEST_FAST_SEQ_CST
#define MV_GUEST_FAST_SEQ_CST 0
#endif

/* ---- ABI 1: the TLB layout inline code reads ---- */
#define MV_GUEST_FAST_PAGE_SHIFT  12   /* 4 KiB pages */
#define MV_GUEST_FAST_TLB_BITS    8    /* 256 direct-mapped entries, indexed by page number */
#define MV_GUEST_FAST_ENTRY_SHIFT 6    /* 64 bytes per entry */
#define MV_GUEST_FAST_TAG_READ    0    /* byte offset of the read tag (uint64_t) */
#define MV_GUEST_FAST_TAG_WRITE   8    /* of the write tag (uint64_t) */
#define MV_GUEST_FAST_ADDEND      40   /* of the addend (uintptr_t): host = gva + addend */

/*
 * An entry's tag equals the page address of a guest-virtual address that
 * may use it for that kind of access without any check; any other tag has
 * bits 3..11 set or is a different page, so "tag == gva & (page mask |
 * (size - 1))" is the whole test, alignment included.
 */
struct mv_guest_fast {
	/*
	 * The vCPU's access bracket: odd while an access is in flight. Only
	 * the vCPU's thread writes it; a TLB shootdown reads it and waits.
	 */
	uint64_t access_seq;
	/*
	 * The entries for the vCPU's current privilege, or an array whose tags
	 * never match: the library points it there on every event the inline
	 * path cannot see (a shootdown of the VM, KVM_RUN, guest entry, work
	 * at the next instruction boundary). Atomic: a shootdown writes it
	 * from another thread.
	 */
	const void *tlb;
};

/*
 * mv_guest_fast_get - the fast-access window of the vCPU running @g
 * @abi: MV_GUEST_FAST_ABI, with MV_GUEST_FAST_ORDER_SEQ_CST if the caller's
 *       brackets are seq_cst
 *
 * NULL outside a guest program or for an ABI the library does not speak.
 * Use mv_guest_fast(), which passes the right @abi.
 */
MV_API struct mv_guest_fast *mv_guest_fast_get(struct mv_guest *g, unsigned int abi);

/*
 * The out-of-line half: mv_guest_write(@buf) if @write, else
 * mv_guest_read(@buf), on the guest that owns @w, then re-arms the window
 * if it may. Returns what they return.
 */
MV_API long mv_guest_fast_access(struct mv_guest_fast *w, uint64_t gva, void *buf, size_t len,
				 int write);

static inline struct mv_guest_fast *mv_guest_fast(struct mv_guest *g)
{
	return mv_guest_fast_get(g, MV_GUEST_FAST_ABI |
				 (MV_GUEST_FAST_SEQ_CST ? MV_GUEST_FAST_ORDER_SEQ_CST : 0));
}

/*
 * The bracket. Either a shootdown sees access_seq odd and waits for the
 * close, or this access loads the tlb pointer the shootdown replaced. The
 * library's own brackets count (odd, then the next even); the inline one
 * stores 1 and 0, and a shootdown that sees the same odd value again
 * tells a later bracket from this one by the window having been re-armed.
 */
static inline __attribute__((always_inline)) const unsigned char *
mv_guest_fast_open_(struct mv_guest_fast *w)
{
#if MV_GUEST_FAST_SEQ_CST
	__atomic_store_n(&w->access_seq, 1, __ATOMIC_SEQ_CST);
	return (const unsigned char *)__atomic_load_n(&w->tlb, __ATOMIC_SEQ_CST);
#else
	__atomic_store_n(&w->access_seq, 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	return (const unsigned char *)__atomic_load_n(&w->tlb, __ATOMIC_RELAXED);
#endif
}

/* Everything the access read or wrote happens before a shootdown's wait ends. */
static inline __attribute__((always_inline)) void mv_guest_fast_close_(struct mv_guest_fast *w)
{
	__atomic_store_n(&w->access_seq, 0, __ATOMIC_RELEASE);
}

/*
 * The miss, out of line, through a buffer of its own: the caller's value
 * never has its address taken on the hit path, so it stays in a register.
 * A failed read leaves @buf as it was, as mv_guest_read() does.
 */
static inline __attribute__((always_inline)) long
mv_guest_fast_miss_(struct mv_guest_fast *w, uint64_t gva, void *buf, size_t len, int write)
{
	unsigned char tmp[8];
	long r;

	if (write)
		memcpy(tmp, buf, len);
	r = mv_guest_fast_access(w, gva, tmp, len, write);
	if (!write && !r)
		memcpy(buf, tmp, len);
	return r;
}

/*
 * Simulated RAM is shared memory: each aligned access is one relaxed
 * atomic. The caller's side is its own buffer, copied plainly.
 */
static inline __attribute__((always_inline)) void
mv_guest_fast_load_(const void *host, void *buf, size_t len)
{
	uint64_t v = 0;
	uint32_t v4;
	uint16_t v2;
	uint8_t v1;

	switch (len) {
	case 8:
		v = __atomic_load_n((const uint64_t *)host, __ATOMIC_RELAXED);
		memcpy(buf, &v, 8);
		break;
	case 4:
		v4 = __atomic_load_n((const uint32_t *)host, __ATOMIC_RELAXED);
		memcpy(buf, &v4, 4);
		break;
	case 2:
		v2 = __atomic_load_n((const uint16_t *)host, __ATOMIC_RELAXED);
		memcpy(buf, &v2, 2);
		break;
	default:
		v1 = __atomic_load_n((const uint8_t *)host, __ATOMIC_RELAXED);
		memcpy(buf, &v1, 1);
	}
}

static inline __attribute__((always_inline)) void
mv_guest_fast_store_(void *host, const void *buf, size_t len)
{
	uint64_t v;
	uint32_t v4;
	uint16_t v2;
	uint8_t v1;

	switch (len) {
	case 8:
		memcpy(&v, buf, 8);
		__atomic_store_n((uint64_t *)host, v, __ATOMIC_RELAXED);
		break;
	case 4:
		memcpy(&v4, buf, 4);
		__atomic_store_n((uint32_t *)host, v4, __ATOMIC_RELAXED);
		break;
	case 2:
		memcpy(&v2, buf, 2);
		__atomic_store_n((uint16_t *)host, v2, __ATOMIC_RELAXED);
		break;
	default:
		memcpy(&v1, buf, 1);
		__atomic_store_n((uint8_t *)host, v1, __ATOMIC_RELAXED);
	}
}

/* @len is 1, 2, 4 or 8 (a constant, so everything below folds). */
static inline __attribute__((always_inline)) long
mv_guest_fast_rw_(struct mv_guest_fast *w, uint64_t gva, void *buf, size_t len, int write)
{
	const unsigned char *e = mv_guest_fast_open_(w) +
		((gva >> (MV_GUEST_FAST_PAGE_SHIFT - MV_GUEST_FAST_ENTRY_SHIFT)) &
		 (((1u << MV_GUEST_FAST_TLB_BITS) - 1) << MV_GUEST_FAST_ENTRY_SHIFT));
	const uint64_t *tag = (const uint64_t *)(const void *)
		(e + (write ? MV_GUEST_FAST_TAG_WRITE : MV_GUEST_FAST_TAG_READ));

	if (__builtin_expect(*tag == (gva & (~(((uint64_t)1 << MV_GUEST_FAST_PAGE_SHIFT) - 1) |
					     (len - 1))), 1)) {
		void *host = (void *)(uintptr_t)(gva +
			*(const uintptr_t *)(const void *)(e + MV_GUEST_FAST_ADDEND));

		if (write)
			mv_guest_fast_store_(host, buf, len);
		else
			mv_guest_fast_load_(host, buf, len);
		mv_guest_fast_close_(w);
		return 0;
	}
	mv_guest_fast_close_(w);
	return mv_guest_fast_miss_(w, gva, buf, len, write);
}

/*
 * Guest loads and stores of 1, 2, 4 or 8 bytes: 0, or what mv_guest_read()
 * / mv_guest_write() return for the same access (-EFAULT with the fault in
 * mv_guest_last_fault(), ...).
 */
static inline long mv_guest_fast_read64(struct mv_guest_fast *w, uint64_t gva, uint64_t *val)
{
	return mv_guest_fast_rw_(w, gva, val, 8, 0);
}

static inline long mv_guest_fast_read32(struct mv_guest_fast *w, uint64_t gva, uint32_t *val)
{
	return mv_guest_fast_rw_(w, gva, val, 4, 0);
}

static inline long mv_guest_fast_read16(struct mv_guest_fast *w, uint64_t gva, uint16_t *val)
{
	return mv_guest_fast_rw_(w, gva, val, 2, 0);
}

static inline long mv_guest_fast_read8(struct mv_guest_fast *w, uint64_t gva, uint8_t *val)
{
	return mv_guest_fast_rw_(w, gva, val, 1, 0);
}

static inline long mv_guest_fast_write64(struct mv_guest_fast *w, uint64_t gva, uint64_t val)
{
	return mv_guest_fast_rw_(w, gva, &val, 8, 1);
}

static inline long mv_guest_fast_write32(struct mv_guest_fast *w, uint64_t gva, uint32_t val)
{
	return mv_guest_fast_rw_(w, gva, &val, 4, 1);
}

static inline long mv_guest_fast_write16(struct mv_guest_fast *w, uint64_t gva, uint16_t val)
{
	return mv_guest_fast_rw_(w, gva, &val, 2, 1);
}

static inline long mv_guest_fast_write8(struct mv_guest_fast *w, uint64_t gva, uint8_t val)
{
	return mv_guest_fast_rw_(w, gva, &val, 1, 1);
}

#ifdef __cplusplus
}
#endif

#endif
