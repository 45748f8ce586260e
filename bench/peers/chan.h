/*
 * bench/peers/chan.h - the channel baselines of bench/bench_chan.c, each
 * carrying uint64_t elements through new(cap) / send / recv / free:
 *
 *   pthread_ring  the textbook bounded buffer: a mutex and two condition
 *                 variables (not full, not empty) around a ring of cap
 *                 slots; capacity 0 is not offered (no rendezvous here)
 *   pthread_list  the same for an unbounded queue: a mutex and one
 *                 condition variable (not empty) around a singly linked
 *                 list, one malloc per element
 *   glib          GLib's GAsyncQueue (unbounded; NULL is not a valid item,
 *                 so elements are sent as non-zero values)
 *
 * Signal after the state change while holding the lock, as the textbooks
 * (and POSIX's rationale) show; every wait sits in a while loop.
 */
#ifndef WEFT_BENCH_PEERS_CHAN_H
#define WEFT_BENCH_PEERS_CHAN_H

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#if WEFT_BENCH_HAVE_GLIB
#include <glib.h>
#endif

typedef struct pthread_ring {
	pthread_mutex_t lock;
	pthread_cond_t not_full, not_empty;
	size_t cap, head, len;
	uint64_t *slots;
} pthread_ring;

static inline void *pthread_ring_new(size_t cap)
{
	pthread_ring *r = malloc(sizeof *r);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->not_full, NULL);
	pthread_cond_init(&r->not_empty, NULL);
	r->cap = cap;
	r->head = r->len = 0;
	r->slots = malloc(cap * sizeof *r->slots);
	return r;
}

static inline void pthread_ring_send(void *p, uint64_t v)
{
	pthread_ring *r = p;
	pthread_mutex_lock(&r->lock);
	while (r->len == r->cap)
		pthread_cond_wait(&r->not_full, &r->lock);
	size_t i = r->head + r->len;
	r->slots[i < r->cap ? i : i - r->cap] = v;
	r->len++;
	pthread_cond_signal(&r->not_empty);
	pthread_mutex_unlock(&r->lock);
}

static inline uint64_t pthread_ring_recv(void *p)
{
	pthread_ring *r = p;
	pthread_mutex_lock(&r->lock);
	while (r->len == 0)
		pthread_cond_wait(&r->not_empty, &r->lock);
	uint64_t v = r->slots[r->head];
	r->head = r->head + 1 < r->cap ? r->head + 1 : 0;
	r->len--;
	pthread_cond_signal(&r->not_full);
	pthread_mutex_unlock(&r->lock);
	return v;
}

static inline void pthread_ring_free(void *p)
{
	pthread_ring *r = p;
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->not_full);
	pthread_cond_destroy(&r->not_empty);
	free(r->slots);
	free(r);
}

typedef struct pthread_list_node {
	struct pthread_list_node *next;
	uint64_t v;
} pthread_list_node;

typedef struct pthread_list {
	pthread_mutex_t lock;
	pthread_cond_t not_empty;
	pthread_list_node *head, *tail;
} pthread_list;

static inline void *pthread_list_new(size_t cap)
{
	(void)cap;
	pthread_list *l = malloc(sizeof *l);
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->not_empty, NULL);
	l->head = l->tail = NULL;
	return l;
}

static inline void pthread_list_send(void *p, uint64_t v)
{
	pthread_list *l = p;
	pthread_list_node *n = malloc(sizeof *n);
	n->next = NULL;
	n->v = v;
	pthread_mutex_lock(&l->lock);
	if (l->tail)
		l->tail->next = n;
	else
		l->head = n;
	l->tail = n;
	pthread_cond_signal(&l->not_empty);
	pthread_mutex_unlock(&l->lock);
}

static inline uint64_t pthread_list_recv(void *p)
{
	pthread_list *l = p;
	pthread_mutex_lock(&l->lock);
	while (!l->head)
		pthread_cond_wait(&l->not_empty, &l->lock);
	pthread_list_node *n = l->head;
	l->head = n->next;
	if (!l->head)
		l->tail = NULL;
	pthread_mutex_unlock(&l->lock);
	uint64_t v = n->v;
	free(n);
	return v;
}

static inline void pthread_list_free(void *p)
{
	pthread_list *l = p;
	while (l->head) {
		pthread_list_node *n = l->head;
		l->head = n->next;
		free(n);
	}
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->not_empty);
	free(l);
}

#if WEFT_BENCH_HAVE_GLIB
static inline void *glib_new(size_t cap)
{
	(void)cap;
	return g_async_queue_new();
}

static inline void glib_send(void *q, uint64_t v)
{
	g_async_queue_push(q, (gpointer)(uintptr_t)v); /* v != 0 */
}

static inline uint64_t glib_recv(void *q)
{
	return (uint64_t)(uintptr_t)g_async_queue_pop(q);
}

static inline void glib_free(void *q)
{
	g_async_queue_unref(q);
}
#endif

#endif /* WEFT_BENCH_PEERS_CHAN_H */
