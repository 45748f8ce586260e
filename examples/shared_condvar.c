/*
 * examples/shared_condvar.c - waiting for a thread to start, as in
 * std::sync::Condvar's documentation:
 *
 *     let pair = Arc::new((Mutex::new(false), Condvar::new()));
 *     let pair2 = Arc::clone(&pair);
 *     thread::spawn(move || {
 *         let (lock, cvar) = &*pair2;
 *         *lock.lock().unwrap() = true;
 *         cvar.notify_one();
 *     });
 *     let (lock, cvar) = &*pair;
 *     let mut started = lock.lock().unwrap();
 *     while !*started { started = cvar.wait(started).unwrap(); }
 *
 * The Arc holds the mutex, the condition variable and the flag.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include <weft/weft.h>

typedef struct pair {
	weft_mutex lock;
	weft_cond cvar;
	bool started; /* under lock */
} pair;

static void *start(void *arg)
{
	WEFT_ARC_GUARD(arg);
	pair *p = arg;
	{
		WEFT_MUTEX_GUARD(&p->lock);
		p->started = true;
	}
	weft_cond_signal(&p->cvar);
	return NULL;
}

int main(void)
{
	pair *p = weft_arc_new(sizeof *p, NULL);
	if (!p)
		return 1;
	*p = (pair){ .lock = WEFT_MUTEX_INIT, .cvar = WEFT_COND_INIT };

	pthread_t t;
	if (pthread_create(&t, NULL, start, weft_arc_clone(p)))
		return 1;
	{
		WEFT_MUTEX_GUARD(&p->lock);
		while (!p->started)
			weft_cond_wait(&p->cvar, &p->lock);
		printf("started: %s\n", p->started ? "true" : "false");
	}
	pthread_join(t, NULL);
	weft_arc_drop(p);
	return 0;
}
