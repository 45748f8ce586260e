/*
 * bench/peers/fcontext.h - Boost.Context's fcontext (Debian's
 * libboost-context-dev) as the bare-switch peer of bench/bench_rt.c's
 * rt/switch: make_fcontext on a malloc'd stack, then jump_fcontext back and
 * forth between the caller and that context (no system call per switch,
 * unlike ucontext). Built only where CMake finds Boost.Context
 * (WEFT_BENCH_HAVE_FCONTEXT; never in the ARM64 cross build).
 */
#ifndef WEFT_BENCH_PEERS_FCONTEXT_H
#define WEFT_BENCH_PEERS_FCONTEXT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_fc weft_fc;
weft_fc *weft_fc_new(size_t stack_size);
/* n round trips caller -> context -> caller: 2n switches. */
void weft_fc_bounce(weft_fc *fc, uint64_t n);
void weft_fc_free(weft_fc *fc);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_BENCH_PEERS_FCONTEXT_H */
