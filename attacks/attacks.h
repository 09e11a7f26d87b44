/* SPDX-License-Identifier: MIT */
/*
 * The attack catalogue behind `memvisor attacks`: every attack the project
 * knows, run against a fresh machine with the protection off and then on.
 * Attacks use the public API only (<memvisor/memvisor.h>,
 * <memvisor/guest_kernel.h>; and the library's SHA-256 where a VMM hashes),
 * as a user's program would; they decide their verdict by looking, never by assuming:
 * a secret read back, a return that went where the attacker wanted, a page
 * whose bytes changed.
 *
 * Each attack is also a test (tests/unit/test_attacks_catalogue.c): with
 * the protection off it must succeed (else the attack proves nothing), and
 * with it on the verdict must be what the protection claims.
 */
#ifndef MV_ATTACKS_H
#define MV_ATTACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memvisor/memvisor.h>

enum attack_verdict {
	ATTACK_SUCCEEDED,   /* the attacker reached the goal */
	ATTACK_BLOCKED,     /* the goal was not reached */
	ATTACK_REPORTED,    /* not reached, and someone (VMM, task) was told */
	ATTACK_NOT_RUN,     /* this side has no meaning (protection cannot be off) */
};

/* What the protection says it does against the attack. */
enum attack_claim {
	CLAIM_BLOCKS,       /* with it on: BLOCKED (or REPORTED) */
	CLAIM_REPORTS,      /* with it on: REPORTED */
	CLAIM_NONE,         /* out of its scope: whatever happens is listed honestly */
};

struct attack_outcome {
	enum attack_verdict verdict;
	uint64_t bytes_leaked;    /* secret bytes the attacker read */
	char how[96];             /* what stopped it, or what the attacker got */
};

struct attack {
	const char *name;         /* kebab-case, unique */
	const char *mechanism;    /* shstk, gmem, kvm, heki, sgx, mte, snap, mseal */
	const char *what;         /* one line */
	enum attack_claim claim;
	/*
	 * Runs the attack on a machine of its own, the protection on or off.
	 * 0 with *out filled; a negative errno when the stage could not be set
	 * (that is a defect of the attack, reported as such).
	 */
	int (*run)(bool protect, struct attack_outcome *out);
	bool no_off;              /* the protection cannot be switched off */
};

/* Every attack, in catalogue order; *count receives their number. */
const struct attack *attack_catalogue(size_t *count);
const struct attack *attack_find(const char *name);

/*
 * Whether @off and @on are what @a claims: off SUCCEEDED (unless no_off),
 * on as the claim says. false with the reason in @why.
 */
bool attack_as_claimed(const struct attack *a, const struct attack_outcome *off,
		       const struct attack_outcome *on, char *why, size_t why_len);
const char *attack_verdict_name(enum attack_verdict v);

/* ---- helpers for the attacks (env.c) ---- */

/* A machine (features_off as given) and one task. 0 or a negative errno. */
int atk_machine(uint64_t features_off, struct mv_machine **m, struct mv_task **t);
long atk_sys(struct mv_task *t, long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
	     uint64_t a4, uint64_t a5);
/* Anonymous private read/write memory, or a negative errno. */
long atk_mmap_anon(struct mv_task *t, uint64_t len);
void atk_outcome(struct attack_outcome *out, enum attack_verdict v, uint64_t leaked,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* "EFAULT" for -EFAULT (the common ones; else the number). */
const char *atk_errno_name(long err);
/* "SIGSEGV/SEGV_CPERR" and the like for a taken signal. */
struct mv_siginfo;
const char *atk_signal_name(const struct mv_siginfo *si);
/* How many bytes of @secret (@len) appear, in order, at the start of @seen. */
uint64_t atk_leaked(const void *seen, const void *secret, size_t len);

/* A VM with one vCPU: @type 0 or KVM_X86_SW_PROTECTED_VM. */
struct atk_vm {
	struct mv_machine *m;
	struct mv_task *vmm;
	int kvm, vm, vcpu;
};
int atk_vm_create(struct atk_vm *v, uint64_t features_off, unsigned long type);
/* The same without the vCPU (for capabilities that must come first), and the vCPU after. */
int atk_vm_create_bare(struct atk_vm *v, uint64_t features_off, unsigned long type);
int atk_vm_add_vcpu(struct atk_vm *v);
void atk_vm_destroy(struct atk_vm *v);
long atk_ioctl(struct atk_vm *v, int fd, unsigned long cmd, const void *arg);
/* An anonymous @size memslot @slot at @gpa; the VMM's address in *@hva. */
int atk_vm_ram(struct atk_vm *v, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size,
	       uint64_t *hva);
/*
 * Runs @fn(@arg) on the vCPU to its end; MMIO reads read zeros, writes are
 * dropped. 0, or the first unexpected exit as a positive reason, or a
 * negative errno from KVM_RUN.
 */
long atk_vm_run(struct atk_vm *v, mv_guest_fn fn, void *arg);

/* ---- the catalogue's parts, one per mechanism ---- */
extern const struct attack attacks_shstk[];
extern const struct attack attacks_gmem[];
extern const struct attack attacks_kvm[];
extern const struct attack attacks_heki[];
extern const struct attack attacks_mte[];
extern const struct attack attacks_sgx[];
extern const struct attack attacks_snapshot[];
extern const struct attack attacks_mseal[];

#endif
