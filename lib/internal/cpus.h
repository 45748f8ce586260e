/*
 * lib/internal/cpus.h - how many CPUs this process may use, and how long a
 * spin-wait hint takes: the two machine facts every spin decision needs.
 *
 * weft__cpus_usable(): the smaller of the CPUs in this thread's affinity
 * mask (taskset, cpusets) and the cgroup CPU quota rounded up: cgroup v2
 * cpu.max, or v1 cpu.cfs_quota_us / cpu.cfs_period_us, the tightest of our
 * cgroup and its ancestors (mount points from /proc/self/mountinfo). A container
 * limited to 2 CPUs on a 64-core host gets 2, so spinners there sleep where
 * they would only steal the owner's CPU. Read once, at first use, and
 * cached: a later change of mask or quota is not seen (documented in
 * docs/API.md).
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

uint32_t weft__cpus_usable(void);
/* The same, read now, uncached (tests; weft__cpus_usable caches it). */
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
