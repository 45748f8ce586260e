/*
 * examples/chan_producers.c - The Rust Book, 16.2, "Creating Multiple
 * Producers by Cloning the Transmitter": two threads send four strings each
 * (one-second pauses) through clones of one sender; main prints what
 * arrives, in an interleaving that varies from run to run, until both
 * senders are gone. Then the same with a bounded channel of two,
 * std::sync::mpsc::sync_channel(2): a send blocks while two strings wait.
 *
 * Usage: chan_producers [pause_ms]   (default 1000; or WEFT_EXAMPLE_SLEEP_MS)
 */
#include <pthread.h>
#include <stdio.h>

#include <weft/weft.h>

#include "example_sleep.h"

typedef struct producer {
	weft_chan *tx;
	const char *vals[4];
} producer;

static void *produce(void *arg)
{
	producer *p = arg;
	for (int i = 0; i < 4; i++) {
		weft_chan_send(p->tx, &p->vals[i]);
		example_sleep();
	}
	weft_chan_sender_drop(p->tx);
	return NULL;
}

static int run(size_t capacity)
{
	weft_chan *ch;
	if (weft_chan_create(&ch, sizeof(const char *), capacity) != 0)
		return 1;
	weft_chan_sender_clone(ch); /* let tx1 = tx.clone(); */
	producer p1 = { ch, { "hi", "from", "the", "thread" } };
	producer p2 = { ch, { "more", "messages", "for", "you" } };
	pthread_t t1, t2;
	pthread_create(&t1, NULL, produce, &p1); /* moves tx1 */
	pthread_create(&t2, NULL, produce, &p2); /* moves tx */

	const char *received;
	int n = 0;
	while (weft_chan_recv(ch, &received) == 0) {
		printf("Got: %s\n", received);
		n++;
	}
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	weft_chan_receiver_drop(ch);
	return n == 8 ? 0 : 1;
}

int main(int argc, char **argv)
{
	example_sleep_init(argc, argv);
	if (run(WEFT_CHAN_UNBOUNDED) != 0) /* mpsc::channel() */
		return 1;
	printf("-- sync_channel(2)\n");
	return run(2); /* mpsc::sync_channel(2) */
}
