/* lib/debug.c - the abort that WEFT_DEBUG builds (and impossible states) end in. */
#include <stdio.h>
#include <stdlib.h>

#include "weft/common.h"

_Noreturn void weft__debug_abort(const char *what)
{
	fprintf(stderr, "weft: fatal: %s\n", what);
	abort();
}
