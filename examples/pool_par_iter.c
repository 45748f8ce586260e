/*
 * examples/pool_par_iter.c - rayon's par_iter sum of squares:
 *
 *     let sum: i64 = (1..=n).into_par_iter().map(|x| x * x).sum();
 *
 * written as weft_pool_parallel_reduce: map folds a range into a partial
 * sum, combine adds two partial sums.
 *
 * Usage: pool_par_iter [n]   (default 1000000)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "weft/pool.h"

static void sum_squares(size_t lo, size_t hi, void *acc, void *arg)
{
	(void)arg;
	uint64_t s = 0;
	for (size_t x = lo; x < hi; x++)
		s += (uint64_t)x * x;
	*(uint64_t *)acc += s;
}

static void add(void *acc, const void *other, void *arg)
{
	(void)arg;
	*(uint64_t *)acc += *(const uint64_t *)other;
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
	weft_pool *pool;
	if (weft_pool_create(&pool, NULL) != 0)
		return 1;
	uint64_t zero = 0, sum;
	int err = weft_pool_parallel_reduce(pool, 1, n + 1, 10000, sizeof sum, &zero,
					    sum_squares, add, NULL, &sum);
	unsigned workers = weft_pool_threads(pool);
	weft_pool_destroy(pool, WEFT_POOL_DRAIN);
	if (err)
		return 1;
	/* n(n+1)(2n+1)/6, modulo 2^64 like the sum */
	unsigned __int128 want = (unsigned __int128)n * (n + 1) * (2 * n + 1) / 6;
	printf("sum of squares 1..=%llu = %llu (%u workers)\n",
	       (unsigned long long)n, (unsigned long long)sum, workers);
	return sum == (uint64_t)want ? 0 : 1;
}
