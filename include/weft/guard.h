/*
 * weft/guard.h - scoped guards: a lock or a reference released when the
 * enclosing scope ends, on every path out of it (falling off the end,
 * return, break, continue, goto out of the scope), like a Rust guard's Drop.
 *
 *     {
 *             WEFT_MUTEX_GUARD(&m);        locks m now
 *             if (bad)
 *                     return -1;           unlocks m
 *             ...
 *     }                                    unlocks m
 *
 *     WEFT_MUTEX_GUARD(&m)   weft_mutex_lock now, weft_mutex_unlock at exit
 *     WEFT_READ_GUARD(&rw)   weft_rwlock_read_lock / read_unlock
 *     WEFT_WRITE_GUARD(&rw)  weft_rwlock_write_lock / write_unlock
 *     WEFT_ARC_GUARD(p)      takes over one strong reference p holds (from
 *                            weft_arc_new, _clone or weft_weak_upgrade; NULL
 *                            is fine) and weft_arc_drop()s it at exit
 *
 * Each guard is a declaration (put it where a declaration may go, not as
 * the lone body of an if) of a hidden variable named with __COUNTER__, so
 * several guards may share a scope; they are released in the reverse order
 * of their declarations (C's cleanup order), so locks nest properly.
 * Jumping into a guard's scope past its declaration (goto, switch case) is
 * a bug (the cleanup would release what was never taken): Clang rejects
 * it, GCC warns with -Wjump-misses-init.
 *
 * Built on __attribute__((cleanup)) (GCC, Clang and compilers that claim
 * __GNUC__). A compiler without it gets a compile error here rather than
 * guards that silently never release. Not run when a thread ends through
 * pthread_exit/cancellation or longjmp, unless the code is built with
 * -fexceptions (then GCC runs cleanups during forced unwinding).
 */
#ifndef WEFT_GUARD_H
#define WEFT_GUARD_H

#if !defined(__GNUC__) && !defined(__clang__)
#error "weft/guard.h needs __attribute__((cleanup)) (GCC or Clang); without it guards would never release"
#endif
#if defined(__has_attribute)
#if !__has_attribute(cleanup)
#error "weft/guard.h: this compiler lacks __attribute__((cleanup))"
#endif
#endif

#include "weft/arc.h"
#include "weft/mutex.h"
#include "weft/rwlock.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WEFT__GUARD_CAT2(a, b) a##b
#define WEFT__GUARD_CAT(a, b) WEFT__GUARD_CAT2(a, b)
/* One hidden variable per guard: T *weft__guard_<n> = init, released by fn. */
#define WEFT__GUARD(type, fn, init)                                            \
	type *WEFT__GUARD_CAT(weft__guard_, __COUNTER__)                       \
		__attribute__((cleanup(fn), unused)) = (init)

static inline weft_mutex *weft__guard_mutex_lock(weft_mutex *m)
{
	weft_mutex_lock(m);
	return m;
}
static inline void weft__guard_mutex_unlock(weft_mutex **m)
{
	weft_mutex_unlock(*m);
}

static inline weft_rwlock *weft__guard_read_lock(weft_rwlock *l)
{
	weft_rwlock_read_lock(l);
	return l;
}
static inline void weft__guard_read_unlock(weft_rwlock **l)
{
	weft_rwlock_read_unlock(*l);
}

static inline weft_rwlock *weft__guard_write_lock(weft_rwlock *l)
{
	weft_rwlock_write_lock(l);
	return l;
}
static inline void weft__guard_write_unlock(weft_rwlock **l)
{
	weft_rwlock_write_unlock(*l);
}

static inline void weft__guard_arc_drop(void **p)
{
	weft_arc_drop(*p);
}

#define WEFT_MUTEX_GUARD(m)                                                    \
	WEFT__GUARD(weft_mutex, weft__guard_mutex_unlock, weft__guard_mutex_lock(m))
#define WEFT_READ_GUARD(rw)                                                    \
	WEFT__GUARD(weft_rwlock, weft__guard_read_unlock, weft__guard_read_lock(rw))
#define WEFT_WRITE_GUARD(rw)                                                   \
	WEFT__GUARD(weft_rwlock, weft__guard_write_unlock,                     \
		    weft__guard_write_lock(rw))
#define WEFT_ARC_GUARD(p) WEFT__GUARD(void, weft__guard_arc_drop, (p))

#ifdef __cplusplus
}
#endif

#endif /* WEFT_GUARD_H */
