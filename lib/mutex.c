/* lib/mutex.c - weft_mutex slow paths; the state machine is in weft/mutex.h. */
#include "weft/mutex.h"

#include <errno.h>

#include "internal/arch.h"
#include "internal/futex.h"

/*
 * Spin budget before sleeping, in cpu_relax hints. A critical section that
 * ends within this window costs the waiter no system call on either side;
 * beyond it, sleeping is cheaper than burning a core the owner may need.
 */
#define MUTEX_SPIN_LIMIT 100

/*
 * Wait while the owner is running: LOCKED set and nobody asleep. Stop at
 * once when sleepers are registered (the lock is being held long enough that
 * others gave up spinning; spinning longer only steals their CPU) or when
 * the budget runs out. Returns the last state seen.
 */
static uint32_t spin_while_owner_runs(weft_mutex *m)
{
	uint32_t s;
	for (int i = 0; i < MUTEX_SPIN_LIMIT; i++) {
		/* relaxed: only a hint; the CAS that takes the lock acquires. */
		s = atomic_load_explicit(&m->state, memory_order_relaxed);
		if (s != WEFT_MUTEX_LOCKED)
			return s;
		weft_cpu_relax();
	}
	return atomic_load_explicit(&m->state, memory_order_relaxed);
}

/* Take the lock from state s while it is free; s is updated on failure. */
static bool take_if_free(weft_mutex *m, uint32_t *s, uint32_t sleepers_out)
{
	while (!(*s & WEFT_MUTEX_LOCKED)) {
		/* acquire: pairs with the release fetch_sub in weft_mutex_unlock. */
		if (atomic_compare_exchange_weak_explicit(
			    &m->state, s, (*s - sleepers_out) | WEFT_MUTEX_LOCKED,
			    memory_order_acquire, memory_order_relaxed))
			return true;
	}
	return false;
}

/*
 * The deadline passed while registered as a sleeper. Leave, unless the lock
 * is free: then we may have consumed the wake-up meant to hand it on, so we
 * take it ourselves (returning 0, which the contract allows: the caller got
 * the lock). If it is held, its owner's unlock will see the remaining
 * sleepers and wake one of them.
 */
static int give_up(weft_mutex *m)
{
	uint32_t s = atomic_load_explicit(&m->state, memory_order_relaxed);
	for (;;) {
		if (take_if_free(m, &s, WEFT_MUTEX_SLEEPER))
			return 0;
		/* relaxed: deregistering publishes nothing. */
		if (atomic_compare_exchange_weak_explicit(
			    &m->state, &s, s - WEFT_MUTEX_SLEEPER,
			    memory_order_relaxed, memory_order_relaxed))
			return ETIMEDOUT;
	}
}

int weft_mutex_lock_slow(weft_mutex *m, uint64_t timeout_ns)
{
	uint32_t s = atomic_load_explicit(&m->state, memory_order_relaxed);
	if (take_if_free(m, &s, 0))
		return 0;
	if (timeout_ns == 0)
		return ETIMEDOUT;

	s = spin_while_owner_runs(m);
	if (take_if_free(m, &s, 0))
		return 0;

	weft_deadline deadline = timeout_ns == WEFT_TIMEOUT_NEVER
					 ? weft_deadline_never()
					 : weft_deadline_after(timeout_ns);
	/* relaxed: registering publishes nothing; unlock reads the count from
	 * its own RMW on the same word, so it cannot miss it. */
	s = atomic_fetch_add_explicit(&m->state, WEFT_MUTEX_SLEEPER,
				      memory_order_relaxed) +
	    WEFT_MUTEX_SLEEPER;
	for (;;) {
		if (take_if_free(m, &s, WEFT_MUTEX_SLEEPER))
			return 0;
		if (weft_futex_wait(&m->state, s, &deadline) == ETIMEDOUT)
			return give_up(m);
		s = atomic_load_explicit(&m->state, memory_order_relaxed);
	}
}

void weft_mutex_wake(weft_mutex *m)
{
	weft_futex_wake(&m->state, 1);
}
