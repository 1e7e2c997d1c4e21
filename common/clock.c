/* clock.c - the monotonic and wall clocks in seconds. */
#include "clock.h"

#include <time.h>

static double now(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double sp_now_mono(void)
{
	return now(CLOCK_MONOTONIC);
}

double sp_now_wall(void)
{
	return now(CLOCK_REALTIME);
}
