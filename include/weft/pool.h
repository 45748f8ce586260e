/*
 * weft/pool.h - a fixed thread pool with work stealing: fire-and-forget
 * tasks, tasks with a result and a join, wait-for-all, parallel_for and
 * parallel_reduce over an index range (threadpool::execute, rayon's join
 * and par_iter, TBB's task_group).
 *
 * Shape (the known one: Cilk, TBB, rayon, Go's and tokio's schedulers):
 * - one Chase-Lev deque per worker (lib/internal/deque.h), with the C11
 *   memory orders of Le, Pop, Cohen and Zappa Nardelli, "Correct and
 *   Efficient Work-Stealing for Weak Memory Models" (PPoPP 2013). A worker
 *   pushes the tasks it creates at the bottom of its own deque and takes
 *   them back LIFO (cache-warm, depth-first); idle workers steal FIFO from
 *   the top of a victim chosen at random (the oldest, biggest pieces).
 * - a submit ring per outside thread that calls weft_pool_execute (up to
 *   8 threads per pool; the thread's for the pool's life): a Chase-Lev
 *   deque that its thread only pushes and the workers steal from in
 *   batches of up to 33 jobs, one CAS per batch (a batch steal is safe
 *   because the owner never takes). A worker runs the first job and puts
 *   the rest on its own deque, where the others can steal them. A ring
 *   grows like a deque, up to 2^17 queued jobs (16 bytes each; its
 *   arrays, under 4 MiB, are freed by destroy).
 * - one injector for everything else from outside (spawned tasks,
 *   parallel calls, execute from a ninth thread or past a ring's limit):
 *   weft_mpsc_intrusive (a push is one exchange, never blocks), drained
 *   by one worker at a time (a consumer token), a batch at a time too.
 * - what the deques and rings hold is a job of two words: an execute
 *   task is its function and argument, with no record, no malloc and no
 *   free; other tasks are a pointer to their weft_task record. So an
 *   outside execute costs the submitter one uncontended RMW (the count),
 *   one fence (the wake-up protocol below) and two stores, and a worker
 *   one CAS per batch plus its own count (docs/tuning.md, "Third pass").
 * - idle workers search (a bounded spin looking at the queues once per
 *   2 us, only while at most half the usable CPUs are searching and never
 *   on one CPU: each look costs the submitters a cache-line transfer), then
 *   park: each on its own futex word, listed on the pool's idle list. A
 *   submitter wakes one parked worker only when nobody is searching; the
 *   waker takes it off the list and counts it as searching on its behalf,
 *   so the submits that follow do not wake another before it has run. An
 *   idle pool makes no system calls and uses no CPU, and a busy one rarely
 *   wakes anyone. A searcher that finds work and leaves more behind wakes
 *   the next one (the wake-ups chain, one at a time). No lost wake-up: a
 *   worker lists itself, issues a seq_cst fence and looks at every queue
 *   once more before it sleeps; a submitter pushes and reads the idle and
 *   searching counts with seq_cst loads, after a seq_cst fence (a push on
 *   a worker's deque or on a submit ring) or after a seq_cst RMW (an
 *   injector push: its count; no fence then). One of the two sees the
 *   other (Dekker, C11 7.17.3). A ring is published (its pointer, then
 *   the ring count) before its first push, so the recheck finds it.
 *
 * Waiting inside the pool never idles a worker: weft_task_join,
 * weft_pool_join, weft_pool_wait and nested parallel_for / parallel_reduce called from a
 * task run other tasks while they wait (their own deque first, then the
 * injector, then stealing), and sleep only when there is nothing to run;
 * what they wait for is then running on another worker. A joining worker
 * sleeps on the idle list like an idle one, so new work wakes it too, and
 * the end of the task it joins takes it off the list. So nesting at any
 * depth completes on any number of workers (>= 1).
 *
 * Counting for wait and destroy: every execute/spawn task, and every
 * parallel_for/reduce/join called from outside the pool, counts in `pending`
 * from submission to its end. weft_pool_wait from outside returns when
 * pending reaches 0; from inside a task it returns when every pending item
 * is itself a task blocked in weft_pool_wait (it does not wait for its own
 * task). The pieces of a parallel_for and the halves of a join are not
 * counted: their call is.
 *
 * Destroy: DRAIN runs everything queued (and whatever that spawns), then
 * stops the workers. DISCARD lets running tasks end and drops the queued
 * execute/spawn tasks without running them: an execute task is freed, a
 * spawned task's join returns ECANCELED. The pieces of a parallel_for
 * and the halves of a join that is already running still run (their
 * caller is waiting for them).
 * Submitting during or after destroy -> EPIPE. weft_panic inside a task
 * aborts the process (workers are not weft_threads: nobody joins them).
 *
 * Task lifetime: a task's record is freed by whoever is last: an execute
 * task by the worker after running it; a spawned task by its join (every
 * spawned task must be joined exactly once). The records of a parallel
 * call's pieces and of a join's offered half live on their caller's
 * stack, which returns only after they ended (the same rules, with "its
 * frame is reused" for "freed"). The runner reads who sleeps
 * on the task before the CAS that ends it (after it, the joiner may free
 * the record): a joining worker is woken through its own park word (the
 * worker outlives the task). A joiner outside the pool sleeps on the
 * task's state word, and may have returned and freed the record before
 * the runner's FUTEX_WAKE: a FUTEX_WAKE on a freed address of a private
 * futex reads no memory and at worst wakes a waiter spuriously, which
 * every weft futex wait tolerates (as glibc's semaphores do).
 */
#ifndef WEFT_POOL_H
#define WEFT_POOL_H

#include <sched.h>
#include <stddef.h>

#include "weft/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_pool weft_pool;
typedef struct weft_task weft_task;

typedef struct weft_pool_opts {
	unsigned threads;      /* 0: the CPUs this process may use */
	const char *name;      /* worker names "<name>-<i>"; NULL: "weft-pool" */
	const cpu_set_t *cpus; /* NULL: inherit; else every worker's affinity */
} weft_pool_opts;

#define WEFT_POOL_DRAIN 0
#define WEFT_POOL_DISCARD 1

/* Most workers a pool may have. */
#define WEFT_POOL_MAX_THREADS 1024u

/*
 * Start a pool. opts NULL: defaults. -> 0, EINVAL (NULL p, threads above
 * WEFT_POOL_MAX_THREADS, an empty cpu set or one outside this thread's
 * affinity), ENOMEM, EAGAIN (no resources for the threads).
 */
WEFT_API int weft_pool_create(weft_pool **p, const weft_pool_opts *opts);

/* The number of workers. */
WEFT_API unsigned weft_pool_threads(const weft_pool *p);

/* Run fn(arg) on the pool, fire and forget. -> 0, EINVAL, EPIPE, ENOMEM. */
WEFT_API int weft_pool_execute(weft_pool *p, void (*fn)(void *), void *arg);

/* Run fn(arg) on the pool; weft_task_join gets its result.
 * -> 0, EINVAL, EPIPE, ENOMEM (*t untouched on error). */
WEFT_API int weft_pool_spawn(weft_pool *p, weft_task **t, void *(*fn)(void *),
		    void *arg);

/*
 * Wait for t, store its result (result may be NULL) and free t. From a
 * worker it runs other tasks meanwhile. -> 0, EINVAL (NULL t), ECANCELED
 * (destroy(DISCARD) dropped t before it ran; t is freed too).
 */
WEFT_API int weft_task_join(weft_task *t, void **result);

/*
 * Run fa(a) and fb(b), potentially in parallel, and return when both have
 * returned: *ra = fa's result, *rb = fb's (ra, rb may be NULL). rayon's
 * join. On a worker of p: fb(b) is offered to the other workers as a job
 * whose record lives on the caller's stack (no malloc, nothing counted:
 * the calling task is), fa(a) runs on the calling thread, then fb is taken
 * back and run here unless a worker took it, in which case the caller runs
 * other tasks until that worker has ended it (as weft_task_join). Nests to
 * any depth on any number of workers. From any other thread the whole
 * join is submitted as one task, counted like a spawned one, and the
 * caller sleeps until it ends.
 * States of the offered record: PENDING in the caller's deque; taken back
 * by the caller (run, no atomic write) or stolen (run by the thief, which
 * ends it with a release CAS to DONE that the caller's acquire load reads
 * before *rb); the caller returns only after one of the two.
 * Parallelism is offered, not promised (as rayon's and TBB's): fa must not
 * wait for fb, which may run after fa on the calling thread.
 * -> 0, EINVAL (NULL p, fa or fb), EPIPE (from outside, destroy began).
 */
WEFT_API int weft_pool_join(weft_pool *p, void *(*fa)(void *), void *a,
			    void **ra, void *(*fb)(void *), void *b, void **rb);

/* Return when all work submitted before the call is done (see above). */
WEFT_API void weft_pool_wait(weft_pool *p);

/*
 * body(lo, hi, arg) over [begin, end) in pieces of at most grain indices,
 * never empty, split in halves recursively; returns when all have run.
 * -> 0, EINVAL (NULL p or body, grain 0, begin > end), EPIPE, ENOMEM.
 */
WEFT_API int weft_pool_parallel_for(weft_pool *p, size_t begin, size_t end,
			   size_t grain,
			   void (*body)(size_t lo, size_t hi, void *arg),
			   void *arg);

/*
 * A reduction over [begin, end): each piece's accumulator (acc_size bytes)
 * starts as a copy of identity and map folds [lo, hi) into it; combine
 * folds `other` (higher indices) into `acc` (lower indices). With an
 * associative combine the result is the sequential one, whatever the
 * split. *result = identity for an empty range. -> 0, EINVAL (NULL p,
 * identity, map, combine or result, acc_size 0, grain 0, begin > end),
 * EPIPE, ENOMEM.
 */
WEFT_API int weft_pool_parallel_reduce(weft_pool *p, size_t begin, size_t end,
			      size_t grain, size_t acc_size,
			      const void *identity,
			      void (*map)(size_t lo, size_t hi, void *acc,
					  void *arg),
			      void (*combine)(void *acc, const void *other,
					      void *arg),
			      void *arg, void *result);

/*
 * Stop the pool (mode WEFT_POOL_DRAIN or WEFT_POOL_DISCARD, see above) and
 * free it; returns after every running task ended. Not from inside one of
 * its own tasks (that would wait for itself: a WEFT_DEBUG abort). NULL: no-op.
 */
WEFT_API void weft_pool_destroy(weft_pool *p, int mode);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_POOL_H */
