/* SPDX-License-Identifier: MIT */
/*
 * text_poke() (arch/x86/kernel/alternative.c) and the image's jump labels.
 * Without Heki protection the kernel patches as Linux does, through a
 * temporary writable alias of the text page (its own mm in Linux, one
 * fixed address here), so Heki's counters see a writer come and go. Once
 * Heki protects the kernel, the text is IMMUTABLE and no alias could write
 * it: the kernel asks KVM (KVM_HC_HEKI_TEXT_POKE), which writes only the
 * byte sequences the VMM declared for that site.
 */
#include <errno.h>
#include <string.h>

#include "guest/guest.h"

#define GK_POKE_MAX 16

/* Jump label i sits at offset i pages + 0x100 of the text (text has >= 4 pages). */
uint64_t gk_jump_label_offset(unsigned i)
{
	return (uint64_t)i * GK_PAGE_SIZE + 0x100;
}

MV_API void guest_kernel_jump_labels(const struct guest_kernel *k,
				     struct guest_jump_label out[GK_NR_JUMP_LABELS])
{
	static const uint8_t nop5[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };
	static const uint8_t jmp5[5] = { 0xe9, 0x10, 0x00, 0x00, 0x00 };   /* jmp .+0x15 */

	for (unsigned i = 0; k && out && i < GK_NR_JUMP_LABELS; i++) {
		out[i].pa = k->sec_pa[GK_TEXT] + gk_jump_label_offset(i);
		out[i].va = GK_KERNEL_MAP + out[i].pa;
		memcpy(out[i].nop, nop5, 5);
		memcpy(out[i].jmp, jmp5, 5);
	}
}

/* __text_poke(): alias the page writable at GK_POKING_ADDR, write, drop the alias. */
static long gk_text_poke_alias(struct guest_kernel *k, uint64_t pa, const void *bytes,
			       size_t len)
{
	uint64_t off = pa % GK_PAGE_SIZE;
	long r, u;

	r = gk_map_page(k, GK_POKING_ADDR, pa - off, GK_PTE_P | GK_PTE_RW | GK_PTE_NX);
	r = r ? r : gk_flush_tlb(k);
	r = r ? r : mv_guest_write(k->g, GK_POKING_ADDR + off, bytes, len);
	u = gk_unmap_page(k, GK_POKING_ADDR);
	u = u ? u : gk_flush_tlb(k);
	return r ? r : u;
}

/* KVM_HC_HEKI_TEXT_POKE: gpa, len, then the bytes little-endian in two words. */
static long gk_text_poke_hypercall(struct guest_kernel *k, uint64_t pa, const void *bytes,
				   size_t len)
{
	uint8_t b[GK_POKE_MAX] = { 0 };
	uint64_t lo, hi;

	memcpy(b, bytes, len);
	memcpy(&lo, b, 8);
	memcpy(&hi, b + 8, 8);
	return gk_heki_errno(mv_guest_hypercall(k->g, KVM_HC_HEKI_TEXT_POKE, pa, len, lo, hi));
}

MV_API long guest_text_poke(struct guest_kernel *k, uint64_t va, const void *bytes, size_t len)
{
	uint64_t pte = 0, pa;
	long r;

	if (!k || !bytes || !len || len > GK_POKE_MAX ||
	    va / GK_PAGE_SIZE != (va + len - 1) / GK_PAGE_SIZE)
		return -EINVAL;
	r = guest_kernel_get_pte(k, va, &pte);
	if (r == -ENOENT || (!r && !(pte & GK_PTE_P)))
		return -EINVAL;
	if (r)
		return r;
	pa = (pte & GK_PTE_ADDR) + va % GK_PAGE_SIZE;
	if (k->heki_protect)
		return gk_text_poke_hypercall(k, pa, bytes, len);
	return gk_text_poke_alias(k, pa, bytes, len);
}
