/* lib/cond.c - weft_cond; the protocol and its proof are in weft/cond.h. */
#include "weft/cond.h"

#include <errno.h>
#include <sched.h>

#include "internal/backoff.h"
#include "internal/cpus.h"
#include "internal/futex.h"
#include "internal/mutex.h"

_Static_assert(sizeof(weft_cond) == 4, "weft_cond must stay 4 bytes");

/*
 * Before sleeping, a waiter polls SEQ: COND_SPIN_NS of pause spin (pauses
 * doubling up to COND_SPIN_PAUSE_MAX_NS; only while the waiters fit on
 * the CPUs), then up to COND_SPIN_YIELDS sched_yield() calls (every waiter),
 * stopping early at the deadline.
 * A yield serves both placements of a hand-off: when the thread we wait for
 * shares our CPU it runs at once (a pause spin only delays it), and when it
 * runs on another CPU the yield returns at once and acts as a slow poll. A
 * hand-off caught this way needs no futex wake-up of an idle CPU, which
 * costs tens of microseconds on a VM. The pause spin is therefore off (0):
 * every budget measured lost when both threads shared a CPU (docs/tuning.md).
 * The yield polls are not limited to waiters that fit on the CPUs: a crowd
 * of yielding waiters leaves the CPUs to whoever has work, and a broadcast
 * that comes while they poll wakes nobody from a futex (cond/broadcast: 0.01
 * futex sleeps per round instead of 6.9, and less CPU time per round).
 */
#ifndef COND_SPIN_NS
#define COND_SPIN_NS 0
#endif
#ifndef COND_SPIN_PAUSE_MAX_NS
#define COND_SPIN_PAUSE_MAX_NS 160
#endif
#ifndef COND_SPIN_YIELDS
#define COND_SPIN_YIELDS 32
#endif

#define SEQ_MASK (~WEFT_COND_WAITERS)

void weft__cond_signal_slow(weft_cond *c, int n)
{
	/* relaxed: the bump only has to be seen by the futex compare and by
	 * the waiters' loads; the data travels through the mutex. */
	atomic_fetch_add_explicit(&c->word, WEFT_COND_SEQ_ONE,
				  memory_order_relaxed);
	weft__futex_wake(&c->word, n);
}

static int wait_common(weft_cond *c, weft_mutex *m,
		       const weft__deadline *deadline)
{
	/* relaxed: registration is ordered before any signaller's load by
	 * the mutex we hold (see weft/cond.h). */
	uint32_t v = atomic_fetch_add_explicit(&c->word, 1,
					       memory_order_relaxed);
	if ((v & WEFT_COND_WAITERS) == WEFT_COND_WAITERS) {
		/* 4095 waiters already: undo and return spuriously. */
		atomic_fetch_sub_explicit(&c->word, 1, memory_order_relaxed);
		weft_mutex_unlock(m);
		sched_yield();
		weft_mutex_lock(m);
		return 0;
	}
	const uint32_t seq = v & SEQ_MASK;
	weft_mutex_unlock(m);

	int rc = 0;
	/* Pause-spin only while the waiters fit on the CPUs: beyond that
	 * the spinners take the CPU from the threads they wait for. Yield
	 * polls do not (a yield runs whoever else is runnable), so every
	 * waiter takes them. */
	const bool fits = (v & WEFT_COND_WAITERS) < weft__cpus_usable();
	weft__backoff b = weft__backoff_make_ns(fits ? COND_SPIN_NS : 0,
					      COND_SPIN_PAUSE_MAX_NS);
	/* relaxed: only SEQ is compared; the mutex orders the data. */
	uint32_t cur = atomic_load_explicit(&c->word, memory_order_relaxed);
	while ((cur & SEQ_MASK) == seq && weft__backoff_spin(&b))
		cur = atomic_load_explicit(&c->word, memory_order_relaxed);
	for (int y = 0; y < COND_SPIN_YIELDS && (cur & SEQ_MASK) == seq; y++) {
		if (weft__deadline_passed(deadline)) /* no clock read if never */
			break;
		sched_yield();
		/* relaxed: as above. */
		cur = atomic_load_explicit(&c->word, memory_order_relaxed);
	}
	/* Sleep on the latest value: its SEQ is still ours, so no signal
	 * has come; a later one changes the word or wakes us. */
	bool slept = false;
	while ((cur & SEQ_MASK) == seq) {
		slept = true;
		int w = weft__futex_wait_raw(&c->word, cur, deadline);
		if (w == ETIMEDOUT) {
			rc = ETIMEDOUT;
			break;
		}
		if (w == 0)
			break; /* woken: return, even if SEQ did not move */
		/* EAGAIN (another waiter came or went) or EINTR: no wake-up
		 * was consumed; sleep again while SEQ is ours. */
		cur = atomic_load_explicit(&c->word, memory_order_relaxed);
	}
	/* relaxed: deregistering publishes nothing. */
	cur = atomic_fetch_sub_explicit(&c->word, 1, memory_order_relaxed);
	/*
	 * A waiter that slept was likely woken with others (broadcast), often
	 * while the broadcaster still holds the mutex (and may have been
	 * preempted by the very threads it woke): poll the mutex between
	 * sched_yield calls, not with a pause spin, which would burn the
	 * CPU the holder needs, and not with a futex sleep at once, which
	 * costs two switches and a wake per waiter. One that caught the
	 * signal while polling takes the usual adaptive path.
	 */
	if (slept)
		weft__mutex_lock_yielding(m);
	else
		weft_mutex_lock(m);
	/* Signalled after all: report the wake-up, not the timeout. */
	if (rc == ETIMEDOUT && (cur & SEQ_MASK) != seq)
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
	weft__deadline d = weft__deadline_after(timeout_ns);
	return wait_common(c, m, &d);
}
