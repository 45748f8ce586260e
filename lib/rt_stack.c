/* lib/rt_stack.c - task stacks with guard pages; see internal/rt_stack.h. */
#define _GNU_SOURCE
#include "internal/rt_stack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13 */
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif
/* process_madvise's pidfd for the calling process (Linux 6.14). */
#define PIDFD_SELF_PROCESS (-10001)

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
/* Top pages populated per system call when a first run finds no warm
 * stack (populate_batch). */
#define POPULATE_BATCH 16

/* One mapping of STACKS_PER_SLAB stacks and their descriptors: the
 * descriptors live here, not in the stacks, so that making a slab and
 * handing out its stacks touches no stack page (see weft__stack_first_run). */
struct weft__stack_slab {
	weft__stack_slab *next;
	void *base;
	size_t len;
	weft__stack stacks[STACKS_PER_SLAB];
};

enum { GUARD_UNKNOWN = 0, GUARD_MADVISE = 1, GUARD_MPROTECT = 2 };
static _Atomic int guard_mode;
/* process_madvise(PIDFD_SELF_PROCESS) with MADV_GUARD_INSTALL and
 * MADV_POPULATE_WRITE: one system call for a slab's 32 pages. */
enum { BATCH_UNKNOWN = 0, BATCH_YES = 1, BATCH_NO = 2 };
static _Atomic int batch_mode;

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

/* One madvise per iovec, in one system call when the kernel allows it
 * (process_madvise on the calling process takes any advice since Linux
 * 6.13, PIDFD_SELF since 6.14). false: do it another way. */
static bool madvise_batch(struct iovec *iov, size_t n, int advice)
{
	/* relaxed: every thread computes the same answer. */
	if (atomic_load_explicit(&batch_mode, memory_order_relaxed) == BATCH_NO)
		return false;
	size_t want = 0;
	for (size_t i = 0; i < n; i++)
		want += iov[i].iov_len;
	long r = syscall(SYS_process_madvise, PIDFD_SELF_PROCESS, iov, n, advice, 0u);
	if (r >= 0 && (size_t)r == want) {
		atomic_store_explicit(&batch_mode, BATCH_YES, memory_order_relaxed);
		return true;
	}
	if (r < 0 && (errno == ENOSYS || errno == EBADF || errno == EINVAL ||
		      errno == EPERM || errno == ESRCH))
		/* relaxed: as above. Only a refusal of the call itself
		 * turns batching off; a partial result (no memory) does not. */
		atomic_store_explicit(&batch_mode, BATCH_NO, memory_order_relaxed);
	return false;
}

/* Guard pages below a slab's stacks: one system call where possible. */
static bool install_guards(char *base, size_t slot)
{
	size_t ps = page_size();
	if (guard() == GUARD_MADVISE) {
		struct iovec iov[STACKS_PER_SLAB];
		for (unsigned i = 0; i < STACKS_PER_SLAB; i++)
			iov[i] = (struct iovec){ base + (size_t)i * slot, ps };
		if (madvise_batch(iov, STACKS_PER_SLAB, MADV_GUARD_INSTALL))
			return true;
	}
	for (unsigned i = 0; i < STACKS_PER_SLAB; i++)
		if (!install_guard(base + (size_t)i * slot))
			return false;
	return true;
}

static void push(weft__stack **list, weft__stack *s)
{
	s->next = *list;
	*list = s;
}

static weft__stack *pop(weft__stack **list)
{
	weft__stack *s = *list;
	if (s)
		*list = s->next;
	return s;
}

/* Fill descriptor s for the usable area [lo, lo + size). */
static weft__stack *describe(weft__stack *s, char *lo, size_t size, bool in_slab)
{
	s->next = NULL;
	s->lo = lo;
	s->size = size;
	s->in_slab = in_slab;
	s->warm = false;
	s->tsan_fiber = NULL;
	return s;
}

void weft__stack_pool_init(weft__stack_pool *p, size_t size)
{
	p->size = weft__stack_round(size);
	atomic_init(&p->lock.state, 0);
	p->warm = p->cold = NULL;
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
	if (!install_guards(sl->base, slot)) {
		munmap(sl->base, sl->len);
		free(sl);
		return false;
	}
	for (unsigned i = STACKS_PER_SLAB; i-- > 0;) {
		weft__stack *s = describe(&sl->stacks[i],
					  (char *)sl->base + (size_t)i * slot + ps,
					  p->size, true);
		push(&p->cold, s);
	}
	sl->next = p->slabs;
	p->slabs = sl;
	return true;
}

/* A stack of its own mapping (a size other than the pool's). */
static weft__stack *map_single(size_t size)
{
	size_t ps = page_size();
	weft__stack *s = malloc(sizeof *s);
	if (!s)
		return NULL;
	char *m = mmap(NULL, size + ps, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED) {
		free(s);
		return NULL;
	}
	if (!install_guard(m)) {
		munmap(m, size + ps);
		free(s);
		return NULL;
	}
	return describe(s, m + ps, size, false);
}

/* A stack from cache c (NULL if empty): a warm one first. */
static weft__stack *cache_pop(weft__stack_cache *c)
{
	weft__stack *s = pop(&c->warm);
	if (s) {
		c->n_warm--;
		return s;
	}
	if ((s = pop(&c->cold)))
		c->n_cold--;
	return s;
}

static void cache_push(weft__stack_cache *c, weft__stack *s)
{
	if (s->warm) {
		push(&c->warm, s);
		c->n_warm++;
	} else {
		push(&c->cold, s);
		c->n_cold++;
	}
}

/* Put a list of stacks, all warm or all cold, on the pool's list of that
 * kind. */
static void give_back(weft__stack_pool *p, weft__stack *list, bool warm)
{
	if (!list)
		return;
	weft__stack *last = list;
	while (last->next)
		last = last->next;
	weft_mutex_lock(&p->lock);
	weft__stack **to = warm ? &p->warm : &p->cold;
	last->next = *to;
	*to = list;
	weft_mutex_unlock(&p->lock);
}

/* Cut list after its first `keep` stacks; returns the rest. */
static weft__stack *cut_after(weft__stack *list, unsigned keep)
{
	for (unsigned i = 1; i < keep; i++)
		list = list->next;
	weft__stack *rest = list->next;
	list->next = NULL;
	return rest;
}

/* Refill cache c with up to CACHE_MAX / 2 stacks, warm ones first; the
 * first is returned. */
static weft__stack *take_shared(weft__stack_pool *p, weft__stack_cache *c)
{
	weft_mutex_lock(&p->lock);
	if (!p->warm && !p->cold && !add_slab(p)) {
		weft_mutex_unlock(&p->lock);
		return NULL;
	}
	weft__stack *s = p->warm ? pop(&p->warm) : pop(&p->cold), *x;
	while (c && c->n_warm + c->n_cold < CACHE_MAX / 2 &&
	       (x = p->warm ? pop(&p->warm) : pop(&p->cold)))
		cache_push(c, x);
	weft_mutex_unlock(&p->lock);
	return s;
}

static void unpoison(weft__stack *s)
{
	/* A previous task's frames may have been left poisoned. */
	UNPOISON(s->lo, s->size);
	s->next = NULL;
}

weft__stack *weft__stack_get(weft__stack_pool *p, weft__stack_cache *c, size_t size)
{
	size = weft__stack_round(size);
	weft__stack *s;
	if (size != p->size)
		s = map_single(size);
	else if (!c || !(s = cache_pop(c)))
		s = take_shared(p, c);
	if (s)
		unpoison(s);
	return s;
}

/* Up to CACHE_MAX / 2 warm stacks from the pool into c; one of them. */
static weft__stack *take_shared_warm(weft__stack_pool *p, weft__stack_cache *c)
{
	weft__stack *s, *x;
	weft_mutex_lock(&p->lock);
	s = pop(&p->warm);
	while (s && c->n_warm + c->n_cold < CACHE_MAX / 2 && (x = pop(&p->warm)))
		cache_push(c, x);
	weft_mutex_unlock(&p->lock);
	return s;
}

static void trim(weft__stack_pool *p, weft__stack_cache *c);

/*
 * No warm stack at hand for s's first run: populate the top pages of s and
 * of up to POPULATE_BATCH - 1 free stacks of the pool in one system call,
 * the others going to c's warm list for the next first runs. A page
 * populated by madvise costs less than the page fault of a first touch
 * (docs/tuning.md); best effort, as a failure leaves the touch to fault.
 */
static void populate_batch(weft__stack_pool *p, weft__stack_cache *c, weft__stack *s)
{
	size_t ps = page_size();
	struct iovec iov[POPULATE_BATCH];
	weft__stack *got = NULL, *x;
	unsigned n = 0;
	iov[n++] = (struct iovec){ weft__stack_top(s) - ps, ps };
	weft_mutex_lock(&p->lock);
	while (n < POPULATE_BATCH && (p->cold || add_slab(p)) && (x = pop(&p->cold))) {
		push(&got, x);
		iov[n++] = (struct iovec){ weft__stack_top(x) - ps, ps };
	}
	weft_mutex_unlock(&p->lock);
	bool ok = madvise_batch(iov, n, MADV_POPULATE_WRITE);
	while ((x = pop(&got))) {
		x->warm = ok;
		cache_push(c, x);
	}
	trim(p, c);
}

weft__stack *weft__stack_first_run(weft__stack_pool *p, weft__stack_cache *c,
				   weft__stack *s)
{
	if (!s->warm && s->in_slab) {
		/* The lock costs far less than the page fault it may save. */
		weft__stack *w = pop(&c->warm);
		if (w)
			c->n_warm--;
		else
			w = take_shared_warm(p, c);
		if (w) {
			cache_push(c, s);
			trim(p, c);
			unpoison(w);
			s = w;
		} else {
			populate_batch(p, c, s);
		}
	}
	s->warm = true;
	return s;
}

void weft__stack_put(weft__stack_pool *p, weft__stack_cache *c, weft__stack *s)
{
	if (!s->in_slab) {
		DESTROY_FIBER(s);
		size_t ps = page_size();
		munmap(s->lo - ps, s->size + ps);
		free(s);
		return;
	}
	if (!c) {
		s->next = NULL;
		give_back(p, s, s->warm);
		return;
	}
	cache_push(c, s);
	trim(p, c);
}

/* Over the cap: keep the most recent half of each list (the warmest). */
static void trim(weft__stack_pool *p, weft__stack_cache *c)
{
	if (c->n_warm > CACHE_MAX) {
		give_back(p, cut_after(c->warm, CACHE_MAX / 2), true);
		c->n_warm = CACHE_MAX / 2;
	}
	if (c->n_cold > CACHE_MAX) {
		give_back(p, cut_after(c->cold, CACHE_MAX / 2), false);
		c->n_cold = CACHE_MAX / 2;
	}
}

void weft__stack_cache_drain(weft__stack_pool *p, weft__stack_cache *c)
{
	give_back(p, c->warm, true);
	give_back(p, c->cold, false);
	*c = (weft__stack_cache){ 0 };
}

/*
 * Unmap every slab, adjacent ones in one munmap: each munmap ends in a TLB
 * flush on every CPU the process ran on (an IPI each, costly on a VM),
 * and 100k stacks make ~3000 slabs. The kernel places each new mapping
 * just below the previous one, so the list (newest first) mostly runs
 * upwards through one range.
 */
void weft__stack_pool_destroy(weft__stack_pool *p)
{
	char *lo = NULL, *hi = NULL;
	for (weft__stack_slab *sl = p->slabs, *next; sl; sl = next) {
		next = sl->next;
		for (unsigned i = 0; i < STACKS_PER_SLAB; i++)
			DESTROY_FIBER(&sl->stacks[i]);
		char *b = sl->base, *e = b + sl->len;
		if (lo && b == hi) {
			hi = e;
		} else if (lo && e == lo) {
			lo = b;
		} else {
			if (lo)
				munmap(lo, (size_t)(hi - lo));
			lo = b;
			hi = e;
		}
		free(sl);
	}
	if (lo)
		munmap(lo, (size_t)(hi - lo));
	p->slabs = NULL;
	p->warm = p->cold = NULL;
}
