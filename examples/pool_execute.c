/*
 * examples/pool_execute.c - ThreadPool::new(4) + execute, results sent
 * back over a channel (the threadpool crate's README example):
 *
 *     let pool = ThreadPool::new(4);
 *     let (tx, rx) = channel();
 *     for i in 0..8 {
 *         let tx = tx.clone();
 *         pool.execute(move || tx.send(i * i).unwrap());
 *     }
 *     assert_eq!(rx.iter().take(8).sum::<i32>(), 140);
 *
 * weft_chan is not on this branch yet: the channel here is a weft_mpsc
 * (many producers, one consumer, non-blocking), and the receiver waits for
 * the pool with weft_pool_wait before draining it. With weft_chan the
 * receive loop becomes a blocking weft_chan_recv.
 */
#include <stdint.h>
#include <stdio.h>

#include "weft/mpsc.h"
#include "weft/pool.h"

typedef struct job {
	weft_mpsc *tx;
	intptr_t i;
} job;

static void square(void *arg)
{
	job *j = arg;
	/* NULL is not an item: send i*i + 1 and subtract it back */
	weft_mpsc_push(j->tx, (void *)(j->i * j->i + 1));
}

int main(void)
{
	weft_pool *pool;
	if (weft_pool_create(&pool, &(weft_pool_opts){ .threads = 4 }) != 0)
		return 1;
	weft_mpsc channel;
	if (weft_mpsc_init(&channel) != 0)
		return 1;
	job jobs[8];
	for (int i = 0; i < 8; i++) {
		jobs[i] = (job){ &channel, i };
		if (weft_pool_execute(pool, square, &jobs[i]) != 0)
			return 1;
	}
	weft_pool_wait(pool);
	intptr_t sum = 0;
	int received = 0;
	void *item;
	while (weft_mpsc_pop(&channel, &item)) {
		sum += (intptr_t)item - 1;
		received++;
	}
	printf("received %d results, sum of squares = %ld\n", received, (long)sum);
	weft_mpsc_destroy(&channel);
	weft_pool_destroy(pool, WEFT_POOL_DRAIN);
	return received == 8 && sum == 140 ? 0 : 1;
}
