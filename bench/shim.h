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
 *
 * Latency (WEFT_BENCH_LATENCY): a body that calls weft_bench_lap(ctx) once
 * per operation on every thread gets a second row,
 * "<primitive>/<case>_lat/<impl>", in which each lap reads CLOCK_MONOTONIC
 * and keeps the time since this thread's previous lap in a per-thread
 * reservoir (a uniform sample of WEFT_BENCH_LAP_SAMPLES intervals over the
 * whole timed region, Vitter's algorithm R). That row reports the counters
 * weft_lat_p50_ns, weft_lat_p99_ns and weft_lat_p999_ns (nearest-rank
 * percentiles of each thread's sample, averaged over the run's threads)
 * and weft_lat_laps (intervals seen per thread). In the ordinary row a lap
 * is one predictable branch on a NULL pointer: the clock reads stay out of
 * the throughput figures. For a ping-pong body one lap per iteration times
 * a round trip (two hand-offs), the same for every impl; each interval
 * includes one clock read (~125 ns on the nested-KVM development guest,
 * where kvm-clock's vDSO read is slow). A row whose first batch outlasts
 * the minimum time keeps only that batch's laps: tools/bench_report.py and
 * the dashboard mark percentiles taken from too few laps.
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
	struct weft_bench_laps *laps; /* latency row only; else NULL */
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
	unsigned flags; /* WEFT_BENCH_* below */
	/* 1: weft_cpu_ns is the whole process's CPU time over the timed
	 * region (CLOCK_PROCESS_CPUTIME_ID), for bodies whose work runs on
	 * threads the shim does not know (thread pools); single-thread runs.
	 * 2: that plus the CPU of the child processes the body started and
	 * reaped within the timed region (RUSAGE_CHILDREN), for rows that run
	 * their work in a fresh process (bench/bench_rt.c's sleepers). */
	int cpu_process;
} weft_bench;

/* The body calls weft_bench_lap() once per operation: also register the
 * latency row "<primitive>/<case>_lat/<impl>" (see the top of this file). */
#define WEFT_BENCH_LATENCY 1u

/* Intervals kept per thread for the percentiles (4 bytes each). */
#define WEFT_BENCH_LAP_SAMPLES 16384

/* Thread-count lists most benchmarks use. */
extern const unsigned weft_bench_threads_1[];	    /* 1 */
extern const unsigned weft_bench_threads_2[];	    /* 2 */
extern const unsigned weft_bench_threads_scaling[]; /* 1, 2, 4, 8 */

void weft_bench_register(const weft_bench *b);

/* Report an extra per-run value (averaged over threads), e.g. bytes/item. */
void weft_bench_counter(weft_bench_ctx *ctx, const char *name, double value);

/* Mark the end of one operation on this thread (see "Latency" above). */
void weft_bench_lap_record(struct weft_bench_laps *laps);
static inline void weft_bench_lap(weft_bench_ctx *ctx)
{
	if (__builtin_expect(ctx->laps != 0, 0))
		weft_bench_lap_record(ctx->laps);
}

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
