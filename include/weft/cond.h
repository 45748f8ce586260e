/*
 * weft/cond.h - a condition variable for weft_mutex in one 32-bit word.
 *
 *     bits 0..11   WAITERS  threads inside weft_cond_wait (registered under
 *                           the mutex, deregistered when they wake)
 *     bits 12..31  SEQ      bumped by every signal and broadcast that finds
 *                           a waiter; waiters sleep until it moves
 *
 * wait:      register (+1, under the mutex), unlock the mutex, poll SEQ
 *            briefly with sched_yield (only when WAITERS < CPUs), then
 *            futex-wait while SEQ still has the value seen at registration;
 *            deregister (-1); lock the mutex. Returns after any futex
 *            wake-up even if SEQ did not move (spurious, as POSIX allows:
 *            call it in a predicate loop), but sleeps again after EAGAIN or
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
 * only through weft_futex_wait on a value whose SEQ is the registered one,
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
 * Broadcast wakes every sleeper, without requeueing them onto the mutex.
 * Requeueing needs the mutex, which broadcast does not get and a 4-byte
 * cond cannot store; a woken "leader" (which knows it) could requeue the rest
 * (FUTEX_CMP_REQUEUE onto the mutex word), but a requeued waiter cannot
 * tell on return whether it was requeued (and counted as a mutex sleeper)
 * or woken directly (signal, timeout, EINTR), which the mutex count needs.
 * Prototypes measured on the 2-core KVM development machine (cond/
 * broadcast, 1 broadcaster + 8 waiters, medians, time relative to pthread
 * in the same run; the machine is noisy, pthread alone varied 7.4-18.6 us
 * per round between runs minutes apart):
 *   wake all, nospin mutex lock (this design)   0.90 - 1.30x
 *   wake all, waiters spin on the mutex          0.96 - 2.5x (spinning on a
 *                     shared CPU only delays the holder)
 *   leader requeues the rest onto the mutex      0.57 - 1.32x (0.70-0.85x
 *                     in the one interleaved A/B batch)
 *   leader wakes the rest before locking         0.43 - 1.16x
 * Mutex collisions after the wake-up are not what costs here: the leader
 * variants cut the woken waiters' mutex sleeps from 4.4 to 1.2-2 per round
 * without a reliable gain; context switches and wake-ups of an idle vCPU
 * (about 6-12 us each on this nested guest) dominate, and both the wake-all
 * and the requeue chain pay about one per waiter. The 0.7x bar is not met
 * reliably by any of them here; see the issue note.
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
