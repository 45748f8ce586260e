/*
 * tests/stress_rt.c - weft_rt under load (these cases also run in the TSan
 * build, whose runner is the stress driver):
 *   rt_spawn_join     tasks each spawning and joining a child: every
 *                     parent and child runs exactly once, results correct;
 *   rt_chan           producer and consumer tasks (and plain threads, arg
 *                     bit 1) on one channel (arg bit 0: rendezvous, else
 *                     bounded 16), items tagged per producer: nothing lost
 *                     or duplicated, per-producer order kept per consumer;
 *   rt_pingpong       two tasks (or a task and a thread) over a
 *                     rendezvous channel;
 *   rt_registers      callee-saved integer and FP values live across
 *                     yields, sleeps and channel parks;
 *   rt_migrate        tasks are stolen by other workers and run once;
 *   rt_destroy_parked destroy with tasks parked in recv, sleep and join:
 *                     all end, waits return ECANCELED / ETIMEDOUT, spawns
 *                     during destroy get EPIPE, handles joinable after.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stress.h"
#include "weft/chan.h"
#include "weft/rt.h"

/* Under TSan every switch goes through its fiber machinery and every
 * access through its shadow: the task-heavy cases run a tenth as many. */
static uint64_t rt_ops(const weft_stress_case *c)
{
	uint64_t n = weft_stress_ops(c);
	return WEFT_TSAN ? n / 10 + 1 : n;
}

static weft_rt *new_rt(unsigned threads, weft_stress_result *r)
{
	weft_rt *rt = NULL;
	weft_rt_opts o = { .threads = threads };
	int rc = weft_rt_create(&rt, &o);
	if (rc)
		weft_stress_fail(r, "weft_rt_create: %d", rc);
	return rt;
}

/* ------------------------------------------------------- spawn + join */

typedef struct sj_test {
	weft_rt *rt;
	uint64_t parents; /* per root */
	_Atomic uint8_t *ran; /* parents * roots * 2 flags: parent, child */
	_Atomic uint64_t bad;
} sj_test;

typedef struct sj_arg {
	sj_test *t;
	uint64_t id;
} sj_arg;

static void *sj_child(void *p)
{
	sj_arg *a = p;
	/* relaxed: counted; the join orders it before the check. */
	atomic_fetch_add_explicit(&a->t->ran[2 * a->id + 1], 1, memory_order_relaxed);
	return (void *)(uintptr_t)(a->id * 3 + 1);
}

static void *sj_parent(void *p)
{
	sj_arg *a = p;
	atomic_fetch_add_explicit(&a->t->ran[2 * a->id], 1, memory_order_relaxed);
	weft_rt_task *c;
	void *res = NULL;
	if (weft_go(a->t->rt, &c, sj_child, a) || weft_rt_join(c, &res) ||
	    (uintptr_t)res != a->id * 3 + 1)
		atomic_fetch_add_explicit(&a->t->bad, 1, memory_order_relaxed);
	return NULL;
}

#define SJ_BATCH 64

static void *sj_root(void *p)
{
	sj_arg *root = p;
	sj_test *t = root->t;
	sj_arg args[SJ_BATCH];
	weft_rt_task *h[SJ_BATCH];
	for (uint64_t base = 0; base < t->parents; base += SJ_BATCH) {
		unsigned n = 0;
		for (; n < SJ_BATCH && base + n < t->parents; n++) {
			args[n] = (sj_arg){ t, root->id * t->parents + base + n };
			if (weft_go(t->rt, &h[n], sj_parent, &args[n]))
				return (void *)1;
		}
		for (unsigned i = 0; i < n; i++)
			if (weft_rt_join(h[i], NULL))
				return (void *)1;
	}
	return NULL;
}

static void rt_spawn_join(const weft_stress_case *c, weft_stress_result *r)
{
	sj_test t = { .parents = rt_ops(c) / c->threads + 1 };
	t.rt = new_rt(0, r);
	if (!t.rt)
		return;
	uint64_t total = t.parents * c->threads;
	t.ran = calloc(2 * total, 1);
	sj_arg roots[c->threads];
	weft_rt_task *h[c->threads];
	for (unsigned i = 0; i < c->threads; i++) {
		roots[i] = (sj_arg){ &t, i };
		if (weft_go(t.rt, &h[i], sj_root, &roots[i]))
			weft_stress_fail(r, "spawn of root %u failed", i);
	}
	for (unsigned i = 0; i < c->threads; i++) {
		void *res;
		if (weft_rt_join(h[i], &res) || res)
			weft_stress_fail(r, "root %u failed", i);
	}
	for (uint64_t i = 0; i < 2 * total; i++)
		if (atomic_load(&t.ran[i]) != 1) {
			weft_stress_fail(r, "%s %llu ran %u times", i % 2 ? "child" : "parent",
					 (unsigned long long)(i / 2), (unsigned)atomic_load(&t.ran[i]));
			break;
		}
	if (atomic_load(&t.bad))
		weft_stress_fail(r, "%llu parents saw a wrong child result",
				 (unsigned long long)atomic_load(&t.bad));
	weft_rt_destroy(t.rt);
	free(t.ran);
}

WEFT_STRESS_CASE("rt_spawn_join/4", rt_spawn_join, 4, 0, 100000);

/* ------------------------------------------------------- channel */

typedef struct chan_test {
	weft_rt *rt;
	weft_chan *ch;
	unsigned producers, consumers;
	uint64_t per_producer;
	_Atomic uint8_t *seen; /* producers * per_producer */
	_Atomic uint64_t received, bad_order, dup;
} chan_test;

typedef struct chan_arg {
	chan_test *t;
	unsigned id;
} chan_arg;

static void *chan_producer(void *p)
{
	chan_arg *a = p;
	chan_test *t = a->t;
	for (uint64_t i = 0; i < t->per_producer; i++) {
		uint64_t item = ((uint64_t)a->id << 40) | i;
		if (weft_chan_send(t->ch, &item))
			return (void *)1;
	}
	return NULL;
}

static void *chan_consumer(void *p)
{
	chan_arg *a = p;
	chan_test *t = a->t;
	uint64_t *last = calloc(t->producers, sizeof *last); /* seq + 1 */
	uint64_t item, n = 0;
	while (weft_chan_recv(t->ch, &item) == 0) {
		unsigned prod = (unsigned)(item >> 40);
		uint64_t seq = item & ((1ull << 40) - 1);
		if (prod >= t->producers || seq >= t->per_producer) {
			atomic_fetch_add(&t->dup, 1);
			continue;
		}
		if (seq + 1 <= last[prod])
			atomic_fetch_add(&t->bad_order, 1);
		last[prod] = seq + 1;
		/* relaxed: a count checked after every join. */
		if (atomic_fetch_add_explicit(&t->seen[prod * t->per_producer + seq], 1,
					      memory_order_relaxed))
			atomic_fetch_add(&t->dup, 1);
		n++;
	}
	free(last);
	atomic_fetch_add(&t->received, n);
	return NULL;
}

static void *thread_run(void *p)
{
	void **fa = p;
	return ((void *(*)(void *))fa[0])(fa[1]);
}

/* arg bit 0: rendezvous; bit 1: every other producer and consumer is a
 * plain thread. */
static void rt_chan(const weft_stress_case *c, weft_stress_result *r)
{
	chan_test t = { .producers = c->threads, .consumers = c->threads };
	bool zero = c->arg & 1, mixed = c->arg & 2;
	t.per_producer = weft_stress_ops(c) / t.producers + 1;
	t.rt = new_rt(0, r);
	if (!t.rt)
		return;
	if (weft_chan_create(&t.ch, sizeof(uint64_t), zero ? 0 : 16)) {
		weft_stress_fail(r, "weft_chan_create");
		weft_rt_destroy(t.rt);
		return;
	}
	t.seen = calloc(t.producers * t.per_producer, 1);
	unsigned n = t.producers + t.consumers;
	chan_arg args[n];
	weft_rt_task *h[n];
	pthread_t th[n];
	void *fa[n][2];
	bool is_thread[n];
	for (unsigned i = 0; i < n; i++) {
		bool prod = i < t.producers;
		args[i] = (chan_arg){ &t, prod ? i : i - t.producers };
		void *(*fn)(void *) = prod ? chan_producer : chan_consumer;
		is_thread[i] = mixed && (i % 2);
		if (is_thread[i]) {
			fa[i][0] = (void *)fn;
			fa[i][1] = &args[i];
			pthread_create(&th[i], NULL, thread_run, fa[i]);
		} else if (weft_go(t.rt, &h[i], fn, &args[i])) {
			weft_stress_fail(r, "weft_go failed");
		}
	}
	for (unsigned i = 0; i < t.producers; i++) {
		void *res;
		if (is_thread[i])
			pthread_join(th[i], &res);
		else
			weft_rt_join(h[i], &res);
		if (res)
			weft_stress_fail(r, "producer %u: send failed", i);
	}
	weft_chan_sender_drop(t.ch); /* consumers see EPIPE once drained */
	for (unsigned i = t.producers; i < n; i++) {
		if (is_thread[i])
			pthread_join(th[i], NULL);
		else
			weft_rt_join(h[i], NULL);
	}
	uint64_t want = t.producers * t.per_producer;
	if (atomic_load(&t.received) != want)
		weft_stress_fail(r, "received %llu of %llu",
				 (unsigned long long)atomic_load(&t.received),
				 (unsigned long long)want);
	if (atomic_load(&t.dup) || atomic_load(&t.bad_order))
		weft_stress_fail(r, "%llu duplicated, %llu out of order",
				 (unsigned long long)atomic_load(&t.dup),
				 (unsigned long long)atomic_load(&t.bad_order));
	weft_chan_receiver_drop(t.ch);
	weft_rt_destroy(t.rt);
	free(t.seen);
}

WEFT_STRESS_CASE("rt_chan_bounded/4x4", rt_chan, 4, 0, 100000);
WEFT_STRESS_CASE("rt_chan_rendezvous/4x4", rt_chan, 4, 1, 20000);
WEFT_STRESS_CASE("rt_chan_mixed_bounded/4x4", rt_chan, 4, 2, 50000);
WEFT_STRESS_CASE("rt_chan_mixed_rendezvous/4x4", rt_chan, 4, 3, 20000);

/* ------------------------------------------------------- ping-pong */

typedef struct pp_test {
	weft_chan *ping, *pong;
	uint64_t rounds;
} pp_test;

static void *pp_server(void *p)
{
	pp_test *t = p;
	uint64_t v;
	for (uint64_t i = 0; i < t->rounds; i++) {
		if (weft_chan_recv(t->ping, &v) || v != i)
			return (void *)1;
		v = i * 2;
		if (weft_chan_send(t->pong, &v))
			return (void *)1;
	}
	return NULL;
}

static void *pp_client(void *p)
{
	pp_test *t = p;
	uint64_t v;
	for (uint64_t i = 0; i < t->rounds; i++) {
		v = i;
		if (weft_chan_send(t->ping, &v) || weft_chan_recv(t->pong, &v) || v != i * 2)
			return (void *)1;
	}
	return NULL;
}

/* arg 1: the client is a plain thread. */
static void rt_pingpong(const weft_stress_case *c, weft_stress_result *r)
{
	pp_test t = { .rounds = weft_stress_ops(c) };
	weft_rt *rt = new_rt(c->threads, r);
	if (!rt)
		return;
	weft_chan_create(&t.ping, sizeof(uint64_t), 0);
	weft_chan_create(&t.pong, sizeof(uint64_t), 0);
	weft_rt_task *s, *cl = NULL;
	void *rs = NULL, *rc = NULL;
	weft_go(rt, &s, pp_server, &t);
	if (c->arg)
		rc = pp_client(&t);
	else
		weft_go(rt, &cl, pp_client, &t);
	if (cl)
		weft_rt_join(cl, &rc);
	weft_rt_join(s, &rs);
	if (rs || rc)
		weft_stress_fail(r, "ping-pong broke: server %p client %p", rs, rc);
	weft_chan_sender_drop(t.ping);
	weft_chan_receiver_drop(t.ping);
	weft_chan_sender_drop(t.pong);
	weft_chan_receiver_drop(t.pong);
	weft_rt_destroy(rt);
}

WEFT_STRESS_CASE("rt_pingpong/1", rt_pingpong, 1, 0, 50000);
WEFT_STRESS_CASE("rt_pingpong/2", rt_pingpong, 2, 0, 50000);
WEFT_STRESS_CASE("rt_pingpong_thread/2", rt_pingpong, 2, 1, 5000);

/* ------------------------------------------------------- registers */

typedef struct reg_arg {
	weft_chan *ch;
	uint64_t rounds;
	uint64_t seed;
	bool ok;
} reg_arg;

/* Values live across every blocking call: the compiler keeps them in
 * callee-saved registers (and spills the rest). The same sums computed
 * without switches must match. */
__attribute__((noinline)) static void reg_body(reg_arg *a, bool block)
{
	uint64_t i0 = a->seed, i1 = a->seed * 3, i2 = a->seed ^ 0x55, i3 = a->seed + 7,
		 i4 = a->seed * 11, i5 = ~a->seed;
	double d0 = (double)a->seed, d1 = d0 * 0.5, d2 = d0 + 0.25, d3 = d0 * 1.5,
	       d4 = d0 - 3.0, d5 = d0 * 0.125, d6 = d0 + 9.0, d7 = d0 * 2.0;
	for (uint64_t k = 0; k < a->rounds; k++) {
		if (block) {
			switch (k % 3) {
			case 0:
				weft_yield();
				break;
			case 1:
				weft_sleep_ns(1000);
				break;
			default: {
				uint64_t v = k;
				weft_chan_send(a->ch, &v);
				weft_chan_recv(a->ch, &v);
			}
			}
		}
		i0 += k; i1 ^= k; i2 += i0; i3 = i3 * 3 + 1; i4 -= k; i5 += i1;
		d0 += 1.0; d1 *= 1.0000001; d2 += 0.5; d3 -= 0.25; d4 += d0;
		d5 += 2.0; d6 *= 0.9999999; d7 += d1;
	}
	uint64_t ih = i0 ^ i1 ^ i2 ^ i3 ^ i4 ^ i5;
	double dh = d0 + d1 + d2 + d3 + d4 + d5 + d6 + d7;
	if (!block) {
		a->seed = ih;
		memcpy(&a->rounds, &dh, sizeof dh);
		return;
	}
	reg_arg ref = { .rounds = a->rounds, .seed = a->seed };
	reg_body(&ref, false);
	double want;
	memcpy(&want, &ref.rounds, sizeof want);
	a->ok = ih == ref.seed && dh == want;
}

static void *reg_task(void *p)
{
	reg_body(p, true);
	return NULL;
}

static void rt_registers(const weft_stress_case *c, weft_stress_result *r)
{
	weft_rt *rt = new_rt(2, r);
	if (!rt)
		return;
	unsigned n = c->threads;
	reg_arg a[n];
	weft_rt_task *h[n];
	for (unsigned i = 0; i < n; i++) {
		a[i] = (reg_arg){ .rounds = weft_stress_ops(c), .seed = 1000 + i * 77 };
		weft_chan_create(&a[i].ch, sizeof(uint64_t), 1);
		weft_go(rt, &h[i], reg_task, &a[i]);
	}
	for (unsigned i = 0; i < n; i++) {
		weft_rt_join(h[i], NULL);
		if (!a[i].ok)
			weft_stress_fail(r, "task %u: a callee-saved value changed across a switch", i);
		weft_chan_sender_drop(a[i].ch);
		weft_chan_receiver_drop(a[i].ch);
	}
	weft_rt_destroy(rt);
}

WEFT_STRESS_CASE("rt_registers/8", rt_registers, 8, 0, 3000);

/* ------------------------------------------------------- migration */

typedef struct mig_test {
	_Atomic uint32_t *runs;
	_Atomic uint32_t moved;    /* tasks resumed on another thread */
	_Atomic uint32_t stolen;   /* tasks started off the spawner's thread */
	pthread_t spawner;
} mig_test;

typedef struct mig_arg {
	mig_test *t;
	unsigned id;
} mig_arg;

static uint64_t mig_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The calling thread, read anew at every call: glibc declares
 * pthread_self const, so the compiler may reuse one call's value across
 * weft_yield, where the task may move to another worker thread. */
__attribute__((noinline)) static pthread_t this_thread(void)
{
	__asm__ volatile("" ::: "memory");
	return pthread_self();
}

static void *mig_task(void *p)
{
	mig_arg *a = p;
	pthread_t me = this_thread();
	atomic_fetch_add(&a->t->runs[a->id], 1);
	if (!pthread_equal(me, a->t->spawner))
		atomic_fetch_add(&a->t->stolen, 1);
	volatile uint64_t x = 0;
	for (unsigned k = 0; k < 20; k++) {
		for (unsigned j = 0; j < 2000; j++)
			x += j;
		weft_yield();
		if (!pthread_equal(this_thread(), me)) {
			atomic_fetch_add(&a->t->moved, 1);
			me = this_thread();
		}
	}
	/* On a loaded machine (the suite runs at nice 19) the other workers
	 * may get no CPU while these tasks run: keep yielding, for 10 s at
	 * most, until some task ran elsewhere. */
	uint64_t t0 = mig_now_ns();
	while (atomic_load(&a->t->stolen) == 0 && atomic_load(&a->t->moved) == 0 &&
	       mig_now_ns() - t0 < 10000000000ull) {
		weft_yield();
		if (!pthread_equal(this_thread(), me))
			atomic_fetch_add(&a->t->moved, 1);
		me = this_thread();
	}
	return NULL;
}

typedef struct mig_root {
	mig_test *t;
	unsigned n;
	weft_rt *rt;
} mig_root;

static void *mig_root_task(void *p)
{
	mig_root *m = p;
	m->t->spawner = pthread_self();
	mig_arg *args = calloc(m->n, sizeof *args);
	weft_rt_task **h = calloc(m->n, sizeof *h);
	for (unsigned i = 0; i < m->n; i++) {
		args[i] = (mig_arg){ m->t, i };
		weft_go(m->rt, &h[i], mig_task, &args[i]);
	}
	for (unsigned i = 0; i < m->n; i++)
		weft_rt_join(h[i], NULL);
	free(args);
	free(h);
	return NULL;
}

static void rt_migrate(const weft_stress_case *c, weft_stress_result *r)
{
	weft_rt *rt = new_rt(c->threads, r);
	if (!rt)
		return;
	mig_test t = { 0 };
	mig_root m = { &t, (unsigned)weft_stress_ops(c), rt };
	t.runs = calloc(m.n, sizeof *t.runs);
	weft_rt_task *h;
	weft_go(rt, &h, mig_root_task, &m);
	weft_rt_join(h, NULL);
	for (unsigned i = 0; i < m.n; i++)
		if (atomic_load(&t.runs[i]) != 1) {
			weft_stress_fail(r, "task %u ran %u times", i, atomic_load(&t.runs[i]));
			break;
		}
	if (atomic_load(&t.stolen) == 0 && atomic_load(&t.moved) == 0)
		weft_stress_fail(r, "no task ran on another worker than its spawner's");
	free(t.runs);
	weft_rt_destroy(rt);
}

WEFT_STRESS_CASE("rt_migrate/2", rt_migrate, 2, 0, 400);
WEFT_STRESS_CASE("rt_migrate/4", rt_migrate, 4, 0, 400);

/* ------------------------------------------------------- destroy */

typedef struct dp_test {
	weft_rt *rt;
	weft_chan *never; /* nobody sends */
	_Atomic uint32_t started, recv_rc_ok, sleep_canceled, spawn_epipe;
} dp_test;

static void *dp_recv(void *p)
{
	dp_test *t = p;
	atomic_fetch_add(&t->started, 1);
	uint64_t v;
	int rc = weft_chan_recv(t->never, &v);
	/* a canceled wait gives up like a timed-out one */
	if (rc == ETIMEDOUT)
		atomic_fetch_add(&t->recv_rc_ok, 1);
	return (void *)(uintptr_t)rc;
}

static void *dp_sleep(void *p)
{
	dp_test *t = p;
	atomic_fetch_add(&t->started, 1);
	int rc = weft_sleep_ns(3600ull * 1000000000ull);
	if (rc == ECANCELED)
		atomic_fetch_add(&t->sleep_canceled, 1);
	/* later parks return at once */
	if (weft_sleep_ns(3600ull * 1000000000ull) != ECANCELED)
		return (void *)2;
	if (weft_go(t->rt, NULL, dp_sleep, t) == EPIPE)
		atomic_fetch_add(&t->spawn_epipe, 1);
	return (void *)(uintptr_t)rc;
}

static void *dp_join(void *p)
{
	dp_test *t = p;
	weft_rt_task *c;
	int rc = weft_go(t->rt, &c, dp_recv, t);
	if (rc) /* destroy began before we ran: the spawn is refused */
		return (void *)(uintptr_t)(rc == EPIPE ? ETIMEDOUT : rc);
	void *res;
	weft_rt_join(c, &res); /* waits: the child is canceled too */
	return res;
}

static void rt_destroy_parked(const weft_stress_case *c, weft_stress_result *r)
{
	for (uint64_t round = 0; round < rt_ops(c); round++) {
		dp_test t = { 0 };
		t.rt = new_rt(c->threads, r);
		if (!t.rt)
			return;
		weft_chan_create(&t.never, sizeof(uint64_t), 0);
		enum { N = 8 };
		weft_rt_task *h[3 * N];
		for (unsigned i = 0; i < N; i++) {
			weft_go(t.rt, &h[3 * i], dp_recv, &t);
			weft_go(t.rt, &h[3 * i + 1], dp_sleep, &t);
			weft_go(t.rt, &h[3 * i + 2], dp_join, &t);
			weft_go(t.rt, NULL, dp_sleep, &t); /* detached */
		}
		/* Let some park (not required: destroy handles both). */
		while (atomic_load(&t.started) < N)
			weft_yield();
		if (weft_rt_destroy(t.rt))
			weft_stress_fail(r, "destroy failed");
		for (unsigned i = 0; i < 3 * N; i++) {
			void *res;
			if (weft_rt_join(h[i], &res))
				weft_stress_fail(r, "join after destroy failed");
			if (i % 3 == 1 && (uintptr_t)res != ECANCELED)
				weft_stress_fail(r, "sleep returned %d, not ECANCELED",
						 (int)(uintptr_t)res);
			if (i % 3 != 1 && (uintptr_t)res != ETIMEDOUT)
				weft_stress_fail(r, "recv returned %d, not ETIMEDOUT",
						 (int)(uintptr_t)res);
		}
		if (atomic_load(&t.spawn_epipe) != 2 * N)
			weft_stress_fail(r, "%u of %u spawns during destroy got EPIPE",
					 atomic_load(&t.spawn_epipe), 2 * N);
		weft_chan_sender_drop(t.never);
		weft_chan_receiver_drop(t.never);
	}
}

WEFT_STRESS_CASE("rt_destroy_parked/2", rt_destroy_parked, 2, 0, 20);
