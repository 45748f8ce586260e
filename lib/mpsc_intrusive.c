/* lib/mpsc_intrusive.c - weft_mpsc_intrusive's slow pop (see the header). */
#include "weft/mpsc_intrusive.h"

/*
 * h (not the stub) is the oldest node and its next was NULL: it can be taken
 * only once it has a successor, so that head can move on.
 */
weft_mpsc_node *weft__mpsc_intrusive_pop_slow(weft_mpsc_intrusive *q,
					     weft_mpsc_node *h)
{
	/* relaxed: only compared with h (header: "Why the orders suffice"). */
	if (atomic_load_explicit(&q->tail, memory_order_relaxed) != h)
		return NULL; /* a push after h has exchanged, not linked yet */
	/* h is the newest node: put the stub behind it. */
	weft__mpsc_intrusive_link(q, &q->stub);
	/* acquire: pairs with the release link of h's successor (our stub
	 * link, or a producer's that exchanged before it). */
	weft_mpsc_node *next = atomic_load_explicit(&h->next, memory_order_acquire);
	if (!next)
		return NULL; /* that producer is in its window */
	q->head = next;
	return h;
}
