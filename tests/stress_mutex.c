/*
 * tests/stress_mutex.c - weft_mutex under contention: N threads increment a
 * plain (non-atomic) counter under the lock, mixing lock, trylock and
 * lock_timeout. Invariants: the counter equals the number of acquisitions
 * (no lost update), and no thread ever finds another inside the critical
 * section (exclusion). TSan also sees every access to the plain counter.
 */
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>

#include "stress.h"
#include "test_util.h"
#include "weft/mutex.h"

typedef struct counter_test {
	weft_mutex lock;
	uint64_t counter;	 /* plain: only the mutex protects it */
	_Atomic unsigned inside; /* 1 while a thread is in the section */
	uint64_t ops;
	_Atomic uint64_t acquired;
	_Atomic uint64_t overlaps;
} counter_test;

static bool acquire(counter_test *t, uint64_t i)
{
	switch (i % 4) {
	case 0:
		return weft_mutex_trylock(&t->lock);
	case 1:
		/* Short timeout: exercises registration and give-up races. */
		return weft_mutex_lock_timeout(&t->lock, 20000) == 0;
	default:
		weft_mutex_lock(&t->lock);
		return true;
	}
}

static void counter_worker(unsigned id, void *arg)
{
	(void)id;
	counter_test *t = arg;
	uint64_t mine = 0;
	for (uint64_t i = 0; i < t->ops; i++) {
		if (!acquire(t, i))
			continue;
		/* relaxed: detecting an overlap needs no ordering; under a
		 * working mutex the previous holder's store of 0 happens-before
		 * this exchange through the lock itself. */
		if (atomic_exchange_explicit(&t->inside, 1,
					     memory_order_relaxed))
			atomic_fetch_add_explicit(&t->overlaps, 1,
						  memory_order_relaxed);
		/* Read, then write back later: a window for lost updates. */
		uint64_t v = t->counter;
		atomic_signal_fence(memory_order_seq_cst);
		t->counter = v + 1;
		atomic_store_explicit(&t->inside, 0, memory_order_relaxed);
		weft_mutex_unlock(&t->lock);
		mine++;
	}
	atomic_fetch_add_explicit(&t->acquired, mine, memory_order_relaxed);
}

static void mutex_counter(const weft_stress_case *c, weft_stress_result *r)
{
	counter_test t = { .ops = weft_stress_ops(c) };
	weft_stress_run_threads(c->threads, counter_worker, &t);
	uint64_t acquired = atomic_load(&t.acquired);
	if (atomic_load(&t.overlaps))
		weft_stress_fail(r, "%llu critical-section overlaps",
				 (unsigned long long)atomic_load(&t.overlaps));
	if (t.counter != acquired)
		weft_stress_fail(r, "counter %llu != acquisitions %llu",
				 (unsigned long long)t.counter,
				 (unsigned long long)acquired);
	/* Half the attempts are blocking locks: they must all have succeeded. */
	if (acquired < t.ops * c->threads / 2)
		weft_stress_fail(r, "only %llu acquisitions of %llu attempts",
				 (unsigned long long)acquired,
				 (unsigned long long)(t.ops * c->threads));
	if (!weft_test_mutex_idle(&t.lock))
		weft_stress_fail(r, "mutex word %u after all threads left",
				 (unsigned)atomic_load(&t.lock.state));
}

WEFT_STRESS_CASE("mutex_counter/2", mutex_counter, 2, 0, 1000000);
WEFT_STRESS_CASE("mutex_counter/4", mutex_counter, 4, 0, 500000);
WEFT_STRESS_CASE("mutex_counter/8", mutex_counter, 8, 0, 250000);

/*
 * Two threads take strict turns through the lock (the mutex/handoff
 * benchmark's body): the thread whose turn it is not keeps re-taking the
 * lock to look at the flag, so each side is in turn an owner that re-takes
 * at once and a waiter that steals it back, or one that sleeps (no room
 * to spin, or its spin ran out) and must be woken by that owner.
 * Invariants: every turn is taken exactly once and in order (a lost wake-up hangs the case, which
 * the runner reports), and the word is clean afterwards. The poller yields
 * every 64 looks so that threads sharing one CPU still progress.
 */
typedef struct turns_test {
	weft_mutex lock;
	uint64_t turn;	    /* plain: only the mutex protects it */
	uint64_t taken[2];  /* plain: turns taken by each thread */
	uint64_t turns;	    /* turns per thread */
	_Atomic uint64_t out_of_order;
} turns_test;

static void turns_worker(unsigned id, void *arg)
{
	turns_test *t = arg;
	for (uint64_t looks = 0; t->taken[id] < t->turns; looks++) {
		weft_mutex_lock(&t->lock);
		if (t->turn % 2 == id) {
			if (t->turn / 2 != t->taken[id])
				atomic_fetch_add_explicit(&t->out_of_order, 1,
							  memory_order_relaxed);
			t->turn++;
			t->taken[id]++;
		}
		weft_mutex_unlock(&t->lock);
		if (looks % 64 == 63)
			sched_yield();
	}
}

static void mutex_turns(const weft_stress_case *c, weft_stress_result *r)
{
	turns_test t = { .turns = weft_stress_ops(c) };
	weft_stress_run_threads(2, turns_worker, &t);
	if (atomic_load(&t.out_of_order))
		weft_stress_fail(r, "%llu turns out of order",
				 (unsigned long long)atomic_load(&t.out_of_order));
	if (t.turn != 2 * t.turns || t.taken[0] != t.turns || t.taken[1] != t.turns)
		weft_stress_fail(r, "turn %llu, taken %llu + %llu of %llu each",
				 (unsigned long long)t.turn,
				 (unsigned long long)t.taken[0],
				 (unsigned long long)t.taken[1],
				 (unsigned long long)t.turns);
	if (atomic_load_explicit(&t.lock.state, memory_order_relaxed) != 0)
		weft_stress_fail(r, "mutex word %u after both threads left",
				 (unsigned)atomic_load(&t.lock.state));
}

WEFT_STRESS_CASE("mutex_turns/2", mutex_turns, 2, 0, 500);
