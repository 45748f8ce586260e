/* lib/rwlock.c - weft_rwlock slow paths; states and policy in weft/rwlock.h. */
#include "weft/rwlock.h"

#include <errno.h>

#include "internal/backoff.h"
#include "internal/futex.h"
#include "internal/rwlock_bias.h"

_Static_assert(sizeof(weft_rwlock) == 8, "weft_rwlock must stay 8 bytes");

/* Spin budget before sleeping, as in lib/mutex.c; only with 2+ CPUs. */
#define RW_SPIN_NS 50000
#define RW_SPIN_PAUSE_MAX_NS 160

#define READERS WEFT__RWLOCK_READERS
#define WAIT_ONE WEFT__RWLOCK_WAIT_ONE
#define WAITING WEFT__RWLOCK_WAITING
#define GRANT WEFT__RWLOCK_GRANT
#define WLOCKED WEFT__RWLOCK_WLOCKED
#define WWAIT WEFT__RWLOCK_WWAIT

static bool is_free(uint32_t s) { return !(s & (READERS | WLOCKED)); }

static uint32_t load_state(weft_rwlock *l)
{
	/* relaxed: a guess for the next CAS, which does the ordering. */
	return atomic_load_explicit(&l->state, memory_order_relaxed);
}

static weft__deadline deadline_for(uint64_t timeout_ns)
{
	return timeout_ns == WEFT_TIMEOUT_NEVER ? weft__deadline_never()
						: weft__deadline_after(timeout_ns);
}

/* Spin while `blocked` holds and nobody sleeps yet; the last state seen. */
static uint32_t spin(weft_rwlock *l, bool (*blocked)(uint32_t))
{
	uint32_t s = load_state(l);
	if (weft__cpus_usable() < 2)
		return s;
	weft__backoff b = weft__backoff_make_ns(RW_SPIN_NS, RW_SPIN_PAUSE_MAX_NS);
	while (blocked(s) && !(s & (WWAIT | WAITING)) && weft__backoff_spin(&b))
		s = load_state(l);
	return s;
}

/*
 * Grant the lock to the registered readers: WAITING moves into READERS and
 * GRANT flips in one CAS from s (which must show readers waiting), `drop`
 * (WLOCKED or 0) is cleared; then wake them all. False if s was stale.
 * release: publishes the write section (and, through the release sequence,
 * the last read unlock's) to the acquire load that shows a reader GRANT.
 */
static bool grant_readers(weft_rwlock *l, uint32_t *s, uint32_t drop)
{
	uint32_t n = (*s & WAITING) / WAIT_ONE;
	uint32_t next = ((*s & ~(drop | WAITING)) + n) ^ GRANT;
	if (!atomic_compare_exchange_weak_explicit(&l->state, s, next,
						   memory_order_release,
						   memory_order_relaxed))
		return false;
	weft__futex_wake(&l->state, WEFT__FUTEX_WAKE_ALL);
	return true;
}

/* Wake one writer asleep on writer_seq; true if one was. */
static bool wake_writer(weft_rwlock *l)
{
	/* release: pairs with the writer's acquire load of writer_seq in
	 * write_wait, so it sees our state change when it sees the bump. */
	atomic_fetch_add_explicit(&l->writer_seq, 1, memory_order_release);
	return weft__futex_wake(&l->writer_seq, 1) > 0;
}

/*
 * The lock was seen free with waiters: wake one writer (clearing WWAIT) or,
 * if none was asleep, grant the waiting readers. Does nothing once someone
 * holds the lock: that holder's release gets here itself.
 */
static void wake_waiters(weft_rwlock *l)
{
	uint32_t s = load_state(l);
	while (is_free(s) && (s & WWAIT)) {
		/* relaxed: clearing a flag publishes nothing. */
		if (!atomic_compare_exchange_weak_explicit(
			    &l->state, &s, s & ~WWAIT, memory_order_relaxed,
			    memory_order_relaxed))
			continue;
		if (wake_writer(l))
			return; /* its unlock grants the waiting readers */
		s = load_state(l);
	}
	while (is_free(s) && (s & WAITING) && !grant_readers(l, &s, 0))
		;
}

void weft__rwlock_read_unlock_slow(weft_rwlock *l)
{
	wake_waiters(l);
}

/* Take back the refused add of the read fast path, as an unlock would. */
static void undo_add(weft_rwlock *l)
{
	/* relaxed: the add read nothing under the lock. */
	uint32_t s = atomic_fetch_sub_explicit(&l->state, 1, memory_order_relaxed);
	if ((s & READERS) == 1 && !(s & WLOCKED) && (s & WWAIT))
		wake_waiters(l);
}

static bool read_blocked(uint32_t s) { return !weft__rwlock_read_open(s); }

/* Registered (GRANT was `grant` then): sleep until granted or the deadline. */
static int read_sleep(weft_rwlock *l, uint32_t s, const weft__deadline *d)
{
	const uint32_t grant = s & GRANT;
	for (;;) {
		int rc = weft__futex_wait(&l->state, s, d);
		/* acquire: a granted reader pairs with grant_readers' release. */
		s = atomic_load_explicit(&l->state, memory_order_acquire);
		if ((s & GRANT) != grant)
			return 0; /* granted: we hold a read count */
		if (rc != ETIMEDOUT)
			continue;
		/* Deregister, unless a grant comes first. acquire: on failure
		 * as above (a C11 success order may not be weaker). */
		while ((s & GRANT) == grant)
			if (atomic_compare_exchange_weak_explicit(
				    &l->state, &s, s - WAIT_ONE, memory_order_acquire,
				    memory_order_acquire)) {
				if ((s & WAITING) == WAITING) /* room again */
					weft__futex_wake(&l->state, WEFT__FUTEX_WAKE_ALL);
				return ETIMEDOUT;
			}
		return 0;
	}
}

int weft__rwlock_read_lock_slow(weft_rwlock *l, uint64_t timeout_ns)
{
	undo_add(l);
	weft__deadline d = deadline_for(timeout_ns);
	uint32_t s = timeout_ns ? spin(l, read_blocked) : load_state(l);
	for (;;) {
		if (weft__rwlock_read_open(s)) {
			/* acquire: pairs with the release of the last unlock. */
			if (atomic_compare_exchange_weak_explicit(
				    &l->state, &s, s + 1, memory_order_acquire,
				    memory_order_relaxed))
				return 0;
			continue;
		}
		if (!(s & (WLOCKED | WWAIT)))
			return EAGAIN; /* MAX_READERS hold it */
		if (timeout_ns == 0 || weft__deadline_passed(&d))
			return ETIMEDOUT;
		if ((s & WAITING) == WAITING) { /* no room to register */
			weft__futex_wait(&l->state, s, &d);
			s = load_state(l);
			continue;
		}
		/* relaxed: registering publishes nothing; the grant that ends
		 * our sleep orders itself (read_sleep). */
		if (atomic_compare_exchange_weak_explicit(
			    &l->state, &s, s + WAIT_ONE, memory_order_relaxed,
			    memory_order_relaxed))
			return read_sleep(l, s + WAIT_ONE, &d);
	}
}

/* ------------------------------------------------------------ writers */

static bool write_blocked(uint32_t s) { return !is_free(s); }

/* Take the free lock from s, keeping `keep` (0 or WWAIT); BIAS revoked. */
static int write_take(weft_rwlock *l, uint32_t *s, uint32_t keep,
		      const weft__deadline *d)
{
	/* acquire: pairs with the release of the last unlock. */
	if (!atomic_compare_exchange_weak_explicit(&l->state, s,
						   *s | WLOCKED | keep,
						   memory_order_acquire,
						   memory_order_relaxed))
		return EAGAIN;
	return (*s & WEFT__RWLOCK_BIAS) ? weft__rwlock_bias_revoke(l, d) : 0;
}

bool weft__rwlock_write_trylock_slow(weft_rwlock *l)
{
	uint32_t s = load_state(l);
	int rc = EAGAIN;
	while (is_free(s) && (rc = write_take(l, &s, 0, NULL)) == EAGAIN)
		;
	return rc == 0;
}

/* The deadline passed: take the lock if free, else leave WWAIT set so the
 * holder's release wakes the next writer (we may have had its wake-up). */
static int write_give_up(weft_rwlock *l, uint32_t keep, const weft__deadline *d)
{
	uint32_t s = load_state(l);
	for (;;) {
		if (is_free(s)) {
			int rc = write_take(l, &s, keep, d);
			if (rc != EAGAIN)
				return rc;
			continue;
		}
		/* relaxed: a flag for the holder's release RMW to read. */
		if ((s & WWAIT) || atomic_compare_exchange_weak_explicit(
					   &l->state, &s, s | WWAIT,
					   memory_order_relaxed, memory_order_relaxed))
			return ETIMEDOUT;
	}
}

int weft__rwlock_write_lock_slow(weft_rwlock *l, uint64_t timeout_ns)
{
	weft__deadline d = deadline_for(timeout_ns);
	const weft__deadline *dp = timeout_ns ? &d : NULL;
	uint32_t keep = 0; /* WWAIT once we slept: others may sleep too */
	uint32_t s = timeout_ns ? spin(l, write_blocked) : load_state(l);
	for (;;) {
		if (is_free(s)) {
			int rc = write_take(l, &s, keep, dp);
			if (rc != EAGAIN)
				return rc;
			continue;
		}
		if (timeout_ns == 0)
			return ETIMEDOUT;
		/* relaxed: a flag for the holder's release RMW to read. */
		if (!(s & WWAIT) && !atomic_compare_exchange_weak_explicit(
					    &l->state, &s, s | WWAIT,
					    memory_order_relaxed, memory_order_relaxed))
			continue;
		keep = WWAIT;
		/* acquire: pairs with wake_writer's release. Sampled before
		 * the state check: a wake after it changes the word we sleep on. */
		uint32_t seq = atomic_load_explicit(&l->writer_seq,
						    memory_order_acquire);
		s = load_state(l);
		if (is_free(s) || !(s & WWAIT))
			continue;
		if (weft__futex_wait(&l->writer_seq, seq, &d) == ETIMEDOUT)
			return write_give_up(l, keep, &d);
		s = spin(l, write_blocked);
	}
}

void weft__rwlock_write_unlock_slow(weft_rwlock *l)
{
	uint32_t s = load_state(l);
	for (;;) {
		/* Registered readers first: they were there before the writers
		 * that wait now (phase-fair), and WWAIT stays set for those. */
		if ((s & WAITING) && grant_readers(l, &s, WLOCKED))
			return;
		if (s & WAITING)
			continue;
		/* release: publishes the write section to the next acquire. */
		if (atomic_compare_exchange_weak_explicit(
			    &l->state, &s, s & ~WLOCKED, memory_order_release,
			    memory_order_relaxed))
			break;
	}
	if (is_free(s & ~WLOCKED) && (s & WWAIT))
		wake_waiters(l);
}
