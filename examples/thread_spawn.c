/*
 * examples/thread_spawn.c - the seed's first thread example (Rust book
 * 16-01): a spawned thread and the main thread print in turns; join waits
 * for the spawned thread to finish.
 *
 *     let handle = thread::spawn(|| {
 *         for i in 1..10 {
 *             println!("hi number {i} from the spawned thread!");
 *             thread::sleep(Duration::from_millis(1));
 *         }
 *     });
 *     for i in 1..5 { println!("hi number {i} from the main thread!"); ... }
 *     handle.join().unwrap();
 *
 * Usage: thread_spawn [sleep_ms]   (default 1; 0 for CI)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "weft/thread.h"

static long sleep_ms = 1;

static void nap(void)
{
	struct timespec ts = { 0, sleep_ms * 1000000L };
	nanosleep(&ts, NULL);
}

static int spawned(void *arg, void **result)
{
	(void)arg;
	(void)result;
	for (int i = 1; i < 10; i++) {
		printf("hi number %d from the spawned thread!\n", i);
		nap();
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		sleep_ms = atol(argv[1]);
	weft_thread *handle;
	if (weft_thread_spawn(&handle, NULL, spawned, NULL) != 0)
		return 1;
	for (int i = 1; i < 5; i++) {
		printf("hi number %d from the main thread!\n", i);
		nap();
	}
	int status;
	if (weft_thread_join(handle, &status, NULL) != 0 || status != 0)
		return 1;
	return 0;
}
