/*
 * tests/stress.h - one body per stress test, several runners.
 *
 * A stress test is a plain C function: configuration in (the case), an
 * invariant checked, a verdict out. WEFT_STRESS_CASE puts a descriptor in the
 * `weft_stress` linker section; two runners walk that section:
 *   - the Criterion suite (tests/criterion_stress_runner.c), release and asan builds;
 *   - the standalone driver (tests/driver.c), for the tsan build
 *     (Criterion 2.4 crashes under ThreadSanitizer) and for emulated targets.
 * Adding a case is one macro line; no runner changes.
 */
#ifndef WEFT_TESTS_STRESS_H
#define WEFT_TESTS_STRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct weft_stress_case weft_stress_case;

/* Verdict of one run: ok, or a message saying which invariant broke. */
typedef struct weft_stress_result {
	bool ok;
	char msg[256];
} weft_stress_result;

typedef void (*weft_stress_fn)(const weft_stress_case *c,
			       weft_stress_result *r);

struct weft_stress_case {
	const char *name;   /* "mutex_counter/8" */
	weft_stress_fn fn;
	unsigned threads;   /* worker threads (meaning is per test) */
	unsigned arg;       /* a second knob (consumers, batch...), per test */
	uint64_t base_ops;  /* operations at WEFT_STRESS_SCALE=1 */
};

#define WEFT_STRESS_CONCAT2(a, b) a##b
#define WEFT_STRESS_CONCAT(a, b) WEFT_STRESS_CONCAT2(a, b)
#define WEFT_STRESS_CASE(name_, fn_, threads_, arg_, ops_)                      \
	__attribute__((used, section("weft_stress"), aligned(8)))              \
	static const weft_stress_case WEFT_STRESS_CONCAT(stress_case_,         \
							 __COUNTER__) = {      \
		.name = (name_),                                               \
		.fn = (fn_),                                                   \
		.threads = (threads_),                                         \
		.arg = (arg_),                                                 \
		.base_ops = (ops_),                                            \
	}

/* The registered cases, in link order. */
const weft_stress_case *weft_stress_begin(void);
const weft_stress_case *weft_stress_end(void);

/* Operations for this case: base_ops scaled by WEFT_STRESS_SCALE (>= 1). */
uint64_t weft_stress_ops(const weft_stress_case *c);

/* Record a failure (first one wins); printf-style message. */
void weft_stress_fail(weft_stress_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Run fn(i, arg) on n threads released together; joins them all. */
void weft_stress_run_threads(unsigned n, void (*fn)(unsigned i, void *arg),
			     void *arg);

/* Run one case; r->ok tells the verdict. */
void weft_stress_run_case(const weft_stress_case *c, weft_stress_result *r);

#endif /* WEFT_TESTS_STRESS_H */
