/* SPDX-License-Identifier: MIT */
/*
 * /dev/sgx_vepc: raw EPC for guests (Linux's arch/x86/kernel/cpu/sgx/virt.c).
 * Present only on a machine with an EPC; with abi = seed also as
 * /dev/sgx_virt_epc, the RFC's name.
 */
#ifndef MV_KERNEL_SGX_VEPC_H
#define MV_KERNEL_SGX_VEPC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct kernel;
struct file;

/*
 * The kernel's SGX state: SECS pages whose children live in another vEPC
 * when their own vEPC was released (Linux's zombie_secs_pages), retried at
 * every later release. zombie_lock covers the array; it nests inside
 * nothing but may take epc->lock.
 */
struct sgx_host {
	pthread_mutex_t zombie_lock;
	uint64_t *zombies;      /* EPC physical addresses */
	uint64_t nr_zombies, cap_zombies;
	uint64_t nr_vepc_pages; /* EPC pages held by vEPC files; atomic */
	uint64_t nr_vepc_sigbus;/* faults that found the EPC full; atomic */
	uint64_t nr_limit_denials; /* faults past a VM's EPC limit; atomic */
	uint64_t nr_evictions, nr_reloads;   /* host-side oversubscription; atomic */
};

/*
 * A per-VM EPC limit (beyond mainline; what the EPC cgroup proposal does
 * for processes): vEPC files bound to it (by a memslot, kvm/sgx.c) charge
 * one page per EPC page they hold, and a fault past the limit is SIGBUS.
 * Every field is atomic; refs counts the VM and each bound vEPC.
 */
struct sgx_epc_charge {
	uint64_t limit;         /* pages; 0: no limit */
	uint64_t usage;
	uint64_t denied;        /* faults refused by the limit */
	uint32_t refs;
	uint32_t reclaim;       /* KVM_SGX_EPC_RECLAIM: evict instead of SIGBUS */
};
struct sgx_epc_charge *sgx_epc_charge_new(void);   /* NULL: no memory */
void sgx_epc_charge_put(struct sgx_epc_charge *c);
/* 0, or -EBUSY when more than @pages are charged already. */
int sgx_epc_charge_set_limit(struct sgx_epc_charge *c, uint64_t pages);

struct vma;
/* Is @vma a mapping of a vEPC file? */
bool sgx_vepc_vma(const struct vma *vma);
/*
 * Charges the vEPC behind @vma to @c from now on, with the pages it holds
 * already. 0 (also when already bound to @c), -EBUSY (bound to another
 * VM's charge), -ENOMEM (past @c's limit).
 */
int sgx_vepc_bind(struct vma *vma, struct sgx_epc_charge *c);

/* Registers the device when the machine has an EPC. 0, or what registration returns. */
int sgx_vepc_init(struct kernel *k);
void sgx_vepc_fini(struct kernel *k);
/* SECS pages parked on the zombie list now. */
uint64_t sgx_vepc_nr_zombies(struct kernel *k);
/* The EPC page at page @index of the vEPC behind @fd: 0 and *pa, -ENOENT (not faulted in), -EBADF, -EINVAL. */
struct mv_task;
long sgx_vepc_lookup(struct mv_task *t, int fd, uint64_t index, uint64_t *pa);
/* Is @f a vEPC file? */
bool sgx_vepc_file(const struct file *f);

#endif
