/* nftjson.c - kube-proxy's nftables mode, from `nft -j list ruleset`: the
 * service-ips / service-nodeports / no-endpoint-* maps, and the chains they
 * lead to, read as kube-proxy writes them (service-H8-ns/svc/proto/port with a
 * numgen vmap to endpoint chains, or, from 1.36, an inline dnat map; local-
 * and external- chains for traffic policies; affinity sets). */
#include "inspect.h"
#include "../../common/hmap.h"
#include "../../control/k8s_field.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct nj {
	struct sp_inspect *in;
	struct sp_hmap *chains;		/* chain name → cJSON array of rules' "expr" (borrowed) */
	struct sp_hmap *reached;	/* chain names reached from a map */
	struct sp_hmap *sets;		/* set name → its cJSON object (borrowed) */
	const cJSON *service_ips, *nodeports, *noep, *noep_np;
};

static const cJSON *jget(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = jget(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A map element: [key, value] where key may be {"elem":{"val":..,"comment":..}}. */
static void elem_parts(const cJSON *e, const cJSON **key, const cJSON **val, const char **comment)
{
	const cJSON *k = cJSON_GetArrayItem(e, 0), *w = jget(k, "elem");

	*comment = NULL;
	if (w) {
		*comment = jstr(w, "comment");
		k = jget(w, "val");
	}
	*key = k;
	*val = cJSON_GetArrayItem(e, 1);
}

/* "service-H8-ns/svc/proto/port" (also local-, external-, endpoint-…__ep) →
 * "ns/svc:port" and the protocol. */
static bool chain_service(const char *chain, char *name, size_t sz, uint8_t *proto)
{
	const char *p = strchr(chain, '-'), *ns, *svc, *pr, *port;
	char buf[300];
	char *parts[4], *save = NULL, *end;
	int n = 0;

	if (!p || !(p = strchr(p + 1, '-')))
		return false;
	snprintf(buf, sizeof(buf), "%s", p + 1);
	end = strstr(buf, "__");
	if (end)
		*end = '\0';
	for (char *t = strtok_r(buf, "/", &save); t && n < 4; t = strtok_r(NULL, "/", &save))
		parts[n++] = t;
	if (n != 4)
		return false;
	ns = parts[0];
	svc = parts[1];
	pr = parts[2];
	port = parts[3];
	*proto = sp_proto_parse(!strcmp(pr, "udp") ? "UDP" : !strcmp(pr, "sctp") ? "SCTP" : "TCP");
	snprintf(name, sz, "%s/%s%s%s", ns, svc, *port ? ":" : "", port);
	return true;
}

static void add_ep(struct sp_svc_port *p, const char *ip, double port, double weight)
{
	struct sp_endpoint ep = { .ready = true, .serving = true, .weight = weight }, *v;

	if (!ip || sp_addr_parse(ip, &ep.addr) || port < 1 || port > 65535)
		return;
	ep.port = (uint16_t)port;
	for (size_t i = 0; i < p->n_eps; i++)
		if (!sp_addr_cmp(&p->eps[i].addr, &ep.addr) && p->eps[i].port == ep.port)
			return;
	v = realloc(p->eps, (p->n_eps + 1) * sizeof(*v));
	if (!v)
		return;
	p->eps = v;
	p->eps[p->n_eps++] = ep;
}

/* An endpoint chain's dnat target. */
static void endpoint_chain(struct nj *j, const char *chain, struct sp_svc_port *p, double weight)
{
	const cJSON *rules = sp_hmap_get(j->chains, chain), *r, *e;

	sp_hmap_put(j->reached, chain, (void *)1, NULL);
	if (!rules) {
		sp_inspect_finding(j->in, "%s: jumps to %s, which is not defined", p->key, chain);
		return;
	}
	cJSON_ArrayForEach(r, rules) {
		cJSON_ArrayForEach(e, r) {
			const cJSON *d = jget(e, "dnat");

			if (d && cJSON_IsString(jget(d, "addr")))
				add_ep(p, jstr(d, "addr"), cJSON_GetNumberValue(jget(d, "port")), weight);
		}
	}
}

static bool is_unconditional_masq(const cJSON *rule)
{
	const cJSON *e;
	bool jump = false, cond = false;

	cJSON_ArrayForEach(e, rule) {
		const cJSON *jmp = jget(e, "jump");

		if (jget(e, "match"))
			cond = true;
		if (jmp && jstr(jmp, "target") && !strcmp(jstr(jmp, "target"), "mark-for-masquerade"))
			jump = true;
	}
	return jump && !cond;
}

/* service- or local- chain: masquerade rule, affinity rules, the random pick. */
static void service_chain(struct nj *j, const char *chain, struct sp_svc_port *p, bool internal)
{
	const cJSON *rules = sp_hmap_get(j->chains, chain), *r, *e;
	struct sp_inspect_port *x = sp_inspect_port_extra(j->in, p->key);

	sp_hmap_put(j->reached, chain, (void *)1, NULL);
	if (!rules) {
		sp_inspect_finding(j->in, "%s: jumps to %s, which is not defined", p->key, chain);
		return;
	}
	cJSON_ArrayForEach(r, rules) {
		const cJSON *masq_prefix = NULL;
		bool masq = false, affinity = false;

		cJSON_ArrayForEach(e, r) {
			const cJSON *m = jget(e, "match"), *v = jget(e, "vmap"), *d = jget(e, "dnat"),
				    *jmp = jget(e, "jump");

			if (m && jstr(m, "op") && !strcmp(jstr(m, "op"), "!=") && jget(jget(m, "right"), "prefix"))
				masq_prefix = jget(jget(m, "right"), "prefix");
			if (m && cJSON_IsString(jget(m, "right")) && jget(m, "right")->valuestring[0] == '@') {
				const cJSON *set = sp_hmap_get(j->sets, jget(m, "right")->valuestring + 1);

				affinity = true;
				if (cJSON_IsNumber(jget(set, "timeout")))
					p->affinity_timeout = (int)jget(set, "timeout")->valuedouble;
			}
			if (jmp && jstr(jmp, "target") && !strcmp(jstr(jmp, "target"), "mark-for-masquerade"))
				masq = true;
			if (v && jget(jget(v, "key"), "numgen")) {
				const cJSON *set = jget(jget(v, "data"), "set"), *it;
				int n = cJSON_GetArraySize(set), mod = (int)cJSON_GetNumberValue(
					jget(jget(jget(v, "key"), "numgen"), "mod"));

				if (n != mod)
					sp_inspect_finding(j->in, "%s: %s picks among %d slots but has %d endpoint(s)",
							   p->key, chain, mod, n);
				cJSON_ArrayForEach(it, set) {
					const cJSON *g = jget(cJSON_GetArrayItem(it, 1), "goto");

					if (g && jstr(g, "target"))
						endpoint_chain(j, jstr(g, "target"), p, n ? 1.0 / mod : 0);
				}
			}
			if (d && jget(jget(d, "addr"), "map")) {	/* 1.36: inline map */
				const cJSON *map = jget(jget(d, "addr"), "map"), *set = jget(jget(map, "data"), "set"), *it;
				int mod = (int)cJSON_GetNumberValue(jget(jget(jget(map, "key"), "numgen"), "mod"));

				cJSON_ArrayForEach(it, set) {
					const cJSON *c = jget(cJSON_GetArrayItem(it, 1), "concat");

					add_ep(p, cJSON_GetStringValue(cJSON_GetArrayItem(c, 0)),
					       cJSON_GetNumberValue(cJSON_GetArrayItem(c, 1)), mod ? 1.0 / mod : 0);
				}
			}
		}
		if (affinity)
			p->affinity_client_ip = true;
		if (masq && x && internal) {
			x->masq_internal = true;
			if (masq_prefix && x->nkeep < SP_INSPECT_MAX_CIDRS) {
				char cidr[80];

				snprintf(cidr, sizeof(cidr), "%s/%d", jstr(masq_prefix, "addr") ? jstr(masq_prefix, "addr") : "",
					 (int)cJSON_GetNumberValue(jget(masq_prefix, "len")));
				if (!sp_cidr_parse(cidr, false, &x->keep_src[x->nkeep]))
					x->nkeep++;
			}
		}
	}
}

/* Follow a dispatch verdict: service-, local- or external- chain. */
static void dispatch(struct nj *j, struct sp_svc_port *p, const char *target, bool internal)
{
	const cJSON *rules, *r, *e;
	struct sp_inspect_port *x = sp_inspect_port_extra(j->in, p->key);

	if (!strncmp(target, "service-", 8) || !strncmp(target, "local-", 6)) {
		if (!strncmp(target, "local-", 6))
			p->etp = SP_POLICY_LOCAL;
		if (!p->n_eps || internal)
			service_chain(j, target, p, internal);
		return;
	}
	if (strncmp(target, "external-", 9))
		return;
	sp_hmap_put(j->reached, target, (void *)1, NULL);
	rules = sp_hmap_get(j->chains, target);
	cJSON_ArrayForEach(r, rules) {
		bool cond = false;

		if (is_unconditional_masq(r) && x)
			x->masq_external = true;
		cJSON_ArrayForEach(e, r) {
			const cJSON *g = jget(e, "goto");

			if (jget(e, "match"))
				cond = true;
			if (g && jstr(g, "target") && !cond) {
				if (!strncmp(jstr(g, "target"), "local-", 6))
					p->etp = SP_POLICY_LOCAL;
				if (!p->n_eps)
					service_chain(j, jstr(g, "target"), p, false);
			}
		}
	}
}

static void read_maps(struct nj *j)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, jget(j->service_ips, "elem")) {
		const cJSON *key, *val, *c, *g;
		const char *comment, *ip, *kind;
		char name[300];
		uint8_t proto;
		struct sp_addr a;
		struct sp_svc_port *p;

		elem_parts(e, &key, &val, &comment);
		c = jget(key, "concat");
		g = jget(val, "goto");
		ip = cJSON_GetStringValue(cJSON_GetArrayItem(c, 0));
		if (!g || !jstr(g, "target") || !ip || sp_addr_parse(ip, &a) ||
		    !chain_service(jstr(g, "target"), name, sizeof(name), &proto))
			continue;
		p = sp_inspect_svc_port(j->in, name, proto, a.family);
		if (!p)
			continue;
		p->port = (uint16_t)cJSON_GetNumberValue(cJSON_GetArrayItem(c, 2));
		/* A ClusterIP goes to service-/local-; other addresses to external-. */
		kind = jstr(g, "target");
		if (!strncmp(kind, "external-", 9))
			sp_inspect_add_addr(&p->external_ips, &a);
		else
			sp_inspect_add_addr(&p->cluster_ips, &a);
		dispatch(j, p, kind, strncmp(kind, "external-", 9) != 0);
	}
	cJSON_ArrayForEach(e, jget(j->nodeports, "elem")) {
		const cJSON *key, *val, *c, *g;
		const char *comment;
		char name[300];
		uint8_t proto;
		struct sp_svc_port *p;

		elem_parts(e, &key, &val, &comment);
		c = jget(key, "concat");
		g = jget(val, "goto");
		if (!g || !jstr(g, "target") || !chain_service(jstr(g, "target"), name, sizeof(name), &proto))
			continue;
		if (!(p = sp_inspect_svc_port(j->in, name, proto, AF_INET)))
			continue;
		p->node_port = (uint16_t)cJSON_GetNumberValue(cJSON_GetArrayItem(c, 1));
		dispatch(j, p, jstr(g, "target"), false);
	}
	for (int np = 0; np < 2; np++) {
		cJSON_ArrayForEach(e, jget(np ? j->noep_np : j->noep, "elem")) {
			const cJSON *key, *val, *c;
			const char *comment, *ip;
			struct sp_addr a = { .family = AF_INET };
			struct sp_svc_port *p;
			bool drop;

			elem_parts(e, &key, &val, &comment);
			c = jget(key, "concat");
			if (!comment)
				continue;
			ip = np ? NULL : cJSON_GetStringValue(cJSON_GetArrayItem(c, 0));
			if (ip && sp_addr_parse(ip, &a))
				continue;
			p = sp_inspect_svc_port(j->in, comment, sp_proto_parse(
					     !strcmp(cJSON_GetStringValue(cJSON_GetArrayItem(c, np ? 0 : 1)) ?: "", "udp")
						     ? "UDP" : "TCP"), a.family);
			if (!p)
				continue;
			drop = jget(val, "drop") != NULL;
			if (np) {
				p->node_port = (uint16_t)cJSON_GetNumberValue(cJSON_GetArrayItem(c, 1));
			} else {
				sp_inspect_add_addr(&p->cluster_ips, &a);
				p->port = (uint16_t)cJSON_GetNumberValue(cJSON_GetArrayItem(c, 2));
			}
			if (drop) {
				struct sp_inspect_port *x = sp_inspect_port_extra(j->in, p->key);

				if (x)
					x->no_endpoints_drop = true;
				p->etp = SP_POLICY_LOCAL;
			}
			sp_inspect_finding(j->in, drop ? "%s has no local endpoints: external traffic to this node is dropped"
						       : "%s has no endpoints: connections are rejected", p->key);
		}
	}
}

int sp_inspect_nft_json(const char *buf, size_t len, struct sp_inspect *in, char *err, size_t errsz)
{
	cJSON *root = cJSON_ParseWithLength(buf, len);
	const cJSON *o;
	struct nj j = { .in = in };
	int e = -EINVAL;

	in->format = "nft -j list ruleset (kube-proxy nftables mode)";
	if (!root) {
		snprintf(err, errsz, "not valid JSON (near offset %zu)",
			 cJSON_GetErrorPtr() ? (size_t)(cJSON_GetErrorPtr() - buf) : 0);
		return -EINVAL;
	}
	if (!cJSON_IsArray(jget(root, "nftables"))) {
		snprintf(err, errsz, "no \"nftables\" array: not `nft -j list ruleset` output");
		goto out;
	}
	j.chains = sp_hmap_new();
	j.reached = sp_hmap_new();
	j.sets = sp_hmap_new();
	if (!j.chains || !j.reached || !j.sets) {
		e = -ENOMEM;
		goto out;
	}
	cJSON_ArrayForEach(o, jget(root, "nftables")) {
		const cJSON *m = jget(o, "map"), *r = jget(o, "rule"), *c = jget(o, "chain"), *s = jget(o, "set");
		const cJSON *obj = m ? m : r ? r : c ? c : s;
		const char *table = jstr(obj, "table"), *fam = jstr(obj, "family");

		/* IPv4 only for now: kube-proxy names the ip6 table's service
		 * chains exactly as the ip table's, so they must not be merged. */
		if (!table || strcmp(table, "kube-proxy") || !fam || strcmp(fam, "ip"))
			continue;
		if (m && jstr(m, "name")) {
			const char *n = jstr(m, "name");

			if (!strcmp(n, "service-ips"))
				j.service_ips = m;
			else if (!strcmp(n, "service-nodeports"))
				j.nodeports = m;
			else if (!strcmp(n, "no-endpoint-services"))
				j.noep = m;
			else if (!strcmp(n, "no-endpoint-nodeports"))
				j.noep_np = m;
		}
		if (s && jstr(s, "name"))
			sp_hmap_put(j.sets, jstr(s, "name"), (void *)s, NULL);
		if (c && jstr(c, "name") && !sp_hmap_get(j.chains, jstr(c, "name")))
			sp_hmap_put(j.chains, jstr(c, "name"), cJSON_CreateArray(), NULL);
		if (r && jstr(r, "chain") && cJSON_IsArray(jget(r, "expr"))) {
			cJSON *rules = sp_hmap_get(j.chains, jstr(r, "chain"));

			if (!rules && (rules = cJSON_CreateArray()))
				sp_hmap_put(j.chains, jstr(r, "chain"), rules, NULL);
			if (rules)
				cJSON_AddItemReferenceToArray(rules, (cJSON *)jget(r, "expr"));
		}
	}
	if (!j.service_ips) {
		snprintf(err, errsz, "no table kube-proxy with a service-ips map: not kube-proxy's nftables rules");
		goto out;
	}
	read_maps(&j);
	{
		const char **names;
		size_t n;

		names = sp_hmap_sorted_keys(j.chains, &n);
		for (size_t i = 0; names && i < n; i++)
			if (!strncmp(names[i], "endpoint-", 9) && !sp_hmap_get(j.reached, names[i]))
				sp_inspect_finding(in, "endpoint chain %s is reached by no service chain", names[i]);
		free(names);
	}
	{
		struct sp_hmap_iter it = {0};

		while (sp_hmap_next(in->m.ports, &it))
			sp_svc_port_sort_eps(it.value);
	}
	e = 0;
out:
	if (j.chains) {
		struct sp_hmap_iter it = {0};

		while (sp_hmap_next(j.chains, &it))
			cJSON_Delete(it.value);
	}
	sp_hmap_free(j.chains);
	sp_hmap_free(j.reached);
	sp_hmap_free(j.sets);
	cJSON_Delete(root);
	return e;
}
