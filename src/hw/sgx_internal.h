/* SPDX-License-Identifier: MIT */
/* Between the SGX files of src/hw only (sgx.c, sgx_encls.c, sgx_ewb.c). */
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

/* One ENCLS in flight: the CPU whose MMU translates the operands, and the result. */
struct hw_encls {
	struct hw_cpu *cpu;
	struct hw_epc *epc;
	struct hw_encls_res *res;
};

/* The operand helpers every leaf uses (sgx_encls.c); -EFAULT with res->fault set. */
int hw_encls_gp(struct hw_encls *x);
int hw_encls_pf(struct hw_encls *x, uint64_t va, bool write);
/* A non-EPC operand of @len bytes, @align-aligned. */
int hw_encls_fetch(struct hw_encls *x, uint64_t va, void *buf, size_t len, uint64_t align);
/* A memory operand, @align-aligned (#GP), translated for a read or a write. */
struct hw_xlate;
int hw_encls_translate(struct hw_encls *x, uint64_t va, uint64_t align, bool write,
		       struct hw_xlate *t);
/* An EPC operand: its EPC index (and physical address if @pa). */
int hw_encls_epc(struct hw_encls *x, uint64_t va, uint64_t align, bool write, uint64_t *idx,
		 uint64_t *pa);
/* A valid SECS at @idx (#PF at @va otherwise). Called with epc->lock held. */
int hw_encls_secs_locked(struct hw_encls *x, uint64_t idx, uint64_t va);
bool hw_encls_secinfo_ok(const struct sgx_secinfo *si);

/* EBLOCK, ETRACK, EWB, ELDU/ELDB (sgx_ewb.c). */
int hw_encls_eblock(struct hw_encls *x, uint64_t rcx);
int hw_encls_etrack(struct hw_encls *x, uint64_t rcx);
int hw_encls_ewb(struct hw_encls *x, uint64_t rbx, uint64_t rcx, uint64_t rdx);
int hw_encls_eld(struct hw_encls *x, uint32_t leaf, uint64_t rbx, uint64_t rcx, uint64_t rdx);

#endif
