/*
 * lib/internal/futex.h - the futex system call, wrapped once for all of weft.
 *
 * Every blocking primitive sleeps through weft__futex_wait and is woken by
 * weft__futex_wake. Timeouts are absolute CLOCK_MONOTONIC deadlines built by
 * weft__deadline_after(), so a wait interrupted by EINTR or a spurious wake-up
 * and restarted keeps the caller's original deadline: never shortened, never
 * lengthened. All futexes are process-private (FUTEX_PRIVATE_FLAG).
 */
#ifndef WEFT_INTERNAL_FUTEX_H
#define WEFT_INTERNAL_FUTEX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "weft/common.h" /* WEFT_TIMEOUT_NEVER */

/* An absolute CLOCK_MONOTONIC time; tv_sec < 0 means "no deadline". */
typedef struct timespec weft__deadline;

/* Deadline timeout_ns from now; saturates instead of overflowing. */
weft__deadline weft__deadline_after(uint64_t timeout_ns);

/* The deadline that never comes, for untimed waits. */
static inline weft__deadline weft__deadline_never(void)
{
	return (weft__deadline){ .tv_sec = -1, .tv_nsec = 0 };
}

/* The deadline of a wait of timeout_ns; WEFT_TIMEOUT_NEVER is none (and
 * reads no clock, as most slow paths are untimed). */
static inline weft__deadline weft__deadline_for(uint64_t timeout_ns)
{
	return timeout_ns == WEFT_TIMEOUT_NEVER ? weft__deadline_never()
						: weft__deadline_after(timeout_ns);
}

/* The earlier of two deadlines ("never" is later than any time). */
static inline const weft__deadline *weft__deadline_min(const weft__deadline *a,
						     const weft__deadline *b)
{
	if (a->tv_sec < 0)
		return b;
	if (b->tv_sec < 0)
		return a;
	if (a->tv_sec != b->tv_sec)
		return a->tv_sec < b->tv_sec ? a : b;
	return a->tv_nsec <= b->tv_nsec ? a : b;
}

/* True when the deadline has passed. */
bool weft__deadline_passed(const weft__deadline *d);

/*
 * Sleep while *word == expected, until woken or the deadline passes.
 * Returns 0 when the caller should re-check its condition (woken, value
 * already different, EINTR, spurious), ETIMEDOUT when the deadline passed.
 * The kernel compares *word with expected atomically with queueing the
 * waiter, which is what makes check-then-sleep free of lost wake-ups.
 */
int weft__futex_wait(_Atomic uint32_t *word, uint32_t expected,
		    const weft__deadline *deadline);

/*
 * weft__futex_wait, telling apart why it returned: 0 woken (by a
 * weft__futex_wake, or spuriously), EAGAIN *word != expected (never slept),
 * EINTR interrupted by a signal handler (left the queue without consuming
 * a wake-up), ETIMEDOUT. For callers that must not swallow a wake-up meant
 * for another sleeper (weft_cond).
 */
int weft__futex_wait_raw(_Atomic uint32_t *word, uint32_t expected,
			const weft__deadline *deadline);

/* Wake up to n waiters on word; returns how many were woken. */
int weft__futex_wake(_Atomic uint32_t *word, int n);

#define WEFT__FUTEX_WAKE_ALL 0x7fffffff

#endif /* WEFT_INTERNAL_FUTEX_H */
