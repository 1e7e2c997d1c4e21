/* topology.c - kube-proxy's endpoint categorisation, per service port. */
#include "topology.h"

#include <string.h>

enum topo_mode { TOPO_NONE, TOPO_SAME_ZONE, TOPO_SAME_NODE };

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

struct topo_arg {
	enum topo_mode mode;
	const char *node, *zone;
	bool terminating;	/* fallback pass: serving-and-terminating instead of ready */
};

static bool want_cluster(const struct sp_endpoint *ep, const struct topo_arg *t)
{
	bool state = t->terminating ? serving_terminating(ep) : ep->ready;

	return state && topo_ok(ep, t->mode, t->node, t->zone);
}

static bool want_local(const struct sp_endpoint *ep, const struct topo_arg *t)
{
	return ep->local && (t->terminating ? !ep->ready && serving_terminating(ep) : ep->ready);
}

static uint32_t mark_cluster(struct sp_svc_port *p, const struct topo_arg *t)
{
	uint32_t n = 0;

	for (size_t i = 0; i < p->n_eps; i++)
		n += p->eps[i].for_cluster = want_cluster(&p->eps[i], t);
	return n;
}

void sp_topology_decide(struct sp_svc_port *p, const char *node_name, const char *zone)
{
	struct topo_arg t = { .node = node_name, .zone = zone };
	bool local_ready = false, local_term = false;

	p->n_cluster = p->n_local = 0;
	p->has_any = false;
	p->cluster_choice = p->local_choice = SP_CHOICE_READY;
	for (size_t i = 0; i < p->n_eps; i++)
		p->eps[i].for_cluster = p->eps[i].for_local = false;
	if (sp_svc_port_uses_cluster(p)) {
		t.mode = mode_from_hints(p, node_name, zone);
		p->cluster_choice = t.mode == TOPO_SAME_NODE   ? SP_CHOICE_NODE_HINTS
				    : t.mode == TOPO_SAME_ZONE ? SP_CHOICE_ZONE_HINTS
							       : SP_CHOICE_READY;
		if (!(p->n_cluster = mark_cluster(p, &t))) {
			/* Best effort to avoid dropping connections: topology is not
			 * considered when falling back (as kube-proxy). */
			t.terminating = true;
			t.mode = TOPO_NONE;
			p->n_cluster = mark_cluster(p, &t);
			p->cluster_choice = SP_CHOICE_TERMINATING;
		}
		p->has_any = p->n_cluster > 0;
	}
	if (!sp_svc_port_uses_local(p))
		return;
	for (size_t i = 0; i < p->n_eps; i++) {
		const struct sp_endpoint *ep = &p->eps[i];

		if (ep->ready) {
			p->has_any = true;
			local_ready |= ep->local;
		} else if (serving_terminating(ep)) {
			p->has_any = true;
			local_term |= ep->local;
		}
	}
	t.mode = TOPO_NONE;
	t.terminating = !local_ready && local_term;
	p->local_choice = t.terminating ? SP_CHOICE_TERMINATING : SP_CHOICE_READY;
	for (size_t i = 0; i < p->n_eps; i++)
		p->n_local += p->eps[i].for_local = want_local(&p->eps[i], &t);
}
