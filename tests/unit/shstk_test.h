/* SPDX-License-Identifier: MIT */
/* Helpers shared by the shadow-stack tests (header only: each test is one executable). */
#ifndef MV_TESTS_SHSTK_TEST_H
#define MV_TESTS_SHSTK_TEST_H

#include <stdbool.h>

#include "mvtest.h"

#define PG 4096ull
#define SZ_4G (1ull << 32)
#define TASK_SIZE 0x00007ffffffff000ull
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

/* A machine built from @features_off and @abi, and one task on it. */
static inline struct mv_task *shtest_task(struct mv_machine **m, uint64_t features_off,
					  uint32_t abi)
{
	struct mv_machine_config cfg = {
		.ram_bytes = 64ull << 20, .features_off = features_off, .abi = abi,
	};
	struct mv_task *t = NULL;

	assert_int_equal(mv_machine_create(&cfg, m), 0);
	assert_int_equal(mv_task_spawn(*m, &t), 0);
	return t;
}

static inline long shtest_prctl(struct mv_task *t, long option, uint64_t arg)
{
	return MVTEST_SYSCALL(t, MV_SYS_arch_prctl, option, arg);
}

static inline void shtest_enable(struct mv_task *t, uint64_t feature)
{
	assert_int_equal(shtest_prctl(t, ARCH_SHSTK_ENABLE, feature), 0);
}

static inline uint64_t shtest_status(struct mv_task *t)
{
	uint64_t features = ~0ull;

	assert_int_equal(shtest_prctl(t, ARCH_SHSTK_STATUS, (uint64_t)(uintptr_t)&features), 0);
	return features;
}

/* map_shadow_stack(@addr, @size, @flags), which must succeed. */
static inline uint64_t shtest_map(struct mv_task *t, uint64_t addr, uint64_t size,
				  uint64_t flags)
{
	long r = MVTEST_SYSCALL(t, MV_SYS_map_shadow_stack, addr, size, flags);

	assert_true(r > 0);
	return (uint64_t)r;
}

static inline uint64_t shtest_mmap(struct mv_task *t, uint64_t addr, uint64_t len, uint64_t prot,
				   uint64_t flags)
{
	long r = MVTEST_SYSCALL(t, MV_SYS_mmap, addr, len, prot, flags, -1, 0);

	assert_true(r > 0);
	return (uint64_t)r;
}

static inline uint64_t shtest_read64(struct mv_task *t, uint64_t va)
{
	uint64_t v = 0;

	assert_int_equal(mv_user_read(t, va, &v, sizeof(v)), 0);
	return v;
}

static inline uint64_t shtest_reg(struct mv_task *t, int reg)
{
	uint64_t v = 0;

	assert_int_equal(mv_cpu_get_reg(t, reg, &v), 0);
	return v;
}

/* Reads through GUP, as a debugger would: sees shadow-stack memory too. */
static inline uint64_t shtest_peek(struct mv_task *t, uint64_t va)
{
	uint64_t v = 0;

	assert_int_equal(mv_task_access_remote(t, va, &v, sizeof(v), MV_REMOTE_FORCE), 8);
	return v;
}

#endif
