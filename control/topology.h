/* topology.h - which endpoints a service port's traffic may use, as kube-proxy
 * decides it (pkg/proxy/topology.go CategorizeEndpoints): readiness, the
 * serving-and-terminating fallback, topology hints, and Local traffic policies.
 * Every backend calls this, so they agree on the choice. */
#ifndef SP_CONTROL_TOPOLOGY_H
#define SP_CONTROL_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"

struct sp_ep_sets {
	const struct sp_endpoint **cluster;	/* for Cluster policy traffic */
	size_t n_cluster;
	const struct sp_endpoint **local;	/* for Local policy traffic */
	size_t n_local;
	bool has_any;	/* some endpoint is usable somewhere in the cluster */
};

/* True when the port is reachable from outside the cluster (a NodePort,
 * external IP or load-balancer IP), so that externalTrafficPolicy applies. */
bool sp_svc_port_external(const struct sp_svc_port *p);
/* Whether Cluster / Local endpoint lists are used at all by this port. */
bool sp_svc_port_uses_cluster(const struct sp_svc_port *p);
bool sp_svc_port_uses_local(const struct sp_svc_port *p);

/* Fill @out with borrowed pointers into @p->eps. @zone may be NULL. Returns 0 or
 * -ENOMEM. Free the arrays with sp_ep_sets_fini. */
int sp_topology_categorize(const struct sp_svc_port *p, const char *node_name, const char *zone,
			   struct sp_ep_sets *out);
void sp_ep_sets_fini(struct sp_ep_sets *s);

#endif
