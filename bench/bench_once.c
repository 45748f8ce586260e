/*
 * bench/bench_once.c - weft_once against pthread_once:
 *   once/done   call on an already-completed once (the fast path every
 *               caller after the first takes), 1 and 2 threads
 */
#include <pthread.h>
#include <stdlib.h>

#include "shim.h"
#include "weft/once.h"

static int once_value;
static void weft_init_fn(void *arg) { (void)arg; once_value = 1; }
static void pthread_init_fn(void) { once_value = 1; }

static const unsigned once_threads[] = { 1, 2, 0 };

typedef struct once_shared {
	WEFT_ALIGNED_CACHELINE weft_once w;
	WEFT_ALIGNED_CACHELINE pthread_once_t p;
} once_shared;

static void *once_setup(unsigned threads)
{
	(void)threads;
	once_shared *s = aligned_alloc(WEFT_CACHELINE, sizeof *s);
	s->w = (weft_once)WEFT_ONCE_INIT;
	s->p = (pthread_once_t)PTHREAD_ONCE_INIT;
	weft_once_call(&s->w, weft_init_fn, NULL);
	pthread_once(&s->p, pthread_init_fn);
	return s;
}

static void once_teardown(void *p) { free(p); }

static void weft_once_done(weft_bench_ctx *ctx, uint64_t iters)
{
	once_shared *s = ctx->shared;
	for (uint64_t i = 0; i < iters; i++) {
		weft_once_call(&s->w, weft_init_fn, NULL);
		__asm__ __volatile__("" ::: "memory");
	}
}

static void pthread_once_done(weft_bench_ctx *ctx, uint64_t iters)
{
	once_shared *s = ctx->shared;
	for (uint64_t i = 0; i < iters; i++) {
		pthread_once(&s->p, pthread_init_fn);
		__asm__ __volatile__("" ::: "memory");
	}
}

WEFT_BENCH(bench_weft_once_done){
	.name = "once/done/weft",
	.threads = once_threads,
	.setup = once_setup,
	.teardown = once_teardown,
	.run = weft_once_done,
	.batch = 4096,
};
WEFT_BENCH(bench_pthread_once_done){
	.name = "once/done/pthread",
	.threads = once_threads,
	.setup = once_setup,
	.teardown = once_teardown,
	.run = pthread_once_done,
	.batch = 4096,
};
