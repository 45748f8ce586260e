/*
 * tests/unit_guard.c - scoped guards release on every path out of their
 * scope: end of block, return, break, continue, goto, switch, nested
 * scopes, several guards in one scope (released in reverse order).
 */
#include <criterion/criterion.h>

#include "test_util.h"
#include "weft/guard.h"

TestSuite(guard, .timeout = WEFT_UNIT_TIMEOUT_S);

static weft_mutex m1, m2;
static weft_rwlock rw;

static bool mutex_free(weft_mutex *m)
{
	if (!weft_mutex_trylock(m))
		return false;
	weft_mutex_unlock(m);
	return true;
}

static bool rw_free(weft_rwlock *l)
{
	if (!weft_rwlock_write_trylock(l))
		return false;
	weft_rwlock_write_unlock(l);
	return true;
}

Test(guard, end_of_block)
{
	{
		WEFT_MUTEX_GUARD(&m1);
		cr_assert_not(mutex_free(&m1), "held inside the scope");
	}
	cr_assert(mutex_free(&m1));
}

static int early_return(bool leave)
{
	WEFT_MUTEX_GUARD(&m1);
	if (leave)
		return 1;
	cr_assert_not(mutex_free(&m1));
	return 2;
}

Test(guard, return_paths)
{
	cr_assert_eq(early_return(true), 1);
	cr_assert(mutex_free(&m1), "released by the early return");
	cr_assert_eq(early_return(false), 2);
	cr_assert(mutex_free(&m1), "released by the last return");
}

Test(guard, break_and_continue)
{
	int n = 0;
	for (int i = 0; i < 10; i++) {
		WEFT_MUTEX_GUARD(&m1);
		n++;
		if (i % 2)
			continue; /* released here, re-taken next iteration */
		if (i == 6)
			break;
	}
	cr_assert_eq(n, 7);
	cr_assert(mutex_free(&m1));

	while (1) {
		WEFT_WRITE_GUARD(&rw);
		break;
	}
	cr_assert(rw_free(&rw));
}

Test(guard, switch_break)
{
	for (int c = 0; c < 3; c++) {
		switch (c) {
		case 1: {
			WEFT_MUTEX_GUARD(&m1);
			cr_assert_not(mutex_free(&m1));
			break;
		}
		default:
			break;
		}
		cr_assert(mutex_free(&m1));
	}
}

Test(guard, goto_out_of_scopes)
{
	int reached = 0;
	{
		WEFT_MUTEX_GUARD(&m1);
		{
			WEFT_READ_GUARD(&rw);
			reached = 1;
			goto out;
		}
	}
out:
	cr_assert_eq(reached, 1);
	cr_assert(mutex_free(&m1));
	cr_assert(rw_free(&rw));
}

Test(guard, nested_scopes_release_inner_first)
{
	{
		WEFT_MUTEX_GUARD(&m1);
		{
			WEFT_MUTEX_GUARD(&m2);
			cr_assert_not(mutex_free(&m2));
		}
		cr_assert(mutex_free(&m2), "inner released at its scope end");
		cr_assert_not(mutex_free(&m1), "outer still held");
	}
	cr_assert(mutex_free(&m1));
}

Test(guard, read_guard_shares_write_guard_excludes)
{
	{
		WEFT_READ_GUARD(&rw);
		cr_assert(weft_rwlock_read_trylock(&rw), "readers share");
		weft_rwlock_read_unlock(&rw);
		cr_assert_not(weft_rwlock_write_trylock(&rw));
	}
	cr_assert(rw_free(&rw));
	{
		WEFT_WRITE_GUARD(&rw);
		cr_assert_not(weft_rwlock_read_trylock(&rw));
	}
	cr_assert(rw_free(&rw));
}

/* Arc guards log their destructors: the order shows the release order. */
static char dtor_log[8];
static int dtor_n;

static void log_dtor(void *p)
{
	dtor_log[dtor_n++] = *(char *)p;
}

static void *tagged(char tag)
{
	char *p = weft_arc_new(1, log_dtor);
	cr_assert_not_null(p);
	*p = tag;
	return p;
}

Test(guard, several_guards_in_one_scope_release_in_reverse_order)
{
	dtor_n = 0;
	{
		WEFT_ARC_GUARD(tagged('a'));
		WEFT_MUTEX_GUARD(&m1);
		WEFT_MUTEX_GUARD(&m2);
		WEFT_WRITE_GUARD(&rw);
		WEFT_ARC_GUARD(tagged('b'));
		WEFT_ARC_GUARD(NULL); /* nothing to drop: fine */
		cr_assert_not(mutex_free(&m1));
		cr_assert_not(mutex_free(&m2));
		cr_assert_eq(dtor_n, 0);
	}
	cr_assert_eq(dtor_n, 2);
	cr_assert_eq(dtor_log[0], 'b', "declared last, released first");
	cr_assert_eq(dtor_log[1], 'a');
	cr_assert(mutex_free(&m1));
	cr_assert(mutex_free(&m2));
	cr_assert(rw_free(&rw));
}

static int arc_guard_return(void *p)
{
	WEFT_ARC_GUARD(p);
	return dtor_n;
}

Test(guard, arc_guard_takes_over_one_reference)
{
	dtor_n = 0;
	void *p = tagged('x');
	weft_arc_clone(p);
	cr_assert_eq(arc_guard_return(p), 0);
	cr_assert_eq(weft_arc_strong_count(p), 1, "the guard dropped one");
	cr_assert_eq(arc_guard_return(p), 0, "alive while the guard holds it");
	cr_assert_eq(dtor_n, 1, "the last reference was the guard's");
}
