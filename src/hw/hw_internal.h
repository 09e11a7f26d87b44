/* SPDX-License-Identifier: MIT */
/* Between the files of src/hw only: the MMU fills the TLB through this. */
#ifndef MV_HW_INTERNAL_H
#define MV_HW_INTERNAL_H

#include "hw/cpu.h"

/* Which of an entry's tags a fill makes valid. */
#define HW_TLB_T_READ     (1u << 0)
#define HW_TLB_T_WRITE    (1u << 1)
#define HW_TLB_T_FETCH    (1u << 2)
#define HW_TLB_T_SS_READ  (1u << 3)
#define HW_TLB_T_SS_WRITE (1u << 4)

/* Bits of a stage-1 entry that must be zero above MAXPHYADDR. */
#define HW_MAXPHYADDR 46
#define HW_PA_RSVD_MASK (((1ull << 52) - 1) & ~((1ull << HW_MAXPHYADDR) - 1))

void hw_tlb_fill(struct hw_cpu *cpu, int user, uint64_t va, unsigned int tags, void *host_page,
		 uint64_t pa_page, uint64_t flags);

#endif
