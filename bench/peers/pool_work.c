/* bench/peers/pool_work.c - the work of the pool rows (see pools.h): one
 * out-of-line copy that every peer calls, so every peer runs the same
 * machine code whatever its compiler. */
#include "peers/pools.h"

__attribute__((noinline)) uint64_t bench_work(uint64_t x)
{
	for (int i = 0; i < 32; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		x ^= x >> 29;
	}
	return x;
}

__attribute__((noinline)) uint64_t bench_fib_seq(unsigned n)
{
	return n < 2 ? n : bench_fib_seq(n - 1) + bench_fib_seq(n - 2);
}
