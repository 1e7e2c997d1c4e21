/* bpf_maps.c - model → eBPF maps. Order of writes per service port: its
 * endpoints, then the slots of a new revision, then the service entries that
 * switch to that revision, then the old revision's slots and endpoints go: a
 * program never reads a half-written list. */
#include "bpf_maps.h"
#include "bpf_addrs.h"
#include "bpf_maglev.h"
#include "bpf_sweep.h"
#include "../../bpf/maps.h"
#include "../../common/hmap.h"
#include "../../common/id_pool.h"
#include "../../common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <bpf/bpf.h>

struct ep_rec {
	uint32_t id;
	uint32_t refs; /* list occurrences that use it */
};

struct sp_bpf_writer {
	const struct sp_bpf_kernel *k;
	const struct sp_log *log;
	struct sp_hmap *eps;	    /* "addr|port" → struct ep_rec */
	struct sp_hmap *sets;	    /* slot set id → SET(rev, n) */
	struct sp_hmap *anyport;    /* ClusterIP "addr" → (uintptr_t) ports using it */
	struct sp_bpf_addrs *addrs; /* sp_addrs: the addresses of every entry */
	struct sp_hmap *port_ids;   /* port key → (uintptr_t) its id in the maps */
	struct sp_hmap *seen_match; /* full sync: affinity matches written (hex) */
	struct sp_hmap *maglev;	    /* slot set id → 1: a Maglev table is in sp_maglev */
	struct sp_hmap *told;	    /* port key → 1: its "left out" line was logged */
	uint32_t maglev_size;	    /* 0: no Maglev tables (--bpf-lb-algorithm random) */
	uint32_t next_ep_id, next_port_id;
	struct sp_id_pool ep_pool, port_pool;
	size_t left_out;
};

#define SET(rev, n) ((void *)(uintptr_t)((1ull << 40) | ((uint64_t)(rev) << 20) | (n)))
#define SET_REV(v) ((uint16_t)(((uintptr_t)(v) >> 20) & 0xffff))
#define SET_N(v) ((uint32_t)((uintptr_t)(v)&0xfffff))

/* One endpoint list of a port, as a slot set. */
struct plist {
	bool used;
	uint32_t set_id;
	const struct sp_endpoint **eps;
	uint32_t n;
	uint16_t count; /* what the service entry says: n, or 0 to refuse */
	uint32_t gen;	/* list_gen of eps */
	bool maglev;	/* a Maglev table was written for it */
};

/* A hash of @n endpoints (address, port), in order (FNV-1a): the service
 * entry's gen, by which a socket keeps its endpoint while the list stays. */
static uint32_t list_gen(const struct sp_endpoint *const *eps, uint32_t n)
{
	uint32_t h = 2166136261u;

	for (uint32_t i = 0; i < n; i++) {
		uint8_t b[19];

		memcpy(b, eps[i]->addr.bytes, 16);
		b[16] = (uint8_t)(eps[i]->port >> 8);
		b[17] = (uint8_t)eps[i]->port;
		b[18] = eps[i]->addr.family == AF_INET6 ? 6 : 4;
		for (size_t j = 0; j < sizeof(b); j++)
			h = (h ^ b[j]) * 16777619u;
	}
	return h;
}

static void set_name(uint32_t id, char *buf, size_t sz)
{
	snprintf(buf, sz, "%u", id);
}

static void ep_name(const struct sp_endpoint *ep, char *buf, size_t sz)
{
	char a[SP_ADDRSTRLEN];

	snprintf(buf, sz, "%s|%u", sp_addr_str(&ep->addr, a), ep->port);
}

static uint8_t fam_byte(int family)
{
	return family == AF_INET6 ? 6 : 4;
}

static void copy_addr(uint8_t out[16], const struct sp_addr *a)
{
	memset(out, 0, 16);
	memcpy(out, a->bytes, a->family == AF_INET6 ? 16 : 4);
}

static int fd_of(const struct sp_bpf_writer *w, enum sp_bpf_map m)
{
	return w->k->map_fd[m];
}

/* --- endpoint ids ------------------------------------------------------------ */

static uint32_t take_ep_id(struct sp_bpf_writer *w)
{
	uint32_t id;

	return sp_id_pool_take(&w->ep_pool, &id) ? id : w->next_ep_id++;
}

static void give_ep_id(struct sp_bpf_writer *w, uint32_t id)
{
	sp_id_pool_put(&w->ep_pool, id);
}

/* --- port ids ----------------------------------------------------------------- */

/* The maps' id of port @p: the writer's own, by port key, adopted from the
 * port info a restarted agent finds, so that a restart renumbers nothing
 * (the model's ids come out in another order every run). 0: no memory. */
static uint32_t port_id(struct sp_bpf_writer *w, const struct sp_svc_port *p)
{
	uintptr_t id = (uintptr_t)sp_hmap_get(w->port_ids, p->key);
	uint32_t fresh;

	if (id)
		return (uint32_t)id;
	if (!sp_id_pool_take(&w->port_pool, &fresh))
		fresh = w->next_port_id++;
	if (sp_hmap_put(w->port_ids, p->key, (void *)(uintptr_t)fresh, NULL)) {
		sp_id_pool_put(&w->port_pool, fresh);
		return 0;
	}
	return fresh;
}

static void port_id_release(struct sp_bpf_writer *w, const struct sp_svc_port *p)
{
	uintptr_t id = (uintptr_t)sp_hmap_del(w->port_ids, p->key);

	if (id)
		sp_id_pool_put(&w->port_pool, (uint32_t)id);
}

/* The id of @ep, written to the endpoints map on first use; one reference. */
static int ep_ref(struct sp_bpf_writer *w, const struct sp_endpoint *ep, uint32_t *id)
{
	char name[SP_ADDRSTRLEN + 8];
	struct ep_rec *r;

	ep_name(ep, name, sizeof(name));
	r = sp_hmap_get(w->eps, name);
	if (!r || r->refs == 0) {
		struct sp_ep_val v = {.port_be = htons(ep->port),
				      .family = fam_byte(ep->addr.family),
				      .flags = ep->local ? SP_EP_LOCAL : 0};

		if (!r) {
			if (!(r = calloc(1, sizeof(*r))))
				return -ENOMEM;
			r->id = take_ep_id(w);
			if (sp_hmap_put(w->eps, name, r, NULL)) {
				give_ep_id(w, r->id);
				free(r);
				return -ENOMEM;
			}
		}
		copy_addr(v.addr, &ep->addr);
		if (bpf_map_update_elem(fd_of(w, SPM_ENDPOINTS), &r->id, &v, BPF_ANY))
			return -errno;
	}
	r->refs++;
	*id = r->id;
	return 0;
}

static void ep_unref(struct sp_bpf_writer *w, const struct sp_endpoint *ep)
{
	char name[SP_ADDRSTRLEN + 8];
	struct ep_rec *r;

	ep_name(ep, name, sizeof(name));
	r = sp_hmap_get(w->eps, name);
	if (!r || !r->refs || --r->refs)
		return;
	bpf_map_delete_elem(fd_of(w, SPM_ENDPOINTS), &r->id);
	give_ep_id(w, r->id);
	free(sp_hmap_del(w->eps, name));
}

static uint32_t ep_id_of(const struct sp_bpf_writer *w, const struct sp_endpoint *ep)
{
	char name[SP_ADDRSTRLEN + 8];
	const struct ep_rec *r;

	ep_name(ep, name, sizeof(name));
	r = sp_hmap_get(w->eps, name);
	return r ? r->id : 0;
}

/* --- a port's lists and keys --------------------------------------------------- */

/* @p's lists: ClusterIP traffic follows internalTrafficPolicy; NodePorts,
 * external and LB IPs dialled from this node go to every endpoint (as
 * kube-proxy short-circuits the node's own traffic), else the local ones;
 * from outside the node with externalTrafficPolicy Local, the local ones. */
static int port_lists(struct sp_bpf_writer *w, const struct sp_svc_port *p, struct sp_ep_sets *sets,
		      struct plist l[SP_LISTS])
{
	uint32_t id = port_id(w, p);
	bool itp_local = p->itp == SP_POLICY_LOCAL;
	int e;

	memset(l, 0, SP_LISTS * sizeof(*l));
	memset(sets, 0, sizeof(*sets));
	if (!id)
		return -ENOMEM;
	if ((e = sp_svc_port_ep_sets(p, sets)))
		return e;
	l[SP_LIST_INTERNAL] = (struct plist){
	    .used = p->cluster_ips.n > 0,
	    .set_id = id * SP_LIST_STRIDE + SP_LIST_INTERNAL,
	    .eps = itp_local ? sets->local : sets->cluster,
	    .n = (uint32_t)(itp_local ? sets->n_local : sets->n_cluster),
	};
	l[SP_LIST_EXTERNAL] = (struct plist){
	    .used = sp_svc_port_external(p),
	    .set_id = id * SP_LIST_STRIDE + SP_LIST_EXTERNAL,
	    .eps = sets->n_cluster ? sets->cluster : sets->local,
	    .n = (uint32_t)(sets->n_cluster ? sets->n_cluster : sets->n_local),
	};
	l[SP_LIST_OUTSIDE_LOCAL] = (struct plist){
	    .used = sp_svc_port_external(p) && p->etp == SP_POLICY_LOCAL,
	    .set_id = id * SP_LIST_STRIDE + SP_LIST_OUTSIDE_LOCAL,
	    .eps = sets->local,
	    .n = (uint32_t)sets->n_local,
	};
	for (int i = 0; i < SP_LISTS; i++) {
		l[i].count = sets->has_any ? (uint16_t)l[i].n : 0;
		l[i].gen = list_gen(l[i].eps, l[i].n);
	}
	return 0;
}

typedef int (*key_fn)(struct sp_bpf_writer *w, const struct sp_svc_key *k, enum sp_svc_list list,
		      uint16_t kind, void *ctx);

/* Call @fn for each service entry of @p. */
static int each_key(struct sp_bpf_writer *w, const struct sp_svc_port *p, key_fn fn, void *ctx)
{
	struct sp_svc_key k = {.port_be = htons(p->port),
			       .proto = p->protocol,
			       .family = fam_byte(p->family),
			       .scope = SP_SCOPE_VIP};
	const struct {
		const struct sp_addr_list *l;
		enum sp_svc_list list;
		uint16_t kind;
	} vips[] = {
	    {&p->cluster_ips, SP_LIST_INTERNAL, SP_SVC_CLUSTER_IP},
	    {&p->external_ips, SP_LIST_EXTERNAL, SP_SVC_EXTERNAL_IP},
	    {&p->lb_ips, SP_LIST_EXTERNAL, SP_SVC_LB_IP},
	};
	int e;

	bool etp_local = p->etp == SP_POLICY_LOCAL;

	for (size_t v = 0; v < 3; v++) {
		for (size_t i = 0; i < vips[v].l->n; i++) {
			k.scope = SP_SCOPE_VIP;
			copy_addr(k.addr, &vips[v].l->v[i]);
			if ((e = fn(w, &k, vips[v].list, vips[v].kind, ctx)))
				return e;
			if (!etp_local || vips[v].list != SP_LIST_EXTERNAL)
				continue;
			k.scope = SP_SCOPE_VIP_LOCAL;
			if ((e = fn(w, &k, SP_LIST_OUTSIDE_LOCAL, vips[v].kind, ctx)))
				return e;
		}
	}
	if (p->node_port) {
		memset(k.addr, 0, sizeof(k.addr));
		k.port_be = htons(p->node_port);
		k.scope = SP_SCOPE_NODEPORT;
		if ((e = fn(w, &k, SP_LIST_EXTERNAL, SP_SVC_NODEPORT, ctx)))
			return e;
		k.scope = SP_SCOPE_NODEPORT_LOCAL;
		if (etp_local && (e = fn(w, &k, SP_LIST_OUTSIDE_LOCAL, SP_SVC_NODEPORT, ctx)))
			return e;
	}
	return 0;
}

/* --- writing ------------------------------------------------------------------ */

struct write_ctx {
	const struct sp_svc_port *p;
	struct plist *l;
	uint16_t rev[SP_LISTS];
	struct sp_hmap *seen; /* full sync: every key written (hex) */
};

static void key_hex(const void *k, size_t len, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *b = k;

	for (size_t i = 0; i < len; i++) {
		buf[2 * i] = hex[b[i] >> 4];
		buf[2 * i + 1] = hex[b[i] & 15];
	}
	buf[2 * len] = '\0';
}

/* What a service entry tells the programs beyond its list. */
static uint16_t svc_flags(const struct sp_svc_port *p, const struct sp_svc_key *k,
			  const struct plist *l, uint16_t kind)
{
	uint16_t f = kind;

	if (p->affinity_client_ip)
		f |= SP_SVC_AFFINITY;
	if (p->protocol == IPPROTO_UDP)
		f |= SP_SVC_UDP_MOVE;
	if (p->etp == SP_POLICY_LOCAL && kind != SP_SVC_CLUSTER_IP &&
	    (k->scope == SP_SCOPE_VIP || k->scope == SP_SCOPE_NODEPORT))
		f |= SP_SVC_ETP_LOCAL;
	if ((k->scope == SP_SCOPE_VIP_LOCAL || k->scope == SP_SCOPE_NODEPORT_LOCAL) && !l->n &&
	    p->has_any)
		f |= SP_SVC_DROP_EMPTY;
	if (kind == SP_SVC_LB_IP && p->lb_source_ranges.n)
		f |= SP_SVC_SRC_RANGES;
	if (l->maglev)
		f |= SP_SVC_MAGLEV;
	return f;
}

static int put_key(struct sp_bpf_writer *w, const struct sp_svc_key *k, enum sp_svc_list list,
		   uint16_t kind, void *arg)
{
	struct write_ctx *c = arg;
	struct sp_svc_val v = {
	    .id = c->l[list].set_id,
	    .rev = c->rev[list],
	    .count = c->l[list].count,
	    .flags = svc_flags(c->p, k, &c->l[list], kind),
	    .affinity_timeout = c->p->affinity_timeout,
	    .gen = c->l[list].gen,
	};
	char hex[2 * sizeof(*k) + 1];

	if (bpf_map_update_elem(fd_of(w, SPM_SERVICES), k, &v, BPF_ANY))
		return -errno;
	if (c->seen) {
		key_hex(k, sizeof(*k), hex);
		if (sp_hmap_put(c->seen, hex, (void *)1, NULL))
			return -ENOMEM;
	}
	return 0;
}

/* The ClusterIP's any-port entry (refuse the ports it does not serve), one
 * per address however many ports use it. */
static int anyport_ref(struct sp_bpf_writer *w, const struct sp_addr *a, int delta,
		       struct sp_hmap *seen)
{
	struct sp_svc_key k = {.family = fam_byte(a->family), .scope = SP_SCOPE_ANY_PORT};
	struct sp_svc_val v = {0};
	char name[SP_ADDRSTRLEN], hex[2 * sizeof(k) + 1];
	uintptr_t refs;

	sp_addr_str(a, name);
	refs = (uintptr_t)sp_hmap_get(w->anyport, name);
	copy_addr(k.addr, a);
	if (delta > 0) {
		if (!refs && bpf_map_update_elem(fd_of(w, SPM_SERVICES), &k, &v, BPF_ANY))
			return -errno;
		if (seen) {
			key_hex(&k, sizeof(k), hex);
			if (sp_hmap_put(seen, hex, (void *)1, NULL))
				return -ENOMEM;
		}
		return sp_hmap_put(w->anyport, name, (void *)(refs + 1), NULL);
	}
	if (refs > 1)
		return sp_hmap_put(w->anyport, name, (void *)(refs - 1), NULL);
	sp_hmap_del(w->anyport, name);
	if (refs)
		bpf_map_delete_elem(fd_of(w, SPM_SERVICES), &k);
	return 0;
}

/* Every service address of @p counts one more (+1) or one fewer (-1) entry
 * in sp_addrs. */
static int addrs_ref(struct sp_bpf_writer *w, const struct sp_svc_port *p, int delta)
{
	const struct sp_addr_list *lists[] = {&p->cluster_ips, &p->external_ips, &p->lb_ips};
	int e = 0;

	for (size_t l = 0; l < 3; l++)
		for (size_t i = 0; i < lists[l]->n; i++)
			if ((e = sp_bpf_addrs_service(w->addrs, &lists[l]->v[i], delta)) && delta > 0)
				return e;
	return 0;
}

/* --- loadBalancerSourceRanges --------------------------------------------------- */

static void range_key(const struct sp_addr *cidr, uint32_t port_id, struct sp_src_range_key *k)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = 32 + cidr->prefix_len;
	k->svc_id = port_id;
	copy_addr(k->addr, cidr);
}

static int seen_put(struct sp_hmap *seen, char tag, const void *k, size_t len)
{
	char hex[2 * 64 + 2];

	if (!seen)
		return 0;
	hex[0] = tag;
	key_hex(k, len, hex + 1);
	return sp_hmap_put(seen, hex, (void *)1, NULL);
}

/* @p's source ranges under its port id (a full sync: noted in @seen). */
static int write_src_ranges(struct sp_bpf_writer *w, const struct sp_svc_port *p, uint32_t port_id,
			    struct sp_hmap *seen)
{
	uint8_t one = 1;

	for (size_t i = 0; i < p->lb_source_ranges.n; i++) {
		struct sp_src_range_key k;

		if (p->lb_source_ranges.v[i].family != p->family)
			continue;
		range_key(&p->lb_source_ranges.v[i], port_id, &k);
		if (bpf_map_update_elem(fd_of(w, SPM_SRC_RANGES), &k, &one, BPF_ANY))
			return -errno;
		if (seen_put(seen, 'r', &k, sizeof(k)))
			return -ENOMEM;
	}
	return 0;
}

static void del_src_ranges(struct sp_bpf_writer *w, const struct sp_svc_port *p, uint32_t port_id)
{
	for (size_t i = 0; i < p->lb_source_ranges.n; i++) {
		struct sp_src_range_key k;

		range_key(&p->lb_source_ranges.v[i], port_id, &k);
		bpf_map_delete_elem(fd_of(w, SPM_SRC_RANGES), &k);
	}
}

/* Ports whose lists are in sp_aff_match: affinity checks membership, and a
 * UDP flow from outside moves when its endpoint leaves. */
static bool writes_matches(const struct sp_svc_port *p)
{
	return p->affinity_client_ip || p->protocol == IPPROTO_UDP;
}

static void del_slots(struct sp_bpf_writer *w, uint32_t set_id, uint16_t rev, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct sp_slot_key sk = {.svc_id = set_id, .rev = rev, .slot = (uint16_t)i};

		bpf_map_delete_elem(fd_of(w, SPM_SLOTS), &sk);
	}
}

static void del_matches(struct sp_bpf_writer *w, uint32_t set_id, const struct plist *l,
			const struct plist *keep)
{
	for (uint32_t i = 0; i < l->n; i++) {
		struct sp_aff_match_key mk = {.svc_id = set_id, .ep_id = ep_id_of(w, l->eps[i])};
		bool kept = false;

		for (uint32_t j = 0; keep && j < keep->n && !kept; j++)
			kept = keep->eps[j] == l->eps[i] ||
			       (keep->eps[j]->port == l->eps[i]->port &&
				!sp_addr_cmp(&keep->eps[j]->addr, &l->eps[i]->addr));
		if (!kept)
			bpf_map_delete_elem(fd_of(w, SPM_AFF_MATCH), &mk);
	}
}

/* Slots of a new revision of list @l (endpoints referenced). On error what
 * was written is taken back. */
static int write_slots(struct sp_bpf_writer *w, const struct sp_svc_port *p, const struct plist *l,
		       uint16_t rev)
{
	uint32_t i;
	int e = 0;

	for (i = 0; i < l->n && !e; i++) {
		struct sp_slot_key sk = {.svc_id = l->set_id, .rev = rev, .slot = (uint16_t)i};
		struct sp_slot_val sv;

		if ((e = ep_ref(w, l->eps[i], &sv.ep_id)))
			break;
		if (bpf_map_update_elem(fd_of(w, SPM_SLOTS), &sk, &sv, BPF_ANY))
			e = -errno;
		else if (writes_matches(p)) {
			struct sp_aff_match_key mk = {.svc_id = l->set_id, .ep_id = sv.ep_id};
			uint8_t one = 1;

			char hex[2 * sizeof(mk) + 1];

			if (bpf_map_update_elem(fd_of(w, SPM_AFF_MATCH), &mk, &one, BPF_ANY))
				e = -errno;
			else if (w->seen_match) {
				key_hex(&mk, sizeof(mk), hex);
				if (sp_hmap_put(w->seen_match, hex, (void *)1, NULL))
					e = -ENOMEM;
			}
		}
		if (e)
			ep_unref(w, l->eps[i]);
	}
	if (e) {
		del_slots(w, l->set_id, rev, i);
		while (i-- > 0)
			ep_unref(w, l->eps[i]);
	}
	return e;
}

static int write_info(struct sp_bpf_writer *w, const struct sp_svc_port *p, uint32_t id)
{
	struct sp_port_info info = {
	    .port = p->port,
	    .node_port = p->node_port,
	    .proto = p->protocol,
	    .family = fam_byte(p->family),
	    .flags = (p->etp == SP_POLICY_LOCAL ? SP_PORT_ETP_LOCAL : 0) |
		     (p->itp == SP_POLICY_LOCAL ? SP_PORT_ITP_LOCAL : 0) |
		     (p->affinity_client_ip ? SP_PORT_AFFINITY : 0),
	    .affinity_timeout = p->affinity_timeout,
	};

	snprintf(info.service, sizeof(info.service), "%s", p->service);
	snprintf(info.port_name, sizeof(info.port_name), "%s", p->port_name);
	return bpf_map_update_elem(fd_of(w, SPM_PORT_INFO), &id, &info, BPF_ANY) ? -errno : 0;
}

static void log_full(struct sp_bpf_writer *w, const struct sp_svc_port *p, int e)
{
	w->left_out++;
	/* One line per port while it stays left out (every sync retries it). */
	if (sp_hmap_get(w->told, p->key) || sp_hmap_put(w->told, p->key, (void *)1, NULL))
		return;
	if (e == -E2BIG || e == -ENOSPC)
		sp_log_err(w->log,
			   "bpf: service port %s left out: a map is full (--bpf-lb-map-max "
			   "%u sizes them; raise it)",
			   p->key, w->k->map_max[SPM_SERVICES]);
	else
		sp_log_err(w->log, "bpf: service port %s: %s", p->key, strerror(-e));
}

/* --- Maglev tables --------------------------------------------------------------- */

static void maglev_forget(struct sp_bpf_writer *w, uint32_t set_id)
{
	char name[16];

	set_name(set_id, name, sizeof(name));
	if (sp_hmap_del(w->maglev, name))
		sp_bpf_maglev_delete(w->k, set_id);
}

/* The table of list @l (external lists, with --bpf-lb-algorithm maglev),
 * written before the entries switch to the list; a list it cannot be built
 * for is balanced at random (one line says why). */
static int maglev_write(struct sp_bpf_writer *w, const struct sp_svc_port *p, struct plist *l,
			int list)
{
	char name[16];
	uint32_t *ids;
	int e;

	l->maglev = false;
	if (!w->maglev_size || !l->used || !l->n || list == SP_LIST_INTERNAL) {
		maglev_forget(w, l->set_id);
		return 0;
	}
	if (!(ids = malloc(l->n * sizeof(*ids))))
		return -ENOMEM;
	for (uint32_t i = 0; i < l->n; i++)
		ids[i] = ep_id_of(w, l->eps[i]);
	e = sp_bpf_maglev_write(w->k, l->set_id, l->eps, ids, l->n, w->maglev_size);
	free(ids);
	if (e == -EINVAL || e == -E2BIG || e == -ENOSPC) {
		sp_log_warn(w->log,
			    "bpf: service port %s: no Maglev table (%u endpoints need a "
			    "--bpf-lb-maglev-table-size of at least %u, or a map is full): "
			    "balanced at random",
			    p->key, l->n, 100 * l->n);
		maglev_forget(w, l->set_id);
		return 0;
	}
	if (e)
		return e;
	set_name(l->set_id, name, sizeof(name));
	l->maglev = true;
	return sp_hmap_put(w->maglev, name, (void *)1, NULL);
}

void sp_bpf_writer_set_maglev(struct sp_bpf_writer *w, uint32_t table_size)
{
	w->maglev_size = table_size;
}

/* Write @p: slots of new revisions, then its entries switch to them. On
 * error nothing of @p's new version is in force. @prev gets the revisions
 * that were in force (to remove after). */
static int write_port(struct sp_bpf_writer *w, const struct sp_svc_port *p,
		      struct plist l[SP_LISTS], uint32_t prev[SP_LISTS][2], struct sp_hmap *seen)
{
	struct write_ctx c = {.p = p, .l = l, .seen = seen};
	char name[16];
	int e = 0, i;

	for (i = 0; i < SP_LISTS && !e; i++) {
		void *cur;

		set_name(l[i].set_id, name, sizeof(name));
		cur = sp_hmap_get(w->sets, name);
		prev[i][0] = cur ? SET_REV(cur) : 0;
		prev[i][1] = cur ? SET_N(cur) : 0;
		if (!l[i].used)
			continue;
		c.rev[i] = (uint16_t)(prev[i][0] % 65535 + 1);
		e = write_slots(w, p, &l[i], c.rev[i]);
	}
	if (e) {
		/* Nothing points at the new slots yet: take them back. */
		while (--i > 0) {
			if (!l[i - 1].used)
				continue;
			del_slots(w, l[i - 1].set_id, c.rev[i - 1], l[i - 1].n);
			for (uint32_t j = 0; j < l[i - 1].n; j++)
				ep_unref(w, l[i - 1].eps[j]);
		}
		return e;
	}
	for (i = 0; i < SP_LISTS; i++) {
		set_name(l[i].set_id, name, sizeof(name));
		if (l[i].used && sp_hmap_put(w->sets, name, SET(c.rev[i], l[i].n), NULL))
			return -ENOMEM;
	}
	for (i = 0; i < SP_LISTS && !e; i++)
		e = maglev_write(w, p, &l[i], i);
	if (e)
		return e;
	/* Entries switch to the new slots one by one (each switch whole). A
	 * failure here leaves the old revision's slots in place until the next
	 * full sync sweeps them. */
	if ((e = write_info(w, p, l[0].set_id / SP_LIST_STRIDE)) ||
	    (e = write_src_ranges(w, p, l[0].set_id / SP_LIST_STRIDE, seen)) ||
	    (e = addrs_ref(w, p, +1)) || /* (the address before its entries) */
	    (e = each_key(w, p, put_key, &c)))
		return e;
	for (size_t k = 0; !e && k < p->cluster_ips.n; k++)
		e = anyport_ref(w, &p->cluster_ips.v[k], +1, seen);
	if (!e)
		sp_hmap_del(w->told, p->key); /* (in force: a later overflow is news) */
	return e;
}

static int del_key(struct sp_bpf_writer *w, const struct sp_svc_key *k, enum sp_svc_list list,
		   uint16_t kind, void *arg)
{
	const struct sp_svc_port *keep = arg;

	(void)list;
	(void)kind;
	if (keep) {
		/* Still one of the new version's entries? Then it was rewritten. */
		struct sp_svc_key kk;
		bool found = false;
		struct sp_addr_list const *lists[] = {&keep->cluster_ips, &keep->external_ips,
						      &keep->lb_ips};

		if (k->scope == SP_SCOPE_NODEPORT)
			found = keep->node_port && htons(keep->node_port) == k->port_be &&
				keep->protocol == k->proto;
		for (size_t l = 0; !found && l < 3; l++)
			for (size_t i = 0; !found && i < lists[l]->n; i++) {
				memset(&kk, 0, sizeof(kk));
				copy_addr(kk.addr, &lists[l]->v[i]);
				found = k->scope == SP_SCOPE_VIP && !memcmp(kk.addr, k->addr, 16) &&
					htons(keep->port) == k->port_be &&
					keep->protocol == k->proto;
			}
		if (found)
			return 0;
	}
	bpf_map_delete_elem(fd_of(w, SPM_SERVICES), k);
	return 0;
}

/* What @old had and @new (may be NULL) no longer has goes. */
static void remove_old(struct sp_bpf_writer *w, const struct sp_svc_port *old,
		       const struct sp_svc_port *new, struct plist ol[SP_LISTS],
		       struct plist nl[SP_LISTS], uint32_t prev[SP_LISTS][2])
{
	char name[16];

	each_key(w, old, del_key, (void *)new);
	for (size_t k = 0; k < old->cluster_ips.n; k++)
		anyport_ref(w, &old->cluster_ips.v[k], -1, NULL);
	addrs_ref(w, old, -1);
	for (int i = 0; i < SP_LISTS; i++) {
		if (prev[i][1] || prev[i][0])
			del_slots(w, ol[i].set_id, (uint16_t)prev[i][0], prev[i][1]);
		if (writes_matches(old) && ol[i].used)
			del_matches(w, ol[i].set_id, &ol[i],
				    new && writes_matches(new) && nl && nl[i].used ? &nl[i] : NULL);
		if (ol[i].used)
			for (uint32_t j = 0; j < ol[i].n; j++)
				ep_unref(w, ol[i].eps[j]);
		if (!new || !nl || !nl[i].used) {
			set_name(ol[i].set_id, name, sizeof(name));
			sp_hmap_del(w->sets, name);
			maglev_forget(w, ol[i].set_id);
		}
	}
	if (!new || !new->lb_source_ranges.n)
		del_src_ranges(w, old, ol[0].set_id / SP_LIST_STRIDE);
	if (!new) {
		uint32_t id = ol[0].set_id / SP_LIST_STRIDE;

		bpf_map_delete_elem(fd_of(w, SPM_PORT_INFO), &id);
		port_id_release(w, old);
		sp_hmap_del(w->told, old->key);
	}
}

int sp_bpf_write_change(struct sp_bpf_writer *w, const struct sp_svc_port *old,
			const struct sp_svc_port *new)
{
	struct sp_ep_sets os = {0}, ns = {0};
	struct plist ol[SP_LISTS], nl[SP_LISTS];
	uint32_t prev[SP_LISTS][2] = {{0}};
	char name[16];
	int e = 0;

	if ((old && (e = port_lists(w, old, &os, ol))) ||
	    (new && (e = port_lists(w, new, &ns, nl))))
		goto out;
	if (new && (e = write_port(w, new, nl, prev, NULL))) {
		if (e != -ENOMEM) {
			log_full(w, new, e); /* left out; the others go on */
			e = 0;
		}
		goto out;
	}
	if (old) {
		if (!new) { /* the revisions in force are the old port's */
			for (int i = 0; i < SP_LISTS; i++) {
				void *cur;

				set_name(ol[i].set_id, name, sizeof(name));
				cur = sp_hmap_get(w->sets, name);
				prev[i][0] = cur ? SET_REV(cur) : 0;
				prev[i][1] = cur ? SET_N(cur) : 0;
			}
		}
		remove_old(w, old, new, ol, new ? nl : NULL, prev);
	}
out:
	sp_ep_sets_fini(&os);
	sp_ep_sets_fini(&ns);
	return e;
}

/* --- full sync ----------------------------------------------------------------- */

static bool keep_seen(const void *k, void *seen)
{
	char hex[2 * sizeof(struct sp_svc_key) + 1];

	key_hex(k, sizeof(struct sp_svc_key), hex);
	return sp_hmap_get(seen, hex) != NULL;
}

static bool keep_slot(const void *k, void *writer)
{
	const struct sp_bpf_writer *w = writer;
	const struct sp_slot_key *sk = k;
	char name[16];
	void *cur;

	set_name(sk->svc_id, name, sizeof(name));
	cur = sp_hmap_get(w->sets, name);
	return cur && SET_REV(cur) == sk->rev && sk->slot < SET_N(cur);
}

static bool keep_ep(const void *k, void *live)
{
	char name[16];

	set_name(*(const uint32_t *)k, name, sizeof(name));
	return sp_hmap_get(live, name) != NULL;
}

static bool keep_info(const void *k, void *writer)
{
	const struct sp_bpf_writer *w = writer;
	char name[16];

	for (uint32_t l = 0; l < SP_LISTS; l++) {
		set_name(*(const uint32_t *)k * SP_LIST_STRIDE + l, name, sizeof(name));
		if (sp_hmap_get(w->sets, name))
			return true;
	}
	return false;
}

static bool keep_range(const void *k, void *ctx)
{
	char hex[2 * sizeof(struct sp_src_range_key) + 2];

	hex[0] = 'r';
	key_hex(k, sizeof(struct sp_src_range_key), hex + 1);
	return sp_hmap_get(ctx, hex) != NULL;
}

static bool keep_maglev(const void *k, void *writer)
{
	const struct sp_bpf_writer *w = writer;
	char name[16];

	set_name(*(const uint32_t *)k, name, sizeof(name));
	return sp_hmap_get(w->maglev, name) != NULL;
}

static bool keep_match(const void *k, void *ctx)
{
	char hex[2 * sizeof(struct sp_aff_match_key) + 1];

	key_hex(k, sizeof(struct sp_aff_match_key), hex);
	return sp_hmap_get(ctx, hex) != NULL;
}

int sp_bpf_write_full(struct sp_bpf_writer *w, const struct sp_model *m,
		      const struct sp_addr *node_addrs, size_t n_node_addrs)
{
	struct sp_hmap *seen = sp_hmap_new(), *live = sp_hmap_new(), *written = sp_hmap_new();
	struct sp_hmap_iter it = {0};
	int e = 0, first = 0;

	w->seen_match = sp_hmap_new();
	if (!seen || !live || !written || !w->seen_match) {
		e = -ENOMEM;
		goto out;
	}
	w->left_out = 0;
	/* References are counted again from nothing; ids and revisions stay. */
	while (sp_hmap_next(w->eps, &it))
		((struct ep_rec *)it.value)->refs = 0;
	memset(&it, 0, sizeof(it));
	while (sp_hmap_next(w->anyport, &it))
		sp_hmap_del(w->anyport, it.key);
	sp_bpf_addrs_begin_full(w->addrs);
	memset(&it, 0, sizeof(it));
	while (sp_hmap_next(m->ports, &it)) {
		const struct sp_svc_port *p = it.value;
		struct sp_ep_sets s;
		struct plist l[SP_LISTS];
		uint32_t prev[SP_LISTS][2];
		char name[16];

		if ((e = port_lists(w, p, &s, l)))
			break;
		e = write_port(w, p, l, prev, seen);
		if (e == -ENOMEM) {
			sp_ep_sets_fini(&s);
			break;
		}
		if (e) {
			log_full(w, p, e);
			first = first ? first : e;
			e = 0;
		}
		for (int i = 0; i < SP_LISTS && !e; i++) {
			set_name(l[i].set_id, name, sizeof(name));
			if (l[i].used)
				e = sp_hmap_put(written, name, (void *)1, NULL);
		}
		sp_ep_sets_fini(&s);
	}
	if (e)
		goto out;
	/* Ports gone give their ids back; slot sets of ports gone are
	 * forgotten; then everything not written now leaves the maps. */
	memset(&it, 0, sizeof(it));
	while (sp_hmap_next(w->port_ids, &it))
		if (!sp_hmap_get(m->ports, it.key)) {
			sp_id_pool_put(&w->port_pool, (uint32_t)(uintptr_t)it.value);
			sp_hmap_del(w->port_ids, it.key);
		}
	memset(&it, 0, sizeof(it));
	while (sp_hmap_next(w->sets, &it))
		if (!sp_hmap_get(written, it.key))
			sp_hmap_del(w->sets, it.key);
	memset(&it, 0, sizeof(it));
	while (sp_hmap_next(w->maglev, &it))
		if (!sp_hmap_get(written, it.key))
			sp_hmap_del(w->maglev, it.key);
	memset(&it, 0, sizeof(it));
	while (sp_hmap_next(w->eps, &it)) {
		struct ep_rec *r = it.value;
		char name[16];

		if (r->refs) {
			set_name(r->id, name, sizeof(name));
			if ((e = sp_hmap_put(live, name, (void *)1, NULL)))
				goto out;
		} else {
			give_ep_id(w, r->id);
			free(sp_hmap_del(w->eps, it.key));
		}
	}
	if ((e = sp_bpf_sweep(fd_of(w, SPM_SERVICES), sizeof(struct sp_svc_key), keep_seen, seen)) ||
	    (e = sp_bpf_sweep(fd_of(w, SPM_SLOTS), sizeof(struct sp_slot_key), keep_slot, w)) ||
	    (e = sp_bpf_sweep(fd_of(w, SPM_ENDPOINTS), sizeof(uint32_t), keep_ep, live)) ||
	    (e = sp_bpf_sweep(fd_of(w, SPM_AFF_MATCH), sizeof(struct sp_aff_match_key), keep_match,
			      w->seen_match)) ||
	    (e = sp_bpf_sweep(fd_of(w, SPM_PORT_INFO), sizeof(uint32_t), keep_info, w)) ||
	    (e = sp_bpf_sweep(fd_of(w, SPM_SRC_RANGES), sizeof(struct sp_src_range_key), keep_range,
			      seen)) ||
	    (e = sp_bpf_sweep(fd_of(w, SPM_MAGLEV), sizeof(uint32_t), keep_maglev, w)))
		goto out;
	e = sp_bpf_addrs_end_full(w->addrs, node_addrs, n_node_addrs);
out:
	sp_hmap_free(seen);
	sp_hmap_free(live);
	sp_hmap_free(written);
	sp_hmap_free(w->seen_match);
	w->seen_match = NULL;
	return e ? e : first;
}

size_t sp_bpf_writer_left_out(const struct sp_bpf_writer *w)
{
	return w->left_out;
}

void sp_bpf_write_begin(struct sp_bpf_writer *w)
{
	w->left_out = 0;
}

/* --- adoption ------------------------------------------------------------------ */

/* Endpoint ids and slot revisions already in the maps (a restarted agent). */
static int adopt(struct sp_bpf_writer *w)
{
	uint32_t id, cur, *prev = NULL;
	struct sp_svc_key sk, scur, *sprev = NULL;

	while (!bpf_map_get_next_key(fd_of(w, SPM_ENDPOINTS), prev, &id)) {
		struct sp_ep_val v;
		struct sp_endpoint ep = {0};
		struct ep_rec *r;
		char name[SP_ADDRSTRLEN + 8];

		cur = id;
		prev = &cur;
		if (bpf_map_lookup_elem(fd_of(w, SPM_ENDPOINTS), &id, &v))
			continue;
		ep.addr.family = v.family == 6 ? AF_INET6 : AF_INET;
		ep.addr.prefix_len = v.family == 6 ? 128 : 32;
		memcpy(ep.addr.bytes, v.addr, v.family == 6 ? 16 : 4);
		ep.port = ntohs(v.port_be);
		ep_name(&ep, name, sizeof(name));
		if (!(r = calloc(1, sizeof(*r))))
			return -ENOMEM;
		r->id = id;
		if (sp_hmap_put(w->eps, name, r, NULL)) {
			free(r);
			return -ENOMEM;
		}
		if (id >= w->next_ep_id)
			w->next_ep_id = id + 1;
	}
	/* Port ids by key, from the port info: a restart renumbers nothing. */
	prev = NULL;
	while (!bpf_map_get_next_key(fd_of(w, SPM_PORT_INFO), prev, &id)) {
		struct sp_port_info info;
		char key[256];

		cur = id;
		prev = &cur;
		if (bpf_map_lookup_elem(fd_of(w, SPM_PORT_INFO), &id, &info))
			continue;
		info.service[sizeof(info.service) - 1] = '\0';
		info.port_name[sizeof(info.port_name) - 1] = '\0';
		snprintf(key, sizeof(key), "%s:%s/%s/%s", info.service, info.port_name,
			 sp_proto_name(info.proto),
			 sp_family_name(info.family == 6 ? AF_INET6 : AF_INET));
		if (sp_hmap_put(w->port_ids, key, (void *)(uintptr_t)id, NULL))
			return -ENOMEM;
		if (id >= w->next_port_id)
			w->next_port_id = id + 1;
	}
	while (!bpf_map_get_next_key(fd_of(w, SPM_SERVICES), sprev, &sk)) {
		struct sp_svc_val v;
		char name[16];

		scur = sk;
		sprev = &scur;
		if (sk.scope == SP_SCOPE_ANY_PORT ||
		    bpf_map_lookup_elem(fd_of(w, SPM_SERVICES), &sk, &v))
			continue;
		set_name(v.id, name, sizeof(name));
		if (sp_hmap_put(w->sets, name, SET(v.rev, v.count), NULL))
			return -ENOMEM;
	}
	return 0;
}

struct sp_bpf_writer *sp_bpf_writer_new(const struct sp_bpf_kernel *k, const struct sp_log *log)
{
	struct sp_bpf_writer *w = calloc(1, sizeof(*w));
	int e;

	if (!w)
		return NULL;
	w->k = k;
	w->log = log;
	w->next_ep_id = 1; /* 0 means "none" to the affinity lookup */
	w->next_port_id = 1;
	w->eps = sp_hmap_new();
	w->sets = sp_hmap_new();
	w->anyport = sp_hmap_new();
	w->port_ids = sp_hmap_new();
	w->maglev = sp_hmap_new();
	w->told = sp_hmap_new();
	w->addrs = sp_bpf_addrs_new(fd_of(w, SPM_ADDRS), log);
	if (!w->eps || !w->sets || !w->anyport || !w->port_ids || !w->maglev || !w->told || !w->addrs ||
	    (e = adopt(w))) {
		sp_bpf_writer_free(w);
		errno = ENOMEM;
		return NULL;
	}
	return w;
}

void sp_bpf_writer_free(struct sp_bpf_writer *w)
{
	struct sp_hmap_iter it = {0};

	if (!w)
		return;
	while (w->eps && sp_hmap_next(w->eps, &it))
		free(it.value);
	sp_hmap_free(w->eps);
	sp_hmap_free(w->sets);
	sp_hmap_free(w->anyport);
	sp_id_pool_fini(&w->ep_pool);
	sp_id_pool_fini(&w->port_pool);
	sp_hmap_free(w->port_ids);
	sp_hmap_free(w->maglev);
	sp_hmap_free(w->told);
	sp_bpf_addrs_free(w->addrs);
	free(w);
}
