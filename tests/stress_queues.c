/*
 * tests/stress_queues.c - weft_ring and weft_mpsc under P producers and C
 * consumers. Every item is tagged (producer id, sequence number). Invariants:
 * every item arrives exactly once (a per-item receive count), and each
 * consumer sees each producer's items in increasing sequence order. Blocked
 * sides spin a little, then yield, so oversubscribed cases make progress;
 * the *_WAIT modes block in the queue's own waits instead.
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "delivery.h"
#include "stress.h"
#include "weft/mpsc.h"
#include "weft/ring.h"

#define SEQ_BITS 40
#define BATCH 16

enum mode {
	RING_MPMC,
	RING_MPMC_BULK,
	RING_MPMC_ALL,
	RING_SPSC,
	RING_SPSC_BULK,
	RING_SPSC_ALL,
	MPSC,
	MPSC_WAIT, /* weft_mpsc_pop_wait; producers pause now and then */
	RING_MPMC_WAIT, /* weft_ring_push_wait / pop_wait */
	RING_SPSC_WAIT	/* weft_ring_spsc_push_wait / spsc_pop_wait */
};

/* Never, a short timeout (which may expire), and none, in turn. */
static uint64_t some_timeout(uint64_t i)
{
	return i % 3 == 0 ? WEFT_TIMEOUT_NEVER : i % 3 == 1 ? 20000 : 0;
}

typedef struct qtest {
	enum mode mode;
	unsigned producers, consumers;
	uint64_t per_producer;
	weft_ring ring;
	weft_mpsc mpsc;
	weft_delivery d;
	_Atomic uint64_t popped;
} qtest;

static void *tag(unsigned producer, uint64_t seq)
{
	return (void *)(uintptr_t)(((uint64_t)producer << SEQ_BITS) | (seq + 1));
}

static void pause_or_yield(unsigned *spins)
{
	if (++*spins > 64) {
		*spins = 0;
		sched_yield();
	}
}

static size_t put(qtest *t, void **items, size_t n, uint64_t i)
{
	switch (t->mode) {
	case RING_MPMC:
		return weft_ring_push(&t->ring, items[0]);
	case RING_MPMC_BULK: /* alternate single and bulk */
		return (i & 1) ? weft_ring_push_n(&t->ring, items, n)
			       : weft_ring_push(&t->ring, items[0]);
	case RING_MPMC_ALL: /* mostly all-or-nothing, sometimes single */
		if (i % 4 == 3)
			return weft_ring_push(&t->ring, items[0]);
		return weft_ring_push_bulk(&t->ring, items, n) ? 0 : n;
	case RING_SPSC:
		return weft_ring_spsc_push(&t->ring, items[0]);
	case RING_SPSC_BULK:
		return (i & 1) ? weft_ring_spsc_push_n(&t->ring, items, n)
			       : weft_ring_spsc_push(&t->ring, items[0]);
	case RING_SPSC_ALL:
		if (i % 4 == 3)
			return weft_ring_spsc_push(&t->ring, items[0]);
		return weft_ring_spsc_push_bulk(&t->ring, items, n) ? 0 : n;
	case MPSC:
		return weft_mpsc_push(&t->mpsc, items[0]) == 0;
	case MPSC_WAIT:
		/* A yield now and then lets the consumer run dry and sleep. */
		if (i % 1024 == 1023)
			sched_yield();
		return weft_mpsc_push(&t->mpsc, items[0]) == 0;
	case RING_MPMC_WAIT:
	case RING_SPSC_WAIT:
		/* Waiting for room forever is safe: the consumers go on until
		 * every item is received. The yields let consumers sleep. */
		if (i % 256 == 255)
			sched_yield();
		return (t->mode == RING_MPMC_WAIT
				? weft_ring_push_wait(&t->ring, items[0], some_timeout(i))
				: weft_ring_spsc_push_wait(&t->ring, items[0], some_timeout(i))) == 0;
	}
	return 0;
}

static size_t take(qtest *t, void **items, uint64_t i)
{
	switch (t->mode) {
	case RING_MPMC:
		return weft_ring_pop(&t->ring, items);
	case RING_MPMC_BULK:
		return (i & 1) ? weft_ring_pop_n(&t->ring, items, BATCH)
			       : weft_ring_pop(&t->ring, items);
	case RING_MPMC_ALL: /* all-or-nothing of 1..BATCH, sometimes up-to-n */
		if (i % 4 == 3)
			return weft_ring_pop_n(&t->ring, items, BATCH);
		return weft_ring_pop_bulk(&t->ring, items, i % BATCH + 1) ? 0
									    : i % BATCH + 1;
	case RING_SPSC:
		return weft_ring_spsc_pop(&t->ring, items);
	case RING_SPSC_ALL:
		if (i % 4 == 3)
			return weft_ring_spsc_pop_n(&t->ring, items, BATCH);
		return weft_ring_spsc_pop_bulk(&t->ring, items, i % BATCH + 1)
			       ? 0
			       : i % BATCH + 1;
	case RING_SPSC_BULK:
		return (i & 1) ? weft_ring_spsc_pop_n(&t->ring, items, BATCH)
			       : weft_ring_spsc_pop(&t->ring, items);
	case MPSC:
		return weft_mpsc_pop(&t->mpsc, items);
	case MPSC_WAIT:
		/* Waiting forever is safe: the one consumer asks only while
		 * items remain. */
		return weft_mpsc_pop_wait(&t->mpsc, items, some_timeout(i)) == 0;
	case RING_SPSC_WAIT:
		return weft_ring_spsc_pop_wait(&t->ring, items, some_timeout(i)) == 0;
	case RING_MPMC_WAIT:
		/* Not forever: another consumer may take the last item. */
		return weft_ring_pop_wait(&t->ring, items,
					  i % 2 ? 20000 : 2 * 1000 * 1000) == 0;
	}
	return 0;
}

static void producer(qtest *t, unsigned id)
{
	void *items[BATCH];
	unsigned spins = 0;
	uint64_t i = 0;
	for (uint64_t seq = 0; seq < t->per_producer;) {
		size_t n = t->per_producer - seq < BATCH ? t->per_producer - seq : BATCH;
		for (size_t k = 0; k < n; k++)
			items[k] = tag(id, seq + k);
		size_t moved = put(t, items, n, i++);
		if (moved)
			seq += moved;
		else
			pause_or_yield(&spins);
	}
}

static void consumer(qtest *t)
{
	uint64_t next[WEFT_DELIVERY_MAX_PRODUCERS] = { 0 };
	const uint64_t total = t->per_producer * t->producers;
	void *items[BATCH];
	unsigned spins = 0;
	uint64_t i = 0;
	/* relaxed: a termination hint; the items themselves carry the data. */
	while (atomic_load_explicit(&t->popped, memory_order_relaxed) < total) {
		size_t n = take(t, items, i++);
		if (!n) {
			pause_or_yield(&spins);
			continue;
		}
		for (size_t k = 0; k < n; k++) {
			uint64_t v = (uint64_t)(uintptr_t)items[k];
			unsigned p = (unsigned)(v >> SEQ_BITS);
			uint64_t s = v & ((UINT64_C(1) << SEQ_BITS) - 1);
			if (s == 0) /* tags carry seq + 1 */
				weft_delivery_bad(&t->d);
			else
				weft_delivery_record(&t->d, next, p, s - 1);
		}
		atomic_fetch_add_explicit(&t->popped, n, memory_order_relaxed);
	}
}

static void worker(unsigned id, void *arg)
{
	qtest *t = arg;
	if (id < t->producers)
		producer(t, id);
	else
		consumer(t);
}

static void run(const weft_stress_case *c, weft_stress_result *r, enum mode mode,
		unsigned producers, unsigned consumers)
{
	qtest *t = calloc(1, sizeof *t);
	t->mode = mode;
	t->producers = producers;
	t->consumers = consumers;
	t->per_producer = weft_stress_ops(c) / producers;
	weft_delivery_init(&t->d, producers, t->per_producer);
	if (mode == MPSC || mode == MPSC_WAIT) {
		if (weft_mpsc_init(&t->mpsc))
			weft_stress_fail(r, "mpsc init");
	} else if (weft_ring_init(&t->ring, c->arg)) {
		weft_stress_fail(r, "ring init");
	}
	weft_stress_run_threads(producers + consumers, worker, t);
	weft_delivery_check(&t->d, r);
	void *v;
	if (mode == MPSC || mode == MPSC_WAIT) {
		if (weft_mpsc_pop(&t->mpsc, &v))
			weft_stress_fail(r, "item left after all were received");
		weft_mpsc_destroy(&t->mpsc);
	} else {
		bool spsc = mode == RING_SPSC || mode == RING_SPSC_BULK ||
			    mode == RING_SPSC_ALL || mode == RING_SPSC_WAIT;
		if (spsc ? weft_ring_spsc_pop(&t->ring, &v) : weft_ring_pop(&t->ring, &v))
			weft_stress_fail(r, "item left after all were received");
		weft_ring_destroy(&t->ring);
	}
	free(t);
}

/* threads = producers = consumers; arg = ring capacity (small: many laps,
 * many full/empty transitions). */
static void ring_mpmc(const weft_stress_case *c, weft_stress_result *r)
{
	run(c, r, RING_MPMC, c->threads, c->threads);
}
static void ring_mpmc_bulk(const weft_stress_case *c, weft_stress_result *r)
{
	run(c, r, RING_MPMC_BULK, c->threads, c->threads);
}
static void ring_mpmc_all(const weft_stress_case *c, weft_stress_result *r)
{
	run(c, r, RING_MPMC_ALL, c->threads, c->threads);
}
static void ring_spsc_all(const weft_stress_case *c, weft_stress_result *r)
{
	run(c, r, RING_SPSC_ALL, 1, 1);
}
static void ring_spsc(const weft_stress_case *c, weft_stress_result *r)
{
	run(c, r, RING_SPSC, 1, 1);
}
static void ring_spsc_bulk(const weft_stress_case *c, weft_stress_result *r)
{
	run(c, r, RING_SPSC_BULK, 1, 1);
}
static void ring_mpmc_wait(const weft_stress_case *c, weft_stress_result *r)
{
	run(c, r, RING_MPMC_WAIT, c->threads, c->threads);
}
static void ring_spsc_wait(const weft_stress_case *c, weft_stress_result *r)
{
	run(c, r, RING_SPSC_WAIT, 1, 1);
}
/* threads = producers, one consumer. */
static void mpsc(const weft_stress_case *c, weft_stress_result *r)
{
	run(c, r, MPSC, c->threads, 1);
}

WEFT_STRESS_CASE("ring_mpmc/1:1", ring_mpmc, 1, 64, 1000000);
WEFT_STRESS_CASE("ring_mpmc/2:2", ring_mpmc, 2, 64, 1000000);
WEFT_STRESS_CASE("ring_mpmc/4:4", ring_mpmc, 4, 64, 1000000);
WEFT_STRESS_CASE("ring_mpmc_bulk/1:1", ring_mpmc_bulk, 1, 64, 1000000);
WEFT_STRESS_CASE("ring_mpmc_bulk/2:2", ring_mpmc_bulk, 2, 64, 1000000);
WEFT_STRESS_CASE("ring_mpmc_bulk/4:4", ring_mpmc_bulk, 4, 64, 1000000);
WEFT_STRESS_CASE("ring_mpmc_all/1:1", ring_mpmc_all, 1, 64, 1000000);
WEFT_STRESS_CASE("ring_mpmc_all/2:2", ring_mpmc_all, 2, 64, 1000000);
WEFT_STRESS_CASE("ring_mpmc_all/4:4", ring_mpmc_all, 4, 64, 1000000);
WEFT_STRESS_CASE("ring_spsc/1:1", ring_spsc, 1, 64, 1000000);
WEFT_STRESS_CASE("ring_spsc_bulk/1:1", ring_spsc_bulk, 1, 64, 1000000);
WEFT_STRESS_CASE("ring_spsc_all/1:1", ring_spsc_all, 1, 64, 1000000);
/* capacity 4: both sides often find the ring full or empty and sleep */
WEFT_STRESS_CASE("ring_mpmc_wait/1:1", ring_mpmc_wait, 1, 4, 100000);
WEFT_STRESS_CASE("ring_mpmc_wait/4:4", ring_mpmc_wait, 4, 4, 100000);
WEFT_STRESS_CASE("ring_spsc_wait/1:1", ring_spsc_wait, 1, 4, 100000);
static void mpsc_wait(const weft_stress_case *c, weft_stress_result *r)
{
	run(c, r, MPSC_WAIT, c->threads, 1);
}

WEFT_STRESS_CASE("mpsc/1", mpsc, 1, 0, 1000000);
WEFT_STRESS_CASE("mpsc/2", mpsc, 2, 0, 1000000);
WEFT_STRESS_CASE("mpsc/4", mpsc, 4, 0, 1000000);
WEFT_STRESS_CASE("mpsc/8", mpsc, 8, 0, 1000000);
/* more producers than lanes: threads share lanes */
WEFT_STRESS_CASE("mpsc/16", mpsc, 16, 0, 1000000);
WEFT_STRESS_CASE("mpsc_wait/1", mpsc_wait, 1, 0, 100000);
WEFT_STRESS_CASE("mpsc_wait/4", mpsc_wait, 4, 0, 100000);
WEFT_STRESS_CASE("mpsc_wait/16", mpsc_wait, 16, 0, 100000);
