/* nft_readsrc_nl.c - the live tables as a readback source (nft_readsrc.h):
 * netlink dumps of svcplane's sets and rules, taken as one consistent
 * snapshot. As nftables' own cache does (src/mnl.c, src/cache.c), the
 * ruleset generation (NFT_MSG_GETGEN) is read before and after the dumps and
 * the whole snapshot is read again when it moved or when the kernel flagged a
 * dump interrupted (NLM_F_DUMP_INTR); kernel errors are returned, never taken
 * for "empty". Also sp_nft_read_ext, the live readback. */
#include "nft_readsrc.h"
#include "nft_tx.h"
#include "../../common/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>

#define READ_TRIES 10 /* snapshots tried while the tables keep changing */

/* One affinity rule: the endpoint it sends to and the chain's timeout. */
struct aff_rule {
	char *chain;
	struct sp_endpoint ep;
	bool have_ep, have_timeout;
	unsigned timeout;
};

struct nft_nl_snap {
	bool present[2];		     /* table ip / ip6 svcplane exists */
	struct nftnl_set *sets[2][NS_COUNT]; /* the sets asked for, elements filled */
	struct aff_rule *aff[2];
	size_t naff[2], capaff[2];
};

struct nl_reader {
	struct mnl_socket *nl;
	uint32_t seq;
};

/* Send request @nlh and pass each reply message of ours to @cb until the
 * dump ends (NLMSG_DONE) or the ack arrives. Returns 0, the kernel's -errno,
 * @cb's first error (the rest of the dump is drained either way), or -EINTR
 * when the kernel flagged the dump interrupted (read again). */
static int nl_talk(struct nl_reader *r, struct nlmsghdr *nlh,
		   int (*cb)(const struct nlmsghdr *nlh, void *data), void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE * 4];
	uint32_t seq = nlh->nlmsg_seq, portid = mnl_socket_get_portid(r->nl);
	bool intr = false;
	int err = 0;

	if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(r->nl, buf, sizeof(buf));
		int left = (int)n;

		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		for (nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != portid)
				continue; /* left over from an earlier request */
			if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
				intr = true;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

				return e->error ? e->error : err ? err : intr ? -EINTR : 0;
			}
			if (nlh->nlmsg_type == NLMSG_DONE) {
				/* A dump that failed midway says so here. */
				if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int) &&
				    *(const int *)mnl_nlmsg_get_payload(nlh) < 0)
					return *(const int *)mnl_nlmsg_get_payload(nlh);
				return err ? err : intr ? -EINTR : 0;
			}
			if (!err && !intr && cb)
				err = cb(nlh, data);
		}
	}
}

static int gen_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nlattr *a;

	mnl_attr_for_each(a, nlh,
			  sizeof(struct nfgenmsg)) if (mnl_attr_get_type(a) == NFTA_GEN_ID &&
						       !mnl_attr_validate(a, MNL_TYPE_U32)) *
	    (uint32_t *)data = ntohl(mnl_attr_get_u32(a));
	return 0;
}

/* The ruleset generation: it moves with every committed transaction. */
static int genid(struct nl_reader *r, uint32_t *gen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh =
	    nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, ++r->seq);

	*gen = 0;
	return nl_talk(r, nlh, gen_cb, gen);
}

/* Read by @load into @ctx until one read saw a single ruleset generation:
 * @reset undoes a read that did not. Returns @load's result, or -EAGAIN. */
static int consistent(struct nl_reader *r, int (*load)(struct nl_reader *r, void *ctx),
		      void (*reset)(void *ctx), void *ctx)
{
	for (int i = 0; i < READ_TRIES; i++) {
		uint32_t before, after;
		int e, g;

		if ((e = genid(r, &before)))
			return e;
		e = load(r, ctx);
		if ((g = genid(r, &after)))
			e = e ? e : g;
		else if (e == -EINTR || before != after)
			e = -EAGAIN; /* changed under us: the errors may be its */
		if (e != -EAGAIN)
			return e;
		reset(ctx);
	}
	return -EAGAIN;
}

/* --- sets ---------------------------------------------------------------------------- */

static int set_cb(const struct nlmsghdr *nlh, void *data)
{
	return nftnl_set_elems_nlmsg_parse(nlh, data) < 0 ? (errno ? -errno : -EINVAL) : 0;
}

/* The elements of set @name of @family into a new *@out. */
static int dump_set(struct nl_reader *r, int family, const char *name, struct nftnl_set **out)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;
	int e;

	if (!s)
		return -ENOMEM;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, SP_NFT_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nlh =
	    nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, (uint16_t)family, NLM_F_DUMP, ++r->seq);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	if ((e = nl_talk(r, nlh, set_cb, s))) {
		nftnl_set_free(s);
		return e;
	}
	*out = s;
	return 0;
}

static void view(struct nftnl_set_elem *se, struct elem_view *v)
{
	const uint8_t *ud;
	uint32_t len = 0;

	memset(v, 0, sizeof(*v));
	v->key = nftnl_set_elem_get(se, NFTNL_SET_ELEM_KEY, &v->klen);
	if (nftnl_set_elem_is_set(se, NFTNL_SET_ELEM_KEY_END))
		v->key_end = nftnl_set_elem_get(se, NFTNL_SET_ELEM_KEY_END, &len);
	if (nftnl_set_elem_is_set(se, NFTNL_SET_ELEM_DATA))
		v->data = nftnl_set_elem_get(se, NFTNL_SET_ELEM_DATA, &v->dlen);
	if (nftnl_set_elem_is_set(se, NFTNL_SET_ELEM_VERDICT))
		v->verdict = (int)nftnl_set_elem_get_u32(se, NFTNL_SET_ELEM_VERDICT);
	if (nftnl_set_elem_is_set(se, NFTNL_SET_ELEM_CHAIN))
		v->chain = nftnl_set_elem_get_str(se, NFTNL_SET_ELEM_CHAIN);
	if (nftnl_set_elem_is_set(se, NFTNL_SET_ELEM_USERDATA)) {
		ud = nftnl_set_elem_get(se, NFTNL_SET_ELEM_USERDATA, &len);
		/* TLV: type, length, NUL-terminated text */
		if (len > 2 && ud[0] == NFTNL_UDATA_SET_ELEM_COMMENT)
			snprintf(v->comment, sizeof(v->comment), "%.*s", (int)(len - 2),
				 (const char *)ud + 2);
	}
}

static int set_id(const char *name)
{
	for (int i = 0; i < NS_COUNT; i++)
		if (!strcmp(sp_nft_sets[i].name, name))
			return i;
	return -1;
}

static int snap_each(const struct nft_src *src, int family, const char *name, elem_fn fn, void *ctx)
{
	const struct nft_nl_snap *s = src->snap;
	int f = family == NFPROTO_IPV6, id = set_id(name), e = 0;
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *se;

	if (!s->present[f])
		return 0;
	if (id < 0 || !s->sets[f][id])
		return -ENOENT; /* not in the snapshot: a caller's mistake */
	if (!(it = nftnl_set_elems_iter_create(s->sets[f][id])))
		return -ENOMEM;
	while (!e && (se = nftnl_set_elems_iter_next(it))) {
		struct elem_view v;

		view(se, &v);
		e = fn(ctx, &v);
	}
	nftnl_set_elems_iter_destroy(it);
	return e;
}

/* --- rules ------------------------------------------------------------------------- */

struct rules_ctx {
	struct nftnl_rule **v;
	size_t n, cap;
};

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rules_ctx *x = data;
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r)
		return -ENOMEM;
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		nftnl_rule_free(r);
		return -EINVAL;
	}
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 64;
		struct nftnl_rule **v = realloc(x->v, cap * sizeof(*v));

		if (!v) {
			nftnl_rule_free(r);
			return -ENOMEM;
		}
		x->v = v;
		x->cap = cap;
	}
	x->v[x->n++] = r;
	return 0;
}

static void rules_reset(void *ctx)
{
	struct rules_ctx *x = ctx;

	for (size_t i = 0; i < x->n; i++)
		nftnl_rule_free(x->v[i]);
	x->n = 0;
}

/* The rules of @chain (NULL: every chain) of @family's table into @x. */
static int dump_rules(struct nl_reader *r, int family, const char *chain, struct rules_ctx *x)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_rule *req = nftnl_rule_alloc();
	struct nlmsghdr *nlh;

	if (!req)
		return -ENOMEM;
	nftnl_rule_set_str(req, NFTNL_RULE_TABLE, SP_NFT_TABLE);
	if (chain)
		nftnl_rule_set_str(req, NFTNL_RULE_CHAIN, chain);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, (uint16_t)family, NLM_F_DUMP, ++r->seq);
	nftnl_rule_nlmsg_build_payload(nlh, req);
	nftnl_rule_free(req);
	return nl_talk(r, nlh, rule_cb, x);
}

struct one_chain {
	int family;
	const char *chain;
	struct rules_ctx rules;
};

static int load_chain(struct nl_reader *r, void *ctx)
{
	struct one_chain *c = ctx;

	return dump_rules(r, c->family, c->chain, &c->rules);
}

int nft_nl_each_rule(struct mnl_socket *nl, int family, const char *chain, nft_rule_fn fn,
		     void *ctx)
{
	struct nl_reader r = {nl, (uint32_t)time(NULL) << 8};
	struct one_chain c = {family, chain, {0}};
	int e = consistent(&r, load_chain, rules_reset, &c);

	for (size_t i = 0; !e && i < c.rules.n; i++)
		e = fn(ctx, c.rules.v[i]);
	rules_reset(&c.rules);
	free(c.rules.v);
	return e;
}

/* An affinity rule: "... dnat to <immediate address>:<immediate port>" with
 * the timeout in its comment. */
static int affinity_rule(struct nft_nl_snap *s, int f, struct nftnl_rule *r)
{
	const char *chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
	uint32_t alen = f ? 16 : 4, len;
	struct aff_rule a = {.ep = {.ready = true, .serving = true}};
	struct nftnl_expr_iter *it;
	struct nftnl_expr *e;
	bool have_addr = false;

	if (!chain || strncmp(chain, "affinity-", 9))
		return 0;
	if (nftnl_rule_is_set(r, NFTNL_RULE_USERDATA)) {
		const uint8_t *ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
		char note[128];

		if (len > 2 && ud[0] == NFTNL_UDATA_RULE_COMMENT) {
			snprintf(note, sizeof(note), "%.*s", (int)(len - 2), (const char *)ud + 2);
			a.have_timeout = sscanf(note, NFT_AFFINITY_NOTE, &a.timeout) == 1;
		}
	}
	if (!(it = nftnl_expr_iter_create(r)))
		return -ENOMEM;
	while ((e = nftnl_expr_iter_next(it))) {
		const uint8_t *d;
		struct nft_value v;

		if (strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "immediate") ||
		    !nftnl_expr_is_set(e, NFTNL_EXPR_IMM_DATA))
			continue;
		d = nftnl_expr_get(e, NFTNL_EXPR_IMM_DATA, &len);
		if (len == alen && !have_addr) {
			nft_field_decode(F_ADDR, f ? NFPROTO_IPV6 : NFPROTO_IPV4, d, NULL, &v);
			a.ep.addr = v.addr;
			have_addr = true;
		} else if (len == nft_field_bytes(F_PORT, 0) && have_addr) {
			nft_field_decode(F_PORT, 0, d, NULL, &v);
			a.ep.port = (uint16_t)v.num;
			a.have_ep = true;
		}
	}
	nftnl_expr_iter_destroy(it);
	if (s->naff[f] == s->capaff[f]) {
		size_t cap = s->capaff[f] ? s->capaff[f] * 2 : 16;
		struct aff_rule *v = realloc(s->aff[f], cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->aff[f] = v;
		s->capaff[f] = cap;
	}
	if (!(a.chain = strdup(chain)))
		return -ENOMEM;
	s->aff[f][s->naff[f]++] = a;
	return 0;
}

static int snap_affinity(const struct nft_src *src, int family, struct sp_hmap *aff)
{
	const struct nft_nl_snap *s = src->snap;
	int f = family == NFPROTO_IPV6, e = 0;

	for (size_t i = 0; !e && i < s->naff[f]; i++) {
		const struct aff_rule *a = &s->aff[f][i];

		e = nft_affinity_record(aff, a->chain, a->have_ep ? &a->ep : NULL,
					a->have_timeout ? &a->timeout : NULL);
	}
	return e;
}

/* --- the snapshot ---------------------------------------------------------------------- */

struct snap_req {
	struct nft_nl_snap *snap;
	int family; /* 0: both */
	const enum nft_set_id *sets;
	size_t n;
	bool rules;
	const struct sp_log *lg;
	char what[128]; /* the object a failure concerns */
};

static void snap_reset(void *ctx)
{
	struct nft_nl_snap *s = ((struct snap_req *)ctx)->snap;

	for (int f = 0; f < 2; f++) {
		for (int i = 0; i < NS_COUNT; i++)
			if (s->sets[f][i])
				nftnl_set_free(s->sets[f][i]);
		for (size_t i = 0; i < s->naff[f]; i++)
			free(s->aff[f][i].chain);
		free(s->aff[f]);
	}
	memset(s, 0, sizeof(*s));
}

static int load_family(struct nl_reader *r, struct snap_req *q, int f)
{
	int family = f ? NFPROTO_IPV6 : NFPROTO_IPV4, e;
	const char *fam = f ? "ip6" : "ip";

	snprintf(q->what, sizeof(q->what), "table %s %s", fam, SP_NFT_TABLE);
	e = nft_table_exists(r->nl, family, SP_NFT_TABLE);
	if (e <= 0)
		return e; /* 0: no table, an empty family (the only absence allowed) */
	q->snap->present[f] = true;
	for (size_t i = 0; i < q->n; i++) {
		snprintf(q->what, sizeof(q->what), "set %s of table %s %s",
			 sp_nft_sets[q->sets[i]].name, fam, SP_NFT_TABLE);
		if ((e = dump_set(r, family, sp_nft_sets[q->sets[i]].name,
				  &q->snap->sets[f][q->sets[i]])))
			return e;
	}
	if (q->rules) {
		struct rules_ctx x = {0};

		snprintf(q->what, sizeof(q->what), "rules of table %s %s", fam, SP_NFT_TABLE);
		e = dump_rules(r, family, NULL, &x);
		for (size_t i = 0; !e && i < x.n; i++)
			e = affinity_rule(q->snap, f, x.v[i]);
		rules_reset(&x);
		free(x.v);
	}
	return e;
}

static int snap_load(struct nl_reader *r, void *ctx)
{
	struct snap_req *q = ctx;
	int e = 0;

	for (int f = 0; f < 2 && !e; f++)
		if (!q->family || q->family == (f ? NFPROTO_IPV6 : NFPROTO_IPV4))
			e = load_family(r, q, f);
	return e;
}

int nft_nl_source_init(struct nft_src *src, struct mnl_socket *nl, int family,
		       const enum nft_set_id *sets, size_t n, bool rules, const struct sp_log *lg)
{
	struct nl_reader r = {nl, (uint32_t)time(NULL) << 8};
	struct snap_req q = {.family = family,
			     .sets = sets,
			     .n = n,
			     .rules = rules,
			     .lg = lg,
			     .what = "the ruleset generation"};
	int e;

	memset(src, 0, sizeof(*src));
	if (!(q.snap = calloc(1, sizeof(*q.snap))))
		return -ENOMEM;
	e = consistent(&r, snap_load, snap_reset, &q);
	if (e) {
		if (e == -EAGAIN)
			sp_log_err(lg, "nftables: the tables changed during each of %d reads",
				   READ_TRIES);
		else
			sp_log_err(lg, "nftables: reading %s: %s", q.what, strerror(-e));
		snap_reset(&q);
		free(q.snap);
		return e;
	}
	src->each = snap_each;
	src->affinity = snap_affinity;
	src->snap = q.snap;
	return 0;
}

void nft_nl_source_fini(struct nft_src *src)
{
	struct snap_req q = {.snap = src->snap};

	if (src->snap) {
		snap_reset(&q);
		free(src->snap);
	}
	src->snap = NULL;
}

bool nft_nl_source_present(const struct nft_src *src, int family)
{
	return src->snap && src->snap->present[family == NFPROTO_IPV6];
}

int sp_nft_read_ext(struct mnl_socket *nl, struct sp_model *out, const struct sp_log *lg,
		    sp_external_list_fn ext, void *ctx)
{
	struct nft_src src;
	int e = nft_nl_source_init(&src, nl, 0, nft_decode_sets, nft_decode_nsets, true, lg);

	if (e)
		return e;
	e = nft_read_source(&src, out, lg, ext, ctx);
	nft_nl_source_fini(&src);
	return e;
}
