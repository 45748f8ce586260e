/*
 * bench/peers/rust.h - the extern "C" surface of bench/rust (the Rust peers:
 * crossbeam-channel, std mpsc, rayon, threadpool, std Arc), one block per
 * module of bench/rust/src.
 */
#ifndef WEFT_BENCH_PEERS_RUST_H
#define WEFT_BENCH_PEERS_RUST_H

#ifdef __cplusplus
extern "C" {
#endif

/* "rustc 1.95.0 (...)": recorded in each result's context. */
const char *weft_rs_rustc_version(void);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_BENCH_PEERS_RUST_H */
