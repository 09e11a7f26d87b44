/* SPDX-License-Identifier: MIT */
/*
 * Coalesced MMIO (virt/kvm/coalesced_mmio.c): the VMM registers zones of
 * guest-physical space whose writes it does not need to see at once; a
 * guest write that lies wholly inside one is appended to a ring instead of
 * exiting, and the VMM drains the ring when it next runs. The ring is one
 * page per VM, shared by every vCPU: each vCPU fd shows it at page
 * KVM_COALESCED_MMIO_PAGE_OFFSET. Reads are never coalesced, and a full
 * ring makes the write an ordinary KVM_EXIT_MMIO.
 *
 * Zones are an immutable array published whole under slots_lock and read
 * under kvm->srcu (KVM keeps them on its MMIO and PIO buses, also read under
 * SRCU). The ring's producers, the vCPUs, serialise on kvm->ring_lock, a
 * leaf; the consumer is the VMM, which owns ring->first. The ring is
 * simulated RAM the VMM maps, so entries go in through hw_ram_write and
 * ring->last is published with a release store after them (smp_wmb in
 * Linux).
 */
#include <string.h>

#include "hw/ram.h"
#include "kvm/kvm.h"
#include "lib/alloc.h"
#include "lib/lockdep.h"

/* kvm_io_bus_register_dev(): NR_IOBUS_DEVS devices per bus. */
#define KVM_NR_IOBUS_DEVS 1000u

struct kvm_coalesced_zones {
	unsigned int nr;
	struct kvm_coalesced_mmio_zone zones[];   /* sorted by address, then size */
};

static struct kvm_coalesced_mmio_ring *kvm_coalesced_ring(struct kvm *kvm)
{
	return hw_pfn_to_host(kvm->hw, kvm->coalesced_mmio_pfn);
}

int kvm_coalesced_mmio_init(struct kvm *kvm)
{
	if (pthread_mutex_init(&kvm->ring_lock, NULL))
		return -ENOMEM;
	kvm->coalesced_zones = lib_zalloc(sizeof(struct kvm_coalesced_zones));
	if (!kvm->coalesced_zones)
		goto err_lock;
	if (hw_frames_alloc(kvm->hw, 0, HW_ALLOC_ZERO, 0, &kvm->coalesced_mmio_pfn))
		goto err_zones;
	return 0;

err_zones:
	lib_free(kvm->coalesced_zones);
err_lock:
	pthread_mutex_destroy(&kvm->ring_lock);
	return -ENOMEM;
}

void kvm_coalesced_mmio_free(struct kvm *kvm)
{
	hw_folio_put(kvm->hw, kvm->coalesced_mmio_pfn);
	lib_free(kvm->coalesced_zones);
	pthread_mutex_destroy(&kvm->ring_lock);
}

/*
 * coalesced_mmio_in_range(): [addr, addr + len) lies wholly inside @zone.
 * The length is an int there, so one above INT_MAX never fits.
 */
static bool kvm_coalesced_in_range(const struct kvm_coalesced_mmio_zone *zone, uint64_t addr,
				   uint32_t len)
{
	if ((int32_t)len < 0)
		return false;
	if (addr + len < addr)
		return false;
	return addr >= zone->addr && addr + len <= zone->addr + zone->size;
}

static int kvm_coalesced_zone_cmp(const struct kvm_coalesced_mmio_zone *a,
				  const struct kvm_coalesced_mmio_zone *b)
{
	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	return a->size < b->size ? -1 : a->size > b->size;
}

/* Makes @next the zones vCPUs see, waits for the readers of the old array, frees it. */
static void kvm_coalesced_publish_locked(struct kvm *kvm, struct kvm_coalesced_zones *next)
{
	struct kvm_coalesced_zones *old;

	lockdep_assert_held(&kvm->slots_lock);
	old = __atomic_exchange_n(&kvm->coalesced_zones, next, __ATOMIC_SEQ_CST);
	kvm_srcu_synchronize(&kvm->srcu);
	lib_free(old);
}

static unsigned int kvm_coalesced_count(const struct kvm_coalesced_zones *z, uint32_t pio)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < z->nr; i++)
		n += z->zones[i].pio == pio;
	return n;
}

/*
 * KVM_REGISTER_COALESCED_MMIO (kvm_vm_ioctl_register_coalesced_mmio): pio
 * must be 0 (MMIO bus) or 1 (PIO bus), -EINVAL; a bus holds at most
 * NR_IOBUS_DEVS devices, -ENOSPC. Zones may overlap and may be empty.
 */
long kvm_vm_ioctl_register_coalesced_mmio(struct kvm *kvm, const struct kvm_coalesced_mmio_zone *zone)
{
	struct kvm_coalesced_zones *cur, *next;
	unsigned int i, n = 0;

	if (zone->pio != 1 && zone->pio != 0)
		return -EINVAL;
	pthread_mutex_lock(&kvm->slots_lock);
	cur = kvm->coalesced_zones;
	if (kvm_coalesced_count(cur, zone->pio) > KVM_NR_IOBUS_DEVS - 1) {
		pthread_mutex_unlock(&kvm->slots_lock);
		return -ENOSPC;
	}
	next = lib_malloc(sizeof(*next) + (cur->nr + 1) * sizeof(next->zones[0]));
	if (!next) {
		pthread_mutex_unlock(&kvm->slots_lock);
		return -ENOMEM;
	}
	for (i = 0; i < cur->nr && kvm_coalesced_zone_cmp(&cur->zones[i], zone) <= 0; i++)
		next->zones[n++] = cur->zones[i];
	next->zones[n++] = *zone;
	for (; i < cur->nr; i++)
		next->zones[n++] = cur->zones[i];
	next->nr = n;
	kvm_coalesced_publish_locked(kvm, next);
	pthread_mutex_unlock(&kvm->slots_lock);
	return 0;
}

/*
 * KVM_UNREGISTER_COALESCED_MMIO: removes every zone of the same bus that
 * contains the given range, and answers 0 even when none does (Linux
 * ignores what unregistering returned). pio other than 0 or 1: -EINVAL.
 */
long kvm_vm_ioctl_unregister_coalesced_mmio(struct kvm *kvm,
					    const struct kvm_coalesced_mmio_zone *zone)
{
	struct kvm_coalesced_zones *cur, *next;
	unsigned int n = 0;

	if (zone->pio != 1 && zone->pio != 0)
		return -EINVAL;
	pthread_mutex_lock(&kvm->slots_lock);
	cur = kvm->coalesced_zones;
	next = lib_malloc(sizeof(*next) + cur->nr * sizeof(next->zones[0]));
	if (!next) {
		pthread_mutex_unlock(&kvm->slots_lock);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < cur->nr; i++) {
		const struct kvm_coalesced_mmio_zone *z = &cur->zones[i];

		if (!(z->pio == zone->pio && kvm_coalesced_in_range(z, zone->addr, zone->size)))
			next->zones[n++] = *z;
	}
	next->nr = n;
	if (n == cur->nr)
		lib_free(next);
	else
		kvm_coalesced_publish_locked(kvm, next);
	pthread_mutex_unlock(&kvm->slots_lock);
	return 0;
}

/* coalesced_mmio_write(): append to the ring unless it is full. Under ring_lock. */
static bool kvm_coalesced_append_locked(struct kvm *kvm, uint64_t addr, uint32_t len,
					const void *val, uint32_t pio)
{
	struct kvm_coalesced_mmio_ring *ring = kvm_coalesced_ring(kvm);
	uint32_t insert = __atomic_load_n(&ring->last, __ATOMIC_RELAXED);
	uint32_t first = __atomic_load_n(&ring->first, __ATOMIC_ACQUIRE);
	struct kvm_coalesced_mmio e = { .phys_addr = addr, .len = len, .pio = pio };

	lockdep_assert_held(&kvm->ring_lock);
	/* the VMM owns the page: a last it scribbled on is as full as a full ring */
	if (insert >= KVM_COALESCED_RING_MAX || (insert + 1) % KVM_COALESCED_RING_MAX == first)
		return false;
	memcpy(e.data, val, len);
	hw_ram_write(&ring->coalesced_mmio[insert], &e, sizeof(e));
	__atomic_store_n(&ring->last, (insert + 1) % KVM_COALESCED_RING_MAX, __ATOMIC_RELEASE);
	return true;
}

/*
 * A guest write of @len (1..8) bytes at @gpa on the MMIO bus: true when a
 * zone took it (kvm_io_bus_write() found a device), false when it must go
 * to the VMM as KVM_EXIT_MMIO. Called by the vCPU, without locks.
 */
bool kvm_coalesced_mmio_write(struct kvm *kvm, uint64_t gpa, uint32_t len, const void *val)
{
	int idx = kvm_srcu_read_lock(&kvm->srcu);
	const struct kvm_coalesced_zones *z = __atomic_load_n(&kvm->coalesced_zones,
							       __ATOMIC_SEQ_CST);
	bool done = false;

	for (unsigned int i = 0; i < z->nr && !done; i++) {
		if (z->zones[i].pio || !kvm_coalesced_in_range(&z->zones[i], gpa, len))
			continue;
		pthread_mutex_lock(&kvm->ring_lock);
		done = kvm_coalesced_append_locked(kvm, gpa, len, val, 0);
		pthread_mutex_unlock(&kvm->ring_lock);
		if (!done)
			break;   /* full: every zone would say the same */
	}
	kvm_srcu_read_unlock(&kvm->srcu, idx);
	return done;
}
