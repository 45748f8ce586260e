/*
 * examples/async_stream.c - the seed's stream example (tokio) with
 * weft_rt: items processed one by one, awaiting each. The stream is a
 * channel fed by a producer task; the consumer task awaits every item
 * (its recv parks the task, not a thread).
 *
 *     let mut stream = tokio_stream::iter(vec![1, 2, 3]);
 *     while let Some(v) = stream.next().await {
 *         println!("Got {v}");
 *     }
 *
 * The producer sleeps between items (shortened by an argument or
 * WEFT_EXAMPLE_SLEEP_MS; default 1000 ms / 10 per item) to show each
 * item is awaited as it comes.
 */
#include <stdint.h>
#include <stdio.h>

#include "example_sleep.h"
#include "weft/chan.h"
#include "weft/rt.h"

static void *producer(void *arg)
{
	weft_chan *stream = arg;
	for (int v = 1; v <= 3; v++) {
		weft_sleep_ns((uint64_t)example_sleep_ms * 100000u);
		if (weft_chan_send(stream, &v))
			return (void *)1;
	}
	weft_chan_sender_drop(stream); /* end of stream */
	return NULL;
}

static void *consumer(void *arg)
{
	weft_chan *stream = arg;
	int v, n = 0;
	while (weft_chan_recv(stream, &v) == 0) { /* stream.next().await */
		printf("Got %d\n", v);
		n++;
	}
	weft_chan_receiver_drop(stream);
	return n == 3 ? NULL : (void *)1;
}

int main(int argc, char **argv)
{
	example_sleep_init(argc, argv);
	weft_rt *rt;
	weft_chan *stream;
	if (weft_rt_create(&rt, NULL) || weft_chan_create(&stream, sizeof(int), 0))
		return 1;
	weft_rt_task *p, *c;
	void *rp = (void *)1, *rc = (void *)1;
	if (weft_go(rt, &p, producer, stream) == 0 && weft_go(rt, &c, consumer, stream) == 0) {
		weft_rt_join(p, &rp);
		weft_rt_join(c, &rc);
	}
	weft_rt_destroy(rt);
	return rp || rc ? 1 : 0;
}
