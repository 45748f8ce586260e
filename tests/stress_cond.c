/*
 * tests/stress_cond.c - weft_cond producer/consumer through a one-slot
 * buffer guarded by a weft_mutex, with a predicate loop on each side (two
 * conds: not_empty, not_full). Every hand-off relies on a signal: a lost
 * wake-up hangs the test (the driver's watchdog and Criterion's timeout
 * report it). Items are tagged with their producer. Invariants: every
 * producer's every item delivered exactly once (counted per producer and
 * item, so one producer's duplicate cannot hide another's loss), each
 * consumer sees each producer's items in order, and the sum matches.
 * threads = producers = consumers; `arg` 1 makes consumers use
 * wait_timeout with a short timeout.
 */
#include <errno.h>
#include <stdatomic.h>
#include <sched.h>
#include <stdlib.h>

#include "stress.h"
#include "test_util.h"
#include "weft/cond.h"

typedef struct pc_test {
	weft_mutex m;
	weft_cond not_empty, not_full;
	bool full;		/* plain: under m */
	uint64_t slot;		/* plain: under m */
	uint64_t per_producer;
	unsigned producers;
	bool timed;
	uint8_t *delivered[8];	/* plain: under m; per producer, per item */
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
		t->delivered[(v >> 40) & 7][v & ((1ull << 40) - 1)]++;
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
	for (unsigned p = 0; p < c->threads; p++)
		t.delivered[p] = calloc(t.per_producer + 1, 1);
	weft_stress_run_threads(2 * c->threads, pc_worker, &t);
	uint64_t n = t.per_producer, total = n * c->threads;
	for (unsigned p = 0; p < c->threads; p++) {
		for (uint64_t k = 1; k <= n && r->ok; k++)
			if (t.delivered[p][k] != 1)
				weft_stress_fail(r, "producer %u item %llu delivered %u times", p,
						 (unsigned long long)k, t.delivered[p][k]);
		free(t.delivered[p]);
	}
	if (atomic_load(&t.received) != total)
		weft_stress_fail(r, "received %llu of %llu",
				 (unsigned long long)atomic_load(&t.received),
				 (unsigned long long)total);
	if (atomic_load(&t.sum) != c->threads * (n * (n + 1) / 2))
		weft_stress_fail(r, "sum mismatch: values lost or duplicated");
	if (atomic_load(&t.disorder))
		weft_stress_fail(r, "%llu values out of order",
				 (unsigned long long)atomic_load(&t.disorder));
	if (atomic_load(&t.not_empty.waiters) ||
	    atomic_load(&t.not_full.waiters))
		weft_stress_fail(r, "waiters left registered");
}

WEFT_STRESS_CASE("cond_handoff/1x1", cond_handoff, 1, 0, 100000);
WEFT_STRESS_CASE("cond_handoff/4x4", cond_handoff, 4, 0, 25000);
WEFT_STRESS_CASE("cond_handoff/1x1_timed", cond_handoff, 1, 1, 20000);

/*
 * Broadcast rounds: thread 0 waits until every waiter is back at the cond
 * (ready == waiters), then bumps gen and broadcasts ONCE. A waiter that
 * misses that broadcast never increments ready again and the test hangs
 * (reported by the watchdog / Criterion timeout), so this catches a lost
 * wake-up. Variants (`arg` bits):
 *   BC_TIMED   odd waiters use wait_timeout with a 20..80 us timeout (one
 *              wait in four: 0..2 us, since the waiters' yield polls
 *              catch most broadcasts within microseconds), so waiters
 *              time out and re-register around the broadcast; the first
 *              broadcast waits until a timed wait has timed out
 *   BC_SIGNALS before the broadcast, 0..3 signals with the predicate
 *              unchanged (woken waiters re-register on a newer SEQ while
 *              others still sleep on the older one); every 4th round ends
 *              with signals only (re-signalled until all are through)
 */
#define BC_TIMED 1
#define BC_SIGNALS 2

typedef struct bc_test {
	weft_mutex m;
	weft_cond c;
	uint64_t gen;	 /* plain: under m */
	unsigned ready;	 /* plain: under m; waiters back at the cond */
	unsigned seen;	 /* plain: under m; waiters that saw the last gen */
	unsigned waiters;
	uint64_t rounds;
	unsigned flags;
	_Atomic uint64_t timeouts;
} bc_test;

static void bc_waiter(bc_test *t, unsigned id)
{
	uint64_t rng = id * 0x9e3779b97f4a7c15ull + 1;
	weft_mutex_lock(&t->m);
	for (uint64_t r = 0; r < t->rounds; r++) {
		uint64_t my = t->gen;
		t->ready++;
		while (t->gen == my) {
			if ((t->flags & BC_TIMED) && (id & 1)) {
				rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
				uint64_t ns = (rng >> 32) % 4 ? 20000 + rng % 60000
							      : rng % 2000;
				if (weft_cond_wait_timeout(&t->c, &t->m, ns) ==
				    ETIMEDOUT)
					atomic_fetch_add_explicit(
						&t->timeouts, 1,
						memory_order_relaxed);
			} else {
				weft_cond_wait(&t->c, &t->m);
			}
		}
		t->seen++;
	}
	weft_mutex_unlock(&t->m);
}

/*
 * Under the mutex: until every waiter is back at the cond and, in a timed
 * variant's first round, until a timed wait has timed out (no broadcast
 * is coming, so one must), which keeps the timeout path tested however
 * fast the later rounds are.
 */
static void bc_wait_ready(bc_test *t, bool first)
{
	while (t->ready < t->waiters ||
	       (first && (t->flags & BC_TIMED) &&
		atomic_load_explicit(&t->timeouts, memory_order_relaxed) == 0)) {
		weft_mutex_unlock(&t->m);
		sched_yield();
		weft_mutex_lock(&t->m);
	}
}

static void bc_leader(bc_test *t)
{
	uint64_t rng = 12345;
	for (uint64_t r = 0; r < t->rounds; r++) {
		weft_mutex_lock(&t->m);
		bc_wait_ready(t, r == 0);
		t->ready = 0;
		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		if (t->flags & BC_SIGNALS) {
			for (unsigned k = rng % 4; k; k--) {
				weft_cond_signal(&t->c); /* predicate unchanged */
				weft_mutex_unlock(&t->m);
				sched_yield();
				weft_mutex_lock(&t->m);
			}
		}
		t->seen = 0;
		t->gen++;
		if ((t->flags & BC_SIGNALS) && (rng >> 8) % 4 == 0) {
			/* Signals only: one per waiter at least, repeated until
			 * all have seen the new gen. */
			while (t->seen < t->waiters) {
				weft_cond_signal(&t->c);
				weft_mutex_unlock(&t->m);
				sched_yield();
				weft_mutex_lock(&t->m);
			}
		} else {
			weft_cond_broadcast(&t->c);
		}
		weft_mutex_unlock(&t->m);
	}
	/* Let the waiters finish their last round. */
	weft_mutex_lock(&t->m);
	weft_mutex_unlock(&t->m);
}

static void bc_worker(unsigned id, void *arg)
{
	bc_test *t = arg;
	if (id == 0)
		bc_leader(t);
	else
		bc_waiter(t, id);
}

static void cond_broadcast(const weft_stress_case *c, weft_stress_result *r)
{
	bc_test t = { .m = WEFT_MUTEX_INIT,
		      .c = WEFT_COND_INIT,
		      .waiters = c->threads - 1,
		      .rounds = weft_stress_ops(c),
		      .flags = (unsigned)c->arg };
	weft_stress_run_threads(c->threads, bc_worker, &t);
	/* Every waiter took part in every round: the last broadcast
	 * released all of them, or run_threads would not have returned. */
	if (atomic_load(&t.c.waiters))
		weft_stress_fail(r, "waiters left registered: %u",
				 atomic_load(&t.c.waiters));
	if (!weft_test_mutex_idle(&t.m))
		weft_stress_fail(r, "mutex left in state %#x",
				 atomic_load(&t.m.state));
	if ((t.flags & BC_TIMED) && atomic_load(&t.timeouts) == 0)
		weft_stress_fail(r, "timed variant never timed out");
}

WEFT_STRESS_CASE("cond_broadcast/8", cond_broadcast, 9, 0, 2000);
WEFT_STRESS_CASE("cond_broadcast/8_timed", cond_broadcast, 9, BC_TIMED, 2000);
WEFT_STRESS_CASE("cond_broadcast/8_signals", cond_broadcast, 9, BC_SIGNALS, 2000);
WEFT_STRESS_CASE("cond_broadcast/8_timed_signals", cond_broadcast, 9,
		 BC_TIMED | BC_SIGNALS, 2000);
WEFT_STRESS_CASE("cond_broadcast/32_timed_signals", cond_broadcast, 33,
		 BC_TIMED | BC_SIGNALS, 300);
