/*
 * tests/stress_seqlock.c - weft_seqlock readers against writers.
 *
 * The protected record holds a version v (its first 8 bytes) and a body
 * every byte of which is a function of v and its position (the checksum:
 * a torn copy mixes two versions and fails it). Writers store versions
 * 1, 2, ...: each writer, under the write lock, reads the version it last
 * wrote from a writer-only variable and stores the next, so the final
 * version equals the number of writes (no two writers inside at once).
 * Invariants: every copy a reader accepts (read_retry false) is a whole
 * record; each reader's accepted versions never go backwards; the final
 * version is the number of writes. `arg` is the record's byte offset in
 * its buffer (0: 8-byte aligned words; else unaligned head and tail bytes
 * through the byte path).
 */
#include <stdatomic.h>
#include <string.h>

#include "stress.h"
#include "weft/seqlock.h"

#define RECORD_BYTES 64 /* the benchmark's size: 8 words */

typedef struct seq_test {
	weft_seqlock lock;
	_Alignas(64) unsigned char buf[RECORD_BYTES + 16]; /* via the seqlock only */
	size_t off, len;
	uint64_t version; /* writers only, under the write lock */
	uint64_t writes_per_writer;
	unsigned writers;
	_Atomic unsigned writers_done;
	_Atomic uint64_t torn, backwards, accepted;
} seq_test;

static unsigned char body_byte(uint64_t v, size_t k)
{
	uint64_t x = (v + 1) * 0x9e3779b97f4a7c15ull + k * 0xbf58476d1ce4e5b9ull;
	return (unsigned char)(x >> 56);
}

static void make_record(unsigned char *rec, size_t len, uint64_t v)
{
	memcpy(rec, &v, sizeof v);
	for (size_t k = sizeof v; k < len; k++)
		rec[k] = body_byte(v, k);
}

static bool record_ok(const unsigned char *rec, size_t len, uint64_t *v)
{
	memcpy(v, rec, sizeof *v);
	for (size_t k = sizeof *v; k < len; k++)
		if (rec[k] != body_byte(*v, k))
			return false;
	return true;
}

static void writer(seq_test *t)
{
	unsigned char rec[RECORD_BYTES];
	for (uint64_t i = 0; i < t->writes_per_writer; i++) {
		weft_seqlock_write_lock(&t->lock);
		make_record(rec, t->len, ++t->version);
		weft_seqlock_write(&t->lock, t->buf + t->off, rec, t->len);
		weft_seqlock_write_unlock(&t->lock);
	}
	/* release: the readers' acquire load of writers_done then also sees
	 * the last write (they make one more read after it). */
	atomic_fetch_add_explicit(&t->writers_done, 1, memory_order_release);
}

static void reader(seq_test *t)
{
	unsigned char copy[RECORD_BYTES];
	uint64_t last = 0, accepted = 0;
	bool done;
	do {
		/* acquire: pairs with the writers' release increment. */
		done = atomic_load_explicit(&t->writers_done,
					    memory_order_acquire) == t->writers;
		uint32_t seq;
		do {
			seq = weft_seqlock_read_begin(&t->lock);
			weft_seqlock_read(&t->lock, copy, t->buf + t->off, t->len);
		} while (weft_seqlock_read_retry(&t->lock, seq));
		uint64_t v;
		if (!record_ok(copy, t->len, &v))
			atomic_fetch_add_explicit(&t->torn, 1, memory_order_relaxed);
		else if (v < last)
			atomic_fetch_add_explicit(&t->backwards, 1,
						  memory_order_relaxed);
		else
			last = v;
		accepted++;
	} while (!done);
	if (last != t->version)
		atomic_fetch_add_explicit(&t->backwards, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&t->accepted, accepted, memory_order_relaxed);
}

static void seq_worker(unsigned id, void *arg)
{
	seq_test *t = arg;
	if (id < t->writers)
		writer(t);
	else
		reader(t);
}

/* threads = readers + writers; arg = offset * 16 + writers. */
static void seqlock_torn(const weft_stress_case *c, weft_stress_result *r)
{
	static seq_test t; /* large-ish; zeroed per run below */
	memset(&t, 0, sizeof t); /* all-zero: a valid seqlock */
	t.writers = c->arg % 16;
	t.off = c->arg / 16;
	/* An unaligned record also ends off a word boundary (head and tail bytes). */
	t.len = t.off ? RECORD_BYTES - 2 * t.off : RECORD_BYTES;
	t.writes_per_writer = weft_stress_ops(c) / t.writers;
	unsigned char rec[RECORD_BYTES];
	make_record(rec, t.len, 0);
	weft_seqlock_write_lock(&t.lock);
	weft_seqlock_write(&t.lock, t.buf + t.off, rec, t.len);
	weft_seqlock_write_unlock(&t.lock);
	t.version = 0;

	weft_stress_run_threads(c->threads, seq_worker, &t);
	uint64_t writes = t.writes_per_writer * t.writers;
	if (atomic_load(&t.torn))
		weft_stress_fail(r, "%llu torn copies accepted",
				 (unsigned long long)atomic_load(&t.torn));
	if (atomic_load(&t.backwards))
		weft_stress_fail(r, "%llu readers saw versions go back or missed "
				 "the last write",
				 (unsigned long long)atomic_load(&t.backwards));
	if (t.version != writes)
		weft_stress_fail(r, "final version %llu != %llu writes (writers "
				 "overlapped)",
				 (unsigned long long)t.version,
				 (unsigned long long)writes);
	/* The initial write plus every write: 2 per write, even at rest. */
	if (weft_seqlock_sequence(&t.lock) != (uint32_t)(2 * (writes + 1)))
		weft_stress_fail(r, "sequence %u after %llu writes",
				 weft_seqlock_sequence(&t.lock),
				 (unsigned long long)writes);
	if (atomic_load(&t.accepted) < c->threads - t.writers)
		weft_stress_fail(r, "readers accepted no copy");
}

/* 1 writer x 4 readers: aligned words, then an unaligned record. */
WEFT_STRESS_CASE("seqlock_torn/1w4r", seqlock_torn, 5, 0 * 16 + 1, 300000);
WEFT_STRESS_CASE("seqlock_torn/1w4r_unaligned", seqlock_torn, 5, 3 * 16 + 1, 200000);
/* 2 writers x 2 readers: the write lock's exclusion too. */
WEFT_STRESS_CASE("seqlock_torn/2w2r", seqlock_torn, 4, 0 * 16 + 2, 100000);
