/* SPDX-License-Identifier: MIT */
/*
 * The machine as a whole: configuration checks, bring-up and tear-down of
 * RAM, the trace stream and the PRNG, and the machine-wide TLB generation.
 */
#include <string.h>

#include <memvisor/memvisor.h>

#include "hw/phys.h"

#define HW_RAM_MIN (4ull << 20)
#define HW_RAM_MAX (1ull << 40)

static int hw_config_check(const struct hw_machine_config *cfg)
{
	if (cfg->ram_bytes < HW_RAM_MIN || cfg->ram_bytes > HW_RAM_MAX ||
	    cfg->ram_bytes % HW_HPAGE_SIZE)
		return -EINVAL;
	if (cfg->features & ~MV_FEAT_ALL)
		return -EINVAL;
	if (cfg->epc_bytes % HW_PAGE_SIZE)
		return -EINVAL;
	if (cfg->abi != MV_ABI_MAINLINE && cfg->abi != MV_ABI_SEED)
		return -EINVAL;
	return 0;
}

int hw_machine_init(struct hw_machine *m, const struct hw_machine_config *cfg)
{
	int ret;

	if (!m || !cfg)
		return -EINVAL;
	ret = hw_config_check(cfg);
	if (ret)
		return ret;
	memset(m, 0, sizeof(*m));
	m->cfg = *cfg;
	ret = hw_phys_init(&m->phys, cfg->ram_bytes);
	if (ret)
		return ret;
	if (pthread_mutex_init(&m->prng_lock, NULL)) {
		hw_phys_fini(&m->phys);
		return -ENOMEM;
	}
	lib_prng_seed(&m->prng, cfg->seed);
	lib_trace_init(&m->trace);
	__atomic_store_n(&m->tlb_gen, 1, __ATOMIC_RELEASE);
	return 0;
}

void hw_machine_fini(struct hw_machine *m)
{
	if (!m || !m->phys.base)
		return;
	lib_trace_destroy(&m->trace);
	pthread_mutex_destroy(&m->prng_lock);
	hw_phys_fini(&m->phys);
}

void hw_tlb_shootdown(struct hw_machine *m)
{
	__atomic_fetch_add(&m->tlb_gen, 1, __ATOMIC_ACQ_REL);
}
