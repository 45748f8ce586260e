/*
 * weft/barrier.h - a reusable centralized barrier on a futex, 16 bytes.
 *
 *     arrived  threads that reached the barrier in the current round
 *     gen      round number << 1, plus bit 0 SLEEPING: some waiter is (or is
 *              about to be) asleep on the futex for this round
 *     n        threads per round (fixed by init)
 *     spin     relax hints a waiter spins before sleeping, adapted round by
 *              round (grows while spinning pays off, halves when the waiter
 *              had to sleep anyway); never spins when n exceeds the online
 *              CPUs: spinning then only steals the CPU the missing threads
 *              need
 *
 * wait: read gen, then fetch_add arrived (acq_rel). The n-th arrival is the
 * round's leader: it resets arrived, bumps gen (release) and wakes the
 * sleepers only if SLEEPING was set (no system call otherwise), and returns
 * true. The others spin on gen (acquire), then set SLEEPING and futex-wait
 * on gen until it changes; they return false. A thread that left round r
 * can only arrive for round r+1, so rounds never mix.
 *
 * Writes made before wait() in any thread are visible after wait() returns
 * in every thread. destroy() while threads wait is a bug (WEFT_DEBUG aborts).
 */
#ifndef WEFT_BARRIER_H
#define WEFT_BARRIER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "weft/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_barrier {
	_Atomic uint32_t arrived;
	_Atomic uint32_t gen;
	uint32_t n;
	_Atomic uint32_t spin;
} weft_barrier;

/* 0, or EINVAL when n == 0. */
WEFT_API int weft_barrier_init(weft_barrier *b, unsigned n);

/* Block until n threads have called it; true in exactly one of them. */
WEFT_API bool weft_barrier_wait(weft_barrier *b);

WEFT_API void weft_barrier_destroy(weft_barrier *b);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_BARRIER_H */
