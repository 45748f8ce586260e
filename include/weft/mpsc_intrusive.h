/*
 * weft/mpsc_intrusive.h - an unbounded intrusive queue: many producers, one
 * consumer, zero allocation.
 *
 * The caller embeds a weft_mpsc_node in its own struct, pushes a pointer to
 * that node and gets it back from pop; WEFT_CONTAINER_OF recovers the struct.
 * The queue owns no memory (no destroy); a node belongs to the queue from the
 * call to push until pop returns it, and may be reused or freed as soon as pop
 * has returned it. Pushing a node that is already queued is undefined.
 *
 * All-zero memory is a valid empty queue (weft_mpsc_intrusive_init just
 * zeroes it): a NULL tail or head stands for the stub node.
 *
 * Algorithm: Dmitry Vyukov's "Intrusive MPSC node-based queue" (1024cores),
 * with the stub node inside the queue. The nodes form a singly linked list
 * from head (oldest, consumer side) to tail (newest, producer side); the stub
 * is a dummy node that keeps the list non-empty.
 *
 * push: n->next = NULL; prev = exchange(tail, n); prev->next = n. One XCHG,
 *       no loop: wait-free and never fails.
 * pop:  h = head; if h is the stub, skip it (if it has a successor). If h has
 *       a successor, head = successor and return h. Otherwise h is the last
 *       linked node (lib/mpsc_intrusive.c): if tail != h a push after h is in
 *       its window (below): return NULL. If tail == h, push the stub behind h
 *       so that h gets a successor and can be taken; h is returned iff its
 *       next is then set (the stub's, or a racing producer's node).
 *
 * Why the orders suffice:
 * - exchange(tail) is acq_rel. Release publishes n->next = NULL, acquire
 *   receives the previous pusher's prev->next = NULL: the pushes form one
 *   chain of RMWs on tail, so a node's NULL initialisation happens-before
 *   the store that links its successor, and that store wins coherence
 *   (no link is ever overwritten by a stale NULL). The stub, re-pushed by
 *   the consumer, goes through the same exchange.
 * - prev->next = n is a release store; the consumer's loads of next are
 *   acquire. The pair publishes everything the producer wrote into the
 *   struct around n before push (and n->next = NULL). It is also the
 *   producer's last access to prev, so once pop has read a non-NULL h->next,
 *   nobody touches h again: pop returns h only then, and the caller may
 *   reuse it at once.
 * - pop's load of tail is relaxed: it is only compared with h. h was read
 *   through an acquire chain from the push that stored tail = h, so the
 *   load sees h or a later value; a later value means a push after h has
 *   exchanged but not linked (h->next was NULL): NULL is exact. If it sees
 *   h, the stub push is itself an exchange (it reads the latest tail), so
 *   the stub is linked behind whatever is newest and stays correct either way.
 * - head and stub.next's reader are the consumer only; head is a plain field.
 *
 * The window: a producer preempted between its exchange and its store of
 * prev->next has put its node in the tail but not linked it; the nodes
 * pushed after it are linked behind it and unreachable from head until it
 * links. pop's contract is exact about it: pop returns NULL iff the queue is
 * empty, or the push of the oldest queued node, or of the node right after
 * it, has not returned (it exchanged the tail and has not linked yet; the
 * oldest node cannot be taken before its successor is known). pop never
 * waits for that producer. If every push that started before pop has
 * returned, NULL means empty. Nodes pushed by one thread come out in the
 * order pushed; each node comes out exactly once.
 *
 * Memory: two cache lines of header, nothing per item but the node (8 bytes
 * in the caller's struct).
 */
#ifndef WEFT_MPSC_INTRUSIVE_H
#define WEFT_MPSC_INTRUSIVE_H

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

#include "weft/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The struct containing the member `member` (of type `type`) at `ptr`;
 * ptr must not be NULL (check pop's result first). */
#ifndef WEFT_CONTAINER_OF
#define WEFT_CONTAINER_OF(ptr, type, member)                                   \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))
#endif

typedef struct weft_mpsc_node {
	_Atomic(struct weft_mpsc_node *) next;
} weft_mpsc_node;

typedef struct weft_mpsc_intrusive {
	/* producers' line: the one word every push exchanges; NULL = stub */
	WEFT_ALIGNED_CACHELINE _Atomic(weft_mpsc_node *) tail;
	/* consumer's line: head is plain (one thread); NULL = stub. The stub's
	 * next is written by a producer only when the stub is the newest node,
	 * i.e. the consumer has drained the queue and is polling it anyway. */
	WEFT_ALIGNED_CACHELINE weft_mpsc_node *head;
	weft_mpsc_node stub;
} weft_mpsc_intrusive;

/* An empty queue (all-zero memory is one too). No concurrent use. */
static inline void weft_mpsc_intrusive_init(weft_mpsc_intrusive *q)
{
	atomic_store_explicit(&q->tail, NULL, memory_order_relaxed);
	q->head = NULL;
	atomic_store_explicit(&q->stub.next, NULL, memory_order_relaxed);
}

WEFT_API weft_mpsc_node *weft__mpsc_intrusive_pop_slow(weft_mpsc_intrusive *q,
					     weft_mpsc_node *h);

/* The push itself, for a node known not to be NULL (also the stub push). */
static inline void weft__mpsc_intrusive_link(weft_mpsc_intrusive *q,
					     weft_mpsc_node *n)
{
	/* relaxed: published by the release exchange and release link below. */
	atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
	/* acq_rel: release orders n->next = NULL before the next pusher's link
	 * of n (its acquire of this exchange); acquire does the same for our
	 * link of prev against prev's pusher (see "Why the orders suffice"). */
	weft_mpsc_node *prev =
		atomic_exchange_explicit(&q->tail, n, memory_order_acq_rel);
	if (WEFT_UNLIKELY(!prev))
		prev = &q->stub;
	/* release: publishes n and its struct to the acquire loads of next in
	 * pop; the producer's last access to prev. */
	atomic_store_explicit(&prev->next, n, memory_order_release);
}

/*
 * Append node (any thread). 0, or EINVAL for NULL. Wait-free: one exchange
 * and one store; never blocks, never fails otherwise.
 */
static inline int weft_mpsc_intrusive_push(weft_mpsc_intrusive *q,
					   weft_mpsc_node *node)
{
	if (WEFT_UNLIKELY(!node))
		return EINVAL;
	weft__mpsc_intrusive_link(q, node);
	return 0;
}

/* Take the oldest node, or NULL (the single consumer thread only; see the
 * window above). Never blocks. */
static inline weft_mpsc_node *weft_mpsc_intrusive_pop(weft_mpsc_intrusive *q)
{
	weft_mpsc_node *h = q->head ? q->head : &q->stub;
	/* acquire: pairs with the release link in push. */
	weft_mpsc_node *next = atomic_load_explicit(&h->next, memory_order_acquire);
	if (WEFT_UNLIKELY(h == &q->stub)) {
		if (!next)
			return NULL;
		q->head = h = next;
		/* acquire: as above. */
		next = atomic_load_explicit(&h->next, memory_order_acquire);
	}
	if (WEFT_LIKELY(next)) {
		q->head = next;
		return h;
	}
	return weft__mpsc_intrusive_pop_slow(q, h);
}

#ifdef __cplusplus
}
#endif

#endif /* WEFT_MPSC_INTRUSIVE_H */
