/* nft_layout.h - svcplane's nf_tables layout: the sets and maps (one catalogue,
 * shared by renderer, writer and reader), the fixed chains and their rules, and
 * the rules of the chains that come and go (dnat groups, affinity chains).
 *
 * Per family, table "ip svcplane" / "ip6 svcplane":
 *
 *   base chains (kube-proxy's names and priorities)
 *     filter-prerouting-pre-dnat, filter-output-pre-dnat  (filter, -110) → firewall-check
 *     filter-input, filter-forward, filter-output         (filter, 0)   → endpoint checks
 *     nat-prerouting, nat-output (nat, -100) → services; nat-postrouting (nat, 100)
 *   services: masquerade marks by destination class, then one vmap lookup:
 *     daddr . l4proto . dport vmap @service-ips        → goto dnat-nN | affinity-…
 *     @nodeport-ips: l4proto . dport vmap @service-nodeports → goto nodeport-dnat-nN | affinity-…
 *   dnat-nN: dnat to daddr . l4proto . dport . numgen random mod N map @backends
 *     One such chain per endpoint count N in use (not per service): a service
 *     whose endpoint count changes moves between groups by element operations.
 *   affinity-…: per service port with ClientIP affinity only: a chain with two
 *     rules per endpoint and a dynamic set of clients per endpoint (kube-proxy's
 *     sets, without its endpoint chains): a known client goes back to its
 *     endpoint and refreshes its timeout; a new one is sent to endpoint i with
 *     probability 1/(N-i) and remembered there.
 *
 * No per-endpoint chains; an endpoint change is element operations only.
 */
#ifndef SP_DATAPLANE_NFT_LAYOUT_H
#define SP_DATAPLANE_NFT_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "../backend.h"
#include "nft_codec.h"

struct nftnl_set;
struct nftnl_rule;
struct nftnl_chain;

#define SP_NFT_TABLE "svcplane"
#define SP_MASQ_MARK 0x4000u
/* Comment on affinity rules: the timeout, for read-back. */
#define NFT_AFFINITY_NOTE "ClientIP affinity, timeout %us"

enum nft_set_id {
	NS_CLUSTER_IPS,
	NS_NODEPORT_IPS,
	NS_MASQ_VIPS,
	NS_MASQ_NODEPORTS,
	NS_LOCAL_VIPS,
	NS_LOCAL_NODEPORTS,
	NS_HAIRPIN,
	NS_SERVICE_IPS,
	NS_SERVICE_NODEPORTS,
	NS_EXT_SHORTCUT,
	NS_NP_SHORTCUT,
	NS_BACKENDS,
	NS_NP_BACKENDS,
	NS_SC_BACKENDS,
	NS_NP_SC_BACKENDS,
	NS_NO_EP_SERVICES,
	NS_NO_EP_NODEPORTS,
	NS_FIREWALL_IPS,
	NS_FIREWALL_ALLOW,
	NS_COUNT
};

enum nft_data_kind { D_NONE, D_VERDICT, D_ENDPOINT };

struct nft_set_def {
	const char *name;
	enum nft_field key[5];		/* 0-terminated */
	enum nft_data_kind data;
	bool interval;			/* concatenated ranges (pipapo) */
	const char *comment;
};

extern const struct nft_set_def sp_nft_sets[NS_COUNT];

/* Byte length of a whole key / of the data (fields padded to 4 bytes; the
 * fields themselves are nft_codec.h's). */
uint32_t nft_key_len(const struct nft_set_def *d, int family);
uint32_t nft_data_len(enum nft_data_kind k, int family);

/* Group chains: what a dnat group looks up. */
enum nft_group { G_DNAT, G_NODEPORT, G_SHORTCUT, G_NODEPORT_SHORTCUT, G_COUNT };
/* "dnat-n3", "nodeport-dnat-n3", ... into @buf. */
void nft_group_chain_name(enum nft_group g, uint32_t n, char *buf, size_t sz);

/* New set object for @id. NULL + errno. */
struct nftnl_set *nft_set_build(int family, enum nft_set_id id);
/* A dynamic set of client addresses that expire after @timeout_s seconds. */
struct nftnl_set *nft_affinity_set_build(int family, const char *name, uint32_t timeout_s);

/* The fixed chains: @i-th of nft_fixed_chain_count(). */
size_t nft_fixed_chain_count(void);
struct nftnl_chain *nft_fixed_chain_build(int family, size_t i);
const char *nft_fixed_chain_name(size_t i);
/* A regular (non-base) chain. */
struct nftnl_chain *nft_chain_build(int family, const char *name);

/* Rules of the fixed chains, for @cfg (cluster CIDRs, masquerade-all) in
 * @family. Calls @emit once per rule, in order; stops on a non-zero return. */
int nft_fixed_rules(int family, const struct sp_backend_cfg *cfg,
		    int (*emit)(void *ctx, struct nftnl_rule *r), void *ctx);
/* The one rule of group chain @g with @n endpoints. */
struct nftnl_rule *nft_group_rule(int family, enum nft_group g, uint32_t n);
struct nft_affinity;
/* The rules of affinity chain @a, in order, through @emit. */
int nft_affinity_rules(int family, const struct nft_affinity *a,
		       int (*emit)(void *ctx, struct nftnl_rule *r), void *ctx);

#endif
