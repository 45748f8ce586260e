/* tests/unit_barrier.c - weft_barrier: init errors, leader, reuse, size. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>

#include "weft/barrier.h"
#include "test_util.h"

TestSuite(barrier, .timeout = WEFT_UNIT_TIMEOUT_S);

Test(barrier, size_and_init_errors)
{
	cr_assert_leq(sizeof(weft_barrier), 16);
	weft_barrier b;
	cr_assert_eq(weft_barrier_init(&b, 0), EINVAL);
	cr_assert_eq(weft_barrier_init(&b, 1), 0);
	for (int i = 0; i < 5; i++)
		cr_assert(weft_barrier_wait(&b), "single thread is always the leader");
	weft_barrier_destroy(&b);
}

typedef struct round_test {
	weft_barrier b;
	unsigned n;
	_Atomic unsigned leaders;
	_Atomic unsigned arrived;
	_Atomic unsigned early; /* passed before everyone arrived */
} round_test;

static void *member(void *p)
{
	round_test *t = p;
	for (int r = 0; r < 200; r++) {
		atomic_fetch_add(&t->arrived, 1);
		if (weft_barrier_wait(&t->b))
			atomic_fetch_add(&t->leaders, 1);
		if (atomic_load(&t->arrived) < (unsigned)(r + 1) * t->n)
			atomic_fetch_add(&t->early, 1);
		/* Second barrier: nobody re-arrives before all checked. */
		weft_barrier_wait(&t->b);
	}
	return NULL;
}

static void rounds(unsigned n)
{
	round_test t = { .n = n };
	cr_assert_eq(weft_barrier_init(&t.b, n), 0);
	pthread_t th[8];
	for (unsigned i = 0; i < n; i++)
		pthread_create(&th[i], NULL, member, &t);
	for (unsigned i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	cr_assert_eq(atomic_load(&t.leaders), 200, "leaders %u", atomic_load(&t.leaders));
	cr_assert_eq(atomic_load(&t.early), 0);
	cr_assert_eq(atomic_load(&t.b.arrived), 0);
	weft_barrier_destroy(&t.b);
}

Test(barrier, one_leader_per_round_2_threads) { rounds(2); }
Test(barrier, one_leader_per_round_8_threads) { rounds(8); }
