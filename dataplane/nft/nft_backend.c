/* nft_backend.c - the nftables backend: keeps what each service port contributed
 * (its rendered elements, reference-counted where ports share them), turns a
 * partial sync into element operations for the dirty services only, and a full
 * sync into one transaction that rebuilds every set and chain it owns. */
#include "nft_backend.h"
#include "nft_expr.h"
#include "nft_layout.h"
#include "nft_readback.h"
#include "nft_render.h"
#include "nft_tx.h"
#include "../netlink/conntrack.h"
#include "../netlink/node_addrs.h"
#include "../../common/hmap.h"
#include "../../common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

/* One element as the kernel holds it, shared by the ports that render it. */
struct elem_rec {
	uint32_t refs;
	uint32_t vhash;		/* value, for telling a conflicting claim apart */
	uint8_t verdict, dlen;
	uint8_t data[NFT_DATA_MAX];
	char *chain;		/* goto target, counted in the chain's references */
};

static void elem_rec_free(struct elem_rec *rec)
{
	if (!rec)
		return;
	free(rec->chain);
	free(rec);
}

static bool rec_same_value(const struct elem_rec *rec, const struct nft_elem *e)
{
	return rec->verdict == e->verdict && rec->vhash == e->vhash && rec->dlen == e->dlen &&
	       !memcmp(rec->data, e->data, e->dlen);
}

/* What one service port contributed. */
struct port_rec {
	struct nft_render r;
	char *service;
	uint8_t proto;
};

/* A chain that comes and goes: dnat group or affinity chain. */
struct chain_rec {
	uint32_t refs;			/* elements that goto it */
	struct nft_affinity aff;	/* affinity chains: their endpoints and timeout */
	bool affinity;
	bool rules_stale;		/* rules to (re)write */
	bool pinned;			/* a dnat group kept even when unused */
	char **sets;			/* affinity: client sets created for it */
	size_t nsets;
};

static void chain_rec_free(struct chain_rec *c)
{
	if (!c)
		return;
	nft_affinity_fini(&c->aff);
	for (size_t i = 0; i < c->nsets; i++)
		free(c->sets[i]);
	free(c->sets);
	free(c);
}

struct fam_state {
	int family;			/* NFPROTO_IPV4 / _IPV6 */
	struct sp_hmap *elems;		/* element id → struct elem_rec */
	struct sp_hmap *ports;		/* port key → struct port_rec */
	struct sp_hmap *by_service;	/* "ns/name" → struct sp_hmap * set of its port keys */
	struct sp_hmap *chains;		/* chain name → struct chain_rec */
	struct sp_hmap *stale_sets;	/* affinity sets found in the kernel, not ours yet */
	struct sp_hmap *hairpin;	/* endpoint address (hex) → (uintptr_t) references */
};

struct nft_be {
	struct mnl_socket *nl;
	const struct sp_backend_cfg *cfg;
	const struct sp_log *log;
	bool read_only;			/* opened by svcplanectl */
	struct sp_nft_text *dump;	/* load_dump: read from this instead of the kernel */
	struct fam_state fam[2];
	bool have_state;		/* a full sync has succeeded: fam[] mirrors the kernel */
	bool rebuild;			/* the last full sync failed: start from a new table */
	bool last_ok;
	bool committed;			/* some sync has committed: rules are in force */
	struct sp_nft_stats stats;
};

/* dnat groups for 1..N endpoints always exist, so that small services never
 * need a chain created when their endpoint count changes. */
#define PINNED_GROUPS 8

/* Pending element operations of one sync. */
struct elem_ops {
	struct nft_elem *add, *del;
	size_t nadd, ndel, capadd, capdel;
};

static void elem_id(const struct nft_elem *e, int family, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	uint32_t n = e->klen * (sp_nft_sets[e->set].interval ? 2u : 1u);
	char *p = buf;

	(void)family;
	*p++ = hex[e->set >> 4];
	*p++ = hex[e->set & 15];
	for (uint32_t i = 0; i < n; i++) {
		*p++ = hex[e->key[i] >> 4];
		*p++ = hex[e->key[i] & 15];
	}
	*p = '\0';
}

static int push_op(struct nft_elem **v, size_t *n, size_t *cap, const struct nft_elem *e)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct nft_elem *nv = realloc(*v, c * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = *e;
	return 0;
}

static void ops_fini(struct elem_ops *o)
{
	free(o->add);
	free(o->del);
	memset(o, 0, sizeof(*o));
}

/* --- state -------------------------------------------------------------------- */


static bool is_fixed_chain(const char *name)
{
	for (size_t i = 0; i < nft_fixed_chain_count(); i++)
		if (!strcmp(nft_fixed_chain_name(i), name))
			return true;
	return false;
}

/* Count references to a chain that comes and goes (fixed chains such as
 * reject-chain are always there). */
static void chain_ref(struct fam_state *fs, const char *name, int delta,
		      const struct nft_affinity *aff)
{
	struct chain_rec *c;

	if (is_fixed_chain(name))
		return;
	c = sp_hmap_get(fs->chains, name);
	if (!c) {
		if (delta < 0)
			return;
		c = calloc(1, sizeof(*c));
		if (!c || sp_hmap_put(fs->chains, name, c, NULL)) {
			free(c);
			return;
		}
		c->rules_stale = true;
	}
	c->refs = (uint32_t)((int)c->refs + delta);
	if (aff && (!c->affinity || !nft_affinity_equal(&c->aff, aff))) {
		struct nft_affinity copy;

		if (nft_affinity_copy(&copy, aff))
			return;	/* the rules stay as they were; the next full sync repairs */
		nft_affinity_fini(&c->aff);
		c->aff = copy;
		c->affinity = true;
		c->rules_stale = true;
	}
}

static void port_rec_free(struct port_rec *pr)
{
	if (!pr)
		return;
	nft_render_fini(&pr->r);
	free(pr->service);
	free(pr);
}

/* Render @p into a new record. NULL + errno. */
static struct port_rec *port_rec_new(const struct sp_svc_port *p)
{
	struct port_rec *pr = calloc(1, sizeof(*pr));

	if (!pr)
		return NULL;
	pr->proto = p->protocol;
	pr->service = strdup(p->service);
	if (!pr->service || nft_render_port(p, &pr->r)) {
		free(pr->service);
		free(pr);
		errno = ENOMEM;
		return NULL;
	}
	return pr;
}

static void fam_clear(struct fam_state *fs)
{
	struct sp_hmap_iter it = {0};

	while (fs->elems && sp_hmap_next(fs->elems, &it))
		elem_rec_free(sp_hmap_del(fs->elems, it.key));
	memset(&it, 0, sizeof(it));
	while (fs->ports && sp_hmap_next(fs->ports, &it))
		port_rec_free(sp_hmap_del(fs->ports, it.key));
	memset(&it, 0, sizeof(it));
	while (fs->by_service && sp_hmap_next(fs->by_service, &it))
		sp_hmap_free(sp_hmap_del(fs->by_service, it.key));
	memset(&it, 0, sizeof(it));
	while (fs->chains && sp_hmap_next(fs->chains, &it))
		chain_rec_free(sp_hmap_del(fs->chains, it.key));
	memset(&it, 0, sizeof(it));
	while (fs->stale_sets && sp_hmap_next(fs->stale_sets, &it))
		sp_hmap_del(fs->stale_sets, it.key);
	memset(&it, 0, sizeof(it));
	while (fs->hairpin && sp_hmap_next(fs->hairpin, &it))
		sp_hmap_del(fs->hairpin, it.key);
}

static void fam_fini(struct fam_state *fs)
{
	fam_clear(fs);
	sp_hmap_free(fs->elems);
	sp_hmap_free(fs->ports);
	sp_hmap_free(fs->by_service);
	sp_hmap_free(fs->chains);
	sp_hmap_free(fs->stale_sets);
	sp_hmap_free(fs->hairpin);
	memset(fs, 0, sizeof(*fs));
}

static int fam_init(struct fam_state *fs, int family)
{
	fs->family = family;
	fs->elems = sp_hmap_new();
	fs->ports = sp_hmap_new();
	fs->chains = sp_hmap_new();
	fs->stale_sets = sp_hmap_new();
	fs->by_service = sp_hmap_new();
	fs->hairpin = sp_hmap_new();
	return fs->elems && fs->ports && fs->chains && fs->stale_sets && fs->by_service &&
	       fs->hairpin ? 0 : -ENOMEM;
}

/* Record port @pr under @key, indexed by its service (a partial sync finds a
 * service's ports without walking them all). Takes @pr; returns 0 or -ENOMEM. */
static int port_put(struct fam_state *fs, const char *key, struct port_rec *pr)
{
	struct sp_hmap *set = sp_hmap_get(fs->by_service, pr->service);

	if (!set) {
		set = sp_hmap_new();
		if (!set || sp_hmap_put(fs->by_service, pr->service, set, NULL)) {
			sp_hmap_free(set);
			port_rec_free(pr);
			return -ENOMEM;
		}
	}
	if (sp_hmap_put(set, key, (void *)1, NULL) || sp_hmap_put(fs->ports, key, pr, NULL)) {
		sp_hmap_del(set, key);
		port_rec_free(pr);
		return -ENOMEM;
	}
	return 0;
}

/* Take port @key out of the records; returns it (the caller frees), or NULL. */
static struct port_rec *port_take(struct fam_state *fs, const char *key)
{
	struct port_rec *pr = sp_hmap_del(fs->ports, key);
	struct sp_hmap *set;

	if (!pr)
		return NULL;
	set = sp_hmap_get(fs->by_service, pr->service);
	if (set) {
		sp_hmap_del(set, key);
		if (!sp_hmap_len(set))
			sp_hmap_free(sp_hmap_del(fs->by_service, pr->service));
	}
	return pr;
}

/* Hairpin: one "endpoint . itself" element per endpoint address any port uses,
 * counted here (a counter in the map's value, no record) rather than carried by
 * every port that has the endpoint. */
static int hairpin_ref(struct fam_state *fs, const uint8_t *addr, int delta, struct elem_ops *ops)
{
	static const char hex[] = "0123456789abcdef";
	uint32_t alen = fs->family == NFPROTO_IPV6 ? 16 : 4;
	struct nft_elem e = { .set = NS_HAIRPIN, .klen = (uint8_t)(2 * alen) };
	uintptr_t n;
	char id[33];

	for (uint32_t i = 0; i < alen; i++) {
		id[2 * i] = hex[addr[i] >> 4];
		id[2 * i + 1] = hex[addr[i] & 15];
	}
	id[2 * alen] = '\0';
	n = (uintptr_t)sp_hmap_get(fs->hairpin, id);
	if (delta < 0 && n == 0)
		return 0;
	n = (uintptr_t)((intptr_t)n + delta);
	if (n == 0)
		sp_hmap_del(fs->hairpin, id);
	else if (sp_hmap_put(fs->hairpin, id, (void *)n, NULL))
		return -ENOMEM;
	if (!(n == 0 || (n == 1 && delta > 0)))
		return 0;
	memcpy(e.key, addr, alen);
	memcpy(e.key + alen, addr, alen);
	return n ? push_op(&ops->add, &ops->nadd, &ops->capadd, &e)
		 : push_op(&ops->del, &ops->ndel, &ops->capdel, &e);
}

/* Every endpoint address @r sends to, once per mention, to hairpin_ref. */
static int hairpins(struct fam_state *fs, const struct nft_render *r, int delta,
		    struct elem_ops *ops)
{
	int e = 0;

	for (size_t i = 0; i < r->n && !e; i++) {
		const struct nft_elem *el = &r->v[i];

		if (el->set == NS_BACKENDS || el->set == NS_NP_BACKENDS || el->set == NS_SC_BACKENDS ||
		    el->set == NS_NP_SC_BACKENDS)
			e = hairpin_ref(fs, el->data, delta, ops);
	}
	for (int a = 0; a < r->naff && !e; a++)
		for (uint32_t i = 0; i < r->aff[a].n && !e; i++)
			e = hairpin_ref(fs, r->aff[a].eps[i].addr, delta, ops);
	return e;
}

/* Take @r's elements into the shared table; new ones go to @ops->add. An element
 * another port already holds with a different value is a conflict: the first
 * holder keeps it, this one is marked unowned (set = NS_COUNT). */
static int claim(struct nft_be *be, struct fam_state *fs, const char *port, struct nft_render *r,
		 struct elem_ops *ops)
{
	char id[2 + 2 * NFT_KEY_MAX + 1];

	for (size_t i = 0; i < r->n; i++) {
		struct nft_elem *e = &r->v[i];
		struct elem_rec *rec;

		elem_id(e, fs->family, id);
		rec = sp_hmap_get(fs->elems, id);
		if (rec) {
			if (!rec_same_value(rec, e)) {
				char what[256];

				nft_elem_describe(e, fs->family, what, sizeof(what));
				sp_log_warn(be->log, "nftables: %s: %s claims it too; the first claim stays",
					    what, port);
				e->set = NS_COUNT;
				continue;
			}
			rec->refs++;
			continue;
		}
		rec = calloc(1, sizeof(*rec));
		if (!rec)
			return -ENOMEM;
		rec->refs = 1;
		rec->vhash = e->vhash;
		rec->verdict = e->verdict;
		rec->dlen = e->dlen;
		memcpy(rec->data, e->data, e->dlen);
		rec->chain = e->chain ? strdup(e->chain) : NULL;
		if ((e->chain && !rec->chain) || sp_hmap_put(fs->elems, id, rec, NULL)) {
			elem_rec_free(rec);
			return -ENOMEM;
		}
		if (e->chain)
			chain_ref(fs, e->chain, 1, NULL);
		if (push_op(&ops->add, &ops->nadd, &ops->capadd, e))
			return -ENOMEM;
	}
	for (int a = 0; a < r->naff; a++)
		chain_ref(fs, r->aff[a].name, 0, &r->aff[a]);
	return hairpins(fs, r, 1, ops);
}

/* Give back @r's elements; those nobody holds any more go to @ops->del. */
static int release(struct fam_state *fs, struct nft_render *r, struct elem_ops *ops)
{
	char id[2 + 2 * NFT_KEY_MAX + 1];

	for (size_t i = 0; i < r->n; i++) {
		const struct nft_elem *e = &r->v[i];
		struct nft_elem del;
		struct elem_rec *rec;

		if (e->set == NS_COUNT)
			continue;
		elem_id(e, fs->family, id);
		rec = sp_hmap_get(fs->elems, id);
		if (!rec || --rec->refs)
			continue;
		if (rec->chain)
			chain_ref(fs, rec->chain, -1, NULL);
		/* The kernel's copy is the one claimed first; its key is this one. */
		del = *e;
		del.verdict = rec->verdict;
		del.vhash = rec->vhash;
		del.dlen = rec->dlen;
		memcpy(del.data, rec->data, rec->dlen);
		del.chain = del.comment = NULL;	/* a delete needs the key only */
		if (push_op(&ops->del, &ops->ndel, &ops->capdel, &del))
			return -ENOMEM;
		elem_rec_free(sp_hmap_del(fs->elems, id));
	}
	return hairpins(fs, r, -1, ops);
}

/* --- messages ------------------------------------------------------------------ */

struct emit_ctx {
	struct nft_be *be;
	struct nft_tx *tx;
};

static int emit_rule(void *arg, struct nftnl_rule *r)
{
	struct emit_ctx *c = arg;
	struct nlmsghdr *nlh;
	char what[320];

	if (!r)
		return -ENOMEM;
	snprintf(what, sizeof(what), "rule in chain %s", nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
	nlh = nft_tx_msg(c->tx, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, what);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nft_tx_next(c->tx);
	nftnl_rule_free(r);
	c->be->stats.rule_msgs++;
	return 0;
}

static void msg_table(struct nft_be *be, struct nft_tx *tx, uint16_t type)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t)
		return;
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, (uint32_t)tx->family);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, SP_NFT_TABLE);
	nlh = nft_tx_msg(tx, type, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0,
			 "table " SP_NFT_TABLE);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nft_tx_next(tx);
	nftnl_table_free(t);
	be->stats.table_msgs++;
}

/* NEWCHAIN (create if missing), DELRULE (flush) or DELCHAIN for @c. */
static void msg_chain(struct nft_be *be, struct nft_tx *tx, struct nftnl_chain *c, uint16_t type)
{
	char what[320];
	struct nlmsghdr *nlh;

	if (!c)
		return;
	snprintf(what, sizeof(what), "%s chain %s",
		 type == NFT_MSG_NEWCHAIN ? "create" : type == NFT_MSG_DELRULE ? "flush" : "delete",
		 nftnl_chain_get_str(c, NFTNL_CHAIN_NAME));
	if (type == NFT_MSG_DELRULE) {
		struct nftnl_rule *r = nft_rule_new(tx->family, SP_NFT_TABLE,
						    nftnl_chain_get_str(c, NFTNL_CHAIN_NAME));

		nlh = nft_tx_msg(tx, NFT_MSG_DELRULE, 0, what);
		if (r) {
			nftnl_rule_nlmsg_build_payload(nlh, r);
			nftnl_rule_free(r);
		}
		be->stats.rule_msgs++;
	} else {
		nlh = nft_tx_msg(tx, type, type == NFT_MSG_NEWCHAIN ? NLM_F_CREATE : 0, what);
		nftnl_chain_nlmsg_build_payload(nlh, c);
		be->stats.chain_msgs++;
	}
	nft_tx_next(tx);
	nftnl_chain_free(c);
}

static void msg_set(struct nft_be *be, struct nft_tx *tx, struct nftnl_set *s, uint16_t type)
{
	char what[320];
	struct nlmsghdr *nlh;

	if (!s)
		return;
	snprintf(what, sizeof(what), "%s set %s",
		 type == NFT_MSG_NEWSET ? "create" : type == NFT_MSG_DELSETELEM ? "flush" : "delete",
		 nftnl_set_get_str(s, NFTNL_SET_NAME));
	nlh = nft_tx_msg(tx, type, type == NFT_MSG_NEWSET ? NLM_F_CREATE : 0, what);
	if (type == NFT_MSG_DELSETELEM) {
		nftnl_set_elems_nlmsg_build_payload(nlh, s);	/* no elements: flush */
		be->stats.elem_msgs++;
	} else {
		nftnl_set_nlmsg_build_payload(nlh, s);
		be->stats.set_msgs++;
	}
	nft_tx_next(tx);
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

static int cmp_set(const void *a, const void *b)
{
	return (int)((const struct nft_elem *)a)->set - (int)((const struct nft_elem *)b)->set;
}

/* Element messages for @v (sorted by set here), NEWSETELEM or DELSETELEM. */
static int msg_elems(struct nft_be *be, struct nft_tx *tx, struct nft_elem *v, size_t n,
		     uint16_t type)
{
	qsort(v, n, sizeof(*v), cmp_set);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		struct nftnl_set *s;
		struct nftnl_set_elems_iter *iter;
		char what[400], first[300];

		while (j < n && v[j].set == v[i].set)
			j++;
		s = nftnl_set_alloc();
		if (!s)
			return -ENOMEM;
		nftnl_set_set_u32(s, NFTNL_SET_FAMILY, (uint32_t)tx->family);
		nftnl_set_set_str(s, NFTNL_SET_TABLE, SP_NFT_TABLE);
		nftnl_set_set_str(s, NFTNL_SET_NAME, sp_nft_sets[v[i].set].name);
		for (size_t k = i; k < j; k++) {
			struct nftnl_set_elem *se = to_nftnl(&v[k], type == NFT_MSG_NEWSETELEM);

			if (!se) {
				nftnl_set_free(s);
				return -ENOMEM;
			}
			nftnl_set_elem_add(s, se);
		}
		iter = nftnl_set_elems_iter_create(s);
		if (!iter) {
			nftnl_set_free(s);
			return -ENOMEM;
		}
		nft_elem_describe(&v[i], tx->family, first, sizeof(first));
		snprintf(what, sizeof(what), "%s %zu element(s), first %s",
			 type == NFT_MSG_NEWSETELEM ? "add" : "delete", j - i, first);
		/* One message per ~64 KiB of elements; the iterator says when
		 * there are more. */
		for (int more = 1; more > 0;) {
			struct nlmsghdr *nlh = nft_tx_msg(tx, type, type == NFT_MSG_NEWSETELEM ?
							  NLM_F_CREATE : 0, what);

			more = nftnl_set_elems_nlmsg_build_payload_iter(nlh, iter);
			nft_tx_next(tx);
			be->stats.elem_msgs++;
		}
		be->stats.elems += j - i;
		nftnl_set_elems_iter_destroy(iter);
		nftnl_set_free(s);
		i = j;
	}
	return 0;
}

static bool in_list(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

/* An affinity chain's client sets (kept if they exist: their clients stay
 * sticky), its rules (the chain was just flushed), and the deletion of the sets
 * of endpoints it no longer has. */
static int affinity_chain(struct nft_be *be, struct nft_tx *tx, struct fam_state *fs,
			  struct chain_rec *c)
{
	struct emit_ctx ec = { be, tx };
	char **sets = calloc(c->aff.n + 1, sizeof(*sets)), name[256];
	int e;

	if (!sets)
		return -ENOMEM;
	for (uint32_t i = 0; i < c->aff.n; i++) {
		nft_affinity_set_name(&c->aff, i, name, sizeof(name));
		if (!(sets[i] = strdup(name))) {
			for (uint32_t k = 0; k < i; k++)
				free(sets[k]);
			free(sets);
			return -ENOMEM;
		}
		msg_set(be, tx, nft_affinity_set_build(tx->family, name, c->aff.timeout), NFT_MSG_NEWSET);
		sp_hmap_del(fs->stale_sets, name);
	}
	e = nft_affinity_rules(tx->family, &c->aff, emit_rule, &ec);
	for (size_t k = 0; k < c->nsets; k++) {
		if (!in_list(sets, c->aff.n, c->sets[k]))
			msg_set(be, tx, nft_affinity_set_build(tx->family, c->sets[k], 1), NFT_MSG_DELSET);
		free(c->sets[k]);
	}
	free(c->sets);
	c->sets = sets;
	c->nsets = c->aff.n;
	return e;
}

/* Chains that come and go: create (with rules) or rewrite those marked stale
 * and still used; return the unused ones in @dead for deletion after elements. */
static int msg_dynamic_chains(struct nft_be *be, struct nft_tx *tx, struct fam_state *fs,
			      bool gc_groups, char ***dead, size_t *ndead)
{
	struct sp_hmap_iter it = {0};
	struct emit_ctx ec = { be, tx };

	*dead = NULL;
	*ndead = 0;
	while (sp_hmap_next(fs->chains, &it)) {
		struct chain_rec *c = it.value;

		/* An unused dnat group stays until the next full sync (or for good,
		 * when pinned): a service moving between groups is then element
		 * operations only. */
		if (!c->refs && !c->pinned && (c->affinity || gc_groups)) {
			char **d = realloc(*dead, (*ndead + 1) * sizeof(*d));

			if (!d)
				return -ENOMEM;
			*dead = d;
			d[(*ndead)++] = strdup(it.key);
			continue;
		}
		if (!c->rules_stale)
			continue;
		sp_log_debug(be->log, "nftables: writing chain %s", it.key);
		msg_chain(be, tx, nft_chain_build(tx->family, it.key), NFT_MSG_NEWCHAIN);
		msg_chain(be, tx, nft_chain_build(tx->family, it.key), NFT_MSG_DELRULE);
		if (c->affinity) {
			int e = affinity_chain(be, tx, fs, c);

			if (e)
				return e;
		} else {
			enum nft_group g = !strncmp(it.key, "nodeport-shortcut-", 18) ? G_NODEPORT_SHORTCUT
					   : !strncmp(it.key, "nodeport-", 9)	 ? G_NODEPORT
					   : !strncmp(it.key, "shortcut-", 9)	 ? G_SHORTCUT
										 : G_DNAT;
			uint32_t n = (uint32_t)strtoul(strrchr(it.key, 'n') + 1, NULL, 10);

			emit_rule(&ec, nft_group_rule(tx->family, g, n));
		}
		c->rules_stale = false;
	}
	return 0;
}

static void msg_delete_chains(struct nft_be *be, struct nft_tx *tx, struct fam_state *fs,
			      char **dead, size_t ndead)
{
	for (size_t i = 0; i < ndead; i++) {
		struct chain_rec *c = sp_hmap_del(fs->chains, dead[i]);

		msg_chain(be, tx, nft_chain_build(tx->family, dead[i]), NFT_MSG_DELRULE);
		msg_chain(be, tx, nft_chain_build(tx->family, dead[i]), NFT_MSG_DELCHAIN);
		for (size_t k = 0; c && k < c->nsets; k++)
			msg_set(be, tx, nft_affinity_set_build(tx->family, c->sets[k], 1), NFT_MSG_DELSET);
		chain_rec_free(c);
		free(dead[i]);
	}
	free(dead);
}

/* --- conntrack ------------------------------------------------------------------- */

struct ct_list {
	struct sp_ct_match *v;
	size_t n, cap;
};

static void ct_add(struct ct_list *l, uint8_t proto, const uint8_t *addr, int family,
		   uint16_t port, bool endpoint)
{
	struct sp_ct_match *m;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct sp_ct_match *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return;	/* best effort: stale flows then age out by themselves */
		l->v = v;
		l->cap = cap;
	}
	m = &l->v[l->n++];
	memset(m, 0, sizeof(*m));
	m->proto = proto;
	m->addr.family = (uint8_t)(family == NFPROTO_IPV6 ? AF_INET6 : AF_INET);
	m->addr.prefix_len = (uint8_t)sp_addr_bits(m->addr.family);
	memcpy(m->addr.bytes, addr, family == NFPROTO_IPV6 ? 16 : 4);
	m->port = port;
	m->endpoint = endpoint;
}

static bool is_backend(const struct nft_elem *e)
{
	return e->set == NS_BACKENDS || e->set == NS_NP_BACKENDS || e->set == NS_SC_BACKENDS ||
	       e->set == NS_NP_SC_BACKENDS;
}

/* Endpoint i of affinity list @a as element data (address . port). */
static uint8_t aff_data(const struct nft_affinity *a, uint32_t i, uint8_t *d)
{
	uint8_t alen = a->family == NFPROTO_IPV6 ? 16 : 4;

	memset(d, 0, NFT_DATA_MAX);
	memcpy(d, a->eps[i].addr, alen);
	d[alen] = (uint8_t)(a->eps[i].port >> 8);
	d[alen + 1] = (uint8_t)a->eps[i].port;
	return alen + 4;
}

static bool has_endpoint(const struct nft_render *r, const uint8_t *data, uint8_t dlen)
{
	uint8_t d[NFT_DATA_MAX];

	for (size_t i = 0; r && i < r->n; i++)
		if (is_backend(&r->v[i]) && r->v[i].dlen == dlen && !memcmp(r->v[i].data, data, dlen))
			return true;
	for (int a = 0; r && a < r->naff; a++)
		for (uint32_t i = 0; i < r->aff[a].n; i++)
			if (aff_data(&r->aff[a], i, d) == dlen && !memcmp(d, data, dlen))
				return true;
	return false;
}

static bool any_endpoint(const struct nft_render *r)
{
	for (size_t i = 0; r && i < r->n; i++)
		if (is_backend(&r->v[i]))
			return true;
	return r && r->naff > 0;
}

/* Every endpoint of @r, as element data, to @fn. */
static void each_endpoint(const struct nft_render *r, void (*fn)(void *, const uint8_t *, uint8_t),
			  void *ctx)
{
	uint8_t d[NFT_DATA_MAX];

	for (size_t i = 0; i < r->n; i++)
		if (is_backend(&r->v[i]))
			fn(ctx, r->v[i].data, r->v[i].dlen);
	for (int a = 0; a < r->naff; a++)
		for (uint32_t i = 0; i < r->aff[a].n; i++)
			fn(ctx, d, aff_data(&r->aff[a], i, d));
}

struct stale_ctx {
	struct ct_list *ct;
	const struct nft_render *keep;	/* endpoints still in use, or NULL */
	uint8_t proto;
	int family;
};

static void stale_endpoint(void *arg, const uint8_t *data, uint8_t dlen)
{
	struct stale_ctx *c = arg;
	uint32_t alen = c->family == NFPROTO_IPV6 ? 16 : 4;

	if (c->keep && has_endpoint(c->keep, data, dlen))
		return;
	ct_add(c->ct, c->proto, data, c->family, (uint16_t)(data[alen] << 8 | data[alen + 1]), true);
}

/* UDP (and SCTP) flows made stale by going from @old to @new for port @p (NULL
 * when the port is gone): flows to endpoints it no longer has, and flows sent
 * while it had no endpoint at all (never NATed). */
static void stale_flows(uint8_t proto, const struct sp_svc_port *p, const struct nft_render *old,
			const struct nft_render *new, int family, struct ct_list *ct)
{
	struct stale_ctx sc = { ct, new, proto, family };

	if (proto == IPPROTO_TCP)
		return;
	if (old)
		each_endpoint(old, stale_endpoint, &sc);
	if (p && any_endpoint(new) && !any_endpoint(old)) {
		const struct sp_addr_list *lists[] = { &p->cluster_ips, &p->external_ips, &p->lb_ips };

		for (int l = 0; l < 3; l++)
			for (size_t i = 0; i < lists[l]->n; i++)
				ct_add(ct, proto, lists[l]->v[i].bytes, family, p->port, false);
	}
}

/* --- sync ------------------------------------------------------------------------ */

/* Fill the table skeleton: table, sets, fixed chains (flushed) and their rules. */
static int skeleton(struct nft_be *be, struct nft_tx *tx)
{
	struct emit_ctx ec = { be, tx };
	int e;

	msg_table(be, tx, NFT_MSG_NEWTABLE);
	for (int i = 0; i < NS_COUNT; i++)
		msg_set(be, tx, nft_set_build(tx->family, (enum nft_set_id)i), NFT_MSG_NEWSET);
	for (size_t i = 0; i < nft_fixed_chain_count(); i++) {
		msg_chain(be, tx, nft_fixed_chain_build(tx->family, i), NFT_MSG_NEWCHAIN);
		msg_chain(be, tx, nft_chain_build(tx->family, nft_fixed_chain_name(i)), NFT_MSG_DELRULE);
	}
	if ((e = nft_fixed_rules(tx->family, be->cfg, emit_rule, &ec)))
		return e;
	for (int i = 0; i < NS_COUNT; i++)
		msg_set(be, tx, nft_set_build(tx->family, (enum nft_set_id)i), NFT_MSG_DELSETELEM);
	return 0;
}

static int cb_chain_name(const struct nlmsghdr *nlh, void *data)
{
	struct sp_hmap *names = data;
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (c && nftnl_chain_nlmsg_parse(nlh, c) == 0 &&
	    !strcmp(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), SP_NFT_TABLE))
		sp_hmap_put(names, nftnl_chain_get_str(c, NFTNL_CHAIN_NAME), (void *)1, NULL);
	nftnl_chain_free(c);
	return MNL_CB_OK;
}

static int cb_set_name(const struct nlmsghdr *nlh, void *data)
{
	struct sp_hmap *names = data;
	struct nftnl_set *s = nftnl_set_alloc();

	if (s && nftnl_set_nlmsg_parse(nlh, s) == 0 &&
	    !strcmp(nftnl_set_get_str(s, NFTNL_SET_TABLE), SP_NFT_TABLE))
		sp_hmap_put(names, nftnl_set_get_str(s, NFTNL_SET_NAME), (void *)1, NULL);
	nftnl_set_free(s);
	return MNL_CB_OK;
}

/* Names of the chains (@type NFT_MSG_GETCHAIN) or sets (NFT_MSG_GETSET) now in
 * our table of @family; empty when there is no table. NULL on ENOMEM. */
static struct sp_hmap *kernel_names(struct nft_be *be, int family, uint16_t type)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct sp_hmap *names = sp_hmap_new();
	uint32_t seq = (uint32_t)time(NULL);
	struct nlmsghdr *nlh;
	ssize_t n;

	if (!names)
		return NULL;
	nlh = nftnl_nlmsg_build_hdr(buf, type, (uint16_t)family, NLM_F_DUMP, seq);
	if (mnl_socket_sendto(be->nl, nlh, nlh->nlmsg_len) < 0)
		return names;
	while ((n = mnl_socket_recvfrom(be->nl, buf, sizeof(buf))) > 0)
		if (mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(be->nl),
			       type == NFT_MSG_GETCHAIN ? cb_chain_name : cb_set_name, names) <= MNL_CB_STOP)
			break;
	return names;
}

/* Render every port of @family from @m into fresh state; new elements → @ops. */
static int render_all(struct nft_be *be, struct fam_state *fs, const struct sp_model *m,
		      struct elem_ops *ops, struct ct_list *ct)
{
	struct sp_hmap_iter it = {0};
	int e;

	while (sp_hmap_next(m->ports, &it)) {
		const struct sp_svc_port *p = it.value;
		struct port_rec *pr;

		if (nft_family_of(p) != fs->family)
			continue;
		if (!(pr = port_rec_new(p)) || port_put(fs, p->key, pr))
			return -ENOMEM;
		if ((e = claim(be, fs, p->key, &pr->r, ops)))
			return e;
		if (p->protocol != IPPROTO_TCP)
			stale_flows(p->protocol, p, NULL, &pr->r, fs->family, ct);
	}
	return 0;
}

static int node_port_ips(struct nft_be *be, const struct sp_model *m, struct elem_ops *ops,
			 int family)
{
	struct sp_node_addrs na;
	int e = sp_node_addrs_get(be->cfg->nodeport_primary, &be->cfg->nodeport_cidrs, &m->node.ips,
				  family == NFPROTO_IPV6 ? AF_INET6 : AF_INET, &na);

	if (e) {
		sp_log_warn(be->log, "nftables: node addresses for NodePorts: %s", strerror(-e));
		return 0;
	}
	for (int i = 0; i < na.n; i++) {
		struct nft_elem el = { .set = NS_NODEPORT_IPS, .klen = family == NFPROTO_IPV6 ? 16 : 4 };

		memcpy(el.key, na.v[i].bytes, el.klen);
		if (push_op(&ops->add, &ops->nadd, &ops->capadd, &el))
			return -ENOMEM;
	}
	return 0;
}

static int full_sync_family(struct nft_be *be, struct fam_state *fs, const struct sp_model *m,
			    struct ct_list *ct)
{
	struct nft_tx tx;
	struct elem_ops ops = {0};
	struct sp_hmap *existing;
	struct sp_hmap_iter it = {0};
	char **dead;
	size_t ndead;
	int e;

	fam_clear(fs);
	if ((e = render_all(be, fs, m, &ops, ct)) || (e = node_port_ips(be, m, &ops, fs->family)))
		goto out;
	existing = kernel_names(be, fs->family, NFT_MSG_GETCHAIN);
	{
		/* Affinity client sets from before: kept where still wanted (their
		 * clients stay sticky across a restart), deleted otherwise. */
		struct sp_hmap *sets = kernel_names(be, fs->family, NFT_MSG_GETSET);

		while (sets && sp_hmap_next(sets, &it))
			if (!strncmp(it.key, "affinity-", 9))
				sp_hmap_put(fs->stale_sets, it.key, (void *)1, NULL);
		sp_hmap_free(sets);
		memset(&it, 0, sizeof(it));
	}
	if ((e = nft_tx_begin(&tx, be->nl, fs->family, be->log))) {
		sp_hmap_free(existing);
		goto out;
	}
	/* After a failed full sync (say, one of our sets was recreated by hand
	 * with another type), replace the whole table in the same transaction:
	 * still atomic for traffic, and nothing left over can fail us again. */
	if (be->rebuild && existing && sp_hmap_len(existing)) {
		msg_table(be, &tx, NFT_MSG_DELTABLE);
		sp_hmap_free(existing);
		existing = NULL;
		memset(&it, 0, sizeof(it));
		while (sp_hmap_next(fs->stale_sets, &it))
			sp_hmap_del(fs->stale_sets, it.key);
	}
	if ((e = skeleton(be, &tx)))
		goto err_abort;
	/* Chains from before (an earlier run, or state we dropped): mark the ones
	 * still wanted for rewriting, flush the rest before their deletion. */
	while (existing && sp_hmap_next(existing, &it)) {
		struct chain_rec *c = sp_hmap_get(fs->chains, it.key);

		if (is_fixed_chain(it.key))
			continue;
		if (c)
			c->rules_stale = true;
		else
			chain_ref(fs, it.key, 0, NULL);	/* refs 0: deleted below */
		msg_chain(be, &tx, nft_chain_build(fs->family, it.key), NFT_MSG_DELRULE);
	}
	sp_hmap_free(existing);
	for (uint32_t n = 1; n <= PINNED_GROUPS; n++) {
		for (int g = G_DNAT; g <= G_NODEPORT; g++) {
			char name[64];
			struct chain_rec *c;

			nft_group_chain_name((enum nft_group)g, n, name, sizeof(name));
			chain_ref(fs, name, 0, NULL);
			if ((c = sp_hmap_get(fs->chains, name)))
				c->pinned = true;
		}
	}
	if ((e = msg_dynamic_chains(be, &tx, fs, true, &dead, &ndead)))
		goto err_abort;
	msg_delete_chains(be, &tx, fs, dead, ndead);
	memset(&it, 0, sizeof(it));
	while (sp_hmap_next(fs->stale_sets, &it)) {
		msg_set(be, &tx, nft_affinity_set_build(fs->family, it.key, 1), NFT_MSG_DELSET);
		sp_hmap_del(fs->stale_sets, it.key);
	}
	if ((e = msg_elems(be, &tx, ops.add, ops.nadd, NFT_MSG_NEWSETELEM)))
		goto err_abort;
	e = nft_tx_commit(&tx);
	goto out;

err_abort:
	nft_tx_abort(&tx);
out:
	ops_fini(&ops);
	return e;
}

/* An element given back and claimed again with the same value is no change:
 * drop both operations, so a batch holds only what really changes. */
static int cancel_pairs(int family, struct elem_ops *ops)
{
	struct sp_hmap *del = sp_hmap_new();
	char id[2 + 2 * NFT_KEY_MAX + 1];
	size_t na = 0, nd = 0;

	if (!del)
		return -ENOMEM;
	for (size_t i = 0; i < ops->ndel; i++) {
		elem_id(&ops->del[i], family, id);
		if (sp_hmap_put(del, id, &ops->del[i], NULL)) {
			sp_hmap_free(del);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < ops->nadd; i++) {
		struct nft_elem *d;

		elem_id(&ops->add[i], family, id);
		d = sp_hmap_get(del, id);
		if (d && d->set != NS_COUNT && d->verdict == ops->add[i].verdict &&
		    d->dlen == ops->add[i].dlen && !memcmp(d->data, ops->add[i].data, d->dlen) &&
		    d->vhash == ops->add[i].vhash) {
			d->set = NS_COUNT;	/* cancelled */
			continue;
		}
		ops->add[na++] = ops->add[i];
	}
	for (size_t i = 0; i < ops->ndel; i++)
		if (ops->del[i].set != NS_COUNT)
			ops->del[nd++] = ops->del[i];
	ops->nadd = na;
	ops->ndel = nd;
	sp_hmap_free(del);
	return 0;
}

/* Dirty services of one family: give back their old elements, claim new ones,
 * and write the difference as element operations. */
static int partial_sync_family(struct nft_be *be, struct fam_state *fs, const struct sp_model *m,
			       const struct sp_hmap *dirty, struct ct_list *ct)
{
	struct elem_ops ops = {0};
	struct sp_hmap_iter it = {0};
	struct sp_hmap *olds = sp_hmap_new();	/* port key → old struct port_rec */
	struct nft_tx tx;
	char **dead = NULL;
	size_t ndead = 0;
	bool chains_changed = false;
	int e = 0;

	if (!olds)
		return -ENOMEM;
	while (sp_hmap_next(dirty, &it)) {
		struct sp_hmap *set = sp_hmap_get(fs->by_service, it.key);
		const char **keys;
		size_t nkeys;

		if (!set)
			continue;
		keys = sp_hmap_sorted_keys(set, &nkeys);
		if (!keys) {
			e = -ENOMEM;
			goto out;
		}
		for (size_t k = 0; k < nkeys && !e; k++) {
			char *key = strdup(keys[k]);	/* keys[] dies with its set */
			struct port_rec *pr = key ? port_take(fs, key) : NULL;

			if (!pr) {
				free(key);
				continue;
			}
			if ((e = release(fs, &pr->r, &ops)) || (e = sp_hmap_put(olds, key, pr, NULL)))
				port_rec_free(pr);
			for (int a = 0; !e && a < pr->r.naff; a++)
				chain_ref(fs, pr->r.aff[a].name, 0, NULL);
			free(key);
		}
		free(keys);
		if (e)
			goto out;
	}
	memset(&it, 0, sizeof(it));
	while (sp_hmap_next(dirty, &it)) {
		struct sp_hmap *set = sp_hmap_get(m->by_service, it.key);
		struct sp_hmap_iter pi = {0};

		while (set && sp_hmap_next(set, &pi)) {
			const struct sp_svc_port *p = sp_hmap_get(m->ports, pi.key);
			struct port_rec *pr, *old;

			if (!p || nft_family_of(p) != fs->family)
				continue;
			if (!(pr = port_rec_new(p)) || port_put(fs, p->key, pr)) {
				e = -ENOMEM;
				goto out;
			}
			if ((e = claim(be, fs, p->key, &pr->r, &ops)))
				goto out;
			old = sp_hmap_del(olds, p->key);
			if (p->protocol != IPPROTO_TCP)
				stale_flows(p->protocol, p, old ? &old->r : NULL, &pr->r, fs->family, ct);
			port_rec_free(old);
		}
	}
	/* Ports that are gone: their UDP flows go with them. */
	memset(&it, 0, sizeof(it));
	while (sp_hmap_next(olds, &it)) {
		const struct port_rec *old = it.value;

		if (old->proto != IPPROTO_TCP)
			stale_flows(old->proto, NULL, &old->r, NULL, fs->family, ct);
	}
	if ((e = cancel_pairs(fs->family, &ops)))
		goto out;
	memset(&it, 0, sizeof(it));
	while (sp_hmap_next(fs->chains, &it)) {
		const struct chain_rec *c = it.value;

		chains_changed |= (!c->refs && c->affinity) || c->rules_stale;
	}
	if (!ops.nadd && !ops.ndel && !chains_changed)
		goto out;	/* nothing to write for this family */
	if ((e = nft_tx_begin(&tx, be->nl, fs->family, be->log)))
		goto out;
	if ((e = msg_dynamic_chains(be, &tx, fs, false, &dead, &ndead)) ||
	    (e = msg_elems(be, &tx, ops.del, ops.ndel, NFT_MSG_DELSETELEM)) ||
	    (e = msg_elems(be, &tx, ops.add, ops.nadd, NFT_MSG_NEWSETELEM))) {
		nft_tx_abort(&tx);
		goto out;
	}
	msg_delete_chains(be, &tx, fs, dead, ndead);
	dead = NULL;
	e = nft_tx_commit(&tx);
out:
	memset(&it, 0, sizeof(it));
	while (sp_hmap_next(olds, &it))
		port_rec_free(it.value);
	sp_hmap_free(olds);
	for (size_t i = 0; dead && i < ndead; i++)
		free(dead[i]);
	free(dead);
	ops_fini(&ops);
	return e;
}

/* The services @chg touches, as the set partial syncs rewrite. */
static struct sp_hmap *changed_services(const struct sp_change *chg)
{
	struct sp_hmap *d = sp_hmap_new();

	for (size_t i = 0; d && i < chg->n; i++) {
		const struct sp_svc_port *p = chg->v[i].new ? chg->v[i].new : chg->v[i].old;

		if (p && sp_hmap_put(d, p->service, (void *)1, NULL)) {
			sp_hmap_free(d);
			return NULL;
		}
	}
	return d;
}

static int nft_sync(struct sp_backend *be_, const struct sp_model *m, const struct sp_change *chg,
		    bool full)
{
	struct nft_be *be = be_->priv;
	struct ct_list ct = {0};
	struct sp_hmap *dirty = NULL;
	int e = 0;

	if (be->read_only)
		return -EROFS;
	memset(&be->stats, 0, sizeof(be->stats));
	/* Our mirror of the kernel is only as good as the last commit: after a
	 * failure (or before the first success) rebuild everything. A change of
	 * the node's facts (its addresses) is a full sync too. */
	if (!be->have_state || chg->node_changed)
		full = true;
	if (!full && !(dirty = changed_services(chg)))
		return -ENOMEM;
	for (int f = 0; f < 2 && !e; f++) {
		struct fam_state *fs = &be->fam[f];

		e = full ? full_sync_family(be, fs, m, &ct)
			 : partial_sync_family(be, fs, m, dirty, &ct);
	}
	be->have_state = e == 0;
	if (full)
		be->rebuild = e != 0;
	be->last_ok = e == 0;
	be->committed |= e == 0;
	if (!e && ct.n) {
		int n = sp_ct_flush(ct.v, ct.n, be->log);

		if (n < 0)
			sp_log_warn(be->log, "conntrack: removing stale UDP flows: %s", strerror(-n));
		else if (n)
			sp_log_info(be->log, "conntrack: removed %d stale flow(s)", n);
	}
	free(ct.v);
	sp_hmap_free(dirty);
	sp_log_debug(be->log, "nftables: %s sync: %lu element message(s) (%lu elements), %lu chain, "
		     "%lu rule, %lu set, %lu table message(s)", full ? "full" : "partial",
		     be->stats.elem_msgs, be->stats.elems, be->stats.chain_msgs, be->stats.rule_msgs,
		     be->stats.set_msgs, be->stats.table_msgs);
	return e;
}

/* --- lifecycle ------------------------------------------------------------------- */

static int nft_open(struct sp_backend *be_, const struct sp_backend_cfg *cfg, enum sp_open_mode mode)
{
	struct nft_be *be = calloc(1, sizeof(*be));
	int e;

	if (!be)
		return -ENOMEM;
	be->cfg = cfg;
	be->log = cfg->log;
	be->read_only = mode == SP_OPEN_READ;
	if (be->read_only) {
		/* The socket is opened on first live read: a saved dump needs none. */
		be_->priv = be;
		return 0;
	}
	be->nl = nft_socket_open();
	if (!be->nl) {
		e = -errno;
		free(be);
		return e;
	}
	if ((e = fam_init(&be->fam[0], NFPROTO_IPV4)) || (e = fam_init(&be->fam[1], NFPROTO_IPV6))) {
		fam_fini(&be->fam[0]);
		fam_fini(&be->fam[1]);
		mnl_socket_close(be->nl);
		free(be);
		return e;
	}
	be_->priv = be;
	return 0;
}

static int nft_cleanup(struct sp_backend *be_)
{
	struct nft_be *be = be_->priv;
	int err = 0;

	if (be->read_only)
		return -EROFS;
	for (int f = 0; f < 2; f++) {
		struct nft_tx tx;
		int e;
		struct sp_hmap *names = kernel_names(be, f ? NFPROTO_IPV6 : NFPROTO_IPV4, NFT_MSG_GETCHAIN);
		bool exists = names && sp_hmap_len(names) > 0;

		sp_hmap_free(names);
		if (!exists)
			continue;	/* nothing of ours in this family */
		if ((e = nft_tx_begin(&tx, be->nl, f ? NFPROTO_IPV6 : NFPROTO_IPV4, be->log)))
			return e;
		msg_table(be, &tx, NFT_MSG_DELTABLE);
		e = nft_tx_commit(&tx);
		if (e && e != -ENOENT && !err)
			err = e;
		fam_clear(&be->fam[f]);
	}
	be->have_state = false;
	return err;
}

static int nft_health(struct sp_backend *be_, struct sp_health *out)
{
	struct nft_be *be = be_->priv;

	/* A failed sync leaves the previous rules serving: what makes this
	 * backend unable to serve is never having committed its tables. */
	out->ok = be->committed;
	snprintf(out->detail, sizeof(out->detail), "%s",
		 out->ok ? "" : "no nftables sync has committed yet");
	return 0;
}

static void nft_close(struct sp_backend *be_)
{
	struct nft_be *be = be_->priv;

	if (!be)
		return;
	sp_nft_text_free(be->dump);
	fam_fini(&be->fam[0]);
	fam_fini(&be->fam[1]);
	if (be->nl)
		mnl_socket_close(be->nl);
	free(be);
	be_->priv = NULL;
}

const struct sp_nft_stats *sp_nft_last_stats(const struct sp_backend *be)
{
	return &((const struct nft_be *)be->priv)->stats;
}

/* --- reading: svcplanectl, through the ops ---------------------------------------- */

/* The netlink socket of a read-only backend, opened on first use. */
static int live(struct nft_be *be)
{
	if (!be->nl && !(be->nl = nft_socket_open()))
		return -errno;
	return 0;
}

/* Do our tables exist? A table of either family is our state. */
static int nft_present(struct sp_backend *be_)
{
	struct nft_be *be = be_->priv;
	int e;

	if (be->dump)
		return 1;
	if ((e = live(be)))
		return e;
	for (int f = 0; f < 2; f++) {
		int e = nft_table_exists(be->nl, f ? NFPROTO_IPV6 : NFPROTO_IPV4, SP_NFT_TABLE);

		if (e != 0)
			return e;	/* 1, or -errno (EPERM: not allowed to look) */
	}
	return 0;
}

static int nft_read_back(struct sp_backend *be_, struct sp_model *out, sp_external_list_fn ext,
			 void *ctx)
{
	struct nft_be *be = be_->priv;

	int e;

	if (be->dump)
		return sp_nft_text_read(be->dump, out, be->log, ext, ctx);
	if ((e = live(be)))
		return e;
	return sp_nft_read_ext(be->nl, out, be->log, ext, ctx);
}

static int nft_read_masq(struct sp_backend *be_, int family, struct sp_addr *keep, int max, bool *masq)
{
	struct nft_be *be = be_->priv;
	int nf = family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4, n;

	if (be->dump)
		return sp_nft_text_masq(be->dump, nf, keep, max, masq);
	if ((n = live(be)))
		return n;
	n = sp_nft_read_masq(be->nl, nf, keep, max, masq);
	if (n == -ENOENT) {	/* no table of this family: nothing masquerades */
		*masq = false;
		return 0;
	}
	return n;
}

static int nft_project(struct sp_backend *be_, const struct sp_model *in, struct sp_model *out)
{
	(void)be_;
	return sp_nft_project(in, out);
}

static int nft_dispatch(struct sp_backend *be_, int family, const struct sp_addr *vip, uint8_t proto,
			uint16_t port, struct sp_svc_port *p)
{
	struct nft_be *be = be_->priv;

	int e;

	if (be->dump)
		return -EOPNOTSUPP;
	if ((e = live(be)))
		return e;
	return sp_nft_read_dispatch(be->nl, family, vip, proto, port, p);
}

static int nft_load_dump(struct sp_backend *be_, const char *buf, size_t len, char *err, size_t errsz)
{
	struct nft_be *be = be_->priv;

	sp_nft_text_free(be->dump);
	be->dump = sp_nft_text_parse(buf, len, err, errsz);
	if (!be->dump)
		return errno == ENOMEM ? -ENOMEM : -EINVAL;
	return 0;
}

const struct sp_backend_ops sp_nft_ops = {
	.name = "nftables",
	.state = "nftables tables ip/ip6 " SP_NFT_TABLE,
	.open = nft_open,
	.present = nft_present,
	.sync = nft_sync,
	.read_back = nft_read_back,
	.read_masq = nft_read_masq,
	.project = nft_project,
	.dispatch = nft_dispatch,
	.load_dump = nft_load_dump,
	.cleanup = nft_cleanup,
	.health = nft_health,
	.close = nft_close,
};
