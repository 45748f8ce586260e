/*
 * tests/mixed_cc/rwlock_clang.c - weft_rwlock's inline read paths as clang
 * compiles them, linked into the GCC-built test binary (tests/CMakeLists.txt
 * builds this file with clang; unit_rwlock_mixed_cc.c calls it).
 */
#include "weft/rwlock.h"

#ifndef __clang__
#error "this file must be compiled by clang"
#endif

void weft_test_clang_read_lock(weft_rwlock *l);
void weft_test_clang_read_unlock(weft_rwlock *l);

void weft_test_clang_read_lock(weft_rwlock *l)
{
	weft_rwlock_read_lock(l);
}

void weft_test_clang_read_unlock(weft_rwlock *l)
{
	weft_rwlock_read_unlock(l);
}
