/*
 * weft/seqlock.h - a sequence lock: readers never write shared memory and
 * retry when a writer overlapped them; one writer at a time.
 *
 *     seq   even: no write in progress; odd: a writer is inside.
 *           Each write adds 2 (odd while writing, even after).
 *     lock  a weft_mutex that serialises writers (futex: a second writer
 *           sleeps instead of spinning on the sequence).
 *
 * All-zero memory (WEFT_SEQLOCK_INIT, a static) is an unlocked seqlock at
 * sequence 0. Size 8 bytes.
 *
 * Use (the protected data is plain memory that every reader and writer
 * accesses ONLY through weft_seqlock_read / weft_seqlock_write, which copy
 * through atomics, so no access is a data race in the C11 model):
 *
 *     do {
 *             seq = weft_seqlock_read_begin(&sl);
 *             weft_seqlock_read(&sl, &copy, &shared, sizeof copy);
 *     } while (weft_seqlock_read_retry(&sl, seq));
 *     ... use copy (consistent: the state after one complete write) ...
 *
 *     weft_seqlock_write_lock(&sl);
 *     weft_seqlock_write(&sl, &shared, &next, sizeof next);
 *     weft_seqlock_write_unlock(&sl);
 *
 * Orders (Boehm, "Can Seqlocks Get Along With Programming Language Memory
 * Models?", MSPC 2012, the fence version):
 *
 *   writer                                 reader
 *   W1 seq = s+1          relaxed          R1 s = seq            acquire
 *   W2 fence(release)                      R2 data loads         relaxed
 *   W3 data stores        relaxed          R3 fence(acquire)
 *   W4 seq = s+2          release          R4 seq == s?          relaxed
 *
 *   - R1 reads an even s stored by some W4: that write's W3 happen-before
 *     R2 (release/acquire on seq), so R2 sees that write's data or later.
 *   - If any R2 load reads a value stored by a later writer's W3, then W2
 *     synchronizes with R3 (fence-fence synchronisation through that load),
 *     so that writer's W1 happens-before R4, which therefore reads s+1 or
 *     later: != s, and the reader retries. So a copy that passes R4 saw no
 *     store of any write after s: it is exactly the state after write s.
 *   - R4 itself needs no acquire: the fence R3 before it orders R2 before it.
 * Under ThreadSanitizer (WEFT_TSAN), which does not model fences, W3 become
 * release stores and R2 acquire loads instead of W2/R3: the same argument
 * with each data load synchronising with the store it reads.
 *
 * A sequence is 32 bits: a reader preempted across exactly 2^31 writes
 * could accept a torn copy (as Linux's seqcount_t); not a practical risk.
 *
 * A reader that finds a write in progress spins a bounded time (only while
 * a spare CPU could be running the writer), then sleeps in short futex
 * naps, re-checking after each (writers never wake readers: that would
 * cost every write a system call; lib/seqlock.c). A writer that dies or is
 * stopped inside a write leaves the sequence odd forever: readers then
 * wait forever. Nothing can fix that (the protected data may be torn); do
 * not cancel or longjmp out of a writer.
 *
 * Readers and writers must cover the protected object with the same
 * address ranges: the copies split a range into atomic accesses (an
 * 8-aligned range: 8-byte words, then tail bytes; otherwise, per 64-byte
 * chunk, bytes up to an 8-byte boundary, words, bytes), and two accesses
 * to the same bytes must use the same split (mixed-size atomics are not
 * defined by C11). Any address and length work.
 */
#ifndef WEFT_SEQLOCK_H
#define WEFT_SEQLOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "weft/common.h"
#include "weft/mutex.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_seqlock {
	_Atomic uint32_t seq;
	weft_mutex lock;
} weft_seqlock;

#define WEFT_SEQLOCK_INIT { 0, WEFT_MUTEX_INIT }

/* Slow path, lib/seqlock.c: wait until seq is even, return it. */
WEFT_API uint32_t weft__seqlock_wait_even(const weft_seqlock *s);

/*
 * Start a read: the (even) sequence to hand to weft_seqlock_read_retry.
 * Waits while a write is in progress.
 */
static inline uint32_t weft_seqlock_read_begin(const weft_seqlock *s)
{
	/* acquire (R1): pairs with the release store of the even sequence in
	 * weft_seqlock_write_unlock, so that write's data stores are visible
	 * to the copy that follows. */
	uint32_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
	if (WEFT_UNLIKELY(seq & 1))
		seq = weft__seqlock_wait_even(s);
	return seq;
}

/* True when a write overlapped the read started at seq: copy again. */
static inline bool weft_seqlock_read_retry(const weft_seqlock *s, uint32_t seq)
{
#if !WEFT_TSAN
	/* acquire fence (R3): pairs with the release fence in
	 * weft_seqlock_write_lock through any data load that read a later
	 * write's store; orders every data load before the load below. */
	atomic_thread_fence(memory_order_acquire);
#endif
	/* relaxed (R4): ordered by the fence above (under TSan by the acquire
	 * data loads of weft_seqlock_read). */
	return atomic_load_explicit(&s->seq, memory_order_relaxed) != seq;
}

/* Data loads and stores: relaxed, bracketed by the fences (header comment);
 * acquire/release under TSan, which does not model the fences. */
#if WEFT_TSAN
#define WEFT__SEQ_LOAD memory_order_acquire
#define WEFT__SEQ_STORE memory_order_release
#else
#define WEFT__SEQ_LOAD memory_order_relaxed
#define WEFT__SEQ_STORE memory_order_relaxed
#endif

/* Unroll the word loops: with a constant n (sizeof a struct) the copy is
 * then straight-line loads/stores; GCC does not unroll loops of atomics by
 * itself (docs/tuning.md: the cost of the loop). */
#if defined(__GNUC__) || defined(__clang__)
#define WEFT__SEQ_UNROLL _Pragma("GCC unroll 8")
#else
#define WEFT__SEQ_UNROLL
#endif

/* Internal: n bytes from 8-aligned p to d, words then a byte tail. */
static inline void weft__seq_load_aligned(unsigned char *d,
					  const unsigned char *p, size_t n)
{
	WEFT__SEQ_UNROLL
	for (size_t k = 0; k < n / 8; k++) {
		uint64_t w = atomic_load_explicit(
			(const _Atomic uint64_t *)(const void *)(p + 8 * k), WEFT__SEQ_LOAD);
		memcpy(d + 8 * k, &w, 8);
	}
	for (size_t k = n & ~(size_t)7; k < n; k++)
		d[k] = atomic_load_explicit((const _Atomic unsigned char *)(p + k),
					    WEFT__SEQ_LOAD);
}

/* Internal: n bytes from q to 8-aligned p, words then a byte tail. */
static inline void weft__seq_store_aligned(unsigned char *p,
					   const unsigned char *q, size_t n)
{
	WEFT__SEQ_UNROLL
	for (size_t k = 0; k < n / 8; k++) {
		uint64_t w;
		memcpy(&w, q + 8 * k, 8);
		atomic_store_explicit((_Atomic uint64_t *)(void *)(p + 8 * k), w,
				      WEFT__SEQ_STORE);
	}
	for (size_t k = n & ~(size_t)7; k < n; k++)
		atomic_store_explicit((_Atomic unsigned char *)(p + k), q[k],
				      WEFT__SEQ_STORE);
}

/*
 * Internal: one chunk of an unaligned read, m <= 64 bytes from p into buf:
 * bytes up to an 8-byte boundary, then words and tail bytes. Out of line:
 * inlined, its loops took the registers of a caller's read loop, which
 * then kept its loop counter on the stack (docs/tuning.md); an aligned
 * read never calls it.
 */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline, unused))
#endif
static void weft__seq_load_chunk(unsigned char *buf, const unsigned char *p, size_t m)
{
	size_t h = ((8 - ((uintptr_t)p & 7)) & 7);
	h = h < m ? h : m;
	for (size_t k = 0; k < h; k++)
		buf[k] = atomic_load_explicit((const _Atomic unsigned char *)(p + k),
					      WEFT__SEQ_LOAD);
	weft__seq_load_aligned(buf + h, p + h, m - h);
}

/*
 * Copy n bytes of protected data at src into the caller's dst through
 * atomic loads (R2). Between read_begin and read_retry; the copy may be
 * torn until read_retry says false, so do not act on it before that.
 */
static inline void weft_seqlock_read(const weft_seqlock *s, void *dst,
				     const void *src, size_t n)
{
	(void)s;
	unsigned char *d = (unsigned char *)dst;
	const unsigned char *p = (const unsigned char *)src;
	if (WEFT_UNLIKELY((uintptr_t)p & 7)) {
		/* In chunks of 64 through a local buffer: dst is then written
		 * only by fixed-size copies, so the compiler can keep a small
		 * dst (a struct on the caller's stack) in registers on the
		 * aligned path below (docs/tuning.md). */
		for (size_t off = 0; off < n; off += 64) {
			unsigned char buf[64];
			size_t m = n - off < 64 ? n - off : 64;
			weft__seq_load_chunk(buf, p + off, m);
			memcpy(d + off, buf, m);
		}
		return;
	}
	weft__seq_load_aligned(d, p, n);
}

/*
 * Copy n bytes from the caller's src into the protected data at dst
 * through atomic stores (W3), split as weft_seqlock_read splits them.
 * Only between write_lock and write_unlock.
 */
static inline void weft_seqlock_write(weft_seqlock *s, void *dst,
				      const void *src, size_t n)
{
	(void)s;
	unsigned char *p = (unsigned char *)dst;
	const unsigned char *q = (const unsigned char *)src;
	if (WEFT_UNLIKELY((uintptr_t)p & 7)) {
		/* The split weft_seqlock_read uses: per 64-byte chunk, bytes
		 * up to an 8-byte boundary, words, then bytes. */
		for (size_t off = 0; off < n; off += 64) {
			size_t m = n - off < 64 ? n - off : 64;
			size_t h = ((8 - ((uintptr_t)(p + off) & 7)) & 7);
			h = h < m ? h : m;
			for (size_t k = 0; k < h; k++)
				atomic_store_explicit(
					(_Atomic unsigned char *)(p + off + k),
					q[off + k], WEFT__SEQ_STORE);
			weft__seq_store_aligned(p + off + h, q + off + h, m - h);
		}
		return;
	}
	weft__seq_store_aligned(p, q, n);
}

/* Become the writer (waits for another writer); the sequence turns odd. */
static inline void weft_seqlock_write_lock(weft_seqlock *s)
{
	weft_mutex_lock(&s->lock);
	/* relaxed: only lock holders change seq, and the mutex orders us
	 * after the previous writer's stores. */
	uint32_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
	WEFT_DEBUG_CHECK(!(seq & 1), "weft_seqlock_write_lock: odd sequence "
				     "(a writer died inside a write?)");
	/* relaxed (W1): the fence below orders it before the data stores. */
	atomic_store_explicit(&s->seq, seq + 1, memory_order_relaxed);
#if !WEFT_TSAN
	/* release fence (W2): pairs with the acquire fence in
	 * weft_seqlock_read_retry; a reader that sees any data store after
	 * this then sees the odd sequence and retries. */
	atomic_thread_fence(memory_order_release);
#endif
}

/* Publish the write: the sequence turns even again; let the next writer in. */
static inline void weft_seqlock_write_unlock(weft_seqlock *s)
{
	/* relaxed: we are the only writer (we hold the mutex). */
	uint32_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
	WEFT_DEBUG_CHECK(seq & 1, "weft_seqlock_write_unlock: not write-locked");
	/* release (W4): pairs with the acquire load in weft_seqlock_read_begin;
	 * publishes this write's data stores to readers that see seq + 1. */
	atomic_store_explicit(&s->seq, seq + 1, memory_order_release);
	weft_mutex_unlock(&s->lock);
}

/* The current sequence (even when idle); a relaxed snapshot for tests and
 * statistics: the number of completed writes is seq / 2. */
static inline uint32_t weft_seqlock_sequence(const weft_seqlock *s)
{
	/* relaxed: a snapshot, orders nothing. */
	return atomic_load_explicit(&s->seq, memory_order_relaxed);
}

#ifdef __cplusplus
}
#endif

#endif /* WEFT_SEQLOCK_H */
