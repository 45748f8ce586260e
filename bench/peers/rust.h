/*
 * bench/peers/rust.h - the extern "C" surface of bench/rust (the Rust peers:
 * crossbeam-channel, std mpsc, rayon, threadpool, std Arc), one block per
 * module of bench/rust/src.
 */
#ifndef WEFT_BENCH_PEERS_RUST_H
#define WEFT_BENCH_PEERS_RUST_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "rustc 1.95.0 (...)": recorded in each result's context. */
const char *weft_rs_rustc_version(void);

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

#ifdef __cplusplus
}
#endif

#endif /* WEFT_BENCH_PEERS_RUST_H */
