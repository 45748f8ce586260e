/* tests/harness.c - the registry walk and helpers behind tests/stress.h. */
#include "stress.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* The linker defines these for a section whose name is a C identifier. */
extern const weft_stress_case __start_weft_stress[];
extern const weft_stress_case __stop_weft_stress[];

const weft_stress_case *weft_stress_begin(void) { return __start_weft_stress; }
const weft_stress_case *weft_stress_end(void) { return __stop_weft_stress; }

uint64_t weft_stress_ops(const weft_stress_case *c)
{
	const char *s = getenv("WEFT_STRESS_SCALE");
	double scale = s ? strtod(s, NULL) : 1.0;
	if (!(scale > 0))
		scale = 1.0;
	uint64_t ops = (uint64_t)((double)c->base_ops * scale);
	return ops ? ops : 1;
}

void weft_stress_fail(weft_stress_result *r, const char *fmt, ...)
{
	if (!r->ok)
		return;
	r->ok = false;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof r->msg, fmt, ap);
	va_end(ap);
}

typedef struct thread_start {
	pthread_barrier_t *go;
	void (*fn)(unsigned, void *);
	void *arg;
	unsigned index;
} thread_start;

static void *thread_main(void *p)
{
	thread_start *t = p;
	pthread_barrier_wait(t->go); /* all start together: maximum overlap */
	t->fn(t->index, t->arg);
	return NULL;
}

void weft_stress_run_threads(unsigned n, void (*fn)(unsigned i, void *arg),
			     void *arg)
{
	pthread_t tid[n];
	thread_start start[n];
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, n);
	for (unsigned i = 0; i < n; i++) {
		start[i] = (thread_start){ &go, fn, arg, i };
		if (pthread_create(&tid[i], NULL, thread_main, &start[i]) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			abort();
		}
	}
	for (unsigned i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&go);
}

void weft_stress_run_case(const weft_stress_case *c, weft_stress_result *r)
{
	r->ok = true;
	r->msg[0] = '\0';
	c->fn(c, r);
}
