/* SPDX-License-Identifier: MIT */
/*
 * Moving bytes in and out of simulated RAM.
 *
 * Simulated RAM is shared memory of the simulated machine: vCPU threads,
 * the VMM thread and the kernel's copy routines may touch the same bytes at
 * once, and the simulated hardware gives such races a meaning (each aligned
 * access up to 8 bytes is single-copy atomic, as on x86). In memvisor's own
 * C they would be data races, so every access to simulated RAM that another
 * host thread could make at the same time goes through these helpers: an
 * aligned 1/2/4/8-byte access is one relaxed atomic (an ordinary mov on
 * x86-64), anything else is copied 8 bytes at a time where aligned and a
 * byte at a time elsewhere. The host-side buffer is the caller's own and is
 * accessed plainly.
 *
 * Not needed for a frame nobody else can reach yet (zeroing a block being
 * allocated) and not used for page-table entries, which have their own
 * accessors with stronger ordering (hw/pgtable.h).
 */
#ifndef MV_HW_RAM_H
#define MV_HW_RAM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hw/phys.h"

/* @ram is aligned for an access of @n bytes that one atomic can do. */
static inline bool hw_ram_single(const void *ram, size_t n)
{
	return (n == 8 || n == 4 || n == 2 || n == 1) && !((uintptr_t)ram & (n - 1));
}

void hw_ram_read_slow(void *dst, const uint8_t *ram, size_t n);
void hw_ram_write_slow(uint8_t *ram, const void *src, size_t n);

/* Copies @n bytes of simulated RAM at host address @ram into @dst. */
static inline void hw_ram_read(void *dst, const void *ram, size_t n)
{
	if (__builtin_expect(n == 8 && !((uintptr_t)ram & 7), 1)) {
		uint64_t v = __atomic_load_n((const uint64_t *)ram, __ATOMIC_RELAXED);

		memcpy(dst, &v, 8);
	} else if (n == 4 && !((uintptr_t)ram & 3)) {
		uint32_t v = __atomic_load_n((const uint32_t *)ram, __ATOMIC_RELAXED);

		memcpy(dst, &v, 4);
	} else if (n == 1) {
		*(uint8_t *)dst = __atomic_load_n((const uint8_t *)ram, __ATOMIC_RELAXED);
	} else {
		hw_ram_read_slow(dst, ram, n);
	}
}

/* Copies @n bytes from @src into simulated RAM at host address @ram. */
static inline void hw_ram_write(void *ram, const void *src, size_t n)
{
	if (__builtin_expect(n == 8 && !((uintptr_t)ram & 7), 1)) {
		uint64_t v;

		memcpy(&v, src, 8);
		__atomic_store_n((uint64_t *)ram, v, __ATOMIC_RELAXED);
	} else if (n == 4 && !((uintptr_t)ram & 3)) {
		uint32_t v;

		memcpy(&v, src, 4);
		__atomic_store_n((uint32_t *)ram, v, __ATOMIC_RELAXED);
	} else if (n == 1) {
		__atomic_store_n((uint8_t *)ram, *(const uint8_t *)src, __ATOMIC_RELAXED);
	} else {
		hw_ram_write_slow(ram, src, n);
	}
}

/* Zeroes @n bytes of simulated RAM that others may be reading. */
void hw_ram_zero(void *ram, size_t n);
/* Copies the 4 KiB frame @src into @dst (copy on write, page-cache copies). */
void hw_ram_copy_page(struct hw_machine *m, hw_pfn_t dst, hw_pfn_t src);

#endif
