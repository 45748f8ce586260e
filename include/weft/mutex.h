/*
 * weft/mutex.h - a futex mutex in one 32-bit word.
 *
 * State machine (the whole word, `state`):
 *
 *     bit 0       LOCKED   some thread owns the mutex
 *     bit 1       WOKEN    an awake waiter will take the lock: the one
 *                          spinner, or a sleeper an unlock woke that has
 *                          not yet run; unlocks need not wake another one
 *     bits 2..31  SLEEPERS threads registered to sleep on the futex,
 *                          counted in units of WEFT_MUTEX_SLEEPER (4)
 *
 *     0                  unlocked, nobody waiting (also all-zero memory)
 *     LOCKED             locked, nobody asleep: unlock is one RMW, no syscall
 *     LOCKED + k*4       locked, k threads asleep or about to sleep
 *     k*4 (+WOKEN)       unlocked with k sleepers (one was woken)
 *
 * lock:   CAS 0 -> LOCKED (acquire). On failure, lib/mutex.c may spin: one
 *         waiter at a time, the one that sets WOKEN while the lock is held
 *         (only while the owner, the spinner and the registered sleepers
 *         fit on the usable CPUs: beyond that a spinner takes a CPU from a
 *         thread about to run). It spins a bounded time (in ns), taking the
 *         lock the moment it is free and clearing WOKEN in that CAS. Every
 *         other waiter, and the spinner when its time is up, registers as a
 *         sleeper (+4; the spinner clears WOKEN in the same CAS) and
 *         futex-waits while LOCKED is set. A sleeper that runs again clears
 *         WOKEN in the same CAS that either takes the lock and deregisters
 *         (s -> (s - 4) & ~WOKEN | LOCKED) or goes back to sleep; so WOKEN
 *         is only ever set by a running thread that will clear it.
 * unlock: fetch_sub LOCKED (release). Old word == LOCKED: done, no system
 *         call. Otherwise the slow path wakes one sleeper, unless WOKEN is
 *         already set or the lock was re-taken (that owner's unlock will).
 *         The kernel is entered only when a thread sleeps or commits to
 *         sleeping, and at most once per woken thread, not once per unlock.
 *
 * Not fair: a running thread may take the lock ahead of a woken sleeper
 * (lock stealing), which keeps throughput high under contention.
 * Not recursive, no owner tracking: unlocking a mutex you do not hold is a
 * bug; WEFT_DEBUG builds abort on unlock of an unlocked mutex.
 * Size 4 bytes; all-zero memory (WEFT_MUTEX_INIT, a static) is unlocked.
 */
#ifndef WEFT_MUTEX_H
#define WEFT_MUTEX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "weft/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_mutex {
	_Atomic uint32_t state;
} weft_mutex;

#define WEFT_MUTEX_INIT { 0 }
#define WEFT_MUTEX_LOCKED 1u
#define WEFT_MUTEX_WOKEN 2u
#define WEFT_MUTEX_SLEEPER 4u

/* Slow paths, in lib/mutex.c. */
WEFT_API int weft__mutex_lock_slow(weft_mutex *m, uint64_t timeout_ns);
WEFT_API void weft__mutex_unlock_slow(weft_mutex *m);

/* Take the lock if it is free, even when sleepers are registered. */
static inline bool weft_mutex_trylock(weft_mutex *m)
{
	uint32_t s = 0;
	do {
		/* acquire: pairs with the release fetch_sub in weft_mutex_unlock,
		 * so the previous owner's critical section happens-before ours. */
		if (atomic_compare_exchange_weak_explicit(
			    &m->state, &s, s | WEFT_MUTEX_LOCKED,
			    memory_order_acquire, memory_order_relaxed))
			return true;
	} while (!(s & WEFT_MUTEX_LOCKED));
	return false;
}

static inline void weft_mutex_lock(weft_mutex *m)
{
	uint32_t s = 0;
	/* acquire: pairs with the release fetch_sub in weft_mutex_unlock. */
	if (WEFT_LIKELY(atomic_compare_exchange_strong_explicit(
		    &m->state, &s, WEFT_MUTEX_LOCKED, memory_order_acquire,
		    memory_order_relaxed)))
		return;
	(void)weft__mutex_lock_slow(m, WEFT_TIMEOUT_NEVER);
}

/*
 * Lock, waiting at most timeout_ns (CLOCK_MONOTONIC). 0 when locked,
 * ETIMEDOUT otherwise. timeout_ns == 0 is trylock.
 */
static inline int weft_mutex_lock_timeout(weft_mutex *m, uint64_t timeout_ns)
{
	uint32_t s = 0;
	/* acquire: pairs with the release fetch_sub in weft_mutex_unlock. */
	if (WEFT_LIKELY(atomic_compare_exchange_strong_explicit(
		    &m->state, &s, WEFT_MUTEX_LOCKED, memory_order_acquire,
		    memory_order_relaxed)))
		return 0;
	return weft__mutex_lock_slow(m, timeout_ns);
}

static inline void weft_mutex_unlock(weft_mutex *m)
{
	/* release: publishes the critical section to the next owner's acquire
	 * CAS (weft_mutex_lock / trylock / the slow path). */
	uint32_t old = atomic_fetch_sub_explicit(&m->state, WEFT_MUTEX_LOCKED,
						 memory_order_release);
	WEFT_DEBUG_CHECK(old & WEFT_MUTEX_LOCKED,
			 "weft_mutex_unlock: mutex is not locked");
	if (WEFT_UNLIKELY(old != WEFT_MUTEX_LOCKED))
		weft__mutex_unlock_slow(m);
}

#ifdef __cplusplus
}
#endif

#endif /* WEFT_MUTEX_H */
