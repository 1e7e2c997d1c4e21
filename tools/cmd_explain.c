/* cmd_explain.c - svcplanectl explain: one packet's path through the service
 * rules (svcplane's tables here, or a dump from elsewhere): the element or rule
 * it matches, the candidate endpoints with their shares, masquerade or not,
 * and why it would be dropped or rejected. */
#include "svcplanectl.h"
#include "ctl_backend.h"
#include "inspect/inspect.h"
#include "../common/hmap.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const char usage[] =
	"usage: svcplanectl explain --from IP --to IP:PORT[/tcp|udp|sctp] [--dump FILE]\n"
	"  without --dump: svcplane's state in the current network namespace (exit 3 when none)\n";

int sp_inspect_dump(const char *path, struct sp_inspect *in);

/* The verdict line and the endpoints a new connection may reach. */
static void print_candidates(const struct sp_svc_port *p, const struct sp_inspect_ep *eps, size_t n)
{
	char a[SP_ADDRSTRLEN];

	printf("verdict: dnat to one of %zu endpoint(s)%s\n", n,
	       p->affinity_client_ip ? " (ClientIP affinity: a returning client keeps its endpoint)" : "");
	for (size_t i = 0; i < n; i++) {
		double w = 1.0 / (double)n;

		/* A dump's own weights (probability chains) where it has them. */
		for (size_t k = 0; k < p->n_eps; k++)
			if (p->eps[k].weight > 0 && p->eps[k].port == eps[i].port &&
			    !sp_addr_cmp(&p->eps[k].addr, &eps[i].addr))
				w = p->eps[k].weight;
		printf("  %s%s%s:%u  %.1f%%\n", eps[i].addr.family == AF_INET6 ? "[" : "",
		       sp_addr_str(&eps[i].addr, a), eps[i].addr.family == AF_INET6 ? "]" : "", eps[i].port,
		       w * 100);
	}
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
	struct ctl_backend live = { .be.priv = NULL };
	struct sp_hmap_iter it = {0};
	const struct sp_svc_port *hit = NULL;
	const char *via = NULL;
	bool pod_src = false;
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
	if (!dump && (e = ctl_backend_open(&live))) {
		sp_inspect_fini(&in);
		return e;
	}
	e = dump ? sp_inspect_dump(dump, &in) : sp_inspect_backend(&in, &live.be);
	if (!dump)
		in.format = !strcmp(live.be.ops->name, "nftables")
				    ? "svcplane nftables tables (this network namespace)"
				    : live.be.ops->name;
	if (e) {
		if (!dump)
			fprintf(stderr, "svcplanectl: reading svcplane's %s state: %s\n", live.be.ops->name,
				strerror(-e));
		ctl_backend_close(&live);
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
		ctl_backend_close(&live);
		sp_inspect_fini(&in);
		return 0;
	}
	/* Pod traffic (from the cluster CIDR: the sources internal traffic
	 * keeps) to an external address or NodePort is short-circuited to the
	 * port's endpoints, as kube-proxy does: the Local list is for traffic
	 * from outside. */
	{
		const struct sp_inspect_port *x = sp_hmap_get(in.extra, hit->key);

		for (int i = 0; strcmp(via, "ClusterIP") && x && i < x->nkeep; i++)
			if (sp_cidr_contains(&x->keep_src[i], &src))
				pod_src = true;
	}
	if (!dump && !pod_src && live.be.ops->dispatch) {
		/* Live state: the exact list behind this address (an external
		 * address may use the Local list while the ClusterIP uses all). */
		bool np = !strncmp(via, "NodePort", 8);

		e = live.be.ops->dispatch(&live.be, dst.family, np ? NULL : &dst, proto, (uint16_t)port,
					  (struct sp_svc_port *)hit);
		if (e < 0) {
			fprintf(stderr, "svcplanectl: %s backend: the dispatch of %s: %s\n",
				live.be.ops->name, to, strerror(-e));
			ctl_backend_close(&live);
			sp_inspect_fini(&in);
			return 1;
		}
	}
	ctl_backend_close(&live);
	{
		const struct sp_inspect_port *x = sp_hmap_get(in.extra, hit->key);
		bool internal = !strcmp(via, "ClusterIP"), masq = false;

		printf("match: %s of %s%s%s\n", via, hit->service, *hit->port_name ? ":" : "",
		       hit->port_name);
		bool own_list = !internal && x && x->has_external && !pod_src;

		if (!(own_list ? x->n_external : hit->n_eps)) {
			bool drop = !internal && !pod_src && x && x->no_endpoints_drop;

			printf("verdict: %s (%s)\n", drop ? "drop" : "reject",
			       drop ? "externalTrafficPolicy Local and no endpoint on this node"
				    : "no endpoints: TCP reset / ICMP port unreachable");
			sp_inspect_fini(&in);
			return 0;
		}
		if (own_list) {
			/* Local policy: external traffic has its own list. */
			print_candidates(hit, x->external, x->n_external);
		} else {
			struct sp_inspect_ep eps[hit->n_eps];

			for (size_t i = 0; i < hit->n_eps; i++) {
				eps[i].addr = hit->eps[i].addr;
				eps[i].port = hit->eps[i].port;
			}
			print_candidates(hit, eps, hit->n_eps);
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
					 : internal ? "no (source kept)"
					 : pod_src ? "no (a pod's traffic: source kept)"
						   : "no (externalTrafficPolicy Local: client address kept)");
	}
	sp_inspect_fini(&in);
	return 0;
}
