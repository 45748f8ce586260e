/*
 * examples/chan_messages.c - The Rust Book, 16.2, "Sending Multiple Values
 * and Seeing the Receiver Waiting": the spawned thread sends four strings
 * with a one-second pause between them; main iterates over the receiver
 * (`for received in rx`), which ends when the sender is dropped:
 *
 *     Got: hi
 *     Got: from
 *     Got: the
 *     Got: thread
 *
 * Usage: chan_messages [pause_ms]   (default 1000; or WEFT_EXAMPLE_SLEEP_MS)
 */
#include <pthread.h>
#include <stdio.h>

#include <weft/weft.h>

#include "example_sleep.h"

static void *spawned(void *arg)
{
	weft_chan *tx = arg;
	const char *vals[] = { "hi", "from", "the", "thread" };
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		weft_chan_send(tx, &vals[i]);
		example_sleep();
	}
	weft_chan_sender_drop(tx); /* ends main's loop */
	return NULL;
}

int main(int argc, char **argv)
{
	example_sleep_init(argc, argv);
	weft_chan *ch;
	if (weft_chan_create(&ch, sizeof(const char *), WEFT_CHAN_UNBOUNDED) != 0)
		return 1;
	pthread_t t;
	pthread_create(&t, NULL, spawned, ch);

	/* for received in rx { println!("Got: {received}"); } */
	const char *received;
	while (weft_chan_recv(ch, &received) == 0)
		printf("Got: %s\n", received);

	pthread_join(t, NULL);
	weft_chan_receiver_drop(ch);
	return 0;
}
