/* svcplane_nft.c - svcplane's own nftables tables read as an inspection:
 * the model the tables express, each port's masquerade facts and Local
 * external lists, and findings; live (this network namespace) or from an
 * `nft list ruleset` text dump. */
#include "inspect.h"
#include "../../common/hmap.h"
#include "../../common/log.h"
#include "../../dataplane/nft/nft_readback.h"
#include "../../dataplane/nft/nft_tx.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netfilter.h>

#include <libmnl/libmnl.h>

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
 * no-endpoints finding. */
static int finish(struct sp_inspect *in, const bool masq[2], struct sp_addr keep[2][SP_INSPECT_MAX_CIDRS],
		  const int nkeep[2])
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
		x->masq_external = p->etp == SP_POLICY_CLUSTER;
		x->no_endpoints_drop = p->etp == SP_POLICY_LOCAL;
		if (!p->n_eps)
			sp_inspect_finding(in, "%s has no endpoints: connections are rejected%s", p->key,
					   p->etp == SP_POLICY_LOCAL ? " (external traffic: dropped)" : "");
	}
	return 0;
}

int sp_inspect_svcplane_live(struct sp_inspect *in)
{
	struct sp_log lg = { .out = stderr, .level = SP_LOG_WARN };
	struct sp_addr keep[2][SP_INSPECT_MAX_CIDRS];
	bool masq[2] = { false, false };
	int nkeep[2] = { 0, 0 }, e;
	struct mnl_socket *nl = nft_socket_open();

	in->format = "svcplane nftables tables";
	if (!nl)
		return -errno;
	e = sp_nft_read_ext(nl, &in->m, &lg, external_list, in);
	for (int f = 0; !e && f < 2; f++)
		nkeep[f] = sp_nft_read_masq(nl, f ? NFPROTO_IPV6 : NFPROTO_IPV4, keep[f],
					    SP_INSPECT_MAX_CIDRS, &masq[f]);
	mnl_socket_close(nl);
	return e ? e : finish(in, masq, keep, nkeep);
}

int sp_inspect_svcplane_nft_text(const char *buf, size_t len, struct sp_inspect *in, char *err, size_t errsz)
{
	struct sp_log lg = { .out = stderr, .level = SP_LOG_WARN };
	struct sp_addr keep[2][SP_INSPECT_MAX_CIDRS];
	bool masq[2] = { false, false };
	int nkeep[2] = { 0, 0 }, e;
	struct sp_nft_text *t = sp_nft_text_parse(buf, len, err, errsz);

	in->format = "nft list ruleset (svcplane tables)";
	if (!t)
		return errno == ENOMEM ? -ENOMEM : -EINVAL;
	e = sp_nft_text_read(t, &in->m, &lg, external_list, in);
	for (int f = 0; !e && f < 2; f++)
		nkeep[f] = sp_nft_text_masq(t, f ? NFPROTO_IPV6 : NFPROTO_IPV4, keep[f], SP_INSPECT_MAX_CIDRS,
					    &masq[f]);
	sp_nft_text_free(t);
	if (e)
		snprintf(err, errsz, "reading the svcplane tables: %s", strerror(-e));
	return e ? e : finish(in, masq, keep, nkeep);
}
