/* tests/unit_ring.c - weft_ring edges: empty/full, rounding, EINVAL, wrap,
 * bulk, and the waiting calls. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "weft/ring.h"
#include "test_util.h"

TestSuite(ring, .timeout = WEFT_UNIT_TIMEOUT_S);

#define P(x) ((void *)(uintptr_t)(x))

Test(ring, init_einval_and_rounding)
{
	weft_ring r;
	cr_assert_eq(weft_ring_init(&r, 0), EINVAL);
	cr_assert_eq(weft_ring_init(&r, WEFT_RING_MAX_CAPACITY + 1), EINVAL);
	static const size_t in[] = { 1, 2, 3, 4, 5, 1000, 1024, 1025 };
	static const size_t out[] = { 2, 2, 4, 4, 8, 1024, 1024, 2048 };
	for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
		cr_assert_eq(weft_ring_init(&r, in[i]), 0);
		cr_assert_eq(weft_ring_capacity(&r), out[i], "capacity %zu", in[i]);
		weft_ring_destroy(&r);
	}
	cr_assert_eq(sizeof(weft_ring), 2 * WEFT_CACHELINE);
}

/* Fill to capacity, check full, drain in order, check empty; several laps. */
static void fill_drain(weft_ring *r, bool spsc, int laps)
{
	size_t cap = weft_ring_capacity(r);
	uintptr_t next = 1;
	void *v;
	for (int lap = 0; lap < laps; lap++) {
		cr_assert_not(spsc ? weft_ring_spsc_pop(r, &v) : weft_ring_pop(r, &v),
			      "pop from empty ring");
		for (size_t i = 0; i < cap; i++)
			cr_assert(spsc ? weft_ring_spsc_push(r, P(next + i))
				       : weft_ring_push(r, P(next + i)));
		cr_assert_not(spsc ? weft_ring_spsc_push(r, P(99)) : weft_ring_push(r, P(99)),
			      "push to full ring");
		for (size_t i = 0; i < cap; i++) {
			cr_assert(spsc ? weft_ring_spsc_pop(r, &v) : weft_ring_pop(r, &v));
			cr_assert_eq(v, P(next + i));
		}
		cr_assert_not(spsc ? weft_ring_spsc_pop(r, &v) : weft_ring_pop(r, &v));
		next += cap;
		/* leave it half full across the lap boundary once */
		if (lap == 1) {
			for (size_t i = 0; i < cap / 2; i++)
				cr_assert(spsc ? weft_ring_spsc_push(r, P(next + i))
					       : weft_ring_push(r, P(next + i)));
			for (size_t i = 0; i < cap / 2; i++) {
				cr_assert(spsc ? weft_ring_spsc_pop(r, &v) : weft_ring_pop(r, &v));
				cr_assert_eq(v, P(next + i));
			}
			next += cap / 2;
		}
	}
}

Test(ring, mpmc_empty_full_edges)
{
	weft_ring r;
	cr_assert_eq(weft_ring_init(&r, 8), 0);
	fill_drain(&r, false, 5);
	weft_ring_destroy(&r);
	cr_assert_eq(weft_ring_init(&r, 1), 0); /* rounds to 2 */
	fill_drain(&r, false, 5);
	weft_ring_destroy(&r);
}

Test(ring, spsc_empty_full_edges)
{
	weft_ring r;
	cr_assert_eq(weft_ring_init(&r, 8), 0);
	fill_drain(&r, true, 5);
	weft_ring_destroy(&r);
	cr_assert_eq(weft_ring_init(&r, 1), 0);
	fill_drain(&r, true, 5);
	weft_ring_destroy(&r);
}

Test(ring, null_is_a_valid_item)
{
	weft_ring r;
	void *v = P(1);
	cr_assert_eq(weft_ring_init(&r, 4), 0);
	cr_assert(weft_ring_push(&r, NULL));
	cr_assert(weft_ring_pop(&r, &v));
	cr_assert_null(v);
	weft_ring_destroy(&r);
}

/*
 * Counter starts for the wraparound tests: just below 2^32 and 2^64, laps
 * across both wraps; also below 2^31 and 3 * 2^31, where a 32-bit view of a
 * position changes sign (an implementation that kept 32-bit sequence
 * numbers would break there).
 */
static const uint64_t wrap_starts[] = { (UINT64_C(1) << 31) - 5,
					(UINT64_C(1) << 32) - 5,
					(UINT64_C(3) << 31) - 5,
					UINT64_MAX - 5, UINT64_MAX };

Test(ring, index_wraparound)
{
	for (size_t s = 0; s < sizeof wrap_starts / sizeof wrap_starts[0]; s++) {
		for (int spsc = 0; spsc < 2; spsc++) {
			weft_ring r;
			cr_assert_eq(weft__ring_init_at(&r, 4, wrap_starts[s]), 0);
			fill_drain(&r, spsc, 6);
			weft_ring_destroy(&r);
		}
		/* bulk across the wrap */
		weft_ring r;
		cr_assert_eq(weft__ring_init_at(&r, 8, wrap_starts[s]), 0);
		void *in[8], *out[8];
		for (int lap = 0; lap < 6; lap++) {
			for (int i = 0; i < 8; i++)
				in[i] = P(lap * 8 + i + 1);
			cr_assert_eq(weft_ring_push_n(&r, in, 5), 5);
			cr_assert_eq(weft_ring_pop_n(&r, out, 8), 5);
			for (int i = 0; i < 5; i++)
				cr_assert_eq(out[i], in[i]);
		}
		/* 6 laps of 5 items: both indices moved exactly 30 past the
		 * start (modulo 2^64), across the wrap. */
		cr_assert_eq(atomic_load(&r.tail) - wrap_starts[s], 30);
		cr_assert_eq(atomic_load(&r.head) - wrap_starts[s], 30);
		weft_ring_destroy(&r);
	}
}

static void bulk_partial(bool spsc)
{
	weft_ring r;
	cr_assert_eq(weft_ring_init(&r, 8), 0);
	void *in[20], *out[20];
	for (int i = 0; i < 20; i++)
		in[i] = P(i + 1);
	size_t (*push_n)(weft_ring *, void *const *, size_t) =
		spsc ? weft_ring_spsc_push_n : weft_ring_push_n;
	size_t (*pop_n)(weft_ring *, void **, size_t) =
		spsc ? weft_ring_spsc_pop_n : weft_ring_pop_n;
	cr_assert_eq(pop_n(&r, out, 4), 0, "pop_n from empty");
	cr_assert_eq(push_n(&r, in, 0), 0);
	cr_assert_eq(push_n(&r, in, 5), 5);
	cr_assert_eq(push_n(&r, in + 5, 20), 3, "only 3 free slots");
	cr_assert_eq(push_n(&r, in, 1), 0, "push_n to full");
	cr_assert_eq(pop_n(&r, out, 3), 3);
	cr_assert_eq(pop_n(&r, out + 3, 20), 5, "only 5 left");
	for (int i = 0; i < 8; i++)
		cr_assert_eq(out[i], in[i]);
	cr_assert_eq(pop_n(&r, out, 20), 0);
	/* bulk and single interleave */
	cr_assert_eq(push_n(&r, in, 20), 8);
	void *v;
	cr_assert(spsc ? weft_ring_spsc_pop(&r, &v) : weft_ring_pop(&r, &v));
	cr_assert_eq(v, in[0]);
	cr_assert_eq(pop_n(&r, out, 2), 2);
	cr_assert_eq(out[0], in[1]);
	cr_assert_eq(out[1], in[2]);
	weft_ring_destroy(&r);
}

Test(ring, mpmc_bulk_partial_moves) { bulk_partial(false); }
Test(ring, spsc_bulk_partial_moves) { bulk_partial(true); }

/* All-or-nothing: EINVAL above capacity, n = 0, exactly full and empty. */
static void bulk_all(weft_ring *r, bool spsc, uintptr_t base)
{
	int (*push_bulk)(weft_ring *, void *const *, size_t) =
		spsc ? weft_ring_spsc_push_bulk : weft_ring_push_bulk;
	int (*pop_bulk)(weft_ring *, void **, size_t) =
		spsc ? weft_ring_spsc_pop_bulk : weft_ring_pop_bulk;
	size_t (*pop_n)(weft_ring *, void **, size_t) =
		spsc ? weft_ring_spsc_pop_n : weft_ring_pop_n;
	size_t cap = weft_ring_capacity(r);
	void *in[20], *out[20];
	for (int i = 0; i < 20; i++)
		in[i] = P(base + i);
	cr_assert_eq(cap, 8);
	cr_assert_eq(push_bulk(r, in, 9), EINVAL, "more than capacity");
	cr_assert_eq(pop_bulk(r, out, 9), EINVAL);
	cr_assert_eq(push_bulk(r, in, 0), 0, "n = 0 moves nothing");
	cr_assert_eq(pop_bulk(r, out, 0), 0);
	cr_assert_eq(pop_bulk(r, out, 1), EAGAIN, "empty");
	cr_assert_eq(push_bulk(r, in, 5), 0);
	cr_assert_eq(pop_bulk(r, out, 6), EAGAIN, "5 of 6");
	cr_assert_eq(push_bulk(r, in + 5, 4), EAGAIN, "3 free slots for 4");
	cr_assert_eq(push_bulk(r, in + 5, 3), 0, "exactly full");
	cr_assert_eq(push_bulk(r, in, 1), EAGAIN, "full");
	cr_assert_eq(pop_bulk(r, out, 8), 0, "exactly all");
	for (int i = 0; i < 8; i++)
		cr_assert_eq(out[i], in[i]);
	cr_assert_eq(pop_bulk(r, out, 1), EAGAIN, "empty again");
	cr_assert_eq(pop_n(r, out, 8), 0);
	/* a failed call moved nothing: order and count intact */
	cr_assert_eq(push_bulk(r, in, 8), 0);
	cr_assert_eq(pop_bulk(r, out, 3), 0);
	cr_assert_eq(push_bulk(r, in + 8, 4), EAGAIN);
	cr_assert_eq(push_bulk(r, in + 8, 3), 0);
	cr_assert_eq(pop_bulk(r, out + 3, 8), 0);
	for (int i = 0; i < 11; i++)
		cr_assert_eq(out[i], in[i], "item %d", i);
	cr_assert_eq(pop_bulk(r, out, 1), EAGAIN);
}

Test(ring, mpmc_bulk_all_or_nothing)
{
	weft_ring r;
	cr_assert_eq(weft_ring_init(&r, 8), 0);
	bulk_all(&r, false, 1);
	weft_ring_destroy(&r);
}

Test(ring, spsc_bulk_all_or_nothing)
{
	weft_ring r;
	cr_assert_eq(weft_ring_init(&r, 8), 0);
	bulk_all(&r, true, 1);
	weft_ring_destroy(&r);
}

/* All-or-nothing across the 2^31, 2^32 and 2^64 wraps, at every phase. */
Test(ring, bulk_all_wraparound)
{
	for (size_t s = 0; s < sizeof wrap_starts / sizeof wrap_starts[0]; s++) {
		for (int spsc = 0; spsc < 2; spsc++) {
			for (uint64_t phase = 0; phase < 8; phase++) {
				weft_ring r;
				cr_assert_eq(weft__ring_init_at(&r, 8, wrap_starts[s] - phase), 0);
				bulk_all(&r, spsc, 1 + phase);
				bulk_all(&r, spsc, 100 + phase);
				weft_ring_destroy(&r);
			}
		}
	}
}

/* ------------------------------------------------------------- waiting */

/* A wait that cannot succeed: 0 returns at once, a timeout after it; the
 * ring is left as it was (full of 1..cap, or empty). */
static void wait_times_out(bool spsc, bool full)
{
	weft_ring r;
	cr_assert_eq(weft_ring_init(&r, 4), 0);
	if (full)
		for (uintptr_t i = 1; i <= 4; i++)
			cr_assert(weft_ring_push(&r, P(i)));
	void *v = P(77);
	for (int k = 0; k < 2; k++) {
		uint64_t timeout = k ? 20 * WEFT_MS : 0;
		uint64_t t0 = weft_test_now_ns();
		int rc = full ? (spsc ? weft_ring_spsc_push_wait(&r, P(99), timeout)
				      : weft_ring_push_wait(&r, P(99), timeout))
			      : (spsc ? weft_ring_spsc_pop_wait(&r, &v, timeout)
				      : weft_ring_pop_wait(&r, &v, timeout));
		uint64_t took = weft_test_now_ns() - t0;
		cr_assert_eq(rc, ETIMEDOUT, "timeout %llu", (unsigned long long)timeout);
		cr_assert_geq(took, timeout);
		cr_assert_leq(took, timeout + WEFT_TEST_SLACK_NS);
		cr_assert_eq(v, P(77), "a timed-out pop wrote its item");
	}
	for (uintptr_t i = 1; full && i <= 4; i++) {
		cr_assert(weft_ring_pop(&r, &v));
		cr_assert_eq(v, P(i));
	}
	cr_assert_not(weft_ring_pop(&r, &v), "a timed-out push appended its item");
	weft_ring_destroy(&r);
}

Test(ring, pop_wait_times_out_on_empty) { wait_times_out(false, false); }
Test(ring, push_wait_times_out_on_full) { wait_times_out(false, true); }
Test(ring, spsc_pop_wait_times_out_on_empty) { wait_times_out(true, false); }
Test(ring, spsc_push_wait_times_out_on_full) { wait_times_out(true, true); }

Test(ring, waits_that_can_succeed_do_at_once)
{
	weft_ring r;
	void *v;
	cr_assert_eq(weft_ring_init(&r, 2), 0);
	cr_assert_eq(weft_ring_push_wait(&r, P(1), 0), 0);
	cr_assert_eq(weft_ring_push_wait(&r, NULL, WEFT_TIMEOUT_NEVER), 0);
	cr_assert_eq(weft_ring_pop_wait(&r, &v, 0), 0);
	cr_assert_eq(v, P(1));
	cr_assert_eq(weft_ring_pop_wait(&r, &v, WEFT_TIMEOUT_NEVER), 0);
	cr_assert_null(v);
	weft_ring_destroy(&r);
	cr_assert_eq(weft_ring_init(&r, 2), 0);
	cr_assert_eq(weft_ring_spsc_push_wait(&r, P(2), 0), 0);
	cr_assert_eq(weft_ring_spsc_pop_wait(&r, &v, WEFT_TIMEOUT_NEVER), 0);
	cr_assert_eq(v, P(2));
	weft_ring_destroy(&r);
}

/*
 * A waiter asleep in the kernel is woken by each call of the other side.
 * The waiter's timeout (10 s) is far beyond any wake-up: a missing one
 * shows as a wait that lasted it (its last try then succeeds, rc 0).
 * Without membarrier (qemu) the waiter naps and would find the item within
 * a nap anyway; the test is then weaker, not wrong.
 */
enum waker { BY_ONE, BY_N, BY_BULK };

typedef struct sleeper {
	weft_ring *r;
	bool spsc, pop;
	void *item; /* pushed by a push waiter; received by a pop waiter */
	int rc;
	uint64_t waited_ns;
	_Atomic pid_t tid;
} sleeper;

#define SLEEPER_TIMEOUT_NS (10000 * WEFT_MS)

static void *sleeper_main(void *p)
{
	sleeper *s = p;
	atomic_store(&s->tid, (pid_t)syscall(SYS_gettid));
	uint64_t timeout = SLEEPER_TIMEOUT_NS, t0 = weft_test_now_ns();
	if (s->pop)
		s->rc = s->spsc ? weft_ring_spsc_pop_wait(s->r, &s->item, timeout)
				: weft_ring_pop_wait(s->r, &s->item, timeout);
	else
		s->rc = s->spsc ? weft_ring_spsc_push_wait(s->r, s->item, timeout)
				: weft_ring_push_wait(s->r, s->item, timeout);
	s->waited_ns = weft_test_now_ns() - t0;
	return NULL;
}

static void woken_by(bool spsc, bool pop, enum waker how)
{
	weft_ring r;
	cr_assert_eq(weft_ring_init(&r, 2), 0);
	void *two[2] = { P(1), P(2) }, *v;
	if (!pop) /* fill it: the push waiter waits for room */
		cr_assert_eq(spsc ? weft_ring_spsc_push_bulk(&r, two, 2)
				  : weft_ring_push_bulk(&r, two, 2), 0);
	sleeper s = { .r = &r, .spsc = spsc, .pop = pop, .item = pop ? NULL : P(3) };
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, sleeper_main, &s), 0);
	_Atomic uint32_t *flag = pop ? &r.pop_sleeping : &r.push_sleeping;
	while (!atomic_load(flag))
		sched_yield();
	weft_test_await_sleeping(&s.tid);
	size_t moved;
	if (pop) { /* the other side pushes P(1) (and P(2)) */
		if (how == BY_ONE)
			moved = spsc ? weft_ring_spsc_push(&r, P(1)) : weft_ring_push(&r, P(1));
		else if (how == BY_N)
			moved = spsc ? weft_ring_spsc_push_n(&r, two, 2) : weft_ring_push_n(&r, two, 2);
		else
			moved = (spsc ? weft_ring_spsc_push_bulk(&r, two, 2)
				      : weft_ring_push_bulk(&r, two, 2)) == 0;
	} else { /* the other side pops P(1) (and P(2)) */
		void *out[2];
		if (how == BY_ONE)
			moved = spsc ? weft_ring_spsc_pop(&r, out) : weft_ring_pop(&r, out);
		else if (how == BY_N)
			moved = spsc ? weft_ring_spsc_pop_n(&r, out, 2) : weft_ring_pop_n(&r, out, 2);
		else
			moved = (spsc ? weft_ring_spsc_pop_bulk(&r, out, 2)
				      : weft_ring_pop_bulk(&r, out, 2)) == 0;
		cr_assert_eq(out[0], P(1));
	}
	cr_assert(moved);
	pthread_join(t, NULL);
	cr_assert_eq(s.rc, 0, "rc %d", s.rc);
	cr_assert_lt(s.waited_ns, SLEEPER_TIMEOUT_NS / 2, "the waiter was not woken");
	if (pop) {
		cr_assert_eq(s.item, P(1));
	} else { /* P(3) is last, behind whatever the waker left */
		void *last = NULL;
		while (spsc ? weft_ring_spsc_pop(&r, &v) : weft_ring_pop(&r, &v))
			last = v;
		cr_assert_eq(last, P(3));
	}
	weft_ring_destroy(&r);
}

Test(ring, pop_wait_woken_by_push) { woken_by(false, true, BY_ONE); }
Test(ring, pop_wait_woken_by_push_n) { woken_by(false, true, BY_N); }
Test(ring, pop_wait_woken_by_push_bulk) { woken_by(false, true, BY_BULK); }
Test(ring, push_wait_woken_by_pop) { woken_by(false, false, BY_ONE); }
Test(ring, push_wait_woken_by_pop_n) { woken_by(false, false, BY_N); }
Test(ring, push_wait_woken_by_pop_bulk) { woken_by(false, false, BY_BULK); }
Test(ring, spsc_pop_wait_woken_by_push) { woken_by(true, true, BY_ONE); }
Test(ring, spsc_pop_wait_woken_by_push_n) { woken_by(true, true, BY_N); }
Test(ring, spsc_pop_wait_woken_by_push_bulk) { woken_by(true, true, BY_BULK); }
Test(ring, spsc_push_wait_woken_by_pop) { woken_by(true, false, BY_ONE); }
Test(ring, spsc_push_wait_woken_by_pop_n) { woken_by(true, false, BY_N); }
Test(ring, spsc_push_wait_woken_by_pop_bulk) { woken_by(true, false, BY_BULK); }
