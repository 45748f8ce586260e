/* tests/unit_futex.c - the futex wrapper and monotonic deadlines (internal). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>

#include "internal/futex.h"
#include "test_util.h"

TestSuite(futex, .timeout = WEFT_UNIT_TIMEOUT_S);

Test(futex, deadline_saturates_instead_of_overflowing)
{
	weft__deadline d = weft__deadline_after(UINT64_MAX);
	cr_assert_gt(d.tv_sec, 0, "deadline wrapped to %lld", (long long)d.tv_sec);
	cr_assert_lt(d.tv_nsec, 1000000000L);
	cr_assert_not(weft__deadline_passed(&d));
	weft__deadline never = weft__deadline_never();
	cr_assert_not(weft__deadline_passed(&never));
}

Test(futex, zero_deadline_has_passed)
{
	weft__deadline d = weft__deadline_after(0);
	cr_assert(weft__deadline_passed(&d));
}

Test(futex, wait_on_changed_value_returns_at_once)
{
	_Atomic uint32_t word = 1;
	weft__deadline never = weft__deadline_never();
	cr_assert_eq(weft__futex_wait(&word, 0, &never), 0);
}

Test(futex, wait_times_out_at_the_deadline)
{
	_Atomic uint32_t word = 0;
	uint64_t t0 = weft_test_now_ns();
	weft__deadline d = weft__deadline_after(10 * WEFT_MS);
	cr_assert_eq(weft__futex_wait(&word, 0, &d), ETIMEDOUT);
	uint64_t waited = weft_test_now_ns() - t0;
	cr_assert_geq(waited, 10 * WEFT_MS);
	cr_assert_lt(waited, 10 * WEFT_MS + WEFT_TEST_SLACK_NS);
}

Test(futex, wake_with_no_waiter_wakes_nobody)
{
	_Atomic uint32_t word = 0;
	cr_assert_eq(weft__futex_wake(&word, WEFT__FUTEX_WAKE_ALL), 0);
}
