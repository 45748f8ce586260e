/*
 * tools/line_rt.c - the round trip of one cache line between two CPUs,
 * once a second: a diagnostic for benchmark runs on virtual machines,
 * where the host may move the vCPUs between cores that share a cache and
 * cores that do not, and the cost of every cross-thread hand-off moves
 * with it (docs/tuning.md, weft_pool, "Fourth pass": 130-150 ns, then
 * 450 ns, minutes apart, on the 2-vCPU development guest).
 *
 *   cc -O2 -pthread tools/line_rt.c -o build/line_rt
 *   build/line_rt [seconds [cpuA cpuB]]    (default: 10 s, the first two
 *                                          CPUs this process may use)
 *
 * Two threads pinned to cpuA and cpuB bounce a counter in one line. Each
 * sample times 256 round trips with CLOCK_MONOTONIC (a clock read costs
 * ~125 ns on a nested-KVM guest: timed in blocks, not per trip); a line a
 * second gives the 10th, 50th and 90th percentile of that second's samples
 * in ns per round trip. A preempted sample is only slower, so p10/p50 read
 * the line's own cost even on a loaded machine.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define TRIPS 256
#define MAX_SAMPLES 100000

static _Alignas(64) _Atomic uint64_t line;
static _Atomic int stop;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	if (pthread_setaffinity_np(pthread_self(), sizeof s, &s) != 0) {
		fprintf(stderr, "line_rt: cannot run on CPU %d\n", cpu);
		exit(1);
	}
}

/* The echo side: answers every odd value with the next even one. */
static void *echo(void *arg)
{
	pin(*(int *)arg);
	uint64_t seen = 0;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		/* acquire/release: a hand-off, as the pool's queues do. */
		uint64_t v = atomic_load_explicit(&line, memory_order_acquire);
		if (v != seen && (v & 1)) {
			atomic_store_explicit(&line, v + 1, memory_order_release);
			seen = v + 1;
		}
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 10;
	int cpu[2] = { -1, -1 };
	if (argc > 3) {
		cpu[0] = atoi(argv[2]);
		cpu[1] = atoi(argv[3]);
	} else {
		cpu_set_t s;
		sched_getaffinity(0, sizeof s, &s);
		for (int c = 0, k = 0; c < CPU_SETSIZE && k < 2; c++)
			if (CPU_ISSET(c, &s))
				cpu[k++] = c;
	}
	if (cpu[1] < 0) {
		fprintf(stderr, "line_rt: needs two CPUs\n");
		return 1;
	}
	pthread_t t;
	pthread_create(&t, NULL, echo, &cpu[1]);
	pin(cpu[0]);
	static uint64_t sample[MAX_SAMPLES];
	uint64_t v = 0;
	printf("# line round trip CPU %d <-> CPU %d, ns: p10 p50 p90 (samples)\n",
	       cpu[0], cpu[1]);
	for (int s = 0; s < seconds; s++) {
		uint64_t end = now_ns() + 1000000000u;
		size_t n = 0;
		while (n < MAX_SAMPLES && now_ns() < end) {
			uint64_t t0 = now_ns();
			for (int i = 0; i < TRIPS; i++) {
				atomic_store_explicit(&line, ++v, memory_order_release);
				while (atomic_load_explicit(&line, memory_order_acquire) != v + 1)
					;
				v++;
			}
			sample[n++] = (now_ns() - t0) / TRIPS;
		}
		qsort(sample, n, sizeof sample[0], cmp_u64);
		printf("%3d s  %5llu %5llu %5llu  (%zu)\n", s + 1,
		       (unsigned long long)sample[n / 10],
		       (unsigned long long)sample[n / 2],
		       (unsigned long long)sample[n * 9 / 10], n);
		fflush(stdout);
	}
	atomic_store_explicit(&stop, 1, memory_order_relaxed);
	/* release the echo thread if it waits for an odd value */
	atomic_store_explicit(&line, v + 1, memory_order_release);
	pthread_join(t, NULL);
	return 0;
}
