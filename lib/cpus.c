/* lib/cpus.c - usable CPU count and spin-hint calibration (internal/cpus.h). */
#define _GNU_SOURCE
#include "internal/cpus.h"

#include <limits.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal/arch.h"

/* CPUs in the affinity mask; sysconf's online count if the mask is unreadable. */
static uint32_t affinity_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return (uint32_t)CPU_COUNT(&set);
	long c = sysconf(_SC_NPROCESSORS_ONLN);
	return c > 0 ? (uint32_t)c : 1;
}

/* ceil(quota / period) of one cpu.max file; UINT32_MAX for "max" or unreadable. */
static uint32_t quota_cpus(const char *cgroup_dir)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "/sys/fs/cgroup%s/cpu.max", cgroup_dir) >=
	    (int)sizeof path)
		return UINT32_MAX;
	FILE *f = fopen(path, "re");
	if (!f)
		return UINT32_MAX;
	unsigned long long quota, period;
	int got = fscanf(f, "%llu %llu", &quota, &period);
	fclose(f);
	if (got != 2 || period == 0) /* "max 100000": no quota */
		return UINT32_MAX;
	unsigned long long n = (quota + period - 1) / period;
	return n == 0 ? 1 : n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* The tightest cpu.max quota on the path from our cgroup v2 to the root. */
static uint32_t cgroup_cpus(void)
{
	char line[PATH_MAX + 8], dir[PATH_MAX] = "";
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return UINT32_MAX;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "0::", 3) == 0) { /* the v2 hierarchy */
			snprintf(dir, sizeof dir, "%s", line + 3);
			dir[strcspn(dir, "\n")] = '\0';
			break;
		}
	}
	fclose(f);
	uint32_t best = UINT32_MAX;
	for (;;) {
		uint32_t n = quota_cpus(dir);
		best = n < best ? n : best;
		char *slash = strrchr(dir, '/');
		if (!slash)
			break;
		*slash = '\0'; /* "/a/b" -> "/a" -> "" (the root, no cpu.max) */
	}
	return best;
}

uint32_t weft__cpus_usable(void)
{
	static _Atomic uint32_t cached;
	/* relaxed: an idempotent cache of a fact read from the kernel; a racy
	 * first call computes it twice and stores the same value. */
	uint32_t n = atomic_load_explicit(&cached, memory_order_relaxed);
	if (WEFT_UNLIKELY(n == 0)) {
		uint32_t mask = affinity_cpus(), quota = cgroup_cpus();
		n = quota < mask ? quota : mask;
		atomic_store_explicit(&cached, n, memory_order_relaxed);
	}
	return n;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Hints per microsecond: the fastest of 5 timings of 256 hints (a timing
 * that was preempted or interrupted only reads slower, so the minimum is
 * the hint's own cost). Clamped to [1, 1000]: below 1 ns a hint is a no-op
 * (the clamp keeps budgets finite); above 1 us it would be a broken clock.
 */
static uint32_t calibrate_hints_per_us(void)
{
	enum { HINTS = 256, TRIALS = 5 };
	uint64_t best = UINT64_MAX;
	for (int t = 0; t < TRIALS; t++) {
		uint64_t start = now_ns();
		for (int i = 0; i < HINTS; i++)
			weft__cpu_relax();
		uint64_t took = now_ns() - start;
		best = took < best ? took : best;
	}
	uint64_t per_us = best ? (uint64_t)HINTS * 1000u / best : 1000u;
	return per_us < 1 ? 1 : per_us > 1000 ? 1000 : (uint32_t)per_us;
}

uint32_t weft__relax_hints(uint64_t ns)
{
	if (ns == 0)
		return 0;
	static _Atomic uint32_t cached_per_us;
	/* relaxed: an idempotent cache, as in weft__cpus_usable. */
	uint32_t per_us = atomic_load_explicit(&cached_per_us, memory_order_relaxed);
	if (WEFT_UNLIKELY(per_us == 0)) {
		per_us = calibrate_hints_per_us();
		atomic_store_explicit(&cached_per_us, per_us, memory_order_relaxed);
	}
	uint64_t hints = ns * per_us / 1000u;
	return hints == 0 ? 1 : hints > UINT32_MAX ? UINT32_MAX : (uint32_t)hints;
}
