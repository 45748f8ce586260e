/*
 * tests/stress_once.c - many weft_once objects raced by all threads at once:
 * each fn runs exactly once, and every caller sees its effect (a plain
 * store, so TSan checks the happens-before edge too).
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "stress.h"
#include "weft/once.h"

typedef struct once_slot {
	weft_once once;
	_Atomic unsigned runs;
	uint64_t value; /* plain: written by fn */
} once_slot;

typedef struct once_test {
	once_slot *slots;
	uint64_t n;
	_Atomic uint64_t bad;
} once_test;

static void init_slot(void *arg)
{
	once_slot *s = arg;
	atomic_fetch_add_explicit(&s->runs, 1, memory_order_relaxed);
	s->value = (uint64_t)(uintptr_t)s ^ 0x5a5a;
}

static void once_worker(unsigned id, void *arg)
{
	once_test *t = arg;
	for (uint64_t k = 0; k < t->n; k++) {
		/* Threads walk the slots in different orders. */
		once_slot *s = &t->slots[id & 1 ? t->n - 1 - k : k];
		weft_once_call(&s->once, init_slot, s);
		if (s->value != ((uint64_t)(uintptr_t)s ^ 0x5a5a))
			atomic_fetch_add_explicit(&t->bad, 1, memory_order_relaxed);
	}
}

static void once_race(const weft_stress_case *c, weft_stress_result *r)
{
	once_test t = { .n = weft_stress_ops(c) };
	t.slots = calloc(t.n, sizeof *t.slots);
	weft_stress_run_threads(c->threads, once_worker, &t);
	for (uint64_t k = 0; k < t.n; k++)
		if (atomic_load(&t.slots[k].runs) != 1) {
			weft_stress_fail(r, "slot %llu ran %u times",
					 (unsigned long long)k,
					 atomic_load(&t.slots[k].runs));
			break;
		}
	if (atomic_load(&t.bad))
		weft_stress_fail(r, "%llu callers missed fn's effect",
				 (unsigned long long)atomic_load(&t.bad));
	free(t.slots);
}

WEFT_STRESS_CASE("once_race/8", once_race, 8, 0, 200000);
