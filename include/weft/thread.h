/*
 * weft/thread.h - threads with options, and a join that tells a returned
 * error from a panic (the seed's thread::spawn, Builder and JoinHandle).
 *
 * weft_thread_spawn(&t, opts, fn, arg) starts fn(arg, &result) on a new
 * thread. Options (a NULL opts or a zero field means the default):
 *   name        kept whole by weft (weft_thread_name() returns it inside the
 *               thread); the kernel's name (pthread_setname_np, shown by ps,
 *               top, gdb) keeps the first 15 bytes, cut back to a UTF-8
 *               character boundary.
 *   stack_size  rounded up to whole pages; EINVAL below the system minimum
 *               (sysconf(_SC_THREAD_STACK_MIN), PTHREAD_STACK_MIN).
 *   cpus        the CPUs the thread may run on; EINVAL for an empty set or
 *               one naming a CPU outside the calling thread's own affinity
 *               mask (a CPU the process may not use).
 * cpu_set_t comes from <sched.h> (glibc defines the type without
 * _GNU_SOURCE); the CPU_ZERO / CPU_SET macros that fill it need _GNU_SOURCE
 * defined before the first system header.
 *
 * The record: one heap block per thread holds the name, the result, the
 * status and the panic message. weft_thread_join waits for the thread
 * (pthread_join), copies them out and frees the block: join consumes the
 * handle, as pthread_join does, so a handle is joined or detached exactly
 * once. Joining yourself is EDEADLK and does not consume the handle.
 * weft_thread_detach lets the thread free its own record when it ends
 * (whichever of the thread's end and detach comes second frees it: one
 * atomic exchange on the record's state decides).
 *
 * Panics: weft_panic(fmt, ...) stores the formatted message in the calling
 * thread's record, marks it panicked and ends the thread with pthread_exit.
 * On glibc pthread_exit unwinds the stack with forced unwinding
 * (_Unwind_ForcedUnwind): frames compiled with -fexceptions (GCC, Clang; C
 * code is compiled without it by default) run their
 * __attribute__((cleanup)) handlers (weft's guards) on the way out; frames
 * compiled without -fexceptions are unwound through but their cleanup
 * handlers do NOT run. pthread_cleanup_push handlers run in either case.
 * Nothing else in the process is touched: a panic ends one thread, never
 * the process. The joiner sees status WEFT_THREAD_PANICKED and, in
 * *result, the message (malloc'd: the joiner frees it; NULL only if the
 * message could not be allocated). weft_panic from a thread weft did not
 * start (main, a plain pthread, a weft_pool worker) prints the message to
 * stderr and aborts: there is no joiner to report to.
 */
#ifndef WEFT_THREAD_H
#define WEFT_THREAD_H

#include <sched.h>
#include <stddef.h>

#include "weft/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_thread weft_thread;

typedef struct weft_thread_opts {
	const char *name;      /* NULL: no name */
	size_t stack_size;     /* 0: the system default */
	const cpu_set_t *cpus; /* NULL: inherit the creator's affinity */
} weft_thread_opts;

/* The status of a thread that ended through weft_panic (fn's own status
 * is 0 or a positive error code). */
#define WEFT_THREAD_PANICKED (-1)

/*
 * Start fn(arg, &result) on a new thread. -> 0, EINVAL (NULL t or fn, a bad
 * option), EAGAIN (no resources for a thread), ENOMEM. On error *t is left
 * unchanged and no thread runs.
 */
WEFT_API int weft_thread_spawn(weft_thread **t, const weft_thread_opts *o,
		      int (*fn)(void *arg, void **result), void *arg);

/*
 * Wait for t to end; *status = fn's return or WEFT_THREAD_PANICKED, *result
 * = what fn stored in its result (NULL if nothing) or the panic message.
 * status and result may be NULL (a panic message is then freed here).
 * -> 0 (t consumed), EINVAL (t NULL), EDEADLK (t is the calling thread;
 * not consumed).
 */
WEFT_API int weft_thread_join(weft_thread *t, int *status, void **result);

/* Let t run on unjoined; its record is freed when it ends. -> 0, EINVAL. */
WEFT_API int weft_thread_detach(weft_thread *t);

/* End the calling weft thread as panicked (see above). */
WEFT_API _Noreturn void weft_panic(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* The calling thread's full name, or NULL (no name, or not a weft thread). */
WEFT_API const char *weft_thread_name(void);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_THREAD_H */
