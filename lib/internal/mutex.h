/*
 * lib/internal/mutex.h - weft_mutex entry points for other weft primitives.
 */
#ifndef WEFT_INTERNAL_MUTEX_H
#define WEFT_INTERNAL_MUTEX_H

#include "weft/mutex.h"

/*
 * Lock for a thread that just woke in a crowd (weft_cond_broadcast): while
 * the lock is held, poll it between sched_yield calls (MUTEX_YIELD_POLLS in
 * lib/mutex.c) instead of the adaptive pause spin, then register and sleep
 * as weft_mutex_lock does. A pause spin only burns the CPU a preempted
 * holder or the rest of the crowd needs; a futex sleep costs two switches
 * and a FUTEX_WAKE per woken waiter; a yield runs whoever is runnable on
 * this CPU, usually the holder or a waiter that will be done at once.
 */
void weft__mutex_lock_yielding(weft_mutex *m);

#endif /* WEFT_INTERNAL_MUTEX_H */
