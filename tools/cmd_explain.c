/* cmd_explain.c - svcplanectl explain: one packet's path through the service
 * rules (svcplane's tables here, or a dump from elsewhere): the element or rule
 * it matches, the candidate endpoints with their shares, masquerade or not,
 * and why it would be dropped or rejected. */
#include "svcplanectl.h"
#include "inspect/inspect.h"
#include "../common/hmap.h"
#include "../control/k8s_field.h"
#include "../dataplane/nft/nft_readback.h"
#include "../dataplane/nft/nft_tx.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netfilter.h>

#include <libmnl/libmnl.h>

static const char usage[] =
	"usage: svcplanectl explain --from IP --to IP:PORT[/tcp|udp|sctp] [--dump FILE]\n"
	"  without --dump: svcplane's tables in the current network namespace\n";

int sp_dump_read(struct sp_model *m);
int sp_inspect_dump(const char *path, struct sp_inspect *in);

/* svcplane's own tables, with their masquerade facts, as an inspection. */
static int live(struct sp_inspect *in)
{
	struct sp_addr keep[2][SP_INSPECT_MAX_CIDRS];
	bool masq[2] = { false, false };
	int nkeep[2] = { 0, 0 }, e;
	struct mnl_socket *nl;
	struct sp_hmap_iter it = {0};

	in->format = "svcplane nftables tables (this network namespace)";
	if ((e = sp_dump_read(&in->m)))
		return e;
	nl = nft_socket_open();
	for (int f = 0; nl && f < 2; f++)
		nkeep[f] = sp_nft_read_masq(nl, f ? NFPROTO_IPV6 : NFPROTO_IPV4, keep[f],
					    SP_INSPECT_MAX_CIDRS, &masq[f]);
	if (nl)
		mnl_socket_close(nl);
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
	}
	return 0;
}

static bool has(const struct sp_addr_list *l, const struct sp_addr *a)
{
	for (size_t i = 0; i < l->n; i++)
		if (!sp_addr_cmp(&l->v[i], a))
			return true;
	return false;
}

int cmd_explain(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "dump", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *from = NULL, *to = NULL, *dump = NULL;
	char host[64], a[SP_ADDRSTRLEN];
	struct sp_addr src, dst;
	struct sp_inspect in;
	struct sp_hmap_iter it = {0};
	const struct sp_svc_port *hit = NULL;
	const char *via = NULL;
	uint8_t proto = IPPROTO_TCP;
	unsigned long port;
	char *colon, *slash, *end;
	int opt, e;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'f')
			from = optarg;
		else if (opt == 't')
			to = optarg;
		else if (opt == 'd')
			dump = optarg;
		else {
			fputs(usage, opt == 'h' ? stdout : stderr);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (!from || !to || optind < argc) {
		fputs(usage, stderr);
		return 2;
	}
	snprintf(host, sizeof(host), "%s", to);
	slash = strchr(host, '/');
	if (slash) {
		*slash++ = '\0';
		for (char *c = slash; *c; c++)
			*c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
		proto = sp_proto_parse(slash);
	}
	colon = strrchr(host, ':');
	if (!colon || !proto) {
		fprintf(stderr, "--to \"%s\": want IP:PORT or [IPv6]:PORT, then /tcp, /udp or /sctp\n", to);
		return 2;
	}
	*colon = '\0';
	port = strtoul(colon + 1, &end, 10);
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	if (*end || port < 1 || port > 65535 || sp_addr_parse(host, &dst)) {
		fprintf(stderr, "--to \"%s\": not an address and port\n", to);
		return 2;
	}
	if (sp_addr_parse(from, &src)) {
		fprintf(stderr, "--from \"%s\": not an address\n", from);
		return 2;
	}
	if (sp_inspect_init(&in))
		return 1;
	e = dump ? sp_inspect_dump(dump, &in) : live(&in);
	if (e) {
		sp_inspect_fini(&in);
		return dump ? 2 : 1;
	}
	/* Service addresses first, then NodePorts (any local address). */
	while (!hit && sp_hmap_next(in.m.ports, &it)) {
		const struct sp_svc_port *p = it.value;

		if (p->protocol != proto || p->family != dst.family || p->port != port)
			continue;
		if (has(&p->cluster_ips, &dst))
			hit = p, via = "ClusterIP";
		else if (has(&p->external_ips, &dst))
			hit = p, via = "external IP";
		else if (has(&p->lb_ips, &dst))
			hit = p, via = "load-balancer IP";
	}
	memset(&it, 0, sizeof(it));
	while (!hit && sp_hmap_next(in.m.ports, &it)) {
		const struct sp_svc_port *p = it.value;

		if (p->protocol == proto && p->family == dst.family && p->node_port == port)
			hit = p, via = "NodePort (if the address is this node's)";
	}
	printf("rules: %s\n", in.format);
	printf("packet: %s → %s%s%s:%lu/%s\n", sp_addr_str(&src, a), dst.family == AF_INET6 ? "[" : "",
	       host, dst.family == AF_INET6 ? "]" : "", port, sp_proto_name(proto));
	if (!hit) {
		printf("match: none: no service has this address and port; the packet is not NATed\n");
		sp_inspect_fini(&in);
		return 0;
	}
	if (!dump) {
		/* Live tables: the exact list behind this address (an external
		 * address may use the Local list while the ClusterIP uses all). */
		struct mnl_socket *nl = nft_socket_open();
		bool np = !strncmp(via, "NodePort", 8);

		if (nl) {
			sp_nft_read_dispatch(nl, dst.family, np ? NULL : &dst, proto, (uint16_t)port,
					     (struct sp_svc_port *)hit);
			mnl_socket_close(nl);
		}
	}
	{
		const struct sp_inspect_port *x = sp_hmap_get(in.extra, hit->key);
		bool internal = !strcmp(via, "ClusterIP"), masq = false;

		printf("match: %s of %s%s%s\n", via, hit->service, *hit->port_name ? ":" : "",
		       hit->port_name);
		if (!hit->n_eps) {
			bool drop = !internal && x && x->no_endpoints_drop;

			printf("verdict: %s (%s)\n", drop ? "drop" : "reject",
			       drop ? "externalTrafficPolicy Local and no endpoint on this node"
				    : "no endpoints: TCP reset / ICMP port unreachable");
			sp_inspect_fini(&in);
			return 0;
		}
		printf("verdict: dnat to one of %zu endpoint(s)%s\n", hit->n_eps,
		       hit->affinity_client_ip ? " (ClientIP affinity: a returning client keeps its endpoint)" : "");
		for (size_t i = 0; i < hit->n_eps; i++) {
			const struct sp_endpoint *ep = &hit->eps[i];
			double w = ep->weight > 0 ? ep->weight : 1.0 / (double)hit->n_eps;

			printf("  %s%s%s:%u  %.1f%%\n", ep->addr.family == AF_INET6 ? "[" : "",
			       sp_addr_str(&ep->addr, a), ep->addr.family == AF_INET6 ? "]" : "", ep->port,
			       w * 100);
		}
		if (internal && x && x->masq_internal) {
			masq = true;
			for (int i = 0; i < x->nkeep; i++)
				if (sp_cidr_contains(&x->keep_src[i], &src))
					masq = false;
		} else if (!internal && x) {
			masq = x->masq_external;
		}
		printf("masquerade: %s\n", masq ? (internal ? "yes (source outside the cluster CIDR)"
							    : "yes (externalTrafficPolicy Cluster)")
						 : (internal ? "no (source kept)"
							     : "no (externalTrafficPolicy Local: client address kept)"));
	}
	sp_inspect_fini(&in);
	return 0;
}
