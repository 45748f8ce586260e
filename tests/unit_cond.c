/* tests/unit_cond.c - weft_cond: no-waiter signals, wake-ups, timeouts, size. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "test_util.h"
#include "weft/cond.h"

TestSuite(cond, .timeout = WEFT_UNIT_TIMEOUT_S);

static weft_cond static_cond; /* zero memory: must be a valid cond */

Test(cond, size_and_no_waiter_signals_change_nothing)
{
	cr_assert_eq(sizeof(weft_cond), 8);
	weft_cond_signal(&static_cond);
	weft_cond_broadcast(&static_cond);
	cr_assert_eq(atomic_load(&static_cond.seq), 0, "signal without waiter wrote");
}

Test(cond, wait_timeout_expires)
{
	weft_cond c = WEFT_COND_INIT;
	weft_mutex m = WEFT_MUTEX_INIT;
	weft_mutex_lock(&m);
	const uint64_t timeout = 20 * WEFT_MS;
	uint64_t t0 = weft_test_now_ns();
	int rc;
	/* Spurious returns are allowed: loop until the deadline is reported. */
	while ((rc = weft_cond_wait_timeout(&c, &m, timeout)) == 0 &&
	       weft_test_now_ns() - t0 < timeout)
		;
	uint64_t waited = weft_test_now_ns() - t0;
	cr_assert_eq(rc, ETIMEDOUT);
	cr_assert_geq(waited, timeout);
	cr_assert_lt(waited, timeout + WEFT_TEST_SLACK_NS);
	cr_assert(!weft_mutex_trylock(&m), "mutex not re-locked after timeout");
	weft_mutex_unlock(&m);
	cr_assert_eq(atomic_load(&c.waiters), 0);
}

typedef struct flag_test {
	weft_cond c;
	weft_mutex m;
	int go;	       /* plain: under m */
	int done;      /* plain: under m */
	int timed_out; /* plain: under m */
	bool timed;
} flag_test;

static void *flag_waiter(void *p)
{
	flag_test *t = p;
	weft_mutex_lock(&t->m);
	while (!t->go) {
		if (t->timed) {
			if (weft_cond_wait_timeout(&t->c, &t->m, 10000 * WEFT_MS) ==
			    ETIMEDOUT)
				t->timed_out++;
		} else {
			weft_cond_wait(&t->c, &t->m);
		}
	}
	t->done++;
	weft_mutex_unlock(&t->m);
	return NULL;
}

static void wake_n(int n, bool broadcast, bool timed)
{
	flag_test t = { .c = WEFT_COND_INIT, .m = WEFT_MUTEX_INIT, .timed = timed };
	pthread_t th[64];
	for (int i = 0; i < n; i++)
		pthread_create(&th[i], NULL, flag_waiter, &t);
	/* Wait until all are registered (they may spin or sleep). */
	while ((atomic_load(&t.c.waiters)) < (unsigned)n)
		sched_yield();
	weft_mutex_lock(&t.m);
	t.go = 1;
	if (broadcast) {
		weft_cond_broadcast(&t.c);
	} else {
		for (int i = 0; i < n; i++)
			weft_cond_signal(&t.c);
	}
	weft_mutex_unlock(&t.m);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	cr_assert_eq(t.done, n);
	cr_assert_eq(t.timed_out, 0);
	cr_assert_eq(atomic_load(&t.c.waiters), 0);
	cr_assert(weft_test_mutex_idle(&t.m));
}

Test(cond, signal_wakes_a_waiter) { wake_n(1, false, false); }
Test(cond, timed_wait_woken_before_its_deadline) { wake_n(1, false, true); }
Test(cond, broadcast_wakes_all_waiters) { wake_n(8, true, false); }
Test(cond, broadcast_wakes_all_timed_waiters) { wake_n(8, true, true); }

/* More waiters than CPUs: nobody spins, all sleep; one broadcast. */
Test(cond, broadcast_wakes_64_waiters) { wake_n(64, true, false); }

/*
 * Waiters with short timeouts keep timing out and re-registering (a new
 * SEQ each time) next to untimed sleepers; one broadcast must still wake
 * every untimed one, and the timed ones see the flag on their next check.
 */
typedef struct mixed_test {
	weft_cond c;
	weft_mutex m;
	int go;		/* plain: under m */
	int done;	/* plain: under m */
	_Atomic int registered;
} mixed_test;

static void *mixed_waiter(void *p)
{
	mixed_test *t = p;
	weft_mutex_lock(&t->m);
	atomic_fetch_add(&t->registered, 1);
	while (!t->go)
		weft_cond_wait(&t->c, &t->m);
	t->done++;
	weft_mutex_unlock(&t->m);
	return NULL;
}

static void *mixed_timed_waiter(void *p)
{
	mixed_test *t = p;
	weft_mutex_lock(&t->m);
	atomic_fetch_add(&t->registered, 1);
	while (!t->go)
		(void)weft_cond_wait_timeout(&t->c, &t->m, 50000);
	t->done++;
	weft_mutex_unlock(&t->m);
	return NULL;
}

Test(cond, broadcast_with_timing_out_waiters)
{
	for (int round = 0; round < 20; round++) {
		mixed_test t = { .c = WEFT_COND_INIT, .m = WEFT_MUTEX_INIT };
		pthread_t th[12];
		for (int i = 0; i < 12; i++)
			pthread_create(&th[i], NULL,
				       i % 2 ? mixed_timed_waiter : mixed_waiter, &t);
		/* All have taken the mutex once; the untimed ones are then
		 * registered or about to be (they register before unlocking). */
		while (atomic_load(&t.registered) < 12)
			sched_yield();
		weft_mutex_lock(&t.m);
		t.go = 1;
		weft_cond_broadcast(&t.c);
		weft_mutex_unlock(&t.m);
		for (int i = 0; i < 12; i++)
			pthread_join(th[i], NULL);
		cr_assert_eq(t.done, 12);
		cr_assert_eq(atomic_load(&t.c.waiters), 0);
		cr_assert(weft_test_mutex_idle(&t.m));
	}
}

/*
 * The broadcaster keeps the mutex after the broadcast: the woken waiters
 * poll it with sched_yield, run out of polls and must then register on the
 * mutex and sleep (weft__mutex_lock_yielding's fallback), and every one of
 * them must get through, one at a time, once it is unlocked. Catches a
 * yield poll that never gives up (no sleeper ever registers), one that
 * returns without the lock (two inside at once) and a lost mutex wake-up
 * (a join that hangs).
 */
#define HELD_WAITERS 8

typedef struct held_test {
	weft_cond c;
	weft_mutex m;
	int go;		/* plain: under m */
	int done;	/* plain: under m */
	_Atomic int inside;
	_Atomic int overlaps;
	_Atomic pid_t tid[HELD_WAITERS];
	_Atomic int next;
} held_test;

static void *held_waiter(void *p)
{
	held_test *t = p;
	int me = atomic_fetch_add(&t->next, 1);
	atomic_store(&t->tid[me], (pid_t)syscall(SYS_gettid));
	weft_mutex_lock(&t->m);
	while (!t->go)
		weft_cond_wait(&t->c, &t->m);
	if (atomic_fetch_add(&t->inside, 1) != 0)
		atomic_fetch_add(&t->overlaps, 1);
	sched_yield(); /* widen the window for a second owner */
	atomic_fetch_sub(&t->inside, 1);
	t->done++;
	weft_mutex_unlock(&t->m);
	return NULL;
}

Test(cond, broadcast_with_the_mutex_held_lets_all_through)
{
	held_test t = { .c = WEFT_COND_INIT, .m = WEFT_MUTEX_INIT };
	weft_test_mutex_unbiased(&t.m); /* counts the mutex's sleepers */
	pthread_t th[HELD_WAITERS];
	for (int i = 0; i < HELD_WAITERS; i++)
		pthread_create(&th[i], NULL, held_waiter, &t);
	/* All registered and asleep on the cond (past their yield polls), so
	 * the broadcast really wakes them from the futex. */
	for (int i = 0; i < HELD_WAITERS; i++) {
		while (atomic_load(&t.tid[i]) == 0)
			sched_yield();
	}
	while ((atomic_load(&t.c.waiters)) < HELD_WAITERS)
		sched_yield();
	for (int i = 0; i < HELD_WAITERS; i++) {
		while (!weft_test_thread_sleeping(atomic_load(&t.tid[i])))
			sched_yield();
	}
	weft_mutex_lock(&t.m);
	t.go = 1;
	weft_cond_broadcast(&t.c);
	/* Hold the mutex until every woken waiter has given up polling and
	 * registered as a mutex sleeper. */
	const uint32_t all = WEFT_MUTEX_LOCKED + HELD_WAITERS * WEFT_MUTEX_SLEEPER;
	uint64_t t0 = weft_test_now_ns();
	while ((atomic_load(&t.m.state) & ~WEFT_MUTEX_WOKEN) != all &&
	       weft_test_now_ns() - t0 < 10000 * WEFT_MS)
		sched_yield();
	uint32_t seen = atomic_load(&t.m.state);
	weft_mutex_unlock(&t.m);
	for (int i = 0; i < HELD_WAITERS; i++)
		pthread_join(th[i], NULL);
	cr_assert_eq(seen & ~WEFT_MUTEX_WOKEN, all,
		     "woken waiters did not all sleep on the held mutex: %#x", seen);
	cr_assert_eq(t.done, HELD_WAITERS);
	cr_assert_eq(atomic_load(&t.overlaps), 0, "two owners at once");
	cr_assert_eq(atomic_load(&t.c.waiters), 0);
	cr_assert(weft_test_mutex_idle(&t.m));
}

/*
 * Many waiters asleep, woken one signal at a time: each signal hands one
 * token (under the mutex) and every waiter must get one. A signal whose
 * wake-up is lost, or swallowed by a waiter that goes back to sleep,
 * leaves a waiter asleep with a token on the table (the join hangs).
 */
typedef struct token_test {
	weft_cond c;
	weft_mutex m;
	int tokens; /* plain: under m */
	int taken;  /* plain: under m */
} token_test;

static void *token_waiter(void *p)
{
	token_test *t = p;
	weft_mutex_lock(&t->m);
	while (t->tokens == 0)
		weft_cond_wait(&t->c, &t->m);
	t->tokens--;
	t->taken++;
	weft_mutex_unlock(&t->m);
	return NULL;
}

Test(cond, signals_one_at_a_time_to_many_sleepers)
{
	enum { N = 24 };
	token_test t = { .c = WEFT_COND_INIT, .m = WEFT_MUTEX_INIT };
	pthread_t th[N];
	for (int i = 0; i < N; i++)
		pthread_create(&th[i], NULL, token_waiter, &t);
	while (atomic_load(&t.c.waiters) < N)
		sched_yield();
	for (int i = 0; i < N; i++) {
		weft_mutex_lock(&t.m);
		t.tokens++;
		weft_cond_signal(&t.c);
		weft_mutex_unlock(&t.m);
	}
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	cr_assert_eq(t.taken, N);
	cr_assert_eq(atomic_load(&t.c.waiters), 0);
}

/*
 * The sequence wraps (32 bits): waiters that registered at seq 2^32 - 1
 * (or 2^32 - 2, 0) and sleep are woken by the broadcast that moves it on,
 * and timed waiters signalled across the wrap report the wake-up, not a
 * timeout.
 */
typedef struct wrap_test {
	flag_test f;
	_Atomic pid_t tid[2];
	_Atomic int next;
} wrap_test;

static void *wrap_waiter(void *p)
{
	wrap_test *w = p;
	atomic_store(&w->tid[atomic_fetch_add(&w->next, 1)], (pid_t)syscall(SYS_gettid));
	weft_mutex_lock(&w->f.m);
	while (!w->f.go)
		if (weft_cond_wait_timeout(&w->f.c, &w->f.m, 10000 * WEFT_MS) == ETIMEDOUT)
			w->f.timed_out++;
	w->f.done++;
	weft_mutex_unlock(&w->f.m);
	return NULL;
}

Test(cond, sleepers_wake_across_the_sequence_wrap)
{
	for (uint32_t start = UINT32_MAX - 1; start != 1; start++) {
		wrap_test w = { .f = { .c = WEFT_COND_INIT, .m = WEFT_MUTEX_INIT } };
		atomic_store(&w.f.c.seq, start);
		pthread_t th[2];
		for (int i = 0; i < 2; i++)
			pthread_create(&th[i], NULL, wrap_waiter, &w);
		while (atomic_load(&w.f.c.waiters) < 2)
			sched_yield();
		/* Both past their yield polls, asleep in the futex on `start`. */
		for (int i = 0; i < 2; i++)
			while (!atomic_load(&w.tid[i]) ||
			       !weft_test_thread_sleeping(atomic_load(&w.tid[i])))
				sched_yield();
		weft_mutex_lock(&w.f.m);
		w.f.go = 1;
		weft_cond_broadcast(&w.f.c);
		weft_mutex_unlock(&w.f.m);
		for (int i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		cr_assert_eq(w.f.done, 2);
		cr_assert_eq(w.f.timed_out, 0, "a waiter reported a timeout across the wrap");
		cr_assert_eq(atomic_load(&w.f.c.seq), start + 1);
	}
}
