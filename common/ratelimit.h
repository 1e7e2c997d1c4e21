/* ratelimit.h - at most one log line per kind of event per interval, with a
 * count of the events the interval swallowed. The caller keeps one per kind. */
#ifndef SP_COMMON_RATELIMIT_H
#define SP_COMMON_RATELIMIT_H

#include <stdbool.h>

struct sp_ratelimit {
	double interval;	/* seconds between lines */
	double last;		/* monotonic time of the last line; 0: none yet */
	unsigned long skipped;	/* events since that line that were not logged */
};

/* Count one event at @now. True when it is to be logged; then *@skipped holds
 * how many were swallowed since the last line (say so in the line). */
bool sp_ratelimit_pass(struct sp_ratelimit *rl, double now, unsigned long *skipped);

#endif
