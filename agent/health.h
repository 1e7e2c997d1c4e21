/* health.h - kube-proxy's /healthz and /livez answer: healthy while no change has
 * waited longer than 2 × sync-period for a successful sync and the backend
 * says it can serve, never before the first sync. */
#ifndef SP_AGENT_HEALTH_H
#define SP_AGENT_HEALTH_H

#include <stdbool.h>

struct sp_health_state {
	double timeout;		/* 2 × sync-period, seconds */
	double last_updated;	/* last successful sync (Unix time); 0 before the first */
	double oldest_pending;	/* first change queued since then; 0 if none */
	bool node_eligible;	/* false while this node is being deleted */
	bool backend_ok;	/* the dataplane says it can serve (ops->health) */
	char backend_detail[256];	/* why not; when healthy, what it does not serve */
};

void sp_health_init(struct sp_health_state *h, double sync_period);
void sp_health_queued(struct sp_health_state *h, double now);
void sp_health_updated(struct sp_health_state *h, double now);
bool sp_health_ok(const struct sp_health_state *h, double now);

/* The response body and status: kube-proxy's JSON with lastUpdated, currentTime,
 * nodeEligible (healthz only) and per-family status. Returns a malloc'd string
 * (NULL + errno on failure) and the HTTP code in *@code (200 or 503). */
char *sp_health_body(const struct sp_health_state *h, double now, bool livez, int *code);

#endif
