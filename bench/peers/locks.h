/*
 * bench/peers/locks.h - the mutex baselines, each used as its documentation
 * recommends, behind one shape so bench/bench_mutex.c instantiates the same
 * bodies for all of them (every lock operation inlines where it can; the
 * pthread calls are real library calls, as in any user's program).
 *
 *   pthread           pthread_mutex_t, default attributes (PTHREAD_MUTEX_INITIALIZER)
 *   pthread_adaptive  PTHREAD_MUTEX_ADAPTIVE_NP: glibc spins before sleeping
 *   ck_fas            ck_spinlock_fas (CK's recommended default spinlock)
 *   ck_mcs            ck_spinlock_mcs, a queue lock with a per-thread node
 *
 * Every lock op takes a per-thread `lock_node` that only MCS uses.
 */
#ifndef WEFT_BENCH_PEERS_LOCKS_H
#define WEFT_BENCH_PEERS_LOCKS_H

#include <ck_spinlock.h>
#include <pthread.h>

#include "weft/mutex.h"

typedef struct ck_spinlock_mcs lock_node;

/* weft */
static inline void weft_lk_init(weft_mutex *l) { *l = (weft_mutex)WEFT_MUTEX_INIT; }
static inline void weft_lk_destroy(weft_mutex *l) { (void)l; }
static inline void weft_lk_lock(weft_mutex *l, lock_node *n) { (void)n; weft_mutex_lock(l); }
static inline void weft_lk_unlock(weft_mutex *l, lock_node *n) { (void)n; weft_mutex_unlock(l); }

/* pthread, default type */
static inline void pthread_lk_init(pthread_mutex_t *l)
{
	*l = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
}
static inline void pthread_lk_destroy(pthread_mutex_t *l) { pthread_mutex_destroy(l); }
static inline void pthread_lk_lock(pthread_mutex_t *l, lock_node *n) { (void)n; pthread_mutex_lock(l); }
static inline void pthread_lk_unlock(pthread_mutex_t *l, lock_node *n) { (void)n; pthread_mutex_unlock(l); }

/* pthread, adaptive (glibc extension) */
static inline void pthread_adaptive_lk_init(pthread_mutex_t *l)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(l, &a);
	pthread_mutexattr_destroy(&a);
}
#define pthread_adaptive_lk_destroy pthread_lk_destroy
#define pthread_adaptive_lk_lock pthread_lk_lock
#define pthread_adaptive_lk_unlock pthread_lk_unlock

/* Concurrency Kit FAS spinlock */
static inline void ck_fas_lk_init(ck_spinlock_fas_t *l) { ck_spinlock_fas_init(l); }
static inline void ck_fas_lk_destroy(ck_spinlock_fas_t *l) { (void)l; }
static inline void ck_fas_lk_lock(ck_spinlock_fas_t *l, lock_node *n) { (void)n; ck_spinlock_fas_lock(l); }
static inline void ck_fas_lk_unlock(ck_spinlock_fas_t *l, lock_node *n) { (void)n; ck_spinlock_fas_unlock(l); }

/* Concurrency Kit MCS queue lock */
typedef struct ck_spinlock_mcs *ck_mcs_lock;
static inline void ck_mcs_lk_init(ck_mcs_lock *l) { ck_spinlock_mcs_init(l); }
static inline void ck_mcs_lk_destroy(ck_mcs_lock *l) { (void)l; }
static inline void ck_mcs_lk_lock(ck_mcs_lock *l, lock_node *n) { ck_spinlock_mcs_lock(l, n); }
static inline void ck_mcs_lk_unlock(ck_mcs_lock *l, lock_node *n) { ck_spinlock_mcs_unlock(l, n); }

#endif /* WEFT_BENCH_PEERS_LOCKS_H */
