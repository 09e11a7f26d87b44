/* SPDX-License-Identifier: MIT */
/* Bitmaps of unsigned long words. */
#ifndef MV_LIB_BITMAP_H
#define MV_LIB_BITMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LIB_BITS_PER_LONG (8 * sizeof(unsigned long))
#define LIB_BITMAP_LONGS(nbits) (((nbits) + LIB_BITS_PER_LONG - 1) / LIB_BITS_PER_LONG)

static inline bool lib_bit_test(const unsigned long *map, size_t bit)
{
	return (map[bit / LIB_BITS_PER_LONG] >> (bit % LIB_BITS_PER_LONG)) & 1;
}
static inline void lib_bit_set(unsigned long *map, size_t bit)
{
	map[bit / LIB_BITS_PER_LONG] |= 1ul << (bit % LIB_BITS_PER_LONG);
}
static inline void lib_bit_clear(unsigned long *map, size_t bit)
{
	map[bit / LIB_BITS_PER_LONG] &= ~(1ul << (bit % LIB_BITS_PER_LONG));
}

/* Sets / clears bits [start, start + len). */
void lib_bitmap_set(unsigned long *map, size_t start, size_t len);
void lib_bitmap_clear(unsigned long *map, size_t start, size_t len);
/* First set (zero) bit at or after @start, or @nbits if none. */
size_t lib_bitmap_find_next(const unsigned long *map, size_t nbits, size_t start);
size_t lib_bitmap_find_next_zero(const unsigned long *map, size_t nbits, size_t start);
/*
 * First word at or after @w that is not zero, or @nwords: each word read
 * once with READ_ONCE, for maps others set bits in concurrently (the dirty
 * log, as find_next_bit serves kvm_get_dirty_log_protect's loop).
 */
size_t lib_bitmap_next_word_once(const unsigned long *map, size_t nwords, size_t w);
/* Number of set bits in [0, nbits). */
size_t lib_bitmap_weight(const unsigned long *map, size_t nbits);
/* First run of @len zero bits at or after @start, or @nbits if none. */
size_t lib_bitmap_find_zero_area(const unsigned long *map, size_t nbits, size_t start,
				 size_t len);

#endif
