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

#include <stdbool.h>
#include <stdint.h>

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

#endif /* WEFT_INTERNAL_BACKOFF_H */
