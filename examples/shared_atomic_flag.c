/*
 * examples/shared_atomic_flag.c - stopping a worker with a shared atomic
 * flag (Arc<AtomicBool>):
 *
 *     let stop = Arc::new(AtomicBool::new(false));
 *     let stop2 = Arc::clone(&stop);
 *     let worker = thread::spawn(move || {
 *         let mut n = 0;
 *         while !stop2.load(Ordering::Acquire) { n += 1; }
 *         n
 *     });
 *     thread::sleep(Duration::from_millis(10));
 *     stop.store(true, Ordering::Release);
 *     println!("worker ran {} iterations", worker.join().unwrap());
 *
 * The flag lives in a weft_arc; the worker's result comes back through
 * pthread_join. The release store pairs with the worker's acquire load:
 * whatever main did before setting the flag is visible to the worker
 * once it sees the flag.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <weft/weft.h>

typedef struct shared {
	_Atomic bool stop;
	const char *message; /* written by main before the flag */
} shared;

static void *worker(void *arg)
{
	WEFT_ARC_GUARD(arg);
	shared *s = arg;
	uint64_t n = 0;
	/* acquire: pairs with main's release store of stop. */
	while (!atomic_load_explicit(&s->stop, memory_order_acquire))
		n++;
	printf("worker: stopped (%s)\n", s->message);
	return (void *)(uintptr_t)n;
}

int main(void)
{
	shared *s = weft_arc_new(sizeof *s, NULL);
	if (!s)
		return 1;
	atomic_init(&s->stop, false);
	s->message = NULL;

	pthread_t t;
	if (pthread_create(&t, NULL, worker, weft_arc_clone(s)))
		return 1;
	nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	s->message = "main asked";
	/* release: publishes message to the worker's acquire load. */
	atomic_store_explicit(&s->stop, true, memory_order_release);
	void *n;
	pthread_join(t, &n);
	printf("worker ran %llu iterations\n", (unsigned long long)(uintptr_t)n);
	weft_arc_drop(s);
	return 0;
}
