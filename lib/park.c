/* lib/park.c - concurrency restriction for oversubscribed waiters; see internal/park.h. */
#include "internal/park.h"

#include <errno.h>
#include <stdatomic.h>

#include "internal/cpus.h"
#include "weft/common.h"

/*
 * Parking time. Long enough that the threads left running get long runs on
 * one CPU (with 200 us the rwlock's r50w50 at 4 threads on 2 CPUs still
 * used 1.6-1.7 CPUs and ran at half the 1 ms rate; docs/tuning.md), and
 * short next to a scheduler time slice, which an oversubscribed waiter
 * pays anyway.
 */
#define PARK_NS 1000000ull
/*
 * 256 buckets (16 KiB): two unrelated contended locks share a bucket (and
 * so may park each other's waiters early) with probability 1/256.
 */
#define PARK_BUCKET_BITS 8
#define PARK_BUCKETS (1u << PARK_BUCKET_BITS)

struct weft__park_bucket {
	WEFT_ALIGNED_CACHELINE _Atomic uint32_t waiters; /* parked ones too */
	_Atomic uint32_t parked;
	_Atomic uint32_t sleep; /* never changes: parked threads sleep on it */
};

static weft__park_bucket buckets[PARK_BUCKETS];

static weft__park_bucket *bucket_of(const void *lock)
{
	return &buckets[weft__hash_bits((uintptr_t)lock, PARK_BUCKET_BITS)];
}

weft__park_bucket *weft__park_enter(const void *lock, const weft__deadline *deadline,
				  bool behind_parked)
{
	weft__park_bucket *b = bucket_of(lock);
	/* relaxed, here and below: counts for a heuristic; they publish
	 * nothing, and the lock's own atomics order everything the waiter
	 * then does. */
	uint32_t ahead = atomic_fetch_add_explicit(&b->waiters, 1,
						   memory_order_relaxed);
	if (!behind_parked)
		ahead -= atomic_load_explicit(&b->parked, memory_order_relaxed);
	/* A thread that arrives and parks between the two reads is subtracted
	 * without having been counted, so `ahead` can come out low (even
	 * below 0), which can only skip a park. */
	if ((int32_t)ahead < (int32_t)weft__cpus_usable())
		return b;
	atomic_fetch_add_explicit(&b->parked, 1, memory_order_relaxed);
	weft__deadline soon = weft__deadline_after(PARK_NS);
	const weft__deadline *until = weft__deadline_min(&soon, deadline);
	/* Nobody wakes `sleep`: an early return (EINTR) sleeps again. */
	while (weft__futex_wait(&b->sleep, 0, until) != ETIMEDOUT)
		;
	atomic_fetch_sub_explicit(&b->parked, 1, memory_order_relaxed);
	return b;
}

void weft__park_leave(weft__park_bucket *b)
{
	/* relaxed: as in weft__park_enter. */
	atomic_fetch_sub_explicit(&b->waiters, 1, memory_order_relaxed);
}

uint32_t weft__park_waiters(const void *lock)
{
	/* relaxed: a snapshot for tests. */
	return atomic_load_explicit(&bucket_of(lock)->waiters,
				    memory_order_relaxed);
}
