/* agent.h - one running agent: its source, store, model, backend, schedule,
 * health and metrics, and the sync that ties them together. */
#ifndef SP_AGENT_AGENT_H
#define SP_AGENT_AGENT_H

#include <stdbool.h>

#include "../common/clock.h"
#include "../common/config.h"
#include "../common/log.h"
#include "../control/model.h"
#include "../control/store.h"
#include "../dataplane/backend.h"
#include "health.h"
#include "metrics.h"
#include "runner.h"

struct sp_dir_source;
struct sp_kube_source;
struct sp_hcservers;
struct sp_http;
struct sp_http_reply;

struct sp_loop;

struct sp_agent {
	struct sp_config cfg;
	struct sp_log log;
	struct sp_store store;
	struct sp_model model;
	struct sp_change chg;		/* what the backend has not synced yet */
	struct sp_loop *loop;
	struct sp_loop_hooks hooks;	/* the loop as the backend sees it */
	struct sp_backend_cfg bcfg;	/* what the backend is told (from cfg) */
	struct sp_backend be;
	bool be_ready;			/* be.ops->open succeeded */
	struct sp_dir_source *dir;	/* --manifests source, or NULL */
	struct sp_kube_source *kube;	/* the Kubernetes API source, or NULL */
	struct sp_runner runner;
	struct sp_health_state health;
	struct sp_metrics metrics;
	struct sp_http *healthz;
	struct sp_http *metrics_http;
	struct sp_hcservers *hc;	/* healthCheckNodePort servers */
	uint64_t seen_generation;	/* store generation already queued */
	bool source_synced;		/* every source finished its initial load */
	bool kp_pending;		/* --take-over-kube-proxy not done yet */
};


/* Set up everything from @a->cfg (already loaded): loop, store, model,
 * backend, sources, HTTP servers, each registered with the loop. Returns 0
 * or -errno (logged). */
int sp_agent_start(struct sp_agent *a);
void sp_agent_stop(struct sp_agent *a);

/* --cleanup: every backend removes what svcplane ever installed with it.
 * Returns 0, or the first -errno (each failure logged). */
int sp_agent_cleanup(struct sp_agent *a);

/* After each round of the loop (at least once a second): HTTP servers expire
 * idle connections; a removed manifest directory is looked for again. */
void sp_agent_tick(struct sp_agent *a);
/* SIGHUP: read the manifest directory again from scratch (watching it anew). */
void sp_agent_reread(struct sp_agent *a);

/* The backend's narrow configuration from the agent's settings. */
void sp_agent_backend_cfg(const struct sp_config *cfg, const struct sp_log *log,
			  const struct sp_loop_hooks *loop, struct sp_backend_cfg *out);

/* Every source finished its initial load: syncs may run now (logged once,
 * with the CPU and memory the load took). */
void sp_agent_source_synced(struct sp_agent *a);

/* Note store changes since the last call: queue a sync (full after a node
 * change), update health and metrics. */
void sp_agent_note_changes(struct sp_agent *a);

/* Run one sync now: model from store, then the backend. Returns 0 or -errno. */
int sp_agent_sync(struct sp_agent *a, bool full);

/* HTTP handlers (ctx is the agent). */
int sp_agent_healthz(void *ctx, const char *path, struct sp_http_reply *r);
int sp_agent_metrics(void *ctx, const char *path, struct sp_http_reply *r);

#endif
