/* SPDX-License-Identifier: MIT */
/* The machine behind the public handle, for the layers' own tools and tests. */
#ifndef MV_API_API_H
#define MV_API_API_H

#include <memvisor/memvisor.h>

#include "hw/phys.h"
#include "kernel/kernel.h"
#include "kvm/kvm.h"

struct mv_machine {
	struct hw_machine hw;
	struct kernel kernel;
	struct kvm_subsys kvm;
};

struct kernel *mv_machine_kernel(struct mv_machine *m);
/* The SGX fields of mv_machine_get_stats (api/sgx.c). */
void mv_sgx_get_stats(struct mv_machine *m, struct mv_machine_stats *out);

#endif
