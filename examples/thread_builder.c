/*
 * examples/thread_builder.c - a configured thread (std::thread::Builder):
 * a name and a stack size, both visible from inside the thread.
 *
 *     let handle = thread::Builder::new()
 *         .name("worker-thread-with-a-long-name".into())
 *         .stack_size(4 * 1024 * 1024)
 *         .spawn(|| { println!("hello from {}", thread::current().name().unwrap()); 42 })?;
 *     assert_eq!(handle.join().unwrap(), 42);
 *
 * weft keeps the whole name; the kernel (ps, top, gdb) keeps 15 bytes.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "weft/thread.h"

static int worker(void *arg, void **result)
{
	(void)arg;
	char kernel[16];
	pthread_getname_np(pthread_self(), kernel, sizeof kernel);
	pthread_attr_t a;
	size_t stack = 0;
	if (pthread_getattr_np(pthread_self(), &a) == 0) {
		pthread_attr_getstacksize(&a, &stack);
		pthread_attr_destroy(&a);
	}
	printf("hello from %s (kernel name \"%s\", stack %zu KiB)\n",
	       weft_thread_name(), kernel, stack / 1024);
	*result = (void *)(intptr_t)42;
	return 0;
}

int main(void)
{
	weft_thread_opts opts = {
		.name = "worker-thread-with-a-long-name",
		.stack_size = 4 * 1024 * 1024,
	};
	weft_thread *handle;
	int err = weft_thread_spawn(&handle, &opts, worker, NULL);
	if (err) {
		fprintf(stderr, "spawn failed: %d\n", err);
		return 1;
	}
	int status;
	void *result;
	if (weft_thread_join(handle, &status, &result) != 0 || status != 0)
		return 1;
	printf("joined: %d\n", (int)(intptr_t)result);
	return (intptr_t)result == 42 ? 0 : 1;
}
