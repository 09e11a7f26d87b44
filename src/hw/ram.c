// SPDX-License-Identifier: MIT
/*
 * The out-of-line halves of hw/ram.h: ranges of simulated RAM copied with
 * relaxed atomics, 8 bytes at a time where the RAM side is aligned.
 */
#include "hw/mte.h"
#include "hw/ram.h"

void hw_ram_read_slow(void *dst, const uint8_t *ram, size_t n)
{
	uint8_t *d = dst;
	size_t i = 0;

	switch (hw_ram_single(ram, n) ? n : 0) {
	case 1:
		d[0] = __atomic_load_n(ram, __ATOMIC_RELAXED);
		return;
	case 2: {
		uint16_t v = __atomic_load_n((const uint16_t *)(const void *)ram, __ATOMIC_RELAXED);

		memcpy(d, &v, 2);
		return;
	}
	case 4: {
		uint32_t v = __atomic_load_n((const uint32_t *)(const void *)ram, __ATOMIC_RELAXED);

		memcpy(d, &v, 4);
		return;
	}
	default:
		break;
	}
	for (; i < n && ((uintptr_t)(ram + i) & 7); i++)
		d[i] = __atomic_load_n(ram + i, __ATOMIC_RELAXED);
	for (; i + 8 <= n; i += 8) {
		uint64_t v = __atomic_load_n((const uint64_t *)(const void *)(ram + i), __ATOMIC_RELAXED);

		memcpy(d + i, &v, 8);
	}
	for (; i < n; i++)
		d[i] = __atomic_load_n(ram + i, __ATOMIC_RELAXED);
}

void hw_ram_write_slow(uint8_t *ram, const void *src, size_t n)
{
	const uint8_t *s = src;
	size_t i = 0;

	switch (hw_ram_single(ram, n) ? n : 0) {
	case 1:
		__atomic_store_n(ram, s[0], __ATOMIC_RELAXED);
		return;
	case 2: {
		uint16_t v;

		memcpy(&v, s, 2);
		__atomic_store_n((uint16_t *)(void *)ram, v, __ATOMIC_RELAXED);
		return;
	}
	case 4: {
		uint32_t v;

		memcpy(&v, s, 4);
		__atomic_store_n((uint32_t *)(void *)ram, v, __ATOMIC_RELAXED);
		return;
	}
	default:
		break;
	}
	for (; i < n && ((uintptr_t)(ram + i) & 7); i++)
		__atomic_store_n(ram + i, s[i], __ATOMIC_RELAXED);
	for (; i + 8 <= n; i += 8) {
		uint64_t v;

		memcpy(&v, s + i, 8);
		__atomic_store_n((uint64_t *)(void *)(ram + i), v, __ATOMIC_RELAXED);
	}
	for (; i < n; i++)
		__atomic_store_n(ram + i, s[i], __ATOMIC_RELAXED);
}

void hw_ram_zero(void *ram, size_t n)
{
	uint8_t *r = ram;
	size_t i = 0;

	for (; i < n && ((uintptr_t)(r + i) & 7); i++)
		__atomic_store_n(r + i, 0, __ATOMIC_RELAXED);
	for (; i + 8 <= n; i += 8)
		__atomic_store_n((uint64_t *)(void *)(r + i), 0, __ATOMIC_RELAXED);
	for (; i < n; i++)
		__atomic_store_n(r + i, 0, __ATOMIC_RELAXED);
}

void hw_ram_copy_page(struct hw_machine *m, hw_pfn_t dst, hw_pfn_t src)
{
	const uint64_t *s = hw_pfn_to_host(m, src);
	uint64_t *d = hw_pfn_to_host(m, dst);

	for (size_t i = 0; i < HW_PAGE_SIZE / 8; i++)
		__atomic_store_n(d + i, __atomic_load_n(s + i, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
	/* copy_highpage(): a tagged page's copy carries its tags */
	hw_mte_copy_page_tags(m, dst, src);
}
