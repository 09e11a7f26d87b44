/* SPDX-License-Identifier: MIT */
/*
 * prctl(2) options memvisor implements: the tagged address ABI and MTE
 * controls (PR_SET_TAGGED_ADDR_CTRL / PR_GET_TAGGED_ADDR_CTRL), Linux's
 * values. The system's <linux/prctl.h> comes first when there is one; this
 * header adds what it left out and checks the rest. See
 * <memvisor/uapi/system.h>.
 */
#ifndef MEMVISOR_UAPI_PRCTL_H
#define MEMVISOR_UAPI_PRCTL_H

#include <memvisor/uapi/system.h>

#if MV_UAPI_USE_SYSTEM
#if __has_include(<linux/prctl.h>)
#include <linux/prctl.h>
#endif
#endif

#ifndef PR_SET_TAGGED_ADDR_CTRL
#define PR_SET_TAGGED_ADDR_CTRL 55
#endif
#ifndef PR_GET_TAGGED_ADDR_CTRL
#define PR_GET_TAGGED_ADDR_CTRL 56
#endif
#ifndef PR_TAGGED_ADDR_ENABLE
#define PR_TAGGED_ADDR_ENABLE (1UL << 0)
#endif
#ifndef PR_MTE_TCF_SHIFT
#define PR_MTE_TCF_SHIFT 1
#endif
#ifndef PR_MTE_TCF_NONE
#define PR_MTE_TCF_NONE (0UL << PR_MTE_TCF_SHIFT)
#endif
#ifndef PR_MTE_TCF_SYNC
#define PR_MTE_TCF_SYNC (1UL << PR_MTE_TCF_SHIFT)
#endif
#ifndef PR_MTE_TCF_ASYNC
#define PR_MTE_TCF_ASYNC (2UL << PR_MTE_TCF_SHIFT)
#endif
#ifndef PR_MTE_TCF_MASK
#define PR_MTE_TCF_MASK (3UL << PR_MTE_TCF_SHIFT)
#endif
#ifndef PR_MTE_TAG_SHIFT
#define PR_MTE_TAG_SHIFT 3
#endif
#ifndef PR_MTE_TAG_MASK
#define PR_MTE_TAG_MASK (0xffffUL << PR_MTE_TAG_SHIFT)
#endif

MV_UAPI_SAME(PR_SET_TAGGED_ADDR_CTRL, 55);
MV_UAPI_SAME(PR_GET_TAGGED_ADDR_CTRL, 56);
MV_UAPI_SAME(PR_TAGGED_ADDR_ENABLE, 1);
MV_UAPI_SAME(PR_MTE_TCF_SHIFT, 1);
MV_UAPI_SAME(PR_MTE_TCF_SYNC, 2);
MV_UAPI_SAME(PR_MTE_TCF_ASYNC, 4);
MV_UAPI_SAME(PR_MTE_TCF_MASK, 6);
MV_UAPI_SAME(PR_MTE_TAG_SHIFT, 3);
MV_UAPI_SAME(PR_MTE_TAG_MASK, 0x7fff8);

#endif
