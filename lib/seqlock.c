/* lib/seqlock.c - a reader's wait for a write in progress (weft/seqlock.h). */
#include "weft/seqlock.h"

#include "internal/backoff.h"
#include "internal/cpus.h"
#include "internal/futex.h"

/* The sequence and the mutex (16 bytes on 64-bit targets: weft/mutex.h). */
_Static_assert(sizeof(weft_seqlock) <= 8 + sizeof(weft_mutex),
	       "weft_seqlock must stay the mutex and one word");

/*
 * A write is a few stores between two sequence bumps (tens to hundreds of
 * ns, its cache misses included), so a reader that finds one in progress
 * normally sees it end within a spin of a few microseconds. Spinning
 * longer only helps if the writer is running, which on a busy machine it
 * may not be (preempted inside the write).
 *
 * The spin polls after every single pause hint, without backing off: it
 * only loads the sequence, and a load of a line we share makes no traffic
 * until the writer stores to it, so a longer pause saves nothing and only
 * sees the end of the write later (docs/tuning.md).
 */
#define SEQLOCK_SPIN_NS 10000

/*
 * After the spin, naps on the futex from NAP_MIN_NS doubling to NAP_MAX_NS.
 * Writers do not know about readers (readers write no shared memory), so
 * nobody wakes a napping reader: the futex returns at once if the sequence
 * already moved, else at the timer. The nap bounds how late a reader sees
 * the end of a write whose writer had been preempted; 50 us is the default
 * timer slack of a Linux thread, so shorter naps would not be shorter.
 */
#define SEQLOCK_NAP_MIN_NS 50000
#define SEQLOCK_NAP_MAX_NS 1000000

static uint32_t load_seq(const weft_seqlock *s)
{
	/* acquire: as in weft_seqlock_read_begin, pairs with the release
	 * store of the even sequence in weft_seqlock_write_unlock. */
	return atomic_load_explicit(&s->seq, memory_order_acquire);
}

uint32_t weft__seqlock_wait_even(const weft_seqlock *s)
{
	uint32_t seq;
	/* Spin only if the writer can run beside us. */
	if (weft__cpus_parallel() > 1) {
		weft__backoff b = weft__backoff_make(weft__relax_hints(SEQLOCK_SPIN_NS), 1);
		do {
			seq = load_seq(s);
			if (!(seq & 1))
				return seq;
		} while (weft__backoff_spin(&b));
	}
	/* The futex only reads the word; the cast drops const for its type. */
	_Atomic uint32_t *word = (_Atomic uint32_t *)&s->seq;
	uint64_t nap = SEQLOCK_NAP_MIN_NS;
	while ((seq = load_seq(s)) & 1) {
		weft__deadline d = weft__deadline_after(nap);
		(void)weft__futex_wait(word, seq, &d);
		if (nap < SEQLOCK_NAP_MAX_NS)
			nap *= 2;
	}
	return seq;
}
