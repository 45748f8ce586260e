/*
 * weft/rwlock.h - a phase-fair futex reader-writer lock in two 32-bit words.
 *
 * `state` (every change is an RMW; readers sleep on it):
 *     bits 0..15   READERS   read holders, plus refused adds not yet undone
 *                            (the read fast path adds first, looks after)
 *     bits 16..27  WAITING   readers asleep, registered for the next grant
 *     bit 28       GRANT     flipped by every grant (below)
 *     bit 29       BIAS      readers may enter through the visible-reader
 *                            table instead of READERS (lib/rwlock_bias.c)
 *     bit 30       WLOCKED   a writer holds the lock
 *     bit 31       WWAIT     writers sleep (or are about to) on `writer_seq`
 * `writer_seq`: bumped by every wake-up of a writer; writers sleep on it.
 *
 * Predicates (as used below and in lib/rwlock.c):
 *     free(s)          READERS == 0 and !WLOCKED
 *     read_open(s)     !WLOCKED, !WWAIT, READERS below WEFT__RWLOCK_MAX_READERS
 *     write_open(s)    free(s)
 *
 * Policy, phase-fair: a waiting writer (WWAIT) stops new readers, so the
 * readers inside drain and the last one out wakes a writer; a writer's
 * unlock grants the lock to every registered reader at once (WAITING moves
 * into READERS and GRANT flips, in one CAS) before any writer, so under
 * contention from both sides the lock alternates writer, batch of readers,
 * writer. A granted reader already holds the lock when it wakes. A reader
 * that times out deregisters (WAITING - 1) in a CAS that first checks
 * GRANT: if GRANT moved, it was granted and returns 0 instead. No phase
 * is ever opened for a reader that is gone, so no timer is needed.
 * A reader or writer that makes the lock free with WWAIT set wakes one
 * writer (clearing WWAIT; the woken one sets it again if it must wait on);
 * if no writer was asleep, it grants the waiting readers instead.
 * A writer whose timeout expires takes the lock if it is free, and
 * otherwise leaves WWAIT set, so the holder's release wakes the next
 * writer: a wake-up it may have swallowed is passed on.
 *
 * Read bias (BRAVO, Dice and Kogan 2019): while BIAS is set, a reader
 * calls into the library, which marks the lock in a table entry of its own
 * thread (lib/rwlock_bias.c) and leaves `state` alone, so readers on
 * different CPUs share its line read-only. A writer that takes WLOCKED
 * with BIAS set clears it and waits until no entry names the lock. Only
 * the library computes thread identity and table indexes.
 *
 * Orders: the read fast path's add and the writer's lock CAS are acquire;
 * every unlock and grant is a release RMW on `state`, and since every
 * change to `state` is an RMW, each release heads a release sequence that
 * the next holder's acquire reads from. A read lock is released by the
 * thread that took it (as for pthread_rwlock_unlock). Not recursive: a
 * reader that re-enters while a writer waits deadlocks.
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
	_Atomic uint32_t writer_seq;
} weft_rwlock;

#define WEFT_RWLOCK_INIT { 0, 0 }

#define WEFT__RWLOCK_READERS 0x0000ffffu
#define WEFT__RWLOCK_WAIT_ONE (1u << 16)
#define WEFT__RWLOCK_WAITING 0x0fff0000u
#define WEFT__RWLOCK_GRANT (1u << 28)
#define WEFT__RWLOCK_BIAS (1u << 29)
#define WEFT__RWLOCK_WLOCKED (1u << 30)
#define WEFT__RWLOCK_WWAIT (1u << 31)
/* Beyond this many readers a fresh one is refused: the rest of READERS is
 * headroom for refused adds, which must never carry into WAITING. */
#define WEFT__RWLOCK_MAX_READERS 0x8000u

/* In lib/: the biased read paths (true: done through this thread's entry),
 * the note of a counted reader that found others inside, the slow paths. */
WEFT_API bool weft__rwlock_read_biased(weft_rwlock *l);
WEFT_API bool weft__rwlock_read_unlock_biased(weft_rwlock *l);
WEFT_API void weft__rwlock_read_shared(weft_rwlock *l);
WEFT_API int weft__rwlock_read_lock_slow(weft_rwlock *l, uint64_t timeout_ns);
WEFT_API void weft__rwlock_read_unlock_slow(weft_rwlock *l);
WEFT_API bool weft__rwlock_write_trylock_slow(weft_rwlock *l);
WEFT_API int weft__rwlock_write_lock_slow(weft_rwlock *l, uint64_t timeout_ns);
WEFT_API void weft__rwlock_write_unlock_slow(weft_rwlock *l);

static inline bool weft__rwlock_read_open(uint32_t s)
{
	return !(s & (WEFT__RWLOCK_WLOCKED | WEFT__RWLOCK_WWAIT)) &&
	       (s & WEFT__RWLOCK_READERS) < WEFT__RWLOCK_MAX_READERS;
}

static inline bool weft_rwlock_read_trylock(weft_rwlock *l)
{
	/* relaxed: a guess for the CAS, which does the ordering. */
	uint32_t s = atomic_load_explicit(&l->state, memory_order_relaxed);
	if ((s & WEFT__RWLOCK_BIAS) && weft__rwlock_read_biased(l))
		return true;
	while (weft__rwlock_read_open(s)) {
		/* acquire: pairs with the release of the last write unlock. */
		if (atomic_compare_exchange_weak_explicit(
			    &l->state, &s, s + 1, memory_order_acquire,
			    memory_order_relaxed))
			return true;
	}
	return false;
}

/*
 * 0 when read-locked, ETIMEDOUT after timeout_ns (0 ns: a trylock), EAGAIN
 * when WEFT__RWLOCK_MAX_READERS readers hold it (as pthread's rdlock).
 */
static inline int weft_rwlock_read_lock_timeout(weft_rwlock *l,
						uint64_t timeout_ns)
{
	/* relaxed: only chooses the path; each path orders itself. */
	uint32_t s = atomic_load_explicit(&l->state, memory_order_relaxed);
	if (WEFT_UNLIKELY(s & WEFT__RWLOCK_BIAS) && weft__rwlock_read_biased(l))
		return 0;
	/* acquire: pairs with the release of the last write unlock (through
	 * the release sequence of `state`). */
	s = atomic_fetch_add_explicit(&l->state, 1, memory_order_acquire);
	if (WEFT_LIKELY(weft__rwlock_read_open(s))) {
		if (WEFT_UNLIKELY(s & WEFT__RWLOCK_READERS))
			weft__rwlock_read_shared(l); /* may bias the lock */
		return 0;
	}
	return weft__rwlock_read_lock_slow(l, timeout_ns); /* undoes the add */
}

static inline void weft_rwlock_read_lock(weft_rwlock *l)
{
	int rc = weft_rwlock_read_lock_timeout(l, WEFT_TIMEOUT_NEVER);
	if (WEFT_UNLIKELY(rc))
		weft__debug_abort("weft_rwlock_read_lock: too many readers");
}

static inline void weft_rwlock_read_unlock(weft_rwlock *l)
{
	/* relaxed: a visible reader's entry keeps BIAS or WLOCKED set until
	 * it leaves (coherence: it read BIAS when it entered), so a reader
	 * that sees neither holds a count. */
	uint32_t s = atomic_load_explicit(&l->state, memory_order_relaxed);
	if (WEFT_UNLIKELY(s & (WEFT__RWLOCK_BIAS | WEFT__RWLOCK_WLOCKED)) &&
	    weft__rwlock_read_unlock_biased(l))
		return;
	/* release: publishes the read section to the next writer's acquire. */
	s = atomic_fetch_sub_explicit(&l->state, 1, memory_order_release);
	WEFT_DEBUG_CHECK(s & WEFT__RWLOCK_READERS,
			 "weft_rwlock_read_unlock: not read-locked");
	/* Last reader out of a lock a writer waits for: wake it. */
	if (WEFT_UNLIKELY((s & (WEFT__RWLOCK_READERS | WEFT__RWLOCK_WWAIT |
				WEFT__RWLOCK_WLOCKED)) == (1 | WEFT__RWLOCK_WWAIT)))
		weft__rwlock_read_unlock_slow(l);
}

static inline bool weft_rwlock_write_trylock(weft_rwlock *l)
{
	uint32_t s = 0;
	/* acquire: pairs with the release of the last unlock. */
	return atomic_compare_exchange_strong_explicit(
		       &l->state, &s, WEFT__RWLOCK_WLOCKED, memory_order_acquire,
		       memory_order_relaxed) ||
	       weft__rwlock_write_trylock_slow(l);
}

/* 0 when write-locked, ETIMEDOUT after timeout_ns; 0 ns is a trylock. */
static inline int weft_rwlock_write_lock_timeout(weft_rwlock *l,
						 uint64_t timeout_ns)
{
	uint32_t s = 0;
	/* acquire: pairs with the release of the last unlock. */
	if (WEFT_LIKELY(atomic_compare_exchange_strong_explicit(
		    &l->state, &s, WEFT__RWLOCK_WLOCKED, memory_order_acquire,
		    memory_order_relaxed)))
		return 0;
	return weft__rwlock_write_lock_slow(l, timeout_ns);
}

static inline void weft_rwlock_write_lock(weft_rwlock *l)
{
	(void)weft_rwlock_write_lock_timeout(l, WEFT_TIMEOUT_NEVER);
}

static inline void weft_rwlock_write_unlock(weft_rwlock *l)
{
	uint32_t s = WEFT__RWLOCK_WLOCKED;
	/* release: publishes the write section to the next acquire. */
	if (WEFT_LIKELY(atomic_compare_exchange_strong_explicit(
		    &l->state, &s, 0, memory_order_release,
		    memory_order_relaxed)))
		return;
	WEFT_DEBUG_CHECK(s & WEFT__RWLOCK_WLOCKED,
			 "weft_rwlock_write_unlock: not write-locked");
	weft__rwlock_write_unlock_slow(l);
}

#ifdef __cplusplus
}
#endif

#endif /* WEFT_RWLOCK_H */
