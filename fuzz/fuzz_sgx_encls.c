/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the SGX structures ENCLS reads (struct
 * sgx_pageinfo, sgx_secinfo, sgx_secs, sgx_sigstruct) and the vEPC file.
 * A machine with an 8-page EPC, a VMM whose vEPC of 6 pages is the
 * guest's EPC memslot beside 64 KiB of guest RAM, and a vCPU. Each input
 * byte is an operation: a structure taken whole from the input (sometimes
 * pulled towards valid: a PT_SECS SECINFO, a power-of-two enclave, the
 * SIGSTRUCT headers) written into guest RAM; an ENCLS whose leaf and
 * operands come from the input, biased to the structures' and the EPC
 * pages' guest addresses; SGX_IOC_VEPC_REMOVE_ALL; a second vEPC made or
 * dropped; "a processor inside" an enclave toggled; the first byte may turn
 * host oversubscription on (KVM_SGX_EPC_RECLAIM) and may start from a
 * built enclave (a SECS in EPC page 0, regular pages in 1 and 2, a VA page
 * in 5; debug or not; initialised by EINIT or not, the SIGSTRUCT carrying
 * the harness's own measurement), so that EBLOCK, ETRACK, EWB, ELDU/ELDB,
 * EAUG, EMODPR/EMODT and EDBGRD/EDBGWR have pages to work on.
 * EWB writes its page and PCMD into guest RAM where ELDU may read them
 * back, altered or not.
 *
 * Rules, after every operation: the EPCM is consistent (hw_epc_check:
 * child counts, owners, free pages invalid and zeroed, the free count);
 * ENCLS answers 0, an SGX_* code or -EFAULT, and KVM_RUN halts; REMOVE_ALL
 * answers a count or -EBUSY. At the end, with no processor inside and both
 * vEPCs dropped, every EPC page is free and no zombie is left.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "fz_vm.h"
#include "hw/sgx.h"
#include "kernel/sgx_vepc.h"
#include "lib/sha256.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SF_EPC_PAGES 8
#define SF_VEPC_PAGES 6
#define SF_RAM 0x10000ull
#define SF_EPC_GPA 0x100000ull
#define SF_EPC2_GPA 0x200000ull
#define SF_PG 4096ull

struct sf {
	struct fz_in in;
	struct mv_machine *m;
	struct mv_task *t;
	int vm, vcpu;
	uint64_t ram;
	int vepc[2];
	uint64_t map[2];
	struct kvm_run *run;
};

static const uint64_t sf_addrs[] = {
	0x1000, 0x1040, 0x2000, 0x3000, 0x4000, 0x1080, 0x1010, 0x5000,
	SF_EPC_GPA, SF_EPC_GPA + SF_PG, SF_EPC_GPA + 2 * SF_PG, SF_EPC_GPA + 3 * SF_PG,
	SF_EPC_GPA + 5 * SF_PG, SF_EPC2_GPA, SF_EPC2_GPA + SF_PG, SF_EPC_GPA + 0x100,
};

static uint64_t sf_addr(struct sf *s)
{
	uint64_t sel = fz_u(&s->in, 1);

	if (sel < 0xf0)
		return sf_addrs[sel % (sizeof(sf_addrs) / sizeof(sf_addrs[0]))];
	return fz_u(&s->in, 4);
}

static long sf_ioctl(struct sf *s, int fd, unsigned long cmd, uint64_t arg)
{
	return mv_syscall(s->t, MV_SYS_ioctl, (uint64_t)fd, cmd, arg, 0, 0, 0);
}

static void sf_region(struct sf *s, uint32_t slot, uint64_t gpa, uint64_t size, uint64_t uaddr)
{
	struct kvm_userspace_memory_region r = { .slot = slot, .guest_phys_addr = gpa,
						 .memory_size = size, .userspace_addr = uaddr };

	if (sf_ioctl(s, s->vm, KVM_SET_USER_MEMORY_REGION, (uint64_t)(uintptr_t)&r))
		abort();
}

static void sf_vepc_open(struct sf *s, int i)
{
	s->vepc[i] = (int)mv_syscall(s->t, MV_SYS_openat, (uint64_t)AT_FDCWD,
				     (uint64_t)(uintptr_t)"/dev/sgx_vepc", O_RDWR, 0, 0, 0);
	if (s->vepc[i] < 0)
		abort();
	s->map[i] = (uint64_t)mv_syscall(s->t, MV_SYS_mmap, 0, SF_VEPC_PAGES * SF_PG,
					 PROT_READ | PROT_WRITE, MAP_SHARED, (uint64_t)s->vepc[i], 0);
	if ((long)s->map[i] < 0)
		abort();
	sf_region(s, 1 + (uint32_t)i, i ? SF_EPC2_GPA : SF_EPC_GPA, SF_VEPC_PAGES * SF_PG, s->map[i]);
}

static void sf_vepc_drop(struct sf *s, int i)
{
	if (s->vepc[i] < 0)
		return;
	sf_region(s, 1 + (uint32_t)i, 0, 0, 0);
	mv_syscall(s->t, MV_SYS_munmap, s->map[i], SF_VEPC_PAGES * SF_PG, 0, 0, 0, 0);
	mv_syscall(s->t, MV_SYS_close, (uint64_t)s->vepc[i], 0, 0, 0, 0, 0);
	s->vepc[i] = -1;
}

/* A structure from the input into guest RAM, sometimes made nearly valid. */
static void sf_write_struct(struct sf *s)
{
	unsigned int sel = (unsigned int)fz_u(&s->in, 1);
	static struct sgx_sigstruct ss;
	static struct sgx_secs secs;
	struct sgx_pageinfo pi;
	struct sgx_secinfo si;
	const void *p;
	size_t n;
	uint64_t gpa;

	switch (sel % 4) {
	case 0:
		fz_bytes(&s->in, &pi, sizeof(pi));
		if (sel & 4)
			pi = (struct sgx_pageinfo){ .addr = pi.addr & 0x1000f000, .contents = 0x2000,
						    .metadata = 0x1040, .secs = sf_addr(s) };
		p = &pi, n = sizeof(pi), gpa = 0x1000;
		break;
	case 1:
		fz_bytes(&s->in, &si, sizeof(si));
		if (sel & 4)
			si = (struct sgx_secinfo){ .flags = si.flags & 0x407 };
		p = &si, n = sizeof(si), gpa = 0x1040;
		break;
	case 2:
		memset(&secs, 0, sizeof(secs));
		fz_bytes(&s->in, &secs, 64);
		if (sel & 4) {
			secs.size = 1ull << (13 + secs.size % 8);
			secs.base = 0x10000000;
			secs.ssa_frame_size = 1;
			secs.attributes &= SGX_ATTR_DEBUG | SGX_ATTR_MODE64BIT;
		}
		p = &secs, n = sizeof(secs), gpa = 0x2000;
		break;
	default: {
		static const uint8_t h1[12] = SGX_SIGSTRUCT_HEADER1;
		static const uint8_t h2[16] = SGX_SIGSTRUCT_HEADER2;

		memset(&ss, 0, sizeof(ss));
		fz_bytes(&s->in, &ss, 64);
		fz_bytes(&s->in, ss.enclave_hash, sizeof(ss.enclave_hash));
		if (sel & 4) {
			memcpy(ss.header1, h1, sizeof(h1));
			memcpy(ss.header2, h2, sizeof(h2));
			ss.vendor = 0x8086;
			ss.exponent = 3;
		}
		p = &ss, n = sizeof(ss), gpa = 0x3000;
	}
	}
	if (mv_user_write(s->t, s->ram + gpa, p, n))
		abort();
}

struct sf_encls {
	uint32_t leaf;
	uint64_t rbx, rcx, rdx;
	long ret;
};

static void sf_guest(struct mv_guest *g, void *arg)
{
	struct sf_encls *e = arg;

	e->ret = mv_guest_encls_regs(g, e->leaf, &e->rbx, &e->rcx, &e->rdx);
}

static void sf_encls(struct sf *s)
{
	static const uint32_t leaves[] = { SGX_ECREATE, SGX_EADD, SGX_EINIT, SGX_EREMOVE,
					   SGX_EDBGRD, SGX_EDBGWR, SGX_EEXTEND, SGX_EPA,
					   SGX_EAUG, SGX_EMODPR, SGX_EMODT, SGX_EBLOCK,
					   SGX_ETRACK, SGX_EWB, SGX_ELDU, SGX_ELDB };
	uint64_t sel = fz_u(&s->in, 1);
	long r;
	struct sf_encls e = {
		.leaf = sel < 0xf8 ? leaves[sel % (sizeof(leaves) / sizeof(leaves[0]))]
				   : (uint32_t)fz_u(&s->in, 1),
	};

	e.rbx = sel & 0x80 ? fz_u(&s->in, 8) : sf_addr(s);
	if (e.leaf == SGX_EPA && (sel & 1))
		e.rbx = SGX_PAGE_TYPE_VA;
	e.rcx = sf_addr(s);
	e.rdx = sel & 0x40 ? 0x4000 : sf_addr(s);
	r = mv_vcpu_set_guest(s->t, s->vcpu, sf_guest, &e) ? -1 : sf_ioctl(s, s->vcpu, KVM_RUN, 0);
	/* a full EPC with nothing to evict: the VMM gets a memory-fault exit (SIGBUS in Linux) */
	if (r == -EFAULT && s->run->exit_reason == KVM_EXIT_MEMORY_FAULT)
		return;
	if (r || s->run->exit_reason != KVM_EXIT_HLT)
		abort();
	if (e.ret < 0 && e.ret != -EFAULT)
		abort();
	if (e.ret > SGX_PAGE_NOT_DEBUGGABLE)
		abort();
}

/* ENCLS @leaf from the guest, which must answer 0 (the prologue's steps). */
static void sf_encls_ok(struct sf *s, uint32_t leaf, uint64_t rbx, uint64_t rcx, uint64_t rdx)
{
	struct sf_encls e = { .leaf = leaf, .rbx = rbx, .rcx = rcx, .rdx = rdx };

	if (mv_vcpu_set_guest(s->t, s->vcpu, sf_guest, &e) || sf_ioctl(s, s->vcpu, KVM_RUN, 0) ||
	    s->run->exit_reason != KVM_EXIT_HLT || e.ret)
		abort();
}

/* One 64-byte MRENCLAVE record (the SDM's), for the harness's own measurement. */
static void sf_mr_record(struct sha256_state *mr, const char *tag, uint64_t a, size_t alen,
			 const void *b, size_t blen)
{
	uint8_t rec[64] = { 0 };

	memcpy(rec, tag, strlen(tag));
	memcpy(rec + 8, &a, alen);
	memcpy(rec + 8 + alen, b, blen);
	sha256_update(mr, rec, sizeof(rec));
}

/* EINIT of the prologue's enclave with a SIGSTRUCT carrying the measurement @mr saw. */
static void sf_einit(struct sf *s, struct sha256_state *mr)
{
	static const uint8_t h1[12] = SGX_SIGSTRUCT_HEADER1;
	static const uint8_t h2[16] = SGX_SIGSTRUCT_HEADER2;
	static struct sgx_sigstruct ss;

	memset(&ss, 0, sizeof(ss));
	memcpy(ss.header1, h1, sizeof(h1));
	memcpy(ss.header2, h2, sizeof(h2));
	ss.vendor = 0x8086;
	ss.exponent = 3;
	sha256_final(mr, ss.enclave_hash);
	if (mv_user_write(s->t, s->ram + 0x3000, &ss, sizeof(ss)))
		abort();
	sf_encls_ok(s, SGX_EINIT, 0x3000, SF_EPC_GPA, 0x5000);
}

/*
 * An enclave of two regular pages and a VA page, built by ECREATE, EADD
 * and EPA from well-formed structures: a SECS of 8 KiB at 0x10000000,
 * debug or not; initialised by EINIT when @init (so EAUG, EMODPR, EMODT
 * and EDBGRD/EDBGWR can succeed).
 */
static void sf_build_enclave(struct sf *s, bool debug, bool init)
{
	struct sgx_secs secs = { .size = 2 * SF_PG, .base = 0x10000000, .ssa_frame_size = 1,
				 .attributes = SGX_ATTR_MODE64BIT | (debug ? SGX_ATTR_DEBUG : 0) };
	struct sgx_secinfo si = { .flags = SGX_SECINFO_SECS };
	struct sgx_pageinfo pi = { .contents = 0x2000, .metadata = 0x1040 };
	struct sha256_state mr;

	if (mv_user_write(s->t, s->ram + 0x2000, &secs, sizeof(secs)) ||
	    mv_user_write(s->t, s->ram + 0x1040, &si, sizeof(si)) ||
	    mv_user_write(s->t, s->ram + 0x1000, &pi, sizeof(pi)))
		abort();
	sf_encls_ok(s, SGX_ECREATE, 0x1000, SF_EPC_GPA, 0);
	sha256_init(&mr);
	sf_mr_record(&mr, "ECREATE", secs.ssa_frame_size, 4, &secs.size, 8);
	si.flags = SGX_SECINFO_REG | SGX_SECINFO_R | SGX_SECINFO_W;
	for (uint64_t i = 0; i < 2; i++) {
		pi = (struct sgx_pageinfo){ .addr = secs.base + i * SF_PG, .contents = 0x4000,
					    .metadata = 0x1040, .secs = SF_EPC_GPA };
		if (mv_user_write(s->t, s->ram + 0x1040, &si, sizeof(si)) ||
		    mv_user_write(s->t, s->ram + 0x1000, &pi, sizeof(pi)))
			abort();
		sf_encls_ok(s, SGX_EADD, 0x1000, SF_EPC_GPA + (1 + i) * SF_PG, 0);
		sf_mr_record(&mr, "EADD", i * SF_PG, 8, &si, 48);
	}
	sf_encls_ok(s, SGX_EPA, SGX_PAGE_TYPE_VA, SF_EPC_GPA + 5 * SF_PG, 0);
	if (init)
		sf_einit(s, &mr);
}

static void sf_step(struct sf *s)
{
	struct hw_epc *epc = s->m->hw.epc;
	unsigned int op = (unsigned int)fz_u(&s->in, 1) % 8;
	long r;

	switch (op) {
	case 0:
	case 1:
		sf_write_struct(s);
		break;
	case 2:
	case 3:
	case 4:
		sf_encls(s);
		break;
	case 5: {
		int i = (int)(fz_u(&s->in, 1) & 1);

		if (s->vepc[i] < 0)
			break;
		r = sf_ioctl(s, s->vepc[i], SGX_IOC_VEPC_REMOVE_ALL, 0);
		if (r < 0 && r != -EBUSY)
			abort();
		break;
	}
	case 6:
		if (s->vepc[1] < 0)
			sf_vepc_open(s, 1);
		else
			sf_vepc_drop(s, 1);
		break;
	default: {
		uint64_t pa;

		if (!sgx_vepc_lookup(s->t, s->vepc[0], fz_u(&s->in, 1) % SF_VEPC_PAGES, &pa))
			(void)hw_epc_set_threads(epc, pa, (uint32_t)(fz_u(&s->in, 1) & 1));
	}
	}
	if (hw_epc_check(epc))
		abort();
}

static void sf_threads_off(struct sf *s)
{
	struct hw_epc *epc = s->m->hw.epc;

	for (uint64_t i = 0; i < epc->nr_pages; i++)
		(void)hw_epc_set_threads(epc, hw_epc_pa(epc, i), 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mv_machine_config cfg = { .ram_bytes = 32ull << 20,
					 .epc_bytes = SF_EPC_PAGES * SF_PG };
	struct mv_machine_stats st;
	struct sf s = { .in = { data, size }, .vepc = { -1, -1 } };
	uint64_t first;
	int kvm;

	if (mv_machine_create(&cfg, &s.m))
		return 0;
	if (mv_task_spawn(s.m, &s.t))
		abort();
	kvm = (int)mv_syscall(s.t, MV_SYS_openat, (uint64_t)AT_FDCWD,
			      (uint64_t)(uintptr_t)"/dev/kvm", O_RDWR, 0, 0, 0);
	s.vm = (int)sf_ioctl(&s, kvm, KVM_CREATE_VM, 0);
	s.ram = (uint64_t)mv_syscall(s.t, MV_SYS_mmap, 0, SF_RAM, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0);
	if (kvm < 0 || s.vm < 0 || (long)s.ram < 0)
		abort();
	sf_region(&s, 0, 0, SF_RAM, s.ram);
	first = fz_u(&s.in, 1);
	if (first & 1) {   /* host oversubscription: the EPC is smaller than two vEPCs */
		struct kvm_enable_cap cap = { .cap = KVM_CAP_SGX_EPC_LIMIT,
					      .args = { 0, KVM_SGX_EPC_RECLAIM } };

		if (sf_ioctl(&s, s.vm, KVM_ENABLE_CAP, (uint64_t)(uintptr_t)&cap))
			abort();
	}
	sf_vepc_open(&s, 0);
	s.vcpu = (int)sf_ioctl(&s, s.vm, KVM_CREATE_VCPU, 0);
	s.run = mv_vcpu_run_area(s.t, s.vcpu);
	if (s.vcpu < 0 || !s.run)
		abort();
	if (first & 2)
		sf_build_enclave(&s, first & 4, first & 8);
	for (int n = 0; n < 64 && fz_more(&s.in); n++)
		sf_step(&s);
	sf_threads_off(&s);
	sf_vepc_drop(&s, 0);
	sf_vepc_drop(&s, 1);
	mv_machine_get_stats(s.m, &st);
	if (st.epc_pages_free != SF_EPC_PAGES || st.epc_zombie_secs || hw_epc_check(s.m->hw.epc))
		abort();
	mv_machine_destroy(s.m);
	return 0;
}
