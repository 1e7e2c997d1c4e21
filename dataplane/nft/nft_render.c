/* nft_render.c - service port → elements (see nft_render.h and nft_layout.h),
 * and the element lists built from them (order, hairpin entries). */
#include "nft_render.h"
#include "../../common/khash.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

int nft_family_of(const struct sp_svc_port *p)
{
	return p->family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
}

static const char *proto_lc(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_SCTP:
		return "sctp";
	default:
		return "tcp";
	}
}

static void port_base(const struct sp_svc_port *p, char *base, size_t sz)
{
	/* kube-proxy's chain-name base: "ns/name/proto/portname". */
	snprintf(base, sz, "%.*s/%s/%s/%s", (int)(strchr(p->service, '/') - p->service),
		 p->service, strchr(p->service, '/') + 1, proto_lc(p->protocol), p->port_name);
}

void nft_affinity_name(const struct sp_svc_port *p, bool local, char *buf, size_t sz)
{
	char base[256], h[16];

	port_base(p, base, sizeof(base));
	sp_kube_hash(base, 8, h);
	snprintf(buf, sz, "affinity-%s%s-%s", local ? "local-" : "", h, base);
	if (strlen(buf) > 250)
		buf[250] = '\0';	/* nftables names stop at 255 */
}

void nft_affinity_set_name(const struct nft_affinity *a, uint32_t i, char *buf, size_t sz)
{
	char ip[INET6_ADDRSTRLEN], name[400], hashed[420], h[16];

	inet_ntop(a->family == NFPROTO_IPV6 ? AF_INET6 : AF_INET, a->eps[i].addr, ip, sizeof(ip));
	for (char *c = ip; *c; c++)
		if (*c == ':')
			*c = '.';	/* as kube-proxy: no colons in names */
	snprintf(name, sizeof(name), "%s__%s/%u", a->base, ip, a->eps[i].port);
	snprintf(hashed, sizeof(hashed), "%s%s/%us", name, strncmp(a->name, "affinity-local-", 15) ? "" : "/local",
		 a->timeout);
	sp_kube_hash(hashed, 8, h);
	snprintf(buf, sz, "affinity-%s-%s", h, name);
	if (strlen(buf) > 250)
		buf[250] = '\0';
}

int nft_affinity_copy(struct nft_affinity *dst, const struct nft_affinity *src)
{
	*dst = *src;
	dst->eps = calloc(src->n + 1, sizeof(*dst->eps));
	if (!dst->eps)
		return -ENOMEM;
	memcpy(dst->eps, src->eps, src->n * sizeof(*dst->eps));
	return 0;
}

void nft_affinity_fini(struct nft_affinity *a)
{
	free(a->eps);
	a->eps = NULL;
	a->n = 0;
}

bool nft_affinity_equal(const struct nft_affinity *a, const struct nft_affinity *b)
{
	return a->timeout == b->timeout && a->n == b->n &&
	       !memcmp(a->eps, b->eps, a->n * sizeof(*a->eps));
}

/* Intern @s in the render's string pool; returns its offset + 1 (0 = none). */
static size_t intern(struct nft_render *r, const char *s)
{
	size_t n = strlen(s) + 1, off;

	if (r->slen + n > r->scap) {
		size_t cap = (r->scap + n) * 2;
		char *p = realloc(r->strings, cap);

		if (!p)
			return 0;
		r->strings = p;
		r->scap = cap;
	}
	off = r->slen;
	memcpy(r->strings + off, s, n);
	r->slen += n;
	return off + 1;
}

struct kb {	/* a key being built, field by field through the codec */
	uint8_t b[NFT_KEY_MAX];
	uint8_t n;
};

static void k_field(struct kb *k, enum nft_field f, int family, const struct nft_value *v)
{
	k->n = (uint8_t)(k->n + nft_field_encode(f, family, v, k->b + k->n, NULL));
}

static void k_addr(struct kb *k, const struct sp_addr *a)
{
	k_field(k, F_ADDR, a->family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4,
		&(struct nft_value){ .addr = *a });
}

static void k_proto(struct kb *k, uint8_t proto)
{
	k_field(k, F_PROTO, NFPROTO_IPV4, &(struct nft_value){ .num = proto });
}

static void k_port(struct kb *k, uint16_t port)
{
	k_field(k, F_PORT, NFPROTO_IPV4, &(struct nft_value){ .num = port });
}

static void k_slot(struct kb *k, uint32_t slot)
{
	k_field(k, F_SLOT, NFPROTO_IPV4, &(struct nft_value){ .num = slot });
}

/* Pending strings are stored as offsets during rendering (the pool may move);
 * fixed up into pointers at the end. */
static struct nft_elem *push(struct nft_render *r, enum nft_set_id set, const struct kb *k)
{
	struct nft_elem *e;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct nft_elem *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		r->v = v;
		r->cap = cap;
	}
	e = &r->v[r->n++];
	memset(e, 0, sizeof(*e));
	e->set = (uint8_t)set;
	e->klen = k->n;
	memcpy(e->key, k->b, k->n);
	return e;
}

static int add_key(struct nft_render *r, enum nft_set_id set, const struct kb *k)
{
	return push(r, set, k) ? 0 : -ENOMEM;
}

static int add_verdict(struct nft_render *r, enum nft_set_id set, const struct kb *k,
		       const char *chain, size_t comment)
{
	struct nft_elem *e;
	size_t c = chain ? intern(r, chain) : 0;

	if (chain && !c)
		return -ENOMEM;
	e = push(r, set, k);
	if (!e)
		return -ENOMEM;
	e->verdict = chain ? NFT_ELEM_GOTO : NFT_ELEM_DROP;
	e->vhash = 2166136261u;
	for (const char *p = chain ? chain : ""; *p; p++)
		e->vhash = (e->vhash ^ (uint8_t)*p) * 16777619u;
	e->chain = (const char *)(uintptr_t)c;
	e->comment = (const char *)(uintptr_t)comment;
	return 0;
}

static int add_endpoint(struct nft_render *r, enum nft_set_id set, const struct kb *k,
			const struct sp_endpoint *ep)
{
	struct nft_elem *e = push(r, set, k);
	const struct nft_value v[2] = { { .addr = ep->addr }, { .num = ep->port } };

	if (!e)
		return -ENOMEM;
	e->dlen = (uint8_t)nft_fields_encode(nft_endpoint_fields, r->family, v, e->data, NULL);
	return 0;
}

/* "reject" for a port with no endpoints anywhere, "drop" when only the Local
 * policy's list is empty (kube-proxy's verdicts). */
static int no_endpoints(struct nft_render *r, enum nft_set_id set, const struct kb *k,
			bool has_any, size_t comment)
{
	return add_verdict(r, set, k, has_any ? NULL : "reject-chain", comment);
}

struct list {
	const struct sp_endpoint **v;
	size_t n;
	bool local;
	struct nft_affinity *aff;	/* when the port has ClientIP affinity */
};

/* The dispatch target for @l reached through group @g, and its backend
 * elements under key @base (a VIP tuple or a NodePort tuple). */
static int dispatch(struct nft_render *r, enum nft_set_id map, enum nft_group g,
		    const struct kb *base, const struct list *l, size_t comment)
{
	static const enum nft_set_id backends[G_COUNT] = {
		[G_DNAT] = NS_BACKENDS, [G_NODEPORT] = NS_NP_BACKENDS,
		[G_SHORTCUT] = NS_SC_BACKENDS, [G_NODEPORT_SHORTCUT] = NS_NP_SC_BACKENDS,
	};
	char chain[64];
	int e;

	if (l->aff)	/* backends live under the list's id; see add_affinity */
		return add_verdict(r, map, base, l->aff->name, comment);
	nft_group_chain_name(g, (uint32_t)l->n, chain, sizeof(chain));
	if ((e = add_verdict(r, map, base, chain, comment)))
		return e;
	for (size_t i = 0; i < l->n; i++) {
		struct kb k = *base;

		k_slot(&k, (uint32_t)i);
		if ((e = add_endpoint(r, backends[g], &k, l->v[i])))
			return e;
	}
	return 0;
}

static int add_affinity(struct nft_render *r, const struct sp_svc_port *p, struct list *l)
{
	struct nft_affinity *a = &r->aff[r->naff++];

	nft_affinity_name(p, l->local, a->name, sizeof(a->name));
	port_base(p, a->base, sizeof(a->base));
	a->family = r->family;
	a->n = (uint32_t)l->n;
	a->timeout = p->affinity_timeout;
	a->proto = p->protocol;
	a->eps = calloc(l->n + 1, sizeof(*a->eps));
	if (!a->eps)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		memcpy(a->eps[i].addr, l->v[i]->addr.bytes, 16);
		a->eps[i].port = l->v[i]->port;
	}
	l->aff = a;
	return 0;
}

static int firewall(struct nft_render *r, const struct sp_svc_port *p, const struct kb *vip)
{
	int e;

	if ((e = add_key(r, NS_FIREWALL_IPS, vip)))
		return e;
	for (size_t i = 0; i < p->lb_source_ranges.n; i++) {
		const struct nft_value range = { .addr = p->lb_source_ranges.v[i] };
		uint8_t end[16];
		struct kb k = *vip;
		struct nft_elem *el;

		if (range.addr.family != p->family)
			continue;
		/* The key end repeats the key's exact fields and ends on the
		 * range's last address; it follows the key in the element. */
		k.n = (uint8_t)(k.n + nft_field_encode(F_RANGE, r->family, &range, k.b + k.n, end));
		el = push(r, NS_FIREWALL_ALLOW, &k);
		if (!el)
			return -ENOMEM;
		memcpy(el->key + k.n, vip->b, vip->n);
		memcpy(el->key + k.n + vip->n, end, k.n - vip->n);
	}
	return 0;
}

static void fix_strings(struct nft_render *r)
{
	for (size_t i = 0; i < r->n; i++) {
		uintptr_t c = (uintptr_t)r->v[i].chain, m = (uintptr_t)r->v[i].comment;

		r->v[i].chain = c ? r->strings + c - 1 : NULL;
		r->v[i].comment = m ? r->strings + m - 1 : NULL;
	}
}

static int render(const struct sp_svc_port *p, const struct sp_ep_sets *sets,
		  struct nft_render *r)
{
	struct list cluster = { sets->cluster, sets->n_cluster, false, NULL };
	struct list local = { sets->local, sets->n_local, true, NULL };
	const struct list *internal = p->itp == SP_POLICY_LOCAL ? &local : &cluster;
	const struct list *external = p->etp == SP_POLICY_LOCAL ? &local : &cluster;
	bool has_any = sets->has_any, ext_local = p->etp == SP_POLICY_LOCAL;
	bool has_int = has_any && internal->n, has_ext = has_any && external->n;
	char name[400];
	size_t comment, comment_ext, comment_lb;
	int e;

	/* Comments name the service port as kube-proxy does ("ns/name:port"), and
	 * the kind of address, so that a read-back can tell them apart. */
	snprintf(name, sizeof(name), "%s%s%s", p->service, *p->port_name ? ":" : "", p->port_name);
	comment = intern(r, name);
	strcat(name, " " NFT_COMMENT_EXTERNAL);
	comment_ext = intern(r, name);
	strcpy(name + strlen(name) - strlen(NFT_COMMENT_EXTERNAL), NFT_COMMENT_LB);
	comment_lb = intern(r, name);
	if (!comment || !comment_ext || !comment_lb)
		return -ENOMEM;
	if (p->affinity_client_ip) {
		if (cluster.n && (e = add_affinity(r, p, &cluster)))
			return e;
		/* A separate chain for the Local list only when it is used and
		 * differs from the Cluster one. */
		if (local.n && sp_svc_port_uses_local(p) && (e = add_affinity(r, p, &local)))
			return e;
	}
	if (p->itp == SP_POLICY_LOCAL && has_any && !local.n)
		r->no_local_internal = 1;
	if (sp_svc_port_external(p) && ext_local && has_any && !local.n)
		r->no_local_external = 1;

	for (size_t i = 0; i < p->cluster_ips.n; i++) {
		struct kb k = {0};

		k_addr(&k, &p->cluster_ips.v[i]);
		if ((e = add_key(r, NS_CLUSTER_IPS, &k)))
			return e;
		k_proto(&k, p->protocol);
		k_port(&k, p->port);
		e = has_int ? dispatch(r, NS_SERVICE_IPS, G_DNAT, &k, internal, comment)
			    : no_endpoints(r, NS_NO_EP_SERVICES, &k, has_any, comment);
		if (e)
			return e;
	}
	for (int lb = 0; lb < 2; lb++) {
		const struct sp_addr_list *vips = lb ? &p->lb_ips : &p->external_ips;
		size_t what = lb ? comment_lb : comment_ext;

		for (size_t i = 0; i < vips->n; i++) {
			struct kb k = {0};

			k_addr(&k, &vips->v[i]);
			k_proto(&k, p->protocol);
			k_port(&k, p->port);
			if ((e = add_key(r, ext_local ? NS_LOCAL_VIPS : NS_MASQ_VIPS, &k)))
				return e;
			e = has_ext ? dispatch(r, NS_SERVICE_IPS, G_DNAT, &k, external, what)
				    : no_endpoints(r, NS_NO_EP_SERVICES, &k, has_any, what);
			if (!e && ext_local && cluster.n)
				e = dispatch(r, NS_EXT_SHORTCUT, G_SHORTCUT, &k, &cluster, what);
			if (!e && lb && p->lb_source_ranges.n)
				e = firewall(r, p, &k);
			if (e)
				return e;
		}
	}
	if (p->node_port) {
		struct kb k = {0};

		k_proto(&k, p->protocol);
		k_port(&k, p->node_port);
		if ((e = add_key(r, ext_local ? NS_LOCAL_NODEPORTS : NS_MASQ_NODEPORTS, &k)))
			return e;
		e = has_ext ? dispatch(r, NS_SERVICE_NODEPORTS, G_NODEPORT, &k, external, comment)
			    : no_endpoints(r, NS_NO_EP_NODEPORTS, &k, has_any, comment);
		if (!e && ext_local && cluster.n)
			e = dispatch(r, NS_NP_SHORTCUT, G_NODEPORT_SHORTCUT, &k, &cluster, comment);
		if (e)
			return e;
	}
	/* Hairpin entries (endpoint . itself) are derived from the endpoints
	 * rendered here by nft_render_elems, and counted across ports. */
	return 0;
}

int nft_render_port(const struct sp_svc_port *p, struct nft_render *out)
{
	struct sp_ep_sets sets;
	int e;

	memset(out, 0, sizeof(*out));
	out->family = nft_family_of(p);
	if ((e = sp_svc_port_ep_sets(p, &sets)))
		return e;
	e = render(p, &sets, out);
	sp_ep_sets_fini(&sets);
	if (e) {
		nft_render_fini(out);
		return e;
	}
	/* Kept for the life of the port: give back the growth slack (the pool
	 * while its references are still offsets, then the elements). */
	if (out->slen && out->slen < out->scap) {
		char *p = realloc(out->strings, out->slen);

		if (p) {
			out->strings = p;
			out->scap = out->slen;
		}
	}
	fix_strings(out);
	if (out->n && out->n < out->cap) {
		struct nft_elem *v = realloc(out->v, out->n * sizeof(*v));

		if (v) {
			out->v = v;
			out->cap = out->n;
		}
	}
	return 0;
}

void nft_render_fini(struct nft_render *r)
{
	for (int i = 0; i < r->naff; i++)
		nft_affinity_fini(&r->aff[i]);
	free(r->v);
	free(r->strings);
	memset(r, 0, sizeof(*r));
}

bool nft_elem_is_backend(const struct nft_elem *e)
{
	return e->set == NS_BACKENDS || e->set == NS_NP_BACKENDS || e->set == NS_SC_BACKENDS ||
	       e->set == NS_NP_SC_BACKENDS;
}

uint8_t nft_affinity_ep_data(const struct nft_affinity *a, uint32_t i, uint8_t *d)
{
	uint8_t alen = a->family == NFPROTO_IPV6 ? 16 : 4;

	memset(d, 0, NFT_DATA_MAX);
	memcpy(d, a->eps[i].addr, alen);
	d[alen] = (uint8_t)(a->eps[i].port >> 8);
	d[alen + 1] = (uint8_t)a->eps[i].port;
	return alen + 4;
}

void nft_elem_describe(const struct nft_elem *e, int family, char *buf, size_t sz)
{
	const struct nft_set_def *d = &sp_nft_sets[e->set];
	const uint8_t *end = d->interval ? e->key + e->klen : NULL;
	struct nft_value v[5];
	size_t off = (size_t)snprintf(buf, sz, "set %s element ", d->name);

	if (off < sz && !nft_fields_decode(d->key, family, e->key, end, e->klen, v))
		off += (size_t)nft_fields_print(d->key, family, v, buf + off, sz - off);
	if (e->comment && off < sz)
		snprintf(buf + off, sz - off, " (%s)", e->comment);
}

int nft_elems_push(struct nft_elems *l, const struct nft_elem *e)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct nft_elem *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *e;
	return 0;
}

static int cmp_str(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) : (a != NULL) - (b != NULL);
}

int nft_elem_cmp(const struct nft_elem *a, const struct nft_elem *b)
{
	int c;

	if (a->set != b->set)
		return a->set < b->set ? -1 : 1;
	if (a->klen != b->klen)
		return a->klen < b->klen ? -1 : 1;
	if ((c = memcmp(a->key, b->key, a->klen * (sp_nft_sets[a->set].interval ? 2u : 1u))))
		return c;
	if (a->verdict != b->verdict)
		return a->verdict < b->verdict ? -1 : 1;
	if (a->vhash != b->vhash)
		return a->vhash < b->vhash ? -1 : 1;
	if (a->dlen != b->dlen)
		return a->dlen < b->dlen ? -1 : 1;
	if ((c = memcmp(a->data, b->data, a->dlen)))
		return c;
	if ((c = cmp_str(a->chain, b->chain)))
		return c;
	return cmp_str(a->comment, b->comment);
}

static int qcmp(const void *a, const void *b)
{
	return nft_elem_cmp(a, b);
}

void nft_elems_sort(struct nft_elems *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), qcmp);
}

static int hairpin(struct nft_elems *l, int family, const uint8_t *addr)
{
	uint8_t alen = family == NFPROTO_IPV6 ? 16 : 4;
	struct nft_elem e = { .set = NS_HAIRPIN, .klen = (uint8_t)(2 * alen) };

	memcpy(e.key, addr, alen);
	memcpy(e.key + alen, addr, alen);
	return nft_elems_push(l, &e);
}

int nft_render_elems(const struct nft_render *r, struct nft_elems *out)
{
	int e = 0;

	out->n = 0;
	for (size_t i = 0; r && i < r->n && !e; i++) {
		e = nft_elems_push(out, &r->v[i]);
		if (!e && nft_elem_is_backend(&r->v[i]))
			e = hairpin(out, r->family, r->v[i].data);
	}
	for (int a = 0; r && a < r->naff && !e; a++)
		for (uint32_t i = 0; i < r->aff[a].n && !e; i++)
			e = hairpin(out, r->family, r->aff[a].eps[i].addr);
	if (!e)
		nft_elems_sort(out);
	return e;
}
