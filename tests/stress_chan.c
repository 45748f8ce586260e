/*
 * tests/stress_chan.c - weft_chan with P senders x C receivers on each
 * flavour (unbounded, bounded(16), rendezvous).
 *
 * chan_<flavour>/PxC: every element is tagged (sender, seq) and carries a
 * check word; senders mix send, try_send and send_timeout, receivers mix
 * recv, recv_timeout and select. Invariants (tests/delivery.h): every
 * element arrives exactly once, each receiver sees each sender's elements
 * in order, none is corrupt; the senders' last drop ends every receiver
 * with EPIPE (no receiver left blocked).
 *
 * chan_select_bounded/Px1: see there (a select receiver over P bounded
 * channels, senders waiting for room).
 *
 * chan_close_<flavour>/PxC: receiver 0 closes the channel half-way through;
 * senders stop at their first EPIPE; receivers stop too (dropping their
 * references), leaving elements queued for the drop function. The sum of
 * the values sent successfully equals the sum received plus the sum the
 * drop function saw, and each successfully sent element was received or
 * dropped exactly once (received ones in order).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "delivery.h"
#include "stress.h"
#include "weft/chan.h"

typedef struct item {
	uint64_t tag;	/* sender << 40 | seq */
	uint64_t check; /* ~tag */
} item;

#define TAG_SHIFT 40

typedef struct chan_test {
	weft_chan *ch;
	unsigned producers, consumers;
	uint64_t per_producer;
	weft_delivery d;
	/* close variant */
	bool close_mid;
	uint64_t close_after; /* receiver 0 closes after this many */
	uint64_t *sent_ok;    /* per sender, elements sent successfully */
	_Atomic uint64_t sent_sum, recv_sum, errors;
	_Atomic bool closed;
} chan_test;

/* The case running now (cases run one at a time), for the drop function. */
static chan_test *current;
static _Atomic uint64_t drop_sum;

static void sum_drop(void *elem)
{
	const item *it = elem;
	uint64_t next[WEFT_DELIVERY_MAX_PRODUCERS] = { 0 };
	if (it->check != ~it->tag)
		weft_delivery_bad(&current->d);
	weft_delivery_record(&current->d, next, (unsigned)(it->tag >> TAG_SHIFT),
			     it->tag & (((uint64_t)1 << TAG_SHIFT) - 1));
	atomic_fetch_add_explicit(&drop_sum, it->tag, memory_order_relaxed);
}

static int send_one(chan_test *t, item *it, uint64_t i)
{
	switch (i % 4) {
	case 0: {
		int rc;
		while ((rc = weft_chan_try_send(t->ch, it)) == EAGAIN)
			if ((rc = weft_chan_send_timeout(t->ch, it, 1000000)) != ETIMEDOUT)
				break;
		return rc;
	}
	case 1: {
		int rc;
		/* Short timeouts: races between timing out and being claimed. */
		while ((rc = weft_chan_send_timeout(t->ch, it, 20000)) == ETIMEDOUT)
			;
		return rc;
	}
	default:
		return weft_chan_send(t->ch, it);
	}
}

static int recv_one(chan_test *t, item *it, uint64_t i)
{
	switch (i % 4) {
	case 0: {
		int rc;
		while ((rc = weft_chan_recv_timeout(t->ch, it, 20000)) == ETIMEDOUT)
			;
		return rc;
	}
	case 1: {
		weft_chan_op op = { t->ch, WEFT_CHAN_RECV, it, -1 };
		int r;
		while ((r = weft_chan_select(&op, 1, 50000)) == -ETIMEDOUT)
			;
		return r == 0 ? op.result : EINVAL;
	}
	default:
		return weft_chan_recv(t->ch, it);
	}
}

static void producer(unsigned id, chan_test *t)
{
	uint64_t sum = 0, i;
	for (i = 0; i < t->per_producer; i++) {
		item it = { .tag = (uint64_t)id << TAG_SHIFT | i };
		it.check = ~it.tag;
		int rc = send_one(t, &it, i);
		if (rc == EPIPE && t->close_mid)
			break;
		if (rc != 0) {
			atomic_fetch_add(&t->errors, 1);
			break;
		}
		sum += it.tag;
	}
	t->sent_ok[id] = i;
	atomic_fetch_add(&t->sent_sum, sum);
	weft_chan_sender_drop(t->ch);
}

static void consumer(unsigned id, chan_test *t)
{
	uint64_t next[WEFT_DELIVERY_MAX_PRODUCERS] = { 0 }, sum = 0;
	for (uint64_t i = 0;; i++) {
		item it;
		int rc = recv_one(t, &it, i + id);
		if (rc == EPIPE)
			break;
		if (rc != 0 || it.check != ~it.tag) {
			weft_delivery_bad(&t->d);
			continue;
		}
		sum += it.tag;
		weft_delivery_record(&t->d, next, (unsigned)(it.tag >> TAG_SHIFT),
				     it.tag & (((uint64_t)1 << TAG_SHIFT) - 1));
		if (t->close_mid && id == 0 && i + 1 == t->close_after) {
			weft_chan_close(t->ch);
			atomic_store(&t->closed, true);
		}
		if (atomic_load_explicit(&t->closed, memory_order_relaxed))
			break; /* leave the rest to the drop function */
	}
	atomic_fetch_add(&t->recv_sum, sum);
	weft_chan_receiver_drop(t->ch);
}

static void worker(unsigned i, void *arg)
{
	chan_test *t = arg;
	if (i < t->producers)
		producer(i, t);
	else
		consumer(i - t->producers, t);
}

static void run(const weft_stress_case *c, weft_stress_result *r, size_t cap,
		bool close_mid)
{
	chan_test t = { .producers = c->threads, .consumers = c->arg,
			.close_mid = close_mid };
	t.per_producer = weft_stress_ops(c) / t.producers;
	if (t.per_producer == 0)
		t.per_producer = 1;
	t.close_after = t.per_producer * t.producers / 2 / t.consumers + 1;
	t.sent_ok = calloc(t.producers, sizeof *t.sent_ok);
	if (weft_chan_create(&t.ch, sizeof(item), cap) != 0) {
		weft_stress_fail(r, "create failed");
		return;
	}
	atomic_store(&drop_sum, 0);
	current = &t;
	weft_chan_set_drop_fn(t.ch, sum_drop);
	/* One reference per thread; the creator's are handed to thread 0s. */
	for (unsigned i = 1; i < t.producers; i++)
		weft_chan_sender_clone(t.ch);
	for (unsigned i = 1; i < t.consumers; i++)
		weft_chan_receiver_clone(t.ch);
	weft_delivery_init(&t.d, t.producers, t.per_producer);
	weft_stress_run_threads(t.producers + t.consumers, worker, &t);
	/* The channel is freed now (last references dropped by the threads). */
	if (atomic_load(&t.errors))
		weft_stress_fail(r, "%llu sends failed", (unsigned long long)atomic_load(&t.errors));
	if (close_mid) {
		/* Only what was sent successfully must have arrived. */
		for (unsigned p = 0; p < t.producers; p++)
			for (uint64_t s = t.sent_ok[p]; s < t.per_producer; s++)
				atomic_store(&t.d.received[p][s], 1); /* never sent */
		uint64_t sent = atomic_load(&t.sent_sum), got = atomic_load(&t.recv_sum),
			 dropped = atomic_load(&drop_sum);
		if (sent != got + dropped)
			weft_stress_fail(r, "sum sent %llu != received %llu + dropped %llu",
					 (unsigned long long)sent, (unsigned long long)got,
					 (unsigned long long)dropped);
	}
	weft_delivery_check(&t.d, r);
	free(t.sent_ok);
}

static void chan_unbounded(const weft_stress_case *c, weft_stress_result *r)
{
	run(c, r, WEFT_CHAN_UNBOUNDED, false);
}

static void chan_bounded(const weft_stress_case *c, weft_stress_result *r)
{
	run(c, r, 16, false);
}

static void chan_rendezvous(const weft_stress_case *c, weft_stress_result *r)
{
	run(c, r, 0, false);
}

static void chan_close_unbounded(const weft_stress_case *c, weft_stress_result *r)
{
	run(c, r, WEFT_CHAN_UNBOUNDED, true);
}

static void chan_close_bounded(const weft_stress_case *c, weft_stress_result *r)
{
	run(c, r, 16, true);
}

static void chan_close_rendezvous(const weft_stress_case *c, weft_stress_result *r)
{
	run(c, r, 0, true);
}

/*
 * chan_select_bounded/Px1: P senders, each on its own bounded(c->arg)
 * channel, one receiver selecting over the P receive ops (the select4
 * benchmark's shape). The receiver is the slow side, so senders sleep on
 * full channels and, woken for one free slot, wait for room (lib/chan.c,
 * "Room waits"); every fourth select has a short timeout, so the receiver
 * also sleeps on empty channels. A sender's last drop ends its op (EPIPE,
 * once drained), the last one ends the receiver. Invariants as above.
 */
typedef struct select_test {
	weft_chan *ch[WEFT_CHAN_SELECT_MAX];
	unsigned producers;
	uint64_t per_producer;
	weft_delivery d;
	_Atomic uint64_t errors;
} select_test;

static void select_sender(unsigned id, select_test *t)
{
	for (uint64_t k = 0; k < t->per_producer; k++) {
		item it = { .tag = (uint64_t)id << TAG_SHIFT | k };
		it.check = ~it.tag;
		if (weft_chan_send(t->ch[id], &it) != 0)
			atomic_fetch_add(&t->errors, 1);
	}
	weft_chan_sender_drop(t->ch[id]);
}

static void select_receiver(select_test *t)
{
	uint64_t next[WEFT_DELIVERY_MAX_PRODUCERS] = { 0 };
	item its[WEFT_CHAN_SELECT_MAX];
	weft_chan_op ops[WEFT_CHAN_SELECT_MAX];
	unsigned from[WEFT_CHAN_SELECT_MAX], live = t->producers; /* op -> sender */
	for (unsigned p = 0; p < live; p++) {
		ops[p] = (weft_chan_op){ t->ch[p], WEFT_CHAN_RECV, &its[p], -1 };
		from[p] = p;
	}
	for (uint64_t k = 0; live; k++) {
		int r;
		while ((r = weft_chan_select(ops, live,
					     k % 4 ? WEFT_TIMEOUT_NEVER : 20000)) == -ETIMEDOUT)
			;
		if (r < 0) {
			weft_delivery_bad(&t->d);
			return;
		}
		if (ops[r].result == EPIPE) { /* drained and disconnected */
			live--;
			ops[r] = ops[live];
			from[r] = from[live];
			continue;
		}
		const item *it = ops[r].buf;
		if (ops[r].result != 0 || it->check != ~it->tag ||
		    it->tag >> TAG_SHIFT != from[r]) {
			weft_delivery_bad(&t->d);
			continue;
		}
		weft_delivery_record(&t->d, next, from[r],
				     it->tag & (((uint64_t)1 << TAG_SHIFT) - 1));
	}
}

static void select_worker(unsigned i, void *arg)
{
	select_test *t = arg;
	if (i < t->producers)
		select_sender(i, t);
	else
		select_receiver(t);
}

static void chan_select_bounded(const weft_stress_case *c, weft_stress_result *r)
{
	select_test t = { .producers = c->threads };
	t.per_producer = weft_stress_ops(c) / t.producers + 1;
	for (unsigned p = 0; p < t.producers; p++)
		if (weft_chan_create(&t.ch[p], sizeof(item), c->arg) != 0) {
			weft_stress_fail(r, "create failed");
			return;
		}
	weft_delivery_init(&t.d, t.producers, t.per_producer);
	weft_stress_run_threads(t.producers + 1, select_worker, &t);
	for (unsigned p = 0; p < t.producers; p++)
		weft_chan_receiver_drop(t.ch[p]);
	if (atomic_load(&t.errors))
		weft_stress_fail(r, "%llu sends failed", (unsigned long long)atomic_load(&t.errors));
	weft_delivery_check(&t.d, r);
}

/* base_ops: elements in total. Rendezvous hand-offs cost a wake-up each. */
WEFT_STRESS_CASE("chan_unbounded/1x1", chan_unbounded, 1, 1, 200000);
WEFT_STRESS_CASE("chan_unbounded/4x1", chan_unbounded, 4, 1, 200000);
WEFT_STRESS_CASE("chan_unbounded/4x4", chan_unbounded, 4, 4, 200000);
WEFT_STRESS_CASE("chan_unbounded/8x8", chan_unbounded, 8, 8, 200000);
WEFT_STRESS_CASE("chan_bounded/1x1", chan_bounded, 1, 1, 200000);
WEFT_STRESS_CASE("chan_bounded/4x1", chan_bounded, 4, 1, 200000);
WEFT_STRESS_CASE("chan_bounded/4x4", chan_bounded, 4, 4, 200000);
WEFT_STRESS_CASE("chan_bounded/8x8", chan_bounded, 8, 8, 200000);
WEFT_STRESS_CASE("chan_rendezvous/1x1", chan_rendezvous, 1, 1, 20000);
WEFT_STRESS_CASE("chan_rendezvous/4x1", chan_rendezvous, 4, 1, 20000);
WEFT_STRESS_CASE("chan_rendezvous/4x4", chan_rendezvous, 4, 4, 20000);
WEFT_STRESS_CASE("chan_rendezvous/8x8", chan_rendezvous, 8, 8, 20000);
WEFT_STRESS_CASE("chan_close_unbounded/4x4", chan_close_unbounded, 4, 4, 100000);
WEFT_STRESS_CASE("chan_close_bounded/4x4", chan_close_bounded, 4, 4, 100000);
WEFT_STRESS_CASE("chan_close_rendezvous/4x4", chan_close_rendezvous, 4, 4, 10000);
WEFT_STRESS_CASE("chan_select_bounded/4x1", chan_select_bounded, 4, 64, 200000);
WEFT_STRESS_CASE("chan_select_bounded/8x1", chan_select_bounded, 8, 16, 100000);
