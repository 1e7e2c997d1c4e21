/* test_inspect.c - kube-proxy iptables-save dumps read into the model, with
 * findings; broken dumps give one clear error. */
#include "helpers.h"
#include "../../common/hmap.h"
#include "../../tools/inspect/inspect.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(1 << 20);

	ck_assert_ptr_nonnull(f);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	return buf;
}

static bool finding(const struct sp_inspect *in, const char *needle)
{
	for (size_t i = 0; i < in->nfindings; i++)
		if (strstr(in->findings[i], needle))
			return true;
	return false;
}

/* Inspect fixture @name (text or JSON nft dump) into @in, which must pass. */
static void inspect_fixture(const char *name, struct sp_inspect *in)
{
	char path[256], err[256] = "", *buf;
	size_t len;

	snprintf(path, sizeof(path), FIXTURES "/dumps/%s", name);
	buf = slurp(path, &len);
	ck_assert_int_eq(sp_inspect_init(in), 0);
	ck_assert_msg(sp_inspect_buf(buf, len, in, err, sizeof(err)) == 0,
		      "%s: %s", name, err);
	free(buf);
}

/* The port @key, which must be there. */
static const struct sp_svc_port *port_of(const struct sp_inspect *in, const char *key)
{
	const struct sp_svc_port *p = sp_hmap_get(in->m.ports, key);

	ck_assert_msg(p != NULL, "no port %s", key);
	return p;
}

/* Port @key's masquerade rule exempts exactly one prefix, holding @pod. */
static void assert_keeps(const struct sp_inspect *in, const char *key, const char *pod)
{
	const struct sp_inspect_port *x = sp_hmap_get(in->extra, key);
	struct sp_addr a;

	ck_assert_msg(x != NULL, "no masquerade facts for %s", key);
	ck_assert(x->masq_internal);
	ck_assert_int_eq(x->nkeep, 1);
	sp_addr_parse(pod, &a);
	ck_assert(sp_cidr_contains(&x->keep_src[0], &a));
}

/* Issue 18, class 1: kube-proxy (nftables mode, 1.31) names an unnamed
 * port's chains "service-H-ns/svc/tcp/"; the empty port-name field must not
 * lose the service (nor leave its endpoint chains unreached). The dump opens
 * with the warning nft prints when iptables-nft tables exist (class 8). */
START_TEST(test_inspect_nft_text_unnamed_port)
{
	struct sp_inspect in;
	const struct sp_svc_port *p;

	inspect_fixture("kp-nft-1.31-unnamed.txt", &in);
	p = port_of(&in, "default/nginx:/TCP/IPv4");
	ck_assert_int_eq(p->n_eps, 2);
	ck_assert_int_eq(p->port, 80);
	ck_assert_int_eq(p->node_port, 31080);
	ck_assert_uint_eq(p->cluster_ips.n, 1);
	ck_assert(!finding(&in, "reached by no service chain"));
	port_of(&in, "default/kubernetes:https/TCP/IPv4");
	sp_inspect_fini(&in);
}
END_TEST

START_TEST(test_inspect_iptables_kube_proxy_dump)
{
	struct sp_inspect in;
	char err[256] = "";
	size_t len;
	char *buf = slurp(FIXTURES "/dumps/kube-proxy-iptables.save", &len);
	const struct sp_svc_port *web, *dns, *sticky, *local;

	ck_assert_int_eq(sp_inspect_init(&in), 0);
	ck_assert_msg(sp_inspect_kp_iptables_save(buf, len, &in, err, sizeof(err)) == 0, "%s", err);
	web = sp_hmap_get(in.m.ports, "shop/web:http/TCP/IPv4");
	dns = sp_hmap_get(in.m.ports, "kube-system/kube-dns:dns/UDP/IPv4");
	sticky = sp_hmap_get(in.m.ports, "shop/sticky:http/TCP/IPv4");
	local = sp_hmap_get(in.m.ports, "shop/local:http/TCP/IPv4");
	ck_assert_ptr_nonnull(web);
	ck_assert_ptr_nonnull(dns);
	ck_assert_ptr_nonnull(sticky);
	ck_assert_ptr_nonnull(local);
	ck_assert_int_eq(web->n_eps, 3);
	for (size_t i = 0; i < 3; i++)
		ck_assert(web->eps[i].weight > 0.333 && web->eps[i].weight < 0.334);
	ck_assert_int_eq(web->node_port, 30080);
	ck_assert_uint_eq(web->external_ips.n, 1);
	ck_assert_int_eq(dns->n_eps, 2);
	ck_assert_int_eq(dns->eps[0].port, 53);
	ck_assert(sticky->affinity_client_ip);
	ck_assert_int_eq(sticky->affinity_timeout, 10800);
	ck_assert_int_eq(sticky->n_eps, 2);
	ck_assert_int_eq(local->etp, SP_POLICY_LOCAL);
	ck_assert_int_eq(local->node_port, 30081);
	ck_assert_uint_eq(local->lb_ips.n, 1);
	ck_assert_ptr_null(sp_hmap_get(in.m.ports, "shop/other:http/TCP/IPv4"));
	ck_assert(finding(&in, "shop/empty:http/TCP/IPv4 has no endpoints"));
	ck_assert(finding(&in, "KUBE-SEP-ORPHANORPHANORPH is reached by no service chain"));
	ck_assert(finding(&in, "10.96.12.60:80/TCP is claimed by shop/skewed:http and shop/other:http"));
	ck_assert(finding(&in, "shop/skewed:http/TCP/IPv4: probability chain does not give every endpoint"));
	ck_assert(finding(&in, "never reached (shadowed)"));
	ck_assert(!finding(&in, "shop/web:http/TCP/IPv4: probability"));
	{
		const struct sp_inspect_port *x = sp_hmap_get(in.extra, "shop/web:http/TCP/IPv4");
		struct sp_addr pod;

		ck_assert_ptr_nonnull(x);
		ck_assert(x->masq_internal && x->masq_external);
		ck_assert_int_eq(x->nkeep, 1);
		sp_addr_parse("10.244.7.7", &pod);
		ck_assert(sp_cidr_contains(&x->keep_src[0], &pod));
	}
	sp_inspect_fini(&in);
	free(buf);
}
END_TEST

static int inspect_text(const char *text, size_t len, char *err, size_t errsz)
{
	struct sp_inspect in;
	char *copy = malloc(len + 1);
	int e;

	memcpy(copy, text, len);
	ck_assert_int_eq(sp_inspect_init(&in), 0);
	e = sp_inspect_kp_iptables_save(copy, len, &in, err, errsz);
	sp_inspect_fini(&in);
	free(copy);
	return e;
}

START_TEST(test_inspect_iptables_broken)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "*nat\n-A KUBE-SERVICES -d 10.0.0.300/32 -j X\nCOMMIT\n", "line 2: -d \"10.0.0.300/32\" is not an address" },
		{ "*nat\n-A KUBE-SERVICES -p tcp --dport 99999 -j X\nCOMMIT\n", "line 2: --dport" },
		{ "-A KUBE-SERVICES -j X\n", "line 1: expected kube-proxy's rules" },
		{ ":KUBE-SERVICES - [0:0]\n", "line 1: expected kube-proxy's rules" },
		{ "*nat\n[1:2 -A X -j Y\nCOMMIT\n", "line 2: unterminated counters" },
		{ "*nat\nhello world\nCOMMIT\n", "line 3: expected kube-proxy's rules" },
		{ "*filter\n-A INPUT -j ACCEPT\nCOMMIT\n", "line 3: expected kube-proxy's rules" },
		{ "*nat\n-A X -m statistic --probability 1.5 -j Y\nCOMMIT\n", "--probability" },
		{ "*nat\n[0:0] \nCOMMIT\n", "line 2: \"\": expected a rule (-A CHAIN ...)" },	/* found by fuzzing */
	};
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		ck_assert_int_eq(inspect_text(cases[i].text, strlen(cases[i].text), err, sizeof(err)), -EINVAL);
		ck_assert_msg(strstr(err, cases[i].want), "case %zu: '%s' lacks '%s'", i, err, cases[i].want);
	}
	ck_assert_int_eq(inspect_text("*nat\n\0x", 7, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "binary"));
}
END_TEST

/* A rule that repeats an earlier one of its chain (counters aside) is a
 * finding; the fixture, written as kube-proxy writes, has none. */
START_TEST(test_inspect_iptables_repeated_rule)
{
	static const char text[] =
		"*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-X - [0:0]\n"
		"-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m comment --comment \"ns/a:http cluster IP\" -m tcp --dport 80 -j KUBE-SVC-X\n"
		"[5:300] -A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m comment --comment \"ns/a:http cluster IP\" -m tcp --dport 80 -j KUBE-SVC-X\n"
		"COMMIT\n";
	struct sp_inspect in;
	char err[256] = "", *copy = strdup(text), *fx;
	size_t len;

	ck_assert_int_eq(sp_inspect_init(&in), 0);
	ck_assert_msg(sp_inspect_kp_iptables_save(copy, strlen(text), &in, err, sizeof(err)) == 0, "%s", err);
	ck_assert(finding(&in, "line 5 repeats line 4 in chain KUBE-SERVICES"));
	sp_inspect_fini(&in);
	free(copy);
	fx = slurp(FIXTURES "/dumps/kube-proxy-iptables.save", &len);
	ck_assert_int_eq(sp_inspect_init(&in), 0);
	ck_assert_int_eq(sp_inspect_kp_iptables_save(fx, len, &in, err, sizeof(err)), 0);
	ck_assert(!finding(&in, "repeats"));
	sp_inspect_fini(&in);
	free(fx);
}
END_TEST

START_TEST(test_inspect_nft_json_kube_proxy_dump)
{
	struct sp_inspect in;
	const struct sp_svc_port *web, *dns, *sticky, *local, *inl, *edge;

	inspect_fixture("kube-proxy-nft.json", &in);
	web = port_of(&in, "shop/web:http/TCP/IPv4");
	dns = port_of(&in, "kube-system/kube-dns:dns/UDP/IPv4");
	sticky = port_of(&in, "shop/sticky:http/TCP/IPv4");
	local = port_of(&in, "shop/local:https/TCP/IPv4");
	inl = port_of(&in, "shop/inline:http/TCP/IPv4");
	edge = port_of(&in, "shop/edge:http/TCP/IPv4");
	ck_assert_int_eq(web->n_eps, 2);
	ck_assert_int_eq(web->eps[0].port, 8080);
	ck_assert_int_eq(web->node_port, 30080);
	ck_assert_uint_eq(web->external_ips.n, 1);
	ck_assert_int_eq(dns->n_eps, 2);
	ck_assert_int_eq(dns->eps[1].port, 53);
	ck_assert(sticky->affinity_client_ip);
	ck_assert_int_eq(sticky->affinity_timeout, 10800);
	ck_assert_int_eq(local->etp, SP_POLICY_LOCAL);
	/* Only external addresses: the local- chain is the external list. */
	ck_assert_uint_eq(((struct sp_inspect_port *)sp_hmap_get(in.extra, local->key))->n_external, 1);
	ck_assert_int_eq(inl->n_eps, 2);	/* 1.36 inline dnat map */
	ck_assert_int_eq(inl->eps[1].port, 80);
	ck_assert_int_eq(edge->n_eps, 0);
	ck_assert(finding(&in, "shop/empty:http/TCP/IPv4 has no endpoints"));
	ck_assert(finding(&in, "shop/edge:http/TCP/IPv4 has no local endpoints"));
	ck_assert(finding(&in, "endpoint-ORPHAN00-shop/gone/tcp/http__10.244.9.9/80 is reached by no service chain"));
	ck_assert(!finding(&in, "shop/web"));
	assert_keeps(&in, "shop/web:http/TCP/IPv4", "10.244.7.7");
	sp_inspect_fini(&in);
}
END_TEST

/* kube-proxy's ip and ip6 tables name their chains alike: each family is read
 * on its own, and the IPv6 ports carry the ip6 table's addresses only. */
START_TEST(test_inspect_nft_json_dual_stack)
{
	struct sp_inspect in;
	const struct sp_svc_port *web4, *web6, *sticky6;
	struct sp_addr a;

	inspect_fixture("kube-proxy-nft-dual.json", &in);
	web4 = port_of(&in, "shop/web:http/TCP/IPv4");
	web6 = port_of(&in, "shop/web:http/TCP/IPv6");
	sticky6 = port_of(&in, "shop/sticky:http/TCP/IPv6");
	ck_assert_int_eq(web4->n_eps, 2);
	ck_assert_int_eq(web6->n_eps, 2);
	ck_assert_int_eq(web6->eps[0].addr.family, AF_INET6);
	sp_addr_parse("fd00:244::20", &a);
	ck_assert_int_eq(sp_addr_cmp(&web6->eps[0].addr, &a), 0);
	ck_assert_uint_eq(web6->cluster_ips.n, 1);
	ck_assert_int_eq(web6->cluster_ips.v[0].family, AF_INET6);
	ck_assert_int_eq(web6->node_port, 30080);
	ck_assert(sticky6->affinity_client_ip);
	ck_assert_int_eq(sticky6->affinity_timeout, 10800);
	ck_assert(finding(&in, "shop/empty:http/TCP/IPv6 has no endpoints"));
	ck_assert(finding(&in, "endpoint-ORPHAN00-shop/gone/tcp/http__fd00.244..9.9/80 is reached by no"));
	assert_keeps(&in, "shop/web:http/TCP/IPv6", "fd00:244::7");
	sp_inspect_fini(&in);
}
END_TEST

/* A rule that repeats an earlier one of its chain, and a rule after a plain
 * verdict, are findings; kube-proxy's own dump has neither. */
START_TEST(test_inspect_nft_json_duplicate_and_shadowed_rules)
{
	static const char dump[] =
		"{\"nftables\": ["
		"{\"map\": {\"family\": \"ip\", \"table\": \"kube-proxy\", \"name\": \"service-ips\", \"elem\": ["
		"[{\"concat\": [\"10.96.0.1\", \"tcp\", 80]}, {\"goto\": {\"target\": \"service-AAAAAAAA-ns/a/tcp/http\"}}]]}},"
		"{\"chain\": {\"family\": \"ip\", \"table\": \"kube-proxy\", \"name\": \"service-AAAAAAAA-ns/a/tcp/http\"}},"
		"{\"rule\": {\"family\": \"ip\", \"table\": \"kube-proxy\", \"chain\": \"service-AAAAAAAA-ns/a/tcp/http\", \"handle\": 1,"
		" \"expr\": [{\"jump\": {\"target\": \"mark-for-masquerade\"}}]}},"
		"{\"rule\": {\"family\": \"ip\", \"table\": \"kube-proxy\", \"chain\": \"service-AAAAAAAA-ns/a/tcp/http\", \"handle\": 2,"
		" \"expr\": [{\"jump\": {\"target\": \"mark-for-masquerade\"}}]}},"
		"{\"rule\": {\"family\": \"ip\", \"table\": \"kube-proxy\", \"chain\": \"service-AAAAAAAA-ns/a/tcp/http\", \"handle\": 3,"
		" \"expr\": [{\"goto\": {\"target\": \"endpoint-BBBBBBBB-ns/a/tcp/http__10.1.0.1/80\"}}]}},"
		"{\"rule\": {\"family\": \"ip\", \"table\": \"kube-proxy\", \"chain\": \"service-AAAAAAAA-ns/a/tcp/http\", \"handle\": 4,"
		" \"expr\": [{\"goto\": {\"target\": \"endpoint-CCCCCCCC-ns/a/tcp/http__10.1.0.2/80\"}}]}}"
		"]}";
	struct sp_inspect in;
	char err[256] = "", *buf;
	size_t len;

	ck_assert_int_eq(sp_inspect_init(&in), 0);
	ck_assert_msg(sp_inspect_kp_nft_json(dump, strlen(dump), &in, err, sizeof(err)) == 0, "%s", err);
	ck_assert(finding(&in, "ip chain service-AAAAAAAA-ns/a/tcp/http: rule 2 repeats rule 1"));
	ck_assert(finding(&in, "ip chain service-AAAAAAAA-ns/a/tcp/http: rule 4 is never reached (rule 3 before it"));
	sp_inspect_fini(&in);

	buf = slurp(FIXTURES "/dumps/kube-proxy-nft-dual.json", &len);
	ck_assert_int_eq(sp_inspect_init(&in), 0);
	ck_assert_int_eq(sp_inspect_kp_nft_json(buf, len, &in, err, sizeof(err)), 0);
	ck_assert(!finding(&in, "repeats"));
	ck_assert(!finding(&in, "never reached"));
	sp_inspect_fini(&in);
	free(buf);
}
END_TEST

/* kube-proxy's text dump reads as its JSON form does (ip and ip6 tables). */
START_TEST(test_inspect_nft_text_equals_json)
{
	static const char *const pairs[][2] = {
		{ FIXTURES "/dumps/kube-proxy-nft.txt", FIXTURES "/dumps/kube-proxy-nft.json" },
		{ FIXTURES "/dumps/kube-proxy-nft-dual.txt", FIXTURES "/dumps/kube-proxy-nft-dual.json" },
	};

	for (size_t i = 0; i < 2; i++) {
		struct sp_inspect a, b;
		char err[256] = "", *ta, *tb;
		size_t la, lb;
		char *text = slurp(pairs[i][0], &la), *json = slurp(pairs[i][1], &lb);

		ck_assert_int_eq(sp_inspect_init(&a), 0);
		ck_assert_int_eq(sp_inspect_init(&b), 0);
		ck_assert_msg(sp_inspect_nft_text(text, la, &a, err, sizeof(err)) == 0, "%s", err);
		ck_assert_msg(sp_inspect_kp_nft_json(json, lb, &b, err, sizeof(err)) == 0, "%s", err);
		ta = sp_model_to_text(&a.m, false);
		tb = sp_model_to_text(&b.m, false);
		ck_assert_str_eq(ta, tb);
		ck_assert_uint_eq(a.nfindings, b.nfindings);
		for (size_t k = 0; k < a.nfindings; k++)
			ck_assert_str_eq(a.findings[k], b.findings[k]);
		free(ta);
		free(tb);
		sp_inspect_fini(&a);
		sp_inspect_fini(&b);
		free(text);
		free(json);
	}
}
END_TEST

START_TEST(test_inspect_nft_text_broken)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		/* cut off with nothing readable: the refusal says where it ends */
		{ "table ip kube-proxy {\n\tchain x {\n\t\tjump y\n", "(the dump is cut off at line 3)" },
		{ "flush ruleset\n", "line 1: expected table, found 'flush'" },
		{ "table ip kube-proxy {\n\tcomment \"open\n}\n", "line 2: a quoted string is not closed" },
		{ "table ip kube-proxy {\n\tchain x {\n\t\tjump \x02y\n\t}\n}\n", "line 3: unexpected byte 0x02" },
		{ "table ip\n", "line 1: expected table FAMILY NAME {" },
		{ "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t}\n}\n",
		  "no table kube-proxy with a service-ips map" },
		/* svcplane's own tables */
		{ "table ip svcplane {\n\tset cluster-ips {\n\t\ttype ipv4_addr\n", "the dump ends inside a set" },
		{ "table ip svcplane {\n\tmap service-ips {\n\t\telements = { 1.2.3.4 . bogus . 80 : goto x }\n\t}\n}\n",
		  "line 3: set service-ips: element \"1.2.3.4 . bogus . 80 : goto x\" is not one svcplane writes" },
		{ "table ip svcplane {\n\tchain services {\n\t\tjump \x01x\n\t}\n}\n", "line 3: unexpected byte 0x01" },
		{ "table ip svcplane {\n\tchain services {\n\t\tjump x comment \"open\n\t}\n}\n",
		  "line 3: a quoted string is not closed" },
		{ "table ip svcplane {\n\tset cluster-ips {\n\t\telements = { 1.2.3.4 }\n\t}\n\tchain \x7f {\n",
		  "line 5: unexpected byte 0x7f" },
		{ "table ip svcplane {\n\tmap backends {\n\t\telements = { 1.2.3.4 . tcp . 80 . 0x0 : 10.0.0.1 }\n\t}\n}\n",
		  "is not one svcplane writes" },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sp_inspect in;

		err[0] = '\0';
		ck_assert_int_eq(sp_inspect_init(&in), 0);
		ck_assert_int_eq(sp_inspect_nft_text(cases[i].text, strlen(cases[i].text), &in, err, sizeof(err)),
				 -EINVAL);
		ck_assert_msg(strstr(err, cases[i].want), "case %zu: '%s' lacks '%s'", i, err, cases[i].want);
		sp_inspect_fini(&in);
	}
}
END_TEST

/* svcplane's own tables from `nft list ruleset` (written by nft from tables
 * the agent programmed): read without nft, as the live readback reads them. */
START_TEST(test_inspect_svcplane_text_dump)
{
	struct sp_inspect in;
	const struct sp_svc_port *web6, *fw, *sticky, *local;
	const struct sp_inspect_port *x;
	struct sp_addr a;

	inspect_fixture("svcplane-nft.txt", &in);
	ck_assert_str_eq(in.format, "nft list ruleset (svcplane tables)");
	web6 = port_of(&in, "demo/web:http/TCP/IPv6");
	fw = port_of(&in, "t/fw:http/TCP/IPv4");
	sticky = port_of(&in, "demo/sticky:http/TCP/IPv4");
	local = port_of(&in, "demo/local:http/TCP/IPv4");
	ck_assert_int_eq(web6->n_eps, 2);
	ck_assert_int_eq(web6->node_port, 30080);
	ck_assert_uint_eq(fw->lb_source_ranges.n, 3);
	ck_assert(fw->affinity_client_ip);
	ck_assert_int_eq(fw->n_eps, 2);
	ck_assert_int_eq(sticky->affinity_timeout, 60);
	ck_assert_int_eq(sticky->n_eps, 3);
	ck_assert_int_eq(local->etp, SP_POLICY_LOCAL);
	x = sp_hmap_get(in.extra, "demo/local:http/TCP/IPv4");
	ck_assert_ptr_nonnull(x);
	ck_assert(x->has_external);	/* external traffic: this node's endpoint only */
	ck_assert_uint_eq(x->n_external, 1);
	sp_addr_parse("198.18.1.11", &a);
	ck_assert_int_eq(sp_addr_cmp(&x->external[0].addr, &a), 0);
	assert_keeps(&in, "demo/local:http/TCP/IPv4", "198.18.7.7");
	ck_assert(finding(&in, "demo/nothing:http/TCP/IPv4 has no endpoints"));
	sp_inspect_fini(&in);
}
END_TEST

START_TEST(test_inspect_nft_json_broken)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "{\"nftables\": [", "not valid JSON" },
		{ "{\"rules\": []}", "no \"nftables\" array" },
		{ "{\"nftables\": [{\"table\": {\"family\": \"ip\"", "input ends inside the nftables array" },
		{ "{\"nftables\": [7]}", "expected an object" },
		{ "{\"nftables\": [{\"table\": }]}", "not valid JSON" },
		{ "{\"nftables\": [{\"table\": {\"family\": \"ip\", \"name\": \"svcplane\"}},"
		  "{\"map\": {\"family\": \"ip\", \"table\": \"svcplane\", \"name\": \"service-ips\"}}]}",
		  "inspect `nft list ruleset` text instead" },
		{ "{\"nftables\": [{\"table\": {\"family\": \"ip\", \"name\": \"filter\"}}]}",
		  "no table kube-proxy with a service-ips map" },
		{ "{\"nftables\": [{\"map\": {\"family\": \"ip\", \"table\": \"kube-proxy\", "
		  "\"name\": \"service-ips\", \"elem\": 7}}, {\"rule\": {\"family\": \"ip\", "
		  "\"table\": \"kube-proxy\", \"chain\": 5, \"expr\": {}}}]}", NULL },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sp_inspect in;
		int e;

		err[0] = '\0';
		ck_assert_int_eq(sp_inspect_init(&in), 0);
		e = sp_inspect_kp_nft_json(cases[i].text, strlen(cases[i].text), &in, err, sizeof(err));
		if (cases[i].want) {
			ck_assert_int_eq(e, -EINVAL);
			ck_assert_msg(strstr(err, cases[i].want), "case %zu: '%s' lacks '%s'", i, err, cases[i].want);
		} else {	/* odd shapes are skipped, not trusted */
			ck_assert_int_eq(e, 0);
			ck_assert_uint_eq(sp_hmap_len(in.m.ports), 0);
		}
		sp_inspect_fini(&in);
	}
}
END_TEST


/* Issue 18: one dump of each class, read through format detection. */
static void inspect_any(const char *text, struct sp_inspect *in, int want, char *err, size_t errsz)
{
	char *copy = strdup(text);

	ck_assert_int_eq(sp_inspect_init(in), 0);
	ck_assert_int_eq(sp_inspect_buf(copy, strlen(text), in, err, errsz), want);
	free(copy);
}

static bool note(const struct sp_inspect *in, const char *needle)
{
	for (size_t i = 0; i < in->nnotes; i++)
		if (strstr(in->notes[i], needle))
			return true;
	return false;
}

#define SVC_RULE "-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m comment --comment \"default/kubernetes:https cluster IP\" -m tcp --dport 443 -j KUBE-SVC-NPX46M4PTMTKRN6Y\n"
#define SVC_CHAIN "-A KUBE-SVC-NPX46M4PTMTKRN6Y -m comment --comment \"default/kubernetes:https -> 172.18.0.2:6443\" -j KUBE-SEP-VVBZOYNMQWYZLIVR\n"
#define SEP_CHAIN "-A KUBE-SEP-VVBZOYNMQWYZLIVR -p tcp -m comment --comment \"default/kubernetes:https\" -m tcp -j DNAT --to-destination 172.18.0.2:6443\n"

#define ORPHAN_SEP "-A KUBE-SEP-ORPHANORPHANORPH -p tcp -m comment --comment \"a/gone:http\" -m tcp -j DNAT --to-destination 10.244.9.9:80\n"
#define EXCERPT "partial dump ('--', '...' or 'snip' lines: an excerpt)"

/* Classes 9 (prompt, prose), 10 (iptables -S, no KUBE-SERVICES), 11
 * (truncation), 12 (trailing blanks, no --dport), each with its note. */
START_TEST(test_inspect_iptables_pasted_shapes)
{
	static const struct {
		const char *text, *note;
		bool partial;
	} cases[] = {
		{ "user@node:~$ sudo iptables-save -t nat\n*nat\n" SVC_RULE SVC_CHAIN SEP_CHAIN
		  "COMMIT\nuser@node:~$ sudo iptables -S\nhere is what I see\n", "not rule text skipped", false },
		{ "-P PREROUTING ACCEPT\n-N KUBE-SERVICES\n-N KUBE-SVC-NPX46M4PTMTKRN6Y\n" SVC_RULE
		  SVC_CHAIN SEP_CHAIN, "partial dump", true },
		{ SVC_CHAIN SEP_CHAIN, "no KUBE-SERVICES rule for KUBE-SVC-NPX46M4PTMTKRN6Y", true },
		{ "*nat\n" SVC_RULE SVC_CHAIN SEP_CHAIN "-A KUBE-SEP-X -p tcp -m comm", "truncated at line 5", true },
		{ "*nat\n" SVC_RULE SVC_CHAIN SEP_CHAIN, "truncated at line 4", true },
		{ "*nat \n" SVC_RULE SVC_CHAIN SEP_CHAIN "-A KUBE-SERVICES -d 10.96.0.2/32 -p tcp -m comment "
		  "--comment \"a/b:c cluster IP\" -j KUBE-SVC-B\nCOMMIT  \n", "has no --dport", false },
		/* a whole-looking dump (*nat ... COMMIT) with the author's gaps in
		 * it: an excerpt, so the orphan-looking chain is no finding */
		{ "*nat\n" SVC_RULE "--\n" SVC_CHAIN SEP_CHAIN ORPHAN_SEP "COMMIT\n", EXCERPT, true },
		{ "*nat\n" SVC_RULE "...\n" SVC_CHAIN SEP_CHAIN ORPHAN_SEP "COMMIT\n", EXCERPT, true },
		{ "*nat\n" SVC_RULE "[...]\n" SVC_CHAIN SEP_CHAIN ORPHAN_SEP "COMMIT\n", EXCERPT, true },
		{ "*nat\n" SVC_RULE SVC_CHAIN "(\xe2\x80\xa6)\n" SEP_CHAIN ORPHAN_SEP "COMMIT\n", EXCERPT, true },
		{ "*nat\n" SVC_RULE SVC_CHAIN SEP_CHAIN "<snip>\n" ORPHAN_SEP "COMMIT\n", EXCERPT, true },
		{ "*nat\n" SVC_RULE SVC_CHAIN SEP_CHAIN "# ....\n" ORPHAN_SEP "COMMIT\n", EXCERPT, true },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sp_inspect in;
		const struct sp_svc_port *p;

		err[0] = '\0';
		inspect_any(cases[i].text, &in, 0, err, sizeof(err));
		p = sp_hmap_get(in.m.ports, "default/kubernetes:https/TCP/IPv4");
		ck_assert_msg(p && p->n_eps == 1, "case %zu: no kubernetes:https with its endpoint", i);
		ck_assert_msg(note(&in, cases[i].note), "case %zu: no note '%s'", i, cases[i].note);
		ck_assert_msg(in.partial == cases[i].partial, "case %zu: partial %d", i, in.partial);
		ck_assert(!finding(&in, "reached by no"));
		sp_inspect_fini(&in);
	}
}
END_TEST

/* Issue 18, class 10/11 for nft text: `nft list ruleset` cut off before its
 * table's closing brace (or mid-rule) is read as far as it goes, said, and
 * its reach-based findings (the orphan endpoint chain) held back. */
START_TEST(test_inspect_nft_text_unclosed_table)
{
	static const struct {
		const char *tail, *note;	/* what replaces the fixture's last 5 lines */
	} cases[] = {
		{ "\tchain endpoint-ORPHAN00-shop/gone/tcp/http__10.244.9.9/80 {\n"
		  "\t\tmeta l4proto tcp dnat to 10.244.9.9:80\n\t}\n", "truncated at line 164 (a table is not closed)" },
		{ "\tchain endpoint-ORPHAN00-shop/gone/tcp/http__10.244.9.9/80 {\n\t\tmeta l4proto tcp dn",
		  "truncated at line 163 (the last line is cut off)" },
		{ "\t...\n", "partial dump ('--' or '...' lines: an excerpt)" },
	};
	char path[256], err[256], *full, *buf;
	size_t len, cut;

	snprintf(path, sizeof(path), FIXTURES "/dumps/kube-proxy-nft.txt");
	full = slurp(path, &len);
	full[len] = '\0';
	cut = len;
	for (int nl = 0; cut && nl < 6; cut--)	/* keep up to the 5th last line's newline */
		nl += full[cut - 1] == '\n';
	cut++;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sp_inspect in;
		const struct sp_svc_port *web, *edge;

		buf = malloc(cut + strlen(cases[i].tail) + 1);
		memcpy(buf, full, cut);
		strcpy(buf + cut, cases[i].tail);
		err[0] = '\0';
		inspect_any(buf, &in, 0, err, sizeof(err));
		web = port_of(&in, "shop/web:http/TCP/IPv4");
		edge = port_of(&in, "shop/edge:http/TCP/IPv4");
		ck_assert_int_eq(web->n_eps, 2);
		ck_assert_int_eq(web->eps[0].port, 8080);
		ck_assert_int_eq(web->node_port, 30080);
		ck_assert_int_eq(edge->n_eps, 0);
		ck_assert_int_eq(port_of(&in, "kube-system/kube-dns:dns/UDP/IPv4")->n_eps, 2);
		ck_assert_msg(in.partial, "case %zu: not partial", i);
		ck_assert_msg(note(&in, cases[i].note), "case %zu: no note '%s'", i, cases[i].note);
		ck_assert(note(&in, "chains nothing reaches are not reported"));
		ck_assert(!finding(&in, "reached by no"));
		ck_assert(finding(&in, "shop/empty:http/TCP/IPv4 has no endpoints"));
		ck_assert(finding(&in, "shop/edge:http/TCP/IPv4 has no local endpoints"));
		sp_inspect_fini(&in);
		free(buf);
	}
	free(full);
}
END_TEST

/* Issue 18, class 13: `nft list ruleset` of a node where kube-proxy ran in
 * iptables mode through iptables-nft. kp-ipt-nft-1.0.6.txt is what nft 1.0.6
 * printed after iptables-nft-restore (1.8.9) of kube-proxy-iptables.save:
 * no comments, statistic as "meta random & 2147483647 < N", recent as "xt
 * match recent"; read as that dump is (its findings, the dump's own lines). */
START_TEST(test_inspect_ipt_nft_ruleset)
{
	struct sp_inspect in;
	const struct sp_svc_port *web, *dns, *sticky, *p;
	char err[256] = "", *text;
	size_t la, lb;

	inspect_fixture("kp-ipt-nft-1.0.6.txt", &in);
	ck_assert_str_eq(in.format, "nft list ruleset (iptables-nft tables: kube-proxy iptables mode)");
	web = port_of(&in, "chain/WEBWEBWEBWEBWEBWE:/TCP/IPv4");
	ck_assert_int_eq(web->n_eps, 3);
	ck_assert_int_eq(web->eps[2].port, 8080);
	ck_assert_int_eq(web->node_port, 30080);
	ck_assert_uint_eq(web->external_ips.n, 1);
	dns = port_of(&in, "chain/ERIFXISQEP7F7OF4:/UDP/IPv4");
	ck_assert_int_eq(dns->n_eps, 2);
	ck_assert_int_eq(dns->port, 53);
	sticky = port_of(&in, "chain/STICKYSTICKYSTIC:/TCP/IPv4");
	ck_assert(sticky->affinity_client_ip);
	ck_assert_int_eq(sticky->affinity_timeout, 10800);
	/* meta random's N read back as the probability: the 90/10 skew is seen */
	ck_assert(finding(&in, "chain/SKEWEDSKEWEDSKEW/TCP/IPv4: probability chain does not give"));
	ck_assert(finding(&in, "line 217: rule after an unconditional jump in KUBE-SVC-SKEWEDSKEWEDSKEW"));
	ck_assert(finding(&in, "endpoint chain KUBE-SEP-ORPHANORPHANORPH is reached by no service chain"));
	ck_assert(note(&in, "nft did not print the rules' comments"));
	ck_assert(note(&in, "nft does not print the recent match"));
	ck_assert(!in.partial);
	sp_inspect_fini(&in);

	/* with the comments (an nft that prints them): the services' own names */
	inspect_fixture("kp-ipt-nft-ruleset.txt", &in);
	p = port_of(&in, "default/kubernetes:https/TCP/IPv4");
	ck_assert_int_eq(p->n_eps, 1);
	ck_assert_int_eq(p->eps[0].port, 6443);
	dns = port_of(&in, "kube-system/kube-dns:dns/UDP/IPv4");
	ck_assert_int_eq(dns->n_eps, 2);
	ck_assert_int_eq(dns->eps[0].weight, dns->eps[1].weight);
	assert_keeps(&in, "kube-system/kube-dns:dns/UDP/IPv4", "10.244.1.1");
	ck_assert_uint_eq(in.nfindings, 0);
	ck_assert(!note(&in, "comments"));
	sp_inspect_fini(&in);

	/* nft without xtables: the statistic match unprinted, shares even;
	 * the prompt it was pasted with skipped and said */
	inspect_any("user@node:~$ sudo nft list ruleset\ntable ip nat {\n\tchain KUBE-SERVICES {\n"
		    "\t\tmeta l4proto tcp ip daddr 10.96.0.5 tcp dport 80 counter packets 0 bytes 0 jump KUBE-SVC-A comment \"a/b:http cluster IP\"\n\t}\n"
		    "\tchain KUBE-SVC-A {\n"
		    "\t\t xt match \"statistic\" counter packets 0 bytes 0 jump KUBE-SEP-1 comment \"a/b:http -> 10.0.0.1:80\"\n"
		    "\t\t xt match \"statistic\" counter packets 0 bytes 0 jump KUBE-SEP-2 comment \"a/b:http -> 10.0.0.2:80\"\n"
		    "\t\t counter packets 0 bytes 0 jump KUBE-SEP-3 comment \"a/b:http -> 10.0.0.3:80\"\n\t}\n"
		    "\tchain KUBE-SEP-1 {\n\t\tmeta l4proto tcp counter packets 0 bytes 0 dnat to 10.0.0.1:80\n\t}\n"
		    "\tchain KUBE-SEP-2 {\n\t\tmeta l4proto tcp counter packets 0 bytes 0 dnat to 10.0.0.2:80\n\t}\n"
		    "\tchain KUBE-SEP-3 {\n\t\tmeta l4proto tcp counter packets 0 bytes 0 dnat to 10.0.0.3:80\n\t}\n}\n",
		    &in, 0, err, sizeof(err));
	p = port_of(&in, "a/b:http/TCP/IPv4");
	ck_assert_int_eq(p->n_eps, 3);
	ck_assert(note(&in, "endpoint shares are taken as kube-proxy writes them (even)"));
	ck_assert(note(&in, "1 line(s) that are not rule text skipped"));
	ck_assert(!finding(&in, "probability chain"));
	sp_inspect_fini(&in);

	/* beside kube-proxy's nftables tables: those are read, these said */
	{
		char path[256];
		char *a, *b;

		snprintf(path, sizeof(path), FIXTURES "/dumps/kube-proxy-nft.txt");
		a = slurp(path, &la);
		snprintf(path, sizeof(path), FIXTURES "/dumps/kp-ipt-nft-ruleset.txt");
		b = slurp(path, &lb);
		text = malloc(la + lb + 1);
		memcpy(text, a, la);
		memcpy(text + la, b, lb);
		text[la + lb] = '\0';
		free(a);
		free(b);
	}
	inspect_any(text, &in, 0, err, sizeof(err));
	ck_assert_str_eq(in.format, "nft list ruleset (kube-proxy nftables mode)");
	port_of(&in, "shop/web:http/TCP/IPv4");
	ck_assert(note(&in, "iptables-nft's KUBE-* chains are in the dump too"));
	sp_inspect_fini(&in);
	free(text);
}
END_TEST

/* iptables-nft's tables cut off: read as far as they go, and said. */
START_TEST(test_inspect_ipt_nft_ruleset_cut)
{
	char path[256], err[256] = "", *buf;
	struct sp_inspect in;
	size_t len, cut = 0;

	snprintf(path, sizeof(path), FIXTURES "/dumps/kp-ipt-nft-1.0.6.txt");
	buf = slurp(path, &len);
	for (int nl = 0; cut < len && nl < 213; cut++)	/* lines 1-213, then half of 214 */
		nl += buf[cut] == '\n';
	buf[cut + 20] = '\0';
	inspect_any(buf, &in, 0, err, sizeof(err));
	ck_assert_int_eq(port_of(&in, "chain/WEBWEBWEBWEBWEBWE:/TCP/IPv4")->n_eps, 3);
	ck_assert(in.partial);
	ck_assert(note(&in, "truncated at line 214"));
	ck_assert(!finding(&in, "reached by no"));
	sp_inspect_fini(&in);
	free(buf);
}
END_TEST

/* Class 13: look-alikes are refused naming the line and what to run; class
 * 8: nft's iptables-nft warning line does not make the dump iptables-save. */
START_TEST(test_inspect_refusals_name_line)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "Chain INPUT (policy ACCEPT 0 packets, 0 bytes)\n pkts bytes target prot opt in out source destination\n",
		  "line 1: an `iptables -L` listing" },
		{ "hello\nthis is a text file\n", "line 1: expected rule text" },
		{ "*nat\n-A KUBE-SERVICES -d 10.0.0.300/32 -j X\nCOMMIT\n", "line 2: -d" },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sp_inspect in;

		err[0] = '\0';
		inspect_any(cases[i].text, &in, -EINVAL, err, sizeof(err));
		ck_assert_msg(strstr(err, cases[i].want), "case %zu: '%s' lacks '%s'", i, err, cases[i].want);
		sp_inspect_fini(&in);
	}
}
END_TEST

/* Classes 2, 3, 5, 6 and 14 on kube-proxy 1.23's own rule text. */
START_TEST(test_inspect_iptables_1_23_xlb)
{
	struct sp_inspect in;
	const struct sp_svc_port *front, *dark, *np, *idle;
	const struct sp_inspect_port *x;
	cJSON *j;
	char *txt;

	inspect_fixture("kp-ipt-1.23-xlb.save", &in);
	front = port_of(&in, "web/front:https/TCP/IPv4");
	dark = port_of(&in, "web/dark:http/TCP/IPv4");
	np = port_of(&in, "web/np:/TCP/IPv4");
	idle = port_of(&in, "web/idle:http/TCP/IPv4");
	ck_assert_int_eq(front->etp, SP_POLICY_LOCAL);		/* class 5 */
	x = sp_hmap_get(in.extra, front->key);
	ck_assert(x->has_external && x->n_external == 1 && !x->masq_external);
	ck_assert_int_eq(dark->etp, SP_POLICY_LOCAL);
	ck_assert(finding(&in, "web/dark:http/TCP/IPv4 has no local endpoints"));
	x = sp_hmap_get(in.extra, np->key);			/* class 3, old form */
	ck_assert(np->etp == SP_POLICY_CLUSTER && x->masq_external);
	ck_assert_uint_eq(idle->cluster_ips.n, 1);		/* class 2 */
	ck_assert_uint_eq(idle->external_ips.n, 1);
	ck_assert(finding(&in, "KUBE-SEP-HALFHALFGONE0002 (50.0% of new connections, -> 10.42.0.59:8443) is not in the dump"));
	j = sp_inspect_to_json(&in);				/* class 14 */
	txt = cJSON_PrintUnformatted(j);
	ck_assert_ptr_null(strstr(txt, "web/np:/TCP"));
	ck_assert_ptr_nonnull(strstr(txt, "\"share\":0.5"));
	ck_assert_ptr_nonnull(strstr(txt, "\"notMasqueradedFrom\":[\"10.244.0.0/16\"]"));
	free(txt);
	cJSON_Delete(j);
	sp_inspect_fini(&in);
}
END_TEST

/* Classes 3, 4, 12 and 14 on kube-proxy 1.28's rule text. */
START_TEST(test_inspect_iptables_1_28)
{
	struct sp_inspect in;
	const struct sp_svc_port *api, *web, *edge;
	const struct sp_inspect_port *x;
	size_t dup = 0;

	inspect_fixture("kp-ipt-1.28.save", &in);
	api = port_of(&in, "prod/api:grpc/TCP/IPv4");
	web = port_of(&in, "prod/web:http/TCP/IPv4");
	edge = port_of(&in, "prod/edge:https/TCP/IPv4");
	x = sp_hmap_get(in.extra, api->key);			/* class 4 */
	ck_assert(x->has_external && x->n_external == 0 && api->n_eps == 1);
	ck_assert_int_eq(api->health_check_node_port, 32100);
	x = sp_hmap_get(in.extra, web->key);			/* class 3 */
	ck_assert(web->etp == SP_POLICY_CLUSTER && x->masq_external);
	ck_assert_uint_eq(edge->lb_source_ranges.n, 2);
	for (size_t i = 0; i < in.nfindings; i++)		/* class 12 */
		dup += strstr(in.findings[i], "prod/api:grpc/TCP/IPv4 has no local") != NULL;
	ck_assert_uint_eq(dup, 1);
	sp_inspect_fini(&in);
}
END_TEST

/* Class 15: ip6tables-save and ipvsadm. */
START_TEST(test_inspect_ip6tables_and_ipvs)
{
	static const char v6[] =
		"# Generated by ip6tables-save v1.8.7 on Mon Jan  8 10:00:00 2024\n*nat\n:KUBE-SERVICES - [0:0]\n"
		"-A KUBE-SERVICES -d fd00:10:96::1/128 -p tcp -m comment --comment \"default/kubernetes:https cluster IP\" -m tcp --dport 443 -j KUBE-SVC-NPX46M4PTMTKRN6Y\n"
		"-A KUBE-SVC-NPX46M4PTMTKRN6Y -m comment --comment \"default/kubernetes:https -> [fc00:f853:ccd:e793::2]:6443\" -j KUBE-SEP-A\n"
		"-A KUBE-SEP-A -p tcp -m comment --comment \"default/kubernetes:https\" -m tcp -j DNAT --to-destination [fc00:f853:ccd:e793::2]:6443\nCOMMIT\n";
	struct sp_inspect in;
	const struct sp_svc_port *p;
	const struct sp_inspect_port *x;
	char err[256] = "";

	inspect_any(v6, &in, 0, err, sizeof(err));
	p = port_of(&in, "default/kubernetes:https/TCP/IPv6");
	ck_assert_int_eq(p->n_eps, 1);
	ck_assert_int_eq(p->eps[0].port, 6443);
	sp_inspect_fini(&in);
	inspect_fixture("kp-ipvsadm.txt", &in);
	p = port_of(&in, "ipvs/172.18.0.3:30080/TCP/IPv4");
	x = sp_hmap_get(in.extra, p->key);
	ck_assert_str_eq(x->scheduler, "wrr");
	ck_assert(p->affinity_client_ip && p->affinity_timeout == 10800);
	ck_assert(p->eps[0].weight > 0.74 && p->eps[0].weight < 0.76);
	port_of(&in, "ipvs/10.96.0.10:53/UDP/IPv4");
	sp_inspect_fini(&in);
}
END_TEST

Suite *suite_inspect(void)
{
	Suite *s = suite_create("inspect");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_inspect_iptables_kube_proxy_dump);
	tcase_add_test(tc, test_inspect_iptables_broken);
	tcase_add_test(tc, test_inspect_iptables_repeated_rule);
	tcase_add_test(tc, test_inspect_nft_json_kube_proxy_dump);
	tcase_add_test(tc, test_inspect_nft_json_broken);
	tcase_add_test(tc, test_inspect_nft_json_dual_stack);
	tcase_add_test(tc, test_inspect_nft_text_equals_json);
	tcase_add_test(tc, test_inspect_nft_text_broken);
	tcase_add_test(tc, test_inspect_svcplane_text_dump);
	tcase_add_test(tc, test_inspect_nft_json_duplicate_and_shadowed_rules);
	tcase_add_test(tc, test_inspect_nft_text_unnamed_port);
	tcase_add_test(tc, test_inspect_iptables_pasted_shapes);
	tcase_add_test(tc, test_inspect_refusals_name_line);
	tcase_add_test(tc, test_inspect_iptables_1_23_xlb);
	tcase_add_test(tc, test_inspect_iptables_1_28);
	tcase_add_test(tc, test_inspect_ip6tables_and_ipvs);
	tcase_add_test(tc, test_inspect_nft_text_unclosed_table);
	tcase_add_test(tc, test_inspect_ipt_nft_ruleset);
	tcase_add_test(tc, test_inspect_ipt_nft_ruleset_cut);
	suite_add_tcase(s, tc);
	return s;
}
