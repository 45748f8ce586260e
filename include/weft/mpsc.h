/*
 * weft/mpsc.h - an unbounded lock-free queue: many producers, one consumer.
 *
 * Items are void *; NULL is NOT a valid item (push returns EINVAL): an empty
 * slot is a NULL slot, which keeps a slot at 8 bytes.
 *
 * Order: the items one thread pushes come out in the order it pushed them,
 * each item exactly once. Items of different threads have no order between
 * them (they may travel in different lanes, below). That is the whole
 * promise: no mpsc of weft's ever ordered two producers' items.
 *
 * Lanes. The queue is WEFT_MPSC_LANES independent lanes; a thread pushes
 * into one lane always (the next lane, round-robin, given to each thread at
 * its first push to any weft_mpsc), and the consumer drains the lanes in
 * turn, up to WEFT_MPSC_LANE_QUOTA items from one before it looks at the
 * next. Why: producers that push at the same time into one lane share two
 * cache lines per push (the tail's, and the slot line their consecutive
 * positions fall in), and that line traffic, not the queue's work, was the
 * cost of two producers (docs/tuning.md, "mpsc lanes"). Up to 8 producers
 * never share a line; more share lanes, as all of them shared one before.
 * A lane's blocks are allocated at its first push; init keeps one block for
 * it (so a queue with one producer costs one block, as before).
 *
 * A lane: a linked list of 4 KiB blocks of WEFT_MPSC_BLOCK_SLOTS slots
 * indexed by a 64-bit position, in the family of Tokio's mpsc block list
 * and the FAA array queues (Correia and Ramalhete), with the reclamation
 * rule of Tokio's list. Block k holds positions [base, base + SLOTS).
 *
 * push: pos = fetch_add(lane.tail, 1) (the one RMW; producers never retry),
 *       then b = lane.tail_block. If pos is in b: store the item into its
 *       slot (release) - done. Otherwise (lib/mpsc.c) walk b->next to pos's
 *       block, appending blocks where the list ends (CAS on next; the loser
 *       keeps its block as the spare) and moving tail_block along (CAS); or,
 *       if a delay let tail_block run past pos's block, walk back along prev.
 *       No producer ever waits for another one.
 * pop:  read the slot at the lane's head (acquire); NULL means nothing to
 *       take there. At the end of a block, follow next and reclaim drained
 *       blocks; at the end of the quota or of the lane's items, the next lane.
 *
 * Reclamation (why no producer still holds a block the consumer frees): the
 * thread that moves a lane's tail_block past block X then reads the lane's
 * tail (both seq_cst), and records that value T in X, then marks X
 * released. A producer that read tail_block == X did its fetch_add before
 * (seq_cst order), so its position is below T. The consumer frees or
 * recycles X only once released and every position below T has been
 * consumed - so every producer that could have loaded X has written its
 * slot, its last access to any block. Blocks are reclaimed in list order,
 * so the same bound covers the blocks a producer walks into forward;
 * walking back it never passes its own block, which is not reclaimed before
 * its slot is consumed. Drained blocks are recycled through a one-block
 * spare shared by the lanes (no allocation per item, one per 504 items only
 * while the queue grows) and freed beyond that.
 *
 * The window: a producer preempted between its fetch_add and its store holds
 * a claimed, unwritten slot; items claimed after it in its lane wait behind
 * it (the other lanes flow on). pop's contract is exact about it: pop
 * returns false iff in every lane the oldest claimed position is not yet
 * written, i.e. the lane is empty or the push that claimed its oldest item
 * has not returned. If every push that started before pop has returned,
 * false means empty.
 *
 * Waiting consumer (weft_mpsc_pop_wait). How the consumer waits decides the
 * throughput more than the queue does: a consumer that re-polls at once
 * follows the producer into the lines (and, through its hardware
 * prefetchers, the 4 KiB page) the producer is still writing, and every
 * such line costs the producer a coherence miss that its next fetch_add
 * (a full barrier) waits for: 17-20 ns per push instead of 8-10, half the
 * throughput (docs/tuning.md, "mpsc: the consumer that follows too
 * closely"). pop_wait re-polls after an interval that adapts: it doubles
 * (from 64 ns, at most 16 us) while each wait found from a line up to 256
 * items (the producers stream: let a batch build up, 32 lines behind
 * them) and halves when items come one by one (latency) or a wait found
 * more than two blocks. After 10 us without an item it sleeps on a futex
 * and uses no CPU; at once with one usable CPU, or when the push that last
 * woke it was made on its own CPU (that producer runs where we would spin). A producer that
 * installs a new block asks for all its lines at once (prefetch for
 * writing), so their transfers overlap instead of each stalling a push.
 *
 * Sleeping consumer. The consumer stores sleeping = 1, then loads every
 * lane's tail (all seq_cst); every push loads sleeping (seq_cst) after its
 * fetch_add of its lane's tail and, if it read 1, wakes the consumer after
 * its slot store (exchange to 0, futex wake). In the single total order,
 * for each lane, either the consumer's load of its tail sees the push's
 * position or the push's load sees the 1 (store buffering is forbidden for
 * seq_cst), so:
 *   every tail == its head: nothing is claimed; the push that claims a
 *     head reads 1 and wakes us: sleep without timeout.
 *   some tail != its head: that head is claimed but not written; its
 *     producer may have read 0 and will not wake us (it may be preempted
 *     in the window), so sleep with a timeout (50 us doubling to 1 ms) and
 *     poll again.
 * The consumer resets sleeping to 0 (exchange) after waking, which pairs
 * with the waker's exchange: its slot store is visible to the next poll,
 * and so is waker_cpu, a hint the waker stores (relaxed) before it.
 * Every write of sleeping is seq_cst, so a push's load reads the last one
 * before it in the total order. Cost on the push: one load of a line
 * written once per sleep (x86: a plain mov; ARM64: an ldar before the stlr).
 *
 * Memory: the header (about 1 KiB) plus 4 KiB blocks (about 8.1 bytes per
 * queued item) in the lanes that were pushed to. An empty queue keeps each
 * used lane's current block: 4 KiB with one producer thread, up to 32 KiB
 * once 8 or more threads have pushed. destroy frees every block (items
 * still inside are the caller's). Positions wrap modulo 2^64; all
 * comparisons are on differences.
 *
 * Who may call what concurrently:
 *   push                      any thread, any number at once
 *   pop, pop_wait, memory     the one consumer thread, one call at a time
 *   init, destroy             no other call on the queue at the same time
 */
#ifndef WEFT_MPSC_H
#define WEFT_MPSC_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WEFT_MPSC_BLOCK_BYTES 4096
#define WEFT_MPSC_BLOCK_HEADER WEFT_CACHELINE /* the slots start on their own line */
#define WEFT_MPSC_BLOCK_SLOTS                                                   \
	((WEFT_MPSC_BLOCK_BYTES - WEFT_MPSC_BLOCK_HEADER) / sizeof(void *))
/* Lanes per queue: up to this many producers share no cache line. */
#define WEFT_MPSC_LANES 8
/* Items the consumer takes from one lane before it looks at the next. */
#define WEFT_MPSC_LANE_QUOTA 64

typedef struct weft_mpsc_block weft_mpsc_block;
struct weft_mpsc_block {
	_Atomic(weft_mpsc_block *) next;
	weft_mpsc_block *prev;	 /* set before publication; NULL: the lane's first */
	uint64_t base;		 /* position of slots[0]; set before publication */
	uint64_t observed_tail;	 /* tail when tail_block moved past this block */
	_Atomic uint32_t released; /* observed_tail is valid */
	WEFT_ALIGNED_CACHELINE _Atomic(void *) slots[WEFT_MPSC_BLOCK_SLOTS];
};

/* A lane's producers' line: every push into the lane touches both. */
typedef struct weft_mpsc_lane {
	WEFT_ALIGNED_CACHELINE _Atomic uint64_t tail;
	_Atomic(weft_mpsc_block *) tail_block; /* NULL until the lane's first push */
} weft_mpsc_lane;

/* The consumer's place in a lane: plain fields, the consumer thread only. */
typedef struct weft_mpsc_cursor {
	uint64_t head;
	weft_mpsc_block *head_block; /* NULL until the consumer finds the lane's first block */
	weft_mpsc_block *free_head;  /* oldest block not yet reclaimed */
} weft_mpsc_cursor;

typedef struct weft_mpsc {
	weft_mpsc_lane lanes[WEFT_MPSC_LANES];
	/* Written rarely (once per block; once per consumer sleep; once per
	 * lane's first push), read by every push (sleeping): a line of its own,
	 * shared clean. */
	WEFT_ALIGNED_CACHELINE _Atomic(weft_mpsc_block *) spare; /* one recycled block */
	_Atomic uint32_t sleeping; /* 1: the consumer sleeps (or is about to) in pop_wait */
	_Atomic uint32_t used;	   /* bit i: lane i has its first block */
	_Atomic int32_t waker_cpu; /* CPU of the last push that woke the consumer (a hint) */
	uint64_t origin;	   /* every lane's first position; set by init */
	/* consumer's lines: plain fields, one thread */
	WEFT_ALIGNED_CACHELINE weft_mpsc_cursor cursors[WEFT_MPSC_LANES];
	uint32_t lane;	    /* the lane pop takes from */
	uint32_t quota;	    /* items pop may still take from it */
	uint64_t taken;	    /* items popped since init */
	uint64_t wait_taken; /* taken when pop_wait last found an item after waiting */
	uint32_t poll_ns;   /* pop_wait's first re-poll interval (adapted) */
	uint32_t beside_waker; /* 1: the last wake-up came from our own CPU: do not spin */
} weft_mpsc;

/* 0 or ENOMEM (the first block). */
WEFT_API int weft_mpsc_init(weft_mpsc *q);
/* Frees every block; no push or pop may run concurrently. */
WEFT_API void weft_mpsc_destroy(weft_mpsc *q);

/* Internal, for tests: init with the positions starting at `start`. */
int weft__mpsc_init_at(weft_mpsc *q, uint64_t start);
/* Internal, for tests: the lane the calling thread pushes into. */
unsigned weft__mpsc_my_lane(void);

/* Bytes the queue holds (header, blocks, spare). Consumer thread only. */
WEFT_API size_t weft_mpsc_memory(const weft_mpsc *q);

/*
 * Append item (any thread). 0, or EINVAL for NULL. Never blocks and never
 * fails for memory: if the allocator fails while the queue must grow, push
 * sleeps (1 us doubling to 1 ms) and retries (its position is already
 * claimed and must be filled). A function, not inline: the thread's lane
 * comes from the library's thread-local state, one source for every caller.
 */
WEFT_API int weft_mpsc_push(weft_mpsc *q, void *item);

WEFT_API bool weft__mpsc_pop_slow(weft_mpsc *q, void **item);
WEFT_API int weft__mpsc_pop_wait_slow(weft_mpsc *q, void **item, uint64_t timeout_ns);

/* Take an item (the single consumer thread only); see the window above. */
static inline bool weft_mpsc_pop(weft_mpsc *q, void **item)
{
	weft_mpsc_cursor *c = &q->cursors[q->lane];
	weft_mpsc_block *b = c->head_block;
	/* b == NULL: the lane has no block yet; off past the block: its end;
	 * quota 0: another lane's turn. */
	if (WEFT_UNLIKELY(!b || c->head - b->base >= WEFT_MPSC_BLOCK_SLOTS ||
			  q->quota == 0))
		return weft__mpsc_pop_slow(q, item);
	/* acquire: pairs with the release store of the slot in push. */
	void *v = atomic_load_explicit(&b->slots[c->head - b->base],
				       memory_order_acquire);
	if (!v)
		return weft__mpsc_pop_slow(q, item); /* the other lanes */
	c->head++;
	q->quota--;
	q->taken++;
	*item = v;
	return true;
}

/*
 * Take an item (as weft_mpsc_pop), waiting for one at most timeout_ns (relative,
 * CLOCK_MONOTONIC; WEFT_TIMEOUT_NEVER: forever; 0: as weft_mpsc_pop). The
 * single consumer thread only. 0, or ETIMEDOUT with *item untouched. A
 * waiting consumer re-polls at adapted intervals (see "Waiting consumer"
 * above), then sleeps on a futex and uses no CPU; a push wakes it.
 */
static inline int weft_mpsc_pop_wait(weft_mpsc *q, void **item, uint64_t timeout_ns)
{
	if (WEFT_LIKELY(weft_mpsc_pop(q, item)))
		return 0;
	return weft__mpsc_pop_wait_slow(q, item, timeout_ns);
}

#ifdef __cplusplus
}
#endif

#endif /* WEFT_MPSC_H */
