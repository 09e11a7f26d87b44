/* SPDX-License-Identifier: MIT */
/*
 * File system calls other than openat (open.c): read/write and their
 * positional forms, close and dup*, fstat, ftruncate, fallocate, ioctl,
 * memfd_create. Each validates in Linux's order and with Linux's errno,
 * then calls the file's operation.
 *
 * fd arguments are unsigned int as in the kernel's prototypes, so -1 is a
 * large fd and fails as a closed one would. A file reference is taken
 * under the fd-table lock (fd_get) and held across the call into the file.
 */
#include <limits.h>
#include <string.h>

#include "kernel/syscalls.h"
#include "kernel/kernel.h"
#include "lib/alloc.h"

_Static_assert(sizeof(struct stat) == 144, "struct stat must be the x86-64 layout");

#define K_MAX_RW_COUNT ((size_t)(INT_MAX & HW_PAGE_MASK))

#define K_FALLOC_FL_WRITE_ZEROES 0x80
#define K_FALLOC_FL_MODE_MASK                                                   \
	(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_ZERO_RANGE |  \
	 FALLOC_FL_INSERT_RANGE | FALLOC_FL_UNSHARE_RANGE | K_FALLOC_FL_WRITE_ZEROES)

/* Generic ioctls handled before the file's own (fs/ioctl.c), Linux values. */
#define K_FIONREAD 0x541B
#define K_FIONBIO  0x5421
#define K_FIONCLEX 0x5450
#define K_FIOCLEX  0x5451
#define K_FIOASYNC 0x5452
#define K_FIOQSIZE 0x5460
#define K_FASYNC   020000

#define MFD_NAME_PREFIX "memfd:"
#define MFD_NAME_MAX_LEN (255 - (sizeof(MFD_NAME_PREFIX) - 1))   /* 249 */
#define MFD_HUGE_SHIFT 26
#define MFD_HUGE_MASK  0x3fu
#define MFD_ALL_FLAGS \
	(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC)

/* An fd argument: unsigned int in the kernel; past INT_MAX it is never open. */
static int kfd(uint64_t arg)
{
	unsigned int fd = (unsigned int)arg;

	return fd > INT_MAX ? -1 : (int)fd;
}

/* fdget(): O_PATH files only name a place; they cannot be read, written, ... */
static struct file *fd_get_io(struct mv_task *t, int fd)
{
	struct file *f = fd_get(t, fd);

	if (f && (READ_ONCE(f->f_flags) & O_PATH)) {
		file_put(f);
		return NULL;
	}
	return f;
}

/* The inode type and size as the file's fstat reports them (0 if it has none). */
static unsigned int kfile_stat(struct file *f, uint64_t *size)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	if (!f->ops->fstat || f->ops->fstat(f, &st))
		return 0;
	if (size)
		*size = (uint64_t)st.st_size;
	return st.st_mode;
}

/* access_ok(): the range must lie in user space; a NULL buffer passes here. */
static bool kaccess_ok(const void *buf, size_t count)
{
	uintptr_t a = (uintptr_t)buf;

	return a + count >= a && a + count <= K_TASK_SIZE;
}

/* rw_verify_area(), for files without unsigned offsets. */
static long krw_verify_area(size_t count, const uint64_t *pos)
{
	if ((int64_t)count < 0)
		return -EINVAL;
	if (pos && ((int64_t)*pos < 0 || (int64_t)(*pos + count) < 0))
		return -EINVAL;
	return 0;
}

static long kfile_read(struct mv_task *t, struct file *f, void *buf, size_t count,
		       uint64_t *pos)
{
	long ret;

	if (!f->readable)
		return -EBADF;
	if (!f->ops->read)
		return -EINVAL;
	if (!kaccess_ok(buf, count))
		return -EFAULT;
	ret = krw_verify_area(count, pos);
	if (ret)
		return ret;
	if (count > K_MAX_RW_COUNT)
		count = K_MAX_RW_COUNT;
	return f->ops->read(t, f, buf, count, pos);
}

static long kfile_write(struct mv_task *t, struct file *f, const void *buf, size_t count,
			uint64_t *pos)
{
	long ret;

	if (!f->writable)
		return -EBADF;
	if (!f->ops->write)
		return -EINVAL;
	if (!kaccess_ok(buf, count))
		return -EFAULT;
	ret = krw_verify_area(count, pos);
	if (ret)
		return ret;
	if (count > K_MAX_RW_COUNT)
		count = K_MAX_RW_COUNT;
	return f->ops->write(t, f, buf, count, pos);
}

/* read/write at the file position, serialised on it (f_pos_lock). */
static long kfile_rw_at_pos(struct mv_task *t, const uint64_t a[6], bool write)
{
	struct file *f = fd_get_io(t, kfd(a[0]));
	uint64_t pos;
	long ret;

	if (!f)
		return -EBADF;
	pthread_mutex_lock(&f->pos_lock);
	pos = f->pos;
	if (write)
		ret = kfile_write(t, f, (const void *)(uintptr_t)a[1], (size_t)a[2], &pos);
	else
		ret = kfile_read(t, f, (void *)(uintptr_t)a[1], (size_t)a[2], &pos);
	if (ret >= 0)
		WRITE_ONCE(f->pos, pos);   /* FIONREAD reads it without pos_lock */
	pthread_mutex_unlock(&f->pos_lock);
	file_put(f);
	return ret;
}

long sys_read(struct mv_task *t, const uint64_t a[6])
{
	return kfile_rw_at_pos(t, a, false);
}

long sys_write(struct mv_task *t, const uint64_t a[6])
{
	return kfile_rw_at_pos(t, a, true);
}

/* pread64/pwrite64: a negative offset fails before the fd is even looked up. */
static long kfile_rw_positional(struct mv_task *t, const uint64_t a[6], bool write)
{
	uint64_t pos = a[3];
	struct file *f;
	long ret;

	if ((int64_t)pos < 0)
		return -EINVAL;
	f = fd_get_io(t, kfd(a[0]));
	if (!f)
		return -EBADF;
	if (f->no_pread)
		ret = -ESPIPE;
	else if (write)
		ret = kfile_write(t, f, (const void *)(uintptr_t)a[1], (size_t)a[2], &pos);
	else
		ret = kfile_read(t, f, (void *)(uintptr_t)a[1], (size_t)a[2], &pos);
	file_put(f);
	return ret;
}

long sys_pread64(struct mv_task *t, const uint64_t a[6])
{
	return kfile_rw_positional(t, a, false);
}

long sys_pwrite64(struct mv_task *t, const uint64_t a[6])
{
	return kfile_rw_positional(t, a, true);
}

long sys_close(struct mv_task *t, const uint64_t a[6])
{
	return fd_close(t, kfd(a[0]));
}

long sys_dup(struct mv_task *t, const uint64_t a[6])
{
	struct file *f = fd_get(t, kfd(a[0]));
	int fd;

	if (!f)
		return -EBADF;
	fd = fd_install(t, f, 0);
	if (fd < 0)
		file_put(f);
	return fd;
}

/* dup2(fd, fd) only checks that fd is open, and returns it. */
long sys_dup2(struct mv_task *t, const uint64_t a[6])
{
	unsigned int oldfd = (unsigned int)a[0], newfd = (unsigned int)a[1];
	struct file *f;

	if (oldfd == newfd) {
		f = fd_get(t, kfd(oldfd));
		if (!f)
			return -EBADF;
		file_put(f);
		return oldfd;
	}
	return fd_dup_to(t, oldfd, newfd, 0);
}

long sys_dup3(struct mv_task *t, const uint64_t a[6])
{
	unsigned int oldfd = (unsigned int)a[0], newfd = (unsigned int)a[1];
	unsigned int flags = (unsigned int)a[2];

	if (flags & ~(unsigned int)O_CLOEXEC)
		return -EINVAL;
	if (oldfd == newfd)
		return -EINVAL;
	return fd_dup_to(t, oldfd, newfd, flags);
}

/* What every file reports unless its fstat says otherwise (an anonymous inode). */
static void kfile_stat_defaults(struct file *f, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = f->ino;
	st->st_mode = S_IRUSR | S_IWUSR;
	st->st_nlink = 1;
	st->st_uid = K_TASK_UID;
	st->st_gid = K_TASK_GID;
	st->st_blksize = HW_PAGE_SIZE;
}

long sys_fstat(struct mv_task *t, const uint64_t a[6])
{
	struct stat *ubuf = (struct stat *)(uintptr_t)a[1];
	struct file *f = fd_get(t, kfd(a[0]));
	struct stat st;
	int ret = 0;

	if (!f)
		return -EBADF;
	kfile_stat_defaults(f, &st);
	if (f->ops->fstat)
		ret = f->ops->fstat(f, &st);
	file_put(f);
	if (ret)
		return ret;
	if (k_host_range_faults(ubuf, sizeof(*ubuf)))
		return -EFAULT;
	memcpy(ubuf, &st, sizeof(st));
	return 0;
}

long sys_ftruncate(struct mv_task *t, const uint64_t a[6])
{
	int64_t length = (int64_t)a[1];
	struct file *f;
	long ret;

	if (length < 0)
		return -EINVAL;
	f = fd_get_io(t, kfd(a[0]));
	if (!f)
		return -EBADF;
	ret = -EINVAL;
	if (S_ISREG(kfile_stat(f, NULL)) && f->writable && f->ops->ftruncate)
		ret = f->ops->ftruncate(t, f, (uint64_t)length);
	file_put(f);
	return ret;
}

/* vfs_fallocate()'s checks, in its order, before the file sees the call. */
static long kfile_fallocate_check(struct file *f, int mode, int64_t off, int64_t len)
{
	unsigned int fmt;
	int64_t end;

	if (off < 0 || len <= 0)
		return -EINVAL;
	if (mode & ~(K_FALLOC_FL_MODE_MASK | FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	switch (mode & K_FALLOC_FL_MODE_MASK) {
	case 0:
	case FALLOC_FL_UNSHARE_RANGE:
	case FALLOC_FL_ZERO_RANGE:
		break;
	case FALLOC_FL_PUNCH_HOLE:
		if (!(mode & FALLOC_FL_KEEP_SIZE))
			return -EOPNOTSUPP;
		break;
	case FALLOC_FL_COLLAPSE_RANGE:
	case FALLOC_FL_INSERT_RANGE:
	case K_FALLOC_FL_WRITE_ZEROES:
		if (mode & FALLOC_FL_KEEP_SIZE)
			return -EOPNOTSUPP;
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (!f->writable)
		return -EBADF;
	fmt = kfile_stat(f, NULL) & S_IFMT;
	if (fmt == S_IFIFO)
		return -ESPIPE;
	if (fmt == S_IFDIR)
		return -EISDIR;
	if (fmt != S_IFREG && fmt != S_IFBLK)
		return -ENODEV;
	if (__builtin_add_overflow(off, len, &end))
		return -EFBIG;
	if (!f->ops->fallocate)
		return -EOPNOTSUPP;
	return 0;
}

long sys_fallocate(struct mv_task *t, const uint64_t a[6])
{
	int mode = (int)a[1];
	int64_t off = (int64_t)a[2], len = (int64_t)a[3];
	struct file *f = fd_get_io(t, kfd(a[0]));
	long ret;

	if (!f)
		return -EBADF;
	ret = kfile_fallocate_check(f, mode, off, len);
	if (!ret)
		ret = f->ops->fallocate(t, f, mode, (uint64_t)off, (uint64_t)len);
	file_put(f);
	return ret;
}

/* Sets or clears @flag in f_flags as *argp says (FIONBIO, FIOASYNC). */
static long kioctl_set_flag(struct file *f, uint64_t arg, unsigned int flag)
{
	const int *argp = (const int *)(uintptr_t)arg;

	if (k_host_range_faults(argp, sizeof(*argp)))
		return -EFAULT;
	if (*argp)
		__atomic_fetch_or(&f->f_flags, flag, __ATOMIC_RELAXED);
	else
		__atomic_fetch_and(&f->f_flags, ~flag, __ATOMIC_RELAXED);
	return 0;
}

static long kioctl_put(uint64_t arg, const void *val, size_t size)
{
	void *argp = (void *)(uintptr_t)arg;

	if (k_host_range_faults(argp, size))
		return -EFAULT;
	memcpy(argp, val, size);
	return 0;
}

/* The generic ioctls (do_vfs_ioctl); -ENOTTY also means "not one of these". */
static long kioctl_generic(struct mv_task *t, struct file *f, int fd, unsigned int cmd,
			   uint64_t arg, bool *handled)
{
	uint64_t size = 0;
	unsigned int fmt = kfile_stat(f, &size) & S_IFMT;

	*handled = true;
	switch (cmd) {
	case K_FIOCLEX:
	case K_FIONCLEX:
		return fd_set_cloexec(t, fd, cmd == K_FIOCLEX);
	case K_FIONBIO:
		return kioctl_set_flag(f, arg, O_NONBLOCK);
	case K_FIOASYNC:
		return kioctl_set_flag(f, arg, K_FASYNC);
	case K_FIOQSIZE:
		if (fmt != S_IFREG && fmt != S_IFDIR && fmt != S_IFLNK)
			return -ENOTTY;
		return kioctl_put(arg, &size, sizeof(int64_t));
	case K_FIONREAD:
		if (fmt != S_IFREG)
			break;
		{
			int avail = (int)(size - __atomic_load_n(&f->pos, __ATOMIC_RELAXED));

			return kioctl_put(arg, &avail, sizeof(avail));
		}
	default:
		break;
	}
	*handled = false;
	return 0;
}

long sys_ioctl(struct mv_task *t, const uint64_t a[6])
{
	unsigned int cmd = (unsigned int)a[1];
	int fd = kfd(a[0]);
	struct file *f = fd_get_io(t, fd);
	bool handled;
	long ret;

	if (!f)
		return -EBADF;
	ret = kioctl_generic(t, f, fd, cmd, a[2], &handled);
	if (!handled)
		ret = f->ops->ioctl ? f->ops->ioctl(t, f, cmd, a[2]) : -ENOTTY;
	file_put(f);
	return ret;
}

/* memfd_create's flag rules (sanitize_flags). */
static long kmemfd_check_flags(unsigned int flags)
{
	unsigned int allowed = MFD_ALL_FLAGS;

	if (flags & MFD_HUGETLB)
		allowed |= MFD_HUGE_MASK << MFD_HUGE_SHIFT;
	if (flags & ~allowed)
		return -EINVAL;
	if ((flags & MFD_EXEC) && (flags & MFD_NOEXEC_SEAL))
		return -EINVAL;
	return 0;
}

/*
 * memfd_create(name, flags): a shmem file named "memfd:<name>", size 0,
 * O_RDWR. memvisor has no hugetlbfs, so MFD_HUGETLB is -ENOSYS, which is
 * what a Linux kernel built without it answers.
 */
long sys_memfd_create(struct mv_task *t, const uint64_t a[6])
{
	const char *uname = (const char *)(uintptr_t)a[0];
	unsigned int flags = (unsigned int)a[1];
	char name[sizeof(MFD_NAME_PREFIX) + MFD_NAME_MAX_LEN];
	size_t len;
	struct file *f;
	long ret;
	int fd;

	ret = kmemfd_check_flags(flags);
	if (ret)
		return ret;
	if (k_host_range_faults(uname, 1))
		return -EFAULT;
	len = strnlen(uname, MFD_NAME_MAX_LEN + 1);
	if (len > MFD_NAME_MAX_LEN)
		return -EINVAL;
	memcpy(name, MFD_NAME_PREFIX, sizeof(MFD_NAME_PREFIX) - 1);
	memcpy(name + sizeof(MFD_NAME_PREFIX) - 1, uname, len + 1);
	fd = fd_reserve(t, (flags & MFD_CLOEXEC) ? O_CLOEXEC : 0);
	if (fd < 0)
		return fd;
	if (flags & MFD_HUGETLB) {
		fd_unreserve(t, fd);
		return -ENOSYS;
	}
	f = shmem_file_setup(t->k, name, 0, O_RDWR,
			     (flags & MFD_NOEXEC_SEAL) ? 0666 : 0777);
	if (lib_is_err(f)) {
		fd_unreserve(t, fd);
		return lib_ptr_err(f);
	}
	fd_install_reserved(t, fd, f);
	return fd;
}
