/*
 * examples/shared_cleanup_guard.c - a guard whose Drop runs however the
 * scope is left, as in Rust:
 *
 *     struct CleanupGuard { name: &'static str }
 *     impl Drop for CleanupGuard {
 *         fn drop(&mut self) { println!("cleanup: {}", self.name); }
 *     }
 *     fn work(fail: bool) -> Result<(), &'static str> {
 *         let _g = CleanupGuard { name: "work" };
 *         let _lock = MUTEX.lock().unwrap();
 *         if fail { return Err("failed"); }   // both dropped here
 *         Ok(())                              // and here
 *     }
 *
 * C has no destructors; GCC and Clang's __attribute__((cleanup)) is what
 * weft's guards (weft/guard.h) are built on. A hand-made CleanupGuard uses
 * the attribute directly; WEFT_MUTEX_GUARD is the MutexGuard. Guards run
 * in reverse order of declaration: the lock is released before the
 * cleanup message. The program checks that every path released the lock.
 */
#include <stdio.h>

#include <weft/weft.h>

static weft_mutex lock;
static int cleanups;

typedef struct cleanup_guard {
	const char *name;
} cleanup_guard;

static void cleanup_guard_drop(cleanup_guard *g)
{
	/* The mutex guard, declared later, has already been released. */
	int free_now = weft_mutex_trylock(&lock);
	if (free_now)
		weft_mutex_unlock(&lock);
	printf("cleanup: %s (lock released: %s)\n", g->name,
	       free_now ? "yes" : "NO");
	cleanups += free_now;
}

#define CLEANUP_GUARD(var, name_)                                              \
	cleanup_guard var __attribute__((cleanup(cleanup_guard_drop))) = {    \
		.name = (name_)                                                \
	}

static int work(int fail)
{
	CLEANUP_GUARD(g, fail ? "work (failed)" : "work");
	WEFT_MUTEX_GUARD(&lock);
	if (fail)
		return -1; /* both guards run here */
	return 0;	   /* and here */
}

static int first_negative(const int *v, int n)
{
	for (int i = 0; i < n; i++) {
		CLEANUP_GUARD(g, "loop iteration");
		WEFT_MUTEX_GUARD(&lock);
		if (v[i] < 0)
			return i; /* leaving the loop from inside */
	}
	return -1;
}

int main(void)
{
	printf("work(0) = %d\n", work(0));
	printf("work(1) = %d\n", work(1));
	int v[] = { 3, 1, -4, 1 };
	printf("first negative at %d\n", first_negative(v, 4));
	/* 2 from work, 3 loop iterations. */
	printf("%d cleanups, lock free after each: %s\n", cleanups,
	       cleanups == 5 ? "yes" : "NO");
	return cleanups == 5 ? 0 : 1;
}
