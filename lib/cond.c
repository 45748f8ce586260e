/* lib/cond.c - weft_cond; the protocol and its orders are in weft/cond.h. */
#include "weft/cond.h"

#include <errno.h>
#include <sched.h>

#include "internal/backoff.h"
#include "internal/futex.h"
#include "internal/mutex.h"

_Static_assert(sizeof(weft_cond) == 8, "weft_cond must stay 8 bytes");

/*
 * Before its first futex sleep a waiter polls seq between sched_yield()
 * calls for at most COND_YIELD_NS, stopping at the first yield that came
 * back late or while yields are banned (internal/backoff.h); a waiter that
 * slept re-locks the mutex with weft__mutex_lock_yielding (yield polls, then
 * a short spin) when COND_YIELDING_RELOCK is set. They are kept because they
 * win in wall and in CPU time on a quiet machine, and the ban keeps a CPU hog
 * from taking a slice per wait (docs/tuning.md, "weft_cond: yield polls");
 * build with -DCOND_YIELD_NS=0 -DCOND_YIELDING_RELOCK=0 to measure without.
 */
#ifndef COND_YIELD_NS
#define COND_YIELD_NS 50000
#endif
#ifndef COND_YIELDING_RELOCK
#define COND_YIELDING_RELOCK 1
#endif

void weft__cond_signal_slow(weft_cond *c, int n)
{
	/* relaxed: seen by the futex compare and the waiters' loads; the
	 * data travels through the mutex. */
	atomic_fetch_add_explicit(&c->seq, 1, memory_order_relaxed);
	weft__futex_wake(&c->seq, n);
}

/* Sleep until seq moves from `seq` or the deadline; true if woken. */
static bool sleep_on(weft_cond *c, uint32_t seq, const weft__deadline *d, int *rc)
{
	const uint64_t start = COND_YIELD_NS ? weft__monotonic_ns() : 0;
	while (COND_YIELD_NS) {
		/* relaxed: only compared; the mutex orders the data. */
		if (atomic_load_explicit(&c->seq, memory_order_relaxed) != seq ||
		    weft__deadline_passed(d)) /* no clock read without a deadline */
			return false;
		if (!weft__yield_was_cheap() ||
		    weft__monotonic_ns() - start >= COND_YIELD_NS)
			break; /* someone else's slice, or long enough: sleep */
	}
	for (;;) {
		int w = weft__futex_wait_raw(&c->seq, seq, d);
		if (w == ETIMEDOUT)
			*rc = ETIMEDOUT;
		/* EINTR with seq unchanged consumed no wake-up: sleep again. */
		if (w != EINTR || atomic_load_explicit(&c->seq, memory_order_relaxed) != seq)
			return w != EAGAIN && w != ETIMEDOUT;
	}
}

static int wait_common(weft_cond *c, weft_mutex *m, const weft__deadline *d)
{
	/* relaxed, both: ordered before any signaller's load and bump by the
	 * mutex we hold (weft/cond.h, "No lost wake-up"). */
	atomic_fetch_add_explicit(&c->waiters, 1, memory_order_relaxed);
	const uint32_t seq = atomic_load_explicit(&c->seq, memory_order_relaxed);
	weft_mutex_unlock(m);
	int rc = 0;
	bool slept = sleep_on(c, seq, d, &rc);
	/* relaxed: deregistering publishes nothing. */
	atomic_fetch_sub_explicit(&c->waiters, 1, memory_order_relaxed);
	/* A waiter woken from a futex sleep was likely woken with others
	 * (broadcast), while the broadcaster may still hold the mutex. */
	if (COND_YIELDING_RELOCK && slept)
		weft__mutex_lock_yielding(m);
	else
		weft_mutex_lock(m);
	/* Signalled after all: report the wake-up, not the timeout. */
	if (rc == ETIMEDOUT && atomic_load_explicit(&c->seq, memory_order_relaxed) != seq)
		rc = 0;
	return rc;
}

void weft_cond_wait(weft_cond *c, weft_mutex *m)
{
	weft__deadline never = weft__deadline_never();
	(void)wait_common(c, m, &never);
}

int weft_cond_wait_timeout(weft_cond *c, weft_mutex *m, uint64_t timeout_ns)
{
	weft__deadline d = weft__deadline_for(timeout_ns);
	return wait_common(c, m, &d);
}
