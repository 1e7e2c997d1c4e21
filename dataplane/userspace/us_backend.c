/* us_backend.c - the userspace forwarder's ops: a sync turns each changed
 * service port into endpoint pools and listeners (addresses added to
 * svcplane0 before their sockets bind, removed after), writes the state file
 * svcplanectl reads back, and exports per-port counters. Atomicity: a port
 * is switched on the agent's one thread between two events, so no
 * connection ever sees a half-updated port. */
#include "us_backend.h"
#include "us_addrs.h"
#include "us_ctl.h"
#include "us_explain.h"
#include "us_flows.h"
#include "us_fwd.h"
#include "us_host.h"
#include "us_metrics.h"
#include "us_port.h"
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

struct us_be {
	const struct sp_backend_cfg *cfg;
	enum sp_open_mode mode;
	struct us_link *link; /* agent: once the first sync made it */
	struct us_fwd fwd;
	bool fwd_ready;
	struct us_ports ports; /* service ports and their listeners */
	bool ports_ready;
	struct us_ctl ctl; /* explain's questions (fd -1: none) */
	int lock_fd;
	bool synced;
};

/* The control socket's one question: what a new connection of @query's
 * meets now (us_explain), answered from the live tables. */
static char *answer_query(void *ctx, const char *query, size_t len)
{
	struct us_be *be = ctx;
	struct us_explain_query q;
	struct sp_relay_answer a;
	char *txt = NULL;

	if (us_explain_query_parse(query, len, &q))
		return NULL;
	if (!us_explain(&be->ports, &q, sp_now_mono(), &a)) {
		a.pid = (int)getpid();
		txt = us_explain_answer_fmt(&a);
	}
	sp_relay_answer_fini(&a);
	return txt;
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
	be->ctl.fd = -1;
	be_->priv = be;
	if (mode != SP_OPEN_AGENT)
		return 0;
	if (!cfg->loop) {
		e = -EINVAL;
		goto err;
	}
	if ((e = us_state_lock(&be->lock_fd))) {
		sp_log_err(cfg->log, "userspace: %s/: %s%s", US_STATE_DIR, strerror(-e),
			   e == -EBUSY ? " (another userspace agent serves this network namespace)"
				       : "");
		goto err;
	}
	if ((e = us_fwd_init(&be->fwd, cfg->log, cfg->loop, us_host_raise_nofile(cfg->log),
			     &cfg->cluster_cidrs)))
		goto err;
	be->fwd_ready = true;
	if ((e = us_ports_init(&be->ports, &be->fwd, cfg->log)))
		goto err;
	be->ports_ready = true;
	be->ports.least_conns = cfg->us_least_conns;
	be->ports.sctp = us_host_has_sctp(cfg->log);
	/* Without it the forwarder still serves; explain cannot ask it. */
	if ((e = us_ctl_open(&be->ctl, cfg->loop, US_EXPLAIN_MAX_QUERY, answer_query, be)))
		sp_log_warn(cfg->log,
			    "userspace: control socket under %s/: %s (explain gets no answer)",
			    US_STATE_DIR, strerror(-e));
	sp_log_info(cfg->log, "userspace: balancing by %s",
		    cfg->us_least_conns ? "least connections" : "round robin");
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
	names = sp_hmap_sorted_keys(be->ports.lis, &n);
	for (size_t i = 0; ls && names && i < n; i++) {
		const struct us_lis *l = sp_hmap_get(be->ports.lis, names[i]);
		cJSON *o = cJSON_CreateObject();

		if (!o)
			break;
		cJSON_AddStringToObject(o, "address", l->name);
		cJSON_AddStringToObject(o, "servicePort", l->svc->key);
		cJSON_AddBoolToObject(o, "listening", l->fd >= 0);
		cJSON_AddNumberToObject(o, "endpoints", (double)us_lis_endpoints(l));
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
					  &m->node.ips, f ? AF_INET6 : AF_INET, &be->ports.node[f]);

		if (e)
			be->ports.node[f].n = 0;
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
	be->ports.link = be->link;
	if (!be->synced || chg->node_changed)
		full = true;
	if (full) {
		struct sp_hmap_iter it = {0};

		refresh_node_addrs(be, m);
		while (sp_hmap_next(m->ports, &it))
			if ((e = us_port_apply(&be->ports, it.value)))
				break;
		it = (struct sp_hmap_iter){0};
		while (!e && sp_hmap_next(be->ports.svcs, &it))
			if (!sp_hmap_get(m->ports, it.key))
				us_port_remove(&be->ports,
					       it.key); /* deletes the current key only */
	} else {
		for (size_t i = 0; i < chg->n && !e; i++) {
			if (chg->v[i].new)
				e = us_port_apply(&be->ports, chg->v[i].new);
			else
				us_port_remove(&be->ports, chg->v[i].old->key);
		}
	}
	if (!e)
		e = us_ports_prune_addrs(&be->ports);
	if (!e) {
		write_state(be, m);
		if (full)
			be->synced = true;
	} else {
		be->synced = false; /* the next sync is a full one */
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

/* The address the kernel gives a connection to @ep:@port from here: the
 * source the relay's own connect gets (family 0 when there is no route). */
static void source_toward(const struct sp_addr *ep, uint16_t port, struct sp_addr *out)
{
	struct sockaddr_storage ss, me;
	socklen_t len = us_sockaddr(ep, port, &ss), mlen = sizeof(me);
	uint16_t p;
	int fd = socket(ep->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memset(out, 0, sizeof(*out));
	if (fd == -1)
		return;
	if (!connect(fd, (struct sockaddr *)&ss, len) &&
	    !getsockname(fd, (struct sockaddr *)&me, &mlen))
		us_from_sockaddr(&me, out, &p);
	close(fd);
}

/* svcplanectl: ask the agent serving this namespace (its control socket),
 * then add the source each endpoint sees. */
static int us_explain_relay(struct sp_backend *be_, const struct sp_addr *src,
			    const struct sp_addr *dst, uint8_t proto, uint16_t port,
			    struct sp_relay_answer *out)
{
	struct us_explain_query q = {.src = *src, .dst = *dst, .proto = proto, .port = port};
	char *query, *ans;
	size_t len;
	int e;

	(void)be_;
	memset(out, 0, sizeof(*out));
	if ((e = us_state_alive()) <= 0)
		return e ? e : -ESRCH;
	if (!(query = us_explain_query_fmt(&q)))
		return -ENOMEM;
	e = us_ctl_ask(query, strlen(query), US_EXPLAIN_MAX_ANSWER, 2.0, &ans, &len);
	free(query);
	if (e)
		return e;
	e = us_explain_answer_parse(ans, len, out);
	free(ans);
	if (e) {
		sp_relay_answer_fini(out);
		return e;
	}
	for (size_t i = 0; i < out->n_eps; i++)
		source_toward(&out->eps[i].addr, out->eps[i].port, &out->eps[i].src);
	if (out->has_affinity)
		source_toward(&out->affinity_ep.addr, out->affinity_ep.port, &out->affinity_ep.src);
	return 0;
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
	/* When healthy, the detail still says what is not served here. */
	snprintf(out->detail, sizeof(out->detail), "%s",
		 !out->ok ? (!be->synced ? "not synced" : US_LINK_NAME " is gone")
		 : be->ports.sctp
		     ? ""
		     : "SCTP service ports not served: this kernel has no SCTP sockets");
	return 0;
}

static int us_gauges(struct sp_backend *be_, struct sp_gauge *out, size_t max)
{
	struct us_be *be = be_->priv;

	return be->fwd_ready && be->ports_ready ? us_metrics_gauges(&be->ports, &be->fwd, out, max)
						: 0;
}

static void us_close(struct sp_backend *be_)
{
	struct us_be *be = be_->priv;

	if (!be)
		return;
	us_ctl_close(&be->ctl);
	if (be->ports_ready)
		us_ports_fini(&be->ports);
	if (be->fwd_ready)
		us_fwd_fini(&be->fwd);
	us_link_close(be->link); /* the link and its addresses stay (--cleanup removes them) */
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
    .explain_relay = us_explain_relay,
    .cleanup = us_cleanup,
    .gauges = us_gauges,
    .health = us_health,
    .close = us_close,
};
