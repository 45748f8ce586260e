// bench/peers/fcontext.cc - Boost.Context fcontext peer (peers/fcontext.h).
// Globbed into every build: the ARM64 cross build (no Boost there) compiles
// it to nothing.
#if WEFT_BENCH_HAVE_FCONTEXT
#include <boost/context/detail/fcontext.hpp>

#include <cstdlib>

#include "peers/fcontext.h"

namespace bc = boost::context::detail;

struct weft_fc {
  void *stack;
  bc::fcontext_t co; // where the context resumes
};

namespace {
// The context's body: jump straight back to whoever jumped in, forever.
void bounce(bc::transfer_t t) {
  for (;;)
    t = bc::jump_fcontext(t.fctx, nullptr);
}
} // namespace

extern "C" weft_fc *weft_fc_new(size_t stack_size) {
  auto *fc = new weft_fc;
  fc->stack = std::malloc(stack_size);
  // make_fcontext takes the top of the stack (stacks grow down).
  fc->co = bc::make_fcontext(static_cast<char *>(fc->stack) + stack_size, stack_size, bounce);
  return fc;
}

extern "C" void weft_fc_bounce(weft_fc *fc, uint64_t n) {
  for (uint64_t i = 0; i < n; i++)
    fc->co = bc::jump_fcontext(fc->co, nullptr).fctx;
}

extern "C" void weft_fc_free(weft_fc *fc) {
  std::free(fc->stack); // the context is parked in bounce(): nothing to unwind
  delete fc;
}
#endif
