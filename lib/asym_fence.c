/* lib/asym_fence.c - membarrier for asymmetric fences (internal/asym_fence.h). */
#include "internal/asym_fence.h"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

_Atomic int weft__asym_state;

static long membarrier(int cmd)
{
	return syscall(SYS_membarrier, cmd, 0, 0);
}

bool weft__fence_asym_decide(void)
{
	long q = membarrier(MEMBARRIER_CMD_QUERY);
	int got = q > 0 && (q & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
			  membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0
		  ? 1 : -1;
	/* release/acquire: publishes the registration with the answer; the
	 * first answer stays (a loser reads it into v). */
	int v = 0;
	if (atomic_compare_exchange_strong_explicit(&weft__asym_state, &v, got,
						    memory_order_acq_rel, memory_order_acquire))
		v = got;
	return v > 0;
}

void weft__fence_heavy(void)
{
	/* Registered (weft__fence_asym() was true), so it cannot fail: the
	 * only errors are an unknown command and a missing registration, and
	 * a fork()ed child inherits the registration (checked on 6.18; exec
	 * resets it and weft__asym_state alike). Should it fail anyway,
	 * register again and repeat. */
	if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0) {
		(void)membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED);
		(void)membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
	}
}
