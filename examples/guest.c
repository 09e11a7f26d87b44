/* SPDX-License-Identifier: MIT */
/*
 * guest: a small VMM on the memvisor library. Built against the installed
 * library
 *   cc guest.c $(pkg-config --cflags --libs memvisor) -o guest
 * it does what a KVM VMM does, through the simulated kernel's /dev/kvm: it
 * creates a VM, gives it 64 KiB of its own memory as memslot 0, creates a
 * vCPU and runs it with KVM_RUN, handling each exit. The vCPU runs a guest
 * program, a C function set with mv_vcpu_set_guest(), whose loads and
 * stores go through the VM's stage-2 page tables like a real guest's: it
 * writes a message into its RAM, prints it on an MMIO console, reads a
 * device register, and makes a hypercall that KVM hands to the VMM.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <memvisor/memvisor.h>

#define GUEST_RAM      0x10000ull       /* 64 KiB of guest RAM at GPA 0 */
#define GUEST_MESSAGE  0x2000ull        /* where the guest writes its message */
#define GUEST_RESULT   0x3000ull        /* and what it learnt */
#define CONSOLE_DATA   0x10000000ull    /* no memslot here: MMIO */
#define CONSOLE_ID     0x10000004ull
#define CONSOLE_ID_VAL 0x6d76u          /* "mv" */

static const char message[] = "hello from the guest";

/* What the guest program learnt, left in its RAM for the VMM to find. */
struct guest_result {
	uint32_t device_id;
	int32_t hypercall;
};

/*
 * The guest program. It runs on the vCPU when the VMM calls KVM_RUN; every
 * access that needs the VMM (MMIO, the forwarded hypercall) makes KVM_RUN
 * return, and the next KVM_RUN resumes it right there. Paging is off, so
 * addresses are guest-physical. Returning halts the vCPU.
 */
static void guest_main(struct mv_guest *g, void *arg)
{
	struct guest_result res = { 0 };
	char back[sizeof(message)];

	(void)arg;
	if (mv_guest_write(g, GUEST_MESSAGE, message, sizeof(message)) ||
	    mv_guest_read(g, GUEST_MESSAGE, back, sizeof(back)) || memcmp(back, message, sizeof(back)))
		return;
	for (size_t i = 0; i < sizeof(message) - 1; i++)
		mv_guest_write(g, CONSOLE_DATA, &message[i], 1);
	mv_guest_write(g, CONSOLE_DATA, "\n", 1);
	mv_guest_read(g, CONSOLE_ID, &res.device_id, sizeof(res.device_id));
	/* ask the host to make page 4 shared: KVM leaves the decision to the VMM */
	res.hypercall = (int32_t)mv_guest_hypercall(g, KVM_HC_MAP_GPA_RANGE, 0x4000, 1, 0, 0);
	mv_guest_write(g, GUEST_RESULT, &res, sizeof(res));
}

static long vmm_ioctl(struct mv_task *vmm, long fd, unsigned long cmd, const void *arg)
{
	return mv_syscall(vmm, MV_SYS_ioctl, (uint64_t)fd, cmd, (uint64_t)(uintptr_t)arg, 0, 0, 0);
}

/* /dev/kvm, a VM, its memory, the hypercall exit, a vCPU with the program: the vCPU fd. */
static long vmm_setup(struct mv_task *vmm, long *mem)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_EXIT_HYPERCALL };
	struct kvm_userspace_memory_region slot = { .slot = 0 };
	long kvm, vm, vcpu, ret;

	kvm = mv_syscall(vmm, MV_SYS_openat, (uint64_t)AT_FDCWD, (uint64_t)(uintptr_t)"/dev/kvm",
			 O_RDWR | O_CLOEXEC, 0, 0, 0);
	if (kvm < 0)
		return kvm;
	if (vmm_ioctl(vmm, kvm, KVM_GET_API_VERSION, NULL) != KVM_API_VERSION)
		return -ENOTSUP;
	vm = vmm_ioctl(vmm, kvm, KVM_CREATE_VM, NULL);
	if (vm < 0)
		return vm;
	/* guest RAM is ordinary memory of the VMM process */
	*mem = mv_syscall(vmm, MV_SYS_mmap, 0, GUEST_RAM, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0);
	if (*mem < 0)
		return *mem;
	slot.guest_phys_addr = 0;
	slot.memory_size = GUEST_RAM;
	slot.userspace_addr = (uint64_t)*mem;
	ret = vmm_ioctl(vmm, vm, KVM_SET_USER_MEMORY_REGION, &slot);
	if (ret)
		return ret;
	cap.args[0] = 1ull << KVM_HC_MAP_GPA_RANGE;
	ret = vmm_ioctl(vmm, vm, KVM_ENABLE_CAP, &cap);
	if (ret)
		return ret;
	vcpu = vmm_ioctl(vmm, vm, KVM_CREATE_VCPU, NULL);
	if (vcpu < 0)
		return vcpu;
	ret = mv_vcpu_set_guest(vmm, (int)vcpu, guest_main, NULL);
	return ret ? ret : vcpu;
}

/* The console: one byte per write, shown line by line; a read-only id register. */
static void vmm_mmio(struct kvm_run *run, char *line, size_t *n)
{
	if (run->mmio.is_write && run->mmio.phys_addr == CONSOLE_DATA) {
		char c = (char)run->mmio.data[0];

		if (c != '\n' && *n < 63) {
			line[(*n)++] = c;
		} else if (c == '\n') {
			line[*n] = 0;
			printf("guest console: %s\n", line);
			*n = 0;
		}
		return;
	}
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	if (!run->mmio.is_write && run->mmio.phys_addr == CONSOLE_ID) {
		uint32_t id = CONSOLE_ID_VAL;

		memcpy(run->mmio.data, &id, sizeof(id));
		printf("guest read the device id at MMIO %#llx\n",
		       (unsigned long long)run->mmio.phys_addr);
	}
}

/* KVM_RUN until the guest halts. Returns the number of exits, or a negative errno. */
static long vmm_run(struct mv_task *vmm, int vcpu)
{
	struct kvm_run *run = mv_vcpu_run_area(vmm, vcpu);   /* what mmap of the vCPU fd maps */
	char line[64];
	size_t n = 0;
	long exits = 0, ret;

	if (!run)
		return -EINVAL;
	for (;;) {
		ret = vmm_ioctl(vmm, vcpu, KVM_RUN, NULL);
		if (ret < 0)
			return ret;
		exits++;
		switch (run->exit_reason) {
		case KVM_EXIT_MMIO:
			vmm_mmio(run, line, &n);
			break;
		case KVM_EXIT_HYPERCALL:
			printf("guest hypercall %llu (KVM_HC_MAP_GPA_RANGE): gpa %#llx, "
			       "%llu page(s), answered 0\n", (unsigned long long)run->hypercall.nr,
			       (unsigned long long)run->hypercall.args[0],
			       (unsigned long long)run->hypercall.args[1]);
			run->hypercall.ret = 0;
			break;
		case KVM_EXIT_HLT:
			return exits;
		default:
			fprintf(stderr, "guest: unexpected exit %u\n", run->exit_reason);
			return -EIO;
		}
	}
}

/* What the guest left in its RAM, read through the VMM's own mapping of it. */
static int vmm_check(struct mv_task *vmm, long mem, long exits)
{
	struct guest_result res;
	char text[sizeof(message)];

	if (mv_user_read(vmm, (uint64_t)mem + GUEST_MESSAGE, text, sizeof(text)) ||
	    mv_user_read(vmm, (uint64_t)mem + GUEST_RESULT, &res, sizeof(res)))
		return 1;
	printf("VMM finds \"%s\" at GPA %#llx, device id %#x, hypercall result %d\n", text,
	       (unsigned long long)GUEST_MESSAGE, res.device_id, res.hypercall);
	printf("vCPU halted after %ld exits\n", exits);
	return strcmp(text, message) || res.device_id != CONSOLE_ID_VAL || res.hypercall != 0;
}

int main(void)
{
	struct mv_machine *m = NULL;
	struct mv_task *vmm = NULL;
	long vcpu, exits, mem = 0;
	int status = 1;

	if (mv_machine_create(NULL, &m))
		return 1;
	if (mv_task_spawn(m, &vmm))
		goto out_machine;
	vcpu = vmm_setup(vmm, &mem);
	if (vcpu < 0) {
		fprintf(stderr, "guest: setting up the VM: %ld\n", vcpu);
		goto out_task;
	}
	exits = vmm_run(vmm, (int)vcpu);
	if (exits < 0) {
		fprintf(stderr, "guest: KVM_RUN: %ld\n", exits);
		goto out_task;
	}
	status = vmm_check(vmm, mem, exits);

out_task:
	mv_task_exit(vmm);   /* closes the fds: vCPU, VM, /dev/kvm */
out_machine:
	mv_machine_destroy(m);
	return status;
}
