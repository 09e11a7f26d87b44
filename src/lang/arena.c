/* SPDX-License-Identifier: MIT */
/*
 * The arena that owns a parsed program: the syntax tree, decoded strings
 * and names all live in a few large blocks freed together, so a parse that
 * fails half-way leaks nothing and needs no unwinding per node.
 */
#include <stdlib.h>
#include <string.h>

#include "lang/lang_int.h"
#include "lib/alloc.h"

#define LANG_ARENA_BLOCK 16384

struct lang_arena_block {
	struct lang_arena_block *next;
	size_t used;
	size_t size;
	_Alignas(16) unsigned char data[];
};

struct lang_arena {
	struct lang_arena_block *head;
};

struct lang_arena *lang_arena_create(void)
{
	return lib_zalloc(sizeof(struct lang_arena));
}

void lang_arena_destroy(struct lang_arena *a)
{
	struct lang_arena_block *b, *next;

	if (!a)
		return;
	for (b = a->head; b; b = next) {
		next = b->next;
		lib_free(b);
	}
	lib_free(a);
}

static struct lang_arena_block *lang_arena_grow(struct lang_arena *a, size_t size)
{
	size_t bytes = size > LANG_ARENA_BLOCK ? size : LANG_ARENA_BLOCK;
	struct lang_arena_block *b;

	if (bytes > SIZE_MAX / 2)
		return NULL;
	b = lib_zalloc(sizeof(*b) + bytes);
	if (!b)
		return NULL;
	b->size = bytes;
	b->next = a->head;
	a->head = b;
	return b;
}

void *lang_arena_alloc(struct lang_arena *a, size_t size)
{
	struct lang_arena_block *b = a->head;
	size_t need = (size + 15) & ~(size_t)15;
	void *p;

	if (need < size)
		return NULL;
	if (!b || b->size - b->used < need) {
		b = lang_arena_grow(a, need);
		if (!b)
			return NULL;
	}
	p = b->data + b->used;
	b->used += need;
	memset(p, 0, size);
	return p;
}

char *lang_arena_strndup(struct lang_arena *a, const char *s, size_t n)
{
	char *p = lang_arena_alloc(a, n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}
