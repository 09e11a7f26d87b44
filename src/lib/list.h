/* SPDX-License-Identifier: MIT */
/* Intrusive doubly linked lists: the node lives inside the object. */
#ifndef MV_LIB_LIST_H
#define MV_LIB_LIST_H

#include <stdbool.h>
#include <stddef.h>

#define lib_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

struct lib_list {
	struct lib_list *next, *prev;
};

#define LIB_LIST_INIT(name) { &(name), &(name) }

static inline void lib_list_init(struct lib_list *h)
{
	h->next = h;
	h->prev = h;
}

static inline bool lib_list_empty(const struct lib_list *h)
{
	return h->next == h;
}

static inline void lib_list_insert__(struct lib_list *n, struct lib_list *prev,
				     struct lib_list *next)
{
	next->prev = n;
	n->next = next;
	n->prev = prev;
	prev->next = n;
}

static inline void lib_list_add(struct lib_list *n, struct lib_list *head)
{
	lib_list_insert__(n, head, head->next);
}

static inline void lib_list_add_tail(struct lib_list *n, struct lib_list *head)
{
	lib_list_insert__(n, head->prev, head);
}

/* Unlinks @n and leaves it pointing at itself, so a second del is harmless. */
static inline void lib_list_del(struct lib_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	lib_list_init(n);
}

#define lib_list_entry(ptr, type, member) lib_container_of(ptr, type, member)
#define lib_list_first_entry(head, type, member) \
	lib_list_entry((head)->next, type, member)

#define lib_list_for_each_entry(pos, head, member)                              \
	for (pos = lib_list_entry((head)->next, __typeof__(*pos), member);       \
	     &pos->member != (head);                                             \
	     pos = lib_list_entry(pos->member.next, __typeof__(*pos), member))

#define lib_list_for_each_entry_safe(pos, tmp, head, member)                    \
	for (pos = lib_list_entry((head)->next, __typeof__(*pos), member),       \
	     tmp = lib_list_entry(pos->member.next, __typeof__(*pos), member);   \
	     &pos->member != (head);                                             \
	     pos = tmp, tmp = lib_list_entry(tmp->member.next, __typeof__(*pos), member))

#endif
