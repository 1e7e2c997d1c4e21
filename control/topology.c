/* topology.c - kube-proxy's endpoint categorisation, per service port. */
#include "topology.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum topo_mode { TOPO_NONE, TOPO_SAME_ZONE, TOPO_SAME_NODE };

bool sp_svc_port_external(const struct sp_svc_port *p)
{
	return p->node_port || p->external_ips.n || p->lb_ips.n;
}

bool sp_svc_port_uses_cluster(const struct sp_svc_port *p)
{
	return p->itp == SP_POLICY_CLUSTER ||
	       (sp_svc_port_external(p) && p->etp == SP_POLICY_CLUSTER);
}

bool sp_svc_port_uses_local(const struct sp_svc_port *p)
{
	return p->itp == SP_POLICY_LOCAL || (sp_svc_port_external(p) && p->etp == SP_POLICY_LOCAL);
}

static bool has_str(const struct sp_str_list *l, const char *s)
{
	if (!s)
		return false;
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return true;
	return false;
}

/* Hints are used only when every ready endpoint carries them and at least one is
 * for us; otherwise a partial rollout would starve some nodes. */
static enum topo_mode mode_from_hints(const struct sp_svc_port *p, const char *node,
				      const char *zone)
{
	bool all_node = true, for_node = false, all_zone = true, for_zone = false;

	for (size_t i = 0; i < p->n_eps; i++) {
		const struct sp_endpoint *ep = &p->eps[i];

		if (!ep->ready)
			continue;
		if (!ep->for_nodes.n)
			all_node = false;
		else if (has_str(&ep->for_nodes, node))
			for_node = true;
		if (!ep->for_zones.n)
			all_zone = false;
		else if (has_str(&ep->for_zones, zone))
			for_zone = true;
	}
	if (all_node && for_node)
		return TOPO_SAME_NODE;
	if (all_zone && for_zone)
		return TOPO_SAME_ZONE;
	return TOPO_NONE;
}

static bool topo_ok(const struct sp_endpoint *ep, enum topo_mode mode, const char *node,
		    const char *zone)
{
	switch (mode) {
	case TOPO_SAME_NODE:
		return has_str(&ep->for_nodes, node);
	case TOPO_SAME_ZONE:
		return has_str(&ep->for_zones, zone);
	default:
		return true;
	}
}

static bool serving_terminating(const struct sp_endpoint *ep)
{
	return ep->serving && ep->terminating;
}

static int pick(const struct sp_svc_port *p, bool (*want)(const struct sp_endpoint *, const void *),
		const void *arg, const struct sp_endpoint ***out, size_t *n)
{
	*n = 0;
	*out = calloc(p->n_eps + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_eps; i++)
		if (want(&p->eps[i], arg))
			(*out)[(*n)++] = &p->eps[i];
	return 0;
}

struct topo_arg {
	enum topo_mode mode;
	const char *node, *zone;
	bool terminating;	/* fallback pass: serving-and-terminating instead of ready */
};

static bool want_cluster(const struct sp_endpoint *ep, const void *a)
{
	const struct topo_arg *t = a;
	bool state = t->terminating ? serving_terminating(ep) : ep->ready;

	return state && topo_ok(ep, t->mode, t->node, t->zone);
}

static bool want_local(const struct sp_endpoint *ep, const void *a)
{
	const struct topo_arg *t = a;

	return ep->local && (t->terminating ? !ep->ready && serving_terminating(ep) : ep->ready);
}

int sp_topology_categorize(const struct sp_svc_port *p, const char *node_name, const char *zone,
			   struct sp_ep_sets *out)
{
	struct topo_arg t = { .node = node_name, .zone = zone };
	bool local_ready = false, local_term = false;
	int e;

	memset(out, 0, sizeof(*out));
	if (sp_svc_port_uses_cluster(p)) {
		t.mode = mode_from_hints(p, node_name, zone);
		if ((e = pick(p, want_cluster, &t, &out->cluster, &out->n_cluster)))
			goto err_free;
		if (!out->n_cluster) {
			/* Best effort to avoid dropping connections: topology is not
			 * considered when falling back (as kube-proxy). */
			free(out->cluster);
			t.terminating = true;
			t.mode = TOPO_NONE;
			if ((e = pick(p, want_cluster, &t, &out->cluster, &out->n_cluster)))
				goto err_free;
		}
		out->has_any = out->n_cluster > 0;
	}
	if (!sp_svc_port_uses_local(p))
		return 0;
	for (size_t i = 0; i < p->n_eps; i++) {
		const struct sp_endpoint *ep = &p->eps[i];

		if (ep->ready) {
			out->has_any = true;
			local_ready |= ep->local;
		} else if (serving_terminating(ep)) {
			out->has_any = true;
			local_term |= ep->local;
		}
	}
	t.mode = TOPO_NONE;
	t.terminating = !local_ready && local_term;
	if ((e = pick(p, want_local, &t, &out->local, &out->n_local)))
		goto err_free;
	return 0;

err_free:
	sp_ep_sets_fini(out);
	return e;
}

void sp_ep_sets_fini(struct sp_ep_sets *s)
{
	free(s->cluster);
	free(s->local);
	memset(s, 0, sizeof(*s));
}
