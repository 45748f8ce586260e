/*
 * examples/thread_move.c - a `move` closure (Rust book 16-01): the thread
 * takes ownership of a vector; the main thread no longer touches it.
 *
 *     let v = vec![1, 2, 3];
 *     let handle = thread::spawn(move || println!("Here's a vector: {v:?}"));
 *     handle.join().unwrap();
 *
 * In C the "move" is a heap block handed to the thread, which frees it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "weft/thread.h"

typedef struct vec {
	size_t len;
	int items[];
} vec;

static int print_vector(void *arg, void **result)
{
	(void)result;
	vec *v = arg; /* ours now */
	printf("Here's a vector: [");
	for (size_t i = 0; i < v->len; i++)
		printf("%s%d", i ? ", " : "", v->items[i]);
	printf("]\n");
	free(v);
	return 0;
}

int main(void)
{
	vec *v = malloc(sizeof *v + 3 * sizeof(int));
	if (!v)
		return 1;
	v->len = 3;
	v->items[0] = 1, v->items[1] = 2, v->items[2] = 3;
	weft_thread *handle;
	if (weft_thread_spawn(&handle, NULL, print_vector, v) != 0)
		return 1;
	v = NULL; /* moved */
	int status;
	return weft_thread_join(handle, &status, NULL) == 0 && status == 0 ? 0 : 1;
}
