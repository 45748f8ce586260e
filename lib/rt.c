/* lib/rt.c - the task runtime (stub: the real scheduler follows). */
#include "weft/rt.h"

#include <errno.h>
#include <sched.h>
#include <time.h>

int weft_rt_create(weft_rt **rt, const weft_rt_opts *opts)
{
	(void)opts;
	if (!rt)
		return EINVAL;
	*rt = NULL;
	return ENOSYS;
}

int weft_rt_destroy(weft_rt *rt)
{
	return rt ? ENOSYS : EINVAL;
}

int weft_go_with(weft_rt *rt, weft_rt_task **task, const weft_go_opts *opts,
		 void *(*fn)(void *), void *arg)
{
	(void)task, (void)opts, (void)arg;
	return rt && fn ? ENOSYS : EINVAL;
}

int weft_go(weft_rt *rt, weft_rt_task **task, void *(*fn)(void *), void *arg)
{
	return weft_go_with(rt, task, NULL, fn, arg);
}

int weft_rt_spawn_blocking(weft_rt *rt, weft_rt_task **task,
			   void *(*fn)(void *), void *arg)
{
	(void)task, (void)arg;
	return rt && fn ? ENOSYS : EINVAL;
}

int weft_rt_join(weft_rt_task *task, void **result)
{
	(void)result;
	return task ? ENOSYS : EINVAL;
}

int weft_yield(void)
{
	sched_yield();
	return 0;
}

int weft_sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
	while (nanosleep(&ts, &ts) != 0)
		;
	return 0;
}

weft_rt *weft_rt_current(void)
{
	return NULL;
}
