/* tests/test_util.h - small helpers shared by the unit tests. */
#ifndef WEFT_TESTS_TEST_UTIL_H
#define WEFT_TESTS_TEST_UTIL_H

#include <sched.h>
#include <stdint.h>
#include <time.h>

#define WEFT_MS 1000000ull

/*
 * How late a timed wait may return and still pass. Generous because tests
 * also run under sanitizers, emulation and a loaded CI machine; a broken
 * timeout (never firing, or firing at the wrong scale) still fails.
 */
#define WEFT_TEST_SLACK_NS (500 * WEFT_MS)

static inline uint64_t weft_test_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif /* WEFT_TESTS_TEST_UTIL_H */
