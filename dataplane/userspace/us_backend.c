/* us_backend.c - the userspace forwarder's ops: a sync turns each changed
 * service port into endpoint pools and listeners (addresses added to
 * svcplane0 before their sockets bind, removed after), writes the state file
 * svcplanectl reads back, and exports per-port counters. Atomicity: a port
 * is switched on the agent's one thread between two events, so no
 * connection ever sees a half-updated port. */
#include "us_backend.h"
#include "us_addrs.h"
#include "us_flows.h"
#include "us_fwd.h"
#include "us_state.h"
#include "../netlink/node_addrs.h"
#include "../../common/clock.h"
#include "../../common/hmap.h"
#include "../../common/log.h"

#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define FDS_PER_CONN 8		/* 2 sockets + 2 pipes, and a UDP flow's socket, with room */
#define FDS_RESERVED 1024	/* the agent's own, listeners */

struct us_be {
	const struct sp_backend_cfg *cfg;
	enum sp_open_mode mode;
	struct us_link *link;		/* agent: once the first sync made it */
	struct us_fwd fwd;
	bool fwd_ready;
	struct sp_hmap *svcs;		/* port key → struct us_svc */
	struct sp_hmap *lis;		/* listener name → struct us_lis */
	int lock_fd;
	bool synced;
	struct sp_node_addrs node[2];	/* IPv4, IPv6: where NodePorts listen */
	/* Gauge label strings live until the next gauges call. */
	struct sp_gauge *g;
};

/* Enough descriptors for US_MAX_CONNS_CAP connections when the process may
 * raise its hard limit (root), else what the hard limit allows. Returns the
 * connections that fit. */
static size_t raise_nofile(const struct sp_log *lg)
{
	rlim_t want = (rlim_t)US_MAX_CONNS_CAP * FDS_PER_CONN + FDS_RESERVED;
	struct rlimit r;
	size_t n;

	if (getrlimit(RLIMIT_NOFILE, &r) == -1)
		r.rlim_cur = r.rlim_max = 1024;
	if (r.rlim_cur < want) {
		struct rlimit w = { want, want > r.rlim_max ? want : r.rlim_max };

		if (setrlimit(RLIMIT_NOFILE, &w) == 0) {
			r = w;
		} else {
			r.rlim_cur = r.rlim_max;
			setrlimit(RLIMIT_NOFILE, &r);
			getrlimit(RLIMIT_NOFILE, &r);
		}
	}
	n = r.rlim_cur > FDS_RESERVED + FDS_PER_CONN ? (r.rlim_cur - FDS_RESERVED) / FDS_PER_CONN : 1;
	if (n > US_MAX_CONNS_CAP)
		n = US_MAX_CONNS_CAP;
	sp_log_info(lg, "userspace: RLIMIT_NOFILE %llu: at most %zu TCP connections and %zu UDP flows",
		    (unsigned long long)r.rlim_cur, n, n);
	return n;
}

static void sctp_check(const struct sp_log *lg)
{
	int fd = socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP);

	if (fd == -1) {
		sp_log_warn(lg, "userspace: this kernel has no SCTP sockets (%s): SCTP service ports "
				"are not served; TCP and UDP are", strerror(errno));
		return;
	}
	close(fd);
	sp_log_warn(lg, "userspace: SCTP service ports are not served by the forwarder yet");
}

static int us_open(struct sp_backend *be_, const struct sp_backend_cfg *cfg, enum sp_open_mode mode)
{
	struct us_be *be = calloc(1, sizeof(*be));
	int e;

	if (!be)
		return -ENOMEM;
	be->cfg = cfg;
	be->mode = mode;
	be->lock_fd = -1;
	be_->priv = be;
	if (mode != SP_OPEN_AGENT)
		return 0;
	if (!cfg->loop) {
		e = -EINVAL;
		goto err;
	}
	if ((e = us_state_lock(&be->lock_fd))) {
		sp_log_err(cfg->log, "userspace: %s/: %s%s", US_STATE_DIR, strerror(-e),
			   e == -EBUSY ? " (another userspace agent serves this network namespace)" : "");
		goto err;
	}
	if (!(be->svcs = sp_hmap_new()) || !(be->lis = sp_hmap_new())) {
		e = -ENOMEM;
		goto err;
	}
	if ((e = us_fwd_init(&be->fwd, cfg->log, cfg->loop, raise_nofile(cfg->log))))
		goto err;
	be->fwd_ready = true;
	sctp_check(cfg->log);
	return 0;
err:
	be_->ops->close(be_);
	return e;
}

/* The link is the state: the agent makes it before it writes a state file,
 * and --cleanup removes both. A state file alone is not: it may be named
 * after the inode of a namespace that is gone and reused since. */
static int us_present(struct sp_backend *be_)
{
	(void)be_;
	return us_link_exists();
}

/* --- one service port ----------------------------------------------------------- */

struct lspec {
	struct sp_addr addr;
	uint16_t port;
	bool external, vip;
};

static void lis_name(const struct sp_addr *a, uint16_t port, uint8_t proto, char *buf, size_t sz)
{
	char ip[SP_ADDRSTRLEN];

	sp_addr_str(a, ip);
	snprintf(buf, sz, a->family == AF_INET6 ? "[%s]:%u/%s" : "%s:%u/%s", ip, port,
		 sp_proto_name(proto));
}

static int add_spec(struct lspec **v, size_t *n, const struct sp_addr *a, uint16_t port,
		    bool external, bool vip)
{
	struct lspec *nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] = (struct lspec){ .addr = *a, .port = port, .external = external, .vip = vip };
	nv[*n].addr.prefix_len = (uint8_t)sp_addr_bits(a->family);
	(*n)++;
	return 0;
}

/* The listeners @p wants: ClusterIPs (internal list), external and LB IPs
 * and NodePorts on the node addresses (external list). */
static int port_specs(const struct us_be *be, const struct sp_svc_port *p, struct lspec **v, size_t *n)
{
	const struct sp_node_addrs *na = &be->node[p->family == AF_INET6];
	int e = 0;

	*v = NULL;
	*n = 0;
	for (size_t i = 0; !e && i < p->cluster_ips.n; i++)
		e = add_spec(v, n, &p->cluster_ips.v[i], p->port, false, true);
	for (size_t i = 0; !e && i < p->external_ips.n; i++)
		e = add_spec(v, n, &p->external_ips.v[i], p->port, true, true);
	for (size_t i = 0; !e && i < p->lb_ips.n; i++)
		e = add_spec(v, n, &p->lb_ips.v[i], p->port, true, true);
	for (int i = 0; !e && p->node_port && i < na->n; i++)
		e = add_spec(v, n, &na->v[i], p->node_port, true, false);
	return e;
}

static int set_pool(struct us_pool *pool, const struct sp_endpoint *const *eps, size_t n)
{
	struct us_ep *v = calloc(n + 1, sizeof(*v));
	int e;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		v[i].addr = eps[i]->addr;
		v[i].addr.prefix_len = (uint8_t)sp_addr_bits(v[i].addr.family);
		v[i].port = eps[i]->port;
	}
	e = us_pool_set(pool, v, n);
	free(v);
	return e;
}

static void drop_lis(struct us_be *be, struct us_svc *s, size_t i)
{
	struct us_lis *l = s->lis[i];

	sp_hmap_del(be->lis, l->name);
	us_lis_free(l);
	s->lis[i] = s->lis[--s->nlis];
}

static void remove_svc(struct us_be *be, const char *key)
{
	struct us_svc *s = sp_hmap_del(be->svcs, key);

	if (!s)
		return;
	while (s->nlis)
		drop_lis(be, s, s->nlis - 1);
	us_svc_put(s);		/* connections still open keep it */
}

static bool spec_has(const struct lspec *v, size_t n, const struct us_lis *l)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].port == l->port && v[i].external == l->external &&
		    !sp_addr_cmp(&v[i].addr, &l->addr))
			return true;
	return false;
}

/* Make the forwarder serve @p as the model says. Returns 0 or -errno of an
 * address or allocation (a listener that cannot bind is logged, not
 * fatal: the rest of the port is served). */
static int apply_port(struct us_be *be, const struct sp_svc_port *p)
{
	struct us_svc *s = sp_hmap_get(be->svcs, p->key);
	struct sp_ep_sets sets;
	struct lspec *spec = NULL;
	struct sp_addr *vips = NULL;
	size_t nspec = 0, nvips = 0;
	int e;

	if (p->protocol != IPPROTO_TCP && p->protocol != IPPROTO_UDP) {
		remove_svc(be, p->key);		/* SCTP: not served (logged at start) */
		return 0;
	}
	if (!s) {
		if (!(s = calloc(1, sizeof(*s))) || !(s->key = strdup(p->key))) {
			free(s);
			return -ENOMEM;
		}
		s->proto = p->protocol;
		s->family = p->family;
		s->refs = 1;
		if (sp_hmap_put(be->svcs, p->key, s, NULL)) {
			us_svc_put(s);
			return -ENOMEM;
		}
	}
	if ((e = sp_svc_port_ep_sets(p, &sets)))
		return e;
	e = set_pool(&s->internal, p->itp == SP_POLICY_LOCAL ? sets.local : sets.cluster,
		     p->itp == SP_POLICY_LOCAL ? sets.n_local : sets.n_cluster);
	if (!e)
		e = set_pool(&s->external, p->etp == SP_POLICY_LOCAL ? sets.local : sets.cluster,
			     p->etp == SP_POLICY_LOCAL ? sets.n_local : sets.n_cluster);
	sp_ep_sets_fini(&sets);
	if (e)
		return e;
	if (p->affinity_client_ip && !s->aff && !(s->aff = us_affinity_new(p->affinity_timeout)))
		return -ENOMEM;
	if (p->affinity_client_ip)
		us_affinity_set_timeout(s->aff, p->affinity_timeout);
	if (!p->affinity_client_ip) {
		us_affinity_free(s->aff);
		s->aff = NULL;
	}
	if ((e = port_specs(be, p, &spec, &nspec)))
		goto out;
	/* Addresses first: a socket binds only to a local address. */
	if (!(vips = calloc(nspec + 1, sizeof(*vips)))) {
		e = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nspec; i++)
		if (spec[i].vip)
			vips[nvips++] = spec[i].addr;
	if ((e = us_link_add(be->link, vips, nvips)))
		goto out;
	for (size_t i = s->nlis; i-- > 0;)
		if (!spec_has(spec, nspec, s->lis[i]))
			drop_lis(be, s, i);
	for (size_t i = 0; i < nspec; i++) {
		char name[80];
		struct us_lis *l, **v;

		lis_name(&spec[i].addr, spec[i].port, p->protocol, name, sizeof(name));
		if ((l = sp_hmap_get(be->lis, name))) {
			if (l->svc != s)
				sp_log_warn(be->cfg->log, "userspace: %s is %s's already: not served for %s",
					    name, l->svc->key, p->key);
			continue;
		}
		if (!(l = calloc(1, sizeof(*l))) || !(v = realloc(s->lis, (s->nlis + 1) * sizeof(*v)))) {
			free(l);
			e = -ENOMEM;
			goto out;
		}
		s->lis = v;
		*l = (struct us_lis){ .fwd = &be->fwd, .svc = s, .external = spec[i].external,
				      .id = ++be->fwd.next_lis_id, .addr = spec[i].addr,
				      .port = spec[i].port, .proto = p->protocol, .fd = -1,
				      .vip = spec[i].vip };
		snprintf(l->name, sizeof(l->name), "%s", name);
		if (sp_hmap_put(be->lis, name, l, NULL)) {
			free(l);
			e = -ENOMEM;
			goto out;
		}
		s->lis[s->nlis++] = l;
	}
	/* Bound while its pool has endpoints: with none the kernel refuses. */
	for (size_t i = 0; i < s->nlis; i++)
		us_lis_update(s->lis[i]);
	if (s->proto == IPPROTO_UDP)
		us_udp_repoint(&be->fwd, s);
out:
	free(spec);
	free(vips);
	return e;
}

/* Addresses on svcplane0 that no listener wants any more go. */
static int prune_addrs(struct us_be *be)
{
	struct sp_hmap_iter it = {0};
	struct sp_addr *keep = calloc(sp_hmap_len(be->lis) + 1, sizeof(*keep));
	size_t n = 0;
	int e;

	if (!keep)
		return -ENOMEM;
	while (sp_hmap_next(be->lis, &it)) {
		const struct us_lis *l = it.value;

		if (l->vip)
			keep[n++] = l->addr;
	}
	e = us_link_prune(be->link, keep, n);
	free(keep);
	return e;
}

/* The state file: the model synced, and each listener as it is. */
static void write_state(struct us_be *be, const struct sp_model *m)
{
	cJSON *root = sp_model_to_json(m), *ls;
	const char **names;
	size_t n = 0;
	char *txt;
	int e;

	if (!root)
		return;
	cJSON_AddNumberToObject(root, "pid", getpid());
	ls = cJSON_AddArrayToObject(root, "listeners");
	names = sp_hmap_sorted_keys(be->lis, &n);
	for (size_t i = 0; ls && names && i < n; i++) {
		const struct us_lis *l = sp_hmap_get(be->lis, names[i]);
		cJSON *o = cJSON_CreateObject();

		if (!o)
			break;
		cJSON_AddStringToObject(o, "address", l->name);
		cJSON_AddStringToObject(o, "servicePort", l->svc->key);
		cJSON_AddBoolToObject(o, "listening", l->fd >= 0);
		cJSON_AddNumberToObject(o, "endpoints", (double)us_lis_pool(l)->n);
		if (l->bind_err)
			cJSON_AddStringToObject(o, "error", strerror(-l->bind_err));
		cJSON_AddItemToArray(ls, o);
	}
	free(names);
	txt = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!txt)
		return;
	if ((e = us_state_write(txt, strlen(txt))))
		sp_log_warn(be->cfg->log, "userspace: writing the state file under %s: %s",
			    US_STATE_DIR, strerror(-e));
	free(txt);
}

static void refresh_node_addrs(struct us_be *be, const struct sp_model *m)
{
	for (int f = 0; f < 2; f++) {
		int e = sp_node_addrs_get(be->cfg->nodeport_primary, &be->cfg->nodeport_cidrs,
					  &m->node.ips, f ? AF_INET6 : AF_INET, &be->node[f]);

		if (e)
			be->node[f].n = 0;
	}
}

static int us_sync(struct sp_backend *be_, const struct sp_model *m, const struct sp_change *chg,
		   bool full)
{
	struct us_be *be = be_->priv;
	int e = 0;

	if (be->mode != SP_OPEN_AGENT)
		return -EROFS;
	if (be->link && !us_link_alive(be->link)) {
		sp_log_warn(be->cfg->log, "userspace: %s went away; making it again", US_LINK_NAME);
		us_link_close(be->link);
		be->link = NULL;
		be->synced = false;
	}
	if (!be->link && !(be->link = us_link_open(true, be->cfg->log))) {
		e = -errno;
		sp_log_err(be->cfg->log, "userspace: link %s: %s", US_LINK_NAME, strerror(-e));
		return e;
	}
	if (!be->synced || chg->node_changed)
		full = true;
	if (full) {
		struct sp_hmap_iter it = {0};

		refresh_node_addrs(be, m);
		while (sp_hmap_next(m->ports, &it))
			if ((e = apply_port(be, it.value)))
				break;
		it = (struct sp_hmap_iter){0};
		while (!e && sp_hmap_next(be->svcs, &it))
			if (!sp_hmap_get(m->ports, it.key))
				remove_svc(be, it.key);	/* deletes the current key only */
	} else {
		for (size_t i = 0; i < chg->n && !e; i++) {
			if (chg->v[i].new)
				e = apply_port(be, chg->v[i].new);
			else
				remove_svc(be, chg->v[i].old->key);
		}
	}
	if (!e)
		e = prune_addrs(be);
	if (!e) {
		write_state(be, m);
		if (full)
			be->synced = true;
	} else {
		be->synced = false;	/* the next sync is a full one */
	}
	return e;
}

/* --- reading back ------------------------------------------------------------------ */

static int us_read_back(struct sp_backend *be_, struct sp_model *out, sp_external_list_fn ext,
			void *ctx)
{
	struct sp_perr perr = {0};
	char *txt;
	cJSON *root;
	int e;

	(void)be_;
	(void)ext;
	(void)ctx;
	if ((e = us_state_read(&txt)))
		return e;
	/* A file nobody holds the lock of was left by an agent that is gone:
	 * nothing serves what it says. */
	if ((e = us_state_alive()) <= 0) {
		free(txt);
		return e ? e : -ESRCH;
	}
	root = cJSON_Parse(txt);
	free(txt);
	if (!root)
		return -EBADMSG;
	e = sp_model_from_json(out, root, &perr);
	cJSON_Delete(root);
	return e;
}

/* What read_back gives once @in is synced: the model as its JSON form
 * carries it. */
static int us_project(struct sp_backend *be_, const struct sp_model *in, struct sp_model *out)
{
	struct sp_perr perr = {0};
	cJSON *j = sp_model_to_json(in);
	int e;

	(void)be_;
	if (!j)
		return -ENOMEM;
	e = sp_model_from_json(out, j, &perr);
	cJSON_Delete(j);
	return e;
}

static int us_cleanup(struct sp_backend *be_)
{
	struct us_be *be = be_->priv;
	int e, e2;

	if (be->mode == SP_OPEN_READ)
		return -EROFS;
	if (be->link) {
		us_link_close(be->link);
		be->link = NULL;
	}
	e = us_link_remove();
	e2 = us_state_remove();
	return e ? e : e2;
}

/* --- health and metrics ---------------------------------------------------------- */

static int us_health(struct sp_backend *be_, struct sp_health *out)
{
	struct us_be *be = be_->priv;

	out->ok = be->fwd_ready && be->synced && be->link && us_link_alive(be->link);
	snprintf(out->detail, sizeof(out->detail), "%s",
		 out->ok ? "" : !be->synced ? "not synced" : US_LINK_NAME " is gone");
	return 0;
}

static int us_gauges(struct sp_backend *be_, struct sp_gauge *out, size_t max)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} per[] = {
		{ "svcplane_userspace_connections_active", "TCP connections open now, per service port",
		  offsetof(struct us_stats, active) },
		{ "svcplane_userspace_connections_total", "TCP connections accepted, per service port",
		  offsetof(struct us_stats, total) },
		{ "svcplane_userspace_udp_flows", "UDP flows now, per service port",
		  offsetof(struct us_stats, flows) },
		{ "svcplane_userspace_bytes_received_total", "Bytes from clients to endpoints, per service port",
		  offsetof(struct us_stats, bytes_in) },
		{ "svcplane_userspace_bytes_sent_total", "Bytes from endpoints to clients, per service port",
		  offsetof(struct us_stats, bytes_out) },
		{ "svcplane_userspace_connect_failures_total",
		  "Connects to endpoints refused or timed out, per service port",
		  offsetof(struct us_stats, connect_fail) },
		{ "svcplane_userspace_connect_retries_total",
		  "Connections retried on another endpoint, per service port",
		  offsetof(struct us_stats, retries) },
		{ "svcplane_userspace_connections_refused_total",
		  "Connections reset because no endpoint answered, per service port",
		  offsetof(struct us_stats, refused) },
	};
	struct us_be *be = be_->priv;
	struct sp_hmap_iter it = {0};
	size_t n = 0;

	if (!be->fwd_ready)
		return 0;
	while (sp_hmap_next(be->svcs, &it)) {
		const struct us_svc *s = it.value;

		for (size_t i = 0; i < sizeof(per) / sizeof(per[0]) && n < max; i++)
			out[n++] = (struct sp_gauge){ per[i].name, per[i].help, "service_port", s->key,
						      (double)*(const uint64_t *)((const char *)&s->st +
										  per[i].off) };
	}
	if (n + 4 <= max) {
		out[n++] = (struct sp_gauge){ "svcplane_userspace_connections_max",
					      "TCP connections (and UDP flows) the forwarder takes at most",
					      NULL, NULL, (double)be->fwd.max_conns };
		out[n++] = (struct sp_gauge){ "svcplane_userspace_pipes_in_use",
					      "Pipes holding bytes in flight now", NULL, NULL,
					      (double)be->fwd.pipes_in_use };
		out[n++] = (struct sp_gauge){ "svcplane_userspace_udp_dropped_total",
					      "Datagrams dropped: flow table full or no endpoint socket",
					      NULL, NULL, (double)be->fwd.udp_dropped };
		out[n++] = (struct sp_gauge){ "svcplane_userspace_addresses",
					      "Service addresses on " US_LINK_NAME, NULL, NULL,
					      be->link ? (double)us_link_count(be->link) : 0 };
	}
	return (int)n;
}

static void us_close(struct sp_backend *be_)
{
	struct us_be *be = be_->priv;

	if (!be)
		return;
	if (be->svcs) {
		struct sp_hmap_iter it = {0};

		while (sp_hmap_next(be->svcs, &it))
			remove_svc(be, it.key);
		sp_hmap_free(be->svcs);
	}
	if (be->fwd_ready)
		us_fwd_fini(&be->fwd);
	sp_hmap_free(be->lis);
	us_link_close(be->link);	/* the link and its addresses stay (--cleanup removes them) */
	if (be->lock_fd >= 0)
		close(be->lock_fd);
	free(be);
	be_->priv = NULL;
}

const struct sp_backend_ops sp_userspace_ops = {
	.name = "userspace",
	.state = "userspace link " US_LINK_NAME " and " US_STATE_DIR "/ state",
	.open = us_open,
	.present = us_present,
	.sync = us_sync,
	.read_back = us_read_back,
	.project = us_project,
	.cleanup = us_cleanup,
	.gauges = us_gauges,
	.health = us_health,
	.close = us_close,
};
