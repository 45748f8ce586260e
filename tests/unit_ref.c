/* tests/unit_ref.c - weft_ref counting, refusal at 0 and saturation. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>

#include "test_util.h"
#include "weft/ref.h"

TestSuite(ref, .timeout = WEFT_UNIT_TIMEOUT_S);

Test(ref, counts_up_and_down_to_the_last_reference)
{
	cr_assert_eq(sizeof(weft_ref), 4);
	weft_ref r = WEFT_REF_INIT(1);
	cr_assert_eq(weft_ref_read(&r), 1);
	weft_ref_inc(&r);
	cr_assert(weft_ref_inc_not_zero(&r));
	cr_assert_eq(weft_ref_read(&r), 3);
	cr_assert_not(weft_ref_dec_and_test(&r));
	cr_assert_not(weft_ref_dec_and_test(&r));
	cr_assert(weft_ref_dec_and_test(&r), "the last reference");
	cr_assert_eq(weft_ref_read(&r), 0);
}

Test(ref, inc_not_zero_refuses_a_dead_count)
{
	weft_ref r; /* zero memory: a count of 0 */
	weft_ref_init(&r, 0);
	cr_assert_not(weft_ref_inc_not_zero(&r));
	cr_assert_eq(weft_ref_read(&r), 0, "a refused increment leaves 0");
}

Test(ref, init_above_int32_max_saturates)
{
	weft_ref r;
	weft_ref_init(&r, 0x80000000u);
	cr_assert_eq(weft_ref_read(&r), WEFT_REF_SATURATED);
	weft_ref_init(&r, UINT32_MAX);
	cr_assert_eq(weft_ref_read(&r), WEFT_REF_SATURATED);
	weft_ref_init(&r, INT32_MAX);
	cr_assert_eq(weft_ref_read(&r), (uint32_t)INT32_MAX);
}

Test(ref, overflow_saturates_and_stays_saturated)
{
	weft_ref r;
	weft_ref_init(&r, INT32_MAX - 1);
	weft_ref_inc(&r);
	cr_assert_eq(weft_ref_read(&r), (uint32_t)INT32_MAX, "still live");
	weft_ref_inc(&r);
	cr_assert_eq(weft_ref_read(&r), WEFT_REF_SATURATED, "overflow saturates");
	weft_ref_inc(&r);
	cr_assert_eq(weft_ref_read(&r), WEFT_REF_SATURATED);
	cr_assert(weft_ref_inc_not_zero(&r));
	cr_assert_eq(weft_ref_read(&r), WEFT_REF_SATURATED);
	for (int i = 0; i < 1000; i++)
		cr_assert_not(weft_ref_dec_and_test(&r), "a saturated count never frees");
	cr_assert_eq(weft_ref_read(&r), WEFT_REF_SATURATED);
}

Test(ref, inc_not_zero_overflow_saturates)
{
	weft_ref r;
	weft_ref_init(&r, INT32_MAX);
	cr_assert(weft_ref_inc_not_zero(&r));
	cr_assert_eq(weft_ref_read(&r), WEFT_REF_SATURATED);
}

#ifdef WEFT_DEBUG
Test(ref, debug_inc_from_zero_aborts, .signal = SIGABRT)
{
	weft_ref r = WEFT_REF_INIT(0);
	weft_ref_inc(&r);
}

Test(ref, debug_dec_from_zero_aborts, .signal = SIGABRT)
{
	weft_ref r = WEFT_REF_INIT(0);
	weft_ref_dec_and_test(&r);
}
#else
Test(ref, inc_from_zero_saturates)
{
	weft_ref r = WEFT_REF_INIT(0);
	weft_ref_inc(&r);
	cr_assert_eq(weft_ref_read(&r), WEFT_REF_SATURATED, "leak, not resurrect");
	cr_assert_not(weft_ref_dec_and_test(&r));
}

Test(ref, dec_from_zero_saturates)
{
	weft_ref r = WEFT_REF_INIT(0);
	cr_assert_not(weft_ref_dec_and_test(&r));
	cr_assert_eq(weft_ref_read(&r), WEFT_REF_SATURATED);
}
#endif
