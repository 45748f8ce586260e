/*
 * bench/bench_chan.c - weft_chan against its baselines (bench/peers/chan.h,
 * and the Rust peers crossbeam-channel 0.5 and std::sync::mpsc through
 * bench/rust/src/chan.rs), the same bodies for every implementation; the
 * elements are uint64_t:
 *
 *   chan/unbounded_PxC     P senders, C receivers on one unbounded channel
 *   chan/bounded1024_PxC   the same on a bounded channel of 1024
 *                          (PxC = 1x1, 4x1, 4x4, 8x8: 2, 5, 8, 16 threads)
 *   chan/rendezvous_pingpong  two threads bounce an element through two
 *                          rendezvous channels (capacity 0); one item = one
 *                          round trip (ns/op = round-trip time)
 *   chan/bounded1_pingpong the same through two channels of capacity 1
 *   chan/select4           4 senders, each on its own bounded(1024) channel;
 *                          one receiver selects over the 4 receive ops
 *
 * items/s counts elements delivered (each thread reports its share).
 * Every send and receive is the implementation's blocking call: the waiting
 * is part of what is measured. std::sync::mpsc's Receiver is single-consumer
 * (not Sync), so std rows exist only where C = 1; GLib only unbounded;
 * pthread has no rendezvous and no select; select4 compares with
 * crossbeam's select! only.
 */
#include <stdlib.h>

#include "peers/chan.h"
#include "shim.h"
#include "weft/chan.h"
#if WEFT_BENCH_HAVE_RUST
#include "peers/rust.h"
#endif

#define NCHAN 4

typedef struct chan_shared {
	void *ch[NCHAN];
	void (*free)(void *);
} chan_shared;

static const unsigned threads_2[] = { 2, 0 }, threads_5[] = { 5, 0 },
		      threads_8[] = { 8, 0 }, threads_16[] = { 16, 0 };

/* P senders, C receivers: P and C from the thread count (2, 5, 8, 16). */
static void shape(unsigned threads, unsigned *p, unsigned *c)
{
	switch (threads) {
	case 2: *p = 1; *c = 1; break;
	case 5: *p = 4; *c = 1; break;
	case 8: *p = 4; *c = 4; break;
	default: *p = 8; *c = 8; break;
	}
}

/* ------------------------------------------------------------- weft */

static void *weft_new(size_t cap)
{
	weft_chan *ch;
	if (weft_chan_create(&ch, sizeof(uint64_t), cap) != 0)
		abort();
	return ch;
}

static inline void weft_send(void *ch, uint64_t v)
{
	weft_chan_send(ch, &v);
}

static inline uint64_t weft_recv(void *ch)
{
	uint64_t v = 0;
	weft_chan_recv(ch, &v);
	return v;
}

static void weft_free(void *ch)
{
	weft_chan_sender_drop(ch);
	weft_chan_receiver_drop(ch);
}

#if WEFT_BENCH_HAVE_RUST
static void *crossbeam_new(size_t cap) { return weft_rs_chan_cb_new(cap); }
static inline void crossbeam_send(void *c, uint64_t v) { weft_rs_chan_cb_send(c, v); }
static inline uint64_t crossbeam_recv(void *c) { return weft_rs_chan_cb_recv(c); }
static void crossbeam_free(void *c) { weft_rs_chan_cb_free(c); }
static void *rust_std_new(size_t cap) { return weft_rs_chan_std_new(cap); }
static inline void rust_std_send(void *c, uint64_t v) { weft_rs_chan_std_send(c, v); }
static inline uint64_t rust_std_recv(void *c) { return weft_rs_chan_std_recv(c); }
static void rust_std_free(void *c) { weft_rs_chan_std_free(c); }
#endif

static void chan_teardown(void *p)
{
	chan_shared *s = p;
	for (int i = 0; i < NCHAN; i++)
		s->free(s->ch[i]);
	free(s);
}

#define CHAN_SETUP(impl, suffix, cap)                                          \
	static void *impl##_setup_##suffix(unsigned threads)                   \
	{                                                                      \
		(void)threads;                                                 \
		chan_shared *s = malloc(sizeof *s);                            \
		for (int i = 0; i < NCHAN; i++)                                \
			s->ch[i] = impl##_new(cap);                            \
		s->free = impl##_free;                                         \
		return s;                                                      \
	}

#define CHAN_BODIES(impl)                                                      \
	static void impl##_flow(weft_bench_ctx *ctx, uint64_t iters)           \
	{                                                                      \
		chan_shared *s = ctx->shared;                                  \
		unsigned p, c;                                                 \
		shape(ctx->threads, &p, &c);                                   \
		void *ch = s->ch[0];                                           \
		if (ctx->thread < p) {                                         \
			for (uint64_t i = 0; i < iters; i++)                   \
				impl##_send(ch, i + 1);                        \
		} else {                                                       \
			uint64_t n = iters * p / c;                            \
			for (uint64_t i = 0; i < n; i++)                       \
				(void)impl##_recv(ch);                         \
		}                                                              \
		ctx->items += (double)iters * p / ctx->threads;                \
	}                                                                      \
                                                                               \
	static void impl##_pingpong(weft_bench_ctx *ctx, uint64_t iters)       \
	{                                                                      \
		chan_shared *s = ctx->shared;                                  \
		const unsigned t = ctx->thread;                                \
		void *out = s->ch[t], *in = s->ch[!t];                         \
		for (uint64_t i = 0; i < iters; i++) {                         \
			if (t == 0) {                                          \
				impl##_send(out, i + 1);                       \
				(void)impl##_recv(in);                         \
			} else {                                               \
				impl##_send(out, impl##_recv(in));             \
			}                                                      \
		}                                                              \
		ctx->items += (double)iters / 2;                               \
	}

#define CHAN_FLOW(impl, kind, suffix, shape_name, thr)                         \
	WEFT_BENCH(bench_chan_##impl##_##kind##_##shape_name){                 \
		.name = "chan/" #kind "_" #shape_name "/" #impl,               \
		.threads = thr,                                                \
		.setup = impl##_setup_##suffix,                                \
		.teardown = chan_teardown,                                     \
		.run = impl##_flow,                                            \
		.batch = 256,                                                  \
	}

#define CHAN_PINGPONG(impl, kind, suffix)                                      \
	WEFT_BENCH(bench_chan_##impl##_##kind##_pingpong){                     \
		.name = "chan/" #kind "_pingpong/" #impl,                      \
		.threads = threads_2,                                          \
		.setup = impl##_setup_##suffix,                                \
		.teardown = chan_teardown,                                     \
		.run = impl##_pingpong,                                        \
		.batch = 64,                                                   \
	}

#define CHAN_ALL_SHAPES(impl, kind, suffix)                                    \
	CHAN_FLOW(impl, kind, suffix, 1x1, threads_2);                         \
	CHAN_FLOW(impl, kind, suffix, 4x1, threads_5);                         \
	CHAN_FLOW(impl, kind, suffix, 4x4, threads_8);                         \
	CHAN_FLOW(impl, kind, suffix, 8x8, threads_16)

#define CHAN_SINGLE_CONSUMER(impl, kind, suffix)                               \
	CHAN_FLOW(impl, kind, suffix, 1x1, threads_2);                         \
	CHAN_FLOW(impl, kind, suffix, 4x1, threads_5)

/* weft: every row. */
CHAN_SETUP(weft, unbounded, WEFT_CHAN_UNBOUNDED)
CHAN_SETUP(weft, bounded1024, 1024)
CHAN_SETUP(weft, bounded1, 1)
CHAN_SETUP(weft, rendezvous, 0)
CHAN_BODIES(weft)
CHAN_ALL_SHAPES(weft, unbounded, unbounded);
CHAN_ALL_SHAPES(weft, bounded1024, bounded1024);
CHAN_PINGPONG(weft, rendezvous, rendezvous);
CHAN_PINGPONG(weft, bounded1, bounded1);

/* pthread: the ring for bounded rows, the list for unbounded ones. */
CHAN_SETUP(pthread_ring, bounded1024, 1024)
CHAN_SETUP(pthread_ring, bounded1, 1)
CHAN_BODIES(pthread_ring)
CHAN_ALL_SHAPES(pthread_ring, bounded1024, bounded1024);
CHAN_PINGPONG(pthread_ring, bounded1, bounded1);
CHAN_SETUP(pthread_list, unbounded, WEFT_CHAN_UNBOUNDED)
CHAN_BODIES(pthread_list)
CHAN_ALL_SHAPES(pthread_list, unbounded, unbounded);

#if WEFT_BENCH_HAVE_GLIB
CHAN_SETUP(glib, unbounded, WEFT_CHAN_UNBOUNDED)
CHAN_BODIES(glib)
CHAN_ALL_SHAPES(glib, unbounded, unbounded);
#endif

#if WEFT_BENCH_HAVE_RUST
CHAN_SETUP(crossbeam, unbounded, SIZE_MAX)
CHAN_SETUP(crossbeam, bounded1024, 1024)
CHAN_SETUP(crossbeam, bounded1, 1)
CHAN_SETUP(crossbeam, rendezvous, 0)
CHAN_BODIES(crossbeam)
CHAN_ALL_SHAPES(crossbeam, unbounded, unbounded);
CHAN_ALL_SHAPES(crossbeam, bounded1024, bounded1024);
CHAN_PINGPONG(crossbeam, rendezvous, rendezvous);
CHAN_PINGPONG(crossbeam, bounded1, bounded1);

CHAN_SETUP(rust_std, unbounded, SIZE_MAX)
CHAN_SETUP(rust_std, bounded1024, 1024)
CHAN_SETUP(rust_std, bounded1, 1)
CHAN_SETUP(rust_std, rendezvous, 0)
CHAN_BODIES(rust_std)
CHAN_SINGLE_CONSUMER(rust_std, unbounded, unbounded);
CHAN_SINGLE_CONSUMER(rust_std, bounded1024, bounded1024);
CHAN_PINGPONG(rust_std, rendezvous, rendezvous);
CHAN_PINGPONG(rust_std, bounded1, bounded1);
#endif

/* ----------------------------------------------------------- select4 */

/* Thread 0 receives through select; threads 1..4 each send on their own. */
static void weft_select4(weft_bench_ctx *ctx, uint64_t iters)
{
	chan_shared *s = ctx->shared;
	if (ctx->thread == 0) {
		uint64_t v[NCHAN];
		weft_chan_op ops[NCHAN];
		for (int i = 0; i < NCHAN; i++)
			ops[i] = (weft_chan_op){ s->ch[i], WEFT_CHAN_RECV, &v[i], 0 };
		for (uint64_t i = 0; i < iters * NCHAN; i++)
			(void)weft_chan_select(ops, NCHAN, WEFT_TIMEOUT_NEVER);
	} else {
		for (uint64_t i = 0; i < iters; i++)
			weft_send(s->ch[ctx->thread - 1], i + 1);
	}
	ctx->items += (double)iters * NCHAN / ctx->threads;
}

WEFT_BENCH(bench_chan_weft_select4){
	.name = "chan/select4/weft",
	.threads = threads_5,
	.setup = weft_setup_bounded1024,
	.teardown = chan_teardown,
	.run = weft_select4,
	.batch = 256,
};

#if WEFT_BENCH_HAVE_RUST
static void crossbeam_select4(weft_bench_ctx *ctx, uint64_t iters)
{
	chan_shared *s = ctx->shared;
	if (ctx->thread == 0) {
		for (uint64_t i = 0; i < iters * NCHAN; i++)
			(void)weft_rs_chan_cb_select4(s->ch[0], s->ch[1], s->ch[2], s->ch[3]);
	} else {
		for (uint64_t i = 0; i < iters; i++)
			crossbeam_send(s->ch[ctx->thread - 1], i + 1);
	}
	ctx->items += (double)iters * NCHAN / ctx->threads;
}

WEFT_BENCH(bench_chan_crossbeam_select4){
	.name = "chan/select4/crossbeam",
	.threads = threads_5,
	.setup = crossbeam_setup_bounded1024,
	.teardown = chan_teardown,
	.run = crossbeam_select4,
	.batch = 256,
};
#endif
