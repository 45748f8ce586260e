/* lib/yield.c - the process-wide yield ban of internal/backoff.h. */
#include "internal/backoff.h"

_Atomic uint64_t weft__yield_banned_until;
