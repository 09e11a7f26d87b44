/* SPDX-License-Identifier: MIT */
/*
 * The kernel object: pid allocation, the task list, and the table of
 * device paths that openat() resolves. Layers above register their devices
 * (/dev/kvm, /dev/sgx_vepc) explicitly after kernel_init().
 */
#include <string.h>

#include "kernel/guest_memfd.h"
#include "kernel/kernel.h"
#include "kernel/sgx_vepc.h"
#include "lib/trace.h"

int kernel_init(struct kernel *k, struct hw_machine *hw)
{
	int ret;

	memset(k, 0, sizeof(*k));
	k->hw = hw;
	k->next_pid = 1;
	k->next_ino = 1;
	lib_list_init(&k->tasks);
	if (pthread_mutex_init(&k->lock, NULL))
		return -ENOMEM;
	ret = kernel_register_builtin_devices(k);
	if (!ret)
		ret = sgx_vepc_init(k);
	if (ret)
		pthread_mutex_destroy(&k->lock);
	return ret;
}

void kernel_fini(struct kernel *k)
{
	for (;;) {
		struct mv_task *t = NULL;

		pthread_mutex_lock(&k->lock);
		if (!lib_list_empty(&k->tasks))
			t = lib_list_first_entry(&k->tasks, struct mv_task, link);
		pthread_mutex_unlock(&k->lock);
		if (!t)
			break;
		task_exit(t);
	}
	gmem_host_destroy(k);
	sgx_vepc_fini(k);
	pthread_mutex_destroy(&k->lock);
}

int kernel_register_device(struct kernel *k, const char *path, kdev_open_fn open, void *ctx)
{
	int ret = 0;

	if (strlen(path) >= sizeof(k->devices[0].path))
		return -ENAMETOOLONG;
	pthread_mutex_lock(&k->lock);
	for (unsigned int i = 0; i < k->nr_devices; i++) {
		if (!strcmp(k->devices[i].path, path)) {
			ret = -EEXIST;
			goto out;
		}
	}
	if (k->nr_devices == K_MAX_DEVICES) {
		ret = -ENOSPC;
		goto out;
	}
	strcpy(k->devices[k->nr_devices].path, path);
	k->devices[k->nr_devices].open = open;
	k->devices[k->nr_devices].ctx = ctx;
	k->nr_devices++;
out:
	pthread_mutex_unlock(&k->lock);
	return ret;
}

void kernel_trace_fault(struct kernel *k, struct mv_task *t, const char *what, uint64_t addr,
			int signo, int code)
{
	struct lib_trace_ev ev;

	if (!lib_trace_begin(&ev, &k->hw->trace, "signal"))
		return;
	lib_trace_i64(&ev, "pid", t->pid);
	lib_trace_str(&ev, "cause", what);
	lib_trace_hex(&ev, "addr", addr);
	lib_trace_i64(&ev, "signo", signo);
	lib_trace_i64(&ev, "code", code);
	lib_trace_emit(&ev);
}
