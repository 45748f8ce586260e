/* tests/unit_rt.c - weft_rt: every error code, the calls outside a task,
 * sleep bounds and order, stack sizes and the guard page, spawn_blocking,
 * rounding mode per task, ENOMEM. (Load tests: tests/stress_rt.c.) */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "weft/chan.h"
#include "weft/rt.h"

TestSuite(rt, .timeout = WEFT_UNIT_TIMEOUT_S);

static weft_rt *make_rt(unsigned threads)
{
	weft_rt *rt = NULL;
	weft_rt_opts o = { .threads = threads };
	cr_assert_eq(weft_rt_create(&rt, &o), 0);
	return rt;
}

static void *ret_arg(void *arg)
{
	return arg;
}

static void *self_checks(void *arg)
{
	weft_rt *rt = arg;
	if (weft_rt_current() != rt)
		return (void *)1;
	if (weft_rt_destroy(rt) != EDEADLK)
		return (void *)2;
	if (weft_yield() != 0)
		return (void *)3;
	return NULL;
}

Test(rt, error_codes)
{
	weft_rt *rt;
	cr_assert_eq(weft_rt_create(NULL, NULL), EINVAL);
	weft_rt_opts bad_stack = { .stack_size = 100 };
	cr_assert_eq(weft_rt_create(&rt, &bad_stack), EINVAL);
	weft_rt_opts bad_threads = { .threads = WEFT_RT_THREADS_MAX + 1 };
	cr_assert_eq(weft_rt_create(&rt, &bad_threads), EINVAL);
	cr_assert_eq(weft_rt_destroy(NULL), EINVAL);
	cr_assert_eq(weft_rt_join(NULL, NULL), EINVAL);

	rt = make_rt(2);
	weft_rt_task *t;
	cr_assert_eq(weft_go(NULL, &t, ret_arg, NULL), EINVAL);
	cr_assert_eq(weft_go(rt, &t, NULL, NULL), EINVAL);
	weft_go_opts small = { .stack_size = WEFT_RT_STACK_MIN - 1 };
	cr_assert_eq(weft_go_with(rt, &t, &small, ret_arg, NULL), EINVAL);
	weft_go_opts huge = { .stack_size = WEFT_RT_STACK_MAX + 1 };
	cr_assert_eq(weft_go_with(rt, &t, &huge, ret_arg, NULL), EINVAL);
	cr_assert_eq(weft_rt_spawn_blocking(NULL, &t, ret_arg, NULL), EINVAL);
	cr_assert_eq(weft_rt_spawn_blocking(rt, &t, NULL, NULL), EINVAL);

	void *res = (void *)7;
	cr_assert_eq(weft_go(rt, &t, self_checks, rt), 0);
	cr_assert_eq(weft_rt_join(t, &res), 0);
	cr_assert_null(res, "in-task check %p failed", res);
	/* detached */
	cr_assert_eq(weft_go(rt, NULL, ret_arg, NULL), 0);
	cr_assert_eq(weft_rt_destroy(rt), 0);
}

static void *join_self(void *arg)
{
	weft_rt_task *me;
	if (weft_chan_recv(arg, &me)) /* our own handle, sent by the spawner */
		return (void *)1;
	return (void *)(uintptr_t)weft_rt_join(me, NULL);
}

Test(rt, join_self_is_edeadlk)
{
	weft_rt *rt = make_rt(1);
	weft_chan *ch;
	cr_assert_eq(weft_chan_create(&ch, sizeof(weft_rt_task *), 1), 0);
	weft_rt_task *t;
	cr_assert_eq(weft_go(rt, &t, join_self, ch), 0);
	cr_assert_eq(weft_chan_send(ch, &t), 0);
	void *res;
	cr_assert_eq(weft_rt_join(t, &res), 0);
	cr_assert_eq(res, (void *)(uintptr_t)EDEADLK);
	weft_chan_sender_drop(ch);
	weft_chan_receiver_drop(ch);
	weft_rt_destroy(rt);
}

static void *spawn_during_destroy(void *arg)
{
	weft_rt *rt = arg;
	int rc = weft_sleep_ns(3600ull * 1000000000ull);
	if (rc != ECANCELED)
		return (void *)1;
	weft_rt_task *t;
	if (weft_go(rt, &t, ret_arg, NULL) != EPIPE)
		return (void *)2;
	if (weft_rt_spawn_blocking(rt, &t, ret_arg, NULL) != EPIPE)
		return (void *)3;
	if (weft_sleep_ns(1000) != ECANCELED) /* every later park: at once */
		return (void *)4;
	return NULL;
}

Test(rt, destroy_cancels_and_refuses_spawns)
{
	weft_rt *rt = make_rt(2);
	weft_rt_task *t;
	cr_assert_eq(weft_go(rt, &t, spawn_during_destroy, rt), 0);
	uint64_t t0 = weft_test_now_ns();
	cr_assert_eq(weft_rt_destroy(rt), 0);
	cr_assert_lt(weft_test_now_ns() - t0, WEFT_TEST_SLACK_NS * 4, "destroy hung");
	void *res;
	cr_assert_eq(weft_rt_join(t, &res), 0); /* handles outlive destroy */
	cr_assert_null(res, "step %d failed", (int)(uintptr_t)res);
}

Test(rt, outside_a_task)
{
	cr_assert_null(weft_rt_current());
	cr_assert_eq(weft_yield(), 0);
	uint64_t t0 = weft_test_now_ns();
	cr_assert_eq(weft_sleep_ns(2 * WEFT_MS), 0);
	cr_assert_geq(weft_test_now_ns() - t0, 2 * WEFT_MS);
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Idle workers sleep on their futex: an idle runtime burns no CPU. */
Test(rt, idle_runtime_uses_no_cpu)
{
	weft_rt *rt = make_rt(0);
	weft_rt_task *t;
	cr_assert_eq(weft_go(rt, &t, ret_arg, NULL), 0); /* wake them once */
	cr_assert_eq(weft_rt_join(t, NULL), 0);
	uint64_t c0 = cpu_ns();
	struct timespec ts = { 0, 200 * 1000000L };
	nanosleep(&ts, NULL);
	uint64_t used = cpu_ns() - c0;
	cr_assert_lt(used, 20 * WEFT_MS * weft_test_time_scale(),
		     "idle runtime used %llu ns of CPU in 200 ms", (unsigned long long)used);
	weft_rt_destroy(rt);
}

static void *timed_sleep(void *arg)
{
	uint64_t ns = (uint64_t)(uintptr_t)arg;
	uint64_t t0 = weft_test_now_ns();
	if (weft_sleep_ns(ns) != 0)
		return (void *)UINTPTR_MAX;
	return (void *)(uintptr_t)(weft_test_now_ns() - t0);
}

Test(rt, sleep_lasts_at_least_its_time)
{
	weft_rt *rt = make_rt(0);
	weft_rt_task *t;
	cr_assert_eq(weft_go(rt, &t, timed_sleep, (void *)(uintptr_t)(20 * WEFT_MS)), 0);
	void *res;
	cr_assert_eq(weft_rt_join(t, &res), 0);
	uint64_t slept = (uint64_t)(uintptr_t)res;
	cr_assert_geq(slept, 20 * WEFT_MS, "woke after %llu ns", (unsigned long long)slept);
	cr_assert_lt(slept, 20 * WEFT_MS + WEFT_TEST_SLACK_NS, "overslept: %llu ns",
		     (unsigned long long)slept);
	weft_rt_destroy(rt);
}

typedef struct order_arg {
	_Atomic unsigned *next;
	unsigned ms, rank;
} order_arg;

static void *ordered_sleep(void *p)
{
	order_arg *a = p;
	weft_sleep_ns(a->ms * WEFT_MS);
	a->rank = atomic_fetch_add(a->next, 1);
	return NULL;
}

/* One round: N sleepers spawned longest first, spaced `spacing` ms; true
 * when they woke shortest first. */
static bool sleepers_woke_in_order(weft_rt *rt, uint64_t spacing, char *why, size_t len)
{
	enum { N = 8 };
	_Atomic unsigned next = 0;
	order_arg a[N];
	weft_rt_task *t[N];
	for (unsigned i = 0; i < N; i++) {
		a[i] = (order_arg){ &next, (unsigned)((N - i) * spacing), 0 };
		cr_assert_eq(weft_go(rt, &t[i], ordered_sleep, &a[i]), 0);
	}
	for (unsigned i = 0; i < N; i++)
		weft_rt_join(t[i], NULL);
	for (unsigned i = 0; i < N; i++) {
		if (a[i].rank != N - 1 - i) {
			snprintf(why, len, "the %u ms sleeper woke %u-th", a[i].ms, a[i].rank);
			return false;
		}
	}
	return true;
}

/* A sleeper's clock starts when it first runs, and a woken sleeper's rank
 * is taken when it runs again, so a worker held off its CPU for more than
 * the spacing (a loaded machine) can reorder one round. A timer that
 * orders wrongly does it every round: three rounds, one must be in order. */
Test(rt, shorter_sleeps_wake_first)
{
	weft_rt *rt = make_rt(0);
	uint64_t spacing = 15 * weft_test_time_scale();
	char why[96] = "";
	bool ordered = false;
	for (int round = 0; round < 3 && !ordered; round++)
		ordered = sleepers_woke_in_order(rt, spacing, why, sizeof why);
	cr_assert(ordered, "out of order in three rounds; the last: %s", why);
	weft_rt_destroy(rt);
}

static void *deep_stack(void *arg)
{
	size_t n = (size_t)(uintptr_t)arg;
	volatile char buf[n];
	memset((char *)buf, 1, n);
	return (void *)(uintptr_t)buf[n / 2];
}

Test(rt, stack_size_per_task_and_per_runtime)
{
	weft_rt_opts o = { .threads = 1, .stack_size = 256 * 1024 };
	weft_rt *rt;
	cr_assert_eq(weft_rt_create(&rt, &o), 0);
	weft_rt_task *t;
	void *res;
	cr_assert_eq(weft_go(rt, &t, deep_stack, (void *)(uintptr_t)(192 * 1024)), 0);
	cr_assert_eq(weft_rt_join(t, &res), 0);
	cr_assert_eq(res, (void *)1);
	weft_go_opts g = { .stack_size = 1024 * 1024 };
	cr_assert_eq(weft_go_with(rt, &t, &g, deep_stack, (void *)(uintptr_t)(900 * 1024)), 0);
	cr_assert_eq(weft_rt_join(t, &res), 0);
	cr_assert_eq(res, (void *)1);
	weft_rt_destroy(rt);
}

__attribute__((noinline)) static unsigned recurse(unsigned n)
{
	volatile char pad[1024];
	pad[0] = (char)n;
	return n ? recurse(n - 1) + pad[0] : 0;
}

static void *overflow(void *arg)
{
	(void)arg;
	return (void *)(uintptr_t)recurse(1u << 20); /* 1 GiB of frames */
}

static void *park_forever(void *p)
{
	uint64_t v;
	weft_chan_recv(p, &v);
	return NULL;
}

/* Out of address space: weft_go must say ENOMEM, never crash. */
static int child_enomem(void)
{
	weft_rt *rt;
	weft_chan *ch;
	if (weft_rt_create(&rt, NULL) || weft_chan_create(&ch, 8, 0))
		return 3;
	struct rlimit rl = { 512ull << 20, 512ull << 20 };
	if (setrlimit(RLIMIT_AS, &rl))
		return 4;
	/* 512 MiB hold under 8k stacks of 68 KiB: ENOMEM long before 20000
	 * (qemu-user maps guest memory inside its own reservation, where the
	 * limit does not bite: 6). */
	for (unsigned i = 0; i < 20000; i++) {
		int rc = weft_go(rt, NULL, park_forever, ch);
		if (rc == ENOMEM)
			return 0;
		if (rc)
			return 5;
	}
	return 6;
}

/* Where a task's first frames sit: the same address on the same stack. */
__attribute__((noinline)) static uintptr_t frame_here(void)
{
	return (uintptr_t)__builtin_frame_address(0);
}

static void *report_frame(void *arg)
{
	(void)arg;
	return (void *)frame_here();
}

/* Overflows only on the stack of the frame address *arg (the first
 * frames of two tasks on one stack lie within a page; two stacks are
 * more than WEFT_RT_STACK_MIN apart). */
static void *overflow_if_reused(void *arg)
{
	uintptr_t f = frame_here(), g = *(const uintptr_t *)arg;
	if ((f > g ? f - g : g - f) >= 4096)
		return (void *)7;
	return overflow(NULL);
}

/* A second task from a plain thread reserves a fresh stack but runs on
 * the first task's (warm, swapped in at its first run): its overflow must
 * still hit a guard page. Exit 7: the stack was not reused. */
static int child_overflow_reused(void)
{
	weft_rt *rt;
	if (weft_rt_create(&rt, &(weft_rt_opts){ .threads = 1 }))
		return 3;
	weft_rt_task *t;
	void *first, *res = NULL;
	if (weft_go(rt, &t, report_frame, NULL) || weft_rt_join(t, &first))
		return 4;
	uintptr_t f = (uintptr_t)first;
	if (weft_go(rt, &t, overflow_if_reused, &f) || weft_rt_join(t, &res))
		return 5;
	return res == (void *)7 ? 7 : 0; /* 0 not reached: the overflow kills us */
}

static int child_overflow(void)
{
	weft_rt *rt;
	if (weft_rt_create(&rt, NULL))
		return 3;
	weft_rt_task *t;
	weft_go(rt, &t, overflow, NULL);
	weft_rt_join(t, NULL);
	return 0; /* not reached: the overflow kills us */
}

/* The scenarios run in a fresh process: this binary re-executed with
 * WEFT_RT_CHILD set (a fork that then starts threads crashes qemu-user;
 * an exec does not). */
__attribute__((constructor)) static void rt_child_entry(void)
{
	const char *mode = getenv("WEFT_RT_CHILD");
	if (!mode)
		return;
	_exit(strcmp(mode, "overflow") == 0	    ? child_overflow()
	      : strcmp(mode, "overflow_reused") == 0 ? child_overflow_reused()
						    : child_enomem());
}

extern char **environ;

static int run_child(const char *mode)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 2, sizeof *env);
	char var[64];
	snprintf(var, sizeof var, "WEFT_RT_CHILD=%s", mode);
	memcpy(env, environ, n * sizeof *env);
	env[n] = var;
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char *argv[] = { "/proc/self/exe", NULL };
		execve("/proc/self/exe", argv, env);
		_exit(127);
	}
	free(env);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/* A task that overflows its stack dies on the guard page (SIGSEGV), in a
 * child process. Skipped under ASan, whose SEGV handler reports and exits
 * on its own terms (documented in weft/rt.h). */
Test(rt, stack_overflow_hits_the_guard_page)
{
#if defined(__SANITIZE_ADDRESS__)
	cr_skip_test("ASan handles the SIGSEGV itself");
#else
	int status = run_child("overflow");
	cr_assert(WIFSIGNALED(status) &&
			  (WTERMSIG(status) == SIGSEGV || WTERMSIG(status) == SIGBUS),
		  "child did not die by SIGSEGV (status %#x)", status);
#endif
}

/* The same on a stack an ended task left behind (recycled through the
 * worker's cache): the guard page is still there. */
Test(rt, reused_stack_keeps_its_guard_page)
{
#if defined(__SANITIZE_ADDRESS__)
	cr_skip_test("ASan handles the SIGSEGV itself");
#else
	int status = run_child("overflow_reused");
	cr_assert(!WIFEXITED(status) || WEXITSTATUS(status) != 7,
		  "the second task did not run on the first one's stack");
	cr_assert(WIFSIGNALED(status) &&
			  (WTERMSIG(status) == SIGSEGV || WTERMSIG(status) == SIGBUS),
		  "child did not die by SIGSEGV (status %#x)", status);
#endif
}

enum { REUSE_N = 200 };

/* Spawns and joins REUSE_N tasks one after another, every other one
 * dirtying 48 KiB of its stack (deep_stack): the rest report where their
 * frames start. */
static void *spawn_join_frames(void *arg)
{
	uintptr_t *frames = arg;
	for (unsigned i = 0; i < REUSE_N; i++) {
		weft_rt_task *t;
		void *res;
		bool dirty = i % 2;
		if (weft_go(weft_rt_current(), &t, dirty ? deep_stack : report_frame,
			    dirty ? (void *)(uintptr_t)(48 * 1024) : NULL) ||
		    weft_rt_join(t, &res))
			return (void *)1;
		if (dirty && res != (void *)1)
			return (void *)2;
		frames[i] = dirty ? 0 : (uintptr_t)res;
	}
	return NULL;
}

/* A task that ended gives its stack to the next spawn on its worker (the
 * per-worker cache): sequential spawn+joins run on one or two stacks, not
 * a new stack (a page fault) each, and a stack dirtied by a deep task
 * (poisoned frames left under ASan) serves the next task cleanly. */
Test(rt, ended_tasks_stacks_are_reused)
{
	weft_rt *rt = make_rt(1);
	uintptr_t frames[REUSE_N];
	weft_rt_task *t;
	void *res;
	cr_assert_eq(weft_go(rt, &t, spawn_join_frames, frames), 0);
	cr_assert_eq(weft_rt_join(t, &res), 0);
	cr_assert_null(res, "spawn_join_frames failed at step %p", res);
	unsigned distinct = 0;
	uintptr_t seen[2] = { 0, 0 };
	for (unsigned i = 0; i < REUSE_N; i += 2) {
		if (frames[i] == seen[0] || frames[i] == seen[1])
			continue;
		cr_assert_lt(distinct, 2, "task %u ran on a third stack", i);
		seen[distinct++] = frames[i];
	}
	weft_rt_destroy(rt);
}

typedef struct blk_test {
	_Atomic int done;
	_Atomic uint64_t ticks;
} blk_test;

static void *blocking_call(void *p)
{
	blk_test *b = p;
	if (weft_rt_current() != NULL) /* a plain thread, not a task */
		return (void *)1;
	struct timespec ts = { 0, 30 * 1000000L };
	nanosleep(&ts, NULL);
	atomic_store(&b->done, 1);
	return (void *)42;
}

static void *ticker(void *p)
{
	blk_test *b = p;
	while (!atomic_load(&b->done)) {
		atomic_fetch_add(&b->ticks, 1);
		weft_sleep_ns(1000000);
	}
	return NULL;
}

static void *blocking_joiner(void *p)
{
	weft_rt_task *t;
	if (weft_rt_spawn_blocking(weft_rt_current(), &t, blocking_call, p))
		return (void *)1;
	void *res;
	weft_rt_join(t, &res); /* parks this task: the ticker keeps going */
	return res;
}

Test(rt, spawn_blocking_keeps_the_worker_free)
{
	weft_rt *rt = make_rt(1);
	blk_test b = { 0 };
	weft_rt_task *j, *k;
	cr_assert_eq(weft_go(rt, &k, ticker, &b), 0);
	cr_assert_eq(weft_go(rt, &j, blocking_joiner, &b), 0);
	void *res;
	cr_assert_eq(weft_rt_join(j, &res), 0);
	cr_assert_eq(res, (void *)42);
	cr_assert_eq(weft_rt_join(k, NULL), 0);
	cr_assert_gt(atomic_load(&b.ticks), 1, "the only worker was blocked");
	/* from a plain thread */
	weft_rt_task *t;
	cr_assert_eq(weft_rt_spawn_blocking(rt, &t, blocking_call, &b), 0);
	cr_assert_eq(weft_rt_join(t, &res), 0);
	cr_assert_eq(res, (void *)42);
	weft_rt_destroy(rt);
}

#if defined(__x86_64__)
static unsigned get_mxcsr(void)
{
	unsigned m;
	__asm__ volatile("stmxcsr %0" : "=m"(m));
	return m;
}

static void set_mxcsr(unsigned m)
{
	__asm__ volatile("ldmxcsr %0" : : "m"(m));
}

/* Rounding-control bits 13-14 of MXCSR: 0 nearest, 2 upward. */
static void *rounding_task(void *p)
{
	unsigned rc = (unsigned)(uintptr_t)p;
	set_mxcsr((get_mxcsr() & ~0x6000u) | (rc << 13));
	for (int i = 0; i < 200; i++) {
		weft_yield();
		if (((get_mxcsr() >> 13) & 3) != rc)
			return (void *)1;
	}
	return NULL;
}

/* x86-64: MXCSR and the x87 control word belong to the task. (AArch64:
 * FPCR is thread state the ABI leaves global; not switched.) */
Test(rt, rounding_mode_is_per_task)
{
	weft_rt *rt = make_rt(1);
	weft_rt_task *a, *b;
	cr_assert_eq(weft_go(rt, &a, rounding_task, (void *)(uintptr_t)2), 0);
	cr_assert_eq(weft_go(rt, &b, rounding_task, (void *)(uintptr_t)0), 0);
	void *ra, *rb;
	weft_rt_join(a, &ra);
	weft_rt_join(b, &rb);
	cr_assert_null(ra);
	cr_assert_null(rb);
	weft_rt_destroy(rt);
}
#endif

/* Out of address space: weft_go says ENOMEM, never crashes. In a child
 * with a small RLIMIT_AS; not under the sanitizers (their shadow memory
 * needs terabytes of address space). */
Test(rt, enomem_when_stacks_run_out)
{
#if defined(__SANITIZE_ADDRESS__) || WEFT_TSAN
	cr_skip_test("sanitizers reserve the address space");
#else
	int status = run_child("enomem");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 6)
		cr_skip_test("RLIMIT_AS does not limit this process's mappings (emulator)");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "child status %#x", status);
#endif
}

/* A task spawned (or woken) by a task waits in its worker's runnext slot;
 * if the spawner then runs on without parking, another worker must steal
 * it (after a watch sleep) instead of leaving it behind the long task. */
static void *set_flag(void *p)
{
	atomic_store((atomic_int *)p, 1);
	return NULL;
}

static void *spawn_then_spin(void *p)
{
	atomic_int flag = 0;
	weft_rt_task *t;
	if (weft_go(weft_rt_current(), &t, set_flag, &flag))
		return (void *)1;
	uint64_t start = weft_test_now_ns();
	while (!atomic_load(&flag) && weft_test_now_ns() - start < 10000000000ull)
		; /* never parks: the child sits in this worker's runnext */
	int seen = atomic_load(&flag);
	weft_rt_join(t, NULL);
	(void)p;
	return seen ? NULL : (void *)2;
}

Test(rt, runnext_task_is_stolen_behind_a_long_task)
{
	weft_rt *rt = make_rt(2);
	for (int i = 0; i < 20; i++) {
		weft_rt_task *t;
		void *res;
		cr_assert_eq(weft_go(rt, &t, spawn_then_spin, NULL), 0);
		cr_assert_eq(weft_rt_join(t, &res), 0);
		cr_assert_null(res, "the runnext task was not stolen in 10 s");
	}
	weft_rt_destroy(rt);
}
