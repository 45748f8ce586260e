/*
 * lib/internal/waiter.h - one waiting context (a thread today, a task once
 * the async runtime lands): park it, unpark it, and claim it exactly once.
 *
 * A waiter lives on the waiting thread's stack for the duration of one
 * blocking operation (or one select). It has two words:
 *
 *   selected  WEFT__SEL_WAITING until exactly one CAS moves it away:
 *             WEFT__SEL_ABORTED   the waiter itself gave up (timeout, or it
 *                                 saw the operation become possible),
 *             WEFT__SEL_DISCONNECTED  a channel it waits on disconnected,
 *             WEFT__SEL_OP(i)     op i of the waiter claimed it (notified,
 *                                 or for a rendezvous the element moved).
 *             The claimer is the only thread that then unparks the waiter.
 *   wake      the futex word: 0 running, 2 about to sleep / asleep,
 *             1 unparked. Only weft__waiter_unpark stores 1.
 *
 * Protocol: whoever wins try_select (other than the waiter itself, with
 * ABORTED) finishes what it has to do to the waiter's buffers, then calls
 * unpark exactly once. A waiter that lost the race to abort (its CAS to
 * ABORTED failed) must park again without a deadline until unparked: the
 * claimer may still be copying into its buffer or touching the waiter.
 *
 * Tasks (weft/rt.h): a waiter initialised on a task records it in `task`
 * (NULL on a plain thread); park then parks the task (its worker runs
 * other tasks) and unpark makes the task runnable again, through
 * lib/internal/rt.h. These two functions are the only places that know
 * which kind of waiter it is, so one channel serves threads and tasks at
 * once. The waiter lives on the task's stack: a parked task's stack is
 * never freed or reused before the task returns from park, and a claimed
 * waiter's task cannot return before its unpark (see the protocol above),
 * so whoever can reach the waiter can reach a live stack.
 */
#ifndef WEFT_INTERNAL_WAITER_H
#define WEFT_INTERNAL_WAITER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "internal/futex.h"
#include "internal/rt.h"

#define WEFT__SEL_WAITING ((uintptr_t)0)
#define WEFT__SEL_ABORTED ((uintptr_t)1)
#define WEFT__SEL_DISCONNECTED ((uintptr_t)2)
/* The value of `wake` once unparked (lib/waiter.c's WAKE_UNPARKED). */
#define WEFT__WAKE_UNPARKED 1u
#define WEFT__SEL_OP(i) ((uintptr_t)(i) + 3)
#define WEFT__SEL_OP_INDEX(sel) ((size_t)((sel) - 3))

typedef struct weft__waiter {
	_Atomic uintptr_t selected;
	_Atomic uint32_t wake;
	/* Owner-only: may park spin before sleeping? The registering code
	 * clears it when waiters of the same side were already asleep: with
	 * threads outnumbering CPUs a crowd of spinners only keeps the CPU
	 * from the thread that would wake them. */
	bool spin;
	/* Owner-only, set by park: -1 did not spin, 0 spun in vain, 1 the
	 * wait ended during the spin. */
	int8_t spun;
	/* The task that waits, or NULL for a thread: set by init, before the
	 * waiter is published (read by unpark). */
	struct weft_rt_task *task;
} weft__waiter;

static inline void weft__waiter_init(weft__waiter *w)
{
	/* relaxed: the waiter is published to others by the lock of the list
	 * it is registered in (release by the registering unlock). */
	atomic_store_explicit(&w->selected, WEFT__SEL_WAITING, memory_order_relaxed);
	atomic_store_explicit(&w->wake, 0, memory_order_relaxed);
	w->spin = true;
	w->spun = -1;
	w->task = weft__rt_self();
}

/*
 * Claim the waiter for `sel`; true for exactly one caller. acq_rel: the
 * release half publishes what the claimer wrote before (nothing in most
 * cases), the acquire half orders the claimer's later writes into the
 * waiter's buffers after the waiter's registration; the waiter reads them
 * only after unpark (release/acquire on `wake`).
 */
static inline bool weft__waiter_try_select(weft__waiter *w, uintptr_t sel)
{
	uintptr_t expected = WEFT__SEL_WAITING;
	return atomic_compare_exchange_strong_explicit(
		&w->selected, &expected, sel, memory_order_acq_rel,
		memory_order_acquire);
}

/* What the waiter was claimed for. acquire: pairs with try_select's release. */
static inline uintptr_t weft__waiter_selected(weft__waiter *w)
{
	return atomic_load_explicit(&w->selected, memory_order_acquire);
}

/*
 * Sleep until unparked or the deadline passes: 0 unparked, ETIMEDOUT.
 * Spins briefly first when w->spin and more than one CPU is usable (the
 * unparker may be about to run on another one), then sleeps on the futex
 * word.
 */
int weft__waiter_park(weft__waiter *w, const weft__deadline *deadline);

/* Wake the waiter (called once, by the thread that claimed it). */
void weft__waiter_unpark(weft__waiter *w);

/*
 * Wait a little for another thread that is between two steps of an
 * operation (a sender that claimed a slot and is copying into it): spin
 * while the backoff budget lasts and more than one CPU is usable, then
 * sleep a few microseconds at a time (a timed sleep lets a preempted
 * thread run on this CPU; a sched_yield loop does not reliably).
 * `round` counts calls, zero at the start of the wait.
 */
void weft__wait_progress(unsigned *round);

#endif /* WEFT_INTERNAL_WAITER_H */
