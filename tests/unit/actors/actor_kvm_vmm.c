/* SPDX-License-Identifier: MIT */
/*
 * The KVM family's VMM threads (kvm.h says what they check): A changes
 * slot N, dirty logging and R's backing; B the guest_memfd slot P and
 * which pages are private; C works on the VMM's own memory and reads the
 * machine's counters. Each picks its operations at random.
 */
#include "kvm.h"
#include "api/api.h"

/* A VMM thread: random operations with short random pauses until the test stops. */
void *kvm_act_vmm_main(void *p)
{
	struct vmm_actor *s = p;

	while (!act_stopped(s->a->stop)) {
		s->ops[lib_prng_below(&s->rng, s->nops)](s->a);
		act_inc(&s->n[0]);
		act_sleep_us((unsigned int)lib_prng_below(&s->rng, s->pause_us));
	}
	return NULL;
}

/* ---- thread A: slot N, dirty logging, R's backing ---- */

static void a_track_restart(struct actors *a)
{
	for (int i = 0; i < NR_VCPUS; i++)
		a->p0[i] = act_get(&a->v[i].passes);
	a->dirty = 0;
}

static void a_dontneed(struct actors *a)
{
	uint64_t off, len;
	long r;

	act_pick_range(&a->A.rng, SZ_SMALL, &off, &len);
	act_epochs_mark(a->nepoch, NR_VCPUS, off, len, NPG * KT_PG, true);
	r = madvise_dontneed(a->vmm, a->nmap + off, len);
	act_epochs_mark(a->nepoch, NR_VCPUS, off, len, NPG * KT_PG, false);
	if (r)
		act_fail(&a->A.err, "MADV_DONTNEED of slot N's backing = %ld", r);
	act_inc(&a->A.n[A_DONTNEED]);
}

static void a_churn(struct actors *a)
{
	uint32_t flags = a->logging ? KVM_MEM_LOG_DIRTY_PAGES : 0;
	long r1, r2;

	if (a->logging && a->churned)
		return;   /* once per logging period, so that the check can complete */
	act_epochs_mark(a->nepoch, NR_VCPUS, 0, SZ_SMALL, NPG * KT_PG, true);
	r1 = kt_region_t(a->vmm, a->vm, REG_N, 0, 0, 0, 0);
	r2 = kt_region_t(a->vmm, a->vm, REG_N, flags, reg_base[REG_N], SZ_SMALL, a->nmap);
	act_epochs_mark(a->nepoch, NR_VCPUS, 0, SZ_SMALL, NPG * KT_PG, false);
	if (r1 || r2)
		act_fail(&a->A.err, "deleting / re-adding slot N = %ld / %ld", r1, r2);
	if (a->logging) {
		a->churned = true;
		a_track_restart(a);   /* a new slot, a new bitmap */
	}
	act_inc(&a->A.n[A_CHURN]);
}

/*
 * R's backing is a shared memfd: DONTNEED and mprotect change no byte of
 * it. A reads some back at once, so that its first touch faults while C
 * and the vCPUs (through GUP) walk and fault the same page-table entries.
 */
static void a_ro_backing(struct actors *a)
{
	uint64_t off, len, x;
	long r1, r2 = 0;

	act_pick_range(&a->A.rng, SZ_SMALL, &off, &len);
	if (lib_prng_below(&a->A.rng, 2)) {
		r1 = madvise_dontneed(a->vmm, a->rmap + off, len);
		act_inc(&a->A.n[A_R_ZAP]);
	} else {
		r1 = MVTEST_SYSCALL(a->vmm, MV_SYS_mprotect, a->rmap + off, len, PROT_READ);
		r2 = MVTEST_SYSCALL(a->vmm, MV_SYS_mprotect, a->rmap + off, len,
				    PROT_READ | PROT_WRITE);
		act_inc(&a->A.n[A_R_PROT]);
	}
	if (r1 || r2)
		act_fail(&a->A.err, "DONTNEED / mprotect of slot R's backing = %ld / %ld", r1, r2);
	for (uint64_t p = off / KT_PG; p < (off + len) / KT_PG && p < off / KT_PG + 4; p++) {
		r1 = mv_user_read(a->vmm, a->rmap + p * KT_PG + OFF, &x, 8);
		if (r1 || x != ro_pattern((int)(p / NPG), (unsigned int)(p % NPG)))
			act_fail(&a->A.err, "R backing page %llu: %ld %#llx", ULL(p), r1, ULL(x));
	}
}

/*
 * Logging off: the log is -ENOENT; switch it on. Logging on: harvest. Once
 * every guest finished a whole pass that began after logging started (two
 * passes since) before this harvest, every page must have been reported.
 */
static void a_dirty(struct actors *a)
{
	const uint64_t all = (1ull << PER_REG) - 1;
	bool ready = a->logging;   /* decided before the harvest */
	uint64_t bits = 0;
	long r;

	for (int i = 0; i < NR_VCPUS; i++)
		ready &= act_get(&a->v[i].passes) >= a->p0[i] + 2;
	r = kt_dirty_log(a->vmm, a->vm, REG_N, &bits);

	if (!a->logging) {
		if (r != -ENOENT)
			act_fail(&a->A.err, "KVM_GET_DIRTY_LOG without logging = %ld", r);
		r = kt_region_t(a->vmm, a->vm, REG_N, KVM_MEM_LOG_DIRTY_PAGES, reg_base[REG_N],
				SZ_SMALL, a->nmap);
		if (r)
			act_fail(&a->A.err, "turning dirty logging on = %ld", r);
		a->logging = true;
		a->churned = false;
		a_track_restart(a);
		act_inc(&a->A.n[A_LOG_ON]);
		return;
	}
	if (r || (bits & ~all))
		act_fail(&a->A.err, "KVM_GET_DIRTY_LOG = %ld, bits %#llx", r, ULL(bits));
	act_inc(&a->A.n[A_HARVEST]);
	a->dirty |= bits;
	if (!ready)
		return;
	if (a->dirty != all)
		act_fail(&a->A.err, "pages written while logged, never reported: %#llx",
			 ULL(all & ~a->dirty));
	act_inc(&a->A.n[A_VERIFIED]);
	r = kt_region_t(a->vmm, a->vm, REG_N, 0, reg_base[REG_N], SZ_SMALL, a->nmap);
	if (r)
		act_fail(&a->A.err, "turning dirty logging off = %ld", r);
	a->logging = false;
}

static void (*const a_ops[])(struct actors *) = {
	a_dontneed, a_dontneed, a_churn, a_ro_backing, a_dirty, a_dirty, a_dirty, a_dirty,
};

/* ---- thread B: the guest_memfd slot, conversions, pages made private ---- */

/* A punch, a conversion or a DONTNEED of P's shared backing, over a random range. */
static void b_change_p(struct actors *a)
{
	static const char *const what[] = { "punch", "conversion", "DONTNEED" };
	unsigned int op = (unsigned int)lib_prng_below(&a->B.rng, 3);
	uint64_t attrs = lib_prng_below(&a->B.rng, 2) ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0, off, len;
	long r;

	act_pick_range(&a->B.rng, SZ_P, &off, &len);
	act_epochs_mark(a->pepoch, NR_VCPUS, off, len, NPG * P_STRIDE, true);
	if (op == 0)
		r = MVTEST_SYSCALL(a->tb, MV_SYS_fallocate, a->gmem,
				   FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
	else if (op == 1)
		r = kt_set_attributes(a->tb, a->vm, reg_base[REG_P] + off, len, attrs);
	else
		r = madvise_dontneed(a->tb, a->pmap + off, len);
	act_epochs_mark(a->pepoch, NR_VCPUS, off, len, NPG * P_STRIDE, false);
	if (r)
		act_fail(&a->B.err, "%s of [%#llx, +%#llx) = %ld", what[op], ULL(off), ULL(len), r);
	act_inc(&a->B.n[B_PUNCH + op]);
}

static void b_churn(struct actors *a)
{
	long r1, r2;

	act_epochs_mark(a->pepoch, NR_VCPUS, 0, SZ_P, NPG * P_STRIDE, true);
	r1 = kt_region_gmem(a->tb, a->vm, REG_P, 0, 0, 0, a->gmem, 0);
	r2 = kt_region_gmem(a->tb, a->vm, REG_P, reg_base[REG_P], SZ_P, a->pmap, a->gmem, 0);
	act_epochs_mark(a->pepoch, NR_VCPUS, 0, SZ_P, NPG * P_STRIDE, false);
	if (r1 || r2)
		act_fail(&a->B.err, "deleting / re-adding slot P = %ld / %ld", r1, r2);
	act_inc(&a->B.n[B_CHURN]);
}

/* One page of N, R or H made private: its vCPU gets a memory fault and converts it back. */
static void b_flip(struct actors *a)
{
	static const int regs[] = { REG_N, REG_R, REG_H };
	int reg = regs[lib_prng_below(&a->B.rng, 3)];
	int id = (int)lib_prng_below(&a->B.rng, NR_VCPUS);
	uint64_t gpa = gpa_of(reg, id, (unsigned int)lib_prng_below(&a->B.rng, NPG));
	long r = kt_set_attributes(a->tb, a->vm, gpa, KT_PG, KVM_MEMORY_ATTRIBUTE_PRIVATE);

	if (r)
		act_fail(&a->B.err, "making %#llx private = %ld", ULL(gpa), r);
	act_inc(&a->B.n[B_FLIP]);
}

static void (*const b_ops[])(struct actors *) = {
	b_change_p, b_change_p, b_change_p, b_change_p, b_change_p, b_change_p,
	b_churn, b_flip, b_flip, b_flip,
};

/* ---- thread C: the VMM's own memory, both ways, and the machine's counters ---- */

/* Its own memory both ways; one time in four the page is dropped first and reads zero. */
static void c_scratch(struct actors *a)
{
	uint64_t page = a->smap + lib_prng_below(&a->C.rng, SCRATCH) * KT_PG;
	uint64_t addr = page + 8 * lib_prng_below(&a->C.rng, KT_PG / 8);
	uint64_t v1 = lib_prng_next(&a->C.rng), v2 = ~v1, x = 0, y = 0, z = 0;
	bool zap = lib_prng_below(&a->C.rng, 4) == 0;
	long r0 = zap && (madvise_dontneed(a->tc, page, KT_PG) ||
			  mv_task_access_remote(a->tc, addr, &z, 8, 0) != 8 || z);
	long w1 = mv_user_write(a->tc, addr, &v1, 8);
	long r1 = mv_task_access_remote(a->tc, addr, &x, 8, 0);
	long w2 = mv_task_access_remote(a->tc, addr, &v2, 8, MV_REMOTE_WRITE);
	long r2 = mv_user_read(a->tc, addr, &y, 8);

	if (r0 || w1 || r1 != 8 || x != v1 || w2 != 8 || r2 || y != v2)
		act_fail(&a->C.err, "scratch %#llx: DONTNEED then %#llx, user write %ld, remote "
			 "read %ld (%#llx), remote write %ld, user read %ld (%#llx)", ULL(addr),
			 ULL(z), w1, r1, ULL(x), w2, r2, ULL(y));
	act_inc(&a->C.n[zap ? C_ZAP : C_RW]);
}

static void c_ro_backing(struct actors *a)
{
	int id = (int)lib_prng_below(&a->C.rng, NR_VCPUS);
	unsigned int k = (unsigned int)lib_prng_below(&a->C.rng, NPG);
	uint64_t addr = a->rmap + ((uint64_t)id * NPG + k) * KT_PG + OFF, x = 0, y = 0;
	long r1 = mv_user_read(a->tc, addr, &x, 8);
	long r2 = mv_task_access_remote(a->tc, addr, &y, 8, 0);

	if (r1 || r2 != 8 || x != ro_pattern(id, k) || y != x)
		act_fail(&a->C.err, "slot R's backing at %#llx: %ld (%#llx), remote %ld (%#llx)",
			 ULL(addr), r1, ULL(x), r2, ULL(y));
	act_inc(&a->C.n[C_RO]);
}

static void c_map(struct actors *a)
{
	long m = MVTEST_SYSCALL(a->tc, MV_SYS_mmap, 0, 4 * KT_PG, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t v = lib_prng_next(&a->C.rng), x = 0;
	long w = m > 0 ? mv_user_write(a->tc, (uint64_t)m + 3 * KT_PG, &v, 8) : m;
	long r = m > 0 ? mv_task_access_remote(a->tc, (uint64_t)m + 3 * KT_PG, &x, 8, 0) : m;
	long u = m > 0 ? MVTEST_SYSCALL(a->tc, MV_SYS_munmap, m, 4 * KT_PG) : m;

	if (m <= 0 || w || r != 8 || x != v || u)
		act_fail(&a->C.err, "fresh mapping: mmap %ld, write %ld, read %ld (%#llx), munmap "
			 "%ld", m, w, r, ULL(x), u);
	act_inc(&a->C.n[C_MAP]);
}

/* What a monitoring thread of the VMM would do: read the counters while all runs. */
static void c_stats(struct actors *a)
{
	struct mv_machine_stats st;

	mv_machine_get_stats(a->m, &st);
	if (st.frames_free > st.frames_total || st.ram_bytes != 128ull << 20)
		act_fail(&a->C.err, "stats: %llu of %llu frames free, %llu bytes of RAM",
			 ULL(st.frames_free), ULL(st.frames_total), ULL(st.ram_bytes));
	act_inc(&a->C.n[C_STATS]);
}

static void (*const c_ops[])(struct actors *) = {
	c_scratch, c_scratch, c_scratch, c_scratch, c_ro_backing, c_ro_backing, c_map, c_stats,
};


void kvm_act_vmm_init(struct actors *a, uint64_t seed)
{
	a->A = (struct vmm_actor){ .a = a, .ops = a_ops, .nops = NELEM(a_ops), .pause_us = 200 };
	a->B = (struct vmm_actor){ .a = a, .ops = b_ops, .nops = NELEM(b_ops), .pause_us = 200 };
	a->C = (struct vmm_actor){ .a = a, .ops = c_ops, .nops = NELEM(c_ops), .pause_us = 50 };
	lib_prng_seed(&a->A.rng, seed ^ 0xa);
	lib_prng_seed(&a->B.rng, seed ^ 0xb);
	lib_prng_seed(&a->C.rng, seed ^ 0xc);
}
