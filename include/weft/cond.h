/*
 * weft/cond.h - a condition variable for weft_mutex in two 32-bit words.
 *
 *     seq      bumped by every signal and broadcast that finds a waiter;
 *              waiters sleep on it until it moves
 *     waiters  threads inside weft_cond_wait: registered (+1) under the
 *              mutex, deregistered (-1) when they wake
 *
 * wait:      register, read seq, unlock the mutex; poll seq between
 *            sched_yield calls for at most 50 us, none while yields are
 *            banned after a late one (lib/internal/backoff.h; figures in
 *            docs/tuning.md), then futex-wait while seq is unchanged;
 *            deregister; lock the mutex again (after a futex sleep by
 *            polling it between sched_yield calls first, then a 1 us
 *            spin). May return spuriously, as POSIX allows: call it in a
 *            predicate loop.
 * signal:    load waiters; 0 -> return (a load and a branch). Else bump seq
 *            and wake one sleeper. broadcast: the same, waking all.
 *
 * No lost wake-up: a waiter registers and reads seq while it holds the
 * mutex. A thread that changes the predicate under the mutex and then
 * signals acquired the mutex after the waiter released it, so its load of
 * waiters sees the registration (happens-before, then read-after-write
 * coherence) and its bump of seq comes after the waiter's read of seq: the
 * kernel's compare in the futex wait then fails, or the wake finds the
 * waiter asleep. A waiter sleeps again only after EINTR with seq unchanged
 * (no wake-up consumed). All cond atomics are relaxed: the data travels
 * through the mutex, and the orders above come from it. ABA: a waiter
 * delayed between its read of seq and its futex wait across exactly 2^32
 * signals would sleep through them (Rust's futex Condvar has the same
 * bound); tests/unit_cond.c checks that a sleeper wakes across the wrap.
 * Size 8 bytes; all-zero memory (WEFT_COND_INIT, a static) is valid. Use
 * one mutex with a given cond at a time.
 */
#ifndef WEFT_COND_H
#define WEFT_COND_H

#include <stdatomic.h>
#include <stdint.h>

#include "weft/common.h"
#include "weft/mutex.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_cond {
	_Atomic uint32_t seq;
	_Atomic uint32_t waiters;
} weft_cond;

#define WEFT_COND_INIT { 0, 0 }

/* Wait: m must be locked by the caller; it is locked again on return. */
WEFT_API void weft_cond_wait(weft_cond *c, weft_mutex *m);

/* 0 when woken (or spuriously), ETIMEDOUT after timeout_ns; m re-locked. */
WEFT_API int weft_cond_wait_timeout(weft_cond *c, weft_mutex *m, uint64_t timeout_ns);

WEFT_API void weft__cond_signal_slow(weft_cond *c, int n);

static inline void weft_cond_signal(weft_cond *c)
{
	/* relaxed: the mutex orders this load after any registration it must
	 * see (see "No lost wake-up"). */
	if (WEFT_LIKELY(!atomic_load_explicit(&c->waiters, memory_order_relaxed)))
		return;
	weft__cond_signal_slow(c, 1);
}

static inline void weft_cond_broadcast(weft_cond *c)
{
	/* relaxed: as in weft_cond_signal. */
	if (WEFT_LIKELY(!atomic_load_explicit(&c->waiters, memory_order_relaxed)))
		return;
	weft__cond_signal_slow(c, 0x7fffffff);
}

#ifdef __cplusplus
}
#endif

#endif /* WEFT_COND_H */
