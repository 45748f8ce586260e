/*
 * lib/internal/mutex.h - weft_mutex entry points for other weft primitives.
 */
#ifndef WEFT_INTERNAL_MUTEX_H
#define WEFT_INTERNAL_MUTEX_H

#include "weft/mutex.h"

/*
 * Lock for a thread that just woke in a crowd (weft_cond_broadcast): while
 * the lock is held, poll it between sched_yield calls (at most MUTEX_YIELD_NS
 * in lib/mutex.c, none while yields are banned: internal/backoff.h), then
 * spin at most MUTEX_RELOCK_SPIN_NS under weft_mutex_lock's spinner rule,
 * then register and sleep as weft_mutex_lock does. A long pause spin only
 * burns the CPU a preempted holder or the rest of the crowd needs; a futex
 * sleep costs two switches and a FUTEX_WAKE per woken waiter; a yield runs
 * whoever is runnable on this CPU, usually the holder or a waiter that will
 * be done at once.
 */
void weft__mutex_lock_yielding(weft_mutex *m);

#endif /* WEFT_INTERNAL_MUTEX_H */
