/*
 * weft/ring.h - a bounded lock-free ring of void * items.
 *
 * Capacity is rounded up to a power of two (at least 2); init returns
 * EINVAL for 0 or more than 2^31 slots. NULL is a valid item. A ring is used
 * in one mode for its whole life, never both:
 *
 * MPMC (weft_ring_push / pop / push_n / pop_n), any number of producers and
 * consumers: Dmitry Vyukov's bounded MPMC queue (per-slot sequence numbers,
 * 1024cores.net, "Bounded MPMC queue"). Slot i holds {seq, item}; position p
 * maps to slot p & mask, and
 *
 *     seq == p          the slot is free for the producer of position p
 *     seq == p + 1      the slot holds the item of position p
 *     seq == p + cap    freed by the consumer of p: free for position p + cap
 *
 * push: read seq of slot(tail); if it equals tail, CAS tail -> tail + 1
 *       (the one RMW), write the item, publish with seq = tail + 1 (release).
 *       seq < tail means the slot still holds last lap's item: full.
 * pop:  symmetric on head; seq < head + 1 means not yet published: empty.
 * Producers and consumers share no index: a producer touches the tail line
 * and the slot, a consumer the head line and the slot. Only positions claimed
 * and not yet published can make pop report empty while later items wait
 * (a preempted producer between its CAS and its publish), and push report
 * full in the mirror case; both are lock-free, never a wait.
 * Bulk, in DPDK's two flavours: push_n / pop_n ("burst") move up to n items,
 * push_bulk / pop_bulk ("bulk") all n or none. Both claim their slots with
 * one CAS (tail += k). They read the last slot of the wanted batch first:
 * a caller waiting for a batch to fill (or drain) then polls one line, not
 * the lines the other side is still writing. When that slot is ready the
 * whole batch is prefetched for writing and checked slot by slot (another
 * producer's slot in the middle may still be pending); when it is not,
 * push_bulk / pop_bulk return EAGAIN and push_n / pop_n move the ready
 * prefix. A successful claim also prefetches the caller's next batch, so
 * its line transfers overlap this batch's work. Never blocking. For
 * throughput, a side that waits for whole batches should use the
 * all-or-nothing calls and, after EAGAIN, back off for about the time the
 * other side needs to move one batch rather than re-poll at once
 * (bench/bench_queues.c, "Bulk body", says why).
 * Chosen over a head/tail reservation with in-order commit (ck_ring_mpmc's
 * scheme: 8-byte slots, but consumers read the producers' index and a
 * preempted producer stalls every later one): bench/bench_queues.c measures
 * both side by side (ring/mpmc); per-slot sequence numbers won at every
 * shape (7-30x at 1:1 and 2:2 on the 2-core development machine).
 *
 * SPSC (weft_ring_spsc_*), exactly one producer thread and one consumer
 * thread: the Lamport ring with cached indices (as in Rigtorp's SPSCQueue
 * and Folly's ProducerConsumerQueue). The producer owns tail and a cached
 * copy of head, the consumer owns head and a cached copy of tail; each reads
 * the other's index only when its cached copy says full/empty, so an item
 * costs one plain store and one release store, no RMW. SPSC mode packs items
 * 8 bytes per slot (no sequence numbers).
 *
 * Positions are 64-bit and wrap modulo 2^64; all comparisons are on
 * differences, so the wrap is harmless (unit tests start near 2^32 and 2^64).
 * Memory: this 128-byte header plus one allocation of capacity * 16 bytes.
 *
 * Waiting (weft_ring_pop_wait / push_wait, weft_ring_spsc_pop_wait /
 * spsc_push_wait): the calls above never block; these wait for an item or a
 * free slot, up to a timeout. A waiter polls for RING_SPIN_NS (lib/ring.c;
 * not when the other side cannot run beside it), then between yields for
 * up to RING_YIELD_NS while yields are cheap (internal/backoff.h), then
 * sleeps on a futex. The sleep is an eventcount, one per side: the
 * waiter reads the epoch (acquire), raises its side's `sleeping` flag
 * (seq_cst), fences, tries once more, and sleeps while the epoch is
 * unchanged. Every call that makes items (push*) or free slots (pop*)
 * visible then loads the other side's flag; if it is up, it clears it
 * (exchange: one waker per round), bumps the epoch (release: pairs with the
 * waiter's acquire load) and wakes every sleeper of that side. The flag
 * lives in the line of the side that reads it (pop_sleeping beside tail),
 * so a push or pop that finds nobody asleep pays one load of a line it
 * already holds and a compiler fence, no fence instruction:
 *
 *   waker:   release store (item or free slot); compiler fence; load flag
 *   waiter:  store flag = 1; membarrier; try again (acquire loads)
 *
 * is a Dekker pair made asymmetric (lib/internal/asym_fence.h): the
 * membarrier acts as a full fence in every running thread, so either the
 * waiter's try sees the store or the waker's load sees the flag. Where
 * membarrier is unavailable (old kernels, seccomp, qemu-user) the waiter
 * uses a seq_cst fence, which does not pair with a compiler fence: it then
 * sleeps in naps of 50 us doubling to 1 ms, so a missed wake-up delays it
 * by at most one nap. Waiting costs nothing to a ring nobody waits on but
 * that load; a woken side may find the item taken by another and sleep
 * again. The waits suit a side with nothing else to do (a ping-pong, an
 * idle consumer). Behind a producer streaming at full speed, pop_wait's
 * poll follows it too closely and each item costs a line transfer: poll
 * such a stream, or take it in batches (docs/tuning.md, "weft_ring
 * waiting").
 */
#ifndef WEFT_RING_H
#define WEFT_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_ring_slot {
	_Atomic uint64_t seq;
	void *item;
} weft_ring_slot;

typedef struct weft_ring {
	/* producer line: tail (CAS in MPMC, plain owner store in SPSC) */
	WEFT_ALIGNED_CACHELINE _Atomic uint64_t tail;
	uint64_t head_cache; /* SPSC producer's last view of head */
	weft_ring_slot *p_slots;
	uint64_t p_mask;
	_Atomic uint32_t pop_sleeping; /* 1: a pop_wait caller may sleep; read by every push */
	_Atomic uint32_t pop_epoch;    /* pop_wait's futex word, bumped by the push that wakes */
	/* consumer line */
	WEFT_ALIGNED_CACHELINE _Atomic uint64_t head;
	uint64_t tail_cache; /* SPSC consumer's last view of tail */
	weft_ring_slot *c_slots;
	uint64_t c_mask;
	_Atomic uint32_t push_sleeping; /* 1: a push_wait caller may sleep; read by every pop */
	_Atomic uint32_t push_epoch;	/* push_wait's futex word, bumped by the pop that wakes */
} weft_ring;

#define WEFT_RING_MAX_CAPACITY (UINT64_C(1) << 31)

/* 0, EINVAL (capacity 0 or > 2^31) or ENOMEM. */
WEFT_API int weft_ring_init(weft_ring *r, size_t capacity);
/* Frees the slots. Items still inside are not touched (they are the caller's). */
WEFT_API void weft_ring_destroy(weft_ring *r);

static inline size_t weft_ring_capacity(const weft_ring *r)
{
	return (size_t)r->p_mask + 1;
}

/* Internal, for tests: init with every index starting at `start`. */
int weft__ring_init_at(weft_ring *r, size_t capacity, uint64_t start);

/* Internal: the waker's and the waiter's halves of "Waiting" above. */
WEFT_API void weft__ring_wake(_Atomic uint32_t *sleeping, _Atomic uint32_t *epoch);
#define WEFT__RING_POP 0
#define WEFT__RING_PUSH 1
#define WEFT__RING_SPSC_POP 2
#define WEFT__RING_SPSC_PUSH 3
WEFT_API int weft__ring_wait_slow(weft_ring *r, void **item, uint64_t timeout_ns,
				  int kind);

/* After a call made items or free slots visible (its release stores are
 * done): wake the other side if it may sleep. The compiler fence keeps
 * the load after those stores; the hardware order is the sleeper's
 * membarrier ("Waiting" above). */
static inline void weft__ring_notify(_Atomic uint32_t *sleeping, _Atomic uint32_t *epoch)
{
	atomic_signal_fence(memory_order_seq_cst);
	/* relaxed: the Dekker load above; weft__ring_wake's exchange decides. */
	if (WEFT_UNLIKELY(atomic_load_explicit(sleeping, memory_order_relaxed)))
		weft__ring_wake(sleeping, epoch);
}

/* ------------------------------------------------------------------ MPMC */

/* Append item; false if the ring is full. */
static inline bool weft_ring_push(weft_ring *r, void *item)
{
	/* relaxed: a guess at the position; the seq check and CAS validate it. */
	uint64_t pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
	for (;;) {
		weft_ring_slot *s = &r->p_slots[pos & r->p_mask];
		/* acquire: pairs with the release store of seq in pop, so the
		 * last consumer's read of this slot happens-before our write. */
		uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
		int64_t d = (int64_t)(seq - pos);
		if (WEFT_LIKELY(d == 0)) {
			/* relaxed: the claim orders nothing; the acquire above
			 * and the release below carry the data. */
			if (WEFT_LIKELY(atomic_compare_exchange_weak_explicit(
				    &r->tail, &pos, pos + 1, memory_order_relaxed,
				    memory_order_relaxed))) {
				s->item = item;
				/* release: publishes item to the acquire load of
				 * seq in pop / pop_n. */
				atomic_store_explicit(&s->seq, pos + 1,
						      memory_order_release);
				weft__ring_notify(&r->pop_sleeping, &r->pop_epoch);
				return true;
			}
		} else if (d < 0) {
			return false; /* last lap's item still there: full */
		} else {
			/* another producer took pos: catch up */
			pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
		}
	}
}

/* Take the oldest item into *item; false if the ring is empty. */
static inline bool weft_ring_pop(weft_ring *r, void **item)
{
	/* relaxed: a guess, validated by the seq check and the CAS. */
	uint64_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);
	for (;;) {
		weft_ring_slot *s = &r->c_slots[pos & r->c_mask];
		/* acquire: pairs with the release store of seq in push, so the
		 * producer's write of item happens-before our read. */
		uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
		int64_t d = (int64_t)(seq - (pos + 1));
		if (WEFT_LIKELY(d == 0)) {
			/* relaxed: as in push, the claim orders nothing. */
			if (WEFT_LIKELY(atomic_compare_exchange_weak_explicit(
				    &r->head, &pos, pos + 1, memory_order_relaxed,
				    memory_order_relaxed))) {
				*item = s->item;
				/* release: our read of item happens-before the
				 * next lap's producer (acquire load in push). */
				atomic_store_explicit(&s->seq, pos + r->c_mask + 1,
						      memory_order_release);
				weft__ring_notify(&r->push_sleeping, &r->push_epoch);
				return true;
			}
		} else if (d < 0) {
			return false; /* not published yet: empty */
		} else {
			pos = atomic_load_explicit(&r->head, memory_order_relaxed);
		}
	}
}

/* Append up to n items (one reservation); returns how many were appended
 * (n above the capacity moves at most the capacity). */
WEFT_API size_t weft_ring_push_n(weft_ring *r, void *const *items, size_t n);
/* Take up to n items into items[] (one reservation); returns how many. */
WEFT_API size_t weft_ring_pop_n(weft_ring *r, void **items, size_t n);
/*
 * All or nothing (one reservation): 0 when all n items were appended / taken
 * in order, EAGAIN when fewer than n slots are free / items are ready (nothing
 * moved), EINVAL when n > capacity (it could never succeed). n = 0 returns 0.
 * As with pop, a producer preempted between its claim and its publish can
 * make pop_bulk report EAGAIN while n later items wait.
 */
WEFT_API int weft_ring_push_bulk(weft_ring *r, void *const *items, size_t n);
WEFT_API int weft_ring_pop_bulk(weft_ring *r, void **items, size_t n);

/*
 * Wait up to timeout_ns (WEFT_TIMEOUT_NEVER: no limit; 0: try once) for a
 * free slot / an item ("Waiting" above). -> 0 (item appended / taken), or
 * ETIMEDOUT (nothing moved).
 */
static inline int weft_ring_push_wait(weft_ring *r, void *item, uint64_t timeout_ns)
{
	if (WEFT_LIKELY(weft_ring_push(r, item)))
		return 0;
	return weft__ring_wait_slow(r, &item, timeout_ns, WEFT__RING_PUSH);
}

static inline int weft_ring_pop_wait(weft_ring *r, void **item, uint64_t timeout_ns)
{
	if (WEFT_LIKELY(weft_ring_pop(r, item)))
		return 0;
	return weft__ring_wait_slow(r, item, timeout_ns, WEFT__RING_POP);
}

/* ------------------------------------------------------------------ SPSC */

static inline void **weft__ring_spsc_items(weft_ring_slot *slots)
{
	return (void **)(void *)slots;
}

/* One producer thread only. False if full. */
static inline bool weft_ring_spsc_push(weft_ring *r, void *item)
{
	/* relaxed: only this thread writes tail. */
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	if (WEFT_UNLIKELY(t - r->head_cache > r->p_mask)) {
		/* acquire: pairs with the release store of head in spsc_pop:
		 * the consumer's read of the slot we reuse happens-before. */
		r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
		if (t - r->head_cache > r->p_mask)
			return false;
	}
	weft__ring_spsc_items(r->p_slots)[t & r->p_mask] = item;
	/* release: publishes the item to the acquire load of tail in spsc_pop. */
	atomic_store_explicit(&r->tail, t + 1, memory_order_release);
	weft__ring_notify(&r->pop_sleeping, &r->pop_epoch);
	return true;
}

/* One consumer thread only. False if empty. */
static inline bool weft_ring_spsc_pop(weft_ring *r, void **item)
{
	/* relaxed: only this thread writes head. */
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	if (WEFT_UNLIKELY(h == r->tail_cache)) {
		/* acquire: pairs with the release store of tail in spsc_push. */
		r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (h == r->tail_cache)
			return false;
	}
	*item = weft__ring_spsc_items(r->c_slots)[h & r->c_mask];
	/* release: our read of the slot happens-before its reuse by spsc_push
	 * (acquire load of head there). */
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	weft__ring_notify(&r->push_sleeping, &r->push_epoch);
	return true;
}

/* SPSC bulk: up to n items with one index update; returns how many. */
WEFT_API size_t weft_ring_spsc_push_n(weft_ring *r, void *const *items, size_t n);
WEFT_API size_t weft_ring_spsc_pop_n(weft_ring *r, void **items, size_t n);
/* SPSC all or nothing: 0, EAGAIN (nothing moved) or EINVAL (n > capacity),
 * as weft_ring_push_bulk / pop_bulk. */
WEFT_API int weft_ring_spsc_push_bulk(weft_ring *r, void *const *items, size_t n);
WEFT_API int weft_ring_spsc_pop_bulk(weft_ring *r, void **items, size_t n);

/* SPSC waits: as weft_ring_push_wait / pop_wait, by the one producer /
 * the one consumer. */
static inline int weft_ring_spsc_push_wait(weft_ring *r, void *item, uint64_t timeout_ns)
{
	if (WEFT_LIKELY(weft_ring_spsc_push(r, item)))
		return 0;
	return weft__ring_wait_slow(r, &item, timeout_ns, WEFT__RING_SPSC_PUSH);
}

static inline int weft_ring_spsc_pop_wait(weft_ring *r, void **item, uint64_t timeout_ns)
{
	if (WEFT_LIKELY(weft_ring_spsc_pop(r, item)))
		return 0;
	return weft__ring_wait_slow(r, item, timeout_ns, WEFT__RING_SPSC_POP);
}

#ifdef __cplusplus
}
#endif

#endif /* WEFT_RING_H */
