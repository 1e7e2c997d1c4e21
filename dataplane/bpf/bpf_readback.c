/* bpf_readback.c - the eBPF maps read back as the programs see them:
 * service addresses (sp_addrs) → services → slots of the revision in force
 * → endpoints, named by the port info map. */
#include "bpf_readback.h"
#include "../../bpf/maps.h"
#include "../../common/hmap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <bpf/bpf.h>

static void to_addr(struct sp_addr *a, const uint8_t *b, uint8_t fam)
{
	memset(a, 0, sizeof(*a));
	a->family = fam == 6 ? AF_INET6 : AF_INET;
	a->prefix_len = fam == 6 ? 128 : 32;
	memcpy(a->bytes, b, fam == 6 ? 16 : 4);
}

/* The endpoints of slot set @v, into @p->eps (replaced). -EIO: a slot the
 * entry promises is gone (the agent switched revisions meanwhile). */
static int read_slots_once(const struct sp_bpf_kernel *k, const struct sp_svc_val *v,
			   struct sp_svc_port *p)
{
	struct sp_endpoint *eps = calloc(v->count + 1u, sizeof(*eps));
	size_t n = 0;

	if (!eps)
		return -ENOMEM;
	for (uint32_t i = 0; i < v->count; i++) {
		struct sp_slot_key sk = {
		    .svc_id = v->id, .rev = (uint16_t)v->rev, .slot = (uint16_t)i};
		struct sp_slot_val sv;
		struct sp_ep_val ev;

		if (bpf_map_lookup_elem(k->map_fd[SPM_SLOTS], &sk, &sv) ||
		    bpf_map_lookup_elem(k->map_fd[SPM_ENDPOINTS], &sv.ep_id, &ev)) {
			int e = errno == ENOENT ? -EIO : -errno; /* a slot the entry promises */

			free(eps);
			return e;
		}
		to_addr(&eps[n].addr, ev.addr, ev.family);
		eps[n].port = ntohs(ev.port_be);
		eps[n].ready = eps[n].serving = true;
		n++;
	}
	for (size_t i = 0; i < p->n_eps; i++)
		sp_endpoint_fini(&p->eps[i]);
	free(p->eps);
	p->eps = eps;
	p->n_eps = n;
	return 0;
}

/* read_slots_once, again with the entry's current value while the agent
 * switches revisions under us (a few times, then the error). */
static int read_slots(const struct sp_bpf_kernel *k, const struct sp_svc_key *key,
		      struct sp_svc_val *v, struct sp_svc_port *p)
{
	int e = read_slots_once(k, v, p);

	for (int i = 0; e == -EIO && key && i < 5; i++) {
		if (bpf_map_lookup_elem(k->map_fd[SPM_SERVICES], key, v))
			return -errno;
		e = read_slots_once(k, v, p);
	}
	return e;
}

static struct sp_svc_port *port_of(const struct sp_bpf_kernel *k, struct sp_model *out, uint32_t id)
{
	struct sp_port_info info;
	struct sp_svc_port *p, *have;

	if (bpf_map_lookup_elem(k->map_fd[SPM_PORT_INFO], &id, &info))
		return NULL;
	info.service[sizeof(info.service) - 1] = '\0';
	info.port_name[sizeof(info.port_name) - 1] = '\0';
	/* Ports are found by model key; several entries lead to one port. */
	p = sp_svc_port_new(info.service, info.port_name, info.proto,
			    info.family == 6 ? AF_INET6 : AF_INET);
	if (!p)
		return NULL;
	if ((have = sp_hmap_get(out->ports, p->key))) {
		sp_svc_port_free(p);
		return have;
	}
	p->id = id;
	p->port = info.port;
	p->node_port = info.node_port;
	p->etp = info.flags & SP_PORT_ETP_LOCAL ? SP_POLICY_LOCAL : SP_POLICY_CLUSTER;
	p->itp = info.flags & SP_PORT_ITP_LOCAL ? SP_POLICY_LOCAL : SP_POLICY_CLUSTER;
	p->affinity_client_ip = info.flags & SP_PORT_AFFINITY;
	p->affinity_timeout = p->affinity_client_ip ? info.affinity_timeout : 0;
	if (sp_model_add_port(out, p)) {
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

struct ext_list {
	uint32_t id;
	struct sp_svc_key key;
	struct sp_svc_val v;
};

/* Do the programs reach the entry at @key? A service address gets past
 * their first lookup only while sp_addrs holds it with the service flag: an
 * entry without it is never served, so it is not read back either. (A
 * NodePort entry is reached through the node's addresses, whichever they
 * are: counted as served.) 1, 0, or -errno. */
static int served(const struct sp_bpf_kernel *k, const struct sp_svc_key *key)
{
	struct sp_addr_key ak = {.family = key->family};
	uint8_t flags;

	if (key->scope != SP_SCOPE_VIP)
		return 1;
	memcpy(ak.addr, key->addr, sizeof(ak.addr));
	if (bpf_map_lookup_elem(k->map_fd[SPM_ADDRS], &ak, &flags))
		return errno == ENOENT ? 0 : -errno;
	return (flags & SP_ADDR_SERVICE) != 0;
}

int sp_bpf_read(const struct sp_bpf_kernel *k, struct sp_model *out, sp_external_list_fn ext,
		void *ctx)
{
	struct sp_svc_key key, cur, *prev = NULL;
	struct sp_hmap *internal_read = sp_hmap_new();
	/* Ports whose external list went to @ext: once a port, though each
	 * external address and the NodePort has an entry leading to it. */
	struct sp_hmap *ext_read = sp_hmap_new();
	struct ext_list *exts = NULL;
	size_t n_ext = 0;
	int e = 0;

	if (!internal_read || !ext_read) {
		sp_hmap_free(internal_read);
		sp_hmap_free(ext_read);
		return -ENOMEM;
	}
	while (!e) {
		struct sp_svc_val v;
		struct sp_svc_port *p;
		int reached;
		struct sp_addr a;
		char name[16];

		if (bpf_map_get_next_key(k->map_fd[SPM_SERVICES], prev, &key)) {
			if (errno != ENOENT)
				e = -errno;
			break;
		}
		cur = key;
		prev = &cur;
		/* (The local-endpoints entries for traffic from outside hold the
		 * port's local endpoints: read through the ports' decision.) */
		if (key.scope == SP_SCOPE_ANY_PORT || key.scope == SP_SCOPE_VIP_LOCAL ||
		    key.scope == SP_SCOPE_NODEPORT_LOCAL)
			continue;
		if ((reached = served(k, &key)) < 0) {
			e = reached;
			break;
		}
		if (!reached)
			continue;
		if (bpf_map_lookup_elem(k->map_fd[SPM_SERVICES], &key, &v)) {
			if (errno != ENOENT) /* (deleted while we read: skip) */
				e = -errno;
			continue;
		}
		if (!(p = port_of(k, out, v.id / SP_LIST_STRIDE))) {
			e = errno == ENOENT ? 0 : -ENOMEM; /* no info: not a port of ours */
			continue;
		}
		to_addr(&a, key.addr, key.family);
		if (v.flags & SP_SVC_CLUSTER_IP)
			e = sp_addr_list_add(&p->cluster_ips, &a);
		else if (v.flags & SP_SVC_EXTERNAL_IP)
			e = sp_addr_list_add(&p->external_ips, &a);
		else if (v.flags & SP_SVC_LB_IP)
			e = sp_addr_list_add(&p->lb_ips, &a);
		if (e)
			break;
		/* The ClusterIP's list is the port's endpoints; without one, the
		 * external list. */
		snprintf(name, sizeof(name), "%u", v.id / SP_LIST_STRIDE);
		if (v.id % SP_LIST_STRIDE == SP_LIST_INTERNAL) {
			if (!sp_hmap_get(internal_read, name) && !(e = read_slots(k, &key, &v, p)))
				e = sp_hmap_put(internal_read, name, (void *)1, NULL);
		} else {
			struct ext_list *x = realloc(exts, (n_ext + 1) * sizeof(*x));

			if (!x) {
				e = -ENOMEM;
				break;
			}
			exts = x;
			exts[n_ext++] = (struct ext_list){.id = v.id, .key = key, .v = v};
		}
	}
	for (size_t i = 0; !e && i < n_ext; i++) {
		struct sp_port_info info;
		struct sp_svc_port *p;
		char name[16];
		uint32_t pid = exts[i].id / SP_LIST_STRIDE;

		if (bpf_map_lookup_elem(k->map_fd[SPM_PORT_INFO], &pid, &info) ||
		    !(p = port_of(k, out, pid)))
			continue;
		snprintf(name, sizeof(name), "%u", pid);
		if (!sp_hmap_get(internal_read, name)) {
			if (!(e = read_slots(k, &exts[i].key, &exts[i].v, p)))
				e = sp_hmap_put(internal_read, name, (void *)1, NULL);
		} else if (ext && p->etp == SP_POLICY_LOCAL && !sp_hmap_get(ext_read, name)) {
			/* External traffic's own list: what traffic from outside the
			 * node gets (the local endpoints' entry beside this one). */
			struct sp_svc_port tmp = {0};
			struct sp_svc_key lk = exts[i].key;
			struct sp_svc_val lv;

			lk.scope = lk.scope == SP_SCOPE_NODEPORT ? SP_SCOPE_NODEPORT_LOCAL
								 : SP_SCOPE_VIP_LOCAL;
			if (bpf_map_lookup_elem(k->map_fd[SPM_SERVICES], &lk, &lv))
				continue;
			if (!(e = read_slots(k, &lk, &lv, &tmp)) &&
			    !(e = sp_hmap_put(ext_read, name, (void *)1, NULL)))
				ext(ctx, p, tmp.eps, tmp.n_eps);
			free(tmp.eps);
		}
	}
	free(exts);
	sp_hmap_free(internal_read);
	sp_hmap_free(ext_read);
	return e;
}

int sp_bpf_project(const struct sp_model *in, struct sp_model *out)
{
	struct sp_hmap_iter it = {0};

	while (sp_hmap_next(in->ports, &it)) {
		const struct sp_svc_port *p = it.value;
		struct sp_svc_port *q =
		    sp_svc_port_new(p->service, p->port_name, p->protocol, p->family);
		bool internal = p->cluster_ips.n > 0, itp_local = p->itp == SP_POLICY_LOCAL;
		size_t n = 0;

		if (!q)
			return -ENOMEM;
		q->port = p->port;
		q->node_port = p->node_port;
		q->etp = p->etp;
		q->itp = p->itp;
		q->affinity_client_ip = p->affinity_client_ip;
		q->affinity_timeout = p->affinity_client_ip ? p->affinity_timeout : 0;
		q->eps = calloc(p->n_eps + 1, sizeof(*q->eps));
		if (!q->eps || sp_addr_list_append(&q->cluster_ips, &p->cluster_ips) ||
		    sp_addr_list_append(&q->external_ips, &p->external_ips) ||
		    sp_addr_list_append(&q->lb_ips, &p->lb_ips)) {
			sp_svc_port_free(q);
			return -ENOMEM;
		}
		for (size_t i = 0; p->has_any && i < p->n_eps; i++) {
			const struct sp_endpoint *ep = &p->eps[i];
			bool in_list = internal ? (itp_local ? ep->for_local : ep->for_cluster)
						: (p->n_cluster ? ep->for_cluster : ep->for_local);

			if (!in_list)
				continue;
			q->eps[n].addr = ep->addr;
			q->eps[n].port = ep->port;
			q->eps[n].ready = q->eps[n].serving = true;
			n++;
		}
		q->n_eps = n;
		if (sp_model_add_port(out, q))
			return -ENOMEM;
	}
	return 0;
}

int sp_bpf_dispatch(const struct sp_bpf_kernel *k, int family, const struct sp_addr *vip,
		    uint8_t proto, uint16_t port, struct sp_svc_port *p)
{
	struct sp_svc_key key = {.port_be = htons(port),
				 .proto = proto,
				 .family = family == AF_INET6 ? 6 : 4,
				 .scope = vip ? SP_SCOPE_VIP : SP_SCOPE_NODEPORT};
	struct sp_svc_val v;
	int e;

	if (vip)
		memcpy(key.addr, vip->bytes, family == AF_INET6 ? 16 : 4);
	if (bpf_map_lookup_elem(k->map_fd[SPM_SERVICES], &key, &v))
		return -errno;
	if ((e = served(k, &key)) <= 0)
		return e ? e : -ENOENT;
	/* From outside the node (what explain asks the live state about), an
	 * externalTrafficPolicy Local address uses its local-endpoints entry,
	 * as the tc programs do. */
	if (v.flags & SP_SVC_ETP_LOCAL) {
		key.scope = vip ? SP_SCOPE_VIP_LOCAL : SP_SCOPE_NODEPORT_LOCAL;
		if (bpf_map_lookup_elem(k->map_fd[SPM_SERVICES], &key, &v))
			return -errno;
	}
	e = read_slots(k, &key, &v, p);
	return e ? e : (int)p->n_eps;
}

int sp_bpf_explain_outside(const struct sp_bpf_kernel *k, const struct sp_addr *src,
			   const struct sp_addr *ep, uint16_t port, bool *snat, char *path,
			   size_t pathsz, char *nat, size_t natsz)
{
	struct sp_config_val cfg = {0};
	struct sp_ep_val v;
	uint32_t id, cur, *prev = NULL, zero = 0;
	char a[SP_ADDRSTRLEN];
	struct sp_addr s = {0};
	bool found = false;

	(void)src;
	while (!found && !bpf_map_get_next_key(k->map_fd[SPM_ENDPOINTS], prev, &id)) {
		cur = id;
		prev = &cur;
		found = !bpf_map_lookup_elem(k->map_fd[SPM_ENDPOINTS], &id, &v) &&
			v.family == (ep->family == AF_INET6 ? 6 : 4) && ntohs(v.port_be) == port &&
			!memcmp(v.addr, ep->bytes, ep->family == AF_INET6 ? 16 : 4);
	}
	if (!found)
		return -ENOENT;
	bpf_map_lookup_elem(k->map_fd[SPM_CONFIG], &zero, &cfg);
	snprintf(path, pathsz,
		 "tc ingress program sp_tc_outside_in on the node's device: sp_ct (no flow) → "
		 "sp_services (%s) → endpoint %u in sp_endpoints → two sp_ct entries; replies "
		 "translated back by sp_tc_pod_in (local endpoint) or sp_tc_outside_in (SNAT)",
		 cfg.algorithm == SP_CFG_ALG_MAGLEV ? "its Maglev table in sp_maglev, by the "
						      "client's address and port"
						    : "a random slot of sp_slots",
		 id);
	*snat = !(v.flags & SP_EP_LOCAL);
	if (!*snat) {
		snprintf(nat, natsz,
			 "no: the endpoint is on this node, the client's address is kept");
		return 0;
	}
	s.family = ep->family;
	s.prefix_len = ep->family == AF_INET6 ? 128 : 32;
	memcpy(s.bytes, ep->family == AF_INET6 ? cfg.snat6 : cfg.snat4,
	       ep->family == AF_INET6 ? 16 : 4);
	snprintf(nat, natsz,
		 "yes: the endpoint is on another node, SNAT to %s with a port from %u-%u so "
		 "replies come back through this node",
		 sp_addr_str(&s, a), cfg.snat_port_min, cfg.snat_port_max);
	return 0;
}
