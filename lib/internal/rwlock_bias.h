/* lib/internal/rwlock_bias.h - weft_rwlock's read bias (lib/rwlock_bias.c). */
#ifndef WEFT_INTERNAL_RWLOCK_BIAS_H
#define WEFT_INTERNAL_RWLOCK_BIAS_H
#include "internal/futex.h"
#include "weft/rwlock.h"
#define WEFT__RW_SPIN_NS 50000 /* spin budget before sleeping, as lib/mutex.c's */
#define WEFT__RW_SPIN_PAUSE_MAX_NS 160
/* The caller took WLOCKED from a state with BIAS: clear it, wait until no entry
 * names l. 0, or ETIMEDOUT at d (at once if NULL), BIAS set again, l released. */
int weft__rwlock_bias_revoke(weft_rwlock *l, const weft__deadline *d);
/* Tests (internal): does the calling thread hold l through its entry? */
bool weft__rwlock_bias_held(const weft_rwlock *l);
#endif
