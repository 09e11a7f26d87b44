/* SPDX-License-Identifier: MIT */
/*
 * MTE allocation tags: storage, the per-frame tagged flag and the tag
 * check (the rules are in hw/mte.h).
 */
#include <sched.h>
#include <string.h>
#include <sys/mman.h>

#include <memvisor/memvisor.h>

#include "hw/mte.h"

static size_t hw_mte_bytes(const struct hw_machine *m)
{
	return (size_t)m->phys.nr_frames * HW_MTE_BYTES_PER_PAGE;
}

int hw_mte_init(struct hw_machine *m)
{
	void *p;

	if (!hw_has(m, MV_FEAT_MTE))
		return 0;
	p = mmap(NULL, hw_mte_bytes(m), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	m->mte_tags = p;
	return 0;
}

void hw_mte_fini(struct hw_machine *m)
{
	if (!m->mte_tags)
		return;
	munmap(m->mte_tags, hw_mte_bytes(m));
	m->mte_tags = NULL;
}

/* The word holding the tag of granule @pa, and the tag's shift in it. */
static uint64_t *hw_mte_word(const struct hw_machine *m, uint64_t pa, unsigned int *shift)
{
	uint64_t granule = pa / HW_MTE_GRANULE;

	*shift = (unsigned int)(granule % 16) * 4;
	return &m->mte_tags[granule / 16];
}

static uint64_t *hw_mte_page_words(const struct hw_machine *m, hw_pfn_t pfn)
{
	return &m->mte_tags[pfn * HW_MTE_WORDS_PER_PAGE];
}

unsigned int hw_mte_get_tag(const struct hw_machine *m, uint64_t pa)
{
	unsigned int shift;
	const uint64_t *w;

	if (!m->mte_tags || pa >= m->phys.bytes)
		return 0;
	w = hw_mte_word(m, pa, &shift);
	return (unsigned int)(__atomic_load_n(w, __ATOMIC_RELAXED) >> shift) & HW_MTE_TAG_MASK;
}

void hw_mte_set_tag(struct hw_machine *m, uint64_t pa, unsigned int tag)
{
	unsigned int shift;
	uint64_t *w, old, want;

	if (!m->mte_tags || pa >= m->phys.bytes)
		return;
	w = hw_mte_word(m, pa, &shift);
	old = __atomic_load_n(w, __ATOMIC_RELAXED);
	do {
		want = (old & ~(0xfull << shift)) | ((uint64_t)(tag & HW_MTE_TAG_MASK) << shift);
	} while (!__atomic_compare_exchange_n(w, &old, want, true, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
}

void hw_mte_clear_page(struct hw_machine *m, hw_pfn_t pfn)
{
	uint64_t *w;

	if (!m->mte_tags)
		return;
	w = hw_mte_page_words(m, pfn);
	for (unsigned int i = 0; i < HW_MTE_WORDS_PER_PAGE; i++)
		__atomic_store_n(&w[i], 0, __ATOMIC_RELAXED);
}

void hw_mte_read_page(const struct hw_machine *m, hw_pfn_t pfn, uint8_t tags[HW_MTE_TAGS_PER_PAGE])
{
	const uint64_t *w;

	if (!m->mte_tags) {
		memset(tags, 0, HW_MTE_TAGS_PER_PAGE);
		return;
	}
	w = hw_mte_page_words(m, pfn);
	for (unsigned int i = 0; i < HW_MTE_WORDS_PER_PAGE; i++) {
		uint64_t v = __atomic_load_n(&w[i], __ATOMIC_RELAXED);

		for (unsigned int j = 0; j < 16; j++, v >>= 4)
			tags[i * 16 + j] = (uint8_t)(v & HW_MTE_TAG_MASK);
	}
}

void hw_mte_write_page(struct hw_machine *m, hw_pfn_t pfn, const uint8_t tags[HW_MTE_TAGS_PER_PAGE])
{
	uint64_t *w;

	if (!m->mte_tags)
		return;
	w = hw_mte_page_words(m, pfn);
	for (unsigned int i = 0; i < HW_MTE_WORDS_PER_PAGE; i++) {
		uint64_t v = 0;

		for (unsigned int j = 0; j < 16; j++)
			v |= (uint64_t)(tags[i * 16 + j] & HW_MTE_TAG_MASK) << (4 * j);
		__atomic_store_n(&w[i], v, __ATOMIC_RELAXED);
	}
}

/* ---- PG_mte_tagged / PG_mte_lock ---- */

bool hw_mte_page_tagged(const struct hw_machine *m, hw_pfn_t pfn)
{
	return __atomic_load_n(&m->phys.frames[pfn].flags, __ATOMIC_ACQUIRE) & HW_FRAME_TAGGED;
}

bool hw_mte_try_tagging(struct hw_machine *m, hw_pfn_t pfn)
{
	uint32_t *flags = &m->phys.frames[pfn].flags;

	if (!(__atomic_fetch_or(flags, HW_FRAME_MTE_LOCK, __ATOMIC_ACQUIRE) & HW_FRAME_MTE_LOCK))
		return true;
	/* being initialised, or already: wait for the winner's release */
	while (!(__atomic_load_n(flags, __ATOMIC_ACQUIRE) & HW_FRAME_TAGGED))
		sched_yield();
	return false;
}

void hw_mte_set_tagged(struct hw_machine *m, hw_pfn_t pfn)
{
	__atomic_fetch_or(&m->phys.frames[pfn].flags, HW_FRAME_TAGGED, __ATOMIC_RELEASE);
}

bool hw_mte_sanitise_page(struct hw_machine *m, hw_pfn_t pfn)
{
	if (!m->mte_tags || hw_mte_page_tagged(m, pfn) || !hw_mte_try_tagging(m, pfn))
		return false;
	hw_mte_clear_page(m, pfn);
	hw_mte_set_tagged(m, pfn);
	return true;
}

void hw_mte_copy_page_tags(struct hw_machine *m, hw_pfn_t dst, hw_pfn_t src)
{
	const uint64_t *s;
	uint64_t *d;

	if (!m->mte_tags || !hw_mte_page_tagged(m, src))
		return;
	/* @dst is new: nobody else can be initialising it */
	if (!hw_mte_try_tagging(m, dst))
		return;
	s = hw_mte_page_words(m, src);
	d = hw_mte_page_words(m, dst);
	for (unsigned int i = 0; i < HW_MTE_WORDS_PER_PAGE; i++)
		__atomic_store_n(&d[i], __atomic_load_n(&s[i], __ATOMIC_RELAXED), __ATOMIC_RELAXED);
	hw_mte_set_tagged(m, dst);
}

/* ---- the check ---- */

void hw_cpu_set_mte(struct hw_cpu *cpu, unsigned int tcf, bool tbi)
{
	cpu->mte_tcf = (uint8_t)(tcf & 3);
	cpu->tbi = tbi;
	hw_tlb_flush_all(cpu);
}

int hw_mte_check_slow(struct hw_cpu *cpu, const struct hw_xlate *x, uint64_t va, size_t n,
		      unsigned int acc, struct hw_fault *fault)
{
	unsigned int want = hw_mte_ptr_tag(va);
	bool write = (acc & HW_ACC_TYPE_MASK) == HW_ACC_WRITE;
	uint64_t pa = x->pa & ~(uint64_t)(HW_MTE_GRANULE - 1);
	uint64_t end = x->pa + (n ? n : 1);
	unsigned int tcf = cpu->mte_tcf;
	const uint64_t *tags = cpu->m->mte_tags;

	/* the access never crosses a page, and a checked page is RAM: no bounds to test */
	for (; pa < end; pa += HW_MTE_GRANULE) {
		uint64_t g = pa / HW_MTE_GRANULE;
		uint64_t w = __atomic_load_n(&tags[g / 16], __ATOMIC_RELAXED);

		if (((w >> ((g % 16) * 4)) & HW_MTE_TAG_MASK) == want)
			continue;
		if (tcf == HW_MTE_TCF_ASYNC || (tcf == HW_MTE_TCF_ASYMM && write)) {
			cpu->mte_tfsr = true;
			return 0;
		}
		/* the first byte of the access in the mismatching granule */
		va += pa > x->pa ? pa - x->pa : 0;
		*fault = (struct hw_fault){
			.kind = HW_FAULT_MTE, .addr = va, .gla = hw_mte_untag(va),
			.error_code = write ? X86_PF_W : 0,
		};
		return -EFAULT;
	}
	return 0;
}

bool hw_mte_tlb_hit_tagged(struct hw_cpu *cpu, uint64_t va, bool write, size_t n, void **host)
{
	return hw_mte_tlb_hit_rw(cpu, va, write, n, host);
}
