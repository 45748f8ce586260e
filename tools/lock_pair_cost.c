/*
 * tools/lock_pair_cost.c - what one uncontended lock+unlock pair costs, by
 * the atomic instructions it is made of, beside weft's and glibc's real
 * pairs, in one process (multi-threaded, as in the benchmark: glibc's
 * mutex uses plain stores while a process has never had a second thread).
 * Each pair runs N times on one cache line; best of ROUNDS interleaved
 * rounds, ns per pair. Also times one membarrier(PRIVATE_EXPEDITED), the
 * heavy side of lib/internal/asym_fence.h, alone and with a second thread
 * running.
 *
 *   cc -O2 -Iinclude -Ibuild/release/include -o /tmp/lock_pair_cost \
 *      tools/lock_pair_cost.c build/release/libweft.a -lpthread
 *   /tmp/lock_pair_cost
 */
#define _GNU_SOURCE
#include <linux/membarrier.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "weft/mutex.h"
#include "weft/rwlock.h"

#define N 2000000
#define ROUNDS 15

static _Alignas(64) _Atomic uint32_t w;
static _Alignas(64) _Atomic uint32_t other; /* a second word (two-word designs) */
static _Alignas(64) weft_mutex wm;  /* biased to main by its first lock */
static _Alignas(64) weft_mutex wmn; /* normal mode (owner NOBIAS, set in main) */
static _Alignas(64) pthread_mutex_t pm = PTHREAD_MUTEX_INITIALIZER;
static _Alignas(64) weft_rwlock wrl;
static _Alignas(64) pthread_rwlock_t prl = PTHREAD_RWLOCK_INITIALIZER;

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

#define O(x) memory_order_##x
#define PAIR(name, body)                                                       \
	static __attribute__((noinline)) double name(void)                     \
	{                                                                      \
		double t = now();                                              \
		for (long i = 0; i < N; i++) {                                 \
			body;                                                  \
		}                                                              \
		return (now() - t) / N;                                        \
	}
/* The orders are the ones a lock would use (acquire lock, release unlock). */
PAIR(bts_xadd, { atomic_fetch_or_explicit(&w, 1, O(acquire));
		 if (atomic_fetch_sub_explicit(&w, 1, O(release)) > 3) __builtin_trap(); })
PAIR(cas_xadd, { uint32_t z = 0;
		 atomic_compare_exchange_strong_explicit(&w, &z, 1, O(acquire), O(relaxed));
		 if (atomic_fetch_sub_explicit(&w, 1, O(release)) > 3) __builtin_trap(); })
PAIR(xchg_xchg, { atomic_exchange_explicit(&w, 1, O(acquire));
		  if (atomic_exchange_explicit(&w, 0, O(release)) != 1) __builtin_trap(); })
PAIR(cas_store, { uint32_t z = 0;
		  atomic_compare_exchange_strong_explicit(&w, &z, 1, O(acquire), O(relaxed));
		  atomic_store_explicit(&w, 0, O(release)); })
/* A two-word lock with asymmetric fences: release store, compiler fence,
 * load of the sleeper word. */
PAIR(cas_store_load, { uint32_t z = 0;
		       atomic_compare_exchange_strong_explicit(&w, &z, 1, O(acquire), O(relaxed));
		       atomic_store_explicit(&w, 0, O(release));
		       atomic_signal_fence(O(seq_cst));
		       if (atomic_load_explicit(&other, O(relaxed))) __builtin_trap(); })
PAIR(weft_mutex_pair, { weft_mutex_lock(&wm); weft_mutex_unlock(&wm); })
PAIR(weft_mutex_normal_pair, { weft_mutex_lock(&wmn); weft_mutex_unlock(&wmn); })
PAIR(pthread_mutex_pair, { pthread_mutex_lock(&pm); pthread_mutex_unlock(&pm); })
PAIR(weft_read_pair, { weft_rwlock_read_lock(&wrl); weft_rwlock_read_unlock(&wrl); })
PAIR(pthread_read_pair, { pthread_rwlock_rdlock(&prl); pthread_rwlock_unlock(&prl); })

static _Atomic int stop;
static void *spin(void *p)
{
	while (!atomic_load_explicit(&stop, O(relaxed)))
		;
	return p;
}

static double membarrier_ns(void)
{
	double t = now();
	for (int i = 0; i < 2000; i++)
		syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
	return (now() - t) / 2000;
}

int main(void)
{
	static const struct {
		const char *name;
		double (*run)(void);
	} pairs[] = {
		{ "lock bts + lock xadd (weft_mutex)", bts_xadd },
		{ "lock cmpxchg + lock xadd", cas_xadd },
		{ "xchg + xchg", xchg_xchg },
		{ "lock cmpxchg + store", cas_store },
		{ "lock cmpxchg + store, load", cas_store_load },
		{ "weft_mutex lock+unlock (biased)", weft_mutex_pair },
		{ "weft_mutex lock+unlock (normal)", weft_mutex_normal_pair },
		{ "pthread_mutex lock+unlock", pthread_mutex_pair },
		{ "weft_rwlock read lock+unlock", weft_read_pair },
		{ "pthread_rwlock rdlock+unlock", pthread_read_pair },
	};
	enum { K = sizeof pairs / sizeof pairs[0] };
	double best[K];
	pthread_t t;
	atomic_store(&wmn.owner, WEFT__MUTEX_NOBIAS);
	pthread_create(&t, NULL, spin, NULL); /* multi-threaded from here */
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	atomic_store(&stop, 0);
	for (int k = 0; k < K; k++)
		best[k] = 1e30;
	for (int r = 0; r < ROUNDS; r++)
		for (int k = 0; k < K; k++) {
			double ns = pairs[k].run();
			best[k] = ns < best[k] ? ns : best[k];
		}
	for (int k = 0; k < K; k++)
		printf("%-34s %6.2f ns\n", pairs[k].name, best[k]);
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0) {
		printf("%-34s %6.0f ns\n", "membarrier, alone", membarrier_ns());
		pthread_create(&t, NULL, spin, NULL);
		printf("%-34s %6.0f ns\n", "membarrier, a thread running", membarrier_ns());
		atomic_store(&stop, 1);
		pthread_join(t, NULL);
	}
	return 0;
}
