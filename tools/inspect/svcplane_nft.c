/* svcplane_nft.c - svcplane's own state read as an inspection through the
 * backend's read-only ops: the model it expresses, each port's masquerade
 * facts and Local external lists, and findings; live (whichever backend has
 * state in this network namespace) or from an `nft list ruleset` text dump
 * of svcplane's tables. */
#include "inspect.h"
#include "../ctl_backend.h"
#include "../../common/hmap.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* With Local policy, external traffic has its own list: the readback hands
 * it over as it passes the port's first external dispatch element. */
static void external_list(void *ctx, const struct sp_svc_port *p, const struct sp_endpoint *eps, size_t n)
{
	struct sp_inspect *in = ctx;
	struct sp_inspect_port *x = sp_inspect_port_extra(in, p->key);

	if (!x)
		return;
	x->has_external = true;
	for (size_t i = 0; i < n; i++)
		if (sp_inspect_external_add(x, &eps[i].addr, eps[i].port))
			return;
}

/* Per port: masquerade facts from the services chain's rule, and the
 * no-endpoints finding. A backend without NAT (@nat false: the bpf socket
 * balancer) masquerades nothing and refuses rather than drops. */
static int finish(struct sp_inspect *in, bool nat, const bool masq[2],
		  struct sp_addr keep[2][SP_INSPECT_MAX_CIDRS], const int nkeep[2])
{
	struct sp_hmap_iter it = {0};

	while (sp_hmap_next(in->m.ports, &it)) {
		const struct sp_svc_port *p = it.value;
		struct sp_inspect_port *x = sp_inspect_port_extra(in, it.key);
		int f = p->family == AF_INET6;

		if (!x)
			return -ENOMEM;
		x->masq_internal = masq[f];
		x->nkeep = nkeep[f] > 0 ? nkeep[f] : 0;
		memcpy(x->keep_src, keep[f], sizeof(x->keep_src));
		x->masq_external = nat && p->etp == SP_POLICY_CLUSTER;
		x->no_endpoints_drop = nat && p->etp == SP_POLICY_LOCAL;
		if (!p->n_eps)
			sp_inspect_port_finding(in, p, " has no endpoints: connections are rejected%s",
					   x->no_endpoints_drop ? " (external traffic: dropped)" : "");
	}
	return 0;
}

int sp_inspect_backend(struct sp_inspect *in, struct sp_backend *be)
{
	struct sp_addr keep[2][SP_INSPECT_MAX_CIDRS];
	bool masq[2] = { false, false };
	int nkeep[2] = { 0, 0 }, e;

	e = be->ops->read_back(be, &in->m, external_list, in);
	for (int f = 0; !e && be->ops->read_masq && f < 2; f++) {
		nkeep[f] = be->ops->read_masq(be, f ? AF_INET6 : AF_INET, keep[f], SP_INSPECT_MAX_CIDRS,
					      &masq[f]);
		if (nkeep[f] < 0)
			e = nkeep[f];
	}
	return e ? e : finish(in, be->ops->read_masq != NULL, masq, keep, nkeep);
}

int sp_inspect_svcplane_nft_text(const char *buf, size_t len, struct sp_inspect *in, char *err, size_t errsz)
{
	struct ctl_backend c;
	int e;

	in->format = "nft list ruleset (svcplane tables)";
	if ((e = ctl_backend_open_dump(&c, "nftables", buf, len, err, errsz)))
		return e;
	if ((e = sp_inspect_backend(in, &c.be)))
		snprintf(err, errsz, "reading the svcplane tables: %s", strerror(-e));
	ctl_backend_close(&c);
	return e;
}
