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
 * lock:   fetch_or LOCKED (acquire): taken if LOCKED was clear, whatever
 *         the other bits hold. On failure, lib/mutex.c may spin: one
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
 * unlock: fetch_sub LOCKED (release). No sleeper, or WOKEN set: done, no
 *         call into lib/. Otherwise the slow path wakes one sleeper, unless
 *         the lock was re-taken meanwhile (that owner's unlock will).
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
/*
 * Set LOCKED and report whether it was clear: one RMW whatever the other
 * bits hold (x86-64: lock bts; ARM64 LSE: ldseta), so an owner takes the
 * lock in one instruction even while sleepers are registered (a CAS from
 * 0 would fail on the sleeper count and cost a second RMW and a call).
 * Setting a bit that is already set changes nothing, so a failed attempt
 * leaves the word as it was.
 * acquire: pairs with the release fetch_sub in weft_mutex_unlock (and the
 * release RMWs of the slow path), so the previous owner's critical
 * section happens-before ours.
 */
static inline bool weft__mutex_take(weft_mutex *m)
{
	return !(atomic_fetch_or_explicit(&m->state, WEFT_MUTEX_LOCKED,
					  memory_order_acquire) &
		 WEFT_MUTEX_LOCKED);
}

/* Take the lock if it is free, even when sleepers are registered. */
static inline bool weft_mutex_trylock(weft_mutex *m)
{
	return weft__mutex_take(m);
}

static inline void weft_mutex_lock(weft_mutex *m)
{
	if (WEFT_LIKELY(weft__mutex_take(m)))
		return;
	(void)weft__mutex_lock_slow(m, WEFT_TIMEOUT_NEVER);
}

/*
 * Lock, waiting at most timeout_ns (CLOCK_MONOTONIC). 0 when locked,
 * ETIMEDOUT otherwise. timeout_ns == 0 is trylock.
 */
static inline int weft_mutex_lock_timeout(weft_mutex *m, uint64_t timeout_ns)
{
	if (WEFT_LIKELY(weft__mutex_take(m)))
		return 0;
	return weft__mutex_lock_slow(m, timeout_ns);
}

/*
 * Release; enter lib/ only to wake a sleeper: when sleepers are registered
 * and WOKEN is clear (no spinner, no woken sleeper on its way).
 */
static inline void weft_mutex_unlock(weft_mutex *m)
{
	/* release: publishes the critical section to the next owner's acquire
	 * RMW (weft__mutex_take or the slow path's CAS). */
	uint32_t old = atomic_fetch_sub_explicit(&m->state, WEFT_MUTEX_LOCKED,
						 memory_order_release);
	WEFT_DEBUG_CHECK(old & WEFT_MUTEX_LOCKED,
			 "weft_mutex_unlock: mutex is not locked");
	if (WEFT_UNLIKELY(old >= WEFT_MUTEX_SLEEPER && !(old & WEFT_MUTEX_WOKEN)))
		weft__mutex_unlock_slow(m);
}

#ifdef __cplusplus
}
#endif

#endif /* WEFT_MUTEX_H */
