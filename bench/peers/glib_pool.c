/* bench/peers/glib_pool.c - GLib's GThreadPool (see pools.h); built only
 * where glib-2.0 is found (WEFT_BENCH_HAVE_GLIB). */
#include "peers/pools.h"

#if WEFT_BENCH_HAVE_GLIB
#include <glib.h>
#include <stdlib.h>

typedef struct glib_job {
	void (*fn)(void *);
	void *arg;
} glib_job;

static void glib_run(gpointer data, gpointer user)
{
	(void)user;
	glib_job *j = data;
	j->fn(j->arg);
	g_slice_free(glib_job, j);
}

void *glib_pool_create(unsigned threads)
{
	/* exclusive: the pool's own threads, started now (like the others) */
	return g_thread_pool_new(glib_run, NULL, (gint)threads, TRUE, NULL);
}

void glib_pool_submit(void *p, void (*fn)(void *), void *arg)
{
	glib_job *j = g_slice_new(glib_job);
	j->fn = fn;
	j->arg = arg;
	g_thread_pool_push(p, j, NULL);
}

void glib_pool_destroy(void *p)
{
	g_thread_pool_free(p, FALSE, TRUE);
}
#endif
