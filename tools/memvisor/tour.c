/* SPDX-License-Identifier: MIT */
/*
 * memvisor tour: a guided walk through what memvisor models, each step a
 * short story (what the hardware does, what the kernel answers, what an
 * attacker gets) followed by the real calls and their real results.
 *
 * The steps here cover the foundation: the machine, a process, demand
 * paging, page protection, errno fidelity and copy on write. Every result
 * printed is checked; a step that does not behave as told fails the tour.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <memvisor/memvisor.h>

#include "cli.h"
#include "lib/err.h"

struct tour {
	struct mv_machine *m;
	struct mv_task *t;
	int step;
	int failures;
};

static void tour_step(struct tour *tr, const char *title, const char *story)
{
	printf("\n== %d. %s\n%s\n", ++tr->step, title, story);
}

static const char *errname(long ret)
{
	const char *n = ret < 0 ? lib_errno_name(ret) : NULL;

	return n ? n : "?";
}

/* Prints "call = result" and checks it against what the story promised. */
static void tour_check(struct tour *tr, const char *call, long got, long want)
{
	if (got < 0)
		printf("   %-54s = -%s\n", call, errname(got));
	else
		printf("   %-54s = %#lx\n", call, (unsigned long)got);
	if (got != want) {
		printf("   !! expected %ld\n", want);
		tr->failures++;
	}
}

static void tour_signal(struct tour *tr, struct mv_task *t, int signo, int code, uint64_t addr)
{
	struct mv_siginfo si;

	if (mv_task_take_signal(t, &si) != 1) {
		printf("   !! expected a signal, none pending\n");
		tr->failures++;
		return;
	}
	printf("   signal: %s, si_code %s, si_addr %#llx\n",
	       si.signo == SIGSEGV ? "SIGSEGV" : si.signo == SIGBUS ? "SIGBUS" : "other",
	       si.code == SEGV_MAPERR ? "SEGV_MAPERR" : si.code == SEGV_ACCERR ? "SEGV_ACCERR" : "other",
	       (unsigned long long)si.addr);
	if (si.signo != signo || si.code != code || si.addr != addr) {
		printf("   !! expected signo %d code %d addr %#llx\n", signo, code,
		       (unsigned long long)addr);
		tr->failures++;
	}
}

static void step_machine(struct tour *tr)
{
	struct mv_machine_stats st;

	tour_step(tr, "A machine",
		  "memvisor simulates a machine: physical memory, x86-64 page tables\n"
		  "stored in that memory, a software TLB per CPU. 1 GiB of RAM is one\n"
		  "lazily backed host mapping, so it costs only what is touched.");
	mv_machine_get_stats(tr->m, &st);
	printf("   RAM %llu MiB, %llu frames of 4 KiB, %llu bytes of metadata per frame\n",
	       (unsigned long long)(st.ram_bytes >> 20), (unsigned long long)st.frames_total,
	       (unsigned long long)st.frame_meta_bytes);
}

static void step_paging(struct tour *tr, uint64_t *addr)
{
	char buf[32] = { 0 };
	long a;

	tour_step(tr, "A process and demand paging",
		  "A task asks for memory with mmap. The kernel only records a VMA; the\n"
		  "first store faults (#PF, not-present), the kernel allocates a zeroed\n"
		  "frame, maps it in the task's page tables, and the store is retried.");
	a = mv_syscall(tr->t, MV_SYS_mmap, 0, 4 * 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0);
	tour_check(tr, "mmap(NULL, 16 KiB, RW, PRIVATE|ANON)", a, a > 0 ? a : 1);
	*addr = (uint64_t)a;
	tour_check(tr, "store \"hello, memvisor\" at the mapping",
		   mv_user_write(tr->t, *addr, "hello, memvisor", 16), 0);
	tour_check(tr, "load it back", mv_user_read(tr->t, *addr, buf, 16), 0);
	printf("   read back: \"%s\"\n", buf);
	if (strcmp(buf, "hello, memvisor"))
		tr->failures++;
}

static void step_protect(struct tour *tr, uint64_t addr)
{
	char buf[16];

	tour_step(tr, "Page protection",
		  "mprotect(PROT_READ) clears RW in the PTE and shoots the TLBs down. A\n"
		  "store now faults with a protection #PF; the kernel finds the VMA has\n"
		  "no write permission and sends SIGSEGV/SEGV_ACCERR. The store never\n"
		  "happened: an attacker's write to read-only data gains nothing.");
	tour_check(tr, "mprotect(addr, 16 KiB, PROT_READ)",
		   mv_syscall(tr->t, MV_SYS_mprotect, addr, 4 * 4096, PROT_READ, 0, 0, 0), 0);
	tour_check(tr, "store to the read-only page",
		   mv_user_write(tr->t, addr + 8, "XXXX", 4), -EFAULT);
	tour_signal(tr, tr->t, SIGSEGV, SEGV_ACCERR, addr + 8);
	tour_check(tr, "load still works", mv_user_read(tr->t, addr, buf, 16), 0);
	tour_check(tr, "munmap(addr, 16 KiB)",
		   mv_syscall(tr->t, MV_SYS_munmap, addr, 4 * 4096, 0, 0, 0, 0), 0);
	tour_check(tr, "load from the unmapped page", mv_user_read(tr->t, addr, buf, 8),
		   -EFAULT);
	tour_signal(tr, tr->t, SIGSEGV, SEGV_MAPERR, addr);
}

static void step_errno(struct tour *tr)
{
	tour_step(tr, "Answers to the errno",
		  "Every entry checks its arguments in Linux's order and gives Linux's\n"
		  "errno, so software tested here meets no surprise on real Linux.");
	tour_check(tr, "mmap(NULL, 0, RW, PRIVATE|ANON)",
		   mv_syscall(tr->t, MV_SYS_mmap, 0, 0, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0), -EINVAL);
	tour_check(tr, "mmap(NULL, 4 KiB, RW, PRIVATE, fd 42)",
		   mv_syscall(tr->t, MV_SYS_mmap, 0, 4096, PROT_READ, MAP_PRIVATE, 42, 0), -EBADF);
	tour_check(tr, "munmap(0x1001, 4 KiB)",
		   mv_syscall(tr->t, MV_SYS_munmap, 0x1001, 4096, 0, 0, 0, 0), -EINVAL);
	tour_check(tr, "close(99)", mv_syscall(tr->t, MV_SYS_close, 99, 0, 0, 0, 0, 0), -EBADF);
	tour_check(tr, "openat(AT_FDCWD, \"/dev/nonexistent\")",
		   mv_syscall(tr->t, MV_SYS_openat, (uint64_t)AT_FDCWD,
			      (uint64_t)(uintptr_t)"/dev/nonexistent", O_RDWR, 0, 0, 0), -ENOENT);
}

static void step_cow(struct tour *tr)
{
	struct mv_task *child = NULL;
	char p[8] = { 0 }, c[8] = { 0 };
	long a;

	tour_step(tr, "Fork and copy on write",
		  "fork shares every private page read-only between parent and child.\n"
		  "The first store on either side faults, the kernel copies the page,\n"
		  "and each process sees only its own writes.");
	a = mv_syscall(tr->t, MV_SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0);
	tour_check(tr, "mmap(NULL, 4 KiB, RW, PRIVATE|ANON)", a, a > 0 ? a : 1);
	tour_check(tr, "parent stores \"parent\"", mv_user_write(tr->t, a, "parent", 7), 0);
	tour_check(tr, "clone(0) (fork)", mv_task_clone(tr->t, 0, &child), 0);
	if (!child) {
		tr->failures++;
		return;
	}
	tour_check(tr, "child stores \"child\"", mv_user_write(child, a, "child", 6), 0);
	tour_check(tr, "parent loads", mv_user_read(tr->t, a, p, 7), 0);
	tour_check(tr, "child loads", mv_user_read(child, a, c, 6), 0);
	printf("   parent sees \"%s\", child sees \"%s\"\n", p, c);
	if (strcmp(p, "parent") || strcmp(c, "child"))
		tr->failures++;
	mv_task_exit(child);
}

static void tour_usage(FILE *out)
{
	fprintf(out, "usage: memvisor tour\n"
		     "Walks through what memvisor models, step by step, with real results.\n");
}

int cli_tour(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct tour tr = { 0 };
	uint64_t addr = 0;
	int c, ret;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			tour_usage(stdout);
			return CLI_OK;
		}
		tour_usage(stderr);
		return CLI_USAGE;
	}
	ret = mv_machine_create(NULL, &tr.m);
	if (!ret)
		ret = mv_task_spawn(tr.m, &tr.t);
	if (ret) {
		fprintf(stderr, "memvisor tour: cannot start: %s\n", strerror(-ret));
		mv_machine_destroy(tr.m);
		return CLI_FAIL;
	}
	printf("memvisor tour: the foundation, step by step.\n");
	step_machine(&tr);
	step_paging(&tr, &addr);
	step_protect(&tr, addr);
	step_errno(&tr);
	step_cow(&tr);
	mv_task_exit(tr.t);
	mv_machine_destroy(tr.m);
	if (tr.failures) {
		printf("\n%d check(s) did not behave as described.\n", tr.failures);
		return CLI_FAIL;
	}
	printf("\nEvery step behaved as described.\n");
	return CLI_OK;
}
