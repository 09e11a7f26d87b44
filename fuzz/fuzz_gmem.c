/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for KVM_CREATE_GUEST_MEMFD: struct
 * kvm_create_guest_memfd taken whole from the input (size, flags, the
 * reserved words), sometimes with the size or flags pulled towards valid
 * ones, and then the file it makes, as a VMM would use it: mmap'ed and
 * touched (GUEST_MEMFD_FLAG_MMAP), fallocate'd and punched with any mode,
 * offset and length, truncated, read and written, bound to memslots whose
 * pages the guest then touches (with private attributes on a
 * KVM_X86_SW_PROTECTED_VM), closed while bound; and 2 or 4 MiB files
 * bound so that the guest's faults map 2 MiB leaves, which punches,
 * conversions and memslot changes must then split or zap.
 *
 * Rules: a guest_memfd is made exactly when size and flags are valid for
 * the VM type; every call answers a value or an errno; the memory map
 * stays what the memslot calls made; no frame outlives the VMM.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fz_vm.h"

#define FZ_GMEM_MAPS 4
#define FZ_HUGE      (2ull << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz_gmem {
	struct fz_vm *v;
	uint64_t map[FZ_GMEM_MAPS];   /* the VMM's mappings of guest_memfds */
	unsigned int nmap;
};

static void fz_gmem_create_raw(struct fz_gmem *z)
{
	struct fz_vm *v = z->v;
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);
	uint64_t supported = GUEST_MEMFD_FLAG_MMAP;
	struct kvm_create_guest_memfd g;
	bool valid;
	long fd;

	fz_bytes(&v->in, &g, sizeof(g));
	if (sel & 1)
		g.size = g.size % 257 * FZ_PAGE;
	if (sel & 2)
		g.flags &= 3;
	if (v->type != KVM_X86_SW_PROTECTED_VM)
		supported |= GUEST_MEMFD_FLAG_INIT_SHARED;
	valid = g.size && !(g.size & (FZ_PAGE - 1)) && (int64_t)g.size > 0 &&
		!(g.flags & ~supported);
	fd = fz_ioctl(v, v->vm, KVM_CREATE_GUEST_MEMFD, &g);
	if (fd >= 0 && !valid)
		abort();
	if (valid && v->vm >= 0 && fd < 0 && fd != -ENOMEM && fd != -EMFILE)
		abort();
	fz_vm_gmem_install(v, sel / 4 % FZ_GMEMS, fd);
}

/* mmap of a guest_memfd; a mapping that works may back a memslot too. */
static void fz_gmem_mmap(struct fz_gmem *z)
{
	struct fz_vm *v = z->v;
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);
	uint64_t len = (fz_u(&v->in, 1) % 16 + 1) * FZ_PAGE, off = (fz_u(&v->in, 1) % 16) * FZ_PAGE;
	long a = fz_syscall(v, MV_SYS_mmap, 0, len, sel & 4 ? PROT_READ | PROT_WRITE : PROT_READ,
			    sel & 8 ? MAP_PRIVATE : MAP_SHARED, (uint64_t)v->gmem[sel % FZ_GMEMS],
			    off);
	struct kvm_userspace_memory_region2 mem = {
		.slot = 8 + z->nmap % 4,
		.guest_phys_addr = fz_vm_gpa(v),
		.memory_size = len,
	};

	if (a < 0)
		return;
	z->map[z->nmap++ % FZ_GMEM_MAPS] = (uint64_t)a;
	if (sel & 16) {
		mem.userspace_addr = (uint64_t)a;
		fz_vm_set_region(v, &mem, sel & 32);
	}
}

/* The VMM touches a guest_memfd mapping (or unmaps it). */
static void fz_gmem_touch(struct fz_gmem *z)
{
	struct fz_vm *v = z->v;
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);
	uint64_t a = z->nmap ? z->map[sel % (z->nmap < FZ_GMEM_MAPS ? z->nmap : FZ_GMEM_MAPS)] : 0;
	uint64_t off = (fz_u(&v->in, 1) % 16) * FZ_PAGE + (sel & 0xf0);
	struct mv_siginfo si;
	uint8_t buf[96];

	if (!a)
		return;
	if (sel & 1) {
		memset(buf, (int)sel, sizeof(buf));
		fz_check_ret(mv_user_write(v->t, a + off, buf, sizeof(buf)));
	} else if (sel & 2) {
		fz_check_ret(mv_user_read(v->t, a + off, buf, sizeof(buf)));
	} else {
		fz_syscall(v, MV_SYS_munmap, a + (off & ~(FZ_PAGE - 1)), FZ_PAGE, 0, 0, 0, 0);
	}
	while (mv_task_take_signal(v->t, &si) == 1)
		;
}

/* The file calls with any arguments: fallocate, ftruncate, pread, pwrite, fstat. */
static void fz_gmem_file(struct fz_gmem *z)
{
	struct fz_vm *v = z->v;
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);
	uint64_t fd = (uint64_t)v->gmem[sel % FZ_GMEMS];
	uint64_t off = sel & 8 ? fz_u(&v->in, 8) : fz_u(&v->in, 1) * FZ_PAGE;
	uint64_t len = sel & 16 ? fz_u(&v->in, 8) : (fz_u(&v->in, 1) + 1) * FZ_PAGE;
	uint8_t buf[256];
	struct stat st;

	switch (sel / 32 % 5) {
	case 0:
	case 1:
		fz_syscall(v, MV_SYS_fallocate, fd, fz_u(&v->in, 1) % 128, off, len, 0, 0);
		break;
	case 2:
		fz_syscall(v, MV_SYS_ftruncate, fd, off, 0, 0, 0, 0);
		break;
	case 3:
		fz_syscall(v, sel & 1 ? MV_SYS_pwrite64 : MV_SYS_pread64, fd,
			   (uint64_t)(uintptr_t)buf, len % sizeof(buf), off, 0, 0);
		break;
	default:
		fz_syscall(v, MV_SYS_fstat, fd, (uint64_t)(uintptr_t)&st, 0, 0, 0, 0);
		break;
	}
}

/*
 * A guest_memfd of 2 or 4 MiB bound over the first 2 MiB of guest memory
 * (where the guest's accesses go), the slots there deleted first; gfns and
 * file offset (0 or 2 MiB) are 2 MiB-congruent and the slot logs nothing,
 * so the guest's faults map 2 MiB leaves (kvm_mmu_hugepage_adjust). A
 * software-protected VM's 2 MiB are made private whole: its shared pages
 * come from the VMM, mapped 4 KiB. The checks are the shared ones (the
 * memory map after each change, the exits, no frame left at the end).
 */
static void fz_gmem_huge(struct fz_gmem *z)
{
	struct fz_vm *v = z->v;
	unsigned int sel = (unsigned int)fz_u(&v->in, 1);
	bool sw = v->type == KVM_X86_SW_PROTECTED_VM;
	struct kvm_create_guest_memfd g = {
		.size = (sel & 1 ? 2 : 1) * FZ_HUGE,
		.flags = sw ? 0 : GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED,
	};
	struct kvm_userspace_memory_region2 mem = {
		.slot = 12 + sel / 4 % 4, .flags = KVM_MEM_GUEST_MEMFD, .memory_size = FZ_HUGE,
		.guest_memfd_offset = (sel & 3) == 3 ? FZ_HUGE : 0,
	};
	struct kvm_memory_attributes a = {
		.size = FZ_HUGE, .attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE,
	};
	long fd = fz_ioctl(v, v->vm, KVM_CREATE_GUEST_MEMFD, &g);

	if (fd < 0)
		return;
	fz_vm_gmem_install(v, sel / 16 % FZ_GMEMS, fd);
	/* downwards: a deletion moves the last shadow slot into the hole */
	for (unsigned int i = v->nslots; i-- > 0;) {
		if (v->slot[i].gfn < FZ_HUGE / FZ_PAGE) {
			struct kvm_userspace_memory_region2 del = { .slot = v->slot[i].id };

			fz_vm_set_region(v, &del, !v->seed);
		}
	}
	mem.guest_memfd = (uint32_t)fd;
	if (fz_vm_set_region(v, &mem, !v->seed) == 0 && sw && !(sel & 32))
		fz_vm_set_attributes(v, &a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_vm v;
	struct fz_gmem z = { .v = &v };

	fz_vm_start(&v, data, size);
	while (fz_more(&v.in)) {
		unsigned int op = (unsigned int)fz_u(&v.in, 1);

		if (op < 48)
			fz_gmem_create_raw(&z);
		else if (op < 64)
			fz_gmem_mmap(&z);
		else if (op < 80)
			fz_gmem_touch(&z);
		else if (op < 112)
			fz_gmem_file(&z);
		else if (op < 120)
			fz_gmem_huge(&z);
		else
			fz_vm_support(&v, op);
	}
	fz_vm_finish(&v);
	return 0;
}
