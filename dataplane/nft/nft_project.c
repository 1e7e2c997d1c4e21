/* nft_project.c - a desired model as the nftables backend programs it for
 * this node (sp_nft_project): what nft_decode.c reads back once it is synced,
 * so that svcplanectl diff compares like with like. */
#include "nft_readback.h"
#include "../../common/hmap.h"

#include <errno.h>
#include <stdlib.h>

int sp_nft_project(const struct sp_model *in, struct sp_model *out)
{
	struct sp_hmap_iter it = {0};

	while (sp_hmap_next(in->ports, &it)) {
		const struct sp_svc_port *p = it.value;
		struct sp_svc_port *q =
		    sp_svc_port_new(p->service, p->port_name, p->protocol, p->family);
		struct sp_ep_sets sets;
		const struct sp_endpoint **list;
		size_t n;
		bool ext_local = p->etp == SP_POLICY_LOCAL && sp_svc_port_external(p);

		if (!q || sp_svc_port_ep_sets(p, &sets)) {
			sp_svc_port_free(q);
			return -ENOMEM;
		}
		q->port = p->port;
		q->node_port = p->node_port;
		q->etp = ext_local ? SP_POLICY_LOCAL : SP_POLICY_CLUSTER;
		if (sp_addr_list_append(&q->cluster_ips, &p->cluster_ips) ||
		    sp_addr_list_append(&q->external_ips, &p->external_ips) ||
		    sp_addr_list_append(&q->lb_ips, &p->lb_ips) ||
		    (p->lb_ips.n && sp_addr_list_append(&q->lb_source_ranges, &p->lb_source_ranges))) {
			sp_ep_sets_fini(&sets);
			sp_svc_port_free(q);
			return -ENOMEM;
		}
		/* The list the first programmed dispatch element leads to. */
		if (p->cluster_ips.n && sets.has_any &&
		    (p->itp == SP_POLICY_LOCAL ? sets.n_local : sets.n_cluster)) {
			list = p->itp == SP_POLICY_LOCAL ? sets.local : sets.cluster;
			n = p->itp == SP_POLICY_LOCAL ? sets.n_local : sets.n_cluster;
		} else {
			list = ext_local ? sets.local : sets.cluster;
			n = ext_local ? sets.n_local : sets.n_cluster;
			if (!sp_svc_port_external(p) || !sets.has_any)
				n = 0;
		}
		if (n) {
			q->affinity_client_ip = p->affinity_client_ip;
			q->affinity_timeout = p->affinity_timeout;
		}
		q->eps = calloc(n + 1, sizeof(*q->eps));
		for (size_t i = 0; q->eps && i < n; i++) {
			q->eps[i].addr = list[i]->addr;
			q->eps[i].port = list[i]->port;
			q->eps[i].ready = q->eps[i].serving = true;
			q->n_eps++;
		}
		sp_ep_sets_fini(&sets);
		if (!q->eps) {
			sp_svc_port_free(q);
			return -ENOMEM;
		}
		if (sp_model_add_port(out, q)) /* frees @q on failure */
			return -ENOMEM;
	}
	return 0;
}
