/*
 * weft/ref.h - a saturating reference count (Linux refcount_t's rules).
 *
 * One 32-bit word, read as a signed count:
 *
 *     0                   the object is dead (or not yet shared); only
 *                         inc_not_zero may look at it, and it refuses
 *     1 .. INT32_MAX      live, that many references
 *     negative            saturated: an increment overflowed, or a count
 *                         was misused (decrement of 0); pinned near
 *                         WEFT_REF_SATURATED (0xc0000000) from then on
 *
 * Saturation turns an overflow into a leak instead of a use-after-free: a
 * count that wrapped to 0 would free an object still referenced 2^32 times.
 * A saturated count is never freed (dec_and_test stays false) and stays
 * saturated; the saturation value sits in the middle of the negative half,
 * so up to 2^30 racing increments or decrements between the moment one of
 * them sees the bad value and its store of WEFT_REF_SATURATED cannot bring
 * the count back to the live range (the refcount_t argument).
 *
 * inc on a count of 0 is a bug (the object is being freed); WEFT_DEBUG
 * builds abort with a message, other builds saturate (leak the object,
 * never resurrect it). A decrement of 0 is treated the same way.
 *
 * Orders:
 *   - inc, inc_not_zero: relaxed. Taking a new reference needs no ordering:
 *     the caller already reaches the object through a reference or a
 *     lookup that keeps its memory valid (a lock, RCU...), and the count
 *     alone orders nothing else. The object's destruction stays ordered
 *     after every use: each RMW on the count continues the release
 *     sequences of earlier decrements (below).
 *   - dec_and_test: release decrement; when it returns true, an acquire
 *     fence. Release: every access this thread made to the object happens
 *     before the decrement, and so before whoever frees it. Acquire fence
 *     (only on the last decrement, so other decrements pay nothing): the
 *     fetch_sub that read 1 read the end of a chain of RMWs that contains
 *     every earlier release decrement, so the fence synchronises with all
 *     of them and the caller may free the object after every other
 *     holder's last access. Under ThreadSanitizer (which does not model
 *     fences) an acquire load of the count replaces the fence; it reads
 *     the same RMW chain (as Rust's Arc does).
 * Size 4 bytes; all-zero memory is a count of 0 (a dead object). Use
 * weft_ref_init (or WEFT_REF_INIT(n)) before sharing.
 */
#ifndef WEFT_REF_H
#define WEFT_REF_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "weft/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_ref {
	_Atomic uint32_t count;
} weft_ref;

#define WEFT_REF_SATURATED 0xc0000000u
#define WEFT_REF_INIT(n) { (n) }

/* Slow path (lib/ref.c): a bad count was seen; WEFT_DEBUG aborts with
 * `what` when old is 0, otherwise the count is pinned at SATURATED. */
WEFT_API void weft__ref_saturate(weft_ref *r, uint32_t old, const char *what);

/* Would a count that was `old` before adding 1 leave the live range? */
static inline bool weft__ref_add_overflows(uint32_t old)
{
	return (int32_t)(old + 1) <= 0; /* old >= INT32_MAX, or saturated */
}

/* Set the count to n (before the object is shared); n above INT32_MAX
 * stores WEFT_REF_SATURATED. */
static inline void weft_ref_init(weft_ref *r, uint32_t n)
{
	/* relaxed: the object is not shared yet; publishing it orders this. */
	atomic_store_explicit(&r->count, (int32_t)n < 0 ? WEFT_REF_SATURATED : n,
			      memory_order_relaxed);
}

/* The count now (a snapshot: other threads may change it right after). */
static inline uint32_t weft_ref_read(const weft_ref *r)
{
	/* relaxed: a snapshot, orders nothing. */
	return atomic_load_explicit(&r->count, memory_order_relaxed);
}

/* Take a reference; the caller must hold one already (count > 0). */
static inline void weft_ref_inc(weft_ref *r)
{
	/* relaxed: see the header comment (no ordering needed to take one). */
	uint32_t old = atomic_fetch_add_explicit(&r->count, 1, memory_order_relaxed);
	if (WEFT_UNLIKELY(old == 0 || weft__ref_add_overflows(old)))
		weft__ref_saturate(r, old, "weft_ref_inc: increment of a count of 0 "
					   "(use after free)");
}

/*
 * Take a reference unless the count is 0 (the object is being freed):
 * true when taken. For lookups that find objects whose last reference may
 * be going away concurrently. A saturated count stays saturated (true).
 */
static inline bool weft_ref_inc_not_zero(weft_ref *r)
{
	/* relaxed: see the header comment; the CAS refreshes old. */
	uint32_t old = atomic_load_explicit(&r->count, memory_order_relaxed);
	do {
		if (old == 0)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(
		&r->count, &old, old + 1, memory_order_relaxed,
		memory_order_relaxed));
	if (WEFT_UNLIKELY(weft__ref_add_overflows(old)))
		weft__ref_saturate(r, old, "weft_ref_inc_not_zero: overflow");
	return true;
}

/*
 * Drop a reference: true when it was the last one (the caller now frees
 * the object); false otherwise, and always false on a saturated count.
 */
static inline bool weft_ref_dec_and_test(weft_ref *r)
{
	/* release: this thread's accesses to the object happen-before the
	 * acquire (fence or load) below in whichever thread drops the last
	 * reference. */
	uint32_t old = atomic_fetch_sub_explicit(&r->count, 1, memory_order_release);
	if (WEFT_LIKELY(old == 1)) {
#if WEFT_TSAN
		/* acquire: reads the RMW chain of every release decrement
		 * (TSan does not model the fence used otherwise). */
		(void)atomic_load_explicit(&r->count, memory_order_acquire);
#else
		/* acquire: pairs with the release decrements of all other
		 * holders (header comment): their accesses happen-before the
		 * caller frees the object. */
		atomic_thread_fence(memory_order_acquire);
#endif
		return true;
	}
	if (WEFT_UNLIKELY((int32_t)old <= 0))
		weft__ref_saturate(r, old, "weft_ref_dec_and_test: decrement of a "
					   "count of 0 (double free)");
	return false;
}

#ifdef __cplusplus
}
#endif

#endif /* WEFT_REF_H */
