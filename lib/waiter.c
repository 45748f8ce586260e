/* lib/waiter.c - park/unpark of one waiting context; see internal/waiter.h. */
#include "internal/waiter.h"

#include <errno.h>

#include "internal/backoff.h"
#include "internal/cpus.h"

enum { WAKE_RUNNING = 0, WAKE_UNPARKED = WEFT__WAKE_UNPARKED, WAKE_SLEEPING = 2 };

/*
 * Spin before sleeping, in ns. A hand-off between two running threads
 * (ping-pong through a channel) completes within a microsecond or two; a
 * futex sleep plus wake costs both sides a system call and the sleeper a
 * context switch (~5-10 us on the 2-CPU guest). Beyond the budget a
 * spinner only burns the CPU its counterpart may need: 20 us doubled the
 * ping-pong round trip on the loaded guest (docs/tuning.md). Only when
 * more than one CPU is usable and the waiter is the first of its side.
 */
#ifndef WAITER_SPIN_NS
#define WAITER_SPIN_NS 5000
#endif
#define WAITER_SPIN_PAUSE_MAX_NS 200

/* weft__wait_progress: each of its first 16 rounds spins this long. */
#define PROGRESS_SPIN_NS 250

static bool unparked(weft__waiter *w)
{
	/* acquire: pairs with the release exchange in weft__waiter_unpark, so
	 * what the claimer wrote into our buffers is visible. */
	return atomic_load_explicit(&w->wake, memory_order_acquire) == WAKE_UNPARKED;
}

static bool spin_until_unparked(weft__waiter *w)
{
	weft__backoff b = weft__backoff_make_ns(WAITER_SPIN_NS, WAITER_SPIN_PAUSE_MAX_NS);
	do {
		if (unparked(w))
			return true;
	} while (weft__backoff_spin(&b));
	return false;
}

int weft__waiter_park(weft__waiter *w, const weft__deadline *deadline)
{
	if (w->task)
		return weft__rt_waiter_park(w, deadline);
	if (w->spin && weft__cpus_parallel() > 1) {
		w->spun = spin_until_unparked(w);
		if (w->spun)
			return 0;
	}
	for (;;) {
		uint32_t s = WAKE_RUNNING;
		/* acquire (failure): UNPARKED was stored; pairs with the
		 * release exchange in unpark. The success side publishes
		 * nothing, but C11 wants it at least as strong. */
		if (!atomic_compare_exchange_strong_explicit(
			    &w->wake, &s, WAKE_SLEEPING, memory_order_acquire,
			    memory_order_acquire) &&
		    s == WAKE_UNPARKED)
			return 0;
		if (weft__futex_wait(&w->wake, WAKE_SLEEPING, deadline) == ETIMEDOUT) {
			if (unparked(w))
				return 0;
			/* Back to RUNNING so a later park sleeps again; an
			 * unpark racing with us wins (the CAS fails). */
			s = WAKE_SLEEPING;
			atomic_compare_exchange_strong_explicit(
				&w->wake, &s, WAKE_RUNNING, memory_order_relaxed,
				memory_order_relaxed);
			return unparked(w) ? 0 : ETIMEDOUT;
		}
		if (unparked(w))
			return 0;
		/* Spurious or EINTR: the word is still SLEEPING; loop. */
		s = WAKE_SLEEPING;
		atomic_compare_exchange_strong_explicit(&w->wake, &s, WAKE_RUNNING,
							memory_order_relaxed,
							memory_order_relaxed);
	}
}

void weft__waiter_unpark(weft__waiter *w)
{
	/* Plain read: written by init before the waiter was published. */
	if (w->task) {
		weft__rt_waiter_unpark(w);
		return;
	}
	/* release: publishes the claimer's writes into the waiter's buffers to
	 * the acquire loads in park. */
	uint32_t old = atomic_exchange_explicit(&w->wake, WAKE_UNPARKED,
						memory_order_release);
	/*
	 * The waiter may return (and its stack frame die) as soon as it sees
	 * UNPARKED, so the wake below may hit a dead address: for a private
	 * futex that is at worst a spurious wake-up of whoever sleeps there
	 * now, which every futex sleeper tolerates (glibc's semaphores do the
	 * same).
	 */
	if (old == WAKE_SLEEPING)
		weft__futex_wake(&w->wake, 1);
}

void weft__wait_progress(unsigned *round)
{
	unsigned r = (*round)++;
	if (weft__cpus_parallel() > 1 && r < 16) {
		weft__backoff b = weft__backoff_make_ns(PROGRESS_SPIN_NS,
						      PROGRESS_SPIN_NS);
		while (weft__backoff_spin(&b))
			;
		return;
	}
	/* A timed sleep on a private word nobody wakes: the other thread
	 * gets this CPU if it was preempted here. 1, 2, 4, 8, 16 us. */
	static _Atomic uint32_t never;
	unsigned k = r < 16 ? 0 : r - 16;
	uint64_t ns = (uint64_t)1000 << (k < 4 ? k : 4);
	weft__deadline d = weft__deadline_after(ns);
	(void)weft__futex_wait(&never, 0, &d);
}
