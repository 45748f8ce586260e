/*
 * weft/mpsc.h - an unbounded lock-free queue: many producers, one consumer.
 *
 * Items are void *; NULL is NOT a valid item (push returns EINVAL): an empty
 * slot is a NULL slot, which keeps a slot at 8 bytes.
 *
 * Algorithm: a linked list of 4 KiB blocks of WEFT_MPSC_BLOCK_SLOTS slots
 * indexed by a global 64-bit position, in the family of Tokio's mpsc block
 * list and the FAA array queues (Correia and Ramalhete), with the
 * reclamation rule of Tokio's list. Block k holds positions
 * [base, base + SLOTS).
 *
 * push: pos = fetch_add(tail, 1) (the one RMW; producers never retry), then
 *       b = tail_block. If pos is in b: store the item into its slot
 *       (release) - done. Otherwise (lib/mpsc.c) walk b->next to pos's block,
 *       appending blocks where the list ends (CAS on next; the loser keeps
 *       its block as the spare) and moving tail_block along (CAS); or, if a
 *       delay let tail_block run past pos's block, walk back along prev. No
 *       producer ever waits for another one, and a stalled producer slows
 *       no other producer.
 * pop:  read the slot at head (acquire); NULL means nothing to take. At the
 *       end of a block, follow next and reclaim drained blocks.
 *
 * Reclamation (why no producer still holds a block the consumer frees): the
 * thread that moves tail_block past block X then reads tail (both seq_cst),
 * and records that value T in X, then marks X released. A producer that read
 * tail_block == X did its fetch_add before (seq_cst order), so its position
 * is below T. The consumer frees or recycles X only once released and every
 * position below T has been consumed - so every producer that could have
 * loaded X has written its slot, its last access to any block. Blocks are
 * reclaimed in list order, so the same bound covers the blocks a producer
 * walks into forward; walking back it never passes its own block, which is
 * not reclaimed before its slot is consumed.
 * Drained blocks are recycled through a one-block spare (no allocation per
 * item, one per 504 items only while the queue grows) and freed beyond that.
 *
 * The window: a producer preempted between its fetch_add and its store holds
 * a claimed, unwritten slot; items claimed after it wait behind it. pop's
 * contract is exact about it: pop returns false iff the oldest claimed
 * position is not yet written, i.e. the queue is empty or the push that
 * claimed the oldest item has not returned. If every push that started
 * before pop has returned, false means empty. Items pushed by one thread
 * come out in the order pushed; each item comes out exactly once.
 *
 * Waiting consumer (weft_mpsc_pop_wait). How the consumer waits decides the
 * throughput more than the queue does: a consumer that re-polls at once
 * follows the producer into the lines (and, through its hardware
 * prefetchers, the 4 KiB page) the producer is still writing, and every
 * such line costs the producer a coherence miss that its next fetch_add
 * (a full barrier) waits for: 17-20 ns per push instead of 8-10, half the
 * throughput (docs/tuning.md, "mpsc: the consumer that follows too
 * closely"). pop_wait re-polls after an interval that adapts: it doubles
 * (64 ns up to 2 us, about 256 pushes) while each wait found a line or
 * more of items (the producers stream: let a batch build up) and halves
 * when items come one by one (latency). After 10 us without an item (at
 * once with one usable CPU) it sleeps on a futex and uses no CPU.
 *
 * Sleeping consumer. The consumer stores sleeping = 1, then loads tail
 * (both seq_cst); every push loads sleeping (seq_cst) after its fetch_add
 * of tail and, if it read 1, wakes the consumer after its slot store
 * (exchange to 0, futex wake). In the single total order either the
 * consumer's load of tail sees the push's position or the push's load sees
 * the 1 (store buffering is forbidden for seq_cst), so:
 *   tail == head: nothing is claimed; the push that claims head reads 1 and
 *     wakes us: sleep without timeout.
 *   tail != head: head is claimed but not written; its producer may have
 *     read 0 and will not wake us (it may be preempted in the window), so
 *     sleep with a timeout (50 us doubling to 1 ms) and poll again.
 * The consumer resets sleeping to 0 (exchange) after waking, which pairs
 * with the waker's exchange: its slot store is visible to the next poll.
 * Every write of sleeping is seq_cst, so a push's load reads the last one
 * before it in the total order. Cost on the push: one load of a line written once per block
 * and once per sleep (x86: a plain mov; ARM64: an ldar before the stlr).
 *
 * Memory: a 192-byte header plus 4 KiB blocks (about 8.1 bytes per queued
 * item); destroy frees every block (items still inside are the caller's).
 * Positions wrap modulo 2^64; all comparisons are on differences.
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

typedef struct weft_mpsc_block weft_mpsc_block;
struct weft_mpsc_block {
	_Atomic(weft_mpsc_block *) next;
	weft_mpsc_block *prev;	 /* set before publication */
	uint64_t base;		 /* position of slots[0]; set before publication */
	uint64_t observed_tail;	 /* tail when tail_block moved past this block */
	_Atomic uint32_t released; /* observed_tail is valid */
	WEFT_ALIGNED_CACHELINE _Atomic(void *) slots[WEFT_MPSC_BLOCK_SLOTS];
};

typedef struct weft_mpsc {
	/* producers' line: every push touches both */
	WEFT_ALIGNED_CACHELINE _Atomic uint64_t tail;
	_Atomic(weft_mpsc_block *) tail_block;
	/* Written rarely (once per block; once per consumer sleep), read by
	 * every push (sleeping): a line of its own, shared clean. */
	WEFT_ALIGNED_CACHELINE _Atomic(weft_mpsc_block *) spare; /* one recycled block */
	_Atomic uint32_t sleeping; /* 1: the consumer sleeps (or is about to) in pop_wait */
	/* consumer's line: plain fields, one thread */
	WEFT_ALIGNED_CACHELINE uint64_t head;
	weft_mpsc_block *head_block;
	weft_mpsc_block *free_head; /* oldest block not yet reclaimed */
	uint64_t wait_head; /* head when pop_wait last found an item after waiting */
	uint32_t poll_ns;   /* pop_wait's first re-poll interval (adapted) */
} weft_mpsc;

/* 0 or ENOMEM (the first block). */
WEFT_API int weft_mpsc_init(weft_mpsc *q);
/* Frees every block; no push or pop may run concurrently. */
WEFT_API void weft_mpsc_destroy(weft_mpsc *q);

/* Internal, for tests: init with the positions starting at `start`. */
int weft__mpsc_init_at(weft_mpsc *q, uint64_t start);

/* Bytes the queue holds (header, blocks, spare). Consumer thread only. */
WEFT_API size_t weft_mpsc_memory(const weft_mpsc *q);

/* Both return 0 (push's result), so that push tail-calls them. */
WEFT_API int weft__mpsc_push_slow(weft_mpsc *q, uint64_t pos, weft_mpsc_block *b,
				 void *item);
WEFT_API bool weft__mpsc_pop_slow(weft_mpsc *q, void **item);
WEFT_API int weft__mpsc_wake(weft_mpsc *q);
WEFT_API int weft__mpsc_pop_wait_slow(weft_mpsc *q, void **item, uint64_t timeout_ns);

/*
 * Append item (any thread). 0, or EINVAL for NULL. Never blocks and never
 * fails for memory: if the allocator fails while the queue must grow, push
 * sleeps (1 us doubling to 1 ms) and retries (its position is already
 * claimed and must be filled).
 */
static inline int weft_mpsc_push(weft_mpsc *q, void *item)
{
	if (WEFT_UNLIKELY(!item))
		return EINVAL;
	/* seq_cst: ordered before the seq_cst load of tail_block below, against
	 * the CAS of tail_block and the load of tail in lib/mpsc.c's release
	 * of a block (see "Reclamation" above). */
	uint64_t pos = atomic_fetch_add_explicit(&q->tail, 1, memory_order_seq_cst);
	/* seq_cst: see above; also acquire for the block's base (the CAS that
	 * published the block released it). */
	weft_mpsc_block *b = atomic_load_explicit(&q->tail_block, memory_order_seq_cst);
	/* seq_cst: after our fetch_add in the single total order, against the
	 * consumer's seq_cst store of sleeping then load of tail in
	 * weft_mpsc_pop_wait (see "Sleeping consumer" above). Loaded before
	 * the slot store, so ARM64 needs no store-load barrier (ldar after
	 * the ldaddal, then stlr); the wake-up comes after the store. */
	uint32_t sleeping = atomic_load_explicit(&q->sleeping, memory_order_seq_cst);
	uint64_t off = pos - b->base;
	if (WEFT_UNLIKELY(off >= WEFT_MPSC_BLOCK_SLOTS))
		return weft__mpsc_push_slow(q, pos, b, item); /* wakes too */
	/* release: publishes item to the acquire load in weft_mpsc_pop. */
	atomic_store_explicit(&b->slots[off], item, memory_order_release);
	if (WEFT_UNLIKELY(sleeping))
		return weft__mpsc_wake(q);
	return 0;
}

/* Take the oldest item (the single consumer thread only); see the window above. */
static inline bool weft_mpsc_pop(weft_mpsc *q, void **item)
{
	weft_mpsc_block *b = q->head_block;
	uint64_t off = q->head - b->base;
	if (WEFT_UNLIKELY(off >= WEFT_MPSC_BLOCK_SLOTS))
		return weft__mpsc_pop_slow(q, item);
	/* acquire: pairs with the release store of the slot in push. */
	void *v = atomic_load_explicit(&b->slots[off], memory_order_acquire);
	if (!v)
		return false;
	q->head++;
	*item = v;
	return true;
}

/*
 * Take the oldest item, waiting for one at most timeout_ns (relative,
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
