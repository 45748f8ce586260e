/* bench/peers/naive_pool.c - the textbook pthread pool (see pools.h). */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "peers/pools.h"

uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

typedef struct job {
	struct job *next;
	void (*fn)(void *);
	void *arg;
} job;

struct naive_pool {
	pthread_mutex_t lock;
	pthread_cond_t work;	/* jobs queued or stopping */
	pthread_cond_t idle;	/* pending reached 0 */
	job *head, *tail;
	unsigned long pending; /* queued + running */
	int stop;
	unsigned threads;
	pthread_t tid[];
};

static void *naive_worker(void *arg)
{
	naive_pool *p = arg;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->head && !p->stop)
			pthread_cond_wait(&p->work, &p->lock);
		if (!p->head)
			break;
		job *j = p->head;
		p->head = j->next;
		if (!p->head)
			p->tail = NULL;
		pthread_mutex_unlock(&p->lock);
		j->fn(j->arg);
		free(j);
		pthread_mutex_lock(&p->lock);
		if (--p->pending == 0)
			pthread_cond_broadcast(&p->idle);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

naive_pool *naive_pool_create(unsigned threads)
{
	naive_pool *p = calloc(1, sizeof *p + threads * sizeof(pthread_t));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->idle, NULL);
	p->threads = threads;
	for (unsigned i = 0; i < threads; i++)
		pthread_create(&p->tid[i], NULL, naive_worker, p);
	return p;
}

void naive_pool_submit(naive_pool *p, void (*fn)(void *), void *arg)
{
	job *j = malloc(sizeof *j);
	j->next = NULL;
	j->fn = fn;
	j->arg = arg;
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	p->pending++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
}

void naive_pool_wait(naive_pool *p)
{
	pthread_mutex_lock(&p->lock);
	while (p->pending)
		pthread_cond_wait(&p->idle, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

void naive_pool_destroy(naive_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->threads; i++)
		pthread_join(p->tid[i], NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->idle);
	free(p);
}
