/* SPDX-License-Identifier: MIT */
/*
 * SGX: the architectural structures ENCLS takes (Intel SDM vol. 3D,
 * chapter 34; Linux spells them in arch/x86/include/asm/sgx.h), the ENCLS
 * leaf numbers and error codes, and the virtual EPC ioctl of
 * <asm/sgx.h>. Layouts are the SDM's and are checked below.
 *
 * struct sgx_sigstruct is memvisor's flat spelling of the SDM's SIGSTRUCT
 * (Linux splits it into header and body structs); only the fields EINIT
 * looks at are named.
 */
#ifndef MEMVISOR_UAPI_SGX_H
#define MEMVISOR_UAPI_SGX_H

#include <stdint.h>

#include <memvisor/uapi/system.h>
#include <memvisor/uapi/kvm.h>   /* _IO */

#ifndef SGX_MAGIC
#define SGX_MAGIC 0xA4
#endif
#ifndef SGX_IOC_VEPC_REMOVE_ALL
#define SGX_IOC_VEPC_REMOVE_ALL _IO(SGX_MAGIC, 0x04)
#endif

/*
 * memvisor's own (beyond mainline): KVM_ENABLE_CAP on a VM with args[0] =
 * the most EPC pages the vEPCs backing its memslots may hold (0: no
 * limit), as the EPC cgroup proposal limits processes. KVM_CHECK_EXTENSION
 * answers 1 on a machine with SGX.
 */
#ifndef KVM_CAP_SGX_EPC_LIMIT
#define KVM_CAP_SGX_EPC_LIMIT 0x4d560b01
#endif
/*
 * args[1] of KVM_CAP_SGX_EPC_LIMIT: past the limit, or with the EPC full,
 * the kernel evicts another page of the faulting vEPC (EWB into host
 * memory, ELDU when touched again) instead of raising SIGBUS.
 */
#define KVM_SGX_EPC_RECLAIM (1ull << 0)

/* ENCLS leaves (RAX) */
#define SGX_ECREATE  0x00
#define SGX_EADD     0x01
#define SGX_EINIT    0x02
#define SGX_EREMOVE  0x03
#define SGX_EDBGRD   0x04
#define SGX_EDBGWR   0x05
#define SGX_EEXTEND  0x06
#define SGX_ELDB     0x07
#define SGX_ELDU     0x08
#define SGX_EBLOCK   0x09
#define SGX_EPA      0x0A
#define SGX_EWB      0x0B
#define SGX_ETRACK   0x0C
#define SGX_EAUG     0x0D
#define SGX_EMODPR   0x0E
#define SGX_EMODT    0x0F

/* What ENCLS leaves in RAX (Linux's enum sgx_return_code) */
#define SGX_SUCCESS                 0
#define SGX_INVALID_SIG_STRUCT      1
#define SGX_INVALID_ATTRIBUTE       2
#define SGX_BLKSTATE                3
#define SGX_INVALID_MEASUREMENT     4
#define SGX_NOTBLOCKABLE            5
#define SGX_PG_INVLD                6
#define SGX_EPC_PAGE_CONFLICT       7
#define SGX_INVALID_SIGNATURE       8
#define SGX_MAC_COMPARE_FAIL        9
#define SGX_PAGE_NOT_BLOCKED        10
#define SGX_NOT_TRACKED             11
#define SGX_VA_SLOT_OCCUPIED        12
#define SGX_CHILD_PRESENT           13
#define SGX_ENCLAVE_ACT             14
#define SGX_ENTRYEPOCH_LOCKED       15
#define SGX_INVALID_EINITTOKEN      16
#define SGX_PREV_TRK_INCMPL         17
#define SGX_PG_IS_SECS              18
#define SGX_PAGE_ATTRIBUTES_MISMATCH 19
#define SGX_PAGE_NOT_MODIFIABLE     20
#define SGX_PAGE_NOT_DEBUGGABLE     21

/* SECS.ATTRIBUTES */
#define SGX_ATTR_INIT          (1ull << 0)
#define SGX_ATTR_DEBUG         (1ull << 1)
#define SGX_ATTR_MODE64BIT     (1ull << 2)
#define SGX_ATTR_PROVISIONKEY  (1ull << 4)
#define SGX_ATTR_EINITTOKENKEY (1ull << 5)
#define SGX_ATTR_CET           (1ull << 6)
#define SGX_ATTR_KSS           (1ull << 7)
#define SGX_ATTR_AEXNOTIFY     (1ull << 10)
#define SGX_ATTR_RESERVED_MASK (~(SGX_ATTR_INIT | SGX_ATTR_DEBUG | SGX_ATTR_MODE64BIT | \
				  SGX_ATTR_PROVISIONKEY | SGX_ATTR_EINITTOKENKEY | \
				  SGX_ATTR_CET | SGX_ATTR_KSS | SGX_ATTR_AEXNOTIFY))

/* SECINFO.FLAGS: permissions and the page type in bits 15:8 */
#define SGX_SECINFO_R          (1ull << 0)
#define SGX_SECINFO_W          (1ull << 1)
#define SGX_SECINFO_X          (1ull << 2)
#define SGX_SECINFO_PERMISSION_MASK (SGX_SECINFO_R | SGX_SECINFO_W | SGX_SECINFO_X)
#define SGX_SECINFO_PAGE_TYPE_SHIFT 8
#define SGX_SECINFO_PAGE_TYPE_MASK  (0xffull << SGX_SECINFO_PAGE_TYPE_SHIFT)
#define SGX_PAGE_TYPE_SECS 0
#define SGX_PAGE_TYPE_TCS  1
#define SGX_PAGE_TYPE_REG  2
#define SGX_PAGE_TYPE_VA   3
#define SGX_PAGE_TYPE_TRIM 4
#define SGX_SECINFO_SECS (0ull << SGX_SECINFO_PAGE_TYPE_SHIFT)
#define SGX_SECINFO_TCS  (1ull << SGX_SECINFO_PAGE_TYPE_SHIFT)
#define SGX_SECINFO_REG  (2ull << SGX_SECINFO_PAGE_TYPE_SHIFT)
#define SGX_SECINFO_VA   (3ull << SGX_SECINFO_PAGE_TYPE_SHIFT)
#define SGX_SECINFO_TRIM (4ull << SGX_SECINFO_PAGE_TYPE_SHIFT)
#define SGX_SECINFO_RESERVED_MASK (~(SGX_SECINFO_PERMISSION_MASK | SGX_SECINFO_PAGE_TYPE_MASK))

#define SGX_SSA_GPRS_SIZE 184
#define SGX_SECS_RESERVED1_SIZE 24
#define SGX_SECS_RESERVED2_SIZE 32
#define SGX_SECS_RESERVED3_SIZE 32
#define SGX_SECS_RESERVED4_SIZE 3834

/* The SGX Enclave Control Structure: one 4 KiB page, the enclave's identity. */
struct sgx_secs {
	uint64_t size;
	uint64_t base;
	uint32_t ssa_frame_size;
	uint32_t miscselect;
	uint8_t  reserved1[SGX_SECS_RESERVED1_SIZE];
	uint64_t attributes;
	uint64_t xfrm;
	uint32_t mrenclave[8];
	uint8_t  reserved2[SGX_SECS_RESERVED2_SIZE];
	uint32_t mrsigner[8];
	uint8_t  reserved3[SGX_SECS_RESERVED3_SIZE];
	uint32_t config_id[16];
	uint16_t isv_prod_id;
	uint16_t isv_svn;
	uint16_t config_svn;
	uint8_t  reserved4[SGX_SECS_RESERVED4_SIZE];
} __attribute__((packed, aligned(4096)));

/* Operand of ECREATE, EADD and EAUG: linear addresses in the issuer's space. */
struct sgx_pageinfo {
	uint64_t addr;       /* LINADDR: the page's address in the enclave */
	uint64_t contents;   /* SRCPGE: the source page */
	uint64_t metadata;   /* SECINFO (or PCMD for EWB/ELDU) */
	uint64_t secs;       /* the enclave's SECS page in the EPC */
} __attribute__((packed, aligned(32)));

struct sgx_secinfo {
	uint64_t flags;
	uint8_t  reserved[56];
} __attribute__((packed, aligned(64)));

/* PCMD: what EWB writes beside an evicted page, and ELDU checks (128 bytes). */
struct sgx_pcmd {
	struct sgx_secinfo secinfo;
	uint64_t enclave_id;
	uint8_t  reserved[40];
	uint8_t  mac[16];
} __attribute__((packed, aligned(128)));

/* SIGSTRUCT, 1808 bytes; EINIT reads the headers, the body and the exponent. */
struct sgx_sigstruct {
	uint8_t  header1[12];
	uint32_t type;
	uint32_t vendor;             /* 0 or 0x8086 */
	uint32_t date;
	uint8_t  header2[16];
	uint32_t swdefined;
	uint8_t  reserved1[84];
	uint8_t  modulus[384];
	uint32_t exponent;           /* 3 */
	uint8_t  signature[384];
	uint32_t miscselect;
	uint32_t misc_mask;
	uint8_t  reserved2[20];
	uint64_t attributes;
	uint64_t xfrm;
	uint64_t attributes_mask;
	uint64_t xfrm_mask;
	uint8_t  enclave_hash[32];   /* the MRENCLAVE EINIT must find */
	uint8_t  reserved3[32];
	uint16_t isv_prod_id;
	uint16_t isv_svn;
	uint8_t  reserved4[12];
	uint8_t  q1[384];
	uint8_t  q2[384];
} __attribute__((packed));

/* The fixed header bytes of a well-formed SIGSTRUCT. */
#define SGX_SIGSTRUCT_HEADER1 { 0x06, 0x00, 0x00, 0x00, 0xE1, 0x00, 0x00, 0x00, \
				0x00, 0x00, 0x01, 0x00 }
#define SGX_SIGSTRUCT_HEADER2 { 0x01, 0x01, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00, \
				0x60, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00 }

MV_UAPI_ASSERT(sizeof(struct sgx_secs) == 4096, "SECS is one page");
MV_UAPI_ASSERT(__builtin_offsetof(struct sgx_secs, attributes) == 48, "SECS.ATTRIBUTES at 48");
MV_UAPI_ASSERT(__builtin_offsetof(struct sgx_secs, mrenclave) == 64, "SECS.MRENCLAVE at 64");
MV_UAPI_ASSERT(__builtin_offsetof(struct sgx_secs, isv_prod_id) == 256, "SECS.ISVPRODID at 256");
MV_UAPI_ASSERT(sizeof(struct sgx_pageinfo) == 32, "PAGEINFO is 32 bytes");
MV_UAPI_ASSERT(sizeof(struct sgx_secinfo) == 64, "SECINFO is 64 bytes");
MV_UAPI_ASSERT(sizeof(struct sgx_pcmd) == 128, "PCMD is 128 bytes");
MV_UAPI_ASSERT(sizeof(struct sgx_sigstruct) == 1808, "SIGSTRUCT is 1808 bytes");
MV_UAPI_ASSERT(__builtin_offsetof(struct sgx_sigstruct, miscselect) == 900, "SIGSTRUCT body at 900");
MV_UAPI_ASSERT(__builtin_offsetof(struct sgx_sigstruct, enclave_hash) == 960,
	       "SIGSTRUCT.ENCLAVEHASH at 960");

#endif
