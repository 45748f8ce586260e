/*
 * lib/internal/chan.h - test hooks into weft_chan's unbounded flavour
 * (tests/unit_chan.c); not part of the API, not exported.
 */
#ifndef WEFT_INTERNAL_CHAN_H
#define WEFT_INTERNAL_CHAN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/chan.h"

/* Positions per unbounded block (lib/chan.c LIST_LAP); a block has one
 * slot fewer (the last position stands for the move to the next block).
 * A block of 8-byte elements is then exactly 4096 bytes: its header is the
 * read bytes padded to whole lines plus one line. */
#if WEFT_CACHELINE == 128
#define WEFT__CHAN_LIST_LAP 233
#else
#define WEFT__CHAN_LIST_LAP 237
#endif

/*
 * weft_chan_try_recv on an unbounded channel that calls hold(arg) after
 * claiming its slot and before copying the element out: where a receiver
 * preempted mid-receive stops, so a test can keep it there while the
 * block it reads from is retired. 0 | EAGAIN | EPIPE | EINVAL (NULL, a
 * bad buffer, or not the unbounded flavour).
 */
int weft__chan_recv_held(weft_chan *ch, void *out, void (*hold)(void *), void *arg);

/*
 * The longest room wait (lib/chan.c, "Room waits"): how long a sender woken
 * for a freed slot of a bounded channel still more than half full may wait
 * for the receivers to free half before it sends anyway. It bounds the
 * delay a sender sees when its receiver stops receiving after freeing a
 * slot (a room wait is otherwise ended by a receive that leaves the channel
 * half full, by an empty channel or a disconnection): 100 us, about the
 * time a receiver takes to free 512 slots at 200 ns per receive (select
 * over four channels). A variable so tests can stretch it (to show that the
 * receivers end the wait) or shrink it.
 */
#define WEFT__CHAN_ROOM_WAIT_MAX_NS 100000u
extern _Atomic uint64_t weft__chan_room_wait_max_ns;

/* Room waits on this bounded channel that slept, since its creation. */
uint64_t weft__chan_room_waits(weft_chan *ch);

/* Blocks waiting in the channel's retired list (a receiver still copying
 * out of them). Only while no other thread uses the channel. */
size_t weft__chan_retired_blocks(weft_chan *ch);

#endif /* WEFT_INTERNAL_CHAN_H */
