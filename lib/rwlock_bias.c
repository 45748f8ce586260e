/* lib/rwlock_bias.c - weft_rwlock's visible readers; see internal/rwlock_bias.h. */
#include "internal/rwlock_bias.h"

#include <errno.h>
#include <time.h>

#include "internal/backoff.h"

#define SPIN_NS 50000
#define SPIN_PAUSE_MAX_NS 160
#define BIAS WEFT__RWLOCK_BIAS
#define BLOCKS_BIAS (WEFT__RWLOCK_WLOCKED | WEFT__RWLOCK_WWAIT)

/*
 * An entry: `lock` is the lock a reader holds through it (0: free), plus
 * WRITER_WAITS while a revoking writer sleeps on `wake` for it to leave;
 * `owner` is that reader's thread. One cache line each, 256 of them.
 */
typedef struct entry {
	_Alignas(64) _Atomic uintptr_t lock;
	_Atomic uintptr_t owner;
	_Atomic uint32_t wake;
} entry;
#define WRITER_WAITS ((uintptr_t)1)
#define ENTRY_BITS 8
static entry table[1u << ENTRY_BITS];

/* The one source of thread identity: a thread-local's address. */
static _Thread_local __attribute__((tls_model("initial-exec"))) char self_tag;
/* Counted reads left until this thread next checks whether to bias. */
static _Thread_local __attribute__((tls_model("initial-exec"))) uint32_t countdown;

static uintptr_t self(void) { return (uintptr_t)&self_tag; }

static entry *entry_of(const weft_rwlock *l)
{
	return &table[weft__hash_bits(self() ^ ((uintptr_t)l >> 3), ENTRY_BITS)];
}

/*
 * Bias policy: a counted reader that found other readers inside checks,
 * once per BIAS_CHECK_EVERY such reads, whether to set BIAS; a revocation
 * that took t keeps the bias off for INHIBIT_FACTOR * t, at least
 * INHIBIT_MIN_NS (the bias pays on locks written less often than that;
 * figures in docs/tuning.md). Inhibit times are hashed by lock: locks
 * sharing a slot only re-bias later. This is performance, not liveness.
 */
#define BIAS_CHECK_EVERY 64
#define INHIBIT_FACTOR 16
#define INHIBIT_MIN_NS 10000000ull
#define INHIBIT_BITS 8
static _Atomic uint64_t inhibit_until[1u << INHIBIT_BITS];

static _Atomic uint64_t *inhibit_of(const weft_rwlock *l)
{
	return &inhibit_until[weft__hash_bits((uintptr_t)l, INHIBIT_BITS)];
}

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

void weft__rwlock_read_shared(weft_rwlock *l)
{
	/* relaxed throughout: a heuristic; BIAS publishes nothing itself,
	 * and the CAS, an RMW, keeps the release sequence of `state`. */
	if (countdown) {
		countdown--;
		return;
	}
	countdown = BIAS_CHECK_EVERY - 1;
	if (now_ns() < atomic_load_explicit(inhibit_of(l), memory_order_relaxed))
		return;
	uint32_t s = atomic_load_explicit(&l->state, memory_order_relaxed);
	while (!(s & (BLOCKS_BIAS | BIAS | WEFT__RWLOCK_WAITING)) &&
	       !atomic_compare_exchange_weak_explicit(&l->state, &s, s | BIAS,
						      memory_order_relaxed,
						      memory_order_relaxed))
		;
}

static void leave(entry *e)
{
	/* relaxed: read by others only to see it is not theirs. */
	atomic_store_explicit(&e->owner, 0, memory_order_relaxed);
	/* release: our read section happens-before the section of the writer
	 * whose acquire load in wait_entry_free sees the entry free. An
	 * exchange, to see a writer asleep for us. */
	uintptr_t old = atomic_exchange_explicit(&e->lock, 0, memory_order_release);
	if (old & WRITER_WAITS) {
		/* release: pairs with the acquire load of wake in wait_entry_free. */
		atomic_fetch_add_explicit(&e->wake, 1, memory_order_release);
		weft__futex_wake(&e->wake, WEFT__FUTEX_WAKE_ALL);
	}
}

bool weft__rwlock_read_biased(weft_rwlock *l)
{
	entry *e = entry_of(l);
	uintptr_t none = 0;
	/* seq_cst, with the seq_cst load below: our half of a Dekker pair
	 * with revoke, which clears BIAS and then reads every entry (seq_cst).
	 * Either our CAS precedes its read of this entry (it waits for us)
	 * or its clear precedes our load (we see no bias and leave). */
	if (!atomic_compare_exchange_strong_explicit(&e->lock, &none, (uintptr_t)l,
						     memory_order_seq_cst,
						     memory_order_relaxed))
		return false; /* entry busy: enter counted */
	/* relaxed: read back by this thread, by others only to compare. */
	atomic_store_explicit(&e->owner, self(), memory_order_relaxed);
	/* seq_cst: see above. As an acquire it reads BIAS from an RMW in the
	 * release sequence of the last write unlock: that section happens-
	 * before ours. A writer holding or waiting sends us to the counted
	 * path, where the policy stops us. */
	uint32_t s = atomic_load_explicit(&l->state, memory_order_seq_cst);
	if ((s & (BIAS | BLOCKS_BIAS)) == BIAS)
		return true;
	leave(e);
	return false;
}

bool weft__rwlock_read_unlock_biased(weft_rwlock *l)
{
	entry *e = entry_of(l);
	/* relaxed: if we hold the entry these are our own stores; if not,
	 * owner is another thread's or 0, never us (our last store was 0). */
	if ((atomic_load_explicit(&e->lock, memory_order_relaxed) & ~WRITER_WAITS) !=
		    (uintptr_t)l ||
	    atomic_load_explicit(&e->owner, memory_order_relaxed) != self())
		return false;
	leave(e);
	return true;
}

/*
 * Wait until e no longer names l; ETIMEDOUT at the deadline (at once if
 * d is NULL). Spin, then mark the entry WRITER_WAITS and sleep on `wake`,
 * which leave() bumps. We sample wake before checking the entry: a bump
 * we sampled came after its exchange (release/acquire on wake), so our
 * check sees the entry free; a later one changes the word we sleep on.
 */
static int wait_entry_free(entry *e, const weft_rwlock *l, const weft__deadline *d)
{
	weft__backoff b = weft__backoff_make_ns(SPIN_NS, SPIN_PAUSE_MAX_NS);
	for (;;) {
		/* acquire: see above. */
		uint32_t w = atomic_load_explicit(&e->wake, memory_order_acquire);
		/* seq_cst: the writer's reads of the Dekker pair; as an
		 * acquire it pairs with leave()'s release exchange. */
		uintptr_t v = atomic_load_explicit(&e->lock, memory_order_seq_cst);
		if ((v & ~WRITER_WAITS) != (uintptr_t)l)
			return 0;
		if (!d)
			return ETIMEDOUT;
		if (weft__backoff_spin(&b))
			continue;
		/* relaxed: the mark is ordered by the entry's modification order. */
		if (!(v & WRITER_WAITS) &&
		    !atomic_compare_exchange_strong_explicit(
			    &e->lock, &v, v | WRITER_WAITS, memory_order_relaxed,
			    memory_order_relaxed))
			continue;
		if (weft__futex_wait(&e->wake, w, d) == ETIMEDOUT)
			return ETIMEDOUT;
	}
}

int weft__rwlock_bias_revoke(weft_rwlock *l, const weft__deadline *d)
{
	uint64_t start = now_ns();
	/* seq_cst: the writer's half of the Dekker pair (read_biased). */
	atomic_fetch_and_explicit(&l->state, ~BIAS, memory_order_seq_cst);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < (1u << ENTRY_BITS); i++)
		rc = wait_entry_free(&table[i], l, d);
	uint64_t end = now_ns(), t = INHIBIT_FACTOR * (end - start);
	/* relaxed: a time, not a publication. */
	atomic_store_explicit(inhibit_of(l), end + (t > INHIBIT_MIN_NS ? t : INHIBIT_MIN_NS),
			      memory_order_relaxed);
	if (rc) {
		/* Visible readers remain: restore the bias, so the next writer
		 * waits for them too, and leave. relaxed: we hold WLOCKED, and
		 * the unlock's release RMW follows. */
		atomic_fetch_or_explicit(&l->state, BIAS, memory_order_relaxed);
		weft_rwlock_write_unlock(l);
	}
	return rc;
}

bool weft__rwlock_bias_named(const weft_rwlock *l)
{
	for (size_t i = 0; i < (1u << ENTRY_BITS); i++)
		/* relaxed: a snapshot for tests. */
		if ((atomic_load_explicit(&table[i].lock, memory_order_relaxed) &
		     ~WRITER_WAITS) == (uintptr_t)l)
			return true;
	return false;
}

bool weft__rwlock_bias_held(const weft_rwlock *l)
{
	entry *e = entry_of(l);
	/* relaxed: this thread's own stores, if it holds the entry. */
	return (atomic_load_explicit(&e->lock, memory_order_relaxed) & ~WRITER_WAITS) ==
		       (uintptr_t)l &&
	       atomic_load_explicit(&e->owner, memory_order_relaxed) == self();
}
