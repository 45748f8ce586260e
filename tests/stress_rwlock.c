/*
 * tests/stress_rwlock.c - weft_rwlock under contention. Threads mix read and
 * write locks (blocking, try, timed). Writers update two plain fields that
 * must stay equal; readers check them inside their sections. Invariants:
 * no writer ever overlaps another holder, readers never see a torn pair, the
 * write count matches the writes done, and the lock is left idle (no bit
 * but READ_BIAS, no visible-reader entry). Every case starts with the lock
 * read-biased, so the first writes revoke the bias under load; at 1% writes
 * some reads must have been visible ones (the reader held the lock through
 * its table entry). With more writers the bias may be gone before any
 * reader gets to use it.
 * `arg` is the percentage of writes (plus BLOCKING: blocking calls only).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "stress.h"
#include "test_util.h"
#include "weft/rwlock.h"

typedef struct rw_test {
	weft_rwlock l;
	uint64_t a, b;		 /* plain: the lock protects them */
	_Atomic unsigned readers; /* readers inside */
	_Atomic unsigned writers; /* writers inside */
	_Atomic uint64_t violations;
	_Atomic uint64_t writes;
	_Atomic uint64_t visible_reads;
	uint64_t ops;
	unsigned write_pct;
	bool blocking; /* only read_lock/write_lock: a lost wake-up hangs */
} rw_test;

static void bad(rw_test *t)
{
	atomic_fetch_add_explicit(&t->violations, 1, memory_order_relaxed);
}

static bool acquire(rw_test *t, bool write, uint64_t i)
{
	switch (t->blocking ? 2 : i % 5) {
	case 0:
		return write ? weft_rwlock_write_trylock(&t->l)
			     : weft_rwlock_read_trylock(&t->l);
	case 1:
		return (write ? weft_rwlock_write_lock_timeout(&t->l, 20000)
			      : weft_rwlock_read_lock_timeout(&t->l, 20000)) == 0;
	default:
		if (write)
			weft_rwlock_write_lock(&t->l);
		else
			weft_rwlock_read_lock(&t->l);
		return true;
	}
}

static void rw_worker(unsigned id, void *arg)
{
	rw_test *t = arg;
	uint64_t x = id * 0x9e3779b97f4a7c15ull + 1, mine = 0;
	for (uint64_t i = 0; i < t->ops; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		bool write = x % 100 < t->write_pct;
		if (!acquire(t, write, i / 2))
			continue;
		/* relaxed counters: detecting overlap needs no ordering; under
		 * a working lock the accesses are ordered by the lock itself. */
		if (write) {
			if (atomic_fetch_add_explicit(&t->writers, 1, memory_order_relaxed) ||
			    atomic_load_explicit(&t->readers, memory_order_relaxed))
				bad(t);
			uint64_t v = t->a;
			t->a = v + 1;
			atomic_signal_fence(memory_order_seq_cst);
			t->b = v + 1;
			mine++;
			atomic_fetch_sub_explicit(&t->writers, 1, memory_order_relaxed);
			weft_rwlock_write_unlock(&t->l);
		} else {
			atomic_fetch_add_explicit(&t->readers, 1, memory_order_relaxed);
			if (atomic_load_explicit(&t->writers, memory_order_relaxed))
				bad(t);
			if (t->a != t->b)
				bad(t);
			if (weft_test_rwlock_visible(&t->l))
				atomic_fetch_add_explicit(&t->visible_reads, 1,
							  memory_order_relaxed);
			atomic_fetch_sub_explicit(&t->readers, 1, memory_order_relaxed);
			weft_rwlock_read_unlock(&t->l);
		}
	}
	atomic_fetch_add_explicit(&t->writes, mine, memory_order_relaxed);
}

/* `arg`: the percentage of writes, plus BLOCKING for blocking calls only
 * (every wait then ends in a wake-up: no timeout papers over a lost one). */
#define BLOCKING 1000

static void rwlock_mix(const weft_stress_case *c, weft_stress_result *r)
{
	rw_test t = { .ops = weft_stress_ops(c), .write_pct = c->arg % BLOCKING,
		      .blocking = c->arg >= BLOCKING };
	/* Start biased: the first writes then revoke it under load. */
	if (!weft_test_rwlock_bias(&t.l))
		weft_stress_fail(r, "lock never biased");
	weft_stress_run_threads(c->threads, rw_worker, &t);
	if (atomic_load(&t.violations))
		weft_stress_fail(r, "%llu exclusion violations",
				 (unsigned long long)atomic_load(&t.violations));
	if (t.a != atomic_load(&t.writes) || t.a != t.b)
		weft_stress_fail(r, "a=%llu b=%llu writes=%llu",
				 (unsigned long long)t.a, (unsigned long long)t.b,
				 (unsigned long long)atomic_load(&t.writes));
	if (!weft_test_rwlock_idle(&t.l))
		weft_stress_fail(r, "rwlock word %#x after all threads left",
				 (unsigned)atomic_load(&t.l.state));
	if (t.write_pct <= 1 && !atomic_load(&t.visible_reads))
		weft_stress_fail(r, "no read was a visible one: the bias never ran");
}

WEFT_STRESS_CASE("rwlock_mix/2/w10", rwlock_mix, 2, 10, 3000000);
WEFT_STRESS_CASE("rwlock_mix/4/w50", rwlock_mix, 4, 50, 1000000);
WEFT_STRESS_CASE("rwlock_mix/4/w1", rwlock_mix, 4, 1, 1000000);
WEFT_STRESS_CASE("rwlock_mix/8/w10", rwlock_mix, 8, 10, 600000);
WEFT_STRESS_CASE("rwlock_mix/8/w90", rwlock_mix, 8, 90, 400000);
WEFT_STRESS_CASE("rwlock_block/8/w10", rwlock_mix, 8, BLOCKING + 10, 600000);
WEFT_STRESS_CASE("rwlock_block/4/w50", rwlock_mix, 4, BLOCKING + 50, 600000);

/*
 * Readers registered behind a writer are granted even when new readers got
 * in after WWAIT was cleared. Before the fix read_unlock_slow granted them
 * only if it found the lock free, so they slept until the next writer, and
 * forever after the last one. Each attempt: `threads` busy readers, five
 * writes, stop; every reader must return within 2 s (scaled under qemu). The bug hung 1
 * attempt in 30-550 (docs/tuning.md, "registered readers left asleep").
 */
typedef struct stop_test {
	weft_rwlock l;
	_Atomic bool stop;
	_Atomic unsigned entries, exited;
} stop_test;

static void *stop_reader(void *p)
{
	stop_test *t = p;
	weft_test_read_until(&t->l, &t->stop, &t->entries);
	/* seq_cst (the default): the main thread polls it, then joins. */
	atomic_fetch_add(&t->exited, 1);
	return NULL;
}

static void rwlock_last_writer(const weft_stress_case *c, weft_stress_result *r)
{
	enum { MAX_READERS = 8 };
	const unsigned n = c->threads < MAX_READERS ? c->threads : MAX_READERS;
	for (uint64_t attempt = 0; attempt < weft_stress_ops(c); attempt++) {
		/* Heap: left behind (leaked) if readers never return. */
		stop_test *t = calloc(1, sizeof *t);
		pthread_t th[MAX_READERS];
		for (unsigned i = 0; i < n; i++)
			pthread_create(&th[i], NULL, stop_reader, t);
		for (int round = 0; round < 5; round++) {
			weft_rwlock_write_lock(&t->l);
			weft_rwlock_write_unlock(&t->l);
			unsigned e = atomic_load(&t->entries);
			while (atomic_load(&t->entries) < e + 50)
				sched_yield();
		}
		atomic_store(&t->stop, true);
		const uint64_t t0 = weft_test_now_ns();
		const uint64_t limit = 2000 * WEFT_MS * weft_test_time_scale();
		while (atomic_load(&t->exited) < n && weft_test_now_ns() - t0 < limit)
			sched_yield();
		if (atomic_load(&t->exited) < n) {
			weft_stress_fail(r, "attempt %llu: %u of %u readers left asleep, word %#x",
					 (unsigned long long)attempt, n - atomic_load(&t->exited), n,
					 (unsigned)atomic_load(&t->l.state));
			return;
		}
		for (unsigned i = 0; i < n; i++)
			pthread_join(th[i], NULL);
		free(t);
	}
}

WEFT_STRESS_CASE("rwlock_last_writer/4", rwlock_last_writer, 4, 0, 150);
