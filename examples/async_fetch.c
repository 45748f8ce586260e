/*
 * examples/async_fetch.c - the seed's async example (tokio) with weft_rt:
 * an "async fn" that sleeps a second and returns its data, awaited once
 * directly, then two spawned concurrently and joined: about 2 s in all,
 * not 3, because a sleeping task does not hold a thread.
 *
 *     async fn fetch_data(id: u32) -> String {
 *         sleep(Duration::from_secs(1)).await;
 *         format!("Data {id}")
 *     }
 *     #[tokio::main]
 *     async fn main() {
 *         let start = Instant::now();
 *         println!("{}", fetch_data(1).await);
 *         let h1 = tokio::spawn(fetch_data(2));
 *         let h2 = tokio::spawn(fetch_data(3));
 *         let (r1, r2) = tokio::join!(h1, h2);
 *         println!("{} {}", r1.unwrap(), r2.unwrap());
 *         println!("Elapsed: {:?}", start.elapsed());
 *     }
 *
 * Usage: async_fetch [sleep_ms]  (or WEFT_EXAMPLE_SLEEP_MS; default 1000)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "example_sleep.h"
#include "weft/rt.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The "async fn": a task body; its sleep parks the task, not a thread. */
static void *fetch_data(void *arg)
{
	weft_sleep_ns((uint64_t)example_sleep_ms * 1000000u);
	char *s = malloc(32);
	if (s)
		snprintf(s, 32, "Data %u", (unsigned)(uintptr_t)arg);
	return s;
}

/* main's body runs as a task too (#[tokio::main]). */
static void *async_main(void *arg)
{
	weft_rt *rt = arg;
	uint64_t start = now_ns();
	char *r = fetch_data((void *)1); /* .await in place */
	printf("%s\n", r);
	free(r);
	weft_rt_task *h1, *h2;
	if (weft_go(rt, &h1, fetch_data, (void *)2) || weft_go(rt, &h2, fetch_data, (void *)3))
		return (void *)1;
	void *r1, *r2;
	weft_rt_join(h1, &r1);
	weft_rt_join(h2, &r2);
	printf("%s %s\n", (char *)r1, (char *)r2);
	free(r1);
	free(r2);
	uint64_t elapsed = now_ns() - start;
	printf("Elapsed: %.3fs\n", (double)elapsed / 1e9);
	/* Two sleeps' worth, not three (only checked when the sleep is long
	 * enough for scheduling noise not to matter). */
	uint64_t one = (uint64_t)example_sleep_ms * 1000000u;
	if (example_sleep_ms >= 100 && elapsed >= 3 * one)
		return (void *)1;
	return NULL;
}

int main(int argc, char **argv)
{
	example_sleep_init(argc, argv);
	weft_rt *rt;
	if (weft_rt_create(&rt, NULL))
		return 1;
	weft_rt_task *m;
	void *failed = (void *)1;
	if (weft_go(rt, &m, async_main, rt) == 0)
		weft_rt_join(m, &failed);
	weft_rt_destroy(rt);
	return failed ? 1 : 0;
}
