/*
 * tools/fastpaths.c - one noinline wrapper per inline fast path, compiled by
 * tools/fastpath_asm.sh for x86-64, armv8-a and armv8.1-a to produce the
 * instruction listings in docs/arm64.md. Not part of the library.
 *
 * Adding a primitive's fast path is one line:
 *     FASTPATH(ret, name, (params), call)      value-returning fast path
 *     FASTPATH_VOID(name, (params), call)      void fast path
 * The listing shows the wrapper `fp_<name>`: the inlined fast path plus the
 * branch/tail call to its slow path in lib/.
 */
#define _GNU_SOURCE /* before any header: lib/mpsc.c, included below, needs sched_getcpu */
#include <weft/weft.h>

#define FASTPATH(ret, name, params, call)                                      \
	ret fp_##name params;                                                  \
	__attribute__((noinline)) ret fp_##name params { return call; }
#define FASTPATH_VOID(name, params, call)                                      \
	void fp_##name params;                                                 \
	__attribute__((noinline)) void fp_##name params { call; }

FASTPATH_VOID(weft_mutex_lock, (weft_mutex *m), weft_mutex_lock(m))
FASTPATH(bool, weft_mutex_trylock, (weft_mutex *m), weft_mutex_trylock(m))
FASTPATH_VOID(weft_mutex_unlock, (weft_mutex *m), weft_mutex_unlock(m))
FASTPATH_VOID(weft_rwlock_read_lock, (weft_rwlock *l), weft_rwlock_read_lock(l))
FASTPATH_VOID(weft_rwlock_read_unlock, (weft_rwlock *l), weft_rwlock_read_unlock(l))
FASTPATH_VOID(weft_rwlock_write_lock, (weft_rwlock *l), weft_rwlock_write_lock(l))
FASTPATH_VOID(weft_rwlock_write_unlock, (weft_rwlock *l), weft_rwlock_write_unlock(l))
FASTPATH_VOID(weft_cond_signal, (weft_cond *c), weft_cond_signal(c))
FASTPATH_VOID(weft_cond_broadcast, (weft_cond *c), weft_cond_broadcast(c))
FASTPATH_VOID(weft_once_call, (weft_once *o, void (*fn)(void *), void *arg), weft_once_call(o, fn, arg))
FASTPATH(bool, weft_ring_push, (weft_ring *r, void *item), weft_ring_push(r, item))
FASTPATH(bool, weft_ring_pop, (weft_ring *r, void **item), weft_ring_pop(r, item))
FASTPATH(bool, weft_ring_spsc_push, (weft_ring *r, void *item), weft_ring_spsc_push(r, item))
FASTPATH(bool, weft_ring_spsc_pop, (weft_ring *r, void **item), weft_ring_spsc_pop(r, item))
/* weft_mpsc_push is a library function (a thread's lane is the library's
 * thread-local state); its source is compiled in here so that the listing
 * shows the push itself, inlined into the wrapper like the others. */
#include "../lib/mpsc.c"
FASTPATH(int, weft_mpsc_push, (weft_mpsc *q, void *item), weft_mpsc_push(q, item))
FASTPATH(bool, weft_mpsc_pop, (weft_mpsc *q, void **item), weft_mpsc_pop(q, item))
FASTPATH(int, weft_mpsc_intrusive_push, (weft_mpsc_intrusive *q, weft_mpsc_node *n), weft_mpsc_intrusive_push(q, n))
FASTPATH(weft_mpsc_node *, weft_mpsc_intrusive_pop, (weft_mpsc_intrusive *q), weft_mpsc_intrusive_pop(q))
FASTPATH(unsigned, weft_seqlock_read_begin, (const weft_seqlock *s), weft_seqlock_read_begin(s))
FASTPATH(bool, weft_seqlock_read_retry, (const weft_seqlock *s, uint32_t seq), weft_seqlock_read_retry(s, seq))
FASTPATH_VOID(weft_seqlock_read, (const weft_seqlock *s, uint64_t *dst, const uint64_t *src), weft_seqlock_read(s, dst, src, 64))
FASTPATH_VOID(weft_seqlock_write_lock, (weft_seqlock *s), weft_seqlock_write_lock(s))
FASTPATH_VOID(weft_seqlock_write_unlock, (weft_seqlock *s), weft_seqlock_write_unlock(s))
FASTPATH_VOID(weft_ref_inc, (weft_ref *r), weft_ref_inc(r))
FASTPATH(bool, weft_ref_inc_not_zero, (weft_ref *r), weft_ref_inc_not_zero(r))
FASTPATH(bool, weft_ref_dec_and_test, (weft_ref *r), weft_ref_dec_and_test(r))
FASTPATH(void *, weft_arc_clone, (void *p), weft_arc_clone(p))
FASTPATH_VOID(weft_arc_drop, (void *p), weft_arc_drop(p))
FASTPATH(void *, weft_weak_upgrade, (weft_weak *w), weft_weak_upgrade(w))
