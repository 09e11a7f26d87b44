/* SPDX-License-Identifier: MIT */
/*
 * Per-GFN memory attributes: a radix tree from gfn to a value entry holding
 * the attribute bits (KVM_MEMORY_ATTRIBUTE_PRIVATE, and later the Heki
 * permission bits). A gfn without an entry has no attributes. Writers take
 * attr_lock; so do readers, which keeps the tree simple (the fault path
 * reads one gfn at a time).
 *
 * KVM_SET_MEMORY_ATTRIBUTES (gmem.c) writes them; the stage-2 fault reads
 * KVM_MEMORY_ATTRIBUTE_PRIVATE to pick the guest_memfd over the VMM's page.
 */
#include <string.h>

#include "kvm/kvm.h"
#include "lib/alloc.h"

int kvm_attr_init(struct kvm *kvm)
{
	if (pthread_mutex_init(&kvm->attr_lock, NULL))
		return -ENOMEM;
	lib_radix_init(&kvm->mem_attr);
	if (kvm_heki_init(kvm)) {
		lib_radix_destroy(&kvm->mem_attr);
		pthread_mutex_destroy(&kvm->attr_lock);
		return -ENOMEM;
	}
	return 0;
}

void kvm_attr_destroy(struct kvm *kvm)
{
	kvm_heki_destroy(kvm);
	lib_radix_destroy(&kvm->mem_attr);
	pthread_mutex_destroy(&kvm->attr_lock);
}

/* The value at @gfn (0 if none) and the end of the run of equal values from it, below @end. */
static uint64_t kvm_attr_run_locked(struct kvm *kvm, uint64_t gfn, uint64_t end, uint64_t *run_end)
{
	uint64_t idx = gfn;
	void *item = lib_radix_find(&kvm->mem_attr, &idx, end - 1);
	uint64_t v;

	if (!item || idx > gfn) {   /* a hole: up to the next entry */
		*run_end = item ? idx : end;
		return 0;
	}
	v = lib_radix_value(item);
	for (idx = gfn + 1; idx < end; idx++) {
		item = lib_radix_lookup(&kvm->mem_attr, idx);
		if (!item || lib_radix_value(item) != v)
			break;
	}
	*run_end = idx;
	return v;
}

int kvm_attr_snapshot(struct kvm *kvm, uint64_t start, uint64_t end, struct kvm_attr_runs *s)
{
	int ret = 0;

	pthread_mutex_lock(&kvm->attr_lock);
	for (uint64_t g = start, e; g < end && !ret; g = e) {
		uint64_t v = kvm_attr_run_locked(kvm, g, end, &e);

		if (s->n == s->cap) {
			size_t cap = s->cap ? 2 * s->cap : 16;
			struct kvm_attr_run *r = lib_calloc(cap, sizeof(*r));

			if (!r) {
				ret = -ENOMEM;
				break;
			}
			if (s->n)
				memcpy(r, s->run, s->n * sizeof(*r));
			lib_free(s->run);
			s->run = r;
			s->cap = cap;
		}
		s->run[s->n++] = (struct kvm_attr_run){ .start = g, .end = e, .val = v };
	}
	pthread_mutex_unlock(&kvm->attr_lock);
	return ret;
}

/*
 * Puts the snapshot back. Every range was only ever given nonzero values
 * since the snapshot, so its nodes exist: storing the old values
 * allocates nothing, and the -ENOMEM the store could return cannot happen.
 */
int kvm_attr_restore(struct kvm *kvm, const struct kvm_attr_runs *s)
{
	int failed = 0;

	pthread_mutex_lock(&kvm->attr_lock);
	for (size_t i = 0; i < s->n; i++) {
		const struct kvm_attr_run *r = &s->run[i];

		failed |= lib_radix_store_range(&kvm->mem_attr, r->start, r->end - 1,
						r->val ? lib_radix_mkvalue(r->val) : NULL);
	}
	pthread_mutex_unlock(&kvm->attr_lock);
	return failed ? -ENOMEM : 0;
}

int kvm_attr_update_range(struct kvm *kvm, uint64_t start, uint64_t end, uint64_t clear,
			  uint64_t set)
{
	int ret = 0;

	if (start >= end || (set >> 62))
		return -EINVAL;
	pthread_mutex_lock(&kvm->attr_lock);
	for (uint64_t g = start, e; g < end && !ret; g = e) {
		uint64_t old = kvm_attr_run_locked(kvm, g, end, &e);
		uint64_t v = (old & ~clear) | set;

		if (v != old)
			ret = lib_radix_store_range(&kvm->mem_attr, g, e - 1,
						    v ? lib_radix_mkvalue(v) : NULL);
	}
	pthread_mutex_unlock(&kvm->attr_lock);
	return ret;
}

uint64_t kvm_attr_get(struct kvm *kvm, uint64_t gfn)
{
	void *item;

	pthread_mutex_lock(&kvm->attr_lock);
	item = lib_radix_lookup(&kvm->mem_attr, gfn);
	pthread_mutex_unlock(&kvm->attr_lock);
	return item ? lib_radix_value(item) : 0;
}

/* All-or-nothing: the radix store of a range either fully succeeds or changes nothing. */
int kvm_attr_set_range(struct kvm *kvm, uint64_t start, uint64_t end, uint64_t attrs)
{
	int ret;

	if (start >= end || (attrs >> 62))
		return -EINVAL;
	pthread_mutex_lock(&kvm->attr_lock);
	ret = lib_radix_store_range(&kvm->mem_attr, start, end - 1,
				    attrs ? lib_radix_mkvalue(attrs) : NULL);
	pthread_mutex_unlock(&kvm->attr_lock);
	return ret;
}

bool kvm_attr_range_is(struct kvm *kvm, uint64_t start, uint64_t end, uint64_t mask,
		       uint64_t attrs)
{
	bool ok = true;

	if (attrs & ~mask)
		return false;
	pthread_mutex_lock(&kvm->attr_lock);
	if (!attrs) {
		/* no entry in the range carries a masked bit */
		uint64_t idx;
		void *item;

		lib_radix_for_each(&kvm->mem_attr, idx, item, start, end - 1) {
			if (lib_radix_value(item) & mask) {
				ok = false;
				break;
			}
		}
	} else {
		for (uint64_t g = start; g < end && ok; g++) {
			void *item = lib_radix_lookup(&kvm->mem_attr, g);

			ok = item && (lib_radix_value(item) & mask) == attrs;
		}
	}
	pthread_mutex_unlock(&kvm->attr_lock);
	return ok;
}
