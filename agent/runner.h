/* runner.h - when to sync: at most once per min-sync-period after a change, a
 * full sync every sync-period, retries with exponential backoff after a failure
 * (kube-proxy's BoundedFrequencyRunner, on an explicit clock so tests drive it). */
#ifndef SP_AGENT_RUNNER_H
#define SP_AGENT_RUNNER_H

#include <stdbool.h>

struct sp_runner {
	double min_interval;	/* seconds between two syncs, at least */
	double max_interval;	/* seconds between two full syncs, at most */
	double last_run;	/* start of the last sync; -1 before the first */
	double last_full;	/* start of the last successful full sync */
	double retry_at;	/* after a failure: not before this */
	unsigned failures;	/* consecutive failed syncs */
	bool pending;		/* a change waits for a sync */
	bool full_pending;	/* the next sync must be full */
};

/* The first sync is due at once and is full. */
void sp_runner_init(struct sp_runner *r, double min_interval, double max_interval);
/* A change arrived; @full asks for a full sync (node change, SIGHUP). */
void sp_runner_request(struct sp_runner *r, bool full);
/* Absolute time at which the next sync is due (may be in the past). */
double sp_runner_deadline(const struct sp_runner *r);
/* True when a sync should run at @now; *@full tells which kind. */
bool sp_runner_due(const struct sp_runner *r, double now, bool *full);
/* Record a sync that started at @now. A failure schedules a retry with backoff
 * (base min-sync-period, at least 0.5 s, doubling, capped at sync-period) and
 * makes the retry full. */
void sp_runner_ran(struct sp_runner *r, double now, bool full, bool ok);

#endif
