/* SPDX-License-Identifier: MIT */
/*
 * EPC paging: EBLOCK, ETRACK, EWB and ELDU/ELDB (SDM vol. 3D 40.x), the
 * leaves an OS uses to move enclave pages out of the EPC and back.
 *
 * EBLOCK marks a child page blocked (no new TLB entries), ETRACK starts a
 * new epoch on its SECS; EWB evicts a page only if it was blocked and an
 * ETRACK followed with no processor inside, writes it encrypted to
 * SRCPGE with a PCMD (SECINFO, enclave id, MAC) and puts a fresh version
 * nonce into a VA slot. ELDU (ELDB: blocked) loads it back into a free EPC
 * page only while that slot still holds the version the MAC was made
 * with, and clears the slot: a page cannot be loaded twice, replayed from
 * an older copy, altered, or loaded into another enclave or address.
 *
 * The encryption is a keystream (xorshift64* seeded from SHA-256 of the
 * machine's key and the version) and the MAC SHA-256 over the key, the
 * version, the linear address, the PCMD and a keyed 64-bit digest of the
 * ciphertext: a model of what the hardware hides and checks, not
 * cryptography. Evicting a child takes it off its SECS's child count (the
 * SECS can be evicted once it has none); loading it back needs the SECS
 * resident.
 */
#include <string.h>

#include "hw/ram.h"
#include "hw/sgx_internal.h"
#include "lib/sha256.h"

#define EWB_PCMD_MACED offsetof(struct sgx_pcmd, mac)

static bool ewb_is_child(uint8_t type)
{
	return type == SGX_PAGE_TYPE_REG || type == SGX_PAGE_TYPE_TCS || type == SGX_PAGE_TYPE_TRIM;
}

/* XORs @page with the keystream of @version. */
static void ewb_crypt(const struct hw_epc *epc, uint64_t version, uint8_t *page)
{
	uint8_t seed[40], digest[32];
	uint64_t x;

	memcpy(seed, epc->key, 32);
	memcpy(seed + 32, &version, 8);
	sha256(seed, sizeof(seed), digest);
	memcpy(&x, digest, 8);
	x |= 1;
	for (size_t i = 0; i < HW_PAGE_SIZE; i += 8) {
		uint64_t w, k;

		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		k = x * 0x2545F4914F6CDD1Dull;
		memcpy(&w, page + i, 8);
		w ^= k;
		memcpy(page + i, &w, 8);
	}
}

/* A keyed 64-bit digest of the ciphertext: multiply-rotate over every word (fast, not strong). */
static uint64_t ewb_digest(const struct hw_epc *epc, const uint8_t *cipher)
{
	uint64_t h, k;

	memcpy(&h, epc->key, 8);
	memcpy(&k, epc->key + 8, 8);
	k |= 1;
	for (size_t i = 0; i < HW_PAGE_SIZE; i += 8) {
		uint64_t w;

		memcpy(&w, cipher + i, 8);
		h = (h ^ w) * k;
		h = (h << 29) | (h >> 35);
	}
	return h ^ (h >> 31);
}

static void ewb_mac(const struct hw_epc *epc, uint64_t version, uint64_t linaddr,
		    const struct sgx_pcmd *pcmd, const uint8_t *cipher, uint8_t mac[16])
{
	uint64_t digest = ewb_digest(epc, cipher);
	struct sha256_state s;
	uint8_t d[32];

	sha256_init(&s);
	sha256_update(&s, epc->key, sizeof(epc->key));
	sha256_update(&s, &version, 8);
	sha256_update(&s, &linaddr, 8);
	sha256_update(&s, pcmd, EWB_PCMD_MACED);
	sha256_update(&s, &digest, 8);
	sha256_final(&s, d);
	memcpy(mac, d, 16);
}

/* A memory operand EWB writes or ELDU reads whole: @align-aligned, not EPC; its host bytes. */
static int ewb_mem(struct hw_encls *x, uint64_t va, uint64_t align, bool write, uint8_t **host)
{
	struct hw_xlate t;
	int ret = hw_encls_translate(x, va, align, write, &t);

	if (ret)
		return ret;
	if (hw_pa_is_epc(x->cpu->m, t.pa))
		return hw_encls_gp(x);
	*host = t.host;
	return 0;
}

/* The VA slot at @rdx: 8-aligned, in a VA page (#PF otherwise). Locked; its host word. */
static int ewb_va_slot_locked(struct hw_encls *x, uint64_t vidx, uint64_t rdx, uint64_t **slot)
{
	const struct hw_epcm_entry *v = &x->epc->epcm[vidx];

	if (!v->valid || v->type != SGX_PAGE_TYPE_VA)
		return hw_encls_pf(x, rdx, true);
	*slot = (void *)(hw_epc_host(x->epc, vidx) + (rdx & (HW_PAGE_SIZE - 1)));
	return 0;
}

int hw_encls_eblock(struct hw_encls *x, uint64_t rcx)
{
	struct hw_epcm_entry *e;
	uint64_t idx;
	int ret;

	if ((ret = hw_encls_epc(x, rcx, HW_PAGE_SIZE, true, &idx, NULL)))
		return ret;
	pthread_mutex_lock(&x->epc->lock);
	e = &x->epc->epcm[idx];
	if (!e->valid)
		x->res->rax = SGX_PG_INVLD;
	else if (!ewb_is_child(e->type))
		x->res->rax = SGX_NOTBLOCKABLE;
	else if (e->blocked)
		x->res->rax = SGX_BLKSTATE;
	else {
		e->blocked = 1;
		e->blocked_epoch = x->epc->epcm[e->secs].epoch;
	}
	pthread_mutex_unlock(&x->epc->lock);
	return 0;
}

int hw_encls_etrack(struct hw_encls *x, uint64_t rcx)
{
	uint64_t idx;
	int ret;

	if ((ret = hw_encls_epc(x, rcx, HW_PAGE_SIZE, true, &idx, NULL)))
		return ret;
	pthread_mutex_lock(&x->epc->lock);
	ret = hw_encls_secs_locked(x, idx, rcx);
	if (!ret)
		x->epc->epcm[idx].epoch++;
	pthread_mutex_unlock(&x->epc->lock);
	return ret;
}

/* Whether page @e may leave: the RAX code that stops it, or 0. Locked. */
static uint64_t ewb_may_evict_locked(struct hw_encls *x, const struct hw_epcm_entry *e)
{
	const struct hw_epcm_entry *s;

	if (e->type == SGX_PAGE_TYPE_SECS)
		return e->children ? SGX_CHILD_PRESENT : 0;
	if (e->type == SGX_PAGE_TYPE_VA)
		return 0;
	s = &x->epc->epcm[e->secs];
	if (!e->blocked)
		return SGX_PAGE_NOT_BLOCKED;
	if (s->epoch == e->blocked_epoch || s->threads)
		return SGX_NOT_TRACKED;
	return 0;
}

/* Evicts page @idx (checked) into @dst and @pcmd_host, version into @slot. Locked. */
static void ewb_evict_locked(struct hw_encls *x, uint64_t idx, uint8_t *dst, uint8_t *pcmd_host,
			     uint64_t *slot)
{
	struct hw_epcm_entry *e = &x->epc->epcm[idx];
	uint8_t page[HW_PAGE_SIZE];
	struct sgx_pcmd pcmd;
	uint64_t version = ++x->epc->version;

	memset(&pcmd, 0, sizeof(pcmd));
	pcmd.secinfo.flags = e->perm | ((uint64_t)e->type << SGX_SECINFO_PAGE_TYPE_SHIFT);
	pcmd.reserved[0] = e->state;
	pcmd.enclave_id = e->type == SGX_PAGE_TYPE_SECS ? e->eid :
			  e->type == SGX_PAGE_TYPE_VA ? 0 : x->epc->epcm[e->secs].eid;
	memcpy(page, hw_epc_host(x->epc, idx), HW_PAGE_SIZE);
	ewb_crypt(x->epc, version, page);
	ewb_mac(x->epc, version, ewb_is_child(e->type) ? e->linaddr : 0, &pcmd, page, pcmd.mac);
	hw_ram_write(dst, page, HW_PAGE_SIZE);
	hw_ram_write(pcmd_host, &pcmd, sizeof(pcmd));
	*slot = version;
	if (ewb_is_child(e->type))
		x->epc->epcm[e->secs].children--;
	memset(hw_epc_host(x->epc, idx), 0, HW_PAGE_SIZE);
	*e = (struct hw_epcm_entry){ .allocated = e->allocated };
}

int hw_encls_ewb(struct hw_encls *x, uint64_t rbx, uint64_t rcx, uint64_t rdx)
{
	struct sgx_pageinfo pi;
	uint8_t *dst = NULL, *pcmd = NULL;
	uint64_t idx, vidx, *slot = NULL;
	int ret;

	if ((ret = hw_encls_fetch(x, rbx, &pi, sizeof(pi), 32)))
		return ret;
	if (pi.addr || pi.secs)
		return hw_encls_gp(x);
	if ((ret = ewb_mem(x, pi.contents, HW_PAGE_SIZE, true, &dst)))
		return ret;
	if ((ret = ewb_mem(x, pi.metadata, 128, true, &pcmd)))
		return ret;
	if ((ret = hw_encls_epc(x, rcx, HW_PAGE_SIZE, true, &idx, NULL)))
		return ret;
	if ((ret = hw_encls_epc(x, rdx, 8, true, &vidx, NULL)))
		return ret;
	if (idx == vidx)
		return hw_encls_gp(x);
	pthread_mutex_lock(&x->epc->lock);
	if (!x->epc->epcm[idx].valid)
		ret = hw_encls_pf(x, rcx, true);
	else
		ret = ewb_va_slot_locked(x, vidx, rdx, &slot);
	if (!ret) {
		if (__atomic_load_n(slot, __ATOMIC_RELAXED))
			x->res->rax = SGX_VA_SLOT_OCCUPIED;
		else
			x->res->rax = ewb_may_evict_locked(x, &x->epc->epcm[idx]);
		if (!x->res->rax)
			ewb_evict_locked(x, idx, dst, pcmd, slot);
	}
	pthread_mutex_unlock(&x->epc->lock);
	return ret;
}

/* Loads the checked page into @idx: EPCM from the PCMD, contents decrypted. Locked. */
static void eld_load_locked(struct hw_encls *x, uint32_t leaf, uint64_t idx, uint64_t secs,
			    const struct sgx_pageinfo *pi, const struct sgx_pcmd *pcmd,
			    uint8_t *page, uint64_t version)
{
	uint8_t type = (uint8_t)((pcmd->secinfo.flags & SGX_SECINFO_PAGE_TYPE_MASK) >>
				 SGX_SECINFO_PAGE_TYPE_SHIFT);
	struct hw_epcm_entry *e = &x->epc->epcm[idx];
	const struct sgx_secs *sp;

	ewb_crypt(x->epc, version, page);
	memcpy(hw_epc_host(x->epc, idx), page, HW_PAGE_SIZE);
	*e = (struct hw_epcm_entry){
		.valid = 1, .type = type, .allocated = e->allocated,
		.perm = (uint8_t)(pcmd->secinfo.flags & SGX_SECINFO_PERMISSION_MASK),
		.state = pcmd->reserved[0],
	};
	if (ewb_is_child(type)) {
		e->secs = (uint32_t)secs;
		e->linaddr = pi->addr;
		e->blocked = leaf == SGX_ELDB;
		x->epc->epcm[secs].children++;
	} else if (type == SGX_PAGE_TYPE_SECS) {
		sp = (const void *)hw_epc_host(x->epc, idx);
		e->secs = (uint32_t)idx;
		e->eid = pcmd->enclave_id;
		e->initialized = !!(sp->attributes & SGX_ATTR_INIT);
		e->debug = !!(sp->attributes & SGX_ATTR_DEBUG);
	}
}

/* The checks ELDU makes under the lock: 0, a fault, or rax set. */
static int eld_check_locked(struct hw_encls *x, uint64_t idx, uint64_t secs, uint64_t rcx,
			    const struct sgx_pageinfo *pi, const struct sgx_pcmd *pcmd,
			    const uint8_t *page, uint64_t version)
{
	uint8_t type = (uint8_t)((pcmd->secinfo.flags & SGX_SECINFO_PAGE_TYPE_MASK) >>
				 SGX_SECINFO_PAGE_TYPE_SHIFT);
	uint8_t mac[16];
	int ret;

	if (x->epc->epcm[idx].valid)
		return hw_encls_pf(x, rcx, true);
	if (ewb_is_child(type)) {
		if ((ret = hw_encls_secs_locked(x, secs, pi->secs)))
			return ret;
		if (x->epc->epcm[secs].eid != pcmd->enclave_id) {
			x->res->rax = SGX_MAC_COMPARE_FAIL;
			return 0;
		}
	}
	ewb_mac(x->epc, version, ewb_is_child(type) ? pi->addr : 0, pcmd, page, mac);
	if (!version || memcmp(mac, pcmd->mac, sizeof(mac)))
		x->res->rax = SGX_MAC_COMPARE_FAIL;
	return 0;
}

int hw_encls_eld(struct hw_encls *x, uint32_t leaf, uint64_t rbx, uint64_t rcx, uint64_t rdx)
{
	static const uint64_t child_types = (1u << SGX_PAGE_TYPE_REG) | (1u << SGX_PAGE_TYPE_TCS) |
					    (1u << SGX_PAGE_TYPE_TRIM);
	uint8_t page[HW_PAGE_SIZE], *src = NULL;
	struct sgx_pageinfo pi;
	struct sgx_pcmd pcmd;
	uint64_t idx, vidx, secs = 0, *slot = NULL, type;
	int ret;

	if ((ret = hw_encls_fetch(x, rbx, &pi, sizeof(pi), 32)))
		return ret;
	if ((ret = ewb_mem(x, pi.contents, HW_PAGE_SIZE, false, &src)))
		return ret;
	if ((ret = hw_encls_fetch(x, pi.metadata, &pcmd, sizeof(pcmd), 128)))
		return ret;
	type = (pcmd.secinfo.flags & SGX_SECINFO_PAGE_TYPE_MASK) >> SGX_SECINFO_PAGE_TYPE_SHIFT;
	if (type > SGX_PAGE_TYPE_TRIM || !hw_encls_secinfo_ok(&pcmd.secinfo))
		return hw_encls_gp(x);
	if ((child_types >> type) & 1) {
		if ((ret = hw_encls_epc(x, pi.secs, HW_PAGE_SIZE, true, &secs, NULL)))
			return ret;
	} else if (pi.secs || pi.addr) {
		return hw_encls_gp(x);
	}
	if ((ret = hw_encls_epc(x, rcx, HW_PAGE_SIZE, true, &idx, NULL)))
		return ret;
	if ((ret = hw_encls_epc(x, rdx, 8, true, &vidx, NULL)))
		return ret;
	hw_ram_read(page, src, HW_PAGE_SIZE);
	pthread_mutex_lock(&x->epc->lock);
	ret = ewb_va_slot_locked(x, vidx, rdx, &slot);
	if (!ret) {
		uint64_t version = __atomic_load_n(slot, __ATOMIC_RELAXED);

		ret = eld_check_locked(x, idx, secs, rcx, &pi, &pcmd, page, version);
		if (!ret && !x->res->rax) {
			eld_load_locked(x, leaf, idx, secs, &pi, &pcmd, page, version);
			__atomic_store_n(slot, 0, __ATOMIC_RELAXED);
		}
	}
	pthread_mutex_unlock(&x->epc->lock);
	return ret;
}

/* ---- the host kernel's paging (hw/sgx.h) ---- */

/* The VA slot at @slot_pa: 8-aligned in a valid VA page. Locked; NULL otherwise. */
static uint64_t *host_slot_locked(struct hw_epc *epc, uint64_t slot_pa)
{
	uint64_t vidx;

	if (!hw_pa_is_epc(epc->m, slot_pa) || (slot_pa & 7))
		return NULL;
	vidx = hw_epc_index(epc, slot_pa);
	if (!epc->epcm[vidx].valid || epc->epcm[vidx].type != SGX_PAGE_TYPE_VA)
		return NULL;
	return (void *)(hw_epc_host(epc, vidx) + (slot_pa & (HW_PAGE_SIZE - 1)));
}

long hw_sgx_host_ewb(struct hw_epc *epc, uint64_t pa, uint64_t slot_pa, struct hw_epc_blob *out)
{
	struct hw_epcm_entry *e, *s;
	uint64_t idx, *slot, version;
	long ret = 0;

	if (!hw_pa_is_epc(epc->m, pa) || (pa & ~HW_PAGE_MASK))
		return -EINVAL;
	idx = hw_epc_index(epc, pa);
	pthread_mutex_lock(&epc->lock);
	e = &epc->epcm[idx];
	slot = host_slot_locked(epc, slot_pa);
	if (!slot || !e->valid || !ewb_is_child(e->type)) {
		ret = -EINVAL;
		goto out;
	}
	s = &epc->epcm[e->secs];
	if (__atomic_load_n(slot, __ATOMIC_RELAXED)) {
		ret = SGX_VA_SLOT_OCCUPIED;
		goto out;
	}
	if (s->threads) {
		ret = SGX_NOT_TRACKED;
		goto out;
	}
	version = ++epc->version;
	memset(&out->pcmd, 0, sizeof(out->pcmd));
	out->pcmd.secinfo.flags = e->perm | ((uint64_t)e->type << SGX_SECINFO_PAGE_TYPE_SHIFT);
	out->pcmd.reserved[0] = e->state;
	out->pcmd.reserved[1] = e->blocked;
	out->pcmd.enclave_id = s->eid;
	out->linaddr = e->linaddr;
	out->secs_pa = hw_epc_pa(epc, e->secs);
	memcpy(out->data, hw_epc_host(epc, idx), HW_PAGE_SIZE);
	ewb_crypt(epc, version, out->data);
	ewb_mac(epc, version, e->linaddr, &out->pcmd, out->data, out->pcmd.mac);
	__atomic_store_n(slot, version, __ATOMIC_RELAXED);
	s->evicted++;   /* still one of its children */
	memset(hw_epc_host(epc, idx), 0, HW_PAGE_SIZE);
	*e = (struct hw_epcm_entry){ .allocated = e->allocated };
out:
	pthread_mutex_unlock(&epc->lock);
	return ret;
}

/* The checks host ELDU and drop share: the slot's version makes @in's MAC. Locked. */
static long host_blob_check_locked(struct hw_epc *epc, uint64_t *slot, const struct hw_epc_blob *in,
				   uint64_t *secs)
{
	uint64_t version = slot ? __atomic_load_n(slot, __ATOMIC_RELAXED) : 0;
	const struct hw_epcm_entry *s;
	uint8_t mac[16];

	if (!slot || !hw_pa_is_epc(epc->m, in->secs_pa))
		return -EINVAL;
	*secs = hw_epc_index(epc, in->secs_pa);
	s = &epc->epcm[*secs];
	if (!s->valid || s->type != SGX_PAGE_TYPE_SECS || !s->evicted ||
	    s->eid != in->pcmd.enclave_id)
		return -EINVAL;
	ewb_mac(epc, version, in->linaddr, &in->pcmd, in->data, mac);
	if (!version || memcmp(mac, in->pcmd.mac, sizeof(mac)))
		return SGX_MAC_COMPARE_FAIL;
	return 0;
}

long hw_sgx_host_eldu(struct hw_epc *epc, uint64_t pa, uint64_t slot_pa,
		      const struct hw_epc_blob *in)
{
	struct hw_epcm_entry *e;
	uint64_t idx, secs, *slot;
	uint8_t page[HW_PAGE_SIZE];
	long ret;

	if (!hw_pa_is_epc(epc->m, pa) || (pa & ~HW_PAGE_MASK))
		return -EINVAL;
	idx = hw_epc_index(epc, pa);
	pthread_mutex_lock(&epc->lock);
	e = &epc->epcm[idx];
	slot = host_slot_locked(epc, slot_pa);
	ret = e->valid ? -EINVAL : host_blob_check_locked(epc, slot, in, &secs);
	if (!ret) {
		uint8_t type = (uint8_t)((in->pcmd.secinfo.flags & SGX_SECINFO_PAGE_TYPE_MASK) >>
					 SGX_SECINFO_PAGE_TYPE_SHIFT);

		memcpy(page, in->data, HW_PAGE_SIZE);
		ewb_crypt(epc, __atomic_load_n(slot, __ATOMIC_RELAXED), page);
		memcpy(hw_epc_host(epc, idx), page, HW_PAGE_SIZE);
		*e = (struct hw_epcm_entry){
			.valid = 1, .type = type, .allocated = e->allocated,
			.perm = (uint8_t)(in->pcmd.secinfo.flags & SGX_SECINFO_PERMISSION_MASK),
			.state = in->pcmd.reserved[0], .blocked = in->pcmd.reserved[1],
			.secs = (uint32_t)secs, .linaddr = in->linaddr,
		};
		epc->epcm[secs].evicted--;
		__atomic_store_n(slot, 0, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&epc->lock);
	return ret;
}

long hw_sgx_host_drop(struct hw_epc *epc, uint64_t slot_pa, const struct hw_epc_blob *in)
{
	uint64_t secs, *slot;
	long ret;

	pthread_mutex_lock(&epc->lock);
	slot = host_slot_locked(epc, slot_pa);
	ret = host_blob_check_locked(epc, slot, in, &secs);
	if (!ret) {
		epc->epcm[secs].evicted--;
		epc->epcm[secs].children--;
		__atomic_store_n(slot, 0, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&epc->lock);
	return ret;
}

long hw_sgx_host_epa(struct hw_epc *epc, uint64_t pa)
{
	struct hw_epcm_entry *e;
	long ret = 0;

	if (!hw_pa_is_epc(epc->m, pa) || (pa & ~HW_PAGE_MASK))
		return -EINVAL;
	pthread_mutex_lock(&epc->lock);
	e = &epc->epcm[hw_epc_index(epc, pa)];
	if (e->valid) {
		ret = -EINVAL;
	} else {
		memset(hw_epc_host(epc, hw_epc_index(epc, pa)), 0, HW_PAGE_SIZE);
		*e = (struct hw_epcm_entry){ .valid = 1, .type = SGX_PAGE_TYPE_VA,
					     .allocated = e->allocated };
	}
	pthread_mutex_unlock(&epc->lock);
	return ret;
}
