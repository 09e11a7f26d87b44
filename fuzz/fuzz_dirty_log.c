/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for KVM_GET_DIRTY_LOG: struct kvm_dirty_log's slot
 * taken from the input, address-space half included (the bitmap pointer
 * is the harness's:
 * a buffer of exactly the slot's bitmap size, or one the kernel must
 * refuse), between guest programs writing into logged, read-only and
 * unlogged slots, logging switched on and off, slots moved and deleted,
 * and the VMM's pages dropped under the guest.
 *
 * Rules: the answer is the one the shadow predicts (-EINVAL, -ENOENT,
 * -EFAULT or 0); a harvest reports every page the guest wrote into a
 * logged slot since the last one and nothing past the slot's end; a second
 * harvest with nothing run in between finds nothing; no frame outlives
 * the VMM.
 */
#include <stdlib.h>

#include "fz_vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_dirty_raw(struct fz_vm *v)
{
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);
	uint32_t id = (uint32_t)fz_u(&v->in, 4);

	/* most of the time a slot that exists, so that there is something to harvest */
	if (sel < 192 && v->nslots)
		id = v->slot[id % v->nslots].id | (sel & 1 ? 0 : id & 0xffff0000u);
	else if (sel < 224)
		id %= 16;
	fz_vm_dirty_log(v, id, sel % 16 < 12 ? sel % 2 : sel % 16 - 10);
}

static void fz_dirty_refused(struct fz_vm *v)
{
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);
	struct fz_vcpu *c;

	switch (sel % 3) {
	case 0:
		if (v->vm >= 0)
			fz_check_foreign_cmd(v, v->vm, KVM_GET_DIRTY_LOG, (unsigned int)fz_u(&v->in, 1),
					     -ENOTTY);
		break;
	case 1:
		if (fz_syscall(v, MV_SYS_ioctl, (uint64_t)v->kvm, KVM_GET_DIRTY_LOG, 0, 0, 0, 0) !=
		    -EINVAL)
			abort();
		break;
	default:
		c = fz_vm_vcpu(v, sel / 4);
		if (c && fz_syscall(v, MV_SYS_ioctl, (uint64_t)c->fd, KVM_GET_DIRTY_LOG, 0, 0, 0, 0) !=
				 -EINVAL)
			abort();
		break;
	}
}

static const struct fz_op fz_dirty_log_ops[] = {
	{ 64, fz_dirty_raw },
	{ 72, fz_dirty_refused },
	{ 0, NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_vm_drive(data, size, fz_dirty_log_ops);
}
