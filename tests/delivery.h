/*
 * tests/delivery.h - the bookkeeping of the queue stress tests: every item is
 * tagged (producer, seq); the consumers record each one, and the check at the
 * end fails the case unless every item arrived exactly once, each consumer
 * saw each producer's items in increasing seq order, and no tag was corrupt.
 */
#ifndef WEFT_TESTS_DELIVERY_H
#define WEFT_TESTS_DELIVERY_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "stress.h"

#define WEFT_DELIVERY_MAX_PRODUCERS 16

typedef struct weft_delivery {
	unsigned producers;
	uint64_t per_producer;
	_Atomic uint8_t *received[WEFT_DELIVERY_MAX_PRODUCERS]; /* per seq */
	_Atomic uint64_t order_errors, dup_errors, bad_items;
} weft_delivery;

static inline void weft_delivery_init(weft_delivery *d, unsigned producers,
				      uint64_t per_producer)
{
	d->producers = producers;
	d->per_producer = per_producer;
	for (unsigned p = 0; p < producers; p++)
		d->received[p] = calloc(per_producer, 1);
}

/*
 * One consumer received item (p, seq); next[] is that consumer's own array
 * of WEFT_DELIVERY_MAX_PRODUCERS expected-next seqs, zeroed at its start.
 * Counters are relaxed: they are read after the threads are joined.
 */
static inline void weft_delivery_record(weft_delivery *d, uint64_t *next,
					unsigned p, uint64_t seq)
{
	if (p >= d->producers || seq >= d->per_producer) {
		atomic_fetch_add_explicit(&d->bad_items, 1, memory_order_relaxed);
		return;
	}
	if (seq < next[p])
		atomic_fetch_add_explicit(&d->order_errors, 1, memory_order_relaxed);
	next[p] = seq + 1;
	if (atomic_fetch_add_explicit(&d->received[p][seq], 1,
				      memory_order_relaxed) != 0)
		atomic_fetch_add_explicit(&d->dup_errors, 1, memory_order_relaxed);
}

/* A corrupt item the caller detected itself (or a failed push). */
static inline void weft_delivery_bad(weft_delivery *d)
{
	atomic_fetch_add_explicit(&d->bad_items, 1, memory_order_relaxed);
}

/* After the threads are joined: report every broken invariant, free. */
static inline void weft_delivery_check(weft_delivery *d, weft_stress_result *r)
{
	uint64_t missing = 0;
	for (unsigned p = 0; p < d->producers; p++) {
		for (uint64_t s = 0; s < d->per_producer; s++)
			/* relaxed: as below. */
			missing += atomic_load_explicit(&d->received[p][s],
							memory_order_relaxed) == 0;
		free(d->received[p]);
	}
	/* relaxed: the threads were joined, which ordered their counts. */
	unsigned long long dup = atomic_load_explicit(&d->dup_errors, memory_order_relaxed),
			   order = atomic_load_explicit(&d->order_errors, memory_order_relaxed),
			   bad = atomic_load_explicit(&d->bad_items, memory_order_relaxed);
	if (missing)
		weft_stress_fail(r, "%llu items never arrived", (unsigned long long)missing);
	if (dup)
		weft_stress_fail(r, "%llu items arrived twice", dup);
	if (order)
		weft_stress_fail(r, "%llu items out of producer order", order);
	if (bad)
		weft_stress_fail(r, "%llu corrupt items or failed pushes", bad);
}

#endif /* WEFT_TESTS_DELIVERY_H */
