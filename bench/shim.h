/*
 * bench/shim.h - the C face of the Google Benchmark shim (bench/shim.cc).
 *
 * A benchmark is a C struct: a name "<primitive>/<case>/<impl>", the thread
 * counts to run it at, and a body run(ctx, iters) that performs `iters`
 * operations in a tight C loop (no per-operation call into C++). All threads
 * of a run receive the same `iters` sequence, so paired bodies (ping-pong,
 * producer/consumer) stay in step. setup() runs once per run before any
 * thread starts timing; teardown() once after every thread stopped.
 *
 * Naming contract, read by tools/bench_report.py: impl "weft" or "weft_*" is a
 * weft row; "pthread*" is the pthread baseline; anything else is a peer.
 * Rows sharing "<primitive>/<case>" and thread count are compared.
 */
#ifndef WEFT_BENCH_SHIM_H
#define WEFT_BENCH_SHIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_bench_ctx {
	void *shared;	  /* what setup() returned; one per run */
	unsigned thread;  /* 0 .. threads-1 */
	unsigned threads; /* threads in this run */
	void *local;	  /* per thread, kept across batches; body-owned */
	double items;	  /* items this thread processed; 0 = one per iter */
	void *shim_state; /* private to the shim */
} weft_bench_ctx;

typedef struct weft_bench {
	const char *name;
	const unsigned *threads; /* zero-terminated list; NULL = { 1 } */
	void *(*setup)(unsigned threads);	  /* optional */
	void (*teardown)(void *shared);		  /* optional */
	void (*run)(weft_bench_ctx *ctx, uint64_t iters);
	void (*thread_done)(weft_bench_ctx *ctx); /* optional: frees local;
						    must not touch shared */
	uint64_t batch; /* iterations per run() call; 0 = 256 */
	/* 1: weft_cpu_ns is the whole process's CPU time over the timed
	 * region (CLOCK_PROCESS_CPUTIME_ID), for bodies whose work runs on
	 * threads the shim does not know (thread pools); single-thread runs. */
	int cpu_process;
} weft_bench;

/* Thread-count lists most benchmarks use. */
extern const unsigned weft_bench_threads_1[];	    /* 1 */
extern const unsigned weft_bench_threads_2[];	    /* 2 */
extern const unsigned weft_bench_threads_scaling[]; /* 1, 2, 4, 8 */

void weft_bench_register(const weft_bench *b);

/* Report an extra per-run value (averaged over threads), e.g. bytes/item. */
void weft_bench_counter(weft_bench_ctx *ctx, const char *name, double value);

/* Define and register a benchmark at load time: WEFT_BENCH(id) { .name=...}; */
#define WEFT_BENCH(id)                                                         \
	static const weft_bench id;                                            \
	__attribute__((constructor)) static void id##_register(void)          \
	{                                                                      \
		weft_bench_register(&id);                                      \
	}                                                                      \
	static const weft_bench id =

#ifdef __cplusplus
}
#endif

#endif /* WEFT_BENCH_SHIM_H */
