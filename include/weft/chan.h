/*
 * weft/chan.h - blocking MPMC channels with elements copied by value
 * (Go's `chan T`, Rust's mpsc::channel / sync_channel, crossbeam-channel).
 *
 * Flavours, chosen by the capacity given to weft_chan_create:
 *
 *   WEFT_CHAN_UNBOUNDED  a linked list of blocks of 236 slots (crossbeam's
 *                        "list" flavour); one CAS on the tail index per
 *                        send and a plain store of the slot's state; one CAS
 *                        on the head per receive and a plain store of the
 *                        slot's byte in the block's read map (a header line
 *                        only receivers write): one locked RMW per side.
 *                        The receiver of a block's last slot retires it: if
 *                        every read byte is set the block becomes one of
 *                        four spares (a sender taking it zeroes its slot
 *                        states in one burst, so the per-element stores find
 *                        the lines owned), else a receiver is still copying
 *                        out and the block waits in a retired list until a
 *                        later retirement finds it read. A steady stream
 *                        allocates nothing.
 *   n >= 1               a ring of n slots with per-slot stamps (Vyukov;
 *                        crossbeam's "array" flavour): one CAS per operation,
 *                        memory fixed at creation.
 *   0                    rendezvous (crossbeam's "zero" flavour): a mutex
 *                        over two lists of waiting senders and receivers; a
 *                        send pairs with a waiting receiver and copies
 *                        straight into its buffer (and the mirror), so a
 *                        send returns only once a receiver has the element.
 *
 * Waiting. An operation that cannot complete retries for about a
 * microsecond (only when more than one CPU is usable and no waiter of its
 * side sleeps), then registers a waiter (a stack object: a `selected`
 * word and a futex word; lib/internal/waiter.h) in the channel's sender or
 * receiver list, spins up to 5 us more (only the first waiter of its side,
 * and only while spins on that list have recently paid off), and sleeps on
 * its futex word. The other side, after each completed operation, loads
 * the list's flags word (no lock when nobody waits or a woken waiter is
 * still on its way) and otherwise claims one waiter with one CAS on its
 * `selected` word and wakes it; while that waiter has not yet retried,
 * later notifies leave the list alone and the woken waiter wakes the next
 * one if the channel is still ready (chained wake-ups: one wake-up per
 * element at most, never zero). A sender woken for one free slot of a
 * bounded channel that is still more than half full (and with no other
 * sender asleep) waits again, without CPU, until the receivers have freed
 * half of it, the channel empties or disconnects, or 100 us have passed,
 * then refills in one go instead of being woken every few elements
 * ("room waits", lib/chan.c). The same CAS is what makes select complete
 * exactly one operation: a waiter registered on several channels is
 * claimed by at most one of them. No sched_yield: on one CPU waiters sleep
 * at once (crossbeam-channel's collapse when pinned to one CPU, its issues
 * 821 and 1031, comes from yielding waiters; yield polls were measured
 * again and rejected, docs/tuning.md).
 *
 * Disconnection (Rust's rules, plus Go's close): the channel counts sender
 * and receiver references. When the last sender is dropped, or on
 * weft_chan_close, sends fail with EPIPE at once and receivers drain what
 * is queued, then get EPIPE. When the last receiver is dropped, sends fail
 * with EPIPE (what is queued stays queued). When both counts reach zero the
 * channel is freed, and the drop function (if set) is called once for each
 * element still queued: an element is received or dropped, never lost.
 * Every blocked operation is woken by a disconnection.
 *
 * No inline fast paths: the channel is opaque (its layout depends on the
 * flavour), so an operation is one call into lib/chan.c, as in
 * crossbeam-channel (whose operations are not inlined across crates either).
 *
 * Limits: elem_size <= WEFT_CHAN_ELEM_MAX, capacity <= WEFT_CHAN_CAPACITY_MAX
 * (or WEFT_CHAN_UNBOUNDED), select over at most WEFT_CHAN_SELECT_MAX ops;
 * beyond them EINVAL.
 *
 * Memory orders, in one place (lib/chan.c names each pairing at its site):
 * an element is published by the release store of its slot's stamp/state
 * and taken by the acquire load of it; an unbounded block is reused only
 * after its retirer read every slot's read byte with acquire (each
 * released after its reader's copy-out); the wake-up protocol is a Dekker
 * pattern of seq_cst operations: a sender's seq_cst CAS on the tail before
 * its seq_cst load of the receivers' flags word, against a receiver's
 * seq_cst RMW setting WAITERS before its seq_cst load of the tail (and
 * the mirror for senders waiting on a full ring), so either the waiter sees
 * the element or the sender sees the waiter.
 */
#ifndef WEFT_CHAN_H
#define WEFT_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include "weft/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_chan weft_chan;

#define WEFT_CHAN_UNBOUNDED SIZE_MAX
/* Largest element (bytes) and largest bounded capacity; EINVAL beyond. */
#define WEFT_CHAN_ELEM_MAX ((size_t)1 << 16)
#define WEFT_CHAN_CAPACITY_MAX ((size_t)1 << 30)
/* Most ops one weft_chan_select takes (its waiting entries live on the stack). */
#define WEFT_CHAN_SELECT_MAX 64

enum { WEFT_CHAN_SEND = 1, WEFT_CHAN_RECV = 2 };

typedef struct weft_chan_op {
	weft_chan *ch;
	int kind;   /* WEFT_CHAN_SEND or WEFT_CHAN_RECV */
	void *buf;  /* the element to send / where to receive (elem_size bytes) */
	int result; /* set by weft_chan_select for the op it completed */
} weft_chan_op;

/*
 * Create a channel of elements of elem_size bytes (0: signals only, NULL
 * buffers allowed) and the given capacity (WEFT_CHAN_UNBOUNDED, 0 for
 * rendezvous, or n >= 1). The new channel holds one sender and one receiver
 * reference. -> 0 | EINVAL (NULL ch, sizes beyond the limits) | ENOMEM.
 */
WEFT_API int weft_chan_create(weft_chan **ch, size_t elem_size, size_t capacity);

/* Reference counts (Rust's Sender/Receiver clone and drop). NULL: no-op. */
WEFT_API void weft_chan_sender_clone(weft_chan *ch);
WEFT_API void weft_chan_sender_drop(weft_chan *ch);
WEFT_API void weft_chan_receiver_clone(weft_chan *ch);
WEFT_API void weft_chan_receiver_drop(weft_chan *ch);

/* Called once per element still queued when the channel is freed. */
WEFT_API void weft_chan_set_drop_fn(weft_chan *ch, void (*fn)(void *elem));

/* Go's close: sends get EPIPE at once, receivers drain then get EPIPE. */
WEFT_API void weft_chan_close(weft_chan *ch);

/*
 * Blocking send / receive: 0 | EPIPE (disconnected; for recv: and drained)
 * | EINVAL (NULL ch, or NULL buffer with elem_size > 0: nothing consumed).
 */
WEFT_API int weft_chan_send(weft_chan *ch, const void *elem);
WEFT_API int weft_chan_recv(weft_chan *ch, void *out);

/* Non-blocking: 0 | EAGAIN (full / empty; rendezvous: no counterpart
 * waiting) | EPIPE | EINVAL. */
WEFT_API int weft_chan_try_send(weft_chan *ch, const void *elem);
WEFT_API int weft_chan_try_recv(weft_chan *ch, void *out);

/* Wait at most timeout_ns (CLOCK_MONOTONIC): 0 | ETIMEDOUT | EPIPE | EINVAL.
 * timeout 0 is the try_ variant answering ETIMEDOUT; a timed-out send keeps
 * nothing. WEFT_TIMEOUT_NEVER waits forever. */
WEFT_API int weft_chan_send_timeout(weft_chan *ch, const void *elem, uint64_t timeout_ns);
WEFT_API int weft_chan_recv_timeout(weft_chan *ch, void *out, uint64_t timeout_ns);

/*
 * Complete exactly one of ops[0..n) and return its index, with its result 0
 * or EPIPE (a disconnected op counts as ready, as in crossbeam). Among ready
 * ops the choice starts at a random index (fair: none starves).
 * -ETIMEDOUT when timeout_ns passes first (0 included), -EINVAL for NULL ops,
 * n == 0, n > WEFT_CHAN_SELECT_MAX, a NULL channel, a bad kind or a NULL
 * buffer on a channel with elem_size > 0.
 */
WEFT_API int weft_chan_select(weft_chan_op *ops, size_t n, uint64_t timeout_ns);

/* Elements queued now (0 for rendezvous, and for NULL). */
WEFT_API size_t weft_chan_len(weft_chan *ch);
/* WEFT_CHAN_UNBOUNDED, 0 or n (0 for NULL). */
WEFT_API size_t weft_chan_capacity(weft_chan *ch);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_CHAN_H */
