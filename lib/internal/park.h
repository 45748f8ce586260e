/*
 * lib/internal/park.h - concurrency restriction for oversubscribed waiters.
 *
 * When more threads wait for one lock than there are CPUs, the waiters
 * beyond the CPU count cannot all run anyway; left runnable, they keep
 * every CPU busy taking turns at the lock's cache line, and each turn moves
 * the line between CPUs (on the 2-CPU guest weft is measured on, a
 * contended rwlock ran at about 40M ops/s on two CPUs and 80-160M on one).
 * So a waiter that finds at least as many waiters ahead of it as there are
 * online CPUs first parks (sleeps) for a bounded time, PARK_NS, or until
 * its own deadline, whichever comes first; then it waits as usual. This is
 * the "concurrency restriction" of Dice's Malthusian locks (EuroSys 2017)
 * and GCR (Dice & Kogan, Euro-Par 2019), in its simplest form: nobody has
 * to wake a parked thread, a wait is lengthened by at most PARK_NS once per
 * acquisition, and the lock's own state machine (its policy, its wake-ups)
 * never sees parked threads. "At most PARK_NS" is the timer: a thread
 * whose park ends while every CPU is busy then waits for the scheduler to
 * give it one, which measured 3-8 ms on the 2-CPU guest (scheduler ticks),
 * so a caller whose wait should stay short (weft_rwlock's writers) parks
 * only behind waiters that are not parked themselves.
 *
 * Waiters are counted per lock address in a small hashed table (the lock
 * itself stays 8 bytes); locks sharing a bucket merely count each other's
 * waiters, which can only park a thread early, never for longer.
 */
#ifndef WEFT_INTERNAL_PARK_H
#define WEFT_INTERNAL_PARK_H

#include <stdbool.h>
#include <stdint.h>

#include "internal/futex.h"

typedef struct weft__park_bucket weft__park_bucket;

/*
 * Count the caller as a waiter for `lock`; if at least as many waiters as
 * online CPUs were there already, sleep until PARK_NS from now or
 * `deadline`, whichever comes first. With behind_parked false, waiters
 * that are parked themselves do not count: the caller parks only behind
 * waiters that hold a CPU. Pair with weft__park_leave on every path out of
 * the wait.
 */
weft__park_bucket *weft__park_enter(const void *lock, const weft__deadline *deadline,
				  bool behind_parked);

/* The waiter counted by weft__park_enter stopped waiting. */
void weft__park_leave(weft__park_bucket *b);

/* Waiters counted now in `lock`'s bucket (tests: 0 once all have left). */
uint32_t weft__park_waiters(const void *lock);

#endif /* WEFT_INTERNAL_PARK_H */
