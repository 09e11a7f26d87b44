/* SPDX-License-Identifier: MIT */
/*
 * hello: the smallest memvisor program. Built against the installed library
 *   cc hello.c $(pkg-config --cflags --libs memvisor) -o hello
 * it spawns a task, maps memory, writes and reads it back, then shows the
 * protection: a store to a read-only mapping is refused with SIGSEGV /
 * SEGV_ACCERR, exactly as on Linux.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <memvisor/memvisor.h>

static int fail(const char *what, long ret)
{
	fprintf(stderr, "hello: %s: %ld\n", what, ret);
	return 1;
}

int main(void)
{
	struct mv_machine *m = NULL;
	struct mv_task *t = NULL;
	struct mv_siginfo si;
	char buf[32] = { 0 };
	long rw, ro, ret;
	int status = 1;

	ret = mv_machine_create(NULL, &m);
	if (ret)
		return fail("mv_machine_create", ret);
	ret = mv_task_spawn(m, &t);
	if (ret) {
		fail("mv_task_spawn", ret);
		goto out_machine;
	}

	rw = mv_syscall(t, MV_SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0);
	if (rw < 0) {
		fail("mmap rw", rw);
		goto out_task;
	}
	if ((ret = mv_user_write(t, rw, "hello, memvisor", 16)) ||
	    (ret = mv_user_read(t, rw, buf, 16)) || strcmp(buf, "hello, memvisor")) {
		fail("write/read back", ret);
		goto out_task;
	}
	printf("read back \"%s\" from %#lx\n", buf, (unsigned long)rw);

	ro = mv_syscall(t, MV_SYS_mmap, 0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			(uint64_t)-1, 0);
	if (ro < 0) {
		fail("mmap ro", ro);
		goto out_task;
	}
	ret = mv_user_write(t, ro, "x", 1);
	if (ret != -EFAULT || mv_task_take_signal(t, &si) != 1 || si.signo != SIGSEGV ||
	    si.code != SEGV_ACCERR || si.addr != (uint64_t)ro) {
		fail("store to read-only memory was not refused", ret);
		goto out_task;
	}
	printf("store to read-only %#lx: SIGSEGV, SEGV_ACCERR\n", (unsigned long)ro);
	status = 0;

out_task:
	mv_task_exit(t);
out_machine:
	mv_machine_destroy(m);
	return status;
}
