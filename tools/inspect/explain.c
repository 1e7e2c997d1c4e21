/* explain.c - one packet through an inspection: the port and address kind it
 * matches, then the verdict, candidate endpoints and masquerade, decided from
 * the same facts inspect prints (so the two never disagree). */
#include "explain.h"
#include "../../common/hmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool has(const struct sp_addr_list *l, const struct sp_addr *a)
{
	for (size_t i = 0; i < l->n; i++)
		if (!sp_addr_cmp(&l->v[i], a))
			return true;
	return false;
}

const char *sp_explain_via_name(enum sp_explain_via via)
{
	static const char *const names[] = {
		[SP_VIA_CLUSTER_IP] = "ClusterIP",
		[SP_VIA_EXTERNAL_IP] = "external IP",
		[SP_VIA_LB_IP] = "load-balancer IP",
		[SP_VIA_NODE_PORT] = "NodePort (if the address is this node's)",
	};

	return names[via];
}

const struct sp_svc_port *sp_explain_match(const struct sp_inspect *in, const struct sp_addr *dst,
					   uint8_t proto, uint16_t port, enum sp_explain_via *via)
{
	struct sp_hmap_iter it = {0};

	/* Service addresses first, then NodePorts (any local address). */
	while (sp_hmap_next(in->m.ports, &it)) {
		const struct sp_svc_port *p = it.value;

		if (p->protocol != proto || p->family != dst->family || p->port != port)
			continue;
		*via = has(&p->cluster_ips, dst)    ? SP_VIA_CLUSTER_IP
		       : has(&p->external_ips, dst) ? SP_VIA_EXTERNAL_IP
		       : has(&p->lb_ips, dst)       ? SP_VIA_LB_IP
						    : SP_VIA_NONE;
		if (*via != SP_VIA_NONE)
			return p;
	}
	memset(&it, 0, sizeof(it));
	while (sp_hmap_next(in->m.ports, &it)) {
		const struct sp_svc_port *p = it.value;

		if (p->protocol == proto && p->family == dst->family && p->node_port == port) {
			*via = SP_VIA_NODE_PORT;
			return p;
		}
	}
	*via = SP_VIA_NONE;
	return NULL;
}

/* @p's share for endpoint @a:@port: the dump's own weight where it has one. */
static double share(const struct sp_svc_port *p, const struct sp_inspect_ep *e, size_t n)
{
	for (size_t k = 0; k < p->n_eps; k++)
		if (p->eps[k].weight > 0 && p->eps[k].port == e->port &&
		    !sp_addr_cmp(&p->eps[k].addr, &e->addr))
			return p->eps[k].weight;
	return 1.0 / (double)n;
}

int sp_explain(const struct sp_inspect *in, const struct sp_svc_port *p, enum sp_explain_via via,
	       const struct sp_addr *src, struct sp_explain *out)
{
	const struct sp_inspect_port *x = sp_hmap_get(in->extra, p->key);
	bool internal = via == SP_VIA_CLUSTER_IP, own_list;
	size_t n;

	memset(out, 0, sizeof(*out));
	out->port = p;
	out->via = via;
	/* Pod traffic (from the cluster CIDR: the sources internal traffic
	 * keeps) to an external address or NodePort is short-circuited to the
	 * port's endpoints, as kube-proxy does: the Local list is for traffic
	 * from outside. */
	for (int i = 0; !internal && x && i < x->nkeep; i++)
		if (sp_cidr_contains(&x->keep_src[i], src))
			out->pod_src = true;
	own_list = !internal && !out->pod_src && x && x->has_external;
	n = own_list ? x->n_external : p->n_eps;
	if (!n) {
		/* Local policy, nothing on this node: kube-proxy drops (its
		 * XLB chain's KUBE-MARK-DROP, the filter DROP, the nft drop). */
		bool drop = !internal && !out->pod_src && x && (x->no_endpoints_drop || own_list);

		out->verdict = drop ? SP_VERDICT_DROP : SP_VERDICT_REJECT;
		out->why = drop ? "externalTrafficPolicy Local and no endpoint on this node"
				: "no endpoints: TCP reset / ICMP port unreachable";
		if (!drop && x && x->missing_eps) {
			out->verdict = SP_VERDICT_UNKNOWN;
			out->why = "the endpoint chains the service names are not in the dump";
		}
		return 0;
	}
	out->eps = calloc(n, sizeof(*out->eps));
	out->share = calloc(n, sizeof(*out->share));
	if (!out->eps || !out->share) {
		sp_explain_fini(out);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (own_list) {
			out->eps[i] = x->external[i];
		} else {
			out->eps[i].addr = p->eps[i].addr;
			out->eps[i].port = p->eps[i].port;
		}
		/* The dump's weights are the cluster list's; a Local list is even. */
		out->share[i] = own_list ? 1.0 / (double)n : share(p, &out->eps[i], n);
	}
	out->n_eps = n;
	out->verdict = SP_VERDICT_DNAT;
	if (internal && x && x->masq_internal) {
		out->masq = true;
		for (int i = 0; i < x->nkeep; i++)
			if (sp_cidr_contains(&x->keep_src[i], src))
				out->masq = false;
	} else if (!internal && x) {
		out->masq = x->masq_external;
	}
	out->why = out->masq ? (internal ? "yes (source outside the cluster CIDR)"
					 : "yes (externalTrafficPolicy Cluster)")
		   : internal	 ? "no (source kept)"
		   : out->pod_src ? "no (a pod's traffic: source kept)"
				  : "no (externalTrafficPolicy Local: client address kept)";
	return 0;
}

void sp_explain_fini(struct sp_explain *e)
{
	free(e->eps);
	free(e->share);
	e->eps = NULL;
	e->share = NULL;
	e->n_eps = 0;
}
