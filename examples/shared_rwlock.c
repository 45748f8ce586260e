/*
 * examples/shared_rwlock.c - readers and a writer sharing a value through
 * an RwLock (std::sync::RwLock): many readers at once, or one writer.
 *
 *     let config = Arc::new(RwLock::new(Config { version: 0, .. }));
 *     writer: for v in 1..=5 { let mut w = config.write().unwrap(); w.version = v; ... }
 *     readers: loop { let r = config.read().unwrap(); check *r; if r.version == 5 { break } }
 *
 * Each reader checks that what it reads is whole (the writer changes both
 * fields under one write lock) and never goes back; prints the versions
 * every reader saw.
 */
#include <pthread.h>
#include <stdio.h>

#include <weft/weft.h>

#define READERS 4
#define VERSIONS 5

typedef struct config {
	weft_rwlock lock;
	int version;	 /* under lock */
	int doubled;	 /* always 2 * version: a torn read would show */
} config;

typedef struct reader_arg {
	config *cfg;
	int seen;	 /* distinct versions this reader saw */
	int ok;
} reader_arg;

static void *writer(void *arg)
{
	config *cfg = arg;
	for (int v = 1; v <= VERSIONS; v++) {
		WEFT_WRITE_GUARD(&cfg->lock);
		cfg->version = v;
		cfg->doubled = 2 * v;
	}
	weft_arc_drop(cfg);
	return NULL;
}

static void *reader(void *arg)
{
	reader_arg *r = arg;
	int last = -1;
	r->ok = 1;
	for (;;) {
		WEFT_READ_GUARD(&r->cfg->lock);
		int v = r->cfg->version;
		if (r->cfg->doubled != 2 * v || v < last)
			r->ok = 0;
		if (v != last)
			r->seen++;
		last = v;
		if (v == VERSIONS)
			break; /* the guard unlocks here too */
	}
	weft_arc_drop(r->cfg);
	return NULL;
}

int main(void)
{
	config *cfg = weft_arc_new(sizeof *cfg, NULL);
	if (!cfg)
		return 1;
	*cfg = (config){ .lock = WEFT_RWLOCK_INIT };

	pthread_t readers[READERS], w;
	reader_arg args[READERS];
	for (int i = 0; i < READERS; i++) {
		args[i] = (reader_arg){ .cfg = weft_arc_clone(cfg) };
		if (pthread_create(&readers[i], NULL, reader, &args[i]))
			return 1;
	}
	if (pthread_create(&w, NULL, writer, weft_arc_clone(cfg)))
		return 1;
	pthread_join(w, NULL);
	int ok = 1;
	for (int i = 0; i < READERS; i++) {
		pthread_join(readers[i], NULL);
		printf("reader %d saw %d versions, all whole: %s\n", i,
		       args[i].seen, args[i].ok ? "yes" : "NO");
		ok &= args[i].ok;
	}
	{
		WEFT_READ_GUARD(&cfg->lock);
		printf("final version: %d\n", cfg->version);
		ok &= cfg->version == VERSIONS;
	}
	weft_arc_drop(cfg);
	return ok ? 0 : 1;
}
