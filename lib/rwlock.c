/* lib/rwlock.c - weft_rwlock slow paths; states and policy in weft/rwlock.h. */
#include "weft/rwlock.h"
#include <errno.h>
#include "internal/backoff.h"
#include "internal/rwlock_bias.h" /* and internal/futex.h */
_Static_assert(sizeof(weft_rwlock) == 8, "weft_rwlock must stay 8 bytes");

#define READERS WEFT__RWLOCK_READERS
#define WAIT_ONE WEFT__RWLOCK_WAIT_ONE
#define WAITING WEFT__RWLOCK_WAITING
#define GRANT WEFT__RWLOCK_GRANT
#define WLOCKED WEFT__RWLOCK_WLOCKED
#define WWAIT WEFT__RWLOCK_WWAIT

static bool is_free(uint32_t s) { return !(s & (READERS | WLOCKED)); }
/* relaxed: a guess for the next CAS, which does the ordering. */
static uint32_t load_state(weft_rwlock *l) { return atomic_load_explicit(&l->state, memory_order_relaxed); }
/* CAS from *s (refreshed on failure, relaxed: a guess like load_state). */
static bool cas(weft_rwlock *l, uint32_t *s, uint32_t next, memory_order o)
{ return atomic_compare_exchange_weak_explicit(&l->state, s, next, o, memory_order_relaxed); }

/* Spin (2+ CPUs; writers once woken) while closed and nobody sleeps; the state seen. */
static uint32_t spin(weft_rwlock *l, bool reader)
{
	uint32_t s = load_state(l);
	weft__backoff b = weft__backoff_make_ns(WEFT__RW_SPIN_NS, WEFT__RW_SPIN_PAUSE_MAX_NS);
	while ((reader ? !weft__rwlock_read_open(s) : !is_free(s)) && !(s & (WWAIT | WAITING)) &&
	       weft__cpus_parallel() > 1 && weft__backoff_spin(&b))
		s = load_state(l);
	return s;
}

/* Grant the lock to the registered readers, clearing `drop`; false: stale s.
 * release: publishes the sections before it to read_sleep's acquire. */
static bool grant_readers(weft_rwlock *l, uint32_t *s, uint32_t drop)
{
	if (!cas(l, s, ((*s & ~(drop | WAITING)) + (*s & WAITING) / WAIT_ONE) ^ GRANT,
		 memory_order_release))
		return false;
	weft__futex_wake(&l->state, WEFT__FUTEX_WAKE_ALL);
	return true;
}

/* Seen free with WWAIT: wake a writer (clearing WWAIT), else grant the
 * readers; nothing once someone holds it (its release comes here).
 * The grant needs no writer in or waiting, not a free lock: readers that
 * entered since WWAIT was cleared share it with the registered ones, and
 * their unlocks (WWAIT clear) would never come here; waiting for a free
 * lock left the registered readers asleep until the next writer, and
 * forever with none (docs/tuning.md, "registered readers left asleep"). */
void weft__rwlock_read_unlock_slow(weft_rwlock *l)
{
	uint32_t s = load_state(l);
	while (is_free(s) && (s & WWAIT)) {
		/* relaxed: clearing a flag publishes nothing. */
		if (!cas(l, &s, s & ~WWAIT, memory_order_relaxed))
			continue;
		/* release: pairs with write_lock_slow's acquire of writer_seq,
		 * so a writer that sees the bump sees our CAS. */
		atomic_fetch_add_explicit(&l->writer_seq, 1, memory_order_release);
		if (weft__futex_wake(&l->writer_seq, 1) > 0)
			return; /* its unlock grants the waiting readers */
		s = load_state(l);
	}
	while (!(s & (WLOCKED | WWAIT)) && (s & WAITING) && !grant_readers(l, &s, 0))
		;
}

/* Registered: sleep until granted (0) or the deadline (deregistered). */
static int read_sleep(weft_rwlock *l, uint32_t s, const weft__deadline *d)
{
	const uint32_t grant = s & GRANT;
	for (;;) {
		int rc = weft__futex_wait(&l->state, s, d);
		/* acquire: a granted reader pairs with grant_readers' release. */
		s = atomic_load_explicit(&l->state, memory_order_acquire);
		if ((s & GRANT) != grant)
			return 0;
		if (rc != ETIMEDOUT)
			continue;
		/* Deregister unless granted first (relaxed: we leave empty). */
		while ((s & GRANT) == grant)
			if (cas(l, &s, s - WAIT_ONE, memory_order_relaxed)) {
				if ((s & WAITING) == WAITING) /* room for the unregistered */
					weft__futex_wake(&l->state, WEFT__FUTEX_WAKE_ALL);
				return ETIMEDOUT;
			}
		/* acquire (a load: TSan models no fence): the grant's release. */
		(void)atomic_load_explicit(&l->state, memory_order_acquire);
		return 0;
	}
}

int weft__rwlock_read_lock_slow(weft_rwlock *l, uint64_t timeout_ns)
{
	/* Undo the refused add as an unlock would. relaxed: it read nothing. */
	uint32_t s = atomic_fetch_sub_explicit(&l->state, 1, memory_order_relaxed);
	if ((s & (READERS | WLOCKED | WWAIT)) == (1 | WWAIT))
		weft__rwlock_read_unlock_slow(l);
	weft__deadline d = weft__deadline_for(timeout_ns);
	s = timeout_ns ? spin(l, true) : load_state(l);
	for (;;) {
		if (weft__rwlock_read_open(s)) {
			/* acquire: pairs with the release of the last unlock. */
			if (cas(l, &s, s + 1, memory_order_acquire))
				return 0;
		} else if (!(s & (WLOCKED | WWAIT))) {
			return EAGAIN; /* MAX_READERS inside */
		} else if (weft__deadline_passed(&d)) {
			return ETIMEDOUT;
		} else if ((s & WAITING) == WAITING) { /* no room to register */
			weft__futex_wait(&l->state, s, &d);
			s = load_state(l);
		} else if (cas(l, &s, s + WAIT_ONE, memory_order_relaxed)) {
			return read_sleep(l, s + WAIT_ONE, &d); /* relaxed: it orders */
		}
	}
}

/* Take the free lock from *s keeping `keep`, revoke a bias; EAGAIN: stale s. */
static int write_take(weft_rwlock *l, uint32_t *s, uint32_t keep, const weft__deadline *d)
{
	/* acquire: pairs with the release of the last unlock. */
	if (!cas(l, s, *s | WLOCKED | keep, memory_order_acquire))
		return EAGAIN;
	return (*s & WEFT__RWLOCK_BIAS) ? weft__rwlock_bias_revoke(l, d) : 0;
}

/* The deadline passed: take the lock if free, else leave WWAIT set so the
 * holder's release wakes the next writer (we may have had its wake-up). */
static int write_give_up(weft_rwlock *l, uint32_t keep, const weft__deadline *d)
{
	uint32_t s = load_state(l);
	int rc = EAGAIN;
	/* relaxed: WWAIT is a flag for the holder's release RMW. */
	while (is_free(s) ? (rc = write_take(l, &s, keep, d)) == EAGAIN
			  : !(s & WWAIT) && !cas(l, &s, s | WWAIT, memory_order_relaxed))
		;
	return rc == EAGAIN ? ETIMEDOUT : rc;
}

int weft__rwlock_write_lock_slow(weft_rwlock *l, uint64_t timeout_ns)
{
	weft__deadline d = weft__deadline_for(timeout_ns);
	uint32_t keep = 0; /* WWAIT once we slept: others may sleep too */
	uint32_t s = load_state(l);
	for (;;) {
		if (is_free(s)) {
			int rc = write_take(l, &s, keep, timeout_ns ? &d : NULL);
			if (rc != EAGAIN)
				return rc;
		} else if (timeout_ns == 0) {
			return ETIMEDOUT;
		} else if ((s & WWAIT) || cas(l, &s, s | WWAIT, memory_order_relaxed)) {
			/* relaxed: WWAIT is a flag for the holder's release RMW. */
			keep = WWAIT;
			/* acquire: pairs with read_unlock_slow's release bump.
			 * Sampled before the check: a later wake-up changes it. */
			uint32_t seq = atomic_load_explicit(&l->writer_seq, memory_order_acquire);
			s = load_state(l);
			if (is_free(s) || !(s & WWAIT))
				continue;
			if (weft__futex_wait(&l->writer_seq, seq, &d) == ETIMEDOUT)
				return write_give_up(l, keep, &d);
			s = spin(l, false);
		}
	}
}

void weft__rwlock_write_unlock_slow(weft_rwlock *l)
{
	uint32_t s = load_state(l);
	for (;;) {
		/* Registered readers first (phase-fair; WWAIT stays). If none,
		 * reset GRANT so the idle lock is 0 (granted readers saw it). */
		if (s & WAITING) {
			if (grant_readers(l, &s, WLOCKED))
				return;
		} else if (cas(l, &s, s & ~(WLOCKED | GRANT), memory_order_release)) {
			break; /* release: publishes the write section */
		}
	}
	if (is_free(s & ~WLOCKED) && (s & WWAIT))
		weft__rwlock_read_unlock_slow(l);
}
