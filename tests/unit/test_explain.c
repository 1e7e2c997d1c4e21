/* test_explain.c - inspect and explain agree: every port of every dump
 * fixture walked through explain (each address kind, from outside and from
 * a pod) answers as inspect's row and findings say. */
#include "helpers.h"
#include "../../common/hmap.h"
#include "../../tools/inspect/explain.h"
#include "../../tools/inspect/explain_relay.h"

#include <stdlib.h>
#include <string.h>

static const char *const fixtures[] = {
	"kube-proxy-iptables.save", "kube-proxy-nft.json", "kube-proxy-nft.txt",
	"kube-proxy-nft-dual.json", "kube-proxy-nft-dual.txt", "kp-nft-1.31-unnamed.txt",
	"kp-ipt-1.23-xlb.save", "kp-ipt-1.28.save", "kp-ipt-1.11-grep.txt", "kp-ipvsadm.txt",
	"kp-ipt-nft-1.0.6.txt", "kp-ipt-nft-ruleset.txt",
};

static bool has_finding(const struct sp_inspect *in, const char *name, const char *what)
{
	for (size_t i = 0; i < in->nfindings; i++)
		if (!strncmp(in->findings[i], name, strlen(name)) && strstr(in->findings[i], what))
			return true;
	return false;
}

/* The candidates are exactly @p's endpoints. */
static void same_eps(const struct sp_explain *ex, const struct sp_svc_port *p, const char *ctx)
{
	ck_assert_msg(ex->n_eps == p->n_eps, "%s: explain %zu candidates, inspect %zu", ctx,
		      ex->n_eps, p->n_eps);
	for (size_t i = 0; i < ex->n_eps; i++) {
		bool found = false;

		for (size_t k = 0; k < p->n_eps; k++)
			found |= !sp_addr_cmp(&p->eps[k].addr, &ex->eps[i].addr) &&
				 p->eps[k].port == ex->eps[i].port;
		ck_assert_msg(found, "%s: candidate %zu not in inspect's row", ctx, i);
	}
}

/* One port reached via @via (@dst for the address kinds) from @src. */
static void agree(const struct sp_inspect *in, const struct sp_svc_port *p, enum sp_explain_via via,
		  const struct sp_addr *dst, const struct sp_addr *src, const char *text)
{
	const struct sp_inspect_port *x = sp_hmap_get(in->extra, p->key);
	enum sp_explain_via got;
	struct sp_explain ex;
	char name[512], ctx[600];

	sp_inspect_port_name(p, name, sizeof(name));
	snprintf(ctx, sizeof(ctx), "%s via %s", name, sp_explain_via_name(via));
	if (dst) {	/* the address finds this port (the ClusterIP first) */
		ck_assert_ptr_eq(sp_explain_match(in, dst, p->protocol, p->port, &got), p);
	}
	ck_assert_int_eq(sp_explain(in, p, via, src, &ex), 0);
	if (via == SP_VIA_CLUSTER_IP) {
		if (p->n_eps)
			same_eps(&ex, p, ctx);
		else
			ck_assert_msg(ex.verdict != SP_VERDICT_DNAT, "%s: dnat without endpoints", ctx);
	} else if (!ex.pod_src) {
		bool dropped = has_finding(in, name, "has no local endpoints");

		ck_assert_msg((ex.verdict == SP_VERDICT_DROP) == dropped,
			      "%s: explain %s, inspect's finding %s", ctx,
			      ex.verdict == SP_VERDICT_DROP ? "drops" : "does not drop",
			      dropped ? "says dropped" : "is silent");
		if (ex.verdict == SP_VERDICT_DNAT) {
			ck_assert_msg(ex.masq == (p->etp == SP_POLICY_CLUSTER),
				      "%s: masquerade %d with policy %s", ctx, ex.masq,
				      p->etp == SP_POLICY_LOCAL ? "Local" : "Cluster");
			if (p->etp == SP_POLICY_CLUSTER)
				same_eps(&ex, p, ctx);
			else
				ck_assert(x && x->has_external && ex.n_eps == x->n_external);
		}
		if (ex.verdict == SP_VERDICT_DROP)
			ck_assert_msg(strstr(text, "dropped") != NULL, "%s: row does not say dropped", ctx);
	}
	if (ex.verdict == SP_VERDICT_REJECT)
		ck_assert_msg(!p->n_eps || (x && x->has_external && via != SP_VIA_CLUSTER_IP),
			      "%s: rejected with endpoints", ctx);
	for (size_t i = 0; i < ex.n_eps; i++) {
		char a[SP_ADDRSTRLEN];

		ck_assert_msg(strstr(text, sp_addr_str(&ex.eps[i].addr, a)) != NULL,
			      "%s: candidate %s not in inspect's text", ctx, a);
	}
	sp_explain_fini(&ex);
}

START_TEST(test_explain_agrees_with_inspect)
{
	for (size_t f = 0; f < sizeof(fixtures) / sizeof(fixtures[0]); f++) {
		struct sp_inspect in;
		char path[256], err[256] = "", *text = NULL;
		size_t len, tlen, n;
		FILE *fp;
		char *buf = malloc(1 << 20);
		const struct sp_svc_port **v;

		snprintf(path, sizeof(path), FIXTURES "/dumps/%s", fixtures[f]);
		fp = fopen(path, "rb");
		ck_assert_msg(fp != NULL, "%s", path);
		len = fread(buf, 1, (1 << 20) - 1, fp);
		fclose(fp);
		ck_assert_int_eq(sp_inspect_init(&in), 0);
		ck_assert_msg(sp_inspect_buf(buf, len, &in, err, sizeof(err)) == 0, "%s: %s", path, err);
		ck_assert_msg(sp_hmap_len(in.m.ports) > 0, "%s: no ports", path);
		fp = open_memstream(&text, &tlen);
		sp_inspect_print(fp, &in);
		fclose(fp);
		v = sp_model_sorted_ports(&in.m, &n);
		for (size_t i = 0; i < n; i++) {
			const struct sp_svc_port *p = v[i];
			const struct sp_inspect_port *x = sp_hmap_get(in.extra, p->key);
			struct sp_addr outside = { .family = p->family }, pod = outside;

			if (x && x->nkeep)
				pod = x->keep_src[0];	/* the pod CIDR's first address */
			for (size_t k = 0; k < p->cluster_ips.n; k++)
				agree(&in, p, SP_VIA_CLUSTER_IP, &p->cluster_ips.v[k], &outside, text);
			for (size_t k = 0; k < p->external_ips.n; k++) {
				agree(&in, p, SP_VIA_EXTERNAL_IP, &p->external_ips.v[k], &outside, text);
				agree(&in, p, SP_VIA_EXTERNAL_IP, &p->external_ips.v[k], &pod, text);
			}
			for (size_t k = 0; k < p->lb_ips.n; k++)
				agree(&in, p, SP_VIA_LB_IP, &p->lb_ips.v[k], &outside, text);
			if (p->node_port)
				agree(&in, p, SP_VIA_NODE_PORT, NULL, &outside, text);
		}
		free(v);
		free(text);
		free(buf);
		sp_inspect_fini(&in);
	}
}
END_TEST

/* --- the userspace forwarder's answer, as explain prints it ------------------------- */

static struct sp_addr addr(const char *s)
{
	struct sp_addr a;

	ck_assert_int_eq(sp_addr_parse(s, &a), 0);
	return a;
}

/* What explain prints for @a (@p reached via @via from @src). */
static char *relay_text(const struct sp_svc_port *p, enum sp_explain_via via, const char *src,
			const char *dst, uint16_t port, uint8_t proto, const struct sp_relay_answer *a)
{
	struct sp_addr s = addr(src), d = addr(dst);
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	sp_explain_relay_print(f, p, via, &s, &d, port, proto, a);
	fclose(f);
	return text;
}

static void has_line(const char *text, const char *line)
{
	const char *at = strstr(text, line);

	ck_assert_msg(at && (at == text || at[-1] == '\n') && at[strlen(line)] == '\n',
		      "no line \"%s\" in:\n%s", line, text);
}

static void has_text(const char *text, const char *part)
{
	ck_assert_msg(strstr(text, part) != NULL, "no \"%s\" in:\n%s", part, text);
}

/* A ClusterIP relayed round robin: the share, open connections, the source
 * each endpoint sees and the next pick per candidate; the not-ready
 * endpoint left out with its conditions; the link, listener and list in
 * the path; masquerade always. */
START_TEST(test_explain_relay_round_robin_affinity)
{
	struct sp_svc_port *p = svc_port_eps("t/web", "198.19.128.90", 80, 4);
	struct sp_relay_ep eps[3] = {
	    {.addr = addr("10.0.1.10"), .port = 8080, .active = 2, .src = addr("10.0.1.1")},
	    {.addr = addr("10.0.2.11"), .port = 8080, .next = true, .src = addr("198.19.0.1")},
	    {.addr = addr("10.0.1.12"), .port = 8080, .src = addr("10.0.1.1")}};
	struct sp_relay_answer a = {.verdict = SP_RELAY_RELAYED, .pid = 7,
				    .listener = "198.19.128.90:80/TCP", .on_link = true,
				    .link = "svcplane0", .list = SP_RELAY_INTERNAL,
				    .choice = SP_CHOICE_READY, .affinity_timeout = 300,
				    .has_affinity = true, .affinity_ep = eps[1],
				    .affinity_left = 200, .eps = eps, .n_eps = 3, .n_total = 3};
	char *t;

	p->eps[3].ready = false;
	p->eps[3].terminating = true;
	t = relay_text(p, SP_VIA_CLUSTER_IP, "198.19.0.100", "198.19.128.90", 80, IPPROTO_TCP, &a);
	has_line(t, "verdict: relay to one of 3 endpoint(s), round robin (ClientIP affinity, "
		    "timeout 300 s: a returning client keeps its endpoint; this client's: "
		    "10.0.2.11:8080, 200 s left)");
	has_line(t, "  10.0.1.10:8080  33.3%  active 2  masquerade: yes: the endpoint sees 10.0.1.1");
	has_line(t, "  10.0.2.11:8080  33.3%  active 0  masquerade: yes: the endpoint sees "
		    "198.19.0.1  ← next");
	has_line(t, "  left out: 10.0.2.13:8080 (not ready, serving, terminating)");
	has_line(t, "path: 198.19.128.90 is a local address on svcplane0, the forwarder's link → "
		    "the agent's listener 198.19.128.90:80/TCP accepts it → the internal-traffic "
		    "list (internalTrafficPolicy Cluster: the ready endpoints) → the agent connects "
		    "to the endpoint (the next one on refusal or timeout) and relays both ways");
	has_line(t, "masquerade: yes (every endpoint, above): relayed by the agent, the endpoint "
		    "sees this node's address, never the client's (198.19.0.100)");
	/* the same lines, in the same order, as the NAT backends' */
	ck_assert_ptr_eq(strstr(t, "verdict: "), t);
	ck_assert(strstr(t, "  10.0.1.10") < strstr(t, "path: ") &&
		  strstr(t, "path: ") < strstr(t, "masquerade: yes ("));
	free(t);
	sp_svc_port_free(p);
}
END_TEST

/* A NodePort with externalTrafficPolicy Local, least connections: no
 * shares, the fallback rule named, the other node's endpoint left out as
 * such; UDP counts flows. */
START_TEST(test_explain_relay_least_conns_local)
{
	struct sp_svc_port *p = svc_port_eps("t/web", "198.19.128.90", 80, 2);
	struct sp_relay_ep ep = {.addr = addr("10.0.1.10"), .port = 8080, .active = 5,
				 .next = true, .src = addr("10.0.1.1")};
	struct sp_relay_answer a = {.verdict = SP_RELAY_RELAYED, .listener = "198.19.0.1:30080/UDP",
				    .link = "svcplane0", .list = SP_RELAY_EXTERNAL,
				    .choice = SP_CHOICE_TERMINATING, .least_conns = true,
				    .eps = &ep, .n_eps = 1, .n_total = 1};
	char *t;

	p->node_port = 30080;
	p->etp = SP_POLICY_LOCAL;
	p->eps[1].node_name = strdup("node2");
	t = relay_text(p, SP_VIA_NODE_PORT, "198.19.0.100", "198.19.0.1", 30080, IPPROTO_UDP, &a);
	has_line(t, "verdict: relay to one of 1 endpoint(s), least connections (the fewest open "
		    "first, round robin between equals)");
	has_line(t, "  10.0.1.10:8080  flows 5  masquerade: yes: the endpoint sees 10.0.1.1  ← next");
	has_line(t, "  left out: 10.0.2.11:8080 (on node2)");
	has_text(t, "path: 198.19.0.1 is a node address, where NodePorts listen → the agent's "
		    "listener 198.19.0.1:30080/UDP receives it → the external-traffic list "
		    "(externalTrafficPolicy Local: none on this node is ready: its serving and "
		    "terminating ones (fallback)) → a flow");
	free(t);
	sp_svc_port_free(p);
}
END_TEST

/* Each refusal says who refuses and how, by protocol; no masquerade line. */
START_TEST(test_explain_relay_refusals)
{
	struct sp_svc_port *p = svc_port_eps("t/web", "198.19.128.90", 80, 1);
	struct sp_relay_answer a = {.listener = "198.19.128.90:80/UDP", .on_link = true,
				    .link = "svcplane0", .n_node_addrs = 2};
	char *t;

	a.node_addrs[0] = addr("198.19.0.1");
	a.node_addrs[1] = addr("198.19.0.3");
	a.verdict = SP_RELAY_NO_ENDPOINTS;
	t = relay_text(p, SP_VIA_CLUSTER_IP, "198.19.0.100", "198.19.128.90", 80, IPPROTO_UDP, &a);
	has_line(t, "verdict: reject (no endpoints: 198.19.128.90:80/UDP has no socket while its "
		    "list is empty, so the kernel refuses: ICMP port unreachable)");
	has_line(t, "path: 198.19.128.90 is a local address on svcplane0, the forwarder's link → "
		    "198.19.128.90:80/UDP is closed");
	ck_assert_ptr_null(strstr(t, "masquerade"));
	free(t);
	a.verdict = SP_RELAY_NONE_FOR_CLIENT;
	t = relay_text(p, SP_VIA_LB_IP, "198.19.0.100", "198.19.128.90", 80, IPPROTO_TCP, &a);
	has_line(t, "verdict: reset (the agent accepts, then resets the connection: "
		    "externalTrafficPolicy Local and no endpoint on this node; it listens for the "
		    "node's own clients; kube-proxy drops)");
	free(t);
	a.verdict = SP_RELAY_SOURCE_RANGES;
	t = relay_text(p, SP_VIA_LB_IP, "198.19.0.101", "198.19.128.90", 80, IPPROTO_UDP, &a);
	has_line(t, "verdict: drop (the agent drops the datagram: 198.19.0.101 is not in "
		    "loadBalancerSourceRanges)");
	free(t);
	a.verdict = SP_RELAY_NO_LISTENER;
	t = relay_text(p, SP_VIA_NODE_PORT, "198.19.0.100", "198.19.0.2", 30080, IPPROTO_TCP, &a);
	has_line(t, "verdict: reject (no listener for 198.19.0.2:30080/TCP here: NodePorts listen "
		    "on 198.19.0.1, 198.19.0.3 only; at another address of this node the kernel "
		    "refuses (a reset), an address not this node's never reaches it)");
	ck_assert_ptr_null(strstr(t, "path:"));
	free(t);
	sp_svc_port_free(p);
}
END_TEST

Suite *suite_explain(void)
{
	Suite *s = suite_create("explain");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_explain_agrees_with_inspect);
	tcase_add_test(tc, test_explain_relay_round_robin_affinity);
	tcase_add_test(tc, test_explain_relay_least_conns_local);
	tcase_add_test(tc, test_explain_relay_refusals);
	suite_add_tcase(s, tc);
	return s;
}
