/* lib/futex.c - futex(2) wrapper and monotonic deadlines; see internal/futex.h. */
#include "internal/futex.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "weft/common.h"

#define NS_PER_S 1000000000ull

weft__deadline weft__deadline_after(uint64_t timeout_ns)
{
	weft__deadline now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	/* Cap at ~292 years so tv_sec stays positive: effectively forever. */
	const uint64_t max_s = (uint64_t)INT64_MAX / 2;
	uint64_t sec = (uint64_t)now.tv_sec + timeout_ns / NS_PER_S;
	uint64_t nsec = (uint64_t)now.tv_nsec + timeout_ns % NS_PER_S;
	if (nsec >= NS_PER_S) {
		sec++;
		nsec -= NS_PER_S;
	}
	if (sec > max_s)
		sec = max_s;
	return (weft__deadline){ .tv_sec = (time_t)sec, .tv_nsec = (long)nsec };
}

bool weft__deadline_passed(const weft__deadline *d)
{
	if (d->tv_sec < 0)
		return false;
	weft__deadline now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > d->tv_sec ||
	       (now.tv_sec == d->tv_sec && now.tv_nsec >= d->tv_nsec);
}

int weft__futex_wait_raw(_Atomic uint32_t *word, uint32_t expected,
			const weft__deadline *deadline)
{
	/*
	 * FUTEX_WAIT_BITSET takes an absolute timeout on CLOCK_MONOTONIC
	 * (plain FUTEX_WAIT takes a relative one, which a restart after EINTR
	 * would stretch).
	 */
	const struct timespec *abs = deadline->tv_sec < 0 ? NULL : deadline;
	long rc = syscall(SYS_futex, (uint32_t *)word,
			  FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected, abs,
			  NULL, FUTEX_BITSET_MATCH_ANY);
	if (rc == 0)
		return 0;
	switch (errno) {
	case EAGAIN: /* *word != expected: never queued. */
	case EINTR:  /* a signal: dequeued without a wake-up. */
	case ETIMEDOUT:
		return errno;
	default:
		/* EFAULT/EINVAL/ENOSYS: a weft bug or a hostile kernel. */
		weft__debug_abort("futex wait failed unexpectedly");
	}
}

int weft__futex_wait(_Atomic uint32_t *word, uint32_t expected,
		    const weft__deadline *deadline)
{
	int rc = weft__futex_wait_raw(word, expected, deadline);
	/* EAGAIN, EINTR: the caller re-checks, same deadline. */
	return rc == ETIMEDOUT ? ETIMEDOUT : 0;
}

int weft__futex_wake(_Atomic uint32_t *word, int n)
{
	long rc = syscall(SYS_futex, (uint32_t *)word,
			  FUTEX_WAKE | FUTEX_PRIVATE_FLAG, n, NULL, NULL, 0);
	return rc < 0 ? 0 : (int)rc;
}
