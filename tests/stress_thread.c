/*
 * tests/stress_thread.c - weft_thread under churn (and under TSan, which
 * the Criterion unit tests do not run under): rounds of threads that return
 * a value, return an error or panic, joined or detached. Invariants: every
 * joined thread reports exactly what it did (status, result, message), and
 * every detached one runs (counted) and frees its record (ASan).
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stress.h"
#include "weft/thread.h"

static _Atomic uint64_t detached_ran;

static int behave(void *arg, void **result)
{
	uintptr_t i = (uintptr_t)arg;
	switch (i % 4) {
	case 0:
		*result = (void *)(i + 1);
		return 0;
	case 1:
		return (int)(i % 100) + 1; /* an error code of its own */
	case 2:
		weft_panic("thread %lu panicked", (unsigned long)i);
	default:
		atomic_fetch_add(&detached_ran, 1);
		if (i % 8 == 3)
			weft_panic("detached %lu", (unsigned long)i);
		return 0;
	}
}

static void check_joined(uintptr_t i, int status, void *result,
			 weft_stress_result *r)
{
	char want[64];
	switch (i % 4) {
	case 0:
		if (status != 0 || result != (void *)(i + 1))
			weft_stress_fail(r, "thread %lu: status %d result %p",
					 (unsigned long)i, status, result);
		break;
	case 1:
		if (status != (int)(i % 100) + 1)
			weft_stress_fail(r, "thread %lu: status %d", (unsigned long)i, status);
		break;
	case 2:
		snprintf(want, sizeof want, "thread %lu panicked", (unsigned long)i);
		if (status != WEFT_THREAD_PANICKED || !result || strcmp(result, want))
			weft_stress_fail(r, "thread %lu: status %d message %s",
					 (unsigned long)i, status,
					 result ? (char *)result : "(null)");
		free(result);
		break;
	}
}

typedef struct thread_round {
	uint64_t rounds;
	weft_stress_result *r;
	_Atomic uint64_t detached;
} thread_round;

static void spawner(unsigned id, void *arg)
{
	thread_round *t = arg;
	for (uint64_t k = 0; k < t->rounds; k++) {
		weft_thread *h[4];
		uintptr_t base = ((uintptr_t)id << 32) + k * 4;
		for (uintptr_t j = 0; j < 4; j++)
			if (weft_thread_spawn(&h[j], &(weft_thread_opts){ .name = "stress-thread-long-name" },
					      behave, (void *)(base + j)) != 0)
				weft_stress_fail(t->r, "spawn failed");
		for (uintptr_t j = 0; j < 4; j++) {
			if ((base + j) % 4 == 3) {
				weft_thread_detach(h[j]);
				atomic_fetch_add(&t->detached, 1);
				continue;
			}
			int status;
			void *result = NULL;
			if (weft_thread_join(h[j], &status, &result) != 0)
				weft_stress_fail(t->r, "join failed");
			else
				check_joined(base + j, status, result, t->r);
		}
	}
}

static void thread_churn(const weft_stress_case *c, weft_stress_result *r)
{
	thread_round t = { .rounds = weft_stress_ops(c), .r = r };
	atomic_store(&detached_ran, 0);
	weft_stress_run_threads(c->threads, spawner, &t);
	/* Detached threads may still be running: wait (bounded) for them. */
	for (int i = 0; i < 100000 && atomic_load(&detached_ran) < atomic_load(&t.detached); i++)
		sched_yield();
	if (atomic_load(&detached_ran) != atomic_load(&t.detached))
		weft_stress_fail(r, "%llu of %llu detached threads ran",
				 (unsigned long long)atomic_load(&detached_ran),
				 (unsigned long long)atomic_load(&t.detached));
}

WEFT_STRESS_CASE("thread_churn/4", thread_churn, 4, 0, 30);
