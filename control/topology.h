/* topology.h - which endpoints a service port's traffic may use on this node,
 * as kube-proxy decides it (pkg/proxy/topology.go CategorizeEndpoints):
 * readiness, the serving-and-terminating fallback, topology hints, and Local
 * traffic policies. Only the model calls this (sp_svc_port_decide); everyone
 * else reads the decision from the model. */
#ifndef SP_CONTROL_TOPOLOGY_H
#define SP_CONTROL_TOPOLOGY_H

#include "model.h"

/* Set @p's for_cluster/for_local flags, n_cluster, n_local, has_any and the
 * rule behind each list (cluster_choice, local_choice). @node and @zone may
 * be NULL. */
void sp_topology_decide(struct sp_svc_port *p, const char *node_name, const char *zone);

#endif
