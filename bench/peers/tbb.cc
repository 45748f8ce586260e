// bench/peers/tbb.cc - oneTBB's task_group, parallel_reduce and
// task_arena::enqueue behind an extern "C" surface (see pools.h); built
// only where TBB is found (WEFT_BENCH_HAVE_TBB).
#include "peers/pools.h"

#if WEFT_BENCH_HAVE_TBB
#include <tbb/blocked_range.h>
#include <tbb/parallel_reduce.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

namespace {
struct tbb_pool {
  tbb::task_arena arena;
  explicit tbb_pool(unsigned threads) : arena(int(threads)) { arena.initialize(); }
};

uint64_t fib(unsigned n, unsigned cutoff) {
  if (n < cutoff)
    return bench_fib_seq(n);
  uint64_t a = 0, b = 0;
  tbb::task_group g;
  g.run([&] { a = fib(n - 1, cutoff); });
  b = fib(n - 2, cutoff);
  g.wait();
  return a + b;
}
} // namespace

extern "C" void *tbb_pool_create(unsigned threads) { return new tbb_pool(threads); }

extern "C" void tbb_pool_destroy(void *p) { delete static_cast<tbb_pool *>(p); }

extern "C" void tbb_pool_empty_tasks(void *p, uint64_t n) {
  static_cast<tbb_pool *>(p)->arena.execute([n] {
    tbb::task_group g;
    for (uint64_t i = 0; i < n; i++)
      g.run([] {});
    g.wait();
  });
}

extern "C" uint64_t tbb_pool_fib(void *p, unsigned n, unsigned cutoff) {
  uint64_t r = 0;
  static_cast<tbb_pool *>(p)->arena.execute([&] { r = fib(n, cutoff); });
  return r;
}

extern "C" uint64_t tbb_pool_reduce(void *p, uint64_t n, uint64_t grain) {
  uint64_t r = 0;
  static_cast<tbb_pool *>(p)->arena.execute([&] {
    r = tbb::parallel_reduce(
        tbb::blocked_range<uint64_t>(0, n, grain), uint64_t(0),
        [](const tbb::blocked_range<uint64_t> &b, uint64_t acc) {
          return acc + bench_work_range(b.begin(), b.end());
        },
        [](uint64_t a, uint64_t b) { return a + b; });
  });
  return r;
}

extern "C" void tbb_pool_enqueue(void *p, void (*fn)(void *), void *arg) {
  static_cast<tbb_pool *>(p)->arena.enqueue([fn, arg] { fn(arg); });
}
#endif
