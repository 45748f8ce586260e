/*
 * bench/peers/pools.h - the thread-pool baselines of bench/bench_pool.c,
 * each used the way its documentation shows:
 *
 *   pthread     the textbook pool: N workers, one mutex + condvar around a
 *               FIFO linked list of malloc'd jobs; wait() sleeps on a second
 *               condvar until the pending count is 0 (bench/peers/naive_pool.c).
 *   glib        GLib's GThreadPool (g_thread_pool_new(func, data, N, TRUE)
 *               + g_thread_pool_push); it has no wait-for-all, so completion
 *               is a counter the last task signals (bench/peers/glib_pool.c).
 *   tbb         oneTBB in a task_arena of N: task_group::run + wait,
 *               task_group fork-join, parallel_reduce over a blocked_range,
 *               task_arena::enqueue for the wake-up (bench/peers/tbb.cc).
 *   omp         GCC's libgomp: #pragma omp task + taskwait, a
 *               reduction(+) parallel for (bench/peers/omp_pool.c, the only
 *               file built with -fopenmp).
 *   rayon, threadpool   Rust crates through bench/rust/src/pool.rs.
 *
 * Every peer has N = weft__cpus_usable() threads, like weft's default pool.
 * The compute-bound map of the reduce row is bench_work() below, the same
 * in every peer (and in pool.rs, bit for bit).
 */
#ifndef WEFT_BENCH_PEERS_POOLS_H
#define WEFT_BENCH_PEERS_POOLS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ~32 dependent multiply-xorshift rounds: a couple of hundred cycles. */
static inline uint64_t bench_work(uint64_t x)
{
	for (int i = 0; i < 32; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		x ^= x >> 29;
	}
	return x;
}

static inline uint64_t bench_work_range(uint64_t lo, uint64_t hi)
{
	uint64_t s = 0;
	for (uint64_t i = lo; i < hi; i++)
		s += bench_work(i);
	return s;
}

/* The fork-join row: fib(n) with tasks down to `cutoff`, sequential below. */
static inline uint64_t bench_fib_seq(unsigned n)
{
	return n < 2 ? n : bench_fib_seq(n - 1) + bench_fib_seq(n - 2);
}

/* Monotonic clock in ns (the wake-up row). */
uint64_t bench_now_ns(void);

/* naive pthread pool */
typedef struct naive_pool naive_pool;
naive_pool *naive_pool_create(unsigned threads);
void naive_pool_submit(naive_pool *p, void (*fn)(void *), void *arg);
void naive_pool_wait(naive_pool *p);
void naive_pool_destroy(naive_pool *p);

/* GLib GThreadPool */
void *glib_pool_create(unsigned threads);
void glib_pool_submit(void *p, void (*fn)(void *), void *arg);
void glib_pool_destroy(void *p);

/* oneTBB */
void *tbb_pool_create(unsigned threads);
void tbb_pool_destroy(void *p);
void tbb_pool_empty_tasks(void *p, uint64_t n);
uint64_t tbb_pool_fib(void *p, unsigned n, unsigned cutoff);
uint64_t tbb_pool_reduce(void *p, uint64_t n, uint64_t grain);
void tbb_pool_enqueue(void *p, void (*fn)(void *), void *arg);

/* OpenMP */
void omp_pool_empty_tasks(unsigned threads, uint64_t n);
uint64_t omp_pool_fib(unsigned threads, unsigned n, unsigned cutoff);
uint64_t omp_pool_reduce(unsigned threads, uint64_t n, uint64_t grain);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_BENCH_PEERS_POOLS_H */
