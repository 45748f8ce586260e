/*
 * bench/bench_queues.c - weft_ring and weft_mpsc against their baselines
 * (bench/peers/queues.h), the same bodies for every queue:
 *
 *   ring/mpmc       P producers, P consumers (threads 2, 4, 8 = 1:1, 2:2, 4:4)
 *   ring/spsc       1 producer, 1 consumer, SPSC variants
 *   ring/bulk32     P:P moving 32-item batches with each queue's batch
 *                   calls (see "Bulk body" below); compare with ring/mpmc for
 *                   the bulk speed-up. weft: the all-or-nothing push_bulk /
 *                   pop_bulk; weft_burst: the up-to-n push_n / pop_n
 *   ring/spsc_bulk32  the same with the SPSC bulk calls
 *   ring/pingpong   two threads bounce one item through two queues;
 *                   one item = one round trip (ns/op = round-trip latency);
 *                   ring/pingpong_lat and mpsc/pingpong_lat: the same with
 *                   latency percentiles (bench/shim.h, "Latency")
 *   mpsc/throughput thread 0 consumes, threads-1 producers (threads 2, 3, 5,
 *                   9 = 1, 2, 4, 8 producers)
 *                   weft: the consumer waits in weft_mpsc_pop_wait, as the
 *                   pthread queue's consumer in its pop; weft_trypop: the
 *                   same queue polled with weft_mpsc_pop and wait_step
 *                   (for information: how much the wait policy matters)
 *                   weft_intrusive: weft_mpsc_intrusive over preallocated
 *                   nodes (compare with wfcqueue_prealloc)
 *   mpsc/pingpong   as ring/pingpong
 *   mpsc/burst64k   one thread pushes 65536 items, then pops them; reports
 *                   the counter bytes_per_item at the peak (queue memory /
 *                   items queued) where the impl can tell
 *
 * items/s counts items delivered producer -> consumer (each thread of a run
 * reports its share, so the total is the delivered count). All threads of a
 * run get the same iteration counts: a producer pushes `iters` items per
 * call, a consumer pops producers/consumers * iters. A side that finds the
 * queue full/empty spins with cpu_relax, then yields after a bounded spin
 * so that oversubscribed runs (4 and 8 threads on 2 cores) make progress.
 * Not every peer runs at every shape; see the registrations at the end.
 *
 * Bulk body (the same for every implementation): each side asks for a batch
 * of 32 through the queue's batch calls as its documentation recommends for
 * whole batches: all-or-nothing where the queue has them (weft push_bulk /
 * pop_bulk, DPDK's "bulk"; moodycamel's enqueue_bulk), up to n otherwise
 * (moodycamel try_dequeue_bulk, the pthread queue, which blocks while
 * full/empty and then moves what it can under one lock; weft_burst rows).
 * Whatever moved is counted. A side that moved nothing backs off for
 * BULK_BACKOFF_NS (8 PAUSEs on the 2-core EPYC it was tuned on, about the
 * time the other side needs for one batch) before asking again; one that
 * moved part of its batch takes one wait step, as every other body. Why:
 * with one producer and one consumer the faster side catches up and then
 * waits a few slots behind the other; re-asking after every pause
 * re-reads the very cache lines the other side is writing, and each read
 * pulls a line away from it mid-batch (measured: the chase, not the per-item
 * work, is what made bulk32 swing between 1.5x and 2.8x single-item). Backing
 * off one batch-time lets a whole batch fill; it never delays a side whose
 * batch is ready, and a blocking queue (pthread) never moves nothing.
 */
#include <sched.h>
#include <stdlib.h>

#include "internal/cpus.h"
#include "peers/queues.h" /* and wait_step */
#include "shim.h"

#define BULK 32
#define BULK_BACKOFF_NS 200
#define BURST 65536

/* A bulk side that moved nothing waits a batch-time (see the top) in wait
 * steps, which count towards the yield; on one CPU, one step: a yield to
 * the side that fills the batch. */
static inline void bulk_backoff(unsigned *spins)
{
	uint32_t steps = weft__cpus_parallel() > 1 ? weft__relax_hints(BULK_BACKOFF_NS) : 1;
	while (steps--)
		wait_step(spins);
}

static inline void *tag(uint64_t i)
{
	return (void *)(uintptr_t)(i + 1); /* never NULL: weft_mpsc refuses NULL */
}

typedef struct bq_shared {
	void *q[2];
	void (*free)(void *);
} bq_shared;

#define BQ_IMPL(fn, label)                                                     \
	static void *fn##_setup(unsigned threads)                              \
	{                                                                      \
		bq_shared *s = malloc(sizeof *s);                              \
		s->q[0] = fn##_new(threads);                                   \
		s->q[1] = fn##_new(threads);                                   \
		s->free = fn##_free;                                           \
		return s;                                                      \
	}                                                                      \
                                                                               \
	/* P:P when mpsc == 0; thread 0 consumes for threads-1 producers otherwise */ \
	static inline void fn##_flow(weft_bench_ctx *ctx, uint64_t iters,      \
				     bool mpsc)                                \
	{                                                                      \
		void *q = ((bq_shared *)ctx->shared)->q[0];                    \
		const unsigned t = ctx->thread;                                \
		const unsigned P = mpsc ? ctx->threads - 1 : ctx->threads / 2; \
		const bool producer = mpsc ? t != 0 : t < P;                   \
		unsigned spins = 0;                                            \
		if (producer) {                                                \
			for (uint64_t i = 0; i < iters; i++)                   \
				while (!fn##_bq_push(q, t, tag(i)))            \
					wait_step(&spins);                     \
		} else {                                                       \
			uint64_t n = mpsc ? iters * P : iters;                 \
			void *v;                                               \
			for (uint64_t i = 0; i < n; i++)                       \
				while (!fn##_bq_pop(q, t, &v))                 \
					wait_step(&spins);                     \
		}                                                              \
		ctx->items += (double)iters * P / ctx->threads;                \
	}                                                                      \
	static void fn##_pc(weft_bench_ctx *ctx, uint64_t iters)               \
	{                                                                      \
		fn##_flow(ctx, iters, false);                                  \
	}                                                                      \
	static void fn##_mpsc(weft_bench_ctx *ctx, uint64_t iters)             \
	{                                                                      \
		fn##_flow(ctx, iters, true);                                   \
	}                                                                      \
                                                                               \
	static void fn##_pingpong(weft_bench_ctx *ctx, uint64_t iters)         \
	{                                                                      \
		bq_shared *s = ctx->shared;                                    \
		const unsigned t = ctx->thread;                                \
		void *out = s->q[t], *in = s->q[!t], *v;                       \
		unsigned spins = 0;                                            \
		for (uint64_t i = 0; i < iters; i++) {                         \
			if (t == 0)                                            \
				while (!fn##_bq_push(out, t, tag(i)))          \
					wait_step(&spins);                     \
			while (!fn##_bq_pop(in, t, &v))                        \
				wait_step(&spins);                             \
			if (t == 1)                                            \
				while (!fn##_bq_push(out, t, v))               \
					wait_step(&spins);                     \
			weft_bench_lap(ctx); /* one round trip */              \
		}                                                              \
		ctx->items += (double)iters / 2;                               \
	}

#define BQ_BULK_IMPL(fn)                                                       \
	static void fn##_bulk(weft_bench_ctx *ctx, uint64_t iters)             \
	{                                                                      \
		void *q = ((bq_shared *)ctx->shared)->q[0];                    \
		const unsigned t = ctx->thread;                                \
		const unsigned P = ctx->threads / 2;                           \
		void *items[BULK];                                             \
		unsigned spins = 0;                                            \
		for (unsigned k = 0; k < BULK; k++)                            \
			items[k] = tag(k);                                     \
		for (uint64_t i = 0; i < iters;) {                             \
			uint64_t want = iters - i < BULK ? iters - i : BULK;   \
			size_t got = t < P ? fn##_bq_push_n(q, t, items, want) \
					   : fn##_bq_pop_n(q, t, items, want); \
			i += got;                                              \
			if (got == 0) /* let a batch fill: see the top */         \
				bulk_backoff(&spins);                          \
			else if (got < want)                                   \
				wait_step(&spins);                             \
		}                                                              \
		ctx->items += (double)iters * P / ctx->threads;                \
	}

static void bq_teardown(void *p)
{
	bq_shared *s = p;
	s->free(s->q[0]);
	s->free(s->q[1]);
	free(s);
}

/* Single thread: push BURST items, measure, pop them. */
#define BQ_BURST_IMPL(fn, bytes_fn)                                            \
	static void fn##_burst(weft_bench_ctx *ctx, uint64_t iters)            \
	{                                                                      \
		void *q = ((bq_shared *)ctx->shared)->q[0], *v;                \
		for (uint64_t i = 0; i < iters; i++)                           \
			(void)fn##_bq_push(q, 0, tag(i));                      \
		double bytes = (bytes_fn)(q, iters);                           \
		if (bytes >= 0)                                                \
			weft_bench_counter(ctx, "bytes_per_item", bytes / (double)iters); \
		for (uint64_t i = 0; i < iters; i++)                           \
			(void)fn##_bq_pop(q, 0, &v);                           \
		ctx->items += (double)iters;                                   \
	}

static double no_bytes(void *q, size_t n)
{
	(void)q;
	(void)n;
	return -1;
}

/* Thread-count lists: threads = 2P (ring), P + 1 (mpsc). */
static const unsigned ring_pc_threads[] = { 2, 4, 8, 0 };
static const unsigned ring_bulk_threads[] = { 2, 4, 0 };
/*
 * ck_ring_mpmc commits reservations in order, spinning inside
 * ck_ring_enqueue_mpmc for a preempted earlier producer (no yield point for
 * the body): at 4:4 on 2 cores one batch did not finish in minutes. It runs
 * at 1:1 and 2:2 only, the shapes the bar names.
 */
static const unsigned ck_ring_mpmc_threads[] = { 2, 4, 0 };
/* Budget (the whole suite stays within ~3 minutes on 2 cores): the node
 * peers, which trail at every shape, run only where the bar compares. */
static const unsigned mpsc_bar_threads[] = { 2, 3, 0 };
static const unsigned mpsc_threads[] = { 2, 3, 5, 9, 0 };

#define REG(id, nm, fn, body, thr, b)                                          \
	WEFT_BENCH(id){ .name = nm, .threads = thr, .setup = fn##_setup,        \
			.teardown = bq_teardown, .run = fn##_##body, .batch = b }
/* The same with the latency row "<primitive>/<case>_lat/<impl>" too. */
#define REG_LAT(id, nm, fn, body, thr, b)                                      \
	WEFT_BENCH(id){ .name = nm, .threads = thr, .setup = fn##_setup,        \
			.teardown = bq_teardown, .run = fn##_##body, .batch = b,  \
			.flags = WEFT_BENCH_LATENCY }

/* -------------------------------------------------------- instantiation */

BQ_IMPL(weft_ring, "weft")
BQ_BULK_IMPL(weft_ring)
BQ_IMPL(weft_spsc, "weft")
BQ_BULK_IMPL(weft_spsc)
BQ_IMPL(weft_ring_wait, "weft")
BQ_IMPL(weft_spsc_wait, "weft")
BQ_IMPL(weft_burst, "weft_burst")
BQ_BULK_IMPL(weft_burst)
BQ_IMPL(weft_spsc_burst, "weft_burst")
BQ_BULK_IMPL(weft_spsc_burst)
BQ_IMPL(pthread_ring, "pthread")
BQ_BULK_IMPL(pthread_ring)
BQ_IMPL(ck_ring_mpmc, "ck_ring_mpmc")
BQ_IMPL(ck_ring_spsc, "ck_ring_spsc")
BQ_IMPL(ck_fifo_spsc, "ck_fifo_spsc")
BQ_IMPL(ck_fifo_spsc_prealloc, "ck_fifo_spsc_prealloc")
BQ_IMPL(ck_fifo_mpmc, "ck_fifo_mpmc")
BQ_IMPL(ck_fifo_mpmc_prealloc, "ck_fifo_mpmc_prealloc")
BQ_IMPL(moodycamel_ring, "moodycamel")
BQ_BULK_IMPL(moodycamel_ring)
BQ_IMPL(weft_mpsc, "weft")
BQ_IMPL(weft_trypop, "weft_trypop")
BQ_IMPL(weft_intrusive, "weft_intrusive")
BQ_IMPL(pthread, "pthread")
BQ_IMPL(wfcqueue, "wfcqueue")
BQ_IMPL(wfcqueue_prealloc, "wfcqueue_prealloc")
BQ_IMPL(moodycamel, "moodycamel")
BQ_BURST_IMPL(weft_mpsc, weft_mpsc_bytes)
BQ_BURST_IMPL(pthread, pthread_bytes)
BQ_BURST_IMPL(wfcqueue, wfcqueue_bytes)
BQ_BURST_IMPL(ck_fifo_mpmc, ck_fifo_mpmc_bytes)
BQ_BURST_IMPL(moodycamel, no_bytes)

/* ring/mpmc: every MPMC-capable bounded queue (and ck_fifo_mpmc) */
REG(r_mpmc_weft, "ring/mpmc/weft", weft_ring, pc, ring_pc_threads, 256);
REG(r_mpmc_pthread, "ring/mpmc/pthread", pthread_ring, pc, ring_pc_threads, 256);
REG(r_mpmc_ckr, "ring/mpmc/ck_ring_mpmc", ck_ring_mpmc, pc, ck_ring_mpmc_threads, 256);
REG(r_mpmc_ckf, "ring/mpmc/ck_fifo_mpmc", ck_fifo_mpmc, pc, ck_ring_mpmc_threads, 256);
REG(r_mpmc_ckfp, "ring/mpmc/ck_fifo_mpmc_prealloc", ck_fifo_mpmc_prealloc, pc,
    ck_ring_mpmc_threads, 256);
REG(r_mpmc_mc, "ring/mpmc/moodycamel", moodycamel_ring, pc, ring_pc_threads, 256);

/* ring/spsc */
REG(r_spsc_weft, "ring/spsc/weft", weft_spsc, pc, weft_bench_threads_2, 256);
REG(r_spsc_pthread, "ring/spsc/pthread", pthread_ring, pc, weft_bench_threads_2, 256);
REG(r_spsc_ckr, "ring/spsc/ck_ring_spsc", ck_ring_spsc, pc, weft_bench_threads_2, 256);
REG(r_spsc_ckf, "ring/spsc/ck_fifo_spsc", ck_fifo_spsc, pc, weft_bench_threads_2, 256);
REG(r_spsc_ckfp, "ring/spsc/ck_fifo_spsc_prealloc", ck_fifo_spsc_prealloc, pc,
    weft_bench_threads_2, 256);
REG(r_spsc_mc, "ring/spsc/moodycamel", moodycamel_ring, pc, weft_bench_threads_2, 256);

/* bulk: the peers with a bulk API (ck_ring has none) */
REG(r_bulk_weft, "ring/bulk32/weft", weft_ring, bulk, ring_bulk_threads, 1024);
REG(r_bulk_pthread, "ring/bulk32/pthread", pthread_ring, bulk, ring_bulk_threads, 1024);
REG(r_bulk_mc, "ring/bulk32/moodycamel", moodycamel_ring, bulk, ring_bulk_threads, 1024);
REG(r_bulk_weftb, "ring/bulk32/weft_burst", weft_burst, bulk, ring_bulk_threads, 1024);
REG(r_sbulk_weft, "ring/spsc_bulk32/weft", weft_spsc, bulk, weft_bench_threads_2, 1024);
REG(r_sbulk_weftb, "ring/spsc_bulk32/weft_burst", weft_spsc_burst, bulk,
    weft_bench_threads_2, 1024);
REG(r_sbulk_mc, "ring/spsc_bulk32/moodycamel", moodycamel_ring, bulk,
    weft_bench_threads_2, 1024);

/* ring/pingpong */
REG_LAT(r_pp_weft, "ring/pingpong/weft", weft_ring_wait, pingpong, weft_bench_threads_2, 64);
REG_LAT(r_pp_weft_spsc, "ring/pingpong/weft_spsc", weft_spsc_wait, pingpong, weft_bench_threads_2, 64);
REG_LAT(r_pp_pthread, "ring/pingpong/pthread", pthread_ring, pingpong, weft_bench_threads_2, 64);
REG_LAT(r_pp_ckr_spsc, "ring/pingpong/ck_ring_spsc", ck_ring_spsc, pingpong,
    weft_bench_threads_2, 64);
REG_LAT(r_pp_mc, "ring/pingpong/moodycamel", moodycamel_ring, pingpong, weft_bench_threads_2, 64);

/* mpsc/throughput */
REG(m_thr_weft, "mpsc/throughput/weft", weft_mpsc, mpsc, mpsc_threads, 256);
REG(m_thr_weft_try, "mpsc/throughput/weft_trypop", weft_trypop, mpsc, mpsc_bar_threads, 256);
/* intrusive: preallocated nodes, like the *_prealloc rows (for information) */
REG(m_thr_weft_i, "mpsc/throughput/weft_intrusive", weft_intrusive, mpsc, mpsc_threads, 256);
REG(m_thr_pthread, "mpsc/throughput/pthread", pthread, mpsc, mpsc_threads, 256);
REG(m_thr_wfcq, "mpsc/throughput/wfcqueue", wfcqueue, mpsc, mpsc_threads, 256);
REG(m_thr_wfcqp, "mpsc/throughput/wfcqueue_prealloc", wfcqueue_prealloc, mpsc,
    mpsc_bar_threads, 256);
REG(m_thr_ckf, "mpsc/throughput/ck_fifo_mpmc", ck_fifo_mpmc, mpsc, mpsc_bar_threads, 256);
REG(m_thr_ckfp, "mpsc/throughput/ck_fifo_mpmc_prealloc", ck_fifo_mpmc_prealloc, mpsc,
    mpsc_bar_threads, 256);
REG(m_thr_mc, "mpsc/throughput/moodycamel", moodycamel, mpsc, mpsc_threads, 256);

/* mpsc/pingpong */
REG_LAT(m_pp_weft, "mpsc/pingpong/weft", weft_mpsc, pingpong, weft_bench_threads_2, 64);
REG_LAT(m_pp_weft_i, "mpsc/pingpong/weft_intrusive", weft_intrusive, pingpong, weft_bench_threads_2, 64);
REG_LAT(m_pp_pthread, "mpsc/pingpong/pthread", pthread, pingpong, weft_bench_threads_2, 64);
REG_LAT(m_pp_wfcq, "mpsc/pingpong/wfcqueue", wfcqueue, pingpong, weft_bench_threads_2, 64);
REG_LAT(m_pp_ckf, "mpsc/pingpong/ck_fifo_mpmc", ck_fifo_mpmc, pingpong, weft_bench_threads_2, 64);
REG_LAT(m_pp_mc, "mpsc/pingpong/moodycamel", moodycamel, pingpong, weft_bench_threads_2, 64);

/* mpsc/burst64k: memory per queued item */
REG(m_burst_weft, "mpsc/burst64k/weft", weft_mpsc, burst, weft_bench_threads_1, BURST);
REG(m_burst_pthread, "mpsc/burst64k/pthread", pthread, burst, weft_bench_threads_1, BURST);
REG(m_burst_wfcq, "mpsc/burst64k/wfcqueue", wfcqueue, burst, weft_bench_threads_1, BURST);
REG(m_burst_ckf, "mpsc/burst64k/ck_fifo_mpmc", ck_fifo_mpmc, burst, weft_bench_threads_1,
    BURST);
REG(m_burst_mc, "mpsc/burst64k/moodycamel", moodycamel, burst, weft_bench_threads_1, BURST);
