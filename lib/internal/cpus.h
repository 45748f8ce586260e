/* lib/internal/cpus.h - the online CPU count, read once per file that uses it. */
#ifndef WEFT_INTERNAL_CPUS_H
#define WEFT_INTERNAL_CPUS_H

#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#include "weft/common.h"

/* Online CPUs, cached (a racy first call just reads it twice). */
static inline uint32_t weft_online_cpus(void)
{
	static _Atomic uint32_t cached;
	/* relaxed: an idempotent cache of a system constant. */
	uint32_t n = atomic_load_explicit(&cached, memory_order_relaxed);
	if (WEFT_UNLIKELY(n == 0)) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		n = c > 0 ? (uint32_t)c : 1;
		atomic_store_explicit(&cached, n, memory_order_relaxed);
	}
	return n;
}

#endif /* WEFT_INTERNAL_CPUS_H */
