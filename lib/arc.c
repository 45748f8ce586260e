/* lib/arc.c - weft_arc allocation, destruction and free; rules in weft/arc.h. */
#include "weft/arc.h"

#include <errno.h>
#include <stdlib.h>

_Static_assert(sizeof(weft__arc) % _Alignof(max_align_t) == 0,
	       "the data after the header must be aligned to max_align_t");

void *weft_arc_new(size_t size, void (*dtor)(void *data))
{
	if (size > SIZE_MAX - sizeof(weft__arc)) {
		errno = ENOMEM;
		return NULL;
	}
	/* malloc's memory is aligned for max_align_t, so is the header. */
	weft__arc *h = malloc(sizeof(weft__arc) + size);
	if (!h)
		return NULL;
	/* Not shared yet: publishing the data pointer orders these. */
	atomic_init(&h->strong, 1);
	atomic_init(&h->weak, 1); /* the one all strong references hold */
	h->dtor = dtor;
	h->magic = WEFT__ARC_MAGIC;
	return weft__arc_data(h);
}

/* Make every release decrement of *c happen-before what follows. */
static void acquire_after_last(_Atomic size_t *c)
{
#if WEFT_TSAN
	/* acquire: reads the end of the count's RMW chain, so synchronises
	 * with every release decrement in it (TSan does not model fences). */
	(void)atomic_load_explicit(c, memory_order_acquire);
#else
	(void)c;
	/* acquire: pairs with the release decrements of weft_arc_drop /
	 * weft_weak_drop; our decrement to 0 read their RMW chain. */
	atomic_thread_fence(memory_order_acquire);
#endif
}

void weft__arc_drop_slow(weft__arc *h)
{
	acquire_after_last(&h->strong);
	if (h->dtor)
		h->dtor(weft__arc_data(h));
	/* The strong side's implicit weak reference: its release decrement
	 * orders the destructor before the free. */
	weft_weak_drop((weft_weak *)h);
}

void weft__arc_free(weft__arc *h)
{
	acquire_after_last(&h->weak);
	h->magic = 0;
	free(h);
}

_Noreturn void weft__arc_overflow(void)
{
	weft__debug_abort("weft_arc: reference count overflow (more than "
			 "SIZE_MAX / 2 references: a leak?)");
}
