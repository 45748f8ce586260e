/*
 * bench/bench_barrier.c - weft_barrier against pthread_barrier and Concurrency
 * Kit's centralized (sense-reversing, spinning) barrier:
 *   barrier/round   every thread passes the barrier in a loop; one item =
 *                   one round (items are split across threads), so ns/op is
 *                   the round time. 2, 4, 8 threads.
 */
#include <ck_barrier.h>
#include <pthread.h>
#include <stdlib.h>

#include "shim.h"
#include "weft/barrier.h"

static const unsigned barrier_threads[] = { 2, 4, 8, 0 };

typedef struct barrier_shared {
	WEFT_ALIGNED_CACHELINE weft_barrier w;
	WEFT_ALIGNED_CACHELINE pthread_barrier_t p;
	WEFT_ALIGNED_CACHELINE ck_barrier_centralized_t ck;
} barrier_shared;

static void *barrier_setup(unsigned threads)
{
	barrier_shared *s = aligned_alloc(WEFT_CACHELINE, sizeof *s);
	weft_barrier_init(&s->w, threads);
	pthread_barrier_init(&s->p, NULL, threads);
	s->ck = (ck_barrier_centralized_t)CK_BARRIER_CENTRALIZED_INITIALIZER;
	return s;
}

static void barrier_teardown(void *p)
{
	barrier_shared *s = p;
	weft_barrier_destroy(&s->w);
	pthread_barrier_destroy(&s->p);
	free(s);
}

static void count_rounds(weft_bench_ctx *ctx, uint64_t iters)
{
	ctx->items += (double)iters / ctx->threads;
}

static void weft_round(weft_bench_ctx *ctx, uint64_t iters)
{
	barrier_shared *s = ctx->shared;
	for (uint64_t i = 0; i < iters; i++)
		weft_barrier_wait(&s->w);
	count_rounds(ctx, iters);
}

static void pthread_round(weft_bench_ctx *ctx, uint64_t iters)
{
	barrier_shared *s = ctx->shared;
	for (uint64_t i = 0; i < iters; i++)
		pthread_barrier_wait(&s->p);
	count_rounds(ctx, iters);
}

static void ck_round(weft_bench_ctx *ctx, uint64_t iters)
{
	barrier_shared *s = ctx->shared;
	if (!ctx->local) {
		ck_barrier_centralized_state_t *st = malloc(sizeof *st);
		*st = (ck_barrier_centralized_state_t)CK_BARRIER_CENTRALIZED_STATE_INITIALIZER;
		ctx->local = st;
	}
	for (uint64_t i = 0; i < iters; i++)
		ck_barrier_centralized(&s->ck, ctx->local, ctx->threads);
	count_rounds(ctx, iters);
}

static void ck_done(weft_bench_ctx *ctx) { free(ctx->local); }

WEFT_BENCH(bench_weft_barrier){
	.name = "barrier/round/weft",
	.threads = barrier_threads,
	.setup = barrier_setup,
	.teardown = barrier_teardown,
	.run = weft_round,
	.batch = 64,
};
WEFT_BENCH(bench_pthread_barrier){
	.name = "barrier/round/pthread",
	.threads = barrier_threads,
	.setup = barrier_setup,
	.teardown = barrier_teardown,
	.run = pthread_round,
	.batch = 64,
};
WEFT_BENCH(bench_ck_barrier){
	.name = "barrier/round/ck_centralized",
	.threads = barrier_threads,
	.setup = barrier_setup,
	.teardown = barrier_teardown,
	.run = ck_round,
	.thread_done = ck_done,
	.batch = 64,
};
