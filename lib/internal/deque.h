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
 *
 * Items of several words (weft__deque_init_words, *_words): an item is
 * `words` consecutive pointer-sized words (weft_pool: a job's function and
 * argument, so a task needs no record of its own). Each word is a relaxed
 * atomic, so a thief may read a torn item: only when the owner overwrote
 * the slot after a wrap, which it does only after top passed that index,
 * so that thief's CAS on top fails and the torn copy is dropped (the same
 * argument that makes the one-word read safe). The one-word API below is
 * the words = 1 case; `words` is a constant at every call, so the copy
 * loops unroll.
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
	_Atomic(void *) slot[];		 /* (mask + 1) * words words */
} weft__deque_array;

typedef struct weft__deque {
	WEFT_ALIGNED_CACHELINE _Atomic int64_t top; /* thieves' end */
	WEFT_ALIGNED_CACHELINE _Atomic int64_t bottom; /* owner's end */
	/* The owner's: a top it read (acquire), never above the true one.
	 * push compares against it and reloads top only when the array
	 * looks full: a push does not read the thieves' line each time. */
	int64_t top_seen;
	_Atomic(weft__deque_array *) array;
	unsigned words; /* words per item, fixed at init */
} weft__deque;

/* What weft__deque_steal found. */
#define WEFT__DEQUE_EMPTY ((void *)0)
#define WEFT__DEQUE_ABORT ((void *)1) /* lost a race: try again or elsewhere */

static inline weft__deque_array *weft__deque_array_new(int64_t slots,
							     unsigned words)
{
	weft__deque_array *a = malloc(sizeof *a + (size_t)slots * words *
						       sizeof(_Atomic(void *)));
	if (a) {
		a->older = NULL;
		a->mask = slots - 1;
	}
	return a;
}

/* An empty deque of 2^log2_slots items of `words` words to start with.
 * -> 0 or ENOMEM. */
static inline int weft__deque_init_words(weft__deque *q, unsigned log2_slots,
					 unsigned words)
{
	weft__deque_array *a =
		weft__deque_array_new((int64_t)1 << log2_slots, words);
	if (!a)
		return 12; /* ENOMEM, without dragging errno.h into the header */
	atomic_init(&q->top, 0);
	atomic_init(&q->bottom, 0);
	atomic_init(&q->array, a);
	q->top_seen = 0;
	q->words = words;
	return 0;
}

/* An empty deque of one-word items (void *, not NULL). */
static inline int weft__deque_init(weft__deque *q, unsigned log2_slots)
{
	return weft__deque_init_words(q, log2_slots, 1);
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
	unsigned words = q->words;
	weft__deque_array *n = weft__deque_array_new(2 * (a->mask + 1), words);
	if (!n)
		return NULL;
	for (int64_t i = t; i < b; i++)
		for (unsigned k = 0; k < words; k++)
			/* relaxed: the owner's own slots; published by the
			 * release store of the array pointer below. */
			atomic_store_explicit(
				&n->slot[(i & n->mask) * words + k],
				atomic_load_explicit(&a->slot[(i & a->mask) * words + k],
						     memory_order_relaxed),
				memory_order_relaxed);
	n->older = a;
	/* release: publishes the copied slots to the acquire load of the
	 * array in weft__deque_steal. */
	atomic_store_explicit(&q->array, n, memory_order_release);
	return n;
}

/* Owner: push the item x[0..words) at the bottom (words: as at init).
 * false: out of memory, not pushed. */
static inline bool weft__deque_push_words(weft__deque *q, void *const *x,
					  unsigned words)
{
	/* relaxed: only the owner writes bottom. */
	int64_t b = atomic_load_explicit(&q->bottom, memory_order_relaxed);
	/* relaxed: only the owner writes the array pointer. */
	weft__deque_array *a =
		atomic_load_explicit(&q->array, memory_order_relaxed);
	if (WEFT_UNLIKELY(b - q->top_seen > a->mask)) {
		/* acquire: pairs with a thief's CAS on top, so the slot it
		 * took is read before we overwrite it after a wrap (Le et
		 * al.). A cached top_seen is an older such value: the slots
		 * below it were read before it was read. */
		int64_t t = atomic_load_explicit(&q->top, memory_order_acquire);
		q->top_seen = t;
		if (b - t > a->mask) {
			a = weft__deque_grow(q, a, t, b);
			if (!a)
				return false;
		}
	}
	for (unsigned k = 0; k < words; k++)
		/* relaxed: published by the release store of bottom below. */
		atomic_store_explicit(&a->slot[(b & a->mask) * words + k], x[k],
				      memory_order_relaxed);
	/* release: publishes the slot and *x to the acquire load of bottom in
	 * weft__deque_steal (Le et al.: release fence + relaxed store). */
	atomic_store_explicit(&q->bottom, b + 1, memory_order_release);
	return true;
}

/* Owner: take the newest item into out[0..words); false when empty. */
static inline bool weft__deque_take_words(weft__deque *q, void **out,
					  unsigned words)
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
		return false;
	}
	for (unsigned k = 0; k < words; k++)
		/* relaxed: our own push wrote it. */
		out[k] = atomic_load_explicit(&a->slot[(b & a->mask) * words + k],
					      memory_order_relaxed);
	bool got = true;
	if (t == b) {
		/* The last item: race the thieves for it. seq_cst: the
		 * thieves' CAS on top is seq_cst too; one of us wins. */
		got = atomic_compare_exchange_strong_explicit(
			&q->top, &t, t + 1, memory_order_seq_cst,
			memory_order_relaxed);
		/* relaxed: owner-only word; the deque is empty either way. */
		atomic_store_explicit(&q->bottom, b + 1, memory_order_relaxed);
	}
	return got;
}

/* What weft__deque_steal_words found. */
enum { WEFT__DEQUE_GOT, WEFT__DEQUE_NONE, WEFT__DEQUE_LOST };

/* Any thread: take the oldest item into out[0..words): WEFT__DEQUE_GOT,
 * WEFT__DEQUE_NONE (empty) or WEFT__DEQUE_LOST (lost a race: try again or
 * elsewhere; out is garbage). */
static inline int weft__deque_steal_words(weft__deque *q, void **out,
					  unsigned words)
{
	/* acquire: pairs with the CAS of top by other thieves and the owner. */
	int64_t t = atomic_load_explicit(&q->top, memory_order_acquire);
	/* seq_cst: pairs with the seq_cst fence in weft__deque_take. */
	atomic_thread_fence(memory_order_seq_cst);
	/* acquire: pairs with the release store of bottom in push: the slot
	 * and the item's contents are visible. */
	int64_t b = atomic_load_explicit(&q->bottom, memory_order_acquire);
	if (t >= b)
		return WEFT__DEQUE_NONE;
	/* acquire: pairs with the release store in weft__deque_grow. */
	weft__deque_array *a =
		atomic_load_explicit(&q->array, memory_order_acquire);
	for (unsigned k = 0; k < words; k++)
		/* relaxed: ordered by the acquire of bottom (or of the
		 * array); a torn copy only comes with a failing CAS below. */
		out[k] = atomic_load_explicit(&a->slot[(t & a->mask) * words + k],
					      memory_order_relaxed);
	/* seq_cst: against the owner's CAS in take and other thieves. */
	if (!atomic_compare_exchange_strong_explicit(&q->top, &t, t + 1,
						     memory_order_seq_cst,
						     memory_order_relaxed))
		return WEFT__DEQUE_LOST;
	return WEFT__DEQUE_GOT;
}

/*
 * Any thread, on a deque whose owner only pushes (never takes): take the
 * oldest items, at most max, into out[0..n * words); returns n (0: empty
 * or lost a race). Not with an owner that takes: its take claims bottom - 1
 * without a CAS whenever it sees more than one item, which a batch
 * reaching that far would also claim. The copy is validated by the CAS on
 * top as in weft__deque_steal_words.
 */
static inline unsigned weft__deque_steal_batch_words(weft__deque *q, void **out,
						     unsigned max,
						     unsigned words)
{
	/* acquire: pairs with the CAS of top by other thieves. */
	int64_t t = atomic_load_explicit(&q->top, memory_order_acquire);
	/* seq_cst: as in weft__deque_steal_words (kept for the same
	 * argument, although no take races with us here). */
	atomic_thread_fence(memory_order_seq_cst);
	/* acquire: pairs with the release store of bottom in push. */
	int64_t b = atomic_load_explicit(&q->bottom, memory_order_acquire);
	if (t >= b)
		return 0;
	int64_t n = b - t < (int64_t)max ? b - t : (int64_t)max;
	/* acquire: pairs with the release store in weft__deque_grow. */
	weft__deque_array *a =
		atomic_load_explicit(&q->array, memory_order_acquire);
	for (int64_t i = 0; i < n; i++)
		for (unsigned k = 0; k < words; k++)
			/* relaxed: ordered by the acquire of bottom (or of
			 * the array); validated by the CAS below. */
			out[i * words + k] = atomic_load_explicit(
				&a->slot[((t + i) & a->mask) * words + k],
				memory_order_relaxed);
	/* seq_cst: against other thieves' CAS (and to pair like steal). */
	if (!atomic_compare_exchange_strong_explicit(&q->top, &t, t + n,
						     memory_order_seq_cst,
						     memory_order_relaxed))
		return 0;
	return (unsigned)n;
}

/* The one-word API (items are non-NULL pointers). */

/* Owner: push x (not NULL) at the bottom. false: out of memory, not pushed. */
static inline bool weft__deque_push(weft__deque *q, void *x)
{
	return weft__deque_push_words(q, &x, 1);
}

/* Owner: take the newest item, or NULL when empty. */
static inline void *weft__deque_take(weft__deque *q)
{
	void *x;
	return weft__deque_take_words(q, &x, 1) ? x : NULL;
}

/* Any thread: take the oldest item; WEFT__DEQUE_EMPTY or WEFT__DEQUE_ABORT. */
static inline void *weft__deque_steal(weft__deque *q)
{
	void *x;
	switch (weft__deque_steal_words(q, &x, 1)) {
	case WEFT__DEQUE_GOT:
		return x;
	case WEFT__DEQUE_NONE:
		return WEFT__DEQUE_EMPTY;
	default:
		return WEFT__DEQUE_ABORT;
	}
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
