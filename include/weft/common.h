/*
 * weft/common.h - definitions shared by every weft header.
 *
 * Nothing here is a primitive; it is the vocabulary the primitives' headers
 * use: cache-line size, export marker, branch hints, the debug-abort hook,
 * and the hash that spreads addresses over weft's small hashed tables.
 */
#ifndef WEFT_COMMON_H
#define WEFT_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Size used to keep independently written hot fields apart: fixed when
 * weft is built (CMake option WEFT_CACHELINE, default 64; 128 for targets
 * whose coherence granule is larger) and recorded in the installed
 * weft/config.h, because it sets the layout of weft's structures. A user
 * who defines a different WEFT_CACHELINE gets a compile error, not a
 * silent layout mismatch.
 */
#include "weft/config.h"
#ifdef WEFT_CACHELINE
#if WEFT_CACHELINE != WEFT_CONFIG_CACHELINE
#error "WEFT_CACHELINE differs from the value weft was built with (weft/config.h)"
#endif
#else
#define WEFT_CACHELINE WEFT_CONFIG_CACHELINE
#endif

/* Marks what the shared library exports (it is built with
 * -fvisibility=hidden): the API, and the weft__ slow paths that the
 * inline fast paths call. */
#define WEFT_API __attribute__((visibility("default")))

#define WEFT_ALIGNED_CACHELINE _Alignas(WEFT_CACHELINE)

#define WEFT_LIKELY(x) __builtin_expect(!!(x), 1)
#define WEFT_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Internal: the top `bits` bits of x times 2^64 / phi (Fibonacci hashing),
 * an index into a table of 2^bits entries (the rwlock's read-bias tables). */
static inline uint64_t weft__hash_bits(uint64_t x, unsigned bits)
{
	return (x * 0x9e3779b97f4a7c15ull) >> (64 - bits);
}

/*
 * WEFT_TSAN is 1 when compiling under ThreadSanitizer (GCC defines
 * __SANITIZE_THREAD__, Clang has __has_feature(thread_sanitizer)). TSan does
 * not model atomic_thread_fence, so the few fence-based orders in weft
 * (seqlock, ref, arc) use equivalent acquire loads / release stores there,
 * and the tsan build stays silent on correct use.
 */
#if defined(__SANITIZE_THREAD__)
#define WEFT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WEFT_TSAN 1
#endif
#endif
#ifndef WEFT_TSAN
#define WEFT_TSAN 0
#endif

/* A timeout meaning "no deadline" for every *_timeout function. */
#define WEFT_TIMEOUT_NEVER UINT64_MAX

/* Debug builds (-DWEFT_DEBUG) turn misuse into an abort with this message. */
WEFT_API _Noreturn void weft__debug_abort(const char *what);

#ifdef WEFT_DEBUG
#define WEFT_DEBUG_CHECK(cond, what)                                           \
	do {                                                                   \
		if (WEFT_UNLIKELY(!(cond)))                                    \
			weft__debug_abort(what);                                \
	} while (0)
#else
#define WEFT_DEBUG_CHECK(cond, what) ((void)0)
#endif

#ifdef __cplusplus
}
#endif

#endif /* WEFT_COMMON_H */
