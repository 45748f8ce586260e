/*
 * bench/bench_pool.c - weft_pool and weft_thread against the pool
 * baselines of bench/peers/pools.h (pthread, GLib, oneTBB, OpenMP, rayon,
 * threadpool). Every pool has weft__cpus_usable() threads; every row's
 * weft_cpu_ns is the whole process's CPU (the work runs on pool threads).
 *
 *   pool/empty_tasks/*   100k empty tasks submitted from one outside
 *                        thread, then wait for all; one item = one task
 *   pool/fib30/*         fib(30) fork-join, tasks down to n < 16 (tasks
 *                        spawned from tasks); one item = one fib(30).
 *                        weft: weft_pool_join (rayon::join's shape);
 *                        weft_spawn: weft_pool_spawn + weft_task_join
 *   pool/reduce_10M/*    sum of bench_work(i) (~200 cycles) over 10M
 *                        indices, grain 10000; one item = one index
 *                        ("sequential": the plain loop on one thread)
 *   pool/wakeup/*        an idle pool (2 ms since its last task) gets one
 *                        task: ns from submit to the task's first
 *                        instruction, counters p50_ns and p99_ns
 *   pool/thread_spawn_join/*   create a thread running an empty function
 *                        and join it (weft_thread vs pthread_create)
 *   pool/idle_cpu/weft   the issue's "idle pool CPU < 1 ms per second": one
 *                        task, wait, then IDLE_NS asleep; counter
 *                        idle_cpu_us_per_s = the CPU of the pool's workers
 *                        (named "idlecpu-<i>", read from /proc/self/task/
 *                        <tid>/schedstat) over the task and the sleep, per
 *                        second: the wake-up, the task, the search spin
 *                        after it, parking.
 *                        Not the process CPU: on the nested-KVM guest one
 *                        nanosleep of 1 s alone is charged ~0.2 ms with no
 *                        pool at all. One item = one period.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <dirent.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal/cpus.h"
#include "peers/pools.h"
#include "peers/rust.h"
#include "shim.h"
#include "weft/pool.h"
#include "weft/thread.h"

#define EMPTY_BATCH 100000
#define FIB_N 30
#define FIB_CUTOFF 16
#define REDUCE_N 10000000ull
#define REDUCE_GRAIN 10000
#define WAKEUP_IDLE_NS 2000000
#define WAKEUP_BATCH 16
#define WAKEUP_MAX_SAMPLES 4096
#define IDLE_NS 1000000000

static unsigned pool_threads(void)
{
	return weft__cpus_usable();
}

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "bench_pool: wrong result in %s\n", what);
		abort();
	}
}

static uint64_t reduce_expected(void)
{
	static uint64_t v;
	if (!v)
		v = bench_work_range(0, REDUCE_N);
	return v;
}

static void empty_task(void *arg) { (void)arg; }

/* ------------------------------------------------------------ weft */

static weft_pool *weft_make(void)
{
	weft_pool *p;
	check(weft_pool_create(&p, &(weft_pool_opts){ .threads = pool_threads() }) == 0,
	      "weft_pool_create");
	return p;
}

static void *weft_setup(unsigned threads) { (void)threads; return weft_make(); }
static void weft_teardown(void *p) { weft_pool_destroy(p, WEFT_POOL_DRAIN); }

static void weft_empty(weft_bench_ctx *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++)
		weft_pool_execute(ctx->shared, empty_task, NULL);
	weft_pool_wait(ctx->shared);
}

typedef struct weft_fib_arg {
	weft_pool *p;
	unsigned n;
} weft_fib_arg;

/* pool/fib30/weft: weft_pool_join, as rayon's row calls rayon::join (the
 * halves on the caller's stack, fib(n - 1) here, fib(n - 2) offered). */
static void *weft_fib_join(void *arg)
{
	weft_fib_arg *a = arg;
	if (a->n < FIB_CUTOFF)
		return (void *)(uintptr_t)bench_fib_seq(a->n);
	weft_fib_arg left = { a->p, a->n - 1 }, right = { a->p, a->n - 2 };
	void *l, *r;
	check(weft_pool_join(a->p, weft_fib_join, &left, &l, weft_fib_join,
			     &right, &r) == 0, "join");
	return (void *)((uintptr_t)l + (uintptr_t)r);
}

static void weft_fib(weft_bench_ctx *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++) {
		weft_fib_arg a = { ctx->shared, FIB_N };
		/* from outside: the pool runs the root join, we sleep */
		check((uint64_t)(uintptr_t)weft_fib_join(&a) == 832040, "weft fib");
	}
}

/* pool/fib30/weft_spawn: the same with weft_pool_spawn + weft_task_join
 * (a malloc'd record per fork), as TBB's row uses task_group::run. */
static void *weft_fib_task(void *arg)
{
	weft_fib_arg *a = arg;
	if (a->n < FIB_CUTOFF)
		return (void *)(uintptr_t)bench_fib_seq(a->n);
	weft_fib_arg left = { a->p, a->n - 1 }, right = { a->p, a->n - 2 };
	weft_task *t;
	check(weft_pool_spawn(a->p, &t, weft_fib_task, &left) == 0, "spawn");
	uintptr_t r = (uintptr_t)weft_fib_task(&right);
	void *l;
	weft_task_join(t, &l);
	return (void *)(r + (uintptr_t)l);
}

static void weft_fib_spawn(weft_bench_ctx *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++) {
		weft_fib_arg a = { ctx->shared, FIB_N };
		weft_task *t;
		void *r;
		weft_pool_spawn(ctx->shared, &t, weft_fib_task, &a);
		weft_task_join(t, &r);
		check((uint64_t)(uintptr_t)r == 832040, "weft fib");
	}
}

static void weft_work_map(size_t lo, size_t hi, void *acc, void *arg)
{
	(void)arg;
	*(uint64_t *)acc += bench_work_range(lo, hi);
}

static void weft_add(void *acc, const void *other, void *arg)
{
	(void)arg;
	*(uint64_t *)acc += *(const uint64_t *)other;
}

static void weft_reduce(weft_bench_ctx *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t zero = 0, sum;
		weft_pool_parallel_reduce(ctx->shared, 0, REDUCE_N, REDUCE_GRAIN,
					  sizeof sum, &zero, weft_work_map,
					  weft_add, NULL, &sum);
		check(sum == reduce_expected(), "weft reduce");
	}
	ctx->items += (double)(iters * REDUCE_N);
}

/* ------------------------------------------------------------ sequential */

static void seq_fib(weft_bench_ctx *ctx, uint64_t iters)
{
	(void)ctx;
	for (uint64_t i = 0; i < iters; i++)
		check(bench_fib_seq(FIB_N) == 832040, "fib");
}

static void seq_reduce(weft_bench_ctx *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++)
		check(bench_work_range(0, REDUCE_N) == reduce_expected(), "seq reduce");
	ctx->items += (double)(iters * REDUCE_N);
}

/* ------------------------------------------------------------ pthread */

static void *naive_setup(unsigned threads) { (void)threads; return naive_pool_create(pool_threads()); }
static void naive_teardown(void *p) { naive_pool_destroy(p); }

static void naive_empty(weft_bench_ctx *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++)
		naive_pool_submit(ctx->shared, empty_task, NULL);
	naive_pool_wait(ctx->shared);
}

/* A reduce on a pool without one: one job per grain, partial sums added. */
typedef struct chunk_sum {
	uint64_t lo, hi;
	_Atomic uint64_t *sum;
} chunk_sum;

static void chunk_job(void *arg)
{
	chunk_sum *c = arg;
	/* relaxed: the pool's wait orders it before the reader */
	atomic_fetch_add_explicit(c->sum, bench_work_range(c->lo, c->hi),
				  memory_order_relaxed);
}

static chunk_sum *make_chunks(_Atomic uint64_t *sum, size_t *n)
{
	*n = (REDUCE_N + REDUCE_GRAIN - 1) / REDUCE_GRAIN;
	chunk_sum *c = malloc(*n * sizeof *c);
	for (size_t i = 0; i < *n; i++) {
		uint64_t lo = i * REDUCE_GRAIN;
		c[i] = (chunk_sum){ lo, lo + REDUCE_GRAIN < REDUCE_N ? lo + REDUCE_GRAIN : REDUCE_N, sum };
	}
	return c;
}

static void naive_reduce(weft_bench_ctx *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++) {
		_Atomic uint64_t sum = 0;
		size_t n;
		chunk_sum *c = make_chunks(&sum, &n);
		for (size_t k = 0; k < n; k++)
			naive_pool_submit(ctx->shared, chunk_job, &c[k]);
		naive_pool_wait(ctx->shared);
		check(atomic_load(&sum) == reduce_expected(), "pthread reduce");
		free(c);
	}
	ctx->items += (double)(iters * REDUCE_N);
}

/* ------------------------------------------------------------ wake-up */

typedef struct wake_probe {
	sem_t started;
	uint64_t t_start;
} wake_probe;

typedef struct wake_samples {
	uint64_t n;
	uint64_t ns[WAKEUP_MAX_SAMPLES];
} wake_samples;

static void probe_task(void *arg)
{
	wake_probe *w = arg;
	w->t_start = bench_now_ns();
	sem_post(&w->started);
}

static void idle_gap(void)
{
	struct timespec ts = { 0, WAKEUP_IDLE_NS };
	nanosleep(&ts, NULL);
}

static void record(weft_bench_ctx *ctx, uint64_t ns)
{
	if (!ctx->local)
		ctx->local = calloc(1, sizeof(wake_samples));
	wake_samples *s = ctx->local;
	s->ns[s->n++ % WAKEUP_MAX_SAMPLES] = ns;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void wake_done(weft_bench_ctx *ctx)
{
	wake_samples *s = ctx->local;
	if (!s)
		return;
	uint64_t n = s->n < WAKEUP_MAX_SAMPLES ? s->n : WAKEUP_MAX_SAMPLES;
	qsort(s->ns, n, sizeof s->ns[0], cmp_u64);
	weft_bench_counter(ctx, "p50_ns", (double)s->ns[n / 2]);
	weft_bench_counter(ctx, "p99_ns", (double)s->ns[n * 99 / 100]);
	free(s);
	ctx->local = NULL;
}

/* One probe through submit(pool, probe_task, &w). */
#define WAKEUP_BODY(impl, submit)                                              \
	static void impl##_wakeup(weft_bench_ctx *ctx, uint64_t iters)         \
	{                                                                      \
		wake_probe w;                                                  \
		sem_init(&w.started, 0, 0);                                    \
		for (uint64_t i = 0; i < iters; i++) {                         \
			idle_gap();                                            \
			uint64_t t0 = bench_now_ns();                          \
			submit(ctx->shared, probe_task, &w);                   \
			while (sem_wait(&w.started) != 0)                      \
				;                                              \
			record(ctx, w.t_start - t0);                           \
		}                                                              \
		sem_destroy(&w.started);                                       \
	}

static void weft_submit(void *p, void (*fn)(void *), void *arg) { weft_pool_execute(p, fn, arg); }
static void naive_submit(void *p, void (*fn)(void *), void *arg) { naive_pool_submit(p, fn, arg); }
WAKEUP_BODY(weft, weft_submit)
WAKEUP_BODY(naive, naive_submit)

/* ------------------------------------------------------------ idle CPU */

typedef struct idle_totals {
	uint64_t cpu_ns, idle_ns;
} idle_totals;

/* ns on CPU of this process's threads named prefix* (schedstat's first
 * field), 0 if /proc is not there. */
static uint64_t threads_cpu_ns(const char *prefix)
{
	uint64_t sum = 0;
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[64], comm[32] = "";
		unsigned long long ns = 0;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/self/task/%.20s/comm", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		int ok = fgets(comm, sizeof comm, f) != NULL;
		fclose(f);
		if (!ok || strncmp(comm, prefix, strlen(prefix)) != 0)
			continue;
		snprintf(path, sizeof path, "/proc/self/task/%.20s/schedstat", e->d_name);
		f = fopen(path, "r");
		if (f && fscanf(f, "%llu", &ns) == 1)
			sum += ns;
		if (f)
			fclose(f);
	}
	closedir(d);
	return sum;
}

#define IDLE_POOL_NAME "idlecpu"

static void *idle_setup(unsigned threads)
{
	(void)threads;
	weft_pool *p;
	check(weft_pool_create(&p, &(weft_pool_opts){ .threads = pool_threads(),
						      .name = IDLE_POOL_NAME }) == 0,
	      "weft_pool_create");
	return p;
}

static void weft_idle(weft_bench_ctx *ctx, uint64_t iters)
{
	if (!ctx->local)
		ctx->local = calloc(1, sizeof(idle_totals));
	idle_totals *t = ctx->local;
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t c0 = threads_cpu_ns(IDLE_POOL_NAME), w0 = bench_now_ns();
		weft_pool_execute(ctx->shared, empty_task, NULL);
		weft_pool_wait(ctx->shared);
		struct timespec ts = { IDLE_NS / 1000000000, IDLE_NS % 1000000000 };
		nanosleep(&ts, NULL);
		t->cpu_ns += threads_cpu_ns(IDLE_POOL_NAME) - c0;
		t->idle_ns += bench_now_ns() - w0;
	}
}

static void idle_done(weft_bench_ctx *ctx)
{
	idle_totals *t = ctx->local;
	if (!t)
		return;
	weft_bench_counter(ctx, "idle_cpu_us_per_s",
			   t->idle_ns ? 1e6 * (double)t->cpu_ns / (double)t->idle_ns : 0);
	free(t);
	ctx->local = NULL;
}

/* ------------------------------------------------------------ thread spawn+join */

static int weft_thread_empty(void *arg, void **result) { (void)arg; (void)result; return 0; }
static void *pthread_empty(void *arg) { return arg; }

static void weft_spawn_join(weft_bench_ctx *ctx, uint64_t iters)
{
	(void)ctx;
	for (uint64_t i = 0; i < iters; i++) {
		weft_thread *t;
		check(weft_thread_spawn(&t, NULL, weft_thread_empty, NULL) == 0, "spawn");
		weft_thread_join(t, NULL, NULL);
	}
}

static void pthread_spawn_join(weft_bench_ctx *ctx, uint64_t iters)
{
	(void)ctx;
	for (uint64_t i = 0; i < iters; i++) {
		pthread_t t;
		check(pthread_create(&t, NULL, pthread_empty, NULL) == 0, "pthread_create");
		pthread_join(t, NULL);
	}
}

/* ------------------------------------------------------------ registration */

#define ROW(id, name_, setup_, teardown_, run_, batch_, done_)                \
	WEFT_BENCH(id){ .name = name_, .threads = weft_bench_threads_1,        \
			.setup = setup_, .teardown = teardown_, .run = run_,   \
			.thread_done = done_, .batch = batch_, .cpu_process = 1 }

ROW(pool_empty_weft, "pool/empty_tasks/weft", weft_setup, weft_teardown, weft_empty, EMPTY_BATCH, NULL);
ROW(pool_empty_pthread, "pool/empty_tasks/pthread", naive_setup, naive_teardown, naive_empty, EMPTY_BATCH, NULL);
ROW(pool_fib_weft, "pool/fib30/weft", weft_setup, weft_teardown, weft_fib, 1, NULL);
ROW(pool_fib_weft_spawn, "pool/fib30/weft_spawn", weft_setup, weft_teardown, weft_fib_spawn, 1, NULL);
ROW(pool_fib_seq, "pool/fib30/sequential", NULL, NULL, seq_fib, 1, NULL);
ROW(pool_reduce_weft, "pool/reduce_10M/weft", weft_setup, weft_teardown, weft_reduce, 1, NULL);
ROW(pool_reduce_seq, "pool/reduce_10M/sequential", NULL, NULL, seq_reduce, 1, NULL);
ROW(pool_reduce_pthread, "pool/reduce_10M/pthread", naive_setup, naive_teardown, naive_reduce, 1, NULL);
ROW(pool_wakeup_weft, "pool/wakeup/weft", weft_setup, weft_teardown, weft_wakeup, WAKEUP_BATCH, wake_done);
ROW(pool_wakeup_pthread, "pool/wakeup/pthread", naive_setup, naive_teardown, naive_wakeup, WAKEUP_BATCH, wake_done);
ROW(pool_idle_weft, "pool/idle_cpu/weft", idle_setup, weft_teardown, weft_idle, 1, idle_done);
ROW(pool_spawn_weft, "pool/thread_spawn_join/weft", NULL, NULL, weft_spawn_join, 64, NULL);
ROW(pool_spawn_pthread, "pool/thread_spawn_join/pthread", NULL, NULL, pthread_spawn_join, 64, NULL);

/* ------------------------------------------------------------ GLib */
#if WEFT_BENCH_HAVE_GLIB
typedef struct glib_shared {
	void *pool;
	_Atomic uint64_t left;
	sem_t done;
} glib_shared;

static void *glib_setup(unsigned threads)
{
	(void)threads;
	glib_shared *s = calloc(1, sizeof *s);
	s->pool = glib_pool_create(pool_threads());
	sem_init(&s->done, 0, 0);
	return s;
}

static void glib_teardown(void *p)
{
	glib_shared *s = p;
	glib_pool_destroy(s->pool);
	sem_destroy(&s->done);
	free(s);
}

/* GThreadPool has no wait-for-all: the last task posts. */
static void glib_count_task(void *arg)
{
	glib_shared *s = arg;
	/* acq_rel: the last decrement sees every task's end */
	if (atomic_fetch_sub_explicit(&s->left, 1, memory_order_acq_rel) == 1)
		sem_post(&s->done);
}

static void glib_empty(weft_bench_ctx *ctx, uint64_t iters)
{
	glib_shared *s = ctx->shared;
	atomic_store(&s->left, iters);
	for (uint64_t i = 0; i < iters; i++)
		glib_pool_submit(s->pool, glib_count_task, s);
	while (sem_wait(&s->done) != 0)
		;
}

static void glib_submit(void *p, void (*fn)(void *), void *arg)
{
	glib_pool_submit(((glib_shared *)p)->pool, fn, arg);
}
WAKEUP_BODY(glib, glib_submit)

ROW(pool_empty_glib, "pool/empty_tasks/glib", glib_setup, glib_teardown, glib_empty, EMPTY_BATCH, NULL);
ROW(pool_wakeup_glib, "pool/wakeup/glib", glib_setup, glib_teardown, glib_wakeup, WAKEUP_BATCH, wake_done);
#endif

/* ------------------------------------------------------------ oneTBB */
#if WEFT_BENCH_HAVE_TBB
static void *tbb_setup(unsigned threads) { (void)threads; return tbb_pool_create(pool_threads()); }
static void tbb_teardown(void *p) { tbb_pool_destroy(p); }

static void tbb_empty(weft_bench_ctx *ctx, uint64_t iters)
{
	tbb_pool_empty_tasks(ctx->shared, iters);
}

static void tbb_fib(weft_bench_ctx *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++)
		check(tbb_pool_fib(ctx->shared, FIB_N, FIB_CUTOFF) == 832040, "tbb fib");
}

static void tbb_reduce(weft_bench_ctx *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++)
		check(tbb_pool_reduce(ctx->shared, REDUCE_N, REDUCE_GRAIN) == reduce_expected(),
		      "tbb reduce");
	ctx->items += (double)(iters * REDUCE_N);
}
WAKEUP_BODY(tbb, tbb_pool_enqueue)

ROW(pool_empty_tbb, "pool/empty_tasks/tbb", tbb_setup, tbb_teardown, tbb_empty, EMPTY_BATCH, NULL);
ROW(pool_fib_tbb, "pool/fib30/tbb", tbb_setup, tbb_teardown, tbb_fib, 1, NULL);
ROW(pool_reduce_tbb, "pool/reduce_10M/tbb", tbb_setup, tbb_teardown, tbb_reduce, 1, NULL);
ROW(pool_wakeup_tbb, "pool/wakeup/tbb", tbb_setup, tbb_teardown, tbb_wakeup, WAKEUP_BATCH, wake_done);
#endif

/* ------------------------------------------------------------ OpenMP */
#if WEFT_BENCH_HAVE_OMP
static void omp_empty(weft_bench_ctx *ctx, uint64_t iters)
{
	(void)ctx;
	omp_pool_empty_tasks(pool_threads(), iters);
}

static void omp_fib(weft_bench_ctx *ctx, uint64_t iters)
{
	(void)ctx;
	for (uint64_t i = 0; i < iters; i++)
		check(omp_pool_fib(pool_threads(), FIB_N, FIB_CUTOFF) == 832040, "omp fib");
}

static void omp_reduce(weft_bench_ctx *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++)
		check(omp_pool_reduce(pool_threads(), REDUCE_N, REDUCE_GRAIN) == reduce_expected(),
		      "omp reduce");
	ctx->items += (double)(iters * REDUCE_N);
}

ROW(pool_empty_omp, "pool/empty_tasks/omp", NULL, NULL, omp_empty, EMPTY_BATCH, NULL);
ROW(pool_fib_omp, "pool/fib30/omp", NULL, NULL, omp_fib, 1, NULL);
ROW(pool_reduce_omp, "pool/reduce_10M/omp", NULL, NULL, omp_reduce, 1, NULL);
#endif

/* ------------------------------------------------------------ Rust */
#if WEFT_BENCH_HAVE_RUST
static void *rayon_setup(unsigned threads) { (void)threads; return weft_rs_pool_rayon_create(pool_threads()); }
static void rayon_teardown(void *p) { weft_rs_pool_rayon_destroy(p); }
static void rayon_empty(weft_bench_ctx *ctx, uint64_t iters) { weft_rs_pool_rayon_empty_tasks(ctx->shared, iters); }

static void rayon_fib(weft_bench_ctx *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++)
		check(weft_rs_pool_rayon_fib(ctx->shared, FIB_N, FIB_CUTOFF) == 832040, "rayon fib");
}

static void rayon_reduce(weft_bench_ctx *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++)
		check(weft_rs_pool_rayon_reduce(ctx->shared, REDUCE_N, REDUCE_GRAIN) == reduce_expected(),
		      "rayon reduce");
	ctx->items += (double)(iters * REDUCE_N);
}

static void rayon_wakeup(weft_bench_ctx *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++) {
		idle_gap();
		record(ctx, weft_rs_pool_rayon_wakeup(ctx->shared));
	}
}

static void *tp_setup(unsigned threads) { (void)threads; return weft_rs_pool_threadpool_create(pool_threads()); }
static void tp_teardown(void *p) { weft_rs_pool_threadpool_destroy(p); }
static void tp_empty(weft_bench_ctx *ctx, uint64_t iters) { weft_rs_pool_threadpool_empty_tasks(ctx->shared, iters); }

static void tp_reduce(weft_bench_ctx *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++)
		check(weft_rs_pool_threadpool_reduce(ctx->shared, REDUCE_N, REDUCE_GRAIN) == reduce_expected(),
		      "threadpool reduce");
	ctx->items += (double)(iters * REDUCE_N);
}

static void tp_wakeup(weft_bench_ctx *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++) {
		idle_gap();
		record(ctx, weft_rs_pool_threadpool_wakeup(ctx->shared));
	}
}

ROW(pool_empty_rayon, "pool/empty_tasks/rayon", rayon_setup, rayon_teardown, rayon_empty, EMPTY_BATCH, NULL);
ROW(pool_fib_rayon, "pool/fib30/rayon", rayon_setup, rayon_teardown, rayon_fib, 1, NULL);
ROW(pool_reduce_rayon, "pool/reduce_10M/rayon", rayon_setup, rayon_teardown, rayon_reduce, 1, NULL);
ROW(pool_wakeup_rayon, "pool/wakeup/rayon", rayon_setup, rayon_teardown, rayon_wakeup, WAKEUP_BATCH, wake_done);
ROW(pool_empty_threadpool, "pool/empty_tasks/threadpool", tp_setup, tp_teardown, tp_empty, EMPTY_BATCH, NULL);
ROW(pool_reduce_threadpool, "pool/reduce_10M/threadpool", tp_setup, tp_teardown, tp_reduce, 1, NULL);
ROW(pool_wakeup_threadpool, "pool/wakeup/threadpool", tp_setup, tp_teardown, tp_wakeup, WAKEUP_BATCH, wake_done);
#endif
