/*
 * bench/bench_cond.c - weft_cond + weft_mutex against pthread_cond +
 * pthread_mutex (default attributes), same bodies:
 *   cond/signal_no_waiter  signal a cond nobody waits on (1 thread)
 *   cond/pingpong          two threads take turns through one mutex and one
 *                          cond (wait for my turn, pass it, signal); one
 *                          item = one hand-off; cond/pingpong_lat: the
 *                          same with per-round-trip latency percentiles
 *                          (bench/shim.h, "Latency")
 *   cond/broadcast         one thread broadcasts to 8 waiters and waits
 *                          until all 8 have re-acquired the mutex; one item
 *                          = one round (ns/op = broadcast-to-all-back time)
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "shim.h"
#include "weft/cond.h"

#define BROADCAST_WAITERS 8
static const unsigned broadcast_threads[] = { BROADCAST_WAITERS + 1, 0 };

/* weft */
typedef weft_mutex weft_cv_mutex;
static inline void weft_cv_init(weft_cond *c, weft_mutex *m)
{
	*c = (weft_cond)WEFT_COND_INIT;
	*m = (weft_mutex)WEFT_MUTEX_INIT;
}
static inline void weft_cv_destroy(weft_cond *c, weft_mutex *m) { (void)c, (void)m; }
#define weft_cv_lock weft_mutex_lock
#define weft_cv_unlock weft_mutex_unlock
#define weft_cv_wait weft_cond_wait
#define weft_cv_signal weft_cond_signal
#define weft_cv_broadcast weft_cond_broadcast

/* pthread */
typedef pthread_cond_t pthread_cond;
typedef pthread_mutex_t pthread_cv_mutex;
static inline void pthread_cv_init(pthread_cond_t *c, pthread_mutex_t *m)
{
	pthread_cond_init(c, NULL);
	pthread_mutex_init(m, NULL);
}
static inline void pthread_cv_destroy(pthread_cond_t *c, pthread_mutex_t *m)
{
	pthread_cond_destroy(c);
	pthread_mutex_destroy(m);
}
#define pthread_cv_lock pthread_mutex_lock
#define pthread_cv_unlock pthread_mutex_unlock
#define pthread_cv_wait pthread_cond_wait
#define pthread_cv_signal pthread_cond_signal
#define pthread_cv_broadcast pthread_cond_broadcast

#define COND_BENCHES(impl, cond_type)                                          \
	typedef struct impl##_cv_shared {                                      \
		WEFT_ALIGNED_CACHELINE impl##_cv_mutex m;                      \
		cond_type c;                                                   \
		unsigned turn, ready, gen; /* under m */                       \
		WEFT_ALIGNED_CACHELINE _Atomic unsigned done;                  \
	} impl##_cv_shared;                                                    \
                                                                               \
	static void *impl##_cv_setup(unsigned threads)                         \
	{                                                                      \
		(void)threads;                                                 \
		impl##_cv_shared *s = aligned_alloc(WEFT_CACHELINE, sizeof *s); \
		impl##_cv_init(&s->c, &s->m);                                  \
		s->turn = s->ready = s->gen = 0;                               \
		atomic_init(&s->done, 0);                                      \
		return s;                                                      \
	}                                                                      \
                                                                               \
	static void impl##_cv_teardown(void *p)                                \
	{                                                                      \
		impl##_cv_shared *s = p;                                       \
		impl##_cv_destroy(&s->c, &s->m);                               \
		free(s);                                                       \
	}                                                                      \
                                                                               \
	static void impl##_cv_no_waiter(weft_bench_ctx *ctx, uint64_t iters)   \
	{                                                                      \
		impl##_cv_shared *s = ctx->shared;                             \
		for (uint64_t i = 0; i < iters; i++) {                         \
			impl##_cv_signal(&s->c);                               \
			__asm__ __volatile__("" ::: "memory");                 \
		}                                                              \
	}                                                                      \
                                                                               \
	static void impl##_cv_pingpong(weft_bench_ctx *ctx, uint64_t iters)    \
	{                                                                      \
		impl##_cv_shared *s = ctx->shared;                             \
		const unsigned me = ctx->thread, other = !ctx->thread;         \
		for (uint64_t i = 0; i < iters; i++) {                         \
			impl##_cv_lock(&s->m);                                 \
			while (s->turn != me)                                  \
				impl##_cv_wait(&s->c, &s->m);                  \
			s->turn = other;                                       \
			impl##_cv_signal(&s->c);                               \
			impl##_cv_unlock(&s->m);                               \
			weft_bench_lap(ctx); /* one round trip */              \
		}                                                              \
	}                                                                      \
                                                                               \
	static void impl##_cv_broadcast_run(weft_bench_ctx *ctx,               \
					    uint64_t iters)                    \
	{                                                                      \
		impl##_cv_shared *s = ctx->shared;                             \
		if (ctx->thread == 0) {                                        \
			for (uint64_t i = 0; i < iters; i++) {                 \
				impl##_cv_lock(&s->m);                         \
				while (s->ready < BROADCAST_WAITERS) {         \
					impl##_cv_unlock(&s->m);               \
					sched_yield();                         \
					impl##_cv_lock(&s->m);                 \
				}                                              \
				s->ready = 0;                                  \
				atomic_store_explicit(&s->done, 0,             \
						      memory_order_relaxed);   \
				s->gen++;                                      \
				impl##_cv_broadcast(&s->c);                    \
				impl##_cv_unlock(&s->m);                       \
				/* acquire: pairs with the waiters' release    \
				 * increments after they re-took the mutex. */ \
				while (atomic_load_explicit(&s->done,          \
					       memory_order_acquire) <         \
				       BROADCAST_WAITERS)                      \
					sched_yield();                         \
			}                                                      \
		} else {                                                       \
			impl##_cv_lock(&s->m);                                 \
			for (uint64_t i = 0; i < iters; i++) {                 \
				unsigned my_gen = s->gen;                      \
				s->ready++;                                    \
				while (s->gen == my_gen)                       \
					impl##_cv_wait(&s->c, &s->m);          \
				/* release: pairs with the broadcaster's       \
				 * acquire load of done. */                    \
				atomic_fetch_add_explicit(&s->done, 1,         \
							  memory_order_release); \
			}                                                      \
			impl##_cv_unlock(&s->m);                               \
		}                                                              \
		ctx->items += (double)iters / ctx->threads;                    \
	}                                                                      \
                                                                               \
	WEFT_BENCH(bench_##impl##_cv_no_waiter){                               \
		.name = "cond/signal_no_waiter/" #impl,                        \
		.threads = weft_bench_threads_1,                               \
		.setup = impl##_cv_setup,                                      \
		.teardown = impl##_cv_teardown,                                \
		.run = impl##_cv_no_waiter,                                    \
		.batch = 4096,                                                 \
	};                                                                     \
	WEFT_BENCH(bench_##impl##_cv_pingpong){                                \
		.name = "cond/pingpong/" #impl,                                \
		.threads = weft_bench_threads_2,                               \
		.setup = impl##_cv_setup,                                      \
		.teardown = impl##_cv_teardown,                                \
		.run = impl##_cv_pingpong,                                     \
		.batch = 64,                                                   \
		.flags = WEFT_BENCH_LATENCY,                                   \
	};                                                                     \
	WEFT_BENCH(bench_##impl##_cv_broadcast){                               \
		.name = "cond/broadcast/" #impl,                               \
		.threads = broadcast_threads,                                  \
		.setup = impl##_cv_setup,                                      \
		.teardown = impl##_cv_teardown,                                \
		.run = impl##_cv_broadcast_run,                                \
		.batch = 16,                                                   \
	}

COND_BENCHES(weft, weft_cond);
COND_BENCHES(pthread, pthread_cond_t);
