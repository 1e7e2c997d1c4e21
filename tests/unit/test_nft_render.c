/* test_nft_render.c - service port → nftables elements, without a kernel. */
#include "helpers.h"
#include "../../common/hmap.h"
#include "../../control/k8s_field.h"
#include "../../dataplane/nft/nft_readback.h"
#include "../../dataplane/nft/nft_render.h"

#include <linux/netfilter.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int count(const struct nft_render *r, enum nft_set_id set)
{
	int n = 0;

	for (size_t i = 0; i < r->n; i++)
		n += r->v[i].set == set;
	return n;
}

static const struct nft_elem *find(const struct nft_render *r, enum nft_set_id set)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].set == set)
			return &r->v[i];
	return NULL;
}

START_TEST(test_render_clusterip_groups_by_endpoint_count)
{
	struct sp_svc_port *p = svc_port_eps("ns/web", "10.96.0.10", 80, 3);
	struct nft_render r;
	const struct nft_elem *e;

	ck_assert_int_eq((sp_svc_port_decide(p, "n1", NULL) || nft_render_port(p, &r)), 0);
	ck_assert_int_eq(count(&r, NS_CLUSTER_IPS), 1);
	ck_assert_int_eq(count(&r, NS_BACKENDS), 3);
	ck_assert_int_eq(count(&r, NS_HAIRPIN), 0);	/* derived per address by the backend */
	ck_assert_int_eq(count(&r, NS_NO_EP_SERVICES), 0);
	e = find(&r, NS_SERVICE_IPS);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->chain, "dnat-n3");
	ck_assert_str_eq(e->comment, "ns/web:http");
	/* key: 10.96.0.10 . tcp . 80 */
	ck_assert_int_eq(e->klen, 12);
	ck_assert_int_eq(e->key[0], 10);
	ck_assert_int_eq(e->key[4], IPPROTO_TCP);
	ck_assert_int_eq(e->key[8] << 8 | e->key[9], 80);
	/* a backend: key adds the slot, data is endpoint address . port */
	e = find(&r, NS_BACKENDS);
	ck_assert_int_eq(e->klen, 16);
	ck_assert_int_eq(e->dlen, 8);
	ck_assert_int_eq(e->data[4] << 8 | e->data[5], 8080);
	nft_render_fini(&r);
	sp_svc_port_free(p);
}
END_TEST

START_TEST(test_render_no_endpoints_reject_local_drop)
{
	struct sp_svc_port *p = svc_port_eps("ns/empty", "10.96.0.11", 80, 0);
	struct nft_render r;
	const struct nft_elem *e;

	ck_assert_int_eq((sp_svc_port_decide(p, "n1", NULL) || nft_render_port(p, &r)), 0);
	e = find(&r, NS_NO_EP_SERVICES);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->chain, "reject-chain");
	ck_assert_ptr_null(find(&r, NS_SERVICE_IPS));
	nft_render_fini(&r);
	sp_svc_port_free(p);

	/* eTP Local, no endpoint on this node: external traffic dropped, the
	 * ClusterIP still served, pods and the node short-circuited. */
	p = svc_port_eps("ns/local", "10.96.0.12", 80, 2);
	p->node_port = 30080;
	p->etp = SP_POLICY_LOCAL;
	p->eps[0].local = p->eps[1].local = false;
	ck_assert_int_eq((sp_svc_port_decide(p, "other-node", NULL) || nft_render_port(p, &r)), 0);
	e = find(&r, NS_NO_EP_NODEPORTS);
	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_null(e->chain);
	ck_assert_int_eq(e->verdict, NFT_ELEM_DROP);
	ck_assert_ptr_nonnull(find(&r, NS_SERVICE_IPS));
	ck_assert_int_eq(count(&r, NS_NP_SHORTCUT), 1);
	ck_assert_int_eq(count(&r, NS_NP_SC_BACKENDS), 2);
	ck_assert_int_eq(count(&r, NS_LOCAL_NODEPORTS), 1);
	ck_assert_int_eq(r.no_local_external, 1);
	nft_render_fini(&r);
	sp_svc_port_free(p);
}
END_TEST

START_TEST(test_render_nodeport_cluster_masquerades)
{
	struct sp_svc_port *p = svc_port_eps("ns/np", "10.96.0.13", 80, 2);
	struct nft_render r;

	p->node_port = 30013;
	ck_assert_int_eq((sp_svc_port_decide(p, "n1", NULL) || nft_render_port(p, &r)), 0);
	ck_assert_int_eq(count(&r, NS_MASQ_NODEPORTS), 1);
	ck_assert_str_eq(find(&r, NS_SERVICE_NODEPORTS)->chain, "nodeport-dnat-n2");
	ck_assert_int_eq(count(&r, NS_NP_BACKENDS), 2);
	nft_render_fini(&r);
	sp_svc_port_free(p);
}
END_TEST

START_TEST(test_render_affinity_chain_not_group)
{
	struct sp_svc_port *p = svc_port_eps("ns/sticky", "10.96.0.14", 80, 2);
	struct nft_render r;
	char set[256];

	p->affinity_client_ip = true;
	p->affinity_timeout = 300;
	ck_assert_int_eq((sp_svc_port_decide(p, "n1", NULL) || nft_render_port(p, &r)), 0);
	ck_assert_int_eq(r.naff, 1);
	ck_assert_str_eq(find(&r, NS_SERVICE_IPS)->chain, r.aff[0].name);
	ck_assert_int_eq(strncmp(r.aff[0].name, "affinity-", 9), 0);
	ck_assert_int_eq(count(&r, NS_BACKENDS), 0);
	ck_assert_int_eq(r.aff[0].n, 2);
	ck_assert_int_eq(r.aff[0].timeout, 300);
	nft_affinity_set_name(&r.aff[0], 1, set, sizeof(set));
	ck_assert_ptr_nonnull(strstr(set, "ns/sticky/tcp/http__10.0.2.11/8080"));
	nft_render_fini(&r);
	sp_svc_port_free(p);
}
END_TEST

START_TEST(test_render_firewall_ranges)
{
	struct sp_svc_port *p = svc_port_eps("ns/lb", "10.96.0.15", 443, 1);
	struct nft_render r;
	struct sp_addr a;
	const struct nft_elem *e;

	sp_addr_parse("192.0.2.10", &a);
	sp_addr_list_add(&p->lb_ips, &a);
	sp_cidr_parse("203.0.113.0/24", true, &a);
	sp_addr_list_add(&p->lb_source_ranges, &a);
	ck_assert_int_eq((sp_svc_port_decide(p, "n1", NULL) || nft_render_port(p, &r)), 0);
	ck_assert_int_eq(count(&r, NS_FIREWALL_IPS), 1);
	e = find(&r, NS_FIREWALL_ALLOW);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->klen, 16);
	ck_assert_int_eq(e->key[12], 203);		/* range start */
	ck_assert_int_eq(e->key[16 + 15], 255);	/* range end follows */
	ck_assert_str_eq(find(&r, NS_SERVICE_IPS)->comment, "ns/lb:http");
	nft_render_fini(&r);
	sp_svc_port_free(p);
}
END_TEST

Suite *suite_nft_render(void)
{
	Suite *s = suite_create("nft_render");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_render_clusterip_groups_by_endpoint_count);
	tcase_add_test(tc, test_render_no_endpoints_reject_local_drop);
	tcase_add_test(tc, test_render_nodeport_cluster_masquerades);
	tcase_add_test(tc, test_render_affinity_chain_not_group);
	tcase_add_test(tc, test_render_firewall_ranges);
	suite_add_tcase(s, tc);
	return s;
}
