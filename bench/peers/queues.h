/*
 * bench/peers/queues.h - the queue baselines behind one shape, so that
 * bench/bench_queues.c instantiates the same bodies for all of them. Each
 * impl X provides
 *
 *   void *X_new(unsigned threads)        one queue for a run of `threads`
 *   void  X_free(void *q)                after every thread stopped
 *   bool  X_push(void *q, unsigned thread, void *item)   false: full
 *   bool  X_pop(void *q, unsigned thread, void **item)   false: empty
 *   double X_bytes(void *q, size_t queued) bytes held for `queued` items, or -1
 *
 * and the bulk ones X_push_n / X_pop_n where they exist. Every peer is used
 * the way its documentation recommends:
 *
 *   pthread / pthread_ring  mutex + two condvars around a circular array;
 *                   pop waits on the condvar when empty (the textbook queue),
 *                   push signals only when a consumer waits. pthread_ring is
 *                   bounded (waits when full), pthread grows its array.
 *   ck_ring_spsc/mpmc  ck_ring with a ck_ring_buffer_t array (1023 usable).
 *   ck_fifo_spsc    one ck_fifo_spsc_entry per item: malloc per push, and
 *                   the entries ck_fifo_spsc_recycle hands back are freed;
 *                   _prealloc reuses them instead (CK's documented pattern).
 *   ck_fifo_mpmc    malloc per push; the garbage entry each dequeue returns
 *                   is freed (the allocator keeps memory type-stable enough
 *                   for ck's generation counters); _prealloc: entries come
 *                   from a per-producer pool, the consumer marks the garbage
 *                   entry free for reuse.
 *   wfcqueue        liburcu cds_wfcq (_LGPL_SOURCE inline API), enqueue by
 *                   any thread, __cds_wfcq_dequeue_nonblocking by the single
 *                   consumer (the documented caller-serialised dequeue).
 *                   malloc per push, free after pop; _prealloc: node pool.
 *   moodycamel      moodycamel::ConcurrentQueue via peers/moodycamel.cc.
 *   weft (ring)     weft_ring, MPMC or SPSC calls, polled with the body's
 *                   common wait; in the ping-pong rows a side waits in
 *                   weft_ring_pop_wait / spsc_pop_wait instead.
 *   weft (mpsc)     weft_mpsc; the consumer pops with weft_mpsc_pop_wait
 *                   (adapted re-polls, then a futex sleep); weft_trypop:
 *                   weft_mpsc_pop polled with the body's common wait.
 *   weft_intrusive  weft_mpsc_intrusive with the nodes of the same
 *                   per-producer pool as wfcqueue_prealloc (the node is
 *                   embedded in pnode; the consumer marks it free after pop).
 *
 * Allocation: malloc/free resolve to the bench binary's allocator (jemalloc
 * by default, recorded in the result's context), the same one weft uses.
 */
#ifndef WEFT_BENCH_PEERS_QUEUES_H
#define WEFT_BENCH_PEERS_QUEUES_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mc_queue mc_queue;
mc_queue *mc_new(unsigned threads, size_t capacity, bool bounded);
void mc_free(mc_queue *q);
bool mc_push(mc_queue *q, unsigned thread, void *item);
bool mc_pop(mc_queue *q, unsigned thread, void **item);
size_t mc_push_n(mc_queue *q, unsigned thread, void *const *items, size_t n);
size_t mc_pop_n(mc_queue *q, unsigned thread, void **items, size_t n);

#ifdef __cplusplus
}
#endif

#ifndef __cplusplus

#define _LGPL_SOURCE 1
#include <ck_fifo.h>
#include <ck_ring.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/wfcqueue.h>

#include <sched.h>

#include "internal/arch.h"
#include "internal/cpus.h"
#include "weft/mpsc.h"
#include "weft/mpsc_intrusive.h"
#include "weft/ring.h"

#define BQ_CAPACITY 1024
#define BQ_MAX_THREADS 16

/*
 * A side that finds the queue full/empty spins WAIT_SPIN_NS (in PAUSE
 * hints of this CPU's calibration: 128 on the EPYC it was first tuned on,
 * where a PAUSE is cheap; a count of hints meant 3x longer on Intel),
 * then yields. With one CPU to run on (a pin, a one-CPU affinity mask)
 * the other side cannot move while we spin: yield at once.
 */
#define WAIT_SPIN_NS 3000

static inline void wait_step(unsigned *spins)
{
	if (++*spins < weft__relax_hints(WAIT_SPIN_NS) && weft__cpus_parallel() > 1) {
		weft__cpu_relax();
	} else {
		*spins = 0;
		sched_yield();
	}
}

/* ------------------------------------------------------------- weft */

static void *weft_ring_new(unsigned threads)
{
	(void)threads;
	weft_ring *r = aligned_alloc(WEFT_CACHELINE, sizeof *r);
	if (weft_ring_init(r, BQ_CAPACITY))
		abort();
	return r;
}
static void weft_ring_free(void *q) { weft_ring_destroy(q); free(q); }
#define weft_spsc_new weft_ring_new /* the same ring, used in SPSC mode */
#define weft_spsc_free weft_ring_free
static inline bool weft_ring_bq_push(void *q, unsigned t, void *v) { (void)t; return weft_ring_push(q, v); }
static inline bool weft_ring_bq_pop(void *q, unsigned t, void **v) { (void)t; return weft_ring_pop(q, v); }
static inline size_t weft_ring_bq_push_n(void *q, unsigned t, void *const *v, size_t n) { (void)t; return weft_ring_push_bulk(q, v, n) ? 0 : n; }
static inline size_t weft_ring_bq_pop_n(void *q, unsigned t, void **v, size_t n) { (void)t; return weft_ring_pop_bulk(q, v, n) ? 0 : n; }
static inline bool weft_spsc_bq_push(void *q, unsigned t, void *v) { (void)t; return weft_ring_spsc_push(q, v); }
static inline bool weft_spsc_bq_pop(void *q, unsigned t, void **v) { (void)t; return weft_ring_spsc_pop(q, v); }
/* The ping-pong rows: a side that finds the ring empty waits in
 * weft_ring_pop_wait (a short poll, yield polls, then a futex sleep;
 * weft/ring.h "Waiting"), as the mpsc consumer waits in weft_mpsc_pop_wait.
 * The stream rows above poll with the body's common wait, as every peer
 * does: pop_wait's poll follows a streaming producer too closely (docs/
 * tuning.md, "weft_ring waiting"). */
#define weft_ring_wait_new weft_ring_new
#define weft_ring_wait_free weft_ring_free
#define weft_spsc_wait_new weft_ring_new
#define weft_spsc_wait_free weft_ring_free
static inline bool weft_ring_wait_bq_push(void *q, unsigned t, void *v) { (void)t; return weft_ring_push_wait(q, v, WEFT_TIMEOUT_NEVER) == 0; }
static inline bool weft_ring_wait_bq_pop(void *q, unsigned t, void **v) { (void)t; return weft_ring_pop_wait(q, v, WEFT_TIMEOUT_NEVER) == 0; }
static inline bool weft_spsc_wait_bq_push(void *q, unsigned t, void *v) { (void)t; return weft_ring_spsc_push_wait(q, v, WEFT_TIMEOUT_NEVER) == 0; }
static inline bool weft_spsc_wait_bq_pop(void *q, unsigned t, void **v) { (void)t; return weft_ring_spsc_pop_wait(q, v, WEFT_TIMEOUT_NEVER) == 0; }
/* The bulk rows use the all-or-nothing calls, which ring.h recommends for a
 * side that waits for whole batches; weft_burst keeps the up-to-n ones. */
static inline size_t weft_spsc_bq_push_n(void *q, unsigned t, void *const *v, size_t n) { (void)t; return weft_ring_spsc_push_bulk(q, v, n) ? 0 : n; }
static inline size_t weft_spsc_bq_pop_n(void *q, unsigned t, void **v, size_t n) { (void)t; return weft_ring_spsc_pop_bulk(q, v, n) ? 0 : n; }
#define weft_burst_new weft_ring_new
#define weft_burst_free weft_ring_free
#define weft_burst_bq_push weft_ring_bq_push
#define weft_burst_bq_pop weft_ring_bq_pop
static inline size_t weft_burst_bq_push_n(void *q, unsigned t, void *const *v, size_t n) { (void)t; return weft_ring_push_n(q, v, n); }
static inline size_t weft_burst_bq_pop_n(void *q, unsigned t, void **v, size_t n) { (void)t; return weft_ring_pop_n(q, v, n); }
#define weft_spsc_burst_new weft_ring_new
#define weft_spsc_burst_free weft_ring_free
#define weft_spsc_burst_bq_push weft_spsc_bq_push
#define weft_spsc_burst_bq_pop weft_spsc_bq_pop
static inline size_t weft_spsc_burst_bq_push_n(void *q, unsigned t, void *const *v, size_t n) { (void)t; return weft_ring_spsc_push_n(q, v, n); }
static inline size_t weft_spsc_burst_bq_pop_n(void *q, unsigned t, void **v, size_t n) { (void)t; return weft_ring_spsc_pop_n(q, v, n); }

static void *weft_mpsc_new(unsigned threads)
{
	(void)threads;
	weft_mpsc *q = aligned_alloc(WEFT_CACHELINE, sizeof *q);
	if (weft_mpsc_init(q))
		abort();
	return q;
}
static void weft_mpsc_free(void *q) { weft_mpsc_destroy(q); free(q); }
static inline bool weft_mpsc_bq_push(void *q, unsigned t, void *v) { (void)t; return weft_mpsc_push(q, v) == 0; }
/* The consumer waits in weft_mpsc_pop_wait (the blocking pop weft/mpsc.h
 * recommends to a consumer with nothing else to do, as the pthread queue's
 * pop blocks); weft_trypop polls weft_mpsc_pop with the body's common wait. */
static inline bool weft_mpsc_bq_pop(void *q, unsigned t, void **v) { (void)t; return weft_mpsc_pop_wait(q, v, WEFT_TIMEOUT_NEVER) == 0; }
#define weft_trypop_new weft_mpsc_new
#define weft_trypop_free weft_mpsc_free
#define weft_trypop_bq_push weft_mpsc_bq_push
static inline bool weft_trypop_bq_pop(void *q, unsigned t, void **v) { (void)t; return weft_mpsc_pop(q, v); }
static double weft_mpsc_bytes(void *q, size_t n) { (void)n; return (double)weft_mpsc_memory(q); }

/* ---------------------------------------------------- pthread mutex+cond */

typedef struct pq {
	pthread_mutex_t m;
	pthread_cond_t not_empty, not_full;
	void **buf;
	size_t cap, head, count;
	unsigned wait_empty, wait_full;
	bool bounded;
} pq;

static void *pq_new(bool bounded)
{
	pq *q = calloc(1, sizeof *q);
	pthread_mutex_init(&q->m, NULL);
	pthread_cond_init(&q->not_empty, NULL);
	pthread_cond_init(&q->not_full, NULL);
	q->cap = BQ_CAPACITY;
	q->buf = malloc(q->cap * sizeof *q->buf);
	q->bounded = bounded;
	return q;
}
static void *pthread_ring_new(unsigned threads) { (void)threads; return pq_new(true); }
static void *pthread_new(unsigned threads) { (void)threads; return pq_new(false); }
static void pq_free(void *p)
{
	pq *q = p;
	pthread_mutex_destroy(&q->m);
	pthread_cond_destroy(&q->not_empty);
	pthread_cond_destroy(&q->not_full);
	free(q->buf);
	free(q);
}
#define pthread_ring_free pq_free
#define pthread_free pq_free

static void pq_grow(pq *q)
{
	void **nb = malloc(2 * q->cap * sizeof *nb);
	for (size_t i = 0; i < q->count; i++)
		nb[i] = q->buf[(q->head + i) & (q->cap - 1)];
	free(q->buf);
	q->buf = nb;
	q->head = 0;
	q->cap *= 2;
}

/* Wait for room (bounded) or grow; then append up to n. */
static inline size_t pq_push_n(void *p, unsigned t, void *const *v, size_t n)
{
	(void)t;
	pq *q = p;
	pthread_mutex_lock(&q->m);
	while (q->count == q->cap) {
		if (!q->bounded) {
			pq_grow(q);
			break;
		}
		q->wait_full++;
		pthread_cond_wait(&q->not_full, &q->m);
		q->wait_full--;
	}
	size_t k = 0;
	for (; k < n && q->count < q->cap; k++, q->count++)
		q->buf[(q->head + q->count) & (q->cap - 1)] = v[k];
	if (q->wait_empty)
		pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->m);
	return k;
}

static inline size_t pq_pop_n(void *p, unsigned t, void **v, size_t n)
{
	(void)t;
	pq *q = p;
	pthread_mutex_lock(&q->m);
	while (q->count == 0) {
		q->wait_empty++;
		pthread_cond_wait(&q->not_empty, &q->m);
		q->wait_empty--;
	}
	size_t k = 0;
	for (; k < n && q->count; k++, q->count--) {
		v[k] = q->buf[q->head];
		q->head = (q->head + 1) & (q->cap - 1);
	}
	if (q->wait_full)
		pthread_cond_signal(&q->not_full);
	pthread_mutex_unlock(&q->m);
	return k;
}
static inline bool pq_push(void *p, unsigned t, void *v) { return pq_push_n(p, t, &v, 1); }
static inline bool pq_pop(void *p, unsigned t, void **v) { return pq_pop_n(p, t, v, 1); }
#define pthread_ring_bq_push pq_push
#define pthread_ring_bq_pop pq_pop
#define pthread_ring_bq_push_n pq_push_n
#define pthread_ring_bq_pop_n pq_pop_n
#define pthread_bq_push pq_push
#define pthread_bq_pop pq_pop
static double pthread_bytes(void *p, size_t n)
{
	(void)n;
	pq *q = p;
	return (double)(sizeof *q + q->cap * sizeof(void *));
}

/* ------------------------------------------------------------- ck_ring */

typedef struct ckr {
	ck_ring_t ring;
	ck_ring_buffer_t buf[BQ_CAPACITY];
} ckr;

static void *ck_ring_new(unsigned threads)
{
	(void)threads;
	ckr *r = aligned_alloc(WEFT_CACHELINE, sizeof *r);
	ck_ring_init(&r->ring, BQ_CAPACITY);
	return r;
}
#define ck_ring_spsc_new ck_ring_new
#define ck_ring_mpmc_new ck_ring_new
static void ck_ring_free(void *q) { free(q); }
#define ck_ring_spsc_free ck_ring_free
#define ck_ring_mpmc_free ck_ring_free
static inline bool ck_ring_spsc_bq_push(void *q, unsigned t, void *v)
{
	(void)t;
	ckr *r = q;
	return ck_ring_enqueue_spsc(&r->ring, r->buf, v);
}
static inline bool ck_ring_spsc_bq_pop(void *q, unsigned t, void **v)
{
	(void)t;
	ckr *r = q;
	return ck_ring_dequeue_spsc(&r->ring, r->buf, v);
}
static inline bool ck_ring_mpmc_bq_push(void *q, unsigned t, void *v)
{
	(void)t;
	ckr *r = q;
	return ck_ring_enqueue_mpmc(&r->ring, r->buf, v);
}
static inline bool ck_ring_mpmc_bq_pop(void *q, unsigned t, void **v)
{
	(void)t;
	ckr *r = q;
	return ck_ring_dequeue_mpmc(&r->ring, r->buf, v);
}

/* -------------------------------------------------- node pools (prealloc) */

/*
 * Preallocated nodes for the intrusive peers: each producer thread owns a
 * pool and reuses a node once the consumer has marked it free (what a user
 * embedding the node in a pooled message would do).
 */
#define POOL_NODES 16384
typedef struct pnode {
	union {
		struct cds_wfcq_node wn;
		ck_fifo_mpmc_entry_t fe;
		weft_mpsc_node xn;
	};
	void *value;
	_Atomic uint32_t busy;
} __attribute__((aligned(64))) pnode;

typedef struct pool {
	pnode *nodes;
	size_t next;
} __attribute__((aligned(64))) pool;

static pool *pools_new(unsigned threads)
{
	pool *p = aligned_alloc(64, threads * sizeof *p);
	for (unsigned i = 0; i < threads; i++) {
		p[i].nodes = aligned_alloc(64, POOL_NODES * sizeof(pnode));
		memset(p[i].nodes, 0, POOL_NODES * sizeof(pnode));
		p[i].next = 0;
	}
	return p;
}
static void pools_free(pool *p, unsigned threads)
{
	for (unsigned i = 0; i < threads; i++)
		free(p[i].nodes);
	free(p);
}
static inline pnode *pool_get(pool *p)
{
	pnode *n = &p->nodes[p->next++ & (POOL_NODES - 1)];
	unsigned spins = 0;
	/* acquire: pairs with the consumer's release store in pool_put. */
	while (atomic_load_explicit(&n->busy, memory_order_acquire))
		wait_step(&spins);
	atomic_store_explicit(&n->busy, 1, memory_order_relaxed);
	return n;
}
static inline void pool_put(pnode *n)
{
	/* release: our reads of the node happen-before its reuse. */
	atomic_store_explicit(&n->busy, 0, memory_order_release);
}

/* ------------------------------------------------------ weft_intrusive */

typedef struct wiq {
	weft_mpsc_intrusive q;
	pool *pools;
	unsigned threads;
} wiq;

static void *weft_intrusive_new(unsigned threads)
{
	wiq *q = aligned_alloc(64, sizeof *q);
	weft_mpsc_intrusive_init(&q->q);
	q->pools = pools_new(threads);
	q->threads = threads;
	return q;
}
static void weft_intrusive_free(void *p)
{
	wiq *q = p;
	pools_free(q->pools, q->threads);
	free(q);
}
static inline bool weft_intrusive_bq_push(void *p, unsigned t, void *v)
{
	wiq *q = p;
	pnode *n = pool_get(&q->pools[t]);
	n->value = v;
	return weft_mpsc_intrusive_push(&q->q, &n->xn) == 0;
}
static inline bool weft_intrusive_bq_pop(void *p, unsigned t, void **v)
{
	(void)t;
	wiq *q = p;
	weft_mpsc_node *n = weft_mpsc_intrusive_pop(&q->q);
	if (!n)
		return false;
	pnode *pn = WEFT_CONTAINER_OF(n, pnode, xn);
	*v = pn->value;
	pool_put(pn);
	return true;
}

/* ------------------------------------------------------------- wfcqueue */

typedef struct wfq {
	struct cds_wfcq_head head __attribute__((aligned(64)));
	struct cds_wfcq_tail tail __attribute__((aligned(64)));
	pool *pools;
	unsigned threads;
} wfq;

typedef struct wnode {
	struct cds_wfcq_node node;
	void *value;
} wnode;

static void *wfcq_new(unsigned threads)
{
	wfq *q = aligned_alloc(64, sizeof *q);
	memset(q, 0, sizeof *q);
	cds_wfcq_init(&q->head, &q->tail);
	q->threads = threads;
	return q;
}
static void *wfcqueue_new(unsigned threads) { return wfcq_new(threads); }
static void *wfcqueue_prealloc_new(unsigned threads)
{
	wfq *q = wfcq_new(threads);
	q->pools = pools_new(threads);
	return q;
}
static void wfcqueue_free(void *p)
{
	wfq *q = p;
	struct cds_wfcq_node *n;
	while ((n = __cds_wfcq_dequeue_blocking(&q->head, &q->tail)))
		if (!q->pools)
			free(caa_container_of(n, wnode, node));
	cds_wfcq_destroy(&q->head, &q->tail);
	if (q->pools)
		pools_free(q->pools, q->threads);
	free(q);
}
#define wfcqueue_prealloc_free wfcqueue_free

static inline bool wfcqueue_bq_push(void *p, unsigned t, void *v)
{
	(void)t;
	wfq *q = p;
	wnode *n = malloc(sizeof *n);
	cds_wfcq_node_init(&n->node);
	n->value = v;
	cds_wfcq_enqueue(&q->head, &q->tail, &n->node);
	return true;
}
static inline bool wfcqueue_bq_pop(void *p, unsigned t, void **v)
{
	(void)t;
	wfq *q = p;
	struct cds_wfcq_node *n = __cds_wfcq_dequeue_nonblocking(&q->head, &q->tail);
	if (!n || n == CDS_WFCQ_WOULDBLOCK)
		return false;
	wnode *w = caa_container_of(n, wnode, node);
	*v = w->value;
	free(w);
	return true;
}
static double wfcqueue_bytes(void *p, size_t n)
{
	(void)p;
	void *probe = malloc(sizeof(wnode));
	double per = (double)malloc_usable_size(probe);
	free(probe);
	return sizeof(wfq) + per * (double)n;
}
static inline bool wfcqueue_prealloc_bq_push(void *p, unsigned t, void *v)
{
	wfq *q = p;
	pnode *n = pool_get(&q->pools[t]);
	cds_wfcq_node_init(&n->wn);
	n->value = v;
	cds_wfcq_enqueue(&q->head, &q->tail, &n->wn);
	return true;
}
static inline bool wfcqueue_prealloc_bq_pop(void *p, unsigned t, void **v)
{
	(void)t;
	wfq *q = p;
	struct cds_wfcq_node *n = __cds_wfcq_dequeue_nonblocking(&q->head, &q->tail);
	if (!n || n == CDS_WFCQ_WOULDBLOCK)
		return false;
	pnode *pn = caa_container_of(n, pnode, wn);
	*v = pn->value;
	pool_put(pn);
	return true;
}

/* ------------------------------------------------------------- ck_fifo */

typedef struct ckf_spsc {
	ck_fifo_spsc_t fifo;
} ckf_spsc;

static void *ck_fifo_spsc_new(unsigned threads)
{
	(void)threads;
	ckf_spsc *q = aligned_alloc(64, sizeof(ckf_spsc) + 64 - sizeof(ckf_spsc) % 64);
	ck_fifo_spsc_init(&q->fifo, malloc(sizeof(ck_fifo_spsc_entry_t)));
	return q;
}
#define ck_fifo_spsc_prealloc_new ck_fifo_spsc_new
static void ck_fifo_spsc_free(void *p)
{
	ckf_spsc *q = p;
	ck_fifo_spsc_entry_t *e, *next;
	ck_fifo_spsc_deinit(&q->fifo, &e);
	for (; e; e = next) {
		next = e->next;
		free(e);
	}
	free(q);
}
#define ck_fifo_spsc_prealloc_free ck_fifo_spsc_free
static inline bool ck_fifo_spsc_bq_push(void *p, unsigned t, void *v)
{
	(void)t;
	ckf_spsc *q = p;
	free(ck_fifo_spsc_recycle(&q->fifo)); /* per-item free... */
	ck_fifo_spsc_enqueue(&q->fifo, malloc(sizeof(ck_fifo_spsc_entry_t)), v); /* ...and malloc */
	return true;
}
static inline bool ck_fifo_spsc_prealloc_bq_push(void *p, unsigned t, void *v)
{
	(void)t;
	ckf_spsc *q = p;
	ck_fifo_spsc_entry_t *e = ck_fifo_spsc_recycle(&q->fifo);
	if (!e)
		e = malloc(sizeof *e);
	ck_fifo_spsc_enqueue(&q->fifo, e, v);
	return true;
}
static inline bool ck_fifo_spsc_bq_pop(void *p, unsigned t, void **v)
{
	(void)t;
	ckf_spsc *q = p;
	return ck_fifo_spsc_dequeue(&q->fifo, v);
}
#define ck_fifo_spsc_prealloc_bq_pop ck_fifo_spsc_bq_pop

typedef struct ckf_mpmc {
	ck_fifo_mpmc_t fifo;
	pool *pools;
	unsigned threads;
} ckf_mpmc;

static void *ckf_mpmc_new(unsigned threads, bool prealloc)
{
	ckf_mpmc *q = aligned_alloc(64, (sizeof *q + 63) & ~(size_t)63);
	memset(q, 0, sizeof *q);
	q->threads = threads;
	if (prealloc) {
		q->pools = pools_new(threads + 1);
		/* the stub comes from the extra pool */
		pnode *stub = pool_get(&q->pools[threads]);
		ck_fifo_mpmc_init(&q->fifo, &stub->fe);
	} else {
		ck_fifo_mpmc_init(&q->fifo, malloc(sizeof(ck_fifo_mpmc_entry_t)));
	}
	return q;
}
static void *ck_fifo_mpmc_new(unsigned threads) { return ckf_mpmc_new(threads, false); }
static void *ck_fifo_mpmc_prealloc_new(unsigned threads) { return ckf_mpmc_new(threads, true); }
static void ck_fifo_mpmc_free(void *p)
{
	ckf_mpmc *q = p;
	void *v;
	ck_fifo_mpmc_entry_t *garbage;
	while (ck_fifo_mpmc_dequeue(&q->fifo, &v, &garbage))
		if (!q->pools)
			free(garbage);
	ck_fifo_mpmc_deinit(&q->fifo, &garbage);
	if (q->pools)
		pools_free(q->pools, q->threads + 1);
	else
		free(garbage);
	free(q);
}
#define ck_fifo_mpmc_prealloc_free ck_fifo_mpmc_free
static inline bool ck_fifo_mpmc_bq_push(void *p, unsigned t, void *v)
{
	(void)t;
	ckf_mpmc *q = p;
	ck_fifo_mpmc_enqueue(&q->fifo, malloc(sizeof(ck_fifo_mpmc_entry_t)), v);
	return true;
}
static inline bool ck_fifo_mpmc_bq_pop(void *p, unsigned t, void **v)
{
	(void)t;
	ckf_mpmc *q = p;
	ck_fifo_mpmc_entry_t *garbage;
	if (!ck_fifo_mpmc_dequeue(&q->fifo, v, &garbage))
		return false;
	free(garbage);
	return true;
}
static double ck_fifo_mpmc_bytes(void *p, size_t n)
{
	(void)p;
	void *probe = malloc(sizeof(ck_fifo_mpmc_entry_t));
	double per = (double)malloc_usable_size(probe);
	free(probe);
	return sizeof(ckf_mpmc) + per * (double)(n + 1);
}
static inline bool ck_fifo_mpmc_prealloc_bq_push(void *p, unsigned t, void *v)
{
	ckf_mpmc *q = p;
	pnode *n = pool_get(&q->pools[t]);
	ck_fifo_mpmc_enqueue(&q->fifo, &n->fe, v);
	return true;
}
static inline bool ck_fifo_mpmc_prealloc_bq_pop(void *p, unsigned t, void **v)
{
	(void)t;
	ckf_mpmc *q = p;
	ck_fifo_mpmc_entry_t *garbage;
	if (!ck_fifo_mpmc_dequeue(&q->fifo, v, &garbage))
		return false;
	pool_put(caa_container_of(garbage, pnode, fe));
	return true;
}

/* ---------------------------------------------------------- moodycamel */

/* bounded try_enqueue starves a producer when another holds the free blocks
 * (seen as a hang at 2:2), so the ring rows use enqueue too, preallocated. */
static void *moodycamel_ring_new(unsigned threads) { return mc_new(threads, BQ_CAPACITY, false); }
static void *moodycamel_new(unsigned threads) { return mc_new(threads, BQ_CAPACITY, false); }
static void moodycamel_free(void *q) { mc_free(q); }
#define moodycamel_ring_free moodycamel_free
static inline bool moodycamel_bq_push(void *q, unsigned t, void *v) { return mc_push(q, t, v); }
static inline bool moodycamel_bq_pop(void *q, unsigned t, void **v) { return mc_pop(q, t, v); }
static inline size_t moodycamel_bq_push_n(void *q, unsigned t, void *const *v, size_t n) { return mc_push_n(q, t, v, n); }
static inline size_t moodycamel_bq_pop_n(void *q, unsigned t, void **v, size_t n) { return mc_pop_n(q, t, v, n); }
#define moodycamel_ring_bq_push moodycamel_bq_push
#define moodycamel_ring_bq_pop moodycamel_bq_pop
#define moodycamel_ring_bq_push_n moodycamel_bq_push_n
#define moodycamel_ring_bq_pop_n moodycamel_bq_pop_n

#endif /* !__cplusplus */

#endif /* WEFT_BENCH_PEERS_QUEUES_H */
