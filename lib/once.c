/* lib/once.c - weft_once slow path; the states are in weft/once.h. */
#include "weft/once.h"

#include "internal/futex.h"

_Static_assert(sizeof(weft_once) == 4, "weft_once must stay 4 bytes");

enum { INCOMPLETE = 0, RUNNING = 1, WAITING = 2, DONE = WEFT_ONCE_DONE };

void weft__once_call_slow(weft_once *o, void (*fn)(void *), void *arg)
{
	/* acquire (on failure too): a failed CAS that reads DONE must see
	 * fn's effects; pairs with the release exchange below. */
	uint32_t s = INCOMPLETE;
	if (atomic_compare_exchange_strong_explicit(&o->state, &s, RUNNING,
						    memory_order_acquire,
						    memory_order_acquire)) {
		fn(arg);
		/* release: publishes fn's effects to every acquire load or
		 * CAS that reads DONE. */
		if (atomic_exchange_explicit(&o->state, DONE,
					     memory_order_release) == WAITING)
			weft__futex_wake(&o->state, WEFT__FUTEX_WAKE_ALL);
		return;
	}
	weft__deadline never = weft__deadline_never();
	while (s != DONE) {
		/* The runner's exchange reads WAITING from the same word, so
		 * it cannot miss us. acquire (failure too): the CAS may read
		 * DONE and end the loop; pairs with the release exchange. */
		if (s == RUNNING &&
		    !atomic_compare_exchange_strong_explicit(
			    &o->state, &s, WAITING, memory_order_acquire,
			    memory_order_acquire))
			continue;
		weft__futex_wait(&o->state, WAITING, &never);
		/* acquire: pairs with the release exchange storing DONE. */
		s = atomic_load_explicit(&o->state, memory_order_acquire);
	}
}
