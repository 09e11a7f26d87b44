/* SPDX-License-Identifier: MIT */
/*
 * kvm_trace: record the host kernel's answers to the differential
 * sequences as a transcript, and replay a transcript against memvisor.
 *
 *   kvm_trace record FILE   every case on the host's /dev/kvm (exit 77 if
 *                           there is none) and on memvisor; writes FILE
 *   kvm_trace replay FILE   every recorded call on memvisor; exit 1 on any
 *                           difference
 *
 * Transcript format (one call a line, plain text, diffable):
 *
 *   # comment and header lines
 *   case NAME                       a fresh context on each side
 *   differs: WHY                    optional: host and memvisor may differ
 *     OP k=v k=v ... => RESULT      the host's answer
 *     OP ... => RESULT | memvisor: R    in a "differs" case, memvisor's
 *   end
 *
 * A row's memvisor answer must be RESULT, or R where the row gives one
 * (inside a "differs" case only). A "differs" case whose rows all match
 * the host is reported, so the mark goes when memvisor catches up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include <memvisor/uapi/kvm.h>

#include "kvm_trace.h"

#define KD_SKIP 77

const struct kd_opdef kd_ops[KD_NR_OPS] = {
	[KD_API_VERSION] = { .name = "api_version" },
	[KD_VCPU_MMAP_SIZE] = { .name = "vcpu_mmap_size" },
	[KD_CHECK_EXTENSION] = { .name = "check_extension", .args = { "fd", "cap" } },
	[KD_CREATE_VM] = { .name = "create_vm", .args = { "type" } },
	[KD_CREATE_VCPU] = { .name = "create_vcpu", .args = { "id" } },
	[KD_CREATE_VCPUS] = { .name = "create_vcpus", .args = { "first", "count" } },
	[KD_SET_NOFILE] = { .name = "set_nofile", .args = { "n" } },
	[KD_MAP] = { .name = "map", .args = { "mem", "size" } },
	[KD_UNMAP] = { .name = "unmap", .args = { "mem" } },
	[KD_WRITE_MEM] = { .name = "write_mem", .args = { "mem", "off", "val" } },
	[KD_READ_MEM] = { .name = "read_mem", .args = { "mem", "off" } },
	[KD_SET_REGION] = { .name = "set_region",
		.args = { "v", "slot", "flags", "gpa", "size", "mem", "uaoff" } },
	[KD_FILL_SLOTS] = { .name = "fill_slots", .args = { "first", "count", "size", "mem" } },
	[KD_DIRTY_LOG] = { .name = "dirty_log", .args = { "slot" } },
	[KD_ENABLE_CAP] = { .name = "enable_cap", .args = { "cap", "arg0", "flags" } },
	[KD_CREATE_GMEM] = { .name = "create_gmem", .args = { "size", "flags" } },
	[KD_GUEST_CODE] = { .name = "guest_code", .args = { "mem", "gpa" } },
	[KD_G_WRITE] = { .name = "guest.write", .args = { "gpa", "len", "val" }, .program = true },
	[KD_G_READ] = { .name = "guest.read", .args = { "gpa" }, .program = true },
	[KD_G_REPORT] = { .name = "guest.report", .args = { "gpa" }, .program = true },
	[KD_G_HYPERCALL] = { .name = "guest.hypercall",
		.args = { "nr", "a0", "a1", "a2" }, .program = true },
	[KD_RUN] = { .name = "run", .args = { "vcpu", "arg" } },
	[KD_MMIO_REPLY] = { .name = "mmio_reply", .args = { "vcpu", "data" } },
	[KD_HYPERCALL_REPLY] = { .name = "hypercall_reply", .args = { "vcpu", "ret" } },
	[KD_IMMEDIATE_EXIT] = { .name = "immediate_exit", .args = { "vcpu", "val" } },
	[KD_SET_EVENTS] = { .name = "set_events",
		.args = { "vcpu", "flags", "injected", "nr", "has_err", "err", "smm" } },
	[KD_GET_EVENTS] = { .name = "get_events", .args = { "vcpu" } },
	[KD_SET_SREGS] = { .name = "set_sregs",
		.args = { "vcpu", "cr0", "cr3", "cr4", "efer", "cs_l", "apic_base" } },
	[KD_GET_SREGS] = { .name = "get_sregs", .args = { "vcpu" } },
	[KD_SET_REGS] = { .name = "set_regs", .args = { "vcpu", "rip", "rflags", "rax", "rsp" } },
	[KD_GET_REGS] = { .name = "get_regs", .args = { "vcpu" } },
	[KD_IOCTL] = { .name = "ioctl", .args = { "fd", "cmd", "arg" } },
};

/* ------------------------------------------------------------ formatting */

const char *kd_errno_name(int err)
{
	const char *n = strerrorname_np(err);

	return n ? n : "E?";
}

void kd_fmt_ret(char *res, size_t len, long r)
{
	if (r < 0 && r > -4096)
		snprintf(res, len, "-%s", kd_errno_name((int)-r));
	else
		snprintf(res, len, "%ld", r);
}

void kd_fmt_created(char *res, size_t len, uint64_t created, long err)
{
	if (err)
		snprintf(res, len, "created=%" PRIu64 " then -%s", created, kd_errno_name((int)-err));
	else
		snprintf(res, len, "created=%" PRIu64, created);
}

static void kd_events_step(void *ctx, kd_vcpu_ioctl_fn vcpu_ioctl, const struct kd_step *s,
			   char *res, size_t len)
{
	struct kvm_vcpu_events ev;
	long r;

	memset(&ev, 0, sizeof(ev));
	if (s->op == KD_SET_EVENTS) {
		ev.flags = (uint32_t)s->a[1];
		ev.exception.injected = (uint8_t)s->a[2];
		ev.exception.nr = (uint8_t)s->a[3];
		ev.exception.has_error_code = (uint8_t)s->a[4];
		ev.exception.error_code = (uint32_t)s->a[5];
		ev.smi.smm = (uint8_t)s->a[6];
		kd_fmt_ret(res, len, vcpu_ioctl(ctx, s->a[0], KVM_SET_VCPU_EVENTS, &ev));
		return;
	}
	r = vcpu_ioctl(ctx, s->a[0], KVM_GET_VCPU_EVENTS, &ev);
	if (r)
		kd_fmt_ret(res, len, r);
	else
		snprintf(res, len, "injected=%u nr=%u has_err=%u err=%#x flags=%#x",
			 ev.exception.injected, ev.exception.nr, ev.exception.has_error_code,
			 ev.exception.error_code, ev.flags);
}

/* SET_SREGS starts from what GET_SREGS reads, so only the named fields differ. */
static void kd_sregs_step(void *ctx, kd_vcpu_ioctl_fn vcpu_ioctl, const struct kd_step *s,
			  char *res, size_t len)
{
	struct kvm_sregs sr;
	long r;

	memset(&sr, 0, sizeof(sr));
	r = vcpu_ioctl(ctx, s->a[0], KVM_GET_SREGS, &sr);
	if (!r && s->op == KD_SET_SREGS) {
		sr.cr0 = s->a[1];
		sr.cr3 = s->a[2];
		sr.cr4 = s->a[3];
		sr.efer = s->a[4];
		sr.cs.l = (uint8_t)s->a[5];
		sr.apic_base = s->a[6] ? s->a[6] : sr.apic_base;
		r = vcpu_ioctl(ctx, s->a[0], KVM_SET_SREGS, &sr);
	}
	if (r || s->op == KD_SET_SREGS)
		kd_fmt_ret(res, len, r);
	else
		snprintf(res, len, "cr0=%#llx cr3=%#llx cr4=%#llx efer=%#llx",
			 (unsigned long long)sr.cr0, (unsigned long long)sr.cr3,
			 (unsigned long long)sr.cr4, (unsigned long long)sr.efer);
}

/* SET_REGS likewise starts from GET_REGS. */
static void kd_regs_step(void *ctx, kd_vcpu_ioctl_fn vcpu_ioctl, const struct kd_step *s,
			 char *res, size_t len)
{
	struct kvm_regs rg;
	long r;

	memset(&rg, 0, sizeof(rg));
	r = vcpu_ioctl(ctx, s->a[0], KVM_GET_REGS, &rg);
	if (!r && s->op == KD_SET_REGS) {
		rg.rip = s->a[1];
		rg.rflags = s->a[2];
		rg.rax = s->a[3];
		rg.rsp = s->a[4];
		r = vcpu_ioctl(ctx, s->a[0], KVM_SET_REGS, &rg);
	}
	if (r || s->op == KD_SET_REGS)
		kd_fmt_ret(res, len, r);
	else
		snprintf(res, len, "rip=%#llx rflags=%#llx rax=%#llx rsp=%#llx",
			 (unsigned long long)rg.rip, (unsigned long long)rg.rflags,
			 (unsigned long long)rg.rax, (unsigned long long)rg.rsp);
}

void kd_vcpu_state_step(void *ctx, kd_vcpu_ioctl_fn vcpu_ioctl, const struct kd_step *s,
			char *res, size_t len)
{
	if (s->op == KD_SET_EVENTS || s->op == KD_GET_EVENTS)
		kd_events_step(ctx, vcpu_ioctl, s, res, len);
	else if (s->op == KD_SET_SREGS || s->op == KD_GET_SREGS)
		kd_sregs_step(ctx, vcpu_ioctl, s, res, len);
	else
		kd_regs_step(ctx, vcpu_ioctl, s, res, len);
}

void kd_fmt_exit(char *res, size_t len, long ret, const struct kvm_run *run)
{
	char r[32];

	kd_fmt_ret(r, sizeof(r), ret);
	switch (run->exit_reason) {
	case KVM_EXIT_HLT:
		snprintf(res, len, "ret=%s exit=HLT", r);
		break;
	case KVM_EXIT_INTR:
		snprintf(res, len, "ret=%s exit=INTR", r);
		break;
	case KVM_EXIT_MMIO: {
		uint64_t data = 0;

		memcpy(&data, run->mmio.data, run->mmio.len <= 8 ? run->mmio.len : 8);
		if (run->mmio.is_write)
			snprintf(res, len, "ret=%s exit=MMIO gpa=%#llx len=%u write data=%#" PRIx64, r,
				 (unsigned long long)run->mmio.phys_addr, run->mmio.len, data);
		else
			snprintf(res, len, "ret=%s exit=MMIO gpa=%#llx len=%u read", r,
				 (unsigned long long)run->mmio.phys_addr, run->mmio.len);
		break;
	}
	case KVM_EXIT_MEMORY_FAULT:
		snprintf(res, len, "ret=%s exit=MEMORY_FAULT gpa=%#llx size=%#llx flags=%#llx", r,
			 (unsigned long long)run->memory_fault.gpa,
			 (unsigned long long)run->memory_fault.size,
			 (unsigned long long)run->memory_fault.flags);
		break;
	case KVM_EXIT_HYPERCALL:
		snprintf(res, len, "ret=%s exit=HYPERCALL nr=%llu a0=%#llx a1=%#llx a2=%#llx flags=%#llx",
			 r, (unsigned long long)run->hypercall.nr,
			 (unsigned long long)run->hypercall.args[0],
			 (unsigned long long)run->hypercall.args[1],
			 (unsigned long long)run->hypercall.args[2],
			 (unsigned long long)run->hypercall.flags);
		break;
	default:
		/* what a failed KVM_RUN leaves in exit_reason is not part of the answer */
		if (ret < 0)
			snprintf(res, len, "ret=%s", r);
		else
			snprintf(res, len, "ret=%s exit=%u", r, run->exit_reason);
	}
}

static void kd_fmt_step(char *out, size_t len, const struct kd_step *s)
{
	const struct kd_opdef *d = &kd_ops[s->op];
	size_t n = (size_t)snprintf(out, len, "%s", d->name);

	for (int i = 0; i < KD_ARGS && d->args[i] && n < len; i++)
		n += (size_t)snprintf(out + n, len - n, " %s=%#" PRIx64, d->args[i], s->a[i]);
}

/* ------------------------------------------------------------ record */

struct kd_counts {
	unsigned int cases, calls, diffs, marked, stale, unrecorded, bugs;
};

/* Runs the case on one side; results[i] for steps[i]. */
static void kd_run_side(const struct kd_side *side, void *ctx, const struct kd_case *c,
			char (*results)[KD_RESULT])
{
	for (unsigned int i = 0; c->steps[i].op != KD_END; i++) {
		snprintf(results[i], KD_RESULT, "-");
		side->step(ctx, &c->steps[i], results[i], KD_RESULT);
	}
}

/*
 * The host's pass first, to its end, then memvisor's: the two sides share
 * this process, and memory one side unmaps must not be reused by the other
 * while a case still names it.
 */
static int kd_record_case(FILE *out, const struct kd_case *c, struct kd_counts *n)
{
	static char hr[KD_MAX_STEPS][KD_RESULT], mr[KD_MAX_STEPS][KD_RESULT];
	const char *mark = c->differs ? c->differs : c->known_bug;
	unsigned int case_diffs = 0;
	void *ctx = kd_host_side.begin();

	if (!ctx)
		return -1;
	kd_host_timed_out = false;
	kd_run_side(&kd_host_side, ctx, c, hr);
	kd_host_side.end(ctx);
	fprintf(out, "case %s\n", c->name);
	if (kd_host_timed_out) {
		fprintf(out, "not-recorded: a KVM_RUN of the host did not come back within 5 s\nend\n");
		printf("NOTE %s: not recorded (a host KVM_RUN did not come back)\n", c->name);
		n->unrecorded++;
		return 0;
	}
	ctx = kd_mv_side.begin();
	if (!ctx)
		return -1;
	kd_run_side(&kd_mv_side, ctx, c, mr);
	kd_mv_side.end(ctx);
	if (c->differs)
		fprintf(out, "differs: %s\n", c->differs);
	if (c->known_bug)
		fprintf(out, "known-bug: %s\n", c->known_bug);
	for (unsigned int i = 0; c->steps[i].op != KD_END; i++) {
		char line[256];

		kd_fmt_step(line, sizeof(line), &c->steps[i]);
		n->calls++;
		if (strcmp(hr[i], mr[i])) {
			case_diffs++;
			fprintf(out, "  %s => %s | memvisor: %s\n", line, hr[i], mr[i]);
			if (!mark)
				printf("DIFF %s: %s\n       host:     %s\n       memvisor: %s\n",
				       c->name, line, hr[i], mr[i]);
		} else {
			fprintf(out, "  %s => %s\n", line, hr[i]);
		}
	}
	fprintf(out, "end\n");
	if (mark && !case_diffs) {
		printf("NOTE %s is marked but every call matched the host\n", c->name);
		n->stale++;
	}
	if (mark)
		n->marked += case_diffs;
	else
		n->diffs += case_diffs;
	return 0;
}

static void kd_header(FILE *out, const char *note)
{
	struct utsname u;
	char when[64];
	time_t now = time(NULL);

	uname(&u);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	fprintf(out, "# memvisor differential transcript: the host kernel's answers to the\n"
		     "# sequences of tests/differential/kvm_trace_cases.c, recorded with\n"
		     "# 'kvm_trace record'; 'kvm_trace replay' runs every call on memvisor.\n");
	fprintf(out, "# recorded: %s\n", when);
	fprintf(out, "# kernel: %s %s %s %s\n", u.sysname, u.release, u.version, u.machine);
	fprintf(out, "%s", note);
}

static int kd_record(const char *path)
{
	void *probe = kd_host_side.begin();
	struct kd_counts n = { 0 };
	char note[1024];
	FILE *out;

	if (!probe) {
		printf("SKIPPED: the host's /dev/kvm cannot run the sequences (no /dev/kvm, or no VM)\n");
		return KD_SKIP;
	}
	kd_host_side.end(probe);
	note[0] = 0;
	kd_host_describe(note, sizeof(note));
	out = fopen(path, "w");
	if (!out) {
		perror(path);
		return 1;
	}
	kd_header(out, note);
	for (const struct kd_case *c = kd_cases; c->name; c++) {
		const char *only = getenv("KD_ONLY");

		if (only && strcmp(only, c->name))
			continue;
		if (kd_record_case(out, c, &n)) {
			printf("FAILED: case %s: cannot open a fresh context\n", c->name);
			fclose(out);
			return 1;
		}
		n.cases++;
	}
	fclose(out);
	printf("recorded %u cases (%u not recorded), %u calls into %s: %u unexpected differences, "
	       "%u differences in marked cases, %u stale marks\n",
	       n.cases, n.unrecorded, n.calls, path, n.diffs, n.marked, n.stale);
	return n.diffs ? 1 : 0;
}

/* ------------------------------------------------------------ replay */

static enum kd_op kd_op_by_name(const char *name)
{
	for (int op = 1; op < KD_NR_OPS; op++)
		if (kd_ops[op].name && !strcmp(kd_ops[op].name, name))
			return (enum kd_op)op;
	return KD_END;
}

/* "OP k=v ... => RESULT [| memvisor: R]" -> step, host result, memvisor result ("" if none). */
static int kd_parse_row(char *line, struct kd_step *s, char *host, char *mvres)
{
	char *arrow = strstr(line, " => "), *bar, *tok, *save;
	const struct kd_opdef *d;

	if (!arrow)
		return -1;
	*arrow = 0;
	bar = strstr(arrow + 4, " | memvisor: ");
	if (bar) {
		*bar = 0;
		snprintf(mvres, KD_RESULT, "%s", bar + 13);
	} else {
		mvres[0] = 0;
	}
	snprintf(host, KD_RESULT, "%s", arrow + 4);
	memset(s, 0, sizeof(*s));
	tok = strtok_r(line, " ", &save);
	if (!tok || !(s->op = kd_op_by_name(tok)))
		return -1;
	d = &kd_ops[s->op];
	while ((tok = strtok_r(NULL, " ", &save))) {
		char *eq = strchr(tok, '=');
		int i;

		if (!eq)
			return -1;
		*eq = 0;
		for (i = 0; i < KD_ARGS && d->args[i] && strcmp(d->args[i], tok); i++)
			;
		if (i == KD_ARGS || !d->args[i])
			return -1;
		s->a[i] = strtoull(eq + 1, NULL, 0);
	}
	return 0;
}

static void kd_chomp(char *l)
{
	size_t n = strlen(l);

	while (n && (l[n - 1] == '\n' || l[n - 1] == ' '))
		l[--n] = 0;
}

/* Where a replay is: the file, the case being replayed and its marks, the counts. */
struct kd_replay {
	const char *path;
	unsigned int lineno, case_marked_diffs;
	char name[512], differs[512];
	struct kd_counts n;
	void *mv;                     /* memvisor's context for the case */
};

/* A case's own lines (case, differs/known-bug, not-recorded, end): 1 if @line was one, -1 on failure. */
static int kd_replay_control(struct kd_replay *r, const char *line)
{
	if (!strncmp(line, "case ", 5)) {
		snprintf(r->name, sizeof(r->name), "%s", line + 5);
		r->differs[0] = 0;
		r->case_marked_diffs = 0;
		r->mv = kd_mv_side.begin();
		if (!r->mv) {
			printf("FAILED: memvisor cannot open a context for case %s\n", r->name);
			return -1;
		}
		r->n.cases++;
		return 1;
	}
	if (!strncmp(line, "differs: ", 9) || !strncmp(line, "known-bug: ", 11)) {
		snprintf(r->differs, sizeof(r->differs), "%s", line);
		if (line[0] == 'k') {
			printf("KNOWN BUG %s: %s\n", r->name, line + 11);
			r->n.bugs++;
		}
		return 1;
	}
	if (!strncmp(line, "not-recorded: ", 14)) {
		r->n.unrecorded++;
		return 1;
	}
	if (strcmp(line, "end"))
		return 0;
	if (r->mv)
		kd_mv_side.end(r->mv);
	r->mv = NULL;
	if (r->differs[0] && !r->case_marked_diffs) {
		printf("NOTE %s: marked, but memvisor now answers as the host: remove the mark\n",
		       r->name);
		r->n.stale++;
	}
	return 1;
}

/* One recorded call, run on memvisor and compared with the recorded answer: -1 if unreadable. */
static int kd_replay_step(struct kd_replay *r, char *line)
{
	char want[KD_RESULT], mvwant[KD_RESULT], got[KD_RESULT] = "-", row[512];
	struct kd_step s;

	snprintf(row, sizeof(row), "%s", line);
	if (!r->mv || kd_parse_row(line, &s, want, mvwant)) {
		printf("FAILED: %s:%u: cannot read this row: %s\n", r->path, r->lineno, row);
		return -1;
	}
	kd_mv_side.step(r->mv, &s, got, sizeof(got));
	r->n.calls++;
	if (mvwant[0] && !r->differs[0]) {
		printf("DIFF %s:%u (%s): host and memvisor differ in an unmarked case:%s\n", r->path,
		       r->lineno, r->name, row + 1);
		r->n.diffs++;
	} else if (strcmp(got, mvwant[0] ? mvwant : want)) {
		printf("DIFF %s:%u (%s):%s\n       memvisor now: %s\n", r->path, r->lineno, r->name,
		       row + 1, got);
		r->n.diffs++;
	} else if (mvwant[0]) {
		r->case_marked_diffs++;
		r->n.marked++;
	}
	return 0;
}

static int kd_replay(const char *path)
{
	struct kd_replay r = { .path = path };
	char line[512];
	int failed = 0;
	FILE *in = fopen(path, "r");

	if (!in) {
		perror(path);
		return 1;
	}
	while (!failed && fgets(line, sizeof(line), in)) {
		int c;

		r.lineno++;
		kd_chomp(line);
		if (!line[0] || line[0] == '#')
			continue;
		c = kd_replay_control(&r, line);
		if (c == 0)
			c = kd_replay_step(&r, line);
		failed = c < 0;
	}
	fclose(in);
	if (r.mv)
		kd_mv_side.end(r.mv);
	if (failed)
		return 1;
	printf("replayed %u cases (%u not recorded on the host), %u calls from %s: %u differences; "
	       "%u calls differ as marked (%u cases marked known-bug), %u stale marks\n",
	       r.n.cases, r.n.unrecorded, r.n.calls, path, r.n.diffs, r.n.marked, r.n.bugs,
	       r.n.stale);
	return r.n.diffs || !r.n.calls ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "record"))
		return kd_record(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "replay"))
		return kd_replay(argv[2]);
	fprintf(stderr, "usage: kvm_trace record|replay FILE\n");
	return 2;
}
