/* tests/test_util.h - small helpers shared by the unit tests. */
#ifndef WEFT_TESTS_TEST_UTIL_H
#define WEFT_TESTS_TEST_UTIL_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "internal/cpus.h"        /* internal: weft__cpus_usable */
#include "internal/rwlock_bias.h" /* internal: the rwlock helpers below */
#include "weft/rwlock.h"
#include "weft/mutex.h"

#define WEFT_MS 1000000ull

/*
 * How late a timed wait may return and still pass. Generous because tests
 * also run under sanitizers, emulation and a loaded CI machine; a broken
 * timeout (never firing, or firing at the wrong scale) still fails.
 */
#define WEFT_TEST_SLACK_NS (500 * WEFT_MS)

/*
 * Per-test time limit of every unit suite, in seconds (each file declares
 * TestSuite(<suite>, .timeout = WEFT_UNIT_TIMEOUT_S)): a primitive that
 * hangs fails its test instead of hanging the run. Criterion's --timeout
 * option does not take effect (2.4), the suite field does. Generous for
 * qemu; every unit test takes well under a second natively.
 */
#define WEFT_UNIT_TIMEOUT_S 120

/*
 * Bounds on how fast something happens at native speed (a median wait, not
 * a timeout's slack) are multiplied by WEFT_TEST_TIME_SCALE (default 1).
 * tools/arm64.sh sets 25 under qemu, where code runs 10-30 times slower
 * while the kernel's scheduling and timers do not: a writer that holds the
 * lock longer lets more readers fall asleep, and waking them cost the
 * rwlock starvation test's writer 12-16 ms of CPU in a loaded qemu run.
 */
static inline uint64_t weft_test_time_scale(void)
{
	const char *s = getenv("WEFT_TEST_TIME_SCALE");
	long v = s ? atol(s) : 1;
	return v > 0 ? (uint64_t)v : 1;
}

/*
 * True when the machine is too busy for a bound on how fast something
 * happens (a median wait): the 1-minute load average above 4 per CPU this
 * process may use. Such bounds describe an idle machine (CI's own -j2
 * suite keeps the load well under that); a test then says that it skipped
 * the bound and still asserts everything else.
 */
static inline bool weft_test_machine_busy(void)
{
	double load;
	return getloadavg(&load, 1) == 1 && load > 4.0 * weft__cpus_usable();
}

static inline uint64_t weft_test_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Is thread `tid` of this process asleep in the kernel (state S in
 * /proc/self/task/<tid>/stat)? Lets a test wait until a waiter has really
 * gone to sleep before it takes the step that must wake it, so a missing
 * wake-up shows as a timeout instead of being covered by the waiter's spin.
 * A file that cannot be read (no /proc, or the thread is gone) counts as
 * asleep, so a caller's wait loop always ends; the test is then only weaker.
 */
static inline bool weft_test_thread_sleeping(pid_t tid)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	const char *end = strrchr(buf, ')'); /* the name may hold spaces */
	return end && end[1] == ' ' && end[2] == 'S';
}

/*
 * Wait until the thread that stores its id in *tid has done so and sleeps
 * in the kernel, for at most WEFT_TEST_SLACK_NS once the id is there (a
 * caller then asserts what it needs; the wait alone proves nothing).
 */
static inline void weft_test_await_sleeping(_Atomic pid_t *tid)
{
	while (!atomic_load(tid))
		sched_yield();
	uint64_t t0 = weft_test_now_ns();
	while (!weft_test_thread_sleeping(atomic_load(tid)) &&
	       weft_test_now_ns() - t0 < WEFT_TEST_SLACK_NS)
		sched_yield();
}

/*
 * Is rwlock l left as nobody holds or waits for it? No state bit but BIAS
 * (the bias outlives the readers that set it, by design) and GRANT (flips
 * with every grant), and a write trylock gets in, which it does not while
 * a visible-reader entry still names l (it then revokes the bias).
 */
static inline bool weft_test_rwlock_idle(weft_rwlock *l)
{
	if (atomic_load(&l->state) & ~(WEFT__RWLOCK_BIAS | WEFT__RWLOCK_GRANT))
		return false;
	if (!weft_rwlock_write_trylock(l))
		return false;
	weft_rwlock_write_unlock(l);
	return true;
}

/*
 * A busy reader: read-lock l, count the entry, hold it ~200 loop turns,
 * unlock, until *stop. relaxed: stop is a flag (the caller joins us) and
 * entries a progress count the caller only compares.
 */
static inline void weft_test_read_until(weft_rwlock *l, _Atomic bool *stop,
					_Atomic unsigned *entries)
{
	while (!atomic_load_explicit(stop, memory_order_relaxed)) {
		weft_rwlock_read_lock(l);
		atomic_fetch_add_explicit(entries, 1, memory_order_relaxed);
		for (volatile int i = 0; i < 200; i++)
			;
		weft_rwlock_read_unlock(l);
	}
}

/*
 * How long weft_test_rwlock_bias waits out an inhibit. An earlier
 * revocation on a lock at the same address (the stress cases' locks live
 * on the same stack slot) leaves the bias off for 16 times its own length
 * (lib/rwlock_bias.c); under a CPU quota a revocation can wait out a
 * throttled period (up to 100 ms), so the inhibit can last over a second
 * (seen once in CI: "lock never biased" under the quota condition with a
 * 500 ms wait).
 */
#define WEFT_TEST_BIAS_WAIT_NS (10000 * WEFT_MS)

/*
 * Turn l's read bias on; false if it did not come on within
 * WEFT_TEST_BIAS_WAIT_NS (times weft_test_time_scale: under qemu a
 * revocation, and so the inhibit it leaves, is 10-30 times longer). Nested
 * read locks find a reader inside (the outer one), which is what biases a
 * lock; the check comes once in 64 such reads and waits out an inhibit an
 * earlier revocation may have left.
 */
static inline bool weft_test_rwlock_bias(weft_rwlock *l)
{
	uint64_t t0 = weft_test_now_ns();
	while (!(atomic_load(&l->state) & WEFT__RWLOCK_BIAS)) {
		if (weft_test_now_ns() - t0 > WEFT_TEST_BIAS_WAIT_NS * weft_test_time_scale())
			return false;
		weft_rwlock_read_lock(l);
		weft_rwlock_read_lock(l);
		weft_rwlock_read_unlock(l);
		weft_rwlock_read_unlock(l);
	}
	return true;
}

/* Does the calling thread hold l through a visible-reader entry? */
static inline bool weft_test_rwlock_visible(weft_rwlock *l)
{
	return weft__rwlock_bias_held(l);
}

/*
 * Put a fresh mutex in normal mode for good (weft/mutex.h: owner NOBIAS),
 * for tests that watch the normal state machine (sleeper counts, WOKEN).
 */
static inline void weft_test_mutex_unbiased(weft_mutex *m)
{
	atomic_store(&m->owner, WEFT__MUTEX_NOBIAS);
}

/* Is mutex m free with nobody waiting: normal mode with a word of 0, or
 * biased (or undecided) with its owner out and no mode change under way? */
static inline bool weft_test_mutex_idle(weft_mutex *m)
{
	uint32_t s = atomic_load(&m->state);
	if (atomic_load(&m->owner) == WEFT__MUTEX_NOBIAS)
		return s == 0;
	return (s == 0 || s == WEFT_MUTEX_BIASED) && atomic_load(&m->held) == 0;
}

/* Is m biased to some thread? */
static inline bool weft_test_mutex_biased(weft_mutex *m)
{
	uintptr_t o = atomic_load(&m->owner);
	return o != 0 && o != WEFT__MUTEX_NOBIAS;
}

#endif /* WEFT_TESTS_TEST_UTIL_H */
