/* SPDX-License-Identifier: MIT */
/*
 * Every constant name a scenario may use, with Linux's value: the uAPI names
 * memvisor implements (mmap, open, fallocate, memfd, madvise, clone,
 * signals, rlimits, stat modes), machine features and ABIs, errno names, and
 * whatever the shadow-stack, KVM and SGX headers define once they exist
 * (guarded, so this builds before and after they land).
 */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <memvisor/guest_kernel.h>
#include <memvisor/memvisor.h>
#include <memvisor/uapi/kvm.h>

#include "lang/lang_int.h"
#include "lib/err.h"

struct lang_const {
	const char *name;
	uint64_t value;
};

#define LC(x) { #x, (uint64_t)(x) }

static const struct lang_const lang_consts[] = {
	LC(PROT_NONE), LC(PROT_READ), LC(PROT_WRITE), LC(PROT_EXEC), LC(PROT_SEM),
	LC(PROT_GROWSDOWN), LC(PROT_GROWSUP),
	LC(MAP_SHARED), LC(MAP_PRIVATE), LC(MAP_SHARED_VALIDATE), LC(MAP_TYPE), LC(MAP_FIXED),
	LC(MAP_ANONYMOUS), { "MAP_ANON", MAP_ANONYMOUS }, LC(MAP_32BIT), LC(MAP_GROWSDOWN),
	LC(MAP_DENYWRITE), LC(MAP_EXECUTABLE), LC(MAP_LOCKED), LC(MAP_NORESERVE),
	LC(MAP_POPULATE), LC(MAP_NONBLOCK), LC(MAP_STACK), LC(MAP_HUGETLB), LC(MAP_SYNC),
	LC(MAP_FIXED_NOREPLACE), LC(MAP_UNINITIALIZED),
	LC(MADV_NORMAL), LC(MADV_RANDOM), LC(MADV_SEQUENTIAL), LC(MADV_WILLNEED),
	LC(MADV_DONTNEED), LC(MADV_FREE), LC(MADV_REMOVE), LC(MADV_DONTFORK), LC(MADV_DOFORK),
	LC(MREMAP_MAYMOVE), LC(MREMAP_FIXED), LC(MREMAP_DONTUNMAP),
	LC(O_RDONLY), LC(O_WRONLY), LC(O_RDWR), LC(O_ACCMODE), LC(O_CREAT), LC(O_EXCL),
	LC(O_NOCTTY), LC(O_TRUNC), LC(O_APPEND), LC(O_NONBLOCK), LC(O_CLOEXEC),
	LC(O_DIRECTORY), LC(O_PATH),
	LC(AT_FDCWD),
	LC(FALLOC_FL_KEEP_SIZE), LC(FALLOC_FL_PUNCH_HOLE), LC(FALLOC_FL_NO_HIDE_STALE),
	LC(FALLOC_FL_COLLAPSE_RANGE), LC(FALLOC_FL_ZERO_RANGE), LC(FALLOC_FL_INSERT_RANGE),
	LC(FALLOC_FL_UNSHARE_RANGE),
	LC(MFD_CLOEXEC), LC(MFD_ALLOW_SEALING), LC(MFD_HUGETLB), LC(MFD_NOEXEC_SEAL), LC(MFD_EXEC),
	LC(CSIGNAL), LC(CLONE_VM), LC(CLONE_FS), LC(CLONE_FILES), LC(CLONE_SIGHAND),
	LC(CLONE_VFORK), LC(CLONE_THREAD),
	LC(SIGILL), LC(SIGBUS), LC(SIGSEGV),
	LC(SEGV_MAPERR), LC(SEGV_ACCERR), LC(SEGV_BNDERR), LC(SEGV_PKUERR), LC(SEGV_MTEAERR),
	LC(SEGV_MTESERR), LC(SEGV_CPERR),
	LC(BUS_ADRALN), LC(BUS_ADRERR), LC(BUS_OBJERR),
	LC(ILL_ILLOPC), LC(ILL_ILLOPN),
	/* resource numbers: the same on every Linux architecture memvisor models */
	{ "RLIMIT_CPU", 0 }, { "RLIMIT_FSIZE", 1 }, { "RLIMIT_DATA", 2 }, { "RLIMIT_STACK", 3 },
	{ "RLIMIT_CORE", 4 }, { "RLIMIT_RSS", 5 }, { "RLIMIT_NPROC", 6 }, { "RLIMIT_NOFILE", 7 },
	{ "RLIMIT_MEMLOCK", 8 }, { "RLIMIT_AS", 9 }, { "RLIMIT_LOCKS", 10 },
	{ "RLIMIT_SIGPENDING", 11 }, { "RLIMIT_MSGQUEUE", 12 }, { "RLIMIT_NICE", 13 },
	{ "RLIMIT_RTPRIO", 14 }, { "RLIMIT_RTTIME", 15 }, { "RLIM_INFINITY", UINT64_MAX },
	LC(S_IFMT), LC(S_IFSOCK), LC(S_IFLNK), LC(S_IFREG), LC(S_IFBLK), LC(S_IFDIR),
	LC(S_IFCHR), LC(S_IFIFO),
	LC(MV_FEAT_SHSTK), LC(MV_FEAT_IBT), LC(MV_FEAT_MTE), LC(MV_FEAT_SGX), LC(MV_FEAT_MBEC),
	LC(MV_FEAT_SMEP), LC(MV_FEAT_SMAP), LC(MV_FEAT_ALL),
	LC(MV_ABI_MAINLINE), LC(MV_ABI_SEED),
	LC(SHADOW_STACK_SET_TOKEN),
	LC(ARCH_SHSTK_ENABLE), LC(ARCH_SHSTK_DISABLE), LC(ARCH_SHSTK_LOCK),
	LC(ARCH_SHSTK_UNLOCK), LC(ARCH_SHSTK_STATUS),
	LC(ARCH_SHSTK_SHSTK), LC(ARCH_SHSTK_WRSS),
	LC(PROT_SHADOW_STACK),
	/* MTE (docs/mte.md) */
	LC(PROT_MTE), LC(PR_SET_TAGGED_ADDR_CTRL), LC(PR_GET_TAGGED_ADDR_CTRL),
	LC(PR_TAGGED_ADDR_ENABLE), LC(PR_MTE_TCF_NONE), LC(PR_MTE_TCF_SYNC), LC(PR_MTE_TCF_ASYNC),
	LC(PR_MTE_TCF_MASK), LC(PR_MTE_TAG_SHIFT), LC(PR_MTE_TAG_MASK),
	LC(MV_TCF_NONE), LC(MV_TCF_SYNC), LC(MV_TCF_ASYNC), LC(MV_TCF_ASYMM),
	LC(MV_PF_MTE), LC(MV_PF_MTE_ASYNC),
	LC(MV_REMOTE_WRITE), LC(MV_REMOTE_FORCE),
	LC(MV_REG_RIP), LC(MV_REG_RSP), LC(MV_REG_SSP),
	{ "SI_KERNEL", 0x80 },
#include "lang/consts_kvm.h"
#include "lang/consts_guest.h"
};

static const size_t lang_nconsts = sizeof(lang_consts) / sizeof(lang_consts[0]);

int lang_const_lookup(const char *name, uint64_t *value)
{
	int err;

	for (size_t i = 0; i < lang_nconsts; i++) {
		if (!strcmp(lang_consts[i].name, name)) {
			*value = lang_consts[i].value;
			return 0;
		}
	}
	/* errno names stand for their positive value: -EBADF is -9 */
	err = lib_errno_from_name(name);
	if (err > 0) {
		*value = (uint64_t)err;
		return 0;
	}
	return -ENOENT;
}

const char *lang_const_name(const char *prefix, uint64_t value)
{
	size_t plen = strlen(prefix);

	for (size_t i = 0; i < lang_nconsts; i++) {
		if (lang_consts[i].value == value && !strncmp(lang_consts[i].name, prefix, plen))
			return lang_consts[i].name;
	}
	return NULL;
}

const char *lang_signal_name(int signo)
{
	return signo > 0 ? lang_const_name("SIG", (uint64_t)signo) : NULL;
}

const char *lang_signal_code_name(int signo, int code)
{
	const char *prefix = signo == SIGSEGV ? "SEGV_" : signo == SIGBUS ? "BUS_" :
			     signo == SIGILL ? "ILL_" : NULL;
	const char *name = prefix ? lang_const_name(prefix, (uint64_t)code) : NULL;

	return name ? name : lang_const_name("SI_", (uint64_t)code);
}

const char *lang_const_suggest(const char *name)
{
	struct lang_suggest sg;

	lang_suggest_init(&sg, name);
	for (size_t i = 0; i < lang_nconsts; i++)
		lang_suggest_add(&sg, lang_consts[i].name);
	for (long e = 1; e < 4096; e++) {
		const char *en = lib_errno_name(e);

		if (en)
			lang_suggest_add(&sg, en);
	}
	return lang_suggest_best(&sg);
}
