/*
 * tests/stress_pool.c - the Chase-Lev deque and weft_pool under load.
 *
 * deque_steal/N: one owner pushes tagged items and takes some back while
 * N-1 thieves steal; every item is taken exactly once (a counter per item),
 * and the owner never takes an item it did not push after the last one it
 * took back (LIFO on its own end is not checked: thieves interleave).
 *
 * deque_words, deque_words_batch: the same with two-word items, and with
 * a push-only owner and thieves stealing batches (weft_pool's submit
 * rings); no item torn.
 *
 * pool_exactly_once/N: N outside threads submit execute and spawn tasks
 * (tagged per submitter and index) to a 2-worker pool; each task, on a
 * worker, sometimes spawns and joins a child or runs a small parallel
 * reduce. Every task and child runs exactly once, every join returns the
 * child's tag, every reduce equals its sequential sum, and weft_pool_wait
 * returns only after all of it.
 *
 * pool_join_exactly_once/N: N outside threads each cover their own index
 * range with trees of weft_pool_join (halves down to one index), some
 * from outside, some from inside an execute task, all at once on a
 * 2-worker pool. Every index runs exactly once, and every join returns
 * each half's own result (the sum of its indices + 1) in the right place.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal/deque.h"
#include "stress.h"
#include "weft/pool.h"

/* ------------------------------------------------------------ deque */

typedef struct deque_test {
	weft__deque q;
	uint64_t items;
	uintptr_t *tags;	     /* item i is &tags[i] */
	_Atomic uint32_t *taken; /* per item */
	_Atomic int owner_done;
} deque_test;

static void count_taken(deque_test *t, void *x, weft_stress_result *r)
{
	(void)r;
	uintptr_t i = *(uintptr_t *)x;
	atomic_fetch_add_explicit(&t->taken[i], 1, memory_order_relaxed);
}

static weft_stress_result *deque_result;

static void deque_worker(unsigned id, void *arg)
{
	deque_test *t = arg;
	if (id == 0) { /* owner: push all, take back one in three */
		for (uint64_t i = 0; i < t->items; i++) {
			if (!weft__deque_push(&t->q, &t->tags[i]))
				weft_stress_fail(deque_result, "push out of memory");
			if (i % 3 == 2) {
				void *x = weft__deque_take(&t->q);
				if (x)
					count_taken(t, x, deque_result);
			}
		}
		void *x;
		while ((x = weft__deque_take(&t->q)))
			count_taken(t, x, deque_result);
		/* release: pairs with the thieves' acquire load. */
		atomic_store_explicit(&t->owner_done, 1, memory_order_release);
		return;
	}
	for (;;) {
		/* acquire: the owner's last take happened before. */
		int done = atomic_load_explicit(&t->owner_done, memory_order_acquire);
		void *x = weft__deque_steal(&t->q);
		if (x == WEFT__DEQUE_ABORT)
			continue;
		if (x)
			count_taken(t, x, deque_result);
		else if (done)
			return;
	}
}

/* Every item was taken exactly once: none lost, none duplicated. */
static void check_taken_once(weft_stress_result *r, _Atomic uint32_t *taken,
			     uint64_t items)
{
	for (uint64_t i = 0; i < items; i++) {
		uint32_t n = atomic_load(&taken[i]);
		if (n != 1) {
			weft_stress_fail(r, "item %llu taken %u times",
					 (unsigned long long)i, n);
			return;
		}
	}
}

static void deque_steal(const weft_stress_case *c, weft_stress_result *r)
{
	deque_test t = { .items = weft_stress_ops(c) };
	deque_result = r;
	/* start tiny so the owner grows the array under the thieves */
	if (weft__deque_init(&t.q, 2)) {
		weft_stress_fail(r, "init");
		return;
	}
	t.tags = malloc(t.items * sizeof *t.tags);
	t.taken = calloc(t.items, sizeof *t.taken);
	for (uint64_t i = 0; i < t.items; i++)
		t.tags[i] = i;
	weft_stress_run_threads(c->threads, deque_worker, &t);
	check_taken_once(r, t.taken, t.items);
	weft__deque_destroy(&t.q);
	free(t.tags);
	free(t.taken);
}

WEFT_STRESS_CASE("deque_steal/2", deque_steal, 2, 0, 400000);
WEFT_STRESS_CASE("deque_steal/4", deque_steal, 4, 0, 400000);

/*
 * deque_words_batch/N: items of two words (i, ~i), as weft_pool's jobs.
 * arg 0: the owner pushes, takes one back in three, and N-1 thieves steal
 * one at a time; arg 1: the owner only pushes (a submit ring) and the
 * thieves steal batches of 1..9. Every item is taken exactly once, and
 * never torn (its two words match).
 */
typedef struct words_test {
	weft__deque q;
	uint64_t items;
	int push_only;
	_Atomic uint32_t *taken;
	_Atomic int owner_done;
	weft_stress_result *r;
} words_test;

static void count_pair(words_test *t, void *const *x)
{
	uintptr_t i = (uintptr_t)x[0];
	if (i >= t->items || (uintptr_t)x[1] != ~i) {
		weft_stress_fail(t->r, "torn or bad item %#lx %#lx",
				 (unsigned long)i, (unsigned long)(uintptr_t)x[1]);
		return;
	}
	atomic_fetch_add_explicit(&t->taken[i], 1, memory_order_relaxed);
}

static void words_owner(words_test *t)
{
	void *x[2];
	for (uint64_t i = 0; i < t->items; i++) {
		void *item[2] = { (void *)(uintptr_t)i, (void *)~(uintptr_t)i };
		if (!weft__deque_push_words(&t->q, item, 2))
			weft_stress_fail(t->r, "push out of memory");
		if (!t->push_only && i % 3 == 2 && weft__deque_take_words(&t->q, x, 2))
			count_pair(t, x);
	}
	while (!t->push_only && weft__deque_take_words(&t->q, x, 2))
		count_pair(t, x);
	/* release: pairs with the thieves' acquire load. */
	atomic_store_explicit(&t->owner_done, 1, memory_order_release);
}

static void words_worker(unsigned id, void *arg)
{
	words_test *t = arg;
	if (id == 0) {
		words_owner(t);
		return;
	}
	void *x[2 * 9];
	unsigned max = id; /* thieves differ in batch size */
	for (;;) {
		/* acquire: the owner's last push/take happened before. */
		int done = atomic_load_explicit(&t->owner_done, memory_order_acquire);
		unsigned n = 0;
		if (t->push_only) {
			n = weft__deque_steal_batch_words(&t->q, x, max % 9 + 1, 2);
			max++;
		} else {
			int got = weft__deque_steal_words(&t->q, x, 2);
			if (got == WEFT__DEQUE_LOST)
				continue;
			n = got == WEFT__DEQUE_GOT;
		}
		for (unsigned k = 0; k < n; k++)
			count_pair(t, &x[2 * k]);
		if (n == 0 && done && !weft__deque_maybe_nonempty(&t->q))
			return;
	}
}

static void deque_words(const weft_stress_case *c, weft_stress_result *r)
{
	words_test t = { .items = weft_stress_ops(c), .push_only = (int)c->arg, .r = r };
	if (weft__deque_init_words(&t.q, 2, 2)) { /* tiny: grows under the thieves */
		weft_stress_fail(r, "init");
		return;
	}
	t.taken = calloc(t.items, sizeof *t.taken);
	weft_stress_run_threads(c->threads, words_worker, &t);
	check_taken_once(r, t.taken, t.items);
	weft__deque_destroy(&t.q);
	free(t.taken);
}

WEFT_STRESS_CASE("deque_words/3", deque_words, 3, 0, 300000);
WEFT_STRESS_CASE("deque_words_batch/2", deque_words, 2, 1, 300000);
WEFT_STRESS_CASE("deque_words_batch/4", deque_words, 4, 1, 300000);

/* ------------------------------------------------------------ pool */

#define MAX_SUBMITTERS 8

typedef struct pool_test {
	weft_pool *p;
	uint64_t per_submitter;
	_Atomic uint8_t *ran[MAX_SUBMITTERS];	  /* tasks, per submitter */
	_Atomic uint8_t *child_ran[MAX_SUBMITTERS]; /* their children */
	_Atomic uint64_t errors;
	_Atomic uint64_t finished;
} pool_test;

typedef struct tag {
	pool_test *t;
	unsigned submitter;
	uint64_t index;
} tag;

static void *child(void *arg)
{
	tag *g = arg;
	atomic_fetch_add_explicit(&g->t->child_ran[g->submitter][g->index], 1,
				  memory_order_relaxed);
	return (void *)(uintptr_t)(g->index + 1);
}

static void sum_map(size_t lo, size_t hi, void *acc, void *arg)
{
	(void)arg;
	for (size_t i = lo; i < hi; i++)
		*(uint64_t *)acc += i;
}

static void sum_combine(void *acc, const void *other, void *arg)
{
	(void)arg;
	*(uint64_t *)acc += *(const uint64_t *)other;
}

/* The body of every task: mark, then maybe fork work of its own. */
static void task_body(tag *g)
{
	pool_test *t = g->t;
	atomic_fetch_add_explicit(&t->ran[g->submitter][g->index], 1,
				  memory_order_relaxed);
	if (g->index % 16 == 1) { /* spawn and join a child from a worker */
		weft_task *c;
		void *r = NULL;
		if (weft_pool_spawn(t->p, &c, child, g) != 0 ||
		    weft_task_join(c, &r) != 0 || (uintptr_t)r != g->index + 1)
			atomic_fetch_add(&t->errors, 1);
	} else {
		atomic_fetch_add_explicit(&t->child_ran[g->submitter][g->index],
					  1, memory_order_relaxed);
	}
	if (g->index % 64 == 5) { /* a nested reduce */
		uint64_t zero = 0, sum = 0;
		size_t n = 200 + g->index % 100;
		if (weft_pool_parallel_reduce(t->p, 0, n, 8, sizeof sum, &zero,
					      sum_map, sum_combine, NULL, &sum) ||
		    sum != n * (n - 1) / 2)
			atomic_fetch_add(&t->errors, 1);
	}
	/* relaxed: counted; the wait that reads it orders it. */
	atomic_fetch_add_explicit(&t->finished, 1, memory_order_relaxed);
}

static void execute_task(void *arg)
{
	task_body(arg);
	free(arg);
}

static void *spawned_task(void *arg)
{
	task_body(arg);
	return arg;
}

static void submitter(unsigned id, void *arg)
{
	pool_test *t = arg;
	weft_task *pending[32];
	unsigned npending = 0;
	for (uint64_t i = 0; i < t->per_submitter; i++) {
		tag *g = malloc(sizeof *g);
		*g = (tag){ t, id, i };
		if (i % 4 == 0) { /* spawned: joined from here in groups */
			if (weft_pool_spawn(t->p, &pending[npending++], spawned_task, g))
				atomic_fetch_add(&t->errors, 1);
		} else if (weft_pool_execute(t->p, execute_task, g)) {
			atomic_fetch_add(&t->errors, 1);
		}
		if (npending == 32 || (i + 1 == t->per_submitter && npending)) {
			for (unsigned k = 0; k < npending; k++) {
				void *r = NULL;
				if (weft_task_join(pending[k], &r) || !r)
					atomic_fetch_add(&t->errors, 1);
				free(r);
			}
			npending = 0;
		}
	}
}

static void pool_exactly_once(const weft_stress_case *c, weft_stress_result *r)
{
	pool_test t = { .per_submitter = weft_stress_ops(c) };
	if (weft_pool_create(&t.p, &(weft_pool_opts){ .threads = c->arg })) {
		weft_stress_fail(r, "create");
		return;
	}
	for (unsigned i = 0; i < c->threads; i++) {
		t.ran[i] = calloc(t.per_submitter, 1);
		t.child_ran[i] = calloc(t.per_submitter, 1);
	}
	weft_stress_run_threads(c->threads, submitter, &t);
	weft_pool_wait(t.p);
	uint64_t want = t.per_submitter * c->threads;
	if (atomic_load(&t.finished) != want)
		weft_stress_fail(r, "wait returned with %llu of %llu tasks finished",
				 (unsigned long long)atomic_load(&t.finished),
				 (unsigned long long)want);
	weft_pool_destroy(t.p, WEFT_POOL_DRAIN);
	if (atomic_load(&t.errors))
		weft_stress_fail(r, "%llu submit/join/reduce errors",
				 (unsigned long long)atomic_load(&t.errors));
	for (unsigned s = 0; s < c->threads; s++) {
		for (uint64_t i = 0; i < t.per_submitter; i++) {
			unsigned a = atomic_load(&t.ran[s][i]);
			unsigned b = atomic_load(&t.child_ran[s][i]);
			if (a != 1 || b != 1) {
				weft_stress_fail(r, "task %u/%llu ran %u times, child %u",
						 s, (unsigned long long)i, a, b);
				break;
			}
		}
		free(t.ran[s]);
		free(t.child_ran[s]);
	}
}

/* threads = outside submitters, arg = workers */
WEFT_STRESS_CASE("pool_exactly_once/1x2", pool_exactly_once, 1, 2, 20000);
WEFT_STRESS_CASE("pool_exactly_once/8x2", pool_exactly_once, 8, 2, 2500);
WEFT_STRESS_CASE("pool_exactly_once/4x3", pool_exactly_once, 4, 3, 2500);

/* ------------------------------------------------------------ join */

#define JOIN_CHUNK 64

typedef struct join_test {
	weft_pool *p;
	uint64_t per_submitter;
	_Atomic uint8_t *ran[MAX_SUBMITTERS];
	_Atomic uint64_t errors;
} join_test;

typedef struct join_range {
	join_test *t;
	unsigned submitter;
	uint64_t lo, hi;
} join_range;

/* Sum of i + 1 over [lo, hi). */
static uint64_t range_sum(uint64_t lo, uint64_t hi)
{
	return (hi * (hi + 1) - lo * (lo + 1)) / 2;
}

static void *join_tree(void *arg)
{
	join_range *g = arg;
	join_test *t = g->t;
	if (g->hi - g->lo == 1) {
		atomic_fetch_add_explicit(&t->ran[g->submitter][g->lo], 1,
					  memory_order_relaxed);
		return (void *)(uintptr_t)(g->lo + 1);
	}
	uint64_t mid = g->lo + (g->hi - g->lo) / 2;
	join_range left = { t, g->submitter, g->lo, mid };
	join_range right = { t, g->submitter, mid, g->hi };
	void *l = NULL, *r = NULL;
	if (weft_pool_join(t->p, join_tree, &left, &l, join_tree, &right, &r) ||
	    (uintptr_t)l != range_sum(g->lo, mid) ||
	    (uintptr_t)r != range_sum(mid, g->hi))
		atomic_fetch_add(&t->errors, 1);
	return (void *)((uintptr_t)l + (uintptr_t)r);
}

static void join_tree_task(void *arg)
{
	join_range *g = arg;
	if ((uintptr_t)join_tree(g) != range_sum(g->lo, g->hi))
		atomic_fetch_add(&g->t->errors, 1);
	free(g);
}

static void join_submitter(unsigned id, void *arg)
{
	join_test *t = arg;
	for (uint64_t lo = 0; lo < t->per_submitter; lo += JOIN_CHUNK) {
		uint64_t hi = lo + JOIN_CHUNK < t->per_submitter ? lo + JOIN_CHUNK
								 : t->per_submitter;
		join_range g = { t, id, lo, hi };
		if ((lo / JOIN_CHUNK) % 3 == 1) { /* the tree from inside a task */
			join_range *h = malloc(sizeof *h);
			*h = g;
			if (weft_pool_execute(t->p, join_tree_task, h))
				atomic_fetch_add(&t->errors, 1);
		} else if ((uintptr_t)join_tree(&g) != range_sum(lo, hi)) {
			atomic_fetch_add(&t->errors, 1);
		}
	}
}

static void pool_join_exactly_once(const weft_stress_case *c, weft_stress_result *r)
{
	join_test t = { .per_submitter = weft_stress_ops(c) };
	if (weft_pool_create(&t.p, &(weft_pool_opts){ .threads = c->arg })) {
		weft_stress_fail(r, "create");
		return;
	}
	for (unsigned i = 0; i < c->threads; i++)
		t.ran[i] = calloc(t.per_submitter, 1);
	weft_stress_run_threads(c->threads, join_submitter, &t);
	weft_pool_wait(t.p);
	weft_pool_destroy(t.p, WEFT_POOL_DRAIN);
	if (atomic_load(&t.errors))
		weft_stress_fail(r, "%llu joins with a wrong result or error",
				 (unsigned long long)atomic_load(&t.errors));
	for (unsigned s = 0; s < c->threads; s++) {
		for (uint64_t i = 0; i < t.per_submitter; i++) {
			unsigned n = atomic_load(&t.ran[s][i]);
			if (n != 1) {
				weft_stress_fail(r, "index %u/%llu ran %u times", s,
						 (unsigned long long)i, n);
				break;
			}
		}
		free(t.ran[s]);
	}
}

/* threads = outside submitters, arg = workers */
WEFT_STRESS_CASE("pool_join_exactly_once/1x2", pool_join_exactly_once, 1, 2, 100000);
WEFT_STRESS_CASE("pool_join_exactly_once/8x2", pool_join_exactly_once, 8, 2, 20000);
WEFT_STRESS_CASE("pool_join_exactly_once/4x3", pool_join_exactly_once, 4, 3, 20000);
