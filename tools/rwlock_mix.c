/*
 * tools/rwlock_mix.c - one rwlock mix row outside Google Benchmark, with
 * what the benchmark does not show: CPUs used (process CPU time / wall
 * time), voluntary and involuntary context switches per 1000 operations
 * (getrusage(RUSAGE_THREAD)), and when each thread finished (fraction of
 * the run). "GBmetric" is Google Benchmark's items/s with UseRealTime and
 * threads: total items over the mean of the per-thread times.
 * The body is bench/bench_rwlock.c's mix body (a record of 8 words).
 *
 *   cc -O2 -Iinclude -o /tmp/rwlock_mix tools/rwlock_mix.c \
 *      build/release/libweft.a -lpthread
 *   flock /tmp/weft-bench.lock /tmp/rwlock_mix weft|pthread|pthread_wpref \
 *      WRITE_PCT THREADS OPS_PER_THREAD [REPEATS]
 * e.g. `... weft 10 8 2000000 2` (r90w10 at 8 threads, twice); prefix
 * `taskset -c 0` to see a row confined to one CPU.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "weft/rwlock.h"

enum impl { WEFT, PTHREAD, PTHREAD_WPREF };

static enum impl impl;
static unsigned write_pct, nthreads;
static uint64_t ops;

static struct {
	_Alignas(64) weft_rwlock w;
	_Alignas(64) pthread_rwlock_t p;
	_Alignas(64) uint64_t rec[8];
} shared;

static pthread_barrier_t start;

static struct result {
	double t0, t1;
	long vcs, ivcs;
} results[64];

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static double cpu_seconds(const struct rusage *r)
{
	return r->ru_utime.tv_sec + r->ru_stime.tv_sec +
	       (r->ru_utime.tv_usec + r->ru_stime.tv_usec) * 1e-6;
}

static void *worker(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	uint64_t x = 0x9e3779b97f4a7c15ull * (id + 1), sum = 0;
	struct rusage r0, r1;
	pthread_barrier_wait(&start);
	getrusage(RUSAGE_THREAD, &r0);
	results[id].t0 = now();
	for (uint64_t i = 0; i < ops; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (write_pct && x % 100 < write_pct) {
			if (impl == WEFT)
				weft_rwlock_write_lock(&shared.w);
			else
				pthread_rwlock_wrlock(&shared.p);
			for (int k = 0; k < 8; k++)
				shared.rec[k]++;
			if (impl == WEFT)
				weft_rwlock_write_unlock(&shared.w);
			else
				pthread_rwlock_unlock(&shared.p);
		} else {
			if (impl == WEFT)
				weft_rwlock_read_lock(&shared.w);
			else
				pthread_rwlock_rdlock(&shared.p);
			for (int k = 0; k < 8; k++)
				sum += shared.rec[k];
			if (impl == WEFT)
				weft_rwlock_read_unlock(&shared.w);
			else
				pthread_rwlock_unlock(&shared.p);
		}
	}
	results[id].t1 = now();
	getrusage(RUSAGE_THREAD, &r1);
	results[id].vcs = r1.ru_nvcsw - r0.ru_nvcsw;
	results[id].ivcs = r1.ru_nivcsw - r0.ru_nivcsw;
	__asm__ __volatile__("" ::"r"(sum));
	return NULL;
}

static void run_once(const char *name)
{
	shared.w = (weft_rwlock)WEFT_RWLOCK_INIT;
	shared.p = impl == PTHREAD
			   ? (pthread_rwlock_t)PTHREAD_RWLOCK_INITIALIZER
			   : (pthread_rwlock_t)PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
	pthread_barrier_init(&start, NULL, nthreads);
	pthread_t th[64];
	struct rusage a, b;
	getrusage(RUSAGE_SELF, &a);
	for (unsigned i = 0; i < nthreads; i++)
		pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i);
	for (unsigned i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	getrusage(RUSAGE_SELF, &b);
	pthread_barrier_destroy(&start);

	double first = 1e300, last = 0, mean = 0;
	long vcs = 0, ivcs = 0;
	for (unsigned i = 0; i < nthreads; i++) {
		if (results[i].t0 < first)
			first = results[i].t0;
		if (results[i].t1 > last)
			last = results[i].t1;
		mean += results[i].t1 - results[i].t0;
		vcs += results[i].vcs;
		ivcs += results[i].ivcs;
	}
	mean /= nthreads;
	double total = (double)ops * nthreads, wall = last - first;
	printf("%-13s w%-2u t%u  GBmetric %6.1fM/s  wall %6.1fM/s  cpus %.2f"
	       "  vcs/kop %.2f ivcs/kop %.2f  finish:",
	       name, write_pct, nthreads, total / mean / 1e6, total / wall / 1e6,
	       (cpu_seconds(&b) - cpu_seconds(&a)) / wall, vcs * 1e3 / total,
	       ivcs * 1e3 / total);
	for (unsigned i = 0; i < nthreads; i++)
		printf(" %.2f", (results[i].t1 - first) / wall);
	printf("\n");
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: %s weft|pthread|pthread_wpref WRITE_PCT "
				"THREADS OPS_PER_THREAD [REPEATS]\n", argv[0]);
		return 2;
	}
	impl = !strcmp(argv[1], "weft")	   ? WEFT
	       : !strcmp(argv[1], "pthread") ? PTHREAD
					     : PTHREAD_WPREF;
	write_pct = (unsigned)atoi(argv[2]);
	nthreads = (unsigned)atoi(argv[3]);
	ops = strtoull(argv[4], NULL, 0);
	int repeats = argc > 5 ? atoi(argv[5]) : 1;
	if (nthreads < 1 || nthreads > 64 || write_pct > 100)
		return 2;
	for (int r = 0; r < repeats; r++)
		run_once(argv[1]);
	return 0;
}
