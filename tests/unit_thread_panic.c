/*
 * tests/unit_thread_panic.c - weft_panic runs cleanup guards. This file is
 * compiled with -fexceptions (tests/CMakeLists.txt): the guarantee holds
 * for frames compiled that way (weft/thread.h says exactly when).
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "test_util.h"
#include "weft/thread.h"

TestSuite(thread_panic, .timeout = WEFT_UNIT_TIMEOUT_S);

typedef struct guard_log {
	int released[3];
	int order[3];
	int next;
} guard_log;

typedef struct guard {
	guard_log *log;
	int id;
} guard;

static void release_guard(guard *g)
{
	g->log->released[g->id] = 1;
	g->log->order[g->log->next++] = g->id;
}

#define GUARD(name, log_, id_)                                                 \
	guard name __attribute__((cleanup(release_guard))) = { (log_), (id_) }

static void inner(guard_log *log)
{
	GUARD(g2, log, 2);
	weft_panic("deep panic");
}

static int panicking(void *arg, void **result)
{
	(void)result;
	guard_log *log = arg;
	GUARD(g0, log, 0);
	{
		GUARD(g1, log, 1);
		inner(log);
	}
	return 0;
}

Test(thread_panic, panic_runs_cleanup_guards_innermost_first)
{
	guard_log log = { 0 };
	weft_thread *t;
	cr_assert_eq(weft_thread_spawn(&t, NULL, panicking, &log), 0);
	int status = 0;
	void *msg = NULL;
	cr_assert_eq(weft_thread_join(t, &status, &msg), 0);
	cr_assert_eq(status, WEFT_THREAD_PANICKED);
	cr_assert_str_eq(msg, "deep panic");
	free(msg);
	cr_assert_eq(log.next, 3, "%d guards ran", log.next);
	cr_assert_eq(log.order[0], 2);
	cr_assert_eq(log.order[1], 1);
	cr_assert_eq(log.order[2], 0);
}
