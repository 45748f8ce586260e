/* lib/ring.c - weft_ring init and bulk paths; the algorithm is in weft/ring.h. */
#include "weft/ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal/arch.h"
#include "internal/asym_fence.h"
#include "internal/backoff.h"
#include "internal/cpus.h"
#include "internal/futex.h"

/* A waiter's poll before it sleeps: a hand-off between two running threads
 * completes within a microsecond or two (as WAITER_SPIN_NS, lib/waiter.c);
 * one look every RING_POLL_NS (paced from the first: each look pulls the
 * line the other side writes; docs/tuning.md, "weft_ring waiting"). */
#define RING_SPIN_NS 5000
#define RING_POLL_NS 200
/* Then yield polls, at most this long and only while yields are cheap
 * (internal/backoff.h: a late yield, a CPU hog beside us, ends them and
 * bans them): a stream whose other side was preempted for a few tens of
 * us resumes without a sleep and a wake-up on each side, whose latency
 * (tens of us on a VM) is longer than filling or draining the ring; as
 * COND_YIELD_NS (lib/cond.c). */
#define RING_YIELD_NS 50000
/* Without membarrier a wake-up can be missed ("Waiting" in weft/ring.h):
 * sleeps last at most this long, doubling from the first. */
#define RING_NAP_MIN_NS 50000
#define RING_NAP_MAX_NS 1000000

int weft__ring_init_at(weft_ring *r, size_t capacity, uint64_t start)
{
	if (capacity == 0 || capacity > WEFT_RING_MAX_CAPACITY)
		return EINVAL;
	/* Two slots at least: with one, "free for p + 1" (seq == p + 1) and
	 * "holds p" (seq == p + 1) would be the same state. */
	size_t cap = 2;
	while (cap < capacity)
		cap <<= 1;
	/* aligned_alloc wants a multiple of the alignment (cap 2 is 32 bytes). */
	size_t bytes = (cap * sizeof(weft_ring_slot) + WEFT_CACHELINE - 1) &
		       ~(size_t)(WEFT_CACHELINE - 1);
	weft_ring_slot *slots = aligned_alloc(WEFT_CACHELINE, bytes);
	if (!slots)
		return ENOMEM;
	memset(r, 0, sizeof *r);
	for (uint64_t k = 0; k < cap; k++) {
		weft_ring_slot *s = &slots[(start + k) & (cap - 1)];
		atomic_init(&s->seq, start + k);
		s->item = NULL;
	}
	atomic_init(&r->tail, start);
	atomic_init(&r->head, start);
	r->head_cache = r->tail_cache = start;
	r->p_slots = r->c_slots = slots;
	r->p_mask = r->c_mask = cap - 1;
	return 0;
}

int weft_ring_init(weft_ring *r, size_t capacity)
{
	return weft__ring_init_at(r, capacity, 0);
}

void weft_ring_destroy(weft_ring *r)
{
	free(r->p_slots);
	r->p_slots = r->c_slots = NULL;
}

/*
 * Distance of the slot for position p from its ready state seq == p + ready
 * (ready 0: free for the producer of p, 1: holds p's item for a consumer):
 * < 0 not ready yet (full / empty at p), > 0 position p is stale (taken).
 */
static inline int64_t dist(weft_ring_slot *slots, uint64_t mask, uint64_t p,
			   uint64_t ready)
{
	/* acquire: pairs with the release store of seq by the other side (pop
	 * for free slots, push for published ones), so its access to the slot
	 * happens-before ours. */
	return (int64_t)(atomic_load_explicit(&slots[p & mask].seq,
					      memory_order_acquire) -
			 (p + ready));
}

/* Fetch the lines of slots [pos, pos + n), asking for them owned: we write
 * every slot we claim (weft__prefetch_w: PREFETCHW where the CPU has it,
 * PRFM PSTL1KEEP on ARM64). On the development EPYC a read prefetch measured
 * the same; on the Intel guest of session 12 the owned one was as fast or
 * faster (docs/tuning.md, "weft_ring bulk"). */
static inline void prefetch_w(weft_ring_slot *slots, uint64_t mask, uint64_t pos,
			      size_t n)
{
	for (size_t i = 0; i < n; i += WEFT_CACHELINE / sizeof *slots)
		weft__prefetch_w(&slots[(pos + i) & mask]);
}

/*
 * Are the slots of positions [pos, pos + n) all ready? One pass without a
 * branch per slot, over the (at most two) contiguous runs of the array.
 * Here and in publish / consume the loops are unrolled: once the batch's
 * lines are in cache, this per-slot work is what a bulk call costs (a
 * single-thread push_bulk + pop_bulk of 32 went from ~120 to ~70 ns).
 */
static inline uint64_t run_bad(weft_ring_slot *s, uint64_t e, size_t n)
{
	uint64_t bad = 0;
#pragma GCC unroll 4
	for (size_t k = 0; k < n; k++)
		/* acquire: as in dist(). */
		bad |= atomic_load_explicit(&s[k].seq, memory_order_acquire) ^ (e + k);
	return bad;
}

static bool all_ready(weft_ring_slot *slots, uint64_t mask, uint64_t pos,
		      uint64_t ready, size_t n)
{
	uint64_t i = pos & mask;
	size_t run = n < mask + 1 - i ? n : (size_t)(mask + 1 - i);
	return (run_bad(&slots[i], pos + ready, run) |
		run_bad(slots, pos + ready + run, n - run)) == 0;
}

/*
 * Claim up to n (burst, all == false) or exactly n (all == true) consecutive
 * ready slots from the index idx with one CAS; n >= 1 and n <= capacity.
 * Returns the count claimed (0: none ready / fewer than n), *first the first
 * position.
 *
 * The last slot of the wanted batch is read first. A caller waiting for the
 * other side to fill (or drain) a batch polls that one line, not every line
 * of the batch: prefetching lines the other side is still writing would pull
 * each of them away from it once per poll. When the last slot is ready, the
 * whole batch is fetched for writing at once and checked slot by slot (with
 * several producers or consumers a slot in the middle may still be pending).
 * When it is not, a burst moves the ready prefix, scanning forward without
 * prefetching past it. A successful claim prefetches the next k slots: at
 * 1:1 that raised ring/bulk32 over ring/mpmc from a median 1.57x to 2.66x
 * over 7 process pairs (docs/tuning.md, "weft_ring bulk").
 *
 * The seq checks only tell that the slots were ready for positions pos..;
 * the CAS from pos makes them ours (nobody else can claim positions >= pos
 * while idx == pos, and idx never repeats a value), so it validates a stale
 * pos too.
 */
static inline size_t claim(_Atomic uint64_t *idx, weft_ring_slot *slots,
			   uint64_t mask, uint64_t ready, size_t n, bool all,
			   uint64_t *first)
{
	/* relaxed: a guess, validated by the seq checks and the CAS. */
	uint64_t pos = atomic_load_explicit(idx, memory_order_relaxed);
	for (;;) {
		int64_t d = dist(slots, mask, pos + n - 1, ready);
		size_t k = 0;
		if (d == 0) {
			prefetch_w(slots, mask, pos, n - 1);
			if (all_ready(slots, mask, pos, ready, n - 1))
				k = n;
		}
		if (k == 0 && (d == 0 || (d < 0 && !all))) {
			/* the ready prefix, and why it ends */
			while (k < n && (d = dist(slots, mask, pos + k, ready)) == 0)
				k++;
		}
		if (k == 0 || (all && k < n)) {
			if (d < 0)
				return 0; /* not enough free / ready slots */
			/* d > 0: pos is stale, positions from it were taken.
			 * relaxed: a new guess, as above. */
			pos = atomic_load_explicit(idx, memory_order_relaxed);
			continue;
		}
		/* relaxed: the slots' seq carry the ordering (acquire loads
		 * above, release stores by the caller). A failure reloads pos. */
		if (atomic_compare_exchange_weak_explicit(idx, &pos, pos + k,
							  memory_order_relaxed,
							  memory_order_relaxed)) {
			*first = pos;
			/* Start fetching the lines of this caller's next batch
			 * now, once per claim (never while polling), so their
			 * transfers overlap this batch's copy and the next
			 * call's checks hit the cache. */
			prefetch_w(slots, mask, pos + k, k);
			return k;
		}
	}
}

static inline void publish_run(weft_ring_slot *s, uint64_t e,
				void *const *items, size_t n)
{
#pragma GCC unroll 4
	for (size_t k = 0; k < n; k++) {
		s[k].item = items[k];
		/* release: publishes the item to the acquire load of seq in
		 * pop / pop_n / pop_bulk. */
		atomic_store_explicit(&s[k].seq, e + k, memory_order_release);
	}
}

static void publish(weft_ring_slot *slots, uint64_t mask, uint64_t pos,
		    void *const *items, size_t n)
{
	uint64_t i = pos & mask;
	size_t run = n < mask + 1 - i ? n : (size_t)(mask + 1 - i);
	publish_run(&slots[i], pos + 1, items, run);
	publish_run(slots, pos + 1 + run, items + run, n - run);
}

static inline void consume_run(weft_ring_slot *s, uint64_t e, void **items,
				size_t n)
{
#pragma GCC unroll 4
	for (size_t k = 0; k < n; k++) {
		items[k] = s[k].item;
		/* release: our read of the item happens-before the slot's reuse
		 * by the next lap's producer (acquire load of seq there). */
		atomic_store_explicit(&s[k].seq, e + k, memory_order_release);
	}
}

static void consume(weft_ring_slot *slots, uint64_t mask, uint64_t pos,
		    void **items, size_t n)
{
	uint64_t i = pos & mask;
	size_t run = n < mask + 1 - i ? n : (size_t)(mask + 1 - i);
	consume_run(&slots[i], pos + mask + 1, items, run);
	consume_run(slots, pos + mask + 1 + run, items + run, n - run);
}

size_t weft_ring_push_n(weft_ring *r, void *const *items, size_t n)
{
	weft_ring_slot *const slots = r->p_slots;
	const uint64_t mask = r->p_mask;
	uint64_t pos = 0;
	if (n > mask + 1)
		n = mask + 1;
	size_t k = n ? claim(&r->tail, slots, mask, 0, n, false, &pos) : 0;
	publish(slots, mask, pos, items, k);
	if (k)
		weft__ring_notify(&r->pop_sleeping, &r->pop_epoch);
	return k;
}

size_t weft_ring_pop_n(weft_ring *r, void **items, size_t n)
{
	weft_ring_slot *const slots = r->c_slots;
	const uint64_t mask = r->c_mask;
	uint64_t pos = 0;
	if (n > mask + 1)
		n = mask + 1;
	size_t k = n ? claim(&r->head, slots, mask, 1, n, false, &pos) : 0;
	consume(slots, mask, pos, items, k);
	if (k)
		weft__ring_notify(&r->push_sleeping, &r->push_epoch);
	return k;
}

int weft_ring_push_bulk(weft_ring *r, void *const *items, size_t n)
{
	weft_ring_slot *const slots = r->p_slots;
	const uint64_t mask = r->p_mask;
	uint64_t pos = 0;
	if (n > mask + 1)
		return EINVAL;
	if (n == 0)
		return 0;
	if (!claim(&r->tail, slots, mask, 0, n, true, &pos))
		return EAGAIN;
	publish(slots, mask, pos, items, n);
	weft__ring_notify(&r->pop_sleeping, &r->pop_epoch);
	return 0;
}

int weft_ring_pop_bulk(weft_ring *r, void **items, size_t n)
{
	weft_ring_slot *const slots = r->c_slots;
	const uint64_t mask = r->c_mask;
	uint64_t pos = 0;
	if (n > mask + 1)
		return EINVAL;
	if (n == 0)
		return 0;
	if (!claim(&r->head, slots, mask, 1, n, true, &pos))
		return EAGAIN;
	consume(slots, mask, pos, items, n);
	weft__ring_notify(&r->push_sleeping, &r->push_epoch);
	return 0;
}

/*
 * SPSC: free slots the producer may fill from its tail t, refreshing its
 * cached head only when the cache says fewer than n.
 */
static uint64_t spsc_room(weft_ring *r, uint64_t t, size_t n)
{
	const uint64_t cap = r->p_mask + 1;
	if (cap - (t - r->head_cache) < n)
		/* acquire: pairs with the release store of head in spsc_pop /
		 * spsc_take, so the consumer's reads of the slots happen
		 * before we overwrite them. */
		r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
	return cap - (t - r->head_cache);
}

/* SPSC: items ready for the consumer from its head h, likewise. */
static uint64_t spsc_ready(weft_ring *r, uint64_t h, size_t n)
{
	if (r->tail_cache - h < n)
		/* acquire: pairs with the release store of tail in spsc_push /
		 * spsc_put, so the items written before it are visible. */
		r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
	return r->tail_cache - h;
}

static void spsc_put(weft_ring *r, uint64_t t, void *const *items, size_t k)
{
	void **slots = weft__ring_spsc_items(r->p_slots);
	for (size_t i = 0; i < k; i++)
		slots[(t + i) & r->p_mask] = items[i];
	if (k) {
		/* release: publishes the items to spsc_ready's acquire of tail. */
		atomic_store_explicit(&r->tail, t + k, memory_order_release);
		weft__ring_notify(&r->pop_sleeping, &r->pop_epoch);
	}
}

static void spsc_take(weft_ring *r, uint64_t h, void **items, size_t k)
{
	void **slots = weft__ring_spsc_items(r->c_slots);
	for (size_t i = 0; i < k; i++)
		items[i] = slots[(h + i) & r->c_mask];
	if (k) {
		/* release: our reads happen-before the producer reuses the
		 * slots (spsc_room's acquire of head). */
		atomic_store_explicit(&r->head, h + k, memory_order_release);
		weft__ring_notify(&r->push_sleeping, &r->push_epoch);
	}
}

size_t weft_ring_spsc_push_n(weft_ring *r, void *const *items, size_t n)
{
	/* relaxed: only this thread writes tail. */
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint64_t room = spsc_room(r, t, n);
	size_t k = n < room ? n : (size_t)room;
	spsc_put(r, t, items, k);
	return k;
}

size_t weft_ring_spsc_pop_n(weft_ring *r, void **items, size_t n)
{
	/* relaxed: only this thread writes head. */
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint64_t avail = spsc_ready(r, h, n);
	size_t k = n < avail ? n : (size_t)avail;
	spsc_take(r, h, items, k);
	return k;
}

int weft_ring_spsc_push_bulk(weft_ring *r, void *const *items, size_t n)
{
	if (n > r->p_mask + 1)
		return EINVAL;
	/* relaxed: only this thread writes tail. */
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	if (spsc_room(r, t, n) < n)
		return EAGAIN;
	spsc_put(r, t, items, n);
	return 0;
}

int weft_ring_spsc_pop_bulk(weft_ring *r, void **items, size_t n)
{
	if (n > r->c_mask + 1)
		return EINVAL;
	/* relaxed: only this thread writes head. */
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	if (spsc_ready(r, h, n) < n)
		return EAGAIN;
	spsc_take(r, h, items, n);
	return 0;
}

/* ------------------------------------------------------------- waiting */

void weft__ring_wake(_Atomic uint32_t *sleeping, _Atomic uint32_t *epoch)
{
	/* relaxed: the flag only says whom to wake; the exchange makes one
	 * waker per raising of it (the others saw 0 and do nothing). */
	if (!atomic_exchange_explicit(sleeping, 0, memory_order_relaxed))
		return;
	/* release: pairs with the waiter's acquire load of the epoch. A
	 * waiter that reads this value also sees our caller's item or slot. */
	atomic_fetch_add_explicit(epoch, 1, memory_order_release);
	weft__futex_wake(epoch, WEFT__FUTEX_WAKE_ALL);
}

/* One attempt of the call a waiter of this kind waits to make. */
static bool try_once(weft_ring *r, void **item, int kind)
{
	switch (kind) {
	case WEFT__RING_POP:
		return weft_ring_pop(r, item);
	case WEFT__RING_PUSH:
		return weft_ring_push(r, *item);
	case WEFT__RING_SPSC_POP:
		return weft_ring_spsc_pop(r, item);
	default:
		return weft_ring_spsc_push(r, *item);
	}
}

/*
 * Sleep once as the waiter of "Waiting" (weft/ring.h); *item moved (true)
 * if the last try before sleeping succeeded. *rc: 0 to try again, or
 * ETIMEDOUT once the deadline passed.
 */
static bool sleep_once(weft_ring *r, void **item, int kind,
		       const weft__deadline *deadline, uint64_t *nap_ns, int *rc)
{
	const bool pop = kind == WEFT__RING_POP || kind == WEFT__RING_SPSC_POP;
	_Atomic uint32_t *sleeping = pop ? &r->pop_sleeping : &r->push_sleeping;
	_Atomic uint32_t *epoch = pop ? &r->pop_epoch : &r->push_epoch;
	/* acquire: pairs with the release increment in weft__ring_wake; read
	 * before the flag goes up, so a wake-up after our try changes it. */
	uint32_t e = atomic_load_explicit(epoch, memory_order_acquire);
	/* seq_cst: the store half of the waiter's Dekker pair. */
	atomic_store_explicit(sleeping, 1, memory_order_seq_cst);
	const bool asym = weft__fence_asym();
	if (asym)
		weft__fence_heavy(); /* pairs with the wakers' compiler fence */
	else
		atomic_thread_fence(memory_order_seq_cst);
	if (try_once(r, item, kind))
		return true; /* the flag stays up: the next waker clears it */
	if (asym) {
		*rc = weft__futex_wait(epoch, e, deadline);
		return false;
	}
	weft__deadline nap = weft__deadline_for(*nap_ns);
	*rc = weft__futex_wait(epoch, e, weft__deadline_min(&nap, deadline));
	if (*rc == ETIMEDOUT && !weft__deadline_passed(deadline))
		*rc = 0; /* only the nap ended */
	if (*nap_ns < RING_NAP_MAX_NS)
		*nap_ns *= 2;
	return false;
}

int weft__ring_wait_slow(weft_ring *r, void **item, uint64_t timeout_ns, int kind)
{
	if (timeout_ns == 0)
		return ETIMEDOUT;
	weft__deadline deadline = weft__deadline_for(timeout_ns);
	const bool timed = timeout_ns != WEFT_TIMEOUT_NEVER;
	/* Poll only while the other side can run beside us. */
	weft__backoff b = weft__backoff_make_paced_ns(
		weft__cpus_parallel() > 1 ? RING_SPIN_NS : 0, RING_POLL_NS);
	while (weft__backoff_spin(&b)) {
		if (try_once(r, item, kind))
			return 0;
		if (timed && weft__deadline_passed(&deadline))
			return ETIMEDOUT;
	}
	const uint64_t start = weft__monotonic_ns();
	while (weft__monotonic_ns() - start < RING_YIELD_NS && weft__yield_was_cheap()) {
		if (try_once(r, item, kind))
			return 0;
		if (timed && weft__deadline_passed(&deadline))
			return ETIMEDOUT;
	}
	uint64_t nap = RING_NAP_MIN_NS;
	for (;;) {
		int rc = 0;
		if (sleep_once(r, item, kind, &deadline, &nap, &rc) ||
		    try_once(r, item, kind))
			return 0;
		if (rc == ETIMEDOUT)
			return ETIMEDOUT;
	}
}
