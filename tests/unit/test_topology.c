/* test_topology.c - kube-proxy's endpoint categorisation, case by case. */
#include "helpers.h"
#include "../../control/k8s_field.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

/* Build a port with endpoints described as "ip flags zone-hint" where flags
 * are r (ready), s (serving), t (terminating), l (local). */
static struct sp_svc_port *port_with(const char *const *eps, size_t n)
{
	struct sp_svc_port *p = sp_svc_port_new("ns/svc", "", IPPROTO_TCP, AF_INET);

	p->port = 80;
	p->eps = calloc(n + 1, sizeof(*p->eps));
	for (size_t i = 0; i < n; i++) {
		char ip[32], flags[8], hint[16] = "";
		struct sp_endpoint *ep = &p->eps[p->n_eps++];

		ck_assert_int_ge(sscanf(eps[i], "%31s %7s %15s", ip, flags, hint), 2);
		ck_assert_int_eq(sp_addr_parse(ip, &ep->addr), 0);
		ep->port = 8080;
		ep->ready = strchr(flags, 'r') != NULL;
		ep->serving = strchr(flags, 's') != NULL || ep->ready;
		ep->terminating = strchr(flags, 't') != NULL;
		ep->local = strchr(flags, 'l') != NULL;
		if (*hint)
			sp_str_list_add(&ep->for_zones, hint);
	}
	return p;
}

static char *ips(const struct sp_endpoint *const *v, size_t n)
{
	static const char none[] = "-";
	char *out = calloc(1, 256), buf[SP_ADDRSTRLEN];

	for (size_t i = 0; i < n; i++) {
		strcat(out, i ? "," : "");
		strcat(out, sp_addr_str(&v[i]->addr, buf));
	}
	if (!n)
		strcpy(out, none);
	return out;
}

static void expect(struct sp_svc_port *p, const char *zone, const char *cluster, const char *local,
		   bool has_any)
{
	struct sp_ep_sets s;
	char *c, *l;

	ck_assert_int_eq(sp_svc_port_decide(p, "node1", zone), 0);
	ck_assert_int_eq(sp_svc_port_ep_sets(p, &s), 0);
	c = ips(s.cluster, s.n_cluster);
	l = ips(s.local, s.n_local);
	ck_assert_str_eq(c, cluster);
	ck_assert_str_eq(l, local);
	ck_assert_int_eq(s.has_any, has_any);
	free(c);
	free(l);
	sp_ep_sets_fini(&s);
	sp_svc_port_free(p);
}

START_TEST(test_categorize_ready_only)
{
	const char *eps[] = { "10.0.0.1 r", "10.0.0.2 -", "10.0.0.3 st" };

	expect(port_with(eps, 3), NULL, "10.0.0.1", "-", true);
}
END_TEST

START_TEST(test_categorize_terminating_fallback)
{
	const char *eps[] = { "10.0.0.2 -", "10.0.0.3 st", "10.0.0.4 t" };

	expect(port_with(eps, 3), NULL, "10.0.0.3", "-", true);
}
END_TEST

START_TEST(test_categorize_no_endpoints)
{
	const char *eps[] = { "10.0.0.2 -" };

	expect(port_with(eps, 1), NULL, "-", "-", false);
}
END_TEST

START_TEST(test_categorize_etp_local)
{
	const char *eps[] = { "10.0.0.1 rl", "10.0.0.2 r", "10.0.0.3 stl" };
	struct sp_svc_port *p = port_with(eps, 3);

	p->node_port = 30080;
	p->etp = SP_POLICY_LOCAL;
	expect(p, NULL, "10.0.0.1,10.0.0.2", "10.0.0.1", true);
}
END_TEST

START_TEST(test_categorize_local_terminating_fallback)
{
	const char *eps[] = { "10.0.0.2 r", "10.0.0.3 stl" };
	struct sp_svc_port *p = port_with(eps, 2);

	p->itp = SP_POLICY_LOCAL;
	/* iTP Local and no external access: cluster endpoints are unused. */
	expect(p, NULL, "-", "10.0.0.3", true);
}
END_TEST

START_TEST(test_categorize_local_none_here)
{
	const char *eps[] = { "10.0.0.2 r" };
	struct sp_svc_port *p = port_with(eps, 1);

	p->itp = SP_POLICY_LOCAL;
	expect(p, NULL, "-", "-", true);
}
END_TEST

START_TEST(test_categorize_zone_hints)
{
	const char *eps[] = { "10.0.0.1 r zone-a", "10.0.0.2 r zone-b", "10.0.0.3 r zone-a" };

	expect(port_with(eps, 3), "zone-a", "10.0.0.1,10.0.0.3", "-", true);
}
END_TEST

START_TEST(test_categorize_zone_hints_ignored_when_partial_or_foreign)
{
	const char *partial[] = { "10.0.0.1 r zone-a", "10.0.0.2 r" };
	const char *foreign[] = { "10.0.0.1 r zone-b", "10.0.0.2 r zone-b" };

	expect(port_with(partial, 2), "zone-a", "10.0.0.1,10.0.0.2", "-", true);
	expect(port_with(foreign, 2), "zone-a", "10.0.0.1,10.0.0.2", "-", true);
}
END_TEST

/* Each list records the rule that chose it, for explain. */
START_TEST(test_categorize_choice_names_the_rule)
{
	const char *ready[] = { "10.0.0.1 rl", "10.0.0.2 st" };
	const char *fallback[] = { "10.0.0.2 -", "10.0.0.3 stl" };
	const char *hinted[] = { "10.0.0.1 r zone-a", "10.0.0.2 r zone-b" };
	struct sp_svc_port *p = port_with(ready, 2);

	p->node_port = 30080;
	p->etp = SP_POLICY_LOCAL;
	ck_assert_int_eq(sp_svc_port_decide(p, "node1", NULL), 0);
	ck_assert_int_eq(p->cluster_choice, SP_CHOICE_READY);
	ck_assert_int_eq(p->local_choice, SP_CHOICE_READY);
	sp_svc_port_free(p);

	p = port_with(fallback, 2);
	p->node_port = 30080;
	p->etp = SP_POLICY_LOCAL;
	ck_assert_int_eq(sp_svc_port_decide(p, "node1", NULL), 0);
	ck_assert_int_eq(p->cluster_choice, SP_CHOICE_TERMINATING);
	ck_assert_int_eq(p->local_choice, SP_CHOICE_TERMINATING);
	sp_svc_port_free(p);

	p = port_with(hinted, 2);
	ck_assert_int_eq(sp_svc_port_decide(p, "node1", "zone-a"), 0);
	ck_assert_int_eq(p->cluster_choice, SP_CHOICE_ZONE_HINTS);
	/* decided again without the hints applying: back to the plain rule */
	ck_assert_int_eq(sp_svc_port_decide(p, "node1", "zone-c"), 0);
	ck_assert_int_eq(p->cluster_choice, SP_CHOICE_READY);
	sp_svc_port_free(p);
}
END_TEST

Suite *suite_topology(void)
{
	Suite *s = suite_create("topology");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_categorize_ready_only);
	tcase_add_test(tc, test_categorize_terminating_fallback);
	tcase_add_test(tc, test_categorize_no_endpoints);
	tcase_add_test(tc, test_categorize_etp_local);
	tcase_add_test(tc, test_categorize_local_terminating_fallback);
	tcase_add_test(tc, test_categorize_local_none_here);
	tcase_add_test(tc, test_categorize_zone_hints);
	tcase_add_test(tc, test_categorize_zone_hints_ignored_when_partial_or_foreign);
	tcase_add_test(tc, test_categorize_choice_names_the_rule);
	suite_add_tcase(s, tc);
	return s;
}
