/*
 * lib/internal/cpus.h - how many CPUs this process may use, and how long a
 * spin-wait hint takes: the two machine facts every spin decision needs.
 *
 * Two counts, for two questions:
 *
 * weft__cpus_parallel(): the CPUs in this thread's affinity mask (taskset,
 * cpusets): how many threads can run at the same instant. "Can the thread
 * I wait for run while I spin?" asks this one: with 1, a spin only delays
 * it; with 2 or more it may be running now. A CPU quota does not change
 * the answer: it limits CPU time, not concurrency, and a throttled cgroup
 * stops all its threads together, so a spinner never waits on a partner
 * the quota has stopped while it runs itself (docs/tuning.md, "Spinning
 * under a CPU quota").
 *
 * weft__cpus_usable(): the smaller of that mask and the cgroup CPU quota
 * rounded up: cgroup v2 cpu.max, or v1 cpu.cfs_quota_us /
 * cpu.cfs_period_us, the tightest of our cgroup and its ancestors (mount
 * points from /proc/self/mountinfo): how many threads can be kept busy.
 * Pool and runtime sizes, and weft_mutex's "do the owner, the spinner and
 * the sleepers all fit", ask this one: a container limited to 2 CPUs' worth
 * on a 64-core host gets 2, so a fourth busy thread waits for quota.
 *
 * Both are read once, at first use, and cached: a later change of mask or
 * quota is not seen (documented in docs/API.md).
 *
 * weft__relax_hints(ns): how many weft__cpu_relax() hints take about ns
 * nanoseconds on this CPU, calibrated once (a few tens of microseconds at
 * first use). A PAUSE costs ~140 cycles on Intel since Skylake and far fewer
 * on AMD Zen; spin budgets written in ns mean the same wait on both.
 */
#ifndef WEFT_INTERNAL_CPUS_H
#define WEFT_INTERNAL_CPUS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

uint32_t weft__cpus_parallel(void);
uint32_t weft__cpus_usable(void);
/* The same, read now, uncached (tests; the two above cache theirs). */
uint32_t weft__cpus_parallel_probe(void);
uint32_t weft__cpus_probe(void);
uint32_t weft__relax_hints(uint64_t ns);

#ifdef _GNU_SOURCE
#include <sched.h>
/* 0 if `want` is a non-empty set inside the calling thread's affinity
 * mask; EINVAL otherwise (errno of sched_getaffinity if it fails). For
 * weft_thread_opts.cpus and weft_pool_opts.cpus. */
int weft__cpus_check_set(const cpu_set_t *want);
#endif

#ifdef __cplusplus
}
#endif

#endif /* WEFT_INTERNAL_CPUS_H */
