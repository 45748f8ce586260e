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
 * The compute-bound map of the reduce row is bench_work() below and the
 * leaves of fib are bench_fib_seq(): one out-of-line copy of each, called
 * by every peer (pool.rs through FFI).
 */
#ifndef WEFT_BENCH_PEERS_POOLS_H
#define WEFT_BENCH_PEERS_POOLS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The work of the reduce and fib rows: out of line, defined once in
 * bench/peers/pool_work.c and called by every peer, the Rust ones through
 * FFI. Inlined into each peer's own translation unit, the same source gave
 * different machine code per compiler (rustc/LLVM vectorised the reduce
 * map with SSE2 and unrolled it; GCC kept a scalar loop): the rows then
 * compared compilers, not pools (docs/tuning.md, pool section).
 */
/* ~32 dependent multiply-xorshift rounds: a couple of hundred cycles. */
uint64_t bench_work(uint64_t x);

/* The sum of bench_work over [lo, hi): each peer's own loop around the
 * shared out-of-line bench_work. */
static inline uint64_t bench_work_range(uint64_t lo, uint64_t hi)
{
	uint64_t s = 0;
	for (uint64_t i = lo; i < hi; i++)
		s += bench_work(i);
	return s;
}

/* The fork-join row: fib(n) with tasks down to `cutoff`, sequential below
 * (this function, out of line like bench_work). */
uint64_t bench_fib_seq(unsigned n);

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
