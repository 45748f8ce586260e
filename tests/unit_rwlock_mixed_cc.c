/*
 * tests/unit_rwlock_mixed_cc.c - a read lock taken in code built by clang
 * and released in code built by GCC (this file), and the other way round,
 * in one program: both reach the read bias through the library, which alone
 * computes thread identity (on AArch64 glibc, GCC's thread pointer and
 * pthread_self() differ, which broke this when the header computed it).
 * Runs natively and in both ARM64 builds under qemu.
 */
#include <criterion/criterion.h>
#include <pthread.h>

#include "test_util.h"
#include "weft/rwlock.h"

TestSuite(rwlock_mixed_cc, .timeout = WEFT_UNIT_TIMEOUT_S);

#if WEFT_TEST_CLANG
void weft_test_clang_read_lock(weft_rwlock *l);
void weft_test_clang_read_unlock(weft_rwlock *l);

Test(rwlock_mixed_cc, clang_lock_gcc_unlock_and_back)
{
	weft_rwlock l = WEFT_RWLOCK_INIT;
	cr_assert(weft_test_rwlock_bias(&l), "lock never biased");
	/* Each round re-biases the lock, which waits out the inhibit (at
	 * least 10 ms) that the idle check's revocation leaves. */
	for (int i = 0; i < 10; i++) {
		weft_test_clang_read_lock(&l);
		cr_assert(weft_test_rwlock_visible(&l), "clang's read was not a visible one");
		cr_assert_not(weft_rwlock_write_trylock(&l), "writer passed a reader");
		weft_test_clang_read_lock(&l); /* biased lock? the entry is busy */
		weft_rwlock_read_unlock(&l);   /* GCC */
		weft_rwlock_read_unlock(&l);
		cr_assert_not(weft_test_rwlock_visible(&l), "entry left behind");
		cr_assert(weft_test_rwlock_idle(&l), "state %#x", (unsigned)atomic_load(&l.state));
		cr_assert(weft_test_rwlock_bias(&l), "lock never biased again");
		weft_rwlock_read_lock(&l); /* GCC */
		weft_test_clang_read_unlock(&l);
		cr_assert(weft_test_rwlock_idle(&l), "state %#x", (unsigned)atomic_load(&l.state));
		cr_assert(weft_test_rwlock_bias(&l));
	}
}

typedef struct mixed {
	weft_rwlock l;
	long value;
	_Atomic bool stop;
	_Atomic long bad;
} mixed;

static void *mixed_reader(void *p)
{
	mixed *m = p;
	while (!atomic_load_explicit(&m->stop, memory_order_relaxed)) {
		weft_test_clang_read_lock(&m->l);
		long v = m->value;
		for (volatile int i = 0; i < 50; i++)
			;
		if (m->value != v || (v & 1))
			atomic_fetch_add(&m->bad, 1);
		weft_rwlock_read_unlock(&m->l);
	}
	return NULL;
}

/* Readers lock in clang code and unlock in GCC code while a writer runs:
 * no reader sees a write in progress, and the lock ends idle. */
Test(rwlock_mixed_cc, concurrent_readers_and_a_writer)
{
	mixed m = { .l = WEFT_RWLOCK_INIT };
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, mixed_reader, &m);
	for (int i = 0; i < 2000; i++) {
		weft_rwlock_write_lock(&m.l);
		m.value++; /* odd: a write in progress */
		for (volatile int k = 0; k < 50; k++)
			;
		m.value++;
		weft_rwlock_write_unlock(&m.l);
	}
	atomic_store(&m.stop, true);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	cr_assert_eq(atomic_load(&m.bad), 0, "a reader saw a write in progress");
	cr_assert(weft_test_rwlock_idle(&m.l), "state %#x", (unsigned)atomic_load(&m.l.state));
}
#else
Test(rwlock_mixed_cc, clang_lock_gcc_unlock_and_back)
{
	cr_fail("built without clang (WEFT_TEST_CLANG): install clang (tools/run does)");
}
#endif
