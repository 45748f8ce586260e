/*
 * weft/cond.h - a condition variable for weft_mutex in one 32-bit word.
 *
 *     bits 0..11   WAITERS  threads inside weft_cond_wait (registered under
 *                           the mutex, deregistered when they wake)
 *     bits 12..31  SEQ      bumped by every signal and broadcast that finds
 *                           a waiter; waiters sleep until it moves
 *
 * wait:      register (+1, under the mutex), unlock the mutex, poll SEQ
 *            briefly with sched_yield, then futex-wait while SEQ still has
 *            the value seen at registration; deregister (-1); lock the
 *            mutex (after a futex sleep: sched_yield polls, then the
 *            sleeping lock). Returns after any futex wake-up even if SEQ
 *            did not move (spurious, as POSIX allows: call it in a
 *            predicate loop), but sleeps again after EAGAIN or
 *            EINTR while SEQ is unchanged: those mean no wake-up was
 *            consumed (the word moved only because other waiters came or
 *            went), so returning would be a needless spurious wake-up.
 * signal:    load; no waiter -> return (a load and a branch: no RMW, no
 *            system call). Else bump SEQ and wake one sleeper.
 * broadcast: the same, waking all sleepers.
 *
 * No lost wake-up: a waiter registers while it holds the mutex. A thread
 * that changes the predicate under the mutex and then signals reads the
 * word after that registration (mutex release/acquire, then read-after-
 * write coherence), so it sees WAITERS > 0 and bumps SEQ. The waiter sleeps
 * only through weft__futex_wait on a value whose SEQ is the registered one,
 * compared atomically by the kernel, so a bump before it sleeps makes the
 * wait return at once and a bump after it sleeps comes with a wake-up.
 * Going back to sleep cannot swallow a wake-up meant for someone else: a
 * waiter re-sleeps only after EAGAIN (it was never queued) or EINTR (it
 * left the queue without being woken), and only while SEQ is still its own;
 * a waiter that was woken returns.
 * SEQ is 20 bits: a waiter delayed between two reads of the word across
 * exactly 2^20 signals could miss one (the same ABA bound Rust's futex
 * Condvar accepts at 2^32).
 *
 * Broadcast wakes every sleeper, without requeueing them onto the mutex,
 * and the crowd does not fight for the mutex in the kernel: a woken waiter
 * that finds the mutex held polls it between sched_yield calls (32, then
 * the normal sleeping lock). The holder is usually the broadcaster (it
 * broadcasts under the mutex) or another woken waiter, and may have been
 * preempted by the threads just woken on its CPU; a yield runs it, or a
 * waiter that is done at once, instead of costing the waiter a futex
 * sleep, two switches and the unlocker a FUTEX_WAKE. Every waiter
 * also yield-polls SEQ up to 32 times before its first futex sleep (only
 * the pause spin is limited to waiters that fit on the CPUs), so a
 * broadcast that comes soon finds the crowd awake and wakes nobody.
 * Measured on cond/broadcast (1 broadcaster + 8 waiters, 2 CPUs; futex
 * calls per round from perf trace points, 2000 rounds):
 *   before: 6.9 cond sleeps + 4.2 mutex sleeps + 4.2 mutex wakes, about
 *           17 context switches per round (pthread: 7.2 cond sleeps, 4.8
 *           mutex sleeps, 9 mutex wakes, 12.5 switches);
 *   yielding re-lock only: 6.9 cond sleeps, 0.00 mutex sleeps, about 14
 *           switches;
 *   plus yield polls for every waiter: 0.01 cond sleeps, 0 mutex sleeps,
 *           1 FUTEX_WAKE (finding nobody), about 11 switches, and 42 us of
 *           CPU per round instead of 113 us.
 * So requeueing has little left to save here: after the wake-up nobody
 * sleeps on the mutex. A requeue also needs a mutex state for requeued
 * sleepers (a requeued waiter cannot tell on return whether it was
 * requeued or woken directly, so it cannot be counted in SLEEPERS). It was
 * prototyped (not kept): broadcast sets a BCAST bit and wakes one; the
 * waiter that clears BCAST, once it holds the mutex, sets a "maybe
 * requeued" mark and bumps an 8-bit generation in the mutex word, then
 * FUTEX_CMP_REQUEUEs the other sleepers onto it (nr_wake 0); while the
 * mark is set unlock takes the slow path and wakes one; an unlock whose
 * wake finds nobody (and no registered sleeper) clears the mark, unless
 * the generation or LOCKED moved since it looked; a thread that may have
 * been woken from the mutex queue clears WOKEN when it takes the lock.
 * Per round it made 1 cond wake + 1 requeue (6.9 waiters moved) + 7.9
 * mutex wakes, more system calls than the wake-all's 1, and was no faster.
 * Designs measured on the 2-core KVM development machine (cond/broadcast,
 * medians, time relative to pthread in the same run; pthread alone varies
 * 7.4-18.6 us per round between runs minutes apart):
 *   earlier session, separate runs:
 *   wake all, waiters sleep on a held mutex at once  0.90 - 1.30x
 *   wake all, waiters pause-spin on the mutex         0.96 - 2.5x (spinning
 *                     on a shared CPU only delays the holder)
 *   leader requeues the rest onto the mutex           0.57 - 1.32x (0.70-
 *                     0.85x in the one interleaved A/B batch)
 *   leader wakes the rest before locking              0.43 - 1.16x
 *   session 3, weft_bench --benchmark_filter=cond/ with random
 *   interleaving, 9 repetitions, three processes per design (medians):
 *   wake all, sleep on a held mutex at once (main)    0.86, 0.92, 0.96x
 *   + yield polls before the mutex sleep              0.69, 0.66, 0.64x
 *                     (16, 32, 64 polls alike: 0.64-0.69x in a probe)
 *   + yield polls on SEQ for every waiter (this)      0.27, 0.27, 0.26x
 *   requeue prototype, without the crowd's SEQ polls  0.68, 0.65, 0.66x
 *                     (the prototype build without requeue, in
 *                     alternating processes: 0.69, 0.62, 0.63x)
 *   requeue prototype, with them                      0.31, 0.32, 0.29x
 * ping-pong stayed 2.3-3.0x pthread and signal with no waiter 3.3-4.7x in
 * all of these runs (pthread in its fast mode, about 160k hand-offs/s).
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
WEFT_API void weft_cond_wait(weft_cond *c, weft_mutex *m);

/* 0 when woken (or spuriously), ETIMEDOUT after timeout_ns; m re-locked. */
WEFT_API int weft_cond_wait_timeout(weft_cond *c, weft_mutex *m, uint64_t timeout_ns);

WEFT_API void weft__cond_signal_slow(weft_cond *c, int n);

static inline void weft_cond_signal(weft_cond *c)
{
	/* relaxed: see "No lost wake-up" above; the mutex orders this load
	 * after any registration it must see. */
	if (WEFT_LIKELY(!(atomic_load_explicit(&c->word, memory_order_relaxed) &
			  WEFT_COND_WAITERS)))
		return;
	weft__cond_signal_slow(c, 1);
}

static inline void weft_cond_broadcast(weft_cond *c)
{
	/* relaxed: as in weft_cond_signal. */
	if (WEFT_LIKELY(!(atomic_load_explicit(&c->word, memory_order_relaxed) &
			  WEFT_COND_WAITERS)))
		return;
	weft__cond_signal_slow(c, 0x7fffffff);
}

#ifdef __cplusplus
}
#endif

#endif /* WEFT_COND_H */
