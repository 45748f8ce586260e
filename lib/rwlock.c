/* lib/rwlock.c - weft_rwlock slow paths; the state machine is in weft/rwlock.h. */
#include "weft/rwlock.h"

#include <errno.h>
#include <sched.h>
#include <time.h>

#include "internal/backoff.h"
#include "internal/futex.h"
#include "internal/park.h"

_Static_assert(sizeof(weft_rwlock) <= 8, "weft_rwlock must stay <= 8 bytes");

/* Spin budget before sleeping: the same trade-off as lib/mutex.c. */
#define RW_SPIN_NS 50000
#define RW_SPIN_PAUSE_MAX_NS 160

#define READERS WEFT_RWLOCK_READERS
#define BIAS WEFT_RWLOCK_READ_BIAS
#define WLOCKED WEFT_RWLOCK_WRITE_LOCKED
#define PHASE WEFT_RWLOCK_READ_PHASE
#define USED WEFT_RWLOCK_PHASE_USED
#define RWAIT WEFT_RWLOCK_READERS_WAIT
#define WWAIT WEFT_RWLOCK_WRITERS_WAIT

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

static void open_read_phase(weft_rwlock *l, bool phase);

/*
 * The lock is free of holders: if a writer waits (or a read phase is open
 * but nobody is inside it), end the phase and wake one writer. Called by the
 * last reader out, by a write unlock whose read phase admitted nobody, and
 * by a reader giving up. Does nothing if somebody holds the lock: that
 * holder's release will get here (or to write_unlock_slow) itself.
 *
 * WRITERS_WAIT stays set across the wake-up, so new readers stay out until
 * the woken writer is in (clearing it first would let readers that spin
 * in meanwhile, and a slow wake-up could lose the writer its turn again
 * and again). If no writer was asleep after all (WRITERS_WAIT is kept
 * conservatively by a writer that slept), clear it, and hand the lock to
 * the readers that slept behind it.
 */
static void wake_writer_if_free(weft_rwlock *l)
{
	uint32_t s = load_state(l);
	for (;;) {
		if ((s & (READERS | WLOCKED)) || !(s & (WWAIT | PHASE)))
			return;
		if (!(s & PHASE))
			break;
		/* relaxed: the flags publish nothing; the woken writer's acquire
		 * CAS reads from the release sequence of the last unlock. */
		if (atomic_compare_exchange_weak_explicit(
			    &l->state, &s, s & ~(PHASE | USED),
			    memory_order_relaxed, memory_order_relaxed)) {
			s &= ~(PHASE | USED);
			break;
		}
	}
	if ((s & WWAIT) && weft__futex_wake(&l->state, 1) > 0)
		return; /* that writer takes the lock; its unlock serves readers */
	/*
	 * Nobody asleep. A writer may be just about to sleep on a word that
	 * still shows WRITERS_WAIT: clearing the flag changes the word under
	 * it, and the second wake catches one that got to sleep in between.
	 */
	s = load_state(l);
	while (!(s & (READERS | WLOCKED)) && (s & WWAIT)) {
		/* relaxed: as above. */
		if (!atomic_compare_exchange_weak_explicit(
			    &l->state, &s, s & ~WWAIT, memory_order_relaxed,
			    memory_order_relaxed))
			continue;
		weft__futex_wake(&l->state, 1);
		if (!(s & RWAIT))
			return;
		/* acquire: pairs with the release registration in
		 * read_lock_slow (their rseq sample precedes our bump). */
		s = atomic_fetch_and_explicit(&l->state, ~RWAIT,
					      memory_order_acquire);
		if (s & RWAIT)
			open_read_phase(l, false);
		return;
	}
}

void weft__rwlock_read_unlock_slow(weft_rwlock *l)
{
	wake_writer_if_free(l);
}

/*
 * A read phase nobody may use any more (its admitted reader gave up, or it
 * admitted nobody): end it now. Marking it used first covers a refused add
 * that holds the count above 0 meanwhile: its undo then ends the phase.
 */
static void end_unused_phase(weft_rwlock *l)
{
	uint32_t s = load_state(l);
	/* relaxed: a flag for the undo's RMW to read. */
	while ((s & PHASE) && !(s & USED) &&
	       !atomic_compare_exchange_weak_explicit(&l->state, &s, s | USED,
						      memory_order_relaxed,
						      memory_order_relaxed))
		;
	wake_writer_if_free(l);
}

/* Poll with bounded backoff: 0 with the lock, EBUSY when it is time to sleep. */
static int spin(weft_rwlock *l, bool (*try)(weft_rwlock *, uint32_t *))
{
	weft__backoff b = weft__backoff_make_ns(RW_SPIN_NS, RW_SPIN_PAUSE_MAX_NS);
	while (weft__backoff_spin(&b)) {
		uint32_t s = load_state(l);
		if (try(l, &s))
			return 0;
	}
	return EBUSY;
}

/*
 * Both lock slow paths: try once; with no time to wait, fail; else wait
 * (`wait`: spin, then sleep) as one more waiter of the lock, parking first
 * if the lock has more waiters than there are CPUs (internal/park.h).
 * Readers count parked waiters too, which keeps the running set small in
 * read/write mixes. Writers count only the waiters not parked: a parked
 * writer is not yet a waiting writer, so readers keep entering until its
 * park ends, and with the CPUs busy that end came 3-8 ms late. Behind
 * parked readers, four busy readers and one writer on 2 CPUs gave the
 * writer a median wait of 8 ms; now 10-70 us, where pthread's
 * writer-preferring rwlock takes 20-30 us (docs/tuning.md).
 */
static int lock_slow(weft_rwlock *l, uint64_t timeout_ns, bool behind_parked,
		     bool (*try)(weft_rwlock *, uint32_t *),
		     int (*wait)(weft_rwlock *, const weft__deadline *))
{
	uint32_t s = load_state(l);
	if (try(l, &s))
		return 0;
	if (timeout_ns == 0)
		return ETIMEDOUT;
	weft__deadline deadline = deadline_for(timeout_ns);
	weft__park_bucket *park = weft__park_enter(l, &deadline, behind_parked);
	int rc = spin(l, try);
	if (rc == EBUSY)
		rc = wait(l, &deadline);
	weft__park_leave(park);
	return rc;
}

/* ------------------------------------------------------------ readers */

/* May this reader enter? Admitted readers may pass a waiting writer. */
static bool reader_may_enter(uint32_t s, bool admitted)
{
	if (s & WLOCKED || (s & READERS) >= WEFT_RWLOCK_MAX_READERS)
		return false;
	return !(s & WWAIT) || (admitted && (s & PHASE));
}

static bool reader_try(weft_rwlock *l, uint32_t *s, bool admitted)
{
	while (reader_may_enter(*s, admitted)) {
		/* Entering a read phase (only admitted readers can) uses it. */
		uint32_t next = (*s + 1) | (*s & PHASE ? USED : 0);
		/* acquire: pairs with the release CAS of write_unlock. */
		if (atomic_compare_exchange_weak_explicit(
			    &l->state, s, next, memory_order_acquire,
			    memory_order_relaxed))
			return true;
	}
	return false;
}

static bool reader_try_fresh(weft_rwlock *l, uint32_t *s)
{
	return reader_try(l, s, false);
}

/*
 * Take back the refused add of the read fast path. Leaving with the count
 * at 0 and a writer waiting, we are its "last reader out" (it may have gone
 * to sleep because of our add), except in a read phase no admitted reader
 * has entered yet: they are on their way (or the phase is closed by whoever
 * marks it used, see end_unused_phase), and ending it now would cheat them.
 */
static void undo_entry(weft_rwlock *l)
{
	/* relaxed: the add read nothing under the lock; a writer we wake
	 * orders itself with its own acquire CAS. */
	uint32_t s = atomic_fetch_sub_explicit(&l->state, 1,
					       memory_order_relaxed);
	if ((s & READERS) == 1 && (s & WWAIT) && !(s & WLOCKED) &&
	    (!(s & PHASE) || (s & USED)))
		wake_writer_if_free(l);
}

/*
 * The deadline passed. Take the lock if we may (we could have been woken
 * and admitted at the last moment). Otherwise, if a read phase is open with
 * nobody inside, we may be the admitted reader it waits for: end it so the
 * writers behind it are not stranded. A stale READERS_WAIT we leave behind
 * costs a later writer unlock one empty wake, nothing more.
 */
static int read_give_up(weft_rwlock *l, bool admitted)
{
	uint32_t s = load_state(l);
	if (reader_try(l, &s, admitted))
		return 0;
	end_unused_phase(l);
	return ETIMEDOUT;
}

/* Sleep on rseq until admitted (or free to enter) or the deadline. */
static int read_wait(weft_rwlock *l, const weft__deadline *deadline)
{
	bool admitted = false;
	for (;;) {
		uint32_t s = load_state(l);
		if (reader_try(l, &s, admitted))
			return 0;
		if (!(s & (WLOCKED | WWAIT))) {
			/* Only the (theoretical) count saturation blocks us. */
			sched_yield();
			continue;
		}
		if (admitted && !(s & PHASE))
			admitted = false; /* our phase is over: wait for the next */
		/*
		 * Sample rseq, then register. A release that consumes our
		 * READERS_WAIT (write_unlock_slow, wake_writer_if_free) comes
		 * after our registration in the state word's order and bumps
		 * rseq afterwards, so it bumps past `seq`: the futex wait then
		 * returns at once or is woken, and we are admitted to the phase
		 * opened for us. Registering again on an already-set flag is
		 * still an RMW, ordered the same way.
		 * acquire: pairs with the release bump in open_read_phase.
		 */
		uint32_t seq = atomic_load_explicit(&l->rseq,
						    memory_order_acquire);
		/* release: orders the rseq load before the registration; pairs
		 * with the acquire of the CAS that consumes READERS_WAIT. */
		if (!atomic_compare_exchange_strong_explicit(
			    &l->state, &s, s | RWAIT, memory_order_release,
			    memory_order_relaxed))
			continue;
		int rc = weft__futex_wait(&l->rseq, seq, deadline);
		/* relaxed: only compared; the entry CAS does the ordering. */
		if (atomic_load_explicit(&l->rseq, memory_order_relaxed) != seq)
			admitted = true;
		if (rc == ETIMEDOUT)
			return read_give_up(l, admitted);
	}
}

int weft__rwlock_read_lock_slow(weft_rwlock *l, uint64_t timeout_ns)
{
	undo_entry(l);
	return lock_slow(l, timeout_ns, true, reader_try_fresh, read_wait);
}

/* ---------------------------------------------------- visible readers */

/* The table; see "Visible readers" in weft/rwlock.h. */
weft__rw_visible weft__rw_visible_readers[1u << WEFT__RW_VISIBLE_BITS];

/* An admitted counted reader that finds other readers inside checks
 * whether to bias the lock once per BIAS_CHECK_EVERY such reads. */
#define BIAS_CHECK_EVERY 64
/*
 * A revocation that took t inhibits the bias for INHIBIT_FACTOR * t (so
 * revocations take at most about 1/17 of a writer's time, as in BRAVO),
 * and for at least INHIBIT_MIN_NS: a lock written more often than about
 * every 10 ms is not read-mostly enough to gain from the bias. Each
 * revocation holds the lock while it scans the table (1-3 us) and waits
 * for the visible readers inside, and a writer arriving soon after the
 * bias came back finds the counted readers that turned it on. With a 1 ms
 * floor the starvation test's writer (4 busy readers, 2 CPUs, another
 * test running) waited a median ~4 ms in 2 of 10 full-suite runs, behind
 * a preempted counted reader, against 0 of 10 for the lock without bias;
 * with 10 ms (or 50 ms), 0 of 10 and 0 of 15.
 */
#define INHIBIT_FACTOR 16
#define INHIBIT_MIN_NS 10000000ull
/* Until when (CLOCK_MONOTONIC ns) each lock's bias is inhibited, hashed by
 * lock address: locks sharing a slot only inhibit each other longer. */
#define INHIBIT_BITS 8
static _Atomic uint64_t inhibit_until[1u << INHIBIT_BITS];

static _Atomic uint64_t *inhibit_of(const weft_rwlock *l)
{
	return &inhibit_until[weft__hash_bits((uintptr_t)l, INHIBIT_BITS)];
}

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void leave_entry(weft__rw_visible *e)
{
	/* relaxed: read by other threads only to see it is not theirs. */
	atomic_store_explicit(&e->owner, 0, memory_order_relaxed);
	/* release: our read section happens-before the section of a writer
	 * whose acquire (seq_cst) load in wait_entry_free sees the entry
	 * free, and our owner store before the next claim of the entry. An
	 * exchange rather than a store, to see a writer asleep waiting for us
	 * (a plain store would need a fence before checking for one). */
	uintptr_t old = atomic_exchange_explicit(&e->lock, 0, memory_order_release);
	if (old & WEFT__RW_WRITER_WAITS) {
		/* release: pairs with the writer's acquire load of wake in
		 * wait_entry_free (see there). */
		atomic_fetch_add_explicit(&e->wake, 1, memory_order_release);
		weft__futex_wake(&e->wake, WEFT__FUTEX_WAKE_ALL);
	}
}

bool weft__rwlock_read_visible(weft_rwlock *l, weft__rw_visible *e)
{
	uintptr_t none = 0;
	/*
	 * seq_cst, with the seq_cst load of state below: our half of a Dekker
	 * pair with revoke_bias, which clears READ_BIAS (seq_cst) and then
	 * reads every entry (seq_cst). In the single total order of these
	 * operations either our CAS precedes the writer's read of this entry
	 * (it sees us and waits until we leave), or its clear precedes our
	 * load (we see no bias and leave).
	 */
	if (!atomic_compare_exchange_strong_explicit(&e->lock, &none, (uintptr_t)l,
						     memory_order_seq_cst,
						     memory_order_relaxed))
		return false; /* entry busy: enter counted */
	/* relaxed: read back by this thread, by others only to compare. */
	atomic_store_explicit(&e->owner, weft__rw_self(), memory_order_relaxed);
	/*
	 * seq_cst: see above. As an acquire it reads READ_BIAS from the RMW
	 * that set it, which continues the release sequence of the last
	 * write unlock (every change to state is an RMW), so that writer's
	 * section happens-before ours. A writer holding or waiting sends us
	 * to the counted path too, where the policy of weft/rwlock.h stops
	 * us: a waiting writer keeps out new visible readers as well.
	 */
	uint32_t s = atomic_load_explicit(&l->state, memory_order_seq_cst);
	if ((s & (BIAS | WLOCKED | WWAIT)) == BIAS)
		return true;
	leave_entry(e);
	if (!(s & BIAS))
		/* relaxed: a hint. */
		atomic_store_explicit(&e->hint, NULL, memory_order_relaxed);
	return false;
}

bool weft__rwlock_read_unlock_visible(weft__rw_visible *e)
{
	/* relaxed: if we hold the entry this is our own store; if not, it is
	 * another thread's or 0, never us: our last store to it was a 0. */
	if (atomic_load_explicit(&e->owner, memory_order_relaxed) !=
	    weft__rw_self())
		return false;
	leave_entry(e);
	return true;
}

/*
 * An admitted counted reader found the lock biased (remember it, to enter
 * visibly next time) or other readers inside (perhaps bias the lock). We
 * hold a count, so no writer can take the lock while we set READ_BIAS;
 * one that holds or waits, or a read phase, keeps the bias off.
 */
void weft__rwlock_read_shared(weft_rwlock *l, weft__rw_visible *e, uint32_t s)
{
	/* relaxed, for hint and countdown: heuristics, publishing nothing. */
	if (s & BIAS) {
		atomic_store_explicit(&e->hint, l, memory_order_relaxed);
		return;
	}
	uint32_t left = atomic_load_explicit(&e->countdown, memory_order_relaxed);
	if (left) {
		atomic_store_explicit(&e->countdown, left - 1, memory_order_relaxed);
		return;
	}
	atomic_store_explicit(&e->countdown, BIAS_CHECK_EVERY - 1,
			      memory_order_relaxed);
	/* relaxed: a time, not a publication. */
	if (now_ns() < atomic_load_explicit(inhibit_of(l), memory_order_relaxed))
		return;
	s = load_state(l);
	while (!(s & (WLOCKED | WWAIT | PHASE | BIAS))) {
		/* relaxed: READ_BIAS publishes nothing of its own; being an
		 * RMW, this keeps the release sequence of the last write
		 * unlock going for the visible readers that read it. */
		if (atomic_compare_exchange_weak_explicit(
			    &l->state, &s, s | BIAS, memory_order_relaxed,
			    memory_order_relaxed)) {
			atomic_store_explicit(&e->hint, l, memory_order_relaxed);
			return;
		}
	}
}

/*
 * Wait until entry e no longer names l; ETIMEDOUT at the deadline (at
 * once without one). Spin first (a running reader leaves within its
 * section); then mark the entry WRITER_WAITS and sleep on its `wake`,
 * which the reader's leave_entry bumps. No wake-up is lost: we sample
 * wake before we check the entry. If the reader's bump is one we sampled,
 * its exchange happened before our check (release / acquire on wake), so
 * the check, or the CAS that marks the entry, sees the entry free. If
 * not, the mark is in place before its exchange, which then sees it and
 * bumps wake after our sample, so the futex wait returns at once or is
 * woken. A mark left by a writer that timed out costs the reader one
 * needless wake-up.
 */
static int wait_entry_free(weft__rw_visible *e, weft_rwlock *l,
			   const weft__deadline *deadline)
{
	weft__backoff b = weft__backoff_make_ns(RW_SPIN_NS, RW_SPIN_PAUSE_MAX_NS);
	for (;;) {
		/* acquire: see above. */
		uint32_t w = atomic_load_explicit(&e->wake, memory_order_acquire);
		/* seq_cst: the writer's reads of the Dekker pair (read_visible);
		 * as an acquire, a value written by leave_entry's release
		 * exchange makes that reader's section happen-before ours. */
		uintptr_t v = atomic_load_explicit(&e->lock, memory_order_seq_cst);
		if ((v & ~WEFT__RW_WRITER_WAITS) != (uintptr_t)l)
			return 0;
		if (!deadline)
			return ETIMEDOUT;
		if (weft__backoff_spin(&b))
			continue;
		/* relaxed: the mark publishes nothing; the order that matters
		 * is the entry's own modification order (see above). */
		if (!(v & WEFT__RW_WRITER_WAITS) &&
		    !atomic_compare_exchange_strong_explicit(
			    &e->lock, &v, v | WEFT__RW_WRITER_WAITS,
			    memory_order_relaxed, memory_order_relaxed))
			continue;
		if (weft__futex_wait(&e->wake, w, deadline) == ETIMEDOUT)
			return ETIMEDOUT;
	}
}

/*
 * We hold WRITE_LOCKED and READ_BIAS is set: clear it, wait until no
 * entry names the lock (readers arriving now see it write-locked), then
 * inhibit the bias for INHIBIT_FACTOR times as long as that took. Without
 * time to wait (deadline NULL), or when the deadline passes, restore the
 * bias, unlock and fail.
 */
static int revoke_bias(weft_rwlock *l, const weft__deadline *deadline)
{
	uint64_t start = now_ns();
	/* seq_cst: the writer's half of the Dekker pair (read_visible). */
	atomic_fetch_and_explicit(&l->state, ~BIAS, memory_order_seq_cst);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < (1u << WEFT__RW_VISIBLE_BITS); i++)
		rc = wait_entry_free(&weft__rw_visible_readers[i], l, deadline);
	uint64_t end = now_ns();
	/* relaxed: a time, not a publication. */
	uint64_t inhibit = INHIBIT_FACTOR * (end - start);
	atomic_store_explicit(inhibit_of(l),
			      end + (inhibit > INHIBIT_MIN_NS ? inhibit : INHIBIT_MIN_NS),
			      memory_order_relaxed);
	if (rc) {
		/* Visible readers remain: put the bias back, so that the next
		 * writer waits for them too, then leave. relaxed: we hold
		 * WRITE_LOCKED, and the unlock's RMW orders what follows. */
		atomic_fetch_or_explicit(&l->state, BIAS, memory_order_relaxed);
		weft_rwlock_write_unlock(l);
	}
	return rc;
}

bool weft__rwlock_write_revoke_now(weft_rwlock *l)
{
	return revoke_bias(l, NULL) == 0;
}

/* ------------------------------------------------------------ writers */

static bool writer_may_enter(uint32_t s)
{
	return !(s & (READERS | WLOCKED | PHASE));
}

/* Take the lock if free; `keep` (0 or WWAIT) is or-ed into the new state. */
static bool writer_try(weft_rwlock *l, uint32_t *s, uint32_t keep)
{
	while (writer_may_enter(*s)) {
		/* acquire: pairs with the release of read_unlock/write_unlock. */
		if (atomic_compare_exchange_weak_explicit(
			    &l->state, s, *s | WLOCKED | keep,
			    memory_order_acquire, memory_order_relaxed))
			return true;
	}
	return false;
}

static bool writer_try_fresh(weft_rwlock *l, uint32_t *s)
{
	return writer_try(l, s, 0);
}

/*
 * The deadline passed. Take the lock if free (we may have swallowed the
 * wake-up that hands it on). Otherwise make sure WRITERS_WAIT is set: our
 * waker cleared it when it woke us, other writers may still sleep, and the
 * current holder's release will then wake one of them.
 */
static int write_give_up(weft_rwlock *l)
{
	uint32_t s = load_state(l);
	for (;;) {
		if (writer_try(l, &s, WWAIT))
			return 0;
		if (s & WWAIT)
			return ETIMEDOUT;
		/* relaxed: a flag for the holder's release RMW to read. */
		if (atomic_compare_exchange_weak_explicit(
			    &l->state, &s, s | WWAIT, memory_order_relaxed,
			    memory_order_relaxed))
			return ETIMEDOUT;
	}
}

/*
 * A read phase is open and no reader is inside yet. Its admitted readers
 * normally arrive within microseconds; but a reader that timed out leaves
 * a stale READERS_WAIT behind, and a phase opened on it admits nobody. So
 * wait at most EMPTY_PHASE_NS, then close the phase if it is still empty
 * (a late admitted reader then simply waits for the next phase).
 */
#define EMPTY_PHASE_NS 1000000ull

static int wait_on_empty_phase(weft_rwlock *l, uint32_t s,
			       const weft__deadline *deadline)
{
	weft__deadline soon = weft__deadline_after(EMPTY_PHASE_NS);
	if (weft__futex_wait(&l->state, s, weft__deadline_min(deadline, &soon)) !=
	    ETIMEDOUT)
		return 0;
	if (weft__deadline_passed(deadline))
		return ETIMEDOUT;
	end_unused_phase(l);
	return 0;
}

/* Flag WRITERS_WAIT and sleep on state until the lock is ours or the deadline. */
static int write_wait(weft_rwlock *l, const weft__deadline *deadline)
{
	uint32_t keep = 0;
	for (;;) {
		uint32_t s = load_state(l);
		/* After sleeping, keep WRITERS_WAIT set: our waker cleared it
		 * and we cannot tell whether other writers still sleep. */
		if (writer_try(l, &s, keep))
			return 0;
		/* relaxed: a flag for the releasing RMW to read. */
		if (!(s & WWAIT) &&
		    !atomic_compare_exchange_strong_explicit(
			    &l->state, &s, s | WWAIT, memory_order_relaxed,
			    memory_order_relaxed))
			continue;
		s |= WWAIT;
		keep = WWAIT;
		if ((s & PHASE) && !(s & READERS)) {
			if (wait_on_empty_phase(l, s, deadline) == ETIMEDOUT)
				return write_give_up(l);
			continue;
		}
		if (weft__futex_wait(&l->state, s, deadline) == ETIMEDOUT)
			return write_give_up(l);
	}
}

int weft__rwlock_write_lock_slow(weft_rwlock *l, uint64_t timeout_ns)
{
	weft__deadline deadline = deadline_for(timeout_ns);
	int rc = lock_slow(l, timeout_ns, false, writer_try_fresh, write_wait);
	/* relaxed: READ_BIAS is set only by an admitted reader (none is
	 * while we hold WRITE_LOCKED) or by a writer that timed out revoking
	 * it (before its unlock), so while we hold the lock this is exact. */
	if (rc == 0 && (load_state(l) & BIAS))
		rc = revoke_bias(l, timeout_ns ? &deadline : NULL);
	return rc;
}

/*
 * Hand the lock to the readers asleep on rseq: bump it (admitting every
 * reader that sampled the old value) and wake them all. `phase` says a read
 * phase was opened (writers wait); if nobody was asleep to use it, close it
 * at once so the writers are not held up by an empty phase.
 */
static void open_read_phase(weft_rwlock *l, bool phase)
{
	/* release: pairs with the acquire load of rseq in read_lock_slow
	 * (makes our state CAS visible to a reader that sees the bump). */
	atomic_fetch_add_explicit(&l->rseq, 1, memory_order_release);
	int woken = weft__futex_wake(&l->rseq, WEFT__FUTEX_WAKE_ALL);
	if (phase && woken == 0)
		end_unused_phase(l);
}

void weft__rwlock_write_unlock_slow(weft_rwlock *l)
{
	uint32_t s = load_state(l);
	for (;;) {
		/* Waiting readers go first; waiting writers keep their flag
		 * and are woken when the read phase ends. */
		/* refused adds not yet undone; a bias a timed-out revocation
		 * put back (revoke_bias) */
		uint32_t next = s & (READERS | BIAS);
		if ((s & RWAIT) && (s & WWAIT))
			next |= PHASE | WWAIT;
		/* release: publishes the write section to the next holder's
		 * acquire CAS (reader_try / writer_try / the fast paths);
		 * acquire: pairs with the release registration of readers
		 * in read_lock_slow (their rseq sample precedes our bump). */
		if (atomic_compare_exchange_weak_explicit(
			    &l->state, &s, next, memory_order_acq_rel,
			    memory_order_relaxed))
			break;
	}
	if (s & RWAIT)
		open_read_phase(l, s & WWAIT);
	else if (s & WWAIT)
		weft__futex_wake(&l->state, 1);
}
