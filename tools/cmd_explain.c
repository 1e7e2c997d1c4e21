/* cmd_explain.c - svcplanectl explain: one packet's path through the service
 * rules (svcplane's tables here, or a dump from elsewhere): the element or rule
 * it matches, the candidate endpoints with their shares, masquerade or not,
 * and why it would be dropped or rejected. */
#include "svcplanectl.h"
#include "ctl_backend.h"
#include "inspect/explain.h"
#include "inspect/explain_relay.h"
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
static void print_candidates(const struct sp_explain *x)
{
	char a[SP_ADDRSTRLEN];

	printf("verdict: dnat to one of %zu endpoint(s)%s\n", x->n_eps,
	       x->port->affinity_client_ip ? " (ClientIP affinity: a returning client keeps its endpoint)"
					   : "");
	for (size_t i = 0; i < x->n_eps; i++) {
		const struct sp_inspect_ep *e = &x->eps[i];

		printf("  %s%s%s:%u  %.1f%%\n", e->addr.family == AF_INET6 ? "[" : "",
		       sp_addr_str(&e->addr, a), e->addr.family == AF_INET6 ? "]" : "", e->port,
		       x->share[i] * 100);
	}
}

/* Candidates with the backend's own answer per endpoint (traffic from
 * outside the node): which program and lookups, and the source each sees. */
static void print_outside(struct ctl_backend *live, const struct sp_addr *src,
			  const struct sp_explain *x)
{
	char a[SP_ADDRSTRLEN], path[512] = "", nat[256];
	bool any_snat = false, any_kept = false;

	printf("verdict: dnat to one of %zu endpoint(s)%s\n", x->n_eps,
	       x->port->affinity_client_ip ? " (ClientIP affinity: a returning client keeps its endpoint)"
					   : "");
	for (size_t i = 0; i < x->n_eps; i++) {
		const struct sp_inspect_ep *e = &x->eps[i];
		bool snat = false;

		if (live->be.ops->explain_outside(&live->be, src, &e->addr, e->port, &snat, path,
						  sizeof(path), nat, sizeof(nat)))
			snprintf(nat, sizeof(nat), "not known (no such endpoint in the maps)");
		any_snat |= snat;
		any_kept |= !snat;
		printf("  %s%s%s:%u  %.1f%%  masquerade: %s\n", e->addr.family == AF_INET6 ? "[" : "",
		       sp_addr_str(&e->addr, a), e->addr.family == AF_INET6 ? "]" : "", e->port,
		       x->share[i] * 100, nat);
	}
	if (*path)
		printf("path: %s\n", path);
	printf("masquerade: %s\n", any_snat && any_kept ? "per endpoint (above)"
				  : any_snat		 ? "yes (every endpoint, above)"
							 : "no (every endpoint, above)");
}

/* Is @src inside the sources @p's rules keep (the cluster CIDR)? */
static bool from_pod(const struct sp_inspect *in, const struct sp_svc_port *p,
		     const struct sp_addr *src)
{
	const struct sp_inspect_port *x = sp_hmap_get(in->extra, p->key);

	for (int i = 0; x && i < x->nkeep; i++)
		if (sp_cidr_contains(&x->keep_src[i], src))
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
	bool outside_nat = false;
	char host[64], a[SP_ADDRSTRLEN];
	struct sp_addr src, dst;
	struct sp_inspect in;
	struct ctl_backend live = { .be.priv = NULL };
	struct sp_relay_answer relay = { .eps = NULL };
	const struct sp_svc_port *hit;
	enum sp_explain_via via;
	struct sp_explain ex;
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
			    : live.be.ops->explain_relay ? "userspace forwarder (this network namespace)"
							 : live.be.ops->name;
	if (e) {
		if (!dump)
			fprintf(stderr, "svcplanectl: reading svcplane's %s state: %s\n", live.be.ops->name,
				strerror(-e));
		ctl_backend_close(&live);
		sp_inspect_fini(&in);
		return dump ? 2 : 1;
	}
	hit = sp_explain_match(&in, &dst, proto, (uint16_t)port, &via);
	/* A relay (userspace) answers for itself: the agent serving here says
	 * what it does with this connection now. */
	if (!dump && live.be.ops->explain_relay && hit) {
		e = live.be.ops->explain_relay(&live.be, &src, &dst, proto, (uint16_t)port, &relay);
		if (e) {
			fprintf(stderr, "svcplanectl: %s backend: asking its agent about %s: %s\n",
				live.be.ops->name, to, strerror(-e));
			ctl_backend_close(&live);
			sp_inspect_fini(&in);
			return 1;
		}
	}
	if (relay.pid)
		printf("rules: userspace forwarder (agent pid %d, this network namespace)\n", relay.pid);
	else
		printf("rules: %s\n", in.format);
	printf("packet: %s → %s%s%s:%lu/%s\n", sp_addr_str(&src, a), dst.family == AF_INET6 ? "[" : "",
	       host, dst.family == AF_INET6 ? "]" : "", port, sp_proto_name(proto));
	if (!hit) {
		printf("match: none: no service has this address and port; the packet is not NATed\n");
		ctl_backend_close(&live);
		sp_inspect_fini(&in);
		return 0;
	}
	if (!dump && live.be.ops->explain_relay) {
		printf("match: %s of %s%s%s\n", sp_explain_via_name(via), hit->service,
		       *hit->port_name ? ":" : "", hit->port_name);
		sp_explain_relay_print(stdout, hit, via, &src, &dst, (uint16_t)port, proto, &relay);
		sp_relay_answer_fini(&relay);
		ctl_backend_close(&live);
		sp_inspect_fini(&in);
		return 0;
	}
	if (!dump && live.be.ops->dispatch) {
		/* Live state: the exact list behind this address (an external
		 * address may use the Local list while the ClusterIP uses all). */
		bool np = via == SP_VIA_NODE_PORT;

		e = sp_explain(&in, hit, via, &src, &ex);
		sp_explain_fini(&ex);
		if (!e && !ex.pod_src)
			e = live.be.ops->dispatch(&live.be, dst.family, np ? NULL : &dst, proto,
						  (uint16_t)port, (struct sp_svc_port *)hit);
		if (e < 0) {
			fprintf(stderr, "svcplanectl: %s backend: the dispatch of %s: %s\n",
				live.be.ops->name, to, strerror(-e));
			ctl_backend_close(&live);
			sp_inspect_fini(&in);
			return 1;
		}
	}
	printf("match: %s of %s%s%s\n", sp_explain_via_name(via), hit->service,
	       *hit->port_name ? ":" : "", hit->port_name);
	if ((e = sp_explain(&in, hit, via, &src, &ex))) {
		ctl_backend_close(&live);
		sp_inspect_fini(&in);
		return 1;
	}
	/* From outside the node (not a pod), a backend may translate per endpoint. */
	outside_nat = !dump && live.be.ops->explain_outside && !from_pod(&in, hit, &src);
	if (ex.verdict == SP_VERDICT_DNAT && outside_nat) {
		print_outside(&live, &src, &ex);
	} else if (ex.verdict == SP_VERDICT_DNAT) {
		print_candidates(&ex);
		printf("masquerade: %s\n", ex.why);
	} else {
		printf("verdict: %s (%s)\n", ex.verdict == SP_VERDICT_DROP     ? "drop"
					      : ex.verdict == SP_VERDICT_REJECT ? "reject"
										: "not known",
		       ex.why);
	}
	sp_explain_fini(&ex);
	ctl_backend_close(&live);
	sp_inspect_fini(&in);
	return 0;
}
