/*
 * lib/internal/rt_stack.h - task stacks for lib/rt.c (lib/rt_stack.c).
 *
 * A stack is `size` usable bytes above one guard page. Stacks of the
 * runtime's default size are carved from large mappings (slabs of
 * STACKS_PER_SLAB) and recycled through a per-worker cache and a shared
 * free list; other sizes get a mapping each, unmapped when freed.
 *
 * The guard page: vm.max_map_count (65530 by default) limits the VMAs of a
 * process, and mprotect(PROT_NONE) on a page inside a mapping splits it
 * (two VMAs per stack: 100k tasks would not fit). Linux >= 6.13's
 * madvise(MADV_GUARD_INSTALL) installs guard pages without splitting the
 * VMA; it is used when a probe at first use shows it works (a write(2)
 * from the guard page must fail with EFAULT: qemu-user accepts unknown
 * advice and does nothing), else mprotect is the fallback (and the limit
 * on concurrent stacks is then about max_map_count / 2).
 *
 * The descriptor lives at the top of the stack memory itself; the task's
 * stack pointer starts just below it.
 */
#ifndef WEFT_INTERNAL_RT_STACK_H
#define WEFT_INTERNAL_RT_STACK_H

#include <stdbool.h>
#include <stddef.h>

#include "weft/mutex.h"

typedef struct weft__stack {
	struct weft__stack *next; /* free list / cache link */
	char *lo;		  /* lowest usable byte (just above the guard) */
	size_t size;		  /* usable bytes, descriptor included */
	bool in_slab;		  /* carved from a slab: recycled, never unmapped */
	/* TSan builds: the fiber of the tasks on this stack, created once
	 * and kept with the stack (creating a TSan fiber maps its shadow
	 * stack and traces: per task, that made spawns milliseconds slow). */
	void *tsan_fiber;
} weft__stack;

typedef struct weft__stack_slab weft__stack_slab;

typedef struct weft__stack_pool {
	size_t size;		/* usable size of slab stacks (page multiple) */
	weft_mutex lock;	/* guards free_list and slabs */
	weft__stack *free_list;
	weft__stack_slab *slabs;
} weft__stack_pool;

/* A worker's private cache of slab stacks (owner only, no atomics). */
typedef struct weft__stack_cache {
	weft__stack *head;
	unsigned n;
} weft__stack_cache;

/* Page-rounded usable size for a requested stack size. */
size_t weft__stack_round(size_t size);

void weft__stack_pool_init(weft__stack_pool *p, size_t size);
/* Unmap every slab (all stacks must have been put back). */
void weft__stack_pool_destroy(weft__stack_pool *p);

/* A stack of `size` usable bytes (rounded); cache may be NULL (a plain
 * thread). NULL when no memory or mapping can be had. */
weft__stack *weft__stack_get(weft__stack_pool *p, weft__stack_cache *c, size_t size);
void weft__stack_put(weft__stack_pool *p, weft__stack_cache *c, weft__stack *s);
/* Return a cache's stacks to the pool's free list. */
void weft__stack_cache_drain(weft__stack_pool *p, weft__stack_cache *c);

/* The highest 16-byte aligned address below the descriptor: where a new
 * context's frame starts. */
static inline char *weft__stack_top(weft__stack *s)
{
	return (char *)((size_t)s & ~(size_t)15);
}

/* Is the guard page installed without splitting mappings (madvise)? */
bool weft__stack_guard_is_madvise(void);

#endif /* WEFT_INTERNAL_RT_STACK_H */
