/*
 * weft/arc.h - a reference-counted allocation with strong and weak
 * references (Rust's Arc and Weak).
 *
 * weft_arc_new(size, dtor) allocates a header and `size` bytes of data
 * and returns a pointer to the data (aligned to max_align_t, uninitialised
 * like malloc's). That pointer is a strong reference: weft_arc_clone makes
 * another (it returns the same pointer), weft_arc_drop gives one back.
 * weft_arc_downgrade makes a weak reference (a weft_weak *), which keeps the
 * memory but not the value: weft_weak_upgrade turns it back into a strong
 * reference while the value lives, and returns NULL once it is gone.
 *
 *     header (32 bytes)                      data (size bytes)
 *     strong | weak | dtor | magic           ^ the pointer users hold
 *
 * Counts (as Rust's Arc):
 *     strong  strong references. When it drops to 0 the destructor runs
 *             on the data (once), and the value is gone for good: upgrade
 *             never increments a strong count of 0 (no resurrection).
 *     weak    weak references, plus 1 held by all strong references
 *             together; it drops to 0, and the memory is freed, after the
 *             destructor and the last weak reference. So a weft_weak never
 *             points at freed memory.
 *
 * Orders (each as Rust's Arc, library/alloc/src/sync.rs):
 *   - clone, downgrade, weak_clone, upgrade: relaxed increments. A new
 *     reference is made from one the caller holds (or, for upgrade, from a
 *     live count read by the CAS), so the allocation cannot go away under
 *     it, and what the data holds was published to the caller when it got
 *     its reference. Nothing else needs ordering here.
 *   - drop, weak_drop: release decrements: everything this thread did with
 *     the data happens before the decrement.
 *   - the decrement that reaches 0 is followed by an acquire fence before
 *     the destructor (or free) runs. That decrement read the end of the
 *     count's RMW chain, which holds every earlier release decrement, so
 *     the fence synchronises with all of them: every other holder's uses
 *     happen before the destructor. Only the last decrement pays for it.
 *     Under ThreadSanitizer, which does not model fences, an acquire load
 *     of the count replaces the fence (Rust does the same).
 *   - The destructor's work happens before the free: the strong side then
 *     drops the implicit weak reference with the same release decrement,
 *     and the freeing thread's acquire covers it.
 * Overflow: an increment to above SIZE_MAX / 2 aborts (as Rust's Arc); it
 * takes 2^63 live references, i.e. a leak in a loop, and a wrapped count
 * would free a live object.
 *
 * NULL is accepted everywhere: clone, downgrade, upgrade return NULL;
 * drop, weak_drop do nothing; the counts are 0. A pointer that did not
 * come from weft_arc_new is undefined behaviour; WEFT_DEBUG builds catch
 * most such pointers (and drops of a dead value) with an abort.
 */
#ifndef WEFT_ARC_H
#define WEFT_ARC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A weak reference: an opaque handle (the allocation's header). */
typedef struct weft_weak weft_weak;

/* Internal: the header before the data; its size is a multiple of
 * max_align_t's alignment, so the data after it is aligned like malloc's. */
typedef struct weft__arc {
	_Alignas(max_align_t) _Atomic size_t strong;
	_Atomic size_t weak;
	void (*dtor)(void *data);
	uint64_t magic; /* WEFT__ARC_MAGIC while allocated */
} weft__arc;

#define WEFT__ARC_MAGIC 0x77656674617263ull /* "weftarc" */
#define WEFT__ARC_MAX (SIZE_MAX / 2)

/* Slow paths, lib/arc.c. */
WEFT_API void weft__arc_drop_slow(weft__arc *h);
WEFT_API void weft__arc_free(weft__arc *h);
WEFT_API _Noreturn void weft__arc_overflow(void);

/*
 * A new allocation of size bytes (any size, 0 included) with one strong
 * reference; dtor (may be NULL) runs on the data when the last strong
 * reference is dropped. NULL with errno ENOMEM when memory is short.
 */
WEFT_API void *weft_arc_new(size_t size, void (*dtor)(void *data));

static inline weft__arc *weft__arc_header(const void *p)
{
	weft__arc *h = (weft__arc *)(void *)((char *)(uintptr_t)p - sizeof(weft__arc));
	WEFT_DEBUG_CHECK(h->magic == WEFT__ARC_MAGIC,
			 "weft_arc: not a live weft_arc allocation");
	return h;
}

static inline void *weft__arc_data(weft__arc *h)
{
	return (char *)h + sizeof(weft__arc);
}

/* Count one more reference on c (relaxed; header comment). */
static inline void weft__arc_inc(_Atomic size_t *c)
{
	/* relaxed: the caller holds a reference, so the allocation lives;
	 * no data is published by taking a reference. */
	size_t old = atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
	/* The new count above WEFT__ARC_MAX, written as a sign test so that
	 * x86-64 compiles it to `lock add; js` (no xadd). */
	if (WEFT_UNLIKELY((intptr_t)(old + 1) < 0))
		weft__arc_overflow();
}

/* Another strong reference to p (returns p). */
static inline void *weft_arc_clone(void *p)
{
	if (WEFT_UNLIKELY(!p))
		return NULL;
	weft__arc_inc(&weft__arc_header(p)->strong);
	return p;
}

/* Give back a strong reference; the last one runs the destructor. */
static inline void weft_arc_drop(void *p)
{
	if (WEFT_UNLIKELY(!p))
		return;
	weft__arc *h = weft__arc_header(p);
	/* release: this thread's uses of the data happen-before the acquire
	 * in weft__arc_drop_slow of the thread that drops the last one. */
	size_t old = atomic_fetch_sub_explicit(&h->strong, 1, memory_order_release);
	WEFT_DEBUG_CHECK(old != 0, "weft_arc_drop: value already dropped");
	if (WEFT_UNLIKELY(old == 1))
		weft__arc_drop_slow(h);
}

/* A weak reference to p's allocation. */
static inline weft_weak *weft_arc_downgrade(void *p)
{
	if (WEFT_UNLIKELY(!p))
		return NULL;
	weft__arc *h = weft__arc_header(p);
	weft__arc_inc(&h->weak);
	return (weft_weak *)h;
}

/* Another weak reference (returns w). */
static inline weft_weak *weft_weak_clone(weft_weak *w)
{
	if (WEFT_UNLIKELY(!w))
		return NULL;
	weft__arc_inc(&((weft__arc *)w)->weak);
	return w;
}

/* Give back a weak reference; the last reference of any kind frees. */
static inline void weft_weak_drop(weft_weak *w)
{
	if (WEFT_UNLIKELY(!w))
		return;
	weft__arc *h = (weft__arc *)w;
	/* release: pairs with the acquire in weft__arc_free of the thread
	 * that drops the last weak reference (it frees the memory). */
	size_t old = atomic_fetch_sub_explicit(&h->weak, 1, memory_order_release);
	WEFT_DEBUG_CHECK(old != 0, "weft_weak_drop: memory already freed");
	if (WEFT_UNLIKELY(old == 1))
		weft__arc_free(h);
}

/*
 * A new strong reference to the value, or NULL once its last strong
 * reference was dropped (the destructor has run or is running).
 */
static inline void *weft_weak_upgrade(weft_weak *w)
{
	if (WEFT_UNLIKELY(!w))
		return NULL;
	weft__arc *h = (weft__arc *)w;
	/* relaxed: a hint for the CAS below. */
	size_t n = atomic_load_explicit(&h->strong, memory_order_relaxed);
	do {
		if (n == 0)
			return NULL; /* gone: never resurrect */
		if (WEFT_UNLIKELY(n >= WEFT__ARC_MAX)) /* as weft__arc_inc */
			weft__arc_overflow();
		/* relaxed: an increment like clone's (header comment); the
		 * CAS from n != 0 fails if the last drop got in first. */
	} while (!atomic_compare_exchange_weak_explicit(
		&h->strong, &n, n + 1, memory_order_relaxed, memory_order_relaxed));
	return weft__arc_data(h);
}

/* Strong references to p now (a snapshot); 0 for NULL. */
static inline size_t weft_arc_strong_count(const void *p)
{
	/* relaxed: a snapshot, orders nothing. */
	return p ? atomic_load_explicit(&weft__arc_header(p)->strong,
					memory_order_relaxed)
		 : 0;
}

/* Weak references to p now (a snapshot, not counting the strong side's
 * implicit one); 0 for NULL. */
static inline size_t weft_arc_weak_count(const void *p)
{
	/* relaxed: a snapshot, orders nothing. p is a strong reference, so
	 * the implicit weak reference is still counted: subtract it. */
	return p ? atomic_load_explicit(&weft__arc_header(p)->weak,
					memory_order_relaxed) - 1
		 : 0;
}

/* Strong references to w's value now (0 once it is gone, or for NULL). */
static inline size_t weft_weak_strong_count(const weft_weak *w)
{
	/* relaxed: a snapshot, orders nothing. */
	return w ? atomic_load_explicit(&((const weft__arc *)w)->strong,
					memory_order_relaxed)
		 : 0;
}

#ifdef __cplusplus
}
#endif

#endif /* WEFT_ARC_H */
