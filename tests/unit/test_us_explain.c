/* test_us_explain.c - the userspace forwarder's explain answer, from tables
 * built by hand (no sockets): the listener and whether the address is on
 * svcplane0 or a node address, the list each kind of client draws from,
 * the verdict without endpoints, for Local policy from outside and outside
 * loadBalancerSourceRanges, balancing with its next pick and each
 * endpoint's open connections (UDP: flows), ClientIP affinity; and the
 * query and answer through their JSON form and back. */
#include "helpers.h"
#include "../../common/hmap.h"
#include "../../dataplane/userspace/us_addrs.h"
#include "../../dataplane/userspace/us_explain.h"
#include "../../dataplane/userspace/us_flows.h"
#include "../../dataplane/userspace/us_fwd.h"
#include "../../dataplane/userspace/us_port.h"

#include <stdlib.h>
#include <string.h>

static struct sp_addr ip(const char *s)
{
	struct sp_addr a;

	ck_assert_int_eq(sp_addr_parse(s, &a), 0);
	return a;
}

static struct us_ep ep(const char *s, uint16_t port)
{
	return (struct us_ep){.addr = ip(s), .port = port};
}

/* t/web (ClusterIP 198.19.128.90:80, NodePort 30090 on 198.19.0.1, LB IP
 * 198.19.201.91:80 with source ranges 198.19.0.100/32) with three
 * endpoints a1 a2 (this node) and b2, externalTrafficPolicy Local. */
struct rig {
	struct sp_cidrs cc;
	struct us_fwd f;
	struct us_ports t;
	struct us_svc s;
	struct us_lis cip, np, lb;
	struct sp_addr range;
};

static void add_lis(struct rig *r, struct us_lis *l, const char *addr, uint16_t port, bool external,
		    bool vip, bool lb)
{
	*l = (struct us_lis){.fwd = &r->f,
			     .svc = &r->s,
			     .external = external,
			     .addr = ip(addr),
			     .port = port,
			     .proto = r->s.proto,
			     .fd = 7,
			     .vip = vip,
			     .lb = lb};
	us_lis_name(&l->addr, port, l->proto, l->name, sizeof(l->name));
	ck_assert_int_eq(sp_hmap_put(r->t.lis, l->name, l, NULL), 0);
}

static void rig_up(struct rig *r, uint8_t proto)
{
	struct us_ep all[3] = {ep("198.18.1.10", 8080), ep("198.18.1.11", 8080),
			       ep("198.18.2.11", 8080)};

	memset(r, 0, sizeof(*r));
	ck_assert_int_eq(sp_cidr_parse("198.18.0.0/16", true, &r->cc.v[0]), 0);
	r->cc.n = 1;
	r->f.cluster_cidrs = &r->cc;
	r->t.fwd = &r->f;
	ck_assert_ptr_nonnull(r->t.lis = sp_hmap_new());
	r->t.node[0].v[0] = ip("198.19.0.1");
	r->t.node[0].n = 1;
	r->s = (struct us_svc){
	    .key = "t/web:http/TCP/IPv4", .proto = proto, .family = AF_INET, .ext_local = true};
	r->range = ip("198.19.0.100");
	r->s.ranges = &r->range;
	r->s.nranges = 1;
	ck_assert_int_eq(us_pool_set(&r->s.internal, all, 3), 0);
	ck_assert_int_eq(us_pool_set(&r->s.shortcut, all, 3), 0);
	ck_assert_int_eq(us_pool_set(&r->s.external, all, 2), 0); /* the local ones */
	r->s.external.choice = SP_CHOICE_TERMINATING;
	add_lis(r, &r->cip, "198.19.128.90", 80, false, true, false);
	add_lis(r, &r->np, "198.19.0.1", 30090, true, false, false);
	add_lis(r, &r->lb, "198.19.201.91", 80, true, true, true);
}

static void rig_down(struct rig *r)
{
	us_pool_fini(&r->s.internal);
	us_pool_fini(&r->s.external);
	us_pool_fini(&r->s.shortcut);
	us_affinity_free(r->s.aff);
	sp_hmap_free(r->t.lis);
}

static void ask(struct rig *r, const char *src, const char *dst, uint16_t port,
		struct sp_relay_answer *a)
{
	struct us_explain_query q = {
	    .src = ip(src), .dst = ip(dst), .proto = r->s.proto, .port = port};

	ck_assert_int_eq(us_explain(&r->t, &q, 1000, a), 0);
}

static const char *ep_str(const struct sp_relay_ep *e, char *buf)
{
	char a[SP_ADDRSTRLEN];

	sprintf(buf, "%s:%u", sp_addr_str(&e->addr, a), e->port);
	return buf;
}

/* The ClusterIP, from outside: the internal list on svcplane0, round robin
 * from the cursor, each endpoint's open connections, the next one marked. */
START_TEST(test_us_explain_cluster_ip_round_robin)
{
	struct rig r;
	struct sp_relay_answer a;
	struct us_ep b2 = ep("198.18.2.11", 8080), out;
	char buf[64];

	rig_up(&r, IPPROTO_TCP);
	ck_assert_int_eq(us_pick(&r.s.internal, NULL, NULL, 0, NULL, 0, &out), 0); /* a1 taken */
	us_pool_count(&r.s.internal, &b2, 1);
	us_pool_count(&r.s.internal, &b2, 1);
	ask(&r, "198.19.0.100", "198.19.128.90", 80, &a);
	ck_assert_int_eq(a.verdict, SP_RELAY_RELAYED);
	ck_assert_str_eq(a.listener, "198.19.128.90:80/TCP");
	ck_assert_str_eq(a.service_port, "t/web:http/TCP/IPv4");
	ck_assert(a.on_link);
	ck_assert_str_eq(a.link, US_LINK_NAME);
	ck_assert_int_eq(a.list, SP_RELAY_INTERNAL);
	ck_assert_int_eq(a.choice, SP_CHOICE_READY);
	ck_assert(!a.least_conns);
	ck_assert_uint_eq(a.affinity_timeout, 0);
	ck_assert_uint_eq(a.n_eps, 3);
	ck_assert_uint_eq(a.n_total, 3);
	/* balancing order from the cursor: a2 next, then b2, then a1 */
	ck_assert_str_eq(ep_str(&a.eps[0], buf), "198.18.1.11:8080");
	ck_assert(a.eps[0].next);
	ck_assert_str_eq(ep_str(&a.eps[1], buf), "198.18.2.11:8080");
	ck_assert(!a.eps[1].next);
	ck_assert_uint_eq(a.eps[1].active, 2);
	ck_assert_str_eq(ep_str(&a.eps[2], buf), "198.18.1.10:8080");
	ck_assert_uint_eq(a.eps[2].active, 0);
	sp_relay_answer_fini(&a);
	/* least connections: the fewest open, b2 never while it holds two */
	r.s.internal.least_conns = true;
	us_pool_count(&r.s.internal, &r.s.internal.v[1], 1);
	ask(&r, "198.18.1.12", "198.19.128.90", 80, &a);
	ck_assert(a.least_conns);
	ck_assert_str_eq(ep_str(&a.eps[2], buf), "198.18.1.10:8080");
	ck_assert(a.eps[2].next && !a.eps[0].next && !a.eps[1].next);
	sp_relay_answer_fini(&a);
	rig_down(&r);
}
END_TEST

/* NodePort and LB IP with externalTrafficPolicy Local: from outside the
 * local list (here by the fallback rule), from a pod or the node itself
 * the cluster list; outside the source ranges, reset. */
START_TEST(test_us_explain_local_policy_lists)
{
	struct rig r;
	struct sp_relay_answer a;

	rig_up(&r, IPPROTO_TCP);
	ask(&r, "198.19.0.100", "198.19.0.1", 30090, &a);
	ck_assert_int_eq(a.verdict, SP_RELAY_RELAYED);
	ck_assert(!a.on_link);
	ck_assert_str_eq(a.listener, "198.19.0.1:30090/TCP");
	ck_assert_int_eq(a.list, SP_RELAY_EXTERNAL);
	ck_assert_int_eq(a.choice, SP_CHOICE_TERMINATING);
	ck_assert_uint_eq(a.n_eps, 2);
	sp_relay_answer_fini(&a);
	ask(&r, "198.18.2.12", "198.19.0.1", 30090, &a); /* a pod of another node */
	ck_assert_int_eq(a.list, SP_RELAY_SHORTCUT);
	ck_assert_uint_eq(a.n_eps, 3);
	sp_relay_answer_fini(&a);
	ask(&r, "198.19.0.1", "198.19.0.1", 30090, &a); /* the node itself */
	ck_assert_int_eq(a.list, SP_RELAY_SHORTCUT);
	sp_relay_answer_fini(&a);
	ask(&r, "198.19.0.101", "198.19.201.91", 80, &a); /* not in the source ranges */
	ck_assert_int_eq(a.verdict, SP_RELAY_SOURCE_RANGES);
	sp_relay_answer_fini(&a);
	ask(&r, "198.19.0.100", "198.19.201.91", 80, &a);
	ck_assert_int_eq(a.verdict, SP_RELAY_RELAYED);
	ck_assert(a.on_link);
	sp_relay_answer_fini(&a);
	/* no endpoint on this node: listening for the node's own, reset from outside */
	us_pool_set(&r.s.external, NULL, 0);
	ask(&r, "198.19.0.100", "198.19.0.1", 30090, &a);
	ck_assert_int_eq(a.verdict, SP_RELAY_NONE_FOR_CLIENT);
	ck_assert_uint_eq(a.n_eps, 0);
	ck_assert_ptr_null(a.eps);
	sp_relay_answer_fini(&a);
	rig_down(&r);
}
END_TEST

/* Without endpoints the listener has no socket; an address and port no
 * listener has names the node addresses NodePorts listen on; a socket that
 * could not bind says why. */
START_TEST(test_us_explain_refusals)
{
	struct rig r;
	struct sp_relay_answer a;
	char buf[SP_ADDRSTRLEN];

	rig_up(&r, IPPROTO_TCP);
	ask(&r, "198.19.0.100", "198.19.0.2", 30090, &a);
	ck_assert_int_eq(a.verdict, SP_RELAY_NO_LISTENER);
	ck_assert_str_eq(a.listener, "");
	ck_assert_int_eq(a.n_node_addrs, 1);
	ck_assert_str_eq(sp_addr_str(&a.node_addrs[0], buf), "198.19.0.1");
	sp_relay_answer_fini(&a);
	r.cip.fd = -1;
	r.cip.bind_err = -EADDRINUSE;
	ask(&r, "198.19.0.100", "198.19.128.90", 80, &a);
	ck_assert_int_eq(a.verdict, SP_RELAY_BIND_FAILED);
	ck_assert_str_eq(a.bind_err, strerror(EADDRINUSE));
	sp_relay_answer_fini(&a);
	us_pool_set(&r.s.internal, NULL, 0);
	ask(&r, "198.19.0.100", "198.19.128.90", 80, &a);
	ck_assert_int_eq(a.verdict, SP_RELAY_NO_ENDPOINTS);
	ck_assert_str_eq(a.listener, "198.19.128.90:80/TCP");
	sp_relay_answer_fini(&a);
	rig_down(&r);
}
END_TEST

/* ClientIP affinity: its timeout, this client's entry and time left, and
 * the next pick is the entry's endpoint. */
START_TEST(test_us_explain_affinity)
{
	struct rig r;
	struct sp_relay_answer a;
	struct sp_addr client = ip("198.19.0.100");
	struct us_ep b2 = ep("198.18.2.11", 8080);
	char buf[64];

	rig_up(&r, IPPROTO_TCP);
	ck_assert_ptr_nonnull(r.s.aff = us_affinity_new(300));
	ask(&r, "198.19.0.100", "198.19.128.90", 80, &a);
	ck_assert_uint_eq(a.affinity_timeout, 300);
	ck_assert(!a.has_affinity);
	ck_assert(a.eps[0].next); /* no entry yet: balanced */
	sp_relay_answer_fini(&a);
	ck_assert_int_eq(us_affinity_put(r.s.aff, &client, &b2, 900), 0);
	ask(&r, "198.19.0.100", "198.19.128.90", 80, &a);
	ck_assert(a.has_affinity);
	ck_assert_str_eq(ep_str(&a.affinity_ep, buf), "198.18.2.11:8080");
	ck_assert(a.affinity_left > 199.9 && a.affinity_left < 200.1);
	ck_assert(!a.eps[0].next && a.eps[2].next);
	sp_relay_answer_fini(&a);
	/* b2 is not on the external (local) list: its entry does not apply there */
	ask(&r, "198.19.0.100", "198.19.0.1", 30090, &a);
	ck_assert(!a.has_affinity);
	sp_relay_answer_fini(&a);
	rig_down(&r);
}
END_TEST

/* UDP: flows per endpoint of the list they draw from (the relay counts a
 * flow in its pool as a connection of its endpoint). */
START_TEST(test_us_explain_udp_flows)
{
	struct rig r;
	struct sp_relay_answer a;
	struct us_ep e1 = ep("198.18.1.11", 8080), e2 = ep("198.18.2.11", 8080);
	char buf[64];

	rig_up(&r, IPPROTO_UDP);
	us_pool_count(&r.s.internal, &e2, 1);
	us_pool_count(&r.s.internal, &e1, 1);
	us_pool_count(&r.s.external, &e1, 1);
	ask(&r, "198.19.0.100", "198.19.128.90", 80, &a);
	ck_assert_str_eq(a.listener, "198.19.128.90:80/UDP");
	for (size_t i = 0; i < a.n_eps; i++) {
		ep_str(&a.eps[i], buf);
		ck_assert_uint_eq(a.eps[i].active, strcmp(buf, "198.18.1.10:8080") ? 1 : 0);
	}
	sp_relay_answer_fini(&a);
	rig_down(&r);
}
END_TEST

/* The wire form both ways: every field comes back as it went. */
START_TEST(test_us_explain_json_round_trip)
{
	struct sp_relay_ep eps[2] = {
	    {.addr = ip("fd00:10:0:1::10"), .port = 8080, .active = 4, .next = true},
	    {.addr = ip("fd00:10:0:2::11"), .port = 8081, .active = 0}};
	struct sp_relay_answer a = {.verdict = SP_RELAY_NONE_FOR_CLIENT,
				    .pid = 4242,
				    .listener = "[fd00:96::5a]:80/TCP",
				    .service_port = "t/web:http/TCP/IPv6",
				    .on_link = true,
				    .link = "svcplane0",
				    .bind_err = "",
				    .n_node_addrs = 2,
				    .list = SP_RELAY_SHORTCUT,
				    .choice = SP_CHOICE_ZONE_HINTS,
				    .least_conns = true,
				    .affinity_timeout = 10800,
				    .has_affinity = true,
				    .affinity_ep = eps[1],
				    .affinity_left = 12.5,
				    .eps = eps,
				    .n_eps = 2,
				    .n_total = 300};
	struct us_explain_query q = {.src = ip("fd00:19::100"),
				     .dst = ip("fd00:96::5a"),
				     .proto = IPPROTO_SCTP,
				     .port = 80},
				q2;
	struct sp_relay_answer b;
	char *txt, x[SP_ADDRSTRLEN], y[SP_ADDRSTRLEN];

	a.node_addrs[0] = ip("fd00:19::1");
	a.node_addrs[1] = ip("fd00:19::2");
	ck_assert_ptr_nonnull(txt = us_explain_answer_fmt(&a));
	ck_assert_int_eq(us_explain_answer_parse(txt, strlen(txt), &b), 0);
	free(txt);
	ck_assert_int_eq(b.verdict, a.verdict);
	ck_assert_int_eq(b.pid, 4242);
	ck_assert_str_eq(b.listener, a.listener);
	ck_assert_str_eq(b.service_port, a.service_port);
	ck_assert(b.on_link && b.least_conns && b.has_affinity);
	ck_assert_str_eq(b.link, "svcplane0");
	ck_assert_int_eq(b.n_node_addrs, 2);
	ck_assert_str_eq(sp_addr_str(&b.node_addrs[1], x), "fd00:19::2");
	ck_assert_int_eq(b.list, SP_RELAY_SHORTCUT);
	ck_assert_int_eq(b.choice, SP_CHOICE_ZONE_HINTS);
	ck_assert_uint_eq(b.affinity_timeout, 10800);
	ck_assert_uint_eq(b.affinity_ep.port, 8081);
	ck_assert(b.affinity_left == 12.5);
	ck_assert_uint_eq(b.n_eps, 2);
	ck_assert_uint_eq(b.n_total, 300);
	for (size_t i = 0; i < 2; i++) {
		ck_assert_str_eq(sp_addr_str(&b.eps[i].addr, x), sp_addr_str(&eps[i].addr, y));
		ck_assert_uint_eq(b.eps[i].port, eps[i].port);
		ck_assert_uint_eq(b.eps[i].active, eps[i].active);
		ck_assert_int_eq(b.eps[i].next, eps[i].next);
	}
	sp_relay_answer_fini(&b);
	ck_assert_ptr_nonnull(txt = us_explain_query_fmt(&q));
	ck_assert_int_eq(us_explain_query_parse(txt, strlen(txt), &q2), 0);
	free(txt);
	ck_assert(!sp_addr_cmp(&q.src, &q2.src) && !sp_addr_cmp(&q.dst, &q2.dst));
	ck_assert_uint_eq(q2.proto, IPPROTO_SCTP);
	ck_assert_uint_eq(q2.port, 80);
}
END_TEST

/* What the parsers refuse: each a reason an asker or an agent could send. */
START_TEST(test_us_explain_parse_refuses)
{
	static const char *const queries[] = {
	    "",
	    "[]",
	    "{\"source\":\"198.19.0.100\",\"destination\":\"198.19.128.90\",\"port\":0,"
	    "\"protocol\":\"TCP\"}",
	    "{\"source\":\"fd00:19::1\",\"destination\":\"198.19.128.90\",\"port\":80,\"protocol\":"
	    "\"TCP\"}",
	    "{\"source\":\"198.19.0.100\",\"destination\":\"198.19.128.90\",\"port\":80,"
	    "\"protocol\":\"ICMP\"}",
	    "{\"source\":\"198.19.0.100\",\"destination\":\"x\",\"port\":80,\"protocol\":\"TCP\"}",
	    "{\"source\":\"198.19.0.100\",\"destination\":\"198.19.128.90\",\"port\":\"80\","
	    "\"protocol\":\"TCP\"}",
	};
	static const char *const answers[] = {
	    "{}",
	    "{\"verdict\":\"maybe\",\"list\":\"internal\",\"choice\":\"ready\",\"balancing\":"
	    "\"round-robin\",\"endpoints\":[]}",
	    "{\"verdict\":\"relayed\",\"list\":\"internal\",\"choice\":\"ready\",\"balancing\":"
	    "\"random\",\"endpoints\":[]}",
	    /* more endpoints than the list has */
	    "{\"verdict\":\"relayed\",\"list\":\"internal\",\"choice\":\"ready\",\"balancing\":"
	    "\"round-robin\",\"total\":0,"
	    "\"endpoints\":[{\"ip\":\"198.18.1.10\",\"port\":80}]}",
	    /* two families in one list */
	    "{\"verdict\":\"relayed\",\"list\":\"internal\",\"choice\":\"ready\",\"balancing\":"
	    "\"round-robin\",\"total\":2,"
	    "\"endpoints\":[{\"ip\":\"198.18.1.10\",\"port\":80},{\"ip\":\"fd00::1\",\"port\":80}]"
	    "}",
	    "{\"verdict\":\"relayed\",\"list\":\"internal\",\"choice\":\"ready\",\"balancing\":"
	    "\"round-robin\",\"total\":1,"
	    "\"endpoints\":[{\"ip\":\"198.18.1.10\",\"port\":80,\"active\":-1}]}",
	    "{\"verdict\":\"relayed\",\"list\":\"internal\",\"choice\":\"ready\",\"balancing\":"
	    "\"round-robin\",\"total\":0,"
	    "\"listener\":\""
	    "0123456789012345678901234567890123456789012345678901234567890123456789012345678901"
	    "\",\"endpoints\":[]}",
	};
	struct us_explain_query q;
	struct sp_relay_answer a;

	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++)
		ck_assert_msg(us_explain_query_parse(queries[i], strlen(queries[i]), &q) == -EINVAL,
			      "query %zu taken", i);
	for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		ck_assert_msg(us_explain_answer_parse(answers[i], strlen(answers[i]), &a) ==
				  -EINVAL,
			      "answer %zu taken", i);
		sp_relay_answer_fini(&a);
	}
}
END_TEST

Suite *suite_us_explain(void)
{
	Suite *s = suite_create("us_explain");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_us_explain_cluster_ip_round_robin);
	tcase_add_test(tc, test_us_explain_local_policy_lists);
	tcase_add_test(tc, test_us_explain_refusals);
	tcase_add_test(tc, test_us_explain_affinity);
	tcase_add_test(tc, test_us_explain_udp_flows);
	tcase_add_test(tc, test_us_explain_json_round_trip);
	tcase_add_test(tc, test_us_explain_parse_refuses);
	suite_add_tcase(s, tc);
	return s;
}
