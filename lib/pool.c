/*
 * lib/pool.c - weft_pool: workers, the injector, stealing, sleeping and
 * waking, joins that help, parallel_for/reduce. The design, the wake-up
 * protocol and the lifetime rules are in weft/pool.h; the deque and its
 * memory orders in lib/internal/deque.h.
 */
#define _GNU_SOURCE
#include "weft/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/mpsc_intrusive.h"
#include "weft/mutex.h"
#include "internal/arch.h"
#include "internal/backoff.h"
#include "internal/cpus.h"
#include "internal/deque.h"
#include "internal/futex.h"

/*
 * An idle worker searches (polls every queue) this long before it sleeps,
 * pausing at most PAUSE_NS between polls: a task submitted within the
 * window starts without a FUTEX_WAKE in the submitter and without the
 * sleeper's wake-up latency (tens of microseconds). A joiner or waiter
 * with nothing to run spins as long before it sleeps: a stolen piece of a
 * parallel_for usually ends within that. Overridable for measurements
 * (-DPOOL_SPIN_NS=<ns>, docs/tuning.md).
 */
#ifndef POOL_SPIN_NS
#define POOL_SPIN_NS 20000
#endif
#define POOL_PAUSE_NS 500

/*
 * How long a joiner outside the pool (weft_task_join, an outside parallel
 * call or weft_pool_join) spins before it sleeps. It helps with nothing
 * and, with as many workers as CPUs, takes a CPU from them while it
 * spins: on fib30 a build with 0 ran ~3% faster in one run, and could
 * not be told apart in another (docs/tuning.md, "Fifth pass"); a short
 * outside join saves a futex wake-up by it. Left at POOL_SPIN_NS until a
 * quiet machine prices both (-DPOOL_OUTSIDE_SPIN_NS=<ns>).
 */
#ifndef POOL_OUTSIDE_SPIN_NS
#define POOL_OUTSIDE_SPIN_NS POOL_SPIN_NS
#endif

/*
 * A searching worker looks at the queues once per POOL_SEARCH_POLL_NS,
 * from its first look (weft__backoff_make_paced_ns), not 1, 2, 4, ...
 * hints apart. Each look reads the lines the submitters write per push
 * (a submit ring's bottom and slots, the injector's count); the next push
 * then waits, at its seq_cst fence, for those lines to come back: one
 * cache-line round trip between CPUs per look, whose cost the host's
 * placement of vCPUs can triple. Looks bunched after a search starts
 * found a few jobs each and made every push of a steady stream wait;
 * looks 2 us apart find a batch (docs/tuning.md, "Fourth pass"). 2 us is
 * small next to a futex wake-up (tens of us), which the search saves.
 */
#ifndef POOL_SEARCH_POLL_NS
#define POOL_SEARCH_POLL_NS 2000
#endif

/* Tasks a worker moves from the injector or a submit ring to its deque
 * in one visit (besides the one it runs): the injector's token exchange,
 * or a ring's CAS, once per 33 tasks; the 32 wait on the deque, where the
 * other workers can steal them. */
#define INJECTOR_BATCH 32

/*
 * Submit rings (see weft/pool.h): at most MAX_RINGS outside threads get
 * one each (the later ones use the injector). A ring starts with 2^8 jobs
 * of 16 bytes and doubles up to RING_MAX_JOBS queued (2 MiB); beyond
 * that its thread's submits go to the injector until the workers catch up.
 */
#define MAX_RINGS 8
#define RING_LOG2_SLOTS 8
#define RING_MAX_JOBS (1 << 17)

/* Initial deque size: 2^8 slots, doubled when full. */
#define DEQUE_LOG2_SLOTS 8

/*
 * KIND_EXECUTE, KIND_SPAWN: counted, malloc'd, dropped by DISCARD.
 * KIND_PIECE (a parallel_for/reduce half, an outside join's root) and
 * KIND_JOIN (weft_pool_join's offered function, fn.spawn(arg) into result):
 * records on their caller's stack, not counted (their caller's task or
 * call is), always run (their caller waits for them).
 */
enum task_kind { KIND_EXECUTE, KIND_SPAWN, KIND_PIECE, KIND_JOIN };

/*
 * What the deques and the submit rings hold: two words. fn non-NULL: an
 * execute task without a record, fn(arg) (the function pointer as a data
 * word: POSIX guarantees the round trip, as dlsym needs). fn NULL: arg is
 * a weft_task record (spawned tasks, pieces, execute tasks that went
 * through the injector). Both NULL: no job.
 */
typedef struct job {
	void *fn;
	void *arg;
} job;
#define JOB_WORDS 2

static inline void *fn_word(void (*fn)(void *))
{
	union { void (*f)(void *); void *p; } u = { .f = fn };
	return u.p;
}

static inline void (*word_fn(void *p))(void *)
{
	union { void *p; void (*f)(void *); } u = { .p = p };
	return u.f;
}

_Static_assert(sizeof(void (*)(void *)) == sizeof(void *),
	       "jobs keep a function pointer in a data word");

/*
 * A submit ring: one outside thread's jobs, a Chase-Lev deque of jobs
 * that its owner (the submitting thread) only pushes and the workers
 * steal from in batches (weft__deque_steal_batch_words: one CAS per
 * batch; safe because the owner never takes). It grows as a worker's
 * deque does; the producer reads the consumers' line only when the array
 * looks full (top_seen).
 */
typedef struct submit_ring {
	weft__deque q;
} submit_ring;

/* weft_task.state: PENDING until run; then DONE or CANCELED, with WAITER
 * set while a joiner sleeps (or is about to) on the word. */
enum { TASK_PENDING = 0, TASK_DONE = 1, TASK_CANCELED = 2, TASK_WAITER = 4 };
#define TASK_ENDED (TASK_DONE | TASK_CANCELED)

enum { POOL_RUNNING = 0, POOL_DRAIN = 1, POOL_DISCARD = 2 };

/* worker.parked: on the idle list or not, and who took it off. */
enum {
	PARK_NO = 0,	   /* not listed (left by itself, or its join ended) */
	PARK_LISTED = 1,   /* on the idle list, asleep or about to be */
	PARK_CLAIMED = 2,  /* taken off by a waker, counted as searching */
};


struct weft_task {
	weft_mpsc_node node; /* the injector's link */
	_Atomic uint32_t state;
	uint8_t kind;
	union {
		void (*execute)(void *);
		void *(*spawn)(void *);
		void (*piece)(weft_task *);
	} fn;
	void *arg;
	void *result;
	/* The worker sleeping in wait_task on this task (set before WAITER);
	 * NULL for a joiner outside the pool, which sleeps on `state`. */
	struct worker *waiter;
};

typedef struct worker {
	weft__deque dq; /* first: cache-line aligned */
	weft_pool *pool;
	/* PARK_*: the futex word this worker sleeps on, idle or joining. */
	_Atomic uint32_t parked;
	bool searching; /* counted in pool.searching; this worker's only */
	/* Counted items this worker ended, and began (tasks spawned from its
	 * tasks), see pending_estimate; written by this worker only, on a
	 * line no other thread writes: a fork-join's spawns and ends bounce
	 * no line between workers. */
	_Atomic uint64_t completed;
	_Atomic uint64_t submitted;
	uint64_t rng;	/* victim choice; this worker's only */
	uint32_t visits; /* find_work's order of the shared queues; ours only */
	unsigned index;
	pthread_t tid;
} worker;

struct weft_pool {
	WEFT_ALIGNED_CACHELINE weft_mpsc_intrusive injector;
	/* 1 while a worker consumes the injector (its single consumer). */
	WEFT_ALIGNED_CACHELINE _Atomic uint32_t injector_token;
	/* Tasks linked into the injector and not yet popped: the emptiness
	 * test. The queue's tail cannot be one: the consumer re-pushes the
	 * stub when it reaches the last node, and a producer racing with that
	 * leaves its node linked before the stub, so tail == stub while a
	 * task is queued (seen: both workers parked, a joiner waiting forever
	 * on a task in the injector). */
	_Atomic uint64_t injected;
	/* Idle workers: how many are on the idle list (written under
	 * idle_lock, read as a hint by submitters) and how many search. */
	WEFT_ALIGNED_CACHELINE _Atomic uint32_t nidle;
	_Atomic uint32_t searching;
	weft_mutex idle_lock; /* guards idle[] */
	unsigned *idle;	      /* indices of parked workers, nidle of them */
	/* Counted items (weft/pool.h): submitted counts every one begun
	 * outside the workers (a worker's own count the rest); they end in a
	 * worker's `completed` or, when they end outside the workers (a
	 * refusal, an outside parallel call), in ended_outside.
	 * Submitters and workers write different lines: no line bounces
	 * between them per task. */
	WEFT_ALIGNED_CACHELINE _Atomic uint64_t submitted;
	WEFT_ALIGNED_CACHELINE _Atomic uint64_t ended_outside;
	/* Submit rings: ring_owner[i] is the thread (the address of its
	 * tls_ring_id) that owns rings[i], 0 if free; rings are allocated on
	 * first claim, kept to the end, and published below nrings. */
	WEFT_ALIGNED_CACHELINE _Atomic uintptr_t ring_owner[MAX_RINGS];
	_Atomic(submit_ring *) rings[MAX_RINGS];
	_Atomic uint32_t nrings;
	uint64_t id; /* unique per pool created: tells a reused address */
	_Atomic uint32_t in_wait; /* tasks inside weft_pool_wait */
	/* Read-mostly: weft_pool_wait's futex word and sleeper count, mode. */
	WEFT_ALIGNED_CACHELINE _Atomic uint32_t wait_seq;
	_Atomic uint32_t waiters;	 /* asleep (or about to be) in wait */
	_Atomic uint32_t inside_waiters; /* those of them that are tasks */
	_Atomic uint32_t mode; /* POOL_* */
	/* Read-only after create. */
	WEFT_ALIGNED_CACHELINE worker *workers;
	unsigned nworkers;
	uint32_t max_searching; /* 0: never spin (one usable CPU) */
	char *name;
};

/* The worker the calling thread is; NULL outside every pool. */
static _Thread_local worker *tls_worker;

/* The calling thread's submit ring in the pool it submitted to last
 * (pool and its id: a destroyed pool's address may come back); ring NULL:
 * none was free. tls_ring_id's address names the thread (ring_owner). */
static _Thread_local struct {
	weft_pool *pool;
	uint64_t id;
	submit_ring *ring;
} tls_ring;
static _Thread_local char tls_ring_id;
static _Atomic uint64_t pool_ids;

/* ------------------------------------------------------------ waking */

/* Take w off the idle list (idle_lock held): w->parked must be 1. */
static void unlist_idle(weft_pool *p, worker *w)
{
	uint32_t n = atomic_load_explicit(&p->nidle, memory_order_relaxed);
	for (uint32_t i = 0; i < n; i++) {
		if (p->idle[i] == w->index) {
			p->idle[i] = p->idle[n - 1];
			/* relaxed: a hint for submitters, ordered by their fences. */
			atomic_store_explicit(&p->nidle, n - 1, memory_order_relaxed);
			return;
		}
	}
	WEFT_DEBUG_CHECK(false, "weft_pool: a listed worker is not on the idle list");
}

/*
 * Take w off the list (idle_lock held, w on the list) and say why: parked
 * changes under idle_lock only, so "parked == PARK_LISTED" read under the
 * lock means "on the list". The FUTEX_WAKE comes after the unlock.
 */
static void unlist_as(weft_pool *p, worker *w, uint32_t how)
{
	unlist_idle(p, w);
	/* release: pairs with the acquire load of parked in sleep_parked. */
	atomic_store_explicit(&w->parked, how, memory_order_release);
}

/* Put w on the idle list (PARK_LISTED). */
static void list_idle(weft_pool *p, worker *w)
{
	weft_mutex_lock(&p->idle_lock);
	uint32_t n = atomic_load_explicit(&p->nidle, memory_order_relaxed);
	p->idle[n] = w->index;
	/* relaxed: read by wakers under idle_lock, by submitters after
	 * their fence. */
	atomic_store_explicit(&p->nidle, n + 1, memory_order_relaxed);
	atomic_store_explicit(&w->parked, PARK_LISTED, memory_order_relaxed);
	weft_mutex_unlock(&p->idle_lock);
}

/* Take w off the idle list if it is still there; returns its parked state
 * before (PARK_LISTED: we took it off, now PARK_NO). */
static uint32_t unlist_if_listed(weft_pool *p, worker *w, bool wake)
{
	weft_mutex_lock(&p->idle_lock);
	/* relaxed: written under idle_lock only (or by the worker itself). */
	uint32_t was = atomic_load_explicit(&w->parked, memory_order_relaxed);
	if (was == PARK_LISTED)
		unlist_as(p, w, PARK_NO);
	weft_mutex_unlock(&p->idle_lock);
	if (was == PARK_LISTED && wake)
		weft__futex_wake(&w->parked, 1);
	return was;
}

/* Sleep until taken off the list; true if a waker claimed us (we count
 * as searching), false if our join ended. */
static bool sleep_parked(worker *w)
{
	weft__deadline never = weft__deadline_never();
	uint32_t v;
	/* acquire: pairs with the release store in unlist_as. */
	while ((v = atomic_load_explicit(&w->parked, memory_order_acquire)) == PARK_LISTED)
		weft__futex_wait(&w->parked, PARK_LISTED, &never);
	return v == PARK_CLAIMED;
}

/*
 * Wake up to n parked workers. Each woken one is counted as searching on
 * its behalf, so the submits that follow do not wake another before it
 * has even run; it stops searching when it finds work or parks again.
 */
static void wake_workers(weft_pool *p, unsigned n)
{
	worker *woken[16];
	while (n > 0) {
		unsigned k = 0;
		weft_mutex_lock(&p->idle_lock);
		uint32_t have = atomic_load_explicit(&p->nidle, memory_order_relaxed);
		while (k < n && k < 16 && have > 0) {
			woken[k] = &p->workers[p->idle[--have]];
			unlist_as(p, woken[k++], PARK_CLAIMED);
		}
		/* relaxed: a hint limiting wake-ups and spinners. */
		atomic_fetch_add_explicit(&p->searching, k, memory_order_relaxed);
		weft_mutex_unlock(&p->idle_lock);
		for (unsigned i = 0; i < k; i++)
			weft__futex_wake(&woken[i]->parked, 1);
		if (k < 16)
			break;
		n -= k;
	}
}

static void notify_waiters(weft_pool *p)
{
	/* release: a waiter whose futex compare or next acquire load sees the
	 * new value sees what we did before (pairs with the acquire load of
	 * wait_seq in weft_pool_wait). */
	atomic_fetch_add_explicit(&p->wait_seq, 1, memory_order_release);
	weft__futex_wake(&p->wait_seq, WEFT__FUTEX_WAKE_ALL);
}

/*
 * New work is visible, published by a seq_cst read-modify-write just
 * before (the increment of `injected` in inject): wake one sleeper unless
 * a searcher will find it. Waiters in weft_pool_wait from inside a task
 * also run queued work: wake them too.
 *
 * seq_cst loads after the seq_cst RMW, against park / pass_on_wakeup /
 * join_park, which write (list themselves, stop searching), issue a
 * seq_cst fence and then look at the queues (Dekker, by the seq_cst fence
 * rules of C11 7.17.3 / C++ [atomics.order]): if our load of nidle/searching follows their fence in the single total
 * order S, it sees their write (it was sequenced before the fence); else
 * our RMW precedes their fence in S and their look after it sees the RMW.
 * No fence of our own: on x86 the RMW is a locked instruction and these
 * loads are plain moves (the submitter's fence cost ~18% of an execute).
 */
static void notify_work_after_rmw(weft_pool *p)
{
	if (atomic_load_explicit(&p->searching, memory_order_seq_cst) == 0 &&
	    atomic_load_explicit(&p->nidle, memory_order_seq_cst) > 0)
		wake_workers(p, 1);
	/* seq_cst: as above, against the seq_cst registration in
	 * weft_pool_wait. Only tasks waiting inside the pool run queued work;
	 * an outside waiter is woken by the last end. */
	if (atomic_load_explicit(&p->inside_waiters, memory_order_seq_cst) > 0)
		notify_waiters(p);
}

/* The same after a deque push, whose release store of bottom is not an
 * RMW: a seq_cst fence first, which pairs with the fence in park (Dekker:
 * we see its idle-list entry, or it sees our push). */
static void notify_work(weft_pool *p)
{
	atomic_thread_fence(memory_order_seq_cst);
	notify_work_after_rmw(p);
}

/* ------------------------------------------------------------ counting */

static uint32_t load_mode(weft_pool *p)
{
	/* seq_cst: against the counters in finish_counted / should_exit /
	 * begin_counted (see there). */
	return atomic_load_explicit(&p->mode, memory_order_seq_cst);
}

/*
 * Counted items not yet ended, never less than the true number at the
 * first load: every end-side counter is read first, then every submit-side
 * one. Every end read here was preceded (happens-before: the item went
 * through a queue, release/acquire) by its own submit, which the later
 * seq_cst load of that submit counter therefore sees; submits after the
 * first load only add.
 */
static uint64_t pending_estimate(weft_pool *p)
{
	/* seq_cst: all of these, see above and begin_counted. */
	uint64_t ended = atomic_load_explicit(&p->ended_outside, memory_order_seq_cst);
	for (unsigned i = 0; i < p->nworkers; i++)
		ended += atomic_load_explicit(&p->workers[i].completed,
					      memory_order_seq_cst);
	uint64_t begun = atomic_load_explicit(&p->submitted, memory_order_seq_cst);
	for (unsigned i = 0; i < p->nworkers; i++)
		begun += atomic_load_explicit(&p->workers[i].submitted,
					      memory_order_seq_cst);
	return begun - ended;
}

/* Where the calling thread's ends are counted. */
static _Atomic uint64_t *end_counter(weft_pool *p)
{
	worker *w = tls_worker;
	return w && w->pool == p ? &w->completed : &p->ended_outside;
}

/* Where the calling thread's submits are counted. */
static _Atomic uint64_t *begin_counter(weft_pool *p)
{
	worker *w = tls_worker;
	return w && w->pool == p ? &w->submitted : &p->submitted;
}

static bool wait_done(weft_pool *p, bool inside);

/*
 * One counted item ended: wake waiters whose condition may now hold (not
 * on every end: an outside waiter sleeps until the last one), and the
 * stopping workers at zero.
 */
static void finish_counted(weft_pool *p)
{
	/* seq_cst: pairs with the seq_cst registration of waiters in
	 * weft_pool_wait (Dekker) and with the mode store of destroy. Of
	 * several ends racing for the last item, the last in that order sees
	 * all of them in wait_done. */
	atomic_fetch_add_explicit(end_counter(p), 1, memory_order_seq_cst);
	if (atomic_load_explicit(&p->waiters, memory_order_seq_cst) > 0 &&
	    (atomic_load_explicit(&p->inside_waiters, memory_order_seq_cst) > 0 ||
	     wait_done(p, false)))
		notify_waiters(p);
	if (load_mode(p) != POOL_RUNNING && pending_estimate(p) == 0)
		wake_workers(p, p->nworkers);
}

/*
 * Count one item in (a task or an outside parallel call) unless destroy
 * began. seq_cst increment then seq_cst mode load, against destroy's
 * seq_cst mode store then a worker's seq_cst counter loads: a worker that
 * saw the destroy and nothing pending exits only if we saw the destroy too.
 */
static int begin_counted(weft_pool *p)
{
	atomic_fetch_add_explicit(begin_counter(p), 1, memory_order_seq_cst);
	if (load_mode(p) == POOL_RUNNING)
		return 0;
	finish_counted(p);
	return EPIPE;
}

static bool should_exit(weft_pool *p)
{
	return load_mode(p) != POOL_RUNNING && pending_estimate(p) == 0;
}

/* ------------------------------------------------------------ finding work */

static bool injector_maybe_nonempty(weft_pool *p)
{
	/* relaxed: park orders it with its seq_cst fence, against the
	 * submitter's seq_cst increment (see notify_work_after_rmw). Nonzero
	 * may mean a push still linking, or popped tasks not yet uncounted:
	 * callers look again. */
	return atomic_load_explicit(&p->injected, memory_order_relaxed) > 0;
}

/* Link t into the injector, counted first (see `injected`); then call
 * notify_work_after_rmw. */
static void inject(weft_pool *p, weft_mpsc_node *n)
{
	/* seq_cst: the RMW that notify_work_after_rmw's Dekker argument
	 * relies on (see there); pairs with the fences in park,
	 * pass_on_wakeup and join_park before they read it. */
	atomic_fetch_add_explicit(&p->injected, 1, memory_order_seq_cst);
	weft__mpsc_intrusive_link(&p->injector, n);
}

/* Uncount n tasks popped from the injector (one RMW per batch, not per
 * task: the line is the submitters' too; until then `injected` overstates,
 * and a worker that sees it nonzero only looks once more). */
static void uncount_ejected(weft_pool *p, uint64_t n)
{
	if (n)
		/* relaxed: a count; the tasks themselves are ordered by the
		 * queue. */
		atomic_fetch_sub_explicit(&p->injected, n, memory_order_relaxed);
}

static weft_task *task_of(weft_mpsc_node *n)
{
	return WEFT_CONTAINER_OF(n, weft_task, node);
}

static job record_job(weft_task *t)
{
	return (job){ NULL, t };
}

static bool push_job(worker *w, job j)
{
	void *words[JOB_WORDS] = { j.fn, j.arg };
	return weft__deque_push_words(&w->dq, words, JOB_WORDS);
}

/* One task from the injector, and up to a batch more into w's deque. */
static job take_injector(worker *w)
{
	weft_pool *p = w->pool;
	if (!injector_maybe_nonempty(p))
		return (job){ 0 };
	/* acquire: pairs with the release store below by the previous
	 * consumer (hands over the queue's plain head). */
	if (atomic_exchange_explicit(&p->injector_token, 1, memory_order_acquire))
		return (job){ 0 }; /* another worker is consuming it */
	weft_mpsc_node *n = weft_mpsc_intrusive_pop(&p->injector);
	weft_task *first = n ? task_of(n) : NULL;
	unsigned moved = 0;
	bool reinjected = false;
	while (first && moved < INJECTOR_BATCH &&
	       (n = weft_mpsc_intrusive_pop(&p->injector))) {
		if (!push_job(w, record_job(task_of(n)))) {
			/* no memory to grow: put it back (order lost, not it) */
			uncount_ejected(p, 1);
			inject(p, n);
			reinjected = true;
			break;
		}
		moved++;
	}
	uncount_ejected(p, first ? moved + 1 : 0);
	/* release: pairs with the acquire exchange above. */
	atomic_store_explicit(&p->injector_token, 0, memory_order_release);
	if (moved)
		notify_work(p);
	else if (reinjected)
		notify_work_after_rmw(p);
	return first ? record_job(first) : (job){ 0 };
}

/* ------------------------------------------------------------ submit rings */

static uint32_t rings_published(weft_pool *p)
{
	/* acquire: pairs with the release CAS in claim_ring, so the ring
	 * pointers below it are visible (they are written first). */
	return atomic_load_explicit(&p->nrings, memory_order_acquire);
}

static submit_ring *ring_at(weft_pool *p, uint32_t i)
{
	/* acquire: pairs with the release store in claim_ring (the ring's
	 * zeroed memory). */
	return atomic_load_explicit(&p->rings[i], memory_order_acquire);
}

static bool ring_maybe_nonempty(submit_ring *r)
{
	/* a hint; exactness comes from the callers' seq_cst fences (park)
	 * against the producer's (notify_work after ring_push). */
	return weft__deque_maybe_nonempty(&r->q);
}

/* Ring i of p, allocated if this is its first owner; NULL: no memory. */
static submit_ring *ring_for_new_owner(weft_pool *p, uint32_t i)
{
	submit_ring *r = ring_at(p, i);
	if (!r) {
		r = aligned_alloc(WEFT_CACHELINE, sizeof *r);
		if (!r)
			return NULL;
		memset(r, 0, sizeof *r);
		if (weft__deque_init_words(&r->q, RING_LOG2_SLOTS, JOB_WORDS)) {
			free(r);
			return NULL;
		}
		/* release: publishes the zeroed ring to ring_at. */
		atomic_store_explicit(&p->rings[i], r, memory_order_release);
		uint32_t n = atomic_load_explicit(&p->nrings, memory_order_relaxed);
		/* release: pairs with the acquire load in rings_published. */
		while (n < i + 1 &&
		       !atomic_compare_exchange_weak_explicit(&p->nrings, &n, i + 1,
							      memory_order_release,
							      memory_order_relaxed))
			;
	}
	/* acquire: a top the workers moved; any value <= the true top only
	 * costs the producer one more look (the last owner's thread ended). */
	r->q.top_seen = atomic_load_explicit(&r->q.top, memory_order_acquire);
	return r;
}

/*
 * The calling thread's ring in p: the one it owns, or a free one it
 * claims (kept for the pool's life: a thread that exits leaves it to the
 * next thread whose tls_ring_id has the same address, which glibc gives
 * only after the old thread's exit, through its stack cache's lock).
 * NULL: all taken (submits go to the injector).
 */
static submit_ring *claim_ring(weft_pool *p)
{
	uintptr_t me = (uintptr_t)&tls_ring_id;
	submit_ring *r = NULL;
	for (uint32_t i = 0; i < MAX_RINGS && !r; i++)
		/* relaxed: only this thread stores `me` here. */
		if (atomic_load_explicit(&p->ring_owner[i], memory_order_relaxed) == me)
			r = ring_for_new_owner(p, i);
	for (uint32_t i = 0; i < MAX_RINGS && !r; i++) {
		uintptr_t free_slot = 0;
		/* relaxed: a claim; the ring itself is published by its
		 * pointer (release/acquire). */
		if (atomic_compare_exchange_strong_explicit(&p->ring_owner[i], &free_slot,
							    me, memory_order_relaxed,
							    memory_order_relaxed)) {
			r = ring_for_new_owner(p, i);
			if (!r) /* no memory: give it back */
				atomic_store_explicit(&p->ring_owner[i], 0,
						      memory_order_relaxed);
			break;
		}
	}
	tls_ring.pool = p;
	tls_ring.id = p->id;
	tls_ring.ring = r;
	return r;
}

static submit_ring *my_ring(weft_pool *p)
{
	if (WEFT_LIKELY(tls_ring.pool == p && tls_ring.id == p->id))
		return tls_ring.ring;
	return claim_ring(p);
}

/* Producer: queue fn(arg); false when RING_MAX_JOBS are queued or no
 * memory to grow. */
static bool ring_push(submit_ring *r, void (*fn)(void *), void *arg)
{
	/* relaxed: only this thread writes bottom. */
	int64_t b = atomic_load_explicit(&r->q.bottom, memory_order_relaxed);
	if (b - r->q.top_seen >= RING_MAX_JOBS) {
		/* acquire: as in weft__deque_push. */
		r->q.top_seen = atomic_load_explicit(&r->q.top, memory_order_acquire);
		if (b - r->q.top_seen >= RING_MAX_JOBS)
			return false;
	}
	void *words[JOB_WORDS] = { fn_word(fn), arg };
	return weft__deque_push_words(&r->q, words, JOB_WORDS);
}

static void run_job(worker *w, job j, bool joined_here);

/*
 * Consumer: steal up to a batch of r's jobs with one CAS; return the
 * first, push the rest on w's deque (where the others can steal them).
 */
static job take_ring(worker *w, submit_ring *r)
{
	if (!ring_maybe_nonempty(r))
		return (job){ 0 };
	void *got[(INJECTOR_BATCH + 1) * JOB_WORDS];
	unsigned n = weft__deque_steal_batch_words(&r->q, got, INJECTOR_BATCH + 1,
						   JOB_WORDS);
	if (n == 0)
		return (job){ 0 };
	unsigned i = 1;
	while (i < n && push_job(w, (job){ got[i * 2], got[i * 2 + 1] }))
		i++;
	if (i > 1)
		notify_work(w->pool);
	for (; i < n; i++) /* no memory to grow the deque: run them here */
		run_job(w, (job){ got[i * 2], got[i * 2 + 1] }, false);
	return (job){ got[0], got[1] };
}

/* A job from the rings, starting at one that depends on the worker. */
static job take_rings(worker *w)
{
	weft_pool *p = w->pool;
	uint32_t n = rings_published(p);
	for (uint32_t k = 0; k < n; k++) {
		submit_ring *r = ring_at(p, (w->index + k) % n);
		if (r) {
			job j = take_ring(w, r);
			if (j.fn || j.arg)
				return j;
		}
	}
	return (job){ 0 };
}

static uint32_t next_random(worker *w)
{
	/* xorshift64 */
	uint64_t x = w->rng;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	w->rng = x;
	return (uint32_t)(x >> 32);
}

/* Steal from the others, starting at a random victim. */
static job steal_work(worker *w)
{
	weft_pool *p = w->pool;
	unsigned n = p->nworkers;
	if (n < 2)
		return (job){ 0 };
	for (int round = 0; round < 4; round++) {
		bool lost_race = false;
		unsigned start = next_random(w) % n;
		for (unsigned i = 0; i < n; i++) {
			worker *v = &p->workers[(start + i) % n];
			if (v == w)
				continue;
			void *x[JOB_WORDS];
			int got = weft__deque_steal_words(&v->dq, x, JOB_WORDS);
			if (got == WEFT__DEQUE_LOST)
				lost_race = true;
			else if (got == WEFT__DEQUE_GOT)
				return (job){ x[0], x[1] };
		}
		if (!lost_race)
			break;
	}
	return (job){ 0 };
}

static bool is_job(job j)
{
	return j.fn || j.arg;
}

static job find_work(worker *w)
{
	void *x[JOB_WORDS];
	/* The owner's own deque looks empty: it is (bottom is the owner's,
	 * and a stale top is only smaller): skip take's seq_cst fence. */
	if (weft__deque_maybe_nonempty(&w->dq) &&
	    weft__deque_take_words(&w->dq, x, JOB_WORDS))
		return (job){ x[0], x[1] };
	/* The rings and the injector first in turn: a flood into one does
	 * not starve the other. */
	bool rings_first = w->visits++ & 1;
	job j = rings_first ? take_rings(w) : take_injector(w);
	if (!is_job(j))
		j = rings_first ? take_injector(w) : take_rings(w);
	if (!is_job(j))
		j = steal_work(w);
	return j;
}

/* Is there work anywhere (a hint: exactness comes from the callers' fences)? */
static bool work_visible(weft_pool *p)
{
	if (injector_maybe_nonempty(p))
		return true;
	uint32_t n = rings_published(p);
	for (uint32_t i = 0; i < n; i++) {
		submit_ring *r = ring_at(p, i);
		if (r && ring_maybe_nonempty(r))
			return true;
	}
	for (unsigned i = 0; i < p->nworkers; i++)
		if (weft__deque_maybe_nonempty(&p->workers[i].dq))
			return true;
	return false;
}

/* ------------------------------------------------------------ running */

/*
 * Mark t ended (DONE or CANCELED) and wake its joiner if it sleeps. The
 * waiter is read before the CAS that ends t: once t has ended, its joiner
 * may free it. A joining worker is taken off the idle list and woken (the
 * worker outlives t); an outside joiner sleeps on t->state itself.
 */
static void complete(weft_task *t, uint32_t how)
{
	/* acquire: pairs with the joiner's release CAS setting WAITER, so
	 * t->waiter (written before it) is visible. */
	uint32_t s = atomic_load_explicit(&t->state, memory_order_acquire);
	worker *waiter;
	do {
		waiter = (s & TASK_WAITER) ? t->waiter : NULL;
		/* release: publishes the result (and a piece's writes) to the
		 * acquire load of state in wait_task; acquire on failure: as
		 * the load above. */
	} while (!atomic_compare_exchange_weak_explicit(&t->state, &s, how,
							memory_order_release,
							memory_order_acquire));
	if (!(s & TASK_WAITER))
		return;
	if (waiter)
		unlist_if_listed(waiter->pool, waiter, true);
	else /* t may be freed by now: see weft/pool.h */
		weft__futex_wake(&t->state, WEFT__FUTEX_WAKE_ALL);
}

static bool discarding(weft_pool *p)
{
	/* relaxed: a late look only runs a task destroy would have dropped
	 * (it was submitted before destroy began). */
	return atomic_load_explicit(&p->mode, memory_order_relaxed) == POOL_DISCARD;
}

/*
 * End t. joined_here: the calling worker is t's joiner (wait_task found t
 * in the queues and runs it itself, the common case of a fork-join), so
 * nobody else sleeps on t or reads its state: a plain store ends it, not
 * complete()'s CAS and wake-up check (join consumes the handle: one joiner).
 */
static void end_task(weft_task *t, uint32_t how, bool joined_here)
{
	if (joined_here)
		/* relaxed: only this thread reads t->state from now on (the
		 * WAITER bit, if an earlier round set it, was ours). */
		atomic_store_explicit(&t->state, how, memory_order_relaxed);
	else
		complete(t, how);
}

static void run_task(worker *w, weft_task *t, bool joined_here)
{
	weft_pool *p = w->pool;
	switch (t->kind) {
	case KIND_EXECUTE:
		if (!discarding(p))
			t->fn.execute(t->arg);
		free(t);
		finish_counted(p);
		break;
	case KIND_SPAWN:
		if (discarding(p)) {
			end_task(t, TASK_CANCELED, joined_here);
		} else {
			t->result = t->fn.spawn(t->arg);
			end_task(t, TASK_DONE, joined_here);
		}
		finish_counted(p);
		break;
	case KIND_JOIN: /* always runs, its caller waits for it */
		t->result = t->fn.spawn(t->arg);
		end_task(t, TASK_DONE, joined_here);
		break;
	default: /* KIND_PIECE: always runs, its caller waits for it */
		t->fn.piece(t);
		end_task(t, TASK_DONE, joined_here);
		break;
	}
}

/* Run a job: a record (run_task) or an execute task without one. */
static void run_job(worker *w, job j, bool joined_here)
{
	if (!j.fn) {
		run_task(w, j.arg, joined_here);
		return;
	}
	weft_pool *p = w->pool;
	if (!discarding(p))
		word_fn(j.fn)(j.arg);
	finish_counted(p);
}

static void stop_searching(worker *w);
static void pass_on_wakeup(worker *w);

/*
 * Register as t's sleeping joiner and sleep on w's park word, on the idle
 * list: new work wakes us (a waker claims us like an idle worker), and so
 * does the end of t (complete). Returns when either may have happened.
 */
static void join_park(worker *w, weft_task *t)
{
	weft_pool *p = w->pool;
	/* relaxed: nothing to order yet; the CAS below re-checks. */
	uint32_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
	if (s & TASK_ENDED)
		return;
	if (!(s & TASK_WAITER)) {
		/* Written once, before WAITER (an earlier round of ours may
		 * have set both already): published by the release CAS. */
		t->waiter = w;
		/* release: publishes t->waiter to complete's acquire load. */
		if (!atomic_compare_exchange_strong_explicit(&t->state, &s,
							     s | TASK_WAITER,
							     memory_order_release,
							     memory_order_relaxed))
			return; /* it ended (or changed): the caller looks again */
	}
	stop_searching(w);
	list_idle(p, w);
	/* seq_cst: pairs with the fence in notify_work (as park); and the
	 * idle_lock orders our listing against complete's unlisting. */
	atomic_thread_fence(memory_order_seq_cst);
	/* acquire: pairs with complete's release CAS. */
	if (work_visible(p) ||
	    (atomic_load_explicit(&t->state, memory_order_acquire) & TASK_ENDED)) {
		uint32_t was = unlist_if_listed(p, w, false);
		w->searching = was == PARK_CLAIMED;
		return;
	}
	w->searching = sleep_parked(w);
}

/* Wait until t ended; a worker (w) runs other tasks meanwhile, and sleeps
 * as an idle worker would when there are none. */
static void wait_task(worker *w, weft_task *t)
{
	weft__backoff b = weft__backoff_make_ns(w ? POOL_SPIN_NS : POOL_OUTSIDE_SPIN_NS,
						POOL_PAUSE_NS);
	for (;;) {
		/* acquire: pairs with the release CAS in complete. */
		uint32_t s = atomic_load_explicit(&t->state, memory_order_acquire);
		if (s & TASK_ENDED)
			break;
		if (w) {
			job o = find_work(w);
			if (is_job(o)) {
				if (w->searching)
					pass_on_wakeup(w);
				run_job(w, o, !o.fn && o.arg == t);
				b = weft__backoff_make_ns(POOL_SPIN_NS, POOL_PAUSE_NS);
				continue;
			}
		}
		if (weft__backoff_spin(&b))
			continue;
		if (w) {
			join_park(w, t);
			continue;
		}
		/* relaxed: the CAS only registers us; the acquire load at the
		 * top of the loop reads the outcome. */
		if (!(s & TASK_WAITER) &&
		    !atomic_compare_exchange_weak_explicit(&t->state, &s,
							   s | TASK_WAITER,
							   memory_order_relaxed,
							   memory_order_relaxed))
			continue;
		weft__deadline never = weft__deadline_never();
		weft__futex_wait(&t->state, s | TASK_WAITER, &never);
	}
	/* Claimed as a searcher while joining: hand the wake-up on. */
	if (w && w->searching)
		pass_on_wakeup(w);
}

/* ------------------------------------------------------------ workers */

static void stop_searching(worker *w)
{
	if (w->searching) {
		w->searching = false;
		/* relaxed: a hint (see wake_workers); park's fence orders it
		 * before its recheck of the queues. */
		atomic_fetch_sub_explicit(&w->pool->searching, 1, memory_order_relaxed);
	}
}

/*
 * A searcher that found work (or must leave) stops searching; a submitter
 * that saw it searching woke nobody, so if work is left it wakes the next
 * worker (the wake-ups chain).
 */
static void pass_on_wakeup(worker *w)
{
	stop_searching(w);
	/* seq_cst: pairs with the fence in notify_work: a submitter that saw
	 * us searching pushed before this; we see its task here. */
	atomic_thread_fence(memory_order_seq_cst);
	if (work_visible(w->pool))
		notify_work(w->pool);
}

/*
 * Poll for work a bounded time (POOL_SPIN_NS, one look per
 * POOL_SEARCH_POLL_NS), as one of at most max_searching searchers; true
 * when work (or the exit) showed up (still searching).
 */
static bool search(worker *w)
{
	weft_pool *p = w->pool;
	if (!w->searching) {
		/* relaxed: a limit on spinners, not a synchronisation. */
		if (atomic_load_explicit(&p->searching, memory_order_relaxed) >=
		    p->max_searching)
			return false;
		/* relaxed: submitters read it after a seq_cst fence; a stale
		 * value costs one wake-up at most. */
		atomic_fetch_add_explicit(&p->searching, 1, memory_order_relaxed);
		w->searching = true;
	}
	weft__backoff b = weft__backoff_make_paced_ns(POOL_SPIN_NS, POOL_SEARCH_POLL_NS);
	while (weft__backoff_spin(&b))
		if (work_visible(p) || should_exit(p))
			return true;
	return false;
}

/*
 * Sleep until a waker takes w off the idle list, unless work or the exit
 * shows up in the recheck. Returns false when the worker should exit.
 */
static bool park(worker *w)
{
	weft_pool *p = w->pool;
	stop_searching(w);
	list_idle(p, w);
	/* seq_cst: pairs with the fence in notify_work (Dekker): either the
	 * submitter sees us on the list, or we see its push here. */
	atomic_thread_fence(memory_order_seq_cst);
	if (should_exit(p) || work_visible(p)) {
		/* taken off by a waker: it counted us as searching */
		w->searching = unlist_if_listed(p, w, false) == PARK_CLAIMED;
		return !should_exit(p);
	}
	w->searching = sleep_parked(w);
	return !should_exit(p);
}

static void name_worker(const char *name, unsigned index)
{
	char k[16];
	snprintf(k, sizeof k, "%.10s-%u", name, index);
	pthread_setname_np(pthread_self(), k);
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	weft_pool *p = w->pool;
	tls_worker = w;
	name_worker(p->name, w->index);
	for (;;) {
		job j = find_work(w);
		if (is_job(j)) {
			/* A searcher that found work and left more behind
			 * wakes the next one (the wake-ups chain). */
			if (w->searching)
				pass_on_wakeup(w);
			run_job(w, j, false);
			continue;
		}
		if (should_exit(p))
			break;
		if (p->max_searching && search(w))
			continue;
		if (!park(w))
			break;
	}
	stop_searching(w);
	return NULL;
}

/* ------------------------------------------------------------ create/destroy */

static void free_pool(weft_pool *p, unsigned deques)
{
	for (unsigned i = 0; i < deques; i++)
		weft__deque_destroy(&p->workers[i].dq);
	for (unsigned i = 0; i < MAX_RINGS; i++) {
		submit_ring *r = atomic_load_explicit(&p->rings[i], memory_order_relaxed);
		if (r) {
			weft__deque_destroy(&r->q);
			free(r);
		}
	}
	free(p->workers);
	free(p->idle);
	free(p->name);
	free(p);
}

static void stop_workers(weft_pool *p, unsigned started, int mode)
{
	/* seq_cst: see begin_counted. */
	atomic_store_explicit(&p->mode, mode, memory_order_seq_cst);
	wake_workers(p, p->nworkers);
	for (unsigned i = 0; i < started; i++)
		pthread_join(p->workers[i].tid, NULL);
}

static int start_workers(weft_pool *p, const cpu_set_t *cpus)
{
	pthread_attr_t attr;
	int err = pthread_attr_init(&attr);
	if (err)
		return err;
	if (cpus)
		err = pthread_attr_setaffinity_np(&attr, sizeof *cpus, cpus);
	unsigned started = 0;
	while (!err && started < p->nworkers) {
		err = pthread_create(&p->workers[started].tid, &attr,
				     worker_main, &p->workers[started]);
		if (!err)
			started++;
	}
	pthread_attr_destroy(&attr);
	if (err) {
		stop_workers(p, started, POOL_DISCARD);
		return err == EPERM ? EINVAL : err;
	}
	return 0;
}

int weft_pool_create(weft_pool **out, const weft_pool_opts *o)
{
	static const weft_pool_opts defaults;
	if (!out)
		return EINVAL;
	if (!o)
		o = &defaults;
	if (o->threads > WEFT_POOL_MAX_THREADS)
		return EINVAL;
	if (o->cpus) {
		int err = weft__cpus_check_set(o->cpus);
		if (err)
			return err;
	}
	uint32_t cpus = weft__cpus_usable();
	weft_pool *p = aligned_alloc(WEFT_CACHELINE, sizeof *p);
	if (!p)
		return ENOMEM;
	memset(p, 0, sizeof *p);
	weft_mpsc_intrusive_init(&p->injector);
	p->nworkers = o->threads ? o->threads : (cpus ? cpus : 1);
	p->max_searching = cpus >= 2 ? cpus / 2 : 0;
	/* relaxed: a unique number, nothing to order. */
	p->id = atomic_fetch_add_explicit(&pool_ids, 1, memory_order_relaxed) + 1;
	p->name = strdup(o->name ? o->name : "weft-pool");
	p->workers = aligned_alloc(WEFT_CACHELINE, p->nworkers * sizeof(worker));
	p->idle = malloc(p->nworkers * sizeof *p->idle);
	if (!p->name || !p->workers || !p->idle) {
		free_pool(p, 0);
		return ENOMEM;
	}
	memset(p->workers, 0, p->nworkers * sizeof(worker));
	for (unsigned i = 0; i < p->nworkers; i++) {
		worker *w = &p->workers[i];
		if (weft__deque_init_words(&w->dq, DEQUE_LOG2_SLOTS, JOB_WORDS)) {
			free_pool(p, i);
			return ENOMEM;
		}
		w->pool = p;
		w->index = i;
		w->rng = 0x9e3779b97f4a7c15ull * (i + 1);
	}
	int err = start_workers(p, o->cpus);
	if (err) {
		free_pool(p, p->nworkers);
		return err;
	}
	*out = p;
	return 0;
}

unsigned weft_pool_threads(const weft_pool *p)
{
	return p ? p->nworkers : 0;
}

void weft_pool_destroy(weft_pool *p, int mode)
{
	if (!p)
		return;
	WEFT_DEBUG_CHECK(!(tls_worker && tls_worker->pool == p),
			 "weft_pool_destroy from one of the pool's own tasks");
	stop_workers(p, p->nworkers,
		     mode == WEFT_POOL_DISCARD ? POOL_DISCARD : POOL_DRAIN);
	free_pool(p, p->nworkers);
}

/* ------------------------------------------------------------ submitting */

/* Queue t: on the calling worker's deque, else on the injector. */
static int push_task(weft_pool *p, weft_task *t)
{
	worker *w = tls_worker;
	if (w && w->pool == p) {
		if (!push_job(w, record_job(t)))
			return ENOMEM;
		notify_work(p);
	} else {
		inject(p, &t->node);
		notify_work_after_rmw(p);
	}
	return 0;
}

static int submit_counted(weft_pool *p, weft_task *t)
{
	int err = begin_counted(p);
	if (!err) {
		err = push_task(p, t);
		if (err)
			finish_counted(p);
	}
	return err;
}

/*
 * Queue fn(arg) without a record when the calling thread is a worker of p
 * (its deque) or has a submit ring with room; false: use a record.
 * Counted first (begin_counted), as every submit.
 */
static bool execute_inline(weft_pool *p, void (*fn)(void *), void *arg,
			   int *err)
{
	worker *w = tls_worker;
	bool mine = w && w->pool == p;
	submit_ring *r = mine ? NULL : my_ring(p);
	if (!mine && !r)
		return false;
	if ((*err = begin_counted(p)))
		return true;
	if (mine ? push_job(w, (job){ fn_word(fn), arg }) : ring_push(r, fn, arg)) {
		/* the push's store of bottom / tail is not an RMW: fence */
		notify_work(p);
		return true;
	}
	finish_counted(p); /* ring at its limit, or no memory */
	return false;
}

int weft_pool_execute(weft_pool *p, void (*fn)(void *), void *arg)
{
	if (!p || !fn)
		return EINVAL;
	int err = 0;
	if (execute_inline(p, fn, arg, &err))
		return err;
	weft_task *t = malloc(sizeof *t);
	if (!t)
		return ENOMEM;
	atomic_init(&t->state, TASK_PENDING);
	t->kind = KIND_EXECUTE;
	t->waiter = NULL;
	t->fn.execute = fn;
	t->arg = arg;
	err = submit_counted(p, t);
	if (err)
		free(t);
	return err;
}

int weft_pool_spawn(weft_pool *p, weft_task **out, void *(*fn)(void *),
		    void *arg)
{
	if (!p || !out || !fn)
		return EINVAL;
	weft_task *t = malloc(sizeof *t);
	if (!t)
		return ENOMEM;
	atomic_init(&t->state, TASK_PENDING);
	t->kind = KIND_SPAWN;
	t->waiter = NULL;
	t->fn.spawn = fn;
	t->arg = arg;
	t->result = NULL;
	int err = submit_counted(p, t);
	if (err) {
		free(t);
		return err;
	}
	*out = t;
	return 0;
}

int weft_task_join(weft_task *t, void **result)
{
	if (!t)
		return EINVAL;
	wait_task(tls_worker, t);
	/* relaxed: wait_task's acquire load already saw the end. */
	uint32_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
	int err = (s & TASK_CANCELED) ? ECANCELED : 0;
	if (result)
		*result = err ? NULL : t->result;
	free(t);
	return err;
}

/* ------------------------------------------------------------ wait */

/* Outside: nothing pending. Inside a task: every pending item is a task
 * blocked in weft_pool_wait (in_wait is read first: a conservative pair). */
static bool wait_done(weft_pool *p, bool inside)
{
	/* seq_cst: as pending_estimate. */
	uint64_t waiting = inside ? atomic_load_explicit(&p->in_wait, memory_order_seq_cst) : 0;
	return pending_estimate(p) <= waiting;
}

void weft_pool_wait(weft_pool *p)
{
	if (!p)
		return;
	worker *w = tls_worker && tls_worker->pool == p ? tls_worker : NULL;
	if (w) {
		/* seq_cst: as finish_counted (other in-pool waiters may be done). */
		atomic_fetch_add_explicit(&p->in_wait, 1, memory_order_seq_cst);
		if (atomic_load_explicit(&p->waiters, memory_order_seq_cst) > 0)
			notify_waiters(p);
	}
	weft__backoff b = weft__backoff_make_ns(POOL_SPIN_NS, POOL_PAUSE_NS);
	for (;;) {
		/* acquire: pairs with the release increment in notify_waiters. */
		uint32_t seq = atomic_load_explicit(&p->wait_seq, memory_order_acquire);
		if (wait_done(p, w))
			break;
		if (w) {
			job o = find_work(w);
			if (is_job(o)) {
				run_job(w, o, false);
				continue;
			}
		}
		if (weft__backoff_spin(&b))
			continue;
		/* seq_cst: Dekker with finish_counted / notify_work. */
		if (w)
			atomic_fetch_add_explicit(&p->inside_waiters, 1, memory_order_seq_cst);
		atomic_fetch_add_explicit(&p->waiters, 1, memory_order_seq_cst);
		if (!wait_done(p, w) && !(w && work_visible(p))) {
			weft__deadline never = weft__deadline_never();
			weft__futex_wait(&p->wait_seq, seq, &never);
		}
		/* relaxed: counts; the loop re-reads the condition. */
		atomic_fetch_sub_explicit(&p->waiters, 1, memory_order_relaxed);
		if (w)
			atomic_fetch_sub_explicit(&p->inside_waiters, 1, memory_order_relaxed);
	}
	if (w)
		/* relaxed: leaving wait only makes others' conditions harder. */
		atomic_fetch_sub_explicit(&p->in_wait, 1, memory_order_relaxed);
}

/* ------------------------------------------------------------ parallel_for / reduce */

typedef struct range_ctx {
	weft_pool *pool;
	size_t grain;
	void (*body)(size_t lo, size_t hi, void *arg); /* parallel_for */
	size_t acc_size;			       /* reduce: */
	const void *identity;
	void (*map)(size_t lo, size_t hi, void *acc, void *arg);
	void (*combine)(void *acc, const void *other, void *arg);
	void *arg;
} range_ctx;

typedef struct range_piece {
	weft_task task;
	const range_ctx *ctx;
	size_t lo, hi;
	void *acc; /* reduce: this piece's accumulator */
} range_piece;

/* A record on its caller's stack (a piece or a join's offered half). */
static void init_stack_task(weft_task *t, uint8_t kind)
{
	atomic_init(&t->state, TASK_PENDING);
	t->kind = kind;
	t->waiter = NULL;
	t->result = NULL;
}

/* Accumulators up to this size live on the forking frame's stack. */
#define SMALL_ACC 64

/* The leaves, one after another: pieces of at most grain indices. */
static void run_sequential(const range_ctx *c, size_t lo, size_t hi, void *acc)
{
	while (lo < hi) {
		size_t n = hi - lo < c->grain ? hi - lo : c->grain;
		if (c->body)
			c->body(lo, lo + n, c->arg);
		else
			c->map(lo, lo + n, acc, c->arg);
		lo += n;
	}
}

static void run_range(const range_ctx *c, size_t lo, size_t hi, void *acc);

static void piece_main(weft_task *t)
{
	range_piece *r = WEFT_CONTAINER_OF(t, range_piece, task);
	run_range(r->ctx, r->lo, r->hi, r->acc);
}

/*
 * Fold [lo, hi) (acc: a fresh identity copy, or NULL for parallel_for):
 * offer the upper half to thieves, do the lower half, then take the upper
 * half back or help until its thief is done, and combine.
 */
static void run_range(const range_ctx *c, size_t lo, size_t hi, void *acc)
{
	worker *w = tls_worker;
	if (hi - lo <= c->grain || !w) {
		run_sequential(c, lo, hi, acc);
		return;
	}
	size_t mid = lo + (hi - lo) / 2;
	alignas(max_align_t) unsigned char small[SMALL_ACC];
	void *right_acc = NULL;
	if (c->map) {
		right_acc = c->acc_size <= SMALL_ACC ? small : malloc(c->acc_size);
		if (!right_acc) { /* no memory: the same fold, sequentially */
			run_range(c, lo, mid, acc);
			run_sequential(c, mid, hi, acc);
			return;
		}
		memcpy(right_acc, c->identity, c->acc_size);
	}
	range_piece right = { .ctx = c, .lo = mid, .hi = hi, .acc = right_acc };
	init_stack_task(&right.task, KIND_PIECE);
	right.task.fn.piece = piece_main;
	if (push_task(c->pool, &right.task) != 0) {
		run_range(c, lo, mid, acc);
		run_sequential(c, mid, hi, acc); /* no memory to fork: in order */
	} else {
		run_range(c, lo, mid, acc);
		wait_task(w, &right.task);
		if (c->map)
			c->combine(acc, right_acc, c->arg);
	}
	if (right_acc && right_acc != small)
		free(right_acc);
}

/* Outside callers get EPIPE once destroy began; a task of the pool (whose
 * caller destroy is waiting for) may still fork. */
static int range_allowed(weft_pool *p)
{
	if (tls_worker && tls_worker->pool == p)
		return 0;
	return load_mode(p) == POOL_RUNNING ? 0 : EPIPE;
}

/*
 * An outside caller's root piece: counted (EPIPE once destroy began),
 * injected, and waited for asleep (the caller is not a worker: it has
 * nothing to help with). Counted so that weft_pool_wait and destroy see it.
 */
static int run_outside(weft_pool *p, weft_task *root)
{
	int err = begin_counted(p);
	if (err)
		return err;
	inject(p, &root->node);
	notify_work_after_rmw(p);
	wait_task(NULL, root);
	finish_counted(p);
	return 0;
}

/* The whole range as one piece: run here (a worker) or on the pool. */
static int run_root(const range_ctx *c, size_t begin, size_t end, void *acc)
{
	weft_pool *p = c->pool;
	worker *w = tls_worker;
	if (w && w->pool == p) {
		run_range(c, begin, end, acc);
		return 0;
	}
	range_piece root = { .ctx = c, .lo = begin, .hi = end, .acc = acc };
	init_stack_task(&root.task, KIND_PIECE);
	root.task.fn.piece = piece_main;
	return run_outside(p, &root.task);
}

int weft_pool_parallel_for(weft_pool *p, size_t begin, size_t end,
			   size_t grain,
			   void (*body)(size_t lo, size_t hi, void *arg),
			   void *arg)
{
	if (!p || !body || grain == 0 || begin > end)
		return EINVAL;
	if (begin == end)
		return range_allowed(p);
	range_ctx c = { .pool = p, .grain = grain, .body = body, .arg = arg };
	return run_root(&c, begin, end, NULL);
}

int weft_pool_parallel_reduce(weft_pool *p, size_t begin, size_t end,
			      size_t grain, size_t acc_size,
			      const void *identity,
			      void (*map)(size_t lo, size_t hi, void *acc,
					  void *arg),
			      void (*combine)(void *acc, const void *other,
					      void *arg),
			      void *arg, void *result)
{
	if (!p || !identity || !map || !combine || !result || acc_size == 0 ||
	    grain == 0 || begin > end)
		return EINVAL;
	int err = range_allowed(p);
	if (err)
		return err;
	memcpy(result, identity, acc_size);
	if (begin == end)
		return 0;
	range_ctx c = { .pool = p, .grain = grain, .acc_size = acc_size,
			.identity = identity, .map = map, .combine = combine,
			.arg = arg };
	return run_root(&c, begin, end, result);
}

/* ------------------------------------------------------------ join */

/*
 * After fa: take the offered record t back from the bottom of w's deque
 * and run it here (*rb: its result; true), the common case. false: a thief
 * took it (the deque was empty), or fa left a newer job above it (an
 * execute or spawn it did not join), which we run; then wait_task finds t
 * (still ours, deeper in the deque) or waits for its thief.
 */
static bool take_back(worker *w, weft_task *t, void **rb)
{
	void *x[JOB_WORDS];
	if (!weft__deque_take_words(&w->dq, x, JOB_WORDS))
		return false;
	job j = { x[0], x[1] };
	if (j.fn || j.arg != t) {
		run_job(w, j, false);
		return false;
	}
	*rb = t->fn.spawn(t->arg);
	return true;
}

/*
 * weft_pool_join on a worker of the pool: offer fb(b) as a record on this
 * stack (pushed on w's deque: no malloc, nothing counted), run fa(a), then
 * take fb back and run it, or run other work until its thief ends it.
 */
static void join_in_worker(worker *w, void *(*fa)(void *), void *a, void **ra,
			   void *(*fb)(void *), void *b, void **rb)
{
	weft_task offered;
	init_stack_task(&offered, KIND_JOIN);
	offered.fn.spawn = fb;
	offered.arg = b;
	if (!push_job(w, record_job(&offered))) {
		/* no memory to grow the deque: both here, in order */
		*ra = fa(a);
		*rb = fb(b);
		return;
	}
	notify_work(w->pool);
	*ra = fa(a);
	if (take_back(w, &offered, rb))
		return;
	wait_task(w, &offered);
	/* wait_task's acquire load of state saw the end: the result is ours. */
	*rb = offered.result;
}

/* An outside join's root: the whole join, run by a worker. */
typedef struct join_root {
	weft_task task;
	void *(*fa)(void *);
	void *(*fb)(void *);
	void *a, *b, *ra, *rb;
} join_root;

static void join_root_main(weft_task *t)
{
	join_root *r = WEFT_CONTAINER_OF(t, join_root, task);
	join_in_worker(tls_worker, r->fa, r->a, &r->ra, r->fb, r->b, &r->rb);
}

int weft_pool_join(weft_pool *p, void *(*fa)(void *), void *a, void **ra,
		   void *(*fb)(void *), void *b, void **rb)
{
	if (!p || !fa || !fb)
		return EINVAL;
	void *ignored_a, *ignored_b;
	ra = ra ? ra : &ignored_a;
	rb = rb ? rb : &ignored_b;
	worker *w = tls_worker;
	if (w && w->pool == p) {
		join_in_worker(w, fa, a, ra, fb, b, rb);
		return 0;
	}
	join_root root = { .fa = fa, .fb = fb, .a = a, .b = b };
	init_stack_task(&root.task, KIND_PIECE);
	root.task.fn.piece = join_root_main;
	int err = run_outside(p, &root.task);
	if (!err) {
		/* wait_task's acquire load saw the root end: its results are
		 * visible (the release CAS in complete). */
		*ra = root.ra;
		*rb = root.rb;
	}
	return err;
}
