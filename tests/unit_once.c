/* tests/unit_once.c - weft_once: runs once, callers see the effects, size. */
#include <criterion/criterion.h>
#include <pthread.h>

#include "weft/once.h"
#include "test_util.h"

TestSuite(once, .timeout = WEFT_UNIT_TIMEOUT_S);

static weft_once static_once; /* zero memory: must be a valid once */
static int runs;

static void bump(void *arg)
{
	(void)arg;
	runs++;
}

Test(once, size_and_runs_once_single_thread)
{
	cr_assert_eq(sizeof(weft_once), 4);
	weft_once_call(&static_once, bump, NULL);
	weft_once_call(&static_once, bump, NULL);
	cr_assert_eq(runs, 1);
	cr_assert_eq(atomic_load(&static_once.state), WEFT_ONCE_DONE);
}

typedef struct race {
	weft_once once;
	_Atomic int calls;
	_Atomic int started; /* threads at the start line */
	int value;	     /* plain: written by fn only */
	int seen[8];
} race;

static void slow_init(void *arg)
{
	race *r = arg;
	atomic_fetch_add(&r->calls, 1);
	/* Stay a while so the other callers find it RUNNING and sleep. */
	for (volatile int i = 0; i < 2000000; i++)
		;
	r->value = 42;
}

typedef struct arg8 {
	race *r;
	int i;
} arg8;

static void *racer(void *p)
{
	arg8 *a = p;
	atomic_fetch_add(&a->r->started, 1);
	while (atomic_load(&a->r->started) < 8)
		;
	weft_once_call(&a->r->once, slow_init, a->r);
	a->r->seen[a->i] = a->r->value; /* plain read: needs fn's effects */
	return NULL;
}

Test(once, eight_threads_race_fn_runs_once_all_see_it)
{
	for (int round = 0; round < 20; round++) {
		race r = { .once = WEFT_ONCE_INIT };
		pthread_t t[8];
		arg8 a[8];
		for (int i = 0; i < 8; i++) {
			a[i] = (arg8){ &r, i };
			pthread_create(&t[i], NULL, racer, &a[i]);
		}
		for (int i = 0; i < 8; i++)
			pthread_join(t[i], NULL);
		cr_assert_eq(atomic_load(&r.calls), 1, "fn ran %d times",
			     atomic_load(&r.calls));
		for (int i = 0; i < 8; i++)
			cr_assert_eq(r.seen[i], 42, "caller %d saw %d", i, r.seen[i]);
		cr_assert_eq(atomic_load(&r.once.state), WEFT_ONCE_DONE);
	}
}
