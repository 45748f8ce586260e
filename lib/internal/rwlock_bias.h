/*
 * lib/internal/rwlock_bias.h - weft_rwlock's read bias (visible readers),
 * internal to lib/ (and to the tests, which include it as internal).
 *
 * While BIAS is set in a lock's state, a reader enters by claiming a table
 * entry picked by hashing its thread and the lock, and leaves by freeing
 * it; the lock word is not written. Thread identity and the table index are
 * computed here only, so code built by different compilers agrees on them.
 */
#ifndef WEFT_INTERNAL_RWLOCK_BIAS_H
#define WEFT_INTERNAL_RWLOCK_BIAS_H

#include <stdbool.h>

#include "internal/futex.h"
#include "weft/rwlock.h"

/*
 * The caller took WLOCKED from a state with BIAS set: clear BIAS and wait
 * until no entry names l. 0 when done; ETIMEDOUT when visible readers
 * remain at the deadline (at once if d is NULL): BIAS is then set again
 * and the lock released.
 */
int weft__rwlock_bias_revoke(weft_rwlock *l, const weft__deadline *d);

/* Tests: does any entry name l; does the calling thread hold l through one. */
bool weft__rwlock_bias_named(const weft_rwlock *l);
bool weft__rwlock_bias_held(const weft_rwlock *l);

#endif /* WEFT_INTERNAL_RWLOCK_BIAS_H */
