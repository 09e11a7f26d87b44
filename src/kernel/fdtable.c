/* SPDX-License-Identifier: MIT */
/*
 * Per-process fd tables: the lowest-free allocation rule, RLIMIT_NOFILE,
 * the close-on-exec bits, sharing between threads and copying on fork.
 *
 * A slot is empty (NULL), reserved (FD_RESERVED: openat has claimed the
 * number but not yet filled it, so that -EMFILE comes before a lookup
 * error, as on Linux) or holds one reference to a file. Reserved slots
 * look closed to everything but the allocator; dup2 onto one is -EBUSY.
 *
 * Locking: fdtable->lock guards the slots, the size and the bitmap. It
 * nests inside nothing: a file reference is taken under it and the lock is
 * dropped before anyone calls into the file or puts it.
 */
#include <string.h>

#include "kernel/kernel.h"
#include "lib/alloc.h"
#include "lib/lockdep.h"
#include "lib/bitmap.h"

#define FDT_MIN_SLOTS 64u

static const char fd_reserved_mark;
#define FD_RESERVED ((struct file *)(uintptr_t)&fd_reserved_mark)

static bool fd_slot_is_file(const struct file *f)
{
	return f && f != FD_RESERVED;
}

/* The fd numbers a task may allocate: [0, fd_limit). */
static unsigned int fd_limit(const struct mv_task *t)
{
	uint64_t lim = READ_ONCE(t->rlimit_nofile);

	return lim < K_NR_OPEN_MAX ? (unsigned int)lim : K_NR_OPEN_MAX;
}

/*
 * Grows the table so that slot @nr exists: 0, -EMFILE past fs.nr_open,
 * -ENOMEM. Called with ft->lock held.
 */
static int fdtable_expand_locked(struct fdtable *ft, unsigned int nr)
{
	unsigned int old = ft->max, max = old ? old : FDT_MIN_SLOTS;
	struct file **fd;
	unsigned long *map;

	lockdep_assert_held(&ft->lock);
	if (nr < old)
		return 0;
	if (nr >= K_NR_OPEN_MAX)
		return -EMFILE;
	while (max <= nr)
		max *= 2;
	if (max > K_NR_OPEN_MAX)
		max = K_NR_OPEN_MAX;
	fd = lib_realloc(ft->fd, max * sizeof(*fd));
	if (!fd)
		return -ENOMEM;
	ft->fd = fd;
	memset(fd + old, 0, (max - old) * sizeof(*fd));
	map = lib_realloc(ft->cloexec, LIB_BITMAP_LONGS(max) * sizeof(*map));
	if (!map)
		return -ENOMEM;
	memset(map + LIB_BITMAP_LONGS(old), 0,
	       (LIB_BITMAP_LONGS(max) - LIB_BITMAP_LONGS(old)) * sizeof(*map));
	ft->cloexec = map;
	ft->max = max;
	return 0;
}

static void fd_set_cloexec_locked(struct fdtable *ft, unsigned int fd, bool on)
{
	if (on)
		lib_bit_set(ft->cloexec, fd);
	else
		lib_bit_clear(ft->cloexec, fd);
}

static struct file *fd_lookup_locked(struct fdtable *ft, int fd)
{
	lockdep_assert_held(&ft->lock);
	if (fd < 0 || (unsigned int)fd >= ft->max || !fd_slot_is_file(ft->fd[fd]))
		return NULL;
	return ft->fd[fd];
}

struct fdtable *fdtable_create(void)
{
	struct fdtable *ft = lib_zalloc(sizeof(*ft));

	if (!ft)
		return lib_err_ptr(-ENOMEM);
	if (pthread_mutex_init(&ft->lock, NULL)) {
		lib_free(ft);
		return lib_err_ptr(-ENOMEM);
	}
	ft->users = 1;
	return ft;
}

void fdtable_get(struct fdtable *ft)
{
	__atomic_fetch_add(&ft->users, 1, __ATOMIC_RELAXED);
}

static void fdtable_free(struct fdtable *ft)
{
	for (unsigned int i = 0; i < ft->max; i++)
		if (fd_slot_is_file(ft->fd[i]))
			file_put(ft->fd[i]);
	lib_free(ft->fd);
	lib_free(ft->cloexec);
	pthread_mutex_destroy(&ft->lock);
	lib_free(ft);
}

/* The last user (process exit) closes every fd still open. */
void fdtable_put(struct fdtable *ft)
{
	if (ft && __atomic_sub_fetch(&ft->users, 1, __ATOMIC_ACQ_REL) == 0)
		fdtable_free(ft);
}

/*
 * fork without CLONE_FILES: the child gets every open fd, same numbers,
 * same close-on-exec bits, each slot a new reference to the same file.
 * Reserved slots (an open in flight in another thread) stay behind.
 */
int fdtable_copy(struct fdtable *old, struct fdtable **out)
{
	struct fdtable *ft = fdtable_create();
	int ret = 0;

	if (lib_is_err(ft))
		return (int)lib_ptr_err(ft);
	pthread_mutex_lock(&old->lock);
	/* the new table is ours alone; its lock is taken for the lock rule */
	pthread_mutex_lock(&ft->lock);
	if (old->max)
		ret = fdtable_expand_locked(ft, old->max - 1);
	for (unsigned int i = 0; !ret && i < old->max; i++) {
		if (!fd_slot_is_file(old->fd[i]))
			continue;
		file_get(old->fd[i]);
		ft->fd[i] = old->fd[i];
		fd_set_cloexec_locked(ft, i, lib_bit_test(old->cloexec, i));
	}
	pthread_mutex_unlock(&ft->lock);
	pthread_mutex_unlock(&old->lock);
	if (ret) {
		fdtable_put(ft);
		return ret;
	}
	*out = ft;
	return 0;
}

/**
 * fd_reserve - claim the lowest free fd below RLIMIT_NOFILE
 * @t: the task whose table to use
 * @o_flags: O_CLOEXEC sets the fd's close-on-exec bit
 *
 * Returns the fd (reserved until fd_install_reserved() or fd_unreserve()),
 * -EMFILE or -ENOMEM.
 */
int fd_reserve(struct mv_task *t, unsigned int o_flags)
{
	struct fdtable *ft = t->files;
	unsigned int end = fd_limit(t), fd;
	int ret;

	pthread_mutex_lock(&ft->lock);
	for (fd = 0; fd < ft->max && fd < end; fd++)
		if (!ft->fd[fd])
			break;
	ret = -EMFILE;
	if (fd >= end)
		goto out;
	ret = fdtable_expand_locked(ft, fd);
	if (ret)
		goto out;
	ft->fd[fd] = FD_RESERVED;
	fd_set_cloexec_locked(ft, fd, o_flags & O_CLOEXEC);
	ret = (int)fd;
out:
	pthread_mutex_unlock(&ft->lock);
	return ret;
}

/* Fills a slot from fd_reserve() with @f, taking over the caller's reference. */
void fd_install_reserved(struct mv_task *t, int fd, struct file *f)
{
	struct fdtable *ft = t->files;

	pthread_mutex_lock(&ft->lock);
	ft->fd[fd] = f;
	pthread_mutex_unlock(&ft->lock);
}

/* Gives back a slot from fd_reserve() that was never filled. */
void fd_unreserve(struct mv_task *t, int fd)
{
	struct fdtable *ft = t->files;

	pthread_mutex_lock(&ft->lock);
	ft->fd[fd] = NULL;
	fd_set_cloexec_locked(ft, (unsigned int)fd, false);
	pthread_mutex_unlock(&ft->lock);
}

int fd_install(struct mv_task *t, struct file *f, unsigned int o_flags)
{
	int fd = fd_reserve(t, o_flags);

	if (fd >= 0)
		fd_install_reserved(t, fd, f);
	return fd;
}

struct file *fd_get(struct mv_task *t, int fd)
{
	struct fdtable *ft = t->files;
	struct file *f;

	pthread_mutex_lock(&ft->lock);
	f = fd_lookup_locked(ft, fd);
	if (f)
		file_get(f);
	pthread_mutex_unlock(&ft->lock);
	return f;
}

int fd_close(struct mv_task *t, int fd)
{
	struct fdtable *ft = t->files;
	struct file *f;

	pthread_mutex_lock(&ft->lock);
	f = fd_lookup_locked(ft, fd);
	if (f) {
		ft->fd[fd] = NULL;
		fd_set_cloexec_locked(ft, (unsigned int)fd, false);
	}
	pthread_mutex_unlock(&ft->lock);
	if (!f)
		return -EBADF;
	file_put(f);
	return 0;
}

/**
 * fd_dup_to - the core of dup2/dup3: make @newfd refer to @oldfd's file
 * @t: the task
 * @oldfd: an open fd
 * @newfd: the target, closed first if open
 * @o_flags: O_CLOEXEC or 0, the new fd's close-on-exec bit
 *
 * The caller has checked flags and oldfd != newfd. Returns @newfd,
 * -EBADF (bad @oldfd, or @newfd at or past RLIMIT_NOFILE), -EBUSY (@newfd
 * is being opened by another thread), -ENOMEM.
 */
int fd_dup_to(struct mv_task *t, unsigned int oldfd, unsigned int newfd, unsigned int o_flags)
{
	struct fdtable *ft = t->files;
	struct file *f, *old;
	int ret;

	if (newfd >= fd_limit(t))
		return -EBADF;
	pthread_mutex_lock(&ft->lock);
	ret = fdtable_expand_locked(ft, newfd);
	f = oldfd <= INT32_MAX ? fd_lookup_locked(ft, (int)oldfd) : NULL;
	if (!f || ret == -EMFILE) {
		ret = -EBADF;
		goto out;
	}
	if (ret)
		goto out;
	old = ft->fd[newfd];
	if (old == FD_RESERVED) {
		ret = -EBUSY;
		goto out;
	}
	file_get(f);
	ft->fd[newfd] = f;
	fd_set_cloexec_locked(ft, newfd, o_flags & O_CLOEXEC);
	pthread_mutex_unlock(&ft->lock);
	file_put(old);
	return (int)newfd;
out:
	pthread_mutex_unlock(&ft->lock);
	return ret;
}

/* FIOCLEX / FIONCLEX: 0 or -EBADF. */
int fd_set_cloexec(struct mv_task *t, int fd, bool on)
{
	struct fdtable *ft = t->files;
	int ret = -EBADF;

	pthread_mutex_lock(&ft->lock);
	if (fd_lookup_locked(ft, fd)) {
		fd_set_cloexec_locked(ft, (unsigned int)fd, on);
		ret = 0;
	}
	pthread_mutex_unlock(&ft->lock);
	return ret;
}

/* F_GETFD's answer: 1 if close-on-exec, 0 if not, -EBADF. */
int fd_get_cloexec(struct mv_task *t, int fd)
{
	struct fdtable *ft = t->files;
	int ret = -EBADF;

	pthread_mutex_lock(&ft->lock);
	if (fd_lookup_locked(ft, fd))
		ret = lib_bit_test(ft->cloexec, (size_t)fd);
	pthread_mutex_unlock(&ft->lock);
	return ret;
}
