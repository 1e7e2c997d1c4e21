/* nft_msgs.c - plan → nf_tables messages (see nft_msgs.h), with libnftnl:
 * table, sets, chains and their rules, elements in messages of up to 64 KiB,
 * each message noted with the object an error line should name. */
#include "nft_msgs.h"
#include "nft_expr.h"
#include "nft_layout.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <linux/netfilter/nf_tables.h>

#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

struct msgs {
	struct nft_tx *tx;
	int family;
	struct sp_nft_stats *st;
};

static int emit_rule(void *arg, struct nftnl_rule *r)
{
	struct msgs *c = arg;
	struct nlmsghdr *nlh;
	char what[320];

	if (!r)
		return -ENOMEM;
	snprintf(what, sizeof(what), "rule in chain %s", nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
	nlh = nft_tx_msg(c->tx, c->family, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, what);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nft_tx_next(c->tx);
	nftnl_rule_free(r);
	c->st->rule_msgs++;
	return 0;
}

static void msg_table(struct msgs *c, uint16_t type)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t)
		return;
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, (uint32_t)c->family);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, SP_NFT_TABLE);
	nlh = nft_tx_msg(c->tx, c->family, type, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0,
			 type == NFT_MSG_NEWTABLE ? "create table" : "delete table");
	nftnl_table_nlmsg_build_payload(nlh, t);
	nft_tx_next(c->tx);
	nftnl_table_free(t);
	c->st->table_msgs++;
}

/* NEWCHAIN (create if missing), DELRULE (flush) or DELCHAIN for @ch. */
static void msg_chain(struct msgs *c, struct nftnl_chain *ch, uint16_t type)
{
	char what[320];
	struct nlmsghdr *nlh;

	if (!ch)
		return;
	snprintf(what, sizeof(what), "%s chain %s",
		 type == NFT_MSG_NEWCHAIN ? "create" : type == NFT_MSG_DELRULE ? "flush" : "delete",
		 nftnl_chain_get_str(ch, NFTNL_CHAIN_NAME));
	if (type == NFT_MSG_DELRULE) {
		struct nftnl_rule *r = nft_rule_new(c->family, SP_NFT_TABLE,
						    nftnl_chain_get_str(ch, NFTNL_CHAIN_NAME));

		nlh = nft_tx_msg(c->tx, c->family, NFT_MSG_DELRULE, 0, what);
		if (r) {
			nftnl_rule_nlmsg_build_payload(nlh, r);
			nftnl_rule_free(r);
		}
		c->st->rule_msgs++;
	} else {
		nlh = nft_tx_msg(c->tx, c->family, type,
				 type == NFT_MSG_NEWCHAIN ? NLM_F_CREATE : 0, what);
		nftnl_chain_nlmsg_build_payload(nlh, ch);
		c->st->chain_msgs++;
	}
	nft_tx_next(c->tx);
	nftnl_chain_free(ch);
}

/* NEWSET (create if missing), DELSETELEM with no elements (flush) or DELSET. */
static void msg_set(struct msgs *c, struct nftnl_set *s, uint16_t type)
{
	char what[320];
	struct nlmsghdr *nlh;

	if (!s)
		return;
	snprintf(what, sizeof(what), "%s set %s",
		 type == NFT_MSG_NEWSET ? "create" : type == NFT_MSG_DELSETELEM ? "flush" : "delete",
		 nftnl_set_get_str(s, NFTNL_SET_NAME));
	nlh = nft_tx_msg(c->tx, c->family, type, type == NFT_MSG_NEWSET ? NLM_F_CREATE : 0, what);
	if (type == NFT_MSG_DELSETELEM) {
		nftnl_set_elems_nlmsg_build_payload(nlh, s);	/* no elements: flush */
		c->st->elem_msgs++;
	} else {
		nftnl_set_nlmsg_build_payload(nlh, s);
		c->st->set_msgs++;
	}
	nft_tx_next(c->tx);
	nftnl_set_free(s);
}

static struct nftnl_set_elem *to_nftnl(const struct nft_elem *e, bool with_value)
{
	struct nftnl_set_elem *se = nftnl_set_elem_alloc();

	if (!se)
		return NULL;
	nftnl_set_elem_set(se, NFTNL_SET_ELEM_KEY, e->key, e->klen);
	if (sp_nft_sets[e->set].interval)
		nftnl_set_elem_set(se, NFTNL_SET_ELEM_KEY_END, e->key + e->klen, e->klen);
	if (!with_value)
		return se;
	if (e->dlen)
		nftnl_set_elem_set(se, NFTNL_SET_ELEM_DATA, e->data, e->dlen);
	if (e->verdict == NFT_ELEM_GOTO) {
		nftnl_set_elem_set_u32(se, NFTNL_SET_ELEM_VERDICT, (uint32_t)NFT_GOTO);
		nftnl_set_elem_set_str(se, NFTNL_SET_ELEM_CHAIN, e->chain);
	} else if (e->verdict == NFT_ELEM_DROP) {
		nftnl_set_elem_set_u32(se, NFTNL_SET_ELEM_VERDICT, (uint32_t)NF_DROP);
	}
	if (e->comment) {
		struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(300);

		if (u && nftnl_udata_put_strz(u, NFTNL_UDATA_SET_ELEM_COMMENT, e->comment))
			nftnl_set_elem_set(se, NFTNL_SET_ELEM_USERDATA, nftnl_udata_buf_data(u),
					   nftnl_udata_buf_len(u));
		nftnl_udata_buf_free(u);
	}
	return se;
}

/* The elements of @l in set @set, NEWSETELEM or DELSETELEM: one message per
 * ~64 KiB of elements (the iterator says when there are more). */
static int msg_elems(struct msgs *c, const struct nft_elems *l, int set, uint16_t type)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *iter;
	char what[400], first[300] = "";
	size_t n = 0;

	if (!s)
		return -ENOMEM;
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, (uint32_t)c->family);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, SP_NFT_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, sp_nft_sets[set].name);
	for (size_t k = 0; k < l->n; k++) {
		struct nftnl_set_elem *se;

		if (l->v[k].set != set)
			continue;
		if (!(se = to_nftnl(&l->v[k], type == NFT_MSG_NEWSETELEM))) {
			nftnl_set_free(s);
			return -ENOMEM;
		}
		if (!n++)
			nft_elem_describe(&l->v[k], c->family, first, sizeof(first));
		nftnl_set_elem_add(s, se);
	}
	if (!n || !(iter = nftnl_set_elems_iter_create(s))) {
		nftnl_set_free(s);
		return n ? -ENOMEM : 0;
	}
	snprintf(what, sizeof(what), "%s %zu element(s), first %s",
		 type == NFT_MSG_NEWSETELEM ? "add" : "delete", n, first);
	for (int more = 1; more > 0;) {
		struct nlmsghdr *nlh = nft_tx_msg(c->tx, c->family, type,
						  type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0, what);

		more = nftnl_set_elems_nlmsg_build_payload_iter(nlh, iter);
		nft_tx_next(c->tx);
		c->st->elem_msgs++;
	}
	c->st->elems += n;
	nftnl_set_elems_iter_destroy(iter);
	nftnl_set_free(s);
	return 0;
}

/* Table, sets, fixed chains (flushed) and their rules, sets flushed. */
static int skeleton(struct msgs *c, const struct sp_backend_cfg *cfg)
{
	int e;

	msg_table(c, NFT_MSG_NEWTABLE);
	for (int i = 0; i < NS_COUNT; i++)
		msg_set(c, nft_set_build(c->family, (enum nft_set_id)i), NFT_MSG_NEWSET);
	for (size_t i = 0; i < nft_fixed_chain_count(); i++) {
		msg_chain(c, nft_fixed_chain_build(c->family, i), NFT_MSG_NEWCHAIN);
		msg_chain(c, nft_chain_build(c->family, nft_fixed_chain_name(i)), NFT_MSG_DELRULE);
	}
	if ((e = nft_fixed_rules(c->family, cfg, emit_rule, c)))
		return e;
	for (int i = 0; i < NS_COUNT; i++)
		msg_set(c, nft_set_build(c->family, (enum nft_set_id)i), NFT_MSG_DELSETELEM);
	return 0;
}

/* A chain that comes and goes, (re)written: created if missing, flushed,
 * then its rules; an affinity chain's client sets first (kept if they exist:
 * their clients stay sticky). */
static int write_chain(struct msgs *c, const struct nft_chain_op *op)
{
	msg_chain(c, nft_chain_build(c->family, op->name), NFT_MSG_NEWCHAIN);
	msg_chain(c, nft_chain_build(c->family, op->name), NFT_MSG_DELRULE);
	if (op->affinity) {
		char name[256];

		for (uint32_t i = 0; i < op->aff.n; i++) {
			nft_affinity_set_name(&op->aff, i, name, sizeof(name));
			msg_set(c, nft_affinity_set_build(c->family, name, op->aff.timeout),
				NFT_MSG_NEWSET);
		}
		return nft_affinity_rules(c->family, &op->aff, emit_rule, c);
	}
	enum nft_group g = !strncmp(op->name, "nodeport-shortcut-", 18) ? G_NODEPORT_SHORTCUT
			   : !strncmp(op->name, "nodeport-", 9)		? G_NODEPORT
			   : !strncmp(op->name, "shortcut-", 9)		? G_SHORTCUT
									: G_DNAT;
	uint32_t n = (uint32_t)strtoul(strrchr(op->name, 'n') + 1, NULL, 10);

	return emit_rule(c, nft_group_rule(c->family, g, n));
}

static int family_msgs(struct msgs *c, const struct nft_fam_plan *fp,
		       const struct sp_backend_cfg *cfg)
{
	int e = 0;

	if (fp->drop_table)
		msg_table(c, NFT_MSG_DELTABLE);
	if (fp->skeleton && (e = skeleton(c, cfg)))
		return e;
	for (size_t i = 0; i < fp->nchains && !e; i++)
		if (fp->chains[i].kind == NFT_CHAIN_WRITE)
			e = write_chain(c, &fp->chains[i]);
	for (int s = 0; s < NS_COUNT && !e; s++)
		e = msg_elems(c, &fp->del, s, NFT_MSG_DELSETELEM);
	for (int s = 0; s < NS_COUNT && !e; s++)
		e = msg_elems(c, &fp->add, s, NFT_MSG_NEWSETELEM);
	for (size_t i = 0; i < fp->nchains && !e; i++) {
		if (fp->chains[i].kind != NFT_CHAIN_DELETE)
			continue;
		msg_chain(c, nft_chain_build(c->family, fp->chains[i].name), NFT_MSG_DELRULE);
		msg_chain(c, nft_chain_build(c->family, fp->chains[i].name), NFT_MSG_DELCHAIN);
	}
	for (size_t i = 0; i < fp->ndel_sets && !e; i++)
		msg_set(c, nft_affinity_set_build(c->family, fp->del_sets[i], 1), NFT_MSG_DELSET);
	return e;
}

int nft_msgs_plan(struct nft_tx *tx, const struct nft_plan *pl, const struct sp_backend_cfg *cfg,
		  struct sp_nft_stats *st)
{
	int e = 0;

	for (int f = 0; f < 2 && !e; f++) {
		struct msgs c = { tx, pl->fam[f].family, st };

		e = family_msgs(&c, &pl->fam[f], cfg);
	}
	return e;
}

void nft_msgs_drop_table(struct nft_tx *tx, int family, struct sp_nft_stats *st)
{
	struct msgs c = { tx, family, st };

	msg_table(&c, NFT_MSG_DELTABLE);
}
