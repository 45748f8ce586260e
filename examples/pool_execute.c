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
 * Each task owns a clone of the sender (weft_chan_sender_clone before
 * execute, weft_chan_sender_drop in the task, as the closure's tx is
 * dropped when it returns); the receiver blocks in weft_chan_recv until a
 * result comes, and takes 8.
 */
#include <stdint.h>
#include <stdio.h>

#include <weft/weft.h>

typedef struct job {
	weft_chan *tx;
	int i;
} job;

static void square(void *arg)
{
	job *j = arg;
	int sq = j->i * j->i;
	weft_chan_send(j->tx, &sq);
	weft_chan_sender_drop(j->tx);
}

int main(void)
{
	weft_pool *pool;
	if (weft_pool_create(&pool, &(weft_pool_opts){ .threads = 4 }) != 0)
		return 1;
	weft_chan *ch;
	if (weft_chan_create(&ch, sizeof(int), WEFT_CHAN_UNBOUNDED) != 0)
		return 1;
	job jobs[8];
	for (int i = 0; i < 8; i++) {
		jobs[i] = (job){ ch, i };
		weft_chan_sender_clone(ch); /* let tx = tx.clone(); */
		if (weft_pool_execute(pool, square, &jobs[i]) != 0)
			return 1;
	}
	weft_chan_sender_drop(ch); /* main's own tx */
	int sum = 0, received = 0, sq;
	while (received < 8 && weft_chan_recv(ch, &sq) == 0) {
		sum += sq;
		received++;
	}
	printf("received %d results, sum of squares = %d\n", received, sum);
	weft_chan_receiver_drop(ch);
	weft_pool_destroy(pool, WEFT_POOL_DRAIN);
	return received == 8 && sum == 140 ? 0 : 1;
}
