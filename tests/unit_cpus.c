/* tests/unit_cpus.c - usable CPUs (affinity mask, cgroup quota) and the
 * spin-hint calibration (internal: lib/internal/cpus.h). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal/cpus.h"
#include "test_util.h"

TestSuite(cpus, .timeout = WEFT_UNIT_TIMEOUT_S);

static int mask_count(void)
{
	cpu_set_t set;
	cr_assert_eq(sched_getaffinity(0, sizeof set, &set), 0);
	return CPU_COUNT(&set);
}

Test(cpus, usable_is_at_most_the_affinity_mask)
{
	uint32_t n = weft__cpus_usable();
	cr_assert_geq(n, 1);
	cr_assert_leq(n, (uint32_t)mask_count());
	cr_assert_eq(weft__cpus_usable(), n, "the cached value changed");
}

Test(cpus, parallel_is_the_affinity_mask)
{
	uint32_t n = weft__cpus_parallel();
	cr_assert_eq(n, (uint32_t)mask_count());
	cr_assert_geq(n, weft__cpus_usable(), "usable is the smaller of mask and quota");
	cr_assert_eq(weft__cpus_parallel(), n, "the cached value changed");
}

Test(cpus, follows_a_narrowed_affinity_mask)
{
	cpu_set_t old, one;
	cr_assert_eq(sched_getaffinity(0, sizeof old, &old), 0);
	int first = 0;
	while (!CPU_ISSET(first, &old))
		first++;
	CPU_ZERO(&one);
	CPU_SET(first, &one);
	cr_assert_eq(sched_setaffinity(0, sizeof one, &one), 0);
	uint32_t pinned = weft__cpus_probe(), parallel = weft__cpus_parallel_probe();
	cr_assert_eq(sched_setaffinity(0, sizeof old, &old), 0);
	cr_assert_eq(pinned, 1, "pinned to one CPU, probe says %u", pinned);
	cr_assert_eq(parallel, 1, "pinned to one CPU, parallel probe says %u", parallel);
}

/* Write `text` to `path`; false when the kernel refuses (no such hierarchy,
 * not root). */
static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	if (!f)
		return false;
	bool ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok;
}

/* Is `dir` a mounted cgroup hierarchy (v1 or v2), not a plain directory? */
static bool is_cgroupfs(const char *dir)
{
	struct statfs fs;
	return statfs(dir, &fs) == 0 &&
	       (fs.f_type == 0x63677270 /* CGROUP2_SUPER_MAGIC */ ||
		fs.f_type == 0x27e0eb /* CGROUP_SUPER_MAGIC */);
}

/*
 * A child moved into a fresh cgroup limited to half a CPU must see 1, and
 * its sub-cgroup (no quota of its own) too: the ancestor's quota counts.
 * The CPUs that can run at once stay the affinity mask's (internal/cpus.h).
 * Uses whichever hierarchy has the cpu controller writable: v2 (cpu.max) or
 * v1 (cpu.cfs_quota_us); skipped when neither is (not root, no cgroupfs).
 */
Test(cpus, follows_a_cgroup_quota_of_an_ancestor)
{
	static const struct {
		const char *base, *quota_file, *quota, *procs;
	} kinds[] = {
		{ "/sys/fs/cgroup/unified", "cpu.max", "50000 100000", "cgroup.procs" },
		{ "/sys/fs/cgroup", "cpu.max", "50000 100000", "cgroup.procs" },
		{ "/sys/fs/cgroup/cpu", "cpu.cfs_quota_us", "50000", "cgroup.procs" },
	};
	char dir[256], sub[300], path[400];
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		snprintf(dir, sizeof dir, "%s/weft-test-%d", kinds[k].base, (int)getpid());
		snprintf(sub, sizeof sub, "%s/leaf", dir);
		if (!is_cgroupfs(kinds[k].base) || mkdir(dir, 0755) != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, kinds[k].quota_file);
		bool ok = write_file(path, kinds[k].quota) && mkdir(sub, 0755) == 0;
		pid_t child = ok ? fork() : -1;
		if (child == 0) {
			char me[32];
			snprintf(path, sizeof path, "%s/%s", sub, kinds[k].procs);
			snprintf(me, sizeof me, "%d\n", (int)getpid());
			if (!write_file(path, me))
				_exit(2);
			cpu_set_t set;
			if (sched_getaffinity(0, sizeof set, &set) != 0)
				_exit(2);
			_exit(weft__cpus_probe() == 1 &&
				      weft__cpus_parallel_probe() == (uint32_t)CPU_COUNT(&set)
			      ? 0 : 1);
		}
		int status = -1;
		if (child > 0)
			waitpid(child, &status, 0);
		rmdir(sub);
		rmdir(dir);
		if (child > 0 && WIFEXITED(status) && WEXITSTATUS(status) != 2) {
			cr_assert_eq(WEXITSTATUS(status), 0,
				     "in %s with a 0.5-CPU quota the probe did not say 1 "
				     "(or the parallel probe not the mask's count)",
				     kinds[k].base);
			return;
		}
	}
	cr_skip_test("no writable cgroup cpu controller (needs root)");
}

Test(cpus, relax_hints_scale_with_time)
{
	cr_assert_eq(weft__relax_hints(0), 0);
	uint32_t one_us = weft__relax_hints(1000);
	cr_assert_geq(one_us, 1);
	cr_assert_leq(one_us, 1000, "a hint shorter than 1 ns: %u per us", one_us);
	uint32_t hundred_us = weft__relax_hints(100000);
	cr_assert_geq(hundred_us, 99 * one_us);
	cr_assert_leq(hundred_us, 101 * one_us);
}
