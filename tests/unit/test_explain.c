/* test_explain.c - inspect and explain agree: every port of every dump
 * fixture walked through explain (each address kind, from outside and from
 * a pod) answers as inspect's row and findings say. */
#include "helpers.h"
#include "../../common/hmap.h"
#include "../../tools/inspect/explain.h"

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

Suite *suite_explain(void)
{
	Suite *s = suite_create("explain");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_explain_agrees_with_inspect);
	suite_add_tcase(s, tc);
	return s;
}
