/*
 * lib/internal/arch.h - the only place weft uses inline assembly: the
 * spin-wait hint. Everything else is C11 <stdatomic.h>.
 */
#ifndef WEFT_INTERNAL_ARCH_H
#define WEFT_INTERNAL_ARCH_H

#include "weft/common.h"

/*
 * Tell the core we are spinning. On x86-64 PAUSE de-pipelines the spin loop
 * and yields issue slots to the sibling hyper-thread. On ARM64 YIELD is a
 * no-op on most cores; ISB stalls for roughly the latency of a cache miss,
 * which is what a spin loop wants (the same choice as Rust's spin_loop hint
 * and the Linux arm64 cpu_relax discussion), so ARM64 uses ISB.
 */
static inline void weft__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ __volatile__("pause" ::: "memory");
#elif defined(__aarch64__)
	__asm__ __volatile__("isb" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

#endif /* WEFT_INTERNAL_ARCH_H */
