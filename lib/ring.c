/* lib/ring.c - weft_ring init and bulk paths; the algorithm is in weft/ring.h. */
#include "weft/ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
 * Count the slots from pos on that are in state `pos + k + ready` (ready 0:
 * free for a producer, 1: published for a consumer), up to n. *d gets the
 * first slot's distance from that state: < 0 full/empty, > 0 stale pos.
 */
static size_t scan(weft_ring_slot *slots, uint64_t mask, uint64_t pos,
		   uint64_t ready, size_t n, int64_t *d)
{
	/* Fetch the batch's lines for writing up front: we write every slot we
	 * claim, and a read then a write would cost each line two transfers. */
	for (size_t i = 0; i < n; i += WEFT_CACHELINE / sizeof *slots)
		__builtin_prefetch(&slots[(pos + i) & mask], 1);
	size_t k = 0;
	for (; k < n; k++) {
		/* acquire: pairs with the release store of seq by the other
		 * side (pop for free slots, push for published ones). */
		uint64_t seq = atomic_load_explicit(&slots[(pos + k) & mask].seq,
						    memory_order_acquire);
		if (seq != pos + k + ready) {
			if (k == 0)
				*d = (int64_t)(seq - (pos + ready));
			break;
		}
	}
	return k;
}

size_t weft_ring_push_n(weft_ring *r, void *const *items, size_t n)
{
	if (n > r->p_mask + 1)
		n = r->p_mask + 1;
	/* relaxed: a guess, validated by scan and the CAS. */
	uint64_t pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
	for (;;) {
		int64_t d = 0;
		size_t k = scan(r->p_slots, r->p_mask, pos, 0, n, &d);
		if (k == 0) {
			if (d < 0 || n == 0)
				return 0; /* full */
			pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
			continue;
		}
		/* relaxed: the slots' seq carry the ordering, as in push. The
		 * k slots were free at pos; only the owner of tail == pos can
		 * change them, and the CAS makes that us. */
		if (atomic_compare_exchange_weak_explicit(&r->tail, &pos, pos + k,
							  memory_order_relaxed,
							  memory_order_relaxed)) {
			for (size_t i = 0; i < k; i++) {
				weft_ring_slot *s = &r->p_slots[(pos + i) & r->p_mask];
				s->item = items[i];
				/* release: publishes the item to pop / pop_n. */
				atomic_store_explicit(&s->seq, pos + i + 1,
						      memory_order_release);
			}
			return k;
		}
	}
}

size_t weft_ring_pop_n(weft_ring *r, void **items, size_t n)
{
	if (n > r->c_mask + 1)
		n = r->c_mask + 1;
	uint64_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);
	for (;;) {
		int64_t d = 0;
		size_t k = scan(r->c_slots, r->c_mask, pos, 1, n, &d);
		if (k == 0) {
			if (d < 0 || n == 0)
				return 0; /* empty */
			pos = atomic_load_explicit(&r->head, memory_order_relaxed);
			continue;
		}
		/* relaxed: as in pop; the k slots were published at pos. */
		if (atomic_compare_exchange_weak_explicit(&r->head, &pos, pos + k,
							  memory_order_relaxed,
							  memory_order_relaxed)) {
			for (size_t i = 0; i < k; i++) {
				weft_ring_slot *s = &r->c_slots[(pos + i) & r->c_mask];
				items[i] = s->item;
				/* release: our read happens-before the slot's
				 * reuse by the next lap's producer. */
				atomic_store_explicit(&s->seq, pos + i + r->c_mask + 1,
						      memory_order_release);
			}
			return k;
		}
	}
}

size_t weft_ring_spsc_push_n(weft_ring *r, void *const *items, size_t n)
{
	const uint64_t cap = r->p_mask + 1;
	/* relaxed: only this thread writes tail. */
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	if (cap - (t - r->head_cache) < n)
		/* acquire: pairs with the release store of head in spsc_pop. */
		r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
	uint64_t room = cap - (t - r->head_cache);
	size_t k = n < room ? n : (size_t)room;
	void **slots = weft__ring_spsc_items(r->p_slots);
	for (size_t i = 0; i < k; i++)
		slots[(t + i) & r->p_mask] = items[i];
	if (k)
		/* release: publishes the items to spsc_pop's acquire of tail. */
		atomic_store_explicit(&r->tail, t + k, memory_order_release);
	return k;
}

size_t weft_ring_spsc_pop_n(weft_ring *r, void **items, size_t n)
{
	/* relaxed: only this thread writes head. */
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	if (r->tail_cache - h < n)
		/* acquire: pairs with the release store of tail in spsc_push. */
		r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
	uint64_t avail = r->tail_cache - h;
	size_t k = n < avail ? n : (size_t)avail;
	void **slots = weft__ring_spsc_items(r->c_slots);
	for (size_t i = 0; i < k; i++)
		items[i] = slots[(h + i) & r->c_mask];
	if (k)
		/* release: our reads happen-before the producer reuses the slots. */
		atomic_store_explicit(&r->head, h + k, memory_order_release);
	return k;
}
