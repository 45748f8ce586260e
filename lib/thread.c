/* lib/thread.c - weft_thread: spawn with options, join, detach, panic. */
#define _GNU_SOURCE
#include "weft/thread.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal/cpus.h"

/* Who frees the record: the second of "thread ended" and "detached". */
enum { REC_RUNNING = 0, REC_ENDED = 1, REC_DETACHED = 2 };

/* The kernel's thread name holds 15 bytes and a NUL. */
#define KERNEL_NAME_MAX 15

struct weft_thread {
	pthread_t tid;
	int (*fn)(void *arg, void **result);
	void *arg;
	char *name;	 /* NULL: none */
	void *result;	 /* fn's result, or the panic message */
	int status;	 /* fn's return or WEFT_THREAD_PANICKED */
	_Atomic int rec; /* REC_* */
};

/* The calling thread's record; NULL in threads weft did not start. */
static _Thread_local weft_thread *self;

/* Ends the record's life on the thread's side (normal return or panic). */
static pthread_key_t end_key;
static pthread_once_t end_key_once = PTHREAD_ONCE_INIT;

static void free_record(weft_thread *t)
{
	free(t->name);
	free(t);
}

/* Thread-exit destructor of end_key: runs after fn returned or after the
 * panic's unwinding, before pthread_join returns in the joiner. */
static void record_ended(void *p)
{
	weft_thread *t = p;
	/* acq_rel: release publishes result/status to a detacher that frees
	 * the record (its acquire exchange in weft_thread_detach); acquire
	 * receives the detacher's hand-over when we free it ourselves. */
	if (atomic_exchange_explicit(&t->rec, REC_ENDED, memory_order_acq_rel) ==
	    REC_DETACHED) {
		if (t->status == WEFT_THREAD_PANICKED)
			free(t->result);
		free_record(t);
	}
}

static void make_end_key(void)
{
	if (pthread_key_create(&end_key, record_ended) != 0)
		abort(); /* only at the first spawn; the process is out of keys */
}

/* The kernel name: at most 15 bytes, not ending inside a UTF-8 sequence. */
static void set_kernel_name(const char *name)
{
	char k[KERNEL_NAME_MAX + 1];
	size_t n = strlen(name);
	if (n > KERNEL_NAME_MAX) {
		n = KERNEL_NAME_MAX;
		/* back up over continuation bytes to the start of a character */
		while (n > 0 && ((unsigned char)name[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(k, name, n);
	k[n] = '\0';
	pthread_setname_np(pthread_self(), k);
}

static void *thread_main(void *p)
{
	weft_thread *t = p;
	self = t;
	pthread_setspecific(end_key, t);
	if (t->name)
		set_kernel_name(t->name);
	void *result = NULL;
	t->status = t->fn(t->arg, &result);
	t->result = result;
	return NULL;
}

_Noreturn void weft_panic(const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	weft_thread *t = self;
	if (!t) {
		fprintf(stderr, "weft_panic in a thread weft did not start: %s\n",
			msg ? msg : fmt);
		fflush(stderr);
		abort();
	}
	t->status = WEFT_THREAD_PANICKED;
	t->result = msg;
	/* Forced unwinding: cleanup handlers of -fexceptions frames run. */
	pthread_exit(NULL);
}

const char *weft_thread_name(void)
{
	return self ? self->name : NULL;
}

/* A stack size the attribute accepts: whole pages, at least the minimum. */
static int stack_size_ok(size_t want, size_t *out)
{
	long min = sysconf(_SC_THREAD_STACK_MIN);
	if (min <= 0)
		min = PTHREAD_STACK_MIN;
	if (want < (size_t)min)
		return EINVAL;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	if (want > SIZE_MAX - page)
		return EINVAL;
	*out = (want + page - 1) / page * page;
	return 0;
}

static int apply_opts(pthread_attr_t *a, const weft_thread_opts *o)
{
	int err = 0;
	if (o->stack_size) {
		size_t size;
		err = stack_size_ok(o->stack_size, &size);
		if (!err)
			err = pthread_attr_setstacksize(a, size);
	}
	if (!err && o->cpus) {
		err = weft__cpus_check_set(o->cpus);
		if (!err)
			err = pthread_attr_setaffinity_np(a, sizeof(cpu_set_t),
							  o->cpus);
	}
	return err;
}

int weft_thread_spawn(weft_thread **out, const weft_thread_opts *o,
		      int (*fn)(void *arg, void **result), void *arg)
{
	static const weft_thread_opts defaults;
	if (!out || !fn)
		return EINVAL;
	if (!o)
		o = &defaults;
	pthread_once(&end_key_once, make_end_key);
	weft_thread *t = calloc(1, sizeof *t);
	if (!t)
		return ENOMEM;
	t->fn = fn;
	t->arg = arg;
	if (o->name && !(t->name = strdup(o->name))) {
		free(t);
		return ENOMEM;
	}
	pthread_attr_t attr;
	int err = pthread_attr_init(&attr);
	if (err) {
		free_record(t);
		return err;
	}
	err = apply_opts(&attr, o);
	if (!err)
		err = pthread_create(&t->tid, &attr, thread_main, t);
	pthread_attr_destroy(&attr);
	if (err) {
		free_record(t);
		return err == EPERM ? EINVAL : err;
	}
	*out = t;
	return 0;
}

int weft_thread_join(weft_thread *t, int *status, void **result)
{
	if (!t)
		return EINVAL;
	if (t == self)
		return EDEADLK;
	int err = pthread_join(t->tid, NULL);
	if (err)
		return err;
	/* pthread_join orders the thread's writes (record_ended ran) before us. */
	if (status)
		*status = t->status;
	if (result)
		*result = t->result;
	else if (t->status == WEFT_THREAD_PANICKED)
		free(t->result);
	free_record(t);
	return 0;
}

int weft_thread_detach(weft_thread *t)
{
	if (!t)
		return EINVAL;
	int err = pthread_detach(t->tid);
	if (err)
		return err;
	/* acq_rel: pairs with the exchange in record_ended (see there). */
	if (atomic_exchange_explicit(&t->rec, REC_DETACHED, memory_order_acq_rel) ==
	    REC_ENDED) {
		if (t->status == WEFT_THREAD_PANICKED)
			free(t->result);
		free_record(t);
	}
	return 0;
}
