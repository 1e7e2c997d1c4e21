/* nft_readback.c - tables → model, and model → its programmed projection. */
#include "nft_readback.h"
#include "nft_readsrc.h"
#include "nft_backend.h"
#include "nft_layout.h"
#include "nft_render.h"
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
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>

/* Dump the elements of set @name in @family; NULL when the set does not exist. */
static struct nftnl_set *dump_set(struct mnl_socket *nl, int family, const char *name)
{
	char buf[MNL_SOCKET_BUFFER_SIZE * 4];
	struct nftnl_set *s = nftnl_set_alloc();
	uint32_t seq = (uint32_t)time(NULL) ^ 0x5a5a;
	struct nlmsghdr *nlh;
	ssize_t n;
	int ret = MNL_CB_OK;

	if (!s)
		return NULL;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, SP_NFT_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, (uint16_t)family, NLM_F_DUMP | NLM_F_ACK,
				    seq);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		goto err;
	while (ret > MNL_CB_STOP && (n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		for (nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, (int)n);) {
			int left = (int)n;

			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

				if (err->error)
					goto err;	/* ENOENT: no such set (or table) */
				ret = MNL_CB_STOP;
				break;
			}
			if (nlh->nlmsg_type == NLMSG_DONE) {
				ret = MNL_CB_STOP;
				break;
			}
			nftnl_set_elems_nlmsg_parse(nlh, s);
			nlh = mnl_nlmsg_next(nlh, &left);
			n = left;
		}
	}
	return s;
err:
	nftnl_set_free(s);
	return NULL;
}

static void view(struct nftnl_set_elem *se, struct elem_view *v)
{
	const void *ud;
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
		if (len > 2 && ((const uint8_t *)ud)[0] == NFTNL_UDATA_SET_ELEM_COMMENT)
			snprintf(v->comment, sizeof(v->comment), "%.*s", (int)(len - 2),
				 (const char *)ud + 2);
	}
}

static void each_elem(struct nftnl_set *s, elem_fn fn, void *ctx)
{
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *se;

	if (!s || !(it = nftnl_set_elems_iter_create(s)))
		return;
	while ((se = nftnl_set_elems_iter_next(it))) {
		struct elem_view v;

		view(se, &v);
		fn(ctx, &v);
	}
	nftnl_set_elems_iter_destroy(it);
}

static void to_addr(int family, const uint8_t *b, struct sp_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = (uint8_t)(family == NFPROTO_IPV6 ? AF_INET6 : AF_INET);
	a->prefix_len = (uint8_t)sp_addr_bits(a->family);
	memcpy(a->bytes, b, family == NFPROTO_IPV6 ? 16 : 4);
}

static uint16_t port_at(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

struct rb {
	const struct nft_src *src;
	int family;
	uint32_t alen;
	struct sp_model *m;
	struct sp_hmap *backends;	/* hex key without the slot → struct ep_list */
	struct sp_hmap *np_backends;
	struct sp_hmap *local_vips;	/* hex keys of local-vips, local-nodeports */
	struct sp_hmap *aff;		/* affinity chain → struct aff_info */
	int pass;		/* service-ips: 0 ClusterIPs, 1 external addresses */
	sp_nft_external_fn external;	/* optional: each Local port's external list */
	void *external_ctx;
	int err;
};

/* The endpoints of one dispatch key, from a backends map. */
struct ep_list {
	struct sp_endpoint *v;
	size_t n;
};

/* "ns/name:port kind" → the model port, created on first sight. */
static struct sp_svc_port *port_for(struct rb *c, const char *comment, uint8_t proto, char *kind,
				    size_t ksz)
{
	char svc[300], pname[128] = "", key[512];
	const char *sp = strchr(comment, ' '), *colon;
	struct sp_svc_port *p;
	size_t n = sp ? (size_t)(sp - comment) : strlen(comment);

	snprintf(kind, ksz, "%s", sp ? sp + 1 : "");
	snprintf(svc, sizeof(svc), "%.*s", (int)n, comment);
	colon = strchr(svc, ':');
	if (colon) {
		snprintf(pname, sizeof(pname), "%s", colon + 1);
		svc[colon - svc] = '\0';
	}
	if (!strchr(svc, '/'))
		return NULL;
	snprintf(key, sizeof(key), "%s:%s/%s/%s", svc, pname, sp_proto_name(proto),
		 c->family == NFPROTO_IPV6 ? "IPv6" : "IPv4");
	p = sp_hmap_get(c->m->ports, key);
	if (p)
		return p;
	p = sp_svc_port_new(svc, pname, proto, c->family == NFPROTO_IPV6 ? AF_INET6 : AF_INET);
	if (!p || sp_model_add_port(c->m, p)) {
		c->err = -ENOMEM;
		return NULL;
	}
	return sp_hmap_get(c->m->ports, key);
}

static void add_unique(struct sp_addr_list *l, const struct sp_addr *a)
{
	for (size_t i = 0; i < l->n; i++)
		if (!sp_addr_cmp(&l->v[i], a))
			return;
	sp_addr_list_add(l, a);
}

static void hexkey(const uint8_t *b, uint32_t n, char *out)
{
	for (uint32_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* What an affinity chain's rules say: its timeout and endpoints. */
struct aff_info {
	unsigned timeout;
	struct sp_endpoint *eps;
	size_t n;
};

struct ep_find {
	const uint8_t *prefix;
	uint32_t plen;
	struct sp_svc_port *p;
	uint32_t alen;
	int family;
};

/* Append @v's endpoint (its data) to @l unless it is there. */
static int list_add(struct ep_list *l, int family, uint32_t alen, const uint8_t *data)
{
	struct sp_endpoint *eps, *ep;

	for (size_t i = 0; i < l->n; i++)
		if (!memcmp(l->v[i].addr.bytes, data, alen) && l->v[i].port == port_at(data + alen))
			return 0;
	if (!(eps = realloc(l->v, (l->n + 1) * sizeof(*eps))))
		return -ENOMEM;
	l->v = eps;
	ep = &eps[l->n++];
	memset(ep, 0, sizeof(*ep));
	to_addr(family, data, &ep->addr);
	ep->port = port_at(data + alen);
	ep->ready = ep->serving = true;
	return 0;
}

static void add_ep(void *ctx, const struct elem_view *v)
{
	struct ep_find *f = ctx;
	struct ep_list l = { f->p->eps, f->p->n_eps };

	if (v->klen != f->plen + 4 || memcmp(v->key, f->prefix, f->plen) || !v->data)
		return;
	if (!list_add(&l, f->family, f->alen, v->data)) {
		f->p->eps = l.v;
		f->p->n_eps = l.n;
	}
}

struct index_ctx {
	struct rb *c;
	struct sp_hmap *idx;
};

/* One backends element into the index under its key minus the slot. */
static void index_ep(void *ctx, const struct elem_view *v)
{
	struct index_ctx *x = ctx;
	struct ep_list *l;
	char hk[128];

	if (!v->data || v->klen < 4 || v->klen - 4 > 60)
		return;
	hexkey(v->key, v->klen - 4, hk);
	if (!(l = sp_hmap_get(x->idx, hk))) {
		if (!(l = calloc(1, sizeof(*l))) || sp_hmap_put(x->idx, hk, l, NULL)) {
			free(l);
			x->c->err = -ENOMEM;
			return;
		}
	}
	if (list_add(l, x->c->family, x->c->alen, v->data))
		x->c->err = -ENOMEM;
}

/* Map @name of @family as an index by dispatch key (empty when it is absent). */
static struct sp_hmap *index_backends(struct rb *c, const char *name)
{
	struct index_ctx x = { c, sp_hmap_new() };

	if (x.idx)
		c->src->each(c->src, c->family, name, index_ep, &x);
	return x.idx;
}

static void index_free(struct sp_hmap *idx)
{
	struct sp_hmap_iter it = {0};

	while (idx && sp_hmap_next(idx, &it)) {
		struct ep_list *l = it.value;

		free(l->v);
		free(l);
	}
	sp_hmap_free(idx);
}

/* The list a dispatch element leads to: its backends, or its affinity chain's. */
static const struct ep_list *list_of(struct rb *c, const struct elem_view *v, struct sp_hmap *backends,
				     const struct aff_info **aff)
{
	static const struct ep_list none;
	char hk[128];

	*aff = NULL;
	if (!v->chain)
		return &none;
	if (!strncmp(v->chain, "affinity-", 9)) {
		*aff = sp_hmap_get(c->aff, v->chain);
		return &none;
	}
	hexkey(v->key, v->klen, hk);
	return sp_hmap_get(backends, hk) ?: &none;
}

/* Endpoints behind a dispatch element into @p (the first address's list
 * stands for the port); with a callback, a Local external element's own list. */
static void endpoints_of(struct rb *c, struct sp_svc_port *p, const struct elem_view *v,
			 struct sp_hmap *backends, bool local_external)
{
	const struct aff_info *a;
	const struct ep_list *l = list_of(c, v, backends, &a);
	const struct sp_endpoint *eps = a ? a->eps : l->v;
	size_t n = a ? a->n : l->n;

	if (local_external && c->external)
		c->external(c->external_ctx, p, eps, n);
	if (p->n_eps || !v->chain)
		return;
	if (a) {
		p->affinity_client_ip = true;
		p->affinity_timeout = a->timeout;
	}
	if (!n)
		return;
	free(p->eps);
	if (!(p->eps = calloc(n + 1, sizeof(*p->eps))))
		return;
	memcpy(p->eps, eps, n * sizeof(*p->eps));
	p->n_eps = n;
}

static void on_service_ip(void *ctx, const struct elem_view *v)
{
	struct rb *c = ctx;
	char kind[64], hk[128];
	struct sp_svc_port *p;
	struct sp_addr a;

	if (v->klen != c->alen + 8 || !v->comment[0])
		return;
	/* ClusterIPs first: their endpoint list stands for the port. */
	if ((strstr(v->comment, " " NFT_COMMENT_EXTERNAL) || strstr(v->comment, " " NFT_COMMENT_LB)) !=
	    (c->pass == 1))
		return;
	p = port_for(c, v->comment, v->key[c->alen], kind, sizeof(kind));
	if (!p)
		return;
	to_addr(c->family, v->key, &a);
	p->port = port_at(v->key + c->alen + 4);
	hexkey(v->key, v->klen, hk);
	if (!strcmp(kind, NFT_COMMENT_EXTERNAL) || !strcmp(kind, NFT_COMMENT_LB)) {
		bool first = !p->external_ips.n && !p->lb_ips.n;

		add_unique(!strcmp(kind, NFT_COMMENT_LB) ? &p->lb_ips : &p->external_ips, &a);
		if (sp_hmap_get(c->local_vips, hk))
			p->etp = SP_POLICY_LOCAL;
		endpoints_of(c, p, v, c->backends, first && p->etp == SP_POLICY_LOCAL);
	} else {
		add_unique(&p->cluster_ips, &a);
		endpoints_of(c, p, v, c->backends, false);
	}
}

static void on_nodeport(void *ctx, const struct elem_view *v)
{
	struct rb *c = ctx;
	char kind[64], hk[32];
	struct sp_svc_port *p;

	if (v->klen != 8 || !v->comment[0])
		return;
	p = port_for(c, v->comment, v->key[0], kind, sizeof(kind));
	if (!p)
		return;
	p->node_port = port_at(v->key + 4);
	hexkey(v->key, v->klen, hk);
	if (sp_hmap_get(c->local_vips, hk))
		p->etp = SP_POLICY_LOCAL;
	/* (a port with external addresses reported its list from the first one) */
	endpoints_of(c, p, v, c->np_backends,
		     p->etp == SP_POLICY_LOCAL && !p->external_ips.n && !p->lb_ips.n);
}

static void on_local(void *ctx, const struct elem_view *v)
{
	struct rb *c = ctx;
	char hk[128];

	hexkey(v->key, v->klen, hk);
	sp_hmap_put(c->local_vips, hk, (void *)1, NULL);
}

/* LoadBalancerSourceRanges: firewall-allow elements are VIP . proto . port .
 * range-start with a range end. */
static void on_firewall(void *ctx, const struct elem_view *v)
{
	struct rb *c = ctx;
	struct sp_hmap_iter it = {0};

	if (!v->key_end || v->klen != 2 * c->alen + 8)
		return;
	while (sp_hmap_next(c->m->ports, &it)) {
		struct sp_svc_port *p = it.value;
		struct sp_addr vip, lo, hi;
		int plen = 0;

		to_addr(c->family, v->key, &vip);
		if (p->family != (c->family == NFPROTO_IPV6 ? AF_INET6 : AF_INET) ||
		    p->port != port_at(v->key + c->alen + 4) || p->protocol != v->key[c->alen])
			continue;
		for (size_t i = 0; i < p->lb_ips.n; i++) {
			if (sp_addr_cmp(&p->lb_ips.v[i], &vip))
				continue;
			to_addr(c->family, v->key + c->alen + 8, &lo);
			to_addr(c->family, v->key_end + c->alen + 8, &hi);
			while (plen < sp_addr_bits(lo.family) &&
			       ((lo.bytes[plen / 8] ^ hi.bytes[plen / 8]) & (0x80 >> (plen % 8))) == 0)
				plen++;
			lo.prefix_len = (uint8_t)plen;
			add_unique(&p->lb_source_ranges, &lo);
		}
	}
}

static void on_no_endpoints(void *ctx, const struct elem_view *v)
{
	on_service_ip(ctx, v);	/* same key and comment; no endpoints behind it */
}

static void on_no_endpoint_nodeport(void *ctx, const struct elem_view *v)
{
	on_nodeport(ctx, v);
}

struct rule_ctx {
	struct sp_hmap *aff;
	int family;
};

void nft_affinity_record(struct sp_hmap *aff, const char *chain, const struct sp_endpoint *ep,
			 const unsigned *timeout)
{
	struct aff_info *a = sp_hmap_get(aff, chain);
	struct sp_endpoint *v;

	if (!a) {
		a = calloc(1, sizeof(*a));
		if (!a || sp_hmap_put(aff, chain, a, NULL)) {
			free(a);
			return;
		}
	}
	if (timeout)
		a->timeout = *timeout;
	if (!ep)
		return;
	for (size_t i = 0; i < a->n; i++)
		if (!sp_addr_cmp(&a->eps[i].addr, &ep->addr) && a->eps[i].port == ep->port)
			return;
	if (!(v = realloc(a->eps, (a->n + 1) * sizeof(*v))))
		return;
	a->eps = v;
	a->eps[a->n++] = *ep;
}

/* An affinity rule: "... dnat to <immediate address>:<immediate port>" with the
 * timeout in its comment. */
static void affinity_rule_seen(struct rule_ctx *rc, struct nftnl_rule *r, const char *chain)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr *e;
	struct sp_endpoint ep = { .ready = true, .serving = true };
	uint32_t alen = rc->family == NFPROTO_IPV6 ? 16 : 4, len;
	bool have_addr = false, have_port = false, have_timeout = false;
	unsigned timeout = 0;

	if (nftnl_rule_is_set(r, NFTNL_RULE_USERDATA)) {
		const uint8_t *ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
		char note[128];

		if (len > 2 && ud[0] == NFTNL_UDATA_RULE_COMMENT) {
			snprintf(note, sizeof(note), "%.*s", (int)(len - 2), (const char *)ud + 2);
			have_timeout = sscanf(note, NFT_AFFINITY_NOTE, &timeout) == 1;
		}
	}
	while (it && (e = nftnl_expr_iter_next(it))) {
		const void *d;

		if (strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "immediate") ||
		    !nftnl_expr_is_set(e, NFTNL_EXPR_IMM_DATA))
			continue;
		d = nftnl_expr_get(e, NFTNL_EXPR_IMM_DATA, &len);
		if (len == alen && !have_addr) {
			to_addr(rc->family, d, &ep.addr);
			have_addr = true;
		} else if (len == 2 && have_addr) {
			ep.port = port_at(d);
			have_port = true;
		}
	}
	if (it)
		nftnl_expr_iter_destroy(it);
	nft_affinity_record(rc->aff, chain, have_port ? &ep : NULL, have_timeout ? &timeout : NULL);
}

static int cb_rule(const struct nlmsghdr *nlh, void *data)
{
	struct rule_ctx *rc = data;
	struct nftnl_rule *r = nftnl_rule_alloc();
	const char *chain;

	if (r && nftnl_rule_nlmsg_parse(nlh, r) == 0 &&
	    (chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN)) && !strncmp(chain, "affinity-", 9))
		affinity_rule_seen(rc, r, chain);
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

static void dump_affinity(struct mnl_socket *nl, int family, struct sp_hmap *aff)
{
	char buf[MNL_SOCKET_BUFFER_SIZE * 4];
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct rule_ctx rc = { aff, family };
	uint32_t seq = (uint32_t)time(NULL) ^ 0xa5a5;
	struct nlmsghdr *nlh;
	ssize_t n;

	if (!r)
		return;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, SP_NFT_TABLE);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, (uint16_t)family, NLM_F_DUMP, seq);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return;
	while ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0)
		if (mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), cb_rule, &rc) <=
		    MNL_CB_STOP)
			break;
}

static int read_family(const struct nft_src *src, int family, struct sp_model *out,
		       sp_nft_external_fn ext, void *ext_ctx)
{
	struct rb c = { .src = src, .family = family, .alen = family == NFPROTO_IPV6 ? 16 : 4, .m = out,
			.external = ext, .external_ctx = ext_ctx };
	struct sp_hmap_iter it = {0};

	c.local_vips = sp_hmap_new();
	c.aff = sp_hmap_new();
	if (!c.local_vips || !c.aff) {
		c.err = -ENOMEM;
		goto out;
	}
	src->affinity(src, family, c.aff);
	c.backends = index_backends(&c, "backends");
	c.np_backends = index_backends(&c, "nodeport-backends");
	if (!c.backends || !c.np_backends)
		c.err = -ENOMEM;
	src->each(src, family, "local-vips", on_local, &c);
	src->each(src, family, "local-nodeports", on_local, &c);
	for (c.pass = 0; c.pass < 2; c.pass++) {
		src->each(src, family, "service-ips", on_service_ip, &c);
		src->each(src, family, "no-endpoint-services", on_no_endpoints, &c);
	}
	src->each(src, family, "service-nodeports", on_nodeport, &c);
	src->each(src, family, "no-endpoint-nodeports", on_no_endpoint_nodeport, &c);
	src->each(src, family, "firewall-allow", on_firewall, &c);
out:
	index_free(c.backends);
	index_free(c.np_backends);
	while (c.aff && sp_hmap_next(c.aff, &it)) {
		struct aff_info *a = it.value;

		free(a->eps);
		free(a);
	}
	sp_hmap_free(c.aff);
	sp_hmap_free(c.local_vips);
	return c.err;
}

int sp_nft_read(struct mnl_socket *nl, struct sp_model *out, const struct sp_log *lg)
{
	return sp_nft_read_ext(nl, out, lg, NULL, NULL);
}

/* The live tables, over netlink. */
static void nl_each(const struct nft_src *src, int family, const char *name, elem_fn fn, void *ctx)
{
	struct nftnl_set *s = dump_set(src->nl, family, name);

	if (s) {
		each_elem(s, fn, ctx);
		nftnl_set_free(s);
	}
}

static void nl_affinity(const struct nft_src *src, int family, struct sp_hmap *aff)
{
	dump_affinity(src->nl, family, aff);
}

int sp_nft_read_ext(struct mnl_socket *nl, struct sp_model *out, const struct sp_log *lg,
		    sp_nft_external_fn ext, void *ctx)
{
	const struct nft_src src = { .each = nl_each, .affinity = nl_affinity, .nl = nl };

	return nft_read_source(&src, out, lg, ext, ctx);
}

int nft_read_source(const struct nft_src *src, struct sp_model *out, const struct sp_log *lg,
		    sp_nft_external_fn ext, void *ctx)
{
	int e = read_family(src, NFPROTO_IPV4, out, ext, ctx);

	if (!e)
		e = read_family(src, NFPROTO_IPV6, out, ext, ctx);
	if (e)
		sp_log_err(lg, "nftables: reading the tables back: %s", strerror(-e));
	/* Endpoint order as the model keeps it. */
	{
		struct sp_hmap_iter it = {0};

		while (!e && sp_hmap_next(out->ports, &it))
			sp_svc_port_sort_eps(it.value);
	}
	return e;
}

static int copy_addrs(struct sp_addr_list *dst, const struct sp_addr_list *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (sp_addr_list_add(dst, &src->v[i]))
			return -ENOMEM;
	return 0;
}

int sp_nft_project(const struct sp_model *in, struct sp_model *out)
{
	struct sp_hmap_iter it = {0};

	while (sp_hmap_next(in->ports, &it)) {
		const struct sp_svc_port *p = it.value;
		struct sp_svc_port *q = sp_svc_port_new(p->service, p->port_name, p->protocol, p->family);
		struct sp_ep_sets sets;
		const struct sp_endpoint **list;
		size_t n;
		bool ext_local = p->etp == SP_POLICY_LOCAL && sp_svc_port_external(p);

		if (!q || sp_svc_port_ep_sets(p, &sets)) {
			sp_svc_port_free(q);
			return -ENOMEM;
		}
		q->port = p->port;
		q->node_port = p->node_port;
		q->etp = ext_local ? SP_POLICY_LOCAL : SP_POLICY_CLUSTER;
		if (copy_addrs(&q->cluster_ips, &p->cluster_ips) ||
		    copy_addrs(&q->external_ips, &p->external_ips) ||
		    copy_addrs(&q->lb_ips, &p->lb_ips) ||
		    (p->lb_ips.n && copy_addrs(&q->lb_source_ranges, &p->lb_source_ranges))) {
			sp_ep_sets_fini(&sets);
			sp_svc_port_free(q);
			return -ENOMEM;
		}
		/* The list the first programmed dispatch element leads to. */
		if (p->cluster_ips.n && sets.has_any &&
		    (p->itp == SP_POLICY_LOCAL ? sets.n_local : sets.n_cluster)) {
			list = p->itp == SP_POLICY_LOCAL ? sets.local : sets.cluster;
			n = p->itp == SP_POLICY_LOCAL ? sets.n_local : sets.n_cluster;
		} else {
			list = ext_local ? sets.local : sets.cluster;
			n = ext_local ? sets.n_local : sets.n_cluster;
			if (!sp_svc_port_external(p) || !sets.has_any)
				n = 0;
		}
		if (n) {
			q->affinity_client_ip = p->affinity_client_ip;
			q->affinity_timeout = p->affinity_timeout;
		}
		q->eps = calloc(n + 1, sizeof(*q->eps));
		for (size_t i = 0; q->eps && i < n; i++) {
			q->eps[i].addr = list[i]->addr;
			q->eps[i].port = list[i]->port;
			q->eps[i].ready = q->eps[i].serving = true;
			q->n_eps++;
		}
		sp_ep_sets_fini(&sets);
		if (!q->eps || sp_model_add_port(out, q))
			return -ENOMEM;
	}
	return 0;
}


struct masq_ctx {
	int family;
	struct sp_addr *keep;
	int max, n;
	bool masq;
};

/* services: "ip daddr @cluster-ips [ip saddr != P/len ...] jump mark-for-masquerade":
 * lookup of cluster-ips, then (mask, value) pairs compared not-equal. */
static void masq_rule(struct masq_ctx *c, struct nftnl_rule *r)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr *e;
	const uint8_t *mask = NULL;
	bool cluster = false;
	uint32_t len;

	while (it && (e = nftnl_expr_iter_next(it))) {
		const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

		if (!strcmp(name, "lookup") && !strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET), "cluster-ips")) {
			cluster = true;
		} else if (cluster && !strcmp(name, "bitwise")) {
			mask = nftnl_expr_get(e, NFTNL_EXPR_BITWISE_MASK, &len);
		} else if (cluster && !strcmp(name, "cmp") &&
			   nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP) == NFT_CMP_NEQ && c->n < c->max) {
			/* nft itself loads only the prefix's bytes, and leaves the
			 * mask out when the prefix ends on a byte boundary. */
			const uint8_t *v = nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len);
			uint32_t alen = c->family == NFPROTO_IPV6 ? 16 : 4;
			uint8_t bytes[16] = {0};
			struct sp_addr *a = &c->keep[c->n++];
			int plen = 0;

			memcpy(bytes, v, len < alen ? len : alen);
			to_addr(c->family, bytes, a);
			for (uint32_t i = 0; i < len && i < alen; i++)
				for (int b = 7; b >= 0; b--)
					plen += mask ? (mask[i] >> b) & 1 : 1;
			a->prefix_len = (uint8_t)plen;
			mask = NULL;
		} else if (cluster && !strcmp(name, "immediate") &&
			   nftnl_expr_is_set(e, NFTNL_EXPR_IMM_CHAIN) &&
			   !strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN), "mark-for-masquerade")) {
			c->masq = true;
		}
	}
	nftnl_expr_iter_destroy(it);
}

static int cb_masq(const struct nlmsghdr *nlh, void *data)
{
	struct masq_ctx *c = data;
	struct nftnl_rule *r = nftnl_rule_alloc();
	const char *chain;

	if (r && nftnl_rule_nlmsg_parse(nlh, r) == 0 && (chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN)) &&
	    !strcmp(chain, "services") && !c->masq)
		masq_rule(c, r);
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

int sp_nft_read_masq(struct mnl_socket *nl, int family, struct sp_addr *keep, int max, bool *masq)
{
	char buf[MNL_SOCKET_BUFFER_SIZE * 4];
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct masq_ctx c = { family, keep, max, 0, false };
	uint32_t seq = (uint32_t)time(NULL) ^ 0x3c3c;
	struct nlmsghdr *nlh;
	ssize_t n;

	if (!r)
		return -ENOMEM;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, SP_NFT_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "services");
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, (uint16_t)family, NLM_F_DUMP, seq);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	while ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0)
		if (mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), cb_masq, &c) <= MNL_CB_STOP)
			break;
	*masq = c.masq;
	return c.n;
}

struct dispatch_find {
	uint8_t key[24];
	uint32_t klen;
	char chain[256];
};

static void on_dispatch(void *ctx, const struct elem_view *v)
{
	struct dispatch_find *d = ctx;

	if (v->klen == d->klen && !memcmp(v->key, d->key, d->klen) && v->chain)
		snprintf(d->chain, sizeof(d->chain), "%s", v->chain);
}

int sp_nft_read_dispatch(struct mnl_socket *nl, int family, const struct sp_addr *vip,
			 uint8_t proto, uint16_t port, struct sp_svc_port *p)
{
	int nfam = family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
	uint32_t alen = family == AF_INET6 ? 16 : 4, off = 0;
	struct dispatch_find d = {0};
	struct nftnl_set *s;
	struct ep_find f;

	if (vip) {
		memcpy(d.key, vip->bytes, alen);
		off = alen;
	}
	d.key[off] = proto;
	d.key[off + 4] = (uint8_t)(port >> 8);
	d.key[off + 5] = (uint8_t)port;
	d.klen = off + 8;
	s = dump_set(nl, nfam, vip ? "service-ips" : "service-nodeports");
	if (!s)
		return -ENOENT;
	each_elem(s, on_dispatch, &d);
	nftnl_set_free(s);
	for (size_t i = 0; i < p->n_eps; i++)
		sp_endpoint_fini(&p->eps[i]);
	p->n_eps = 0;
	if (!d.chain[0])
		return 0;
	if (!strncmp(d.chain, "affinity-", 9)) {
		struct sp_hmap *aff = sp_hmap_new();
		struct sp_hmap_iter it = {0};
		const struct aff_info *a;

		if (!aff)
			return -ENOMEM;
		dump_affinity(nl, nfam, aff);
		a = sp_hmap_get(aff, d.chain);
		if (a && (p->eps = realloc(p->eps, (a->n + 1) * sizeof(*p->eps)))) {
			memcpy(p->eps, a->eps, a->n * sizeof(*p->eps));
			p->n_eps = a->n;
		}
		while (sp_hmap_next(aff, &it)) {
			free(((struct aff_info *)it.value)->eps);
			free(it.value);
		}
		sp_hmap_free(aff);
		return (int)p->n_eps;
	}
	s = dump_set(nl, nfam, vip ? "backends" : "nodeport-backends");
	if (!s)
		return -ENOENT;
	f = (struct ep_find){ d.key, d.klen, p, alen, nfam };
	each_elem(s, add_ep, &f);
	nftnl_set_free(s);
	sp_svc_port_sort_eps(p);
	return (int)p->n_eps;
}
