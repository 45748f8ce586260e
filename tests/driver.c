/*
 * tests/driver.c - runs every registered stress case without
 * Criterion: the runner of the tsan build and of emulated targets.
 * Usage: weft_stress_driver [substring]   (runs the cases whose name matches)
 * Prints one line per case and ends with "N passed, N failed".
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stress.h"

/* A hung case (a lost wake-up, a deadlock) must fail, not stall CI. */
#define CASE_TIMEOUT_S 300

static const char *current_case;

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "FAIL stress case timed out (hang): ";
	write(STDOUT_FILENO, msg, sizeof msg - 1);
	write(STDOUT_FILENO, current_case, strlen(current_case));
	write(STDOUT_FILENO, "\n", 1);
	_exit(1);
}

int main(int argc, char **argv)
{
	signal(SIGALRM, on_alarm);
	const char *filter = argc > 1 ? argv[1] : NULL;
	unsigned passed = 0, failed = 0;
	for (const weft_stress_case *c = weft_stress_begin();
	     c != weft_stress_end(); c++) {
		if (filter && !strstr(c->name, filter))
			continue;
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		weft_stress_result r;
		current_case = c->name;
		alarm(CASE_TIMEOUT_S);
		weft_stress_run_case(c, &r);
		alarm(0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double ms = (t1.tv_sec - t0.tv_sec) * 1e3 +
			    (t1.tv_nsec - t0.tv_nsec) / 1e6;
		printf("%s stress/%s (%.0f ms)%s%s\n", r.ok ? "ok  " : "FAIL",
		       c->name, ms, r.ok ? "" : ": ", r.msg);
		fflush(stdout);
		r.ok ? passed++ : failed++;
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
