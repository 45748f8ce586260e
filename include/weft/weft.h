/* weft/weft.h - the umbrella header: every weft primitive. */
#ifndef WEFT_WEFT_H
#define WEFT_WEFT_H

#include "weft/common.h"
#include "weft/barrier.h"
#include "weft/chan.h"
#include "weft/cond.h"
#include "weft/mutex.h"
#include "weft/mpsc.h"
#include "weft/mpsc_intrusive.h"
#include "weft/ring.h"
#include "weft/once.h"
#include "weft/pool.h"
#include "weft/rwlock.h"
#include "weft/seqlock.h"
#include "weft/ref.h"
#include "weft/arc.h"
#if defined(__GNUC__) || defined(__clang__)
#include "weft/guard.h" /* needs __attribute__((cleanup)) */
#endif
#include "weft/thread.h"
#include "weft/rt.h"

#endif /* WEFT_WEFT_H */
