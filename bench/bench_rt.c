/*
 * bench/bench_rt.c - weft_rt (issue 15) against its peers: plain threads
 * (pthread_create+join; two threads ping-ponging over weft_chan), tokio
 * 1.24 (bench/rust/src/rt.rs), ucontext's swapcontext and Boost.Context's
 * fcontext for the bare switch; Go's rows come from bench/go, a separate
 * process that tools/run bench runs after this binary (impl "go").
 *
 * Every runtime has W = weft__cpus_usable() workers (weft_rt_opts.threads,
 * tokio's worker_threads, GOMAXPROCS), except rt/switch (W = 1). With W = 2
 * on a 2-CPU machine, work spawned or woken on one worker can be stolen by
 * the other: the rows measure that real configuration, not one core.
 * Work is spawned and joined from a task (an outer task per run() call,
 * joined by the bench thread), as tokio's rows spawn from a task and Go's
 * from a goroutine. Every row's weft_cpu_ns is the whole process's CPU
 * (runtime workers, peer threads), the sleepers' that of their child.
 *
 *   rt/spawn_join/*      spawn an empty task and join it; one item = one
 *                        spawn+join. weft (the headline): weft_go +
 *                        weft_rt_join in a task; weft_from_thread: the
 *                        same from the bench thread (it blocks on a
 *                        futex per join); pthread: pthread_create +
 *                        pthread_join; tokio: tokio::spawn + .await of the
 *                        JoinHandle in a task.
 *   rt/pingpong/*        two tasks bounce a value through two rendezvous
 *                        weft_chans (capacity 0, one each way); one item =
 *                        one round trip. pthread: the same two functions
 *                        on two plain threads over the same weft_chans
 *                        (the thread baseline); tokio: two tasks over two
 *                        tokio::sync::mpsc::channel(1) (tokio has no
 *                        capacity-0 channel).
 *   rt/sleepers_100k/*   100k tasks each sleeping 100 ms, spawned from one
 *                        task that then joins them all, in a fresh child
 *                        process per iteration (this binary re-executed;
 *                        a clean peak RSS). One item = one whole run; the
 *                        wall time includes starting the child. Counters:
 *                        weft_done_ms (first spawn to last join, measured
 *                        in the child), weft_peak_rss_mib (the child's
 *                        ru_maxrss: its whole peak, binary included) and
 *                        weft_base_rss_mib (its RSS before the runtime
 *                        was created), weft_most_asleep (the most tasks
 *                        asleep at once: the peak RSS holds 100k live
 *                        tasks only where it is 100k). No thread row: 100k threads do not
 *                        fit (default 8 MiB stacks, kernel thread limits).
 *   rt/switch/*          two tasks on a one-worker runtime each yield n
 *                        times; one item = one yield = one switch.
 *                        ucontext: swapcontext between the bench thread
 *                        and a context of its own (a sigprocmask system
 *                        call per switch); fcontext: Boost.Context's
 *                        jump_fcontext the same way; tokio: yield_now on
 *                        a one-worker runtime.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "internal/cpus.h"
#include "shim.h"
#include "weft/chan.h"
#include "weft/rt.h"
#if WEFT_BENCH_HAVE_RUST
#include "peers/rust.h"
#endif
#if WEFT_BENCH_HAVE_FCONTEXT
#include "peers/fcontext.h"
#endif

#define SLEEPERS 100000u
#define SLEEP_NS 100000000ull
#define SWITCH_STACK (64 * 1024)
/* Re-executed as a sleepers child when set: "<impl> <workers> <tasks> <ns>". */
#define CHILD_ENV "WEFT_BENCH_RT_CHILD"

extern char **environ;

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "bench_rt: %s failed\n", what);
		abort();
	}
}

static unsigned rt_workers(void)
{
	return weft__cpus_usable();
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ weft runtime */

static weft_rt *rt_make(unsigned workers)
{
	weft_rt *rt;
	check(weft_rt_create(&rt, &(weft_rt_opts){ .threads = workers }) == 0,
	      "weft_rt_create");
	return rt;
}

static void *rt_setup(unsigned threads) { (void)threads; return rt_make(rt_workers()); }
static void *rt1_setup(unsigned threads) { (void)threads; return rt_make(1); }
static void rt_teardown(void *rt) { check(weft_rt_destroy(rt) == 0, "weft_rt_destroy"); }

static weft_rt_task *go(weft_rt *rt, void *(*fn)(void *), void *arg)
{
	weft_rt_task *t;
	check(weft_go(rt, &t, fn, arg) == 0, "weft_go");
	return t;
}

static void *join(weft_rt_task *t)
{
	void *r;
	check(weft_rt_join(t, &r) == 0, "weft_rt_join");
	return r;
}

/* Runs fn(arg) as one task on rt; the bench thread waits for it. */
static void *in_task(weft_rt *rt, void *(*fn)(void *), void *arg)
{
	return join(go(rt, fn, arg));
}

/* ------------------------------------------------------------ spawn+join */

typedef struct loop_arg {
	weft_rt *rt;
	uint64_t n;
} loop_arg;

static void *empty_task(void *arg) { return arg; }

static void *spawn_join_loop(void *p)
{
	loop_arg *a = p;
	for (uint64_t i = 0; i < a->n; i++)
		check(join(go(a->rt, empty_task, (void *)(uintptr_t)i)) == (void *)(uintptr_t)i,
		      "join result");
	return NULL;
}

static void weft_spawn_join(weft_bench_ctx *ctx, uint64_t iters)
{
	loop_arg a = { ctx->shared, iters };
	in_task(ctx->shared, spawn_join_loop, &a);
}

static void weft_spawn_join_from_thread(weft_bench_ctx *ctx, uint64_t iters)
{
	loop_arg a = { ctx->shared, iters };
	spawn_join_loop(&a);
}

static void *pthread_empty(void *arg) { return arg; }

static void pthread_spawn_join(weft_bench_ctx *ctx, uint64_t iters)
{
	(void)ctx;
	for (uint64_t i = 0; i < iters; i++) {
		pthread_t t;
		void *r;
		check(pthread_create(&t, NULL, pthread_empty, (void *)(uintptr_t)i) == 0,
		      "pthread_create");
		pthread_join(t, &r);
		check(r == (void *)(uintptr_t)i, "pthread_join result");
	}
}

/* ------------------------------------------------------------ ping-pong */

typedef struct pp_shared {
	weft_rt *rt; /* NULL: the thread baseline */
	weft_chan *ping, *pong;
	uint64_t n;
} pp_shared;

static weft_chan *rendezvous(void)
{
	weft_chan *ch;
	check(weft_chan_create(&ch, sizeof(uint64_t), 0) == 0, "weft_chan_create");
	return ch;
}

static void *pp_setup_common(weft_rt *rt)
{
	pp_shared *s = calloc(1, sizeof *s);
	s->rt = rt;
	s->ping = rendezvous();
	s->pong = rendezvous();
	return s;
}

static void *pp_setup_rt(unsigned threads) { return pp_setup_common(rt_setup(threads)); }
static void *pp_setup_threads(unsigned threads) { (void)threads; return pp_setup_common(NULL); }

static void chan_free(weft_chan *ch)
{
	weft_chan_sender_drop(ch);
	weft_chan_receiver_drop(ch);
}

static void pp_teardown(void *p)
{
	pp_shared *s = p;
	chan_free(s->ping);
	chan_free(s->pong);
	if (s->rt)
		rt_teardown(s->rt);
	free(s);
}

/* The same two bodies run as tasks and as plain threads. */
static void *pinger(void *p)
{
	pp_shared *s = p;
	for (uint64_t i = 0; i < s->n; i++) {
		uint64_t v = i;
		check(weft_chan_send(s->ping, &v) == 0, "send");
		check(weft_chan_recv(s->pong, &v) == 0 && v == i, "recv");
	}
	return NULL;
}

static void *ponger(void *p)
{
	pp_shared *s = p;
	for (uint64_t i = 0; i < s->n; i++) {
		uint64_t v;
		check(weft_chan_recv(s->ping, &v) == 0, "recv");
		check(weft_chan_send(s->pong, &v) == 0, "send");
	}
	return NULL;
}

static void *pp_outer(void *p)
{
	pp_shared *s = p;
	weft_rt_task *a = go(s->rt, ponger, s), *b = go(s->rt, pinger, s);
	join(b);
	join(a);
	return NULL;
}

static void weft_pingpong(weft_bench_ctx *ctx, uint64_t iters)
{
	pp_shared *s = ctx->shared;
	s->n = iters;
	in_task(s->rt, pp_outer, s);
}

static void thread_pingpong(weft_bench_ctx *ctx, uint64_t iters)
{
	pp_shared *s = ctx->shared;
	s->n = iters;
	pthread_t a, b;
	check(pthread_create(&a, NULL, ponger, s) == 0, "pthread_create");
	check(pthread_create(&b, NULL, pinger, s) == 0, "pthread_create");
	pthread_join(b, NULL);
	pthread_join(a, NULL);
}

/* ------------------------------------------------------------ switch */

static void *yield_loop(void *p)
{
	uint64_t n = *(const uint64_t *)p;
	for (uint64_t i = 0; i < n; i++)
		check(weft_yield() == 0, "weft_yield");
	return NULL;
}

typedef struct switch_arg {
	weft_rt *rt;
	uint64_t n;
} switch_arg;

/* On the only worker, so neither child starts before both are spawned. */
static void *switch_outer(void *p)
{
	switch_arg *a = p;
	weft_rt_task *x = go(a->rt, yield_loop, &a->n), *y = go(a->rt, yield_loop, &a->n);
	join(x);
	join(y);
	return NULL;
}

static void weft_switch(weft_bench_ctx *ctx, uint64_t iters)
{
	switch_arg a = { ctx->shared, iters };
	in_task(ctx->shared, switch_outer, &a);
	ctx->items += 2.0 * (double)iters;
}

/* ucontext: the bench thread and one context swap back and forth. */
typedef struct uc_state {
	ucontext_t main, co;
	void *stack;
} uc_state;

static uc_state *uc_current; /* makecontext passes ints only */

static void uc_bounce(void)
{
	for (;;)
		swapcontext(&uc_current->co, &uc_current->main);
}

static void *uc_setup(unsigned threads)
{
	(void)threads;
	uc_state *s = calloc(1, sizeof *s);
	s->stack = malloc(SWITCH_STACK);
	check(getcontext(&s->co) == 0, "getcontext");
	s->co.uc_stack.ss_sp = s->stack;
	s->co.uc_stack.ss_size = SWITCH_STACK;
	s->co.uc_link = NULL;
	makecontext(&s->co, uc_bounce, 0);
	uc_current = s;
	return s;
}

static void uc_teardown(void *p)
{
	uc_state *s = p;
	uc_current = NULL;
	free(s->stack); /* the context never returns: nothing runs on it now */
	free(s);
}

static void uc_switch(weft_bench_ctx *ctx, uint64_t iters)
{
	uc_state *s = ctx->shared;
	for (uint64_t i = 0; i < iters; i++)
		swapcontext(&s->main, &s->co);
	ctx->items += 2.0 * (double)iters;
}

#if WEFT_BENCH_HAVE_FCONTEXT
static void *fc_setup(unsigned threads) { (void)threads; return weft_fc_new(SWITCH_STACK); }
static void fc_teardown(void *p) { weft_fc_free(p); }

static void fc_switch(weft_bench_ctx *ctx, uint64_t iters)
{
	weft_fc_bounce(ctx->shared, iters);
	ctx->items += 2.0 * (double)iters;
}
#endif

/* ------------------------------------------------------------ sleepers */

typedef struct sleepers_arg {
	weft_rt *rt;
	uint64_t tasks, sleep_ns;
	int64_t done_ns; /* < 0: -errno of a failed spawn */
	_Atomic uint64_t asleep, most_asleep;
} sleepers_arg;

/* Counts the tasks asleep at once: the peak RSS means 100k live stacks
 * only if all 100k were asleep together (a slow spawner lets the first
 * ones finish before the last ones start). Relaxed: a statistic, read
 * after every sleeper was joined (the joins order it). */
static void note_asleep(sleepers_arg *a)
{
	uint64_t n = atomic_fetch_add_explicit(&a->asleep, 1, memory_order_relaxed) + 1;
	uint64_t m = atomic_load_explicit(&a->most_asleep, memory_order_relaxed);
	while (n > m && !atomic_compare_exchange_weak_explicit(&a->most_asleep, &m, n,
							       memory_order_relaxed,
							       memory_order_relaxed))
		;
}

static void *sleeper(void *p)
{
	sleepers_arg *a = p;
	note_asleep(a);
	check(weft_sleep_ns(a->sleep_ns) == 0, "weft_sleep_ns");
	atomic_fetch_sub_explicit(&a->asleep, 1, memory_order_relaxed);
	return NULL;
}

static void *sleepers_outer(void *p)
{
	sleepers_arg *a = p;
	weft_rt_task **h = malloc(a->tasks * sizeof *h);
	check(h != NULL, "malloc");
	uint64_t t0 = now_ns(), n = 0;
	int err = 0;
	while (n < a->tasks && (err = weft_go(a->rt, &h[n], sleeper, a)) == 0)
		n++;
	for (uint64_t i = 0; i < n; i++)
		join(h[i]);
	a->done_ns = err ? -err : (int64_t)(now_ns() - t0);
	free(h);
	return NULL;
}

static int64_t weft_sleepers(unsigned workers, uint64_t tasks, uint64_t sleep_ns,
			     uint64_t *most_asleep)
{
	weft_rt *rt = rt_make(workers);
	sleepers_arg a = { .rt = rt, .tasks = tasks, .sleep_ns = sleep_ns };
	in_task(rt, sleepers_outer, &a);
	rt_teardown(rt);
	*most_asleep = atomic_load_explicit(&a.most_asleep, memory_order_relaxed);
	return a.done_ns;
}

static uint64_t rss_kib(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%lu %lu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * (uint64_t)sysconf(_SC_PAGESIZE) / 1024;
}

/* The child: runs one sleepers body, prints "done_ns peak_kib base_kib
 * most_asleep"
 * and exits before main() (a constructor: the benchmark never starts). */
__attribute__((constructor)) static void sleepers_child(void)
{
	const char *spec = getenv(CHILD_ENV);
	if (!spec)
		return;
	char impl[32];
	unsigned workers;
	unsigned long long tasks, sleep_ns;
	if (sscanf(spec, "%31s %u %llu %llu", impl, &workers, &tasks, &sleep_ns) != 4)
		_exit(2);
	const uint64_t base = rss_kib();
	int64_t done = -EINVAL;
	uint64_t most = 0;
	if (strcmp(impl, "weft") == 0)
		done = weft_sleepers(workers, tasks, sleep_ns, &most);
#if WEFT_BENCH_HAVE_RUST
	if (strcmp(impl, "tokio") == 0) {
		weft_rs_rt *rt = weft_rs_rt_new(workers);
		done = (int64_t)weft_rs_rt_sleepers(rt, tasks, sleep_ns, &most);
		weft_rs_rt_free(rt);
	}
#endif
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("%lld %ld %llu %llu\n", (long long)done, ru.ru_maxrss, (unsigned long long)base,
	       (unsigned long long)most);
	fflush(stdout);
	_exit(done < 0);
}

typedef struct child_result {
	int64_t done_ns;
	uint64_t peak_kib, base_kib, most_asleep;
} child_result;

/* This binary again, with CHILD_ENV set, its stdout a pipe. */
static int run_child(const char *spec, child_result *r)
{
	static char exe[4096];
	if (!exe[0] && readlink("/proc/self/exe", exe, sizeof exe - 1) <= 0)
		return -1;
	char var[128];
	snprintf(var, sizeof var, "%s=%s", CHILD_ENV, spec);
	size_t n = 0;
	while (environ[n])
		n++;
	char **envp = malloc((n + 2) * sizeof *envp);
	memcpy(envp, environ, n * sizeof *envp);
	envp[n] = var;
	envp[n + 1] = NULL;
	int fd[2];
	check(pipe2(fd, O_CLOEXEC) == 0, "pipe2");
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd[1], STDOUT_FILENO);
	char *argv[] = { exe, NULL };
	pid_t pid;
	int err = posix_spawn(&pid, exe, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	free(envp);
	close(fd[1]);
	char buf[256] = { 0 };
	size_t got = 0;
	ssize_t k;
	while (!err && got < sizeof buf - 1 &&
	       ((k = read(fd[0], buf + got, sizeof buf - 1 - got)) > 0 || (k < 0 && errno == EINTR)))
		got += k > 0 ? (size_t)k : 0;
	close(fd[0]);
	int status = 0;
	if (!err)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	long long done;
	unsigned long long peak, base, most;
	if (err || sscanf(buf, "%lld %llu %llu %llu", &done, &peak, &base, &most) != 4)
		return -1;
	*r = (child_result){ done, peak, base, most };
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

typedef struct sleepers_stats {
	double done_ms, peak_mib, base_mib, most_asleep;
	unsigned runs, failed;
} sleepers_stats;

static void sleepers_run(weft_bench_ctx *ctx, uint64_t iters, const char *impl)
{
	if (!ctx->local)
		ctx->local = calloc(1, sizeof(sleepers_stats));
	sleepers_stats *st = ctx->local;
	char spec[96];
	snprintf(spec, sizeof spec, "%s %u %u %llu", impl, rt_workers(), SLEEPERS, SLEEP_NS);
	for (uint64_t i = 0; i < iters; i++) {
		child_result r;
		if (run_child(spec, &r) != 0) {
			st->failed++;
			continue;
		}
		st->runs++;
		st->done_ms += (double)r.done_ns / 1e6;
		st->peak_mib = r.peak_kib / 1024.0 > st->peak_mib ? r.peak_kib / 1024.0 : st->peak_mib;
		st->base_mib = r.base_kib / 1024.0;
		st->most_asleep = r.most_asleep > st->most_asleep ? r.most_asleep : st->most_asleep;
	}
}

static void sleepers_done(weft_bench_ctx *ctx)
{
	sleepers_stats *st = ctx->local;
	if (!st)
		return;
	if (st->failed)
		fprintf(stderr, "bench_rt: %u of %u sleepers children failed\n", st->failed,
			st->failed + st->runs);
	weft_bench_counter(ctx, "weft_done_ms", st->runs ? st->done_ms / st->runs : -1);
	weft_bench_counter(ctx, "weft_peak_rss_mib", st->peak_mib);
	weft_bench_counter(ctx, "weft_base_rss_mib", st->base_mib);
	weft_bench_counter(ctx, "weft_most_asleep", st->most_asleep);
	weft_bench_counter(ctx, "weft_failed_runs", st->failed);
	free(st);
	ctx->local = NULL;
}

static void weft_sleepers_row(weft_bench_ctx *ctx, uint64_t iters) { sleepers_run(ctx, iters, "weft"); }

/* ------------------------------------------------------------ registration */

#define ROW(id, name_, setup_, teardown_, run_, batch_)                        \
	WEFT_BENCH(id){ .name = name_, .threads = weft_bench_threads_1,        \
			.setup = setup_, .teardown = teardown_, .run = run_,   \
			.batch = batch_, .cpu_process = 1 }

#define SLEEPERS_ROW(id, name_, run_)                                          \
	WEFT_BENCH(id){ .name = name_, .threads = weft_bench_threads_1,        \
			.run = run_, .thread_done = sleepers_done, .batch = 1, \
			.cpu_process = 2 }

ROW(rt_spawn_weft, "rt/spawn_join/weft", rt_setup, rt_teardown, weft_spawn_join, 1024);
ROW(rt_spawn_weft_thread, "rt/spawn_join/weft_from_thread", rt_setup, rt_teardown,
    weft_spawn_join_from_thread, 1024);
ROW(rt_spawn_pthread, "rt/spawn_join/pthread", NULL, NULL, pthread_spawn_join, 256);
ROW(rt_pingpong_weft, "rt/pingpong/weft", pp_setup_rt, pp_teardown, weft_pingpong, 1024);
ROW(rt_pingpong_thread, "rt/pingpong/pthread", pp_setup_threads, pp_teardown, thread_pingpong, 1024);
ROW(rt_switch_weft, "rt/switch/weft", rt1_setup, rt_teardown, weft_switch, 4096);
ROW(rt_switch_ucontext, "rt/switch/ucontext", uc_setup, uc_teardown, uc_switch, 4096);
#if WEFT_BENCH_HAVE_FCONTEXT
ROW(rt_switch_fcontext, "rt/switch/fcontext", fc_setup, fc_teardown, fc_switch, 4096);
#endif
SLEEPERS_ROW(rt_sleepers_weft, "rt/sleepers_100k/weft", weft_sleepers_row);

/* ------------------------------------------------------------ tokio */
#if WEFT_BENCH_HAVE_RUST
static void *tokio_setup(unsigned threads) { (void)threads; return weft_rs_rt_new(rt_workers()); }
static void *tokio1_setup(unsigned threads) { (void)threads; return weft_rs_rt_new(1); }
static void tokio_teardown(void *rt) { weft_rs_rt_free(rt); }
static void tokio_spawn_join(weft_bench_ctx *ctx, uint64_t iters) { weft_rs_rt_spawn_join(ctx->shared, iters); }
static void tokio_pingpong(weft_bench_ctx *ctx, uint64_t iters) { weft_rs_rt_pingpong(ctx->shared, iters); }

static void tokio_switch(weft_bench_ctx *ctx, uint64_t iters)
{
	weft_rs_rt_switch(ctx->shared, iters);
	ctx->items += 2.0 * (double)iters;
}

static void tokio_sleepers_row(weft_bench_ctx *ctx, uint64_t iters) { sleepers_run(ctx, iters, "tokio"); }

ROW(rt_spawn_tokio, "rt/spawn_join/tokio", tokio_setup, tokio_teardown, tokio_spawn_join, 1024);
ROW(rt_pingpong_tokio, "rt/pingpong/tokio", tokio_setup, tokio_teardown, tokio_pingpong, 1024);
ROW(rt_switch_tokio, "rt/switch/tokio", tokio1_setup, tokio_teardown, tokio_switch, 4096);
SLEEPERS_ROW(rt_sleepers_tokio, "rt/sleepers_100k/tokio", tokio_sleepers_row);
#endif
