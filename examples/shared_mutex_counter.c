/*
 * examples/shared_mutex_counter.c - the Rust book's shared counter
 * (ch16-03): an Arc<Mutex<i32>> cloned into 10 threads, each adding 1.
 *
 *     let counter = Arc::new(Mutex::new(0));
 *     for _ in 0..10 {
 *         let counter = Arc::clone(&counter);
 *         handles.push(thread::spawn(move || {
 *             let mut num = counter.lock().unwrap();
 *             *num += 1;
 *         }));
 *     }
 *     ... join ...
 *     println!("Result: {}", *counter.lock().unwrap());
 *
 * In C: weft_arc_new holds the mutex and the number, weft_arc_clone hands
 * each thread its own strong reference (dropped by the thread's arc guard),
 * WEFT_MUTEX_GUARD is the MutexGuard. Prints "Result: 10".
 */
#include <pthread.h>
#include <stdio.h>

#include <weft/weft.h>

typedef struct counter {
	weft_mutex lock;
	int num; /* only under lock */
} counter;

static void *add_one(void *arg)
{
	WEFT_ARC_GUARD(arg); /* this thread's reference, dropped on return */
	counter *c = arg;
	WEFT_MUTEX_GUARD(&c->lock); /* unlocked on return, before the drop */
	c->num += 1;
	return NULL;
}

int main(void)
{
	counter *c = weft_arc_new(sizeof *c, NULL);
	if (!c)
		return 1;
	*c = (counter){ .lock = WEFT_MUTEX_INIT, .num = 0 };

	pthread_t handles[10];
	for (int i = 0; i < 10; i++)
		if (pthread_create(&handles[i], NULL, add_one, weft_arc_clone(c)))
			return 1;
	for (int i = 0; i < 10; i++)
		pthread_join(handles[i], NULL);

	int result;
	{
		WEFT_MUTEX_GUARD(&c->lock);
		result = c->num;
	}
	printf("Result: %d\n", result);
	/* Every thread dropped its clone: ours is the only reference left. */
	int ok = result == 10 && weft_arc_strong_count(c) == 1;
	weft_arc_drop(c);
	return ok ? 0 : 1;
}
