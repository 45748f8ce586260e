/* lib/rwlock_bias.c - weft_rwlock's visible readers (BRAVO, Dice & Kogan),
 * the only code computing thread identity. Bias on every CHECK_EVERY counted
 * reads (lone ones only with asymmetric fences); off for INHIBIT_FACTOR times
 * a revocation, >= INHIBIT_MIN_NS (tuning.md). An entry is one thread's from
 * its first biased read to its exit (a key destructor gives it back); only it
 * writes `lock` (a store, no locked RMW), one biased lock at a time. No entry
 * free in PROBES, or no key: counted reads (a fork()ed child keeps the
 * entries of the threads it lacks). */
#include <errno.h>
#include <pthread.h>
#include "internal/asym_fence.h"
#include "internal/backoff.h"
#include "internal/rwlock_bias.h"

#define BIAS WEFT__RWLOCK_BIAS
#define CHECK_EVERY 64
#define INHIBIT_FACTOR 16
#define INHIBIT_MIN_NS 10000000ull
#define BITS 8
#define PROBES 4

typedef struct entry { /* lock: held through the entry (0: none) */
	WEFT_ALIGNED_CACHELINE _Atomic uintptr_t lock;
	_Atomic uint32_t taken;
} entry;
static entry table[1u << BITS];
static _Atomic uint64_t inhibit_until[1u << BITS];
static pthread_key_t key;
static bool have_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static _Thread_local __attribute__((tls_model("initial-exec"))) char self_tag;
static _Thread_local __attribute__((tls_model("initial-exec"))) uint32_t countdown;
static _Thread_local __attribute__((tls_model("initial-exec"))) entry *mine;

void weft__rwlock_read_counted(weft_rwlock *l, uint32_t s)
{
	if (countdown++ % CHECK_EVERY || (!(s & WEFT__RWLOCK_READERS) && !weft__fence_asym()))
		return;
	/* relaxed: a time and a guess. The CAS too: BIAS publishes nothing,
	 * and as an RMW it continues the release sequence of `state`. */
	_Atomic uint64_t *until = &inhibit_until[weft__hash_bits((uintptr_t)l, BITS)];
	if (weft__monotonic_ns() < atomic_load_explicit(until, memory_order_relaxed))
		return;
	s = atomic_load_explicit(&l->state, memory_order_relaxed);
	while (!(s & (WEFT__RWLOCK_WLOCKED | WEFT__RWLOCK_WWAIT | BIAS | WEFT__RWLOCK_WAITING)) &&
	       !atomic_compare_exchange_weak_explicit(&l->state, &s, s | BIAS,
						      memory_order_relaxed, memory_order_relaxed))
		;
}

/* At thread exit; an entry naming a lock (a leaked read lock) stays taken.
 * relaxed load: our own stores. release: the next taker's acquire CAS. */
static void give_back(void *e)
{
	mine = NULL;
	if (!atomic_load_explicit(&((entry *)e)->lock, memory_order_relaxed))
		atomic_store_explicit(&((entry *)e)->taken, 0, memory_order_release);
}

static void make_key(void) { have_key = pthread_key_create(&key, give_back) == 0; }

static __attribute__((noinline, cold)) entry *take_entry(void)
{
	pthread_once(&key_once, make_key);
	uint64_t h = weft__hash_bits((uintptr_t)&self_tag, BITS);
	for (uint32_t i = 0, free_ = 0; have_key && i < PROBES; i++, free_ = 0) {
		entry *e = &table[(h + i) % (1u << BITS)];
		/* acquire: pairs with give_back's release. */
		if (atomic_compare_exchange_strong_explicit(&e->taken, &free_, 1, memory_order_acquire,
							    memory_order_relaxed))
			return pthread_setspecific(key, e) == 0 ? (mine = e) : (give_back(e), NULL);
	}
	return NULL;
}

/* Readers store to their entry, then load state (a Dekker pair with revoke):
 * leaving, the revoker sees the entry free or we see WLOCKED and wake it. */
static void leave(weft_rwlock *l, entry *e)
{
	if (weft__dekker_store_load(&e->lock, 0, &l->state) & WEFT__RWLOCK_WLOCKED) {
		/* release: pairs with wait_free's acquire of writer_seq. */
		atomic_fetch_add_explicit(&l->writer_seq, 1, memory_order_release);
		weft__futex_wake(&l->writer_seq, WEFT__FUTEX_WAKE_ALL);
	}
}

bool weft__rwlock_read_biased(weft_rwlock *l)
{
	entry *e = mine ? mine : take_entry();
	/* relaxed: only we write it. Set: we hold a lock through it already. */
	if (!e || atomic_load_explicit(&e->lock, memory_order_relaxed))
		return false;
	/* The acquire reads BIAS from the release sequence of the last write
	 * unlock. A writer in or waiting: the counted path (the policy). */
	uint32_t s = weft__dekker_store_load(&e->lock, (uintptr_t)l, &l->state);
	if ((s & (BIAS | WEFT__RWLOCK_WLOCKED | WEFT__RWLOCK_WWAIT)) == BIAS)
		return true;
	leave(l, e);
	return false;
}

bool weft__rwlock_bias_held(const weft_rwlock *l)
{
	/* relaxed: our own entry's own stores. */
	return mine && atomic_load_explicit(&mine->lock, memory_order_relaxed) == (uintptr_t)l;
}

bool weft__rwlock_read_unlock_biased(weft_rwlock *l)
{
	return weft__rwlock_bias_held(l) ? leave(l, mine), true : false;
}

/* Wait until e no longer names l; ETIMEDOUT at d (at once if NULL). The
 * writer_seq sample comes first: a leave() after our check changes it. */
static int wait_free(weft_rwlock *l, entry *e, const weft__deadline *d)
{
	weft__backoff b = weft__backoff_make_ns(WEFT__RW_SPIN_NS, WEFT__RW_SPIN_PAUSE_MAX_NS);
	for (;;) {
		uint32_t seq = atomic_load_explicit(&l->writer_seq, memory_order_acquire);
		/* seq_cst: the Dekker pair; as an acquire, leave's release. */
		if (atomic_load_explicit(&e->lock, memory_order_seq_cst) != (uintptr_t)l)
			return 0;
		if (!d || (!weft__backoff_spin(&b) &&
			   weft__futex_wait(&l->writer_seq, seq, d) == ETIMEDOUT))
			return ETIMEDOUT;
	}
}

/* The writer's half: clear BIAS (seq_cst), the heavy fence (readers use the
 * light one), load every entry: we wait for a reader, or it sees no BIAS. */
int weft__rwlock_bias_revoke(weft_rwlock *l, const weft__deadline *d)
{
	uint64_t start = weft__monotonic_ns();
	atomic_fetch_and_explicit(&l->state, ~BIAS, memory_order_seq_cst);
	if (weft__fence_asym())
		weft__fence_heavy();
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < (1u << BITS); i++)
		rc = wait_free(l, &table[i], d);
	uint64_t end = weft__monotonic_ns(), t = INHIBIT_FACTOR * (end - start);
	/* relaxed: a time, not a publication. */
	atomic_store_explicit(&inhibit_until[weft__hash_bits((uintptr_t)l, BITS)],
			      end + (t > INHIBIT_MIN_NS ? t : INHIBIT_MIN_NS), memory_order_relaxed);
	if (rc) {
		/* Readers remain: restore BIAS (the next writer waits for them
		 * too) and leave. relaxed: the unlock's release RMW follows. */
		atomic_fetch_or_explicit(&l->state, BIAS, memory_order_relaxed);
		weft_rwlock_write_unlock(l);
	}
	return rc;
}
