// bench/peers/moodycamel.cc - moodycamel::ConcurrentQueue<void *> (Debian
// libconcurrentqueue-dev) behind a C face for bench/bench_queues.c. Used as
// its README recommends for speed: one ProducerToken and one ConsumerToken
// per thread (created with the queue, so they die before it), explicit
// producers sized by the constructor. Bounded mode (the ring rows) uses
// try_enqueue, which never allocates past the preallocated capacity;
// unbounded mode (the mpsc rows) uses enqueue, which allocates blocks.
#include <concurrentqueue/concurrentqueue.h>

#include <memory>
#include <vector>

#include "peers/queues.h"

struct mc_queue {
  moodycamel::ConcurrentQueue<void *> q;
  std::vector<std::unique_ptr<moodycamel::ProducerToken>> ptok;
  std::vector<std::unique_ptr<moodycamel::ConsumerToken>> ctok;
  bool bounded;
  mc_queue(unsigned threads, size_t capacity, bool bounded_)
      : q(capacity, threads, 0), bounded(bounded_) {
    for (unsigned i = 0; i < threads; i++) {
      ptok.emplace_back(new moodycamel::ProducerToken(q));
      ctok.emplace_back(new moodycamel::ConsumerToken(q));
    }
  }
  ~mc_queue() {
    ptok.clear(); // tokens before the queue
    ctok.clear();
  }
};

extern "C" {

mc_queue *mc_new(unsigned threads, size_t capacity, bool bounded) {
  return new mc_queue(threads, capacity, bounded);
}

void mc_free(mc_queue *q) { delete q; }

bool mc_push(mc_queue *q, unsigned thread, void *item) {
  auto &t = *q->ptok[thread];
  return q->bounded ? q->q.try_enqueue(t, item) : q->q.enqueue(t, item);
}

bool mc_pop(mc_queue *q, unsigned thread, void **item) {
  return q->q.try_dequeue(*q->ctok[thread], *item);
}

size_t mc_push_n(mc_queue *q, unsigned thread, void *const *items, size_t n) {
  auto &t = *q->ptok[thread];
  bool ok = q->bounded ? q->q.try_enqueue_bulk(t, items, n)
                       : q->q.enqueue_bulk(t, items, n);
  return ok ? n : 0;
}

size_t mc_pop_n(mc_queue *q, unsigned thread, void **items, size_t n) {
  return q->q.try_dequeue_bulk(*q->ctok[thread], items, n);
}

} // extern "C"
