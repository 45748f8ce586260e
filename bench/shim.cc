// bench/shim.cc - registers the C benchmarks of bench/*.c with Google
// Benchmark and records the build context. Later primitives add C files
// only; this file does not change for them.
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <time.h>

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "internal/cpus.h"
#include "peers/rust.h"
#include "shim.h"

extern "C" {
const unsigned weft_bench_threads_1[] = {1, 0};
const unsigned weft_bench_threads_2[] = {2, 0};
const unsigned weft_bench_threads_scaling[] = {1, 2, 4, 8, 0};
}

namespace {

std::vector<const weft_bench *> &registry() {
  static std::vector<const weft_bench *> r;
  return r;
}

// One slot per benchmark for the shared state of the run in progress; runs
// of one benchmark never overlap.
struct run_slot {
  void *shared = nullptr;
  // Every thread of a multi-threaded run waits here once its timer runs
  // (run_bench), so no thread's timed region ends before the last one's
  // begins: Google Benchmark averages the threads' wall times, and a
  // thread late out of its start barrier otherwise let the first run its
  // whole share alone (a 2-thread lock row then read twice the one-thread
  // rate).
  pthread_barrier_t start;
};

// CPU time this thread has used, in ns (CLOCK_THREAD_CPUTIME_ID).
double thread_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

} // namespace

// One thread's lap state in a latency row (bench/shim.h, "Latency").
struct weft_bench_laps {
  uint64_t last_ns = 0; // previous lap, or the start of the timed region
  uint64_t seen = 0;    // intervals measured
  uint64_t rng = 0x9e3779b97f4a7c15u;
  uint32_t kept = 0; // filled part of sample
  uint32_t sample[WEFT_BENCH_LAP_SAMPLES];
};

extern "C" void weft_bench_lap_record(weft_bench_laps *l) {
  const uint64_t now = monotonic_ns();
  const uint64_t d = now - l->last_ns;
  l->last_ns = now;
  const uint32_t ns = d > UINT32_MAX ? UINT32_MAX : uint32_t(d);
  l->seen++;
  if (l->kept < WEFT_BENCH_LAP_SAMPLES) {
    l->sample[l->kept++] = ns;
    return;
  }
  // Algorithm R: the n-th interval replaces a random kept one with
  // probability K/n, so the sample stays uniform over the whole region.
  l->rng ^= l->rng << 13; // xorshift64
  l->rng ^= l->rng >> 7;
  l->rng ^= l->rng << 17;
  const uint64_t j = l->rng % l->seen;
  if (j < WEFT_BENCH_LAP_SAMPLES)
    l->sample[j] = ns;
}

namespace {

// Nearest-rank percentile q (0 < q < 1) of a sorted sample.
double percentile(const uint32_t *sorted, uint32_t n, double q) {
  if (n == 0)
    return 0;
  uint32_t rank = uint32_t(q * n + 0.999999); // ceil, robust to rounding
  rank = std::min(std::max(rank, 1u), n);
  return sorted[rank - 1];
}

void report_laps(benchmark::State &state, weft_bench_laps *l) {
  std::sort(l->sample, l->sample + l->kept);
  const auto avg = benchmark::Counter::kAvgThreads;
  state.counters["weft_lat_p50_ns"] = benchmark::Counter(percentile(l->sample, l->kept, 0.50), avg);
  state.counters["weft_lat_p99_ns"] = benchmark::Counter(percentile(l->sample, l->kept, 0.99), avg);
  state.counters["weft_lat_p999_ns"] = benchmark::Counter(percentile(l->sample, l->kept, 0.999), avg);
  state.counters["weft_lat_laps"] = benchmark::Counter(double(l->seen), avg);
}

// The same for the whole process (weft_bench.cpu_process).
double process_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

// CPU time of this process's reaped children, in ns (cpu_process == 2).
double children_cpu_ns() {
  rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  auto ns = [](const timeval &tv) { return double(tv.tv_sec) * 1e9 + double(tv.tv_usec) * 1e3; };
  return ns(ru.ru_utime) + ns(ru.ru_stime);
}

// The CPU clock a row's weft_cpu_ns reads (weft_bench.cpu_process).
double row_cpu_ns(const weft_bench *b) {
  if (!b->cpu_process)
    return thread_cpu_ns();
  return process_cpu_ns() + (b->cpu_process == 2 ? children_cpu_ns() : 0);
}

void run_bench(benchmark::State &state, const weft_bench *b, run_slot *slot,
               bool latency) {
  // Thread 0 sets up before its first KeepRunningBatch(); every thread's
  // first KeepRunningBatch() waits at Google Benchmark's start barrier, so
  // the others see slot->shared only after it is ready (the pattern the
  // benchmark.h header documents). Teardown mirrors it at the stop barrier.
  const bool multi = state.threads() > 1;
  if (state.thread_index() == 0) {
    slot->shared = b->setup ? b->setup(unsigned(state.threads())) : nullptr;
    if (multi)
      pthread_barrier_init(&slot->start, nullptr, unsigned(state.threads()));
  }
  weft_bench_ctx ctx{};
  ctx.thread = unsigned(state.thread_index());
  ctx.threads = unsigned(state.threads());
  ctx.shim_state = &state;
  const uint64_t batch = b->batch ? b->batch : 256;
  std::unique_ptr<weft_bench_laps> laps;
  if (latency)
    laps.reset(new weft_bench_laps); // before timing: no allocation inside
  ctx.laps = laps.get();
  bool first = true;
  double cpu_start = 0;
  while (state.KeepRunningBatch(benchmark::IterationCount(batch))) {
    if (first) {
      ctx.shared = slot->shared;
      first = false;
      // the timed region has just begun
      cpu_start = row_cpu_ns(b);
      if (multi)
        pthread_barrier_wait(&slot->start); // a blocking wait: no CPU
      if (laps)
        laps->last_ns = monotonic_ns();
    }
    b->run(&ctx, batch);
  }
  // The loop's last call stopped the wall-clock timer and then waited at the
  // stop barrier (a blocking wait: no CPU), so this covers the timed region.
  const double cpu_ns = row_cpu_ns(b) - cpu_start;
  if (b->thread_done)
    b->thread_done(&ctx); // ctx.shared may already be torn down: not used
  const double items = ctx.items > 0 ? ctx.items : double(state.iterations());
  state.SetItemsProcessed(int64_t(items));
  // Summed over the run's threads (Google Benchmark adds per-thread
  // counters); tools/bench_report.py divides them: CPU ns per item, every
  // thread's CPU included, so spinning and yielding waiters are charged.
  state.counters["weft_cpu_ns"] = benchmark::Counter(cpu_ns);
  state.counters["weft_items"] = benchmark::Counter(items);
  if (laps)
    report_laps(state, laps.get());
  if (state.thread_index() == 0 && b->teardown)
    b->teardown(slot->shared);
  if (state.thread_index() == 0 && multi)
    pthread_barrier_destroy(&slot->start); // all passed it: stop barrier
}

// "mutex/handoff/weft" -> "mutex/handoff_lat/weft": the latency row.
std::string latency_name(const char *name) {
  std::string s(name);
  const size_t first = s.find('/');
  const size_t second = first == std::string::npos ? first : s.find('/', first + 1);
  if (second == std::string::npos)
    return s + "_lat";
  return s.insert(second, "_lat");
}

void register_row(const weft_bench *b, const std::string &name, bool latency) {
  auto *slot = new run_slot; // lives as long as the process
  auto *r = benchmark::RegisterBenchmark(
      name.c_str(),
      [b, slot, latency](benchmark::State &s) { run_bench(s, b, slot, latency); });
  r->UseRealTime();
  for (const unsigned *t = b->threads ? b->threads : weft_bench_threads_1; *t; t++)
    r->Threads(int(*t));
}

std::string allocator_name() {
  // jemalloc exports mallctl; glibc malloc does not.
  using mallctl_fn = int (*)(const char *, void *, size_t *, void *, size_t);
  auto mallctl = reinterpret_cast<mallctl_fn>(dlsym(RTLD_DEFAULT, "mallctl"));
  if (!mallctl)
    return "glibc malloc";
  const char *version = nullptr;
  size_t len = sizeof version;
  if (mallctl("version", &version, &len, nullptr, 0) == 0 && version)
    return std::string("jemalloc ") + version;
  return "jemalloc";
}

} // namespace

extern "C" void weft_bench_register(const weft_bench *b) {
  registry().push_back(b);
}

extern "C" void weft_bench_counter(weft_bench_ctx *ctx, const char *name,
                                   double value) {
  auto &state = *static_cast<benchmark::State *>(ctx->shim_state);
  state.counters[name] = benchmark::Counter(value, benchmark::Counter::kAvgThreads);
}

namespace {

// glibc skips the atomic instructions of its locks while a process has
// only ever had one thread (SINGLE_THREAD_P), so a one-thread pthread row
// measured before any multi-threaded row ran is a different, non-atomic
// lock (219M/s against 60-70M/s measured here). With random interleaving
// that depends on the order. Every row runs in a multi-threaded process,
// as a mutex's real users do: one thread that sleeps for the whole run.
void *sleep_forever(void *) {
  for (;;)
    pause();
  return nullptr;
}

void make_process_multithreaded() {
  pthread_t t;
  if (pthread_create(&t, nullptr, sleep_forever, nullptr) == 0)
    pthread_detach(t);
}

} // namespace

int main(int argc, char **argv) {
  make_process_multithreaded();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  for (const weft_bench *b : registry()) {
    register_row(b, b->name, false);
    if (b->flags & WEFT_BENCH_LATENCY)
      register_row(b, latency_name(b->name), true);
  }
  benchmark::AddCustomContext("weft_allocator", allocator_name());
  benchmark::AddCustomContext("weft_compiler", WEFT_BENCH_COMPILER);
  benchmark::AddCustomContext("weft_cflags", WEFT_BENCH_CFLAGS);
  benchmark::AddCustomContext("weft_build_type", WEFT_BENCH_BUILD_TYPE);
#if WEFT_BENCH_HAVE_RUST
  benchmark::AddCustomContext("weft_rustc", weft_rs_rustc_version());
#else
  benchmark::AddCustomContext("weft_rustc", "none (Rust peers not built)");
#endif
  // What weft's spin decisions see on this machine (lib/internal/cpus.h).
  benchmark::AddCustomContext("weft_cpus_usable",
                              std::to_string(weft__cpus_usable()));
  benchmark::AddCustomContext(
      "weft_relax_hints_per_us", std::to_string(weft__relax_hints(1000)));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
