/*
 * lib/internal/mutex.h - weft_mutex entry points for other weft primitives.
 */
#ifndef WEFT_INTERNAL_MUTEX_H
#define WEFT_INTERNAL_MUTEX_H

#include "weft/mutex.h"

/*
 * Lock without the adaptive spin: register as a sleeper at once if the lock
 * is held. For threads that just woke in a crowd (weft_cond_broadcast):
 * when several wake together, spinning only burns the CPU the holder
 * needs, and the mutex hands the lock on one sleeper at a time.
 */
void weft_mutex_lock_nospin(weft_mutex *m);

#endif /* WEFT_INTERNAL_MUTEX_H */
