/*
 * weft/rwlock.h - a futex reader-writer lock in two 32-bit words.
 *
 * `state` (readers and writers both RMW it; writers sleep on it):
 *
 *     bits 0..25  READERS       counted read holders, plus readers whose
 *                               entry add failed and is about to be undone
 *                               (the read fast path is a speculative add)
 *     bit 26      READ_BIAS     readers may enter as visible readers
 *                               (below) without touching this word
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
 * Without contention: read lock is one fetch_add, read unlock one fetch_sub
 * (on a read-biased lock: a CAS and an exchange on the reader's own table
 * entry, below), write lock and unlock one CAS each; no system call unless
 * a thread sleeps.
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
 * Visible readers (BRAVO, Dice and Kogan, USENIX ATC 2019). Counted readers
 * all write the state word, so with readers on two CPUs every read moves
 * its line between them. While READ_BIAS is set, a reader instead claims
 * an entry of a global table picked by hashing its thread and the lock
 * (weft__rw_visible_readers: 256 cache lines, so the lock stays 8 bytes)
 * by a CAS from 0 to the lock's address, then checks that READ_BIAS is
 * still set; its unlock exchanges 0 back (and so sees, and wakes, a writer
 * asleep on the entry). Readers on different CPUs then share the
 * lock's line read-only and write only their own entries. A reader whose
 * entry is taken (another thread or lock hashes there), or who finds the
 * bias gone, enters counted as above; a thread remembers in its entry
 * whether it last saw the lock biased, so an unbiased lock costs a reader
 * one load of its entry before the add.
 *   - Bias on: an admitted counted reader that finds other readers inside
 *     (READERS > 0 before its add) and no writer holding or waiting sets
 *     READ_BIAS, at most once per 64 such reads of a thread and not while
 *     the lock's bias is inhibited (below). A visible reader that finds a
 *     writer holding or waiting enters counted instead, so the policy
 *     above applies to it.
 *   - Bias off: a writer that takes WRITE_LOCKED with READ_BIAS set clears
 *     it, then waits until no table entry names the lock, spinning and
 *     then asleep on the entry (new readers see the lock write-locked and
 *     wait as counted readers), then inhibits
 *     the bias for INHIBIT_FACTOR (16) times as long as this took, so that
 *     revocations cost writers at most about 1/17 of their time, and for
 *     at least 10 ms (lib/rwlock.c): the bias pays on locks written less
 *     often than that.
 *   - The clear and the entry CAS are both seq_cst, as are the writer's
 *     reads of the entries and the reader's check of READ_BIAS: of a
 *     writer and a reader racing, at least one sees the other (Dekker).
 *   - A writer's timeout also bounds its wait for visible readers; when
 *     it expires the writer sets READ_BIAS back (so the next writer waits
 *     for them too), unlocks and fails with ETIMEDOUT.
 * A read lock must be released by the thread that took it (as for
 * pthread_rwlock_unlock): the unlock finds its entry by the thread.
 *
 * Not recursive: a reader that re-enters while a writer waits deadlocks (as
 * with writer-preferring pthread rwlocks). No owner tracking.
 * Size 8 bytes; all-zero memory (WEFT_RWLOCK_INIT, a static) is unlocked.
 */
#ifndef WEFT_RWLOCK_H
#define WEFT_RWLOCK_H

#include <pthread.h>
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

#define WEFT_RWLOCK_READERS 0x03ffffffu
#define WEFT_RWLOCK_READ_BIAS (1u << 26)
#define WEFT_RWLOCK_PHASE_USED (1u << 27)
#define WEFT_RWLOCK_WRITE_LOCKED (1u << 28)
#define WEFT_RWLOCK_READ_PHASE (1u << 29)
#define WEFT_RWLOCK_READERS_WAIT (1u << 30)
#define WEFT_RWLOCK_WRITERS_WAIT (1u << 31)
/* Readers refused beyond this count: the rest of the field is headroom for
 * speculative adds, which must never carry into READ_BIAS. */
#define WEFT_RWLOCK_MAX_READERS (WEFT_RWLOCK_READERS / 2)

/*
 * A visible-reader entry (internal; see "Visible readers" above). `lock` is
 * the address of the lock a reader holds through this entry (0: free),
 * plus WEFT__RW_WRITER_WAITS when that lock's writer sleeps on `wake`
 * until the reader leaves; `owner` is that reader's thread; `hint` the
 * lock a thread hashing here last saw biased, `countdown` its reads until
 * the next check whether to bias the lock.
 */
typedef struct weft__rw_visible {
	WEFT_ALIGNED_CACHELINE _Atomic uintptr_t lock;
	_Atomic uintptr_t owner;
	_Atomic(weft_rwlock *) hint;
	_Atomic uint32_t countdown;
	_Atomic uint32_t wake;
} weft__rw_visible;

#define WEFT__RW_WRITER_WAITS ((uintptr_t)1)

#define WEFT__RW_VISIBLE_BITS 8
extern weft__rw_visible weft__rw_visible_readers[1u << WEFT__RW_VISIBLE_BITS];

/* The calling thread, as a number unique among live threads. */
static inline uintptr_t weft__rw_self(void)
{
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
	return (uintptr_t)__builtin_thread_pointer(); /* one register read */
#else
	return (uintptr_t)pthread_self();
#endif
}

/* The calling thread's entry for lock l. */
static inline weft__rw_visible *weft__rw_entry(weft_rwlock *l)
{
	return &weft__rw_visible_readers[weft__hash_bits(
		weft__rw_self() ^ ((uintptr_t)l >> 3), WEFT__RW_VISIBLE_BITS)];
}

/* Visible-reader paths, in lib/rwlock.c: enter (true: in, as a visible
 * reader), leave (true: this thread held the lock the caller found in e),
 * and the note of an admitted counted reader that found the lock biased
 * or shared. */
bool weft__rwlock_read_visible(weft_rwlock *l, weft__rw_visible *e);
bool weft__rwlock_read_unlock_visible(weft__rw_visible *e);
void weft__rwlock_read_shared(weft_rwlock *l, weft__rw_visible *e, uint32_t s);
/* A writer that took WRITE_LOCKED with READ_BIAS set, without time to
 * wait: revoke the bias; false (and unlocked) if visible readers remain. */
bool weft__rwlock_write_revoke_now(weft_rwlock *l);

/* Slow paths, in lib/rwlock.c. read_lock_slow first undoes the refused add
 * of the fast path. */
int weft__rwlock_read_lock_slow(weft_rwlock *l, uint64_t timeout_ns);
void weft__rwlock_read_unlock_slow(weft_rwlock *l);
int weft__rwlock_write_lock_slow(weft_rwlock *l, uint64_t timeout_ns);
void weft__rwlock_write_unlock_slow(weft_rwlock *l);

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
	weft__rw_visible *e = weft__rw_entry(l);
	/* relaxed: a hint; weft__rwlock_read_visible does the checking. */
	if (atomic_load_explicit(&e->hint, memory_order_relaxed) == l &&
	    weft__rwlock_read_visible(l, e))
		return 0;
	/* acquire: pairs with the release CAS of weft_rwlock_write_unlock
	 * (the last writer's section happens-before this reader's). */
	uint32_t s = atomic_fetch_add_explicit(&l->state, 1,
					       memory_order_acquire);
	if (WEFT_LIKELY(weft_rwlock_read_open(s))) {
		if (WEFT_UNLIKELY(s & (WEFT_RWLOCK_READ_BIAS | WEFT_RWLOCK_READERS)))
			weft__rwlock_read_shared(l, e, s);
		return 0;
	}
	return weft__rwlock_read_lock_slow(l, timeout_ns);
}

static inline void weft_rwlock_read_lock(weft_rwlock *l)
{
	(void)weft_rwlock_read_lock_timeout(l, WEFT_TIMEOUT_NEVER);
}

static inline void weft_rwlock_read_unlock(weft_rwlock *l)
{
	weft__rw_visible *e = weft__rw_entry(l);
	/* relaxed: this thread's own CAS put l there if it entered through e;
	 * weft__rwlock_read_unlock_visible checks the owner. */
	if ((atomic_load_explicit(&e->lock, memory_order_relaxed) &
	     ~WEFT__RW_WRITER_WAITS) == (uintptr_t)l &&
	    weft__rwlock_read_unlock_visible(e))
		return;
	/* release: publishes the read section (its reads) to the next
	 * writer's acquire CAS, so the writer cannot overwrite data early. */
	uint32_t old = atomic_fetch_sub_explicit(&l->state, 1,
						 memory_order_release);
	WEFT_DEBUG_CHECK(old & WEFT_RWLOCK_READERS,
			 "weft_rwlock_read_unlock: not read-locked");
	/* Last reader out while a writer waits: wake it (or end a phase). */
	if (WEFT_UNLIKELY((old & WEFT_RWLOCK_READERS) == 1 &&
			  (old & WEFT_RWLOCK_WRITERS_WAIT)))
		weft__rwlock_read_unlock_slow(l);
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
			return !(s & WEFT_RWLOCK_READ_BIAS) ||
			       weft__rwlock_write_revoke_now(l);
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
	(void)weft__rwlock_write_lock_slow(l, WEFT_TIMEOUT_NEVER);
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
	return weft__rwlock_write_lock_slow(l, timeout_ns);
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
	weft__rwlock_write_unlock_slow(l);
}

#ifdef __cplusplus
}
#endif

#endif /* WEFT_RWLOCK_H */
