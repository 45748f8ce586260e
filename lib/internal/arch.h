/*
 * lib/internal/arch.h - the only place weft uses inline assembly: the
 * spin-wait hint and the prefetch for writing. Everything else is C11
 * <stdatomic.h>.
 */
#ifndef WEFT_INTERNAL_ARCH_H
#define WEFT_INTERNAL_ARCH_H

#include <stdbool.h>

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

/*
 * Ask for the line holding p in the owned state, before writing it (a
 * hint: no fault, no ordering). ARM64: PRFM PSTL1KEEP. x86-64: PREFETCHW
 * where the CPU has it (CPUID 0x80000001 ECX bit 8, read once: Intel since
 * Broadwell, AMD since K8), a read prefetch elsewhere; GCC's
 * __builtin_prefetch(p, 1) emits PREFETCHW only under -mprfchw, so a
 * generic x86-64 build would always get the read prefetch, which leaves
 * the write to wait for the line's ownership anyway.
 */
#if defined(__x86_64__)
bool weft__have_prefetchw(void);
#endif
static inline void weft__prefetch_w(const void *p)
{
#if defined(__x86_64__)
	if (weft__have_prefetchw()) {
		__asm__ __volatile__("prefetchw %0" ::"m"(*(const char *)p));
		return;
	}
#endif
	__builtin_prefetch(p, 1);
}

#endif /* WEFT_INTERNAL_ARCH_H */
