/* tests/unit_rwlock.c - weft_rwlock semantics, policy, timeouts, size. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "test_util.h"
#include "weft/rwlock.h"

TestSuite(rwlock, .timeout = WEFT_UNIT_TIMEOUT_S);

static weft_rwlock static_rwlock; /* zero memory: must be a valid rwlock */

Test(rwlock, size_and_zero_init)
{
	cr_assert_leq(sizeof(weft_rwlock), 8);
	cr_assert(weft_rwlock_write_trylock(&static_rwlock));
	weft_rwlock_write_unlock(&static_rwlock);
	weft_rwlock z;
	memset(&z, 0, sizeof z);
	weft_rwlock_read_lock(&z);
	weft_rwlock_read_unlock(&z);
	weft_rwlock_write_lock(&z);
	weft_rwlock_write_unlock(&z);
	cr_assert(weft_test_rwlock_idle(&z));
}

Test(rwlock, readers_share_writers_exclude)
{
	weft_rwlock l = WEFT_RWLOCK_INIT;
	cr_assert(weft_rwlock_read_trylock(&l));
	cr_assert(weft_rwlock_read_trylock(&l), "second reader refused");
	cr_assert_not(weft_rwlock_write_trylock(&l), "writer entered past readers");
	weft_rwlock_read_unlock(&l);
	weft_rwlock_read_unlock(&l);
	cr_assert(weft_rwlock_write_trylock(&l));
	cr_assert_not(weft_rwlock_read_trylock(&l), "reader entered past writer");
	cr_assert_not(weft_rwlock_write_trylock(&l), "two writers");
	cr_assert_eq(weft_rwlock_read_lock_timeout(&l, 0), ETIMEDOUT);
	cr_assert_eq(weft_rwlock_write_lock_timeout(&l, 0), ETIMEDOUT);
	weft_rwlock_write_unlock(&l);
	cr_assert(weft_test_rwlock_idle(&l));
}

typedef struct two_readers {
	weft_rwlock l;
	_Atomic int inside;
	_Atomic int max_inside;
} two_readers;

static void *hold_read(void *p)
{
	two_readers *t = p;
	weft_rwlock_read_lock(&t->l);
	int n = atomic_fetch_add(&t->inside, 1) + 1;
	/* Stay until the other reader is inside too: both hold at once. */
	while (atomic_load(&t->inside) < 2)
		sched_yield();
	int m = atomic_load(&t->max_inside);
	while (n > m && !atomic_compare_exchange_weak(&t->max_inside, &m, n))
		;
	weft_rwlock_read_unlock(&t->l);
	return NULL;
}

Test(rwlock, two_readers_hold_it_at_once)
{
	two_readers t = { .l = WEFT_RWLOCK_INIT };
	pthread_t a, b;
	pthread_create(&a, NULL, hold_read, &t);
	pthread_create(&b, NULL, hold_read, &t);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	cr_assert_eq(atomic_load(&t.max_inside), 2);
	cr_assert(weft_test_rwlock_idle(&t.l));
}

static void bias(weft_rwlock *l)
{
	cr_assert(weft_test_rwlock_bias(l), "lock never biased");
}

typedef struct visible_case {
	weft_rwlock l;
	_Atomic pid_t writer_tid;
	_Atomic bool writer_in;
} visible_case;

/* From another thread: no writer gets past the visible reader in time. */
static void *refused_writers(void *p)
{
	visible_case *v = p;
	cr_assert_not(weft_rwlock_write_trylock(&v->l), "trylock passed a visible reader");
	uint64_t t0 = weft_test_now_ns();
	cr_assert_eq(weft_rwlock_write_lock_timeout(&v->l, 20 * WEFT_MS), ETIMEDOUT,
		     "timed writer passed a visible reader");
	cr_assert_geq(weft_test_now_ns() - t0, 20 * WEFT_MS);
	return NULL;
}

static void *visible_writer(void *p)
{
	visible_case *v = p;
	atomic_store(&v->writer_tid, (pid_t)syscall(SYS_gettid));
	weft_rwlock_write_lock(&v->l);
	atomic_store(&v->writer_in, true);
	weft_rwlock_write_unlock(&v->l);
	return NULL;
}

Test(rwlock, visible_readers_leave_the_word_alone_and_writers_wait_for_them)
{
	visible_case v = { .l = WEFT_RWLOCK_INIT };
	bias(&v.l);
	weft_rwlock_read_lock(&v.l);
	cr_assert_eq(atomic_load(&v.l.state), WEFT__RWLOCK_BIAS,
		     "biased reader wrote the word: %#x", (unsigned)atomic_load(&v.l.state));
	pthread_t w;
	pthread_create(&w, NULL, refused_writers, &v);
	pthread_join(w, NULL);
	/* The writers that gave up left the bias on and the lock free. */
	cr_assert_eq(atomic_load(&v.l.state), WEFT__RWLOCK_BIAS, "state %#x",
		     (unsigned)atomic_load(&v.l.state));
	/* An untimed writer takes WRITE_LOCKED, then waits for us asleep. */
	pthread_create(&w, NULL, visible_writer, &v);
	while (!(atomic_load(&v.l.state) & WEFT__RWLOCK_WLOCKED) ||
	       !atomic_load(&v.writer_tid) ||
	       !weft_test_thread_sleeping(atomic_load(&v.writer_tid)))
		sched_yield();
	cr_assert_not(atomic_load(&v.writer_in), "writer passed a visible reader");
	cr_assert_not(atomic_load(&v.l.state) & WEFT__RWLOCK_BIAS, "bias not revoked");
	weft_rwlock_read_unlock(&v.l);
	pthread_join(w, NULL);
	cr_assert(atomic_load(&v.writer_in));
	cr_assert(weft_test_rwlock_idle(&v.l));
}

Test(rwlock, nested_visible_and_counted_reads_leave_nothing_behind)
{
	weft_rwlock l = WEFT_RWLOCK_INIT;
	bias(&l);
	weft_rwlock_read_lock(&l); /* visible */
	weft_rwlock_read_lock(&l); /* the entry is taken: counted */
	cr_assert_eq(atomic_load(&l.state) & WEFT__RWLOCK_READERS, 1);
	cr_assert_not(weft_rwlock_write_trylock(&l));
	weft_rwlock_read_unlock(&l);
	weft_rwlock_read_unlock(&l);
	cr_assert(weft_test_rwlock_idle(&l));
	cr_assert(weft_rwlock_write_trylock(&l), "free lock refused");
	cr_assert_not(atomic_load(&l.state) & WEFT__RWLOCK_BIAS, "bias not revoked");
	weft_rwlock_write_unlock(&l);
	cr_assert_eq(atomic_load(&l.state), 0);
}

static void *read_visibly_once(void *p)
{
	weft_rwlock *l = p;
	weft_rwlock_read_lock(l);
	bool visible = weft_test_rwlock_visible(l);
	weft_rwlock_read_unlock(l);
	return (void *)(uintptr_t)visible;
}

/*
 * A thread's entry is its own until it exits, then free for the next: 300
 * threads one after the other each read visibly. Were entries kept, the
 * 256-entry table would run out (sooner where threads reuse an address).
 */
Test(rwlock, exited_threads_give_their_entry_back)
{
	weft_rwlock l = WEFT_RWLOCK_INIT;
	bias(&l);
	for (int i = 0; i < 300; i++) {
		pthread_t t;
		void *visible;
		cr_assert_eq(pthread_create(&t, NULL, read_visibly_once, &l), 0);
		pthread_join(t, &visible);
		cr_assert(visible, "thread %d read counted", i);
	}
	cr_assert_eq(atomic_load(&l.state), WEFT__RWLOCK_BIAS, "state %#x",
		     (unsigned)atomic_load(&l.state));
}

/* lock(l, timeout) fails with ETIMEDOUT after at least timeout, not much more. */
static void assert_times_out(int (*lock)(weft_rwlock *, uint64_t), weft_rwlock *l,
			     uint64_t timeout)
{
	uint64_t t0 = weft_test_now_ns();
	cr_assert_eq(lock(l, timeout), ETIMEDOUT);
	uint64_t waited = weft_test_now_ns() - t0;
	cr_assert_geq(waited, timeout);
	cr_assert_lt(waited, timeout + WEFT_TEST_SLACK_NS);
}

Test(rwlock, timeouts_expire_after_at_least_the_timeout)
{
	weft_rwlock l = WEFT_RWLOCK_INIT;
	const uint64_t timeout = 20 * WEFT_MS;
	weft_rwlock_read_lock(&l);
	assert_times_out(weft_rwlock_write_lock_timeout, &l, timeout);
	weft_rwlock_read_unlock(&l);
	cr_assert(weft_test_rwlock_idle(&l), "state %#x",
		  (unsigned)atomic_load(&l.state));

	weft_rwlock_write_lock(&l);
	assert_times_out(weft_rwlock_read_lock_timeout, &l, timeout);
	assert_times_out(weft_rwlock_write_lock_timeout, &l, timeout);
	weft_rwlock_write_unlock(&l);
	cr_assert(weft_test_rwlock_idle(&l), "state %#x",
		  (unsigned)atomic_load(&l.state));
	cr_assert(weft_rwlock_read_trylock(&l));
	weft_rwlock_read_unlock(&l);
}

typedef struct timed {
	weft_rwlock l;
	int result;
	bool writer;
} timed;

static void *timed_locker(void *p)
{
	timed *t = p;
	if (t->writer) {
		t->result = weft_rwlock_write_lock_timeout(&t->l, 10000 * WEFT_MS);
		if (t->result == 0)
			weft_rwlock_write_unlock(&t->l);
	} else {
		t->result = weft_rwlock_read_lock_timeout(&t->l, 10000 * WEFT_MS);
		if (t->result == 0)
			weft_rwlock_read_unlock(&t->l);
	}
	return NULL;
}

Test(rwlock, timed_waiters_get_a_lock_released_while_they_sleep)
{
	for (int w = 0; w < 2; w++) {
		timed t = { .l = WEFT_RWLOCK_INIT, .result = -1, .writer = w };
		weft_rwlock_write_lock(&t.l);
		pthread_t th;
		pthread_create(&th, NULL, timed_locker, &t);
		uint32_t flag = w ? WEFT__RWLOCK_WWAIT : WEFT__RWLOCK_WAITING;
		while (!(atomic_load(&t.l.state) & flag))
			sched_yield();
		weft_rwlock_write_unlock(&t.l);
		pthread_join(th, NULL);
		cr_assert_eq(t.result, 0);
		cr_assert(weft_test_rwlock_idle(&t.l));
	}
}

static void *writer_once(void *p)
{
	weft_rwlock *l = p;
	weft_rwlock_write_lock(l);
	weft_rwlock_write_unlock(l);
	return NULL;
}

Test(rwlock, waiting_writer_stops_new_readers)
{
	weft_rwlock l = WEFT_RWLOCK_INIT;
	weft_rwlock_read_lock(&l);
	pthread_t w;
	pthread_create(&w, NULL, writer_once, &l);
	while (!(atomic_load(&l.state) & WEFT__RWLOCK_WWAIT))
		sched_yield();
	cr_assert_not(weft_rwlock_read_trylock(&l), "reader passed a waiting writer");
	weft_rwlock_read_unlock(&l);
	pthread_join(w, NULL);
	cr_assert(weft_test_rwlock_idle(&l));
}

/*
 * A reader's fast-path add that finds a writer waiting is undone in the slow
 * path; when that undo drops the count to 0 it must wake the writer, as the
 * last reader's unlock would. The add is made by hand here so that the read
 * holder can leave between the add and its undo, which is the window.
 */
typedef struct undo_case {
	weft_rwlock l;
	_Atomic pid_t writer_tid;
	int writer_rc;
} undo_case;

static void *timed_writer(void *p)
{
	undo_case *u = p;
	atomic_store(&u->writer_tid, (pid_t)syscall(SYS_gettid));
	u->writer_rc = weft_rwlock_write_lock_timeout(&u->l, 4000 * WEFT_MS);
	if (u->writer_rc == 0)
		weft_rwlock_write_unlock(&u->l);
	return NULL;
}

Test(rwlock, refused_readers_undo_wakes_the_waiting_writer)
{
	undo_case u = { .l = WEFT_RWLOCK_INIT, .writer_rc = -1 };
	weft_rwlock_read_lock(&u.l);
	pthread_t w;
	pthread_create(&w, NULL, timed_writer, &u);
	while (!(atomic_load(&u.l.state) & WEFT__RWLOCK_WWAIT) ||
	       !weft_test_thread_sleeping(atomic_load(&u.writer_tid)))
		sched_yield();
	/* A second reader's fast path: the add lands, the writer is seen. */
	uint32_t s = atomic_fetch_add(&u.l.state, 1);
	cr_assert_not(weft__rwlock_read_open(s));
	weft_rwlock_read_unlock(&u.l); /* count 2 -> 1: not the last one out */
	uint64_t t0 = weft_test_now_ns();
	/* The undo drops the count to 0; then we wait our turn to read. */
	cr_assert_eq(weft__rwlock_read_lock_slow(&u.l, WEFT_TIMEOUT_NEVER), 0);
	uint64_t waited = weft_test_now_ns() - t0;
	weft_rwlock_read_unlock(&u.l);
	pthread_join(w, NULL);
	/* Unwoken, the writer sleeps until its 4 s timeout, then takes the
	 * free lock (so its rc alone would not tell). */
	cr_assert_lt(waited, 2 * WEFT_TEST_SLACK_NS, "writer not woken: %llu ms",
		     (unsigned long long)(waited / WEFT_MS));
	cr_assert_eq(u.writer_rc, 0);
	cr_assert(weft_test_rwlock_idle(&u.l));
}

/* Four readers re-enter continuously; a writer must still get in fast. */
typedef struct starve {
	weft_rwlock l;
	_Atomic bool stop;
	_Atomic unsigned entries;
} starve;

static void *busy_reader(void *p)
{
	starve *s = p;
	weft_test_read_until(&s->l, &s->stop, &s->entries);
	return NULL;
}

static void *busy_writer(void *p)
{
	starve *s = p;
	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		weft_rwlock_write_lock(&s->l);
		atomic_fetch_add_explicit(&s->entries, 1, memory_order_relaxed);
		for (volatile int i = 0; i < 200; i++)
			;
		weft_rwlock_write_unlock(&s->l);
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/*
 * The waiter's 21 timed acquisitions among busy threads of the other kind.
 * The bound is on the median wait, with a loose cap on the worst: without
 * the policy in weft/rwlock.h (new readers stay out while a writer waits; a
 * writer's unlock grants the lock to the readers asleep) the waiter needs a
 * moment when no busy thread holds or wants the lock, which the busy ones,
 * handing it to each other, rarely leave, so most rounds are slow, not
 * one. Under outside load a single round can lose its CPU for several
 * scheduler ticks (measured: rounds of 4-88 ms among ~0.1 ms ones with 8
 * spinning processes on 2 CPUs), which a bound on the worst round alone
 * reported as starvation. Under sustained load (load average 10-19 on 2
 * CPUs) the median itself is the machine's: the woken writer waits
 * milliseconds for a CPU while readers that never slept pass it (8-28 ms
 * seen; docs/tuning.md, "Readers kept out until the woken writer runs"),
 * so the median bound is checked only when weft_test_machine_busy() says
 * no. Measured medians (the lock before issue 18):
 * 10-100 us; 16-28 ms with readers that ignore a waiting writer. Under qemu the
 * median bound is scaled (weft_test_time_scale).
 */
#define STARVE_ROUNDS 21
/*
 * 10 ms: two scheduler ticks (4 ms at HZ=250) and a half. The woken waiter
 * may wait a tick or two for a CPU that the busy threads (5 on 2 CPUs,
 * beside the other test CI runs at the same time) hold: a 2 ms bound
 * failed 1 run in 15 on a quiet machine (median 4.0 ms, session 8), and a
 * 6 ms bound failed once in the asan suite of a quiet CI run (median 8.0
 * ms, two ticks, session 10). A lock without the policy measures 16-28 ms,
 * so the bound still tells the two apart; a round of 21 that misses it is
 * run once more (the scheduler's bad second is not the lock's).
 */
#define STARVE_MEDIAN_MAX_NS (10 * WEFT_MS)
/* One attempt: the waiter's sorted waits, and the lock left idle? (*state:
 * the lock's word at the end, for the message.) */
static bool starvation_rounds(bool test_writer, uint64_t waits[STARVE_ROUNDS],
			      unsigned *state)
{
	starve s = { .l = WEFT_RWLOCK_INIT };
	const int n = test_writer ? 4 : 2;
	pthread_t th[4];
	for (int i = 0; i < n; i++)
		pthread_create(&th[i], NULL, test_writer ? busy_reader : busy_writer, &s);
	while (atomic_load(&s.entries) < 1000)
		sched_yield();
	for (int round = 0; round < STARVE_ROUNDS; round++) {
		uint64_t t0 = weft_test_now_ns();
		if (test_writer) {
			weft_rwlock_write_lock(&s.l);
			weft_rwlock_write_unlock(&s.l);
		} else {
			weft_rwlock_read_lock(&s.l);
			weft_rwlock_read_unlock(&s.l);
		}
		waits[round] = weft_test_now_ns() - t0;
		unsigned e = atomic_load(&s.entries);
		while (atomic_load(&s.entries) < e + 50) /* let them run again */
			sched_yield();
	}
	atomic_store(&s.stop, true);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	qsort(waits, STARVE_ROUNDS, sizeof waits[0], cmp_u64);
	*state = (unsigned)atomic_load(&s.l.state);
	return weft_test_rwlock_idle(&s.l);
}

static void starvation_run(bool test_writer)
{
	const char *who = test_writer ? "writer" : "reader";
	const uint64_t bound = STARVE_MEDIAN_MAX_NS * weft_test_time_scale();
	uint64_t waits[STARVE_ROUNDS];
	unsigned state;
	for (int attempt = 0; attempt < 2; attempt++) {
		cr_assert(starvation_rounds(test_writer, waits, &state),
			  "lock not idle after the rounds: state %#x", state);
		cr_assert_lt(waits[STARVE_ROUNDS - 1], 1000 * WEFT_MS, "%s's worst wait %llu ms",
			     who, (unsigned long long)(waits[STARVE_ROUNDS - 1] / WEFT_MS));
		if (waits[STARVE_ROUNDS / 2] < bound)
			return;
	}
	if (weft_test_machine_busy())
		cr_log_warn("%s's median wait %llu us: not checked, the machine is busy", who,
			    (unsigned long long)(waits[STARVE_ROUNDS / 2] / 1000));
	else
		cr_assert_lt(waits[STARVE_ROUNDS / 2], bound, "%s's median wait %llu us (twice)", who,
			     (unsigned long long)(waits[STARVE_ROUNDS / 2] / 1000));
}

Test(rwlock, writer_gets_in_past_four_busy_readers)
{
	starvation_run(true);
}

Test(rwlock, reader_gets_in_past_two_busy_writers)
{
	starvation_run(false);
}

/*
 * More waiters than CPUs, readers and writers, all asleep behind a writer:
 * all get the lock when it is released, a timed wait in the crowd still
 * lasts its full timeout and deregisters, and nothing is left behind.
 */
typedef struct crowd_waiter {
	weft_rwlock *l;
	bool writer;
	int result;
} crowd_waiter;

static void *crowd_wait(void *p)
{
	crowd_waiter *w = p;
	w->result = w->writer ? weft_rwlock_write_lock_timeout(w->l, 10000 * WEFT_MS)
			      : weft_rwlock_read_lock_timeout(w->l, 10000 * WEFT_MS);
	if (w->result == 0) {
		if (w->writer)
			weft_rwlock_write_unlock(w->l);
		else
			weft_rwlock_read_unlock(w->l);
	}
	return NULL;
}

static uint32_t waiting_readers(weft_rwlock *l)
{
	return (atomic_load(&l->state) & WEFT__RWLOCK_WAITING) / WEFT__RWLOCK_WAIT_ONE;
}

Test(rwlock, crowded_waiters_all_get_in_and_leave_nothing_behind)
{
	enum { MAX_CROWD = 16 };
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int n = cpus + 2 < MAX_CROWD ? (int)cpus + 2 : MAX_CROWD;
	weft_rwlock l = WEFT_RWLOCK_INIT;
	crowd_waiter w[MAX_CROWD];
	pthread_t th[MAX_CROWD];
	weft_rwlock_write_lock(&l);
	for (int i = 0; i < n; i++) {
		w[i] = (crowd_waiter){ .l = &l, .writer = i % 2, .result = -1 };
		pthread_create(&th[i], NULL, crowd_wait, &w[i]);
	}
	const uint32_t readers = (uint32_t)(n + 1) / 2;
	while (waiting_readers(&l) < readers || !(atomic_load(&l.state) & WEFT__RWLOCK_WWAIT))
		sched_yield();
	/* One more, timed: it waits its whole timeout, then deregisters. */
	assert_times_out(weft_rwlock_read_lock_timeout, &l, 20 * WEFT_MS);
	cr_assert_eq(waiting_readers(&l), readers, "timed-out reader left counted");
	weft_rwlock_write_unlock(&l);
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(w[i].result, 0, "waiter %d: %d", i, w[i].result);
	}
	cr_assert(weft_test_rwlock_idle(&l), "state %#x",
		  (unsigned)atomic_load(&l.state));
}

/*
 * A reader that timed out is no longer counted, so the writer's unlock
 * grants nobody and the next writer gets straight in: no phase is opened
 * for a reader that left (the old design closed such phases with a timer).
 */
Test(rwlock, timed_out_reader_deregisters_and_leaves_no_phase)
{
	weft_rwlock l = WEFT_RWLOCK_INIT;
	weft_rwlock_write_lock(&l);
	assert_times_out(weft_rwlock_read_lock_timeout, &l, 20 * WEFT_MS);
	cr_assert_eq(waiting_readers(&l), 0);
	weft_rwlock_write_unlock(&l);
	cr_assert_eq(atomic_load(&l.state) & ~WEFT__RWLOCK_GRANT, 0, "state %#x",
		     (unsigned)atomic_load(&l.state));
	cr_assert(weft_rwlock_write_trylock(&l), "writer kept out by a phase");
	weft_rwlock_write_unlock(&l);
}
