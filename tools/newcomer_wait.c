/*
 * tools/newcomer_wait.c - how long one thread waits for a lock that BUSY
 * other threads keep taking: the tail latency a throughput benchmark does
 * not show. The busy threads take the lock (mutex: lock; rwlock: read lock),
 * spin 200 loop iterations inside, release, spin 50 outside, and repeat.
 * The newcomer (mutex: lock; rwlock: write lock) takes and releases it
 * ROUNDS times, letting the busy threads in 50 times between rounds, and
 * prints percentiles of its waits. With BUSY + 1 threads above the CPU
 * count this measures oversubscription: a thread woken from a futex must
 * then get a CPU from threads that do not block.
 *
 *   cc -O2 -Iinclude -o /tmp/newcomer_wait tools/newcomer_wait.c \
 *      build/release/libweft.a -lpthread
 *   /tmp/newcomer_wait mutex|rwlock weft|pthread|pthread_wpref [BUSY [ROUNDS]]
 * pthread_wpref: PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP (rwlock only;
 * the default kind prefers readers and can starve the writer for seconds).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "weft/mutex.h"
#include "weft/rwlock.h"

enum { MAX_BUSY = 64, MAX_ROUNDS = 10001 };

static bool rwlock, use_pthread;
static weft_mutex wm;
static weft_rwlock wrw;
static pthread_mutex_t pm = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t prw;
/* Progress flags and counters only: the locks order the data, so every
 * access to these two is relaxed. */
static _Atomic bool stop;
static _Atomic unsigned entries;

/* The busy threads share the lock (rwlock: read); the newcomer excludes. */
static void take(bool shared)
{
	if (!rwlock)
		use_pthread ? (void)pthread_mutex_lock(&pm) : weft_mutex_lock(&wm);
	else if (shared)
		use_pthread ? (void)pthread_rwlock_rdlock(&prw) : weft_rwlock_read_lock(&wrw);
	else
		use_pthread ? (void)pthread_rwlock_wrlock(&prw) : weft_rwlock_write_lock(&wrw);
}

static void release(bool shared)
{
	if (!rwlock)
		use_pthread ? (void)pthread_mutex_unlock(&pm) : weft_mutex_unlock(&wm);
	else if (use_pthread)
		pthread_rwlock_unlock(&prw);
	else if (shared)
		weft_rwlock_read_unlock(&wrw);
	else
		weft_rwlock_write_unlock(&wrw);
}

static void *busy(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		take(true);
		atomic_fetch_add_explicit(&entries, 1, memory_order_relaxed);
		for (volatile int i = 0; i < 200; i++)
			;
		release(true);
		for (volatile int i = 0; i < 50; i++)
			;
	}
	return NULL;
}

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void let_busy_run(unsigned n)
{
	unsigned e = atomic_load_explicit(&entries, memory_order_relaxed);
	while (atomic_load_explicit(&entries, memory_order_relaxed) < e + n)
		sched_yield();
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s mutex|rwlock weft|pthread|pthread_wpref [BUSY [ROUNDS]]\n",
		argv0);
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		usage(argv[0]);
	rwlock = !strcmp(argv[1], "rwlock");
	use_pthread = strncmp(argv[2], "pthread", 7) == 0;
	bool wpref = !strcmp(argv[2], "pthread_wpref");
	int nbusy = argc > 3 ? atoi(argv[3]) : 4;
	int rounds = argc > 4 ? atoi(argv[4]) : 101;
	if ((!rwlock && strcmp(argv[1], "mutex")) || (wpref && !rwlock) ||
	    (!use_pthread && strcmp(argv[2], "weft")) || nbusy < 1 ||
	    nbusy > MAX_BUSY || rounds < 1 || rounds > MAX_ROUNDS)
		usage(argv[0]);

	pthread_rwlockattr_t attr;
	pthread_rwlockattr_init(&attr);
	if (wpref)
		pthread_rwlockattr_setkind_np(&attr,
					      PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&prw, &attr);

	pthread_t th[MAX_BUSY];
	for (int i = 0; i < nbusy; i++)
		pthread_create(&th[i], NULL, busy, NULL);
	let_busy_run(1000);
	static uint64_t waits[MAX_ROUNDS];
	for (int r = 0; r < rounds; r++) {
		uint64_t t0 = now_ns();
		take(false);
		waits[r] = now_ns() - t0;
		release(false);
		let_busy_run(50);
	}
	atomic_store_explicit(&stop, true, memory_order_relaxed);
	for (int i = 0; i < nbusy; i++)
		pthread_join(th[i], NULL);

	qsort(waits, (size_t)rounds, sizeof waits[0], cmp_u64);
	printf("%s %s, %d busy, %d rounds: wait p10 %.0f p50 %.0f p90 %.0f max %.0f us\n",
	       argv[1], argv[2], nbusy, rounds, waits[rounds / 10] / 1e3,
	       waits[rounds / 2] / 1e3, waits[rounds * 9 / 10] / 1e3,
	       waits[rounds - 1] / 1e3);
	return 0;
}
