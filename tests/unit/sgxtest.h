/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the SGX tests: a machine with a small EPC, a VMM with a vEPC
 * mapped MAP_SHARED as the guest's EPC memslot at SGT_EPC_GPA, guest RAM
 * at 0 for the ENCLS structures, and one ENCLS per KVM_RUN. An
 * independent MRENCLAVE model (the SDM's records fed to lib/sha256) lets
 * EINIT tests compute the hash the hardware must find.
 */
#ifndef MV_TESTS_SGXTEST_H
#define MV_TESTS_SGXTEST_H

#include "kvmtest.h"
#include "api/api.h"
#include "hw/sgx.h"
#include "kernel/sgx_vepc.h"
#include "lib/sha256.h"

#define SGT_RAM_SIZE   (1ull << 20)
#define SGT_EPC_GPA    0x100000ull
#define SGT_PAGEINFO   0x1000ull
#define SGT_SECINFO    0x1040ull
#define SGT_SRC        0x2000ull
#define SGT_SIG        0x3000ull
#define SGT_TOKEN      0x4000ull
#define SGT_BASE       0x40000000ull   /* enclave base */
#define SGT_SIZE       0x100000ull     /* enclave size */

struct sgxt {
	struct kvmtest k;
	uint64_t ram;         /* VMM address of guest RAM */
	int vepc;
	uint64_t epc_map;     /* VMM address of the vEPC mapping */
	uint64_t epc_pages;   /* pages in the mapping */
	int vcpu;
	struct kvm_run *run;
	struct sha256_state mr;   /* the test's own MRENCLAVE model */
};

static inline struct mv_machine *sgt_machine(uint64_t epc_pages)
{
	struct mv_machine_config cfg = { .ram_bytes = 64ull << 20, .epc_bytes = epc_pages * KT_PG };
	struct mv_machine *m = NULL;

	assert_int_equal(mv_machine_create(&cfg, &m), 0);
	return m;
}

static inline struct hw_epc *sgt_epc(struct mv_machine *m)
{
	return m->hw.epc;
}

static inline int sgt_open_vepc(struct mv_task *t)
{
	long fd = mv_syscall(t, MV_SYS_openat, (uint64_t)AT_FDCWD,
			     (uint64_t)(uintptr_t)"/dev/sgx_vepc", O_RDWR, 0, 0, 0);

	assert_true(fd >= 0);
	return (int)fd;
}

static inline uint64_t sgt_map_vepc(struct mv_task *t, int fd, uint64_t pages)
{
	long a = mv_syscall(t, MV_SYS_mmap, 0, pages * KT_PG, PROT_READ | PROT_WRITE, MAP_SHARED,
			    (uint64_t)fd, 0);

	assert_true(a > 0);
	return (uint64_t)a;
}

/* EPC of @epc_total pages; a vEPC of @vepc_pages as the EPC slot; one vCPU. */
static inline void sgt_setup(struct sgxt *s, uint64_t epc_total, uint64_t vepc_pages)
{
	memset(s, 0, sizeof(*s));
	s->k.m = sgt_machine(epc_total);
	assert_int_equal(mv_task_spawn(s->k.m, &s->k.t), 0);
	s->k.kvm = (int)mv_syscall(s->k.t, MV_SYS_openat, (uint64_t)AT_FDCWD,
				   (uint64_t)(uintptr_t)"/dev/kvm", O_RDWR, 0, 0, 0);
	assert_true(s->k.kvm >= 0);
	s->k.vm = (int)kt_ioctl(s->k.t, s->k.kvm, KVM_CREATE_VM, 0);
	assert_true(s->k.vm >= 0);
	s->ram = kt_mmap(&s->k, SGT_RAM_SIZE);
	assert_int_equal(kt_region(&s->k, 0, 0, 0, SGT_RAM_SIZE, s->ram), 0);
	s->vepc = sgt_open_vepc(s->k.t);
	s->epc_pages = vepc_pages;
	s->epc_map = sgt_map_vepc(s->k.t, s->vepc, vepc_pages);
	assert_int_equal(kt_region(&s->k, 1, 0, SGT_EPC_GPA, vepc_pages * KT_PG, s->epc_map), 0);
	s->vcpu = kt_vcpu(&s->k, 0);
	s->run = mv_vcpu_run_area(s->k.t, s->vcpu);
}

/* Another vEPC of @pages as memslot @slot at @gpa; its fd, and its VMM address in *map. */
static inline int sgt_add_vepc(struct sgxt *s, uint32_t slot, uint64_t gpa, uint64_t pages,
			       uint64_t *map)
{
	int fd = sgt_open_vepc(s->k.t);

	*map = sgt_map_vepc(s->k.t, fd, pages);
	assert_int_equal(kt_region(&s->k, slot, 0, gpa, pages * KT_PG, *map), 0);
	return fd;
}

/* Drops a vEPC: the memslot, the VMM's mapping, the fd (the last puts release it). */
static inline void sgt_drop_vepc(struct sgxt *s, uint32_t slot, int fd, uint64_t map, uint64_t pages)
{
	assert_int_equal(kt_region(&s->k, slot, 0, 0, 0, 0), 0);
	assert_int_equal(mv_syscall(s->k.t, MV_SYS_munmap, map, pages * KT_PG, 0, 0, 0, 0), 0);
	assert_int_equal(mv_syscall(s->k.t, MV_SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0), 0);
}

static inline long sgt_remove_all(struct mv_task *t, int fd)
{
	return kt_ioctl(t, fd, SGX_IOC_VEPC_REMOVE_ALL, 0);
}

static inline void sgt_teardown(struct sgxt *s)
{
	mv_machine_destroy(s->k.m);
}

static inline uint64_t sgt_epc_gpa(uint64_t page)
{
	return SGT_EPC_GPA + page * KT_PG;
}

/* Guest RAM, written by the VMM. */
static inline void sgt_poke(struct sgxt *s, uint64_t gpa, const void *buf, size_t len)
{
	assert_int_equal(mv_user_write(s->k.t, s->ram + gpa, buf, len), 0);
}

/* ---- one ENCLS per KVM_RUN ---- */

struct sgt_encls {
	uint32_t leaf;
	uint64_t rbx, rcx, rdx;
	long ret;
	struct mv_guest_fault f;
};

static void sgt_guest_encls(struct mv_guest *g, void *arg)
{
	struct sgt_encls *e = arg;

	e->ret = mv_guest_encls_regs(g, e->leaf, &e->rbx, &e->rcx, &e->rdx);
	if (e->ret == -EFAULT)
		assert_int_equal(mv_guest_last_fault(g, &e->f), 1);
}

/* RAX, or -EFAULT with the fault's vector in *vector (NULL: none expected). */
static inline long sgt_encls_out(struct sgxt *s, uint32_t leaf, uint64_t *rbx, uint64_t rcx,
				 uint64_t rdx, struct mv_guest_fault *f)
{
	struct sgt_encls e = { .leaf = leaf, .rbx = *rbx, .rcx = rcx, .rdx = rdx };

	assert_int_equal(mv_vcpu_set_guest(s->k.t, s->vcpu, sgt_guest_encls, &e), 0);
	assert_int_equal(kt_run(&s->k, s->vcpu), 0);
	assert_int_equal(s->run->exit_reason, KVM_EXIT_HLT);
	if (f)
		*f = e.f;
	*rbx = e.rbx;
	return e.ret;
}

static inline long sgt_encls(struct sgxt *s, uint32_t leaf, uint64_t rbx, uint64_t rcx,
			     uint64_t rdx, struct mv_guest_fault *f)
{
	return sgt_encls_out(s, leaf, &rbx, rcx, rdx, f);
}

#define SGT_GP 13
#define SGT_PF 14
#define SGT_UD 6

/* ---- the structures ---- */

static inline void sgt_pageinfo(struct sgxt *s, uint64_t linaddr, uint64_t src, uint64_t secinfo,
				uint64_t secs)
{
	struct sgx_pageinfo pi = { .addr = linaddr, .contents = src, .metadata = secinfo,
				   .secs = secs };

	sgt_poke(s, SGT_PAGEINFO, &pi, sizeof(pi));
}

static inline void sgt_secinfo(struct sgxt *s, uint64_t flags)
{
	struct sgx_secinfo si = { .flags = flags };

	sgt_poke(s, SGT_SECINFO, &si, sizeof(si));
}

/* The test's MRENCLAVE model: the SDM's 64-byte records. */
static inline void sgt_mr_record(struct sgxt *s, const char *tag, const void *a, size_t alen,
				 const void *b, size_t blen)
{
	uint8_t rec[64] = { 0 };

	memcpy(rec, tag, strlen(tag));
	memcpy(rec + 8, a, alen);
	if (blen)
		memcpy(rec + 8 + alen, b, blen);
	sha256_update(&s->mr, rec, sizeof(rec));
}

/* ECREATE of SECS page @page for [base, base+size) with @attributes. */
static inline long sgt_ecreate_full(struct sgxt *s, uint64_t page, uint64_t base, uint64_t size,
				    uint64_t attributes, struct mv_guest_fault *f)
{
	static struct sgx_secs secs;   /* one page: too big for some stacks */
	long r;

	memset(&secs, 0, sizeof(secs));
	secs.size = size;
	secs.base = base;
	secs.ssa_frame_size = 1;
	secs.attributes = attributes | SGX_ATTR_MODE64BIT;
	secs.xfrm = 3;
	sgt_poke(s, SGT_SRC, &secs, sizeof(secs));
	sgt_secinfo(s, SGX_SECINFO_SECS);
	sgt_pageinfo(s, 0, SGT_SRC, SGT_SECINFO, 0);
	r = sgt_encls(s, SGX_ECREATE, SGT_PAGEINFO, sgt_epc_gpa(page), 0, f);
	if (r == 0) {
		sha256_init(&s->mr);
		sgt_mr_record(s, "ECREATE", &secs.ssa_frame_size, 4, &secs.size, 8);
	}
	return r;
}

static inline long sgt_ecreate(struct sgxt *s, uint64_t page, uint64_t attributes)
{
	return sgt_ecreate_full(s, page, SGT_BASE, SGT_SIZE, attributes, NULL);
}

/* EADD of EPC page @page at enclave offset @off, SECINFO @flags, filled with @fill. */
static inline long sgt_eadd(struct sgxt *s, uint64_t page, uint64_t secs_page, uint64_t off,
			    uint64_t flags, uint8_t fill, struct mv_guest_fault *f)
{
	uint8_t src[4096];
	long r;

	memset(src, fill, sizeof(src));
	sgt_poke(s, SGT_SRC, src, sizeof(src));
	sgt_secinfo(s, flags);
	sgt_pageinfo(s, SGT_BASE + off, SGT_SRC, SGT_SECINFO, sgt_epc_gpa(secs_page));
	r = sgt_encls(s, SGX_EADD, SGT_PAGEINFO, sgt_epc_gpa(page), 0, f);
	if (r == 0) {
		struct sgx_secinfo si = { .flags = flags };

		sgt_mr_record(s, "EADD", &off, 8, &si, 48);
	}
	return r;
}

/* EEXTEND of the 256 bytes at @chunk of page @page (enclave offset @page_off), all @fill. */
static inline long sgt_eextend(struct sgxt *s, uint64_t page, uint64_t page_off, uint64_t chunk,
			       uint8_t fill)
{
	long r = sgt_encls(s, SGX_EEXTEND, 0, sgt_epc_gpa(page) + chunk, 0, NULL);

	if (r == 0) {
		uint64_t off = page_off + chunk;
		uint8_t data[256];

		memset(data, fill, sizeof(data));
		sgt_mr_record(s, "EEXTEND", &off, 8, NULL, 0);
		sha256_update(&s->mr, data, sizeof(data));
	}
	return r;
}

/* A well-formed SIGSTRUCT carrying @hash (NULL: the model's MRENCLAVE). */
static inline void sgt_sigstruct(struct sgxt *s, const uint8_t *hash)
{
	static const uint8_t h1[12] = SGX_SIGSTRUCT_HEADER1;
	static const uint8_t h2[16] = SGX_SIGSTRUCT_HEADER2;
	struct sgx_sigstruct ss;
	uint8_t mr[32];

	memset(&ss, 0, sizeof(ss));
	memcpy(ss.header1, h1, sizeof(h1));
	memcpy(ss.header2, h2, sizeof(h2));
	ss.vendor = 0x8086;
	ss.exponent = 3;
	if (!hash) {
		struct sha256_state copy = s->mr;

		sha256_final(&copy, mr);
		hash = mr;
	}
	memcpy(ss.enclave_hash, hash, 32);
	sgt_poke(s, SGT_SIG, &ss, sizeof(ss));
}

static inline long sgt_einit(struct sgxt *s, uint64_t secs_page, struct mv_guest_fault *f)
{
	return sgt_encls(s, SGX_EINIT, SGT_SIG, sgt_epc_gpa(secs_page), SGT_TOKEN, f);
}

static inline long sgt_eremove(struct sgxt *s, uint64_t page)
{
	return sgt_encls(s, SGX_EREMOVE, 0, sgt_epc_gpa(page), 0, NULL);
}

/* The EPC page behind vEPC page @page (which must be faulted in). */
static inline uint64_t sgt_pa(struct sgxt *s, uint64_t page)
{
	uint64_t pa = 0;

	assert_int_equal(sgx_vepc_lookup(s->k.t, s->vepc, page, &pa), 0);
	return pa;
}

static inline struct hw_epcm_entry sgt_epcm(struct sgxt *s, uint64_t page)
{
	struct hw_epcm_entry e;

	assert_int_equal(hw_epcm_get(sgt_epc(s->k.m), sgt_pa(s, page), &e), 0);
	return e;
}

static inline uint64_t sgt_free(struct mv_machine *m)
{
	struct mv_machine_stats st;

	mv_machine_get_stats(m, &st);
	return st.epc_pages_free;
}

#endif
