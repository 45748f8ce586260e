/*
 * weft/once.h - run a function exactly once, in one 32-bit word.
 *
 *     0 INCOMPLETE  fn has not started (also all-zero memory)
 *     1 RUNNING     a thread is running fn; nobody sleeps yet
 *     2 WAITING     running, and callers sleep on the futex
 *     3 DONE        fn has returned; its effects are visible to every
 *                   caller that reads DONE (acquire)
 *
 * call: an acquire load of DONE is the whole fast path. Otherwise the first
 * caller to CAS 0 -> 1 runs fn, then swaps in DONE (release) and wakes the
 * sleepers only if one registered (1 -> 2). fn must return (no longjmp out
 * of it) and must not call weft_once_call on the same once (deadlock).
 * Size 4 bytes.
 */
#ifndef WEFT_ONCE_H
#define WEFT_ONCE_H

#include <stdatomic.h>
#include <stdint.h>

#include "weft/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_once {
	_Atomic uint32_t state;
} weft_once;

#define WEFT_ONCE_INIT { 0 }
#define WEFT_ONCE_DONE 3u

WEFT_API void weft__once_call_slow(weft_once *o, void (*fn)(void *), void *arg);

static inline void weft_once_call(weft_once *o, void (*fn)(void *), void *arg)
{
	/* acquire: pairs with the release exchange that stores DONE in
	 * weft__once_call_slow, so fn's effects are visible here. */
	if (WEFT_LIKELY(atomic_load_explicit(&o->state, memory_order_acquire) ==
			WEFT_ONCE_DONE))
		return;
	weft__once_call_slow(o, fn, arg);
}

#ifdef __cplusplus
}
#endif

#endif /* WEFT_ONCE_H */
