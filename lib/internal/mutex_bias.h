/*
 * lib/internal/mutex_bias.h - weft_mutex's bias (lock reservation; the
 * modes and states are in weft/mutex.h, the proofs in lib/mutex_bias.c).
 */
#ifndef WEFT_INTERNAL_MUTEX_BIAS_H
#define WEFT_INTERNAL_MUTEX_BIAS_H

#include <stdatomic.h>
#include <stdint.h>

#include "weft/mutex.h"

/*
 * The revocation budget, process-wide (as the yield ban of
 * internal/backoff.h): each revocation measures what its mode change cost
 * (the membarrier and the bookkeeping around it, not the wait for the
 * owner to leave, which a normal lock would wait too) and refuses new
 * biases for WEFT__MUTEX_BIAS_BAN_FACTOR times that, so that revocations
 * take at most about 1/FACTOR of the time. A mutex whose first lock falls
 * in a ban is never biased. The ban only grows (a later, shorter ban does
 * not cut an earlier one short).
 */
#define WEFT__MUTEX_BIAS_BAN_FACTOR 100u
extern _Atomic uint64_t weft__mutex_bias_banned_until;

/* Lock a mutex whose owner is not NOBIAS for weft__mutex_lock_yielding
 * (internal/mutex.h): as weft__mutex_bias_lock, but in normal mode it
 * takes the lock through weft__mutex_lock_normal_yielding. */
void weft__mutex_bias_lock_yielding(weft_mutex *m);
/* weft__mutex_lock_yielding for a mutex known to be in normal mode. */
void weft__mutex_lock_normal_yielding(weft_mutex *m);

#endif /* WEFT_INTERNAL_MUTEX_BIAS_H */
