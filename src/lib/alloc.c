/* SPDX-License-Identifier: MIT */
/*
 * Allocation wrappers and the per-thread failure-injection countdown that
 * lets tests walk every -ENOMEM path (see alloc.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lib/alloc.h"

/* 0: disarmed; otherwise the number of allocations left until one fails. */
static _Thread_local unsigned long lib_fail_countdown;

void lib_fail_after(unsigned long nth)
{
	lib_fail_countdown = nth;
}

int lib_fail_now(void)
{
	if (!lib_fail_countdown)
		return 0;
	return --lib_fail_countdown == 0;
}

/* malloc(0) may legally return NULL, which callers would take for -ENOMEM. */
static size_t lib_alloc_size(size_t size)
{
	return size ? size : 1;
}

void *lib_malloc(size_t size)
{
	if (lib_fail_now())
		return NULL;
	return malloc(lib_alloc_size(size));
}

void *lib_zalloc(size_t size)
{
	if (lib_fail_now())
		return NULL;
	return calloc(1, lib_alloc_size(size));
}

void *lib_calloc(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return lib_zalloc(n * size);
}

/* On failure @p is left alone, as with realloc(). */
void *lib_realloc(void *p, size_t size)
{
	if (lib_fail_now())
		return NULL;
	return realloc(p, lib_alloc_size(size));
}

void *lib_malloc_aligned(size_t align, size_t size)
{
	void *p;

	if (lib_fail_now() || posix_memalign(&p, align, lib_alloc_size(size)))
		return NULL;
	return p;
}

void lib_free(void *p)
{
	free(p);
}

void *lib_vzalloc(size_t n, size_t size)
{
	void *p;

	if (lib_fail_now() || (size && n > SIZE_MAX / size))
		return NULL;
	p = mmap(NULL, lib_alloc_size(n * size), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void lib_vfree(void *p, size_t n, size_t size)
{
	if (p)
		munmap(p, lib_alloc_size(n * size));
}
