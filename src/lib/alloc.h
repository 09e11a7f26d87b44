/* SPDX-License-Identifier: MIT */
/*
 * Allocation wrappers with failure injection. Every allocation in memvisor
 * that can fail on behalf of the simulated kernel goes through these, so a
 * test can force "the Nth allocation from now fails" and check that the
 * -ENOMEM path unwinds cleanly. The countdown is per host thread.
 */
#ifndef MV_LIB_ALLOC_H
#define MV_LIB_ALLOC_H

#include <stddef.h>

void *lib_malloc(size_t size);
void *lib_zalloc(size_t size);
void *lib_calloc(size_t n, size_t size);   /* NULL on n*size overflow */
void *lib_realloc(void *p, size_t size);
/*
 * For types that ask for more alignment than malloc gives (the SGX
 * structures: a PCMD is 128-byte aligned): @align a power of two, at least
 * sizeof(void *). Freed with lib_free().
 */
void *lib_malloc_aligned(size_t align, size_t size);
void lib_free(void *p);
/*
 * Large zeroed tables (kvzalloc's role): taken from the host as fresh
 * anonymous memory, so their pages are zeroed on first touch and a table
 * that is mostly never used costs neither a memset nor resident memory.
 * lib_vfree() needs the size that was asked for.
 */
void *lib_vzalloc(size_t n, size_t size);
void lib_vfree(void *p, size_t n, size_t size);

/*
 * Make the @nth allocation (1 = the next one) on this thread fail, through
 * lib_* and through anything else that consults lib_fail_now() (the frame
 * allocator does). 0 disarms.
 */
void lib_fail_after(unsigned long nth);
/* Consumes one step of the countdown; true if this allocation must fail. */
int lib_fail_now(void);

#endif
