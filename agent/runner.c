/* runner.c - bounded-frequency sync scheduling. */
#include "runner.h"

#include <math.h>
#include <string.h>

void sp_runner_init(struct sp_runner *r, double min_interval, double max_interval)
{
	memset(r, 0, sizeof(*r));
	r->min_interval = min_interval;
	r->max_interval = max_interval;
	r->last_run = -1;
	r->pending = true;
	r->full_pending = true;
}

void sp_runner_request(struct sp_runner *r, bool full)
{
	r->pending = true;
	r->full_pending |= full;
}

double sp_runner_deadline(const struct sp_runner *r)
{
	double periodic, change = INFINITY;

	if (r->last_run < 0)
		return 0;
	/* No full sync has succeeded yet: only the retry schedule applies. */
	periodic = r->last_full > 0 ? r->last_full + r->max_interval : INFINITY;
	if (r->pending)
		change = r->last_run + r->min_interval;
	if (r->failures)
		change = r->retry_at;
	return fmin(periodic, change);
}

bool sp_runner_due(const struct sp_runner *r, double now, bool *full)
{
	if (now < sp_runner_deadline(r))
		return false;
	*full = r->full_pending || r->last_run < 0 || r->last_full <= 0 ||
		now >= r->last_full + r->max_interval;
	return true;
}

void sp_runner_ran(struct sp_runner *r, double now, bool full, bool ok)
{
	double base = fmax(r->min_interval, 0.5), delay;

	r->last_run = now;
	if (ok) {
		r->failures = 0;
		r->pending = false;
		if (full) {
			r->full_pending = false;
			r->last_full = now;
		}
		return;
	}
	r->failures++;
	delay = base * pow(2, fmin(r->failures - 1, 16));
	r->retry_at = now + fmin(delay, r->max_interval);
	r->pending = true;
	r->full_pending = true;
}
