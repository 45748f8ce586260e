/*
 * lib/mutex_bias.c - weft_mutex's bias (lock reservation: Kawachiya et al.
 * 2002, Russell & Detlefs 2006; the asymmetric Dekker of Dice et al.). The
 * modes and the owner's inline paths are in weft/mutex.h.
 *
 * Invariants (the proofs below rest on them):
 * I1 `owner` moves only 0 -> thread (first_lock, holding BIASED|LOCKED
 *    taken from 0) and 0/thread -> NOBIAS; NOBIAS is final.
 * I2 While owner is 0 or a thread, `state` is 0 (undecided, free), BIASED
 *    (the owner may enter), or BIASED|LOCKED(|BWAIT) (one thread, the
 *    "changer", may change the mode: the first locker, or a revoker).
 *    Nobody runs lib/mutex.c's code on the word then: every lock path reads
 *    owner first and comes here unless it is NOBIAS.
 * I3 In normal mode (owner NOBIAS) BIASED can be set only together with
 *    LOCKED, by a thread that read a stale owner 0, took the word from 0
 *    and clears BIASED (finding NOBIAS) before it unlocks. lib/mutex.c
 *    then sees a held lock whose sleeper count looks huge: it neither
 *    takes it nor spins, and sleeps until the word changes (weft/mutex.h).
 *    BIASED alone never occurs in normal mode: the mode leaves bias only
 *    from BIASED|LOCKED, and the thread holding LOCKED keeps it.
 * I4 Only the bias owner writes `held`; it is 1 from the owner's store
 *    announcing an entry to the release store ending it (or the failed
 *    entry's release store of 0).
 *
 * Exclusion, owner against revoker (the asymmetric Dekker). Owner: store
 * held=1; compiler fence; load state, enters only on BIASED. Revoker:
 * fetch_or LOCKED (BIASED -> BIASED|LOCKED); membarrier; load held, enters
 * only on 0. membarrier(PRIVATE_EXPEDITED) puts a full barrier at some
 * point P of the owner's execution (a running thread gets an IPI, a
 * sleeping one passed a context switch), after the revoker's fetch_or is
 * visible and before its load of held (internal/asym_fence.h). If the
 * owner's store held=1 precedes P, the revoker's load sees it, or the
 * owner's later release store of 0 (then the section is over and ordered
 * before the revoker's by release/acquire on held). If it follows P, the
 * owner's load follows P too and sees LOCKED: the owner backs off without
 * entering. The compiler fence keeps the owner's store before its load;
 * the CPU's reordering is what P repairs.
 *
 * No lost wake-up of a revoker sleeping on held == 1: every later release
 * store of held=0 by the owner follows P (else the revoker's load after
 * the membarrier would have seen it), so the owner's load of state after
 * it follows P and sees LOCKED (or a later state in which the revoker no
 * longer waits): the owner calls futex_wake(held), after its store, and
 * futex_wait compares held with 1 atomically.
 *
 * Happens-before for the data: owner sections -> revoker: release store
 * held=0 / acquire load of held. First locker's section -> any later one:
 * the first locker entered with an acquire CAS on `state` from 0 (after
 * every earlier normal-mode unlock: none, owner was 0, I1/I2) and left
 * BIASED with a release RMW that a revoker's acquire fetch_or reads.
 * Revoker -> anybody after: it holds LOCKED in normal mode and unlocks
 * with the normal release fetch_sub. The owner's later sections are its
 * own (program order) while it stays owner, and once revoked it takes the
 * normal path (acquire RMW).
 *
 * A thread's pointer is reused only after the thread has exited (its
 * stack and TCB are freed by join or by the C library's own exit path), so
 * a new thread with the pointer of an exited owner inherits the bias: its
 * entries follow the old owner's last release of held in happens-before.
 * Unlocking on another thread than the locker is not supported (POSIX's
 * rule too); a weft_rt task must not migrate while holding a weft_mutex.
 *
 * TSan: the membarrier argument is outside the C11 model, but no data is
 * accessed on its strength alone: the owner enters only when it could,
 * and every hand-over of the data between threads goes through the
 * release/acquire pairs above, which TSan sees.
 */
#include "internal/mutex_bias.h"

#include <errno.h>

#include "internal/asym_fence.h"
#include "internal/backoff.h"
#include "internal/cpus.h"
#include "internal/futex.h"

#define LOCKED WEFT_MUTEX_LOCKED
#define BIASED WEFT_MUTEX_BIASED
#define BWAIT WEFT_MUTEX_BWAIT
#define NOBIAS WEFT__MUTEX_NOBIAS

/* A revoker waits for the owner to leave its section: spin this long (the
 * usual short section ends meanwhile) if the owner may be running, then
 * sleep on held. */
#ifndef BIAS_REVOKE_SPIN_NS
#define BIAS_REVOKE_SPIN_NS 2000
#endif
#ifndef BIAS_REVOKE_PAUSE_MAX_NS
#define BIAS_REVOKE_PAUSE_MAX_NS 160
#endif

_Atomic uint64_t weft__mutex_bias_banned_until;

static uint32_t load_state(weft_mutex *m)
{
	/* relaxed: a hint for the next step; the RMWs and the owner's
	 * Dekker load (weft/mutex.h) carry the ordering. */
	return atomic_load_explicit(&m->state, memory_order_relaxed);
}

static bool may_bias(void)
{
	if (weft__mutex_self() == WEFT__MUTEX_SELF_UNKNOWN || !weft__fence_asym())
		return false;
	/* relaxed: a time, not a publication. */
	return weft__monotonic_ns() >=
	       atomic_load_explicit(&weft__mutex_bias_banned_until, memory_order_relaxed);
}

static void ban_biases(uint64_t cost_ns)
{
	uint64_t until = weft__monotonic_ns() + WEFT__MUTEX_BIAS_BAN_FACTOR * cost_ns;
	/* relaxed: a time. The ban only grows; racing writers store about
	 * the same time, and any of them bans long enough. */
	if (until > atomic_load_explicit(&weft__mutex_bias_banned_until, memory_order_relaxed))
		atomic_store_explicit(&weft__mutex_bias_banned_until, until,
				      memory_order_relaxed);
}

/* Clear `bits` and BWAIT (the changer ends its transition; BWAIT only ever
 * stands beside LOCKED) and wake the threads that slept on it. */
static void end_transition(weft_mutex *m, uint32_t bits, memory_order order)
{
	uint32_t old = atomic_fetch_and_explicit(&m->state, ~(bits | BWAIT), order);
	if (old & BWAIT)
		weft__futex_wake(&m->state, WEFT__FUTEX_WAKE_ALL);
}

/*
 * s has BIASED|LOCKED: a changer is at work. Ask it to wake us (BWAIT) and
 * sleep until the word changes. 0: look again; ETIMEDOUT at the deadline.
 */
static int wait_transition(weft_mutex *m, uint32_t s, const weft__deadline *d)
{
	/* relaxed: a flag; what we do next depends on owner (acquire) and on
	 * RMWs of the word, not on data published with it. A failed CAS
	 * means the word changed: look again. */
	if (!(s & BWAIT) && !atomic_compare_exchange_strong_explicit(
				    &m->state, &s, s | BWAIT, memory_order_relaxed,
				    memory_order_relaxed))
		return 0;
	return weft__futex_wait(&m->state, s | BWAIT, d);
}

/*
 * We took the word from 0 to BIASED|LOCKED with owner read as 0 (the
 * acquire CAS in the callers): we are the changer of an undecided mutex
 * and hold it. Bias it to us, or settle it in normal mode.
 */
static void first_lock(weft_mutex *m)
{
	uintptr_t none = 0;
	/* relaxed: others read owner to choose a path and then act by RMWs
	 * on `state`, which acquire our release below. Fails only if owner
	 * is already NOBIAS (a stale 0 was read: I3). */
	if (may_bias() && atomic_compare_exchange_strong_explicit(
				  &m->owner, &none, weft__mutex_self(),
				  memory_order_relaxed, memory_order_relaxed)) {
		/* relaxed: published by the release below (I4: we are in). */
		atomic_store_explicit(&m->held, 1, memory_order_relaxed);
		/* release: a revoker's acquire fetch_or on BIASED reads this
		 * (or a later RMW), so it sees held=1 and waits for our
		 * release of it. */
		end_transition(m, LOCKED, memory_order_release);
		return;
	}
	/* Normal mode for good; we hold LOCKED. release: pairs with the
	 * acquire loads of owner (weft__mutex_owner); NOBIAS may already be
	 * there (I3), then it stays. */
	if (atomic_load_explicit(&m->owner, memory_order_relaxed) != NOBIAS)
		atomic_store_explicit(&m->owner, NOBIAS, memory_order_release);
	/* relaxed: only BIASED goes; we keep LOCKED, and our unlock is the
	 * release the next owner acquires. */
	end_transition(m, BIASED, memory_order_relaxed);
}

/*
 * Wait for the bias owner to be out (held == 0). d NULL: do not wait.
 * 0 when out, EBUSY (d NULL) or ETIMEDOUT when still in.
 */
static int wait_owner_out(weft_mutex *m, const weft__deadline *d)
{
	weft__backoff b = weft__backoff_make_ns(
		weft__cpus_parallel() >= 2 ? BIAS_REVOKE_SPIN_NS : 0, BIAS_REVOKE_PAUSE_MAX_NS);
	for (;;) {
		/* acquire: pairs with the owner's release store of held=0, so
		 * its sections happen before ours (the header's proof). */
		if (atomic_load_explicit(&m->held, memory_order_acquire) == 0)
			return 0;
		if (!d)
			return EBUSY;
		if (weft__backoff_spin(&b))
			continue;
		if (weft__futex_wait(&m->held, 1, d) == ETIMEDOUT &&
		    atomic_load_explicit(&m->held, memory_order_acquire) != 0)
			return ETIMEDOUT;
	}
}

/*
 * The word was BIASED and owner another thread: revoke. 0: we hold the
 * mutex, now in normal mode (or the mode had already changed and our
 * fetch_or took a free normal lock); EAGAIN: another changer is at work,
 * look again; EBUSY (d NULL) / ETIMEDOUT: the owner stayed in, the bias
 * stays and we hold nothing.
 */
static int revoke(weft_mutex *m, const weft__deadline *d)
{
	const uint64_t start = weft__monotonic_ns();
	/* acquire: reads the release RMW that left BIASED (first_lock's, or
	 * a backed-out revoker's), so the first locker's held=1 is visible;
	 * in normal mode (I3: never BIASED alone) it is a normal take. */
	uint32_t old = atomic_fetch_or_explicit(&m->state, LOCKED, memory_order_acquire);
	if (old != BIASED)
		return old & LOCKED ? EAGAIN : 0;
	weft__fence_heavy();
	const uint64_t cost = weft__monotonic_ns() - start;
	int rc = wait_owner_out(m, d);
	if (rc) {
		/* release: nothing of ours to publish, but the next revoker's
		 * acquire fetch_or must still find first_lock's held=1: an RMW
		 * continues the release sequence it reads from. */
		end_transition(m, LOCKED, memory_order_release);
		return rc;
	}
	/* release: pairs with the acquire loads of owner; a reader of NOBIAS
	 * then meets the word no earlier than our fetch_or, so never BIASED
	 * without LOCKED (I3). */
	atomic_store_explicit(&m->owner, NOBIAS, memory_order_release);
	/* relaxed: we keep LOCKED; our normal unlock is the release. */
	end_transition(m, BIASED, memory_order_relaxed);
	ban_biases(cost);
	return 0;
}

/* The bias owner's entry failed (it stored held=0): a revoker may sleep
 * on held == 1 (the header's wake-up proof). */
static void wake_revoker(weft_mutex *m, uint32_t s)
{
	if ((s & (BIASED | LOCKED)) == (BIASED | LOCKED))
		weft__futex_wake(&m->held, 1);
}

void weft__mutex_bias_unlock_slow(weft_mutex *m)
{
	wake_revoker(m, load_state(m));
}

/* Nanoseconds left before d, as weft__mutex_lock_slow takes them. */
static uint64_t time_left(const weft__deadline *d, uint64_t timeout_ns)
{
	if (timeout_ns == WEFT_TIMEOUT_NEVER)
		return WEFT_TIMEOUT_NEVER;
	uint64_t end = (uint64_t)d->tv_sec * 1000000000u + (uint64_t)d->tv_nsec;
	uint64_t now = weft__monotonic_ns();
	return end > now ? end - now : 0;
}

enum step { STEP_NORMAL, STEP_LOCKED, STEP_AGAIN, STEP_TIMEDOUT };

/*
 * One look at the mode, for lock (d set) and trylock (d NULL). The owner's
 * failed inline entry has already stored held=0.
 */
static enum step lock_step(weft_mutex *m, const weft__deadline *d)
{
	const uintptr_t me = weft__mutex_self();
	const uintptr_t o = weft__mutex_owner(m);
	const uint32_t s = load_state(m);
	/* Normal mode: NOBIAS, or a decided mutex without BIASED (I2, I3). */
	if (o == NOBIAS || (o != 0 && !(s & BIASED)))
		return STEP_NORMAL;
	if (o == 0 && s == 0) {
		uint32_t zero = 0;
		/* acquire: pairs with the release of the last normal unlock
		 * if the mutex was in fact decided (I3); else nothing. */
		if (!atomic_compare_exchange_strong_explicit(
			    &m->state, &zero, BIASED | LOCKED, memory_order_acquire,
			    memory_order_relaxed))
			return STEP_AGAIN;
		first_lock(m);
		return STEP_LOCKED;
	}
	if (o == 0) {
		if (!(s & BIASED))
			return STEP_NORMAL; /* a stale 0: the word is normal (I2) */
		if (!(s & LOCKED))
			return STEP_AGAIN; /* decided; its owner not visible yet */
	} else if (o == me) {
		/* relaxed: our own store. We hold it: only a timeout ends this
		 * (never, for an untimed lock: the self-deadlock of any
		 * non-recursive mutex); nobody else writes held. */
		if (atomic_load_explicit(&m->held, memory_order_relaxed))
			return !d || weft__futex_wait(&m->held, 1, d) == ETIMEDOUT
				       ? STEP_TIMEDOUT : STEP_AGAIN;
		wake_revoker(m, s);
		if (s == BIASED)
			return weft__mutex_bias_enter(m) ? STEP_LOCKED : STEP_AGAIN;
	} else if (s == BIASED) {
		/* relaxed: a hint that spares a trylock the membarrier while
		 * the owner is in; a stale 0 only costs the attempt. */
		if (!d && atomic_load_explicit(&m->held, memory_order_relaxed))
			return STEP_TIMEDOUT;
		switch (revoke(m, d)) {
		case 0:
			return STEP_LOCKED;
		case EAGAIN:
			return STEP_AGAIN;
		default:
			return STEP_TIMEDOUT;
		}
	}
	/* A changer is at work (BIASED|LOCKED). */
	if (!d)
		return STEP_TIMEDOUT;
	return wait_transition(m, s, d) == ETIMEDOUT ? STEP_TIMEDOUT : STEP_AGAIN;
}

static enum step lock_steps(weft_mutex *m, const weft__deadline *d)
{
	enum step st;
	while ((st = lock_step(m, d)) == STEP_AGAIN)
		;
	return st;
}

int weft__mutex_bias_lock(weft_mutex *m, uint64_t timeout_ns)
{
	const weft__deadline d = weft__deadline_for(timeout_ns);
	switch (timeout_ns ? lock_steps(m, &d) : (weft__mutex_bias_trylock(m)
							  ? STEP_LOCKED : STEP_TIMEDOUT)) {
	case STEP_LOCKED:
		return 0;
	case STEP_NORMAL:
		if (weft__mutex_take(m))
			return 0;
		return weft__mutex_lock_slow(m, time_left(&d, timeout_ns));
	default:
		return ETIMEDOUT;
	}
}

bool weft__mutex_bias_trylock(weft_mutex *m)
{
	/* A trylock never waits: a changer at work or the owner inside is
	 * "held"; a lost race (EAGAIN) is looked at again, boundedly: each
	 * one means another thread changed the word. */
	for (int tries = 0; tries < 4; tries++) {
		switch (lock_step(m, NULL)) {
		case STEP_LOCKED:
			return true;
		case STEP_NORMAL:
			return weft__mutex_take(m);
		case STEP_TIMEDOUT:
			return false;
		case STEP_AGAIN:
			break;
		}
	}
	return false;
}

void weft__mutex_bias_lock_yielding(weft_mutex *m)
{
	const weft__deadline never = weft__deadline_never();
	if (lock_steps(m, &never) == STEP_NORMAL)
		weft__mutex_lock_normal_yielding(m);
}
