/*
 * tests/unit_mpsc_nomem.c - weft_mpsc push when the allocator fails. This
 * file interposes aligned_alloc (the executable's definition wins over the
 * C library's for every call in the test binary, including lib/mpsc.c's)
 * and makes the next `fail_next` calls return NULL. Criterion runs each
 * test in its own process, so no other test sees a failure.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "test_util.h"

#include "weft/mpsc.h"

TestSuite(mpsc_nomem, .timeout = WEFT_UNIT_TIMEOUT_S);

static _Atomic int fail_next;

/* Otherwise posix_memalign does the work (no dlsym: this also runs in
 * Criterion's runner process, from its threads). */
void *aligned_alloc(size_t alignment, size_t size)
{
	int n = atomic_load(&fail_next);
	while (n > 0)
		if (atomic_compare_exchange_weak(&fail_next, &n, n - 1))
			return NULL;
	void *p;
	if (alignment < sizeof(void *))
		alignment = sizeof(void *);
	return posix_memalign(&p, alignment, size) ? NULL : p;
}

#define P(x) ((void *)(uintptr_t)(x))

/* The documented contract (weft/mpsc.h): push never fails for memory; when
 * the queue must grow and the allocator fails, push retries (its position
 * is claimed) until it gets a block. Nothing is lost or reordered. */
Test(mpsc_nomem, push_retries_until_the_allocator_gives_a_block)
{
	weft_mpsc q;
	cr_assert_eq(weft_mpsc_init(&q), 0);
	const uintptr_t first = WEFT_MPSC_BLOCK_SLOTS;
	for (uintptr_t i = 1; i <= first; i++)
		cr_assert_eq(weft_mpsc_push(&q, P(i)), 0);
	atomic_store(&fail_next, 3);
	for (uintptr_t i = first + 1; i <= first + 3; i++)
		cr_assert_eq(weft_mpsc_push(&q, P(i)), 0);
	cr_assert_eq(atomic_load(&fail_next), 0, "the new block was not allocated");
	void *v;
	for (uintptr_t i = 1; i <= first + 3; i++) {
		cr_assert(weft_mpsc_pop(&q, &v), "item %zu lost", (size_t)i);
		cr_assert_eq(v, P(i));
	}
	cr_assert_not(weft_mpsc_pop(&q, &v));
	weft_mpsc_destroy(&q);
}

static void *push_two(void *q)
{
	cr_assert_eq(weft_mpsc_push(q, P(2)), 0);
	cr_assert_eq(weft_mpsc_push(q, P(3)), 0);
	return NULL;
}

/* A lane's first block (a second thread's first push) is allocated the
 * same way: the push waits for memory, nothing is lost. */
Test(mpsc_nomem, a_new_lane_waits_for_its_first_block)
{
	weft_mpsc q;
	void *v;
	cr_assert_eq(weft_mpsc_init(&q), 0);
	cr_assert_eq(weft_mpsc_push(&q, P(1)), 0); /* takes init's block */
	atomic_store(&fail_next, 2);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, push_two, &q), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);
	cr_assert_eq(atomic_load(&fail_next), 0, "the lane's block was not allocated");
	/* 1 from our lane, 2 then 3 from the other: in any interleaving */
	uintptr_t at[4] = { 0, 0, 0, 0 };
	for (uintptr_t n = 1; n <= 3; n++) {
		cr_assert(weft_mpsc_pop(&q, &v), "%zu items of 3", (size_t)n - 1);
		uintptr_t x = (uintptr_t)v;
		cr_assert(x >= 1 && x <= 3 && !at[x], "item %zu", (size_t)x);
		at[x] = n;
	}
	cr_assert_lt(at[2], at[3], "one thread's items out of order");
	cr_assert_not(weft_mpsc_pop(&q, &v));
	weft_mpsc_destroy(&q);
}

/* init reports ENOMEM when its first block cannot be had. */
Test(mpsc_nomem, init_reports_enomem)
{
	weft_mpsc q;
	atomic_store(&fail_next, 1);
	cr_assert_eq(weft_mpsc_init(&q), ENOMEM);
	cr_assert_eq(weft_mpsc_init(&q), 0);
	weft_mpsc_destroy(&q);
}
