/* lib/mpsc.c - weft_mpsc slow paths; the algorithm is in weft/mpsc.h. */
#include "weft/mpsc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOTS WEFT_MPSC_BLOCK_SLOTS

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

void weft__mpsc_push_slow(weft_mpsc *q, uint64_t pos, weft_mpsc_block *b,
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
