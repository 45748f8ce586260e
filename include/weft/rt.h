/*
 * weft/rt.h - a runtime of lightweight tasks (stackful coroutines) on N
 * worker threads: sleeping, joining and channel waits park the task, not
 * its worker. (Full design notes: see the comment block below the API.)
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
