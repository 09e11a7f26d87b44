/* SPDX-License-Identifier: MIT */
/*
 * The state a later call can see, as text (failnth.h): the sweep takes it
 * just before a call whose allocation it fails and just after, and the two
 * must be equal. It reads the kernel's and KVM's own structures, as the
 * unit tests do; nothing runs concurrently with it.
 *
 * Left out on purpose: statistics (TLB counters, fault counts, stage-2
 * fault counts), which count attempts, and generation numbers
 * (mmu_invalidate_seq, the memslots generation), which nothing a
 * scenario does can observe.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "failnth.h"
#include "hw/pgtable.h"
#include "kernel/shstk_internal.h"
#include "kvm/kvm.h"

#define FN_MAX_RANGES 64
#define FN_GPA_END (1ull << 48)

void fn_buf_printf(struct fn_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->s && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		b->cap = (b->cap + (size_t)n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		if (!b->s)
			abort();   /* a test program: the host is out of memory */
	}
}

void fn_buf_reset(struct fn_buf *b)
{
	b->len = 0;
	if (b->s)
		b->s[0] = '\0';
}

void fn_buf_free(struct fn_buf *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}

/* Objects numbered in the order the digest meets them. */
struct fn_ids {
	const void **p;
	size_t n, cap;
};

/* The object's number; *fresh tells whether it is met for the first time. */
static size_t fn_id(struct fn_ids *ids, const void *p, bool *fresh)
{
	for (size_t i = 0; i < ids->n; i++) {
		if (ids->p[i] == p) {
			*fresh = false;
			return i;
		}
	}
	if (ids->n == ids->cap) {
		ids->cap = ids->cap ? 2 * ids->cap : 16;
		ids->p = realloc(ids->p, ids->cap * sizeof(*ids->p));
		if (!ids->p)
			abort();
	}
	ids->p[ids->n] = p;
	*fresh = true;
	return ids->n++;
}

struct fn_digest_ctx {
	struct fn_buf *out;
	struct fn_ids mms, tables, files;
};

/* A file by its number; what it is comes once, in the file list at the end. */
static void fn_digest_file(struct fn_digest_ctx *c, const struct file *f)
{
	bool fresh;

	fn_buf_printf(c->out, " file#%zu", fn_id(&c->files, f, &fresh));
}

static void fn_digest_files(struct fn_digest_ctx *c)
{
	for (size_t i = 0; i < c->files.n; i++) {
		const struct file *f = c->files.p[i];

		fn_buf_printf(c->out, "file#%zu %s refs=%u flags=%#x rw=%d%d pos=%llu", i,
			      f->ops->name, __atomic_load_n(&f->refcount, __ATOMIC_RELAXED),
			      f->f_flags, f->readable, f->writable, (unsigned long long)f->pos);
		if (f->mapping)
			fn_buf_printf(c->out, " pages=%llu size=%llu",
				      (unsigned long long)f->mapping->nr_pages,
				      (unsigned long long)f->mapping->size);
		fn_buf_printf(c->out, "\n");
	}
}

/*
 * Present leaves, by address and permissions: not the frame (which one a
 * retried allocation gets may differ) nor A/D (which any access sets).
 */
static void fn_digest_pte(void *ctx, uint64_t va, uint64_t *entry, int level)
{
	struct x86_pte_view v = x86_pte_decode(ptep_get(entry));

	fn_buf_printf(ctx, "    pte %#llx L%d %c%c%c%c\n", (unsigned long long)va, level,
		      v.writable ? 'w' : '-', v.user ? 'u' : '-', v.nx ? '-' : 'x',
		      v.shstk ? 's' : '-');
}

static void fn_digest_ept(void *ctx, uint64_t gpa, uint64_t *entry, int level)
{
	struct ept_view v = ept_decode(ptep_get(entry));

	fn_buf_printf(ctx, "    ept %#llx L%d %c%c%c%c\n", (unsigned long long)gpa, level,
		      v.r ? 'r' : '-', v.w ? 'w' : '-', v.x ? 'x' : '-', v.ux ? 'u' : '-');
}

static void fn_digest_mm(struct fn_digest_ctx *c, struct mm *mm)
{
	struct lib_itree_node *n;
	const struct lib_list *l;
	unsigned int notifiers = 0;
	bool fresh;
	size_t id = fn_id(&c->mms, mm, &fresh);

	fn_buf_printf(c->out, "  mm#%zu\n", id);
	if (!fresh)
		return;
	pthread_rwlock_rdlock(&mm->mmap_lock);
	for (l = mm->notifiers.next; l != &mm->notifiers; l = l->next)
		notifiers++;
	fn_buf_printf(c->out, "  mm#%zu: users=%u count=%u map_count=%llu rss=%llu/%llu "
		      "base=%#llx stack=%#llx-%#llx notifiers=%u\n", id,
		      __atomic_load_n(&mm->users, __ATOMIC_RELAXED),
		      __atomic_load_n(&mm->count, __ATOMIC_RELAXED),
		      (unsigned long long)mm->map_count, (unsigned long long)mm->rss_anon,
		      (unsigned long long)mm->rss_file, (unsigned long long)mm->mmap_base,
		      (unsigned long long)mm->stack_start, (unsigned long long)mm->stack_end,
		      notifiers);
	for (n = lib_itree_first(&mm->vmas); n; n = lib_itree_next(n)) {
		const struct vma *v = lib_container_of(n, struct vma, node);

		/* the part after '|' is what a split leaves equal in both halves */
		fn_buf_printf(c->out, "    vma %#llx-%#llx pgoff=%#llx | flags=%#lx ops=%s",
			      (unsigned long long)vma_start(v), (unsigned long long)vma_end(v),
			      (unsigned long long)v->pgoff, v->flags, v->ops ? v->ops->name : "-");
		if (v->file)
			fn_digest_file(c, v->file);
		fn_buf_printf(c->out, "\n");
	}
	pthread_mutex_lock(&mm->pt_lock);
	hw_pt_for_each_leaf(mm->k->hw, mm->pgd, false, 0, K_TASK_SIZE, fn_digest_pte, c->out);
	pthread_mutex_unlock(&mm->pt_lock);
	pthread_rwlock_unlock(&mm->mmap_lock);
}

static void fn_digest_vm(struct fn_digest_ctx *c, struct mv_task *t, int fd, struct kvm *kvm)
{
	struct mv_vm_range r[FN_MAX_RANGES];
	long n;

	fn_buf_printf(c->out, "    vm: refs=%u vcpus=%u/%u slot_pages=%llu invalidating=%llu "
		      "mn_active=%u hc_exit=%#llx\n",
		      __atomic_load_n(&kvm->refcount, __ATOMIC_RELAXED), kvm->created_vcpus,
		      __atomic_load_n(&kvm->online_vcpus, __ATOMIC_RELAXED),
		      (unsigned long long)kvm->nr_memslot_pages,
		      (unsigned long long)kvm->mmu_invalidate_in_progress,
		      kvm->mn_active_invalidate_count,
		      (unsigned long long)__atomic_load_n(&kvm->hypercall_exit_enabled,
							  __ATOMIC_RELAXED));
	pthread_rwlock_rdlock(&kvm->mmu_lock);
	hw_pt_for_each_leaf(kvm->hw, kvm->ept_root, true, 0, FN_GPA_END, fn_digest_ept, c->out);
	pthread_rwlock_unlock(&kvm->mmu_lock);
	n = mv_vm_memory_map(t, fd, r, FN_MAX_RANGES);
	if (n < 0 || n > FN_MAX_RANGES) {
		fn_buf_printf(c->out, "    vm map: %ld\n", n);
		return;
	}
	for (long i = 0; i < n; i++)
		fn_buf_printf(c->out, "    range %#llx+%#llx hva=%#llx slot=%u flags=%#x gmem=%d@%#llx\n",
			      (unsigned long long)r[i].gpa, (unsigned long long)r[i].size,
			      (unsigned long long)r[i].hva, r[i].slot, r[i].flags, r[i].gmem_fd,
			      (unsigned long long)r[i].gmem_offset);
}

static void fn_digest_fds(struct fn_digest_ctx *c, struct mv_task *t)
{
	struct fdtable *ft = t->files;
	bool fresh;
	size_t id = fn_id(&c->tables, ft, &fresh);

	fn_buf_printf(c->out, "  files#%zu\n", id);
	if (!fresh)
		return;
	fn_buf_printf(c->out, "  files#%zu: users=%u\n", id,
		      __atomic_load_n(&ft->users, __ATOMIC_RELAXED));
	for (unsigned int fd = 0; fd < ft->max; fd++) {
		struct file *f = fd_get(t, (int)fd);
		struct kvm *kvm;

		if (!f) {
			/* claimed by an open that has not installed its file */
			if (ft->fd[fd])
				fn_buf_printf(c->out, "    fd %u reserved\n", fd);
			continue;
		}
		/* the table's own reference keeps it while the digest looks at it */
		file_put(f);
		fn_buf_printf(c->out, "    fd %u cloexec=%d", fd, fd_get_cloexec(t, (int)fd));
		fn_digest_file(c, f);
		fn_buf_printf(c->out, "\n");
		kvm = kvm_from_file(f);
		if (kvm)
			fn_digest_vm(c, t, (int)fd, kvm);
	}
}

static void fn_digest_task(struct fn_digest_ctx *c, struct mv_task *t)
{
	const struct hw_cpu *cpu = &t->cpu;
	const struct shstk_state *ss = task_shstk(t);

	fn_buf_printf(c->out, "task pid=%d tgid=%d sigq=%u rlim_nofile=%llu\n",
		      t->pid, t->tgid, t->sig_count, (unsigned long long)t->rlimit_nofile);
	for (int i = 0; i < K_RLIM_NLIMITS; i++)
		fn_buf_printf(c->out, "  rlim[%d] %llu %llu\n", i,
			      (unsigned long long)t->rlim[i].cur, (unsigned long long)t->rlim[i].max);
	fn_buf_printf(c->out, "  cpu cr0=%#llx cr3=%#llx cr4=%#llx rip=%#llx rsp=%#llx ssp=%#llx "
		      "u_cet=%#llx pl3_ssp=%#llx\n", (unsigned long long)cpu->cr0,
		      (unsigned long long)cpu->cr3, (unsigned long long)cpu->cr4,
		      (unsigned long long)cpu->rip, (unsigned long long)cpu->rsp,
		      (unsigned long long)cpu->ssp, (unsigned long long)cpu->u_cet,
		      (unsigned long long)cpu->pl_ssp[3]);
	/* state allocated on first use but still all zero is no state at all */
	if (ss && (ss->base || ss->size || ss->features || ss->locked || ss->prot_opt))
		fn_buf_printf(c->out, "  shstk base=%#llx size=%#llx features=%#llx locked=%#llx "
			      "prot=%d\n", (unsigned long long)ss->base, (unsigned long long)ss->size,
			      (unsigned long long)ss->features, (unsigned long long)ss->locked,
			      ss->prot_opt);
	fn_digest_mm(c, t->mm);
	fn_digest_fds(c, t);
}

void fn_digest(struct mv_machine *m, struct fn_buf *out)
{
	struct kernel *k = mv_machine_kernel(m);
	struct fn_digest_ctx c = { .out = out };
	struct mv_machine_stats st;
	struct mv_task *t;

	fn_buf_reset(out);
	mv_machine_get_stats(m, &st);
	fn_buf_printf(out, "frames_free=%llu pgtable_bytes=%llu\n",
		      (unsigned long long)st.frames_free, (unsigned long long)st.pgtable_bytes);
	/* the task list changes only through steps, never while the digest runs */
	lib_list_for_each_entry(t, &k->tasks, link)
		fn_digest_task(&c, t);
	fn_digest_files(&c);
	free(c.mms.p);
	free(c.tables.p);
	free(c.files.p);
}

void fn_digest_teardown(struct mv_machine *m, struct fn_buf *out)
{
	struct kernel *k = mv_machine_kernel(m);
	struct mv_machine_stats st;

	while (!lib_list_empty(&k->tasks))
		mv_task_exit(lib_list_first_entry(&k->tasks, struct mv_task, link));
	mv_machine_get_stats(m, &st);
	fn_buf_reset(out);
	fn_buf_printf(out, "after every task exited: frames_free=%llu pgtable_bytes=%llu\n",
		      (unsigned long long)st.frames_free, (unsigned long long)st.pgtable_bytes);
}

/* The line of @s that starts at @at, without its newline, into @buf. */
static void fn_line(const char *s, size_t at, char *buf, size_t size)
{
	size_t end = at;

	while (s[end] && s[end] != '\n')
		end++;
	snprintf(buf, size, "%.*s", (int)(end - at), s + at);
}

void fn_digest_diff(const char *a, const char *b, char *msg, size_t size)
{
	size_t i = 0, line = 0;
	char la[200], lb[200];

	for (; a[i] && a[i] == b[i]; i++) {
		if (a[i] == '\n')
			line = i + 1;
	}
	fn_line(a, line, la, sizeof(la));
	fn_line(b, line, lb, sizeof(lb));
	snprintf(msg, size, "%s%s%s, now %s%s%s", *la ? "\"" : "", *la ? la : "nothing",
		 *la ? "\"" : "", *lb ? "\"" : "", *lb ? lb : "nothing", *lb ? "\"" : "");
}

/* ---- what a failed call may change in Linux too ---- */

/* @line with the value after each of @keys replaced by '*'. */
static void fn_mask(const char *line, size_t len, const char *const *keys, struct fn_buf *out)
{
	size_t i = 0;

	while (i < len) {
		bool masked = false;

		for (const char *const *k = keys; *k && !masked; k++) {
			size_t kl = strlen(*k);

			if (i + kl > len || strncmp(line + i, *k, kl))
				continue;
			fn_buf_printf(out, "%s*", *k);
			i += kl;
			while (i < len && strchr("0123456789abcdefx/", line[i]))
				i++;
			masked = true;
		}
		if (!masked)
			fn_buf_printf(out, "%c", line[i++]);
	}
}

struct fn_vma_line {
	bool valid;
	unsigned long long start, end, pgoff;
	const char *tail;          /* from the '|' to the end of the line */
	size_t tail_len;
};

static bool fn_vma_parse(const char *line, size_t len, struct fn_vma_line *v)
{
	const char *bar = memchr(line, '|', len);

	if (strncmp(line, "    vma ", 8) || !bar ||
	    sscanf(line, "    vma %llx-%llx pgoff=%llx", &v->start, &v->end, &v->pgoff) != 3)
		return false;
	v->valid = true;
	v->tail = bar;
	v->tail_len = len - (size_t)(bar - line);
	return true;
}

static void fn_vma_flush(struct fn_vma_line *v, struct fn_buf *out)
{
	if (!v->valid)
		return;
	fn_buf_printf(out, "    vma %#llx-%#llx pgoff=%#llx %.*s\n", v->start, v->end, v->pgoff,
		      (int)v->tail_len, v->tail);
	v->valid = false;
}

/* Does @next continue @prev as the other half of a split would? */
static bool fn_vma_continues(const struct fn_vma_line *prev, const struct fn_vma_line *next)
{
	return prev->valid && prev->end == next->start &&
	       prev->pgoff + ((prev->end - prev->start) >> 12) == next->pgoff &&
	       prev->tail_len == next->tail_len && !memcmp(prev->tail, next->tail, next->tail_len);
}

/* Does [start, end) meet one of @gaps? */
static bool fn_in_gaps(const struct fn_gaps *gaps, uint64_t start, uint64_t end)
{
	for (unsigned int i = 0; gaps && i < gaps->n; i++) {
		if (start < gaps->end[i] && gaps->start[i] < end)
			return true;
	}
	return false;
}

/* A page-table leaf a call that makes progress may add, or one inside a gap. */
static bool fn_leaf_dropped(const char *line, unsigned int how, const struct fn_gaps *gaps)
{
	unsigned long long va;

	if (strncmp(line, "    pte ", 8) && strncmp(line, "    ept ", 8))
		return false;
	if (how & FN_NORM_MEMORY)
		return true;
	return (how & FN_NORM_GAP) && !strncmp(line, "    pte ", 8) &&
	       sscanf(line + 8, "%llx", &va) == 1 && fn_in_gaps(gaps, va, va + 1);
}

/* A leaf as it is once write-protected: "w" gone from its permissions. */
static void fn_pte_wrprotect(const char *line, size_t len, struct fn_buf *out)
{
	/* "    pte VA LEVEL PERMS": the permissions are the last word */
	const char *perm = line + len;

	while (perm > line && perm[-1] != ' ')
		perm--;
	fn_buf_printf(out, "%.*s-%.*s", (int)(perm - line), line, (int)(line + len - perm - 1),
		      perm + 1);
}

void fn_digest_normalize(const char *in, unsigned int how, const struct fn_gaps *gaps,
			 struct fn_buf *out)
{
	static const char *const memory[] = { "frames_free=", "pgtable_bytes=", "rss=", "pages=",
					      "map_count=", NULL };
	static const char *const splits[] = { "map_count=", NULL };
	const char *const *keys = (how & (FN_NORM_MEMORY | FN_NORM_GAP)) ? memory :
				  (how & FN_NORM_SPLITS) ? splits : NULL;
	struct fn_vma_line pend = { 0 }, v;

	fn_buf_reset(out);
	fn_buf_printf(out, "%s", "");
	for (const char *line = in; *line;) {
		size_t len = strcspn(line, "\n");

		memset(&v, 0, sizeof(v));
		if (fn_leaf_dropped(line, how, gaps))
			goto next;
		if (fn_vma_parse(line, len, &v)) {
			if ((how & FN_NORM_GAP) && fn_in_gaps(gaps, v.start, v.end))
				goto next;
			if ((how & FN_NORM_SPLITS) && fn_vma_continues(&pend, &v)) {
				pend.end = v.end;
				goto next;
			}
			fn_vma_flush(&pend, out);
			pend = v;
			goto next;
		}
		fn_vma_flush(&pend, out);
		if ((how & FN_NORM_WRPROTECT) && !strncmp(line, "    pte ", 8))
			fn_pte_wrprotect(line, len, out);
		else if (keys)
			fn_mask(line, len, keys, out);
		else
			fn_buf_printf(out, "%.*s", (int)len, line);
		fn_buf_printf(out, "\n");
next:
		line += len + (line[len] == '\n');
	}
	fn_vma_flush(&pend, out);
}

bool fn_digest_only_pgtables(const char *before, const char *after)
{
	unsigned long long fb, pb, fa, pa;
	const char *rb = strchr(before, '\n'), *ra = strchr(after, '\n');

	if (sscanf(before, "frames_free=%llu pgtable_bytes=%llu", &fb, &pb) != 2 ||
	    sscanf(after, "frames_free=%llu pgtable_bytes=%llu", &fa, &pa) != 2 || !rb || !ra)
		return false;
	return pa > pb && fb - fa == (pa - pb) >> 12 && !strcmp(rb, ra);
}
