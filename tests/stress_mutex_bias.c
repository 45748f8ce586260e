/*
 * tests/stress_mutex_bias.c - many short-lived mutexes, each locked by all
 * N threads (2-4) a few times: whoever comes first biases it, the others
 * revoke it, while the owner is in or out (lib/mutex_bias.c). Threads walk
 * the mutexes in order at their own pace, mixing lock, trylock and
 * lock_timeout. Invariants per mutex: its plain counter equals the number
 * of acquisitions (no lost update), no thread ever finds another inside
 * (exclusion), and the mutex ends idle. Thread 0 lifts the revocation ban
 * (internal/mutex_bias.h) every round so that mutexes keep being biased.
 */
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal/asym_fence.h"
#include "internal/mutex_bias.h"
#include "stress.h"
#include "test_util.h"
#include "weft/mutex.h"

#define LOCKS_PER_THREAD 4

typedef struct slot {
	weft_mutex lock;
	uint64_t counter; /* plain: only the mutex protects it */
	_Atomic unsigned inside;
	_Atomic uint64_t acquired;
	_Atomic unsigned done; /* threads through this mutex */
} slot;

typedef struct bias_test {
	slot *slots;
	uint64_t rounds;
	unsigned threads;
	_Atomic uint64_t overlaps;
	_Atomic uint64_t biased; /* slots seen biased by their first locker */
} bias_test;

static bool acquire(slot *s, uint64_t i)
{
	switch (i % 4) {
	case 0:
		return weft_mutex_trylock(&s->lock);
	case 1:
		return weft_mutex_lock_timeout(&s->lock, 20000) == 0;
	default:
		weft_mutex_lock(&s->lock);
		return true;
	}
}

static void bias_worker(unsigned id, void *arg)
{
	bias_test *t = arg;
	for (uint64_t r = 0; r < t->rounds; r++) {
		slot *s = &t->slots[r];
		/* Keep within one mutex of each other, so that revocations
		 * also meet an owner inside. */
		while (r > 0 && atomic_load_explicit(&t->slots[r - 1].done,
						     memory_order_relaxed) < t->threads)
			sched_yield();
		if (id == 0)
			/* relaxed: a time, as the library stores it. */
			atomic_store_explicit(&weft__mutex_bias_banned_until, 0,
					      memory_order_relaxed);
		uint64_t mine = 0;
		for (uint64_t i = id; i < id + LOCKS_PER_THREAD; i++) {
			if (!acquire(s, i + r))
				continue;
			if (weft_test_mutex_biased(&s->lock))
				atomic_fetch_add_explicit(&t->biased, 1, memory_order_relaxed);
			/* relaxed: detecting an overlap needs no ordering. */
			if (atomic_exchange_explicit(&s->inside, 1, memory_order_relaxed))
				atomic_fetch_add_explicit(&t->overlaps, 1, memory_order_relaxed);
			uint64_t v = s->counter;
			atomic_signal_fence(memory_order_seq_cst);
			s->counter = v + 1;
			atomic_store_explicit(&s->inside, 0, memory_order_relaxed);
			weft_mutex_unlock(&s->lock);
			mine++;
		}
		atomic_fetch_add_explicit(&s->acquired, mine, memory_order_relaxed);
		atomic_fetch_add_explicit(&s->done, 1, memory_order_relaxed);
	}
}

static void mutex_bias_churn(const weft_stress_case *c, weft_stress_result *r)
{
	bias_test t = { .rounds = weft_stress_ops(c), .threads = c->threads };
	t.slots = calloc(t.rounds, sizeof *t.slots);
	if (!t.slots) {
		weft_stress_fail(r, "out of memory");
		return;
	}
	weft_stress_run_threads(c->threads, bias_worker, &t);
	uint64_t total = 0;
	for (uint64_t i = 0; i < t.rounds; i++) {
		slot *s = &t.slots[i];
		total += s->counter;
		if (s->counter != atomic_load(&s->acquired)) {
			weft_stress_fail(r, "mutex %llu: counter %llu != acquisitions %llu",
					 (unsigned long long)i, (unsigned long long)s->counter,
					 (unsigned long long)atomic_load(&s->acquired));
			break;
		}
		if (!weft_test_mutex_idle(&s->lock)) {
			weft_stress_fail(r, "mutex %llu left in state %#x", (unsigned long long)i,
					 (unsigned)atomic_load(&s->lock.state));
			break;
		}
	}
	if (atomic_load(&t.overlaps))
		weft_stress_fail(r, "%llu critical-section overlaps",
				 (unsigned long long)atomic_load(&t.overlaps));
	/* The churn must exercise the bias where there is one. */
	if (weft__fence_asym() && weft__mutex_self() != WEFT__MUTEX_SELF_UNKNOWN &&
	    atomic_load(&t.biased) == 0)
		weft_stress_fail(r, "no mutex was ever biased");
	/* Half the attempts are blocking locks: they all succeed. */
	if (total < t.rounds * c->threads * LOCKS_PER_THREAD / 2)
		weft_stress_fail(r, "only %llu acquisitions", (unsigned long long)total);
	if (getenv("WEFT_STRESS_VERBOSE"))
		fprintf(stderr, "%llu biased acquisitions\n", (unsigned long long)atomic_load(&t.biased));
	free(t.slots);
}

WEFT_STRESS_CASE("mutex_bias_churn/2", mutex_bias_churn, 2, 0, 1000);
WEFT_STRESS_CASE("mutex_bias_churn/3", mutex_bias_churn, 3, 0, 600);
WEFT_STRESS_CASE("mutex_bias_churn/4", mutex_bias_churn, 4, 0, 500);
