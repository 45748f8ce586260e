/*
 * examples/chan_basic.c - The Rust Book, 16.2 "Using Message Passing to
 * Transfer Data Between Threads", first example, with weft_chan:
 *
 *     let (tx, rx) = mpsc::channel();
 *     thread::spawn(move || { let val = String::from("hi"); tx.send(val).unwrap(); });
 *     let received = rx.recv().unwrap();
 *     println!("Got: {received}");
 *
 * The element is a char * (ownership of the string moves with it). The
 * spawned thread owns the sender reference and drops it when done, as the
 * closure's `move` does in Rust.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weft/weft.h>

static void *spawned(void *arg)
{
	weft_chan *tx = arg;
	char *val = strdup("hi");
	if (weft_chan_send(tx, &val) != 0)
		abort();
	weft_chan_sender_drop(tx); /* the thread's sender goes out of scope */
	return NULL;
}

int main(void)
{
	weft_chan *ch;
	if (weft_chan_create(&ch, sizeof(char *), WEFT_CHAN_UNBOUNDED) != 0)
		return 1;
	pthread_t t;
	pthread_create(&t, NULL, spawned, ch); /* moves the sender reference */

	char *received;
	if (weft_chan_recv(ch, &received) != 0)
		return 1;
	printf("Got: %s\n", received);
	free(received);

	pthread_join(t, NULL);
	weft_chan_receiver_drop(ch);
	return 0;
}
