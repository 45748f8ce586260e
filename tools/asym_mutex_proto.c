/*
 * tools/asym_mutex_proto.c - a prototype of the two-word mutex whose unlock
 * is a release store (docs/tuning.md, "Uncontended fast paths on the Zen 5
 * host"), timed beside weft_mutex and pthread_mutex in one process, on the
 * bodies of bench/bench_mutex.c: uncontended lock+unlock, a shared counter
 * at 1/2/4/8 threads, and a strict two-thread hand-off. Not weft code: it
 * answers what the contended rows would pay for that unlock.
 *
 *   proto   lock: CAS locked 0 -> 1; slow path: spin up to ~200 checks,
 *           then sleepers += 1, membarrier (the heavy fence), and
 *           exchange/futex-wait on `locked` until taken; sleepers -= 1.
 *   unlock: store locked = 0 (release), compiler fence, load sleepers,
 *           FUTEX_WAKE one if any (lib/internal/asym_fence.h's pairing).
 *
 *   cc -O2 -Iinclude -Ilib -Ibuild/release/include -o /tmp/asym_mutex_proto \
 *      tools/asym_mutex_proto.c build/release/libweft.a -lpthread
 *   /tmp/asym_mutex_proto [ROUNDS]
 * Prints, per row, the median over ROUNDS (default 5) interleaved rounds of
 * ns per operation (wall), for each lock.
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal/arch.h"
#include "weft/mutex.h"

typedef struct proto {
	_Alignas(64) _Atomic uint32_t locked;
	_Atomic uint32_t sleepers;
} proto;

static void futex(_Atomic uint32_t *w, int op, uint32_t v)
{
	syscall(SYS_futex, w, op | FUTEX_PRIVATE_FLAG, v, NULL, NULL, 0);
}

static void proto_lock_slow(proto *m)
{
	for (int i = 0; i < 200; i++) {
		weft__cpu_relax();
		uint32_t z = 0;
		/* acquire: pairs with proto_unlock's release store. */
		if (!atomic_load_explicit(&m->locked, memory_order_relaxed) &&
		    atomic_compare_exchange_weak_explicit(&m->locked, &z, 1, memory_order_acquire,
							  memory_order_relaxed))
			return;
	}
	/* seq_cst + the heavy fence: the rare side of the Dekker pair with
	 * proto_unlock (store locked, load sleepers). */
	atomic_fetch_add_explicit(&m->sleepers, 1, memory_order_seq_cst);
	syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
	/* acquire: as above. */
	while (atomic_exchange_explicit(&m->locked, 1, memory_order_acquire))
		futex(&m->locked, FUTEX_WAIT, 1);
	atomic_fetch_sub_explicit(&m->sleepers, 1, memory_order_relaxed);
}

static inline void proto_lock(proto *m)
{
	uint32_t z = 0;
	/* acquire: pairs with proto_unlock's release store. */
	if (!atomic_compare_exchange_strong_explicit(&m->locked, &z, 1, memory_order_acquire,
						     memory_order_relaxed))
		proto_lock_slow(m);
}

static inline void proto_unlock(proto *m)
{
	/* release: publishes the section to the next lock's acquire. */
	atomic_store_explicit(&m->locked, 0, memory_order_release);
	atomic_signal_fence(memory_order_seq_cst); /* the light fence */
	if (atomic_load_explicit(&m->sleepers, memory_order_relaxed))
		futex(&m->locked, FUTEX_WAKE, 1);
}

enum { PROTO, WEFT, PTHREAD, NLOCKS };
static const char *const names[NLOCKS] = { "proto", "weft", "pthread" };

typedef struct shared {
	int kind;
	_Alignas(64) proto p;
	_Alignas(64) weft_mutex w;
	_Alignas(64) pthread_mutex_t m;
	_Alignas(64) uint64_t counter;
	unsigned turn;
	long iters;
	pthread_barrier_t start;
} shared;

static void lk(shared *s)
{
	if (s->kind == PROTO) proto_lock(&s->p);
	else if (s->kind == WEFT) weft_mutex_lock(&s->w);
	else pthread_mutex_lock(&s->m);
}

static void unlk(shared *s)
{
	if (s->kind == PROTO) proto_unlock(&s->p);
	else if (s->kind == WEFT) weft_mutex_unlock(&s->w);
	else pthread_mutex_unlock(&s->m);
}

typedef struct arg { shared *s; unsigned me; int handoff; } arg;

static void *body(void *p)
{
	arg *a = p;
	shared *s = a->s;
	pthread_barrier_wait(&s->start);
	for (long i = 0; i < s->iters;) {
		lk(s);
		if (!a->handoff) {
			s->counter++;
			i++;
		} else if (s->turn == a->me) {
			s->turn = !a->me;
			i++;
		}
		unlk(s);
	}
	return NULL;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* ns per operation: threads x iters lock+unlock (handoff: per hand-off). */
static double run(int kind, unsigned threads, int handoff, long iters)
{
	static shared s;
	s.kind = kind;
	s.p = (proto){ 0, 0 };
	s.w = (weft_mutex)WEFT_MUTEX_INIT;
	s.m = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	s.counter = 0;
	s.turn = 0;
	s.iters = iters;
	pthread_barrier_init(&s.start, NULL, threads + 1);
	pthread_t th[8];
	arg a[8];
	for (unsigned t = 0; t < threads; t++) {
		a[t] = (arg){ &s, t, handoff };
		pthread_create(&th[t], NULL, body, &a[t]);
	}
	double t0 = now();
	pthread_barrier_wait(&s.start);
	for (unsigned t = 0; t < threads; t++)
		pthread_join(th[t], NULL);
	double ns = now() - t0;
	pthread_barrier_destroy(&s.start);
	if (!handoff && s.counter != (uint64_t)threads * (uint64_t)iters)
		abort();
	return ns / (double)(handoff ? threads * iters : threads * iters);
}

static int cmp(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 5;
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0)) {
		perror("membarrier");
		return 1;
	}
	static const struct { const char *row; unsigned threads; int handoff; long iters; } rows[] = {
		{ "uncontended", 1, 0, 4000000 }, { "counter/2", 2, 0, 1000000 },
		{ "counter/4", 4, 0, 500000 },    { "counter/8", 8, 0, 250000 },
		{ "handoff/2", 2, 1, 50000 },
	};
	for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
		double ns[NLOCKS][32];
		for (int k = 0; k < rounds && k < 32; k++)
			for (int kind = 0; kind < NLOCKS; kind++)
				ns[kind][k] = run(kind, rows[r].threads, rows[r].handoff, rows[r].iters);
		printf("%-12s", rows[r].row);
		for (int kind = 0; kind < NLOCKS; kind++) {
			qsort(ns[kind], (size_t)rounds, sizeof(double), cmp);
			printf("  %s %8.1f ns", names[kind], ns[kind][rounds / 2]);
		}
		printf("\n");
	}
	return 0;
}
