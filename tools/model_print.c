/* model_print.c - renders a model (desired, read back or parsed from a dump)
 * the way an operator reads it. */
#include "model_print.h"
#include "../control/model.h"
#include "../control/topology.h"

#include <stdlib.h>

static void addrs(FILE *f, const char *label, const struct sp_addr_list *l, unsigned port,
		  const char *proto)
{
	char buf[SP_ADDRSTRLEN];

	for (size_t i = 0; i < l->n; i++)
		fprintf(f, "    %-13s %s%s%s:%u/%s\n", label, l->v[i].family == AF_INET6 ? "[" : "",
			sp_addr_str(&l->v[i], buf), l->v[i].family == AF_INET6 ? "]" : "", port, proto);
}

/* Share of new connections an endpoint gets: ready endpoints split them evenly;
 * the others only when no endpoint is ready (serving-terminating fallback). */
static double weight(const struct sp_svc_port *p, const struct sp_endpoint *ep)
{
	size_t ready = 0, fallback = 0;

	if (ep->weight > 0)
		return ep->weight * 100.0;	/* as read from a dump's probabilities */
	for (size_t i = 0; i < p->n_eps; i++) {
		ready += p->eps[i].ready;
		fallback += !p->eps[i].ready && p->eps[i].serving && p->eps[i].terminating;
	}
	if (ready)
		return ep->ready ? 100.0 / (double)ready : 0;
	return fallback && ep->serving && ep->terminating ? 100.0 / (double)fallback : 0;
}

void sp_model_print(FILE *f, const struct sp_model *m)
{
	size_t n;
	const struct sp_svc_port **ports = sp_model_sorted_ports(m, &n);

	if (!ports) {
		fprintf(f, "(out of memory)\n");
		return;
	}
	for (size_t i = 0; i < n; i++)
		sp_model_print_port(f, ports[i], NULL);
	free(ports);
}

void sp_model_print_port(FILE *f, const struct sp_svc_port *p, const char *no_eps)
{
	const char *proto = sp_proto_name(p->protocol);
	char buf[SP_ADDRSTRLEN];

	fprintf(f, "%s%s%s %s/%s\n", p->service, *p->port_name ? ":" : "", p->port_name,
		proto, sp_family_name(p->family));
	addrs(f, "clusterIP", &p->cluster_ips, p->port, proto);
	if (p->node_port)
		fprintf(f, "    %-13s *:%u/%s\n", "nodePort", p->node_port, proto);
	addrs(f, "externalIP", &p->external_ips, p->port, proto);
	addrs(f, "loadBalancer", &p->lb_ips, p->port, proto);
	for (size_t j = 0; j < p->lb_source_ranges.n; j++)
		fprintf(f, "    %-13s %s\n", "sourceRange", sp_cidr_str(&p->lb_source_ranges.v[j], buf));
	fprintf(f, "    %-13s internal=%s external=%s", "policy",
		p->itp == SP_POLICY_LOCAL ? "Local" : "Cluster",
		p->etp == SP_POLICY_LOCAL ? "Local" : "Cluster");
	if (p->affinity_client_ip)
		fprintf(f, " affinity=ClientIP/%us", p->affinity_timeout);
	if (p->health_check_node_port)
		fprintf(f, " healthCheckNodePort=%u", p->health_check_node_port);
	fputc('\n', f);
	if (!p->n_eps)
		fprintf(f, "    %-13s %s\n", "endpoints",
			no_eps ? no_eps : "none (connections are rejected)");
	for (size_t j = 0; j < p->n_eps; j++) {
		const struct sp_endpoint *ep = &p->eps[j];

		fprintf(f, "    %-13s %s%s%s:%u %5.1f%% %s%s%s%s%s\n", j ? "" : "endpoints",
			ep->addr.family == AF_INET6 ? "[" : "", sp_addr_str(&ep->addr, buf),
			ep->addr.family == AF_INET6 ? "]" : "", ep->port, weight(p, ep),
			ep->ready ? "ready" : ep->serving ? "serving" : "not-ready",
			ep->terminating ? ",terminating" : "", ep->local ? ",local" : "",
			ep->node_name ? " node=" : "", ep->node_name ? ep->node_name : "");
	}
}
