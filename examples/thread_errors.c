/*
 * examples/thread_errors.c - join tells a thread that returned an error
 * from one that panicked (Rust: a thread returning Result<T, E> vs
 * panic!, and handle.join() being Ok(Err(e)) vs Err(panic payload)).
 *
 *     let ok    = thread::spawn(|| -> Result<u32, String> { Ok(7) });
 *     let error = thread::spawn(|| -> Result<u32, String> { Err("no such file".into()) });
 *     let panic = thread::spawn(|| -> Result<u32, String> { panic!("index {} out of range", 9) });
 *     for h in [ok, error, panic] {
 *         match h.join() {
 *             Ok(Ok(v))  => println!("returned {v}"),
 *             Ok(Err(e)) => println!("returned an error: {e}"),
 *             Err(p)     => println!("panicked: {}", p.downcast_ref::<String>().unwrap()),
 *         }
 *     }
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/thread.h"

static int succeeds(void *arg, void **result)
{
	(void)arg;
	*result = (void *)(intptr_t)7;
	return 0;
}

static int fails(void *arg, void **result)
{
	(void)arg;
	(void)result;
	return ENOENT;
}

static int panics(void *arg, void **result)
{
	(void)arg;
	(void)result;
	int index = 9;
	weft_panic("index %d out of range", index);
}

int main(void)
{
	int (*bodies[])(void *, void **) = { succeeds, fails, panics };
	int seen[3] = { 0 };
	for (int i = 0; i < 3; i++) {
		weft_thread *h;
		if (weft_thread_spawn(&h, NULL, bodies[i], NULL) != 0)
			return 1;
		int status;
		void *result;
		if (weft_thread_join(h, &status, &result) != 0)
			return 1;
		if (status == 0) {
			printf("returned %d\n", (int)(intptr_t)result);
			seen[0] = (intptr_t)result == 7;
		} else if (status == WEFT_THREAD_PANICKED) {
			printf("panicked: %s\n", (char *)result);
			seen[2] = result && strcmp(result, "index 9 out of range") == 0;
			free(result);
		} else {
			printf("returned an error: %s\n", strerror(status));
			seen[1] = status == ENOENT;
		}
	}
	return seen[0] && seen[1] && seen[2] ? 0 : 1;
}
