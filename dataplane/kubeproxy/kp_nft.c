/* kp_nft.c - find and remove kube-proxy's nf_tables state (its nftables
 * tables and its iptables-nft chains) over netlink, in one transaction. */
#include "kp_nft.h"
#include "kp_chains.h"
#include "../nft/nft_tx.h"
#include "../../common/hmap.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

static const int families[2] = { NFPROTO_IPV4, NFPROTO_IPV6 };
/* The tables iptables-nft puts kube-proxy's chains in. */
static const char *const xt_tables[] = { "nat", "filter", "mangle" };
#define KP_TABLE "kube-proxy"

/* kube-proxy's chains of one iptables-nft table, as keys of a new map. */
static struct sp_hmap *kp_chains_of(struct mnl_socket *nl, int family, const char *table)
{
	struct sp_hmap *all = nft_list_names(nl, family, table, NFT_MSG_GETCHAIN), *kp;
	struct sp_hmap_iter it = { 0 };

	if (!all)
		return NULL;
	kp = sp_hmap_new();
	while (kp && sp_hmap_next(all, &it))
		if (kp_chain_is_kube_proxy(table, it.key) && sp_hmap_put(kp, it.key, (void *)1, NULL)) {
			sp_hmap_free(kp);
			kp = NULL;
		}
	sp_hmap_free(all);
	if (!kp)
		errno = ENOMEM;
	return kp;
}

int kp_nft_find(struct kp_nft_found *out)
{
	struct mnl_socket *nl = nft_socket_open();
	int e = 0;

	memset(out, 0, sizeof(*out));
	if (!nl)
		return -errno;
	for (int f = 0; f < 2 && !e; f++) {
		e = nft_table_exists(nl, families[f], KP_TABLE);
		out->tables[f] = e > 0;
		e = e < 0 ? e : 0;
		for (size_t t = 0; t < sizeof(xt_tables) / sizeof(xt_tables[0]) && !e; t++) {
			struct sp_hmap *kp = kp_chains_of(nl, families[f], xt_tables[t]);

			if (!kp) {
				e = -errno;
				break;
			}
			out->chains[f] += sp_hmap_len(kp);
			sp_hmap_free(kp);
		}
	}
	mnl_socket_close(nl);
	return e;
}

/* One rule of a dump, with what removal needs from it. */
struct rule_ref {
	char chain[NFT_CHAIN_MAXNAMELEN];
	uint64_t handle;
};

struct rules {
	const struct sp_hmap *kp;	/* kube-proxy's chains of this table */
	struct rule_ref *v;
	size_t n, cap;
	int err;
};

/* Does @r jump or go to one of @kp's chains? */
static bool jumps_to_kp(struct nftnl_rule *r, const struct sp_hmap *kp)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr *x;
	bool yes = false;

	if (!it)
		return false;
	while (!yes && (x = nftnl_expr_iter_next(it))) {
		const char *name = nftnl_expr_get_str(x, NFTNL_EXPR_NAME);
		int verdict;

		if (strcmp(name, "immediate") || !nftnl_expr_is_set(x, NFTNL_EXPR_IMM_CHAIN))
			continue;
		verdict = (int)nftnl_expr_get_u32(x, NFTNL_EXPR_IMM_VERDICT);
		yes = (verdict == NFT_JUMP || verdict == NFT_GOTO) &&
		      sp_hmap_get(kp, nftnl_expr_get_str(x, NFTNL_EXPR_IMM_CHAIN));
	}
	nftnl_expr_iter_destroy(it);
	return yes;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rules *x = data;
	struct nftnl_rule *r = nftnl_rule_alloc();
	const char *chain;

	if (!r) {
		x->err = -ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0)
		goto out;
	chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
	/* Rules inside kube-proxy's chains go with their chain. */
	if (!chain || sp_hmap_get(x->kp, chain) || !jumps_to_kp(r, x->kp))
		goto out;
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		struct rule_ref *v = realloc(x->v, cap * sizeof(*v));

		if (!v) {
			x->err = -ENOMEM;
			goto out;
		}
		x->v = v;
		x->cap = cap;
	}
	snprintf(x->v[x->n].chain, sizeof(x->v[x->n].chain), "%s", chain);
	x->v[x->n++].handle = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE);
out:
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

/* Every rule of @table (@family) that jumps into @x->kp, into @x. */
static int jump_rules(struct mnl_socket *nl, int family, const char *table, struct rules *x)
{
	char buf[MNL_SOCKET_BUFFER_SIZE * 4] __attribute__((aligned(8)));
	struct nftnl_rule *req = nftnl_rule_alloc();
	uint32_t seq = (uint32_t)time(NULL);
	struct nlmsghdr *nlh;
	int ret = MNL_CB_OK;
	ssize_t got;

	if (!req)
		return -ENOMEM;
	nftnl_rule_set_str(req, NFTNL_RULE_TABLE, table);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, (uint16_t)family, NLM_F_DUMP, seq);
	nftnl_rule_nlmsg_build_payload(nlh, req);
	nftnl_rule_free(req);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	while (ret > MNL_CB_STOP) {
		got = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (got <= 0)
			return got < 0 ? -errno : -EIO;
		ret = mnl_cb_run(buf, (size_t)got, seq, mnl_socket_get_portid(nl), rule_cb, x);
	}
	if (ret == MNL_CB_ERROR && !x->err)
		return errno == ENOENT ? 0 : -errno;
	return x->err;
}

/* A message naming @table and, when not NULL, @chain (and @handle when set). */
static void msg(struct nft_tx *tx, int family, uint16_t type, const char *table, const char *chain,
		uint64_t handle, const char *what)
{
	struct nlmsghdr *nlh = nft_tx_msg(tx, family, type, 0, what);

	mnl_attr_put_strz(nlh, type == NFT_MSG_DELTABLE ? NFTA_TABLE_NAME : NFTA_RULE_TABLE, table);
	if (chain)
		mnl_attr_put_strz(nlh, type == NFT_MSG_DELCHAIN ? NFTA_CHAIN_NAME : NFTA_RULE_CHAIN,
				  chain);
	if (handle)
		mnl_attr_put_u64(nlh, NFTA_RULE_HANDLE, htobe64(handle));
	nft_tx_next(tx);
}

/* One iptables-nft table's part of the transaction. */
static int table_msgs(struct nft_tx *tx, int family, const char *table, size_t *chains,
		      size_t *jumps)
{
	struct sp_hmap *kp = kp_chains_of(tx->nl, family, table);
	struct rules x = { .kp = kp };
	struct sp_hmap_iter it = { 0 };
	char what[128];
	int e;

	if (!kp)
		return -errno;
	if (!sp_hmap_len(kp)) {
		sp_hmap_free(kp);
		return 0;
	}
	e = jump_rules(tx->nl, family, table, &x);
	for (size_t i = 0; i < x.n && !e; i++) {
		snprintf(what, sizeof(what), "table %s: delete the jump in chain %s", table, x.v[i].chain);
		msg(tx, family, NFT_MSG_DELRULE, table, x.v[i].chain, x.v[i].handle, what);
	}
	/* Flush every kube-proxy chain first: they jump to each other. */
	while (!e && sp_hmap_next(kp, &it)) {
		snprintf(what, sizeof(what), "table %s: flush chain %s", table, it.key);
		msg(tx, family, NFT_MSG_DELRULE, table, it.key, 0, what);
	}
	memset(&it, 0, sizeof(it));
	while (!e && sp_hmap_next(kp, &it)) {
		snprintf(what, sizeof(what), "table %s: delete chain %s", table, it.key);
		msg(tx, family, NFT_MSG_DELCHAIN, table, it.key, 0, what);
	}
	*chains += sp_hmap_len(kp);
	*jumps += x.n;
	free(x.v);
	sp_hmap_free(kp);
	return e;
}

int kp_nft_remove(struct kp_nft_found *out, size_t *jumps, const struct sp_log *lg)
{
	struct mnl_socket *nl = nft_socket_open();
	struct nft_tx tx;
	int e;

	memset(out, 0, sizeof(*out));
	*jumps = 0;
	if (!nl)
		return -errno;
	if ((e = nft_tx_begin(&tx, nl, lg))) {
		mnl_socket_close(nl);
		return e;
	}
	tx.table = "(kube-proxy's state)";
	for (int f = 0; f < 2 && !e; f++) {
		e = nft_table_exists(nl, families[f], KP_TABLE);
		if (e > 0) {
			out->tables[f] = 1;
			msg(&tx, families[f], NFT_MSG_DELTABLE, KP_TABLE, NULL, 0, "delete table kube-proxy");
			e = 0;
		}
		for (size_t t = 0; t < sizeof(xt_tables) / sizeof(xt_tables[0]) && !e; t++)
			e = table_msgs(&tx, families[f], xt_tables[t], &out->chains[f], jumps);
	}
	if (e || !tx.msgs)
		nft_tx_abort(&tx);
	else
		e = nft_tx_commit(&tx);
	mnl_socket_close(nl);
	return e;
}
