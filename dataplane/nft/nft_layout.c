/* nft_layout.c - the sets, chains and rules of svcplane's tables (see nft_layout.h). */
#include "nft_layout.h"
#include "nft_expr.h"
#include "nft_render.h"

#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>

#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>

#define K3 { F_ADDR, F_PROTO, F_PORT }
#define K2 { F_PROTO, F_PORT }

const struct nft_set_def sp_nft_sets[NS_COUNT] = {
	[NS_CLUSTER_IPS] = { "cluster-ips", { F_ADDR }, D_NONE, false, "Active ClusterIPs" },
	[NS_NODEPORT_IPS] = { "nodeport-ips", { F_ADDR }, D_NONE, false, "IPs that accept NodePort traffic" },
	[NS_MASQ_VIPS] = { "masq-vips", K3, D_NONE, false,
			   "external destinations with Cluster policy: masquerade" },
	[NS_MASQ_NODEPORTS] = { "masq-nodeports", K2, D_NONE, false, "NodePorts with Cluster policy: masquerade" },
	[NS_LOCAL_VIPS] = { "local-vips", K3, D_NONE, false,
			    "external destinations with Local policy: masquerade the node's own traffic" },
	[NS_LOCAL_NODEPORTS] = { "local-nodeports", K2, D_NONE, false, "NodePorts with Local policy" },
	[NS_HAIRPIN] = { "hairpin", { F_ADDR, F_ADDR }, D_NONE, false,
			 "endpoint . itself: a pod reaching itself through a service is masqueraded" },
	[NS_SERVICE_IPS] = { "service-ips", K3, D_VERDICT, false, "ClusterIP, ExternalIP and LoadBalancer IP traffic" },
	[NS_SERVICE_NODEPORTS] = { "service-nodeports", K2, D_VERDICT, false, "NodePort traffic" },
	[NS_EXT_SHORTCUT] = { "external-shortcut", K3, D_VERDICT, false,
			      "Local policy: pod and node traffic to external destinations uses all endpoints" },
	[NS_NP_SHORTCUT] = { "nodeport-shortcut", K2, D_VERDICT, false,
			     "Local policy: pod and node traffic to NodePorts uses all endpoints" },
	[NS_BACKENDS] = { "backends", { F_ADDR, F_PROTO, F_PORT, F_SLOT }, D_ENDPOINT, false,
			  "destination . slot → endpoint" },
	[NS_NP_BACKENDS] = { "nodeport-backends", { F_PROTO, F_PORT, F_SLOT }, D_ENDPOINT, false,
			     "NodePort . slot → endpoint" },
	[NS_SC_BACKENDS] = { "shortcut-backends", { F_ADDR, F_PROTO, F_PORT, F_SLOT }, D_ENDPOINT, false,
			     "external destination . slot → endpoint (all endpoints)" },
	[NS_NP_SC_BACKENDS] = { "nodeport-shortcut-backends", { F_PROTO, F_PORT, F_SLOT }, D_ENDPOINT, false,
				"NodePort . slot → endpoint (all endpoints)" },
	[NS_NO_EP_SERVICES] = { "no-endpoint-services", K3, D_VERDICT, false,
				"vmap to drop or reject packets to services with no endpoints" },
	[NS_NO_EP_NODEPORTS] = { "no-endpoint-nodeports", K2, D_VERDICT, false,
				 "vmap to drop or reject packets to service nodeports with no endpoints" },
	[NS_FIREWALL_IPS] = { "firewall-ips", K3, D_NONE, false,
			      "destinations that are subject to LoadBalancerSourceRanges" },
	[NS_FIREWALL_ALLOW] = { "firewall-allow", { F_ADDR, F_PROTO, F_PORT, F_RANGE }, D_NONE, true,
				"destination . allowed source range" },
};

uint32_t nft_key_len(const struct nft_set_def *d, int family)
{
	return nft_fields_len(d->key, family);
}

uint32_t nft_data_len(enum nft_data_kind k, int family)
{
	return k == D_ENDPOINT ? nft_fields_len(nft_endpoint_fields, family) : 0;
}

static uint32_t concat_type(const enum nft_field *fields, int family)
{
	uint32_t t = 0;

	for (int i = 0; i < 5 && fields[i]; i++)
		t = t << 6 | nft_field_type(fields[i], family);
	return t;
}

/* nft's expression numbers, as its typeof userdata names them (nft 1.0). */
enum { NFT_UD_EXPR_PAYLOAD = 7, NFT_UD_EXPR_META = 9, NFT_UD_EXPR_CONCAT = 13, NFT_UD_EXPR_NUMGEN = 23 };

/* One field as nft's `typeof` names it: ip/ip6 daddr, meta l4proto, th dport,
 * numgen random. */
static bool typeof_field(struct nftnl_udata_buf *u, int i, enum nft_field f, int family)
{
	struct nftnl_udata *sub = nftnl_udata_nest_start(u, (uint8_t)i), *data;
	bool ok;

	if (!sub)
		return false;
	switch (f) {
	case F_ADDR:	/* payload: protocol description, header field */
		ok = nftnl_udata_put_u32(u, NFTNL_UDATA_SET_TYPEOF_EXPR, NFT_UD_EXPR_PAYLOAD) &&
		     (data = nftnl_udata_nest_start(u, NFTNL_UDATA_SET_TYPEOF_DATA)) &&
		     nftnl_udata_put_u32(u, 0, family == NFPROTO_IPV6 ? 13 : 12) &&
		     nftnl_udata_put_u32(u, 1, family == NFPROTO_IPV6 ? 9 : 12);
		break;
	case F_PROTO:	/* meta l4proto */
		ok = nftnl_udata_put_u32(u, NFTNL_UDATA_SET_TYPEOF_EXPR, NFT_UD_EXPR_META) &&
		     (data = nftnl_udata_nest_start(u, NFTNL_UDATA_SET_TYPEOF_DATA)) &&
		     nftnl_udata_put_u32(u, 0, NFT_META_L4PROTO);
		break;
	case F_PORT:	/* th dport */
		ok = nftnl_udata_put_u32(u, NFTNL_UDATA_SET_TYPEOF_EXPR, NFT_UD_EXPR_PAYLOAD) &&
		     (data = nftnl_udata_nest_start(u, NFTNL_UDATA_SET_TYPEOF_DATA)) &&
		     nftnl_udata_put_u32(u, 0, 11) && nftnl_udata_put_u32(u, 1, 2);
		break;
	default:	/* numgen random mod 1 offset 0 */
		ok = nftnl_udata_put_u32(u, NFTNL_UDATA_SET_TYPEOF_EXPR, NFT_UD_EXPR_NUMGEN) &&
		     (data = nftnl_udata_nest_start(u, NFTNL_UDATA_SET_TYPEOF_DATA)) &&
		     nftnl_udata_put_u32(u, 0, NFT_NG_RANDOM) && nftnl_udata_put_u32(u, 1, 1) &&
		     nftnl_udata_put_u32(u, 2, 0);
		break;
	}
	if (ok) {
		nftnl_udata_nest_end(u, data);
		nftnl_udata_nest_end(u, sub);
	}
	return ok;
}

/* "typeof f1 . f2 ...": a concatenation's description, nested under @type. */
static bool typeof_concat(struct nftnl_udata_buf *u, uint8_t type, const enum nft_field *fields,
			  int family)
{
	struct nftnl_udata *outer = nftnl_udata_nest_start(u, type), *data;

	if (!outer || !nftnl_udata_put_u32(u, NFTNL_UDATA_SET_TYPEOF_EXPR, NFT_UD_EXPR_CONCAT) ||
	    !(data = nftnl_udata_nest_start(u, NFTNL_UDATA_SET_TYPEOF_DATA)))
		return false;
	for (int i = 0; i < 5 && fields[i]; i++)
		if (!typeof_field(u, i, fields[i], family))
			return false;
	nftnl_udata_nest_end(u, data);
	nftnl_udata_nest_end(u, outer);
	return true;
}

/* The set's userdata: its comment, and for the endpoint maps (keyed by a
 * numgen slot, which has no nft type name) the `typeof` description nft
 * writes itself, so that `nft list ruleset` output loads back with nft -f. */
static void set_userdata(struct nftnl_set *s, const struct nft_set_def *d, int family,
			 const char *comment)
{
	struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(1024);
	bool ok = u != NULL;

	if (ok && d && d->data == D_ENDPOINT)
		ok = nftnl_udata_put_u32(u, NFTNL_UDATA_SET_KEYBYTEORDER, 0) &&
		     nftnl_udata_put_u32(u, NFTNL_UDATA_SET_DATABYTEORDER, 0) &&
		     typeof_concat(u, NFTNL_UDATA_SET_KEY_TYPEOF, d->key, family) &&
		     typeof_concat(u, NFTNL_UDATA_SET_DATA_TYPEOF, nft_endpoint_fields, family);
	if (ok && nftnl_udata_put_strz(u, NFTNL_UDATA_SET_COMMENT, comment))
		nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(u),
				   nftnl_udata_buf_len(u));
	nftnl_udata_buf_free(u);
}

static struct nftnl_set *set_new(int family, const char *name)
{
	struct nftnl_set *s = nftnl_set_alloc();
	uint32_t id = 2166136261u;

	if (!s)
		return NULL;
	/* NEWSET needs a transaction-unique id; a hash of the name is one. */
	for (const char *p = name; *p; p++)
		id = (id ^ (uint8_t)*p) * 16777619u;
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, (uint32_t)family);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, SP_NFT_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	return s;
}

struct nftnl_set *nft_set_build(int family, enum nft_set_id id)
{
	const struct nft_set_def *d = &sp_nft_sets[id];
	struct nftnl_set *s = set_new(family, d->name);
	uint32_t flags = 0;

	if (!s)
		return NULL;
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, concat_type(d->key, family));
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, nft_key_len(d, family));
	if (d->data == D_VERDICT) {
		flags |= NFT_SET_MAP;
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 0);
	} else if (d->data == D_ENDPOINT) {
		flags |= NFT_SET_MAP;
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, concat_type(nft_endpoint_fields, family));
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, nft_data_len(D_ENDPOINT, family));
	}
	if (d->interval) {
		uint8_t lens[16] = {0};

		flags |= NFT_SET_INTERVAL | NFT_SET_CONCAT;
		for (int i = 0; i < 5 && d->key[i]; i++)
			lens[i] = (uint8_t)nft_field_bytes(d->key[i], family);
		nftnl_set_set_data(s, NFTNL_SET_DESC_CONCAT, lens, (uint32_t)strlen((char *)lens));
	}
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, flags);
	set_userdata(s, d, family, d->comment);
	return s;
}

struct nftnl_set *nft_affinity_set_build(int family, const char *name, uint32_t timeout_s)
{
	struct nftnl_set *s = set_new(family, name);
	enum nft_field key[] = { F_ADDR, 0 };

	if (!s)
		return NULL;
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, concat_type(key, family));
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, nft_field_len(F_ADDR, family));
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_TIMEOUT | NFT_SET_EVAL);
	nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, (uint64_t)timeout_s * 1000);
	nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, 65535);
	set_userdata(s, NULL, family, "ClientIP affinity: clients of one endpoint");
	return s;
}

void nft_group_chain_name(enum nft_group g, uint32_t n, char *buf, size_t sz)
{
	static const char *const prefix[G_COUNT] = {
		[G_DNAT] = "dnat", [G_NODEPORT] = "nodeport-dnat",
		[G_SHORTCUT] = "shortcut-dnat", [G_NODEPORT_SHORTCUT] = "nodeport-shortcut-dnat",
	};

	snprintf(buf, sz, "%s-n%u", prefix[g], n);
}

struct fixed_chain {
	const char *name;
	const char *type;	/* NULL: a regular chain */
	uint32_t hook;
	int32_t prio;
};

static const struct fixed_chain fixed_chains[] = {
	{ "filter-prerouting-pre-dnat", "filter", NF_INET_PRE_ROUTING, -110 },
	{ "filter-output-pre-dnat", "filter", NF_INET_LOCAL_OUT, -110 },
	{ "filter-input", "filter", NF_INET_LOCAL_IN, 0 },
	{ "filter-forward", "filter", NF_INET_FORWARD, 0 },
	{ "filter-output", "filter", NF_INET_LOCAL_OUT, 0 },
	{ "nat-prerouting", "nat", NF_INET_PRE_ROUTING, -100 },
	{ "nat-output", "nat", NF_INET_LOCAL_OUT, -100 },
	{ "nat-postrouting", "nat", NF_INET_POST_ROUTING, 100 },
	{ "services", NULL, 0, 0 },
	{ "firewall-check", NULL, 0, 0 },
	{ "service-endpoints-check", NULL, 0, 0 },
	{ "nodeport-endpoints-check", NULL, 0, 0 },
	{ "cluster-ips-check", NULL, 0, 0 },
	{ "reject-chain", NULL, 0, 0 },
	{ "mark-for-masquerade", NULL, 0, 0 },
	{ "masquerading", NULL, 0, 0 },
};

size_t nft_fixed_chain_count(void)
{
	return sizeof(fixed_chains) / sizeof(fixed_chains[0]);
}

const char *nft_fixed_chain_name(size_t i)
{
	return fixed_chains[i].name;
}

struct nftnl_chain *nft_chain_build(int family, const char *name)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c)
		return NULL;
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, (uint32_t)family);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, SP_NFT_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	return c;
}

struct nftnl_chain *nft_fixed_chain_build(int family, size_t i)
{
	const struct fixed_chain *f = &fixed_chains[i];
	struct nftnl_chain *c = nft_chain_build(family, f->name);

	if (!c || !f->type)
		return c;
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, f->type);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, f->hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, f->prio);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	return c;
}

/* Load destination . l4proto . dport from R(0); returns the next free register. */
static int load_vip(struct nftnl_rule *r, int family)
{
	int n = nft_load_addr(r, family, false, R(0));

	n += nft_load_l4proto(r, R(n));
	n += nft_load_dport(r, R(n));
	return n;
}

static int load_nodeport(struct nftnl_rule *r)
{
	int n = nft_load_l4proto(r, R(0));

	return n + nft_load_dport(r, R(n));
}

static void match_nodeport_ip(struct nftnl_rule *r, int family)
{
	nft_load_addr(r, family, false, R(0));
	nft_lookup(r, "nodeport-ips", R(0), -1, false);
}

static void match_cidrs(struct nftnl_rule *r, int family, const struct sp_cidrs *c, int only,
			bool inside)
{
	int fam = family == NFPROTO_IPV6 ? 10 : 2;	/* AF_INET6, AF_INET */

	for (int i = 0; i < c->n; i++) {
		if (c->v[i].family != fam || (only >= 0 && i != only))
			continue;
		nft_match_prefix(r, family, true, c->v[i].bytes, c->v[i].prefix_len, inside);
	}
}

static int cidrs_of_family(const struct sp_cidrs *c, int family)
{
	int fam = family == NFPROTO_IPV6 ? 10 : 2, n = 0;

	for (int i = 0; i < c->n; i++)
		n += c->v[i].family == fam;
	return n;
}

#define RULE(chain)                                                   \
	do {                                                          \
		r = nft_rule_new(family, SP_NFT_TABLE, chain);        \
		if (!r)                                               \
			return -ENOMEM;                               \
	} while (0)
#define EMIT()                                                        \
	do {                                                          \
		if ((e = emit(ctx, r)))                               \
			return e;                                     \
	} while (0)

/* services: masquerade marks by destination class, then dispatch. */
static int services_rules(int family, const struct sp_backend_cfg *cfg,
			  int (*emit)(void *, struct nftnl_rule *), void *ctx)
{
	const struct sp_cidrs *pods = &cfg->cluster_cidrs;
	int npods = cidrs_of_family(pods, family), fam = family == NFPROTO_IPV6 ? 10 : 2;
	struct nftnl_rule *r;
	int e;

	RULE("services");	/* external destinations, Cluster policy: always masquerade */
	load_vip(r, family);
	nft_lookup(r, "masq-vips", R(0), -1, false);
	nft_verdict(r, NFT_JUMP, "mark-for-masquerade");
	EMIT();

	if (cfg->masquerade_all || npods) {
		/* ClusterIP traffic from outside the cluster (or all of it). */
		RULE("services");
		nft_load_addr(r, family, false, R(0));
		nft_lookup(r, "cluster-ips", R(0), -1, false);
		if (!cfg->masquerade_all)
			match_cidrs(r, family, pods, -1, false);
		nft_verdict(r, NFT_JUMP, "mark-for-masquerade");
		EMIT();
	}

	/* Set lookups before fib: most packets are not for a Local-policy
	 * destination and skip the route lookup. */
	RULE("services");	/* the node's own traffic to a Local-policy destination */
	load_vip(r, family);
	nft_lookup(r, "local-vips", R(0), -1, false);
	nft_fib_local(r, FIB_SADDR);
	nft_verdict(r, NFT_JUMP, "mark-for-masquerade");
	EMIT();

	for (int i = 0; i < pods->n; i++) {	/* pods: short-circuit Local policy */
		if (pods->v[i].family != fam)
			continue;
		RULE("services");
		load_vip(r, family);
		nft_lookup(r, "local-vips", R(0), -1, false);
		match_cidrs(r, family, pods, i, true);
		load_vip(r, family);
		nft_lookup(r, "external-shortcut", R(0), NFT_REG_VERDICT, false);
		nft_rule_comment(r, "short-circuit pod traffic");
		EMIT();
	}
	RULE("services");
	load_vip(r, family);
	nft_lookup(r, "local-vips", R(0), -1, false);
	nft_fib_local(r, FIB_SADDR);
	load_vip(r, family);
	nft_lookup(r, "external-shortcut", R(0), NFT_REG_VERDICT, false);
	nft_rule_comment(r, "short-circuit local traffic");
	EMIT();

	RULE("services");
	load_vip(r, family);
	nft_lookup(r, "service-ips", R(0), NFT_REG_VERDICT, false);
	EMIT();

	RULE("services");
	match_nodeport_ip(r, family);
	load_nodeport(r);
	nft_lookup(r, "masq-nodeports", R(0), -1, false);
	nft_verdict(r, NFT_JUMP, "mark-for-masquerade");
	EMIT();

	RULE("services");
	match_nodeport_ip(r, family);
	load_nodeport(r);
	nft_lookup(r, "local-nodeports", R(0), -1, false);
	nft_fib_local(r, FIB_SADDR);
	nft_verdict(r, NFT_JUMP, "mark-for-masquerade");
	EMIT();

	for (int i = 0; i < pods->n; i++) {
		if (pods->v[i].family != fam)
			continue;
		RULE("services");
		match_nodeport_ip(r, family);
		load_nodeport(r);
		nft_lookup(r, "local-nodeports", R(0), -1, false);
		match_cidrs(r, family, pods, i, true);
		load_nodeport(r);
		nft_lookup(r, "nodeport-shortcut", R(0), NFT_REG_VERDICT, false);
		EMIT();
	}
	RULE("services");
	match_nodeport_ip(r, family);
	load_nodeport(r);
	nft_lookup(r, "local-nodeports", R(0), -1, false);
	nft_fib_local(r, FIB_SADDR);
	load_nodeport(r);
	nft_lookup(r, "nodeport-shortcut", R(0), NFT_REG_VERDICT, false);
	EMIT();

	RULE("services");
	match_nodeport_ip(r, family);
	load_nodeport(r);
	nft_lookup(r, "service-nodeports", R(0), NFT_REG_VERDICT, false);
	EMIT();
	return 0;
}

static int jump_rule(int family, const char *from, uint32_t ct_bits, const char *to,
		     int (*emit)(void *, struct nftnl_rule *), void *ctx)
{
	struct nftnl_rule *r;
	int e;

	RULE(from);
	if (ct_bits)
		nft_ct_state(r, ct_bits);
	nft_verdict(r, NFT_JUMP, to);
	EMIT();
	return 0;
}

int nft_fixed_rules(int family, const struct sp_backend_cfg *cfg,
		    int (*emit)(void *ctx, struct nftnl_rule *r), void *ctx)
{
	const uint32_t new = NF_CT_STATE_BIT(IP_CT_NEW);
	struct nftnl_rule *r;
	int e;

	/* One rule per base chain for established traffic: the checks for new
	 * connections chain into each other (nodeport → service endpoints →
	 * ClusterIP ports), so a packet of an established flow pays one test. */
	if ((e = jump_rule(family, "filter-prerouting-pre-dnat", new, "firewall-check", emit, ctx)) ||
	    (e = jump_rule(family, "filter-output-pre-dnat", new, "firewall-check", emit, ctx)) ||
	    (e = jump_rule(family, "filter-input", new, "nodeport-endpoints-check", emit, ctx)) ||
	    (e = jump_rule(family, "filter-forward", new, "service-endpoints-check", emit, ctx)))
		return e;
	/* A packet conntrack calls INVALID (say, an out-of-window TCP segment) would
	 * reach the pod un-NATed: drop it, as kube-proxy does. */
	RULE("filter-forward");
	nft_ct_state(r, NF_CT_STATE_INVALID_BIT);
	nft_verdict(r, NF_DROP, NULL);
	EMIT();
	if ((e = jump_rule(family, "filter-output", new, "service-endpoints-check", emit, ctx)) ||
	    (e = jump_rule(family, "nat-prerouting", 0, "services", emit, ctx)) ||
	    (e = jump_rule(family, "nat-output", 0, "services", emit, ctx)))
		return e;

	RULE("nat-postrouting");	/* hairpin: a pod reaching itself through a service */
	nft_ct_status_dnat(r);
	nft_load_addr(r, family, true, R(0));
	nft_load_addr(r, family, false, R(family == NFPROTO_IPV6 ? 4 : 1));
	nft_lookup(r, "hairpin", R(0), -1, false);
	nft_verdict(r, NFT_JUMP, "mark-for-masquerade");
	EMIT();
	if ((e = jump_rule(family, "nat-postrouting", 0, "masquerading", emit, ctx)))
		return e;

	if ((e = services_rules(family, cfg, emit, ctx)))
		return e;

	RULE("firewall-check");
	load_vip(r, family);
	nft_lookup(r, "firewall-ips", R(0), -1, false);
	{
		int n = load_vip(r, family);

		nft_load_addr(r, family, true, R(n));
	}
	nft_lookup(r, "firewall-allow", R(0), -1, true);
	nft_verdict(r, NF_DROP, NULL);
	EMIT();

	RULE("service-endpoints-check");
	load_vip(r, family);
	nft_lookup(r, "no-endpoint-services", R(0), NFT_REG_VERDICT, false);
	EMIT();
	if ((e = jump_rule(family, "service-endpoints-check", 0, "cluster-ips-check", emit, ctx)))
		return e;

	RULE("nodeport-endpoints-check");
	match_nodeport_ip(r, family);
	load_nodeport(r);
	nft_lookup(r, "no-endpoint-nodeports", R(0), NFT_REG_VERDICT, false);
	EMIT();
	if ((e = jump_rule(family, "nodeport-endpoints-check", 0, "service-endpoints-check", emit, ctx)))
		return e;

	RULE("cluster-ips-check");	/* a ClusterIP on a port no service has */
	nft_load_addr(r, family, false, R(0));
	nft_lookup(r, "cluster-ips", R(0), -1, false);
	nft_verdict(r, NFT_GOTO, "reject-chain");
	nft_rule_comment(r, "reject traffic to invalid ports of ClusterIPs");
	EMIT();

	RULE("reject-chain");
	nft_reject_tcp_reset(r);
	EMIT();
	RULE("reject-chain");
	nft_reject_icmp_port(r, family);
	EMIT();

	RULE("mark-for-masquerade");
	nft_mark_or(r, SP_MASQ_MARK);
	EMIT();
	RULE("masquerading");
	nft_mark_clear_test(r, SP_MASQ_MARK);
	nft_verdict(r, NFT_RETURN, NULL);
	EMIT();
	RULE("masquerading");
	nft_mark_xor(r, SP_MASQ_MARK);
	EMIT();
	RULE("masquerading");
	nft_masquerade_fully_random(r);
	EMIT();
	return 0;
}

struct nftnl_rule *nft_group_rule(int family, enum nft_group g, uint32_t n)
{
	static const char *const maps[G_COUNT] = {
		[G_DNAT] = "backends", [G_NODEPORT] = "nodeport-backends",
		[G_SHORTCUT] = "shortcut-backends", [G_NODEPORT_SHORTCUT] = "nodeport-shortcut-backends",
	};
	char chain[64];
	struct nftnl_rule *r;
	int k;

	nft_group_chain_name(g, n, chain, sizeof(chain));
	r = nft_rule_new(family, SP_NFT_TABLE, chain);
	if (!r)
		return NULL;
	k = (g == G_DNAT || g == G_SHORTCUT) ? load_vip(r, family) : load_nodeport(r);
	nft_load_numgen(r, R(k), n);
	nft_lookup(r, maps[g], R(0), R(0), false);
	nft_dnat(r, family, R(0), R(family == NFPROTO_IPV6 ? 4 : 1));
	return r;
}

/* "known client" when @pick is false, else "new client, chosen with probability
 * 1/@mod" (@mod 0: always): update the endpoint's client set and dnat to it. */
static struct nftnl_rule *affinity_rule(int family, const struct nft_affinity *a, uint32_t i,
					bool pick, uint32_t mod)
{
	struct nftnl_rule *r = nft_rule_new(family, SP_NFT_TABLE, a->name);
	char set[256], note[96];
	uint32_t alen = family == NFPROTO_IPV6 ? 16 : 4, zero = 0;
	uint16_t port = htons(a->eps[i].port);
	int k;

	if (!r)
		return NULL;
	nft_affinity_set_name(a, i, set, sizeof(set));
	nft_load_addr(r, family, true, R(0));
	if (!pick) {
		nft_lookup(r, set, R(0), -1, false);
	} else if (mod) {
		nft_load_numgen(r, R(4), mod);
		nft_cmp(r, R(4), true, &zero, sizeof(zero));
	}
	nft_dynset_update(r, set, R(0), -1, (uint64_t)a->timeout * 1000);
	/* Already matched by the dispatch map; stated so that nft can print a
	 * port mapping it will read back (`meta l4proto tcp dnat to a:p`). */
	nft_load_l4proto(r, R(4));
	nft_cmp(r, R(4), true, &a->proto, 1);
	k = nft_load_imm(r, R(4), a->eps[i].addr, alen);
	nft_load_imm(r, R(4 + k), &port, sizeof(port));
	nft_dnat(r, family, R(4), R(4 + k));
	snprintf(note, sizeof(note), NFT_AFFINITY_NOTE, a->timeout);
	nft_rule_comment(r, note);
	return r;
}

int nft_affinity_rules(int family, const struct nft_affinity *a,
		       int (*emit)(void *ctx, struct nftnl_rule *r), void *ctx)
{
	int e;

	for (uint32_t i = 0; i < a->n; i++)
		if ((e = emit(ctx, affinity_rule(family, a, i, false, 0))))
			return e;
	/* Endpoint i with probability 1/(N-i), the last always: a uniform pick. */
	for (uint32_t i = 0; i < a->n; i++)
		if ((e = emit(ctx, affinity_rule(family, a, i, true, i + 1 < a->n ? a->n - i : 0))))
			return e;
	return 0;
}
