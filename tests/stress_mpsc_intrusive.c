/*
 * tests/stress_mpsc_intrusive.c - weft_mpsc_intrusive under P producers and
 * one consumer. Each producer owns a small array of tagged structs (producer
 * id, sequence number) with an embedded weft_mpsc_node and reuses an entry
 * once the consumer has handed it back (the consumer clears its busy flag
 * after reading it), so nodes are recycled thousands of times while other
 * nodes are in flight. Invariants: every (producer, seq) arrives exactly
 * once, in increasing seq order per producer, with the fields the producer
 * wrote before the push (the release link publishes them). The consumer
 * tolerates NULL (the window of a preempted producer) and keeps popping.
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "delivery.h"
#include "stress.h"
#include "weft/mpsc_intrusive.h"

#define MAX_PRODUCERS 8
#define POOL 64 /* power of two */

typedef struct msg {
	uint64_t check; /* ~seq: written before the push, read after the pop */
	weft_mpsc_node node;
	unsigned producer;
	uint64_t seq;
	_Atomic uint32_t busy;
} msg;

typedef struct itest {
	weft_mpsc_intrusive q;
	unsigned producers;
	uint64_t per_producer;
	msg *pool[MAX_PRODUCERS];
	weft_delivery d;
} itest;

static void pause_or_yield(unsigned *spins)
{
	if (++*spins > 64) {
		*spins = 0;
		sched_yield();
	}
}

static void producer(itest *t, unsigned id)
{
	unsigned spins = 0;
	for (uint64_t seq = 0; seq < t->per_producer; seq++) {
		msg *m = &t->pool[id][seq & (POOL - 1)];
		/* acquire: pairs with the consumer's release clear of busy, so
		 * its reads of m happen before our rewrite. */
		while (atomic_load_explicit(&m->busy, memory_order_acquire))
			pause_or_yield(&spins);
		atomic_store_explicit(&m->busy, 1, memory_order_relaxed);
		m->producer = id;
		m->seq = seq;
		m->check = ~seq;
		if (weft_mpsc_intrusive_push(&t->q, &m->node) != 0)
			weft_delivery_bad(&t->d);
	}
}

static void consumer(itest *t)
{
	uint64_t next[WEFT_DELIVERY_MAX_PRODUCERS] = { 0 };
	const uint64_t total = t->per_producer * t->producers;
	unsigned spins = 0;
	for (uint64_t got = 0; got < total;) {
		weft_mpsc_node *n = weft_mpsc_intrusive_pop(&t->q);
		if (!n) {
			pause_or_yield(&spins);
			continue;
		}
		msg *m = WEFT_CONTAINER_OF(n, msg, node);
		unsigned p = m->producer;
		uint64_t s = m->seq;
		if (p >= t->producers || m->check != ~s || m < t->pool[p] ||
		    m >= t->pool[p] + POOL)
			weft_delivery_bad(&t->d);
		else
			weft_delivery_record(&t->d, next, p, s);
		got++;
		/* release: our reads of m happen before the producer reuses it. */
		atomic_store_explicit(&m->busy, 0, memory_order_release);
	}
}

static void worker(unsigned id, void *arg)
{
	itest *t = arg;
	if (id < t->producers)
		producer(t, id);
	else
		consumer(t);
}

/* threads = producers, one consumer. */
static void mpsc_intrusive(const weft_stress_case *c, weft_stress_result *r)
{
	itest *t = calloc(1, sizeof *t); /* all-zero: an empty queue */
	t->producers = c->threads;
	t->per_producer = weft_stress_ops(c) / c->threads;
	for (unsigned p = 0; p < t->producers; p++)
		t->pool[p] = calloc(POOL, sizeof(msg));
	weft_delivery_init(&t->d, t->producers, t->per_producer);
	weft_stress_run_threads(t->producers + 1, worker, t);
	weft_delivery_check(&t->d, r);
	if (weft_mpsc_intrusive_pop(&t->q))
		weft_stress_fail(r, "node left after all were received");
	for (unsigned p = 0; p < t->producers; p++)
		free(t->pool[p]);
	free(t);
}

WEFT_STRESS_CASE("mpsc_intrusive/1", mpsc_intrusive, 1, 0, 1000000);
WEFT_STRESS_CASE("mpsc_intrusive/2", mpsc_intrusive, 2, 0, 1000000);
WEFT_STRESS_CASE("mpsc_intrusive/4", mpsc_intrusive, 4, 0, 1000000);
WEFT_STRESS_CASE("mpsc_intrusive/8", mpsc_intrusive, 8, 0, 1000000);
