/*
 * bench/bench_arc.c - taking and giving back a reference to a shared
 * object: weft_arc_clone + weft_arc_drop against the floor (a bare C11
 * fetch_add/fetch_sub pair on one counter, which is all a refcount can
 * cost) and Rust's std::sync::Arc (Arc::clone + drop, bench/rust/src/arc.rs).
 *   arc/clone_drop/<impl>   1 and 2 threads on one shared object; one
 *                           item = one clone + one drop. At 2 threads
 *                           both hammer one cache line.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "peers/rust.h"
#include "shim.h"
#include "weft/arc.h"

static const unsigned arc_threads[] = { 1, 2, 0 };

/* weft_arc: a shared 8-byte value; each thread clones and drops it. */
static void *weft_arc_setup(unsigned threads)
{
	(void)threads;
	void *p = weft_arc_new(sizeof(uint64_t), NULL);
	if (!p)
		abort();
	return p;
}

static void weft_arc_teardown(void *p)
{
	weft_arc_drop(p);
}

static void weft_arc_clone_drop(weft_bench_ctx *ctx, uint64_t iters)
{
	void *p = ctx->shared;
	for (uint64_t i = 0; i < iters; i++)
		weft_arc_drop(weft_arc_clone(p));
}

WEFT_BENCH(bench_weft_arc_clone_drop){
	.name = "arc/clone_drop/weft",
	.threads = arc_threads,
	.setup = weft_arc_setup,
	.teardown = weft_arc_teardown,
	.run = weft_arc_clone_drop,
	.batch = 1024,
};

/* The floor: one counter, a relaxed fetch_add and a release fetch_sub. */
typedef struct pair_shared {
	WEFT_ALIGNED_CACHELINE _Atomic size_t count;
} pair_shared;

static void *pair_setup(unsigned threads)
{
	(void)threads;
	pair_shared *s = aligned_alloc(WEFT_CACHELINE, sizeof *s);
	atomic_init(&s->count, 1);
	return s;
}

static void pair_clone_drop(weft_bench_ctx *ctx, uint64_t iters)
{
	pair_shared *s = ctx->shared;
	for (uint64_t i = 0; i < iters; i++) {
		/* relaxed: as a refcount increment. */
		atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
		/* release: as a refcount decrement (the object is never freed). */
		atomic_fetch_sub_explicit(&s->count, 1, memory_order_release);
	}
}

WEFT_BENCH(bench_pair_clone_drop){
	.name = "arc/clone_drop/atomic_pair",
	.threads = arc_threads,
	.setup = pair_setup,
	.teardown = free,
	.run = pair_clone_drop,
	.batch = 1024,
};

#if WEFT_BENCH_HAVE_RUST
static void *rust_arc_setup(unsigned threads)
{
	(void)threads;
	return weft_rs_arc_new();
}

static void rust_arc_clone_drop(weft_bench_ctx *ctx, uint64_t iters)
{
	weft_rs_arc_clone_drop(ctx->shared, iters);
}

WEFT_BENCH(bench_rust_arc_clone_drop){
	.name = "arc/clone_drop/rust_arc",
	.threads = arc_threads,
	.setup = rust_arc_setup,
	.teardown = weft_rs_arc_free,
	.run = rust_arc_clone_drop,
	.batch = 1024,
};
#endif
