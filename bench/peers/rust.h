/*
 * bench/peers/rust.h - the extern "C" surface of bench/rust (the Rust peers:
 * crossbeam-channel, std mpsc, rayon, threadpool, std Arc), one block per
 * module of bench/rust/src.
 */
#ifndef WEFT_BENCH_PEERS_RUST_H
#define WEFT_BENCH_PEERS_RUST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "rustc 1.95.0 (...)": recorded in each result's context. */
const char *weft_rs_rustc_version(void);

/* arc.rs: std::sync::Arc<u64> shared by the arc/clone_drop threads. */
void *weft_rs_arc_new(void);
void weft_rs_arc_clone_drop(const void *shared, uint64_t n);
void weft_rs_arc_free(void *shared);
/* chan.rs: crossbeam-channel 0.5 and std::sync::mpsc carrying u64;
 * cap SIZE_MAX = unbounded (std: channel(), else sync_channel(cap)). */
typedef struct weft_rs_cb_chan weft_rs_cb_chan;
typedef struct weft_rs_std_chan weft_rs_std_chan;
weft_rs_cb_chan *weft_rs_chan_cb_new(size_t cap);
void weft_rs_chan_cb_send(const weft_rs_cb_chan *c, uint64_t v);
uint64_t weft_rs_chan_cb_recv(const weft_rs_cb_chan *c);
uint64_t weft_rs_chan_cb_select4(const weft_rs_cb_chan *a, const weft_rs_cb_chan *b,
				 const weft_rs_cb_chan *c, const weft_rs_cb_chan *d);
void weft_rs_chan_cb_free(weft_rs_cb_chan *c);
weft_rs_std_chan *weft_rs_chan_std_new(size_t cap);
void weft_rs_chan_std_send(const weft_rs_std_chan *c, uint64_t v);
uint64_t weft_rs_chan_std_recv(const weft_rs_std_chan *c);
void weft_rs_chan_std_free(weft_rs_std_chan *c);
/* src/pool.rs: rayon (ThreadPool of n threads) and the threadpool crate. */
typedef struct weft_rs_rayon_pool weft_rs_rayon_pool;
weft_rs_rayon_pool *weft_rs_pool_rayon_create(uint32_t threads);
void weft_rs_pool_rayon_destroy(weft_rs_rayon_pool *p);
void weft_rs_pool_rayon_empty_tasks(weft_rs_rayon_pool *p, uint64_t n);
uint64_t weft_rs_pool_rayon_fib(weft_rs_rayon_pool *p, uint32_t n, uint32_t cutoff);
uint64_t weft_rs_pool_rayon_reduce(weft_rs_rayon_pool *p, uint64_t n, uint64_t grain);
uint64_t weft_rs_pool_rayon_wakeup(weft_rs_rayon_pool *p); /* ns submit -> start */
typedef struct weft_rs_threadpool weft_rs_threadpool;
weft_rs_threadpool *weft_rs_pool_threadpool_create(uint32_t threads);
void weft_rs_pool_threadpool_destroy(weft_rs_threadpool *p);
void weft_rs_pool_threadpool_empty_tasks(weft_rs_threadpool *p, uint64_t n);
uint64_t weft_rs_pool_threadpool_reduce(weft_rs_threadpool *p, uint64_t n, uint64_t grain);
uint64_t weft_rs_pool_threadpool_wakeup(weft_rs_threadpool *p);

/* src/rt.rs: tokio 1.24 (multi-thread Runtime, time driver); each call
 * runs its work in one task spawned on the runtime, the caller waits. */
typedef struct weft_rs_rt weft_rs_rt;
weft_rs_rt *weft_rs_rt_new(uint32_t threads);
void weft_rs_rt_free(weft_rs_rt *rt);
void weft_rs_rt_spawn_join(const weft_rs_rt *rt, uint64_t n);  /* spawn + await, n times */
void weft_rs_rt_pingpong(const weft_rs_rt *rt, uint64_t n);    /* n round trips, mpsc(1) */
void weft_rs_rt_switch(const weft_rs_rt *rt, uint64_t n);      /* 2 tasks x n yield_now */
/* ns to all done; *most_asleep: the most tasks asleep at once */
uint64_t weft_rs_rt_sleepers(const weft_rs_rt *rt, uint64_t tasks, uint64_t sleep_ns,
			     uint64_t *most_asleep);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_BENCH_PEERS_RUST_H */
