/* SPDX-License-Identifier: MIT */
/*
 * openat(): path lookup over memvisor's tiny namespace, and directory files.
 *
 * The namespace is what the device table implies: every registered device
 * path is a character device, every proper prefix of one ("/", "/dev") is
 * a directory, nothing else exists. The working directory is "/". Every
 * directory is root-owned and tasks run as an unprivileged user, so
 * creating a name is -EACCES, as it would be on Linux for that user.
 *
 * The checks follow Linux's order: flag validation (build_open_flags),
 * copying the path (getname: -EFAULT, -ENAMETOOLONG, -ENOENT for ""),
 * claiming the fd (-EMFILE), then the walk and the final open.
 */
#include <limits.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "kernel/syscalls.h"
#include "kernel/kernel.h"
#include "lib/alloc.h"

#define K_PATH_MAX 4096
#define K_NAME_MAX 255
#define K_O_DSYNC     010000
#define K_O_DIRECT    040000
#define K_O_LARGEFILE 0100000
#define K_O_NOFOLLOW  0400000
#define K_O_NOATIME   01000000
#define K_O_SYNC      04000000
#define K_O_TMPFILE   020000000
#define K_FASYNC      020000
#define K_VALID_OPEN_FLAGS                                                       \
	(O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | \
	 K_O_DSYNC | K_FASYNC | K_O_DIRECT | K_O_LARGEFILE | O_DIRECTORY |           \
	 K_O_NOFOLLOW | K_O_NOATIME | O_CLOEXEC | K_O_SYNC | O_PATH | K_O_TMPFILE)
#define K_O_PATH_FLAGS (O_DIRECTORY | K_O_NOFOLLOW | O_PATH | O_CLOEXEC)
#define K_MAY_WRITE 2
#define K_MAY_READ  4
#define DEVTMPFS_DEV makedev(0, 5)

enum knode_type { KNODE_NONE, KNODE_DIR, KNODE_DEV };

/* A resolved name: its absolute path ("/" or "/a/b"), its type, its device. */
struct knode {
	char path[K_PATH_MAX];
	enum knode_type type;
	struct kdev dev;
};

/* ------------------------------------------------------------ directories */

static const struct file_ops kdir_file_ops;

/* Directories have no inode of their own: a stable number from the path. */
static uint64_t kdir_ino(const char *path)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *path; path++)
		h = (h ^ (uint8_t)*path) * 0x100000001b3ull;
	return h | (1ull << 63);
}

static long kdir_read(struct mv_task *t, struct file *f, void *buf, size_t len, uint64_t *pos)
{
	return -EISDIR;
}

static int kdir_fstat(struct file *f, struct stat *st)
{
	st->st_dev = DEVTMPFS_DEV;
	st->st_mode = S_IFDIR | 0755;
	st->st_nlink = 2;
	st->st_uid = 0;
	st->st_gid = 0;
	st->st_size = 0;
	return 0;
}

static void kdir_release(struct file *f)
{
	lib_free(f->private_data);
}

static const struct file_ops kdir_file_ops = {
	.name = "dir",
	.read = kdir_read,
	.fstat = kdir_fstat,
	.release = kdir_release,
};

static long kdir_open(struct mv_task *t, const char *path, unsigned int flags,
		      struct file **out)
{
	size_t len = strlen(path) + 1;
	char *copy = lib_malloc(len);
	struct file *f;

	if (!copy)
		return -ENOMEM;
	memcpy(copy, path, len);
	f = file_alloc(t->k, &kdir_file_ops, flags, copy);
	if (lib_is_err(f)) {
		lib_free(copy);
		return lib_ptr_err(f);
	}
	f->ino = kdir_ino(path);
	*out = f;
	return 0;
}

/* ------------------------------------------------------------ lookup */

/* What @path names, from the device table (copied under kernel->lock). */
static void knode_lookup(struct kernel *k, struct knode *n)
{
	size_t len = strlen(n->path);

	n->type = KNODE_NONE;
	pthread_mutex_lock(&k->lock);
	for (unsigned int i = 0; i < k->nr_devices; i++) {
		const char *dev = k->devices[i].path;

		if (!strcmp(dev, n->path)) {
			n->type = KNODE_DEV;
			n->dev = k->devices[i];
			break;
		}
		if (len == 1 || (!strncmp(dev, n->path, len) && dev[len] == '/'))
			n->type = KNODE_DIR;
	}
	pthread_mutex_unlock(&k->lock);
}

/* Steps into component @name (not "." or "..") of directory @n. */
static int knode_step(struct kernel *k, struct knode *n, const char *name, size_t len)
{
	size_t cur = strlen(n->path);

	if (len > K_NAME_MAX)
		return -ENAMETOOLONG;
	if (cur == 1)
		cur = 0;
	if (cur + 1 + len >= sizeof(n->path))
		return -ENAMETOOLONG;
	n->path[cur] = '/';
	memcpy(n->path + cur + 1, name, len);
	n->path[cur + 1 + len] = '\0';
	knode_lookup(k, n);
	return 0;
}

static void knode_parent(struct knode *n)
{
	char *slash = strrchr(n->path, '/');

	if (slash == n->path)
		slash[1] = '\0';
	else
		*slash = '\0';
	n->type = KNODE_DIR;
}

/* The starting directory: "/" for absolute paths and AT_FDCWD, else dirfd's. */
static int knode_start(struct mv_task *t, int dfd, const char *path, struct knode *n)
{
	struct file *dir;

	strcpy(n->path, "/");
	n->type = KNODE_DIR;
	if (path[0] == '/' || dfd == AT_FDCWD)
		return 0;
	dir = dfd < 0 ? NULL : fd_get(t, dfd);
	if (!dir)
		return -EBADF;
	if (dir->ops != &kdir_file_ops) {
		file_put(dir);
		return -ENOTDIR;
	}
	strcpy(n->path, dir->private_data);
	file_put(dir);
	return 0;
}

/* How the last component looked: a name, or "."/".."/nothing (the dir itself). */
struct klast {
	const char *name;
	size_t len;
	bool trailing_slash;
};

/*
 * Walks every component but the last; leaves @n at the parent directory
 * and describes the last component in @last.
 */
static int knode_walk_parent(struct kernel *k, const char *path, struct knode *n,
			     struct klast *last)
{
	const char *p = path;

	last->name = NULL;
	last->len = 0;
	for (;;) {
		const char *name;
		size_t len;
		int ret;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		name = p;
		while (*p && *p != '/')
			p++;
		len = (size_t)(p - name);
		while (*p == '/')
			p++;
		if (!*p) {    /* the last component */
			last->name = name;
			last->len = len;
			last->trailing_slash = p[-1] == '/';
			return 0;
		}
		if (len == 1 && name[0] == '.')
			continue;
		if (len == 2 && name[0] == '.' && name[1] == '.') {
			knode_parent(n);
			continue;
		}
		ret = knode_step(k, n, name, len);
		if (ret)
			return ret;
		if (n->type == KNODE_NONE)
			return -ENOENT;
		if (n->type != KNODE_DIR)
			return -ENOTDIR;
	}
	return 0;
}

static bool klast_is_dots(const struct klast *last)
{
	if (!last->name)
		return true;
	return (last->len == 1 && last->name[0] == '.') ||
	       (last->len == 2 && last->name[0] == '.' && last->name[1] == '.');
}

/* Resolves the last component (open_last_lookups) into @n. */
static int knode_lookup_last(struct kernel *k, struct knode *n, const struct klast *last,
			     unsigned int flags)
{
	int ret;

	if (klast_is_dots(last)) {
		if (last->name && last->len == 2)
			knode_parent(n);
		return 0;
	}
	if ((flags & O_CREAT) && last->trailing_slash)
		return -EISDIR;
	ret = knode_step(k, n, last->name, last->len);
	if (ret)
		return ret;
	if (n->type == KNODE_NONE)
		return (flags & O_CREAT) ? -EACCES : -ENOENT;
	return 0;
}

/* ------------------------------------------------------------ open */

static unsigned int kopen_acc_mode(unsigned int flags)
{
	static const unsigned char acc[4] = {
		K_MAY_READ, K_MAY_WRITE, K_MAY_READ | K_MAY_WRITE, K_MAY_READ | K_MAY_WRITE,
	};
	unsigned int mode = acc[flags & O_ACCMODE];

	if (flags & O_TRUNC)
		mode |= K_MAY_WRITE;
	return mode;
}

/* build_open_flags() for openat: unknown bits are dropped, not refused. */
static long kopen_check_flags(unsigned int *flagsp)
{
	unsigned int flags = *flagsp & K_VALID_OPEN_FLAGS;

	if (flags & O_PATH)
		flags &= K_O_PATH_FLAGS;
	if ((flags & (O_DIRECTORY | O_CREAT)) == (O_DIRECTORY | O_CREAT))
		return -EINVAL;
	if (flags & K_O_TMPFILE) {
		if (!(flags & O_DIRECTORY))
			return -EINVAL;
		if (!(kopen_acc_mode(flags) & K_MAY_WRITE))
			return -EINVAL;
	}
	*flagsp = flags;
	return 0;
}

/* getname(): -EFAULT, -ENAMETOOLONG, or -ENOENT for the empty path. */
static long kopen_check_path(const char *path)
{
	size_t len;

	if (k_host_range_faults(path, 1))
		return -EFAULT;
	len = strnlen(path, K_PATH_MAX);
	if (len == K_PATH_MAX)
		return -ENAMETOOLONG;
	if (len == 0)
		return -ENOENT;
	return 0;
}

/* do_open(): the checks on the node found, then the open itself. */
static long knode_open(struct mv_task *t, const struct knode *n, unsigned int flags,
		       bool must_be_dir, struct file **out)
{
	bool is_dir = n->type == KNODE_DIR;

	if (flags & K_O_TMPFILE)
		return is_dir ? -EACCES : -ENOTDIR;
	if (flags & O_CREAT) {
		if (flags & O_EXCL)
			return -EEXIST;
		if (is_dir)
			return -EISDIR;
	}
	if (must_be_dir && !is_dir)
		return -ENOTDIR;
	if (is_dir && !(flags & O_PATH) && (kopen_acc_mode(flags) & K_MAY_WRITE))
		return -EISDIR;
	if (is_dir)
		return kdir_open(t, n->path, flags, out);
	return n->dev.open(t, n->dev.ctx, flags, out);
}

static long kopen_resolve(struct mv_task *t, int dfd, const char *path, unsigned int flags,
			  struct file **out)
{
	struct knode *n = lib_malloc(sizeof(*n));
	struct klast last;
	long ret;

	if (!n)
		return -ENOMEM;
	ret = knode_start(t, dfd, path, n);
	if (!ret)
		ret = knode_walk_parent(t->k, path, n, &last);
	if (!ret)
		ret = knode_lookup_last(t->k, n, &last, flags);
	if (!ret)
		ret = knode_open(t, n, flags,
				 (flags & O_DIRECTORY) || (last.name && last.trailing_slash), out);
	lib_free(n);
	return ret;
}

long sys_openat(struct mv_task *t, const uint64_t a[6])
{
	int dfd = (int)a[0];
	const char *path = (const char *)(uintptr_t)a[1];
	unsigned int flags = (unsigned int)a[2];
	struct file *f = NULL;
	long ret;
	int fd;

	ret = kopen_check_flags(&flags);
	if (!ret)
		ret = kopen_check_path(path);
	if (ret)
		return ret;
	fd = fd_reserve(t, flags);
	if (fd < 0)
		return fd;
	ret = kopen_resolve(t, dfd, path, flags & ~(unsigned int)O_CLOEXEC, &f);
	if (ret) {
		fd_unreserve(t, fd);
		return ret;
	}
	fd_install_reserved(t, fd, f);
	return fd;
}
