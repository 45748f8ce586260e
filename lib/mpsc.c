/* lib/mpsc.c - weft_mpsc slow paths; the algorithm is in weft/mpsc.h. */
#define _GNU_SOURCE
#include "weft/mpsc.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal/arch.h"
#include "internal/backoff.h"
#include "internal/cpus.h"
#include "internal/futex.h"

#define SLOTS WEFT_MPSC_BLOCK_SLOTS
/* Slots in one cache line: a push fills one line in about 8 pushes. */
#define LINE_SLOTS (WEFT_CACHELINE / sizeof(void *))

/*
 * pop_wait's constants (docs/tuning.md, "mpsc: the consumer that follows
 * too closely"), measured on the 2-vCPU EPYC guest where one push costs
 * about 8 ns when the consumer stays away from the producer's lines:
 *
 * POLL_MIN_NS: the shortest re-poll interval, about the time a producer
 *   takes to fill one line of slots (8 pushes); re-reading sooner takes the
 *   line the producer is writing for fewer items.
 * STREAM_MIN_ITEMS, STREAM_MAX_ITEMS: the interval doubles while a wait
 *   finds from a line up to STREAM_MIN_ITEMS (256, 32 lines) of items, and
 *   halves when it finds fewer than a line (items come one by one:
 *   latency) or STREAM_MAX_ITEMS (1024, two blocks) and more. A consumer
 *   held 256 items behind no longer slows the producer (EPYC: 10.5 ns per
 *   push against 17-20 ns when it follows at once); at a block (504) the
 *   gain stops. Set in items, the distance holds on any machine: the
 *   interval that gives it follows the producers' speed there.
 * POLL_MAX_NS: the longest interval (16 us), which bounds the latency a
 *   streaming consumer adds to an item. The former fixed 2 us held the
 *   consumer about 80 items behind on an Intel guest where a push costs
 *   20-25 ns, and one producer ran at 26-29 ns per item instead of 18-21
 *   (docs/tuning.md, "mpsc lanes").
 * SPIN_NS: polling stops after this long without an item, then the consumer
 *   sleeps: about one futex sleep + wake-up round trip on a VM (5-20 us),
 *   as MUTEX_SPIN_NS (the 2-competitive rule).
 * NAP_MIN_NS, NAP_MAX_NS: the consumer that finds the oldest position
 *   claimed but not written (a producer between its fetch_add and its store,
 *   maybe preempted) cannot rely on that producer's wake-up (it may have
 *   read sleeping == 0), so it sleeps with a timeout: 50 us first (a
 *   producer that was only slow has long finished; a preempted one needs a
 *   scheduler slice, 1-3 ms), doubling to 1 ms (at most ~1000 wake-ups per
 *   second while it waits: no measurable CPU).
 */
#define POLL_MIN_NS 64u
#define POLL_MAX_NS 16384u
#define STREAM_MIN_ITEMS 256u
#define STREAM_MAX_ITEMS 1024u
#define SPIN_NS 10000u
#define NAP_MIN_NS 50000u
#define NAP_MAX_NS 1000000u

_Static_assert(sizeof(weft_mpsc_block) == WEFT_MPSC_BLOCK_BYTES,
	       "a block is one 4 KiB allocation");
_Static_assert(WEFT_MPSC_LANES <= 32, "lanes are bits of weft_mpsc.used");

/* ---------------------------------------------------------------- lanes */

/* The lane this thread pushes into, plus 1 (0: not given yet). One source
 * for every caller, inside the library (initial-exec: one load). */
static _Thread_local __attribute__((tls_model("initial-exec"))) uint32_t my_lane_1;
/* The next lane to give: threads take lanes round-robin. */
static _Atomic uint32_t next_lane;

static __attribute__((noinline, cold)) void give_lane(void)
{
	/* relaxed: only distinctness matters; each thread reads its own. */
	uint32_t n = atomic_fetch_add_explicit(&next_lane, 1, memory_order_relaxed);
	my_lane_1 = n % WEFT_MPSC_LANES + 1;
}

unsigned weft__mpsc_my_lane(void)
{
	if (WEFT_UNLIKELY(!my_lane_1))
		give_lane();
	return my_lane_1 - 1;
}

/* ---------------------------------------------------------------- blocks */

/* A block with zeroed slots for positions [base, base + SLOTS), after
 * prev (NULL: a lane's first), or NULL when out of memory. */
static weft_mpsc_block *block_try_new(weft_mpsc *q, uint64_t base,
				      weft_mpsc_block *prev)
{
	/* acquire: pairs with the release exchange in put_spare, so the
	 * consumer's reset of the block happens-before our use. */
	weft_mpsc_block *b = atomic_exchange_explicit(&q->spare, NULL,
						      memory_order_acquire);
	if (!b) {
		b = aligned_alloc(WEFT_CACHELINE, sizeof *b);
		if (!b)
			return NULL;
		memset(b, 0, sizeof *b);
	}
	/* Both set every time: a spare put back by a producer that lost its
	 * append (next_block) still holds that attempt's base and prev. */
	b->base = base;
	b->prev = prev;
	return b;
}

/* block_try_new for a producer, whose position is claimed and must be
 * filled: it waits for memory, sleeping 1 us doubling to 1 ms between
 * attempts (no CPU burnt, and no sched_yield loop whose cost depends on
 * the scheduler). */
static weft_mpsc_block *block_new(weft_mpsc *q, uint64_t base,
				  weft_mpsc_block *prev)
{
	weft_mpsc_block *b;
	for (long nap_ns = 1000; !(b = block_try_new(q, base, prev));
	     nap_ns = nap_ns < 1000000 ? 2 * nap_ns : nap_ns)
		nanosleep(&(struct timespec){ .tv_nsec = nap_ns }, NULL);
	return b;
}

/*
 * Ask for all of a new tail block's slot lines owned, at once: the
 * consumer zeroed them (recycle) or another thread last held them, and a
 * push that finds its slot's line elsewhere waits a whole transfer at its
 * next fetch_add (a full barrier). Asked together, the transfers overlap;
 * the block is the producers' alone until they write it (docs/tuning.md,
 * "mpsc lanes").
 */
static void own_lines(weft_mpsc_block *b)
{
	for (size_t i = 0; i < SLOTS; i += LINE_SLOTS)
		weft__prefetch_w(&b->slots[i]);
}

/* Keep b (slots and next zeroed, unpublished) as the spare; free the one
 * it displaces. */
static void put_spare(weft_mpsc *q, weft_mpsc_block *b)
{
	/* release: publishes b's reset to block_try_new's acquire exchange;
	 * acquire: the displaced block's last writer happens-before free. */
	weft_mpsc_block *old = atomic_exchange_explicit(&q->spare, b,
							memory_order_acq_rel);
	free(old);
}

int weft__mpsc_init_at(weft_mpsc *q, uint64_t start)
{
	memset(q, 0, sizeof *q);
	/* The first lane pushed to takes this block: init reports ENOMEM, and
	 * a queue with one producer allocates nothing more until it grows. */
	weft_mpsc_block *b = block_try_new(q, start, NULL);
	if (!b)
		return ENOMEM;
	atomic_init(&q->spare, b);
	atomic_init(&q->sleeping, 0);
	atomic_init(&q->used, 0);
	q->origin = start;
	for (unsigned i = 0; i < WEFT_MPSC_LANES; i++) {
		atomic_init(&q->lanes[i].tail, start);
		atomic_init(&q->lanes[i].tail_block, NULL);
		q->cursors[i].head = start;
	}
	q->poll_ns = POLL_MIN_NS;
	return 0;
}

int weft_mpsc_init(weft_mpsc *q)
{
	return weft__mpsc_init_at(q, 0);
}

/* The oldest block of lane i the consumer has not reclaimed (NULL: none).
 * Consumer thread, or destroy. */
static weft_mpsc_block *lane_oldest(weft_mpsc *q, unsigned i)
{
	if (q->cursors[i].free_head)
		return q->cursors[i].free_head;
	/* The consumer never took a block of this lane: none was reclaimed,
	 * and prev leads from tail_block back to the first. acquire: pairs
	 * with the release CAS that installed tail_block (and, transitively,
	 * the CASes that published the blocks before it, with their prev). */
	weft_mpsc_block *b = atomic_load_explicit(&q->lanes[i].tail_block,
						  memory_order_acquire);
	while (b && b->prev)
		b = b->prev;
	return b;
}

void weft_mpsc_destroy(weft_mpsc *q)
{
	for (unsigned i = 0; i < WEFT_MPSC_LANES; i++) {
		weft_mpsc_block *b = lane_oldest(q, i);
		while (b) {
			weft_mpsc_block *next =
				atomic_load_explicit(&b->next, memory_order_relaxed);
			free(b);
			b = next;
		}
		atomic_store_explicit(&q->lanes[i].tail_block, NULL,
				      memory_order_relaxed);
		q->cursors[i].free_head = q->cursors[i].head_block = NULL;
	}
	free(atomic_load_explicit(&q->spare, memory_order_relaxed));
	atomic_store_explicit(&q->spare, NULL, memory_order_relaxed);
}

size_t weft_mpsc_memory(const weft_mpsc *cq)
{
	weft_mpsc *q = (weft_mpsc *)cq; /* lane_oldest only reads */
	size_t bytes = sizeof *q;
	for (unsigned i = 0; i < WEFT_MPSC_LANES; i++)
		/* acquire: pairs with the release CAS that linked each block. */
		for (weft_mpsc_block *b = lane_oldest(q, i); b;
		     b = atomic_load_explicit(&b->next, memory_order_acquire))
			bytes += sizeof *b;
	if (atomic_load_explicit(&q->spare, memory_order_relaxed))
		bytes += sizeof(weft_mpsc_block);
	return bytes;
}

/* ------------------------------------------------------------------ push */

/*
 * Move lane's tail_block from b to next if it is still b; record the tail
 * seen after the move in b and mark b released (see "Reclamation" in the
 * header).
 */
static void advance_tail_block(weft_mpsc_lane *lane, weft_mpsc_block *b,
			       weft_mpsc_block *next)
{
	weft_mpsc_block *expected = b;
	/* relaxed: a hint that saves the CAS when tail_block moved on. */
	if (atomic_load_explicit(&lane->tail_block, memory_order_relaxed) != b)
		return;
	/* seq_cst: ordered before our seq_cst load of tail below, against the
	 * producers' seq_cst fetch_add of tail then load of tail_block. */
	if (!atomic_compare_exchange_strong_explicit(&lane->tail_block, &expected,
						     next, memory_order_seq_cst,
						     memory_order_relaxed))
		return;
	b->observed_tail = atomic_load_explicit(&lane->tail, memory_order_seq_cst);
	/* release: publishes observed_tail (and our last access to b) to the
	 * consumer's acquire load in reclaim(). */
	atomic_store_explicit(&b->released, 1, memory_order_release);
}

/* A new block for [base, base + SLOTS) after prev, stored into *link if
 * *link is still NULL; else the block another producer stored there. */
static weft_mpsc_block *install(weft_mpsc *q, _Atomic(weft_mpsc_block *) *link,
				uint64_t base, weft_mpsc_block *prev)
{
	weft_mpsc_block *fresh = block_new(q, base, prev), *won = NULL;
	own_lines(fresh);
	/* release: publishes fresh's base, prev and zeroed slots to the
	 * acquire loads of *link (b->next in next_block and take, tail_block
	 * in push and lane_oldest); acquire (failure): the winner's block. */
	if (atomic_compare_exchange_strong_explicit(link, &won, fresh,
						    memory_order_acq_rel,
						    memory_order_acquire))
		return fresh;
	put_spare(q, fresh);
	return won;
}

/* The block after b, appending one if b is the last. */
static weft_mpsc_block *next_block(weft_mpsc *q, weft_mpsc_block *b)
{
	/* acquire: pairs with the release CAS in install that published it. */
	weft_mpsc_block *next = atomic_load_explicit(&b->next, memory_order_acquire);
	if (next)
		return next;
	return install(q, &b->next, b->base + SLOTS, b);
}

/* The lane's first block, installing one if it has none: its first push. */
static weft_mpsc_block *first_block(weft_mpsc *q, unsigned i)
{
	/* Mark the lane used before it has a block, by every producer that
	 * finds it without one (the winner of the CAS in install may be
	 * preempted before anything after it): a push that returned
	 * happens-before any pop that happens after it, so that pop sees the
	 * bit, and its acquire load of tail_block sees the block. A consumer
	 * that sees the bit before the block finds no block: the lane is
	 * empty. release: pairs with the acquire load of used in
	 * weft__mpsc_pop_slow. */
	atomic_fetch_or_explicit(&q->used, 1u << i, memory_order_release);
	return install(q, &q->lanes[i].tail_block, q->origin, NULL);
}

/* Wake the consumer if it still sleeps (the push read sleeping == 1). */
static int wake_consumer(weft_mpsc *q)
{
	/* seq_cst: every write of sleeping is seq_cst, so a push's seq_cst
	 * load reads the last one before it in the total order (no older 0
	 * from a non-seq_cst write); its release half publishes our slot
	 * store (program order before) to the consumer's exchange in
	 * consumer_sleep. Only the producer that takes the 1 wakes. */
	/* relaxed: a hint, published by the exchange below to the consumer's
	 * exchange after it wakes (consumer_sleep). */
	atomic_store_explicit(&q->waker_cpu, sched_getcpu(), memory_order_relaxed);
	if (atomic_exchange_explicit(&q->sleeping, 0, memory_order_seq_cst))
		(void)weft__futex_wake(&q->sleeping, 1);
	return 0;
}

/* pos's block, from b = the lane's tail_block as push loaded it. */
static weft_mpsc_block *block_of(weft_mpsc *q, unsigned i, uint64_t pos,
				 weft_mpsc_block *b)
{
	if (!b)
		b = first_block(q, i);
	/* tail_block ran ahead of pos (we were delayed between the fetch_add
	 * and the load): step back. The blocks from ours up to b cannot be
	 * reclaimed before ours, which holds our unwritten slot. */
	while ((int64_t)(b->base - pos) > 0)
		b = b->prev;
	while (pos - b->base >= SLOTS) {
		weft_mpsc_block *next = next_block(q, b);
		advance_tail_block(&q->lanes[i], b, next);
		b = next;
	}
	return b;
}

/* push when pos is not in b (b: tail_block as push loaded it): out of line,
 * so that the fast path keeps its registers. */
static __attribute__((noinline)) int push_slow(weft_mpsc *q, unsigned i,
					       uint64_t pos, weft_mpsc_block *b,
					       void *item)
{
	b = block_of(q, i, pos, b);
	/* release: as in weft_mpsc_push; our last access to any block. */
	atomic_store_explicit(&b->slots[pos - b->base], item, memory_order_release);
	/* seq_cst: as the load in weft_mpsc_push (after our fetch_add in the
	 * single total order), taken again here where it is cheap. */
	if (atomic_load_explicit(&q->sleeping, memory_order_seq_cst))
		return wake_consumer(q);
	return 0;
}

int weft_mpsc_push(weft_mpsc *q, void *item)
{
	if (WEFT_UNLIKELY(!item))
		return EINVAL;
	const unsigned i = weft__mpsc_my_lane();
	weft_mpsc_lane *lane = &q->lanes[i];
	/* seq_cst: ordered before the seq_cst load of tail_block below, against
	 * the CAS of tail_block and the load of tail in advance_tail_block
	 * (see "Reclamation" in the header). */
	uint64_t pos = atomic_fetch_add_explicit(&lane->tail, 1, memory_order_seq_cst);
	/* seq_cst: see above; also acquire for the block's base (the CAS that
	 * published the block released it). */
	weft_mpsc_block *b = atomic_load_explicit(&lane->tail_block, memory_order_seq_cst);
	/* seq_cst: after our fetch_add in the single total order, against the
	 * consumer's seq_cst store of sleeping then loads of the tails in
	 * consumer_sleep (see "Sleeping consumer" in the header). Loaded
	 * before the slot store, so ARM64 needs no store-load barrier (ldar
	 * after the ldaddal, then stlr); the wake-up comes after the store. */
	uint32_t sleeping = atomic_load_explicit(&q->sleeping, memory_order_seq_cst);
	if (WEFT_UNLIKELY(!b || pos - b->base >= SLOTS))
		return push_slow(q, i, pos, b, item);
	/* release: publishes item to the acquire load in weft_mpsc_pop. This
	 * store is our last access to any block. */
	atomic_store_explicit(&b->slots[pos - b->base], item, memory_order_release);
	if (WEFT_UNLIKELY(sleeping))
		return wake_consumer(q);
	return 0;
}

/* ------------------------------------------------------------------- pop */

/* Reset a drained block and keep it as the spare. */
static void recycle(weft_mpsc *q, weft_mpsc_block *b)
{
	/* Plain writes: no other thread holds b (reclamation rule); put_spare's
	 * release publishes them. */
	memset((void *)b, 0, sizeof *b);
	put_spare(q, b);
}

/* Reclaim lane c's drained blocks before head_block that producers released. */
static void reclaim(weft_mpsc *q, weft_mpsc_cursor *c)
{
	while (c->free_head != c->head_block) {
		weft_mpsc_block *b = c->free_head;
		/* acquire: pairs with the release store in advance_tail_block. */
		if (!atomic_load_explicit(&b->released, memory_order_acquire))
			return;
		if ((int64_t)(b->observed_tail - c->head) > 0)
			return; /* a producer that saw b may not have written yet */
		c->free_head = atomic_load_explicit(&b->next, memory_order_relaxed);
		recycle(q, b);
	}
}

/* Take the item at lane i's head if it is written. */
static bool take(weft_mpsc *q, unsigned i, void **item)
{
	weft_mpsc_cursor *c = &q->cursors[i];
	weft_mpsc_block *b = c->head_block;
	if (!b) {
		/* The lane's first block: lane_oldest's acquire load pairs
		 * with the CAS in install (first_block). */
		b = lane_oldest(q, i);
		if (!b)
			return false;
		c->head_block = c->free_head = b;
	}
	if (c->head - b->base >= SLOTS) {
		/* acquire: pairs with the release CAS in install (next_block). */
		weft_mpsc_block *next = atomic_load_explicit(&b->next,
							     memory_order_acquire);
		if (!next)
			return false;
		/* b is drained: help producers move tail_block past it. */
		advance_tail_block(&q->lanes[i], b, next);
		c->head_block = b = next;
		reclaim(q, c);
	}
	/* acquire: pairs with the release store of the slot in push. */
	void *v = atomic_load_explicit(&b->slots[c->head - b->base],
				       memory_order_acquire);
	if (!v)
		return false;
	c->head++;
	q->taken++;
	*item = v;
	return true;
}

/* The lanes in turn, from the one after q->lane round to q->lane itself:
 * whichever gives an item becomes q->lane with a fresh quota. */
bool weft__mpsc_pop_slow(weft_mpsc *q, void **item)
{
	/* acquire: pairs with the release fetch_or in first_block. */
	uint32_t used = atomic_load_explicit(&q->used, memory_order_acquire);
	for (unsigned k = 1; k <= WEFT_MPSC_LANES; k++) {
		unsigned i = (q->lane + k) % WEFT_MPSC_LANES;
		if (!(used & (1u << i)) || !take(q, i, item))
			continue;
		q->lane = i;
		q->quota = WEFT_MPSC_LANE_QUOTA - 1;
		return true;
	}
	return false;
}

/* ------------------------------------------------------------ pop_wait */

/* Every lane's tail equals its head: nothing is claimed and unconsumed. */
static bool nothing_claimed(weft_mpsc *q)
{
	for (unsigned i = 0; i < WEFT_MPSC_LANES; i++)
		/* seq_cst: see consumer_sleep. */
		if (atomic_load_explicit(&q->lanes[i].tail, memory_order_seq_cst) !=
		    q->cursors[i].head)
			return false;
	return true;
}

/*
 * Sleep until a push may have come (see "Waiting consumer" in the header).
 * ETIMEDOUT when the deadline passed; 0: poll again.
 */
static int consumer_sleep(weft_mpsc *q, const weft__deadline *deadline,
			  uint32_t *nap_ns)
{
	/* seq_cst (all): the store, then the loads of the tails, against a
	 * push's seq_cst fetch_add of its lane's tail then load of sleeping:
	 * in the single total order, lane by lane, either our load sees the
	 * push's position or its load sees our 1 (store buffering is
	 * forbidden for seq_cst). */
	atomic_store_explicit(&q->sleeping, 1, memory_order_seq_cst);
	int rc;
	bool woken = false;
	if (nothing_claimed(q)) {
		/* The push that claims a head reads our 1. */
		rc = weft__futex_wait(&q->sleeping, 1, deadline);
		woken = rc == 0;
	} else {
		/* A head is claimed, not written: its producer may have read 0. */
		weft__deadline nap = weft__deadline_for(*nap_ns);
		rc = weft__futex_wait(&q->sleeping, 1, weft__deadline_min(&nap, deadline));
		if (rc == ETIMEDOUT && !weft__deadline_passed(deadline))
			rc = 0;
		if (*nap_ns < NAP_MAX_NS)
			*nap_ns *= 2;
	}
	/* seq_cst: as in wake_consumer (every write of sleeping is); its
	 * acquire half pairs with the waker's exchange, so the waker's slot
	 * store is visible to our next poll. */
	(void)atomic_exchange_explicit(&q->sleeping, 0, memory_order_seq_cst);
	/* A producer that wakes us from our own CPU ran there while we slept:
	 * the two share a CPU, and a spin would only keep it from running. */
	if (woken)
		q->beside_waker = atomic_load_explicit(&q->waker_cpu,
						       memory_order_relaxed) == sched_getcpu();
	return rc;
}

/* An item came after waiting with first re-poll interval poll: keep it. */
static void got_after_wait(weft_mpsc *q, uint32_t poll)
{
	q->poll_ns = poll;
	q->wait_taken = q->taken;
}

int weft__mpsc_pop_wait_slow(weft_mpsc *q, void **item, uint64_t timeout_ns)
{
	if (timeout_ns == 0)
		return ETIMEDOUT;
	/* Items taken since the last wait: from a line up to STREAM_MIN_ITEMS,
	 * the producers stream and we re-polled too soon (wait longer this
	 * time); fewer than a line, items come one by one, and
	 * STREAM_MAX_ITEMS or more, we are farther behind than helps (wait
	 * less: latency); in between, keep the interval. */
	uint64_t got = q->taken - q->wait_taken;
	uint32_t poll = q->poll_ns;
	if (got >= LINE_SLOTS && got < STREAM_MIN_ITEMS)
		poll = poll < POLL_MAX_NS ? 2 * poll : POLL_MAX_NS;
	else if (got < LINE_SLOTS || got >= STREAM_MAX_ITEMS)
		poll = poll > POLL_MIN_NS ? poll / 2 : POLL_MIN_NS;
	const uint32_t first = poll;
	weft__deadline deadline = weft__deadline_for(timeout_ns);
	const bool timed = timeout_ns != WEFT_TIMEOUT_NEVER;
	/* Spin only while the producers can run beside us: not with one
	 * usable CPU, nor after a wake-up from a push on our own CPU. */
	uint32_t spun = weft__cpus_parallel() > 1 && !q->beside_waker ? 0 : SPIN_NS;
	uint32_t nap = NAP_MIN_NS;
	for (;;) {
		int rc = 0;
		if (spun < SPIN_NS) {
			weft__pause_ns(poll);
			spun += poll;
			/* x1.25 per empty re-poll: an item that comes while we
			 * pause waits at most a quarter of the time it took
			 * (doubling: up to as long again, +0.5 us per hop of a
			 * ping-pong); POLL_MAX_NS after ~16 polls, ~10 us. */
			if (poll < POLL_MAX_NS)
				poll += poll / 4;
			if (timed && weft__deadline_passed(&deadline))
				rc = ETIMEDOUT;
		} else {
			rc = consumer_sleep(q, &deadline, &nap);
		}
		if (weft_mpsc_pop(q, item)) {
			got_after_wait(q, first);
			return 0;
		}
		if (rc == ETIMEDOUT)
			return ETIMEDOUT;
	}
}
