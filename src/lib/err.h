/* SPDX-License-Identifier: MIT */
/*
 * Error helpers: negative errno values carried in pointers (the kernel's
 * ERR_PTR idiom), errno names, and the "must check" attribute.
 */
#ifndef MV_LIB_ERR_H
#define MV_LIB_ERR_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#define LIB_MAX_ERRNO 4095
#define MV_MUST_CHECK __attribute__((warn_unused_result))

static inline void *lib_err_ptr(long err)
{
	return (void *)(intptr_t)err;
}

static inline long lib_ptr_err(const void *p)
{
	return (long)(intptr_t)p;
}

static inline bool lib_is_err(const void *p)
{
	return (uintptr_t)p >= (uintptr_t)-LIB_MAX_ERRNO;
}

static inline bool lib_is_err_or_null(const void *p)
{
	return !p || lib_is_err(p);
}

/* "EINVAL" for EINVAL (positive or negative); NULL if unknown. */
const char *lib_errno_name(long err);
/* EINVAL for "EINVAL"; 0 if unknown. */
int lib_errno_from_name(const char *name);

#endif
