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

/* arc.rs: std::sync::Arc<u64> shared by the arc/clone_drop threads. */
void *weft_rs_arc_new(void);
void weft_rs_arc_clone_drop(const void *shared, uint64_t n);
void weft_rs_arc_free(void *shared);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_BENCH_PEERS_RUST_H */
