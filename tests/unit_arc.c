/* tests/unit_arc.c - weft_arc strong and weak references, destructor, NULL. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "test_util.h"
#include "weft/arc.h"

TestSuite(arc, .timeout = WEFT_UNIT_TIMEOUT_S);

typedef struct obj {
	int value;
	int *dtor_calls;
	void *seen_by_dtor;
	weft_weak *self; /* a weak reference to itself, for the dtor test */
	void *upgraded_in_dtor;
} obj;

static void obj_dtor(void *p)
{
	obj *o = p;
	(*o->dtor_calls)++;
	o->seen_by_dtor = p;
	if (o->self)
		o->upgraded_in_dtor = weft_weak_upgrade(o->self);
}

static obj *new_obj(int *calls)
{
	obj *o = weft_arc_new(sizeof *o, obj_dtor);
	cr_assert_not_null(o);
	*o = (obj){ .value = 42, .dtor_calls = calls };
	return o;
}

Test(arc, new_is_aligned_with_one_strong_reference)
{
	int calls = 0;
	for (size_t size = 0; size < 100; size += 7) {
		void *p = weft_arc_new(size, NULL);
		cr_assert_not_null(p);
		cr_assert_eq((uintptr_t)p % alignof(max_align_t), 0);
		cr_assert_eq(weft_arc_strong_count(p), 1);
		cr_assert_eq(weft_arc_weak_count(p), 0);
		memset(p, 0xab, size); /* all of it is ours (ASan checks) */
		weft_arc_drop(p);
	}
	obj *o = new_obj(&calls);
	weft_arc_drop(o);
	cr_assert_eq(calls, 1);
}

Test(arc, clone_and_drop_count_and_destroy_once)
{
	int calls = 0;
	obj *o = new_obj(&calls);
	cr_assert_eq(weft_arc_clone(o), o);
	cr_assert_eq(weft_arc_clone(o), o);
	cr_assert_eq(weft_arc_strong_count(o), 3);
	weft_arc_drop(o);
	weft_arc_drop(o);
	cr_assert_eq(calls, 0);
	cr_assert_eq(o->value, 42);
	weft_arc_drop(o);
	cr_assert_eq(calls, 1, "destructor at the last strong drop");
}

Test(arc, weak_keeps_memory_not_value)
{
	int calls = 0;
	obj *o = new_obj(&calls);
	weft_weak *w = weft_arc_downgrade(o);
	cr_assert_not_null(w);
	cr_assert_eq(weft_arc_weak_count(o), 1);
	cr_assert_eq(weft_weak_clone(w), w);
	cr_assert_eq(weft_arc_weak_count(o), 2);
	weft_weak_drop(w);

	obj *u = weft_weak_upgrade(w);
	cr_assert_eq(u, o, "upgrade of a live value");
	cr_assert_eq(weft_arc_strong_count(o), 2);
	cr_assert_eq(weft_weak_strong_count(w), 2);
	weft_arc_drop(u);
	weft_arc_drop(o);
	cr_assert_eq(calls, 1);
	cr_assert_eq(weft_weak_strong_count(w), 0);
	cr_assert_null(weft_weak_upgrade(w), "value gone: no resurrection");
	cr_assert_null(weft_weak_upgrade(w));
	weft_weak_drop(w); /* frees (ASan: exactly once, no leak) */
}

Test(arc, weak_dropped_first_then_strong_frees)
{
	int calls = 0;
	obj *o = new_obj(&calls);
	weft_weak *w = weft_arc_downgrade(o);
	weft_weak_drop(w);
	cr_assert_eq(weft_arc_weak_count(o), 0);
	weft_arc_drop(o); /* destroys and frees */
	cr_assert_eq(calls, 1);
}

Test(arc, destructor_gets_the_data_and_upgrade_inside_it_fails)
{
	int calls = 0;
	obj *o = new_obj(&calls);
	o->self = weft_arc_downgrade(o);
	weft_weak *w = weft_weak_clone(o->self);
	weft_weak *self = o->self;
	weft_arc_drop(o);
	cr_assert_eq(calls, 1);
	/* the memory lives on (we hold w): read what the destructor saw */
	obj *dead = (obj *)((char *)(void *)w + sizeof(weft__arc));
	cr_assert_eq(dead->seen_by_dtor, (void *)dead);
	cr_assert_null(dead->upgraded_in_dtor, "upgrade during the destructor");
	weft_weak_drop(self);
	weft_weak_drop(w);
}

Test(arc, null_is_accepted_everywhere)
{
	cr_assert_null(weft_arc_clone(NULL));
	weft_arc_drop(NULL);
	cr_assert_null(weft_arc_downgrade(NULL));
	cr_assert_null(weft_weak_upgrade(NULL));
	cr_assert_null(weft_weak_clone(NULL));
	weft_weak_drop(NULL);
	cr_assert_eq(weft_arc_strong_count(NULL), 0);
	cr_assert_eq(weft_arc_weak_count(NULL), 0);
	cr_assert_eq(weft_weak_strong_count(NULL), 0);
}

Test(arc, impossible_size_is_enomem)
{
	errno = 0;
	cr_assert_null(weft_arc_new(SIZE_MAX, NULL));
	cr_assert_eq(errno, ENOMEM);
	errno = 0;
	cr_assert_null(weft_arc_new(SIZE_MAX - sizeof(weft__arc) + 1, NULL));
	cr_assert_eq(errno, ENOMEM);
}

/* A count past SIZE_MAX / 2 (a leak of 2^63 references) aborts, in every
 * build, rather than wrapping to a premature free. */
Test(arc, clone_overflow_aborts, .signal = SIGABRT)
{
	void *p = weft_arc_new(8, NULL);
	atomic_store(&((weft__arc *)((char *)p - sizeof(weft__arc)))->strong,
		     WEFT__ARC_MAX + 1);
	weft_arc_clone(p);
}

Test(arc, upgrade_overflow_aborts, .signal = SIGABRT)
{
	void *p = weft_arc_new(8, NULL);
	weft_weak *w = weft_arc_downgrade(p);
	atomic_store(&((weft__arc *)w)->strong, WEFT__ARC_MAX + 1);
	weft_weak_upgrade(w);
}

#ifdef WEFT_DEBUG
Test(arc, debug_foreign_pointer_aborts, .signal = SIGABRT)
{
	static struct {
		weft__arc fake; /* all zero: no magic */
		char data[16];
	} not_an_arc;
	weft_arc_clone(not_an_arc.data);
}
#endif
