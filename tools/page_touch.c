/*
 * tools/page_touch.c - what a process's first touch of a fresh page costs
 * on this machine: as a plain page fault, and after the kernel has already
 * populated the page (MAP_POPULATE), beside a second touch. On a PVM guest
 * (dmesg: "Hypervisor detected: PVM") the populated page still costs
 * microseconds at its first user access: the hypervisor maps it then. This
 * is the floor of the rt/sleepers_100k row (one stack page per live task;
 * docs/tuning.md, "100k sleepers").
 *
 *   cc -O2 -o /tmp/page_touch tools/page_touch.c && /tmp/page_touch
 */
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>

#define PAGES 100000
#define PAGE 4096

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static char *map(int flags)
{
	char *p = mmap(NULL, (size_t)PAGES * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static double touch_all(char *p, char v)
{
	double t = now_us();
	for (size_t i = 0; i < PAGES; i++)
		((volatile char *)p)[i * PAGE] = v;
	return (now_us() - t) / PAGES;
}

int main(void)
{
	for (int round = 0; round < 3; round++) {
		char *faulted = map(0);
		double t = now_us();
		char *populated = map(MAP_POPULATE);
		double populate = (now_us() - t) / PAGES;
		if (!faulted || !populated)
			return 1;
		double fault = touch_all(faulted, 1);
		double first = touch_all(populated, 1);
		double second = touch_all(populated, 2);
		printf("us per page: fault %.2f | populate %.2f, then first touch %.2f, "
		       "second touch %.3f\n", fault, populate, first, second);
		munmap(faulted, (size_t)PAGES * PAGE);
		munmap(populated, (size_t)PAGES * PAGE);
	}
	return 0;
}
