/*
 * lib/internal/deque.h - the Chase-Lev work-stealing deque of void * items
 * (NULL is not an item), with the C11 memory orders of
 *
 *   N. M. Le, A. Pop, A. Cohen, F. Zappa Nardelli, "Correct and Efficient
 *   Work-Stealing for Weak Memory Models", PPoPP 2013 (fig. 1),
 *
 * on D. Chase and Y. Lev, "Dynamic Circular Work-Stealing Deque", SPAA 2005.
 *
 * One owner pushes and takes at the bottom (LIFO); any number of thieves
 * steal at the top (FIFO). Indices are signed 64-bit and only grow (no
 * wrap in practice); the items live in a circular array of 2^k slots that
 * the owner doubles when full. A replaced array is not freed while thieves
 * may still read it: it is kept on a list and freed by weft__deque_destroy
 * (the arrays of one deque add up to less than twice the last one).
 *
 * States: top <= bottom always holds outside take's window; the deque holds
 * bottom - top items. take first publishes bottom - 1 (claiming the last
 * slot), then reads top: if items remain beyond the last one, the slot is
 * the owner's alone; when exactly one item is left, owner and thieves race
 * for it with a CAS on top, and the loser sees empty.
 *
 * Orders against Le et al.: their push ends with a release fence followed
 * by a relaxed store of bottom; here the store of bottom itself is release
 * (at least as strong, and ThreadSanitizer, which does not model fences,
 * then sees the hand-over of the item's contents). Their consume load of
 * the array in steal is acquire here (compilers promote consume anyway),
 * and the array pointer is stored with release when the owner grows it.
 * Everything else is as in the paper; each access says what it pairs with.
 */
#ifndef WEFT_INTERNAL_DEQUE_H
#define WEFT_INTERNAL_DEQUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "weft/common.h"

typedef struct weft__deque_array {
	struct weft__deque_array *older; /* replaced arrays, freed at destroy */
	int64_t mask;			 /* slots - 1 */
	_Atomic(void *) slot[];
} weft__deque_array;

typedef struct weft__deque {
	WEFT_ALIGNED_CACHELINE _Atomic int64_t top; /* thieves' end */
	WEFT_ALIGNED_CACHELINE _Atomic int64_t bottom; /* owner's end */
	_Atomic(weft__deque_array *) array;
} weft__deque;

/* What weft__deque_steal found. */
#define WEFT__DEQUE_EMPTY ((void *)0)
#define WEFT__DEQUE_ABORT ((void *)1) /* lost a race: try again or elsewhere */

static inline weft__deque_array *weft__deque_array_new(int64_t slots)
{
	weft__deque_array *a =
		malloc(sizeof *a + (size_t)slots * sizeof(_Atomic(void *)));
	if (a) {
		a->older = NULL;
		a->mask = slots - 1;
	}
	return a;
}

/* An empty deque of 2^log2_slots slots to start with. -> 0 or ENOMEM. */
static inline int weft__deque_init(weft__deque *q, unsigned log2_slots)
{
	weft__deque_array *a = weft__deque_array_new((int64_t)1 << log2_slots);
	if (!a)
		return 12; /* ENOMEM, without dragging errno.h into the header */
	atomic_init(&q->top, 0);
	atomic_init(&q->bottom, 0);
	atomic_init(&q->array, a);
	return 0;
}

/* Free every array; no concurrent use. */
static inline void weft__deque_destroy(weft__deque *q)
{
	weft__deque_array *a =
		atomic_load_explicit(&q->array, memory_order_relaxed);
	while (a) {
		weft__deque_array *older = a->older;
		free(a);
		a = older;
	}
}

/* Owner: a copy of a's items [t, b) in an array twice as big (NULL: ENOMEM). */
static inline weft__deque_array *weft__deque_grow(weft__deque *q,
						  weft__deque_array *a,
						  int64_t t, int64_t b)
{
	weft__deque_array *n = weft__deque_array_new(2 * (a->mask + 1));
	if (!n)
		return NULL;
	for (int64_t i = t; i < b; i++)
		/* relaxed: the owner's own slots; published by the release
		 * store of the array pointer below. */
		atomic_store_explicit(&n->slot[i & n->mask],
				      atomic_load_explicit(&a->slot[i & a->mask],
							   memory_order_relaxed),
				      memory_order_relaxed);
	n->older = a;
	/* release: publishes the copied slots to the acquire load of the
	 * array in weft__deque_steal. */
	atomic_store_explicit(&q->array, n, memory_order_release);
	return n;
}

/* Owner: push x (not NULL) at the bottom. false: out of memory, not pushed. */
static inline bool weft__deque_push(weft__deque *q, void *x)
{
	/* relaxed: only the owner writes bottom. */
	int64_t b = atomic_load_explicit(&q->bottom, memory_order_relaxed);
	/* acquire: pairs with a thief's CAS on top, so the slot it took is
	 * read before we overwrite it after a wrap (Le et al.). */
	int64_t t = atomic_load_explicit(&q->top, memory_order_acquire);
	/* relaxed: only the owner writes the array pointer. */
	weft__deque_array *a =
		atomic_load_explicit(&q->array, memory_order_relaxed);
	if (WEFT_UNLIKELY(b - t > a->mask)) {
		a = weft__deque_grow(q, a, t, b);
		if (!a)
			return false;
	}
	/* relaxed: published by the release store of bottom below. */
	atomic_store_explicit(&a->slot[b & a->mask], x, memory_order_relaxed);
	/* release: publishes the slot and *x to the acquire load of bottom in
	 * weft__deque_steal (Le et al.: release fence + relaxed store). */
	atomic_store_explicit(&q->bottom, b + 1, memory_order_release);
	return true;
}

/* Owner: take the newest item, or NULL when empty. */
static inline void *weft__deque_take(weft__deque *q)
{
	/* relaxed: only the owner writes bottom and the array pointer. */
	int64_t b = atomic_load_explicit(&q->bottom, memory_order_relaxed) - 1;
	weft__deque_array *a =
		atomic_load_explicit(&q->array, memory_order_relaxed);
	/* relaxed + the seq_cst fence below: claims slot b before reading top. */
	atomic_store_explicit(&q->bottom, b, memory_order_relaxed);
	/* seq_cst: pairs with the seq_cst fence in weft__deque_steal: either
	 * the thief sees our smaller bottom, or we see its larger top. */
	atomic_thread_fence(memory_order_seq_cst);
	int64_t t = atomic_load_explicit(&q->top, memory_order_relaxed);
	if (t > b) { /* empty: restore */
		atomic_store_explicit(&q->bottom, b + 1, memory_order_relaxed);
		return NULL;
	}
	/* relaxed: our own push wrote it. */
	void *x = atomic_load_explicit(&a->slot[b & a->mask], memory_order_relaxed);
	if (t == b) {
		/* The last item: race the thieves for it. seq_cst: the
		 * thieves' CAS on top is seq_cst too; one of us wins. */
		if (!atomic_compare_exchange_strong_explicit(
			    &q->top, &t, t + 1, memory_order_seq_cst,
			    memory_order_relaxed))
			x = NULL;
		/* relaxed: owner-only word; the deque is empty either way. */
		atomic_store_explicit(&q->bottom, b + 1, memory_order_relaxed);
	}
	return x;
}

/* Any thread: take the oldest item; WEFT__DEQUE_EMPTY or WEFT__DEQUE_ABORT. */
static inline void *weft__deque_steal(weft__deque *q)
{
	/* acquire: pairs with the CAS of top by other thieves and the owner. */
	int64_t t = atomic_load_explicit(&q->top, memory_order_acquire);
	/* seq_cst: pairs with the seq_cst fence in weft__deque_take. */
	atomic_thread_fence(memory_order_seq_cst);
	/* acquire: pairs with the release store of bottom in push: the slot
	 * and the item's contents are visible. */
	int64_t b = atomic_load_explicit(&q->bottom, memory_order_acquire);
	if (t >= b)
		return WEFT__DEQUE_EMPTY;
	/* acquire: pairs with the release store in weft__deque_grow. */
	weft__deque_array *a =
		atomic_load_explicit(&q->array, memory_order_acquire);
	/* relaxed: ordered by the acquire of bottom (or of the array). */
	void *x = atomic_load_explicit(&a->slot[t & a->mask], memory_order_relaxed);
	/* seq_cst: against the owner's CAS in take and other thieves. */
	if (!atomic_compare_exchange_strong_explicit(&q->top, &t, t + 1,
						     memory_order_seq_cst,
						     memory_order_relaxed))
		return WEFT__DEQUE_ABORT;
	return x;
}

/* Any thread: a hint (no ordering) that the deque may hold items. */
static inline bool weft__deque_maybe_nonempty(weft__deque *q)
{
	/* relaxed: a hint; callers that must not miss an item order it with
	 * a seq_cst fence of their own. */
	int64_t t = atomic_load_explicit(&q->top, memory_order_relaxed);
	int64_t b = atomic_load_explicit(&q->bottom, memory_order_relaxed);
	return b > t;
}

#endif /* WEFT_INTERNAL_DEQUE_H */
