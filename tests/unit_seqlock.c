/* tests/unit_seqlock.c - weft_seqlock sequence rules, copies, waits. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "test_util.h"
#include "weft/seqlock.h"

TestSuite(seqlock, .timeout = WEFT_UNIT_TIMEOUT_S);

static weft_seqlock static_seqlock; /* zero memory: a valid seqlock */

Test(seqlock, zero_memory_is_idle_at_sequence_0)
{
	cr_assert_eq(sizeof(weft_seqlock), 8 + sizeof(weft_mutex));
	uint32_t seq = weft_seqlock_read_begin(&static_seqlock);
	cr_assert_eq(seq, 0);
	cr_assert_not(weft_seqlock_read_retry(&static_seqlock, seq));

	weft_seqlock s = WEFT_SEQLOCK_INIT;
	cr_assert_eq(weft_seqlock_read_begin(&s), 0);
	weft_seqlock_write_lock(&s);
	weft_seqlock_write_unlock(&s);
	cr_assert_eq(weft_seqlock_sequence(&s), 2);
}

Test(seqlock, a_write_makes_an_earlier_read_retry)
{
	weft_seqlock s = WEFT_SEQLOCK_INIT;
	uint64_t shared = 1, copy;
	uint32_t seq = weft_seqlock_read_begin(&s);
	weft_seqlock_read(&s, &copy, &shared, sizeof copy);
	cr_assert_not(weft_seqlock_read_retry(&s, seq));

	seq = weft_seqlock_read_begin(&s);
	weft_seqlock_write_lock(&s);
	cr_assert_eq(weft_seqlock_sequence(&s) & 1, 1, "odd while writing");
	cr_assert(weft_seqlock_read_retry(&s, seq), "write in progress");
	uint64_t two = 2;
	weft_seqlock_write(&s, &shared, &two, sizeof two);
	weft_seqlock_write_unlock(&s);
	cr_assert(weft_seqlock_read_retry(&s, seq), "write completed");

	seq = weft_seqlock_read_begin(&s);
	cr_assert_eq(seq, 2);
	weft_seqlock_read(&s, &copy, &shared, sizeof copy);
	cr_assert_not(weft_seqlock_read_retry(&s, seq));
	cr_assert_eq(copy, 2);
}

/*
 * Every source/destination alignment and length from 0 to 150 bytes: the
 * head-bytes / words / tail-bytes split (in 64-byte chunks when unaligned)
 * copies exactly n bytes and touches nothing around them.
 */
Test(seqlock, copies_every_alignment_and_length_exactly)
{
	weft_seqlock s = WEFT_SEQLOCK_INIT;
	_Alignas(16) unsigned char src[192], dst[192], want[192];
	for (size_t off = 0; off < 9; off++)
		for (size_t doff = 0; doff < 3; doff++)
			for (size_t n = 0; n <= 150; n++) {
				for (size_t k = 0; k < sizeof src; k++) {
					src[k] = (unsigned char)(k * 7 + 1);
					dst[k] = want[k] = 0xee;
				}
				memcpy(want + doff, src + off, n);
				weft_seqlock_read(&s, dst + doff, src + off, n);
				cr_assert_arr_eq(dst, want, sizeof dst,
						 "read off %zu doff %zu n %zu", off,
						 doff, n);

				memset(dst, 0xee, sizeof dst);
				memcpy(want, dst, sizeof want);
				memcpy(want + off, src + doff, n);
				weft_seqlock_write_lock(&s);
				weft_seqlock_write(&s, dst + off, src + doff, n);
				weft_seqlock_write_unlock(&s);
				cr_assert_arr_eq(dst, want, sizeof dst,
						 "write off %zu doff %zu n %zu", off,
						 doff, n);
			}
}

typedef struct waiter {
	weft_seqlock *s;
	_Atomic pid_t tid;
	_Atomic int done;
	uint32_t seq;
} waiter;

static void *begin_reader(void *p)
{
	waiter *w = p;
	atomic_store(&w->tid, (pid_t)syscall(SYS_gettid));
	w->seq = weft_seqlock_read_begin(w->s);
	atomic_store(&w->done, 1);
	return NULL;
}

static void *second_writer(void *p)
{
	waiter *w = p;
	atomic_store(&w->tid, (pid_t)syscall(SYS_gettid));
	weft_seqlock_write_lock(w->s);
	w->seq = weft_seqlock_sequence(w->s);
	weft_seqlock_write_unlock(w->s);
	atomic_store(&w->done, 1);
	return NULL;
}

/* Start fn, wait until it sleeps (inside the wait we test), check it has
 * not got through, then end our write and join it. */
static void blocked_until_write_ends(void *(*fn)(void *), uint32_t want_seq)
{
	weft_seqlock s = WEFT_SEQLOCK_INIT;
	waiter w = { .s = &s };
	weft_seqlock_write_lock(&s);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, fn, &w), 0);
	while (!atomic_load(&w.tid))
		sched_yield();
	uint64_t t0 = weft_test_now_ns();
	while (!weft_test_thread_sleeping(atomic_load(&w.tid)) &&
	       weft_test_now_ns() - t0 < WEFT_TEST_SLACK_NS)
		sched_yield();
	cr_assert_not(atomic_load(&w.done), "got through a write in progress");
	weft_seqlock_write_unlock(&s);
	pthread_join(t, NULL);
	cr_assert(atomic_load(&w.done));
	cr_assert_eq(w.seq, want_seq);
}

Test(seqlock, read_begin_waits_for_the_write_in_progress)
{
	/* The reader spins, then naps on the futex; it must return the even
	 * sequence after our write. */
	blocked_until_write_ends(begin_reader, 2);
}

Test(seqlock, writers_take_turns)
{
	/* The second writer sees the sequence odd from its own write (3). */
	blocked_until_write_ends(second_writer, 3);
}

#ifdef WEFT_DEBUG
Test(seqlock, debug_write_unlock_without_lock_aborts, .signal = SIGABRT)
{
	weft_seqlock s = WEFT_SEQLOCK_INIT;
	weft_seqlock_write_unlock(&s);
}
#endif
