/* SPDX-License-Identifier: MIT */
/* Between sgx.c and sgx_encls.c only. */
#ifndef MV_HW_SGX_INTERNAL_H
#define MV_HW_SGX_INTERNAL_H

#include "hw/sgx.h"

#ifndef X86_PF_SGX
#define X86_PF_SGX (1u << 15)   /* the #PF came from an EPCM check */
#endif

/* The host bytes of EPC page @idx; touched only under epc->lock. */
uint8_t *hw_epc_host(struct hw_epc *epc, uint64_t idx);
/* EREMOVE of page @idx. Called with epc->lock held. */
long hw_sgx_eremove_locked(struct hw_epc *epc, uint64_t idx);

#endif
