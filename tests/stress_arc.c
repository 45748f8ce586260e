/*
 * tests/stress_arc.c - weft_arc and weft_ref under concurrent clones and
 * drops, in rounds: every round shares one new object among all threads,
 * which churn references to it and then drop theirs; the last drop must
 * destroy it exactly once, after every other thread's last use.
 *
 * arc_rounds: each thread gets a strong reference, churns (clone + drop,
 * downgrade + upgrade + weak drop), reads the payload through each
 * reference (plain fields: TSan checks that every read happens before the
 * destructor's writes), then drops its reference. One thread per round
 * first drops its strong reference and then upgrades its weak one in a
 * loop while the others drop theirs: each upgrade gives either a live
 * value (the destructor has not run: checked) or NULL, and once NULL,
 * always NULL. After the round: destructor ran once, upgrade is NULL, and
 * the last weak drop frees the memory (ASan: exactly once, no leak).
 *
 * ref_rounds: the same with a weft_ref in a malloc'd object: exactly one
 * dec_and_test per round returns true and frees the object.
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "stress.h"
#include "weft/arc.h"
#include "weft/barrier.h"
#include "weft/ref.h"

#define CANARY 0x0123456789abcdefull

typedef struct payload {
	uint64_t canary; /* CANARY while alive; plain */
	int alive;	 /* 1 until the destructor; plain */
	_Atomic unsigned *dtor_calls;
} payload;

typedef struct arc_test {
	weft_barrier round_start, round_end;
	_Atomic(payload *) shared; /* this round's object, one ref per thread */
	_Atomic(weft_weak *) weak; /* a weak reference for the round's checks */
	_Atomic unsigned dtor_calls;
	unsigned threads;
	uint64_t rounds, churn;
	_Atomic uint64_t bad_payload, resurrected, upgrades_live;
} arc_test;

static void payload_dtor(void *p)
{
	payload *d = p;
	if (d->canary != CANARY)
		abort(); /* destroyed twice, or freed memory */
	d->alive = 0;
	d->canary = 0;
	atomic_fetch_add_explicit(d->dtor_calls, 1, memory_order_relaxed);
}

static bool payload_ok(const payload *d)
{
	return d->canary == CANARY && d->alive == 1;
}

static void check(arc_test *t, const payload *d)
{
	if (!payload_ok(d))
		atomic_fetch_add_explicit(&t->bad_payload, 1, memory_order_relaxed);
}

/* Thread 0, before a round: one object with a reference per thread. */
static void arc_round_setup(arc_test *t, unsigned threads)
{
	payload *d = weft_arc_new(sizeof *d, payload_dtor);
	if (!d)
		abort();
	*d = (payload){ .canary = CANARY, .alive = 1, .dtor_calls = &t->dtor_calls };
	for (unsigned i = 1; i < threads; i++)
		weft_arc_clone(d);
	atomic_store_explicit(&t->weak, weft_arc_downgrade(d), memory_order_relaxed);
	/* relaxed: the round_start barrier publishes the object. */
	atomic_store_explicit(&t->shared, d, memory_order_relaxed);
}

static void churn(arc_test *t, payload *d)
{
	for (uint64_t k = 0; k < t->churn; k++) {
		if (k & 1) {
			payload *c = weft_arc_clone(d);
			check(t, c);
			weft_arc_drop(c);
		} else {
			weft_weak *w = weft_arc_downgrade(d);
			payload *u = weft_weak_upgrade(w); /* d is live: not NULL */
			if (!u)
				atomic_fetch_add_explicit(&t->bad_payload, 1,
							  memory_order_relaxed);
			else
				check(t, u);
			weft_weak_drop(w);
			weft_arc_drop(u);
		}
	}
}

/* Drop our strong reference, then upgrade until the value is gone. */
static void upgrade_until_gone(arc_test *t, payload *d)
{
	weft_weak *w = weft_arc_downgrade(d);
	weft_arc_drop(d);
	payload *u;
	while ((u = weft_weak_upgrade(w))) {
		check(t, u); /* live: the destructor must not have run */
		atomic_fetch_add_explicit(&t->upgrades_live, 1, memory_order_relaxed);
		weft_arc_drop(u);
		sched_yield(); /* let the droppers run (threads > CPUs) */
	}
	if (weft_weak_upgrade(w) || weft_weak_strong_count(w))
		atomic_fetch_add_explicit(&t->resurrected, 1, memory_order_relaxed);
	weft_weak_drop(w);
}

static void arc_worker(unsigned id, void *arg)
{
	arc_test *t = arg;
	unsigned threads = t->threads;
	for (uint64_t round = 0; round < t->rounds; round++) {
		if (id == 0)
			arc_round_setup(t, threads);
		weft_barrier_wait(&t->round_start);
		payload *d = atomic_load_explicit(&t->shared, memory_order_relaxed);
		check(t, d);
		churn(t, d);
		if (id == round % threads)
			upgrade_until_gone(t, d);
		else
			weft_arc_drop(d);
		weft_barrier_wait(&t->round_end);
		if (id == 0) {
			weft_weak *w = atomic_load_explicit(&t->weak,
							    memory_order_relaxed);
			if (weft_weak_upgrade(w))
				atomic_fetch_add_explicit(&t->resurrected, 1,
							  memory_order_relaxed);
			weft_weak_drop(w); /* the last reference: frees */
			if (atomic_load(&t->dtor_calls) != round + 1)
				atomic_fetch_add_explicit(&t->bad_payload, 1,
							  memory_order_relaxed);
		}
	}
}

static void arc_rounds(const weft_stress_case *c, weft_stress_result *r)
{
	arc_test t = { .churn = c->arg, .threads = c->threads };
	t.rounds = weft_stress_ops(c) / c->arg + 1;
	weft_barrier_init(&t.round_start, c->threads);
	weft_barrier_init(&t.round_end, c->threads);
	weft_stress_run_threads(c->threads, arc_worker, &t);
	weft_barrier_destroy(&t.round_start);
	weft_barrier_destroy(&t.round_end);
	if (atomic_load(&t.dtor_calls) != t.rounds)
		weft_stress_fail(r, "%u destructor calls in %llu rounds",
				 atomic_load(&t.dtor_calls),
				 (unsigned long long)t.rounds);
	if (atomic_load(&t.bad_payload))
		weft_stress_fail(r, "%llu uses saw a destroyed or missing value",
				 (unsigned long long)atomic_load(&t.bad_payload));
	if (atomic_load(&t.resurrected))
		weft_stress_fail(r, "%llu upgrades after the value was gone",
				 (unsigned long long)atomic_load(&t.resurrected));
}

/* ------------------------------------------------------------ weft_ref */

typedef struct ref_obj {
	weft_ref ref;
	uint64_t canary; /* plain: read by holders, cleared by the freer */
} ref_obj;

typedef struct ref_test {
	weft_barrier round_start, round_end;
	_Atomic(ref_obj *) shared;
	unsigned threads;
	uint64_t rounds, churn;
	_Atomic uint64_t frees, bad;
} ref_test;

static void ref_worker(unsigned id, void *arg)
{
	ref_test *t = arg;
	unsigned threads = t->threads;
	for (uint64_t round = 0; round < t->rounds; round++) {
		if (id == 0) {
			ref_obj *o = malloc(sizeof *o);
			if (!o)
				abort();
			o->canary = CANARY;
			weft_ref_init(&o->ref, threads);
			/* relaxed: the barrier publishes it. */
			atomic_store_explicit(&t->shared, o, memory_order_relaxed);
		}
		weft_barrier_wait(&t->round_start);
		ref_obj *o = atomic_load_explicit(&t->shared, memory_order_relaxed);
		for (uint64_t k = 0; k < t->churn; k++) {
			if (k & 1)
				weft_ref_inc(&o->ref);
			else if (!weft_ref_inc_not_zero(&o->ref))
				atomic_fetch_add_explicit(&t->bad, 1,
							  memory_order_relaxed);
			if (o->canary != CANARY || weft_ref_dec_and_test(&o->ref))
				atomic_fetch_add_explicit(&t->bad, 1,
							  memory_order_relaxed);
		}
		if (o->canary != CANARY)
			atomic_fetch_add_explicit(&t->bad, 1, memory_order_relaxed);
		if (weft_ref_dec_and_test(&o->ref)) {
			o->canary = 0; /* TSan: after every holder's read */
			free(o);
			atomic_fetch_add_explicit(&t->frees, 1, memory_order_relaxed);
		}
		weft_barrier_wait(&t->round_end);
	}
}

static void ref_rounds(const weft_stress_case *c, weft_stress_result *r)
{
	ref_test t = { .churn = c->arg, .threads = c->threads };
	t.rounds = weft_stress_ops(c) / c->arg + 1;
	weft_barrier_init(&t.round_start, c->threads);
	weft_barrier_init(&t.round_end, c->threads);
	weft_stress_run_threads(c->threads, ref_worker, &t);
	weft_barrier_destroy(&t.round_start);
	weft_barrier_destroy(&t.round_end);
	if (atomic_load(&t.frees) != t.rounds)
		weft_stress_fail(r, "%llu frees in %llu rounds",
				 (unsigned long long)atomic_load(&t.frees),
				 (unsigned long long)t.rounds);
	if (atomic_load(&t.bad))
		weft_stress_fail(r, "%llu early zero counts or freed reads",
				 (unsigned long long)atomic_load(&t.bad));
}

/* ops = churn operations per thread over all rounds; arg = churn per round. */
WEFT_STRESS_CASE("arc_rounds/8", arc_rounds, 8, 64, 200000);
WEFT_STRESS_CASE("arc_rounds/2", arc_rounds, 2, 16, 100000);
WEFT_STRESS_CASE("ref_rounds/8", ref_rounds, 8, 64, 200000);
