/* agent.c - the sync: store → model → backend, with timing, health and metrics. */
#include "agent.h"
#include "config.h"
#include "hcserver.h"
#include "http.h"
#include "loop.h"
#include "../common/hmap.h"
#include "../control/kubeconfig.h"
#include "../control/source_dir.h"
#include "../control/source_kube.h"

#include <errno.h>
#include <malloc.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

static void on_http(void *ctx, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	sp_http_run(ctx);
}

static void on_hc(void *ctx, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	sp_hcservers_run(ctx);
}

static void on_dir(void *ctx, int fd, uint32_t events)
{
	struct sp_agent *a = ctx;
	int e;

	(void)fd;
	(void)events;
	if ((e = sp_dir_source_process(a->dir)))
		sp_log_err(&a->log, "--manifests %s: %s", a->cfg.manifests, strerror(-e));
	sp_agent_note_changes(a);
}

static void on_kube(void *ctx, int fd, uint32_t events)
{
	struct sp_agent *a = ctx;

	(void)fd;
	(void)events;
	sp_kube_source_process(a->kube);
	/* No sync before every initial list is in. */
	if (sp_kube_source_synced(a->kube))
		sp_agent_source_synced(a);
	sp_agent_note_changes(a);
}

void sp_agent_tick(struct sp_agent *a)
{
	int e;

	if (a->dir && (e = sp_dir_source_tick(a->dir)))
		sp_log_err(&a->log, "--manifests %s: %s", a->cfg.manifests, strerror(-e));
	if (a->dir)
		sp_agent_note_changes(a);
	if (a->healthz)
		sp_http_run(a->healthz);
	if (a->metrics_http)
		sp_http_run(a->metrics_http);
	if (a->hc)
		sp_hcservers_run(a->hc);
}

void sp_agent_reread(struct sp_agent *a)
{
	int e;

	if (!a->dir)
		return;
	if ((e = sp_dir_source_rescan(a->dir)))
		sp_log_err(&a->log, "--manifests %s: %s", a->cfg.manifests, strerror(-e));
	sp_agent_note_changes(a);
}

/* Every fd of the agent's own parts on the loop. */
static int watch_parts(struct sp_agent *a)
{
	int e = 0;

	if (a->dir)
		e = sp_loop_add_fd(a->loop, sp_dir_source_fd(a->dir), EPOLLIN, on_dir, a);
	if (!e && a->kube)
		e = sp_loop_add_fd(a->loop, sp_kube_source_fd(a->kube), EPOLLIN, on_kube, a);
	if (!e && a->healthz)
		e = sp_loop_add_fd(a->loop, sp_http_fd(a->healthz), EPOLLIN, on_http, a->healthz);
	if (!e && a->metrics_http)
		e = sp_loop_add_fd(a->loop, sp_http_fd(a->metrics_http), EPOLLIN, on_http,
				   a->metrics_http);
	if (!e && a->hc)
		e = sp_loop_add_fd(a->loop, sp_hcservers_fd(a->hc), EPOLLIN, on_hc, a->hc);
	if (e)
		sp_log_err(&a->log, "event loop: %s", strerror(-e));
	return e;
}

void sp_agent_backend_cfg(const struct sp_config *cfg, const struct sp_log *log,
			  const struct sp_loop_hooks *loop, struct sp_backend_cfg *out)
{
	*out = (struct sp_backend_cfg){
		.node_name = cfg->hostname,
		.nodeport_primary = cfg->nodeport_primary,
		.nodeport_cidrs = cfg->nodeport_cidrs,
		.cluster_cidrs = cfg->cluster_cidrs,
		.masquerade_all = cfg->masquerade_all,
		.bpf_pin_path = cfg->bpf_pin_path,
		.cgroup_path = cfg->cgroup_path,
		.bpf_lb_map_max = cfg->bpf_lb_map_max,
		.bpf_ct_max = cfg->bpf_ct_max,
		.bpf_lb_algorithm = cfg->bpf_lb_algorithm,
		.bpf_maglev_table_size = cfg->bpf_maglev_table_size,
		.us_least_conns = cfg->us_least_conns,
		.log = log,
		.loop = loop,
	};
}

int sp_agent_cleanup(struct sp_agent *a)
{
	const struct sp_backend_ops *const *all = sp_backend_all();
	int err = 0;

	sp_agent_backend_cfg(&a->cfg, &a->log, NULL, &a->bcfg);
	for (size_t i = 0; all[i]; i++) {
		struct sp_backend be = { .ops = all[i], .cfg = &a->bcfg };
		int e;

		if (!all[i]->state)
			continue;	/* leaves nothing on the node */
		e = be.ops->open(&be, &a->bcfg, SP_OPEN_CLEANUP);

		if (!e) {
			e = be.ops->cleanup(&be);
			be.ops->close(&be);
		}
		if (e) {
			sp_log_err(&a->log, "cleanup: %s backend: %s", all[i]->name, strerror(-e));
			err = err ? err : e;
		} else {
			sp_log_debug(&a->log, "cleanup: %s backend: done", all[i]->name);
		}
	}
	return err;
}

static int start_http(struct sp_agent *a)
{
	if (a->cfg.healthz_bind[0]) {
		a->healthz = sp_http_new(a->cfg.healthz_bind, sp_agent_healthz, a, &a->log);
		if (!a->healthz) {
			sp_log_err(&a->log, "healthz server on %s: %s", a->cfg.healthz_bind,
				   strerror(errno));
			return -errno;
		}
	}
	if (a->cfg.metrics_bind[0]) {
		a->metrics_http = sp_http_new(a->cfg.metrics_bind, sp_agent_metrics, a, &a->log);
		if (!a->metrics_http) {
			sp_log_err(&a->log, "metrics server on %s: %s", a->cfg.metrics_bind,
				   strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/* How to reach the API server: --kubeconfig, else the in-cluster service
 * account; --master overrides the URL (alone, it is enough). */
static int kube_conn(const struct sp_config *cfg, struct sp_kube_conn *c, const struct sp_log *lg)
{
	struct sp_perr perr = {0};
	int e;

	if (cfg->kubeconfig[0]) {
		if ((e = sp_kubeconfig_load(cfg->kubeconfig, c, &perr))) {
			sp_log_err(lg, "--kubeconfig %s: %s%s%s", cfg->kubeconfig, perr.field,
				   perr.field[0] ? ": " : "", perr.msg);
			return e;
		}
	} else if ((e = sp_kube_incluster(getenv, SP_SERVICE_ACCOUNT_DIR, c, &perr))) {
		if (e != -ENOENT || !cfg->master[0]) {
			sp_log_err(lg, "no source: give --manifests DIR, --kubeconfig FILE or --master URL, or run "
				       "in a cluster (%s: %s)", perr.field, perr.msg);
			return e == -ENOENT ? -EINVAL : e;
		}
		memset(c, 0, sizeof(*c));
		if (!(c->source = strdup("--master")))
			return -ENOMEM;
	}
	if (cfg->master[0] && (e = sp_kube_set_master(c, cfg->master, &perr))) {
		char shown[1024];

		sp_kube_url_redact(cfg->master, shown, sizeof(shown));
		sp_log_err(lg, "--master %s: %s", shown, perr.msg);
		sp_kube_conn_fini(c);
		return e;
	}
	return 0;
}

static int start_kube(struct sp_agent *a)
{
	struct sp_kube_conn c;
	struct sp_kube_opts o = { .node_name = a->cfg.hostname, .watch_timeout = a->cfg.api_watch_timeout };
	int e;

	if ((e = kube_conn(&a->cfg, &c, &a->log)))
		return e;
	a->kube = sp_kube_source_new(&c, &a->store, &a->log, &o);
	sp_kube_conn_fini(&c);	/* empty when the source took it */
	return a->kube ? 0 : -ENOMEM;
}

int sp_agent_start(struct sp_agent *a)
{
	const struct sp_backend_ops *ops = sp_backend_find(a->cfg.mode);
	char summary[1024];
	int e;

	if (!ops) {
		sp_log_err(&a->log, "--mode %s: this backend is not built yet (built: %s)",
			   a->cfg.mode, sp_backend_names());
		return -ENOTSUP;
	}
	sp_metrics_init(&a->metrics, sp_now_wall());
	sp_health_init(&a->health, a->cfg.sync_period);
	sp_runner_init(&a->runner, a->cfg.min_sync_period, a->cfg.sync_period);
	/* dry-run programs nothing, so it replaces nothing either. */
	a->kp_pending = a->cfg.take_over_kube_proxy && strcmp(ops->name, "dry-run");
	if (!(a->loop = sp_loop_new())) {
		sp_log_err(&a->log, "event loop: %s", strerror(errno));
		return -errno;
	}
	sp_loop_hooks_init(&a->hooks, a->loop);
	sp_agent_backend_cfg(&a->cfg, &a->log, &a->hooks, &a->bcfg);
	if ((e = sp_store_init(&a->store, a->cfg.hostname)) || (e = sp_model_init(&a->model)) ||
	    (e = sp_change_init(&a->chg))) {
		sp_log_err(&a->log, "start: %s", strerror(-e));
		return e;
	}
	a->be.ops = ops;
	a->be.cfg = &a->bcfg;
	if ((e = ops->open(&a->be, &a->bcfg, SP_OPEN_AGENT))) {
		/* One line naming what is missing (the backend's words when it
		 * has them); it cannot work here. */
		sp_log_err(&a->log, "--mode %s: cannot start: %s", ops->name,
			   a->be.open_err[0] ? a->be.open_err : strerror(-e));
		return -ENOTSUP;
	}
	a->be_ready = true;
	if (!a->cfg.manifests[0] && (e = start_kube(a)))
		return e;
	if (a->cfg.manifests[0] && !(a->dir = sp_dir_source_new(a->cfg.manifests, &a->store, &a->log))) {
		e = -errno;
		sp_log_err(&a->log, "--manifests %s: %s", a->cfg.manifests, strerror(-e));
		return e;
	}
	if ((e = start_http(a)))
		return e;
	/* dry-run binds nothing but the health and metrics addresses it was given. */
	a->hc = strcmp(ops->name, "dry-run") ? sp_hcservers_new(&a->log) : NULL;
	if (!a->hc && strcmp(ops->name, "dry-run")) {
		e = -errno;
		sp_log_err(&a->log, "health check servers: %s", strerror(-e));
		return e;
	}
	if ((e = watch_parts(a)))
		return e;
	sp_log_info(&a->log, "settings: %s", sp_config_summary(&a->cfg, summary, sizeof(summary)));
	if (a->kube) {
		sp_log_info(&a->log, "started: mode %s, node %s, Kubernetes API source; first sync after the initial lists",
			    ops->name, a->cfg.hostname);
		return 0;
	}
	if ((e = sp_dir_source_load_all(a->dir))) {
		sp_log_err(&a->log, "--manifests %s: %s", a->cfg.manifests, strerror(-e));
		return e;
	}
	sp_agent_source_synced(a);
	sp_agent_note_changes(a);
	sp_log_info(&a->log, "started: mode %s, node %s, manifests %s", ops->name,
		    a->cfg.hostname, a->cfg.manifests);
	return 0;
}

void sp_agent_stop(struct sp_agent *a)
{
	sp_http_free(a->healthz);
	sp_http_free(a->metrics_http);
	sp_hcservers_free(a->hc);
	a->hc = NULL;
	sp_dir_source_free(a->dir);
	sp_kube_source_free(a->kube);
	a->kube = NULL;
	if (a->be_ready)
		a->be.ops->close(&a->be);
	sp_change_fini(&a->chg);
	sp_model_fini(&a->model);
	sp_loop_free(a->loop);
	a->loop = NULL;
	sp_store_fini(&a->store);
	a->healthz = a->metrics_http = NULL;
	a->dir = NULL;
	a->be_ready = false;
}

void sp_agent_source_synced(struct sp_agent *a)
{
	struct rusage ru;

	if (a->source_synced)
		return;
	a->source_synced = true;
	getrusage(RUSAGE_SELF, &ru);
	sp_log_info(&a->log, "source synced: %zu services, %zu endpoint slices; CPU %.3f s, max RSS %ld MiB",
		    sp_hmap_len(a->store.services), sp_hmap_len(a->store.slices),
		    (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
			    ru.ru_stime.tv_usec / 1e6,
		    ru.ru_maxrss / 1024);
}

void sp_agent_note_changes(struct sp_agent *a)
{
	if (a->dir)
		a->metrics.source_errors = sp_dir_source_errors(a->dir);
	if (a->kube) {
		a->metrics.source_errors = sp_kube_source_errors(a->kube);
		a->metrics.source_restarts = sp_kube_source_restarts(a->kube);
	}
	if (a->store.node)
		a->health.node_eligible = !a->store.node->deleting;
	if (a->store.generation == a->seen_generation)
		return;
	a->seen_generation = a->store.generation;
	sp_runner_request(&a->runner, a->store.node_changed);
	a->store.node_changed = false;
	sp_health_queued(&a->health, sp_now_wall());
	a->metrics.last_queued_ts = sp_now_wall();
}

/* The services to rewrite: those the store marked, or for a full sync every
 * service in the store and every one the model still holds. */
static struct sp_hmap *collect_dirty(struct sp_agent *a, bool full)
{
	struct sp_hmap *d;
	struct sp_hmap_iter it = {0};

	if (full && sp_store_mark_all(&a->store))
		return NULL;
	d = sp_store_take_dirty(&a->store);
	if (!d || !full)
		return d;
	while (sp_hmap_next(a->model.by_service, &it)) {
		if (sp_hmap_put(d, it.key, (void *)1, NULL)) {
			sp_hmap_free(d);
			return NULL;
		}
	}
	return d;
}

/* Network programming latency: each service's earliest pending trigger time
 * to now, as kube-proxy measures it. */
static void observe_triggers(struct sp_agent *a, const struct sp_hmap *dirty, double wall)
{
	struct sp_hmap_iter it = {0};

	while (sp_hmap_next(dirty, &it)) {
		double *t = sp_hmap_del(a->store.triggers, it.key);

		if (!t)
			continue;
		if (wall >= *t)
			sp_histogram_observe(&a->metrics.netprog, wall - *t);
		free(t);
	}
}

/* The backend's view of its health, for /healthz and the health-check
 * node-port servers. */
static bool backend_healthy(struct sp_agent *a)
{
	struct sp_health h = { .ok = false };
	int e = a->be.ops->health(&a->be, &h);

	if (e)
		snprintf(h.detail, sizeof(h.detail), "%s", strerror(-e));
	if (!h.ok && (a->health.backend_ok || strcmp(a->health.backend_detail, h.detail)))
		sp_log_warn(&a->log, "%s backend unhealthy: %s", a->be.ops->name, h.detail);
	a->health.backend_ok = !e && h.ok;
	snprintf(a->health.backend_detail, sizeof(a->health.backend_detail), "%s", h.detail);
	return a->health.backend_ok;
}

int sp_agent_sync(struct sp_agent *a, bool full)
{
	double start = sp_now_mono(), dur;
	struct sp_hmap *dirty;
	int e;

	dirty = collect_dirty(a, full);
	if (!dirty) {
		sp_log_err(&a->log, "sync: out of memory collecting changes");
		sp_runner_ran(&a->runner, start, full, false);
		return -ENOMEM;
	}
	e = sp_model_update(&a->model, &a->store, dirty, &a->chg);
	if (e) {
		sp_log_err(&a->log, "sync: building the model: %s", strerror(-e));
	} else if ((e = a->be.ops->sync(&a->be, &a->model, &a->chg, full))) {
		/* The backend named the object in its own log line; this one says
		 * what happens next. */
		a->metrics.sync_failures++;
		sp_log_err(&a->log, "sync: %s backend failed (%s); previous rules stay in force, retrying",
			   a->be.ops->name, strerror(-e));
	}
	sp_runner_ran(&a->runner, start, full, e == 0);
	dur = sp_now_mono() - start;
	if (e == 0) {
		double wall = sp_now_wall();
		size_t n_changed = a->chg.n;

		sp_model_commit(&a->model, &a->chg);
		if (a->hc)
			sp_hcservers_update(a->hc, &a->model, backend_healthy(a));
		sp_histogram_observe(&a->metrics.sync, dur);
		sp_histogram_observe(full ? &a->metrics.sync_full : &a->metrics.sync_partial, dur);
		a->metrics.last_sync_ts = wall;
		observe_triggers(a, dirty, wall);
		sp_health_updated(&a->health, wall);
		sp_log_info(&a->log, "sync: %s, %zu service ports, %zu services changed, %zu ports changed, %.3f ms",
			    full ? "full" : "partial", sp_hmap_len(a->model.ports),
			    sp_hmap_len(dirty), n_changed, dur * 1e3);
		/* svcplane's rules are in place: only now may kube-proxy's go
		 * (a failure is retried after the next successful sync). */
		if (a->kp_pending)
			a->kp_pending = sp_kube_proxy_remove(&a->log) != 0;
		/* A full sync (and the initial load before it) frees large
		 * transient structures (parsed manifests, batches): give the memory
		 * back rather than keep it in malloc's arenas. */
		if (full) {
			malloc_trim(0);
			sp_log_debug(&a->log, "memory: %zu KiB in use by malloc",
				     mallinfo2().uordblks / 1024);
		}
	}
	if (e && a->hc)
		sp_hcservers_update(a->hc, &a->model, backend_healthy(a));
	sp_hmap_free(dirty);
	return e;
}

int sp_agent_healthz(void *ctx, const char *path, struct sp_http_reply *r)
{
	struct sp_agent *a = ctx;
	bool livez = !strcmp(path, "/livez");

	if (strcmp(path, "/healthz") && !livez) {
		r->code = 404;
		r->body = strdup("404 page not found\n");
		return r->body ? 0 : -ENOMEM;
	}
	r->body = sp_health_body(&a->health, sp_now_wall(), livez, &r->code);
	if (!r->body)
		return -ENOMEM;
	r->ctype = "application/json";
	if (livez)
		*(r->code == 200 ? &a->metrics.livez_200 : &a->metrics.livez_503) += 1;
	else
		*(r->code == 200 ? &a->metrics.healthz_200 : &a->metrics.healthz_503) += 1;
	return 0;
}

/* Ports whose Local policy has no local endpoint to send to (kube-proxy's
 * sync_proxy_rules_no_local_endpoints_total gauge). */
static void count_no_local(struct sp_agent *a)
{
	struct sp_hmap_iter it = {0};

	a->metrics.no_local_internal = a->metrics.no_local_external = 0;
	while (sp_hmap_next(a->model.ports, &it)) {
		const struct sp_svc_port *p = it.value;

		if (sp_svc_port_uses_local(p) && p->has_any && p->n_local == 0) {
			a->metrics.no_local_internal += p->itp == SP_POLICY_LOCAL;
			a->metrics.no_local_external +=
				p->etp == SP_POLICY_LOCAL && sp_svc_port_external(p);
		}
	}
}

/* @text with the backend's gauges appended (Prometheus text; a family's HELP
 * and TYPE once, before its first sample). Frees @text; NULL on failure. */
static char *backend_gauges(struct sp_agent *a, char *text)
{
	struct sp_gauge *g = NULL;
	size_t max = 64;
	char *out = NULL;
	size_t len = 0;
	FILE *f;
	int n;

	/* A backend may have many (per service port): grow until they fit. */
	for (;;) {
		struct sp_gauge *v = realloc(g, max * sizeof(*v));

		if (!v) {
			free(g);
			free(text);
			return NULL;
		}
		g = v;
		n = a->be.ops->gauges(&a->be, g, max);
		if (n < (int)max)
			break;
		max *= 4;
	}
	if (n <= 0) {
		free(g);
		return text;
	}
	if (!(f = open_memstream(&out, &len))) {
		free(g);
		free(text);
		return NULL;
	}
	fputs(text, f);
	free(text);
	/* Each family's samples together, after its HELP and TYPE. */
	for (int i = 0; i < n; i++) {
		bool first = true;

		for (int j = 0; j < i && first; j++)
			first = strcmp(g[j].name, g[i].name) != 0;
		if (!first)
			continue;
		fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", g[i].name, g[i].help, g[i].name);
		for (int j = i; j < n; j++) {
			if (strcmp(g[j].name, g[i].name))
				continue;
			if (g[j].label)
				fprintf(f, "%s{%s=\"%s\"} %.17g\n", g[j].name, g[j].label,
					g[j].label_value, g[j].value);
			else
				fprintf(f, "%s %.17g\n", g[j].name, g[j].value);
		}
	}
	free(g);
	if (fclose(f)) {
		free(out);
		return NULL;
	}
	return out;
}

int sp_agent_metrics(void *ctx, const char *path, struct sp_http_reply *r)
{
	struct sp_agent *a = ctx;

	if (!strcmp(path, "/metrics")) {
		count_no_local(a);
		r->body = sp_metrics_render(&a->metrics, &a->store, a->be.ops->name);
		r->ctype = "text/plain; version=0.0.4; charset=utf-8";
		if (r->body && a->be.ops->gauges)
			r->body = backend_gauges(a, r->body);
	} else if (!strcmp(path, "/proxyMode")) {
		r->body = strdup(a->be.ops->name);
	} else if (!strcmp(path, "/model")) {
		r->body = sp_model_to_text(&a->model, false);
		r->ctype = "application/json";
	} else {
		r->code = 404;
		r->body = strdup("404 page not found\n");
	}
	return r->body ? 0 : -ENOMEM;
}
