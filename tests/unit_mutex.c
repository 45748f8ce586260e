/* tests/unit_mutex.c - weft_mutex semantics, timeouts and initialisation. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "test_util.h"
#include "weft/mutex.h"

TestSuite(mutex, .timeout = WEFT_UNIT_TIMEOUT_S);

static weft_mutex static_mutex; /* zero memory: must be a valid mutex */

Test(mutex, static_and_zero_init_are_unlocked)
{
	cr_assert(weft_mutex_trylock(&static_mutex));
	weft_mutex_unlock(&static_mutex);

	weft_mutex m = WEFT_MUTEX_INIT;
	cr_assert(weft_mutex_trylock(&m));
	weft_mutex_unlock(&m);

	weft_mutex z;
	memset(&z, 0, sizeof z);
	weft_mutex_lock(&z);
	weft_mutex_unlock(&z);
	cr_assert_eq(sizeof(weft_mutex), 8 + sizeof(uintptr_t));
}

Test(mutex, trylock_on_free_and_held)
{
	weft_mutex m = WEFT_MUTEX_INIT;
	cr_assert(weft_mutex_trylock(&m));
	cr_assert_not(weft_mutex_trylock(&m), "trylock of a held mutex");
	weft_mutex_unlock(&m);
	cr_assert(weft_mutex_trylock(&m), "trylock after unlock");
	weft_mutex_unlock(&m);
	cr_assert(weft_test_mutex_idle(&m));
}

Test(mutex, timeout_zero_is_trylock)
{
	weft_mutex m = WEFT_MUTEX_INIT;
	cr_assert_eq(weft_mutex_lock_timeout(&m, 0), 0);
	uint64_t t0 = weft_test_now_ns();
	cr_assert_eq(weft_mutex_lock_timeout(&m, 0), ETIMEDOUT);
	cr_assert_lt(weft_test_now_ns() - t0, 50 * WEFT_MS, "timeout 0 waited");
	weft_mutex_unlock(&m);
}

Test(mutex, lock_timeout_expires_after_at_least_the_timeout)
{
	weft_mutex m = WEFT_MUTEX_INIT;
	weft_test_mutex_unbiased(&m); /* the word is checked below */
	weft_mutex_lock(&m); /* held by us: the timed lock below cannot win */
	const uint64_t timeout = 20 * WEFT_MS;
	uint64_t t0 = weft_test_now_ns();
	cr_assert_eq(weft_mutex_lock_timeout(&m, timeout), ETIMEDOUT);
	uint64_t waited = weft_test_now_ns() - t0;
	cr_assert_geq(waited, timeout, "returned after %llu ns",
		      (unsigned long long)waited);
	cr_assert_lt(waited, timeout + WEFT_TEST_SLACK_NS,
		     "overslept: %llu ns", (unsigned long long)waited);
	/* The timed-out waiter deregistered: the word is plain LOCKED. */
	cr_assert_eq(atomic_load(&m.state), WEFT_MUTEX_LOCKED);
	weft_mutex_unlock(&m);
}

typedef struct handoff {
	weft_mutex m;
	int result;
} handoff;

static void *timed_locker(void *p)
{
	handoff *h = p;
	h->result = weft_mutex_lock_timeout(&h->m, 10ull * 1000 * WEFT_MS);
	if (h->result == 0)
		weft_mutex_unlock(&h->m);
	return NULL;
}

Test(mutex, lock_timeout_gets_a_lock_released_while_it_sleeps)
{
	handoff h = { .m = WEFT_MUTEX_INIT, .result = -1 };
	weft_test_mutex_unbiased(&h.m); /* waits for a registered sleeper */
	weft_mutex_lock(&h.m);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, timed_locker, &h), 0);
	/* Wait (no sleep) until the other thread registered as a sleeper. */
	while (atomic_load(&h.m.state) < WEFT_MUTEX_LOCKED + WEFT_MUTEX_SLEEPER)
		sched_yield();
	uint64_t t0 = weft_test_now_ns();
	weft_mutex_unlock(&h.m);
	pthread_join(t, NULL);
	cr_assert_eq(h.result, 0);
	cr_assert_lt(weft_test_now_ns() - t0, WEFT_TEST_SLACK_NS);
	cr_assert_eq(atomic_load(&h.m.state), 0);
}

static void *plain_locker(void *p)
{
	weft_mutex *m = p;
	weft_mutex_lock(m);
	weft_mutex_unlock(m);
	return NULL;
}

Test(mutex, unlock_wakes_a_sleeper_and_leaves_word_clean)
{
	weft_mutex m = WEFT_MUTEX_INIT;
	weft_test_mutex_unbiased(&m); /* counts registered sleepers */
	weft_mutex_lock(&m);
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, plain_locker, &m);
	while (atomic_load(&m.state) < WEFT_MUTEX_LOCKED + 3 * WEFT_MUTEX_SLEEPER)
		sched_yield();
	weft_mutex_unlock(&m);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(atomic_load(&m.state), 0, "sleepers left registered");
}

#ifdef WEFT_DEBUG
/* Debug builds (the asan preset) turn a double unlock into an abort. */
Test(mutex, debug_unlock_of_unlocked_mutex_aborts, .signal = SIGABRT)
{
	weft_mutex m = WEFT_MUTEX_INIT;
	weft_mutex_unlock(&m);
}
#endif
