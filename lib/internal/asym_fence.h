/*
 * lib/internal/asym_fence.h - asymmetric fences (Linux membarrier), as
 * liburcu's "memb" flavour and folly's asymmetric barriers use them.
 *
 * A Dekker pair (each side stores, then loads the other's variable) needs a
 * StoreLoad fence on both sides: a locked RMW or mfence on x86-64, dmb on
 * ARM64, about 6 ns each on the development guest. When one side runs
 * often and the other rarely, the frequent side may use a compiler-only
 * fence (weft__fence_light) if the rare side calls weft__fence_heavy, a
 * membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED): it makes every running
 * thread of the process execute a full memory barrier, and a thread that
 * is not running has passed one in its context switch. So at the heavy
 * fence every other thread is at some point of its program order where all
 * its earlier accesses are visible and none of its later ones performed:
 * it acts as a seq_cst fence inserted in each other thread (the C11 model
 * cannot express this; the argument is the kernel's guarantee).
 *
 * Usable only if weft__fence_asym() returned true; otherwise both sides
 * must use seq_cst. The answer is decided once per process and never
 * changes, so both sides of a pair always agree. Cost of the heavy fence:
 * 1.3 us alone, 3.2 us with a second thread running, on the 2-vCPU guest
 * (docs/tuning.md).
 */
#ifndef WEFT_INTERNAL_ASYM_FENCE_H
#define WEFT_INTERNAL_ASYM_FENCE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* 0: not decided yet; 1: membarrier registered; -1: unavailable (old
 * kernel, seccomp, an emulator without it). Set once, by lib/asym_fence.c. */
extern _Atomic int weft__asym_state;
bool weft__fence_asym_decide(void);

/* membarrier registered for this process (decided, registering, at the
 * first call; then a load). */
static inline bool weft__fence_asym(void)
{
	/* acquire: pairs with the release CAS in weft__fence_asym_decide, so
	 * a thread that reads 1 runs after a registration that completed. */
	int v = atomic_load_explicit(&weft__asym_state, memory_order_acquire);
	return __builtin_expect(v != 0, 1) ? v > 0 : weft__fence_asym_decide();
}

/* The frequent side's fence: orders the compiler only. */
static inline void weft__fence_light(void)
{
	atomic_signal_fence(memory_order_seq_cst);
}

/* The rare side's fence; only after weft__fence_asym() returned true. */
void weft__fence_heavy(void);

/*
 * The frequent side of a Dekker pair: store v to *a, then load *b. With
 * asymmetric fences (the rare side calls weft__fence_heavy between its
 * store and its load) the store is a release and the load an acquire,
 * with a compiler fence between; without, both are seq_cst. Either way the
 * store is at least a release and the load at least an acquire.
 */
static inline uint32_t weft__dekker_store_load(_Atomic uintptr_t *a, uintptr_t v,
					       _Atomic uint32_t *b)
{
	if (weft__fence_asym()) {
		atomic_store_explicit(a, v, memory_order_release);
		weft__fence_light();
		return atomic_load_explicit(b, memory_order_acquire);
	}
	atomic_store_explicit(a, v, memory_order_seq_cst);
	return atomic_load_explicit(b, memory_order_seq_cst);
}

#endif
