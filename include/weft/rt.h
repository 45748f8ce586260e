/*
 * weft/rt.h - a runtime of lightweight tasks on N worker threads, where
 * sleeping, joining and channel waits park the task, not its worker.
 *
 * Tasks are stackful coroutines: each runs a plain C function on a stack
 * of its own and can wait in the middle of any function. The context
 * switch is a few instructions of assembly per architecture
 * (lib/rt_switch_x86_64.S, lib/rt_switch_aarch64.S): it saves what the ABI
 * says a callee must preserve (x86-64: rbx rbp r12-r15, MXCSR and the x87
 * control word, so the rounding mode belongs to the task; AArch64:
 * x19-x29, lr, sp, d8-d15; FPCR stays per thread, as the ABI treats it).
 *
 * Stacks: mmap'd, WEFT_RT_STACK_DEFAULT (64 KiB) of virtual space above a
 * guard page; only touched pages cost memory (a task that barely uses its
 * stack costs one or two pages). Settable per runtime (opts.stack_size) and
 * per task (weft_go_with). Default-size stacks are carved 32 at a time from
 * one mapping, their guard pages installed with madvise(MADV_GUARD_INSTALL)
 * (Linux >= 6.13), which does not split the mapping: 100k tasks stay far
 * below vm.max_map_count. Where the kernel (or qemu-user) does not really
 * guard, mprotect(PROT_NONE) is used, costing two mappings per stack (the
 * limit is then about 30k live tasks; weft_go returns ENOMEM beyond).
 * The guard pages of a slab go in with one process_madvise call where the
 * kernel takes it (Linux >= 6.14), else one madvise per stack.
 *
 * A stack's first page is the costly part of a task (a page fault; on the
 * benchmark's VM 20-50 us, against ~0.2 us for the rest of a spawn), so
 * a task touches a new page only when no stack an ended task left is at
 * hand. A spawn reserves a stack (so weft_go reports ENOMEM) but writes
 * nothing to it (descriptors live apart from the stacks); the task's first
 * frame is written at its first run, by the worker that runs it, and if
 * the reserved stack was never used ("cold") the worker gives the task a
 * "warm" one instead (one an ended task left, from its own cache or the
 * runtime's free list) and keeps the cold one for later. Ended tasks'
 * stacks are cached per worker (warm first) and reused. So new pages are
 * paid about once per task alive at the same time, not once per spawn;
 * where one is needed, the worker populates the top pages of that stack
 * and of up to 15 free ones in one process_madvise(MADV_POPULATE_WRITE)
 * (cheaper than faulting them in one by one; the 15 become warm).
 *
 * Memory per live task: its touched stack pages (at least one 4 KiB page:
 * the first frames) plus a ~150-byte task struct; 100k tasks asleep at
 * once take ~4.2 KiB each (docs/tuning.md). A smaller default stack would
 * not lower that (it is virtual space; one page is the floor of a
 * stackful task), so the default stays 64 KiB. A stack overflow hits the
 * guard page and kills the process with SIGSEGV (under ASan, ASan's own
 * handler reports it). Code on a task must not put large arrays on its
 * stack: give such a task a bigger stack.
 *
 * Scheduling: each worker has a runnext slot (one task) and a Chase-Lev
 * deque (lib/internal/deque.h, the pool's). A task woken or spawned by a
 * task goes to its worker's runnext slot and runs next on that worker
 * (cache-warm: a ping-pong pair or a spawn+join stays on one worker); the
 * task it displaces from the slot goes to the bottom of the deque. A
 * worker picks runnext first, then its deque's newest (LIFO), then the
 * injector, then steals the oldest (FIFO) from a random victim's deque.
 * Spawns and wake-ups from plain threads, and weft_yield, go through a
 * FIFO injector. Every 61st pick a worker looks at the injector and its
 * own oldest task first, so a ping-pong pair cannot starve the rest.
 *
 * The runnext slot is not stolen while fresh: only its owner puts a task
 * there (release exchange), and takes it (exchange); another worker takes
 * it (acquire CAS) only when, after one whole watch sleep (WATCH_NS,
 * 1 ms), the slot still holds the same task and the owner has neither
 * started nor ended a task run since (worker.runs, odd while a task runs):
 * the owner is stuck in a long task or descheduled. An idle worker polls
 * for 10 us (only with more than one usable CPU, at most half of them
 * polling), then sleeps on a futex: a timed "watch" sleep of WATCH_NS
 * (counted in rt->watching) while another worker runs a task or holds a
 * runnext task, else until new work or its earliest timer; an idle
 * runtime makes no system calls.
 *
 * Wake-ups: a push to a deque or the injector wakes one sleeper only when
 * no worker is polling (a poller that finds work passes the wake-up on);
 * no lost wake-up by a seq_cst fence pair (notify_work / worker_sleep,
 * Dekker). Filling an empty runnext slot wakes a sleeper only when no
 * worker polls or watches (so a task in a slot always has a poller or a
 * watcher to steal it if its owner stalls); a watcher that stops watching
 * leaves rt->watching, fences (seq_cst) and looks at the slots again,
 * against notify_runnext's fence (Dekker): either it sees the filled slot
 * and watches on, or the filler sees no watcher and wakes it. The owner
 * never sleeps with its slot full (it takes the slot before idling, and
 * only it fills it).
 *
 * Timers: each worker has a binary heap (O(log n)) of the deadlines of the
 * tasks parked on it; the worker fires due timers at each scheduling step
 * and sleeps no later than its earliest deadline. A task's timer stays on
 * the worker it parked on, even if the task is resumed elsewhere (the
 * entry is removed under that heap's lock). A worker busy in a long task
 * without a park fires its timers late: tasks are cooperative.
 *
 * Task states (weft_rt_task.state), and the parking-lot race:
 *
 *     RUNNING            on a worker, or queued to run
 *     RUNNING|NOTIFIED   a wake-up came while it ran or was switching out
 *     PARKED             switched out completely, waiting
 *     DEAD               ended
 *
 * A task parks by switching to its worker's own context; only there, with
 * the task's registers saved and its stack no longer in use, does the
 * worker CAS RUNNING -> PARKED (release). A waker CASes PARKED -> RUNNING
 * (acq_rel) and queues the task, or RUNNING -> RUNNING|NOTIFIED and does
 * nothing else: the worker's CAS then fails and the worker itself requeues
 * the task. So a task is never resumed on one worker while still switching
 * out on another, and its saved context and stores reach the resuming
 * worker through release (park CAS) / acquire (wake CAS) then the queue's
 * own release/acquire. A park may return spuriously (a stale notification,
 * a timer firing as another wake-up came): every waiting loop re-checks
 * its condition.
 *
 * Channels: weft_chan_* called from a task park the task. The waiter of
 * lib/internal/waiter.h records the task (NULL for a thread); its park and
 * unpark are the only code that knows, so one channel serves tasks and
 * threads at once. Lifetime: the waiter lives on the task's stack; a task
 * cannot leave a park its waiter was claimed in before the claimer's
 * unpark, and the unparker holds a reference to the task struct (refs)
 * until it has made it runnable.
 *
 * Join: weft_rt_join from a task parks it; from a plain thread it sleeps
 * on a futex. Join waits for the end even while the runtime is being
 * destroyed (the joined task is canceled too). The handle is consumed;
 * handles stay joinable after weft_rt_destroy (the task struct is freed by
 * the last of its runner, its joiner and in-flight wakers).
 *
 * What blocks a worker (and stalls every task queued on it, not the
 * others, which idle workers steal): a blocking system call (read on a
 * socket, nanosleep...), weft_mutex / weft_cond / weft_rwlock waits (they
 * sleep the thread: never hold a weft_mutex across a park, a task that
 * waits for it on the same worker would deadlock), a spinning CPU-bound
 * loop without weft_yield. Channel operations wait a few microseconds at
 * most in weft__wait_progress when a peer is between two steps. Run
 * blocking calls with weft_rt_spawn_blocking: fn runs on one of up to
 * opts.blocking_max (default 16) extra threads, and a task joining it
 * parks.
 *
 * Destroy: weft_rt_destroy(rt) refuses new spawns (EPIPE), wakes every
 * task, and from then on every park of a task returns at once: a pending
 * or later weft_sleep_ns returns ECANCELED, a channel wait gives up as if
 * timed out (weft_chan_recv/send return ETIMEDOUT) unless it was already
 * claimed (then it completes), weft_rt_join still waits for the joined
 * task, which is canceled as well. Destroy waits for every task (and
 * blocking call) to end, then stops the workers and frees everything; a
 * task that ignores ECANCELED and loops forever makes it wait forever.
 * Not from a task of the runtime itself (EDEADLK).
 *
 * Threads under a task: a task may resume on another worker after any
 * park or yield. Code on a task must not keep what belongs to the thread
 * across one: a thread-local's address, errno's location or pthread_self()
 * (glibc declares __errno_location and pthread_self const, so the compiler
 * may reuse a value read before the switch; read them through a noinline
 * function, as lib/rt.c does its own thread-locals), nor a weft_rwlock read
 * lock (its visible-reader entry belongs to the thread that took it), nor
 * a weft_mutex (a biased one knows its owner by the thread pointer).
 *
 * Who may call what:
 *
 *     call                   task          plain thread      worker*
 *     weft_rt_create/destroy yes (other rt) yes             -
 *     weft_go / go_with      yes           yes               -
 *     weft_rt_spawn_blocking yes           yes               -
 *     weft_rt_join           parks task    futex sleep       -
 *     weft_yield             requeues      sched_yield       -
 *     weft_sleep_ns          parks (timer) nanosleep         -
 *     weft_rt_current        its rt        NULL              -
 *     weft_chan_*            parks task    futex sleep       -
 *     (* user code never runs on a worker outside a task; a
 *      spawn_blocking function runs on a plain thread.)
 *
 * Errors: EINVAL (NULL rt/fn/handle pointer where required, stack size
 * outside [WEFT_RT_STACK_MIN, WEFT_RT_STACK_MAX], threads above
 * WEFT_RT_THREADS_MAX); ENOMEM (no memory, stack or mapping; never a
 * crash); EPIPE (spawn once destroy began); EDEADLK (join of the calling
 * task's own handle, destroy from one of the runtime's tasks); EAGAIN
 * (spawn_blocking could not start any thread); ECANCELED (sleep in a task
 * of a runtime being destroyed).
 *
 * Sanitizers: every switch is announced to ASan
 * (__sanitizer_start/finish_switch_fiber) and TSan (__tsan_switch_to_fiber;
 * a TSan fiber is kept with each stack) in those builds only.
 */
#ifndef WEFT_RT_H
#define WEFT_RT_H

#include <stddef.h>
#include <stdint.h>

#include "weft/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_rt weft_rt;
typedef struct weft_rt_task weft_rt_task;

/* Default task stack (virtual; only touched pages cost memory). */
#define WEFT_RT_STACK_DEFAULT ((size_t)64 * 1024)
/* Smallest accepted stack_size (below: EINVAL). */
#define WEFT_RT_STACK_MIN ((size_t)16 * 1024)
/* Largest accepted stack_size (above: EINVAL). */
#define WEFT_RT_STACK_MAX ((size_t)256 * 1024 * 1024)
/* Largest accepted opts.threads (above: EINVAL). */
#define WEFT_RT_THREADS_MAX 1024u

typedef struct weft_rt_opts {
	unsigned threads;      /* workers; 0 = weft__cpus_usable() */
	size_t stack_size;     /* default task stack; 0 = WEFT_RT_STACK_DEFAULT */
	unsigned blocking_max; /* cap on spawn_blocking threads; 0 = default */
	const char *name;      /* worker thread name prefix; NULL = "weft-rt" */
} weft_rt_opts;

typedef struct weft_go_opts {
	size_t stack_size; /* 0 = the runtime's default */
} weft_go_opts;

WEFT_API int weft_rt_create(weft_rt **rt, const weft_rt_opts *opts);
WEFT_API int weft_rt_destroy(weft_rt *rt);
WEFT_API int weft_go(weft_rt *rt, weft_rt_task **task, void *(*fn)(void *),
		     void *arg);
WEFT_API int weft_go_with(weft_rt *rt, weft_rt_task **task,
			  const weft_go_opts *opts, void *(*fn)(void *),
			  void *arg);
WEFT_API int weft_rt_spawn_blocking(weft_rt *rt, weft_rt_task **task,
				    void *(*fn)(void *), void *arg);
WEFT_API int weft_rt_join(weft_rt_task *task, void **result);
WEFT_API int weft_yield(void);
WEFT_API int weft_sleep_ns(uint64_t ns);
WEFT_API weft_rt *weft_rt_current(void);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_RT_H */
