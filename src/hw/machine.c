/* SPDX-License-Identifier: MIT */
/*
 * The machine as a whole: configuration checks, bring-up and tear-down of
 * RAM, the trace stream and the PRNG, and the machine-wide TLB generation.
 */
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <memvisor/memvisor.h>

#include "hw/cpu.h"
#include "hw/mte.h"
#include "hw/phys.h"
#include "hw/sgx.h"

/*
 * ThreadSanitizer does not model membarrier, so sanitizer builds keep the
 * symmetric seq_cst bracket protocol.
 */
#if defined(__SANITIZE_THREAD__)
#define HW_NO_ASYM_FENCE 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HW_NO_ASYM_FENCE 1
#endif
#endif

#define HW_MEMBARRIER_PRIVATE_EXPEDITED          (1 << 3)
#define HW_MEMBARRIER_REGISTER_PRIVATE_EXPEDITED (1 << 4)

/* Registers this process for expedited private membarrier (idempotent). */
static bool hw_asym_fence_setup(void)
{
#if defined(SYS_membarrier) && !defined(HW_NO_ASYM_FENCE)
	return syscall(SYS_membarrier, HW_MEMBARRIER_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
#else
	return false;
#endif
}

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
	uint64_t epc_bytes;
	int ret;

	if (!m || !cfg)
		return -EINVAL;
	ret = hw_config_check(cfg);
	if (ret)
		return ret;
	memset(m, 0, sizeof(*m));
	m->cfg = *cfg;
	epc_bytes = hw_has(m, MV_FEAT_SGX) ? cfg->epc_bytes : 0;
	ret = hw_phys_init(&m->phys, cfg->ram_bytes, epc_bytes, cfg->resident_cap_bytes);
	if (ret)
		return ret;
	if (pthread_mutex_init(&m->prng_lock, NULL)) {
		hw_phys_fini(&m->phys);
		return -ENOMEM;
	}
	if (pthread_mutex_init(&m->cpus_lock, NULL)) {
		pthread_mutex_destroy(&m->prng_lock);
		hw_phys_fini(&m->phys);
		return -ENOMEM;
	}
	ret = hw_mte_init(m);
	if (ret) {
		pthread_mutex_destroy(&m->cpus_lock);
		pthread_mutex_destroy(&m->prng_lock);
		hw_phys_fini(&m->phys);
		return ret;
	}
	lib_list_init(&m->cpus);
	m->asym_fence = hw_asym_fence_setup();
	lib_prng_seed(&m->prng, cfg->seed);
	ret = hw_epc_init(m, epc_bytes);
	if (ret) {
		hw_mte_fini(m);
		pthread_mutex_destroy(&m->cpus_lock);
		pthread_mutex_destroy(&m->prng_lock);
		hw_phys_fini(&m->phys);
		return ret;
	}
	lib_trace_init(&m->trace);
	__atomic_store_n(&m->tlb_gen, 1, __ATOMIC_RELEASE);
	return 0;
}

void hw_machine_fini(struct hw_machine *m)
{
	if (!m || !m->phys.base)
		return;
	lib_trace_destroy(&m->trace);
	pthread_mutex_destroy(&m->cpus_lock);
	pthread_mutex_destroy(&m->prng_lock);
	hw_epc_fini(m);
	hw_mte_fini(m);
	hw_phys_fini(&m->phys);
}

void hw_tlb_shootdown(struct hw_machine *m)
{
	__atomic_fetch_add(&m->tlb_gen, 1, __ATOMIC_ACQ_REL);
}

void hw_fence_heavy(struct hw_machine *m)
{
	/*
	 * Either we see a CPU's bracket open, or it sees the new generation
	 * and flushes. With membarrier, the heavy barrier orders every CPU's
	 * plain "open" store before our loads; without it, a seq_cst
	 * read-modify-write of the generation here and a seq_cst store plus
	 * load on the CPU side do the same.
	 */
#if defined(SYS_membarrier)
	if (m->asym_fence) {
		syscall(SYS_membarrier, HW_MEMBARRIER_PRIVATE_EXPEDITED, 0, 0);
		return;
	}
#endif
	__atomic_fetch_add(&m->tlb_gen, 0, __ATOMIC_SEQ_CST);
}

void hw_cpu_wait_access(struct hw_cpu *cpu)
{
	uint64_t seq = __atomic_load_n(&cpu->access_seq, __ATOMIC_SEQ_CST);

	if (!(seq & 1))
		return;
	/*
	 * The inline fast path opens every bracket with the same value, so a
	 * vCPU hammering it may show @seq again in a later bracket. One that
	 * has re-armed fast.tlb since the caller's kill has left the bracket
	 * we saw: re-arming happens only outside inline brackets (hw/cpu.h,
	 * hw_tlb_fast_kill). A CPU never armed keeps it dead.
	 */
	while (__atomic_load_n(&cpu->access_seq, __ATOMIC_ACQUIRE) == seq &&
	       __atomic_load_n(&cpu->fast.tlb, __ATOMIC_ACQUIRE) == (const void *)hw_tlb_dead)
		sched_yield();
}

void hw_tlb_shootdown_sync(struct hw_machine *m, uint64_t as_tag)
{
	struct hw_cpu *cpu;

	hw_tlb_shootdown(m);
	hw_fence_heavy(m);
	pthread_mutex_lock(&m->cpus_lock);
	lib_list_for_each_entry(cpu, &m->cpus, cpu_link)
		if (!as_tag || cpu->as_tag == as_tag)
			hw_cpu_wait_access(cpu);
	pthread_mutex_unlock(&m->cpus_lock);
}

void hw_cpu_register(struct hw_cpu *cpu, uint64_t as_tag)
{
	pthread_mutex_lock(&cpu->m->cpus_lock);
	cpu->as_tag = as_tag;
	lib_list_add_tail(&cpu->cpu_link, &cpu->m->cpus);
	cpu->registered = true;
	pthread_mutex_unlock(&cpu->m->cpus_lock);
}

void hw_cpu_unregister(struct hw_cpu *cpu)
{
	if (!cpu->registered)
		return;
	pthread_mutex_lock(&cpu->m->cpus_lock);
	lib_list_del(&cpu->cpu_link);
	cpu->registered = false;
	pthread_mutex_unlock(&cpu->m->cpus_lock);
}
