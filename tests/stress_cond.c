/*
 * tests/stress_cond.c - weft_cond producer/consumer through a one-slot
 * buffer guarded by a weft_mutex, with a predicate loop on each side (two
 * conds: not_empty, not_full). Every hand-off relies on a signal: a lost
 * wake-up hangs the test (the driver's watchdog and Criterion's timeout
 * report it). Invariants: every value delivered exactly once, in order per
 * producer, and the sum matches. threads = producers = consumers; `arg` 1
 * makes consumers use wait_timeout with a short timeout.
 */
#include <errno.h>
#include <stdatomic.h>

#include "stress.h"
#include "weft/cond.h"

typedef struct pc_test {
	weft_mutex m;
	weft_cond not_empty, not_full;
	bool full;		/* plain: under m */
	uint64_t slot;		/* plain: under m */
	uint64_t per_producer;
	unsigned producers;
	bool timed;
	_Atomic uint64_t sum;
	_Atomic uint64_t received;
	_Atomic uint64_t disorder;
} pc_test;

static void producer(pc_test *t, unsigned id)
{
	for (uint64_t k = 1; k <= t->per_producer; k++) {
		weft_mutex_lock(&t->m);
		while (t->full)
			weft_cond_wait(&t->not_full, &t->m);
		t->slot = (uint64_t)id << 40 | k;
		t->full = true;
		weft_cond_signal(&t->not_empty);
		weft_mutex_unlock(&t->m);
	}
}

static void consumer(pc_test *t, uint64_t count)
{
	uint64_t last[8] = { 0 }, sum = 0;
	for (uint64_t k = 0; k < count; k++) {
		weft_mutex_lock(&t->m);
		while (!t->full) {
			if (t->timed)
				(void)weft_cond_wait_timeout(&t->not_empty, &t->m,
							     50000);
			else
				weft_cond_wait(&t->not_empty, &t->m);
		}
		uint64_t v = t->slot;
		t->full = false;
		weft_cond_signal(&t->not_full);
		weft_mutex_unlock(&t->m);
		unsigned p = (unsigned)(v >> 40) & 7;
		uint64_t seq = v & ((1ull << 40) - 1);
		if (seq <= last[p])
			atomic_fetch_add_explicit(&t->disorder, 1, memory_order_relaxed);
		last[p] = seq;
		sum += seq;
	}
	atomic_fetch_add_explicit(&t->sum, sum, memory_order_relaxed);
	atomic_fetch_add_explicit(&t->received, count, memory_order_relaxed);
}

static void pc_worker(unsigned id, void *arg)
{
	pc_test *t = arg;
	if (id < t->producers)
		producer(t, id);
	else
		consumer(t, t->per_producer); /* as many consumers as producers */
}

static void cond_handoff(const weft_stress_case *c, weft_stress_result *r)
{
	pc_test t = { .m = WEFT_MUTEX_INIT,
		      .per_producer = weft_stress_ops(c),
		      .producers = c->threads,
		      .timed = c->arg };
	weft_stress_run_threads(2 * c->threads, pc_worker, &t);
	uint64_t n = t.per_producer, total = n * c->threads;
	if (atomic_load(&t.received) != total)
		weft_stress_fail(r, "received %llu of %llu",
				 (unsigned long long)atomic_load(&t.received),
				 (unsigned long long)total);
	if (atomic_load(&t.sum) != c->threads * (n * (n + 1) / 2))
		weft_stress_fail(r, "sum mismatch: values lost or duplicated");
	if (c->threads == 1 && atomic_load(&t.disorder))
		weft_stress_fail(r, "%llu values out of order",
				 (unsigned long long)atomic_load(&t.disorder));
	if (atomic_load(&t.not_empty.word) & WEFT_COND_WAITERS ||
	    atomic_load(&t.not_full.word) & WEFT_COND_WAITERS)
		weft_stress_fail(r, "waiters left registered");
}

WEFT_STRESS_CASE("cond_handoff/1x1", cond_handoff, 1, 0, 100000);
WEFT_STRESS_CASE("cond_handoff/4x4", cond_handoff, 4, 0, 25000);
WEFT_STRESS_CASE("cond_handoff/1x1_timed", cond_handoff, 1, 1, 20000);
