/* lib/mutex.c - weft_mutex slow paths; the state machine is in weft/mutex.h. */
#include "weft/mutex.h"

#include <errno.h>
#include <sched.h>

#include "internal/backoff.h"
#include "internal/cpus.h"
#include "internal/futex.h"
#include "internal/mutex.h"
#include "internal/mutex_bias.h"

/*
 * Spin budget before sleeping and the longest pause between two polls, in
 * nanoseconds (converted to relax hints by this CPU's calibration). A critical section that ends within the budget costs
 * the waiter no system call on either side; beyond it, sleeping is cheaper
 * than burning a core the owner may need (threads may outnumber cores).
 * A longer pause raises counter throughput (the owner keeps the line
 * longer) but slows the hand-off (docs/tuning.md: the values in ns, why).
 */
#ifndef MUTEX_SPIN_NS
#define MUTEX_SPIN_NS 10000
#endif
#ifndef MUTEX_SPIN_PAUSE_MAX_NS
#define MUTEX_SPIN_PAUSE_MAX_NS 160
#endif

/*
 * The owner's tenure: a waiter that could spin first leaves the lock word
 * alone for MUTEX_TENURE_NS but for one look (below), without claiming the
 * spinner's role, then takes the lock if it is free. An owner that keeps
 * re-taking the lock (a counter under contention) runs that long at its
 * uncontended rate, its line in its own cache: the waiter's failed
 * fetch_or and its one look are the only transfers of the line it pays
 * for (claiming WOKEN at once cost it one more, and polls one each).
 * The tenure is the fairness bound in time (a waiter that spins gets the
 * lock within about MUTEX_TENURE_NS plus one release), and the price: a
 * strict turn through the lock (bench mutex/handoff) takes it longer.
 * docs/tuning.md ("weft_mutex: the owner's tenure", "the claim after the
 * tenure") has the sweeps.
 */
#ifndef MUTEX_TENURE_NS
#define MUTEX_TENURE_NS 1500
#endif
_Static_assert(MUTEX_TENURE_NS < MUTEX_SPIN_NS, "the tenure is part of the spin budget");

/*
 * One look at the word MUTEX_TENURE_PEEK_NS into the tenure, taking the lock
 * if it is free then: an owner that has left (a strict turn, a cond
 * ping-pong's signaller) is not waited out, at the cost of ending some
 * tenures of a saturated lock early (docs/tuning.md). 0: no look.
 */
#ifndef MUTEX_TENURE_PEEK_NS
#define MUTEX_TENURE_PEEK_NS 400
#endif
_Static_assert(MUTEX_TENURE_PEEK_NS < MUTEX_TENURE_NS, "the look is inside the tenure");

/*
 * A thread woken in a crowd by weft_cond_broadcast (weft__mutex_lock_yielding)
 * polls a held mutex between sched_yield calls for at most MUTEX_YIELD_NS
 * before it sleeps. A futex sleep there costs the sleeper a switch out and
 * in plus the unlocker a FUTEX_WAKE; a yield hands the CPU to whoever is
 * runnable on it (often the preempted holder, or a waiter with work to do)
 * and returns at once when nobody is. Bounded in time, and skipped while
 * yields are banned (internal/backoff.h: a recent yield came back late).
 * Then, or when yielding is banned, it spins at most MUTEX_RELOCK_SPIN_NS
 * (the spinner rule of weft_mutex_lock): the holder is usually the thread
 * that just signalled, about to unlock, but may have been preempted by the
 * very waiter it woke, on the same CPU, where the full MUTEX_SPIN_NS would
 * only delay it (docs/tuning.md).
 */
#ifndef MUTEX_YIELD_NS
#define MUTEX_YIELD_NS 50000
#endif
#ifndef MUTEX_RELOCK_SPIN_NS
#define MUTEX_RELOCK_SPIN_NS 1000
#endif

static uint32_t load_state(weft_mutex *m)
{
	/* relaxed: a hint for the next CAS, which does the real ordering. */
	return atomic_load_explicit(&m->state, memory_order_relaxed);
}

/*
 * While the lock is free, try to take it, leaving the waiter role given by
 * `leave`: 0 (a fresh attempt), WEFT_MUTEX_WOKEN (the spinner: clears
 * WOKEN) or WEFT_MUTEX_SLEEPER (a registered sleeper: deregisters and
 * clears WOKEN, which it may hold as the woken one). *s is refreshed on
 * failure.
 */
static bool take_if_free(weft_mutex *m, uint32_t *s, uint32_t leave)
{
	const uint32_t unregister = leave == WEFT_MUTEX_SLEEPER ? leave : 0;
	while (!(*s & WEFT_MUTEX_LOCKED)) {
		uint32_t next = leave ? (*s - unregister) & ~WEFT_MUTEX_WOKEN : *s;
		/* acquire: pairs with the release fetch_sub in weft_mutex_unlock. */
		if (atomic_compare_exchange_weak_explicit(
			    &m->state, s, next | WEFT_MUTEX_LOCKED,
			    memory_order_acquire, memory_order_relaxed))
			return true;
	}
	return false;
}

/*
 * Become the spinner: set WOKEN, which tells unlock that an awake waiter
 * will take the lock, so it wakes no sleeper meanwhile (Go's mutexWoken).
 * Only one waiter spins at a time; later arrivals sleep at once, so however
 * many threads contend, at most one burns a CPU polling. False when WOKEN is
 * already held (a woken sleeper or another spinner) or the lock is free
 * (*s refreshed; the caller takes it).
 */
static bool claim_spin(weft_mutex *m, uint32_t *s)
{
	while ((*s & WEFT_MUTEX_LOCKED) && !(*s & WEFT_MUTEX_WOKEN)) {
		/* relaxed: the flag publishes nothing; the lock itself is
		 * taken later by an acquire CAS. */
		if (atomic_compare_exchange_weak_explicit(
			    &m->state, s, *s | WEFT_MUTEX_WOKEN,
			    memory_order_relaxed, memory_order_relaxed))
			return true;
	}
	return false;
}

/*
 * As the spinner, poll for spin_ns with exponential backoff between polls
 * (backing off keeps us from pulling the cache line away from the owner on
 * every poll), taking the lock as soon as it is seen free and clearing
 * WOKEN in the same CAS. On timeout, return with WOKEN still ours: the
 * caller hands it back in the CAS that registers it as a sleeper.
 */
static bool spin_then_take(weft_mutex *m, uint64_t spin_ns)
{
	weft__backoff b = weft__backoff_make_ns(spin_ns, MUTEX_SPIN_PAUSE_MAX_NS);
	do {
		uint32_t s = load_state(m);
		if (take_if_free(m, &s, WEFT_MUTEX_WOKEN))
			return true;
	} while (weft__backoff_spin(&b));
	return false;
}

/*
 * The deadline passed while registered. Leave (clearing WOKEN: we may be the
 * woken one, and a set WOKEN with no runnable sleeper would stop unlocks from
 * waking the others). If the lock is free we may have swallowed the wake-up
 * meant to hand it on, so take it ourselves and return 0 (the caller got the
 * lock, late but legitimately). If it is held, its owner's unlock sees the
 * remaining sleepers and WOKEN clear, and wakes one.
 */
static int give_up(weft_mutex *m)
{
	uint32_t s = load_state(m);
	for (;;) {
		if (take_if_free(m, &s, WEFT_MUTEX_SLEEPER))
			return 0;
		/* relaxed: deregistering publishes nothing. */
		if (atomic_compare_exchange_weak_explicit(
			    &m->state, &s,
			    (s - WEFT_MUTEX_SLEEPER) & ~WEFT_MUTEX_WOKEN,
			    memory_order_relaxed, memory_order_relaxed))
			return ETIMEDOUT;
	}
}

/*
 * Registered and the lock is held: clear WOKEN (we are running now, so an
 * unlock may wake someone again) and sleep until the word changes.
 */
static int sleep_while_locked(weft_mutex *m, uint32_t s,
			      const weft__deadline *deadline)
{
	if (s & WEFT_MUTEX_WOKEN) {
		/* relaxed: only the flag changes; no data is published. */
		if (!atomic_compare_exchange_strong_explicit(
			    &m->state, &s, s & ~WEFT_MUTEX_WOKEN,
			    memory_order_relaxed, memory_order_relaxed))
			return 0; /* word changed: re-check before sleeping */
		s &= ~WEFT_MUTEX_WOKEN;
	}
	return weft__futex_wait(&m->state, s, deadline);
}

/*
 * Poll with sched_yield for at most MUTEX_YIELD_NS, taking the lock when
 * free; stop at the first yield that came back late or was banned (another
 * thread's slice ran: a busy neighbour or oversubscription).
 */
static bool yield_then_take(weft_mutex *m)
{
	const uint64_t start = weft__monotonic_ns();
	do {
		if (!weft__yield_was_cheap())
			return false;
		uint32_t s = load_state(m);
		if (take_if_free(m, &s, 0))
			return true;
	} while (weft__monotonic_ns() - start < MUTEX_YIELD_NS);
	return false;
}

enum lock_poll { POLL_SPIN, POLL_YIELD };

/*
 * Spinning pays only while the owner, this waiter and every registered
 * sleeper (each needs a CPU once woken) fit on the usable CPUs
 * (weft__cpus_usable: affinity mask and cgroup quota); on 2 CPUs, only
 * while nobody sleeps, and never on 1. Beyond that a spinner keeps a CPU
 * from the thread the lock goes to next: a thread taking the mutex among 4
 * busy ones on 2 CPUs waited 4 ms (a scheduler tick) at the 90th
 * percentile when every waiter spun, 0.13-0.59 ms with this rule, pthread
 * 0.08-0.35 ms (tools/newcomer_wait.c, docs/tuning.md).
 */
#ifndef MUTEX_SPARE_CPUS
#define MUTEX_SPARE_CPUS 0
#endif
static bool room_to_spin(uint32_t s)
{
	return s / WEFT_MUTEX_SLEEPER + 2 + MUTEX_SPARE_CPUS <= weft__cpus_usable();
}

/*
 * Register as a sleeper, handing back WOKEN if we held it as the spinner,
 * in one RMW: from then on an unlock that finds the lock free with
 * sleepers and WOKEN clear wakes one of us. Returns the new word.
 */
static uint32_t register_sleeper(weft_mutex *m, bool spinner)
{
	if (!spinner)
		/* relaxed: registering publishes nothing; unlock reads the
		 * count from its own RMW on the same word, so cannot miss it. */
		return atomic_fetch_add_explicit(&m->state, WEFT_MUTEX_SLEEPER,
						 memory_order_relaxed) +
		       WEFT_MUTEX_SLEEPER;
	uint32_t s = load_state(m);
	/* relaxed: as above. An unlock that ran while we spun saw WOKEN and
	 * woke nobody; if the lock is free now, the caller's take_if_free
	 * takes it before sleeping, so no wake-up is lost. */
	while (!atomic_compare_exchange_weak_explicit(
		&m->state, &s, (s + WEFT_MUTEX_SLEEPER) & ~WEFT_MUTEX_WOKEN,
		memory_order_relaxed, memory_order_relaxed))
		;
	return (s + WEFT_MUTEX_SLEEPER) & ~WEFT_MUTEX_WOKEN;
}

/*
 * Wait out the owner's tenure (above) where this waiter may spin and no
 * other waiter is awake (WOKEN clear: else we would only register), taking
 * the lock if it is free at the look or at the end. *s is refreshed.
 */
static bool tenure_then_take(weft_mutex *m, uint32_t *s)
{
	if (!room_to_spin(*s) || (*s & WEFT_MUTEX_WOKEN))
		return false;
	if (MUTEX_TENURE_PEEK_NS) {
		weft__pause_ns(MUTEX_TENURE_PEEK_NS);
		*s = load_state(m);
		if (take_if_free(m, s, 0))
			return true;
	}
	weft__pause_ns(MUTEX_TENURE_NS - MUTEX_TENURE_PEEK_NS);
	*s = load_state(m);
	return take_if_free(m, s, 0);
}

enum claim { CLAIM_TOOK, CLAIM_SPINNER, CLAIM_SLEEPER };

/*
 * Become the spinner while there is room, or take the lock if claim_spin
 * found it free: registering then would put us to sleep behind an owner
 * that re-takes the lock before we look again, and cost it a FUTEX_WAKE
 * at each of its unlocks until we catch the lock free (docs/tuning.md,
 * "the claim after the tenure").
 */
static enum claim claim_or_take(weft_mutex *m, uint32_t *s)
{
	while (room_to_spin(*s)) {
		if (claim_spin(m, s))
			return CLAIM_SPINNER;
		if (*s & WEFT_MUTEX_LOCKED)
			break; /* another waiter holds WOKEN */
		if (take_if_free(m, s, 0))
			return CLAIM_TOOK;
	}
	return CLAIM_SLEEPER;
}

static int lock_slow(weft_mutex *m, uint64_t timeout_ns, enum lock_poll poll)
{
	uint32_t s = load_state(m);
	if (take_if_free(m, &s, 0))
		return 0;
	if (timeout_ns == 0)
		return ETIMEDOUT;
	/* A woken waiter's yield polls give the CPU away: no spinner rule.
	 * Its relock spin is short and its holder is usually leaving (the
	 * signaller): no tenure there. */
	if (poll == POLL_YIELD) {
		if (yield_then_take(m))
			return 0;
		s = load_state(m);
	} else if (tenure_then_take(m, &s)) {
		return 0;
	}
	const enum claim claim = claim_or_take(m, &s);
	if (claim == CLAIM_TOOK)
		return 0;
	const bool spinner = claim == CLAIM_SPINNER;
	if (spinner && spin_then_take(m, poll == POLL_YIELD
						 ? MUTEX_RELOCK_SPIN_NS
						 : MUTEX_SPIN_NS - MUTEX_TENURE_NS))
		return 0;

	weft__deadline deadline = weft__deadline_for(timeout_ns);
	s = register_sleeper(m, spinner);
	for (;;) {
		if (take_if_free(m, &s, WEFT_MUTEX_SLEEPER))
			return 0;
		if (sleep_while_locked(m, s, &deadline) == ETIMEDOUT)
			return give_up(m);
		s = load_state(m);
	}
}

int weft__mutex_lock_slow(weft_mutex *m, uint64_t timeout_ns)
{
	return lock_slow(m, timeout_ns, POLL_SPIN);
}

void weft__mutex_lock_normal_yielding(weft_mutex *m)
{
	/* lock_slow starts with the same take-if-free the inline path does. */
	(void)lock_slow(m, WEFT_TIMEOUT_NEVER, POLL_YIELD);
}

void weft__mutex_lock_yielding(weft_mutex *m)
{
	/* Biased or undecided (weft/mutex.h): lib/mutex_bias.c decides. */
	if (weft__mutex_owner(m) != WEFT__MUTEX_NOBIAS)
		weft__mutex_bias_lock_yielding(m);
	else
		weft__mutex_lock_normal_yielding(m);
}

void weft__mutex_unlock_slow(weft_mutex *m)
{
	uint32_t s = load_state(m);
	for (;;) {
		/* Nobody to wake; a woken sleeper has yet to run; or the lock
		 * was re-taken and its owner's unlock will do the waking. */
		if (s < WEFT_MUTEX_SLEEPER ||
		    (s & (WEFT_MUTEX_LOCKED | WEFT_MUTEX_WOKEN)))
			return;
		/* relaxed: the flag publishes nothing; the woken thread's
		 * acquire CAS pairs with our release fetch_sub in unlock. */
		if (atomic_compare_exchange_weak_explicit(
			    &m->state, &s, s | WEFT_MUTEX_WOKEN,
			    memory_order_relaxed, memory_order_relaxed)) {
			weft__futex_wake(&m->state, 1);
			return;
		}
	}
}
