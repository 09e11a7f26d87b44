// SPDX-License-Identifier: MIT
/*
 * process_vm_readv(2) and process_vm_writev(2): copies between the
 * caller's buffers and another task's memory, through GUP without
 * FOLL_FORCE, as mm/process_vm_access.c does. The local iovecs and what
 * they point at are syscall buffers (host pointers, like read()'s); the
 * remote iovecs hold addresses in the target's address space. The target
 * is a thread id; every memvisor task runs as the same unprivileged user,
 * so the ptrace access check always passes and -EPERM never comes.
 *
 * Linux's answers: flags other than 0 are -EINVAL; more than UIO_MAXIOV
 * iovecs or a length that is negative as an ssize_t -EINVAL; an iovec
 * array that cannot be read, or a local range past TASK_SIZE, -EFAULT;
 * nothing to copy (local or remote lengths all 0) is 0 before the target
 * is looked up; no such task -ESRCH. The copy stops at the first remote
 * page GUP refuses (unmapped, or not writable for a write: read-only and
 * shadow-stack memory alike) or the first local buffer that faults, and
 * returns the bytes copied so far, or -EFAULT when there are none.
 */
#include <string.h>

#include "hw/ram.h"
#include "kernel/syscalls.h"
#include "kernel/mm_internal.h"
#include "lib/alloc.h"

#define K_UIO_MAXIOV 1024
#define K_UIO_FASTIOV 8
#define K_MAX_RW_COUNT (0x7fffffffull & HW_PAGE_MASK)   /* INT_MAX & PAGE_MASK */

struct k_iovec {
	uint64_t base, len;
};
_Static_assert(sizeof(struct k_iovec) == 16, "struct iovec on x86-64");

/* The local side as an iov_iter: where the next byte goes, and how many are left. */
struct pvm_iter {
	const struct k_iovec *iov;
	uint64_t nr, idx, off;
	uint64_t left;
};

/* Frees what pvm_iovec_from_user() allocated (nothing if it used @fast). */
static void pvm_iovec_free(struct k_iovec *iov, const struct k_iovec *fast)
{
	if (iov != fast)
		lib_free(iov);
}

/*
 * iovec_from_user(): @n entries copied in, or the error; *@out NULL for
 * none. Up to UIO_FASTIOV entries go to @fast (the caller's stack, as in
 * Linux): only a longer array is allocated, so only it can be -ENOMEM,
 * which Linux answers before it reads the array.
 */
static long pvm_iovec_from_user(const void *uvec, uint64_t n, struct k_iovec *fast,
				struct k_iovec **out)
{
	struct k_iovec *iov;

	*out = NULL;
	if (!n)
		return 0;
	if (n > K_UIO_MAXIOV)
		return -EINVAL;
	iov = n <= K_UIO_FASTIOV ? fast : lib_calloc(n, sizeof(*iov));
	if (!iov)
		return -ENOMEM;
	if (k_host_range_faults(uvec, n * sizeof(*iov)))
		goto err_free;
	memcpy(iov, uvec, n * sizeof(*iov));
	for (uint64_t i = 0; i < n; i++) {
		if ((int64_t)iov[i].len < 0) {
			pvm_iovec_free(iov, fast);
			return -EINVAL;
		}
	}
	*out = iov;
	return 0;

err_free:
	pvm_iovec_free(iov, fast);
	return -EFAULT;
}

/* access_ok(): the range stays below TASK_SIZE without wrapping. */
static bool pvm_access_ok(uint64_t base, uint64_t len)
{
	return base + len >= base && base + len <= K_TASK_SIZE;
}

/*
 * import_iovec() for the local side: each range must pass access_ok, and
 * the total is capped at MAX_RW_COUNT (a single iovec is capped first,
 * then checked, as import_ubuf() does).
 */
static long pvm_import_local(const void *uvec, uint64_t n, struct k_iovec *fast,
			     struct k_iovec **out, struct pvm_iter *it)
{
	long ret = pvm_iovec_from_user(uvec, n, fast, out);
	struct k_iovec *iov = *out;
	uint64_t total = 0;

	if (ret)
		return ret;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t room = K_MAX_RW_COUNT - total;

		if (n == 1 && iov[i].len > room)
			iov[i].len = room;
		if (!pvm_access_ok(iov[i].base, iov[i].len)) {
			pvm_iovec_free(iov, fast);
			*out = NULL;
			return -EFAULT;
		}
		if (iov[i].len > room)
			iov[i].len = room;
		total += iov[i].len;
	}
	*it = (struct pvm_iter){ .iov = iov, .nr = n, .left = total };
	return 0;
}

/*
 * process_vm_rw_pages() for one page: @n bytes at @ram to or from the
 * local buffers. -EFAULT when a local buffer faults before they are done.
 */
static long pvm_copy_page(uint8_t *ram, uint64_t n, struct pvm_iter *it, bool write)
{
	while (n && it->left) {
		const struct k_iovec *seg = &it->iov[it->idx];
		uint64_t chunk = seg->len - it->off;
		uint8_t *local = (uint8_t *)(uintptr_t)(seg->base + it->off);

		if (!chunk) {
			it->idx++;
			it->off = 0;
			continue;
		}
		if (chunk > n)
			chunk = n;
		if (k_host_range_faults(local, chunk))
			return -EFAULT;
		if (write)
			hw_ram_write(ram, local, chunk);
		else
			hw_ram_read(local, ram, chunk);
		ram += chunk;
		n -= chunk;
		it->off += chunk;
		it->left -= chunk;
	}
	return 0;
}

/* process_vm_rw_single_vec(): one remote iovec, page by page. Takes mmap_lock for read. */
static long pvm_rw_single_vec(struct mm *mm, uint64_t addr, uint64_t len, struct pvm_iter *it,
			      bool write)
{
	struct hw_machine *hw = mm->k->hw;
	uint64_t va = addr & HW_PAGE_MASK, off = addr - va;
	long rc = 0;

	pthread_rwlock_rdlock(&mm->mmap_lock);
	while (!rc && len && it->left) {
		uint64_t n = K_PAGE_SIZE - off < len ? K_PAGE_SIZE - off : len;
		hw_pfn_t pfn;

		if (gup_one_locked(mm, va, FOLL_REMOTE | (write ? FOLL_WRITE : 0), &pfn)) {
			rc = -EFAULT;   /* whatever GUP said, as pin_user_pages_remote's caller */
			break;
		}
		rc = pvm_copy_page((uint8_t *)hw_pfn_to_host(hw, pfn) + off, n, it, write);
		hw_folio_put(hw, pfn);
		len -= n;
		va += K_PAGE_SIZE;
		off = 0;
	}
	pthread_rwlock_unlock(&mm->mmap_lock);
	return rc;
}

/* find_get_task_by_vpid() and mm_access(): the target's mm, referenced, or NULL. */
static struct mm *pvm_target_mm(struct kernel *k, int pid)
{
	struct mm *mm = NULL;
	struct mv_task *it;

	pthread_mutex_lock(&k->lock);
	lib_list_for_each_entry(it, &k->tasks, link) {
		if (it->pid == pid && it->mm) {
			mm = it->mm;
			mm_get(mm);   /* the task holds a reference: this one cannot be the first */
			break;
		}
	}
	pthread_mutex_unlock(&k->lock);
	return mm;
}

/* process_vm_rw_core(): the remote side, then the copy. */
static long pvm_rw_core(struct mv_task *t, int pid, struct pvm_iter *it,
			const struct k_iovec *rvec, uint64_t riovcnt, bool write)
{
	uint64_t total = it->left, nr_pages = 0;
	long rc = 0;
	struct mm *mm;

	for (uint64_t i = 0; i < riovcnt; i++)
		if (rvec[i].len)
			nr_pages = 1;
	if (!nr_pages)
		return 0;
	mm = pvm_target_mm(t->k, pid);
	if (!mm)
		return -ESRCH;
	for (uint64_t i = 0; i < riovcnt && it->left && !rc; i++)
		rc = pvm_rw_single_vec(mm, rvec[i].base, rvec[i].len, it, write);
	mm_put(mm);
	return total - it->left ? (long)(total - it->left) : rc;
}

/* process_vm_rw(): the checks in Linux's order, then the copy. */
static long pvm_rw(struct mv_task *t, const uint64_t a[6], bool write)
{
	struct k_iovec lfast[K_UIO_FASTIOV], rfast[K_UIO_FASTIOV];
	struct k_iovec *liov = NULL, *riov = NULL;
	struct pvm_iter it = { 0 };
	long ret;

	if (a[5])
		return -EINVAL;
	ret = pvm_import_local((const void *)(uintptr_t)a[1], a[2], lfast, &liov, &it);
	if (ret || !it.left)
		goto out;
	ret = pvm_iovec_from_user((const void *)(uintptr_t)a[3], a[4], rfast, &riov);
	if (ret)
		goto out;
	ret = pvm_rw_core(t, (int)a[0], &it, riov, a[4], write);
out:
	pvm_iovec_free(riov, rfast);
	pvm_iovec_free(liov, lfast);
	return ret;
}

long sys_process_vm_readv(struct mv_task *t, const uint64_t a[6])
{
	return pvm_rw(t, a, false);
}

long sys_process_vm_writev(struct mv_task *t, const uint64_t a[6])
{
	return pvm_rw(t, a, true);
}
