/* lib/barrier.c - weft_barrier; the protocol is in weft/barrier.h. */
#include "weft/barrier.h"

#include <errno.h>
#include <unistd.h>

#include "internal/backoff.h"
#include "internal/futex.h"

_Static_assert(sizeof(weft_barrier) <= 16, "weft_barrier must stay <= 16 bytes");

#define SLEEPING 1u
#define ROUND 2u

/*
 * Spin budget in relax hints: long enough to cover the arrival skew of a
 * round on idle cores (a futex sleep+wake costs several microseconds), short
 * enough not to matter when the round is slow.
 */
#define BARRIER_SPIN_LIMIT 4000
#define BARRIER_SPIN_PAUSE_MAX 16

int weft_barrier_init(weft_barrier *b, unsigned n)
{
	if (n == 0)
		return EINVAL;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	atomic_init(&b->arrived, 0);
	atomic_init(&b->gen, 0);
	b->n = n;
	b->spin = (cpus > 0 && n <= (unsigned long)cpus) ? BARRIER_SPIN_LIMIT : 0;
	return 0;
}

void weft_barrier_destroy(weft_barrier *b)
{
	WEFT_DEBUG_CHECK(atomic_load_explicit(&b->arrived,
					      memory_order_relaxed) == 0,
			 "weft_barrier_destroy: threads are waiting");
	(void)b;
}

/* Not the leader: wait until gen leaves round `g` (SLEEPING clear in g). */
static void wait_round(weft_barrier *b, uint32_t g)
{
	weft_backoff bo = weft_backoff_make(b->spin, BARRIER_SPIN_PAUSE_MAX);
	/* acquire: pairs with the leader's release exchange of gen, so
	 * every thread's pre-barrier writes are visible when we return. */
	uint32_t s = atomic_load_explicit(&b->gen, memory_order_acquire);
	while ((s & ~SLEEPING) == g && weft_backoff_spin(&bo))
		s = atomic_load_explicit(&b->gen, memory_order_acquire);

	weft_deadline never = weft_deadline_never();
	while ((s & ~SLEEPING) == g) {
		/* The leader's exchange reads SLEEPING from the same word, so
		 * it wakes us or we see the new round here and do not sleep.
		 * acquire: on failure we may read the new round (pairs with
		 * the leader's release exchange). */
		if (!(s & SLEEPING) &&
		    !atomic_compare_exchange_weak_explicit(
			    &b->gen, &s, g | SLEEPING, memory_order_acquire,
			    memory_order_acquire))
			continue;
		weft_futex_wait(&b->gen, g | SLEEPING, &never);
		/* acquire: as above. */
		s = atomic_load_explicit(&b->gen, memory_order_acquire);
	}
}

bool weft_barrier_wait(weft_barrier *b)
{
	/* relaxed: we left the previous round after seeing its gen (or
	 * bumping it), so this reads the current round. */
	uint32_t g = atomic_load_explicit(&b->gen, memory_order_relaxed) &
		     ~SLEEPING;
	/* acq_rel: release publishes our pre-barrier writes to the leader;
	 * acquire (in the leader) collects every arrival's writes. */
	uint32_t a = atomic_fetch_add_explicit(&b->arrived, 1,
					       memory_order_acq_rel) + 1;
	if (a < b->n) {
		wait_round(b, g);
		return false;
	}
	/* relaxed: next-round arrivals read it after the release below. */
	atomic_store_explicit(&b->arrived, 0, memory_order_relaxed);
	/* release: publishes the reset and every arrival's writes to the
	 * waiters' acquire loads of gen. */
	uint32_t old = atomic_exchange_explicit(&b->gen, g + ROUND,
						memory_order_release);
	if (old & SLEEPING)
		weft_futex_wake(&b->gen, WEFT_FUTEX_WAKE_ALL);
	return true;
}
