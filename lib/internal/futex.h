/*
 * lib/internal/futex.h - the futex system call, wrapped once for all of weft.
 *
 * Every blocking primitive sleeps through weft_futex_wait and is woken by
 * weft_futex_wake. Timeouts are absolute CLOCK_MONOTONIC deadlines built by
 * weft_deadline_after(), so a wait interrupted by EINTR or a spurious wake-up
 * and restarted keeps the caller's original deadline: never shortened, never
 * lengthened. All futexes are process-private (FUTEX_PRIVATE_FLAG).
 */
#ifndef WEFT_INTERNAL_FUTEX_H
#define WEFT_INTERNAL_FUTEX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* An absolute CLOCK_MONOTONIC time; tv_sec < 0 means "no deadline". */
typedef struct timespec weft_deadline;

/* Deadline timeout_ns from now; saturates instead of overflowing. */
weft_deadline weft_deadline_after(uint64_t timeout_ns);

/* The deadline that never comes, for untimed waits. */
static inline weft_deadline weft_deadline_never(void)
{
	return (weft_deadline){ .tv_sec = -1, .tv_nsec = 0 };
}

/* The earlier of two deadlines ("never" is later than any time). */
static inline const weft_deadline *weft_deadline_min(const weft_deadline *a,
						     const weft_deadline *b)
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
bool weft_deadline_passed(const weft_deadline *d);

/*
 * Sleep while *word == expected, until woken or the deadline passes.
 * Returns 0 when the caller should re-check its condition (woken, value
 * already different, EINTR, spurious), ETIMEDOUT when the deadline passed.
 * The kernel compares *word with expected atomically with queueing the
 * waiter, which is what makes check-then-sleep free of lost wake-ups.
 */
int weft_futex_wait(_Atomic uint32_t *word, uint32_t expected,
		    const weft_deadline *deadline);

/*
 * weft_futex_wait, telling apart why it returned: 0 woken (by a
 * weft_futex_wake, or spuriously), EAGAIN *word != expected (never slept),
 * EINTR interrupted by a signal handler (left the queue without consuming
 * a wake-up), ETIMEDOUT. For callers that must not swallow a wake-up meant
 * for another sleeper (weft_cond).
 */
int weft_futex_wait_raw(_Atomic uint32_t *word, uint32_t expected,
			const weft_deadline *deadline);

/* Wake up to n waiters on word; returns how many were woken. */
int weft_futex_wake(_Atomic uint32_t *word, int n);

#define WEFT_FUTEX_WAKE_ALL 0x7fffffff

#endif /* WEFT_INTERNAL_FUTEX_H */
