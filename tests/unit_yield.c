/* tests/unit_yield.c - the yield ban of lib/internal/backoff.h. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "internal/backoff.h"
#include "test_util.h"

TestSuite(yield, .timeout = WEFT_UNIT_TIMEOUT_S);

static _Atomic int stop;

static void *busy_loop(void *arg)
{
	(void)arg;
	/* relaxed: a stop flag; nothing else is published. */
	while (!atomic_load_explicit(&stop, memory_order_relaxed))
		;
	return NULL;
}

/* Pin the calling thread to the first CPU of its mask (threads it creates
 * inherit the mask, so they share that CPU). */
static void pin_to_one_cpu(void)
{
	cpu_set_t set;
	cr_assert_eq(sched_getaffinity(0, sizeof set, &set), 0);
	int first = 0;
	while (!CPU_ISSET(first, &set))
		first++;
	CPU_ZERO(&set);
	CPU_SET(first, &set);
	cr_assert_eq(sched_setaffinity(0, sizeof set, &set), 0);
}

/*
 * Beside a busy thread on the same CPU a yield hands it the CPU and comes
 * back late; that bans yields for at most 16 times the lateness, and while
 * banned weft__yield_was_cheap() reports false at once. Catches a ban that
 * is never set (the poll loops would give the hog a slice per wait) and one
 * far longer than the rule.
 */
Test(yield, a_late_yield_bans_yields)
{
	pin_to_one_cpu();
	pthread_t hog;
	cr_assert_eq(pthread_create(&hog, NULL, busy_loop, NULL), 0);
	const uint64_t t0 = weft__monotonic_ns();
	bool cheap = true;
	for (int i = 0; i < 100000 && cheap; i++)
		cheap = weft__yield_was_cheap();
	const uint64_t t1 = weft__monotonic_ns();
	atomic_store_explicit(&stop, 1, memory_order_relaxed);
	cr_assert_eq(pthread_join(hog, NULL), 0);

	cr_assert(!cheap, "no yield came back late beside a busy thread");
	/* relaxed: single-threaded now. */
	const uint64_t until =
		atomic_load_explicit(&weft__yield_banned_until, memory_order_relaxed);
	cr_assert_gt(until, t0, "a late yield set no ban");
	cr_assert_leq(until, t1 + WEFT__YIELD_BAN_FACTOR * (t1 - t0),
		      "ban longer than %u times the lateness", WEFT__YIELD_BAN_FACTOR);
	const uint64_t now = weft__monotonic_ns();
	if (now < until) {
		cr_assert(weft__yield_banned(now));
		/* The ban may end between the two reads of the clock (a short
		 * one under qemu did): judge a call that ended inside it. */
		const bool cheap_now = weft__yield_was_cheap();
		if (weft__monotonic_ns() < until)
			cr_assert(!cheap_now, "a banned yield reported cheap");
	}
}

Test(yield, the_ban_ends)
{
	const uint64_t now = weft__monotonic_ns();
	/* relaxed: single-threaded. */
	atomic_store_explicit(&weft__yield_banned_until, now + 1000000000u,
			      memory_order_relaxed);
	cr_assert(weft__yield_banned(now));
	cr_assert(!weft__yield_was_cheap());
	atomic_store_explicit(&weft__yield_banned_until, now, memory_order_relaxed);
	cr_assert_not(weft__yield_banned(now));
}
