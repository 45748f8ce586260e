/* lib/rt_stack.c - task stacks with guard pages; see internal/rt_stack.h. */
#define _GNU_SOURCE
#include "internal/rt_stack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13 */
#endif

#include "weft/common.h"
#if WEFT_TSAN
#include <sanitizer/tsan_interface.h>
#define DESTROY_FIBER(s) ((s)->tsan_fiber ? __tsan_destroy_fiber((s)->tsan_fiber) : (void)0)
#else
#define DESTROY_FIBER(s) ((void)(s))
#endif

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define UNPOISON(p, n) __asan_unpoison_memory_region((p), (n))
#else
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* Stacks per slab (one mapping): 32 x (64 KiB + a page) is 2.1 MiB. */
#define STACKS_PER_SLAB 32
/* A worker keeps at most this many free stacks; beyond, half go back. */
#define CACHE_MAX 64

struct weft__stack_slab {
	weft__stack_slab *next;
	void *base;
	size_t len;
};

enum { GUARD_UNKNOWN = 0, GUARD_MADVISE = 1, GUARD_MPROTECT = 2 };
static _Atomic int guard_mode;

static size_t page_size(void)
{
	static size_t ps;
	if (!ps)
		ps = (size_t)sysconf(_SC_PAGESIZE);
	return ps;
}

size_t weft__stack_round(size_t size)
{
	size_t ps = page_size();
	return (size + ps - 1) & ~(ps - 1);
}

/* Does MADV_GUARD_INSTALL really guard? A write(2) from the guard page
 * must fail with EFAULT, and the page above must still work. */
static int probe_guard(void)
{
	size_t ps = page_size();
	char *m = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return GUARD_MPROTECT;
	int mode = GUARD_MPROTECT, fd[2];
	if (madvise(m, ps, MADV_GUARD_INSTALL) == 0 && pipe2(fd, O_CLOEXEC) == 0) {
		m[ps] = 1;
		if (write(fd[1], m, 1) < 0 && errno == EFAULT &&
		    write(fd[1], m + ps, 1) == 1)
			mode = GUARD_MADVISE;
		close(fd[0]);
		close(fd[1]);
	}
	munmap(m, 2 * ps);
	return mode;
}

static int guard(void)
{
	/* relaxed: every thread computes the same answer; a race only
	 * probes twice. */
	int g = atomic_load_explicit(&guard_mode, memory_order_relaxed);
	if (g == GUARD_UNKNOWN) {
		g = probe_guard();
		atomic_store_explicit(&guard_mode, g, memory_order_relaxed);
	}
	return g;
}

bool weft__stack_guard_is_madvise(void)
{
	return guard() == GUARD_MADVISE;
}

static bool install_guard(char *page)
{
	if (guard() == GUARD_MADVISE &&
	    madvise(page, page_size(), MADV_GUARD_INSTALL) == 0)
		return true;
	return mprotect(page, page_size(), PROT_NONE) == 0;
}

/* Descriptor at the top of the usable area [lo, lo + size). */
static weft__stack *describe(char *lo, size_t size, bool in_slab)
{
	weft__stack *s = (weft__stack *)(lo + size - sizeof(weft__stack));
	s = (weft__stack *)((uintptr_t)s & ~(uintptr_t)15);
	s->next = NULL;
	s->lo = lo;
	s->size = size;
	s->in_slab = in_slab;
	s->tsan_fiber = NULL;
	return s;
}

void weft__stack_pool_init(weft__stack_pool *p, size_t size)
{
	p->size = weft__stack_round(size);
	atomic_init(&p->lock.state, 0);
	p->free_list = NULL;
	p->slabs = NULL;
}

/* A new slab onto the free list (lock held): false when out of memory or
 * mappings. */
static bool add_slab(weft__stack_pool *p)
{
	size_t ps = page_size(), slot = p->size + ps;
	weft__stack_slab *sl = malloc(sizeof *sl);
	if (!sl)
		return false;
	sl->len = slot * STACKS_PER_SLAB;
	sl->base = mmap(NULL, sl->len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (sl->base == MAP_FAILED) {
		free(sl);
		return false;
	}
	for (unsigned i = 0; i < STACKS_PER_SLAB; i++) {
		char *g = (char *)sl->base + (size_t)i * slot;
		if (!install_guard(g)) {
			munmap(sl->base, sl->len);
			free(sl);
			return false;
		}
	}
	for (unsigned i = STACKS_PER_SLAB; i-- > 0;) {
		weft__stack *s = describe((char *)sl->base + (size_t)i * slot + ps,
					  p->size, true);
		s->next = p->free_list;
		p->free_list = s;
	}
	sl->next = p->slabs;
	p->slabs = sl;
	return true;
}

/* A stack of its own mapping (a size other than the pool's). */
static weft__stack *map_single(size_t size)
{
	size_t ps = page_size();
	char *m = mmap(NULL, size + ps, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	if (!install_guard(m)) {
		munmap(m, size + ps);
		return NULL;
	}
	return describe(m + ps, size, false);
}

/* Refill cache c with up to CACHE_MAX / 2 stacks; the first is returned. */
static weft__stack *take_shared(weft__stack_pool *p, weft__stack_cache *c)
{
	weft_mutex_lock(&p->lock);
	if (!p->free_list && !add_slab(p)) {
		weft_mutex_unlock(&p->lock);
		return NULL;
	}
	weft__stack *s = p->free_list;
	p->free_list = s->next;
	while (c && c->n < CACHE_MAX / 2 && p->free_list) {
		weft__stack *x = p->free_list;
		p->free_list = x->next;
		x->next = c->head;
		c->head = x;
		c->n++;
	}
	weft_mutex_unlock(&p->lock);
	return s;
}

weft__stack *weft__stack_get(weft__stack_pool *p, weft__stack_cache *c, size_t size)
{
	size = weft__stack_round(size);
	weft__stack *s;
	if (size != p->size) {
		s = map_single(size);
	} else if (c && c->head) {
		s = c->head;
		c->head = s->next;
		c->n--;
	} else {
		s = take_shared(p, c);
	}
	if (s) {
		/* A previous task's frames may have been left poisoned. */
		UNPOISON(s->lo, (size_t)((char *)s - s->lo));
		s->next = NULL;
	}
	return s;
}

void weft__stack_put(weft__stack_pool *p, weft__stack_cache *c, weft__stack *s)
{
	if (!s->in_slab) {
		DESTROY_FIBER(s);
		size_t ps = page_size();
		munmap(s->lo - ps, s->size + ps);
		return;
	}
	if (c) {
		s->next = c->head;
		c->head = s;
		if (++c->n > CACHE_MAX) {
			/* Keep the warm half. */
			weft__stack *keep = c->head;
			for (unsigned i = 1; i < CACHE_MAX / 2; i++)
				keep = keep->next;
			weft__stack *rest = keep->next;
			keep->next = NULL;
			c->n = CACHE_MAX / 2;
			weft__stack_cache c2 = { rest, 0 };
			weft__stack_cache_drain(p, &c2);
		}
		return;
	}
	weft_mutex_lock(&p->lock);
	s->next = p->free_list;
	p->free_list = s;
	weft_mutex_unlock(&p->lock);
}

void weft__stack_cache_drain(weft__stack_pool *p, weft__stack_cache *c)
{
	if (!c->head)
		return;
	weft__stack *last = c->head;
	while (last->next)
		last = last->next;
	weft_mutex_lock(&p->lock);
	last->next = p->free_list;
	p->free_list = c->head;
	weft_mutex_unlock(&p->lock);
	c->head = NULL;
	c->n = 0;
}

void weft__stack_pool_destroy(weft__stack_pool *p)
{
	weft__stack_slab *sl = p->slabs;
	size_t ps = page_size(), slot = p->size + ps;
	while (sl) {
		weft__stack_slab *next = sl->next;
		for (unsigned i = 0; i < STACKS_PER_SLAB; i++) {
			char *lo = (char *)sl->base + (size_t)i * slot + ps;
			weft__stack *s = (weft__stack *)((uintptr_t)(lo + p->size - sizeof(weft__stack)) &
							 ~(uintptr_t)15);
			DESTROY_FIBER(s);
		}
		(void)slot;
		munmap(sl->base, sl->len);
		free(sl);
		sl = next;
	}
	p->slabs = NULL;
	p->free_list = NULL;
}
