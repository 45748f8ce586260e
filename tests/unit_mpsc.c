/* tests/unit_mpsc.c - weft_mpsc: order, empty, NULL, block crossing, wrap, memory. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>

#include "weft/mpsc.h"
#include "test_util.h"

TestSuite(mpsc, .timeout = WEFT_UNIT_TIMEOUT_S);

#define P(x) ((void *)(uintptr_t)(x))

Test(mpsc, empty_null_and_order)
{
	weft_mpsc q;
	void *v;
	cr_assert_eq(weft_mpsc_init(&q), 0);
	cr_assert_not(weft_mpsc_pop(&q, &v));
	cr_assert_eq(weft_mpsc_push(&q, NULL), EINVAL);
	cr_assert_not(weft_mpsc_pop(&q, &v), "NULL push must not enqueue");
	for (uintptr_t i = 1; i <= 10; i++)
		cr_assert_eq(weft_mpsc_push(&q, P(i)), 0);
	for (uintptr_t i = 1; i <= 10; i++) {
		cr_assert(weft_mpsc_pop(&q, &v));
		cr_assert_eq(v, P(i));
	}
	cr_assert_not(weft_mpsc_pop(&q, &v));
	weft_mpsc_destroy(&q);
}

/* Many blocks in, then out; then steady push/pop recycles (no growth). */
static void blocks_from(uint64_t start)
{
	weft_mpsc q;
	void *v;
	const uintptr_t n = 5 * WEFT_MPSC_BLOCK_SLOTS + 17;
	cr_assert_eq(weft__mpsc_init_at(&q, start), 0);
	for (uintptr_t i = 1; i <= n; i++)
		cr_assert_eq(weft_mpsc_push(&q, P(i)), 0);
	size_t full = weft_mpsc_memory(&q);
	cr_assert_geq(full, 6 * WEFT_MPSC_BLOCK_BYTES);
	cr_assert_leq(full, 8 * WEFT_MPSC_BLOCK_BYTES, "%zu bytes", full);
	for (uintptr_t i = 1; i <= n; i++) {
		cr_assert(weft_mpsc_pop(&q, &v), "item %zu", (size_t)i);
		cr_assert_eq(v, P(i));
	}
	cr_assert_not(weft_mpsc_pop(&q, &v));
	/* drained blocks went back: at most current, one pending, one spare */
	size_t drained = weft_mpsc_memory(&q);
	cr_assert_leq(drained, 4 * WEFT_MPSC_BLOCK_BYTES, "%zu bytes", drained);
	for (uintptr_t i = 1; i <= 20 * WEFT_MPSC_BLOCK_SLOTS; i++) {
		cr_assert_eq(weft_mpsc_push(&q, P(i)), 0);
		cr_assert(weft_mpsc_pop(&q, &v));
		cr_assert_eq(v, P(i));
	}
	cr_assert_leq(weft_mpsc_memory(&q), 4 * WEFT_MPSC_BLOCK_BYTES);
	/* destroy with items inside: ASan checks nothing leaks */
	for (uintptr_t i = 1; i <= 3 * WEFT_MPSC_BLOCK_SLOTS; i++)
		cr_assert_eq(weft_mpsc_push(&q, P(i)), 0);
	weft_mpsc_destroy(&q);
}

Test(mpsc, blocks_grow_drain_recycle) { blocks_from(0); }

/* Positions start just below 2^32 and 2^64: blocks straddle both wraps. */
Test(mpsc, index_wraparound)
{
	blocks_from((UINT64_C(1) << 32) - 3);
	blocks_from(UINT64_MAX - 3);
	blocks_from(UINT64_MAX - WEFT_MPSC_BLOCK_SLOTS);
}

Test(mpsc, block_is_4k)
{
	cr_assert_eq(sizeof(weft_mpsc_block), 4096);
	cr_assert_eq(WEFT_MPSC_BLOCK_SLOTS, 504);
}
