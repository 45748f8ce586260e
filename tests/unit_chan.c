/* tests/unit_chan.c - weft_chan semantics: every error code, disconnection
 * both ways, rendezvous, timeouts, select. Each flavour where it applies. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "test_util.h"
#include "internal/chan.h"
#include "weft/chan.h"

TestSuite(chan, .timeout = WEFT_UNIT_TIMEOUT_S);

static const size_t caps[] = { WEFT_CHAN_UNBOUNDED, 1, 4, 0 };
#define NCAPS (sizeof caps / sizeof caps[0])

static weft_chan *make(size_t elem, size_t cap)
{
	weft_chan *ch = NULL;
	cr_assert_eq(weft_chan_create(&ch, elem, cap), 0);
	cr_assert_not_null(ch);
	return ch;
}

static void drop_both(weft_chan *ch)
{
	weft_chan_sender_drop(ch);
	weft_chan_receiver_drop(ch);
}

Test(chan, create_rejects_bad_input)
{
	weft_chan *ch = NULL;
	cr_assert_eq(weft_chan_create(NULL, 8, 4), EINVAL);
	cr_assert_eq(weft_chan_create(&ch, WEFT_CHAN_ELEM_MAX + 1, 4), EINVAL);
	cr_assert_eq(weft_chan_create(&ch, 8, WEFT_CHAN_CAPACITY_MAX + 1), EINVAL);
	cr_assert_null(ch);
	cr_assert_eq(weft_chan_create(&ch, WEFT_CHAN_ELEM_MAX, 2), 0);
	cr_assert_eq(weft_chan_capacity(ch), 2);
	drop_both(ch);
}

Test(chan, null_channel_and_null_buffers_are_einval)
{
	uint64_t v = 1;
	weft_chan_op op = { NULL, WEFT_CHAN_SEND, &v, 0 };
	cr_assert_eq(weft_chan_send(NULL, &v), EINVAL);
	cr_assert_eq(weft_chan_recv(NULL, &v), EINVAL);
	cr_assert_eq(weft_chan_try_send(NULL, &v), EINVAL);
	cr_assert_eq(weft_chan_try_recv(NULL, &v), EINVAL);
	cr_assert_eq(weft_chan_send_timeout(NULL, &v, 1), EINVAL);
	cr_assert_eq(weft_chan_recv_timeout(NULL, &v, 1), EINVAL);
	cr_assert_eq(weft_chan_select(&op, 1, 0), -EINVAL);
	cr_assert_eq(weft_chan_select(NULL, 1, 0), -EINVAL);
	cr_assert_eq(weft_chan_len(NULL), 0);
	cr_assert_eq(weft_chan_capacity(NULL), 0);
	weft_chan_close(NULL);
	weft_chan_sender_drop(NULL);
	for (size_t c = 0; c < NCAPS; c++) {
		weft_chan *ch = make(8, caps[c]);
		cr_assert_eq(weft_chan_send(ch, NULL), EINVAL);
		cr_assert_eq(weft_chan_try_send(ch, NULL), EINVAL);
		cr_assert_eq(weft_chan_recv(ch, NULL), EINVAL);
		cr_assert_eq(weft_chan_recv_timeout(ch, NULL, 1000), EINVAL);
		op.ch = ch;
		op.buf = NULL;
		cr_assert_eq(weft_chan_select(&op, 1, 0), -EINVAL);
		op.buf = &v;
		op.kind = 7;
		cr_assert_eq(weft_chan_select(&op, 1, 0), -EINVAL);
		op.kind = WEFT_CHAN_SEND;
		cr_assert_eq(weft_chan_select(&op, 0, 0), -EINVAL);
		cr_assert_eq(weft_chan_len(ch), 0, "NULL send consumed a slot");
		drop_both(ch);
	}
}

Test(chan, fifo_len_and_eagain_on_queued_flavours)
{
	for (size_t c = 0; c < 3; c++) {
		weft_chan *ch = make(sizeof(uint64_t), caps[c]);
		size_t n = caps[c] == WEFT_CHAN_UNBOUNDED ? 1000 : caps[c];
		for (uint64_t i = 0; i < n; i++)
			cr_assert_eq(weft_chan_try_send(ch, &i), 0);
		cr_assert_eq(weft_chan_len(ch), n);
		if (caps[c] != WEFT_CHAN_UNBOUNDED) {
			uint64_t x = 99;
			cr_assert_eq(weft_chan_try_send(ch, &x), EAGAIN, "full");
			cr_assert_eq(weft_chan_send_timeout(ch, &x, 0), ETIMEDOUT);
		}
		for (uint64_t i = 0; i < n; i++) {
			uint64_t got = ~0ull;
			cr_assert_eq(weft_chan_try_recv(ch, &got), 0);
			cr_assert_eq(got, i, "FIFO order");
		}
		uint64_t got;
		cr_assert_eq(weft_chan_try_recv(ch, &got), EAGAIN);
		cr_assert_eq(weft_chan_recv_timeout(ch, &got, 0), ETIMEDOUT);
		cr_assert_eq(weft_chan_len(ch), 0);
		drop_both(ch);
	}
}

Test(chan, ring_wraps_many_laps)
{
	weft_chan *ch = make(sizeof(uint32_t), 3);
	for (uint32_t i = 0; i < 1000; i++) {
		cr_assert_eq(weft_chan_try_send(ch, &i), 0);
		if (i % 2) {
			uint32_t a, b;
			cr_assert_eq(weft_chan_try_recv(ch, &a), 0);
			cr_assert_eq(weft_chan_try_recv(ch, &b), 0);
			cr_assert_eq(a + 1, b);
			cr_assert_eq(b, i);
		}
	}
	drop_both(ch);
}

Test(chan, elem_size_zero_is_a_signal)
{
	for (size_t c = 0; c < 3; c++) {
		weft_chan *ch = make(0, caps[c]);
		cr_assert_eq(weft_chan_try_send(ch, NULL), 0);
		cr_assert_eq(weft_chan_len(ch), 1);
		cr_assert_eq(weft_chan_try_recv(ch, NULL), 0);
		cr_assert_eq(weft_chan_try_recv(ch, NULL), EAGAIN);
		drop_both(ch);
	}
}

Test(chan, rendezvous_try_needs_a_waiting_counterpart)
{
	weft_chan *ch = make(8, 0);
	uint64_t v = 5;
	cr_assert_eq(weft_chan_try_send(ch, &v), EAGAIN);
	cr_assert_eq(weft_chan_try_recv(ch, &v), EAGAIN);
	cr_assert_eq(weft_chan_len(ch), 0);
	cr_assert_eq(weft_chan_capacity(ch), 0);
	drop_both(ch);
}

/* ------------------------------------------------------------ disconnect */

static _Atomic int dropped;
static _Atomic uint64_t dropped_sum;
static void count_drop(void *elem)
{
	atomic_fetch_add(&dropped, 1);
	atomic_fetch_add(&dropped_sum, *(uint64_t *)elem);
}

/* Queued flavours with room for 4 elements. */
static const size_t roomy[] = { WEFT_CHAN_UNBOUNDED, 4, 5 };

Test(chan, last_sender_drop_lets_receivers_drain_then_epipe)
{
	for (size_t c = 0; c < 3; c++) {
		weft_chan *ch = make(8, roomy[c]);
		weft_chan_sender_clone(ch);
		for (uint64_t i = 1; i <= 3; i++)
			cr_assert_eq(weft_chan_send(ch, &i), 0);
		weft_chan_sender_drop(ch);
		uint64_t v = 9;
		cr_assert_eq(weft_chan_try_send(ch, &v), 0, "one sender is left");
		weft_chan_sender_drop(ch);
		for (uint64_t i = 1; i <= 4; i++) {
			uint64_t got;
			cr_assert_eq(weft_chan_recv(ch, &got), 0, "drain");
			cr_assert_eq(got, i == 4 ? 9 : i);
		}
		uint64_t got;
		cr_assert_eq(weft_chan_recv(ch, &got), EPIPE);
		cr_assert_eq(weft_chan_try_recv(ch, &got), EPIPE);
		cr_assert_eq(weft_chan_recv_timeout(ch, &got, 1000), EPIPE);
		weft_chan_receiver_drop(ch);
	}
}

Test(chan, last_receiver_drop_fails_sends_and_drops_queued_elements)
{
	for (size_t c = 0; c < 3; c++) {
		atomic_store(&dropped, 0);
		atomic_store(&dropped_sum, 0);
		weft_chan *ch = make(8, roomy[c]);
		weft_chan_set_drop_fn(ch, count_drop);
		for (uint64_t i = 1; i <= 3; i++)
			cr_assert_eq(weft_chan_send(ch, &i), 0);
		weft_chan_receiver_drop(ch);
		uint64_t v = 100;
		cr_assert_eq(weft_chan_send(ch, &v), EPIPE);
		cr_assert_eq(weft_chan_try_send(ch, &v), EPIPE);
		cr_assert_eq(weft_chan_send_timeout(ch, &v, 1000), EPIPE);
		cr_assert_eq(atomic_load(&dropped), 0, "dropped before the free");
		weft_chan_sender_drop(ch); /* frees: the three queued are dropped */
		cr_assert_eq(atomic_load(&dropped), 3);
		cr_assert_eq(atomic_load(&dropped_sum), 6);
	}
}

Test(chan, unbounded_free_drops_elements_across_many_blocks)
{
	atomic_store(&dropped, 0);
	atomic_store(&dropped_sum, 0);
	weft_chan *ch = make(8, WEFT_CHAN_UNBOUNDED);
	weft_chan_set_drop_fn(ch, count_drop);
	uint64_t sum = 0;
	for (uint64_t i = 0; i < 1000; i++) {
		cr_assert_eq(weft_chan_send(ch, &i), 0);
		sum += i;
	}
	for (uint64_t i = 0; i < 300; i++) {
		uint64_t got;
		cr_assert_eq(weft_chan_recv(ch, &got), 0);
		sum -= got;
	}
	cr_assert_eq(weft_chan_len(ch), 700);
	drop_both(ch);
	cr_assert_eq(atomic_load(&dropped), 700);
	cr_assert_eq(atomic_load(&dropped_sum), sum);
}

/* A receiver held between claiming its slot and copying out (tests/hook). */
typedef struct held_recv {
	weft_chan *ch;
	_Atomic int stage; /* 1: holding, 2: may go on */
	uint64_t got;
	int rc;
} held_recv;

static void hold_until_released(void *p)
{
	held_recv *h = p;
	atomic_store(&h->stage, 1);
	while (atomic_load(&h->stage) != 2)
		sched_yield();
}

static void *held_recv_main(void *p)
{
	held_recv *h = p;
	h->rc = weft__chan_recv_held(h->ch, &h->got, hold_until_released, h);
	return NULL;
}

static void send_recv_range(weft_chan *ch, uint64_t from, uint64_t n)
{
	for (uint64_t i = from; i < from + n; i++)
		cr_assert_eq(weft_chan_send(ch, &i), 0);
	for (uint64_t i = from; i < from + n; i++) {
		uint64_t got = 0;
		cr_assert_eq(weft_chan_recv(ch, &got), 0);
		cr_assert_eq(got, i);
	}
}

enum { BLOCK = WEFT__CHAN_LIST_LAP - 1 }; /* slots per unbounded block (lib/chan.c) */

/*
 * Queue `queued` elements 0.. (at least a block), start a receiver that
 * claims slot 0 and holds, then receive slots 1..62 here: the receive of
 * slot 62 retires the block while slot 0 is still being copied out.
 */
static void retire_block_under_held_receiver(weft_chan *ch, uint64_t queued,
					     held_recv *h, pthread_t *t)
{
	for (uint64_t i = 0; i < queued; i++)
		cr_assert_eq(weft_chan_send(ch, &i), 0);
	*h = (held_recv){ .ch = ch, .rc = -1 };
	cr_assert_eq(pthread_create(t, NULL, held_recv_main, h), 0);
	while (atomic_load(&h->stage) != 1)
		sched_yield();
	for (uint64_t i = 1; i < BLOCK; i++) {
		uint64_t got = 0;
		cr_assert_eq(weft_chan_recv(ch, &got), 0);
		cr_assert_eq(got, i);
	}
	cr_assert_eq(weft__chan_retired_blocks(ch), 1);
}

/*
 * The receiver of a block's last slot retires the block while another
 * receiver has claimed a slot in it and not yet copied out: the block must
 * wait (retired list) instead of being reused, so the held receiver still
 * gets its element; a later retirement recycles it once read.
 */
Test(chan, unbounded_block_with_a_receiver_mid_copy_is_not_reused)
{
	weft_chan *ch = make(8, WEFT_CHAN_UNBOUNDED);
	held_recv h;
	pthread_t t;
	retire_block_under_held_receiver(ch, BLOCK, &h, &t);
	/* Several blocks more (beyond the spares): each retirement finds the
	 * held block still unread and leaves it alone. */
	send_recv_range(ch, BLOCK, 6 * BLOCK);
	cr_assert_eq(weft__chan_retired_blocks(ch), 1);
	atomic_store(&h.stage, 2);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(h.rc, 0);
	cr_assert_eq(h.got, 0, "the held receiver's element was overwritten: %llu",
		     (unsigned long long)h.got);
	/* The next retirement recycles it. */
	send_recv_range(ch, 7 * BLOCK, BLOCK);
	cr_assert_eq(weft__chan_retired_blocks(ch), 0);
	uint64_t v = 0;
	cr_assert_eq(weft__chan_recv_held(ch, &v, hold_until_released, &h), EAGAIN);
	drop_both(ch);
}

/* A block still held at the last drop is freed with the channel (ASan). */
Test(chan, unbounded_free_releases_retired_blocks)
{
	weft_chan *ch = make(8, WEFT_CHAN_UNBOUNDED);
	held_recv h;
	pthread_t t;
	retire_block_under_held_receiver(ch, BLOCK + 1, &h, &t);
	atomic_store(&h.stage, 2);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(h.got, 0);
	cr_assert_eq(weft__chan_retired_blocks(ch), 1, "recycled before a retirement swept it");
	drop_both(ch); /* one element queued, one block retired: all freed */
	cr_assert_eq(weft__chan_recv_held(NULL, &h.got, hold_until_released, &h), EINVAL);
}

Test(chan, close_fails_sends_at_once_and_receivers_drain)
{
	for (size_t c = 0; c < NCAPS; c++) {
		weft_chan *ch = make(8, caps[c]);
		uint64_t v = 7, got = 0;
		if (caps[c] != 0)
			cr_assert_eq(weft_chan_send(ch, &v), 0);
		weft_chan_close(ch);
		weft_chan_close(ch); /* idempotent */
		cr_assert_eq(weft_chan_send(ch, &v), EPIPE);
		if (caps[c] != 0) {
			cr_assert_eq(weft_chan_recv(ch, &got), 0);
			cr_assert_eq(got, 7);
		}
		cr_assert_eq(weft_chan_recv(ch, &got), EPIPE);
		drop_both(ch);
	}
}

typedef struct blocked {
	weft_chan *ch;
	int kind;
	uint64_t val;
	int rc;
	_Atomic pid_t tid;
	_Atomic bool done;
} blocked;

static void *blocked_main(void *p)
{
	blocked *b = p;
	atomic_store(&b->tid, (pid_t)syscall(SYS_gettid));
	b->rc = b->kind == WEFT_CHAN_SEND ? weft_chan_send(b->ch, &b->val)
					  : weft_chan_recv(b->ch, &b->val);
	atomic_store(&b->done, true);
	return NULL;
}

/* Start a thread blocking in send/recv and wait until it sleeps. */
static void start_blocked(blocked *b, pthread_t *t)
{
	cr_assert_eq(pthread_create(t, NULL, blocked_main, b), 0);
	weft_test_await_sleeping(&b->tid);
}

Test(chan, close_wakes_blocked_receivers_and_senders)
{
	for (size_t c = 0; c < NCAPS; c++) {
		weft_chan *ch = make(8, caps[c]);
		blocked r = { .ch = ch, .kind = WEFT_CHAN_RECV, .rc = -1 };
		pthread_t tr;
		start_blocked(&r, &tr);
		blocked s = { .ch = ch, .kind = WEFT_CHAN_SEND, .rc = -1, .val = 1 };
		pthread_t ts;
		bool sender_blocks = caps[c] == 1;
		if (sender_blocks) { /* fill it, then block a sender */
			cr_assert_eq(weft_chan_send(ch, &s.val), 0);
			pthread_join(tr, NULL); /* the receiver took it */
			cr_assert_eq(r.rc, 0);
			cr_assert_eq(weft_chan_send(ch, &s.val), 0);
			start_blocked(&s, &ts);
		}
		cr_assert_not(atomic_load(&s.done));
		weft_chan_close(ch);
		if (sender_blocks) {
			pthread_join(ts, NULL);
			cr_assert_eq(s.rc, EPIPE);
		} else {
			pthread_join(tr, NULL);
			cr_assert_eq(r.rc, EPIPE);
		}
		drop_both(ch);
	}
}

Test(chan, receiver_drop_wakes_a_blocked_sender)
{
	weft_chan *ch = make(8, 1);
	uint64_t v = 1;
	cr_assert_eq(weft_chan_send(ch, &v), 0);
	blocked s = { .ch = ch, .kind = WEFT_CHAN_SEND, .rc = -1, .val = 2 };
	pthread_t ts;
	start_blocked(&s, &ts);
	weft_chan_receiver_drop(ch);
	pthread_join(ts, NULL);
	cr_assert_eq(s.rc, EPIPE);
	weft_chan_sender_drop(ch);
}

/* ------------------------------------------------------------- blocking */

Test(chan, blocked_receiver_is_woken_by_a_send)
{
	for (size_t c = 0; c < NCAPS; c++) {
		weft_chan *ch = make(8, caps[c]);
		blocked r = { .ch = ch, .kind = WEFT_CHAN_RECV, .rc = -1 };
		pthread_t tr;
		start_blocked(&r, &tr);
		uint64_t v = 42;
		cr_assert_eq(weft_chan_send(ch, &v), 0);
		pthread_join(tr, NULL);
		cr_assert_eq(r.rc, 0);
		cr_assert_eq(r.val, 42);
		drop_both(ch);
	}
}

Test(chan, rendezvous_send_waits_for_a_receiver)
{
	weft_chan *ch = make(8, 0);
	blocked s = { .ch = ch, .kind = WEFT_CHAN_SEND, .rc = -1, .val = 77 };
	pthread_t ts;
	start_blocked(&s, &ts);
	cr_assert(weft_test_thread_sleeping(atomic_load(&s.tid)), "sender did not block");
	cr_assert_not(atomic_load(&s.done), "rendezvous send returned with no receiver");
	cr_assert_eq(weft_chan_len(ch), 0);
	uint64_t got = 0;
	cr_assert_eq(weft_chan_try_recv(ch, &got), 0, "a sender is waiting");
	cr_assert_eq(got, 77);
	pthread_join(ts, NULL);
	cr_assert_eq(s.rc, 0);
	cr_assert_eq(weft_chan_try_recv(ch, &got), EAGAIN);
	drop_both(ch);
}

Test(chan, bounded_send_blocks_when_full_until_a_recv)
{
	weft_chan *ch = make(8, 2);
	uint64_t v = 1;
	cr_assert_eq(weft_chan_send(ch, &v), 0);
	cr_assert_eq(weft_chan_send(ch, &v), 0);
	blocked s = { .ch = ch, .kind = WEFT_CHAN_SEND, .rc = -1, .val = 3 };
	pthread_t ts;
	start_blocked(&s, &ts);
	cr_assert_not(atomic_load(&s.done));
	uint64_t got;
	cr_assert_eq(weft_chan_recv(ch, &got), 0);
	pthread_join(ts, NULL);
	cr_assert_eq(s.rc, 0);
	cr_assert_eq(weft_chan_len(ch), 2);
	drop_both(ch);
}

/*
 * Room waits (lib/chan.c): a sender woken for the first freed slot of a
 * bounded channel still more than half full waits for more room. The wait
 * must end when the receiver stops after one receive (bounded), when the
 * receivers free half the channel (no lost wake-up: with the bound
 * stretched to an hour, only their wake-up can end it), and on close.
 */
#define ROOM_CAP 64

/* A full bounded(ROOM_CAP) channel and a sender asleep in send on it. */
static weft_chan *room_setup(blocked *s, pthread_t *t)
{
	weft_chan *ch = make(8, ROOM_CAP);
	for (uint64_t v = 0; v < ROOM_CAP; v++)
		cr_assert_eq(weft_chan_try_send(ch, &v), 0);
	*s = (blocked){ .ch = ch, .kind = WEFT_CHAN_SEND, .rc = -1, .val = ROOM_CAP };
	start_blocked(s, t);
	cr_assert(weft_test_thread_sleeping(atomic_load(&s->tid)), "sender did not block");
	return ch;
}

/* Receive one element (value `want`): wakes the sender into its room wait. */
static void room_take(weft_chan *ch, uint64_t want)
{
	uint64_t got = ~(uint64_t)0;
	cr_assert_eq(weft_chan_recv(ch, &got), 0);
	cr_assert_eq(got, want);
}

/* Wait until the sender sleeps in its room wait. */
static void room_wait_entered(weft_chan *ch, blocked *s)
{
	while (weft__chan_room_waits(ch) == 0)
		sched_yield();
	weft_test_await_sleeping(&s->tid);
}

Test(chan, room_wait_is_bounded_when_the_receiver_stops)
{
	blocked s;
	pthread_t ts;
	weft_chan *ch = room_setup(&s, &ts);
	room_take(ch, 0);
	/* We receive nothing more: only the bound can end the room wait. */
	pthread_join(ts, NULL);
	cr_assert_eq(s.rc, 0);
	cr_assert_eq(weft__chan_room_waits(ch), 1, "the woken sender did not wait for room");
	cr_assert_eq(weft_chan_len(ch), ROOM_CAP);
	drop_both(ch);
}

/* A sender asleep in a room wait that only the receivers or a close can
 * end (the bound set to an hour; room_wait_unbounded_end restores it). */
static weft_chan *room_wait_unbounded(blocked *s, pthread_t *ts)
{
	atomic_store(&weft__chan_room_wait_max_ns, 3600 * 1000000000ull);
	weft_chan *ch = room_setup(s, ts);
	room_take(ch, 0);
	room_wait_entered(ch, s);
	return ch;
}

static void room_wait_unbounded_end(weft_chan *ch)
{
	drop_both(ch);
	atomic_store(&weft__chan_room_wait_max_ns, WEFT__CHAN_ROOM_WAIT_MAX_NS);
}

Test(chan, room_wait_ends_when_receivers_free_half)
{
	blocked s;
	pthread_t ts;
	weft_chan *ch = room_wait_unbounded(&s, &ts);
	for (uint64_t v = 1; v < ROOM_CAP / 2; v++) {
		cr_assert_not(atomic_load(&s.done), "sent with more than half full");
		room_take(ch, v);
	}
	/* Half free now: that receive ended the wait (else this hangs). */
	pthread_join(ts, NULL);
	cr_assert_eq(s.rc, 0);
	cr_assert_eq(weft_chan_len(ch), ROOM_CAP / 2 + 1);
	for (uint64_t v = ROOM_CAP / 2; v <= ROOM_CAP; v++)
		room_take(ch, v);
	cr_assert_eq(weft__chan_room_waits(ch), 1);
	room_wait_unbounded_end(ch);
}

Test(chan, close_ends_a_room_wait)
{
	blocked s;
	pthread_t ts;
	weft_chan *ch = room_wait_unbounded(&s, &ts);
	weft_chan_close(ch);
	pthread_join(ts, NULL);
	cr_assert_eq(s.rc, EPIPE);
	room_wait_unbounded_end(ch);
}

/* ------------------------------------------------------------- timeouts */

static void check_timeout(uint64_t t0, uint64_t timeout)
{
	uint64_t waited = weft_test_now_ns() - t0;
	cr_assert_geq(waited, timeout, "returned early: %llu ns", (unsigned long long)waited);
	cr_assert_lt(waited, timeout + WEFT_TEST_SLACK_NS, "overslept: %llu ns",
		     (unsigned long long)waited);
}

Test(chan, timeouts_fire_within_bounds_and_never_early)
{
	const uint64_t timeout = 20 * WEFT_MS;
	for (size_t c = 0; c < NCAPS; c++) {
		weft_chan *ch = make(8, caps[c]);
		uint64_t v = 1;
		uint64_t t0 = weft_test_now_ns();
		cr_assert_eq(weft_chan_recv_timeout(ch, &v, timeout), ETIMEDOUT);
		check_timeout(t0, timeout);
		if (caps[c] != WEFT_CHAN_UNBOUNDED) {
			for (size_t i = 0; i < caps[c]; i++)
				cr_assert_eq(weft_chan_send(ch, &v), 0);
			t0 = weft_test_now_ns();
			cr_assert_eq(weft_chan_send_timeout(ch, &v, timeout), ETIMEDOUT);
			check_timeout(t0, timeout);
			cr_assert_eq(weft_chan_len(ch), caps[c], "a timed-out send kept something");
		}
		weft_chan_op op = { ch, WEFT_CHAN_RECV, &v, -1 };
		if (caps[c] != 0 && caps[c] != WEFT_CHAN_UNBOUNDED)
			op.kind = WEFT_CHAN_SEND; /* full */
		t0 = weft_test_now_ns();
		cr_assert_eq(weft_chan_select(&op, 1, timeout), -ETIMEDOUT);
		check_timeout(t0, timeout);
		t0 = weft_test_now_ns();
		cr_assert_eq(weft_chan_select(&op, 1, 0), -ETIMEDOUT);
		cr_assert_lt(weft_test_now_ns() - t0, WEFT_TEST_SLACK_NS);
		drop_both(ch);
	}
}

static void on_usr1(int sig) { (void)sig; }

typedef struct interrupter {
	pthread_t target;
	_Atomic bool stop;
} interrupter;

static void *interrupt_main(void *p)
{
	interrupter *in = p;
	while (!atomic_load(&in->stop)) {
		pthread_kill(in->target, SIGUSR1);
		usleep(2000);
	}
	return NULL;
}

Test(chan, signals_neither_shorten_nor_stretch_a_timeout)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigaction(SIGUSR1, &sa, NULL);
	interrupter in = { .target = pthread_self() };
	pthread_t t;
	pthread_create(&t, NULL, interrupt_main, &in);
	weft_chan *ch = make(8, 0);
	const uint64_t timeout = 50 * WEFT_MS;
	uint64_t v, t0 = weft_test_now_ns();
	cr_assert_eq(weft_chan_recv_timeout(ch, &v, timeout), ETIMEDOUT);
	check_timeout(t0, timeout);
	atomic_store(&in.stop, true);
	pthread_join(t, NULL);
	drop_both(ch);
}

/* --------------------------------------------------------------- select */

Test(chan, select_completes_exactly_one_ready_op)
{
	weft_chan *a = make(8, 4), *b = make(8, WEFT_CHAN_UNBOUNDED), *z = make(8, 0);
	uint64_t va = 0, vb = 0, vz = 0, one = 1;
	cr_assert_eq(weft_chan_send(b, &one), 0);
	weft_chan_op ops[3] = {
		{ a, WEFT_CHAN_RECV, &va, -1 }, /* empty: not ready */
		{ b, WEFT_CHAN_RECV, &vb, -1 }, /* ready */
		{ z, WEFT_CHAN_RECV, &vz, -1 }, /* no sender waiting */
	};
	cr_assert_eq(weft_chan_select(ops, 3, 0), 1);
	cr_assert_eq(ops[1].result, 0);
	cr_assert_eq(vb, 1);
	cr_assert_eq(weft_chan_len(b), 0);
	cr_assert_eq(weft_chan_select(ops, 3, 0), -ETIMEDOUT, "nothing ready now");
	/* Two ready: exactly one completes each time. */
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(weft_chan_send(a, &one), 0);
		cr_assert_eq(weft_chan_send(b, &one), 0);
		int r = weft_chan_select(ops, 3, 0);
		cr_assert(r == 0 || r == 1);
		cr_assert_eq(weft_chan_len(a) + weft_chan_len(b), 1);
		cr_assert_eq(weft_chan_select(ops, 3, 0), 1 - r);
	}
	drop_both(a);
	drop_both(b);
	drop_both(z);
}

Test(chan, select_is_fair_among_ready_ops)
{
	weft_chan *ch[4];
	weft_chan_op ops[4];
	uint64_t v[4], one = 1;
	for (int i = 0; i < 4; i++) {
		ch[i] = make(8, WEFT_CHAN_UNBOUNDED);
		ops[i] = (weft_chan_op){ ch[i], WEFT_CHAN_RECV, &v[i], -1 };
	}
	int hits[4] = { 0 };
	for (int n = 0; n < 4000; n++) {
		for (int i = 0; i < 4; i++)
			if (weft_chan_len(ch[i]) == 0)
				weft_chan_send(ch[i], &one);
		int r = weft_chan_select(ops, 4, 0);
		cr_assert(r >= 0 && r < 4);
		hits[r]++;
	}
	for (int i = 0; i < 4; i++)
		cr_assert_gt(hits[i], 600, "op %d chosen %d of 4000 times", i, hits[i]);
	for (int i = 0; i < 4; i++)
		drop_both(ch[i]);
}

Test(chan, select_counts_a_disconnected_op_as_ready)
{
	weft_chan *a = make(8, 4), *b = make(8, 4);
	uint64_t va, vb;
	weft_chan_close(b);
	weft_chan_op ops[2] = { { a, WEFT_CHAN_RECV, &va, -1 }, { b, WEFT_CHAN_RECV, &vb, -1 } };
	cr_assert_eq(weft_chan_select(ops, 2, WEFT_TIMEOUT_NEVER), 1);
	cr_assert_eq(ops[1].result, EPIPE);
	drop_both(a);
	drop_both(b);
}

typedef struct select_arg {
	weft_chan_op *ops;
	size_t n;
	int result;
	_Atomic pid_t tid;
} select_arg;

static void *select_main(void *p)
{
	select_arg *s = p;
	atomic_store(&s->tid, (pid_t)syscall(SYS_gettid));
	s->result = weft_chan_select(s->ops, s->n, 10ull * 1000 * WEFT_MS);
	return NULL;
}

static void start_select(select_arg *s, pthread_t *t)
{
	cr_assert_eq(pthread_create(t, NULL, select_main, s), 0);
	weft_test_await_sleeping(&s->tid);
}

Test(chan, blocked_select_is_woken_by_a_send_on_any_channel)
{
	for (size_t c = 0; c < NCAPS; c++) {
		for (int which = 0; which < 3; which++) {
			weft_chan *ch[3];
			weft_chan_op ops[3];
			uint64_t v[3] = { 0, 0, 0 };
			for (int i = 0; i < 3; i++) {
				ch[i] = make(8, caps[c]);
				ops[i] = (weft_chan_op){ ch[i], WEFT_CHAN_RECV, &v[i], -1 };
			}
			select_arg s = { ops, 3, -100, 0 };
			pthread_t t;
			start_select(&s, &t);
			uint64_t val = 500 + which;
			cr_assert_eq(weft_chan_send(ch[which], &val), 0);
			pthread_join(t, NULL);
			cr_assert_eq(s.result, which, "cap %zu: select returned %d", caps[c], s.result);
			cr_assert_eq(ops[which].result, 0);
			cr_assert_eq(v[which], val);
			for (int i = 0; i < 3; i++) {
				cr_assert_eq(weft_chan_len(ch[i]), 0);
				drop_both(ch[i]);
			}
		}
	}
}

Test(chan, blocked_select_send_on_rendezvous_hands_over)
{
	weft_chan *a = make(8, 0), *b = make(8, 0);
	uint64_t va = 11, vb = 22;
	weft_chan_op ops[2] = { { a, WEFT_CHAN_SEND, &va, -1 }, { b, WEFT_CHAN_SEND, &vb, -1 } };
	select_arg s = { ops, 2, -100, 0 };
	pthread_t t;
	start_select(&s, &t);
	uint64_t got = 0;
	cr_assert_eq(weft_chan_recv(b, &got), 0);
	pthread_join(t, NULL);
	cr_assert_eq(s.result, 1);
	cr_assert_eq(got, 22);
	cr_assert_eq(weft_chan_try_recv(a, &got), EAGAIN, "both sends completed");
	drop_both(a);
	drop_both(b);
}

#ifdef WEFT_DEBUG
Test(chan, debug_send_after_last_sender_drop_aborts, .signal = SIGABRT)
{
	weft_chan *ch = make(8, 4);
	weft_chan_sender_drop(ch);
	uint64_t v = 1;
	weft_chan_send(ch, &v);
}

Test(chan, debug_receiver_clone_after_last_drop_aborts, .signal = SIGABRT)
{
	weft_chan *ch = make(8, 4);
	weft_chan_receiver_drop(ch);
	weft_chan_receiver_clone(ch);
}
#endif
