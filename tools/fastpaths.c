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
