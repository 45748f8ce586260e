/*
 * lib/internal/backoff.h - bounded exponential backoff for spin loops.
 *
 * A spinner calls weft__backoff_spin() after each failed attempt: it pauses
 * 1, 2, 4, ... up to step_max cpu_relax hints, and returns false once the total budget is
 * spent, which is the caller's cue to stop spinning and sleep (futex) or
 * report failure. The budget bounds the time a waiter burns a core that the
 * lock holder might need, which matters when threads outnumber cores.
 */
#ifndef WEFT_INTERNAL_BACKOFF_H
#define WEFT_INTERNAL_BACKOFF_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "internal/arch.h"
#include "internal/cpus.h"

typedef struct weft__backoff {
	uint32_t step;	/* relax hints in the next pause */
	uint32_t spent; /* relax hints so far */
	uint32_t limit; /* budget in relax hints */
	uint32_t step_max; /* longest single pause */
} weft__backoff;

static inline weft__backoff weft__backoff_make(uint32_t limit, uint32_t step_max)
{
	return (weft__backoff){ .step = 1, .limit = limit, .step_max = step_max };
}

/*
 * The same, with the budget and the longest pause in nanoseconds, converted
 * with this CPU's calibrated hint cost (weft__relax_hints): the form every
 * spin loop uses, so a budget means the same wait on every CPU family.
 */
static inline weft__backoff weft__backoff_make_ns(uint64_t limit_ns,
						uint64_t step_max_ns)
{
	return weft__backoff_make(weft__relax_hints(limit_ns),
				 weft__relax_hints(step_max_ns));
}

/*
 * A budget of limit_ns spent in pauses of period_ns each from the first
 * one (no exponential ramp): for a poller whose every look costs the
 * thread it watches (the look takes a cache line that thread writes), so
 * looks are paced, not bunched at the start.
 */
static inline weft__backoff weft__backoff_make_paced_ns(uint64_t limit_ns,
						       uint64_t period_ns)
{
	weft__backoff b = weft__backoff_make_ns(limit_ns, period_ns);
	b.step = b.step_max;
	return b;
}

/* Wait about ns nanoseconds in pause hints, touching no shared memory. */
static inline void weft__pause_ns(uint64_t ns)
{
	for (uint32_t i = weft__relax_hints(ns); i; i--)
		weft__cpu_relax();
}

/* Pause once; false when the budget is exhausted (no pause taken). */
static inline bool weft__backoff_spin(weft__backoff *b)
{
	if (b->spent >= b->limit)
		return false;
	for (uint32_t i = 0; i < b->step; i++)
		weft__cpu_relax();
	b->spent += b->step;
	if (b->step < b->step_max)
		b->step <<= 1;
	return true;
}

/*
 * Yield polls that stop where yielding stops being cheap.
 *
 * weft__yield_was_cheap() does one sched_yield() and reports whether it
 * came back within WEFT__YIELD_LATE_NS. A late return means another thread
 * ran a time slice on this CPU: a CPU-bound neighbour on a shared host, or
 * more runnable threads than CPUs. With a busy loop on the other CPU every
 * yield can hand it a slice (milliseconds); stopping each poll loop at its
 * first late yield still lost one slice per wait (cond/broadcast 47-89x,
 * cond/pingpong 150x slower than quiet, docs/tuning.md). So a late yield
 * also bans yielding process-wide for 16 times its lateness: meanwhile
 * weft__yield_was_cheap() returns false without yielding and every poll
 * loop goes to its futex sleep at once, so a CPU hog takes about a
 * seventeenth of the time at most (one slice per ban) instead of a slice
 * per wait, and a short late yield (a nice-19 build running briefly) bans
 * yields only briefly. A cheap yield (nobody else runnable, or a
 * partner that ran briefly) returns in a microsecond or a few.
 */
#define WEFT__YIELD_LATE_NS 50000u
#define WEFT__YIELD_BAN_FACTOR 16u

static inline uint64_t weft__monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Monotonic time before which nobody yields (lib/yield.c). */
extern _Atomic uint64_t weft__yield_banned_until;

/* True while a late yield is recent (see above); `now` from weft__monotonic_ns. */
static inline bool weft__yield_banned(uint64_t now)
{
	/* relaxed: a hint about the machine; no data is published with it. */
	return now < atomic_load_explicit(&weft__yield_banned_until, memory_order_relaxed);
}

static inline bool weft__yield_was_cheap(void)
{
	const uint64_t start = weft__monotonic_ns();
	if (weft__yield_banned(start))
		return false;
	sched_yield();
	const uint64_t end = weft__monotonic_ns(), late = end - start;
	if (late < WEFT__YIELD_LATE_NS)
		return true;
	/* relaxed: as in weft__yield_banned; racing writers store about the
	 * same time, and any of them bans long enough. */
	atomic_store_explicit(&weft__yield_banned_until,
			      end + WEFT__YIELD_BAN_FACTOR * late, memory_order_relaxed);
	return false;
}

#endif /* WEFT_INTERNAL_BACKOFF_H */
