/* SPDX-License-Identifier: MIT */
/*
 * The memory-model vocabulary of the project, named after Linux's
 * (include/asm-generic/rwonce.h, include/asm-generic/barrier.h) so a kernel
 * developer reads them at a glance.
 *
 * The rule (docs/architecture.md, "Memory model"): a word that another host
 * thread may read without holding the lock that serialises its writers is
 * written with WRITE_ONCE()/smp_store_release() (or an atomic
 * read-modify-write) and read with READ_ONCE()/smp_load_acquire(). Plain
 * accesses are kept for words that only one thread touches or that one
 * lock covers on every path. In C11 terms these are __atomic operations:
 * a relaxed 8-byte access on x86-64 is one ordinary mov, so the rule costs
 * nothing on the fast paths and makes ThreadSanitizer's verdict meaningful.
 */
#ifndef MV_LIB_COMPILER_H
#define MV_LIB_COMPILER_H

/* A single untorn access, no ordering (Linux READ_ONCE / WRITE_ONCE). */
#define READ_ONCE(x)      __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)  __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* Publication: everything before the release is visible after the acquire. */
#define smp_load_acquire(p)       __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define smp_store_release(p, v)   __atomic_store_n((p), (v), __ATOMIC_RELEASE)

/* Linux's try_cmpxchg(): true and *new stored when *p == *old, else *old updated. */
#define try_cmpxchg(p, old, new)                                                  \
	__atomic_compare_exchange_n((p), (old), (new), false, __ATOMIC_ACQ_REL,  \
				    __ATOMIC_ACQUIRE)

#endif
