/* SPDX-License-Identifier: MIT */
/*
 * vm_snapshot(VM, VCPU, PATH) and vm_restore(VM, VCPU, PATH): the
 * scenario's VMM saves the VM behind VM (one vCPU, one RAM memslot) to a
 * host file, and applies a file to a VM it built with the same layout and
 * never ran (docs/snapshot.md). The answer is the file's size for a save,
 * for a restore the number of vEPC pages whose contents were lost (0
 * without SGX: the VMM tells the guest, which rebuilds its enclaves), or the negative errno the snapshot code gave (a
 * refused file: -EINVAL, -EBADMSG, -EPROTO; a VM that already ran: -EBUSY).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "lang/exec_int.h"
#include "lang/lang.h"
#include "vmm/snapshot.h"

static long lang_vm_snapshot(struct mv_task *t, int vm, int vcpu, const char *path)
{
	struct vmm_snap_vm sv;
	void *buf = NULL;
	size_t len = 0;
	int r = vmm_snap_vm_probe(t, vm, &vcpu, 1, &sv, NULL);

	if (!r)
		r = vmm_snapshot_save_vm(&sv, 0, &buf, &len);
	if (!r)
		r = vmm_snapshot_write_file(path, buf, len);
	free(buf);
	return r ? r : (long)len;
}

/* 0 or the vEPC pages whose enclaves the guest lost (the VMM tells the guest), or -errno. */
static long lang_vm_restore(struct mv_task *t, int vm, int vcpu, const char *path)
{
	struct vmm_restore_info info = { 0 };
	struct vmm_snap_vm sv;
	void *buf = NULL;
	size_t len = 0;
	int r = vmm_snapshot_read_file(path, &buf, &len);

	if (!r)
		r = vmm_snap_vm_probe(t, vm, &vcpu, 1, &sv, NULL);
	if (!r)
		r = vmm_snapshot_apply_vm(&sv, buf, len, &info, NULL);
	free(buf);
	return r ? r : (long)info.epc_lost;
}

/*
 * A scenario names a plain file in the current directory (letters, digits,
 * '.', '_', '-'; not starting with '.'): a scenario, or a fuzzed one, never
 * writes elsewhere on the host.
 */
static bool lang_snapshot_name_ok(const char *p)
{
	size_t n = 0;

	if (!p || p[0] == '.' || !p[0])
		return false;
	for (; p[n]; n++) {
		char c = p[n];

		if (n >= 64 || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				 (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

int lang_cpu_snapshot(struct lang_exec *x, const struct lang_step *s, struct mv_task *t,
		      struct lang_outcome *o, struct lang_diag *diag)
{
	uint64_t a[LANG_MAX_ARGS];
	int ret = lang_build_args(x, s, a, diag);

	if (ret)
		return ret;
	if (a[0] > INT32_MAX || a[1] > INT32_MAX) {
		o->ret = -EBADF;
		return 0;
	}
	if (!lang_snapshot_name_ok((const char *)(uintptr_t)a[2])) {
		o->ret = -EACCES;
		return 0;
	}
	if (s->desc->op == LCPU_VM_SNAPSHOT)
		o->ret = lang_vm_snapshot(t, (int)a[0], (int)a[1], (const char *)(uintptr_t)a[2]);
	else
		o->ret = lang_vm_restore(t, (int)a[0], (int)a[1], (const char *)(uintptr_t)a[2]);
	return 0;
}

/* ---- for the CLI (lang.h) ---- */

long lang_vm_snapshot_save(struct mv_task *t, int vm_fd, int vcpu_fd, const char *path,
			   const char **why)
{
	struct vmm_snap_vm sv;
	void *buf = NULL;
	size_t len = 0;
	int r = vmm_snap_vm_probe(t, vm_fd, &vcpu_fd, 1, &sv, why);

	if (!r) {
		r = vmm_snapshot_save_vm(&sv, 0, &buf, &len);
		if (r && why)
			*why = "the VM could not be read (KVM refused a save ioctl)";
	}
	if (!r) {
		r = vmm_snapshot_write_file(path, buf, len);
		if (r && why)
			*why = "the file could not be written";
	}
	free(buf);
	return r ? r : (long)len;
}

int lang_vm_snapshot_try_restore(const char *path, const struct lang_machine_opts *mo,
				 struct lang_snapshot_info *info, const char **why)
{
	struct mv_machine_config cfg = { 0 };
	struct vmm_restore_info ri;
	struct vmm_snap_built b;
	struct mv_machine *m = NULL;
	struct mv_task *t;
	void *buf = NULL;
	size_t len = 0;
	int r = vmm_snapshot_read_file(path, &buf, &len);

	if (r) {
		if (why)
			*why = "the file could not be read";
		return r;
	}
	if (mo)
		cfg = mo->cfg;
	r = mv_machine_create(&cfg, &m);
	if (!r)
		r = mv_task_spawn(m, &t);
	if (r && why)
		*why = "no machine to restore into";
	/* any layout: the memslots the file describes are built, not just struct vmm's one */
	if (!r)
		r = vmm_snapshot_restore_built(t, buf, len, &b, &ri, why);
	if (!r) {
		const struct vmm_config *c = &b.vm.cfg;

		*info = (struct lang_snapshot_info){
			.bytes = len, .nr_vcpus = c->nr_vcpus, .ram_gpa = c->ram_gpa,
			.ram_bytes = c->ram_bytes, .shared_pages = ri.shared_pages,
			.private_pages = ri.private_pages, .tagged_pages = ri.tagged_pages,
			.heki_runs = ri.heki_runs, .epc_lost = ri.epc_lost,
			.dirty_pages = ri.dirty_pages, .nr_slots = b.vm.nslots,
		};
		for (unsigned int i = 0; i < b.vm.nslots; i++) {
			info->nr_epc_slots += !!(b.vm.slots[i].s.flags & VMM_SNAP_SLOT_EPC);
			info->nr_gmem_slots += !!(b.vm.slots[i].s.flags & KVM_MEM_GUEST_MEMFD);
		}
		vmm_snapshot_built_release(&b);
	}
	if (m)
		mv_machine_destroy(m);
	free(buf);
	return r;
}

int lang_is_vcpu_fd(struct mv_task *t, int fd)
{
	return fd >= 0 && mv_vcpu_run_area(t, fd) != NULL;
}
