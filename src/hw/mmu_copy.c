/* SPDX-License-Identifier: MIT */
/*
 * Multi-byte accesses on top of hw_mmu_translate(): ranges are checked page
 * by page before a single byte moves, so a fault leaves memory as it was.
 */
#include <string.h>

#include "hw/cpu.h"
#include "hw/mte.h"
#include "hw/ram.h"

/* Ranges up to this many pages keep their translations between the passes. */
#define HW_COPY_KEEP 32

static size_t hw_chunk(uint64_t va, size_t left)
{
	size_t room = (size_t)(HW_PAGE_SIZE - (va & ~HW_PAGE_MASK));

	return left < room ? left : room;
}

static int hw_mmu_copy(struct hw_cpu *cpu, uint64_t va, void *rbuf, const void *wbuf, size_t len,
		       unsigned int acc, struct hw_fault *fault)
{
	uint8_t *host[HW_COPY_KEEP];
	struct hw_xlate x;
	size_t off, n;
	unsigned int i;
	int ret;

	/* Pass 1: translate (and check, tags included) every page. */
	for (off = 0, i = 0; off < len; off += n, i++) {
		n = hw_chunk(va + off, len - off);
		ret = hw_mmu_translate(cpu, va + off, acc, &x, fault);
		if (!ret)
			ret = hw_mte_check(cpu, &x, va + off, n, acc, fault);
		if (ret)
			return ret;
		if (i < HW_COPY_KEEP)
			host[i] = x.host;
	}
	/* Pass 2: copy; long ranges translate again (normally TLB hits). */
	for (off = 0, i = 0; off < len; off += n, i++) {
		uint8_t *h;

		n = hw_chunk(va + off, len - off);
		if (i < HW_COPY_KEEP) {
			h = host[i];
		} else {
			ret = hw_mmu_translate(cpu, va + off, acc, &x, fault);
			if (ret)
				return ret;
			h = x.host;
		}
		if (rbuf)
			hw_ram_read((uint8_t *)rbuf + off, h, n);
		else
			hw_ram_write(h, (const uint8_t *)wbuf + off, n);
	}
	return 0;
}

int hw_mmu_read(struct hw_cpu *cpu, uint64_t va, void *buf, size_t len, unsigned int acc,
		struct hw_fault *fault)
{
	if ((acc & HW_ACC_TYPE_MASK) == HW_ACC_WRITE)
		acc &= ~HW_ACC_TYPE_MASK;
	return hw_mmu_copy(cpu, va, buf, NULL, len, acc, fault);
}

int hw_mmu_write(struct hw_cpu *cpu, uint64_t va, const void *buf, size_t len, unsigned int acc,
		 struct hw_fault *fault)
{
	acc = (acc & ~HW_ACC_TYPE_MASK) | HW_ACC_WRITE;
	return hw_mmu_copy(cpu, va, NULL, buf, len, acc, fault);
}

int hw_mmu_load64_slow(struct hw_cpu *cpu, uint64_t va, uint64_t *val, struct hw_fault *fault)
{
	struct hw_xlate x;
	int ret;

	if (va & 7)
		return hw_mmu_read(cpu, va, val, sizeof(*val), HW_ACC_READ, fault);
	ret = hw_mmu_translate(cpu, va, HW_ACC_READ, &x, fault);
	if (!ret)
		ret = hw_mte_check(cpu, &x, va, sizeof(*val), HW_ACC_READ, fault);
	if (ret)
		return ret;
	hw_ram_read(val, x.host, sizeof(*val));
	return 0;
}
