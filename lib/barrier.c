/* lib/barrier.c - weft_barrier; the protocol is in weft/barrier.h. */
#include "weft/barrier.h"

#include <errno.h>

#include "internal/backoff.h"
#include "internal/cpus.h"
#include "internal/futex.h"

_Static_assert(sizeof(weft_barrier) <= 16, "weft_barrier must stay <= 16 bytes");

#define SLEEPING 1u
#define ROUND 2u

/*
 * Spin budget, adapted per barrier and stored in relax hints (b->spin). A
 * waiter whose spin saw the round end after X hints sets the budget to 2X
 * (the skew it observed, with margin); one that had to sleep anyway halves
 * it. On idle cores the rounds end within a short spin and no thread enters
 * the kernel; on a loaded machine, where the partner is often not running,
 * the budget collapses to the minimum (1 us) and waiters sleep almost at
 * once instead of burning their time slice. Sleeping waiters arrive late
 * (wake-up latency), which would keep the budget low after the load goes
 * away, so every PROBE_ROUNDS-th round spins the full maximum (100 us) to
 * find out whether spinning pays again. Bounds in ns, converted with this
 * CPU's calibrated hint cost. NO_SPIN marks barriers with more threads than
 * CPUs to run them side by side (weft__cpus_parallel).
 */
#define BARRIER_SPIN_MAX_NS 100000u
#define BARRIER_SPIN_MIN_NS 1000u
#define BARRIER_SPIN_PAUSE_MAX_NS 320u
#define PROBE_ROUNDS 256u
#define NO_SPIN 0x80000000u

static uint32_t spin_max(void)
{
	uint32_t h = weft__relax_hints(BARRIER_SPIN_MAX_NS);
	return h < NO_SPIN ? h : NO_SPIN - 1;
}

int weft_barrier_init(weft_barrier *b, unsigned n)
{
	if (n == 0)
		return EINVAL;
	/* Spin only if every party can run at once (internal/cpus.h). */
	const uint32_t cpus = weft__cpus_parallel();
	atomic_init(&b->arrived, 0);
	atomic_init(&b->gen, 0);
	b->n = n;
	atomic_init(&b->spin, n <= cpus ? spin_max() : NO_SPIN);
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
	/* relaxed: a tuning hint; racing updates only blur it. */
	const uint32_t stored = atomic_load_explicit(&b->spin,
						     memory_order_relaxed);
	uint32_t budget = stored;
	if (stored & NO_SPIN)
		budget = 0;
	else if (((g / ROUND) % PROBE_ROUNDS) == 0)
		budget = spin_max();
	weft__backoff bo = weft__backoff_make(
		budget, weft__relax_hints(BARRIER_SPIN_PAUSE_MAX_NS));
	/* acquire: pairs with the leader's release exchange of gen, so
	 * every thread's pre-barrier writes are visible when we return. */
	uint32_t s = atomic_load_explicit(&b->gen, memory_order_acquire);
	while ((s & ~SLEEPING) == g && weft__backoff_spin(&bo))
		s = atomic_load_explicit(&b->gen, memory_order_acquire);
	if (budget) {
		uint32_t next = (s & ~SLEEPING) != g ? 2 * bo.spent : stored / 2;
		const uint32_t lo = weft__relax_hints(BARRIER_SPIN_MIN_NS),
			       hi = spin_max();
		next = next < lo ? lo : next > hi ? hi : next;
		if (next != stored)
			/* relaxed: as above. */
			atomic_store_explicit(&b->spin, next,
					      memory_order_relaxed);
	}

	weft__deadline never = weft__deadline_never();
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
		weft__futex_wait(&b->gen, g | SLEEPING, &never);
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
		weft__futex_wake(&b->gen, WEFT__FUTEX_WAKE_ALL);
	return true;
}
