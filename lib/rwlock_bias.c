/* lib/rwlock_bias.c - weft_rwlock's visible readers (BRAVO, Dice & Kogan);
 * the only code that computes thread identity and entry indexes. Bias on:
 * every CHECK_EVERY counted reads (lone ones only with asymmetric fences);
 * off for INHIBIT_FACTOR times a revocation, >= INHIBIT_MIN_NS (tuning.md). */
#include <errno.h>
#include <time.h>
#include "internal/asym_fence.h"
#include "internal/backoff.h"
#include "internal/rwlock_bias.h"

#define BIAS WEFT__RWLOCK_BIAS
#define CHECK_EVERY 64
#define INHIBIT_FACTOR 16
#define INHIBIT_MIN_NS 10000000ull
#define BITS 8

/* `lock`: the lock held through the entry (0: free); `owner`: its thread. */
typedef struct entry {
	WEFT_ALIGNED_CACHELINE _Atomic uintptr_t lock;
	_Atomic uintptr_t owner;
} entry;
static entry table[1u << BITS];
static _Atomic uint64_t inhibit_until[1u << BITS];

/* Thread identity: the address of a thread-local (one source, here). */
static _Thread_local __attribute__((tls_model("initial-exec"))) char self_tag;
static _Thread_local __attribute__((tls_model("initial-exec"))) uint32_t countdown;
static uintptr_t self(void) { return (uintptr_t)&self_tag; }

static entry *entry_of(const weft_rwlock *l)
{
	return &table[weft__hash_bits(self() ^ ((uintptr_t)l >> 3), BITS)];
}

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

void weft__rwlock_read_counted(weft_rwlock *l, uint32_t s)
{
	if (countdown++ % CHECK_EVERY || (!(s & WEFT__RWLOCK_READERS) && !weft__fence_asym()))
		return;
	/* relaxed: a time and a guess. The CAS too: BIAS publishes nothing,
	 * and as an RMW it continues the release sequence of `state`. */
	_Atomic uint64_t *until = &inhibit_until[weft__hash_bits((uintptr_t)l, BITS)];
	if (now_ns() < atomic_load_explicit(until, memory_order_relaxed))
		return;
	s = atomic_load_explicit(&l->state, memory_order_relaxed);
	while (!(s & (WEFT__RWLOCK_WLOCKED | WEFT__RWLOCK_WWAIT | BIAS | WEFT__RWLOCK_WAITING)) &&
	       !atomic_compare_exchange_weak_explicit(&l->state, &s, s | BIAS,
						      memory_order_relaxed, memory_order_relaxed))
		;
}

static void leave(weft_rwlock *l, entry *e)
{
	/* relaxed: others read owner only to see it is not theirs. */
	atomic_store_explicit(&e->owner, 0, memory_order_relaxed);
	/* A Dekker pair with revoke (clear BIAS holding WLOCKED, heavy fence,
	 * load entries): it sees the entry free, or we see WLOCKED and wake
	 * it. The store is also a release, to wait_free's load. */
	if (weft__dekker_store_load(&e->lock, 0, &l->state) & WEFT__RWLOCK_WLOCKED) {
		/* release: pairs with wait_free's acquire of writer_seq. */
		atomic_fetch_add_explicit(&l->writer_seq, 1, memory_order_release);
		weft__futex_wake(&l->writer_seq, WEFT__FUTEX_WAKE_ALL);
	}
}

bool weft__rwlock_read_biased(weft_rwlock *l)
{
	entry *e = entry_of(l);
	uintptr_t none = 0;
	/* seq_cst, with the load below: a Dekker pair with revoke. Either our
	 * CAS precedes its load of this entry or its clear precedes our load. */
	if (!atomic_compare_exchange_strong_explicit(&e->lock, &none, (uintptr_t)l,
						     memory_order_seq_cst, memory_order_relaxed))
		return false; /* entry busy: enter counted */
	/* relaxed: read back by this thread, by others only to compare. */
	atomic_store_explicit(&e->owner, self(), memory_order_relaxed);
	/* seq_cst: above; as an acquire, it reads BIAS from the release
	 * sequence of the last write unlock. A writer in or waiting sends us
	 * to the counted path, where the policy applies. */
	uint32_t s = atomic_load_explicit(&l->state, memory_order_seq_cst);
	if ((s & (BIAS | WEFT__RWLOCK_WLOCKED | WEFT__RWLOCK_WWAIT)) == BIAS)
		return true;
	leave(l, e);
	return false;
}

bool weft__rwlock_bias_held(const weft_rwlock *l)
{
	entry *e = entry_of(l);
	/* relaxed: our own stores if we hold it; else owner is another
	 * thread's or 0 (our last store to it). */
	return atomic_load_explicit(&e->lock, memory_order_relaxed) == (uintptr_t)l &&
	       atomic_load_explicit(&e->owner, memory_order_relaxed) == self();
}

bool weft__rwlock_read_unlock_biased(weft_rwlock *l)
{
	return weft__rwlock_bias_held(l) ? leave(l, entry_of(l)), true : false;
}

/* Wait until e no longer names l; ETIMEDOUT at d (at once if d is NULL).
 * writer_seq is sampled first: a leave() after our check changes it. */
static int wait_free(weft_rwlock *l, entry *e, const weft__deadline *d)
{
	weft__backoff b = weft__backoff_make_ns(WEFT__RW_SPIN_NS, WEFT__RW_SPIN_PAUSE_MAX_NS);
	for (;;) {
		uint32_t seq = atomic_load_explicit(&l->writer_seq, memory_order_acquire);
		/* seq_cst: the Dekker pair (leave); as an acquire, its release. */
		if (atomic_load_explicit(&e->lock, memory_order_seq_cst) != (uintptr_t)l)
			return 0;
		if (!d)
			return ETIMEDOUT;
		if (!weft__backoff_spin(&b) &&
		    weft__futex_wait(&l->writer_seq, seq, d) == ETIMEDOUT)
			return ETIMEDOUT;
	}
}

int weft__rwlock_bias_revoke(weft_rwlock *l, const weft__deadline *d)
{
	uint64_t start = now_ns();
	/* seq_cst: the writer's half of the Dekker pairs (above). */
	atomic_fetch_and_explicit(&l->state, ~BIAS, memory_order_seq_cst);
	if (weft__fence_asym())
		weft__fence_heavy(); /* for leave()'s weft__dekker_store_load */
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < (1u << BITS); i++)
		rc = wait_free(l, &table[i], d);
	uint64_t end = now_ns(), t = INHIBIT_FACTOR * (end - start);
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
