/* SPDX-License-Identifier: MIT */
/* SGX figures for mv_machine_get_stats: the EPC allocator and the vEPC files. */
#include "api/api.h"
#include "hw/sgx.h"
#include "kernel/sgx_vepc.h"

void mv_sgx_get_stats(struct mv_machine *m, struct mv_machine_stats *out)
{
	struct hw_epc *epc = m->hw.epc;
	struct sgx_host *s = m->kernel.sgx;

	if (!epc)
		return;
	out->epc_pages_total = epc->nr_pages;
	out->epc_pages_free = hw_epc_nr_free(epc);
	if (!s)
		return;
	out->epc_vepc_pages = __atomic_load_n(&s->nr_vepc_pages, __ATOMIC_RELAXED);
	out->epc_sigbus = __atomic_load_n(&s->nr_vepc_sigbus, __ATOMIC_RELAXED);
	out->epc_limit_denials = __atomic_load_n(&s->nr_limit_denials, __ATOMIC_RELAXED);
	out->epc_evictions = __atomic_load_n(&s->nr_evictions, __ATOMIC_RELAXED);
	out->epc_reloads = __atomic_load_n(&s->nr_reloads, __ATOMIC_RELAXED);
	out->epc_zombie_secs = sgx_vepc_nr_zombies(&m->kernel);
}
