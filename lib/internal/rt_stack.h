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
 * Descriptors live apart from the stacks (in the slab's header, or
 * malloc'd for a stack of its own mapping), so that neither making a slab
 * nor handing out a stack touches stack memory: a stack's pages are first
 * written by its first task's first run, on the worker that runs it. A new
 * slab's top pages are populated in one system call where the kernel
 * allows it (lib/rt_stack.c populate_tops).
 */
#ifndef WEFT_INTERNAL_RT_STACK_H
#define WEFT_INTERNAL_RT_STACK_H

#include <stdbool.h>
#include <stddef.h>

#include "weft/mutex.h"

typedef struct weft__stack {
	struct weft__stack *next; /* free list / cache link */
	char *lo;		  /* lowest usable byte (just above the guard) */
	size_t size;		  /* usable bytes: [lo, lo + size) */
	bool in_slab;		  /* carved from a slab: recycled, never unmapped */
	bool warm;		  /* a task has run on it: its top page is mapped */
	/* TSan builds: the fiber of the tasks on this stack, created once
	 * and kept with the stack (creating a TSan fiber maps its shadow
	 * stack and traces: per task, that made spawns milliseconds slow). */
	void *tsan_fiber;
} weft__stack;

typedef struct weft__stack_slab weft__stack_slab;

typedef struct weft__stack_pool {
	size_t size;		/* usable size of slab stacks (page multiple) */
	weft_mutex lock;	/* guards warm, cold and slabs */
	weft__stack *warm;	/* free stacks a task has run on */
	weft__stack *cold;	/* free stacks never touched */
	weft__stack_slab *slabs;
} weft__stack_pool;

/* A worker's private cache of slab stacks (owner only, no atomics). */
typedef struct weft__stack_cache {
	weft__stack *warm, *cold;
	unsigned n_warm, n_cold;
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
/*
 * The stack a task about to run for the first time runs on: s itself if a
 * task ran on it before (warm), else a warm stack from the running
 * worker's cache c or else from the pool p, s going back to c. A task has no contents on its stack
 * before its first run, so it may change stacks then: a spawn reserves a
 * stack (so weft_go reports ENOMEM), but a fresh page is touched only when
 * no stack freed by an ended task is at hand. The result is marked warm.
 */
weft__stack *weft__stack_first_run(weft__stack_pool *p, weft__stack_cache *c,
				   weft__stack *s);
/* Return a cache's stacks to the pool's free list. */
void weft__stack_cache_drain(weft__stack_pool *p, weft__stack_cache *c);

/* The stack's highest 16-byte aligned address: where a new context's
 * frame starts. */
static inline char *weft__stack_top(const weft__stack *s)
{
	return (char *)((size_t)(s->lo + s->size) & ~(size_t)15);
}

/* Is the guard page installed without splitting mappings (madvise)? */
bool weft__stack_guard_is_madvise(void);

#endif /* WEFT_INTERNAL_RT_STACK_H */
