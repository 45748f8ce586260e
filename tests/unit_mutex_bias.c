/* tests/unit_mutex_bias.c - weft_mutex's bias (weft/mutex.h, lib/mutex_bias.c):
 * taken by the first locker, revoked by a second thread whether the owner
 * holds it or not, trylock/lock_timeout against it, cond_wait on it, and
 * the process-wide revocation budget. Without membarrier (an old kernel,
 * seccomp) no mutex is biased: the tests then check that, and the rest
 * still pass as plain mutex tests. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>

#include "internal/asym_fence.h"
#include "internal/backoff.h"
#include "internal/mutex_bias.h"
#include "test_util.h"
#include "weft/cond.h"
#include "weft/mutex.h"

static void lift_ban(void)
{
	atomic_store(&weft__mutex_bias_banned_until, 0);
}

TestSuite(mutex_bias, .init = lift_ban, .timeout = WEFT_UNIT_TIMEOUT_S);

static bool can_bias(void)
{
	return weft__fence_asym() && weft__mutex_self() != WEFT__MUTEX_SELF_UNKNOWN;
}

Test(mutex_bias, first_lock_biases_and_the_owner_uses_held_only)
{
	weft_mutex m = WEFT_MUTEX_INIT;
	weft_mutex_lock(&m);
	if (!can_bias()) {
		cr_assert_eq(atomic_load(&m.owner), WEFT__MUTEX_NOBIAS,
			     "biased without membarrier");
		cr_assert_eq(atomic_load(&m.state), WEFT_MUTEX_LOCKED);
		weft_mutex_unlock(&m);
		return;
	}
	cr_assert_eq(atomic_load(&m.owner), weft__mutex_self());
	cr_assert_eq(atomic_load(&m.held), 1);
	cr_assert_eq(atomic_load(&m.state), WEFT_MUTEX_BIASED);
	weft_mutex_unlock(&m);
	cr_assert_eq(atomic_load(&m.held), 0);
	for (int i = 0; i < 1000; i++) {
		cr_assert(weft_mutex_trylock(&m));
		cr_assert_not(weft_mutex_trylock(&m), "trylock of a mutex we hold");
		cr_assert_eq(weft_mutex_lock_timeout(&m, 0), ETIMEDOUT);
		weft_mutex_unlock(&m);
		weft_mutex_lock(&m);
		weft_mutex_unlock(&m);
	}
	/* The owner never wrote the word after the first lock. */
	cr_assert_eq(atomic_load(&m.state), WEFT_MUTEX_BIASED);
	cr_assert(weft_test_mutex_idle(&m));
}

typedef struct shared {
	weft_mutex m;
	weft_cond c;
	int data;		/* plain: only the mutex protects it */
	_Atomic int phase;
	int seen;
	int result;
	bool biased_while_in;
} shared;

static void *lock_and_read(void *p)
{
	shared *s = p;
	atomic_store(&s->phase, 1);
	weft_mutex_lock(&s->m);
	s->seen = s->data;
	s->data = 3;
	weft_mutex_unlock(&s->m);
	return NULL;
}

Test(mutex_bias, revoked_while_held_the_revoker_waits_then_holds)
{
	shared s = { .m = WEFT_MUTEX_INIT };
	weft_mutex_lock(&s.m);
	s.data = 1;
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, lock_and_read, &s), 0);
	if (can_bias()) {
		/* Wait (no sleep) until the revoker holds the right to change
		 * the mode: it now waits for us. */
		while (atomic_load(&s.m.state) != (WEFT_MUTEX_BIASED | WEFT_MUTEX_LOCKED))
			sched_yield();
		cr_assert_eq(atomic_load(&s.m.owner), weft__mutex_self(),
			     "revoked while the owner was in");
	}
	s.data = 2;
	weft_mutex_unlock(&s.m);
	pthread_join(t, NULL);
	cr_assert_eq(s.seen, 2, "the revoker got in before the owner left");
	cr_assert_eq(atomic_load(&s.m.owner), WEFT__MUTEX_NOBIAS);
	/* Normal mode now, for good, and for the old owner too. */
	weft_mutex_lock(&s.m);
	cr_assert_eq(s.data, 3);
	cr_assert_eq(atomic_load(&s.m.state), WEFT_MUTEX_LOCKED);
	weft_mutex_unlock(&s.m);
	cr_assert_eq(atomic_load(&s.m.state), 0);
}

Test(mutex_bias, revoked_while_not_held)
{
	shared s = { .m = WEFT_MUTEX_INIT };
	weft_mutex_lock(&s.m);
	s.data = 7;
	weft_mutex_unlock(&s.m);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, lock_and_read, &s), 0);
	pthread_join(t, NULL);
	cr_assert_eq(s.seen, 7);
	cr_assert_eq(atomic_load(&s.m.owner), WEFT__MUTEX_NOBIAS);
	cr_assert_eq(atomic_load(&s.m.state), 0);
	weft_mutex_lock(&s.m);
	cr_assert_eq(s.data, 3);
	weft_mutex_unlock(&s.m);
	if (can_bias())
		cr_assert_gt(atomic_load(&weft__mutex_bias_banned_until), 0,
			     "a revocation left no ban");
}

static void *try_then_time_out(void *p)
{
	shared *s = p;
	uint64_t t0 = weft_test_now_ns();
	if (weft_mutex_trylock(&s->m))
		return (void *)"trylock got a mutex its owner holds";
	if (weft_test_now_ns() - t0 > WEFT_TEST_SLACK_NS)
		return (void *)"trylock blocked";
	const uint64_t timeout = 20 * WEFT_MS;
	t0 = weft_test_now_ns();
	if (weft_mutex_lock_timeout(&s->m, timeout) != ETIMEDOUT)
		return (void *)"lock_timeout got a mutex its owner holds";
	uint64_t waited = weft_test_now_ns() - t0;
	if (waited < timeout || waited > timeout + WEFT_TEST_SLACK_NS)
		return (void *)"lock_timeout did not wait its timeout";
	s->biased_while_in = atomic_load(&s->m.owner) != WEFT__MUTEX_NOBIAS;
	return NULL;
}

Test(mutex_bias, trylock_and_lock_timeout_against_a_held_bias)
{
	shared s = { .m = WEFT_MUTEX_INIT };
	weft_mutex_lock(&s.m);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, try_then_time_out, &s), 0);
	void *why;
	pthread_join(t, &why);
	cr_assert_null(why, "%s", (const char *)why);
	if (can_bias()) {
		cr_assert(s.biased_while_in, "a failed attempt revoked the bias");
		cr_assert_eq(atomic_load(&s.m.state), WEFT_MUTEX_BIASED,
			     "a failed revoker left the word changed");
	}
	weft_mutex_unlock(&s.m);
	/* Still ours (when biased): a plain lock takes it. */
	weft_mutex_lock(&s.m);
	weft_mutex_unlock(&s.m);
	/* Now free: another thread's trylock revokes and gets it. */
	cr_assert_eq(pthread_create(&t, NULL, lock_and_read, &s), 0);
	pthread_join(t, NULL);
	cr_assert(weft_mutex_trylock(&s.m));
	weft_mutex_unlock(&s.m);
	cr_assert(weft_test_mutex_idle(&s.m));
}

static void *biased_waiter(void *p)
{
	shared *s = p;
	weft_mutex_lock(&s->m); /* first lock: biased to us */
	bool biased = weft_test_mutex_biased(&s->m);
	/* Nobody signals: the timed wait re-locks through the owner path. */
	if (weft_cond_wait_timeout(&s->c, &s->m, 5 * WEFT_MS) != ETIMEDOUT)
		s->result = 1;
	if (weft_test_mutex_biased(&s->m) != biased)
		s->result = 2;
	atomic_store(&s->phase, 1);
	while (s->data == 0)
		weft_cond_wait(&s->c, &s->m); /* the signaller revokes */
	s->seen = s->data;
	weft_mutex_unlock(&s->m);
	return NULL;
}

Test(mutex_bias, cond_wait_on_a_biased_mutex)
{
	shared s = { .m = WEFT_MUTEX_INIT, .c = WEFT_COND_INIT };
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, biased_waiter, &s), 0);
	while (!atomic_load(&s.phase))
		sched_yield();
	weft_mutex_lock(&s.m);
	s.data = 5;
	weft_cond_signal(&s.c);
	weft_mutex_unlock(&s.m);
	pthread_join(t, NULL);
	cr_assert_eq(s.result, 0, "timed wait: %d", s.result);
	cr_assert_eq(s.seen, 5);
	cr_assert_eq(atomic_load(&s.m.owner), WEFT__MUTEX_NOBIAS);
	cr_assert_eq(atomic_load(&s.m.state), 0);
}

static void *lock_once(void *p)
{
	weft_mutex_lock(p);
	weft_mutex_unlock(p);
	return NULL;
}

Test(mutex_bias, a_revocation_bans_new_biases_for_a_while)
{
	if (!can_bias())
		return;
	weft_mutex a = WEFT_MUTEX_INIT;
	weft_mutex_lock(&a);
	weft_mutex_unlock(&a);
	cr_assert(weft_test_mutex_biased(&a));
	const uint64_t before = weft__monotonic_ns();
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, lock_once, &a), 0);
	pthread_join(t, NULL);
	const uint64_t until = atomic_load(&weft__mutex_bias_banned_until);
	/* Set after the revocation began, for FACTOR times a membarrier:
	 * well under a second even under load. (It may be over already.) */
	cr_assert_gt(until, before, "a revocation left no ban");
	cr_assert_lt(until - before, 1000 * WEFT_MS);
	/* A ban in force refuses new biases. */
	atomic_store(&weft__mutex_bias_banned_until, weft__monotonic_ns() + 20 * WEFT_MS);
	weft_mutex b = WEFT_MUTEX_INIT;
	weft_mutex_lock(&b);
	weft_mutex_unlock(&b);
	cr_assert_eq(atomic_load(&b.owner), WEFT__MUTEX_NOBIAS, "biased during a ban");
	/* Poll the clock (not a sleep): once the ban is over, bias again. */
	while (weft__monotonic_ns() < atomic_load(&weft__mutex_bias_banned_until))
		sched_yield();
	weft_mutex c = WEFT_MUTEX_INIT;
	weft_mutex_lock(&c);
	weft_mutex_unlock(&c);
	cr_assert(weft_test_mutex_biased(&c), "not biased after the ban");
}
