/* lib/ref.c - weft_ref's bad-count path; the rules are in weft/ref.h. */
#include "weft/ref.h"

_Static_assert(sizeof(weft_ref) == 4, "weft_ref must stay 4 bytes");

void weft__ref_saturate(weft_ref *r, uint32_t old, const char *what)
{
#ifdef WEFT_DEBUG
	if (old == 0)
		weft__debug_abort(what);
#else
	(void)old;
	(void)what;
#endif
	/* relaxed: the value only has to stay out of the live range; racing
	 * RMWs move it by at most their number (weft/ref.h). */
	atomic_store_explicit(&r->count, WEFT_REF_SATURATED, memory_order_relaxed);
}
