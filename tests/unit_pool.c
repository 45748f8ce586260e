/* tests/unit_pool.c - weft_pool semantics: every error code, drain and
 * discard, helping joins and nested parallel_for, reduce against the
 * sequential fold, worker names and affinity, and an idle pool's CPU. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal/cpus.h"
#include "test_util.h"
#include "weft/pool.h"

TestSuite(pool, .timeout = WEFT_UNIT_TIMEOUT_S);

static weft_pool *make_pool(unsigned threads)
{
	weft_pool *p = NULL;
	cr_assert_eq(weft_pool_create(&p, &(weft_pool_opts){ .threads = threads }), 0);
	return p;
}

static void noop(void *arg) { (void)arg; }
static void *noop_spawn(void *arg) { return arg; }
static void noop_body(size_t lo, size_t hi, void *arg) { (void)lo; (void)hi; (void)arg; }
static void noop_map(size_t lo, size_t hi, void *acc, void *arg)
{
	(void)lo; (void)hi; (void)acc; (void)arg;
}
static void noop_combine(void *acc, const void *other, void *arg)
{
	(void)acc; (void)other; (void)arg;
}

Test(pool, default_size_is_the_usable_cpus)
{
	weft_pool *p = NULL;
	cr_assert_eq(weft_pool_create(&p, NULL), 0);
	cr_assert_eq(weft_pool_threads(p), weft__cpus_usable());
	weft_pool_destroy(p, WEFT_POOL_DRAIN);
	weft_pool_destroy(NULL, WEFT_POOL_DRAIN); /* no-op */
}

Test(pool, bad_arguments_are_einval)
{
	weft_pool *p = NULL;
	cr_assert_eq(weft_pool_create(NULL, NULL), EINVAL);
	cr_assert_eq(weft_pool_create(&p, &(weft_pool_opts){ .threads = WEFT_POOL_MAX_THREADS + 1 }), EINVAL);
	cpu_set_t empty;
	CPU_ZERO(&empty);
	cr_assert_eq(weft_pool_create(&p, &(weft_pool_opts){ .cpus = &empty }), EINVAL);
	cr_assert_null(p);

	p = make_pool(2);
	weft_task *t = NULL;
	int acc = 0, res = 0;
	cr_assert_eq(weft_pool_execute(NULL, noop, NULL), EINVAL);
	cr_assert_eq(weft_pool_execute(p, NULL, NULL), EINVAL);
	cr_assert_eq(weft_pool_spawn(p, NULL, noop_spawn, NULL), EINVAL);
	cr_assert_eq(weft_pool_spawn(p, &t, NULL, NULL), EINVAL);
	cr_assert_eq(weft_pool_spawn(NULL, &t, noop_spawn, NULL), EINVAL);
	cr_assert_null(t);
	cr_assert_eq(weft_task_join(NULL, NULL), EINVAL);
	cr_assert_eq(weft_pool_join(NULL, noop_spawn, NULL, NULL, noop_spawn, NULL, NULL), EINVAL);
	cr_assert_eq(weft_pool_join(p, NULL, NULL, NULL, noop_spawn, NULL, NULL), EINVAL);
	cr_assert_eq(weft_pool_join(p, noop_spawn, NULL, NULL, NULL, NULL, NULL), EINVAL);
	cr_assert_eq(weft_pool_parallel_for(p, 0, 10, 0, noop_body, NULL), EINVAL);
	cr_assert_eq(weft_pool_parallel_for(p, 5, 4, 1, noop_body, NULL), EINVAL);
	cr_assert_eq(weft_pool_parallel_for(p, 0, 10, 1, NULL, NULL), EINVAL);
	cr_assert_eq(weft_pool_parallel_for(NULL, 0, 10, 1, noop_body, NULL), EINVAL);
	cr_assert_eq(weft_pool_parallel_reduce(p, 0, 10, 0, sizeof acc, &acc, noop_map, noop_combine, NULL, &res), EINVAL);
	cr_assert_eq(weft_pool_parallel_reduce(p, 5, 4, 1, sizeof acc, &acc, noop_map, noop_combine, NULL, &res), EINVAL);
	cr_assert_eq(weft_pool_parallel_reduce(p, 0, 10, 1, 0, &acc, noop_map, noop_combine, NULL, &res), EINVAL);
	cr_assert_eq(weft_pool_parallel_reduce(p, 0, 10, 1, sizeof acc, NULL, noop_map, noop_combine, NULL, &res), EINVAL);
	cr_assert_eq(weft_pool_parallel_reduce(p, 0, 10, 1, sizeof acc, &acc, NULL, noop_combine, NULL, &res), EINVAL);
	cr_assert_eq(weft_pool_parallel_reduce(p, 0, 10, 1, sizeof acc, &acc, noop_map, NULL, NULL, &res), EINVAL);
	cr_assert_eq(weft_pool_parallel_reduce(p, 0, 10, 1, sizeof acc, &acc, noop_map, noop_combine, NULL, NULL), EINVAL);
	weft_pool_destroy(p, WEFT_POOL_DRAIN);
}

Test(pool, spawn_join_returns_the_result)
{
	weft_pool *p = make_pool(2);
	int x;
	weft_task *t;
	cr_assert_eq(weft_pool_spawn(p, &t, noop_spawn, &x), 0);
	void *r = NULL;
	cr_assert_eq(weft_task_join(t, &r), 0);
	cr_assert_eq(r, &x);
	cr_assert_eq(weft_pool_spawn(p, &t, noop_spawn, &x), 0);
	cr_assert_eq(weft_task_join(t, NULL), 0);
	weft_pool_destroy(p, WEFT_POOL_DRAIN);
}

/* ---- submit during destroy: EPIPE */

typedef struct submit_until_refused {
	weft_pool *p;
	_Atomic int started;
	int refused_with;
	int spawn_refused_with;
	_Atomic int parallel_refused_with;
} submit_until_refused;

static void keep_submitting(void *arg)
{
	submit_until_refused *s = arg;
	atomic_store(&s->started, 1);
	int err;
	/* Each accepted noop is run (drain) or dropped (discard); destroy has
	 * begun when the pool refuses. */
	while ((err = weft_pool_execute(s->p, noop, NULL)) == 0)
		sched_yield();
	s->refused_with = err;
	weft_task *t = NULL;
	s->spawn_refused_with = weft_pool_spawn(s->p, &t, noop_spawn, NULL);
}

static void epipe_case(int mode)
{
	submit_until_refused s = { .p = make_pool(2) };
	cr_assert_eq(weft_pool_execute(s.p, keep_submitting, &s), 0);
	while (!atomic_load(&s.started))
		sched_yield();
	weft_pool_destroy(s.p, mode);
	cr_assert_eq(s.refused_with, EPIPE);
	cr_assert_eq(s.spawn_refused_with, EPIPE);
}

Test(pool, submit_during_drain_is_epipe) { epipe_case(WEFT_POOL_DRAIN); }
Test(pool, submit_during_discard_is_epipe) { epipe_case(WEFT_POOL_DISCARD); }

typedef struct outside_parallel {
	weft_pool *p;
	_Atomic int blocker_started, calls_started, refused_with;
} outside_parallel;

static void *parallel_from_outside(void *arg)
{
	outside_parallel *s = arg;
	int err;
	while ((err = weft_pool_parallel_for(s->p, 0, 4, 1, noop_body, NULL)) == 0)
		atomic_store(&s->calls_started, 1);
	atomic_store(&s->refused_with, err);
	return NULL;
}

/* Holds destroy (a running task) until the outside caller was refused, so
 * the pool outlives that caller's last call. */
static void hold_until_refused(void *arg)
{
	outside_parallel *s = arg;
	atomic_store(&s->blocker_started, 1);
	while (!atomic_load(&s->refused_with))
		sched_yield();
}

Test(pool, parallel_for_from_outside_during_destroy_is_epipe)
{
	outside_parallel s = { .p = make_pool(2) };
	cr_assert_eq(weft_pool_execute(s.p, hold_until_refused, &s), 0);
	while (!atomic_load(&s.blocker_started))
		sched_yield();
	pthread_t th;
	pthread_create(&th, NULL, parallel_from_outside, &s);
	while (!atomic_load(&s.calls_started))
		sched_yield();
	weft_pool_destroy(s.p, WEFT_POOL_DRAIN);
	pthread_join(th, NULL);
	cr_assert_eq(atomic_load(&s.refused_with), EPIPE);
}

static void *join_from_outside(void *arg)
{
	outside_parallel *s = arg;
	int err;
	while ((err = weft_pool_join(s->p, noop_spawn, NULL, NULL, noop_spawn,
				     NULL, NULL)) == 0)
		atomic_store(&s->calls_started, 1);
	atomic_store(&s->refused_with, err);
	return NULL;
}

Test(pool, join_from_outside_during_destroy_is_epipe)
{
	outside_parallel s = { .p = make_pool(2) };
	cr_assert_eq(weft_pool_execute(s.p, hold_until_refused, &s), 0);
	while (!atomic_load(&s.blocker_started))
		sched_yield();
	pthread_t th;
	pthread_create(&th, NULL, join_from_outside, &s);
	while (!atomic_load(&s.calls_started))
		sched_yield();
	weft_pool_destroy(s.p, WEFT_POOL_DRAIN);
	pthread_join(th, NULL);
	cr_assert_eq(atomic_load(&s.refused_with), EPIPE);
}

/* ---- drain and discard */

typedef struct gate {
	_Atomic int started;
	_Atomic int open;
	_Atomic int ran;
	weft_pool *p;
} gate;

static void blocker(void *arg)
{
	gate *g = arg;
	atomic_store(&g->started, 1);
	/* Hold the only worker until destroy has begun (the pool refuses). */
	while (weft_pool_execute(g->p, noop, NULL) == 0)
		sched_yield();
}

static void count_ran(void *arg)
{
	gate *g = arg;
	atomic_fetch_add(&g->ran, 1);
}

static void *count_ran_spawn(void *arg)
{
	count_ran(arg);
	return arg;
}

#define QUEUED 1000
#define QUEUED_SPAWNS 10

static void drain_or_discard(int mode)
{
	gate g = { 0 };
	g.p = make_pool(1);
	cr_assert_eq(weft_pool_execute(g.p, blocker, &g), 0);
	while (!atomic_load(&g.started))
		sched_yield();
	for (int i = 0; i < QUEUED; i++)
		cr_assert_eq(weft_pool_execute(g.p, count_ran, &g), 0);
	weft_task *t[QUEUED_SPAWNS];
	for (int i = 0; i < QUEUED_SPAWNS; i++)
		cr_assert_eq(weft_pool_spawn(g.p, &t[i], count_ran_spawn, &g), 0);
	weft_pool_destroy(g.p, mode);
	int want = mode == WEFT_POOL_DRAIN ? 0 : ECANCELED;
	for (int i = 0; i < QUEUED_SPAWNS; i++) {
		void *r = (void *)1;
		cr_assert_eq(weft_task_join(t[i], &r), want);
		cr_assert_eq(r, want ? NULL : (void *)&g);
	}
	cr_assert_eq(atomic_load(&g.ran),
		     mode == WEFT_POOL_DRAIN ? QUEUED + QUEUED_SPAWNS : 0);
}

/* ASan's leak check sees any dropped task that was not freed. */
Test(pool, drain_runs_everything_queued) { drain_or_discard(WEFT_POOL_DRAIN); }
Test(pool, discard_runs_nothing_not_started_and_frees_it) { drain_or_discard(WEFT_POOL_DISCARD); }

/* ---- fork-join from workers */

typedef struct fib_arg {
	weft_pool *p;
	unsigned n;
} fib_arg;

static uint64_t fib_seq(unsigned n) { return n < 2 ? n : fib_seq(n - 1) + fib_seq(n - 2); }

static void *fib_task(void *arg)
{
	fib_arg *a = arg;
	if (a->n < 8)
		return (void *)(uintptr_t)fib_seq(a->n);
	fib_arg left = { a->p, a->n - 1 }, right = { a->p, a->n - 2 };
	weft_task *t;
	if (weft_pool_spawn(a->p, &t, fib_task, &left) != 0)
		return (void *)0; /* poisons the sum: the test fails */
	uintptr_t r = (uintptr_t)fib_task(&right);
	void *l = NULL;
	if (weft_task_join(t, &l) != 0)
		return (void *)0;
	return (void *)(r + (uintptr_t)l);
}

Test(pool, join_inside_workers_helps_and_completes)
{
	for (unsigned threads = 1; threads <= 3; threads++) {
		weft_pool *p = make_pool(threads);
		fib_arg a = { p, 20 };
		weft_task *t;
		cr_assert_eq(weft_pool_spawn(p, &t, fib_task, &a), 0);
		void *r;
		cr_assert_eq(weft_task_join(t, &r), 0);
		cr_assert_eq((uint64_t)(uintptr_t)r, fib_seq(20), "on %u workers", threads);
		weft_pool_destroy(p, WEFT_POOL_DRAIN);
	}
}

/* ---- weft_pool_join */

static void *fib_join(void *arg)
{
	fib_arg *a = arg;
	if (a->n < 8)
		return (void *)(uintptr_t)fib_seq(a->n);
	fib_arg left = { a->p, a->n - 1 }, right = { a->p, a->n - 2 };
	void *l = NULL, *r = NULL;
	if (weft_pool_join(a->p, fib_join, &left, &l, fib_join, &right, &r) != 0)
		return (void *)0; /* poisons the sum: the test fails */
	return (void *)((uintptr_t)l + (uintptr_t)r);
}

static void *add_one(void *arg) { return (void *)((uintptr_t)arg + 1); }

Test(pool, join_returns_both_results_from_outside_and_inside)
{
	for (unsigned threads = 1; threads <= 3; threads++) {
		weft_pool *p = make_pool(threads);
		void *ra = NULL, *rb = NULL;
		cr_assert_eq(weft_pool_join(p, add_one, (void *)10, &ra, add_one,
					    (void *)20, &rb), 0);
		cr_assert_eq((uintptr_t)ra, 11);
		cr_assert_eq((uintptr_t)rb, 21);
		cr_assert_eq(weft_pool_join(p, add_one, NULL, NULL, add_one, NULL,
					    NULL), 0);
		/* nested from outside: the root join runs on a worker */
		fib_arg a = { p, 22 };
		cr_assert_eq((uint64_t)(uintptr_t)fib_join(&a), fib_seq(22),
			     "outside, %u workers", threads);
		/* nested from a spawned task */
		weft_task *t;
		void *r = NULL;
		cr_assert_eq(weft_pool_spawn(p, &t, fib_join, &a), 0);
		cr_assert_eq(weft_task_join(t, &r), 0);
		cr_assert_eq((uint64_t)(uintptr_t)r, fib_seq(22),
			     "inside, %u workers", threads);
		weft_pool_destroy(p, WEFT_POOL_DRAIN);
	}
}

typedef struct join_nest {
	weft_pool *p;
	unsigned depth;
	_Atomic uint64_t *leaves;
} join_nest;

/* Three levels of joins, each half one level down; a leaf returns 1. */
static void *join_level(void *arg)
{
	join_nest *n = arg;
	if (n->depth == 0) {
		atomic_fetch_add(n->leaves, 1);
		return (void *)1;
	}
	join_nest down = { n->p, n->depth - 1, n->leaves };
	void *l = NULL, *r = NULL;
	if (weft_pool_join(n->p, join_level, &down, &l, join_level, &down, &r))
		return (void *)0;
	return (void *)((uintptr_t)l + (uintptr_t)r);
}

static void *join_three_deep_many(void *arg)
{
	join_nest *n = arg;
	uintptr_t sum = 0;
	for (int i = 0; i < 200; i++)
		sum += (uintptr_t)join_level(n);
	return (void *)sum;
}

Test(pool, join_nested_three_deep_on_two_workers)
{
	_Atomic uint64_t leaves = 0;
	join_nest n = { make_pool(2), 3, &leaves };
	/* from outside: 200 root joins, each 3 deep (8 leaves) */
	cr_assert_eq((uintptr_t)join_three_deep_many(&n), 200 * 8);
	/* from two tasks at once, competing for the two workers */
	weft_task *t1, *t2;
	void *r1 = NULL, *r2 = NULL;
	cr_assert_eq(weft_pool_spawn(n.p, &t1, join_three_deep_many, &n), 0);
	cr_assert_eq(weft_pool_spawn(n.p, &t2, join_three_deep_many, &n), 0);
	cr_assert_eq(weft_task_join(t1, &r1), 0);
	cr_assert_eq(weft_task_join(t2, &r2), 0);
	cr_assert_eq((uintptr_t)r1, 200 * 8);
	cr_assert_eq((uintptr_t)r2, 200 * 8);
	cr_assert_eq(atomic_load(&leaves), 3 * 200 * 8);
	weft_pool_destroy(n.p, WEFT_POOL_DRAIN);
}

typedef struct stolen_half {
	_Atomic int b_started;
	pthread_t a_thread, b_thread;
} stolen_half;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* fa: gives the idle worker up to 1 s to steal fb (not a dependency on
 * fb: it goes on either way, as join requires). */
static void *half_a_lingers(void *arg)
{
	stolen_half *h = arg;
	h->a_thread = pthread_self();
	uint64_t until = now_ns() + 1000000000u;
	while (!atomic_load(&h->b_started) && now_ns() < until)
		sched_yield();
	return (void *)1;
}

static void *half_b(void *arg)
{
	stolen_half *h = arg;
	h->b_thread = pthread_self();
	atomic_store(&h->b_started, 1);
	return (void *)2;
}

Test(pool, join_waits_for_a_stolen_half_and_gets_its_result)
{
	weft_pool *p = make_pool(2);
	int stolen = 0;
	for (int round = 0; round < 20; round++) {
		stolen_half h = { 0 };
		void *ra = NULL, *rb = NULL;
		cr_assert_eq(weft_pool_join(p, half_a_lingers, &h, &ra, half_b, &h, &rb), 0);
		cr_assert_eq((uintptr_t)ra, 1);
		cr_assert_eq((uintptr_t)rb, 2);
		stolen += !pthread_equal(h.a_thread, h.b_thread);
	}
	/* an idle worker had a second each time to take fb */
	cr_assert_gt(stolen, 0);
	weft_pool_destroy(p, WEFT_POOL_DRAIN);
}

typedef struct leaves_work {
	weft_pool *p;
	_Atomic int executed;
} leaves_work;

static void count_executed(void *arg)
{
	leaves_work *w = arg;
	atomic_fetch_add(&w->executed, 1);
}

/* fa queues work it does not wait for: it lies on the deque above fb. */
static void *half_a_executes(void *arg)
{
	leaves_work *w = arg;
	for (int i = 0; i < 3; i++)
		if (weft_pool_execute(w->p, count_executed, w))
			return NULL;
	return (void *)1;
}

Test(pool, join_whose_first_half_leaves_work_behind)
{
	for (unsigned threads = 1; threads <= 2; threads++) {
		leaves_work w = { .p = make_pool(threads) };
		for (int round = 0; round < 100; round++) {
			void *ra = NULL, *rb = NULL;
			cr_assert_eq(weft_pool_join(w.p, half_a_executes, &w, &ra,
						    add_one, (void *)41, &rb), 0);
			cr_assert_eq((uintptr_t)ra, 1);
			cr_assert_eq((uintptr_t)rb, 42);
		}
		weft_pool_wait(w.p);
		cr_assert_eq(atomic_load(&w.executed), 300);
		weft_pool_destroy(w.p, WEFT_POOL_DRAIN);
	}
}

typedef struct nest {
	weft_pool *p;
	_Atomic uint64_t leaves;
	_Atomic int errors;
} nest;

static nest nested_ctx;

static void level3(size_t lo, size_t hi, void *arg)
{
	(void)arg;
	atomic_fetch_add(&nested_ctx.leaves, hi - lo);
}

static void level2(size_t lo, size_t hi, void *arg)
{
	for (size_t i = lo; i < hi; i++)
		if (weft_pool_parallel_for(nested_ctx.p, 0, 16, 3, level3, arg))
			atomic_fetch_add(&nested_ctx.errors, 1);
}

static void level1(size_t lo, size_t hi, void *arg)
{
	for (size_t i = lo; i < hi; i++)
		if (weft_pool_parallel_for(nested_ctx.p, 0, 16, 2, level2, arg))
			atomic_fetch_add(&nested_ctx.errors, 1);
}

Test(pool, nested_parallel_for_three_deep_on_two_workers)
{
	nested_ctx.p = make_pool(2);
	atomic_store(&nested_ctx.leaves, 0);
	cr_assert_eq(weft_pool_parallel_for(nested_ctx.p, 0, 16, 1, level1, NULL), 0);
	cr_assert_eq(atomic_load(&nested_ctx.leaves), 16 * 16 * 16);
	cr_assert_eq(atomic_load(&nested_ctx.errors), 0);
	weft_pool_destroy(nested_ctx.p, WEFT_POOL_DRAIN);
}

/* ---- wait */

typedef struct waiter_ctx {
	weft_pool *p;
	_Atomic int done;
	_Atomic int seen_before_wait_returned;
} waiter_ctx;

static void mark_done(void *arg)
{
	waiter_ctx *w = arg;
	atomic_fetch_add(&w->done, 1);
}

static void submit_and_wait_inside(void *arg)
{
	waiter_ctx *w = arg;
	for (int i = 0; i < 100; i++)
		weft_pool_execute(w->p, mark_done, w);
	weft_pool_wait(w->p); /* from a worker: helps, does not wait for itself */
	atomic_store(&w->seen_before_wait_returned, atomic_load(&w->done));
}

Test(pool, wait_outside_and_inside)
{
	for (unsigned threads = 1; threads <= 2; threads++) {
		waiter_ctx w = { .p = make_pool(threads) };
		for (int i = 0; i < 1000; i++)
			cr_assert_eq(weft_pool_execute(w.p, mark_done, &w), 0);
		weft_pool_wait(w.p);
		cr_assert_eq(atomic_load(&w.done), 1000);
		cr_assert_eq(weft_pool_execute(w.p, submit_and_wait_inside, &w), 0);
		weft_pool_wait(w.p);
		cr_assert_eq(atomic_load(&w.done), 1100);
		cr_assert_eq(atomic_load(&w.seen_before_wait_returned), 1100);
		weft_pool_destroy(w.p, WEFT_POOL_DRAIN);
	}
}

/* ---- parallel_for pieces and parallel_reduce order */

#define COVER_N 5000
typedef struct cover {
	_Atomic uint8_t hits[COVER_N];
	size_t grain;
	_Atomic int bad_piece;
} cover;

static void cover_body(size_t lo, size_t hi, void *arg)
{
	cover *c = arg;
	if (lo >= hi || hi - lo > c->grain)
		atomic_store(&c->bad_piece, 1);
	for (size_t i = lo; i < hi; i++)
		atomic_fetch_add(&c->hits[i], 1);
}

Test(pool, parallel_for_pieces_cover_the_range_once_within_grain)
{
	weft_pool *p = make_pool(2);
	static cover c;
	size_t grains[] = { 1, 7, 64, COVER_N, COVER_N * 2 };
	for (size_t g = 0; g < sizeof grains / sizeof grains[0]; g++) {
		memset(&c, 0, sizeof c);
		c.grain = grains[g];
		cr_assert_eq(weft_pool_parallel_for(p, 3, COVER_N, c.grain, cover_body, &c), 0);
		cr_assert_not(atomic_load(&c.bad_piece), "grain %zu", c.grain);
		for (size_t i = 0; i < COVER_N; i++)
			cr_assert_eq(atomic_load(&c.hits[i]), i >= 3, "index %zu grain %zu", i, c.grain);
	}
	cr_assert_eq(weft_pool_parallel_for(p, 9, 9, 4, cover_body, &c), 0, "empty range");
	weft_pool_destroy(p, WEFT_POOL_DRAIN);
}

/* A non-commutative associative fold: the polynomial hash of the sequence
 * (h * B + x), with the length to combine two halves: order matters. */
typedef struct poly {
	uint64_t h, pow; /* pow = B^len */
	uint64_t pieces, bad;
} poly;

#define POLY_B 1000003ull
static size_t reduce_grain;

static void poly_map(size_t lo, size_t hi, void *acc, void *arg)
{
	(void)arg;
	poly *a = acc;
	if (lo >= hi || hi - lo > reduce_grain)
		a->bad++;
	a->pieces++;
	for (size_t i = lo; i < hi; i++) {
		a->h = a->h * POLY_B + (i * 2654435761u + 1);
		a->pow *= POLY_B;
	}
}

static void poly_combine(void *acc, const void *other, void *arg)
{
	(void)arg;
	poly *a = acc;
	const poly *b = other;
	a->h = a->h * b->pow + b->h;
	a->pow *= b->pow;
	a->pieces += b->pieces;
	a->bad += b->bad;
}

static void reduce_case(weft_pool *p, size_t n, size_t grain)
{
	reduce_grain = grain;
	const poly identity = { 0, 1, 0, 0 };
	poly par = { 7, 7, 7, 7 }, seq = identity;
	cr_assert_eq(weft_pool_parallel_reduce(p, 100, 100 + n, grain, sizeof(poly), &identity,
					       poly_map, poly_combine, NULL, &par), 0);
	reduce_grain = SIZE_MAX;
	if (n)
		poly_map(100, 100 + n, &seq, NULL);
	cr_assert_eq(par.h, seq.h, "n %zu grain %zu", n, grain);
	cr_assert_eq(par.pow, seq.pow, "n %zu", n);
	cr_assert_eq(par.bad, 0, "empty or oversized piece, n %zu grain %zu", n, grain);
	cr_assert_geq(par.pieces, (n + grain - 1) / grain);
}

Test(pool, parallel_reduce_equals_sequential_fold)
{
	weft_pool *p = make_pool(2);
	const size_t grain = 16;
	size_t sizes[] = { 0, 1, grain - 1, grain, grain + 1, 3 * grain + 5, 100000 };
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
		reduce_case(p, sizes[i], grain);
	reduce_case(p, 1000, 1);
	weft_pool_destroy(p, WEFT_POOL_DRAIN);
}

typedef struct big_acc {
	uint64_t sum[32]; /* 256 bytes: beyond the on-stack accumulator size */
} big_acc;

static void big_map(size_t lo, size_t hi, void *acc, void *arg)
{
	(void)arg;
	big_acc *a = acc;
	for (size_t i = lo; i < hi; i++)
		a->sum[i % 32] += i;
}

static void big_combine(void *acc, const void *other, void *arg)
{
	(void)arg;
	big_acc *a = acc;
	const big_acc *b = other;
	for (int i = 0; i < 32; i++)
		a->sum[i] += b->sum[i];
}

Test(pool, parallel_reduce_with_a_large_accumulator)
{
	weft_pool *p = make_pool(2);
	big_acc zero = { { 0 } }, par, seq = zero;
	cr_assert_eq(weft_pool_parallel_reduce(p, 0, 50000, 100, sizeof par, &zero,
					       big_map, big_combine, NULL, &par), 0);
	big_map(0, 50000, &seq, NULL);
	cr_assert_eq(memcmp(&par, &seq, sizeof par), 0);
	weft_pool_destroy(p, WEFT_POOL_DRAIN);
}

/* ---- workers: names, affinity, idle CPU */

typedef struct worker_view {
	char name[32];
	cpu_set_t cpus;
} worker_view;

static void *look_at_worker(void *arg)
{
	worker_view *v = arg;
	pthread_getname_np(pthread_self(), v->name, sizeof v->name);
	sched_getaffinity(0, sizeof v->cpus, &v->cpus);
	return NULL;
}

Test(pool, worker_names_and_affinity)
{
	cpu_set_t allowed, one;
	sched_getaffinity(0, sizeof allowed, &allowed);
	CPU_ZERO(&one);
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &allowed)) {
			CPU_SET(i, &one);
			break;
		}
	weft_pool *p = NULL;
	cr_assert_eq(weft_pool_create(&p, &(weft_pool_opts){ .threads = 1, .name = "render", .cpus = &one }), 0);
	worker_view v;
	weft_task *t;
	cr_assert_eq(weft_pool_spawn(p, &t, look_at_worker, &v), 0);
	cr_assert_eq(weft_task_join(t, NULL), 0);
	cr_assert_str_eq(v.name, "render-0");
	cr_assert(CPU_EQUAL(&v.cpus, &one));
	weft_pool_destroy(p, WEFT_POOL_DRAIN);

	cpu_set_t outside;
	CPU_ZERO(&outside);
	for (int i = CPU_SETSIZE - 1; i >= 0; i--)
		if (!CPU_ISSET(i, &allowed)) {
			CPU_SET(i, &outside);
			break;
		}
	p = NULL;
	cr_assert_eq(weft_pool_create(&p, &(weft_pool_opts){ .cpus = &outside }), EINVAL);
	cr_assert_null(p);
}

/*
 * CPU time (ns) of this process's threads whose name starts with prefix,
 * from /proc/self/task/<tid>/schedstat; -1 when none could be read. Only
 * the pool's workers are measured: the test runner's own threads and the
 * sanitizers' work for the sleeping main thread are not the pool's.
 */
static int64_t threads_cpu_ns(const char *prefix)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -1;
	int64_t sum = 0;
	int found = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[96], comm[32] = "";
		snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(comm, sizeof comm, f))
			comm[0] = 0;
		fclose(f);
		if (strncmp(comm, prefix, strlen(prefix)) != 0)
			continue;
		snprintf(path, sizeof path, "/proc/self/task/%s/schedstat", e->d_name);
		f = fopen(path, "r");
		long long run = 0;
		if (f && fscanf(f, "%lld", &run) == 1) {
			sum += run;
			found++;
		}
		if (f)
			fclose(f);
	}
	closedir(d);
	return found ? sum : -1;
}

Test(pool, idle_pool_uses_no_cpu)
{
	weft_pool *p = NULL;
	cr_assert_eq(weft_pool_create(&p, &(weft_pool_opts){ .name = "idlepool" }), 0);
	waiter_ctx w = { .p = p };
	for (int i = 0; i < 1000; i++)
		weft_pool_execute(p, mark_done, &w);
	weft_pool_wait(p);
	/* Let the workers finish their search spin (20 us) and park. This
	 * sleep measures; it synchronises nothing. */
	struct timespec settle = { 0, 50 * 1000 * 1000 };
	nanosleep(&settle, NULL);
	int64_t cpu0 = threads_cpu_ns("idlepool-");
	cr_assert_geq(cpu0, 0, "no worker thread found in /proc/self/task");
	uint64_t t0 = weft_test_now_ns();
	struct timespec idle = { 0, 500 * 1000 * 1000 };
	nanosleep(&idle, NULL);
	uint64_t cpu = (uint64_t)(threads_cpu_ns("idlepool-") - cpu0);
	uint64_t wall = weft_test_now_ns() - t0;
	/* Bar: < 1 ms of the workers' CPU per second idle (a spinning worker
	 * would cost ~1000 ms/s). Under qemu (WEFT_TEST_TIME_SCALE 25) the
	 * emulator's work for the parked threads may be charged to them. */
	cr_assert_lt(cpu * 1000, wall * weft_test_time_scale(),
		     "idle pool's workers used %llu ns of CPU in %llu ns",
		     (unsigned long long)cpu, (unsigned long long)wall);
	weft_pool_destroy(p, WEFT_POOL_DRAIN);
}

/* ---- a worker asleep in a join is woken by new work */

typedef struct join_wake {
	weft_pool *p;
	_Atomic pid_t a_tid;
	_Atomic int b_started;
	_Atomic int entered;
	_Atomic int met;
} join_wake;

static void meet(size_t lo, size_t hi, void *arg)
{
	(void)lo;
	(void)hi;
	join_wake *j = arg;
	atomic_fetch_add(&j->entered, 1);
	uint64_t t0 = weft_test_now_ns();
	while (atomic_load(&j->entered) < 2) {
		if (weft_test_now_ns() - t0 > WEFT_TEST_SLACK_NS * weft_test_time_scale())
			return; /* the other piece never ran alongside: no meeting */
		sched_yield();
	}
	atomic_fetch_add(&j->met, 1);
}

static void *task_b(void *arg)
{
	join_wake *j = arg;
	atomic_store(&j->b_started, 1);
	/* Until A's worker sleeps in its join (no sleep as synchronisation:
	 * we watch its thread state). */
	while (!weft_test_thread_sleeping(atomic_load(&j->a_tid)))
		sched_yield();
	weft_pool_parallel_for(j->p, 0, 2, 1, meet, j);
	return NULL;
}

static void *task_a(void *arg)
{
	join_wake *j = arg;
	atomic_store(&j->a_tid, (pid_t)syscall(SYS_gettid));
	weft_task *b;
	if (weft_pool_spawn(j->p, &b, task_b, j) != 0)
		return NULL;
	while (!atomic_load(&j->b_started)) /* the other worker stole B */
		sched_yield();
	weft_task_join(b, NULL);
	return NULL;
}

Test(pool, worker_sleeping_in_a_join_is_woken_by_new_work)
{
	join_wake j = { .p = make_pool(2) };
	weft_task *a;
	cr_assert_eq(weft_pool_spawn(j.p, &a, task_a, &j), 0);
	cr_assert_eq(weft_task_join(a, NULL), 0);
	cr_assert_eq(atomic_load(&j.met), 2,
		     "the joining worker did not take the new piece");
	weft_pool_destroy(j.p, WEFT_POOL_DRAIN);
}

/* ------------------------------------------------------------ submit rings */

/*
 * Outside threads queue execute tasks on rings of their own (lib/pool.c):
 * at most 8 per pool (the rest use the injector), up to 2^17 queued each
 * (the rest go to the injector), kept for the pool's life and reused by
 * the next thread at the same TLS address. Every task runs exactly once
 * through all of it.
 */
#define RING_TEST_QUEUED 140000 /* more than one ring holds (2^17) */
#define RING_TEST_THREADS 12	/* more than the rings a pool has (8) */
#define RING_TEST_PER_THREAD 2000

typedef struct ring_test {
	weft_pool *p, *other;
	_Atomic uint8_t *ran;	    /* per task of the main thread */
	_Atomic uint64_t ran_threads; /* tasks of the other threads */
	_Atomic uint64_t ran_other;   /* tasks on the other pool */
	_Atomic int gate;
	_Atomic unsigned gated;
} ring_test;

static ring_test *ring_t;

static void ring_gate(void *arg)
{
	ring_test *t = arg;
	atomic_fetch_add(&t->gated, 1);
	while (!atomic_load(&t->gate)) /* holds a worker while the rings fill */
		sched_yield();
}

static void ring_mark(void *arg)
{
	atomic_fetch_add_explicit(&ring_t->ran[(uintptr_t)arg], 1, memory_order_relaxed);
}

static void ring_count(void *arg)
{
	atomic_fetch_add_explicit((_Atomic uint64_t *)arg, 1, memory_order_relaxed);
}

/* A short-lived submitter, alternating between the two pools. */
static void *ring_thread(void *arg)
{
	ring_test *t = arg;
	for (unsigned i = 0; i < RING_TEST_PER_THREAD; i++) {
		bool other = i % 7 == 3;
		if (weft_pool_execute(other ? t->other : t->p, ring_count,
				      other ? &t->ran_other : &t->ran_threads) != 0)
			return (void *)1;
	}
	return NULL;
}

static void run_ring_threads(ring_test *t, unsigned n)
{
	pthread_t th[RING_TEST_THREADS];
	for (unsigned i = 0; i < n; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, ring_thread, t), 0);
	for (unsigned i = 0; i < n; i++) {
		void *r;
		pthread_join(th[i], &r);
		cr_assert_null(r);
	}
}

Test(pool, submit_rings_overflow_and_reuse_run_everything_once)
{
	ring_test t = { .p = make_pool(2), .other = make_pool(1) };
	ring_t = &t;
	t.ran = calloc(RING_TEST_QUEUED, sizeof *t.ran);
	cr_assert_eq(weft_pool_execute(t.p, ring_gate, &t), 0);
	cr_assert_eq(weft_pool_execute(t.p, ring_gate, &t), 0);
	while (atomic_load(&t.gated) < 2)
		sched_yield();
	/* Both workers held: this thread's ring fills past its limit. */
	for (uintptr_t i = 0; i < RING_TEST_QUEUED; i++)
		cr_assert_eq(weft_pool_execute(t.p, ring_mark, (void *)i), 0);
	/* More threads than rings, twice: the second wave reuses rings. */
	run_ring_threads(&t, RING_TEST_THREADS);
	run_ring_threads(&t, RING_TEST_THREADS);
	atomic_store(&t.gate, 1);
	weft_pool_wait(t.p);
	weft_pool_wait(t.other);
	for (size_t i = 0; i < RING_TEST_QUEUED; i++)
		cr_assert_eq(atomic_load(&t.ran[i]), 1, "task %zu ran %u times", i,
			     atomic_load(&t.ran[i]));
	uint64_t per_thread_other = 0;
	for (unsigned i = 0; i < RING_TEST_PER_THREAD; i++)
		per_thread_other += i % 7 == 3;
	uint64_t threads = 2 * RING_TEST_THREADS;
	cr_assert_eq(atomic_load(&t.ran_other), threads * per_thread_other);
	cr_assert_eq(atomic_load(&t.ran_threads),
		     threads * (RING_TEST_PER_THREAD - per_thread_other));
	weft_pool_destroy(t.p, WEFT_POOL_DRAIN);
	weft_pool_destroy(t.other, WEFT_POOL_DRAIN);
	free(t.ran);
}
