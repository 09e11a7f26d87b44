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
};

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
