/* SPDX-License-Identifier: MIT */
/*
 * ENCLS on a CPU: operands are linear addresses the CPU's MMU translates
 * (for a vCPU through both stages), so a guest's ENCLS faults as the SDM
 * says and its EPC operands resolve through EPT into the machine's EPC.
 * Every operand is fetched and checked before the EPCM changes, so a
 * fault leaves everything as it was and the instruction can be restarted.
 *
 * The rules follow the SDM's pseudo-code for each leaf (vol. 3D ch. 40):
 * misaligned operands and malformed structures are #GP(0); an EPC operand
 * that is not EPC, or whose EPCM entry is not what the leaf needs, is
 * #PF(address) with the SGX bit; EINIT's and EMODPR/EMODT's soft failures
 * are error codes in RAX. MRENCLAVE is measured with SHA-256 exactly as
 * the SDM feeds it (64-byte records for ECREATE, EADD and EEXTEND, then
 * EEXTEND's 256 bytes); EINIT does not check the signature (memvisor has
 * no keys): any well-formed SIGSTRUCT whose ENCLAVEHASH matches passes.
 */
#include <string.h>

#include "hw/ram.h"
#include "hw/sgx_internal.h"
#include "lib/sha256.h"

/* The running measurement lives in the SECS page, where only ENCLS sees it. */
#define HW_SECS_SHA_OFFSET 2048

int hw_encls_gp(struct hw_encls *x)
{
	x->res->fault = (struct hw_fault){ .kind = HW_FAULT_GP };
	return -EFAULT;
}

int hw_encls_pf(struct hw_encls *x, uint64_t va, bool write)
{
	x->res->fault = (struct hw_fault){ .kind = HW_FAULT_PF, .addr = va,
		.error_code = X86_PF_P | X86_PF_SGX | (write ? X86_PF_W : 0) };
	return -EFAULT;
}

/* A non-EPC operand of @len bytes, @align-aligned (#GP otherwise). */
int hw_encls_fetch(struct hw_encls *x, uint64_t va, void *buf, size_t len, uint64_t align)
{
	if (va & (align - 1))
		return hw_encls_gp(x);
	return hw_mmu_read(x->cpu, va, buf, len, HW_ACC_READ, &x->res->fault);
}

/* A memory operand: @align-aligned (#GP), then translated (its fault). */
int hw_encls_translate(struct hw_encls *x, uint64_t va, uint64_t align, bool write,
		       struct hw_xlate *t)
{
	if (va & (align - 1))
		return hw_encls_gp(x);
	return hw_mmu_translate(x->cpu, va, write ? HW_ACC_WRITE : HW_ACC_READ, t, &x->res->fault);
}

/* An EPC operand: @align-aligned (#GP), translating (its fault), in the EPC (#PF). */
int hw_encls_epc(struct hw_encls *x, uint64_t va, uint64_t align, bool write, uint64_t *idx,
		     uint64_t *pa)
{
	struct hw_xlate t;
	int ret = hw_encls_translate(x, va, align, write, &t);

	if (ret)
		return ret;
	if (!hw_pa_is_epc(x->cpu->m, t.pa))
		return hw_encls_pf(x, va, write);
	*idx = hw_epc_index(x->epc, t.pa);
	if (pa)
		*pa = t.pa;
	return 0;
}

static void encls_sha_load(struct hw_epc *epc, uint64_t secs, struct sha256_state *s)
{
	memcpy(s, hw_epc_host(epc, secs) + HW_SECS_SHA_OFFSET, sizeof(*s));
}

static void encls_sha_store(struct hw_epc *epc, uint64_t secs, const struct sha256_state *s)
{
	memcpy(hw_epc_host(epc, secs) + HW_SECS_SHA_OFFSET, s, sizeof(*s));
}

/* Feeds one 64-byte record (and @tail) into the enclave's measurement. Locked. */
static void encls_measure(struct hw_epc *epc, uint64_t secs, const uint8_t rec[64],
			  const void *tail, size_t tail_len)
{
	struct sha256_state s;

	encls_sha_load(epc, secs, &s);
	sha256_update(&s, rec, 64);
	if (tail_len)
		sha256_update(&s, tail, tail_len);
	encls_sha_store(epc, secs, &s);
}

/* A valid SECS at @idx, for a leaf that names it (#PF otherwise). Locked. */
int hw_encls_secs_locked(struct hw_encls *x, uint64_t idx, uint64_t va)
{
	const struct hw_epcm_entry *e = &x->epc->epcm[idx];

	if (!e->valid || e->type != SGX_PAGE_TYPE_SECS)
		return hw_encls_pf(x, va, true);
	return 0;
}

/* ---- ECREATE ---- */

static bool encls_secs_ok(const struct sgx_secs *s)
{
	if (s->size < 2 * HW_PAGE_SIZE || (s->size & (s->size - 1)))
		return false;
	if (s->base & (s->size - 1))
		return false;
	if (s->attributes & (SGX_ATTR_INIT | SGX_ATTR_RESERVED_MASK))
		return false;
	if (!s->ssa_frame_size)
		return false;
	return true;
}

/* A source page (SRCPGE, SIGSTRUCT): 4 KiB aligned; its host bytes, valid while the bracket is open. */
static int encls_src_page(struct hw_encls *x, uint64_t va, const uint8_t **host)
{
	struct hw_xlate t;
	int ret = hw_encls_translate(x, va, HW_PAGE_SIZE, false, &t);

	if (ret)
		return ret;
	*host = t.host;
	return 0;
}

/* RBX's PAGEINFO, its SECINFO and its source page: what ECREATE, EADD and EAUG read first. */
static int encls_pageinfo(struct hw_encls *x, uint64_t rbx, struct sgx_pageinfo *pi,
			  struct sgx_secinfo *si, const uint8_t **src)
{
	int ret = hw_encls_fetch(x, rbx, pi, sizeof(*pi), 32);

	if (!ret)
		ret = hw_encls_fetch(x, pi->metadata, si, sizeof(*si), 64);
	if (!ret)
		ret = encls_src_page(x, pi->contents, src);
	return ret;
}

bool hw_encls_secinfo_ok(const struct sgx_secinfo *si)
{
	if (si->flags & SGX_SECINFO_RESERVED_MASK)
		return false;
	for (size_t i = 0; i < sizeof(si->reserved); i++)
		if (si->reserved[i])
			return false;
	return true;
}

static int encls_ecreate(struct hw_encls *x, uint64_t rbx, uint64_t rcx)
{
	struct sgx_pageinfo pi;
	struct sgx_secinfo si;
	struct sgx_secs head;
	const uint8_t *src;
	struct sgx_secs *page;
	struct sha256_state sha;
	uint64_t idx;
	int ret;

	if ((ret = encls_pageinfo(x, rbx, &pi, &si, &src)))
		return ret;
	if ((ret = hw_encls_epc(x, rcx, HW_PAGE_SIZE, true, &idx, NULL)))
		return ret;
	if (pi.addr || pi.secs || !hw_encls_secinfo_ok(&si) ||
	    (si.flags & SGX_SECINFO_PAGE_TYPE_MASK) != SGX_SECINFO_SECS)
		return hw_encls_gp(x);
	hw_ram_read(&head, src, 256);
	if (!encls_secs_ok(&head))
		return hw_encls_gp(x);
	pthread_mutex_lock(&x->epc->lock);
	if (x->epc->epcm[idx].valid) {
		pthread_mutex_unlock(&x->epc->lock);
		return hw_encls_pf(x, rcx, true);
	}
	page = (void *)hw_epc_host(x->epc, idx);
	hw_ram_read(page, src, HW_PAGE_SIZE);
	memcpy(page, &head, 256);   /* what was checked is what is kept */
	memset(page->mrenclave, 0, sizeof(page->mrenclave));
	memset(page->reserved4, 0, sizeof(page->reserved4));
	sha256_init(&sha);
	encls_sha_store(x->epc, idx, &sha);
	{
		uint8_t rec[64] = "ECREATE";

		memcpy(rec + 8, &head.ssa_frame_size, 4);
		memcpy(rec + 12, &head.size, 8);
		encls_measure(x->epc, idx, rec, NULL, 0);
	}
	x->epc->epcm[idx] = (struct hw_epcm_entry){
		.valid = 1, .type = SGX_PAGE_TYPE_SECS, .secs = (uint32_t)idx,
		.debug = !!(head.attributes & SGX_ATTR_DEBUG), .eid = ++x->epc->next_eid,
		.allocated = x->epc->epcm[idx].allocated,
	};
	pthread_mutex_unlock(&x->epc->lock);
	return 0;
}

/* ---- EADD, EAUG: a child page joins an enclave ---- */

/* The checks EADD and EAUG share on the SECS and the new page. Locked. */
static int encls_child_checks_locked(struct hw_encls *x, const struct sgx_pageinfo *pi,
				     uint64_t secs, uint64_t idx, uint64_t rcx, bool want_init)
{
	const struct hw_epcm_entry *s = &x->epc->epcm[secs];
	const struct sgx_secs *sp;
	int ret;

	if ((ret = hw_encls_secs_locked(x, secs, pi->secs)))
		return ret;
	if (x->epc->epcm[idx].valid)
		return hw_encls_pf(x, rcx, true);
	if (!!s->initialized != want_init)
		return hw_encls_gp(x);
	sp = (const void *)hw_epc_host(x->epc, secs);
	if (pi->addr < sp->base || pi->addr - sp->base >= sp->size)
		return hw_encls_gp(x);
	return 0;
}

static void encls_link_child_locked(struct hw_encls *x, uint64_t idx, uint64_t secs, uint8_t type,
				    uint8_t perm, uint8_t state, uint64_t linaddr)
{
	x->epc->epcm[idx] = (struct hw_epcm_entry){
		.valid = 1, .type = type, .perm = perm, .state = state,
		.secs = (uint32_t)secs, .linaddr = linaddr,
		.allocated = x->epc->epcm[idx].allocated,
	};
	x->epc->epcm[secs].children++;
}

static int encls_eadd(struct hw_encls *x, uint64_t rbx, uint64_t rcx)
{
	struct sgx_pageinfo pi;
	struct sgx_secinfo si;
	const uint8_t *src;
	uint64_t idx, secs, type, perm;
	int ret;

	if ((ret = encls_pageinfo(x, rbx, &pi, &si, &src)))
		return ret;
	if ((ret = hw_encls_epc(x, pi.secs, HW_PAGE_SIZE, true, &secs, NULL)))
		return ret;
	if ((ret = hw_encls_epc(x, rcx, HW_PAGE_SIZE, true, &idx, NULL)))
		return ret;
	type = (si.flags & SGX_SECINFO_PAGE_TYPE_MASK) >> SGX_SECINFO_PAGE_TYPE_SHIFT;
	perm = si.flags & SGX_SECINFO_PERMISSION_MASK;
	if (!hw_encls_secinfo_ok(&si) || (type != SGX_PAGE_TYPE_REG && type != SGX_PAGE_TYPE_TCS) ||
	    (pi.addr & (HW_PAGE_SIZE - 1)) || (type == SGX_PAGE_TYPE_TCS && perm) ||
	    ((perm & SGX_SECINFO_W) && !(perm & SGX_SECINFO_R)))
		return hw_encls_gp(x);
	pthread_mutex_lock(&x->epc->lock);
	ret = encls_child_checks_locked(x, &pi, secs, idx, rcx, false);
	if (!ret) {
		const struct sgx_secs *sp = (const void *)hw_epc_host(x->epc, secs);
		uint8_t rec[64] = "EADD";
		uint64_t off = pi.addr - sp->base;

		hw_ram_read(hw_epc_host(x->epc, idx), src, HW_PAGE_SIZE);
		memcpy(rec + 8, &off, 8);
		memcpy(rec + 16, &si, 48);
		encls_measure(x->epc, secs, rec, NULL, 0);
		encls_link_child_locked(x, idx, secs, (uint8_t)type, (uint8_t)perm, 0, pi.addr);
	}
	pthread_mutex_unlock(&x->epc->lock);
	return ret;
}

static int encls_eaug(struct hw_encls *x, uint64_t rbx, uint64_t rcx)
{
	struct sgx_pageinfo pi;
	uint64_t idx, secs;
	int ret;

	if ((ret = hw_encls_fetch(x, rbx, &pi, sizeof(pi), 32)))
		return ret;
	if ((ret = hw_encls_epc(x, pi.secs, HW_PAGE_SIZE, true, &secs, NULL)))
		return ret;
	if ((ret = hw_encls_epc(x, rcx, HW_PAGE_SIZE, true, &idx, NULL)))
		return ret;
	/* SGX2 EAUG: no source page, no SECINFO; a pending REG page, RW, zeroed */
	if (pi.contents || pi.metadata || (pi.addr & (HW_PAGE_SIZE - 1)))
		return hw_encls_gp(x);
	pthread_mutex_lock(&x->epc->lock);
	ret = encls_child_checks_locked(x, &pi, secs, idx, rcx, true);
	if (!ret) {
		memset(hw_epc_host(x->epc, idx), 0, HW_PAGE_SIZE);
		encls_link_child_locked(x, idx, secs, SGX_PAGE_TYPE_REG,
					SGX_SECINFO_R | SGX_SECINFO_W, HW_EPCM_PENDING, pi.addr);
	}
	pthread_mutex_unlock(&x->epc->lock);
	return ret;
}

/* ---- EEXTEND ---- */

static int encls_eextend(struct hw_encls *x, uint64_t rcx)
{
	uint64_t idx;
	int ret;

	if ((ret = hw_encls_epc(x, rcx, 256, false, &idx, NULL)))
		return ret;
	pthread_mutex_lock(&x->epc->lock);
	{
		const struct hw_epcm_entry *e = &x->epc->epcm[idx];

		if (!e->valid || (e->type != SGX_PAGE_TYPE_REG && e->type != SGX_PAGE_TYPE_TCS)) {
			ret = hw_encls_pf(x, rcx, false);
		} else if (x->epc->epcm[e->secs].initialized) {
			ret = hw_encls_gp(x);
		} else {
			const struct sgx_secs *sp = (const void *)hw_epc_host(x->epc, e->secs);
			uint64_t off = e->linaddr + (rcx & (HW_PAGE_SIZE - 1)) - sp->base;
			uint8_t rec[64] = "EEXTEND";

			memcpy(rec + 8, &off, 8);
			encls_measure(x->epc, e->secs, rec,
				      hw_epc_host(x->epc, idx) + (rcx & (HW_PAGE_SIZE - 1)), 256);
		}
	}
	pthread_mutex_unlock(&x->epc->lock);
	return ret;
}

/* ---- EINIT ---- */

/* Well-formed: the fixed headers, a known vendor, exponent 3 (SDM EINIT). */
static bool encls_sigstruct_ok(const struct sgx_sigstruct *ss)
{
	static const uint8_t h1[12] = SGX_SIGSTRUCT_HEADER1;
	static const uint8_t h2[16] = SGX_SIGSTRUCT_HEADER2;

	return !memcmp(ss->header1, h1, sizeof(h1)) && !memcmp(ss->header2, h2, sizeof(h2)) &&
	       (ss->vendor == 0 || ss->vendor == 0x8086) && ss->exponent == 3;
}

static long encls_einit_locked(struct hw_encls *x, uint64_t secs, const struct sgx_sigstruct *ss)
{
	struct sgx_secs *sp = (void *)hw_epc_host(x->epc, secs);
	struct sha256_state sha;
	uint8_t mr[32];

	if (!encls_sigstruct_ok(ss))
		return SGX_INVALID_SIG_STRUCT;
	if ((sp->attributes & ss->attributes_mask) != (ss->attributes & ss->attributes_mask) ||
	    (sp->xfrm & ss->xfrm_mask) != (ss->xfrm & ss->xfrm_mask))
		return SGX_INVALID_ATTRIBUTE;
	encls_sha_load(x->epc, secs, &sha);
	sha256_final(&sha, mr);
	if (memcmp(mr, ss->enclave_hash, sizeof(mr))) {
		/* the measurement is spent either way: a later EINIT cannot match */
		memset(&sha, 0xa5, sizeof(sha));
		encls_sha_store(x->epc, secs, &sha);
		return SGX_INVALID_MEASUREMENT;
	}
	memcpy(sp->mrenclave, mr, sizeof(mr));
	sp->attributes |= SGX_ATTR_INIT;
	x->epc->epcm[secs].initialized = 1;
	return SGX_SUCCESS;
}

static int encls_einit(struct hw_encls *x, uint64_t rbx, uint64_t rcx, uint64_t rdx)
{
	struct sgx_sigstruct ss;
	uint8_t token[304];
	uint64_t secs;
	int ret;

	if ((ret = hw_encls_fetch(x, rbx, &ss, sizeof(ss), HW_PAGE_SIZE)))
		return ret;
	if ((ret = hw_encls_fetch(x, rdx, token, sizeof(token), 512)))
		return ret;
	if ((ret = hw_encls_epc(x, rcx, HW_PAGE_SIZE, true, &secs, NULL)))
		return ret;
	pthread_mutex_lock(&x->epc->lock);
	ret = hw_encls_secs_locked(x, secs, rcx);
	if (!ret && x->epc->epcm[secs].initialized)
		ret = hw_encls_gp(x);
	if (!ret)
		x->res->rax = (uint64_t)encls_einit_locked(x, secs, &ss);
	pthread_mutex_unlock(&x->epc->lock);
	return ret;
}

/* ---- EREMOVE, EPA ---- */

static int encls_eremove(struct hw_encls *x, uint64_t rcx)
{
	uint64_t idx;
	int ret;

	if ((ret = hw_encls_epc(x, rcx, HW_PAGE_SIZE, true, &idx, NULL)))
		return ret;
	pthread_mutex_lock(&x->epc->lock);
	x->res->rax = (uint64_t)hw_sgx_eremove_locked(x->epc, idx);
	pthread_mutex_unlock(&x->epc->lock);
	return 0;
}

static int encls_epa(struct hw_encls *x, uint64_t rbx, uint64_t rcx)
{
	uint64_t idx;
	int ret;

	if (rbx != SGX_PAGE_TYPE_VA)
		return hw_encls_gp(x);
	if ((ret = hw_encls_epc(x, rcx, HW_PAGE_SIZE, true, &idx, NULL)))
		return ret;
	pthread_mutex_lock(&x->epc->lock);
	if (x->epc->epcm[idx].valid) {
		ret = hw_encls_pf(x, rcx, true);
	} else {
		memset(hw_epc_host(x->epc, idx), 0, HW_PAGE_SIZE);
		x->epc->epcm[idx] = (struct hw_epcm_entry){
			.valid = 1, .type = SGX_PAGE_TYPE_VA,
			.allocated = x->epc->epcm[idx].allocated,
		};
	}
	pthread_mutex_unlock(&x->epc->lock);
	return ret;
}

/* ---- SGX2: EMODPR, EMODT ---- */

/* The page EMODPR/EMODT changes: valid, of @types, its enclave initialized. Locked. */
static int encls_mod_target_locked(struct hw_encls *x, uint64_t idx, uint64_t rcx,
				   unsigned int types)
{
	const struct hw_epcm_entry *e = &x->epc->epcm[idx];

	if (!e->valid || !(types & (1u << e->type)))
		return hw_encls_pf(x, rcx, true);
	if (!x->epc->epcm[e->secs].initialized)
		return hw_encls_gp(x);
	if (e->state & (HW_EPCM_PENDING | HW_EPCM_MODIFIED))
		x->res->rax = SGX_PAGE_NOT_MODIFIABLE;
	return 0;
}

static int encls_emod(struct hw_encls *x, uint32_t leaf, uint64_t rbx, uint64_t rcx)
{
	struct sgx_secinfo si;
	uint64_t idx, type, perm;
	struct hw_epcm_entry *e;
	int ret;

	if ((ret = hw_encls_fetch(x, rbx, &si, sizeof(si), 64)))
		return ret;
	if ((ret = hw_encls_epc(x, rcx, HW_PAGE_SIZE, true, &idx, NULL)))
		return ret;
	type = (si.flags & SGX_SECINFO_PAGE_TYPE_MASK) >> SGX_SECINFO_PAGE_TYPE_SHIFT;
	perm = si.flags & SGX_SECINFO_PERMISSION_MASK;
	if (!hw_encls_secinfo_ok(&si))
		return hw_encls_gp(x);
	if (leaf == SGX_EMODPR && (perm & SGX_SECINFO_W) && !(perm & SGX_SECINFO_R))
		return hw_encls_gp(x);
	if (leaf == SGX_EMODT && type != SGX_PAGE_TYPE_TRIM && type != SGX_PAGE_TYPE_TCS)
		return hw_encls_gp(x);
	pthread_mutex_lock(&x->epc->lock);
	e = &x->epc->epcm[idx];
	ret = encls_mod_target_locked(x, idx, rcx, leaf == SGX_EMODPR ? 1u << SGX_PAGE_TYPE_REG :
			(1u << SGX_PAGE_TYPE_REG) | (type == SGX_PAGE_TYPE_TRIM ? 1u << SGX_PAGE_TYPE_TCS : 0));
	if (!ret && x->res->rax == SGX_SUCCESS) {
		if (leaf == SGX_EMODPR) {
			e->perm &= (uint8_t)perm;   /* restrict only */
			e->state |= HW_EPCM_PR;
		} else {
			e->type = (uint8_t)type;
			e->perm = 0;
			e->state |= HW_EPCM_MODIFIED;
		}
	}
	pthread_mutex_unlock(&x->epc->lock);
	return ret;
}

/* ---- EDBGRD, EDBGWR: 8 bytes of a debug enclave's page ---- */

static int encls_edbg(struct hw_encls *x, uint32_t leaf, uint64_t rbx, uint64_t rcx)
{
	const struct hw_epcm_entry *e;
	uint64_t idx;
	uint8_t *p;
	int ret;

	if ((ret = hw_encls_epc(x, rcx, 8, leaf == SGX_EDBGWR, &idx, NULL)))
		return ret;
	pthread_mutex_lock(&x->epc->lock);
	e = &x->epc->epcm[idx];
	p = hw_epc_host(x->epc, idx) + (rcx & (HW_PAGE_SIZE - 1));
	if (!e->valid) {
		ret = hw_encls_pf(x, rcx, leaf == SGX_EDBGWR);
	} else if (e->type == SGX_PAGE_TYPE_SECS || e->type == SGX_PAGE_TYPE_VA ||
		   !x->epc->epcm[e->secs].debug) {
		x->res->rax = SGX_PAGE_NOT_DEBUGGABLE;
	} else if (leaf == SGX_EDBGRD) {
		memcpy(&x->res->rbx, p, 8);
	} else {
		memcpy(p, &rbx, 8);
	}
	pthread_mutex_unlock(&x->epc->lock);
	return ret;
}

/* ---- the instruction ---- */

int hw_cpu_encls(struct hw_cpu *cpu, uint32_t leaf, uint64_t rbx, uint64_t rcx, uint64_t rdx,
		 struct hw_encls_res *res)
{
	struct hw_encls x = { .cpu = cpu, .epc = cpu->m->epc, .res = res };
	int ret;

	memset(res, 0, sizeof(*res));
	if (!x.epc)
		return hw_encls_gp(&x);   /* no SGX: the leaf does not exist */
	switch (leaf) {
	case SGX_ECREATE: ret = encls_ecreate(&x, rbx, rcx); break;
	case SGX_EADD:    ret = encls_eadd(&x, rbx, rcx); break;
	case SGX_EINIT:   ret = encls_einit(&x, rbx, rcx, rdx); break;
	case SGX_EREMOVE: ret = encls_eremove(&x, rcx); break;
	case SGX_EDBGRD:
	case SGX_EDBGWR:  ret = encls_edbg(&x, leaf, rbx, rcx); break;
	case SGX_EEXTEND: ret = encls_eextend(&x, rcx); break;
	case SGX_EPA:     ret = encls_epa(&x, rbx, rcx); break;
	case SGX_EAUG:    ret = encls_eaug(&x, rbx, rcx); break;
	case SGX_EMODPR:
	case SGX_EMODT:   ret = encls_emod(&x, leaf, rbx, rcx); break;
	case SGX_EBLOCK:  ret = hw_encls_eblock(&x, rcx); break;
	case SGX_ETRACK:  ret = hw_encls_etrack(&x, rcx); break;
	case SGX_EWB:     ret = hw_encls_ewb(&x, rbx, rcx, rdx); break;
	case SGX_ELDB:
	case SGX_ELDU:    ret = hw_encls_eld(&x, leaf, rbx, rcx, rdx); break;
	default:
		hw_encls_gp(&x);
		return -EINVAL;
	}
	if (!ret) {
		pthread_mutex_lock(&x.epc->lock);
		x.epc->stats.encls[leaf]++;
		pthread_mutex_unlock(&x.epc->lock);
	}
	return ret;
}
