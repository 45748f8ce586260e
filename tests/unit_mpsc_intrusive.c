/* tests/unit_mpsc_intrusive.c - weft_mpsc_intrusive: empty, order, NULL, the
 * stub re-insertion, node reuse, the preempted-producer window. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "weft/mpsc_intrusive.h"
#include "test_util.h"

TestSuite(mpsc_intrusive, .timeout = WEFT_UNIT_TIMEOUT_S);

typedef struct item {
	int value;
	weft_mpsc_node node;
} item;

static int pop_value(weft_mpsc_intrusive *q)
{
	weft_mpsc_node *n = weft_mpsc_intrusive_pop(q);
	return n ? WEFT_CONTAINER_OF(n, item, node)->value : -1;
}

Test(mpsc_intrusive, zero_is_empty_and_null_is_einval)
{
	weft_mpsc_intrusive q;
	memset(&q, 0, sizeof q);
	cr_assert_null(weft_mpsc_intrusive_pop(&q));
	cr_assert_eq(weft_mpsc_intrusive_push(&q, NULL), EINVAL);
	cr_assert_null(weft_mpsc_intrusive_pop(&q), "NULL push must not enqueue");
	memset(&q, 0xa5, sizeof q);
	weft_mpsc_intrusive_init(&q);
	cr_assert_null(weft_mpsc_intrusive_pop(&q));
}

Test(mpsc_intrusive, fifo_single_thread)
{
	weft_mpsc_intrusive q = { 0 };
	item it[100];
	for (int i = 0; i < 100; i++) {
		it[i].value = i;
		cr_assert_eq(weft_mpsc_intrusive_push(&q, &it[i].node), 0);
	}
	for (int i = 0; i < 100; i++)
		cr_assert_eq(pop_value(&q), i);
	cr_assert_null(weft_mpsc_intrusive_pop(&q));
}

/* Draining the last node re-pushes the stub; refilling goes through it. */
Test(mpsc_intrusive, stub_reinsertion_on_empty_and_refill)
{
	weft_mpsc_intrusive q = { 0 };
	item a = { .value = 1 }, b = { .value = 2 }, c = { .value = 3 };
	for (int round = 0; round < 3; round++) {
		cr_assert_eq(weft_mpsc_intrusive_push(&q, &a.node), 0);
		cr_assert_eq(pop_value(&q), 1);
		/* the stub is now the only node, at both ends */
		cr_assert_eq(q.head, &q.stub);
		cr_assert_eq(atomic_load(&q.tail), &q.stub);
		cr_assert_null(weft_mpsc_intrusive_pop(&q));
		cr_assert_eq(weft_mpsc_intrusive_push(&q, &b.node), 0);
		cr_assert_eq(weft_mpsc_intrusive_push(&q, &c.node), 0);
		cr_assert_eq(pop_value(&q), 2);
		cr_assert_eq(pop_value(&q), 3);
		cr_assert_null(weft_mpsc_intrusive_pop(&q));
	}
}

/* A popped node may be pushed again at once (and its struct rewritten). */
Test(mpsc_intrusive, node_reuse_after_pop)
{
	weft_mpsc_intrusive q = { 0 };
	item a = { .value = 1 }, b = { .value = 2 };
	cr_assert_eq(weft_mpsc_intrusive_push(&q, &a.node), 0);
	cr_assert_eq(weft_mpsc_intrusive_push(&q, &b.node), 0);
	cr_assert_eq(pop_value(&q), 1);
	a.value = 10;
	cr_assert_eq(weft_mpsc_intrusive_push(&q, &a.node), 0);
	cr_assert_eq(pop_value(&q), 2);
	b.value = 20;
	cr_assert_eq(weft_mpsc_intrusive_push(&q, &b.node), 0);
	cr_assert_eq(pop_value(&q), 10);
	cr_assert_eq(pop_value(&q), 20);
	cr_assert_null(weft_mpsc_intrusive_pop(&q));
}

/*
 * The window, reproduced by hand: a producer of c that exchanged the tail
 * but has not linked hides c and d (pushed after it) and also b, the node
 * before it, which cannot be taken before its successor is known.
 */
Test(mpsc_intrusive, preempted_producer_window)
{
	weft_mpsc_intrusive q = { 0 };
	item a = { .value = 1 }, b = { .value = 2 }, c = { .value = 3 },
	     d = { .value = 4 };
	cr_assert_eq(weft_mpsc_intrusive_push(&q, &a.node), 0);
	cr_assert_eq(weft_mpsc_intrusive_push(&q, &b.node), 0);
	/* first half of push(c) */
	atomic_store(&c.node.next, NULL);
	weft_mpsc_node *prev = atomic_exchange(&q.tail, &c.node);
	cr_assert_eq(prev, &b.node);
	cr_assert_eq(weft_mpsc_intrusive_push(&q, &d.node), 0);
	cr_assert_eq(pop_value(&q), 1);
	cr_assert_null(weft_mpsc_intrusive_pop(&q), "b waits for its successor");
	cr_assert_null(weft_mpsc_intrusive_pop(&q));
	/* second half of push(c) */
	atomic_store(&prev->next, &c.node);
	cr_assert_eq(pop_value(&q), 2);
	cr_assert_eq(pop_value(&q), 3);
	cr_assert_eq(pop_value(&q), 4);
	cr_assert_null(weft_mpsc_intrusive_pop(&q));
}

/* The window right at the stub: the oldest node itself is unlinked. */
Test(mpsc_intrusive, window_after_stub)
{
	weft_mpsc_intrusive q = { 0 };
	item a = { .value = 1 }, b = { .value = 2 };
	atomic_store(&a.node.next, NULL);
	weft_mpsc_node *prev = atomic_exchange(&q.tail, &a.node);
	cr_assert_null(prev, "all-zero tail stands for the stub");
	cr_assert_eq(weft_mpsc_intrusive_push(&q, &b.node), 0);
	cr_assert_null(weft_mpsc_intrusive_pop(&q));
	atomic_store(&q.stub.next, &a.node);
	cr_assert_eq(pop_value(&q), 1);
	cr_assert_eq(pop_value(&q), 2);
	cr_assert_null(weft_mpsc_intrusive_pop(&q));
}
