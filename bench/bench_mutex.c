/*
 * bench/bench_mutex.c - weft_mutex against its baselines (bench/peers/locks.h),
 * same bodies for every lock:
 *   mutex/uncontended   lock+unlock, one thread
 *   mutex/counter       a shared counter under the lock, 1/2/4/8 threads
 *   mutex/handoff       two threads take strict turns through the lock;
 *                       one item = one hand-off (ns/op = hand-off latency);
 *                       mutex/handoff_lat: the same with per-round-trip
 *                       latency percentiles (bench/shim.h, "Latency")
 */
#include <stdbool.h>
#include <stdlib.h>

#include "internal/arch.h"
#include "peers/locks.h"
#include "shim.h"

#define MUTEX_BENCHES(impl, lock_type, counter_threads)                                       \
	typedef struct impl##_shared {                                         \
		WEFT_ALIGNED_CACHELINE lock_type lock;                         \
		WEFT_ALIGNED_CACHELINE uint64_t counter;                       \
		unsigned turn;                                                 \
	} impl##_shared;                                                       \
                                                                               \
	static void *impl##_setup(unsigned threads)                            \
	{                                                                      \
		(void)threads;                                                 \
		impl##_shared *s = aligned_alloc(WEFT_CACHELINE, sizeof *s);   \
		s->counter = 0;                                                \
		s->turn = 0;                                                   \
		impl##_lk_init(&s->lock);                                      \
		return s;                                                      \
	}                                                                      \
                                                                               \
	static void impl##_teardown(void *p)                                   \
	{                                                                      \
		impl##_shared *s = p;                                          \
		impl##_lk_destroy(&s->lock);                                   \
		free(s);                                                       \
	}                                                                      \
                                                                               \
	static void impl##_uncontended(weft_bench_ctx *ctx, uint64_t iters)    \
	{                                                                      \
		impl##_shared *s = ctx->shared;                                \
		lock_node node;                                                \
		for (uint64_t i = 0; i < iters; i++) {                         \
			impl##_lk_lock(&s->lock, &node);                       \
			impl##_lk_unlock(&s->lock, &node);                     \
		}                                                              \
	}                                                                      \
                                                                               \
	static void impl##_counter(weft_bench_ctx *ctx, uint64_t iters)        \
	{                                                                      \
		impl##_shared *s = ctx->shared;                                \
		lock_node node;                                                \
		for (uint64_t i = 0; i < iters; i++) {                         \
			impl##_lk_lock(&s->lock, &node);                       \
			s->counter++;                                          \
			impl##_lk_unlock(&s->lock, &node);                     \
		}                                                              \
	}                                                                      \
                                                                               \
	static void impl##_handoff(weft_bench_ctx *ctx, uint64_t iters)        \
	{                                                                      \
		impl##_shared *s = ctx->shared;                                \
		lock_node node;                                                \
		const unsigned me = ctx->thread, other = !ctx->thread;         \
		for (uint64_t i = 0; i < iters;) {                             \
			impl##_lk_lock(&s->lock, &node);                       \
			const bool mine = s->turn == me;                       \
			if (mine)                                              \
				s->turn = other;                               \
			impl##_lk_unlock(&s->lock, &node);                     \
			if (mine) {                                            \
				i++;                                           \
				weft_bench_lap(ctx); /* one round trip */      \
			}                                                      \
		}                                                              \
	}                                                                      \
                                                                               \
	WEFT_BENCH(bench_##impl##_uncontended){                                  \
		.name = "mutex/uncontended/" #impl,                            \
		.threads = weft_bench_threads_1,                               \
		.setup = impl##_setup,                                         \
		.teardown = impl##_teardown,                                   \
		.run = impl##_uncontended,                                     \
		.batch = 1024,                                                 \
	};                                                                     \
	WEFT_BENCH(bench_##impl##_counter){                                      \
		.name = "mutex/counter/" #impl,                                \
		.threads = (counter_threads),                                  \
		.setup = impl##_setup,                                         \
		.teardown = impl##_teardown,                                   \
		.run = impl##_counter,                                         \
		.batch = 256,                                                  \
	};                                                                     \
	WEFT_BENCH(bench_##impl##_handoff){                                      \
		.name = "mutex/handoff/" #impl,                                \
		.threads = weft_bench_threads_2,                               \
		.setup = impl##_setup,                                         \
		.teardown = impl##_teardown,                                   \
		.run = impl##_handoff,                                         \
		.batch = 64,                                                   \
		.flags = WEFT_BENCH_LATENCY,                                   \
	}

/*
 * ck_mcs hands the lock to the next queued waiter, which is often not
 * running once threads outnumber cores: measured here at ~1.9 ms per
 * acquisition at 4 threads on 2 cores (533 ops/s), and at 8 threads one
 * batch did not finish in 5 minutes. That is the collapse a queue spinlock
 * is known for; the suite runs ck_mcs only where threads <= cores.
 */
static const unsigned mcs_threads[] = { 1, 2, 0 };

MUTEX_BENCHES(weft, weft_mutex, weft_bench_threads_scaling);
MUTEX_BENCHES(pthread, pthread_mutex_t, weft_bench_threads_scaling);
MUTEX_BENCHES(pthread_adaptive, pthread_mutex_t, weft_bench_threads_scaling);
MUTEX_BENCHES(ck_fas, ck_spinlock_fas_t, weft_bench_threads_scaling);
MUTEX_BENCHES(ck_mcs, ck_mcs_lock, mcs_threads);
