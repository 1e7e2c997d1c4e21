/* explain_relay.c - explain's lines for the userspace forwarder, from its
 * agent's answer: verdict and balancing, each candidate with its share, open
 * connections and the source it sees, the endpoints the model's decision
 * left out (with the facts that left them out), the path through the
 * listener, and masquerade (always: a relay's endpoint sees the node). */
#include "explain_relay.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_LEFT_OUT 16 /* endpoints named on the "left out" line */

static const char *ep_text(const struct sp_addr *a, uint16_t port, char *buf, size_t sz)
{
	char ip[SP_ADDRSTRLEN];

	snprintf(buf, sz, a->family == AF_INET6 ? "[%s]:%u" : "%s:%u", sp_addr_str(a, ip), port);
	return buf;
}

static bool listed(const struct sp_relay_answer *a, const struct sp_endpoint *e)
{
	for (size_t i = 0; i < a->n_eps; i++)
		if (a->eps[i].port == e->port && !sp_addr_cmp(&a->eps[i].addr, &e->addr))
			return true;
	return false;
}

/* Is the list a Local policy's (the endpoints on this node)? */
static bool local_list(const struct sp_svc_port *p, const struct sp_relay_answer *a)
{
	return a->list == SP_RELAY_INTERNAL   ? p->itp == SP_POLICY_LOCAL
	       : a->list == SP_RELAY_EXTERNAL ? p->etp == SP_POLICY_LOCAL
					      : false;
}

static const char *choice_text(enum sp_ep_choice c, bool local)
{
	switch (c) {
	case SP_CHOICE_NODE_HINTS:
		return "the ready endpoints hinted for this node (topology hints)";
	case SP_CHOICE_ZONE_HINTS:
		return "the ready endpoints hinted for this node's zone (topology hints)";
	case SP_CHOICE_TERMINATING:
		return local ? "none on this node is ready: its serving and terminating ones "
			       "(fallback)"
			     : "none is ready: the serving and terminating ones (fallback)";
	default:
		return local ? "the ready endpoints on this node" : "the ready endpoints";
	}
}

/* Which list @src draws from, and the rule of the model's decision behind it. */
static void list_text(FILE *f, const struct sp_svc_port *p, const struct sp_addr *src,
		      const struct sp_relay_answer *a)
{
	bool local = local_list(p, a);
	char s[SP_ADDRSTRLEN];

	if (a->list == SP_RELAY_SHORTCUT)
		fprintf(f,
			"the cluster list (externalTrafficPolicy Local, but %s is this node's own, "
			"a pod or the node itself, so every endpoint, as kube-proxy short-circuits "
			"it: %s)",
			sp_addr_str(src, s), choice_text(a->choice, false));
	else
		fprintf(f, "the %s-traffic list (%sTrafficPolicy %s: %s)",
			a->list == SP_RELAY_INTERNAL ? "internal" : "external",
			a->list == SP_RELAY_INTERNAL ? "internal" : "external",
			local ? "Local" : "Cluster", choice_text(a->choice, local));
}

/* The facts of @e that the decision weighed: readiness, node, hints. */
static void facts(FILE *f, const struct sp_endpoint *e, bool local, enum sp_ep_choice c)
{
	const char *sep = "";

	if (!e->ready) {
		fprintf(f, "not ready%s%s", e->serving ? ", serving" : "",
			e->terminating ? ", terminating" : "");
		sep = ", ";
	}
	if (local && !e->local) {
		fprintf(f, "%son %s", sep,
			e->node_name && *e->node_name ? e->node_name : "another node");
		sep = ", ";
	}
	if (c == SP_CHOICE_ZONE_HINTS || c == SP_CHOICE_NODE_HINTS) {
		const struct sp_str_list *h =
		    c == SP_CHOICE_ZONE_HINTS ? &e->for_zones : &e->for_nodes;

		fprintf(f, "%shinted for %s", sep, h->n ? "" : "none");
		for (size_t i = 0; i < h->n; i++)
			fprintf(f, "%s%s", i ? "," : "", h->v[i]);
		sep = ", ";
	}
	if (!*sep)
		fprintf(f, "ready");
}

/* The endpoints of @p the list does not have (all of them known only when
 * the answer is whole). */
static void left_out(FILE *f, const struct sp_svc_port *p, const struct sp_relay_answer *a)
{
	bool local = local_list(p, a);
	size_t n = 0;
	char buf[80];

	if (a->n_eps < a->n_total)
		return;
	for (size_t i = 0; i < p->n_eps; i++) {
		const struct sp_endpoint *e = &p->eps[i];

		if (listed(a, e))
			continue;
		if (n++ == MAX_LEFT_OUT)
			continue;
		fprintf(f, "%s%s (", n == 1 ? "  left out: " : ", ",
			ep_text(&e->addr, e->port, buf, sizeof(buf)));
		facts(f, e, local, a->choice);
		fputc(')', f);
	}
	if (n > MAX_LEFT_OUT)
		fprintf(f, ", and %zu more", n - MAX_LEFT_OUT);
	if (n)
		fputc('\n', f);
}

/* "DST is a local address on svcplane0" or "... a node address". */
static void where(FILE *f, const struct sp_addr *dst, const struct sp_relay_answer *a)
{
	char d[SP_ADDRSTRLEN];

	if (a->on_link)
		fprintf(f, "%s is a local address on %s, the forwarder's link", sp_addr_str(dst, d),
			a->link);
	else
		fprintf(f, "%s is a node address, where NodePorts listen", sp_addr_str(dst, d));
}

/* A refusal: verdict and path lines. */
static void refused(FILE *f, const struct sp_addr *src, const struct sp_addr *dst, uint16_t port,
		    uint8_t proto, enum sp_explain_via via, const struct sp_relay_answer *a)
{
	bool udp = proto == IPPROTO_UDP;
	const char *kernel = udp ? "ICMP port unreachable" : "a reset";
	const char *agent = udp ? "drop (the agent drops the datagram"
				: "reset (the agent accepts, then resets the connection";
	char s[SP_ADDRSTRLEN], d[SP_ADDRSTRLEN];

	switch (a->verdict) {
	case SP_RELAY_NO_ENDPOINTS:
		fprintf(
		    f,
		    "verdict: reject (no endpoints: %s has no socket while its list is empty, so "
		    "the kernel refuses: %s)\n",
		    a->listener, kernel);
		break;
	case SP_RELAY_BIND_FAILED:
		fprintf(f, "verdict: reject (%s could not bind: %s; the kernel refuses: %s)\n",
			a->listener, a->bind_err, kernel);
		break;
	case SP_RELAY_NONE_FOR_CLIENT:
		fprintf(f,
			"verdict: %s: externalTrafficPolicy Local and no endpoint on this node; "
			"it listens for the node's own clients; kube-proxy drops)\n",
			agent);
		break;
	case SP_RELAY_SOURCE_RANGES:
		fprintf(f, "verdict: %s: %s is not in loadBalancerSourceRanges)\n", agent,
			sp_addr_str(src, s));
		break;
	default: /* SP_RELAY_NO_LISTENER */
		fprintf(f, "verdict: reject (no listener for %s%s%s:%u/%s here",
			dst->family == AF_INET6 ? "[" : "", sp_addr_str(dst, d),
			dst->family == AF_INET6 ? "]" : "", port, sp_proto_name(proto));
		if (via == SP_VIA_NODE_PORT) {
			fprintf(f, ": NodePorts listen on ");
			for (int i = 0; i < a->n_node_addrs; i++)
				fprintf(f, "%s%s", i ? ", " : "",
					sp_addr_str(&a->node_addrs[i], s));
			fprintf(f, "%s", a->n_node_addrs ? " only" : "no address of this family");
		}
		fprintf(f,
			"; at another address of this node the kernel refuses (%s), an address "
			"not this node's never reaches it)\n",
			kernel);
		return;
	}
	fputs("path: ", f);
	where(f, dst, a);
	fprintf(f, " → %s %s\n", a->listener,
		a->verdict == SP_RELAY_NO_ENDPOINTS || a->verdict == SP_RELAY_BIND_FAILED
		    ? "is closed"
		    : "is the agent's listener");
}

void sp_explain_relay_print(FILE *f, const struct sp_svc_port *p, enum sp_explain_via via,
			    const struct sp_addr *src, const struct sp_addr *dst, uint16_t port,
			    uint8_t proto, const struct sp_relay_answer *a)
{
	bool udp = proto == IPPROTO_UDP;
	char buf[80], s[SP_ADDRSTRLEN];

	if (a->verdict != SP_RELAY_RELAYED) {
		refused(f, src, dst, port, proto, via, a);
		return;
	}
	fprintf(f, "verdict: relay to one of %zu endpoint(s), %s", a->n_total,
		a->least_conns ? "least connections (the fewest open first, round robin between "
				 "equals)"
			       : "round robin");
	if (a->affinity_timeout) {
		fprintf(f,
			" (ClientIP affinity, timeout %u s: a returning client keeps its endpoint",
			a->affinity_timeout);
		if (a->has_affinity)
			fprintf(
			    f, "; this client's: %s, %.0f s left",
			    ep_text(&a->affinity_ep.addr, a->affinity_ep.port, buf, sizeof(buf)),
			    a->affinity_left);
		fputc(')', f);
	}
	fputc('\n', f);
	for (size_t i = 0; i < a->n_eps; i++) {
		const struct sp_relay_ep *e = &a->eps[i];

		fprintf(f, "  %s", ep_text(&e->addr, e->port, buf, sizeof(buf)));
		if (!a->least_conns)
			fprintf(f, "  %.1f%%", 100.0 / (double)a->n_total);
		fprintf(f, "  %s %u  masquerade: yes: the endpoint sees %s%s\n",
			udp ? "flows" : "active", e->active,
			e->src.family ? sp_addr_str(&e->src, s)
				      : "this node's address (no route here)",
			e->next ? "  ← next" : "");
	}
	if (a->n_eps < a->n_total)
		fprintf(f, "  … and %zu more\n", a->n_total - a->n_eps);
	left_out(f, p, a);
	fputs("path: ", f);
	where(f, dst, a);
	fprintf(f, " → the agent's listener %s %s → ", a->listener,
		udp ? "receives it" : "accepts it");
	list_text(f, p, src, a);
	fprintf(f,
		udp ? " → a flow (client address and port) with a socket connected to the "
		      "endpoint; replies leave from %s\n"
		    : " → the agent connects to the endpoint (the next one on refusal or "
		      "timeout) and relays both ways%.0s\n",
		a->listener);
	fprintf(f,
		"masquerade: yes (every endpoint, above): relayed by the agent, the endpoint sees "
		"this node's address, never the client's (%s)\n",
		sp_addr_str(src, s));
}
