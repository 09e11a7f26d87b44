/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for KVM_ARM_MTE_COPY_TAGS: struct
 * kvm_arm_copy_mte_tags taken whole from the input (guest_ipa, length,
 * flags, reserved), sometimes pulled towards a slot that exists, a small
 * page-aligned length and a known direction; the tag buffer is the
 * harness's (exactly length / 16 bytes, or a pointer the kernel must
 * refuse), between KVM_CAP_ARM_MTE being enabled or not, guest programs
 * (whose STG/LDG work once it is), dirty logging and the other supporting
 * operations.
 *
 * Rules: the answer is -EINVAL exactly for the argument errors
 * kvm_vm_ioctl_mte_copy_tags checks first (MTE off, reserved, flags,
 * alignment, length > INT_MAX), -EBUSY for TO_GUEST while a slot logs
 * dirty pages; otherwise whole pages of guest memory done, never more than
 * asked and never past the first page without a slot, or -EFAULT when no
 * page was; every tag read is four bits; tags written TO_GUEST read back
 * the same FROM_GUEST (no guest runs in between); no frame outlives the
 * VMM.
 */
#include <stdlib.h>
#include <string.h>

#include "fz_vm.h"

#define FZ_TAG_PAGES 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool fz_mte_logging(const struct fz_vm *v)
{
	for (unsigned int i = 0; i < v->nslots; i++)
		if (v->slot[i].flags & KVM_MEM_LOG_DIRTY_PAGES)
			return true;
	return false;
}

/* Pages from @ipa that slots back without a gap: the most a copy can do. */
static uint64_t fz_mte_backed(struct fz_vm *v, uint64_t ipa, uint64_t pages)
{
	uint64_t n = 0;

	while (n < pages && fz_slot_at(v, ipa / FZ_PAGE + n))
		n++;
	return n;
}

/* The ioctl with a buffer of exactly the tags @ct needs; the answer checked. */
static long fz_mte_copy(struct fz_vm *v, struct kvm_arm_copy_mte_tags *ct, uint8_t *buf,
			bool bad_buf)
{
	bool write = !(ct->flags & KVM_ARM_TAGS_FROM_GUEST);
	bool einval = !v->mte || ct->reserved[0] || ct->reserved[1] || (ct->flags & ~1ull) ||
		      ((ct->guest_ipa | ct->length) & (FZ_PAGE - 1)) || ct->length > 0x7fffffffu;
	long r = fz_ioctl(v, v->vm, KVM_ARM_MTE_COPY_TAGS, ct);

	if (v->vm < 0)
		return r;
	if (einval != (r == -EINVAL))
		abort();
	if (einval)
		return r;
	if (write && fz_mte_logging(v)) {
		if (r != -EBUSY)
			abort();
		return r;
	}
	if (r == -EBUSY || (r == 0 && ct->length))
		abort();   /* no logging to be busy for; a length of pages does something or fails */
	if (r > 0) {
		uint64_t pages = ct->length / FZ_PAGE;

		if ((uint64_t)r > ct->length || (r & (FZ_PAGE - 1)) || bad_buf ||
		    (uint64_t)r / FZ_PAGE > fz_mte_backed(v, ct->guest_ipa, pages))
			abort();
		for (uint64_t i = 0; !write && buf && i < (uint64_t)r / 16; i++)
			if (buf[i] > 15)
				abort();   /* a tag is four bits */
	} else if (r && r != -EFAULT && r != -ENOMEM) {
		abort();
	}
	return r;
}

static void fz_mte_raw(struct fz_vm *v)
{
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);
	struct kvm_arm_copy_mte_tags ct;
	uint8_t *buf = NULL;
	bool bad = false;

	fz_bytes(&v->in, &ct, sizeof(ct));
	if (sel & 1)
		ct.guest_ipa = fz_vm_gpa(v) & ~(FZ_PAGE - 1);
	if (sel & 2)
		ct.length = (ct.length % FZ_TAG_PAGES) * FZ_PAGE;
	if (sel & 4)
		ct.flags &= 1;
	if (sel & 8)
		ct.reserved[0] = ct.reserved[1] = 0;
	if (ct.length <= FZ_TAG_PAGES * FZ_PAGE && !(sel & 16)) {
		buf = malloc(ct.length / 16 + 1);   /* +1: malloc(0) may be NULL */
		if (!buf)
			abort();
		memset(buf, (int)fz_u(&v->in, 1), ct.length / 16 + 1);
		ct.addr = buf;
	} else {
		ct.addr = (void *)(uintptr_t)fz_bad_ptr(sel / 32);
		bad = true;
	}
	fz_mte_copy(v, &ct, buf, bad && ct.length);
	free(buf);
}

/* TO_GUEST, then FROM_GUEST over the pages done: the same tags (nibbles). */
static void fz_mte_round_trip(struct fz_vm *v)
{
	uint64_t pages = fz_u(&v->in, 1) % FZ_TAG_PAGES + 1;
	struct kvm_arm_copy_mte_tags ct = {
		.guest_ipa = fz_vm_gpa(v) & ~(FZ_PAGE - 1), .length = pages * FZ_PAGE,
	};
	uint8_t in[FZ_TAG_PAGES * 256], out[FZ_TAG_PAGES * 256];
	long r, r2;

	fz_bytes(&v->in, in, pages * 256);
	ct.addr = in;
	r = fz_mte_copy(v, &ct, in, false);
	if (r <= 0)
		return;
	ct.length = (uint64_t)r;
	ct.flags = KVM_ARM_TAGS_FROM_GUEST;
	ct.addr = out;
	r2 = fz_mte_copy(v, &ct, out, false);
	if (r2 != r) {
		/*
		 * Only a page whose VMA is write-only stops the read-back: the
		 * write pinned it, a read pin refuses it (check_vma_flags wants
		 * VM_READ). It must refuse it again on its own; what went before
		 * it reads back.
		 */
		struct kvm_arm_copy_mte_tags one = {
			.guest_ipa = ct.guest_ipa + (r2 > 0 ? (uint64_t)r2 : 0), .length = FZ_PAGE,
			.flags = KVM_ARM_TAGS_FROM_GUEST, .addr = out + (r2 > 0 ? r2 / 16 : 0),
		};

		if (r2 > r || (r2 < 0 && r2 != -EFAULT) || fz_mte_copy(v, &one, NULL, false) != -EFAULT)
			abort();
		r = r2 > 0 ? r2 : 0;
	}
	for (long i = 0; i < r / 16; i++)
		if (out[i] != (in[i] & 15))
			abort();
}

static void fz_mte_enable(struct fz_vm *v)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_MTE };
	bool vcpus = false;
	long r;

	for (unsigned int i = 0; i < FZ_VCPUS; i++)
		vcpus = vcpus || v->vcpu[i].generation;
	r = fz_vm_enable_cap(v, v->vm, &cap);
	if (v->vm >= 0 && r != (vcpus ? -EINVAL : 0))
		abort();   /* before any vCPU exists, and only then */
}

static void fz_mte_refused(struct fz_vm *v)
{
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);
	long r;

	if (v->vm < 0)
		return;
	r = fz_syscall(v, MV_SYS_ioctl, (uint64_t)v->vm, KVM_ARM_MTE_COPY_TAGS, fz_bad_ptr(sel), 0, 0,
		       0);
	if (r != -EFAULT)
		abort();   /* the struct itself cannot be read */
}

static const struct fz_op fz_mte_ops[] = {
	{ 24, fz_mte_enable },
	{ 88, fz_mte_raw },
	{ 128, fz_mte_round_trip },
	{ 136, fz_mte_refused },
	{ 0, NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_vm_drive(data, size, fz_mte_ops);
}
