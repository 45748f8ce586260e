/*
 * lib/chan.c - weft_chan: the three flavours, their waiting lists, select.
 * The design summary and the memory-order protocol are in weft/chan.h; the
 * waiter (park/unpark/claim) in internal/waiter.h. The flavours follow
 * crossbeam-channel 0.5 (array.rs, list.rs, zero.rs, waker.rs) in C11.
 */
#include "weft/chan.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal/arch.h"
#include "internal/backoff.h"
#include "internal/chan.h"
#include "internal/cpus.h"
#include "internal/futex.h"
#include "internal/waiter.h"
#include "weft/mutex.h"

/*
 * Spin (retrying the operation) before registering as a waiter, in ns:
 * enough for the other side of a busy 1x1 stream to produce the next
 * element; only when more than one CPU is usable (docs/tuning.md).
 */
#ifndef CHAN_SPIN_NS
#define CHAN_SPIN_NS 1000
#endif
#define CHAN_SPIN_PAUSE_MAX_NS 200

enum flavour { FLAVOUR_LIST, FLAVOUR_ARRAY, FLAVOUR_ZERO };

/* Slots: an 8-byte state/stamp word, then the element (8-aligned). */
#define SLOT_HDR 8

/* ------------------------------------------------------------ waiting lists */

/* One registration of a waiter in one list (on the waiter's stack). */
typedef struct chan_entry {
	weft__waiter *w;
	uintptr_t sel;	/* WEFT__SEL_OP(i): what claiming this entry means */
	void *buf;	/* rendezvous: the element to take / where to put it */
	struct chan_entry *prev, *next;
	bool linked;	/* in a list; guarded by the list's lock */
} chan_entry;

/*
 * A list of waiters (crossbeam's SyncWaker) and its `flags` word:
 *
 *   WK_WAITERS  the list is not empty (mirrors head != NULL);
 *   WK_WOKEN    a waiter claimed by notify has not yet retried its
 *               operation (at most one at a time).
 *
 * Both bits change only by atomic RMWs; WAITERS under the lock, WOKEN set
 * under the lock and cleared without it. notify reads the word without the
 * lock: an operation costs one load when nobody waits, and also while a
 * woken waiter is on its way (the 4x4 and 8x8 rows: with some receiver
 * asleep and one woken, every send used to take the receivers' lock just
 * to find `woken` set; docs/tuning.md). The rendezvous flavour keeps its
 * two lists under its own lock and ignores WOKEN.
 *
 * Chained wake-ups (WOKEN): while one woken waiter is on its way, notify
 * wakes nobody else; the woken waiter, once it has retried, clears WOKEN
 * and wakes the next one itself if the channel is still ready for its side
 * (waker_woken_done). Why: with more senders than a bounded channel has
 * room for, waking a sender for every freed slot made the receiver pay a
 * futex wake per element, and each woken sender found one free slot, sent
 * one element and slept again (4 senders x 1 receiver: ~500 ns of CPU per
 * element, docs/tuning.md). Chained, the wake-up cost moves to the woken
 * thread, and a sender that wakes late finds many free slots.
 *
 * No wake-up is lost: a notifier that skips because WOKEN is set did its
 * seq_cst index RMW before its seq_cst load of `flags`, and that load read
 * a value older (in modification order) than the woken waiter's seq_cst
 * fetch_and clearing WOKEN, so in the single total order S: index RMW <
 * load < clear < the woken waiter's seq_cst ready check, which therefore
 * sees the notifier's element (or a later state).
 */
#define WK_WAITERS 1u
#define WK_WOKEN 2u
/* A woken sender waits for more room (room_wait); set by that sender
 * only, while it holds WOKEN, so at most one per list. */
#define WK_ROOM 4u
/* Set with WOKEN when the woken waiter was woken by the previous woken
 * one (a chained wake-up), not by an operation of the other side. */
#define WK_CHAINED 8u

typedef struct waker {
	weft_mutex lock;
	_Atomic uint32_t flags;
	chan_entry *head, *tail;
	/* Spin learning (relaxed: heuristics). credit > 0: recent park spins
	 * ended in a wake-up, so spinning pays; at 0 only every
	 * SPIN_PROBE_EVERY-th wait spins, to notice when it pays again. */
	_Atomic int32_t spin_credit;
	_Atomic uint32_t waits;
	/* room_wait's futex word: bumped by room_release. */
	_Atomic uint32_t room_word;
	/* Room waits that slept (weft__chan_room_waits; relaxed). */
	_Atomic uint64_t room_waits;
	/* Room learning (relaxed: heuristics), as spin_credit: credit > 0,
	 * recent room waits left the receivers enough to work on. */
	_Atomic int32_t room_credit;
	_Atomic uint32_t room_tries;
} waker;

/* Credit after a spin that paid off; each failed spin takes one away. */
#define SPIN_CREDIT_MAX 4
#define SPIN_PROBE_EVERY 16

/*
 * Should this wait spin before sleeping? Only if recent spins on this list
 * paid off, or as a periodic probe. A spin pays when the thread that will
 * wake us is running; when the machine is busy (other processes, more
 * threads than CPUs) it rarely is, and the spin is CPU taken from it:
 * on the loaded 2-CPU guest a 5 us park spin cost ping-pong 2x in wall and
 * CPU time against not spinning (docs/tuning.md).
 */
static void spin_plan(waker *wk, weft__waiter *w)
{
	/* relaxed (both): heuristic counters, no data published. */
	uint32_t n = atomic_fetch_add_explicit(&wk->waits, 1, memory_order_relaxed);
	if (atomic_load_explicit(&wk->spin_credit, memory_order_relaxed) <= 0 &&
	    n % SPIN_PROBE_EVERY != 0)
		w->spin = false;
}

/* After a park that spun: credit the list if the spin paid off. */
static void spin_learn(waker *wk, const weft__waiter *w)
{
	if (w->spun < 0)
		return;
	/* relaxed: a heuristic; racing updates only blur it. */
	int32_t c = atomic_load_explicit(&wk->spin_credit, memory_order_relaxed);
	c = w->spun ? SPIN_CREDIT_MAX : c > 0 ? c - 1 : 0;
	atomic_store_explicit(&wk->spin_credit, c, memory_order_relaxed);
}

static void list_push(waker *wk, chan_entry *e)
{
	if (wk->head) /* others of our side wait already: do not spin */
		e->w->spin = false;
	e->next = NULL;
	e->prev = wk->tail;
	if (wk->tail)
		wk->tail->next = e;
	else
		wk->head = e;
	wk->tail = e;
	e->linked = true;
	/* seq_cst: the waiter half of the Dekker pattern (weft/chan.h): this
	 * RMW precedes, in the single total order, the waiter's seq_cst
	 * re-check of the channel (ready_*), against the notifier's seq_cst
	 * index RMW then seq_cst load of `flags` in notify. */
	atomic_fetch_or_explicit(&wk->flags, WK_WAITERS, memory_order_seq_cst);
}

static void list_unlink(waker *wk, chan_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		wk->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		wk->tail = e->prev;
	e->linked = false;
	if (!wk->head)
		/* relaxed: a stale WAITERS only costs a notifier the lock;
		 * its absence is never read early: the lock orders the
		 * unlink after the push that set it. */
		atomic_fetch_and_explicit(&wk->flags, ~WK_WAITERS, memory_order_relaxed);
}

/* Claim the first entry not owned by `self` whose waiter is still waiting. */
static chan_entry *list_claim(waker *wk, const weft__waiter *self)
{
	for (chan_entry *e = wk->head; e; e = e->next) {
		if (e->w != self && weft__waiter_try_select(e->w, e->sel)) {
			list_unlink(wk, e);
			return e;
		}
	}
	return NULL;
}

/* Is some other waiter in the list still waiting? (lock held) */
static bool list_has_other(waker *wk, const weft__waiter *self)
{
	for (chan_entry *e = wk->head; e; e = e->next)
		if (e->w != self && weft__waiter_selected(e->w) == WEFT__SEL_WAITING)
			return true;
	return false;
}

/* Claim every waiting entry for DISCONNECTED and wake it (lock held). */
static void list_disconnect(waker *wk)
{
	chan_entry *e = wk->head;
	while (e) {
		chan_entry *next = e->next;
		weft__waiter *w = e->w;
		if (weft__waiter_try_select(w, WEFT__SEL_DISCONNECTED)) {
			list_unlink(wk, e);
			weft__waiter_unpark(w);
		}
		e = next;
	}
}

static void waker_register(waker *wk, chan_entry *e)
{
	weft_mutex_lock(&wk->lock);
	list_push(wk, e);
	weft_mutex_unlock(&wk->lock);
}

static void waker_unregister(waker *wk, chan_entry *e)
{
	weft_mutex_lock(&wk->lock);
	if (e->linked)
		list_unlink(wk, e);
	weft_mutex_unlock(&wk->lock);
}

/* waker_notify once its lock-free check found waiters and nobody woken;
 * `woken` is WK_WOKEN, or WK_WOKEN | WK_CHAINED for a chained wake-up. */
static void waker_notify_slow(waker *wk, uint32_t woken)
{
	weft_mutex_lock(&wk->lock);
	weft__waiter *w = NULL;
	/* relaxed: re-read under the lock, which orders every change of
	 * WAITERS and every setting of WOKEN; a concurrent clear of WOKEN
	 * only makes us skip a wake-up its clearer will do itself. */
	if (atomic_load_explicit(&wk->flags, memory_order_relaxed) == WK_WAITERS) {
		chan_entry *e = list_claim(wk, NULL);
		if (e) {
			w = e->w;
			/* relaxed: read by notifiers as above; the woken
			 * waiter's clear is ordered after by our unpark
			 * (release) and its park (acquire). */
			atomic_fetch_or_explicit(&wk->flags, woken, memory_order_relaxed);
		}
	}
	weft_mutex_unlock(&wk->lock);
	/* The claimed waiter cannot leave before this unpark: w stays valid. */
	if (w)
		weft__waiter_unpark(w);
}

/* One operation completed: wake one waiter of the other side, if any.
 * `woken` as in waker_notify_slow. */
static inline void waker_notify_as(waker *wk, uint32_t woken)
{
	/* seq_cst: the notifier half of the Dekker pattern; pairs with the
	 * seq_cst RMW in list_push (see there) and with the clearing of
	 * WOKEN in waker_woken_done (see struct waker). */
	if (atomic_load_explicit(&wk->flags, memory_order_seq_cst) == WK_WAITERS)
		waker_notify_slow(wk, woken);
	/* else nobody waits, or the woken one passes it on */
}

static inline void waker_notify(waker *wk)
{
	waker_notify_as(wk, WK_WOKEN);
}

/*
 * End a room wait (room_wait) early: the channel is half empty, empty, or
 * disconnected. Only the caller that clears WK_ROOM wakes, so receivers
 * racing past the half-way mark pay one wake-up between them.
 */
static void room_release(waker *wk)
{
	/* seq_cst (both): pairs with the seq_cst fetch_or of WK_ROOM in
	 * room_wait, a Dekker pattern as in waker_notify: our caller's
	 * seq_cst access to the channel (head CAS, the disconnect mark, an
	 * empty check) precedes this load, so either we see ROOM or the room
	 * waiter's seq_cst re-check after setting it sees the channel as we
	 * left it. Reading ROOM in the RMW also orders the waiter's read of
	 * room_word before our increment: its futex wait sees the change or
	 * is woken. */
	if (!(atomic_load_explicit(&wk->flags, memory_order_seq_cst) & WK_ROOM))
		return;
	if (!(atomic_fetch_and_explicit(&wk->flags, ~WK_ROOM, memory_order_seq_cst) & WK_ROOM))
		return;
	/* relaxed: the futex word carries no data; the kernel compares it. */
	atomic_fetch_add_explicit(&wk->room_word, 1, memory_order_relaxed);
	weft__futex_wake(&wk->room_word, 1);
}

static void waker_disconnect(waker *wk)
{
	weft_mutex_lock(&wk->lock);
	list_disconnect(wk);
	weft_mutex_unlock(&wk->lock);
	room_release(wk);
}

/* ------------------------------------------------------------- the channel */

/* Unbounded flavour: index = position << SHIFT; bit 0 is a mark. */
#define LIST_SHIFT 1
#define LIST_MARK 1u
/*
 * Positions per block: LIST_BLOCK_CAP slots, then one position that stands
 * for the move to the next block. With 8-byte elements (16-byte slots) a
 * block is exactly 4096 bytes: 236 read bytes and the `next` line (320
 * bytes of header), then 236 slots (with 128-byte lines: 384 bytes of
 * header and 232 slots): one page per block, no allocator size-class
 * slack, and a block change (senders waiting for the installer, a
 * retirement) every 236 elements (docs/tuning.md, "weft_chan: 4 KiB
 * blocks", has the figures).
 */
#define LIST_LAP WEFT__CHAN_LIST_LAP
#define LIST_BLOCK_CAP (LIST_LAP - 1)
/* A slot's state is the position (index >> LIST_SHIFT) of the element it
 * last held, plus one: the element at position p is in when the state is
 * p + 1. Positions only grow, so a stale state (smaller) never publishes
 * anything; a block is zeroed anyway when taken (block_new, for speed). */
/* Read blocks kept for reuse instead of freed (docs/tuning.md). */
#define LIST_SPARES 4

/*
 * A block's slots are read by receivers in any order. Each receiver, once
 * it has copied its element out, sets the slot's byte in `read` with a
 * plain release store (in a line only receivers write, apart from the
 * reset when the block is reused). The receiver of the last slot retires
 * the block: if every byte is set, nobody touches the block any more and
 * it is recycled; otherwise a receiver of one of its slots is still
 * copying out (preempted between its head CAS and its store), and the
 * block waits in the channel's `retired` list until a later retirement
 * finds it read (or the channel is freed). So a receive costs one locked
 * RMW (the head CAS), a send one (the tail CAS): crossbeam marks each slot
 * READ and WRITE with RMWs on the slot's state instead, and the session-7
 * code counted reads with a fetch_add per receive (docs/tuning.md,
 * "weft_chan: recycled blocks").
 */
typedef struct chan_block {
	_Atomic unsigned char read[LIST_BLOCK_CAP]; /* padded to whole lines */
	/* Senders' line: the successor (stored once by the sender that
	 * installs it, read by the receiver of the last slot); then the link
	 * of the `retired` list (guarded by that list's CASes). */
	WEFT_ALIGNED_CACHELINE _Atomic(struct chan_block *) next;
	struct chan_block *retired_next;
	/* LIST_BLOCK_CAP slots follow at LIST_BLOCK_HDR */
} chan_block;

#define LIST_BLOCK_HDR sizeof(chan_block)
/* Exactly 4096 with 64- and 128-byte lines (WEFT__CHAN_LIST_LAP). */
_Static_assert(LIST_BLOCK_HDR + LIST_BLOCK_CAP * (SLOT_HDR + 8) <= 4096,
	       "a block of 8-byte elements fits one 4 KiB allocation (LIST_LAP)");

struct weft_chan {
	/* Receivers' end. array: the head stamp; list: head index (bit 0:
	 * the head block has a successor) and block. */
	WEFT_ALIGNED_CACHELINE _Atomic size_t head;
	_Atomic(chan_block *) head_block;
	/* list: a tail index some receiver read (a lower bound of the tail:
	 * positions below it are claimed by senders), so that a receiver
	 * behind the tail does not read the senders' line per element. */
	_Atomic size_t tail_seen;
	/* Senders' end. array: the tail stamp; list: tail index and block.
	 * The mark bit (array: mark_bit, list: bit 0) = disconnected. */
	WEFT_ALIGNED_CACHELINE _Atomic size_t tail;
	_Atomic(chan_block *) tail_block;
	WEFT_ALIGNED_CACHELINE waker senders;
	WEFT_ALIGNED_CACHELINE waker receivers;
	/* list: read blocks kept for reuse (their own line: exchanged by
	 * both sides once per block, away from the read-mostly fields). */
	WEFT_ALIGNED_CACHELINE _Atomic(chan_block *) spare[LIST_SPARES];
	/* list: retired blocks with a receiver still copying out (a stack
	 * linked by retired_next; rarely non-empty). */
	_Atomic(chan_block *) retired;
	/* Read-mostly from here on. */
	WEFT_ALIGNED_CACHELINE enum flavour flavour;
	size_t elem_size, stride, cap;
	size_t one_lap, mark_bit; /* array */
	unsigned char *slots;	  /* array */
	weft_mutex zlock;	  /* rendezvous: guards both lists and zdisc */
	bool zdisc;
	void (*drop_fn)(void *elem);
	_Atomic size_t sender_refs, receiver_refs;
	_Atomic bool destroy; /* the second side to reach zero frees */
};

/* The common sizes as fixed-size copies (a move, not a call to memcpy). */
static inline void copy_in(const weft_chan *ch, void *dst, const void *src)
{
	switch (ch->elem_size) {
	case 0: return;
	case 4: memcpy(dst, src, 4); return;
	case 8: memcpy(dst, src, 8); return;
	case 16: memcpy(dst, src, 16); return;
	default: memcpy(dst, src, ch->elem_size);
	}
}

static size_t round8(size_t n) { return (n + 7) & ~(size_t)7; }

/* A generic position in a flavour: the slot claimed, and what to store. */
typedef struct chan_token {
	unsigned char *slot;
	size_t stamp;	  /* the stamp (array) / state (list) that publishes the slot */
	chan_block *block; /* list */
	size_t offset;	  /* list */
} chan_token;

/* --------------------------------------------------- array (bounded n >= 1) */

static unsigned char *array_slot(weft_chan *ch, size_t index)
{
	return ch->slots + index * ch->stride;
}

static _Atomic size_t *stamp_of(unsigned char *slot)
{
	return (_Atomic size_t *)slot;
}

/* Claim a free slot: 0, EAGAIN (full), EPIPE (disconnected). */
static int array_start_send(weft_chan *ch, chan_token *t)
{
	unsigned round = 0;
	/* relaxed: a guess; the CAS below validates it. */
	size_t tail = atomic_load_explicit(&ch->tail, memory_order_relaxed);
	for (;;) {
		if (tail & ch->mark_bit)
			return EPIPE;
		size_t index = tail & (ch->mark_bit - 1);
		size_t lap = tail & ~(ch->one_lap - 1);
		unsigned char *slot = array_slot(ch, index);
		/* acquire: pairs with the release stamp store in array_read, so
		 * the previous lap's reader is done with the slot. */
		size_t stamp = atomic_load_explicit(stamp_of(slot), memory_order_acquire);
		if (tail == stamp) {
			size_t next = index + 1 < ch->cap ? tail + 1 : lap + ch->one_lap;
			/* seq_cst: the notifier half of the wake-up Dekker
			 * pattern (weft/chan.h): precedes our seq_cst load of
			 * receivers.empty in waker_notify. */
			if (atomic_compare_exchange_weak_explicit(
				    &ch->tail, &tail, next, memory_order_seq_cst,
				    memory_order_relaxed)) {
				*t = (chan_token){ .slot = slot, .stamp = tail + 1 };
				return 0;
			}
		} else if (stamp + ch->one_lap == tail + 1) {
			/* The slot holds last lap's element: full, unless a
			 * receiver has claimed it and is still copying out. */
			atomic_thread_fence(memory_order_seq_cst);
			/* relaxed: ordered by the fence (crossbeam's check). */
			size_t head = atomic_load_explicit(&ch->head, memory_order_relaxed);
			if (head + ch->one_lap == tail)
				return EAGAIN;
			weft__wait_progress(&round);
			tail = atomic_load_explicit(&ch->tail, memory_order_relaxed);
		} else {
			/* Our tail is stale: another sender took this slot. */
			weft__cpu_relax();
			tail = atomic_load_explicit(&ch->tail, memory_order_relaxed);
		}
	}
}

static void array_write(weft_chan *ch, chan_token *t, const void *elem)
{
	copy_in(ch, t->slot + SLOT_HDR, elem);
	/* release: publishes the element to the acquire stamp load in
	 * array_start_recv. */
	atomic_store_explicit(stamp_of(t->slot), t->stamp, memory_order_release);
}

/* Claim a full slot: 0, EAGAIN (empty), EPIPE (disconnected and drained). */
static int array_start_recv(weft_chan *ch, chan_token *t)
{
	unsigned round = 0;
	/* relaxed: a guess; the CAS below validates it. */
	size_t head = atomic_load_explicit(&ch->head, memory_order_relaxed);
	for (;;) {
		size_t index = head & (ch->mark_bit - 1);
		size_t lap = head & ~(ch->one_lap - 1);
		unsigned char *slot = array_slot(ch, index);
		/* acquire: pairs with the release stamp store in array_write. */
		size_t stamp = atomic_load_explicit(stamp_of(slot), memory_order_acquire);
		if (head + 1 == stamp) {
			size_t next = index + 1 < ch->cap ? head + 1 : lap + ch->one_lap;
			/* seq_cst: the notifier half of the Dekker pattern for
			 * waiting senders (precedes our load of senders.empty). */
			if (atomic_compare_exchange_weak_explicit(
				    &ch->head, &head, next, memory_order_seq_cst,
				    memory_order_relaxed)) {
				*t = (chan_token){ .slot = slot,
						   .stamp = head + ch->one_lap };
				return 0;
			}
		} else if (stamp == head) {
			/* Empty, unless a sender claimed the slot and is still
			 * copying in. */
			atomic_thread_fence(memory_order_seq_cst);
			/* relaxed: ordered by the fence (crossbeam's check). */
			size_t tail = atomic_load_explicit(&ch->tail, memory_order_relaxed);
			if ((tail & ~ch->mark_bit) == head)
				return (tail & ch->mark_bit) ? EPIPE : EAGAIN;
			weft__wait_progress(&round);
			head = atomic_load_explicit(&ch->head, memory_order_relaxed);
		} else {
			weft__cpu_relax();
			head = atomic_load_explicit(&ch->head, memory_order_relaxed);
		}
	}
}

static void array_read(weft_chan *ch, chan_token *t, void *out)
{
	copy_in(ch, out, t->slot + SLOT_HDR);
	/* release: hands the slot back to the next lap's sender (its acquire
	 * stamp load in array_start_send). */
	atomic_store_explicit(stamp_of(t->slot), t->stamp, memory_order_release);
}

/* Can a receiver proceed (element or disconnected)? seq_cst loads: the
 * waiter half of the Dekker pattern (after list_push's store). */
static bool array_recv_ready(weft_chan *ch)
{
	size_t tail = atomic_load_explicit(&ch->tail, memory_order_seq_cst);
	size_t head = atomic_load_explicit(&ch->head, memory_order_seq_cst);
	return (tail & ch->mark_bit) || (tail & ~ch->mark_bit) != head;
}

static bool array_send_ready(weft_chan *ch)
{
	/* seq_cst: as in array_recv_ready, against the receivers' head CAS. */
	size_t head = atomic_load_explicit(&ch->head, memory_order_seq_cst);
	size_t tail = atomic_load_explicit(&ch->tail, memory_order_seq_cst);
	return (tail & ch->mark_bit) || head + ch->one_lap != tail;
}

static size_t array_len(weft_chan *ch)
{
	for (;;) {
		/* seq_cst: a consistent snapshot (tail unchanged around head). */
		size_t tail = atomic_load_explicit(&ch->tail, memory_order_seq_cst);
		size_t head = atomic_load_explicit(&ch->head, memory_order_seq_cst);
		if (atomic_load_explicit(&ch->tail, memory_order_seq_cst) != tail)
			continue;
		size_t hix = head & (ch->mark_bit - 1);
		size_t tix = tail & (ch->mark_bit - 1);
		if (hix < tix)
			return tix - hix;
		if (hix > tix)
			return ch->cap - hix + tix;
		return (tail & ~ch->mark_bit) == head ? 0 : ch->cap;
	}
}

/* ------------------------------------------------------ list (unbounded) */

static unsigned char *block_slot(weft_chan *ch, chan_block *b, size_t off)
{
	return (unsigned char *)b + LIST_BLOCK_HDR + off * ch->stride;
}

static _Atomic size_t *state_of(unsigned char *slot)
{
	return (_Atomic size_t *)slot;
}

static size_t block_bytes(weft_chan *ch)
{
	size_t n = LIST_BLOCK_HDR + LIST_BLOCK_CAP * ch->stride;
	return (n + WEFT_CACHELINE - 1) & ~(size_t)(WEFT_CACHELINE - 1);
}

/*
 * Take a recycled block's lines for writing, all at once: zero every slot
 * state. Not for correctness (a stale state is below every position the
 * block will hold) but for speed: the receiver that read the block last
 * still holds its lines, so without this each of the sender's per-element
 * state stores misses on a line of its own, and the sender's next tail
 * CAS (a full barrier) waits for that miss: one cross-core round trip per
 * cache line of slots, the unbounded 1x1 row's slow mode (docs/tuning.md,
 * "weft_chan: recycled blocks"). Here the 63 stores go to the store
 * buffer back to back and their misses overlap. Relaxed: the block is
 * private (see block_new).
 */
static void block_own_lines(weft_chan *ch, chan_block *b)
{
	for (size_t i = 0; i < LIST_BLOCK_CAP; i++)
		atomic_store_explicit(state_of(block_slot(ch, b, i)), 0,
				      memory_order_relaxed);
}

/* A block ready for positions beyond any used so far: a spare if there is
 * one, else a zeroed new one. */
static chan_block *block_new(weft_chan *ch)
{
	chan_block *b = NULL;
	for (int i = 0; i < LIST_SPARES && !b; i++)
		/* relaxed load: a hint; acquire exchange: pairs with the
		 * release exchange in block_recycle, so the last reader's
		 * accesses to the block happen before our reuse. */
		if (atomic_load_explicit(&ch->spare[i], memory_order_relaxed))
			b = atomic_exchange_explicit(&ch->spare[i], NULL,
						     memory_order_acquire);
	if (b) {
		block_own_lines(ch, b);
		for (size_t i = 0; i < LIST_BLOCK_CAP; i++)
			atomic_store_explicit(&b->read[i], 0, memory_order_relaxed);
	} else {
		size_t n = block_bytes(ch);
		b = aligned_alloc(WEFT_CACHELINE, n);
		if (!b)
			return NULL;
		memset(b, 0, n);
	}
	/* relaxed: the block is private until published by the release
	 * store of tail_block / b->next in list_start_send. */
	atomic_store_explicit(&b->next, NULL, memory_order_relaxed);
	return b;
}

static void block_recycle(weft_chan *ch, chan_block *b)
{
	for (int i = 0; i < LIST_SPARES; i++) {
		chan_block *expected = NULL;
		/* release: publishes our last accesses to b to block_new's
		 * acquire exchange. */
		if (atomic_compare_exchange_strong_explicit(
			    &ch->spare[i], &expected, b, memory_order_release,
			    memory_order_relaxed))
			return;
	}
	free(b);
}

/* Has every slot of b been copied out? */
static bool block_all_read(const chan_block *b)
{
	for (size_t i = 0; i < LIST_BLOCK_CAP; i++)
		/* acquire: pairs with each reader's release store of its byte
		 * in list_read: every copy-out happens before our recycling.
		 * (Relaxed loads and one acquire fence would do in C11, but
		 * ThreadSanitizer does not model fences and reported the
		 * reuse as a race.) */
		if (!atomic_load_explicit(&b->read[i], memory_order_acquire))
			return false;
	return true;
}

static void retired_push(weft_chan *ch, chan_block *b)
{
	/* relaxed load: the CAS validates it. */
	chan_block *top = atomic_load_explicit(&ch->retired, memory_order_relaxed);
	do
		b->retired_next = top;
	/* release: publishes retired_next (and our accesses to b) to the
	 * acquire exchange in retired_sweep. Only whole-list exchanges take
	 * blocks off, never a pop of the top, so ABA cannot hurt. */
	while (!atomic_compare_exchange_weak_explicit(&ch->retired, &top, b,
						      memory_order_release,
						      memory_order_relaxed));
}

/* Recycle every retired block that is read by now; push back the others. */
static void retired_sweep(weft_chan *ch)
{
	/* acquire: pairs with the release CAS in retired_push. */
	chan_block *b = atomic_exchange_explicit(&ch->retired, NULL, memory_order_acquire);
	while (b) {
		chan_block *n = b->retired_next;
		if (block_all_read(b))
			block_recycle(ch, b);
		else
			retired_push(ch, b);
		b = n;
	}
}

/* The receiver of b's last slot has copied it out: b leaves the channel. */
static void block_retire(weft_chan *ch, chan_block *b)
{
	/* relaxed: a hint; a block pushed meanwhile waits for the next
	 * retirement. */
	if (WEFT_UNLIKELY(atomic_load_explicit(&ch->retired, memory_order_relaxed)))
		retired_sweep(ch);
	if (block_all_read(b))
		block_recycle(ch, b);
	else
		retired_push(ch, b);
}

static chan_block *block_wait_next(chan_block *b)
{
	unsigned round = 0;
	for (;;) {
		/* acquire: pairs with the release store of b->next in
		 * list_start_send (the block's reset happens before). */
		chan_block *n = atomic_load_explicit(&b->next, memory_order_acquire);
		if (n)
			return n;
		weft__wait_progress(&round);
	}
}

/* Claim a slot at the tail: 0, EPIPE, ENOMEM. */
static int list_start_send(weft_chan *ch, chan_token *t)
{
	unsigned round = 0;
	chan_block *next = NULL;
	/* acquire: pairs with the release stores of tail_block and the tail
	 * index when a sender moves the tail to a new block. */
	size_t tail = atomic_load_explicit(&ch->tail, memory_order_acquire);
	chan_block *b = atomic_load_explicit(&ch->tail_block, memory_order_acquire);
	for (;;) {
		if (tail & LIST_MARK) {
			if (next)
				block_recycle(ch, next);
			return EPIPE;
		}
		size_t off = (tail >> LIST_SHIFT) % LIST_LAP;
		if (off == LIST_BLOCK_CAP) {
			/* Another sender is installing the next block. */
			weft__wait_progress(&round);
			tail = atomic_load_explicit(&ch->tail, memory_order_acquire);
			b = atomic_load_explicit(&ch->tail_block, memory_order_acquire);
			continue;
		}
		/* Allocate before claiming the last slot, so the window in
		 * which other senders wait for the new block is short. */
		if (off + 1 == LIST_BLOCK_CAP && !next) {
			next = block_new(ch);
			if (!next)
				return ENOMEM;
		}
		/* seq_cst: the notifier half of the Dekker pattern (weft/chan.h);
		 * precedes our seq_cst load of receivers.empty. */
		if (atomic_compare_exchange_weak_explicit(
			    &ch->tail, &tail, tail + (1u << LIST_SHIFT),
			    memory_order_seq_cst, memory_order_acquire)) {
			if (off + 1 == LIST_BLOCK_CAP) {
				/* release (all three): publish the new block's
				 * reset to senders (acquire loads above) and
				 * to the receiver in block_wait_next. */
				atomic_store_explicit(&ch->tail_block, next,
						      memory_order_release);
				atomic_fetch_add_explicit(&ch->tail, 1u << LIST_SHIFT,
							  memory_order_release);
				atomic_store_explicit(&b->next, next,
						      memory_order_release);
				next = NULL;
			}
			if (next)
				block_recycle(ch, next);
			*t = (chan_token){ .slot = block_slot(ch, b, off),
					   .stamp = (tail >> LIST_SHIFT) + 1,
					   .block = b, .offset = off };
			return 0;
		}
		b = atomic_load_explicit(&ch->tail_block, memory_order_acquire);
	}
}

static void list_write(weft_chan *ch, chan_token *t, const void *elem)
{
	copy_in(ch, t->slot + SLOT_HDR, elem);
	/* release: publishes the element to the acquire load in list_read.
	 * A plain store: nobody else writes a slot's state while it is in
	 * use (receivers mark reads in the block header). */
	atomic_store_explicit(state_of(t->slot), t->stamp, memory_order_release);
}

/* Claim a slot at the head: 0, EAGAIN (empty), EPIPE (disconnected, drained). */
static int list_start_recv(weft_chan *ch, chan_token *t)
{
	unsigned round = 0;
	/* acquire: pairs with the release stores of head_block / head index
	 * when a receiver moves the head to the next block. */
	size_t head = atomic_load_explicit(&ch->head, memory_order_acquire);
	chan_block *b = atomic_load_explicit(&ch->head_block, memory_order_acquire);
	for (;;) {
		size_t off = (head >> LIST_SHIFT) % LIST_LAP;
		if (off == LIST_BLOCK_CAP) {
			/* Another receiver is moving to the next block. */
			weft__wait_progress(&round);
			head = atomic_load_explicit(&ch->head, memory_order_acquire);
			b = atomic_load_explicit(&ch->head_block, memory_order_acquire);
			continue;
		}
		size_t new_head = head + (1u << LIST_SHIFT);
		if (!(new_head & LIST_MARK)) {
			/* relaxed: a tail value once read; positions below it
			 * were claimed by senders (the slot's state, read with
			 * acquire, says when the element is in). */
			size_t tail = atomic_load_explicit(&ch->tail_seen, memory_order_relaxed);
			if (head >> LIST_SHIFT >= tail >> LIST_SHIFT) {
				atomic_thread_fence(memory_order_seq_cst);
				/* relaxed: ordered by the fence (crossbeam's
				 * check). */
				tail = atomic_load_explicit(&ch->tail, memory_order_relaxed);
				if (head >> LIST_SHIFT == tail >> LIST_SHIFT)
					return (tail & LIST_MARK) ? EPIPE : EAGAIN;
				/* relaxed: a hint; racing stores may lower it,
				 * which costs a tail load, never a wrong claim. */
				atomic_store_explicit(&ch->tail_seen, tail, memory_order_relaxed);
			}
			/* Head and tail in different blocks: the head block
			 * has a successor; remember it (no more tail loads). */
			if ((head >> LIST_SHIFT) / LIST_LAP !=
			    (tail >> LIST_SHIFT) / LIST_LAP)
				new_head |= LIST_MARK;
		}
		/* seq_cst: as crossbeam (orders against the senders' CAS). */
		if (atomic_compare_exchange_weak_explicit(
			    &ch->head, &head, new_head, memory_order_seq_cst,
			    memory_order_acquire)) {
			if (off + 1 == LIST_BLOCK_CAP) {
				chan_block *n = block_wait_next(b);
				size_t next_index = (new_head & ~(size_t)LIST_MARK) +
						    (1u << LIST_SHIFT);
				/* relaxed: a hint that n has a successor; the
				 * successor itself is read with acquire later. */
				if (atomic_load_explicit(&n->next, memory_order_relaxed))
					next_index |= LIST_MARK;
				/* release: publishes n to the acquire loads
				 * at the top of this function. */
				atomic_store_explicit(&ch->head_block, n, memory_order_release);
				atomic_store_explicit(&ch->head, next_index, memory_order_release);
			}
			*t = (chan_token){ .slot = block_slot(ch, b, off),
					   .stamp = (head >> LIST_SHIFT) + 1,
					   .block = b, .offset = off };
			return 0;
		}
		b = atomic_load_explicit(&ch->head_block, memory_order_acquire);
	}
}

static void list_read(weft_chan *ch, chan_token *t, void *out)
{
	_Atomic size_t *st = state_of(t->slot);
	unsigned round = 0;
	/* acquire: pairs with the release store of the state in list_write. */
	while (atomic_load_explicit(st, memory_order_acquire) != t->stamp)
		weft__wait_progress(&round);
	copy_in(ch, out, t->slot + SLOT_HDR);
	/* release: orders our copy-out before the recycling of the block by
	 * whoever sees the byte (the acquire fence in block_all_read). */
	atomic_store_explicit(&t->block->read[t->offset], 1, memory_order_release);
	if (t->offset + 1 == LIST_BLOCK_CAP)
		block_retire(ch, t->block);
}

static bool list_recv_ready(weft_chan *ch)
{
	/* seq_cst: the waiter half of the Dekker pattern (after list_push). */
	size_t tail = atomic_load_explicit(&ch->tail, memory_order_seq_cst);
	size_t head = atomic_load_explicit(&ch->head, memory_order_seq_cst);
	return (tail & LIST_MARK) || head >> LIST_SHIFT != tail >> LIST_SHIFT;
}

static size_t list_len(weft_chan *ch)
{
	for (;;) {
		/* seq_cst: a consistent snapshot (tail unchanged around head). */
		size_t tail = atomic_load_explicit(&ch->tail, memory_order_seq_cst);
		size_t head = atomic_load_explicit(&ch->head, memory_order_seq_cst);
		if (atomic_load_explicit(&ch->tail, memory_order_seq_cst) != tail)
			continue;
		tail >>= LIST_SHIFT;
		head >>= LIST_SHIFT;
		/* A position at offset BLOCK_CAP is the skip to the next block. */
		if (tail % LIST_LAP == LIST_BLOCK_CAP)
			tail++;
		if (head % LIST_LAP == LIST_BLOCK_CAP)
			head++;
		size_t base = head / LIST_LAP * LIST_LAP;
		tail -= base;
		head -= base;
		return tail - head - tail / LIST_LAP;
	}
}

/* -------------------------------------------- array and list, one interface */

static int try_send_queued(weft_chan *ch, const void *elem)
{
	chan_token t;
	if (ch->flavour == FLAVOUR_ARRAY) {
		int rc = array_start_send(ch, &t);
		if (rc)
			return rc;
		array_write(ch, &t, elem);
	} else {
		int rc = list_start_send(ch, &t);
		if (rc)
			return rc;
		list_write(ch, &t, elem);
	}
	waker_notify(&ch->receivers);
	return 0;
}

/*
 * Room waits. A sender woken for the first freed slot of a big bounded
 * channel that is still more than half full does not send at once: it
 * sleeps again until the receivers have taken the channel down to half
 * (they check after each receive while WK_ROOM is set), the channel
 * empties or disconnects, or at most weft__chan_room_wait_max_ns, and
 * then fills half the channel in one go (while room_plan says recent room
 * waits paid). Without it, a sender faster than its
 * receiver slept and was woken (a futex wait, a futex wake paid by the
 * receiver) for every few elements the receiver took during one wake-up
 * latency: select4 spent 25-60 futex calls per 1000 elements
 * (docs/tuning.md, "weft_chan: room waits"). The bound keeps a receiver
 * that stops receiving from leaving a sender blocked with room: it only
 * delays the send (the bound: lib/internal/chan.h). Not below
 * ROOM_MIN_CAP (half would be one slot); not for a sender woken by the
 * chain (WK_CHAINED): it follows a sender that has just waited and is
 * refilling, and a second room wait there only added a sleep and a
 * wake-up per refill; and not while other senders sleep in the list
 * (WK_WAITERS after our unlink): the chain wakes them after our first
 * send, so the refills batch already, and the extra sleep and wake-up
 * made the 4x4 and 8x8 rows slower pinned to one CPU (docs/tuning.md).
 */
#define ROOM_MIN_CAP 4
_Atomic uint64_t weft__chan_room_wait_max_ns = WEFT__CHAN_ROOM_WAIT_MAX_NS;

/* Is the channel more than half full and connected? (seq_cst loads: the
 * waiter half of room_release's Dekker pattern.) */
static bool room_wanted(weft_chan *ch)
{
	/* seq_cst: see room_release. */
	size_t tail = atomic_load_explicit(&ch->tail, memory_order_seq_cst);
	return !(tail & ch->mark_bit) && array_len(ch) > ch->cap / 2;
}

/* After a receive: end the room wait once half the channel is free. */
static void room_check(weft_chan *ch)
{
	if (!room_wanted(ch))
		room_release(&ch->senders);
}

/* The senders' notify after a receive (waker_notify plus room waits). */
static inline void notify_senders(weft_chan *ch)
{
	/* seq_cst: as in waker_notify. */
	uint32_t f = atomic_load_explicit(&ch->senders.flags, memory_order_seq_cst);
	if (f == WK_WAITERS)
		waker_notify_slow(&ch->senders, WK_WOKEN);
	else if (WEFT_UNLIKELY(f & WK_ROOM))
		room_check(ch);
}

/* A receiver found the channel empty: a room waiter should send now. */
static void room_release_starved(weft_chan *ch, int kind)
{
	if (kind == WEFT_CHAN_RECV && ch->flavour == FLAVOUR_ARRAY)
		room_release(&ch->senders);
}

/*
 * Should this woken sender wait for room? Only if recent room waits paid
 * (ROOM_CREDIT_MAX after one that left the receivers at least an eighth of
 * the channel when it ended, one less after one that left less), or as a
 * periodic probe. A room wait hurts when the receivers drain the second
 * half of the channel faster than the sender wakes up: they run dry and
 * sleep (several receivers on a fast channel, the 4x4 rows).
 */
#define ROOM_CREDIT_MAX 4
#define ROOM_PROBE_EVERY 16

static bool room_plan(waker *wk)
{
	/* relaxed (all): heuristic counters, no data published. */
	uint32_t n = atomic_fetch_add_explicit(&wk->room_tries, 1, memory_order_relaxed);
	return atomic_load_explicit(&wk->room_credit, memory_order_relaxed) > 0 ||
	       n % ROOM_PROBE_EVERY == 0;
}

static void room_learn(weft_chan *ch, waker *wk)
{
	/* relaxed: a heuristic; racing updates only blur it. */
	int32_t c = atomic_load_explicit(&wk->room_credit, memory_order_relaxed);
	c = array_len(ch) >= ch->cap / 8 ? ROOM_CREDIT_MAX : c > 0 ? c - 1 : 0;
	atomic_store_explicit(&wk->room_credit, c, memory_order_relaxed);
}

/* A woken sender (holding WK_WOKEN, so the only room waiter of its list). */
static void room_wait(weft_chan *ch, const weft__deadline *dl)
{
	waker *wk = &ch->senders;
	/* relaxed: our own WK_CHAINED, set before our unpark (release) was
	 * read by our park (acquire); WK_WAITERS is a heuristic here. */
	if (ch->flavour != FLAVOUR_ARRAY || ch->cap < ROOM_MIN_CAP ||
	    (atomic_load_explicit(&wk->flags, memory_order_relaxed) & (WK_CHAINED | WK_WAITERS)) ||
	    !room_plan(wk))
		return;
	/* relaxed: read before announcing WK_ROOM; see room_release. */
	uint32_t word = atomic_load_explicit(&wk->room_word, memory_order_relaxed);
	/* seq_cst: pairs with room_release (see there). */
	atomic_fetch_or_explicit(&wk->flags, WK_ROOM, memory_order_seq_cst);
	if (room_wanted(ch)) {
		/* relaxed (both): a bound and a statistic, no data. */
		atomic_fetch_add_explicit(&wk->room_waits, 1, memory_order_relaxed);
		weft__deadline bound = weft__deadline_after(atomic_load_explicit(
			&weft__chan_room_wait_max_ns, memory_order_relaxed));
		(void)weft__futex_wait(&wk->room_word, word, weft__deadline_min(&bound, dl));
		room_learn(ch, wk);
	}
	/* relaxed: only we set it; a releaser may have cleared it already. */
	atomic_fetch_and_explicit(&wk->flags, ~WK_ROOM, memory_order_relaxed);
}

static int try_recv_queued(weft_chan *ch, void *out)
{
	chan_token t;
	if (ch->flavour == FLAVOUR_ARRAY) {
		int rc = array_start_recv(ch, &t);
		if (rc)
			return rc;
		array_read(ch, &t, out);
		notify_senders(ch);
	} else {
		int rc = list_start_recv(ch, &t);
		if (rc)
			return rc;
		list_read(ch, &t, out);
	}
	return 0;
}

static bool queued_ready(weft_chan *ch, int kind);

/*
 * A waiter claimed by waker_notify has retried its operation: no longer
 * pending; wake the next waiter if the channel is still ready for them.
 */
static void waker_woken_done(weft_chan *ch, int kind)
{
	waker *wk = kind == WEFT_CHAN_SEND ? &ch->senders : &ch->receivers;
	/* seq_cst: orders the clear before our seq_cst ready check, against
	 * a notifier that skipped because WOKEN was set (see struct waker). */
	atomic_fetch_and_explicit(&wk->flags, ~(WK_WOKEN | WK_CHAINED), memory_order_seq_cst);
	if (queued_ready(ch, kind))
		waker_notify_as(wk, WK_WOKEN | WK_CHAINED);
}

static bool queued_ready(weft_chan *ch, int kind)
{
	if (ch->flavour == FLAVOUR_LIST)
		return kind == WEFT_CHAN_SEND || list_recv_ready(ch);
	return kind == WEFT_CHAN_SEND ? array_send_ready(ch) : array_recv_ready(ch);
}

static int try_queued(weft_chan *ch, int kind, void *buf)
{
	return kind == WEFT_CHAN_SEND ? try_send_queued(ch, buf)
				      : try_recv_queued(ch, buf);
}

static waker *waker_of(weft_chan *ch, int kind)
{
	return kind == WEFT_CHAN_SEND ? &ch->senders : &ch->receivers;
}

/*
 * Park a registered waiter. Returns true if it timed out and withdrew
 * (selected = ABORTED); false once it was claimed and unparked (or it
 * withdrew itself because `ready` said so).
 */
static bool park_registered(weft__waiter *w, bool ready, const weft__deadline *dl)
{
	if (ready && weft__waiter_try_select(w, WEFT__SEL_ABORTED))
		return false;
	if (weft__waiter_park(w, dl) == 0)
		return false;
	if (weft__waiter_try_select(w, WEFT__SEL_ABORTED))
		return true;
	/* Claimed just as the deadline passed: the claimer will unpark us and
	 * may still be using our entry. */
	weft__deadline never = weft__deadline_never();
	(void)weft__waiter_park(w, &never);
	return false;
}

/* Blocking / timed operation on the array or list flavour. */
static int wait_queued(weft_chan *ch, int kind, void *buf, const weft__deadline *dl)
{
	int rc = try_queued(ch, kind, buf);
	if (rc != EAGAIN)
		return rc;
	room_release_starved(ch, kind);
	waker *wk = waker_of(ch, kind);
	/* Spin only with a CPU to spare and nobody of our side asleep already
	 * (as weft_mutex's room_to_spin on 2 CPUs): behind sleeping waiters a
	 * spinner only keeps a CPU from the thread it waits for.
	 * relaxed: a heuristic; registration below re-checks properly. */
	if (weft__cpus_parallel() > 1 &&
	    !(atomic_load_explicit(&wk->flags, memory_order_relaxed) & WK_WAITERS)) {
		weft__backoff b = weft__backoff_make_ns(CHAN_SPIN_NS, CHAN_SPIN_PAUSE_MAX_NS);
		while (weft__backoff_spin(&b)) {
			rc = try_queued(ch, kind, buf);
			if (rc != EAGAIN)
				return rc;
		}
	}
	for (;;) {
		weft__waiter w;
		weft__waiter_init(&w);
		chan_entry e = { .w = &w, .sel = WEFT__SEL_OP(0) };
		spin_plan(wk, &w);
		waker_register(wk, &e);
		bool timed_out = park_registered(&w, queued_ready(ch, kind), dl);
		spin_learn(wk, &w);
		/* Claimed by notify: the notifier unlinked us and counted us
		 * WK_WOKEN. */
		bool notified = weft__waiter_selected(&w) == WEFT__SEL_OP(0);
		if (!notified)
			waker_unregister(wk, &e);
		else if (kind == WEFT_CHAN_SEND)
			room_wait(ch, dl);
		rc = try_queued(ch, kind, buf);
		if (notified)
			waker_woken_done(ch, kind);
		if (rc != EAGAIN)
			return rc;
		if (timed_out || weft__deadline_passed(dl))
			return ETIMEDOUT;
	}
}

/* -------------------------------------------------------- zero (rendezvous) */

/* The list a kind of operation pairs with / waits in. */
static waker *zero_peers(weft_chan *ch, int kind)
{
	return kind == WEFT_CHAN_SEND ? &ch->receivers : &ch->senders;
}

/*
 * Pair with a waiting counterpart (zlock held; released here on success):
 * copy the element straight between our buffer and the counterpart's, then
 * wake it. 0 done, EAGAIN nobody waiting, EPIPE disconnected.
 */
static int zero_pair_locked(weft_chan *ch, int kind, void *buf, const weft__waiter *self)
{
	chan_entry *e = list_claim(zero_peers(ch, kind), self);
	if (!e)
		return ch->zdisc ? EPIPE : EAGAIN;
	weft__waiter *w = e->w;
	void *peer_buf = e->buf;
	weft_mutex_unlock(&ch->zlock);
	/* The claimed peer waits for our unpark: its buffer stays valid. */
	if (kind == WEFT_CHAN_SEND)
		copy_in(ch, peer_buf, buf);
	else
		copy_in(ch, buf, peer_buf);
	weft__waiter_unpark(w);
	return 0;
}

static int try_zero(weft_chan *ch, int kind, void *buf)
{
	weft_mutex_lock(&ch->zlock);
	int rc = zero_pair_locked(ch, kind, buf, NULL);
	if (rc)
		weft_mutex_unlock(&ch->zlock);
	return rc;
}

static bool zero_ready_locked(weft_chan *ch, int kind, const weft__waiter *self)
{
	return ch->zdisc || list_has_other(zero_peers(ch, kind), self);
}

static int wait_zero(weft_chan *ch, int kind, void *buf, const weft__deadline *dl)
{
	weft_mutex_lock(&ch->zlock);
	int rc = zero_pair_locked(ch, kind, buf, NULL);
	if (rc != EAGAIN) {
		if (rc)
			weft_mutex_unlock(&ch->zlock);
		return rc;
	}
	if (dl->tv_sec >= 0 && weft__deadline_passed(dl)) {
		weft_mutex_unlock(&ch->zlock);
		return ETIMEDOUT;
	}
	/* Wait for a counterpart to pair with us (it copies, then unparks). */
	weft__waiter w;
	weft__waiter_init(&w);
	chan_entry e = { .w = &w, .sel = WEFT__SEL_OP(0), .buf = buf };
	spin_plan(waker_of(ch, kind), &w);
	list_push(waker_of(ch, kind), &e);
	weft_mutex_unlock(&ch->zlock);
	bool timed_out = park_registered(&w, false, dl);
	spin_learn(waker_of(ch, kind), &w);
	if (timed_out) {
		weft_mutex_lock(&ch->zlock);
		if (e.linked)
			list_unlink(waker_of(ch, kind), &e);
		weft_mutex_unlock(&ch->zlock);
		return ETIMEDOUT;
	}
	/* The claimer unlinked us. */
	return weft__waiter_selected(&w) == WEFT__SEL_DISCONNECTED ? EPIPE : 0;
}

/* ----------------------------------------------------------------- public */

static bool bad_buf(weft_chan *ch, const void *buf)
{
	return ch->elem_size && !buf;
}

int weft_chan_create(weft_chan **out, size_t elem_size, size_t capacity)
{
	if (!out || elem_size > WEFT_CHAN_ELEM_MAX ||
	    (capacity != WEFT_CHAN_UNBOUNDED && capacity > WEFT_CHAN_CAPACITY_MAX))
		return EINVAL;
	size_t size = (sizeof(weft_chan) + WEFT_CACHELINE - 1) & ~(size_t)(WEFT_CACHELINE - 1);
	weft_chan *ch = aligned_alloc(WEFT_CACHELINE, size);
	if (!ch)
		return ENOMEM;
	memset(ch, 0, sizeof *ch);
	ch->elem_size = elem_size;
	ch->stride = SLOT_HDR + round8(elem_size);
	ch->cap = capacity;
	atomic_init(&ch->senders.flags, 0);
	atomic_init(&ch->receivers.flags, 0);
	atomic_init(&ch->sender_refs, 1);
	atomic_init(&ch->receiver_refs, 1);
	if (capacity == 0) {
		ch->flavour = FLAVOUR_ZERO;
	} else if (capacity == WEFT_CHAN_UNBOUNDED) {
		ch->flavour = FLAVOUR_LIST;
		chan_block *b = block_new(ch);
		if (!b) {
			free(ch);
			return ENOMEM;
		}
		atomic_init(&ch->head_block, b);
		atomic_init(&ch->tail_block, b);
	} else {
		ch->flavour = FLAVOUR_ARRAY;
		size_t mark = 1;
		while (mark < capacity + 1)
			mark <<= 1;
		ch->mark_bit = mark;
		ch->one_lap = mark << 1;
		ch->slots = capacity > SIZE_MAX / ch->stride
				    ? NULL
				    : malloc(capacity * ch->stride);
		if (!ch->slots) {
			free(ch);
			return ENOMEM;
		}
		for (size_t i = 0; i < capacity; i++)
			atomic_init(stamp_of(array_slot(ch, i)), i);
	}
	*out = ch;
	return 0;
}

static void drop_elem(weft_chan *ch, unsigned char *slot)
{
	if (ch->drop_fn)
		ch->drop_fn(slot + SLOT_HDR);
}

/* Both sides are gone: drop what is still queued and free everything. */
static void chan_free(weft_chan *ch)
{
	if (ch->flavour == FLAVOUR_ARRAY) {
		size_t n = array_len(ch);
		size_t hix = atomic_load_explicit(&ch->head, memory_order_relaxed) &
			     (ch->mark_bit - 1);
		for (size_t i = 0; i < n; i++) {
			size_t index = hix + i < ch->cap ? hix + i : hix + i - ch->cap;
			drop_elem(ch, array_slot(ch, index));
		}
		free(ch->slots);
	} else if (ch->flavour == FLAVOUR_LIST) {
		/* relaxed (all loads here): the last reference's acq_rel RMWs
		 * ordered every other thread's accesses before ours. */
		size_t head = atomic_load_explicit(&ch->head, memory_order_relaxed) >> LIST_SHIFT;
		size_t tail = atomic_load_explicit(&ch->tail, memory_order_relaxed) >> LIST_SHIFT;
		chan_block *b = atomic_load_explicit(&ch->head_block, memory_order_relaxed);
		for (; head != tail; head++) {
			size_t off = head % LIST_LAP;
			if (off < LIST_BLOCK_CAP) {
				drop_elem(ch, block_slot(ch, b, off));
			} else {
				chan_block *n = atomic_load_explicit(&b->next, memory_order_relaxed);
				free(b);
				b = n;
			}
		}
		free(b);
		for (int i = 0; i < LIST_SPARES; i++)
			free(atomic_load_explicit(&ch->spare[i], memory_order_relaxed));
		b = atomic_load_explicit(&ch->retired, memory_order_relaxed);
		while (b) {
			chan_block *n = b->retired_next;
			free(b);
			b = n;
		}
	}
	free(ch);
}

static void disconnect(weft_chan *ch)
{
	if (ch->flavour == FLAVOUR_ZERO) {
		weft_mutex_lock(&ch->zlock);
		if (!ch->zdisc) {
			ch->zdisc = true;
			list_disconnect(&ch->senders);
			list_disconnect(&ch->receivers);
		}
		weft_mutex_unlock(&ch->zlock);
		return;
	}
	size_t mark = ch->flavour == FLAVOUR_ARRAY ? ch->mark_bit : LIST_MARK;
	/* seq_cst: a waiter's seq_cst ready check after registering sees the
	 * mark, or our waker_disconnect (under its lock) sees the waiter. */
	size_t old = atomic_fetch_or_explicit(&ch->tail, mark, memory_order_seq_cst);
	if (!(old & mark)) {
		waker_disconnect(&ch->senders);
		waker_disconnect(&ch->receivers);
	}
}

static void release_side(weft_chan *ch)
{
	/* acq_rel: the second side to arrive frees; release publishes our
	 * side's last accesses, acquire takes the other side's. */
	if (atomic_exchange_explicit(&ch->destroy, true, memory_order_acq_rel))
		chan_free(ch);
}

static void drop_ref(weft_chan *ch, _Atomic size_t *refs, const char *what)
{
	/* acq_rel: the last drop must see every other holder's accesses
	 * (acquire) and publish its own (release), as any refcount. */
	size_t old = atomic_fetch_sub_explicit(refs, 1, memory_order_acq_rel);
	WEFT_DEBUG_CHECK(old != 0, what);
	(void)what;
	if (old == 1) {
		disconnect(ch);
		release_side(ch);
	}
}

static void clone_ref(_Atomic size_t *refs, const char *what)
{
	/* relaxed: the caller holds a reference, so the count cannot reach
	 * zero concurrently (as Arc::clone). */
	size_t old = atomic_fetch_add_explicit(refs, 1, memory_order_relaxed);
	WEFT_DEBUG_CHECK(old != 0, what);
	(void)old;
	(void)what;
}

void weft_chan_sender_clone(weft_chan *ch)
{
	if (ch)
		clone_ref(&ch->sender_refs, "weft_chan_sender_clone after the last sender was dropped");
}

void weft_chan_receiver_clone(weft_chan *ch)
{
	if (ch)
		clone_ref(&ch->receiver_refs, "weft_chan_receiver_clone after the last receiver was dropped");
}

void weft_chan_sender_drop(weft_chan *ch)
{
	if (ch)
		drop_ref(ch, &ch->sender_refs, "weft_chan_sender_drop: no sender left");
}

void weft_chan_receiver_drop(weft_chan *ch)
{
	if (ch)
		drop_ref(ch, &ch->receiver_refs, "weft_chan_receiver_drop: no receiver left");
}

void weft_chan_set_drop_fn(weft_chan *ch, void (*fn)(void *elem))
{
	if (ch)
		ch->drop_fn = fn;
}

void weft_chan_close(weft_chan *ch)
{
	if (ch)
		disconnect(ch);
}

size_t weft_chan_len(weft_chan *ch)
{
	if (!ch || ch->flavour == FLAVOUR_ZERO)
		return 0;
	return ch->flavour == FLAVOUR_ARRAY ? array_len(ch) : list_len(ch);
}

size_t weft_chan_capacity(weft_chan *ch)
{
	return ch ? ch->cap : 0;
}

/* Debug: the calling side must still hold a reference. */
static void debug_check_side(weft_chan *ch, int kind)
{
#ifdef WEFT_DEBUG
	/* relaxed: a misuse check, not a synchronisation. */
	if (kind == WEFT_CHAN_SEND)
		WEFT_DEBUG_CHECK(atomic_load_explicit(&ch->sender_refs, memory_order_relaxed),
				 "weft_chan send after the last sender was dropped");
	else
		WEFT_DEBUG_CHECK(atomic_load_explicit(&ch->receiver_refs, memory_order_relaxed),
				 "weft_chan recv after the last receiver was dropped");
#else
	(void)ch;
	(void)kind;
#endif
}

/* One operation; dl NULL = try (EAGAIN). */
static int chan_op(weft_chan *ch, int kind, void *buf, const weft__deadline *dl)
{
	if (!ch || bad_buf(ch, buf))
		return EINVAL;
	debug_check_side(ch, kind);
	if (ch->flavour == FLAVOUR_ZERO)
		return dl ? wait_zero(ch, kind, buf, dl) : try_zero(ch, kind, buf);
	return dl ? wait_queued(ch, kind, buf, dl) : try_queued(ch, kind, buf);
}

static int timed_op(weft_chan *ch, int kind, void *buf, uint64_t timeout_ns)
{
	if (timeout_ns == 0) {
		int rc = chan_op(ch, kind, buf, NULL);
		return rc == EAGAIN ? ETIMEDOUT : rc;
	}
	weft__deadline dl = weft__deadline_for(timeout_ns);
	return chan_op(ch, kind, buf, &dl);
}

int weft_chan_send(weft_chan *ch, const void *elem)
{
	weft__deadline never = weft__deadline_never();
	return chan_op(ch, WEFT_CHAN_SEND, (void *)elem, &never);
}

int weft_chan_recv(weft_chan *ch, void *out)
{
	weft__deadline never = weft__deadline_never();
	return chan_op(ch, WEFT_CHAN_RECV, out, &never);
}

int weft_chan_try_send(weft_chan *ch, const void *elem)
{
	return chan_op(ch, WEFT_CHAN_SEND, (void *)elem, NULL);
}

int weft_chan_try_recv(weft_chan *ch, void *out)
{
	return chan_op(ch, WEFT_CHAN_RECV, out, NULL);
}

int weft_chan_send_timeout(weft_chan *ch, const void *elem, uint64_t timeout_ns)
{
	return timed_op(ch, WEFT_CHAN_SEND, (void *)elem, timeout_ns);
}

int weft_chan_recv_timeout(weft_chan *ch, void *out, uint64_t timeout_ns)
{
	return timed_op(ch, WEFT_CHAN_RECV, out, timeout_ns);
}

/* ------------------------------------------------------------ test hooks */

int weft__chan_recv_held(weft_chan *ch, void *out, void (*hold)(void *), void *arg)
{
	if (!ch || bad_buf(ch, out) || ch->flavour != FLAVOUR_LIST || !hold)
		return EINVAL;
	chan_token t;
	int rc = list_start_recv(ch, &t);
	if (rc)
		return rc;
	hold(arg);
	list_read(ch, &t, out);
	return 0;
}

uint64_t weft__chan_room_waits(weft_chan *ch)
{
	/* relaxed: a statistic. */
	return atomic_load_explicit(&ch->senders.room_waits, memory_order_relaxed);
}

size_t weft__chan_retired_blocks(weft_chan *ch)
{
	size_t n = 0;
	/* acquire: pairs with the release CAS in retired_push (the links). */
	for (chan_block *b = atomic_load_explicit(&ch->retired, memory_order_acquire); b;
	     b = b->retired_next)
		n++;
	return n;
}

/* ----------------------------------------------------------------- select */

static uint32_t select_random(void)
{
	static _Thread_local uint32_t x;
	if (WEFT_UNLIKELY(x == 0)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		x = (uint32_t)((uintptr_t)&x ^ (uint64_t)ts.tv_nsec) | 1u;
	}
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return x;
}

static bool select_valid(const weft_chan_op *ops, size_t n)
{
	if (!ops || n == 0 || n > WEFT_CHAN_SELECT_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!ops[i].ch || bad_buf(ops[i].ch, ops[i].buf) ||
		    (ops[i].kind != WEFT_CHAN_SEND && ops[i].kind != WEFT_CHAN_RECV))
			return false;
	}
	return true;
}

/* Try every op once, from `start` round: the index done, or -1. */
static int select_try(weft_chan_op *ops, size_t n, size_t start)
{
	for (size_t k = 0; k < n; k++) {
		size_t i = (start + k) % n;
		int rc = chan_op(ops[i].ch, ops[i].kind, ops[i].buf, NULL);
		if (rc != EAGAIN) {
			ops[i].result = rc;
			return (int)i;
		}
	}
	return -1;
}

static void select_register(weft_chan_op *op, chan_entry *e)
{
	weft_chan *ch = op->ch;
	if (ch->flavour == FLAVOUR_ZERO) {
		weft_mutex_lock(&ch->zlock);
		list_push(waker_of(ch, op->kind), e);
		weft_mutex_unlock(&ch->zlock);
	} else {
		waker_register(waker_of(ch, op->kind), e);
	}
}

static void select_unregister(weft_chan_op *op, chan_entry *e)
{
	weft_chan *ch = op->ch;
	if (ch->flavour == FLAVOUR_ZERO) {
		weft_mutex_lock(&ch->zlock);
		if (e->linked)
			list_unlink(waker_of(ch, op->kind), e);
		weft_mutex_unlock(&ch->zlock);
	} else {
		waker_unregister(waker_of(ch, op->kind), e);
	}
}

static bool select_op_ready(weft_chan_op *op, const weft__waiter *self)
{
	weft_chan *ch = op->ch;
	if (ch->flavour != FLAVOUR_ZERO)
		return queued_ready(ch, op->kind);
	weft_mutex_lock(&ch->zlock);
	bool ready = zero_ready_locked(ch, op->kind, self);
	weft_mutex_unlock(&ch->zlock);
	return ready;
}

/*
 * Register on every op's channel, sleep until one claims us (or the
 * deadline), unregister. Returns the index of a rendezvous op that the
 * claimer completed, -1 to try again, -2 on timeout.
 */
static int select_wait(weft_chan_op *ops, size_t n, const weft__deadline *dl)
{
	weft__waiter w;
	weft__waiter_init(&w);
	chan_entry entries[WEFT_CHAN_SELECT_MAX];
	for (size_t i = 0; i < n; i++) {
		entries[i] = (chan_entry){ .w = &w, .sel = WEFT__SEL_OP(i),
					   .buf = ops[i].buf };
		room_release_starved(ops[i].ch, ops[i].kind);
		select_register(&ops[i], &entries[i]);
	}
	bool ready = false;
	for (size_t i = 0; i < n && !ready; i++)
		ready = select_op_ready(&ops[i], &w);
	bool timed_out = park_registered(&w, ready, dl);
	for (size_t i = 0; i < n; i++)
		select_unregister(&ops[i], &entries[i]);
	uintptr_t sel = weft__waiter_selected(&w);
	if (sel >= WEFT__SEL_OP(0)) {
		size_t i = WEFT__SEL_OP_INDEX(sel);
		if (ops[i].ch->flavour == FLAVOUR_ZERO) {
			ops[i].result = 0; /* the claimer moved the element */
			return (int)i;
		}
		/* Notified for op i: try it first. The notifier woke only us
		 * for that element; completing another op instead could leave
		 * it queued with other receivers asleep (as crossbeam, which
		 * accepts the selected operation). */
		int rc = chan_op(ops[i].ch, ops[i].kind, ops[i].buf, NULL);
		waker_woken_done(ops[i].ch, ops[i].kind); /* notify counted us */
		if (rc != EAGAIN) {
			ops[i].result = rc;
			return (int)i;
		}
	}
	return timed_out ? -2 : -1;
}

int weft_chan_select(weft_chan_op *ops, size_t n, uint64_t timeout_ns)
{
	if (!select_valid(ops, n))
		return -EINVAL;
	weft__deadline dl = weft__deadline_for(timeout_ns);
	for (;;) {
		int done = select_try(ops, n, select_random() % n);
		if (done >= 0)
			return done;
		if (timeout_ns == 0 || weft__deadline_passed(&dl))
			return -ETIMEDOUT;
		done = select_wait(ops, n, &dl);
		if (done >= 0)
			return done;
	}
}
