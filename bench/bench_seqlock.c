/*
 * bench/bench_seqlock.c - reading a 64-byte record that one writer updates
 * about every microsecond: weft_seqlock against Concurrency Kit's
 * ck_sequence (the peer seqlock), pthread_rwlock (default kind) and
 * weft_rwlock (impl name rwlock_weft: a baseline here). Same shape for every impl:
 *   seqlock/read64/<impl>   1, 2, 4 reader threads (the benchmark's
 *                           threads); one item = one consistent copy
 *                           of the record, its words then consumed
 * The writer is a helper thread started in setup and stopped in teardown,
 * the same for every impl: it polls CLOCK_MONOTONIC and, each time 1 us has
 * passed, takes the write side and stores a new record (8 words, each the
 * version). It spins between writes, so it occupies a CPU: at 2 and 4
 * readers on a 2-CPU machine, readers and writer share CPUs alike for
 * every impl. Its CPU time is not in the readers' CPU ns/item. The counter
 * writer_updates_per_s is the rate the writer achieved while the readers
 * ran (1e6 when never held up; a lock that shuts out the writer shows
 * here, not in the read rate).
 * ck_sequence is used as its manual shows: read_begin, a plain struct copy,
 * read_retry; the single writer needs no writer lock there.
 */
#include <ck_sequence.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal/arch.h"
#include "shim.h"
#include "weft/rwlock.h"
#include "weft/seqlock.h"

#define WRITE_PERIOD_NS 1000
#define RECORD_WORDS 8

typedef struct record {
	uint64_t w[RECORD_WORDS];
} record;

static const unsigned seqlock_threads[] = { 1, 2, 4, 0 };

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Per reader thread: where the writer-rate measurement started. */
typedef struct reader_local {
	uint64_t t0, writes0;
} reader_local;

static void report_writer_rate(weft_bench_ctx *ctx, _Atomic uint64_t *writes)
{
	/* relaxed: a statistic. */
	uint64_t w = atomic_load_explicit(writes, memory_order_relaxed);
	uint64_t t = now_ns();
	reader_local *l = ctx->local;
	if (!l) {
		l = malloc(sizeof *l);
		*l = (reader_local){ .t0 = t, .writes0 = w };
		ctx->local = l;
		return;
	}
	if (t > l->t0)
		weft_bench_counter(ctx, "writer_updates_per_s",
				   (double)(w - l->writes0) * 1e9 / (double)(t - l->t0));
}

static void reader_done(weft_bench_ctx *ctx)
{
	free(ctx->local);
}

/* The writer's loop, common to every impl: write every WRITE_PERIOD_NS. */
#define WRITER_LOOP(s, write_record)                                           \
	do {                                                                   \
		uint64_t next = now_ns(), version = 0;                         \
		/* relaxed: a stop flag; teardown joins the thread. */         \
		while (!atomic_load_explicit(&(s)->stop, memory_order_relaxed)) { \
			uint64_t t = now_ns();                                 \
			if (t < next) {                                        \
				weft__cpu_relax();                              \
				continue;                                      \
			}                                                      \
			next = t + WRITE_PERIOD_NS;                            \
			record r;                                              \
			version++;                                             \
			for (int k = 0; k < RECORD_WORDS; k++)                 \
				r.w[k] = version;                              \
			write_record;                                          \
			atomic_fetch_add_explicit(&(s)->writes, 1,             \
						  memory_order_relaxed);       \
		}                                                              \
	} while (0)

/*
 * The reader's use of its copy: all 8 words handed to an empty asm in
 * registers, so every impl must produce the whole record and nothing else
 * is timed. (A sum was used first: GCC chained it through the loop's
 * accumulator differently per impl, 7 dependent adds per read for one impl
 * and 1 for another, which measured the adds, not the read.)
 */
#define CONSUME(out)                                                           \
	__asm__ __volatile__("" ::"r"((out).w[0]), "r"((out).w[1]),            \
			     "r"((out).w[2]), "r"((out).w[3]),                 \
			     "r"((out).w[4]), "r"((out).w[5]),                 \
			     "r"((out).w[6]), "r"((out).w[7]))

/*
 * One impl: its lock type, init/destroy, and the two critical sections
 * (read_copy copies s->rec into `out`; write_copy stores `r`).
 */
#define SEQ_BENCH(impl, lock_type, init, destroy, read_copy, write_copy)       \
	typedef struct impl##_seq_shared {                                     \
		WEFT_ALIGNED_CACHELINE lock_type lock;                         \
		WEFT_ALIGNED_CACHELINE record rec;                             \
		WEFT_ALIGNED_CACHELINE _Atomic uint64_t writes;                \
		_Atomic bool stop;                                             \
		pthread_t writer;                                              \
	} impl##_seq_shared;                                                   \
                                                                               \
	static void *impl##_seq_writer(void *p)                                \
	{                                                                      \
		impl##_seq_shared *s = p;                                      \
		WRITER_LOOP(s, write_copy);                                    \
		return NULL;                                                   \
	}                                                                      \
                                                                               \
	static void *impl##_seq_setup(unsigned threads)                        \
	{                                                                      \
		(void)threads;                                                 \
		impl##_seq_shared *s = aligned_alloc(WEFT_CACHELINE, sizeof *s); \
		memset(s, 0, sizeof *s);                                       \
		init;                                                          \
		if (pthread_create(&s->writer, NULL, impl##_seq_writer, s))    \
			abort();                                               \
		return s;                                                      \
	}                                                                      \
                                                                               \
	static void impl##_seq_teardown(void *p)                               \
	{                                                                      \
		impl##_seq_shared *s = p;                                      \
		atomic_store_explicit(&s->stop, true, memory_order_relaxed);   \
		pthread_join(s->writer, NULL);                                 \
		destroy;                                                       \
		free(s);                                                       \
	}                                                                      \
                                                                               \
	static void impl##_seq_read(weft_bench_ctx *ctx, uint64_t iters)       \
	{                                                                      \
		impl##_seq_shared *s = ctx->shared;                            \
		for (uint64_t i = 0; i < iters; i++) {                         \
			record out;                                            \
			read_copy;                                             \
			CONSUME(out);                                          \
		}                                                              \
		report_writer_rate(ctx, &s->writes);                           \
	}                                                                      \
                                                                               \
	WEFT_BENCH(bench_##impl##_seq_read64){                                 \
		.name = "seqlock/read64/" #impl,                               \
		.threads = seqlock_threads,                                    \
		.setup = impl##_seq_setup,                                     \
		.teardown = impl##_seq_teardown,                               \
		.run = impl##_seq_read,                                        \
		.thread_done = reader_done,                                    \
		.batch = 1024,                                                 \
	}

/* weft_seqlock: the copy goes through weft_seqlock_read/write. */
SEQ_BENCH(weft, weft_seqlock, (void)0, (void)0,
	  {
		  uint32_t seq;
		  do {
			  seq = weft_seqlock_read_begin(&s->lock);
			  weft_seqlock_read(&s->lock, &out, &s->rec, sizeof out);
		  } while (weft_seqlock_read_retry(&s->lock, seq));
	  },
	  {
		  weft_seqlock_write_lock(&s->lock);
		  weft_seqlock_write(&s->lock, &s->rec, &r, sizeof r);
		  weft_seqlock_write_unlock(&s->lock);
	  });

/* ck_sequence: plain copies between begin and retry (its documented use). */
SEQ_BENCH(ck_sequence, ck_sequence_t, ck_sequence_init(&s->lock), (void)0,
	  {
		  unsigned int v;
		  do {
			  v = ck_sequence_read_begin(&s->lock);
			  out = s->rec;
		  } while (ck_sequence_read_retry(&s->lock, v));
	  },
	  {
		  ck_sequence_write_begin(&s->lock);
		  s->rec = r;
		  ck_sequence_write_end(&s->lock);
	  });

/* pthread_rwlock, default kind (glibc: prefers readers). */
SEQ_BENCH(pthread_rwlock, pthread_rwlock_t,
	  pthread_rwlock_init(&s->lock, NULL), pthread_rwlock_destroy(&s->lock),
	  {
		  pthread_rwlock_rdlock(&s->lock);
		  out = s->rec;
		  pthread_rwlock_unlock(&s->lock);
	  },
	  {
		  pthread_rwlock_wrlock(&s->lock);
		  s->rec = r;
		  pthread_rwlock_unlock(&s->lock);
	  });

/* weft_rwlock (zero memory is an unlocked rwlock); named rwlock_weft so the
 * report counts it as a baseline of the seqlock, not as a weft row. */
SEQ_BENCH(rwlock_weft, weft_rwlock, (void)0, (void)0,
	  {
		  weft_rwlock_read_lock(&s->lock);
		  out = s->rec;
		  weft_rwlock_read_unlock(&s->lock);
	  },
	  {
		  weft_rwlock_write_lock(&s->lock);
		  s->rec = r;
		  weft_rwlock_write_unlock(&s->lock);
	  });
