/*
 * tests/criterion_stress_runner.c - the Criterion runner for the stress
 * bodies: one parameterized test, one instance per registered case.
 *
 * The parameter is the case's index, not a pointer: Criterion runs each test
 * in a re-executed copy of this binary (a different PIE base), copying the
 * parameter bytes, so pointers into the parent's image would dangle.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "stress.h"

static void free_index(struct criterion_test_params *p)
{
	cr_free(p->params);
}

ParameterizedTestParameters(stress, case)
{
	size_t n = (size_t)(weft_stress_end() - weft_stress_begin());
	size_t *index = cr_malloc(n * sizeof *index);
	for (size_t i = 0; i < n; i++)
		index[i] = i;
	return cr_make_param_array(size_t, index, n, free_index);
}

ParameterizedTest(size_t *index, stress, case, .timeout = 120)
{
	const weft_stress_case *c = weft_stress_begin() + *index;
	weft_stress_result r;
	weft_stress_run_case(c, &r);
	cr_assert(r.ok, "stress/%s: %s", c->name, r.msg);
}
