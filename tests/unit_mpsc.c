/* tests/unit_mpsc.c - weft_mpsc: order, empty, NULL, block crossing, wrap, memory, pop_wait. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "weft/mpsc.h"
#include "test_util.h"

TestSuite(mpsc, .timeout = WEFT_UNIT_TIMEOUT_S);

#define P(x) ((void *)(uintptr_t)(x))

Test(mpsc, empty_null_and_order)
{
	weft_mpsc q;
	void *v;
	cr_assert_eq(weft_mpsc_init(&q), 0);
	cr_assert_not(weft_mpsc_pop(&q, &v));
	cr_assert_eq(weft_mpsc_push(&q, NULL), EINVAL);
	cr_assert_not(weft_mpsc_pop(&q, &v), "NULL push must not enqueue");
	for (uintptr_t i = 1; i <= 10; i++)
		cr_assert_eq(weft_mpsc_push(&q, P(i)), 0);
	for (uintptr_t i = 1; i <= 10; i++) {
		cr_assert(weft_mpsc_pop(&q, &v));
		cr_assert_eq(v, P(i));
	}
	cr_assert_not(weft_mpsc_pop(&q, &v));
	weft_mpsc_destroy(&q);
}

/* Many blocks in, then out; then steady push/pop recycles (no growth). */
static void blocks_from(uint64_t start)
{
	weft_mpsc q;
	void *v;
	const uintptr_t n = 5 * WEFT_MPSC_BLOCK_SLOTS + 17;
	cr_assert_eq(weft__mpsc_init_at(&q, start), 0);
	for (uintptr_t i = 1; i <= n; i++)
		cr_assert_eq(weft_mpsc_push(&q, P(i)), 0);
	size_t full = weft_mpsc_memory(&q);
	cr_assert_geq(full, 6 * WEFT_MPSC_BLOCK_BYTES);
	cr_assert_leq(full, 8 * WEFT_MPSC_BLOCK_BYTES, "%zu bytes", full);
	for (uintptr_t i = 1; i <= n; i++) {
		cr_assert(weft_mpsc_pop(&q, &v), "item %zu", (size_t)i);
		cr_assert_eq(v, P(i));
	}
	cr_assert_not(weft_mpsc_pop(&q, &v));
	/* drained blocks went back: at most current, one pending, one spare */
	size_t drained = weft_mpsc_memory(&q);
	cr_assert_leq(drained, 4 * WEFT_MPSC_BLOCK_BYTES, "%zu bytes", drained);
	for (uintptr_t i = 1; i <= 20 * WEFT_MPSC_BLOCK_SLOTS; i++) {
		cr_assert_eq(weft_mpsc_push(&q, P(i)), 0);
		cr_assert(weft_mpsc_pop(&q, &v));
		cr_assert_eq(v, P(i));
	}
	cr_assert_leq(weft_mpsc_memory(&q), 4 * WEFT_MPSC_BLOCK_BYTES);
	/* destroy with items inside: ASan checks nothing leaks */
	for (uintptr_t i = 1; i <= 3 * WEFT_MPSC_BLOCK_SLOTS; i++)
		cr_assert_eq(weft_mpsc_push(&q, P(i)), 0);
	weft_mpsc_destroy(&q);
}

Test(mpsc, blocks_grow_drain_recycle) { blocks_from(0); }

/* Positions start just below 2^32 and 2^64: blocks straddle both wraps. */
Test(mpsc, index_wraparound)
{
	blocks_from((UINT64_C(1) << 32) - 3);
	blocks_from(UINT64_MAX - 3);
	blocks_from(UINT64_MAX - WEFT_MPSC_BLOCK_SLOTS);
}

Test(mpsc, block_is_4k)
{
	cr_assert_eq(sizeof(weft_mpsc_block), 4096);
	cr_assert_eq(WEFT_MPSC_BLOCK_SLOTS, 504);
}

/* ---------------------------------------------------------------- lanes */

typedef struct pusher {
	weft_mpsc *q;
	uintptr_t first, n; /* pushes first .. first + n - 1 */
	unsigned lane;
} pusher;

static void *push_run(void *arg)
{
	pusher *p = arg;
	p->lane = weft__mpsc_my_lane();
	for (uintptr_t i = 0; i < p->n; i++)
		cr_assert_eq(weft_mpsc_push(p->q, P(p->first + i)), 0);
	return NULL;
}

/* Push from a new thread (its own lane when fewer than LANES were given
 * since the last one) and wait for it to finish. */
static unsigned push_from_thread(weft_mpsc *q, uintptr_t first, uintptr_t n)
{
	pusher p = { q, first, n, 0 };
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, push_run, &p), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);
	return p.lane;
}

/* Threads take lanes round-robin: WEFT_MPSC_LANES threads in a row get
 * every lane once, and a thread keeps its lane. */
Test(mpsc, threads_take_lanes_round_robin)
{
	unsigned seen = 0;
	for (unsigned t = 0; t < WEFT_MPSC_LANES; t++) {
		pusher p = { NULL, 0, 0, 0 };
		pthread_t th;
		cr_assert_eq(pthread_create(&th, NULL, push_run, &p), 0);
		cr_assert_eq(pthread_join(th, NULL), 0);
		cr_assert_lt(p.lane, WEFT_MPSC_LANES);
		cr_assert_not(seen & (1u << p.lane), "lane %u given twice", p.lane);
		seen |= 1u << p.lane;
	}
	cr_assert_eq(weft__mpsc_my_lane(), weft__mpsc_my_lane());
}

/*
 * Three lanes, one of them grown over several blocks before the consumer
 * first looks at it: every item comes out once, each lane's in order, and
 * a lane with a long backlog does not hold back another lane's item for
 * more than one quota.
 */
Test(mpsc, lanes_keep_each_threads_order)
{
	weft_mpsc q;
	void *v;
	cr_assert_eq(weft_mpsc_init(&q), 0);
	const uintptr_t big = 3 * WEFT_MPSC_BLOCK_SLOTS + 5;
	const uintptr_t A = 1u << 20, B = 2u << 20, C = 3u << 20;
	push_from_thread(&q, A, big);
	push_from_thread(&q, B, 1);
	push_from_thread(&q, C, 100);
	uintptr_t next[4] = { 0, 0, 0, 0 }, pops = 0, b_at = 0;
	while (weft_mpsc_pop(&q, &v)) {
		uintptr_t x = (uintptr_t)v, who = x >> 20, seq = x & ((1u << 20) - 1);
		cr_assert(who >= 1 && who <= 3, "foreign item %zx", (size_t)x);
		cr_assert_eq(seq, next[who], "thread %zu: %zu after %zu", (size_t)who,
			     (size_t)seq, (size_t)next[who]);
		next[who]++;
		pops++;
		if (who == 2)
			b_at = pops;
	}
	cr_assert_eq(next[1], big);
	cr_assert_eq(next[2], 1);
	cr_assert_eq(next[3], 100);
	cr_assert_leq(b_at, 2 * WEFT_MPSC_LANE_QUOTA, "B's item came %zu-th", (size_t)b_at);
	/* drained: per lane its current block (and one not yet released in
	 * the lane that grew), plus the spare */
	size_t drained = weft_mpsc_memory(&q);
	cr_assert_leq(drained, sizeof q + 5 * WEFT_MPSC_BLOCK_BYTES, "%zu bytes", drained);
	weft_mpsc_destroy(&q);
}

/* destroy frees the blocks of lanes the consumer never looked at, however
 * far they grew (ASan reports a leak otherwise). */
Test(mpsc, destroy_frees_unvisited_lanes)
{
	weft_mpsc q;
	cr_assert_eq(weft_mpsc_init(&q), 0);
	push_from_thread(&q, 1, 4 * WEFT_MPSC_BLOCK_SLOTS);
	push_from_thread(&q, 1, 3);
	size_t bytes = weft_mpsc_memory(&q);
	/* 4 full blocks in one lane, 1 in the other */
	cr_assert_eq(bytes, sizeof q + 5 * WEFT_MPSC_BLOCK_BYTES, "%zu bytes", bytes);
	weft_mpsc_destroy(&q);
}

/* A producer that loses the race to append a block puts its block back as
 * the spare with that attempt's prev still set; a lane whose first block
 * is that spare must not lead back into the other lane's blocks (memory
 * and destroy walk prev to find a lane's first block). */
Test(mpsc, a_lane_started_from_a_used_spare_has_no_prev)
{
	weft_mpsc q;
	void *v;
	weft_mpsc_block *other = calloc(1, sizeof *other);
	cr_assert_eq(weft_mpsc_init(&q), 0);
	weft_mpsc_block *spare = atomic_load(&q.spare);
	spare->prev = other; /* as next_block's loser leaves it */
	spare->base = 12345;
	push_from_thread(&q, 7, 1);
	cr_assert_eq(weft_mpsc_memory(&q), sizeof q + WEFT_MPSC_BLOCK_BYTES);
	cr_assert(weft_mpsc_pop(&q, &v));
	cr_assert_eq(v, P(7));
	weft_mpsc_destroy(&q); /* would free `other` too */
	free(other);
}

/* A producer stopped in its window (position claimed, slot not written)
 * holds back its own lane only: another thread's item comes out. */
Test(mpsc, unwritten_slot_holds_back_its_lane_only)
{
	weft_mpsc q;
	void *v;
	cr_assert_eq(weft_mpsc_init(&q), 0);
	cr_assert_eq(weft_mpsc_push(&q, P(1)), 0); /* our lane gets its block */
	cr_assert(weft_mpsc_pop(&q, &v));
	weft_mpsc_lane *mine = &q.lanes[weft__mpsc_my_lane()];
	uint64_t pos = atomic_fetch_add(&mine->tail, 1);
	cr_assert_eq(weft_mpsc_push(&q, P(2)), 0); /* behind pos */
	unsigned other = push_from_thread(&q, 3, 1);
	cr_assert_neq(other, weft__mpsc_my_lane());
	cr_assert(weft_mpsc_pop(&q, &v), "the other lane's item is held back");
	cr_assert_eq(v, P(3));
	cr_assert_not(weft_mpsc_pop(&q, &v));
	weft_mpsc_block *b = atomic_load(&mine->tail_block);
	atomic_store(&b->slots[pos - b->base], P(4));
	cr_assert(weft_mpsc_pop(&q, &v));
	cr_assert_eq(v, P(4));
	cr_assert(weft_mpsc_pop(&q, &v));
	cr_assert_eq(v, P(2));
	cr_assert_not(weft_mpsc_pop(&q, &v));
	weft_mpsc_destroy(&q);
}

/* ------------------------------------------------------------ pop_wait */

Test(mpsc, pop_wait_times_out_and_leaves_item)
{
	weft_mpsc q;
	void *v = P(7);
	cr_assert_eq(weft_mpsc_init(&q), 0);
	cr_assert_eq(weft_mpsc_pop_wait(&q, &v, 0), ETIMEDOUT);
	uint64_t t0 = weft_test_now_ns();
	cr_assert_eq(weft_mpsc_pop_wait(&q, &v, 2000000), ETIMEDOUT);
	cr_assert_geq(weft_test_now_ns() - t0, 2000000, "returned before the timeout");
	cr_assert_eq(v, P(7), "*item written on timeout");
	cr_assert_eq(weft_mpsc_push(&q, P(1)), 0);
	cr_assert_eq(weft_mpsc_pop_wait(&q, &v, 0), 0);
	cr_assert_eq(v, P(1));
	weft_mpsc_destroy(&q);
}

typedef struct waiter {
	weft_mpsc q;
	_Atomic pid_t tid;
	void *got[3];
	int rc[3];
} waiter;

static void *consume_three(void *arg)
{
	waiter *w = arg;
	atomic_store(&w->tid, (pid_t)syscall(SYS_gettid));
	for (int i = 0; i < 3; i++)
		w->rc[i] = weft_mpsc_pop_wait(&w->q, &w->got[i], WEFT_TIMEOUT_NEVER);
	return NULL;
}

/* Until the consumer has set sleeping and is asleep in the kernel (or 10 s). */
static void until_asleep(waiter *w)
{
	uint64_t t0 = weft_test_now_ns();
	while (!(atomic_load(&w->q.sleeping) && atomic_load(&w->tid) &&
		 weft_test_thread_sleeping(atomic_load(&w->tid))) &&
	       weft_test_now_ns() - t0 < 10000000000ull)
		sched_yield();
}

/*
 * A consumer asleep on an empty queue is woken by the push (no timeout
 * would save it: a missing wake-up hangs the test). Then a position is
 * claimed and left unwritten (a push's first half, as a producer preempted
 * in its window), a later push wakes the consumer, which must wait behind
 * the unwritten slot and come back on its own (its timed nap) once the
 * slot is written without a wake-up.
 */
Test(mpsc, pop_wait_sleeps_and_is_woken)
{
	waiter *w = calloc(1, sizeof *w);
	cr_assert_eq(weft_mpsc_init(&w->q), 0);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, consume_three, w), 0);
	until_asleep(w);
	cr_assert_eq(weft_mpsc_push(&w->q, P(1)), 0);
	until_asleep(w); /* in its second pop_wait, tail == head */
	weft_mpsc_lane *lane = &w->q.lanes[weft__mpsc_my_lane()];
	uint64_t pos = atomic_fetch_add(&lane->tail, 1);
	cr_assert_eq(weft_mpsc_push(&w->q, P(2)), 0); /* wakes it */
	until_asleep(w); /* napping behind pos */
	weft_mpsc_block *b = atomic_load(&lane->tail_block);
	cr_assert_lt(pos - b->base, WEFT_MPSC_BLOCK_SLOTS);
	atomic_store(&b->slots[pos - b->base], P(3));
	cr_assert_eq(pthread_join(th, NULL), 0);
	void *want[3] = { P(1), P(3), P(2) };
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(w->rc[i], 0);
		cr_assert_eq(w->got[i], want[i]);
	}
	weft_mpsc_destroy(&w->q);
	free(w);
}

/* A consumer asleep on an empty queue is woken by the first push of a
 * lane that had no block yet, three times, each from a new thread (a
 * missing wake-up hangs the test: no timeout would save it). */
Test(mpsc, pop_wait_woken_by_new_lanes)
{
	waiter *w = calloc(1, sizeof *w);
	cr_assert_eq(weft_mpsc_init(&w->q), 0);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, consume_three, w), 0);
	for (uintptr_t i = 1; i <= 3; i++) {
		until_asleep(w);
		push_from_thread(&w->q, i, 1);
	}
	cr_assert_eq(pthread_join(th, NULL), 0);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(w->rc[i], 0);
		cr_assert_eq(w->got[i], P(i + 1));
	}
	weft_mpsc_destroy(&w->q);
	free(w);
}

static void pin_to(int cpu)
{
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	cr_assert_eq(pthread_setaffinity_np(pthread_self(), sizeof one, &one), 0);
}

typedef struct beside {
	weft_mpsc q;
	_Atomic pid_t tid;
	int cpu;
	void *got;
} beside;

static void *consume_one_on_cpu(void *arg)
{
	beside *b = arg;
	pin_to(b->cpu);
	atomic_store(&b->tid, (pid_t)syscall(SYS_gettid));
	(void)weft_mpsc_pop_wait(&b->q, &b->got, WEFT_TIMEOUT_NEVER);
	return NULL;
}

/*
 * A consumer woken by a push made on its own CPU (the producer ran there
 * while it slept) skips its spin at the next wait: the spin would only
 * keep that producer off the CPU. Woken from another CPU, it spins again.
 */
Test(mpsc, no_spin_after_a_wake_up_from_our_own_cpu)
{
	cpu_set_t allowed;
	cr_assert_eq(sched_getaffinity(0, sizeof allowed, &allowed), 0);
	int cpus[2] = { -1, -1 };
	for (int i = 0, n = 0; i < CPU_SETSIZE && n < 2; i++)
		if (CPU_ISSET(i, &allowed))
			cpus[n++] = i;
	for (int round = 0; round < 2 && cpus[round] >= 0; round++) {
		beside *b = calloc(1, sizeof *b);
		cr_assert_eq(weft_mpsc_init(&b->q), 0);
		b->cpu = cpus[0];
		pthread_t th;
		cr_assert_eq(pthread_create(&th, NULL, consume_one_on_cpu, b), 0);
		uint64_t t0 = weft_test_now_ns();
		while (!(atomic_load(&b->q.sleeping) && atomic_load(&b->tid) &&
			 weft_test_thread_sleeping(atomic_load(&b->tid))) &&
		       weft_test_now_ns() - t0 < 10000000000ull)
			sched_yield();
		pin_to(cpus[round]); /* round 0: the consumer's CPU; 1: another */
		cr_assert_eq(weft_mpsc_push(&b->q, P(1)), 0);
		cr_assert_eq(pthread_join(th, NULL), 0);
		cr_assert_eq(b->got, P(1));
		cr_assert_eq(b->q.beside_waker, round == 0 ? 1u : 0u,
			     "round %d: pushed on CPU %d, consumer on CPU %d", round,
			     cpus[round], cpus[0]);
		cr_assert_eq(pthread_setaffinity_np(pthread_self(), sizeof allowed, &allowed), 0);
		weft_mpsc_destroy(&b->q);
		free(b);
	}
}
