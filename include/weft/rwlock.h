/*
 * weft/rwlock.h - a phase-fair futex reader-writer lock in two 32-bit words.
 * `state` (changed only by RMWs; readers sleep on it):
 *   0..15 READERS  read holders, plus refused adds not yet undone
 *   16..27 WAITING readers asleep, registered for the next grant
 *   28 GRANT  flips with every grant (a write unlock with WAITING 0 clears it)
 *   29 BIAS  readers use lib/rwlock_bias.c   30 WLOCKED  a writer holds it
 *   31 WWAIT  writers sleep or will
 * `writer_seq`: bumped by every writer wake-up; writers sleep on it.
 * free(s): READERS == 0 and !WLOCKED (a writer may enter); read_open(s).
 *
 * Phase-fair: a waiting writer (WWAIT) stops new readers; the last reader
 * out wakes it. A writer finding the lock taken sleeps at once (a spinning
 * one only moves the lock's line between CPUs while readers keep entering);
 * woken, it spins to find the lock before new readers refill it. A writer's
 * unlock first grants the lock to every registered reader (WAITING moves
 * into READERS, GRANT flips, one CAS; a woken reader holds it already):
 * writer, batch of readers, writer... A reader that times out deregisters
 * (WAITING - 1) by a CAS that checks GRANT first (moved: granted, returns
 * 0), so no grant goes to a reader that left and no timer is needed.
 * Whoever frees the lock with WWAIT set clears it and wakes a writer (which
 * sets it again to wait on), or grants the registered readers if no writer
 * slept (even if new readers got in meanwhile: they share it). A
 * writer that times out takes the lock if free, else leaves WWAIT set for
 * the holder, passing on a wake-up it may have had. While BIAS is set
 * readers mark their own table entry instead of `state`; a writer that
 * takes WLOCKED with BIAS clears it and waits for them.
 * Orders: read adds and write CASes acquire; unlocks and grants are release
 * RMWs heading release sequences (every change is an RMW) that the next
 * holder's acquire reads from. A read lock is released by the thread that
 * took it. Not recursive. 8 bytes; all-zero memory is unlocked.
 */
#ifndef WEFT_RWLOCK_H
#define WEFT_RWLOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "weft/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_rwlock {
	_Atomic uint32_t state;
	_Atomic uint32_t writer_seq;
} weft_rwlock;

#define WEFT_RWLOCK_INIT { 0, 0 }

#define WEFT__RWLOCK_READERS 0x0000ffffu
#define WEFT__RWLOCK_MAX_READERS 0x8000u /* the rest: refused adds */
#define WEFT__RWLOCK_WAIT_ONE (1u << 16)
#define WEFT__RWLOCK_WAITING 0x0fff0000u
#define WEFT__RWLOCK_GRANT (1u << 28)
#define WEFT__RWLOCK_BIAS (1u << 29)
#define WEFT__RWLOCK_WLOCKED (1u << 30)
#define WEFT__RWLOCK_WWAIT (1u << 31)

/* lib/: biased paths (true: done), a counted read's bias check, slow paths. */
WEFT_API bool weft__rwlock_read_biased(weft_rwlock *l);
WEFT_API bool weft__rwlock_read_unlock_biased(weft_rwlock *l);
WEFT_API void weft__rwlock_read_counted(weft_rwlock *l, uint32_t s);
WEFT_API int weft__rwlock_read_lock_slow(weft_rwlock *l, uint64_t timeout_ns);
WEFT_API void weft__rwlock_read_unlock_slow(weft_rwlock *l);
WEFT_API int weft__rwlock_write_lock_slow(weft_rwlock *l, uint64_t timeout_ns);
WEFT_API void weft__rwlock_write_unlock_slow(weft_rwlock *l);

static inline bool weft__rwlock_read_open(uint32_t s)
{
	return !(s & (WEFT__RWLOCK_WLOCKED | WEFT__RWLOCK_WWAIT)) &&
	       (s & WEFT__RWLOCK_READERS) < WEFT__RWLOCK_MAX_READERS;
}

/* 0 when read-locked, ETIMEDOUT after timeout_ns (0: a trylock), EAGAIN
 * with WEFT__RWLOCK_MAX_READERS readers in (as pthread_rwlock_rdlock). */
static inline int weft_rwlock_read_lock_timeout(weft_rwlock *l, uint64_t timeout_ns)
{
	/* relaxed: only chooses the path; each path orders itself. */
	uint32_t s = atomic_load_explicit(&l->state, memory_order_relaxed);
	if (WEFT_UNLIKELY(s & WEFT__RWLOCK_BIAS) && weft__rwlock_read_biased(l))
		return 0;
	/* acquire: pairs with the release of the last write unlock. */
	s = atomic_fetch_add_explicit(&l->state, 1, memory_order_acquire);
	if (WEFT_LIKELY(weft__rwlock_read_open(s))) {
		weft__rwlock_read_counted(l, s); /* may bias the lock */
		return 0;
	}
	return weft__rwlock_read_lock_slow(l, timeout_ns); /* undoes the add */
}

static inline bool weft_rwlock_read_trylock(weft_rwlock *l) { return weft_rwlock_read_lock_timeout(l, 0) == 0; }

static inline void weft_rwlock_read_lock(weft_rwlock *l)
{
	if (WEFT_UNLIKELY(weft_rwlock_read_lock_timeout(l, WEFT_TIMEOUT_NEVER)))
		weft__debug_abort("weft_rwlock_read_lock: too many readers");
}

static inline void weft_rwlock_read_unlock(weft_rwlock *l)
{
	/* relaxed: BIAS or WLOCKED stays set while a visible reader is in
	 * (coherence with its entry's BIAS read): seeing neither, we count. */
	uint32_t s = atomic_load_explicit(&l->state, memory_order_relaxed);
	if (WEFT_UNLIKELY(s & (WEFT__RWLOCK_BIAS | WEFT__RWLOCK_WLOCKED)) &&
	    weft__rwlock_read_unlock_biased(l))
		return;
	/* release: publishes the read section to the next writer's acquire. */
	s = atomic_fetch_sub_explicit(&l->state, 1, memory_order_release);
	WEFT_DEBUG_CHECK(s & WEFT__RWLOCK_READERS, "weft_rwlock_read_unlock: not read-locked");
	/* Last reader out of a lock a writer waits for: wake it. */
	if (WEFT_UNLIKELY((s & (WEFT__RWLOCK_READERS | WEFT__RWLOCK_WWAIT |
				WEFT__RWLOCK_WLOCKED)) == (1 | WEFT__RWLOCK_WWAIT)))
		weft__rwlock_read_unlock_slow(l);
}

/* 0 when write-locked, ETIMEDOUT after timeout_ns; 0 ns is a trylock. */
static inline int weft_rwlock_write_lock_timeout(weft_rwlock *l, uint64_t timeout_ns)
{
	uint32_t s = 0;
	/* acquire: pairs with the release of the last unlock. */
	if (WEFT_LIKELY(atomic_compare_exchange_strong_explicit(
		    &l->state, &s, WEFT__RWLOCK_WLOCKED, memory_order_acquire, memory_order_relaxed)))
		return 0;
	return weft__rwlock_write_lock_slow(l, timeout_ns);
}

static inline bool weft_rwlock_write_trylock(weft_rwlock *l) { return weft_rwlock_write_lock_timeout(l, 0) == 0; }

static inline void weft_rwlock_write_lock(weft_rwlock *l) { (void)weft_rwlock_write_lock_timeout(l, WEFT_TIMEOUT_NEVER); }

static inline void weft_rwlock_write_unlock(weft_rwlock *l)
{
	uint32_t s = WEFT__RWLOCK_WLOCKED;
	/* release: publishes the write section to the next acquire. */
	if (WEFT_LIKELY(atomic_compare_exchange_strong_explicit(
		    &l->state, &s, 0, memory_order_release, memory_order_relaxed)))
		return;
	WEFT_DEBUG_CHECK(s & WEFT__RWLOCK_WLOCKED, "weft_rwlock_write_unlock: not write-locked");
	weft__rwlock_write_unlock_slow(l);
}

#ifdef __cplusplus
}
#endif

#endif /* WEFT_RWLOCK_H */
