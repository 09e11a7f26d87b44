/* SPDX-License-Identifier: MIT */
/*
 * The public surface: struct mv_machine, and the mv_* entry points that
 * forward to the layers. Creating a machine initialises each layer
 * explicitly, bottom up: hardware, then kernel (later layers such as KVM
 * register their devices here).
 */
#include <stdlib.h>
#include <string.h>

#include <memvisor/memvisor.h>

#include "api/api.h"
#include "hw/mte.h"
#include "lib/alloc.h"

#define MV_DEFAULT_RAM (1ull << 30)
#define MV_DEFAULT_EPC (64ull << 20)

MV_API const char *mv_version(void)
{
	return MV_VERSION_STRING;
}

static int mv_config_check(const struct mv_machine_config *cfg, struct hw_machine_config *hc)
{
	memset(hc, 0, sizeof(*hc));
	hc->ram_bytes = cfg->ram_bytes ? cfg->ram_bytes : MV_DEFAULT_RAM;
	if (cfg->features_off & ~MV_FEAT_ALL)
		return -EINVAL;
	hc->features = MV_FEAT_ALL & ~cfg->features_off;
	hc->epc_bytes = cfg->epc_bytes ? cfg->epc_bytes : MV_DEFAULT_EPC;
	if (hc->epc_bytes % HW_PAGE_SIZE)
		return -EINVAL;
	if (cfg->abi != MV_ABI_MAINLINE && cfg->abi != MV_ABI_SEED)
		return -EINVAL;
	hc->abi = cfg->abi;
	hc->seed = cfg->seed;
	if (cfg->resident_cap_bytes == MV_RESIDENT_CAP_NONE)
		hc->resident_cap_bytes = 0;
	else if (cfg->resident_cap_bytes)
		hc->resident_cap_bytes = cfg->resident_cap_bytes;
	else
		hc->resident_cap_bytes = MV_RESIDENT_CAP_DEFAULT;
	return 0;
}

MV_API int mv_machine_create(const struct mv_machine_config *cfg, struct mv_machine **out)
{
	static const struct mv_machine_config defaults;
	struct hw_machine_config hc;
	struct mv_machine *m;
	int ret;

	if (!out)
		return -EINVAL;
	ret = mv_config_check(cfg ? cfg : &defaults, &hc);
	if (ret)
		return ret;
	m = lib_zalloc(sizeof(*m));
	if (!m)
		return -ENOMEM;
	ret = hw_machine_init(&m->hw, &hc);
	if (ret)
		goto err_free;
	ret = kernel_init(&m->kernel, &m->hw);
	if (ret)
		goto err_hw;
	ret = kvm_init(&m->kvm, &m->kernel);
	if (ret)
		goto err_kernel;
	*out = m;
	return 0;

err_kernel:
	kernel_fini(&m->kernel);
err_hw:
	hw_machine_fini(&m->hw);
err_free:
	lib_free(m);
	return ret;
}

MV_API void mv_machine_destroy(struct mv_machine *m)
{
	if (!m)
		return;
	kvm_fini(&m->kvm);
	kernel_fini(&m->kernel);
	hw_machine_fini(&m->hw);
	lib_free(m);
}

MV_API void mv_machine_set_trace(struct mv_machine *m, mv_trace_sink sink, void *ctx)
{
	lib_trace_set_sink(&m->hw.trace, sink, ctx);
}

MV_API void mv_machine_get_stats(struct mv_machine *m, struct mv_machine_stats *out)
{
	struct hw_host_usage host;
	struct mv_task *t;

	memset(out, 0, sizeof(*out));
	out->ram_bytes = m->hw.phys.bytes;
	out->frames_total = m->hw.phys.nr_frames;
	out->frames_free = hw_phys_free_frames(&m->hw);
	out->frame_meta_bytes = sizeof(struct hw_frame);
	mv_sgx_get_stats(m, out);
	out->page_faults = __atomic_load_n(&m->kernel.nr_page_faults, __ATOMIC_RELAXED);
	hw_phys_host_usage(&m->hw, &host);
	out->host_resident_bytes = host.ram_resident_bytes + host.meta_resident_bytes;
	out->host_free_kept_bytes = host.free_kept_bytes;
	out->frame_tag_bytes = hw_mte_present(&m->hw) ? HW_MTE_BYTES_PER_PAGE : 0;
	out->host_tag_resident_bytes = host.tag_resident_bytes;
	out->host_returned_blocks = __atomic_load_n(&m->hw.phys.returned_blocks, __ATOMIC_RELAXED);
	out->pgtable_bytes = __atomic_load_n(&m->hw.nr_pgtables, __ATOMIC_RELAXED) << HW_PAGE_SHIFT;
	pthread_mutex_lock(&m->kernel.lock);
	lib_list_for_each_entry(t, &m->kernel.tasks, link) {
		out->tlb_hits += READ_ONCE(t->cpu.tlb.stats.hits);
		out->tlb_misses += READ_ONCE(t->cpu.tlb.stats.misses);
		out->tlb_flushes += READ_ONCE(t->cpu.tlb.stats.flushes);
	}
	pthread_mutex_unlock(&m->kernel.lock);
}

struct kernel *mv_machine_kernel(struct mv_machine *m)
{
	return &m->kernel;
}

/* ---- tasks ---- */

MV_API int mv_task_spawn(struct mv_machine *m, struct mv_task **out)
{
	if (!m || !out)
		return -EINVAL;
	return task_spawn(&m->kernel, out);
}

MV_API long mv_task_clone(struct mv_task *t, unsigned long clone_flags, struct mv_task **out)
{
	if (!t || !out)
		return -EINVAL;
	return task_clone(t, clone_flags, out);
}

MV_API void mv_task_exit(struct mv_task *t)
{
	if (t)
		task_exit(t);
}

MV_API int mv_task_pid(const struct mv_task *t)
{
	return t->pid;
}

MV_API long mv_syscall(struct mv_task *t, long nr, uint64_t a0, uint64_t a1, uint64_t a2,
		       uint64_t a3, uint64_t a4, uint64_t a5)
{
	const uint64_t a[6] = { a0, a1, a2, a3, a4, a5 };

	return kernel_syscall(t, nr, a);
}

MV_API long mv_user_read(struct mv_task *t, uint64_t uaddr, void *buf, size_t len)
{
	return uaccess_read(t, uaddr, buf, len);
}

MV_API long mv_user_write(struct mv_task *t, uint64_t uaddr, const void *buf, size_t len)
{
	return uaccess_write(t, uaddr, buf, len);
}

MV_API int mv_task_take_signal(struct mv_task *t, struct mv_siginfo *out)
{
	return task_take_signal(t, out);
}

MV_API long mv_cpu_get_reg(struct mv_task *t, int reg, uint64_t *value)
{
	switch (reg) {
	case MV_REG_RIP:
		*value = t->cpu.rip;
		return 0;
	case MV_REG_RSP:
		*value = t->cpu.rsp;
		return 0;
	case MV_REG_SSP:
		*value = t->cpu.ssp;
		return 0;
	default:
		return -EINVAL;
	}
}

MV_API long mv_cpu_set_reg(struct mv_task *t, int reg, uint64_t value)
{
	switch (reg) {
	case MV_REG_RIP:
		t->cpu.rip = value;
		return 0;
	case MV_REG_RSP:
		t->cpu.rsp = value;
		return 0;
	case MV_REG_SSP:
		return -EPERM;   /* only the shadow-stack instructions move SSP */
	default:
		return -EINVAL;
	}
}
