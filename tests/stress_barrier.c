/*
 * tests/stress_barrier.c - weft_barrier over many rounds. Each thread
 * writes its round number into its own plain slot before the barrier and,
 * after it, reads every other slot: all must show at least this round (no
 * thread passed round r before all reached it; TSan also checks the
 * happens-before edge the barrier promises). Exactly one leader per round.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "stress.h"
#include "weft/barrier.h"

typedef struct barrier_test {
	weft_barrier b;
	unsigned n;
	uint64_t rounds;
	uint64_t slot[8];		/* plain: written before, read after */
	_Atomic unsigned char *leaders; /* per round */
	_Atomic uint64_t early;
} barrier_test;

static void barrier_worker(unsigned id, void *arg)
{
	barrier_test *t = arg;
	for (uint64_t r = 1; r <= t->rounds; r++) {
		t->slot[id] = r;
		if (weft_barrier_wait(&t->b))
			atomic_fetch_add_explicit(&t->leaders[r - 1], 1,
						  memory_order_relaxed);
		for (unsigned k = 0; k < t->n; k++)
			if (t->slot[k] < r)
				atomic_fetch_add_explicit(&t->early, 1,
							  memory_order_relaxed);
		/* Nobody writes round r+1 until everyone has read round r. */
		weft_barrier_wait(&t->b);
	}
}

static void barrier_rounds(const weft_stress_case *c, weft_stress_result *r)
{
	barrier_test t = { .n = c->threads, .rounds = weft_stress_ops(c) };
	t.leaders = calloc(t.rounds, 1);
	weft_barrier_init(&t.b, t.n);
	weft_stress_run_threads(t.n, barrier_worker, &t);
	if (atomic_load(&t.early))
		weft_stress_fail(r, "%llu reads saw a thread not yet arrived",
				 (unsigned long long)atomic_load(&t.early));
	for (uint64_t k = 0; k < t.rounds; k++)
		if (atomic_load(&t.leaders[k]) != 1) {
			weft_stress_fail(r, "round %llu had %u leaders",
					 (unsigned long long)k + 1,
					 (unsigned)atomic_load(&t.leaders[k]));
			break;
		}
	weft_barrier_destroy(&t.b);
	free((void *)t.leaders);
}

WEFT_STRESS_CASE("barrier_rounds/2", barrier_rounds, 2, 0, 10000);
WEFT_STRESS_CASE("barrier_rounds/4", barrier_rounds, 4, 0, 10000);
WEFT_STRESS_CASE("barrier_rounds/8", barrier_rounds, 8, 0, 2000);
