/* ratelimit.c - one line per interval per kind of event. */
#include "ratelimit.h"

bool sp_ratelimit_pass(struct sp_ratelimit *rl, double now, unsigned long *skipped)
{
	if (rl->last && now - rl->last < rl->interval) {
		rl->skipped++;
		return false;
	}
	*skipped = rl->skipped;
	rl->skipped = 0;
	rl->last = now;
	return true;
}
