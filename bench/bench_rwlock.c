/*
 * bench/bench_rwlock.c - weft_rwlock against pthread_rwlock (default, which
 * prefers readers, and PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP) and
 * Concurrency Kit's ck_rwlock (a spinning reader-writer lock). Same bodies
 * for every lock:
 *   rwlock/uncontended_read  read lock+unlock, one thread
 *   rwlock/read_only         every thread reads a small shared record
 *   rwlock/r90w10            90% reads, 10% writes (per-thread xorshift)
 *   rwlock/r50w50            50% reads, 50% writes
 * One item = one lock+unlock. The record spans one cache line: a reader
 * sums it, a writer bumps every field.
 */
#define _GNU_SOURCE /* PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP */
#include <ck_rwlock.h>
#include <pthread.h>
#include <stdlib.h>

#include "shim.h"
#include "weft/rwlock.h"

/* weft */
static inline void weft_rw_init(weft_rwlock *l) { *l = (weft_rwlock)WEFT_RWLOCK_INIT; }
static inline void weft_rw_destroy(weft_rwlock *l) { (void)l; }
#define weft_rw_rdlock weft_rwlock_read_lock
#define weft_rw_rdunlock weft_rwlock_read_unlock
#define weft_rw_wrlock weft_rwlock_write_lock
#define weft_rw_wrunlock weft_rwlock_write_unlock

/*
 * pthread: the default kind (glibc: PTHREAD_RWLOCK_PREFER_READER_NP) and the
 * writer-preferring one (glibc extension, the non-recursive kind), each from
 * its static initializer; one set of wrappers serves both.
 */
static inline void pthread_rw_init(pthread_rwlock_t *l)
{
	*l = (pthread_rwlock_t)PTHREAD_RWLOCK_INITIALIZER;
}
static inline void pthread_wpref_rw_init(pthread_rwlock_t *l)
{
	*l = (pthread_rwlock_t)PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
}
#define pthread_rw_destroy pthread_rwlock_destroy
#define pthread_rw_rdlock pthread_rwlock_rdlock
#define pthread_rw_wrlock pthread_rwlock_wrlock
#define pthread_rw_rdunlock pthread_rwlock_unlock
#define pthread_rw_wrunlock pthread_rwlock_unlock
#define pthread_wpref_rw_destroy pthread_rwlock_destroy
#define pthread_wpref_rw_rdlock pthread_rwlock_rdlock
#define pthread_wpref_rw_wrlock pthread_rwlock_wrlock
#define pthread_wpref_rw_rdunlock pthread_rwlock_unlock
#define pthread_wpref_rw_wrunlock pthread_rwlock_unlock

/* Concurrency Kit */
static inline void ck_rw_init(ck_rwlock_t *l) { ck_rwlock_init(l); }
static inline void ck_rw_destroy(ck_rwlock_t *l) { (void)l; }
#define ck_rw_rdlock ck_rwlock_read_lock
#define ck_rw_rdunlock ck_rwlock_read_unlock
#define ck_rw_wrlock ck_rwlock_write_lock
#define ck_rw_wrunlock ck_rwlock_write_unlock

#define RECORD_WORDS 8

static inline uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* One mix body at 1, 2, 4, 8 threads: rwlock/<mix>/<impl>. */
#define RW_MIX_BENCH(impl, mix, body)                                          \
	WEFT_BENCH(bench_##impl##_rw_##body){                                  \
		.name = "rwlock/" #mix "/" #impl,                              \
		.threads = weft_bench_threads_scaling,                         \
		.setup = impl##_rw_setup,                                      \
		.teardown = impl##_rw_teardown,                                \
		.run = impl##_rw_##body,                                       \
		.batch = 256,                                                  \
	}

#define RW_BENCHES(impl, lock_type)                                            \
	typedef struct impl##_rw_shared {                                      \
		WEFT_ALIGNED_CACHELINE lock_type lock;                         \
		WEFT_ALIGNED_CACHELINE uint64_t rec[RECORD_WORDS];             \
	} impl##_rw_shared;                                                    \
                                                                               \
	static void *impl##_rw_setup(unsigned threads)                         \
	{                                                                      \
		(void)threads;                                                 \
		impl##_rw_shared *s = aligned_alloc(WEFT_CACHELINE, sizeof *s); \
		for (int i = 0; i < RECORD_WORDS; i++)                         \
			s->rec[i] = 0;                                         \
		impl##_rw_init(&s->lock);                                      \
		return s;                                                      \
	}                                                                      \
                                                                               \
	static void impl##_rw_teardown(void *p)                                \
	{                                                                      \
		impl##_rw_shared *s = p;                                       \
		impl##_rw_destroy(&s->lock);                                   \
		free(s);                                                       \
	}                                                                      \
                                                                               \
	static void impl##_rw_mix(weft_bench_ctx *ctx, uint64_t iters,         \
				  unsigned write_pct)                          \
	{                                                                      \
		impl##_rw_shared *s = ctx->shared;                             \
		uint64_t x = (uintptr_t)ctx->local;                            \
		if (!x)                                                        \
			x = 0x9e3779b97f4a7c15ull * (ctx->thread + 1);         \
		uint64_t sum = 0;                                              \
		for (uint64_t i = 0; i < iters; i++) {                         \
			if (write_pct && xorshift(&x) % 100 < write_pct) {     \
				impl##_rw_wrlock(&s->lock);                    \
				for (int k = 0; k < RECORD_WORDS; k++)         \
					s->rec[k]++;                           \
				impl##_rw_wrunlock(&s->lock);                  \
			} else {                                               \
				impl##_rw_rdlock(&s->lock);                    \
				for (int k = 0; k < RECORD_WORDS; k++)         \
					sum += s->rec[k];                      \
				impl##_rw_rdunlock(&s->lock);                  \
			}                                                      \
		}                                                              \
		ctx->local = (void *)(uintptr_t)x;                             \
		__asm__ __volatile__("" ::"r"(sum));                           \
	}                                                                      \
                                                                               \
	static void impl##_rw_uncontended(weft_bench_ctx *ctx, uint64_t iters) \
	{                                                                      \
		impl##_rw_shared *s = ctx->shared;                             \
		for (uint64_t i = 0; i < iters; i++) {                         \
			impl##_rw_rdlock(&s->lock);                            \
			impl##_rw_rdunlock(&s->lock);                          \
		}                                                              \
	}                                                                      \
	static void impl##_rw_r100(weft_bench_ctx *c, uint64_t n) { impl##_rw_mix(c, n, 0); } \
	static void impl##_rw_r90(weft_bench_ctx *c, uint64_t n) { impl##_rw_mix(c, n, 10); } \
	static void impl##_rw_r50(weft_bench_ctx *c, uint64_t n) { impl##_rw_mix(c, n, 50); } \
                                                                               \
	WEFT_BENCH(bench_##impl##_rw_uncontended){                             \
		.name = "rwlock/uncontended_read/" #impl,                      \
		.threads = weft_bench_threads_1,                               \
		.setup = impl##_rw_setup,                                      \
		.teardown = impl##_rw_teardown,                                \
		.run = impl##_rw_uncontended,                                  \
		.batch = 1024,                                                 \
	};                                                                     \
	RW_MIX_BENCH(impl, read_only, r100);                                   \
	RW_MIX_BENCH(impl, r90w10, r90);                                       \
	RW_MIX_BENCH(impl, r50w50, r50)

RW_BENCHES(weft, weft_rwlock);
RW_BENCHES(pthread, pthread_rwlock_t);
RW_BENCHES(pthread_wpref, pthread_rwlock_t);
RW_BENCHES(ck, ck_rwlock_t);
