/*
 * lib/rt.c - weft_rt, the task runtime: workers, run queues, stealing,
 * idling, timers, park/wake, join, spawn_blocking and destroy. The design,
 * states and memory orders are in weft/rt.h; stacks in lib/rt_stack.c; the
 * context switch in lib/rt_switch_<arch>.S.
 */
#define _GNU_SOURCE
#include "weft/rt.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "weft/mutex.h"
#include "internal/backoff.h"
#include "internal/cpus.h"
#include "internal/deque.h"
#include "internal/futex.h"
#include "internal/rt.h"
#include "internal/rt_stack.h"
#include "internal/waiter.h"

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_ASAN 1
#endif
#endif
#ifndef WEFT_ASAN
#define WEFT_ASAN 0
#endif
#if WEFT_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#if WEFT_TSAN
#include <sanitizer/tsan_interface.h>
#endif

/* An idle worker polls the queues this long before it sleeps (only with
 * more than one usable CPU), pausing at most PAUSE_NS between polls. */
#define RT_SPIN_NS 10000
#define RT_PAUSE_NS 500
/* Every FAIR_TICK-th pick looks at the injector and at the oldest task of
 * the worker's own deque first, so a LIFO ping-pong cannot starve them. */
#define FAIR_TICK 61
/* A worker with nothing to run while another worker runs a task, or holds
 * a task in its runnext slot, sleeps at most WATCH_NS at a time (a
 * "watcher"); a runnext task whose owner is still in the same run after
 * one whole watch sleep is stolen. The bound on how long a runnext task
 * can wait behind a long-running task, and the only cost of the slot: one
 * futex timeout per WATCH_NS on an otherwise idle worker while the runtime
 * is busy. */
#define WATCH_NS 1000000
#define DEQUE_LOG2_SLOTS 8
#define BLOCKING_MAX_DEFAULT 16

/* weft_rt_task.state (see weft/rt.h "Task states"). */
enum { T_RUNNING = 0, T_NOTIFIED = 1, T_PARKED = 2, T_DEAD = 4 };
/* weft_rt_task.join: ENDED once the result is stored; WAITER while a
 * joiner waits (set once, by the joiner, before ENDED). */
enum { J_ENDED = 1, J_WAITER = 2 };
/* Why a task switched back to its worker. */
enum { WHY_PARK, WHY_YIELD, WHY_EXIT };
/* weft_rt.mode */
enum { RT_RUNNING = 0, RT_CANCEL = 1, RT_STOP = 2 };

struct weft_rt_task {
	void *sp; /* saved stack pointer while switched out */
	_Atomic uint32_t state;
	_Atomic uint32_t join;
	_Atomic uint32_t refs; /* run (until ended) + handle + waking wakers */
	uint8_t why;
	bool blocking; /* spawn_blocking: runs on a thread, no stack */
	weft_rt *rt;
	void *(*fn)(void *);
	void *arg;
	void *result;
	weft_rt_task *joiner; /* joining task, NULL for a thread; before WAITER */
	weft__stack *stack;
	weft_rt_task *next; /* injector / blocking queue link */
	/* Timer: in timer_owner's heap at heap_index (-1: none); both under
	 * timer_owner->timer_lock. */
	uint64_t deadline;
	long heap_index;
	struct worker *timer_owner;
	/* Registry (destroy finds parked tasks there): shard's lock. */
	weft_rt_task *reg_prev, *reg_next;
	unsigned shard;
#if WEFT_ASAN
	void *asan_fake;
#endif
#if WEFT_TSAN
	void *tsan_fiber;
#endif
};

typedef struct shard {
	WEFT_ALIGNED_CACHELINE weft_mutex lock;
	weft_rt_task *head;
} shard;

typedef struct worker {
	weft__deque dq; /* first: cache-line aligned */
	weft_rt *rt;
	void *sp; /* the worker's own context while a task runs */
	/* 1 while asleep or about to be (counted in nsleeping); a waker
	 * that CASes it to 0 counts us as spinning. Futex word. */
	_Atomic uint32_t sleep_word;
	bool spinning; /* counted in rt->spinning; this worker's only */
	unsigned index;
	unsigned tick;
	uint64_t rng;
	weft__stack_cache cache;
	/* The task to run next (see weft/rt.h "Scheduling"): written non-NULL
	 * by this worker only; taken by this worker, or by a watcher's CAS
	 * once stale. runs: bumped by this worker before and after each task
	 * run (odd while a task runs), read by watchers. */
	WEFT_ALIGNED_CACHELINE _Atomic(weft_rt_task *) runnext;
	_Atomic uint32_t runs;
	/* Timers of tasks parked on this worker, a binary min-heap. */
	WEFT_ALIGNED_CACHELINE weft_mutex timer_lock;
	_Atomic uint64_t next_deadline; /* heap[0]'s, UINT64_MAX if empty */
	weft_rt_task **heap;
	size_t heap_len, heap_cap;
	pthread_t tid;
	const void *stack_lo; /* this thread's stack (ASan) */
	size_t stack_size;
#if WEFT_ASAN
	void *asan_fake;
#endif
#if WEFT_TSAN
	void *tsan_fiber;
#endif
} worker;

/* A FIFO of tasks linked through `next`; its owner's lock guards it. */
typedef struct task_fifo {
	weft_rt_task *head, *tail;
} task_fifo;

static void fifo_push(task_fifo *q, weft_rt_task *t)
{
	t->next = NULL;
	if (q->tail)
		q->tail->next = t;
	else
		q->head = t;
	q->tail = t;
}

static weft_rt_task *fifo_pop(task_fifo *q)
{
	weft_rt_task *t = q->head;
	if (t) {
		q->head = t->next;
		if (!q->head)
			q->tail = NULL;
	}
	return t;
}

typedef struct blocking_pool {
	weft_mutex lock;
	task_fifo jobs;
	unsigned nthreads, nidle, max;
	bool stop;
	_Atomic uint32_t seq; /* futex word: bumped per job and at stop */
	pthread_t *threads;
} blocking_pool;

struct weft_rt {
	WEFT_ALIGNED_CACHELINE weft_mutex inj_lock;
	task_fifo inj;
	_Atomic uint64_t inj_count; /* emptiness hint, see work_visible */
	WEFT_ALIGNED_CACHELINE _Atomic uint32_t nsleeping;
	_Atomic uint32_t spinning;
	_Atomic uint32_t watching; /* workers in a watch sleep (WATCH_NS) */
	_Atomic uint32_t mode;
	/* Tasks not yet ended, plus outside wakers and spawners in flight;
	 * destroy's futex word. */
	WEFT_ALIGNED_CACHELINE _Atomic uint32_t live;
	WEFT_ALIGNED_CACHELINE worker *workers;
	unsigned nworkers;
	uint32_t max_spinning; /* 0: never spin */
	_Atomic uint32_t wake_rr;
	shard *shards; /* nworkers + 1 (the last: spawns from outside) */
	size_t stack_size;
	weft__stack_pool stacks;
	blocking_pool blk;
	char name[12];
};

void weft__rt_switch(void **save_sp, void *load_sp);
void weft__rt_trampoline(void);

/* Thread-locals: read through noinline functions only, so a task that
 * moved to another thread at a switch never uses a cached address. */
static _Thread_local worker *tls_worker;
static _Thread_local weft_rt_task *tls_task;

__attribute__((noinline)) static worker *current_worker(void)
{
	__asm__ volatile("" ::: "memory");
	return tls_worker;
}

__attribute__((noinline)) weft_rt_task *weft__rt_self(void)
{
	__asm__ volatile("" ::: "memory");
	return tls_task;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static weft__deadline deadline_at(uint64_t ns)
{
	if (ns == UINT64_MAX)
		return weft__deadline_never();
	return (weft__deadline){ .tv_sec = (time_t)(ns / 1000000000u),
				 .tv_nsec = (long)(ns % 1000000000u) };
}

/* ------------------------------------------------------------ refs, live */

static void task_ref(weft_rt_task *t)
{
	/* relaxed: the caller already holds a reference or knows t alive. */
	atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

static void task_unref(weft_rt_task *t)
{
	/* acq_rel: the release half orders our uses of t before the free;
	 * the acquire half (for the last one) sees every other's. */
	if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
		free(t);
}

static void live_get(weft_rt *rt)
{
	/* seq_cst: Dekker with destroy (mode store, then live load). */
	atomic_fetch_add_explicit(&rt->live, 1, memory_order_seq_cst);
}

static uint32_t load_mode(weft_rt *rt)
{
	/* seq_cst: see live_get / live_put and weft_rt_destroy. */
	return atomic_load_explicit(&rt->mode, memory_order_seq_cst);
}

static void live_put(weft_rt *rt)
{
	/* seq_cst decrement then seq_cst mode load, against destroy's mode
	 * store then live load: either we see destroy and wake it, or its
	 * futex compare sees our decrement. After the decrement rt may be
	 * freed unless mode is still RUNNING or we are a worker. */
	if (atomic_fetch_sub_explicit(&rt->live, 1, memory_order_seq_cst) == 1 &&
	    load_mode(rt) != RT_RUNNING)
		weft__futex_wake(&rt->live, WEFT__FUTEX_WAKE_ALL);
}

/* ------------------------------------------------------------ sanitizers */

/* Entering task t from worker w's own context. */
static void san_enter_task(worker *w, weft_rt_task *t)
{
#if WEFT_ASAN
	__sanitizer_start_switch_fiber(&w->asan_fake, t->stack->lo, t->stack->size);
#endif
#if WEFT_TSAN
	__tsan_switch_to_fiber(t->tsan_fiber, 0);
#endif
	(void)w, (void)t;
}

/* Back in worker w's context after a task switched out. */
static void san_back_in_worker(worker *w)
{
#if WEFT_ASAN
	__sanitizer_finish_switch_fiber(w->asan_fake, NULL, NULL);
#endif
	(void)w;
}

/* Task t leaves for w's context; for good when `exiting`. */
static void san_leave_task(worker *w, weft_rt_task *t, bool exiting)
{
#if WEFT_ASAN
	__sanitizer_start_switch_fiber(exiting ? NULL : &t->asan_fake,
				       w->stack_lo, w->stack_size);
#endif
#if WEFT_TSAN
	__tsan_switch_to_fiber(w->tsan_fiber, 0);
#endif
	(void)w, (void)t, (void)exiting;
}

/* Task t runs again (first entry: fresh). */
static void san_task_resumed(weft_rt_task *t, bool fresh)
{
#if WEFT_ASAN
	__sanitizer_finish_switch_fiber(fresh ? NULL : t->asan_fake, NULL, NULL);
#endif
	(void)t, (void)fresh;
}

/* ------------------------------------------------------------ queues */

static void inject(weft_rt *rt, weft_rt_task *t)
{
	weft_mutex_lock(&rt->inj_lock);
	fifo_push(&rt->inj, t);
	/* relaxed: a hint read after the fences of notify_work / idle. The
	 * task itself is handed over by inj_lock. */
	atomic_fetch_add_explicit(&rt->inj_count, 1, memory_order_relaxed);
	weft_mutex_unlock(&rt->inj_lock);
}

static weft_rt_task *eject(weft_rt *rt)
{
	/* relaxed: a hint; a miss is caught by the fences before sleeping. */
	if (atomic_load_explicit(&rt->inj_count, memory_order_relaxed) == 0)
		return NULL;
	weft_mutex_lock(&rt->inj_lock);
	weft_rt_task *t = fifo_pop(&rt->inj);
	if (t) {
		/* relaxed: a hint, as the increment in inject. */
		atomic_fetch_sub_explicit(&rt->inj_count, 1, memory_order_relaxed);
	}
	weft_mutex_unlock(&rt->inj_lock);
	return t;
}

static bool work_visible(weft_rt *rt)
{
	/* relaxed: the callers order this with a seq_cst fence. */
	if (atomic_load_explicit(&rt->inj_count, memory_order_relaxed) > 0)
		return true;
	for (unsigned i = 0; i < rt->nworkers; i++)
		if (weft__deque_maybe_nonempty(&rt->workers[i].dq))
			return true;
	return false;
}

/* Wake one sleeping worker, counted as spinning on its behalf. */
static void wake_one(weft_rt *rt)
{
	unsigned n = rt->nworkers;
	/* relaxed: spreads wake-ups; any start is correct. */
	unsigned start = atomic_fetch_add_explicit(&rt->wake_rr, 1, memory_order_relaxed);
	for (unsigned i = 0; i < n; i++) {
		worker *w = &rt->workers[(start + i) % n];
		uint32_t one = 1;
		/* relaxed: the word only says who claims the sleeper; the
		 * work itself was published by its queue. */
		if (atomic_load_explicit(&w->sleep_word, memory_order_relaxed) == 1 &&
		    atomic_compare_exchange_strong_explicit(&w->sleep_word, &one, 0,
							    memory_order_relaxed,
							    memory_order_relaxed)) {
			/* relaxed: counts, hints ordered by the fences. */
			atomic_fetch_sub_explicit(&rt->nsleeping, 1, memory_order_relaxed);
			atomic_fetch_add_explicit(&rt->spinning, 1, memory_order_relaxed);
			weft__futex_wake(&w->sleep_word, 1);
			return;
		}
	}
}

/*
 * New work was pushed just before: wake a sleeper unless a spinner will
 * find it. seq_cst fence: pairs with the fence in worker_sleep (Dekker):
 * either we see its sleep_word/nsleeping, or it sees our push.
 */
static void notify_work(weft_rt *rt)
{
	atomic_thread_fence(memory_order_seq_cst);
	/* relaxed: ordered by the fence above. */
	if (atomic_load_explicit(&rt->spinning, memory_order_relaxed) == 0 &&
	    atomic_load_explicit(&rt->nsleeping, memory_order_relaxed) > 0)
		wake_one(rt);
}

/*
 * t was put in a runnext slot that was empty. Its owner runs it next
 * unless the task running there now keeps running; then a watcher steals
 * it. Make sure one exists: wake a sleeper unless a worker spins or
 * watches. seq_cst fence: pairs with the fence in worker_sleep after a
 * watcher leaves `watching` (Dekker): either it sees the slot filled (and
 * watches on), or we see watching == 0 and wake a worker.
 */
static void notify_runnext(weft_rt *rt)
{
	atomic_thread_fence(memory_order_seq_cst);
	/* relaxed: ordered by the fence above. */
	if (atomic_load_explicit(&rt->spinning, memory_order_relaxed) == 0 &&
	    atomic_load_explicit(&rt->watching, memory_order_relaxed) == 0 &&
	    atomic_load_explicit(&rt->nsleeping, memory_order_relaxed) > 0)
		wake_one(rt);
}

/* Make t runnable: in the calling worker's runnext slot if it is one of
 * rt's (the slot's previous task moves to the worker's deque, where idle
 * workers may steal it), else through the injector. */
static void schedule(weft_rt *rt, weft_rt_task *t)
{
	worker *w = current_worker();
	if (!w || w->rt != rt) {
		inject(rt, t);
		notify_work(rt);
		return;
	}
	/* release: publishes t (its saved context, its state) to a watcher's
	 * acquire CAS in steal_runnext. No acquire needed: a task read back
	 * here was put by this thread (thieves only store NULL). */
	weft_rt_task *prev = atomic_exchange_explicit(&w->runnext, t, memory_order_release);
	if (!prev) {
		notify_runnext(rt);
		return;
	}
	if (!weft__deque_push(&w->dq, prev))
		inject(rt, prev);
	notify_work(rt);
}

/* ------------------------------------------------------------ timers */

static bool heap_less(weft_rt_task *a, weft_rt_task *b)
{
	return a->deadline < b->deadline;
}

static void heap_set(worker *w, size_t i, weft_rt_task *t)
{
	w->heap[i] = t;
	t->heap_index = (long)i;
}

static void heap_up(worker *w, size_t i)
{
	weft_rt_task *t = w->heap[i];
	while (i > 0 && heap_less(t, w->heap[(i - 1) / 2])) {
		heap_set(w, i, w->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(w, i, t);
}

static void heap_down(worker *w, size_t i)
{
	weft_rt_task *t = w->heap[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= w->heap_len)
			break;
		if (c + 1 < w->heap_len && heap_less(w->heap[c + 1], w->heap[c]))
			c++;
		if (!heap_less(w->heap[c], t))
			break;
		heap_set(w, i, w->heap[c]);
		i = c;
	}
	heap_set(w, i, t);
}

static void heap_publish_next(worker *w)
{
	/* relaxed: a hint for the owner's poll; the heap is read under
	 * timer_lock. */
	atomic_store_explicit(&w->next_deadline,
			      w->heap_len ? w->heap[0]->deadline : UINT64_MAX,
			      memory_order_relaxed);
}

static void heap_remove_at(worker *w, size_t i)
{
	w->heap[i]->heap_index = -1;
	weft_rt_task *last = w->heap[--w->heap_len];
	if (i < w->heap_len) {
		heap_set(w, i, last);
		heap_up(w, i);
		heap_down(w, (size_t)last->heap_index);
	}
}

/* Add t's timer to w's heap; false when out of memory. */
static bool timer_add(worker *w, weft_rt_task *t, uint64_t deadline)
{
	weft_mutex_lock(&w->timer_lock);
	if (w->heap_len == w->heap_cap) {
		size_t cap = w->heap_cap ? 2 * w->heap_cap : 64;
		weft_rt_task **h = realloc(w->heap, cap * sizeof *h);
		if (!h) {
			weft_mutex_unlock(&w->timer_lock);
			return false;
		}
		w->heap = h;
		w->heap_cap = cap;
	}
	t->deadline = deadline;
	t->timer_owner = w;
	w->heap[w->heap_len] = t;
	heap_up(w, w->heap_len++);
	heap_publish_next(w);
	weft_mutex_unlock(&w->timer_lock);
	return true;
}

/* Remove t's timer if it has not fired (t may run on another worker). */
static void timer_remove(weft_rt_task *t)
{
	worker *w = t->timer_owner;
	weft_mutex_lock(&w->timer_lock);
	if (t->heap_index >= 0) {
		heap_remove_at(w, (size_t)t->heap_index);
		heap_publish_next(w);
	}
	weft_mutex_unlock(&w->timer_lock);
}

static void task_wake(weft_rt_task *t);

/* Wake the tasks whose deadline passed. A fired task stays alive while we
 * hold timer_lock: it takes the lock (timer_remove) before going on. */
static void fire_timers(worker *w)
{
	/* relaxed: a hint; see heap_publish_next. */
	uint64_t next = atomic_load_explicit(&w->next_deadline, memory_order_relaxed);
	if (next == UINT64_MAX)
		return;
	uint64_t now = now_ns();
	if (next > now)
		return;
	weft_mutex_lock(&w->timer_lock);
	while (w->heap_len && w->heap[0]->deadline <= now) {
		weft_rt_task *t = w->heap[0];
		heap_remove_at(w, 0);
		task_wake(t);
	}
	heap_publish_next(w);
	weft_mutex_unlock(&w->timer_lock);
}

/* ------------------------------------------------------------ park / wake */

/*
 * Make t runnable if it is parked; if it runs (or is switching out), leave
 * it a notification so its park returns at once. See weft/rt.h "Task
 * states" for why only a PARKED task may be queued by a waker.
 */
static void task_wake(weft_rt_task *t)
{
	/* relaxed: the CAS below decides. */
	uint32_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
	for (;;) {
		if (s == T_PARKED) {
			/* acq_rel: acquire pairs with the worker's release CAS
			 * to PARKED (the task's saved context and stores are
			 * visible to whoever resumes it: we hand it on through
			 * a queue, release/acquire); release publishes our
			 * stores before the wake to the task. */
			if (atomic_compare_exchange_weak_explicit(
				    &t->state, &s, T_RUNNING, memory_order_acq_rel,
				    memory_order_relaxed)) {
				weft_rt *rt = t->rt;
				worker *w = current_worker();
				bool outside = !w || w->rt != rt;
				if (outside) /* t is not ended: rt lives */
					live_get(rt);
				schedule(rt, t);
				if (outside)
					live_put(rt);
				return;
			}
		} else if (s == T_RUNNING) {
			/* release: pairs with the acquire failure of the
			 * worker's CAS to PARKED (it requeues the task, which
			 * then sees our stores). */
			if (atomic_compare_exchange_weak_explicit(
				    &t->state, &s, T_RUNNING | T_NOTIFIED,
				    memory_order_release, memory_order_relaxed))
				return;
		} else {
			return; /* already notified, or ended */
		}
	}
}

/* Switch from task t back to its worker; returns when t is resumed (on
 * whichever worker). */
static void switch_out(weft_rt_task *t, uint8_t why)
{
	worker *w = current_worker();
	t->why = why;
	san_leave_task(w, t, why == WHY_EXIT);
	weft__rt_switch(&t->sp, w->sp);
	san_task_resumed(t, false);
}

/* Park the calling task until woken (or deadline_ns, 0 = none). May
 * return spuriously: callers loop on their condition. */
static void task_park(weft_rt_task *self, uint64_t deadline_ns)
{
	if (deadline_ns) {
		if (!timer_add(current_worker(), self, deadline_ns)) {
			switch_out(self, WHY_YIELD); /* no memory: poll */
			return;
		}
		switch_out(self, WHY_PARK);
		timer_remove(self);
		return;
	}
	switch_out(self, WHY_PARK);
}

static bool canceling(weft_rt *rt)
{
	/* acquire: a task woken by destroy's task_wake sees the mode through
	 * t->state (release/acquire) anyway; acquire keeps it simple. */
	return atomic_load_explicit(&rt->mode, memory_order_acquire) != RT_RUNNING;
}

static bool waiter_unparked(weft__waiter *w)
{
	/* acquire: pairs with the release exchange in weft__rt_waiter_unpark:
	 * what the claimer wrote into our buffers is visible. */
	return atomic_load_explicit(&w->wake, memory_order_acquire) == WEFT__WAKE_UNPARKED;
}

int weft__rt_waiter_park(weft__waiter *w, const weft__deadline *deadline)
{
	weft_rt_task *self = w->task;
	uint64_t dl = deadline->tv_sec < 0
			      ? 0
			      : (uint64_t)deadline->tv_sec * 1000000000u +
					(uint64_t)deadline->tv_nsec;
	w->spun = -1; /* tasks do not spin: the worker runs others instead */
	for (;;) {
		if (waiter_unparked(w))
			return 0;
		if (dl && now_ns() >= dl)
			return ETIMEDOUT;
		if (canceling(self->rt) &&
		    weft__waiter_selected(w) == WEFT__SEL_WAITING)
			return ECANCELED;
		task_park(self, dl);
	}
}

void weft__rt_waiter_unpark(weft__waiter *w)
{
	weft_rt_task *t = w->task;
	/* t is alive: a claimed waiter's task does not leave park before the
	 * exchange below. Our reference keeps it so until task_wake is done. */
	task_ref(t);
	/* release: publishes the claimer's writes into the waiter's buffers
	 * to the acquire load in waiter_unparked. w may die after this. */
	atomic_exchange_explicit(&w->wake, WEFT__WAKE_UNPARKED, memory_order_release);
	task_wake(t);
	task_unref(t);
}

/* ------------------------------------------------------------ registry */

static void registry_add(weft_rt *rt, weft_rt_task *t, unsigned s)
{
	shard *sh = &rt->shards[s];
	t->shard = s;
	t->reg_prev = NULL;
	weft_mutex_lock(&sh->lock);
	t->reg_next = sh->head;
	if (sh->head)
		sh->head->reg_prev = t;
	sh->head = t;
	weft_mutex_unlock(&sh->lock);
}

static void registry_remove(weft_rt *rt, weft_rt_task *t)
{
	shard *sh = &rt->shards[t->shard];
	weft_mutex_lock(&sh->lock);
	if (t->reg_prev)
		t->reg_prev->reg_next = t->reg_next;
	else
		sh->head = t->reg_next;
	if (t->reg_next)
		t->reg_next->reg_prev = t->reg_prev;
	weft_mutex_unlock(&sh->lock);
}

/* destroy: wake every registered task; their parks see the mode. */
static void registry_wake_all(weft_rt *rt)
{
	for (unsigned s = 0; s <= rt->nworkers; s++) {
		shard *sh = &rt->shards[s];
		weft_mutex_lock(&sh->lock);
		for (weft_rt_task *t = sh->head; t; t = t->reg_next)
			task_wake(t);
		weft_mutex_unlock(&sh->lock);
	}
}

/* ------------------------------------------------------------ ending */

/* Store ENDED (the result is in t) and wake the joiner, if any. */
static void complete_join(weft_rt_task *t)
{
	/* acquire: pairs with the joiner's release CAS (t->joiner visible). */
	uint32_t s = atomic_load_explicit(&t->join, memory_order_acquire);
	/* release: publishes the result to the joiner's acquire load. */
	if (s == 0 && atomic_compare_exchange_strong_explicit(
			      &t->join, &s, J_ENDED, memory_order_release,
			      memory_order_acquire))
		return;
	/* A joiner registered (WAITER); it cannot leave before ENDED. */
	weft_rt_task *j = t->joiner;
	if (j)
		task_ref(j);
	/* release: as above. */
	atomic_store_explicit(&t->join, J_ENDED | J_WAITER, memory_order_release);
	if (j) {
		task_wake(j);
		task_unref(j);
	} else {
		weft__futex_wake(&t->join, WEFT__FUTEX_WAKE_ALL);
	}
}

/* t ended (its fn returned); w: the worker it ended on, NULL for a
 * blocking thread. */
static void finish_task(worker *w, weft_rt_task *t)
{
	weft_rt *rt = t->rt;
	if (!t->blocking) {
		weft__stack_put(&rt->stacks, &w->cache, t->stack);
		t->stack = NULL;
		registry_remove(rt, t);
	}
	/* relaxed: DEAD only makes late wakers do nothing. */
	atomic_store_explicit(&t->state, T_DEAD, memory_order_relaxed);
	complete_join(t);
	task_unref(t); /* the run reference */
	live_put(rt);
}

/* ------------------------------------------------------------ running */

static void task_main(void *arg)
{
	weft_rt_task *t = arg;
	san_task_resumed(t, true);
	t->result = t->fn(t->arg);
	switch_out(t, WHY_EXIT);
	__builtin_unreachable();
}

/* Build t's first frame (see lib/rt_switch_<arch>.S). */
static void make_context(weft_rt_task *t)
{
	uint64_t *sp = (uint64_t *)(weft__stack_top(t->stack) - 16);
#if defined(__x86_64__)
	sp -= 8;
	memset(sp, 0, 8 * sizeof *sp);
	sp[0] = 0x1F80u | ((uint64_t)0x037Fu << 32); /* MXCSR, x87 CW defaults */
	sp[3] = (uint64_t)(uintptr_t)task_main;	      /* r13 */
	sp[4] = (uint64_t)(uintptr_t)t;		      /* r12 */
	sp[7] = (uint64_t)(uintptr_t)weft__rt_trampoline;
#elif defined(__aarch64__)
	sp -= 20;
	memset(sp, 0, 20 * sizeof *sp);
	sp[0] = (uint64_t)(uintptr_t)t;		      /* x19 */
	sp[1] = (uint64_t)(uintptr_t)task_main;	      /* x20 */
	sp[11] = (uint64_t)(uintptr_t)weft__rt_trampoline; /* x30 */
#else
#error "weft_rt: no context switch for this architecture"
#endif
	t->sp = sp;
}

/* After t switched back to w: park it, requeue it or end it. */
static void after_switch(worker *w, weft_rt_task *t)
{
	weft_rt *rt = w->rt;
	switch (t->why) {
	case WHY_EXIT:
		finish_task(w, t);
		return;
	case WHY_YIELD:
		inject(rt, t);
		notify_work(rt);
		return;
	default: {
		uint32_t s = T_RUNNING;
		/* release: publishes t's saved context and its stores to the
		 * waker's acquire CAS; acquire (failure): a notification's
		 * stores are visible to t when we requeue it. Only now, with
		 * t fully switched out, may a waker queue it. */
		if (atomic_compare_exchange_strong_explicit(
			    &t->state, &s, T_PARKED, memory_order_release,
			    memory_order_acquire))
			return;
		/* Notified while running: consume it and run t again. */
		atomic_store_explicit(&t->state, T_RUNNING, memory_order_relaxed);
		schedule(rt, t);
	}
	}
}

/* Before t's first run, on the worker w that runs it: a warm stack from
 * w's cache if t's is fresh (weft__stack_first_run), and t's first frame. */
static void first_run(worker *w, weft_rt_task *t)
{
	t->stack = weft__stack_first_run(&w->rt->stacks, &w->cache, t->stack);
#if WEFT_TSAN
	if (!t->stack->tsan_fiber)
		t->stack->tsan_fiber = __tsan_create_fiber(0);
	t->tsan_fiber = t->stack->tsan_fiber;
#endif
	make_context(t);
}

/* One more start or end of a task run on w (odd: running). */
static void count_run(worker *w)
{
	/* relaxed: only w writes runs; watchers read it as a hint. */
	atomic_store_explicit(&w->runs,
			      atomic_load_explicit(&w->runs, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

static void run_task(worker *w, weft_rt_task *t)
{
	count_run(w);
	if (!t->sp) /* never run yet */
		first_run(w, t);
	tls_task = t;
	san_enter_task(w, t);
	weft__rt_switch(&w->sp, t->sp);
	san_back_in_worker(w);
	tls_task = NULL;
	after_switch(w, t);
	count_run(w);
}

static uint32_t next_random(worker *w)
{
	uint64_t x = w->rng; /* xorshift64 */
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	w->rng = x;
	return (uint32_t)(x >> 32);
}

static weft_rt_task *steal(worker *w)
{
	weft_rt *rt = w->rt;
	unsigned n = rt->nworkers;
	if (n < 2)
		return NULL;
	for (int round = 0; round < 4; round++) {
		bool lost = false;
		unsigned start = next_random(w) % n;
		for (unsigned i = 0; i < n; i++) {
			worker *v = &rt->workers[(start + i) % n];
			if (v == w)
				continue;
			void *x = weft__deque_steal(&v->dq);
			if (x == WEFT__DEQUE_ABORT)
				lost = true;
			else if (x)
				return x;
		}
		if (!lost)
			break;
	}
	return NULL;
}

static weft_rt_task *find_task(worker *w)
{
	weft_rt_task *t;
	if (++w->tick % FAIR_TICK == 0) {
		if ((t = eject(w->rt)))
			return t;
		void *x = weft__deque_steal(&w->dq); /* our oldest */
		if (x != WEFT__DEQUE_EMPTY && x != WEFT__DEQUE_ABORT)
			return x;
	}
	/* relaxed: only this worker puts tasks in the slot; a watcher's CAS
	 * only empties it, so a task we get is one we put. */
	if (atomic_load_explicit(&w->runnext, memory_order_relaxed) &&
	    (t = atomic_exchange_explicit(&w->runnext, NULL, memory_order_relaxed)))
		return t;
	if ((t = weft__deque_take(&w->dq)))
		return t;
	if ((t = eject(w->rt)))
		return t;
	return steal(w);
}

/* ------------------------------------------------------------ idling */

static void stop_spinning(worker *w)
{
	if (w->spinning) {
		w->spinning = false;
		/* relaxed: a hint, ordered by the fences of sleep/notify. */
		atomic_fetch_sub_explicit(&w->rt->spinning, 1, memory_order_relaxed);
	}
}

static bool timer_due(worker *w)
{
	/* relaxed: a hint, see heap_publish_next. */
	uint64_t next = atomic_load_explicit(&w->next_deadline, memory_order_relaxed);
	return next != UINT64_MAX && next <= now_ns();
}

/* Poll a little before sleeping (only with a CPU to spare). */
static bool spin_for_work(worker *w)
{
	weft_rt *rt = w->rt;
	if (!w->spinning) {
		/* relaxed: a cap on spinners, approximate is fine. */
		if (rt->max_spinning == 0 ||
		    atomic_load_explicit(&rt->spinning, memory_order_relaxed) >= rt->max_spinning)
			return false;
		/* relaxed: a hint (see wake_one); approximate caps are fine. */
		atomic_fetch_add_explicit(&rt->spinning, 1, memory_order_relaxed);
		w->spinning = true;
	}
	weft__backoff b = weft__backoff_make_ns(RT_SPIN_NS, RT_PAUSE_NS);
	while (weft__backoff_spin(&b))
		if (work_visible(rt) || timer_due(w) || load_mode(rt) == RT_STOP)
			return true;
	return false;
}

/* Leave the sleeping state ourselves, unless a waker already claimed us
 * (then it counted us as spinning). */
static void unsleep(worker *w)
{
	uint32_t one = 1;
	/* relaxed: see wake_one. */
	if (atomic_compare_exchange_strong_explicit(&w->sleep_word, &one, 0,
						    memory_order_relaxed,
						    memory_order_relaxed))
		/* relaxed: a count, ordered by the fences of sleep/notify. */
		atomic_fetch_sub_explicit(&w->rt->nsleeping, 1, memory_order_relaxed);
	else
		w->spinning = true;
}

/* What a would-be sleeper sees of the other workers: the first (from a
 * random start) holding a runnext task, and whether any runs a task. */
typedef struct watch_view {
	worker *victim;
	weft_rt_task *task; /* victim's runnext */
	uint32_t runs;	    /* victim's runs when seen */
	bool busy;
} watch_view;

static watch_view look_around(worker *w)
{
	weft_rt *rt = w->rt;
	watch_view v = { 0 };
	unsigned n = rt->nworkers, start = next_random(w) % n;
	for (unsigned i = 0; i < n; i++) {
		worker *x = &rt->workers[(start + i) % n];
		if (x == w)
			continue;
		/* relaxed: hints; the callers' fences order what must not be
		 * missed (the slot), and steal_runnext's CAS decides. */
		uint32_t runs = atomic_load_explicit(&x->runs, memory_order_relaxed);
		weft_rt_task *t = atomic_load_explicit(&x->runnext, memory_order_relaxed);
		v.busy |= runs & 1;
		if (t && !v.victim)
			v = (watch_view){ x, t, runs, v.busy };
	}
	return v;
}

/* After a whole watch sleep: take the victim's runnext task if it is still
 * the one seen and its owner has not started or ended a run since. */
static weft_rt_task *steal_runnext(const watch_view *v)
{
	weft_rt_task *t = v->task;
	/* relaxed: a hint, the CAS below decides. */
	if (!v->victim ||
	    atomic_load_explicit(&v->victim->runs, memory_order_relaxed) != v->runs)
		return NULL;
	/* acquire: pairs with the owner's release exchange in schedule (t's
	 * context and state are visible before we run it). */
	if (atomic_compare_exchange_strong_explicit(&v->victim->runnext, &t, NULL,
						    memory_order_acquire,
						    memory_order_relaxed))
		return t;
	return NULL;
}

static bool sleep_claimed(worker *w)
{
	/* relaxed: see wake_one; unsleep's CAS decides. */
	return atomic_load_explicit(&w->sleep_word, memory_order_relaxed) != 1;
}

static weft__deadline watch_deadline(worker *w)
{
	/* relaxed: our own heap's hint, see worker_sleep. */
	uint64_t next = atomic_load_explicit(&w->next_deadline, memory_order_relaxed);
	uint64_t watch = now_ns() + WATCH_NS;
	return deadline_at(next < watch ? next : watch);
}

/*
 * Sleep until woken, a timer is due or (watching) a stale runnext task is
 * stolen, returned. Watches (sleeps WATCH_NS at a time, counted in
 * rt->watching) while another worker runs a task or holds a runnext task.
 */
static weft_rt_task *worker_sleep(worker *w)
{
	weft_rt *rt = w->rt;
	weft_rt_task *stolen = NULL;
	/* relaxed: ordered before the recheck by the fence below. */
	atomic_store_explicit(&w->sleep_word, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&rt->nsleeping, 1, memory_order_relaxed);
	stop_spinning(w);
	/* relaxed: ordered by the fence below (see notify_runnext). */
	atomic_fetch_add_explicit(&rt->watching, 1, memory_order_relaxed);
	for (;;) {
		/* seq_cst: pairs with the fence in notify_work (Dekker): either
		 * the waker sees us asleep, or we see its push here. */
		atomic_thread_fence(memory_order_seq_cst);
		if (sleep_claimed(w) || work_visible(rt) || timer_due(w) ||
		    load_mode(rt) == RT_STOP)
			break;
		watch_view v = look_around(w);
		if (!v.victim && !v.busy) {
			/* relaxed: ordered by the fence below. */
			atomic_fetch_sub_explicit(&rt->watching, 1, memory_order_relaxed);
			/* seq_cst: pairs with the fence in notify_runnext
			 * (Dekker): either we see a slot it filled, or it sees
			 * watching == 0 and wakes a sleeper. */
			atomic_thread_fence(memory_order_seq_cst);
			v = look_around(w);
			if (!v.victim) {
				/* relaxed: our own heap's hint; a timer is only
				 * added by a task running on this worker, so none
				 * appears while we sleep. */
				weft__deadline d = deadline_at(atomic_load_explicit(
					&w->next_deadline, memory_order_relaxed));
				weft__futex_wait(&w->sleep_word, 1, &d);
				unsleep(w);
				return NULL;
			}
			/* relaxed: as the increment above. */
			atomic_fetch_add_explicit(&rt->watching, 1, memory_order_relaxed);
		}
		weft__deadline d = watch_deadline(w);
		weft__futex_wait(&w->sleep_word, 1, &d);
		if (!sleep_claimed(w) && (stolen = steal_runnext(&v)))
			break;
	}
	/* relaxed: as the increment above. */
	atomic_fetch_sub_explicit(&rt->watching, 1, memory_order_relaxed);
	unsleep(w);
	return stolen;
}

static weft_rt_task *worker_idle(worker *w)
{
	if (!spin_for_work(w))
		return worker_sleep(w);
	return NULL;
}

static void worker_init_thread(worker *w)
{
	tls_worker = w;
	pthread_attr_t a;
	if (pthread_getattr_np(pthread_self(), &a) == 0) {
		void *lo;
		size_t sz;
		if (pthread_attr_getstack(&a, &lo, &sz) == 0) {
			w->stack_lo = lo;
			w->stack_size = sz;
		}
		pthread_attr_destroy(&a);
	}
#if WEFT_TSAN
	w->tsan_fiber = __tsan_get_current_fiber();
#endif
	char name[16];
	snprintf(name, sizeof name, "%s-%u", w->rt->name, w->index);
	pthread_setname_np(pthread_self(), name);
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	weft_rt *rt = w->rt;
	worker_init_thread(w);
	for (;;) {
		fire_timers(w);
		weft_rt_task *t = find_task(w);
		if (!t) {
			if (load_mode(rt) == RT_STOP)
				break;
			if (!(t = worker_idle(w))) /* or a stale runnext task */
				continue;
		}
		if (w->spinning) {
			/* A submitter that saw us spinning woke nobody: if
			 * work is left, pass the wake-up on. seq_cst: as the
			 * fence in notify_work, against worker_sleep's. */
			stop_spinning(w);
			atomic_thread_fence(memory_order_seq_cst);
			if (work_visible(rt))
				notify_work(rt);
		}
		run_task(w, t);
	}
	stop_spinning(w);
	return NULL;
}

/* ------------------------------------------------------------ blocking */

static void *blocking_main(void *arg)
{
	weft_rt *rt = arg;
	blocking_pool *bp = &rt->blk;
	weft_mutex_lock(&bp->lock);
	for (;;) {
		weft_rt_task *t = fifo_pop(&bp->jobs);
		if (t) {
			weft_mutex_unlock(&bp->lock);
			t->result = t->fn(t->arg);
			finish_task(NULL, t);
			weft_mutex_lock(&bp->lock);
			continue;
		}
		if (bp->stop)
			break;
		bp->nidle++;
		/* relaxed: read under the lock that orders every bump. */
		uint32_t seq = atomic_load_explicit(&bp->seq, memory_order_relaxed);
		weft_mutex_unlock(&bp->lock);
		weft__deadline never = weft__deadline_never();
		weft__futex_wait(&bp->seq, seq, &never);
		weft_mutex_lock(&bp->lock);
		bp->nidle--;
	}
	weft_mutex_unlock(&bp->lock);
	return NULL;
}

/* Queue t for a blocking thread, starting one if none is idle. */
static int blocking_submit(weft_rt *rt, weft_rt_task *t)
{
	blocking_pool *bp = &rt->blk;
	weft_mutex_lock(&bp->lock);
	if (bp->nidle == 0 && bp->nthreads < bp->max) {
		if (pthread_create(&bp->threads[bp->nthreads], NULL, blocking_main, rt) == 0)
			bp->nthreads++;
		else if (bp->nthreads == 0) {
			weft_mutex_unlock(&bp->lock);
			return EAGAIN;
		}
	}
	fifo_push(&bp->jobs, t);
	/* relaxed: under the lock (see blocking_main). */
	atomic_fetch_add_explicit(&bp->seq, 1, memory_order_relaxed);
	weft_mutex_unlock(&bp->lock);
	weft__futex_wake(&bp->seq, 1);
	return 0;
}

static void blocking_stop(weft_rt *rt)
{
	blocking_pool *bp = &rt->blk;
	weft_mutex_lock(&bp->lock);
	bp->stop = true;
	/* relaxed: under the lock, as in blocking_submit. */
	atomic_fetch_add_explicit(&bp->seq, 1, memory_order_relaxed);
	weft_mutex_unlock(&bp->lock);
	weft__futex_wake(&bp->seq, WEFT__FUTEX_WAKE_ALL);
	for (unsigned i = 0; i < bp->nthreads; i++)
		pthread_join(bp->threads[i], NULL);
}

/* ------------------------------------------------------------ public */

static void rt_free(weft_rt *rt)
{
	for (unsigned i = 0; i < rt->nworkers; i++) {
		worker *w = &rt->workers[i];
		weft__deque_destroy(&w->dq);
		free(w->heap);
		weft__stack_cache_drain(&rt->stacks, &w->cache);
	}
	weft__stack_pool_destroy(&rt->stacks);
	free(rt->workers);
	free(rt->shards);
	free(rt->blk.threads);
	free(rt);
}

/* Stop and join the first n workers. */
static void stop_workers(weft_rt *rt, unsigned n)
{
	/* seq_cst: the fence after orders the store before our loads of
	 * sleep_word; a worker going to sleep stores sleep_word, fences and
	 * rereads the mode (Dekker): we claim it, or it sees STOP. */
	atomic_store_explicit(&rt->mode, RT_STOP, memory_order_seq_cst);
	atomic_thread_fence(memory_order_seq_cst);
	for (unsigned i = 0; i < n; i++) {
		worker *x = &rt->workers[i];
		uint32_t one = 1;
		/* relaxed: as in wake_one. */
		if (atomic_compare_exchange_strong_explicit(&x->sleep_word, &one, 0,
							    memory_order_relaxed,
							    memory_order_relaxed)) {
			/* relaxed: counts, as in wake_one. */
			atomic_fetch_sub_explicit(&rt->nsleeping, 1, memory_order_relaxed);
			atomic_fetch_add_explicit(&rt->spinning, 1, memory_order_relaxed);
			weft__futex_wake(&x->sleep_word, 1);
		}
	}
	for (unsigned i = 0; i < n; i++)
		pthread_join(rt->workers[i].tid, NULL);
}

static int check_stack_size(size_t size)
{
	return size == 0 || (size >= WEFT_RT_STACK_MIN && size <= WEFT_RT_STACK_MAX)
		       ? 0
		       : EINVAL;
}

static int rt_alloc(weft_rt **out, unsigned n, const weft_rt_opts *o)
{
	weft_rt *rt = aligned_alloc(WEFT_CACHELINE,
				    (sizeof *rt + WEFT_CACHELINE - 1) & ~(size_t)(WEFT_CACHELINE - 1));
	if (!rt)
		return ENOMEM;
	memset(rt, 0, sizeof *rt);
	rt->nworkers = n;
	rt->stack_size = o && o->stack_size ? o->stack_size : WEFT_RT_STACK_DEFAULT;
	weft__stack_pool_init(&rt->stacks, rt->stack_size);
	snprintf(rt->name, sizeof rt->name, "%s", o && o->name ? o->name : "weft-rt");
	rt->blk.max = o && o->blocking_max ? o->blocking_max : BLOCKING_MAX_DEFAULT;
	uint32_t cpus = weft__cpus_usable();
	rt->max_spinning = cpus > 1 ? (cpus / 2 ? cpus / 2 : 1) : 0;
	rt->workers = aligned_alloc(WEFT_CACHELINE,
				    ((n * sizeof(worker)) + WEFT_CACHELINE - 1) & ~(size_t)(WEFT_CACHELINE - 1));
	rt->shards = aligned_alloc(WEFT_CACHELINE, (n + 1) * sizeof(shard));
	rt->blk.threads = calloc(rt->blk.max, sizeof(pthread_t));
	if (!rt->workers || !rt->shards || !rt->blk.threads) {
		free(rt->workers);
		free(rt->shards);
		free(rt->blk.threads);
		free(rt);
		return ENOMEM;
	}
	memset(rt->workers, 0, n * sizeof(worker));
	memset(rt->shards, 0, (n + 1) * sizeof(shard));
	*out = rt;
	return 0;
}

static int workers_init(weft_rt *rt)
{
	for (unsigned i = 0; i < rt->nworkers; i++) {
		worker *w = &rt->workers[i];
		w->rt = rt;
		w->index = i;
		w->rng = 0x9e3779b97f4a7c15ull * (i + 1);
		atomic_init(&w->next_deadline, UINT64_MAX);
		if (weft__deque_init(&w->dq, DEQUE_LOG2_SLOTS)) {
			for (unsigned j = 0; j < i; j++)
				weft__deque_destroy(&rt->workers[j].dq);
			return ENOMEM;
		}
	}
	return 0;
}

int weft_rt_create(weft_rt **out, const weft_rt_opts *opts)
{
	if (!out)
		return EINVAL;
	*out = NULL;
	if (opts && (check_stack_size(opts->stack_size) ||
		     opts->threads > WEFT_RT_THREADS_MAX))
		return EINVAL;
	unsigned n = opts && opts->threads ? opts->threads : weft__cpus_usable();
	weft_rt *rt;
	int rc = rt_alloc(&rt, n ? n : 1, opts);
	if (rc)
		return rc;
	if (workers_init(rt)) {
		rt->nworkers = 0;
		rt_free(rt);
		return ENOMEM;
	}
	for (unsigned i = 0; i < rt->nworkers; i++) {
		rc = pthread_create(&rt->workers[i].tid, NULL, worker_main, &rt->workers[i]);
		if (rc) {
			stop_workers(rt, i);
			rt_free(rt);
			return rc;
		}
	}
	*out = rt;
	return 0;
}

static weft_rt_task *task_new(weft_rt *rt, void *(*fn)(void *), void *arg,
			      bool handle)
{
	weft_rt_task *t = malloc(sizeof *t);
	if (!t)
		return NULL;
	memset(t, 0, sizeof *t);
	t->rt = rt;
	t->fn = fn;
	t->arg = arg;
	t->heap_index = -1;
	atomic_init(&t->refs, handle ? 2 : 1);
	return t;
}

/* Count a new task in (EPIPE once destroy began). */
static int begin_task(weft_rt *rt)
{
	live_get(rt);
	if (load_mode(rt) == RT_RUNNING)
		return 0;
	live_put(rt);
	return EPIPE;
}

int weft_go_with(weft_rt *rt, weft_rt_task **task, const weft_go_opts *opts,
		 void *(*fn)(void *), void *arg)
{
	if (!rt || !fn || (opts && check_stack_size(opts->stack_size)))
		return EINVAL;
	if (begin_task(rt))
		return EPIPE;
	size_t size = opts && opts->stack_size ? opts->stack_size : rt->stack_size;
	weft_rt_task *t = task_new(rt, fn, arg, task != NULL);
	worker *w = current_worker();
	bool inside = w && w->rt == rt;
	if (t)
		t->stack = weft__stack_get(&rt->stacks, inside ? &w->cache : NULL, size);
	if (!t || !t->stack) {
		free(t);
		live_put(rt);
		return ENOMEM;
	}
	registry_add(rt, t, inside ? w->index : rt->nworkers);
	if (task)
		*task = t;
	schedule(rt, t);
	return 0;
}

int weft_go(weft_rt *rt, weft_rt_task **task, void *(*fn)(void *), void *arg)
{
	return weft_go_with(rt, task, NULL, fn, arg);
}

int weft_rt_spawn_blocking(weft_rt *rt, weft_rt_task **task,
			   void *(*fn)(void *), void *arg)
{
	if (!rt || !fn)
		return EINVAL;
	if (begin_task(rt))
		return EPIPE;
	weft_rt_task *t = task_new(rt, fn, arg, task != NULL);
	if (!t) {
		live_put(rt);
		return ENOMEM;
	}
	t->blocking = true;
	if (task)
		*task = t;
	int rc = blocking_submit(rt, t);
	if (rc) {
		free(t);
		live_put(rt);
	}
	return rc;
}

static bool join_ended(weft_rt_task *t)
{
	/* acquire: pairs with the release store of ENDED in complete_join:
	 * the result is visible. */
	return atomic_load_explicit(&t->join, memory_order_acquire) & J_ENDED;
}

int weft_rt_join(weft_rt_task *t, void **result)
{
	if (!t)
		return EINVAL;
	weft_rt_task *self = weft__rt_self();
	if (self == t)
		return EDEADLK;
	t->joiner = self; /* published by the release CAS below */
	uint32_t s = 0;
	/* release: publishes t->joiner to complete_join's acquire load;
	 * failure (ENDED already): acquire, the result is visible. */
	if (atomic_compare_exchange_strong_explicit(&t->join, &s, J_WAITER,
						    memory_order_release,
						    memory_order_acquire)) {
		weft__deadline never = weft__deadline_never();
		while (!join_ended(t)) {
			if (self) /* not cancelable: t ends under destroy too */
				task_park(self, 0);
			else
				weft__futex_wait(&t->join, J_WAITER, &never);
		}
	}
	if (result)
		*result = t->result;
	task_unref(t); /* the handle's reference */
	return 0;
}

int weft_yield(void)
{
	weft_rt_task *self = weft__rt_self();
	if (!self) {
		sched_yield();
		return 0;
	}
	switch_out(self, WHY_YIELD);
	return 0;
}

int weft_sleep_ns(uint64_t ns)
{
	weft_rt_task *self = weft__rt_self();
	if (!self) {
		struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
		while (nanosleep(&ts, &ts) != 0)
			;
		return 0;
	}
	uint64_t now = now_ns();
	uint64_t dl = ns > UINT64_MAX - now - 1 ? UINT64_MAX - 1 : now + ns;
	for (;;) {
		if (canceling(self->rt))
			return ECANCELED;
		if (now_ns() >= dl)
			return 0;
		task_park(self, dl);
	}
}

weft_rt *weft_rt_current(void)
{
	weft_rt_task *t = weft__rt_self();
	return t ? t->rt : NULL;
}

static void wait_live_zero(weft_rt *rt)
{
	weft__deadline never = weft__deadline_never();
	uint32_t v;
	/* seq_cst: see live_put. */
	while ((v = atomic_load_explicit(&rt->live, memory_order_seq_cst)) != 0)
		weft__futex_wait(&rt->live, v, &never);
}

int weft_rt_destroy(weft_rt *rt)
{
	if (!rt)
		return EINVAL;
	worker *w = current_worker();
	if ((w && w->rt == rt) || weft_rt_current() == rt)
		return EDEADLK;
	/* seq_cst: Dekker with begin_task and live_put (see there). */
	atomic_store_explicit(&rt->mode, RT_CANCEL, memory_order_seq_cst);
	registry_wake_all(rt);
	wait_live_zero(rt);
	blocking_stop(rt);
	stop_workers(rt, rt->nworkers);
	rt_free(rt);
	return 0;
}
