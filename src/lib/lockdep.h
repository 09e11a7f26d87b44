/* SPDX-License-Identifier: MIT */
/*
 * Lock-held assertions, after Linux's lockdep_assert_held(): a function
 * documented as "called with X held" says so in code, and debug builds
 * (every sanitizer run of the tests) check it. The check asks the lock
 * whether anyone holds it, which catches the usual mistake (calling a
 * _locked function without the lock); it cannot tell which thread holds
 * it. Release builds (NDEBUG) compile the checks away.
 */
#ifndef MV_LIB_LOCKDEP_H
#define MV_LIB_LOCKDEP_H

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>

static inline bool lib_mutex_is_locked(pthread_mutex_t *m)
{
	if (pthread_mutex_trylock(m))
		return true;
	pthread_mutex_unlock(m);
	return false;
}

/* Held for read or for write. */
static inline bool lib_rwsem_is_locked(pthread_rwlock_t *l)
{
	if (pthread_rwlock_trywrlock(l))
		return true;
	pthread_rwlock_unlock(l);
	return false;
}

/* Held for write (a reader could still take it otherwise). */
static inline bool lib_rwsem_is_write_locked(pthread_rwlock_t *l)
{
	if (pthread_rwlock_tryrdlock(l))
		return true;
	pthread_rwlock_unlock(l);
	return false;
}

#ifdef NDEBUG
#define lockdep_assert_held(m)        ((void)(m))
#define lockdep_assert_held_read(l)   ((void)(l))
#define lockdep_assert_held_write(l)  ((void)(l))
#else
#define lockdep_assert_held(m)        assert(lib_mutex_is_locked(m))
#define lockdep_assert_held_read(l)   assert(lib_rwsem_is_locked(l))
#define lockdep_assert_held_write(l)  assert(lib_rwsem_is_write_locked(l))
#endif

#endif
