/*
 * lib/internal/rt.h - what the rest of weft needs from the task runtime
 * (lib/rt.c): the waiter of internal/waiter.h parks a task instead of its
 * worker thread when it was initialised on a task. Nothing else in weft
 * knows tasks exist.
 */
#ifndef WEFT_INTERNAL_RT_H
#define WEFT_INTERNAL_RT_H

#include "internal/futex.h"

struct weft__waiter;
struct weft_rt_task;

/* The task the calling code runs on, or NULL on a plain thread (or on a
 * worker outside any task). Never inlined: a task may move to another
 * worker thread at every park, so its thread-locals must be re-read. */
struct weft_rt_task *weft__rt_self(void);

/*
 * Park the calling task (w->task) until w is unparked or the deadline
 * passes: 0 unparked, ETIMEDOUT, or ECANCELED when the runtime is being
 * destroyed and nobody has claimed w (a claimed waiter waits for its
 * unpark: the claimer may still be writing into its buffer).
 */
int weft__rt_waiter_park(struct weft__waiter *w, const weft__deadline *deadline);

/* Unpark w, whose owner is the task w->task (see weft__waiter_unpark). */
void weft__rt_waiter_unpark(struct weft__waiter *w);

#endif /* WEFT_INTERNAL_RT_H */
