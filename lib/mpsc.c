/* lib/mpsc.c - weft_mpsc slow paths; the algorithm is in weft/mpsc.h. */
#include "weft/mpsc.h"

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
 * POLL_MAX_NS: the longest, about 256 pushes (32 lines). A consumer held
 *   that far behind no longer slows the producer (10.5 ns per push against
 *   17-20 ns when it follows at once, 2 threads at 56-63M/s); at a whole
 *   block (4 KiB, 504 items) the gain stops. It is also the latency a
 *   streaming consumer adds to an item, well under a futex wake-up.
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
#define POLL_MAX_NS 2048u
#define SPIN_NS 10000u
#define NAP_MIN_NS 50000u
#define NAP_MAX_NS 1000000u

_Static_assert(sizeof(weft_mpsc_block) == WEFT_MPSC_BLOCK_BYTES,
	       "a block is one 4 KiB allocation");

/* A zeroed block for positions [base, base + SLOTS). NULL when out of memory. */
static weft_mpsc_block *block_new(weft_mpsc *q, uint64_t base)
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
	b->base = base;
	return b;
}

/* Keep b (zeroed, unpublished) as the spare; free the one it displaces. */
static void put_spare(weft_mpsc *q, weft_mpsc_block *b)
{
	/* release: publishes b's reset to block_new's acquire exchange;
	 * acquire: the displaced block's last writer happens-before free. */
	weft_mpsc_block *old = atomic_exchange_explicit(&q->spare, b,
							memory_order_acq_rel);
	free(old);
}

int weft__mpsc_init_at(weft_mpsc *q, uint64_t start)
{
	memset(q, 0, sizeof *q);
	weft_mpsc_block *b = block_new(q, start);
	if (!b)
		return ENOMEM;
	atomic_init(&q->tail, start);
	atomic_init(&q->sleeping, 0);
	q->wait_head = start;
	q->poll_ns = POLL_MIN_NS;
	atomic_init(&q->tail_block, b);
	q->head = start;
	q->head_block = q->free_head = b;
	return 0;
}

int weft_mpsc_init(weft_mpsc *q)
{
	return weft__mpsc_init_at(q, 0);
}

void weft_mpsc_destroy(weft_mpsc *q)
{
	weft_mpsc_block *b = q->free_head;
	while (b) {
		weft_mpsc_block *next = atomic_load_explicit(&b->next,
							     memory_order_relaxed);
		free(b);
		b = next;
	}
	free(atomic_load_explicit(&q->spare, memory_order_relaxed));
	q->free_head = q->head_block = NULL;
	atomic_store_explicit(&q->spare, NULL, memory_order_relaxed);
}

size_t weft_mpsc_memory(const weft_mpsc *q)
{
	size_t bytes = sizeof *q;
	/* acquire: pairs with the release CAS that linked each block. */
	for (weft_mpsc_block *b = q->free_head; b;
	     b = atomic_load_explicit(&b->next, memory_order_acquire))
		bytes += sizeof *b;
	if (atomic_load_explicit(&((weft_mpsc *)q)->spare, memory_order_relaxed))
		bytes += sizeof(weft_mpsc_block);
	return bytes;
}

/*
 * Move tail_block from b to next if it is still b; record the tail seen
 * after the move in b and mark b released (see "Reclamation" in the header).
 */
static void advance_tail_block(weft_mpsc *q, weft_mpsc_block *b,
			       weft_mpsc_block *next)
{
	weft_mpsc_block *expected = b;
	/* relaxed: a hint that saves the CAS when tail_block moved on. */
	if (atomic_load_explicit(&q->tail_block, memory_order_relaxed) != b)
		return;
	/* seq_cst: ordered before our seq_cst load of tail below, against the
	 * producers' seq_cst fetch_add of tail then load of tail_block. */
	if (!atomic_compare_exchange_strong_explicit(&q->tail_block, &expected,
						     next, memory_order_seq_cst,
						     memory_order_relaxed))
		return;
	b->observed_tail = atomic_load_explicit(&q->tail, memory_order_seq_cst);
	/* release: publishes observed_tail (and our last access to b) to the
	 * consumer's acquire load in reclaim(). */
	atomic_store_explicit(&b->released, 1, memory_order_release);
}

/* The block after b, appending one if b is the last. */
static weft_mpsc_block *next_block(weft_mpsc *q, weft_mpsc_block *b)
{
	/* acquire: pairs with the release CAS below that published it. */
	weft_mpsc_block *next = atomic_load_explicit(&b->next, memory_order_acquire);
	if (next)
		return next;
	weft_mpsc_block *fresh;
	/* Our position is claimed, so we must fill it: wait for memory,
	 * sleeping 1 us doubling to 1 ms between attempts (no CPU burnt, and
	 * no sched_yield loop whose cost depends on the scheduler). */
	for (long nap_ns = 1000; !(fresh = block_new(q, b->base + SLOTS));
	     nap_ns = nap_ns < 1000000 ? 2 * nap_ns : nap_ns)
		nanosleep(&(struct timespec){ .tv_nsec = nap_ns }, NULL);
	fresh->prev = b;
	/* release: publishes fresh's base and zeroed slots to whoever loads
	 * b->next or tail_block; acquire (failure): the winner's block. */
	if (atomic_compare_exchange_strong_explicit(&b->next, &next, fresh,
						    memory_order_acq_rel,
						    memory_order_acquire))
		return fresh;
	put_spare(q, fresh);
	return next;
}

int weft__mpsc_push_slow(weft_mpsc *q, uint64_t pos, weft_mpsc_block *b,
			 void *item)
{
	/* tail_block ran ahead of pos (we were delayed between the fetch_add
	 * and the load): step back. The blocks from ours up to b cannot be
	 * reclaimed before ours, which holds our unwritten slot. */
	while ((int64_t)(b->base - pos) > 0)
		b = b->prev;
	while (pos - b->base >= SLOTS) {
		weft_mpsc_block *next = next_block(q, b);
		advance_tail_block(q, b, next);
		b = next;
	}
	/* release: publishes item to the acquire load in weft_mpsc_pop. This
	 * store is our last access to any block. */
	atomic_store_explicit(&b->slots[pos - b->base], item, memory_order_release);
	/* seq_cst: as the load in weft_mpsc_push (after our fetch_add in the
	 * single total order), taken again here where it is cheap. */
	if (atomic_load_explicit(&q->sleeping, memory_order_seq_cst))
		return weft__mpsc_wake(q);
	return 0;
}

/* Reset a drained block and keep it as the spare. */
static void recycle(weft_mpsc *q, weft_mpsc_block *b)
{
	/* Plain writes: no other thread holds b (reclamation rule); put_spare's
	 * release publishes them. */
	memset((void *)b, 0, sizeof *b);
	put_spare(q, b);
}

/* Reclaim the drained blocks before head_block that producers released. */
static void reclaim(weft_mpsc *q)
{
	while (q->free_head != q->head_block) {
		weft_mpsc_block *b = q->free_head;
		/* acquire: pairs with the release store in advance_tail_block. */
		if (!atomic_load_explicit(&b->released, memory_order_acquire))
			return;
		if ((int64_t)(b->observed_tail - q->head) > 0)
			return; /* a producer that saw b may not have written yet */
		q->free_head = atomic_load_explicit(&b->next, memory_order_relaxed);
		recycle(q, b);
	}
}

bool weft__mpsc_pop_slow(weft_mpsc *q, void **item)
{
	weft_mpsc_block *b = q->head_block;
	/* acquire: pairs with the release CAS in next_block. */
	weft_mpsc_block *next = atomic_load_explicit(&b->next, memory_order_acquire);
	if (!next)
		return false;
	/* b is drained: help producers move tail_block past it. */
	advance_tail_block(q, b, next);
	q->head_block = next;
	reclaim(q);
	return weft_mpsc_pop(q, item);
}

/* ------------------------------------------------------------ pop_wait */

int weft__mpsc_wake(weft_mpsc *q)
{
	/* seq_cst: every write of sleeping is seq_cst, so a push's seq_cst
	 * load reads the last one before it in the total order (no older 0
	 * from a non-seq_cst write); its release half publishes our slot
	 * store (program order before) to the consumer's exchange in
	 * consumer_sleep. Only the producer that takes the 1 wakes. */
	if (atomic_exchange_explicit(&q->sleeping, 0, memory_order_seq_cst))
		(void)weft__futex_wake(&q->sleeping, 1);
	return 0;
}

static weft__deadline deadline_in(uint64_t ns)
{
	if (ns == WEFT_TIMEOUT_NEVER)
		return weft__deadline_never();
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	uint64_t at = (uint64_t)now.tv_nsec + ns % 1000000000u;
	now.tv_sec += (time_t)(ns / 1000000000u + at / 1000000000u);
	now.tv_nsec = (long)(at % 1000000000u);
	return now;
}

/*
 * Sleep until a push may have come (see "Waiting consumer" in the header).
 * ETIMEDOUT when the deadline passed; 0: poll again.
 */
static int consumer_sleep(weft_mpsc *q, const weft__deadline *deadline,
			  uint32_t *nap_ns)
{
	/* seq_cst (both): the store, then the load of tail, against a push's
	 * seq_cst fetch_add of tail then load of sleeping: in the single total
	 * order either our load sees the push's position or its load sees our
	 * 1 (store buffering forbidden for seq_cst). */
	atomic_store_explicit(&q->sleeping, 1, memory_order_seq_cst);
	uint64_t tail = atomic_load_explicit(&q->tail, memory_order_seq_cst);
	int rc;
	if (tail == q->head) {
		/* Nothing claimed: the push that claims head reads our 1. */
		rc = weft__futex_wait(&q->sleeping, 1, deadline);
	} else {
		/* head is claimed, not written: its producer may have read 0. */
		weft__deadline nap = deadline_in(*nap_ns);
		rc = weft__futex_wait(&q->sleeping, 1, weft__deadline_min(&nap, deadline));
		if (rc == ETIMEDOUT && !weft__deadline_passed(deadline))
			rc = 0;
		if (*nap_ns < NAP_MAX_NS)
			*nap_ns *= 2;
	}
	/* seq_cst: as in weft__mpsc_wake (every write of sleeping is); its
	 * acquire half pairs with the waker's exchange, so the waker's slot
	 * store is visible to our next poll. */
	(void)atomic_exchange_explicit(&q->sleeping, 0, memory_order_seq_cst);
	return rc;
}

/* An item came after waiting with first re-poll interval poll: keep it. */
static void got_after_wait(weft_mpsc *q, uint32_t poll)
{
	q->poll_ns = poll;
	q->wait_head = q->head;
}

int weft__mpsc_pop_wait_slow(weft_mpsc *q, void **item, uint64_t timeout_ns)
{
	if (timeout_ns == 0)
		return ETIMEDOUT;
	/* Items taken since the last wait: a line or more means the producers
	 * stream and we re-polled too soon (wait longer this time); fewer,
	 * that items come one by one (wait less: latency). */
	uint32_t poll = q->poll_ns;
	if (q->head - q->wait_head >= LINE_SLOTS)
		poll = poll < POLL_MAX_NS ? 2 * poll : POLL_MAX_NS;
	else
		poll = poll > POLL_MIN_NS ? poll / 2 : POLL_MIN_NS;
	const uint32_t first = poll;
	weft__deadline deadline = deadline_in(timeout_ns);
	const bool timed = timeout_ns != WEFT_TIMEOUT_NEVER;
	/* Spin only while the producers can run beside us. */
	uint32_t spun = weft__cpus_usable() > 1 ? 0 : SPIN_NS;
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
