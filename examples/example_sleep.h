/*
 * examples/example_sleep.h - the examples' "sleep one second": argv[1] or
 * the environment variable WEFT_EXAMPLE_SLEEP_MS gives the pause in
 * milliseconds instead (CI runs them with a few ms).
 */
#ifndef WEFT_EXAMPLE_SLEEP_H
#define WEFT_EXAMPLE_SLEEP_H

#include <stdlib.h>
#include <time.h>

static long example_sleep_ms = 1000;

static inline void example_sleep_init(int argc, char **argv)
{
	const char *s = argc > 1 ? argv[1] : getenv("WEFT_EXAMPLE_SLEEP_MS");
	if (s && atol(s) >= 0)
		example_sleep_ms = atol(s);
}

static inline void example_sleep(void)
{
	struct timespec ts = { example_sleep_ms / 1000, (example_sleep_ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

#endif
