/* SPDX-License-Identifier: MIT */
/*
 * What the KVM harnesses share: a reader over the fuzz input, a machine
 * with a VMM task, /dev/kvm and one VM built from the input's first byte,
 * and a shadow of what the harness has made the VM do (memslots, memory
 * attributes, the hypercall exit capability, guest writes into logged
 * slots). The shadow is what the checks compare against: after a memslot
 * or attribute change the VM's memory map must be exactly what the
 * shadow says, every exit of KVM_RUN must be one the shadow allows, and
 * once the VMM has exited no frame may be left in use.
 *
 * Each harness drives one uAPI surface with structures taken raw from
 * the input (fz_*_raw in the harness) and uses the support operations
 * here (fz_vm_support) to put the VM in states where that surface does
 * something: memslots to back the guest, a guest program to run, faults
 * on the VMM's mappings, guest_memfd bindings. Everything is driven by
 * the input alone, so a crashing input replays exactly.
 *
 * Host pointers in structures (kvm_dirty_log.dirty_bitmap) and fds are
 * never taken from the input: the harness passes valid ones or ones the
 * kernel must refuse (fz_bad_ptr), as a VMM could, and never a short
 * buffer, which no kernel can detect. One of those runs over the top of
 * user space; the page below the top is the harness's own (mapped on
 * first use), so an ioctl that copies up to the fault has somewhere to
 * copy.
 */
#ifndef MV_FUZZ_FZ_VM_H
#define MV_FUZZ_FZ_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memvisor/memvisor.h>

#define FZ_PAGE       4096ull
#define FZ_VCPUS      2
#define FZ_GMEMS      2
#define FZ_MAPS       3
#define FZ_MAP_PAGES  32
#define FZ_SLOTS      64        /* shadowed memslots; more are not attempted */
#define FZ_ATTRS      32        /* shadowed attribute writes */
#define FZ_DIRTY      32        /* remembered guest writes per slot */
#define FZ_LOW_PAGES  512       /* biased GPAs: the first 2 MiB */
#define FZ_HOLE_GPA   (3ull << 30)   /* biased picks never put a slot here */
#define FZ_VCPU_MAPS  32        /* remembered VMM mappings of vCPU fds */
#define FZ_CR0_PG     (1ull << 31)
#define FZ_MAX_GFN    ((1ull << (46 - 12)) - 1)   /* kvm_mmu_max_gfn: MAXPHYADDR 46 */

struct fz_in {
	const uint8_t *p;
	size_t left;
};

/* @bytes (0-8) bytes of input, little-endian; 0 once the input is used up. */
uint64_t fz_u(struct fz_in *in, unsigned int bytes);
/* @n bytes of input into @dst, zeroes past its end. */
void fz_bytes(struct fz_in *in, void *dst, size_t n);

static inline bool fz_more(const struct fz_in *in)
{
	return in->left != 0;
}

struct fz_slot {
	uint32_t id;
	uint32_t flags;
	uint64_t gfn, npages, uaddr;
	unsigned int ndirty;            /* guest writes since the last harvest */
	uint64_t dirty[FZ_DIRTY];      /* slot-relative page numbers */
};

struct fz_attr {
	uint64_t start, end, attrs;     /* gfns [start, end) */
};

enum fz_pending { FZ_PEND_NONE, FZ_PEND_MMIO_READ, FZ_PEND_HYPERCALL };

struct fz_vm;

struct fz_vcpu {
	struct fz_vm *v;
	int fd;                         /* -1: not created, or closed */
	struct kvm_run *run;
	uint64_t steps;                 /* guest operations begun */
	unsigned int generation;        /* vCPUs created in this slot: the next id */
	bool cpl3;                      /* SS.DPL 3 set through KVM_SET_SREGS */
	unsigned int sregs_gen;         /* KVM_SET_SREGS calls that took, and sync-regs loads */
	bool exc_maybe;                 /* an exception may be queued for the guest */
	uint64_t mmio_next;             /* where a split MMIO access would go on */
	bool mmio_write;
	uint64_t mmio_changes;          /* v->changes at the access's first exit */
	enum fz_pending pend;           /* what the last exit asked of the VMM */
	uint64_t pend_gpa;
	uint64_t pend_arg;
};

struct fz_vm {
	struct fz_in in;
	struct mv_machine *m;
	struct mv_task *t;
	uint64_t frames_free;           /* before the VMM existed */
	bool seed;                      /* MV_ABI_SEED */
	unsigned long type;             /* KVM_X86_DEFAULT_VM or KVM_X86_SW_PROTECTED_VM */
	int kvm, vm;
	int gmem[FZ_GMEMS];
	uint64_t map[FZ_MAPS];          /* VMM mappings of FZ_MAP_PAGES each */
	struct fz_vcpu vcpu[FZ_VCPUS];
	struct fz_slot slot[FZ_SLOTS];
	unsigned int nslots;
	struct fz_attr attr[FZ_ATTRS];
	unsigned int nattr;
	uint64_t changes;               /* successful memslot and attribute changes */
	uint64_t hc_enabled;            /* KVM_CAP_EXIT_HYPERCALL mask in force */
	bool mte;                       /* KVM_CAP_ARM_MTE enabled: ranges tagged, tag instructions work */
	/*
	 * The VMM's mappings of vCPU fds, [start, end) (fuzz_run): a memslot
	 * over one lets the guest's writes reach a run page, as in Linux.
	 * Past FZ_VCPU_MAPS of them, any slot may (vcpu_maps_lost).
	 */
	uint64_t vcpu_map[FZ_VCPU_MAPS][2];
	unsigned int nvcpu_maps;
	bool vcpu_maps_lost;
	/* a harness's own guest operation, taking half of fz_guest_op's last case when set */
	void (*guest_op)(struct mv_guest *g, struct fz_vcpu *c);
	void *guest_op_ctx;
};

/*
 * Builds the machine from @data's first byte (ABI, VM type, CPU features,
 * shared or private VMM memory); the rest of @data is v->in. Aborts if the
 * machine cannot be built: that is not the input's fault.
 */
void fz_vm_start(struct fz_vm *v, const uint8_t *data, size_t size);
/* The VMM exits; aborts if a frame outlived it. Frees the machine. */
void fz_vm_finish(struct fz_vm *v);

/* Aborts unless @r is a value or a negative errno (-1..-133). */
void fz_check_ret(long r);
long fz_syscall(struct fz_vm *v, long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
		uint64_t a4, uint64_t a5);
/*
 * The ioctl with @arg copied into a heap block of exactly _IOC_SIZE(@cmd)
 * bytes (@size for the seed's longer region struct), and back out: a read
 * or write past the declared size is an AddressSanitizer report.
 */
long fz_ioctl_sized(struct fz_vm *v, int fd, unsigned int cmd, void *arg, size_t size);
long fz_ioctl(struct fz_vm *v, int fd, unsigned int cmd, void *arg);
/* A pointer the kernel must refuse with -EFAULT for any length over 4, chosen by @sel. */
uint64_t fz_bad_ptr(unsigned int sel);
/*
 * @cmd with its size or direction changed as @sel says: not an ioctl the
 * kernel knows, so the answer must be @expect and nothing may be read.
 */
void fz_check_foreign_cmd(struct fz_vm *v, int fd, unsigned int cmd, unsigned int sel,
			  long expect);

/* Biased picks: where the harness's own memory is, small GPAs, an fd. */
uint64_t fz_vm_uaddr(struct fz_vm *v);
uint64_t fz_vm_gpa(struct fz_vm *v);
int fz_vm_gmem_fd(struct fz_vm *v);
/* @fd (if it is one) becomes v->gmem[@i]; the one there before is closed. */
void fz_vm_gmem_install(struct fz_vm *v, unsigned int i, long fd);

/* ---- the memslot shadow ---- */
struct fz_slot *fz_slot_by_id(struct fz_vm *v, uint32_t id);
struct fz_slot *fz_slot_at(struct fz_vm *v, uint64_t gfn);
/* The VMM mapped a vCPU fd at [@start, @start + @len). */
void fz_vm_note_vcpu_map(struct fz_vm *v, uint64_t start, uint64_t len);
/* May a guest write reach a run page: does a memslot's VMM range meet a vCPU fd's mapping? */
bool fz_vm_run_page_reachable(const struct fz_vm *v);
/*
 * After KVM_SET_USER_MEMORY_REGION(2) with @mem answered @ret: checks that
 * a success was one KVM's rules allow and brings the shadow up to date.
 */
void fz_slot_update(struct fz_vm *v, const struct kvm_userspace_memory_region2 *mem, long ret);
/* The ioctl (old or new form as @two says) and the update, for a prepared @mem. */
long fz_vm_set_region(struct fz_vm *v, struct kvm_userspace_memory_region2 *mem, bool two);
/* Attributes of @gfn as the shadow knows them. */
uint64_t fz_attr_at(const struct fz_vm *v, uint64_t gfn);
/* After KVM_SET_MEMORY_ATTRIBUTES answered 0. */
void fz_attr_update(struct fz_vm *v, const struct kvm_memory_attributes *a);
/* The VM's memory map against the shadow: every range, every flag. */
void fz_vm_check_map(struct fz_vm *v);
/*
 * KVM_GET_DIRTY_LOG of @id, checked against the shadow. @mode 0: into a
 * buffer of exactly the slot's size; 1: the same, then again, which must
 * find nothing; 2 and up: into fz_bad_ptr(@mode), which must fail.
 */
long fz_vm_dirty_log(struct fz_vm *v, uint32_t id, unsigned int mode);

/* ---- vCPUs and the guest ---- */
/* vCPU @i: created (with the input's guest program) on first use; NULL if it cannot be. */
struct fz_vcpu *fz_vm_vcpu(struct fz_vm *v, unsigned int i);
void fz_vcpu_close(struct fz_vm *v, struct fz_vcpu *c);
/* KVM_RUN on @c with @arg, the VMM's replies in place; every exit checked. */
long fz_vm_run(struct fz_vm *v, struct fz_vcpu *c, uint64_t arg);
/* What a guest program does: operations read from v->in until it runs out or halts. */
void fz_guest_program(struct mv_guest *g, void *arg);

/* ---- checked ioctls: the answer must be one the rules allow, the shadow follows ---- */
long fz_vm_enable_cap(struct fz_vm *v, int fd, struct kvm_enable_cap *cap);
long fz_vm_set_attributes(struct fz_vm *v, struct kvm_memory_attributes *a);
/* All or nothing; what was taken reads back (CR8 only ever holds 4 bits). */
long fz_vm_set_sregs(struct fz_vm *v, struct fz_vcpu *c, struct kvm_sregs *s);

/*
 * One supporting operation chosen by @op: a memslot, KVM_RUN, the VMM's
 * memory, guest_memfd, attributes, the dirty log, the hypercall capability,
 * special registers, a new guest program, closing an fd.
 */
void fz_vm_support(struct fz_vm *v, unsigned int op);

/*
 * The loop every harness whose operations need only the VM runs: each
 * input byte picks the first operation whose @below exceeds it, bytes past
 * the last go to fz_vm_support(). @ops ends with a { 0, NULL } row.
 */
struct fz_op {
	unsigned int below;
	void (*fn)(struct fz_vm *v);
};
int fz_vm_drive(const uint8_t *data, size_t size, const struct fz_op *ops);
#define FZ_SUPPORT_OPS 12

#endif
