/*
 * weft/rwlock.h - a futex reader-writer lock in two 32-bit words.
 *
 * `state` (readers and writers both RMW it; writers sleep on it):
 *
 *     bits 0..26  READERS       read holders, plus readers whose entry add
 *                               failed and is about to be undone (the
 *                               read fast path is a speculative add)
 *     bit 27      PHASE_USED    an admitted reader entered the READ_PHASE
 *                               (so a refused add that leaves last ends it)
 *     bit 28      WRITE_LOCKED  a writer holds the lock (READERS then counts
 *                               only refused adds)
 *     bit 29      READ_PHASE    a writer's unlock handed the lock to the
 *                               readers that were waiting; writers stay out
 *                               until the phase ends
 *     bit 30      READERS_WAIT  readers are asleep (or about to sleep) on `rseq`
 *     bit 31      WRITERS_WAIT  writers are asleep (or about to sleep) on `state`
 *
 * `rseq`: bumped by every hand-off to readers; readers sleep on it. A reader
 * that sees it change while it waits is "admitted" to the phase in progress.
 *
 * Policy (neither side starves):
 *   - a waiting writer (WRITERS_WAIT) stops new readers from entering, so a
 *     stream of readers cannot shut a writer out: the readers inside drain,
 *     and the last one out wakes a writer;
 *   - a writer's unlock prefers waiting readers over waiting writers: it
 *     opens a READ_PHASE in which the readers that were asleep (and only
 *     they) may enter although writers wait, and writers may not; the phase
 *     ends when the read count next drops to 0 after one of them entered
 *     (that reader wakes a writer), or at once if none can come, so a
 *     stream of writers cannot shut readers out either. Under
 *     contention from both sides the lock alternates writer, reader batch,
 *     writer, ...
 * Without contention: read lock is one fetch_add, read unlock one fetch_sub,
 * write lock and unlock one CAS each; no system call unless a thread sleeps.
 * The read lock adds first and looks afterwards: under contention a CAS
 * would need the line twice (a load, then the CAS, which also fails
 * whenever another reader got in between), the add once. A reader whose add
 * finds a writer undoes it in the slow path, so a writer may briefly see a
 * count with no real reader behind it, which only delays it (the undo does
 * what the last reader out would do). read_trylock uses a CAS, so a refused
 * trylock leaves no trace.
 *
 * Oversubscription (lib/internal/park.h): a thread that must wait (its
 * first try failed and it has time) is counted as a waiter of the lock;
 * if at least as many waiters as online CPUs were counted already (for a
 * writer: waiters not parked themselves), it first
 * parks for up to 1 ms (never past its own deadline), unseen by the state
 * word, and then waits as above. The threads left running get long runs
 * on few CPUs instead of every CPU moving the lock line on every operation
 * (on 2 CPUs: r90w10 at 4 and 8 threads from about 40M to 65-130M ops/s).
 * Parking does not touch the state machine: a parked thread holds no count
 * (a reader undoes its refused add first) and no flag, so it blocks nobody
 * and no wake-up is owed to it or can be lost on it (nobody wakes it; its
 * timer ends the park). A parked writer is not yet a waiting writer:
 * readers still enter during its park, and once it waits, the rules above
 * apply. Parking lengthens one acquisition by 1 ms of timer plus the time
 * the scheduler takes to hand the thread a CPU again (3-8 ms measured on 2
 * busy CPUs), and only when more threads wait for the lock than can run;
 * that is why a writer does not park behind parked waiters. The waiter
 * counts' atomics are relaxed: they only choose whether to park, and the
 * state word's atomics order everything the waiter then does.
 *
 * Not recursive: a reader that re-enters while a writer waits deadlocks (as
 * with writer-preferring pthread rwlocks). No owner tracking.
 * Size 8 bytes; all-zero memory (WEFT_RWLOCK_INIT, a static) is unlocked.
 */
#ifndef WEFT_RWLOCK_H
#define WEFT_RWLOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "weft/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_rwlock {
	_Atomic uint32_t state;
	_Atomic uint32_t rseq;
} weft_rwlock;

#define WEFT_RWLOCK_INIT { 0, 0 }

#define WEFT_RWLOCK_READERS 0x07ffffffu
#define WEFT_RWLOCK_PHASE_USED (1u << 27)
#define WEFT_RWLOCK_WRITE_LOCKED (1u << 28)
#define WEFT_RWLOCK_READ_PHASE (1u << 29)
#define WEFT_RWLOCK_READERS_WAIT (1u << 30)
#define WEFT_RWLOCK_WRITERS_WAIT (1u << 31)
/* Readers refused beyond this count: the rest of the field is headroom for
 * speculative adds, which must never carry into WRITE_LOCKED. */
#define WEFT_RWLOCK_MAX_READERS (WEFT_RWLOCK_READERS / 2)

/* Slow paths, in lib/rwlock.c. read_lock_slow first undoes the refused add
 * of the fast path. */
int weft_rwlock_read_lock_slow(weft_rwlock *l, uint64_t timeout_ns);
void weft_rwlock_read_unlock_slow(weft_rwlock *l);
int weft_rwlock_write_lock_slow(weft_rwlock *l, uint64_t timeout_ns);
void weft_rwlock_write_unlock_slow(weft_rwlock *l);

/* A fresh reader may enter: no writer holds or waits, count not saturated. */
static inline bool weft_rwlock_read_open(uint32_t s)
{
	return !(s & (WEFT_RWLOCK_WRITE_LOCKED | WEFT_RWLOCK_WRITERS_WAIT)) &&
	       (s & WEFT_RWLOCK_READERS) < WEFT_RWLOCK_MAX_READERS;
}

static inline bool weft_rwlock_read_trylock(weft_rwlock *l)
{
	/* relaxed: a guess for the CAS, which does the ordering. */
	uint32_t s = atomic_load_explicit(&l->state, memory_order_relaxed);
	while (weft_rwlock_read_open(s)) {
		/* acquire: pairs with the release CAS of weft_rwlock_write_unlock
		 * (the last writer's section happens-before this reader's). */
		if (atomic_compare_exchange_weak_explicit(
			    &l->state, &s, s + 1, memory_order_acquire,
			    memory_order_relaxed))
			return true;
	}
	return false;
}

/*
 * 0 when read-locked, ETIMEDOUT after timeout_ns; 0 ns is a trylock.
 * Enters by a speculative add; the slow path undoes a refused one.
 */
static inline int weft_rwlock_read_lock_timeout(weft_rwlock *l,
						uint64_t timeout_ns)
{
	/* acquire: pairs with the release CAS of weft_rwlock_write_unlock
	 * (the last writer's section happens-before this reader's). */
	uint32_t s = atomic_fetch_add_explicit(&l->state, 1,
					       memory_order_acquire);
	if (WEFT_LIKELY(weft_rwlock_read_open(s)))
		return 0;
	return weft_rwlock_read_lock_slow(l, timeout_ns);
}

static inline void weft_rwlock_read_lock(weft_rwlock *l)
{
	(void)weft_rwlock_read_lock_timeout(l, WEFT_TIMEOUT_NEVER);
}

static inline void weft_rwlock_read_unlock(weft_rwlock *l)
{
	/* release: publishes the read section (its reads) to the next
	 * writer's acquire CAS, so the writer cannot overwrite data early. */
	uint32_t old = atomic_fetch_sub_explicit(&l->state, 1,
						 memory_order_release);
	WEFT_DEBUG_CHECK(old & WEFT_RWLOCK_READERS,
			 "weft_rwlock_read_unlock: not read-locked");
	/* Last reader out while a writer waits: wake it (or end a phase). */
	if (WEFT_UNLIKELY((old & WEFT_RWLOCK_READERS) == 1 &&
			  (old & WEFT_RWLOCK_WRITERS_WAIT)))
		weft_rwlock_read_unlock_slow(l);
}

static inline bool weft_rwlock_write_trylock(weft_rwlock *l)
{
	/* relaxed: a guess for the CAS. */
	uint32_t s = atomic_load_explicit(&l->state, memory_order_relaxed);
	while (!(s & (WEFT_RWLOCK_READERS | WEFT_RWLOCK_WRITE_LOCKED |
		      WEFT_RWLOCK_READ_PHASE))) {
		/* acquire: pairs with the release of read_unlock / write_unlock. */
		if (atomic_compare_exchange_weak_explicit(
			    &l->state, &s, s | WEFT_RWLOCK_WRITE_LOCKED,
			    memory_order_acquire, memory_order_relaxed))
			return true;
	}
	return false;
}

static inline void weft_rwlock_write_lock(weft_rwlock *l)
{
	uint32_t s = 0;
	/* acquire: pairs with the release of read_unlock / write_unlock. */
	if (WEFT_LIKELY(atomic_compare_exchange_strong_explicit(
		    &l->state, &s, WEFT_RWLOCK_WRITE_LOCKED,
		    memory_order_acquire, memory_order_relaxed)))
		return;
	(void)weft_rwlock_write_lock_slow(l, WEFT_TIMEOUT_NEVER);
}

/* 0 when write-locked, ETIMEDOUT after timeout_ns; 0 ns is a trylock. */
static inline int weft_rwlock_write_lock_timeout(weft_rwlock *l,
						 uint64_t timeout_ns)
{
	uint32_t s = 0;
	/* acquire: pairs with the release of read_unlock / write_unlock. */
	if (WEFT_LIKELY(atomic_compare_exchange_strong_explicit(
		    &l->state, &s, WEFT_RWLOCK_WRITE_LOCKED,
		    memory_order_acquire, memory_order_relaxed)))
		return 0;
	return weft_rwlock_write_lock_slow(l, timeout_ns);
}

static inline void weft_rwlock_write_unlock(weft_rwlock *l)
{
	uint32_t s = WEFT_RWLOCK_WRITE_LOCKED;
	/* release: publishes the write section to the next acquire CAS of a
	 * reader or writer. */
	if (WEFT_LIKELY(atomic_compare_exchange_strong_explicit(
		    &l->state, &s, 0, memory_order_release,
		    memory_order_relaxed)))
		return;
	WEFT_DEBUG_CHECK(s & WEFT_RWLOCK_WRITE_LOCKED,
			 "weft_rwlock_write_unlock: not write-locked");
	weft_rwlock_write_unlock_slow(l);
}

#ifdef __cplusplus
}
#endif

#endif /* WEFT_RWLOCK_H */
