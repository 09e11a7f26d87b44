/* SPDX-License-Identifier: MIT */
/* Bitmap range operations, a word at a time. */
#include "lib/bitmap.h"
#include "lib/compiler.h"

#define LIB_BITMAP_WORD(bit) ((bit) / LIB_BITS_PER_LONG)

/* Mask of bits [bit % BPL, BPL) in a word. */
static unsigned long lib_bitmap_mask_from(size_t bit)
{
	return ~0ul << (bit % LIB_BITS_PER_LONG);
}

/* Mask of bits [0, end % BPL) in a word; all ones when end is word aligned. */
static unsigned long lib_bitmap_mask_below(size_t end)
{
	unsigned int r = end % LIB_BITS_PER_LONG;

	return r ? ~0ul >> (LIB_BITS_PER_LONG - r) : ~0ul;
}

/* Applies @set to [start, start + len): one partial word at each end at most. */
static void lib_bitmap_fill(unsigned long *map, size_t start, size_t len, bool set)
{
	size_t end = start + len, w, last;
	unsigned long mask;

	if (!len)
		return;
	w = LIB_BITMAP_WORD(start);
	last = LIB_BITMAP_WORD(end - 1);
	for (; w <= last; w++) {
		mask = ~0ul;
		if (w == LIB_BITMAP_WORD(start))
			mask &= lib_bitmap_mask_from(start);
		if (w == last)
			mask &= lib_bitmap_mask_below(end);
		if (set)
			map[w] |= mask;
		else
			map[w] &= ~mask;
	}
}

void lib_bitmap_set(unsigned long *map, size_t start, size_t len)
{
	lib_bitmap_fill(map, start, len, true);
}

void lib_bitmap_clear(unsigned long *map, size_t start, size_t len)
{
	lib_bitmap_fill(map, start, len, false);
}

/* First bit at or after @start equal to 1 after XOR with @invert. */
static size_t lib_bitmap_scan(const unsigned long *map, size_t nbits, size_t start,
			      unsigned long invert)
{
	size_t w, nwords;
	unsigned long word;

	if (start >= nbits)
		return nbits;
	nwords = LIB_BITMAP_LONGS(nbits);
	w = LIB_BITMAP_WORD(start);
	word = (map[w] ^ invert) & lib_bitmap_mask_from(start);
	for (;;) {
		if (word) {
			size_t bit = w * LIB_BITS_PER_LONG + (size_t)__builtin_ctzl(word);

			return bit < nbits ? bit : nbits;
		}
		if (++w >= nwords)
			return nbits;
		word = map[w] ^ invert;
	}
}

size_t lib_bitmap_find_next(const unsigned long *map, size_t nbits, size_t start)
{
	return lib_bitmap_scan(map, nbits, start, 0);
}

size_t lib_bitmap_find_next_zero(const unsigned long *map, size_t nbits, size_t start)
{
	return lib_bitmap_scan(map, nbits, start, ~0ul);
}

size_t lib_bitmap_next_word_once(const unsigned long *map, size_t nwords, size_t w)
{
	while (w < nwords && !READ_ONCE(map[w]))
		w++;
	return w < nwords ? w : nwords;
}

size_t lib_bitmap_weight(const unsigned long *map, size_t nbits)
{
	size_t w, full = nbits / LIB_BITS_PER_LONG, n = 0;

	for (w = 0; w < full; w++)
		n += (size_t)__builtin_popcountl(map[w]);
	if (nbits % LIB_BITS_PER_LONG)
		n += (size_t)__builtin_popcountl(map[full] & lib_bitmap_mask_below(nbits));
	return n;
}

size_t lib_bitmap_find_zero_area(const unsigned long *map, size_t nbits, size_t start,
				 size_t len)
{
	size_t s, busy;

	if (start > nbits)
		return nbits;
	if (!len)
		return start;
	for (;;) {
		s = lib_bitmap_find_next_zero(map, nbits, start);
		if (s >= nbits || len > nbits - s)
			return nbits;
		/* A set bit inside [s, s + len) means the run must start after it. */
		busy = lib_bitmap_find_next(map, s + len, s);
		if (busy == s + len)
			return s;
		start = busy + 1;
	}
}
