/* metrics.h - the agent's Prometheus metrics under kube-proxy's names, and their
 * text exposition. */
#ifndef SP_AGENT_METRICS_H
#define SP_AGENT_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct sp_store;

struct sp_histogram {
	const double *bounds;	/* upper bounds, ascending; +Inf implied */
	size_t n_bounds;
	uint64_t counts[128];	/* per bucket, not cumulative; [n_bounds] is +Inf */
	double sum;
	uint64_t count;
};

struct sp_metrics {
	struct sp_histogram sync;		/* every sync */
	struct sp_histogram sync_full;
	struct sp_histogram sync_partial;
	struct sp_histogram netprog;		/* trigger time → rules programmed */
	double last_sync_ts;			/* Unix seconds of the last successful sync */
	double last_queued_ts;			/* Unix seconds of the last queued change */
	uint64_t healthz_200, healthz_503, livez_200, livez_503;
	uint64_t sync_failures;			/* backend syncs that failed */
	uint64_t cleanup_failures;
	uint64_t source_errors;			/* bad objects and files */
	uint64_t source_restarts;		/* API watches restarted without progress */
	uint64_t no_local_internal;		/* ports with iTP Local and no local endpoint */
	uint64_t no_local_external;		/* ports with eTP Local and no local endpoint */
	double start_time;			/* process start, Unix seconds */
};

void sp_metrics_init(struct sp_metrics *m, double start_time);
void sp_histogram_observe(struct sp_histogram *h, double v);

/* The exposition text (text/plain; version=0.0.4), malloc'd; NULL + errno on
 * failure. @mode is the proxy mode; @st supplies the change counters. */
char *sp_metrics_render(const struct sp_metrics *m, const struct sp_store *st, const char *mode);

#endif
