/* bench/peers/omp_pool.c - OpenMP (libgomp) tasks and reduction (see
 * pools.h); the only file compiled with -fopenmp (WEFT_BENCH_HAVE_OMP). */
#include "peers/pools.h"

#if WEFT_BENCH_HAVE_OMP
#include <omp.h>

static void omp_empty(void) {}

void omp_pool_empty_tasks(unsigned threads, uint64_t n)
{
#pragma omp parallel num_threads(threads)
#pragma omp single
	{
		for (uint64_t i = 0; i < n; i++) {
#pragma omp task
			omp_empty();
		}
#pragma omp taskwait
	}
}

static uint64_t omp_fib(unsigned n, unsigned cutoff)
{
	if (n < cutoff)
		return bench_fib_seq(n);
	uint64_t a, b;
#pragma omp task shared(a)
	a = omp_fib(n - 1, cutoff);
	b = omp_fib(n - 2, cutoff);
#pragma omp taskwait
	return a + b;
}

uint64_t omp_pool_fib(unsigned threads, unsigned n, unsigned cutoff)
{
	uint64_t r = 0;
#pragma omp parallel num_threads(threads)
#pragma omp single
	r = omp_fib(n, cutoff);
	return r;
}

uint64_t omp_pool_reduce(unsigned threads, uint64_t n, uint64_t grain)
{
	uint64_t s = 0;
	(void)grain; /* schedule(static): the documented default for uniform work */
#pragma omp parallel for num_threads(threads) reduction(+ : s) schedule(static)
	for (uint64_t i = 0; i < n; i++)
		s += bench_work(i);
	return s;
}
#endif
