/*
 * weft/mutex.h - a futex mutex in one 32-bit word, biased to its first
 * locker until a second thread takes it (lock reservation).
 *
 * Normal mode, the state machine of `state` (lib/mutex.c):
 *
 *     bit 0       LOCKED   some thread owns the mutex
 *     bit 1       WOKEN    an awake waiter will take the lock: the one
 *                          spinner, or a sleeper an unlock woke that has
 *                          not yet run; unlocks need not wake another one
 *     bits 2..29  SLEEPERS threads registered to sleep on the futex,
 *                          counted in units of WEFT_MUTEX_SLEEPER (4)
 *     bit 30      BWAIT    bias mode only: a thread sleeps on `state`
 *                          until a bias transition ends (lib/mutex_bias.c)
 *     bit 31      BIASED   bias mode only (below)
 *
 *     0                  unlocked, nobody waiting (also all-zero memory)
 *     LOCKED             locked, nobody asleep: unlock is one RMW, no syscall
 *     LOCKED + k*4       locked, k threads asleep or about to sleep
 *     k*4 (+WOKEN)       unlocked with k sleepers (one was woken)
 *
 * lock:   fetch_or LOCKED (acquire): taken if LOCKED was clear, whatever
 *         the other bits hold. On failure, lib/mutex.c may spin (only while
 *         the owner, the spinner and the registered sleepers fit on the
 *         usable CPUs: beyond that a spinner takes a CPU from a thread about
 *         to run). A waiter that may spin and finds WOKEN clear first leaves
 *         the word alone for the owner's tenure but for one look
 *         (MUTEX_TENURE_NS, _PEEK_NS: an owner that keeps re-taking the
 *         lock runs that long undisturbed; the fairness bound in time),
 *         claiming nothing, and takes the lock if it is free then.
 *         Else one waiter at a time becomes the spinner, the one that sets
 *         WOKEN while the lock is held, and polls a bounded time (in ns),
 *         taking the lock the moment it is free and clearing WOKEN in that
 *         CAS. Every other waiter, and the spinner when its time is up,
 *         registers as a sleeper (+4; the spinner clears WOKEN in the same
 *         CAS) and futex-waits while LOCKED is set. A sleeper that runs
 *         again clears WOKEN in the same CAS that either takes the lock and
 *         deregisters (s -> (s - 4) & ~WOKEN | LOCKED) or goes back to
 *         sleep; so WOKEN is only ever set by a running thread that will
 *         clear it.
 * unlock: fetch_sub LOCKED (release). No sleeper, or WOKEN set: done, no
 *         call into lib/. Otherwise the slow path wakes one sleeper, unless
 *         the lock was re-taken meanwhile (that owner's unlock will).
 *         The kernel is entered only when a thread sleeps or commits to
 *         sleeping, and at most once per woken thread, not once per unlock.
 *
 * Bias (lib/mutex_bias.c has the proofs). `owner` says the mode, and only
 * ever moves 0 -> thread -> NOBIAS or 0 -> NOBIAS:
 *
 *     owner 0         undecided (all-zero memory): the first lock decides
 *     owner = thread  biased to that thread (its thread pointer)
 *     owner NOBIAS    normal mode for good: the state machine above, in
 *                     which BIASED and BWAIT are never set
 *
 * Biased mode, `state`:
 *     BIASED            the owner may lock by setting `held`
 *     BIASED|LOCKED     another thread (a revoker, or the first locker
 *                       while it decides) holds the right to change mode
 *     ... |BWAIT        and threads sleep on `state` until it ends
 * `held` (written only by the owner): 1 while it is in, or entering, a
 * critical section.
 *
 * owner lock:   held already 1: we hold it (trylock fails, a timed lock
 *               times out). Else store held=1, compiler fence, load
 *               state: == BIASED is locked, with no locked RMW; else
 *               held=0 and lib/.
 * owner unlock: store held=0 (release), compiler fence, load state;
 *               != BIASED: a revoker may wait on held, wake it.
 * revoke (any other thread, once per mutex): fetch_or LOCKED on BIASED,
 *         membarrier (internal/asym_fence.h), wait for held == 0 (acquire),
 *         then clear BIASED, owner = NOBIAS: it holds LOCKED, normal mode.
 * The store-then-load pairs on each side make an asymmetric Dekker: the
 * revoker's membarrier stands for the owner's missing StoreLoad fence.
 * A mutex is biased only where membarrier works (weft__fence_asym), and
 * not while revocations are rate-limited (lib/mutex_bias.c).
 *
 * Not fair: a running thread may take the lock ahead of a woken sleeper
 * (lock stealing), which keeps throughput high under contention.
 * Not recursive. Unlock it on the thread that locked it (as POSIX
 * requires): a biased mutex knows its owner by the thread pointer.
 * Unlocking a mutex you do not hold is a bug; WEFT_DEBUG builds abort on
 * unlock of an unlocked mutex.
 * Size 16 bytes (8 on 32-bit targets); all-zero memory (WEFT_MUTEX_INIT,
 * a static) is unlocked.
 */
#ifndef WEFT_MUTEX_H
#define WEFT_MUTEX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "weft/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_mutex {
	_Atomic uint32_t state;
	_Atomic uint32_t held;	  /* bias owner only: 1 while in (or entering) */
	_Atomic uintptr_t owner; /* 0, the bias owner's thread pointer, NOBIAS */
} weft_mutex;

#define WEFT_MUTEX_INIT { 0, 0, 0 }
#define WEFT_MUTEX_LOCKED 1u
#define WEFT_MUTEX_WOKEN 2u
#define WEFT_MUTEX_SLEEPER 4u
#define WEFT_MUTEX_BWAIT (1u << 30)
#define WEFT_MUTEX_BIASED (1u << 31)
#define WEFT__MUTEX_NOBIAS ((uintptr_t)1)
/* No thread has this pointer: weft__mutex_self where it is unknown. */
#define WEFT__MUTEX_SELF_UNKNOWN ((uintptr_t)2)

/* Slow paths, in lib/mutex.c. */
WEFT_API int weft__mutex_lock_slow(weft_mutex *m, uint64_t timeout_ns);
WEFT_API void weft__mutex_unlock_slow(weft_mutex *m);

/* Bias slow paths, in lib/mutex_bias.c: lock/trylock while owner is not
 * NOBIAS (any mode; 0 or ETIMEDOUT), and the owner's unlock that found a
 * revoker. */
WEFT_API int weft__mutex_bias_lock(weft_mutex *m, uint64_t timeout_ns);
WEFT_API bool weft__mutex_bias_trylock(weft_mutex *m);
WEFT_API void weft__mutex_bias_unlock_slow(weft_mutex *m);

/*
 * This thread's identity for the bias: the thread pointer, which the
 * C library points at the thread's control block (x86-64: %fs:0 holds its
 * own address; AArch64: tpidr_el0). One source for every compiler, one
 * instruction. volatile: a weft_rt task may resume on another thread, so
 * the value must not be cached across calls. Elsewhere the identity is
 * unknown and no mutex is ever biased (lib/mutex_bias.c checks).
 */
static inline uintptr_t weft__mutex_self(void)
{
	uintptr_t p;
#if defined(__x86_64__)
	__asm__ volatile("mov %%fs:0, %0" : "=r"(p));
#elif defined(__aarch64__)
	__asm__ volatile("mrs %0, tpidr_el0" : "=r"(p));
#else
	p = WEFT__MUTEX_SELF_UNKNOWN;
#endif
	return p;
}

/*
 * The bias owner's lock: announce (held=1), then look for a revoker. No
 * locked RMW. The compiler fence keeps the store before the load in
 * program order; the CPU may still reorder them (StoreLoad), which the
 * revoker's membarrier makes harmless: at the barrier it forces on this
 * thread, either held=1 was already visible (the revoker waits for us) or
 * our load comes after it and sees the revoker's LOCKED (we back off).
 * relaxed store: held=1 publishes nothing (the revoker acquires on the
 * release store of held=0 that ends each critical section). relaxed load:
 * only BIASED exactly lets us in, and the critical sections it orders are
 * all this thread's own (program order); the first was acquired by the
 * first-lock path (lib/mutex_bias.c), and once revoked a mutex is never
 * biased again, so no other thread's section can precede ours here.
 * Without membarrier no mutex is biased, so this path never runs.
 */
static inline bool weft__mutex_bias_enter(weft_mutex *m)
{
	/* relaxed: our own store (only the owner writes held): set means we
	 * hold it already, and a trylock or timed lock must fail. */
	if (atomic_load_explicit(&m->held, memory_order_relaxed))
		return false;
	atomic_store_explicit(&m->held, 1, memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);
	if (WEFT_LIKELY(atomic_load_explicit(&m->state, memory_order_relaxed) ==
			WEFT_MUTEX_BIASED))
		return true;
	/* release: as the unlock's (below); lib/ wakes a waiting revoker. */
	atomic_store_explicit(&m->held, 0, memory_order_release);
	return false;
}

/*
 * The mode, for lock and trylock. acquire: pairs with the release stores
 * of NOBIAS (lib/mutex_bias.c), made after BIASED was cleared for good, so
 * a thread that reads NOBIAS then finds `state` in normal mode.
 */
static inline uintptr_t weft__mutex_owner(weft_mutex *m)
{
	return atomic_load_explicit(&m->owner, memory_order_acquire);
}

/*
 * Set LOCKED and report whether it was clear: one RMW whatever the other
 * bits hold (x86-64: lock bts; ARM64 LSE: ldseta), so an owner takes the
 * lock in one instruction even while sleepers are registered (a CAS from
 * 0 would fail on the sleeper count and cost a second RMW and a call).
 * Setting a bit that is already set changes nothing, so a failed attempt
 * leaves the word as it was.
 * acquire: pairs with the release fetch_sub in weft_mutex_unlock (and the
 * release RMWs of the slow path), so the previous owner's critical
 * section happens-before ours.
 */
static inline bool weft__mutex_take(weft_mutex *m)
{
	return !(atomic_fetch_or_explicit(&m->state, WEFT_MUTEX_LOCKED,
					  memory_order_acquire) &
		 WEFT_MUTEX_LOCKED);
}

/* Take the lock if it is free, even when sleepers are registered. */
static inline bool weft_mutex_trylock(weft_mutex *m)
{
	const uintptr_t o = weft__mutex_owner(m);
	if (WEFT_UNLIKELY(o != WEFT__MUTEX_NOBIAS))
		return (o == weft__mutex_self() && weft__mutex_bias_enter(m)) ||
		       weft__mutex_bias_trylock(m);
	return weft__mutex_take(m);
}

static inline void weft_mutex_lock(weft_mutex *m)
{
	const uintptr_t o = weft__mutex_owner(m);
	if (WEFT_UNLIKELY(o != WEFT__MUTEX_NOBIAS)) {
		if (WEFT_LIKELY(o == weft__mutex_self() && weft__mutex_bias_enter(m)))
			return;
		(void)weft__mutex_bias_lock(m, WEFT_TIMEOUT_NEVER);
		return;
	}
	if (WEFT_LIKELY(weft__mutex_take(m)))
		return;
	(void)weft__mutex_lock_slow(m, WEFT_TIMEOUT_NEVER);
}

/*
 * Lock, waiting at most timeout_ns (CLOCK_MONOTONIC). 0 when locked,
 * ETIMEDOUT otherwise. timeout_ns == 0 is trylock.
 */
static inline int weft_mutex_lock_timeout(weft_mutex *m, uint64_t timeout_ns)
{
	const uintptr_t o = weft__mutex_owner(m);
	if (WEFT_UNLIKELY(o != WEFT__MUTEX_NOBIAS)) {
		if (o == weft__mutex_self() && weft__mutex_bias_enter(m))
			return 0;
		return weft__mutex_bias_lock(m, timeout_ns);
	}
	if (WEFT_LIKELY(weft__mutex_take(m)))
		return 0;
	return weft__mutex_lock_slow(m, timeout_ns);
}

/*
 * Release; enter lib/ only to wake a sleeper: when sleepers are registered
 * and WOKEN is clear (no spinner, no woken sleeper on its way).
 */
static inline void weft_mutex_unlock(weft_mutex *m)
{
	/* relaxed: we hold the mutex, so its mode is settled for us: NOBIAS
	 * (final; we read it, or it was stored before the release we acquired)
	 * or ourselves (a revoker waits for held == 0 before changing it). */
	const uintptr_t o = atomic_load_explicit(&m->owner, memory_order_relaxed);
	if (WEFT_UNLIKELY(o != WEFT__MUTEX_NOBIAS)) {
		WEFT_DEBUG_CHECK(o == weft__mutex_self() &&
					 atomic_load_explicit(&m->held, memory_order_relaxed),
				 "weft_mutex_unlock: biased mutex not held by this thread");
		/* release: ends the critical section; pairs with a revoker's
		 * acquire load of held (lib/mutex_bias.c). Then the other half
		 * of the Dekker pair (weft__mutex_bias_enter): a revoker that
		 * saw held == 1 is seen here, and waits to be woken. */
		atomic_store_explicit(&m->held, 0, memory_order_release);
		atomic_signal_fence(memory_order_seq_cst);
		if (WEFT_UNLIKELY(atomic_load_explicit(&m->state, memory_order_relaxed) !=
				  WEFT_MUTEX_BIASED))
			weft__mutex_bias_unlock_slow(m);
		return;
	}
	/* release: publishes the critical section to the next owner's acquire
	 * RMW (weft__mutex_take or the slow path's CAS). */
	uint32_t old = atomic_fetch_sub_explicit(&m->state, WEFT_MUTEX_LOCKED,
						 memory_order_release);
	WEFT_DEBUG_CHECK(old & WEFT_MUTEX_LOCKED,
			 "weft_mutex_unlock: mutex is not locked");
	if (WEFT_UNLIKELY(old >= WEFT_MUTEX_SLEEPER && !(old & WEFT_MUTEX_WOKEN)))
		weft__mutex_unlock_slow(m);
}

#ifdef __cplusplus
}
#endif

#endif /* WEFT_MUTEX_H */
