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
 * A yield that reports whether it was cheap: sched_yield() once, false if it
 * came back later than WEFT__YIELD_LATE_NS. A late return means another
 * thread ran a time slice on this CPU (a CPU-bound neighbour, or more
 * runnable threads than CPUs); a yield-poll loop stops there and sleeps on
 * its futex instead. Without this check, with a busy-loop process on the
 * other CPU, every yield could hand that process a whole slice: cond
 * broadcast ran 84x slower than on the quiet machine (docs/tuning.md).
 * A cheap yield (nobody else runnable, or a partner that ran briefly)
 * returns in a few microseconds.
 */
#define WEFT__YIELD_LATE_NS 50000

static inline uint64_t weft__monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline bool weft__yield_was_cheap(void)
{
	const uint64_t start = weft__monotonic_ns();
	sched_yield();
	return weft__monotonic_ns() - start < WEFT__YIELD_LATE_NS;
}

#endif /* WEFT_INTERNAL_BACKOFF_H */
