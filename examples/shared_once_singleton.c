/*
 * examples/shared_once_singleton.c - a lazily built, shared, reference-
 * counted singleton (std::sync::Once + Arc, or OnceLock<Arc<T>>):
 *
 *     static INIT: Once = Once::new();
 *     static mut INSTANCE: Option<Arc<Config>> = None;
 *     fn instance() -> Arc<Config> {
 *         INIT.call_once(|| unsafe { INSTANCE = Some(Arc::new(Config::load())) });
 *         Arc::clone(unsafe { INSTANCE.as_ref().unwrap() })
 *     }
 *
 * Eight threads ask for the instance at once: it is built exactly once,
 * every thread gets the same object, and each holds its own strong
 * reference (dropped by its arc guard). weft_once_call's return makes the
 * initialiser's stores visible to every caller.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include <weft/weft.h>

#define THREADS 8

typedef struct config {
	int threads_allowed;
	const char *name;
} config;

static weft_once init_once;
static config *instance_ptr; /* written once, inside weft_once_call */
static _Atomic int builds;

static void build_instance(void *arg)
{
	(void)arg;
	atomic_fetch_add_explicit(&builds, 1, memory_order_relaxed);
	instance_ptr = weft_arc_new(sizeof *instance_ptr, NULL);
	if (instance_ptr)
		*instance_ptr = (config){ .threads_allowed = THREADS,
					  .name = "singleton" };
}

/* A new strong reference to the one instance (NULL if it could not be built). */
static config *instance(void)
{
	weft_once_call(&init_once, build_instance, NULL);
	return weft_arc_clone(instance_ptr);
}

static void *user(void *arg)
{
	config *c = instance();
	WEFT_ARC_GUARD(c);
	*(config **)arg = c;
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];
	config *seen[THREADS];
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, user, &seen[i]))
			return 1;
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	int same = 1;
	for (int i = 0; i < THREADS; i++)
		same &= seen[i] == instance_ptr;
	config *c = instance();
	printf("built %d time(s); %d threads got the same instance: %s; "
	       "name %s; references now %zu\n",
	       atomic_load(&builds), THREADS, same ? "yes" : "NO",
	       c ? c->name : "?", weft_arc_strong_count(c));
	/* The static's own reference plus ours. */
	int ok = atomic_load(&builds) == 1 && same && c &&
		 weft_arc_strong_count(c) == 2;
	weft_arc_drop(c);
	weft_arc_drop(instance_ptr); /* at exit: the static's reference */
	return ok ? 0 : 1;
}
