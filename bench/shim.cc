// bench/shim.cc - registers the C benchmarks of bench/*.c with Google
// Benchmark and records the build context. Later primitives add C files
// only; this file does not change for them.
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <time.h>

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
};

// CPU time this thread has used, in ns (CLOCK_THREAD_CPUTIME_ID).
double thread_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

// The same for the whole process (weft_bench.cpu_process).
double process_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

void run_bench(benchmark::State &state, const weft_bench *b, run_slot *slot) {
  // Thread 0 sets up before its first KeepRunningBatch(); every thread's
  // first KeepRunningBatch() waits at Google Benchmark's start barrier, so
  // the others see slot->shared only after it is ready (the pattern the
  // benchmark.h header documents). Teardown mirrors it at the stop barrier.
  if (state.thread_index() == 0)
    slot->shared = b->setup ? b->setup(unsigned(state.threads())) : nullptr;
  weft_bench_ctx ctx{};
  ctx.thread = unsigned(state.thread_index());
  ctx.threads = unsigned(state.threads());
  ctx.shim_state = &state;
  const uint64_t batch = b->batch ? b->batch : 256;
  bool first = true;
  double cpu_start = 0;
  while (state.KeepRunningBatch(benchmark::IterationCount(batch))) {
    if (first) {
      ctx.shared = slot->shared;
      first = false;
      // the timed region has just begun
      cpu_start = b->cpu_process ? process_cpu_ns() : thread_cpu_ns();
    }
    b->run(&ctx, batch);
  }
  // The loop's last call stopped the wall-clock timer and then waited at the
  // stop barrier (a blocking wait: no CPU), so this covers the timed region.
  const double cpu_ns =
      (b->cpu_process ? process_cpu_ns() : thread_cpu_ns()) - cpu_start;
  if (b->thread_done)
    b->thread_done(&ctx); // ctx.shared may already be torn down: not used
  const double items = ctx.items > 0 ? ctx.items : double(state.iterations());
  state.SetItemsProcessed(int64_t(items));
  // Summed over the run's threads (Google Benchmark adds per-thread
  // counters); tools/bench_report.py divides them: CPU ns per item, every
  // thread's CPU included, so spinning and yielding waiters are charged.
  state.counters["weft_cpu_ns"] = benchmark::Counter(cpu_ns);
  state.counters["weft_items"] = benchmark::Counter(items);
  if (state.thread_index() == 0 && b->teardown)
    b->teardown(slot->shared);
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

int main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  for (const weft_bench *b : registry()) {
    auto *slot = new run_slot; // lives as long as the process
    auto *r = benchmark::RegisterBenchmark(
        b->name, [b, slot](benchmark::State &s) { run_bench(s, b, slot); });
    r->UseRealTime();
    for (const unsigned *t = b->threads ? b->threads : weft_bench_threads_1;
         *t; t++)
      r->Threads(int(*t));
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
