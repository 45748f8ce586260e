/* tests/unit_thread.c - weft_thread: options observable from inside the
 * thread, join results, panics, detach and every error code. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"
#include "weft/thread.h"

TestSuite(thread, .timeout = WEFT_UNIT_TIMEOUT_S);

static int return_arg(void *arg, void **result)
{
	*result = arg;
	return 0;
}

Test(thread, spawn_and_join_returns_result_and_status)
{
	weft_thread *t;
	int x = 5;
	cr_assert_eq(weft_thread_spawn(&t, NULL, return_arg, &x), 0);
	int status = -7;
	void *r = NULL;
	cr_assert_eq(weft_thread_join(t, &status, &r), 0);
	cr_assert_eq(status, 0);
	cr_assert_eq(r, &x);
}

static int fail_with_code(void *arg, void **result)
{
	(void)result;
	return (int)(intptr_t)arg;
}

Test(thread, returned_error_is_the_status_not_a_panic)
{
	weft_thread *t;
	cr_assert_eq(weft_thread_spawn(&t, NULL, fail_with_code, (void *)(intptr_t)ENOENT), 0);
	int status = 0;
	void *r = (void *)1;
	cr_assert_eq(weft_thread_join(t, &status, &r), 0);
	cr_assert_eq(status, ENOENT);
	cr_assert_null(r, "nothing stored: result NULL");
	cr_assert_neq(status, WEFT_THREAD_PANICKED);
}

Test(thread, bad_arguments_are_einval)
{
	weft_thread *t = NULL;
	cr_assert_eq(weft_thread_spawn(NULL, NULL, return_arg, NULL), EINVAL);
	cr_assert_eq(weft_thread_spawn(&t, NULL, NULL, NULL), EINVAL);
	cr_assert_null(t);
	cr_assert_eq(weft_thread_join(NULL, NULL, NULL), EINVAL);
	cr_assert_eq(weft_thread_detach(NULL), EINVAL);
	cr_assert_null(weft_thread_name(), "main is not a weft thread");
}

typedef struct observed {
	char kernel_name[32];
	char weft_name[64]; /* copied: the record dies with the join */
	size_t stack_size;
	cpu_set_t cpus;
} observed;

static int observe(void *arg, void **result)
{
	(void)result;
	observed *o = arg;
	pthread_getname_np(pthread_self(), o->kernel_name, sizeof o->kernel_name);
	const char *n = weft_thread_name();
	snprintf(o->weft_name, sizeof o->weft_name, "%s", n ? n : "(null)");
	pthread_attr_t a;
	pthread_getattr_np(pthread_self(), &a);
	pthread_attr_getstacksize(&a, &o->stack_size);
	pthread_attr_destroy(&a);
	sched_getaffinity(0, sizeof o->cpus, &o->cpus);
	return 0;
}

Test(thread, name_kept_whole_kernel_name_truncated_to_15_bytes)
{
	const char *name = "a-thread-name-longer-than-fifteen";
	observed o = { 0 };
	weft_thread *t;
	cr_assert_eq(weft_thread_spawn(&t, &(weft_thread_opts){ .name = name },
				       observe, &o), 0);
	cr_assert_eq(weft_thread_join(t, NULL, NULL), 0);
	cr_assert_str_eq(o.kernel_name, "a-thread-name-l");
	cr_assert_str_eq(o.weft_name, name);
}

Test(thread, kernel_name_is_not_cut_inside_a_utf8_character)
{
	/* 14 ASCII bytes then a 2-byte character: byte 15 would split it. */
	observed o = { 0 };
	weft_thread *t;
	cr_assert_eq(weft_thread_spawn(&t, &(weft_thread_opts){ .name = "abcdefghijklmn\xc3\xa9z" },
				       observe, &o), 0);
	cr_assert_eq(weft_thread_join(t, NULL, NULL), 0);
	cr_assert_str_eq(o.kernel_name, "abcdefghijklmn");
}

Test(thread, stack_size_rounded_to_pages_and_observable)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t want = 1024 * 1024 + 100;
	observed o = { 0 };
	weft_thread *t;
	cr_assert_eq(weft_thread_spawn(&t, &(weft_thread_opts){ .stack_size = want },
				       observe, &o), 0);
	cr_assert_eq(weft_thread_join(t, NULL, NULL), 0);
	cr_assert_geq(o.stack_size, want);
	cr_assert_eq(o.stack_size % page, 0, "stack %zu not whole pages", o.stack_size);
	cr_assert_lt(o.stack_size, want + 2 * page);
}

Test(thread, stack_size_below_minimum_is_einval)
{
	weft_thread *t = NULL;
	cr_assert_eq(weft_thread_spawn(&t, &(weft_thread_opts){ .stack_size = 1 },
				       return_arg, NULL), EINVAL);
	long min = sysconf(_SC_THREAD_STACK_MIN);
	cr_assert_eq(weft_thread_spawn(&t, &(weft_thread_opts){ .stack_size = (size_t)min - 1 },
				       return_arg, NULL), EINVAL);
	cr_assert_eq(weft_thread_spawn(&t, &(weft_thread_opts){ .stack_size = SIZE_MAX },
				       return_arg, NULL), EINVAL);
	cr_assert_null(t);
}

static int first_allowed_cpu(void)
{
	cpu_set_t s;
	sched_getaffinity(0, sizeof s, &s);
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &s))
			return i;
	return -1;
}

Test(thread, cpu_set_is_applied)
{
	int cpu = first_allowed_cpu();
	cpu_set_t want;
	CPU_ZERO(&want);
	CPU_SET(cpu, &want);
	observed o = { 0 };
	weft_thread *t;
	cr_assert_eq(weft_thread_spawn(&t, &(weft_thread_opts){ .cpus = &want },
				       observe, &o), 0);
	cr_assert_eq(weft_thread_join(t, NULL, NULL), 0);
	cr_assert(CPU_EQUAL(&o.cpus, &want), "affinity not applied");
}

Test(thread, empty_or_forbidden_cpu_set_is_einval)
{
	weft_thread *t = NULL;
	cpu_set_t s;
	CPU_ZERO(&s);
	cr_assert_eq(weft_thread_spawn(&t, &(weft_thread_opts){ .cpus = &s },
				       return_arg, NULL), EINVAL);
	cpu_set_t allowed;
	sched_getaffinity(0, sizeof allowed, &allowed);
	int outside = -1;
	for (int i = CPU_SETSIZE - 1; i >= 0 && outside < 0; i--)
		if (!CPU_ISSET(i, &allowed))
			outside = i;
	cr_assert_geq(outside, 0);
	CPU_SET(outside, &s);
	CPU_SET(first_allowed_cpu(), &s); /* one good CPU does not excuse a bad one */
	cr_assert_eq(weft_thread_spawn(&t, &(weft_thread_opts){ .cpus = &s },
				       return_arg, NULL), EINVAL);
	cr_assert_null(t);
}

static int panic_with_number(void *arg, void **result)
{
	(void)result;
	weft_panic("failed at step %d", *(int *)arg);
}

Test(thread, panic_is_reported_with_its_message)
{
	int step = 3;
	weft_thread *t;
	cr_assert_eq(weft_thread_spawn(&t, NULL, panic_with_number, &step), 0);
	int status = 0;
	void *msg = NULL;
	cr_assert_eq(weft_thread_join(t, &status, &msg), 0);
	cr_assert_eq(status, WEFT_THREAD_PANICKED);
	cr_assert_str_eq(msg, "failed at step 3");
	free(msg);
}

Test(thread, panic_message_freed_when_result_is_not_wanted)
{
	int step = 4;
	weft_thread *t;
	cr_assert_eq(weft_thread_spawn(&t, NULL, panic_with_number, &step), 0);
	int status = 0;
	cr_assert_eq(weft_thread_join(t, &status, NULL), 0); /* ASan: no leak */
	cr_assert_eq(status, WEFT_THREAD_PANICKED);
}

Test(thread, panic_in_a_thread_weft_did_not_start_aborts, .signal = SIGABRT)
{
	weft_panic("from the test's own thread");
}

static _Atomic(weft_thread *) self_handle;

static int join_self(void *arg, void **result)
{
	(void)arg;
	weft_thread *me;
	/* acquire: pairs with the release store after spawn returned. */
	while (!(me = atomic_load_explicit(&self_handle, memory_order_acquire)))
		sched_yield();
	*result = (void *)(intptr_t)weft_thread_join(me, NULL, NULL);
	return 0;
}

Test(thread, joining_yourself_is_edeadlk_and_does_not_consume)
{
	weft_thread *t;
	cr_assert_eq(weft_thread_spawn(&t, NULL, join_self, NULL), 0);
	atomic_store_explicit(&self_handle, t, memory_order_release);
	void *r = NULL;
	cr_assert_eq(weft_thread_join(t, NULL, &r), 0, "handle still valid");
	cr_assert_eq((int)(intptr_t)r, EDEADLK);
}

static _Atomic int detached_ran;

static int count_run(void *arg, void **result)
{
	(void)result;
	(void)arg;
	atomic_fetch_add(&detached_ran, 1);
	return 0;
}

static int panic_detached(void *arg, void **result)
{
	(void)result;
	(void)arg;
	atomic_fetch_add(&detached_ran, 1);
	weft_panic("detached %d", 1);
}

Test(thread, detach_before_and_after_the_end_frees_the_record)
{
	/* ASan's leak check sees a record that nobody freed. */
	weft_thread *t;
	cr_assert_eq(weft_thread_spawn(&t, NULL, count_run, NULL), 0);
	cr_assert_eq(weft_thread_detach(t), 0);
	cr_assert_eq(weft_thread_spawn(&t, NULL, panic_detached, NULL), 0);
	while (atomic_load(&detached_ran) < 2)
		sched_yield();
	cr_assert_eq(weft_thread_detach(t), 0);
	/* both threads end on their own; nothing to join */
}
