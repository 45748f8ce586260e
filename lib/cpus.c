/* lib/cpus.c - CPU counts and spin-hint calibration (internal/cpus.h). */
#define _GNU_SOURCE
#include "internal/cpus.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal/arch.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

/* CPUs in the affinity mask; sysconf's online count if the mask is unreadable. */
static uint32_t affinity_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return (uint32_t)CPU_COUNT(&set);
	long c = sysconf(_SC_NPROCESSORS_ONLN);
	return c > 0 ? (uint32_t)c : 1;
}

/* ceil(quota / period) in CPUs; UINT32_MAX for no quota. */
static uint32_t quota_to_cpus(long long quota, long long period)
{
	if (quota <= 0 || period <= 0)
		return UINT32_MAX;
	long long n = (quota + period - 1) / period;
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* The quota of one cgroup directory: v2 "cpu.max" ("max 100000" or
 * "50000 100000"), v1 cpu.cfs_quota_us (-1: none) / cpu.cfs_period_us. */
static uint32_t dir_quota(const char *dir, bool v2)
{
	char path[PATH_MAX + 32]; /* dir is at most PATH_MAX - 1 */
	long long quota = -1, period = 0;
	snprintf(path, sizeof path, "%s/%s", dir,
		 v2 ? "cpu.max" : "cpu.cfs_quota_us");
	FILE *f = fopen(path, "re");
	if (!f)
		return UINT32_MAX;
	int got = v2 ? fscanf(f, "%lld %lld", &quota, &period)
		     : fscanf(f, "%lld", &quota);
	fclose(f);
	if (!v2) {
		snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir);
		f = fopen(path, "re");
		if (!f)
			return UINT32_MAX;
		got += fscanf(f, "%lld", &period);
		fclose(f);
	}
	return got == 2 ? quota_to_cpus(quota, period) : UINT32_MAX;
}

/* Does the comma-separated list `opts` contain the word `word`? */
static bool has_word(const char *opts, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = opts; (p = strstr(p, word)); p += n)
		if ((p == opts || p[-1] == ',') && (p[n] == ',' || p[n] == '\0' ||
						    p[n] == '\n' || p[n] == ' '))
			return true;
	return false;
}

/*
 * Where our cgroup's cpu files are: the mount point of the cgroup2
 * hierarchy (v2) or of the v1 hierarchy with the cpu controller, plus our
 * path in it from /proc/self/cgroup (less the mount's root, which is not
 * "/" inside some containers). False when there is no such hierarchy.
 */
static bool cgroup_dir(bool v2, char *dir, size_t size, size_t *mount_len)
{
	char line[2 * PATH_MAX], root[PATH_MAX], point[PATH_MAX], fstype[64];
	char opts[256], cg[PATH_MAX] = "";
	bool found = false;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof line, f)) {
		const char *dash = strstr(line, " - ");
		if (!dash ||
		    sscanf(line, "%*s %*s %*s %4095s %4095s", root, point) != 2 ||
		    sscanf(dash, " - %63s %*s %255s", fstype, opts) != 2)
			continue;
		found = v2 ? strcmp(fstype, "cgroup2") == 0
			   : strcmp(fstype, "cgroup") == 0 && has_word(opts, "cpu");
	}
	fclose(f);
	if (!found || !(f = fopen("/proc/self/cgroup", "re")))
		return false;
	found = false;
	while (!found && fgets(line, sizeof line, f)) {
		char *ctrl = strchr(line, ':'), *path = ctrl ? strchr(ctrl + 1, ':') : NULL;
		if (!path)
			continue;
		*path++ = '\0';
		ctrl++;
		found = v2 ? strcmp(line, "0") == 0 && *ctrl == '\0'
			   : has_word(ctrl, "cpu");
		if (found)
			snprintf(cg, sizeof cg, "%s", path);
	}
	fclose(f);
	cg[strcspn(cg, "\n")] = '\0';
	size_t rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
	const char *rel = strncmp(cg, root, rl) == 0 ? cg + rl : cg;
	*mount_len = strlen(point);
	return found && snprintf(dir, size, "%s%s", point, rel) < (int)size;
}

/* The tightest quota on the path from our cgroup up to the mount point. */
static uint32_t hierarchy_quota(bool v2)
{
	char dir[PATH_MAX];
	size_t mount_len;
	if (!cgroup_dir(v2, dir, sizeof dir, &mount_len))
		return UINT32_MAX;
	uint32_t best = UINT32_MAX;
	for (;;) {
		uint32_t n = dir_quota(dir, v2);
		best = n < best ? n : best;
		char *slash = strrchr(dir, '/');
		if (!slash || (size_t)(slash - dir) < mount_len)
			break;
		*slash = '\0';
	}
	return best;
}

/* The CPU quota of our cgroup (v2 cpu.max or v1 CFS quota), in CPUs. */
static uint32_t cgroup_cpus(void)
{
	uint32_t v2 = hierarchy_quota(true), v1 = hierarchy_quota(false);
	return v2 < v1 ? v2 : v1;
}

uint32_t weft__cpus_probe(void)
{
	uint32_t mask = affinity_cpus(), quota = cgroup_cpus();
	return quota < mask ? quota : mask;
}

uint32_t weft__cpus_parallel_probe(void)
{
	return affinity_cpus();
}

/* probe()'s answer, read once into *cached (0: not yet). */
static uint32_t cached_count(_Atomic uint32_t *cached, uint32_t (*probe)(void))
{
	/* relaxed: an idempotent cache of a fact read from the kernel; a racy
	 * first call computes it twice and stores the same value. */
	uint32_t n = atomic_load_explicit(cached, memory_order_relaxed);
	if (WEFT_UNLIKELY(n == 0)) {
		n = probe();
		atomic_store_explicit(cached, n, memory_order_relaxed);
	}
	return n;
}

uint32_t weft__cpus_parallel(void)
{
	static _Atomic uint32_t cached;
	return cached_count(&cached, weft__cpus_parallel_probe);
}

uint32_t weft__cpus_usable(void)
{
	static _Atomic uint32_t cached;
	return cached_count(&cached, weft__cpus_probe);
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

int weft__cpus_check_set(const cpu_set_t *want)
{
	cpu_set_t allowed, outside;
	if (CPU_COUNT(want) == 0)
		return EINVAL;
	if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
		return errno;
	/* outside = want & ~allowed: CPU_XOR of want with (want & allowed) */
	CPU_AND(&outside, want, &allowed);
	CPU_XOR(&outside, &outside, want);
	return CPU_COUNT(&outside) == 0 ? 0 : EINVAL;
}

#if defined(__x86_64__)
bool weft__have_prefetchw(void)
{
	/* -1: not read yet. relaxed: every thread reads the same CPUID bit,
	 * so a racing first read only repeats the work. */
	static _Atomic int have = -1;
	int h = atomic_load_explicit(&have, memory_order_relaxed);
	if (WEFT_UNLIKELY(h < 0)) {
		unsigned a, b, c, d;
		h = __get_cpuid(0x80000001u, &a, &b, &c, &d) && (c & (1u << 8));
		atomic_store_explicit(&have, h, memory_order_relaxed);
	}
	return h;
}
#endif
