/*
 * weft/cond.h - a condition variable for weft_mutex in one 32-bit word.
 *
 *     bits 0..11   WAITERS  threads inside weft_cond_wait (registered under
 *                           the mutex, deregistered when they wake)
 *     bits 12..31  SEQ      bumped by every signal and broadcast that finds
 *                           a waiter; waiters sleep until it moves
 *
 * wait:      register (+1, under the mutex), unlock the mutex, spin briefly
 *            then futex-wait while SEQ still has the value seen at
 *            registration; deregister (-1); lock the mutex. May return
 *            spuriously (as POSIX allows): call it in a predicate loop.
 * signal:    load; no waiter -> return (a load and a branch: no RMW, no
 *            system call). Else bump SEQ and wake one sleeper.
 * broadcast: the same, waking all sleepers.
 *
 * No lost wake-up: a waiter registers while it holds the mutex. A thread
 * that changes the predicate under the mutex and then signals reads the
 * word after that registration (mutex release/acquire, then read-after-
 * write coherence), so it sees WAITERS > 0 and bumps SEQ. The waiter sleeps
 * only through weft_futex_wait on a value whose SEQ is the registered one,
 * compared atomically by the kernel, so a bump before it sleeps makes the
 * wait return at once and a bump after it sleeps comes with a wake-up.
 * SEQ is 20 bits: a waiter delayed between two reads of the word across
 * exactly 2^20 signals could miss one (the same ABA bound Rust's futex
 * Condvar accepts at 2^32).
 *
 * Broadcast wakes every sleeper, without requeueing them onto the mutex:
 * weft_mutex spins before sleeping, so the woken waiters queue up on it
 * with few extra system calls (bench/bench_cond.c, cond/broadcast, measures
 * the time until all waiters hold the mutex again against pthread).
 * Size 4 bytes; all-zero memory (WEFT_COND_INIT, a static) is valid.
 * Use one mutex with a given cond at a time.
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
	_Atomic uint32_t word;
} weft_cond;

#define WEFT_COND_INIT { 0 }
#define WEFT_COND_WAITERS 0xfffu
#define WEFT_COND_SEQ_ONE 0x1000u

/* Wait: m must be locked by the caller; it is locked again on return. */
void weft_cond_wait(weft_cond *c, weft_mutex *m);

/* 0 when woken (or spuriously), ETIMEDOUT after timeout_ns; m re-locked. */
int weft_cond_wait_timeout(weft_cond *c, weft_mutex *m, uint64_t timeout_ns);

void weft_cond_signal_slow(weft_cond *c, int n);

static inline void weft_cond_signal(weft_cond *c)
{
	/* relaxed: see "No lost wake-up" above; the mutex orders this load
	 * after any registration it must see. */
	if (WEFT_LIKELY(!(atomic_load_explicit(&c->word, memory_order_relaxed) &
			  WEFT_COND_WAITERS)))
		return;
	weft_cond_signal_slow(c, 1);
}

static inline void weft_cond_broadcast(weft_cond *c)
{
	/* relaxed: as in weft_cond_signal. */
	if (WEFT_LIKELY(!(atomic_load_explicit(&c->word, memory_order_relaxed) &
			  WEFT_COND_WAITERS)))
		return;
	weft_cond_signal_slow(c, 0x7fffffff);
}

#ifdef __cplusplus
}
#endif

#endif /* WEFT_COND_H */
