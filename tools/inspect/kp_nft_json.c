/* kp_nft_json.c - kube-proxy's nftables mode, from `nft -j list ruleset`: the
 * service-ips / service-nodeports / no-endpoint-* maps, and the chains they
 * lead to, read as kube-proxy writes them (service-H8-ns/svc/proto/port with a
 * numgen vmap to endpoint chains, or, from 1.36, an inline dnat map; local-
 * and external- chains for traffic policies; affinity sets), for its ip and
 * ip6 tables each. The dump is not held as one JSON tree (that costs ~8× its
 * size): its top-level objects are found as slices of the input, and each is
 * parsed when it is needed, then freed. */
#include "inspect.h"
#include "../../common/hmap.h"
#include "../../control/k8s_field.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Where one top-level object lies in the input. */
struct slice {
	size_t off, len;
};

/* A chain's rules, in order, with what the shadow and duplicate checks need. */
struct chain {
	struct slice *rules;
	uint64_t *hash;		/* of each rule's expressions */
	size_t n, cap;
	long ends_at;		/* index of a rule that always ends the chain, or -1 */
};

/* One table kube-proxy (family ip or ip6), as slices of the input. */
struct nj {
	struct sp_inspect *in;
	const char *buf;
	int af;				/* AF_INET / AF_INET6 */
	struct sp_hmap *chains;		/* chain name → struct chain */
	struct sp_hmap *reached;	/* chain names reached from a map */
	struct sp_hmap *sets;		/* set name → struct slice */
	struct slice service_ips, nodeports, noep, noep_np;	/* len 0: absent */
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

/* @v as an integer in @lo..@hi, else 0: a string, NaN or a huge number in
 * the dump reads as "none", never as an undefined conversion. */
static long jint(const cJSON *v, long lo, long hi)
{
	double d = cJSON_GetNumberValue(v);

	return d >= lo && d <= hi ? (long)d : 0;
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
 * "ns/svc:port" and the protocol. The port name may be empty
 * ("service-H8-ns/svc/tcp/", an unnamed port: "ns/svc"), so the fields are
 * cut at each '/', never with a tokenizer that drops empty ones. */
static bool chain_service(const char *chain, char *name, size_t sz, uint8_t *proto)
{
	const char *p = strchr(chain, '-');
	char buf[300], *parts[4], *s, *end;
	int n = 0;

	if (!p || !(p = strchr(p + 1, '-')))
		return false;
	snprintf(buf, sizeof(buf), "%s", p + 1);
	end = strstr(buf, "__");
	if (end)
		*end = '\0';
	for (s = buf; n < 4; n++) {
		parts[n] = s;
		if (!(s = strchr(s, '/')))
			break;
		*s++ = '\0';
	}
	if (n != 3 || !*parts[0] || !*parts[1] || !*parts[2])
		return false;
	*proto = sp_proto_parse(!strcmp(parts[2], "udp")    ? "UDP"
				: !strcmp(parts[2], "sctp") ? "SCTP"
							    : "TCP");
	snprintf(name, sz, "%s/%s%s%s", parts[0], parts[1], *parts[3] ? ":" : "", parts[3]);
	return true;
}

static void add_ep(struct sp_svc_port *p, const char *ip, double port, double weight)
{
	struct sp_endpoint ep = { .ready = true, .serving = true, .weight = weight }, *v;

	if (!ip || sp_addr_parse(ip, &ep.addr) || !(port >= 1 && port <= 65535))	/* NaN too */
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

/* The object at @sl, parsed: its one member's value ({"rule": {...}} → the
 * rule). *@root is what to free. */
static cJSON *parse_slice(const struct nj *j, const struct slice *sl, cJSON **root)
{
	*root = sl->len ? cJSON_ParseWithLength(j->buf + sl->off, sl->len) : NULL;
	return *root ? (*root)->child : NULL;
}

/* The rules of chain @name as an array of their "expr" arrays (to free), or
 * NULL when the dump does not define the chain. */
static cJSON *load_chain(struct nj *j, const char *name)
{
	const struct chain *c = sp_hmap_get(j->chains, name);
	cJSON *rules;

	sp_hmap_put(j->reached, name, (void *)1, NULL);
	if (!c || !(rules = cJSON_CreateArray()))
		return NULL;
	for (size_t i = 0; i < c->n; i++) {
		cJSON *root, *r = parse_slice(j, &c->rules[i], &root);
		cJSON *expr = cJSON_DetachItemFromObjectCaseSensitive(r, "expr");

		if (expr)
			cJSON_AddItemToArray(rules, expr);
		cJSON_Delete(root);
	}
	return rules;
}

/* Set @name's timeout in seconds, or -1. */
static int set_timeout(const struct nj *j, const char *name)
{
	const struct slice *sl = sp_hmap_get(j->sets, name);
	cJSON *root, *set = sl ? parse_slice(j, sl, &root) : NULL;
	int t = cJSON_IsNumber(jget(set, "timeout")) ? (int)jget(set, "timeout")->valuedouble : -1;

	if (sl)
		cJSON_Delete(root);
	return t;
}

/* An endpoint into @p's endpoints or, @local, its external-traffic list. */
static void add_to(struct nj *j, struct sp_svc_port *p, bool local, const char *ip, double port,
		   double weight)
{
	struct sp_inspect_port *x = local ? sp_inspect_port_extra(j->in, p->key) : NULL;
	struct sp_addr a;

	if (!x) {
		add_ep(p, ip, port, weight);
		return;
	}
	x->has_external = true;
	if (ip && !sp_addr_parse(ip, &a) && port >= 1 && port <= 65535)
		sp_inspect_external_add(x, &a, (uint16_t)port);
}


/* Port @p's rules name @chain, which the dump lacks: a fault of the rules in
 * a whole dump, what the excerpt leaves out in a partial one. */
static void missing_chain(struct nj *j, const struct sp_svc_port *p, const char *chain)
{
	char name[300];

	if (j->in->partial)
		sp_inspect_note(j->in, "%s: its chain %s is not in the dump (partial)",
				sp_inspect_port_name(p, name, sizeof(name)), chain);
	else
		sp_inspect_port_finding(j->in, p, ": jumps to %s, which is not defined", chain);
}
/* An endpoint chain's dnat target. */
static void endpoint_chain(struct nj *j, const char *chain, struct sp_svc_port *p, double weight,
			   bool local)
{
	cJSON *rules = load_chain(j, chain);
	const cJSON *r, *e;

	if (!rules) {
		missing_chain(j, p, chain);
		return;
	}
	cJSON_ArrayForEach(r, rules) {
		cJSON_ArrayForEach(e, r) {
			const cJSON *d = jget(e, "dnat");

			if (d && cJSON_IsString(jget(d, "addr")))
				add_to(j, p, local, jstr(d, "addr"), cJSON_GetNumberValue(jget(d, "port")),
				       weight);
		}
	}
	cJSON_Delete(rules);
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

/* service- or local- chain: masquerade rule, affinity rules, the random pick;
 * a local- chain reached from outside is the external-traffic list. */
static void service_chain(struct nj *j, const char *chain, struct sp_svc_port *p, bool internal)
{
	cJSON *rules = load_chain(j, chain);
	const cJSON *r, *e;
	struct sp_inspect_port *x = sp_inspect_port_extra(j->in, p->key);
	bool local = !internal && !strncmp(chain, "local-", 6);

	if (!rules) {
		missing_chain(j, p, chain);
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
				int t = set_timeout(j, jget(m, "right")->valuestring + 1);

				affinity = true;
				if (t >= 0)
					p->affinity_timeout = t;
			}
			if (jmp && jstr(jmp, "target") && !strcmp(jstr(jmp, "target"), "mark-for-masquerade"))
				masq = true;
			if (v && jget(jget(v, "key"), "numgen")) {
				const cJSON *set = jget(jget(v, "data"), "set"), *it;
				int n = cJSON_GetArraySize(set), mod = (int)jint(
					jget(jget(jget(v, "key"), "numgen"), "mod"), 0, 1 << 24);

				if (n != mod)
					sp_inspect_port_finding(j->in, p, ": %s picks among %d slots but has %d endpoint(s)", chain, mod, n);
				cJSON_ArrayForEach(it, set) {
					const cJSON *g = jget(cJSON_GetArrayItem(it, 1), "goto");

					if (g && jstr(g, "target"))
						endpoint_chain(j, jstr(g, "target"), p, n ? 1.0 / mod : 0, local);
				}
			}
			if (d && jget(jget(d, "addr"), "map")) {	/* 1.36: inline map */
				const cJSON *map = jget(jget(d, "addr"), "map"), *set = jget(jget(map, "data"), "set"), *it;
				int mod = (int)jint(jget(jget(jget(map, "key"), "numgen"), "mod"), 0, 1 << 24);

				cJSON_ArrayForEach(it, set) {
					const cJSON *c = jget(cJSON_GetArrayItem(it, 1), "concat");

					add_to(j, p, local, cJSON_GetStringValue(cJSON_GetArrayItem(c, 0)),
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
					 (int)jint(jget(masq_prefix, "len"), 0, 128));
				if (!sp_cidr_parse(cidr, false, &x->keep_src[x->nkeep]))
					x->nkeep++;
			}
		}
	}
	cJSON_Delete(rules);
}

/* Follow a dispatch verdict: service-, local- or external- chain. */
static void dispatch(struct nj *j, struct sp_svc_port *p, const char *target, bool internal)
{
	cJSON *rules;
	const cJSON *r, *e;
	struct sp_inspect_port *x = sp_inspect_port_extra(j->in, p->key);

	if (!strncmp(target, "service-", 8) || !strncmp(target, "local-", 6)) {
		if (!strncmp(target, "local-", 6))
			p->etp = SP_POLICY_LOCAL;
		if (!strncmp(target, "local-", 6) && !internal ? !x || !x->has_external
							       : !p->n_eps || internal)
			service_chain(j, target, p, internal);
		return;
	}
	if (strncmp(target, "external-", 9))
		return;
	rules = load_chain(j, target);
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
				if (!strncmp(jstr(g, "target"), "local-", 6) ? !x || !x->has_external
									      : !p->n_eps)
					service_chain(j, jstr(g, "target"), p, false);
			}
		}
	}
	cJSON_Delete(rules);
}

static void read_maps(struct nj *j)
{
	cJSON *root;
	const cJSON *e, *map = parse_slice(j, &j->service_ips, &root);

	cJSON_ArrayForEach(e, jget(map, "elem")) {
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
		if (!g || !jstr(g, "target") || !ip || sp_addr_parse(ip, &a) || a.family != j->af ||
		    !chain_service(jstr(g, "target"), name, sizeof(name), &proto))
			continue;
		p = sp_inspect_svc_port(j->in, name, proto, a.family);
		if (!p)
			continue;
		p->port = (uint16_t)jint(cJSON_GetArrayItem(c, 2), 0, 65535);
		/* A ClusterIP goes to service-/local-; other addresses to external-. */
		kind = jstr(g, "target");
		if (!strncmp(kind, "external-", 9))
			sp_inspect_add_addr(&p->external_ips, &a);
		else
			sp_inspect_add_addr(&p->cluster_ips, &a);
		dispatch(j, p, kind, strncmp(kind, "external-", 9) != 0);
	}
	cJSON_Delete(root);
	map = parse_slice(j, &j->nodeports, &root);
	cJSON_ArrayForEach(e, jget(map, "elem")) {
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
		if (!(p = sp_inspect_svc_port(j->in, name, proto, j->af)))
			continue;
		p->node_port = (uint16_t)jint(cJSON_GetArrayItem(c, 1), 0, 65535);
		dispatch(j, p, jstr(g, "target"), false);
	}
	cJSON_Delete(root);
	for (int np = 0; np < 2; np++) {
		map = parse_slice(j, np ? &j->noep_np : &j->noep, &root);
		cJSON_ArrayForEach(e, jget(map, "elem")) {
			const cJSON *key, *val, *c;
			const char *comment, *ip;
			struct sp_addr a = { .family = (uint8_t)j->af };
			struct sp_svc_port *p;
			bool drop;

			elem_parts(e, &key, &val, &comment);
			c = jget(key, "concat");
			if (!comment)
				continue;
			ip = np ? NULL : cJSON_GetStringValue(cJSON_GetArrayItem(c, 0));
			if (ip && (sp_addr_parse(ip, &a) || a.family != j->af))
				continue;
			p = sp_inspect_svc_port(j->in, comment, sp_proto_parse(
					     !strcmp(cJSON_GetStringValue(cJSON_GetArrayItem(c, np ? 0 : 1)) ?: "", "udp")
						     ? "UDP" : "TCP"), a.family);
			if (!p)
				continue;
			drop = jget(val, "drop") != NULL;
			if (np) {
				p->node_port = (uint16_t)jint(cJSON_GetArrayItem(c, 1), 0, 65535);
			} else {
				sp_inspect_add_addr(&p->cluster_ips, &a);
				p->port = (uint16_t)jint(cJSON_GetArrayItem(c, 2), 0, 65535);
			}
			if (drop) {
				struct sp_inspect_port *x = sp_inspect_port_extra(j->in, p->key);

				if (x)
					x->no_endpoints_drop = x->has_external = true;
				p->etp = SP_POLICY_LOCAL;
			}
			sp_inspect_port_finding(j->in, p, drop ? " has no local endpoints: external traffic to this node is dropped"
						       : " has no endpoints: connections are rejected");
		}
		cJSON_Delete(root);
	}
}

/* --- the scan: top-level objects of the "nftables" array, as slices ---------- */

/* Past whitespace from @i. */
static size_t skip_ws(const char *b, size_t len, size_t i)
{
	while (i < len && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r'))
		i++;
	return i;
}

/* The next object of the array at *@pos, as @sl. Returns 1, 0 at the array's
 * end, -1 when the input ends first, or -2 when the next value is not an object. */
static int next_object(const char *b, size_t len, size_t *pos, struct slice *sl)
{
	size_t i = skip_ws(b, len, *pos);
	int depth = 0;
	bool str = false;

	if (i < len && b[i] == ',')
		i = skip_ws(b, len, i + 1);
	if (i < len && b[i] == ']')
		return 0;
	if (i >= len)
		return -1;
	if (b[i] != '{')
		return -2;
	sl->off = i;
	for (; i < len; i++) {
		char c = b[i];

		if (str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				str = false;
		} else if (c == '"') {
			str = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if ((c == '}' || c == ']') && --depth == 0) {
			sl->len = i + 1 - sl->off;
			*pos = i + 1;
			return 1;
		}
	}
	return -1;
}

/* A stable hash of a JSON value (keys, strings, numbers, structure). */
static uint64_t json_hash(const cJSON *v, uint64_t h)
{
	const unsigned char *s;
	const cJSON *c;

	h = (h ^ (uint64_t)(v->type & 0xff)) * 1099511628211u;
	for (s = (const unsigned char *)(v->string ? v->string : ""); *s; s++)
		h = (h ^ *s) * 1099511628211u;
	if (cJSON_IsString(v))
		for (s = (const unsigned char *)v->valuestring; *s; s++)
			h = (h ^ *s) * 1099511628211u;
	if (cJSON_IsNumber(v))
		h = (h ^ (uint64_t)(int64_t)(v->valuedouble * 1000)) * 1099511628211u;
	for (c = v->child; c; c = c->next)
		h = json_hash(c, h);
	return h;
}

/* Does this rule always end its chain: a plain verdict with no match? */
static bool ends_chain(const cJSON *expr)
{
	static const char *const verdicts[] = { "goto", "accept", "drop", "return", "reject" };
	const cJSON *e;
	bool verdict = false;

	cJSON_ArrayForEach(e, expr) {
		if (jget(e, "match") || jget(e, "vmap"))
			return false;
		for (size_t i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++)
			if (jget(e, verdicts[i]))
				verdict = true;
	}
	return verdict;
}

static struct chain *chain_get(struct nj *j, const char *name)
{
	struct chain *c = sp_hmap_get(j->chains, name);

	if (c)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c || sp_hmap_put(j->chains, name, c, NULL)) {
		free(c);
		return NULL;
	}
	c->ends_at = -1;
	return c;
}

/* A rule of the table: kept as its slice; shadowed and repeated rules noted. */
static int add_rule(struct nj *j, const char *chain, const cJSON *expr, const struct slice *sl)
{
	struct chain *c = chain_get(j, chain);
	uint64_t h = json_hash(expr, 14695981039346656037u);

	if (!c)
		return -ENOMEM;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 4;
		struct slice *r = realloc(c->rules, cap * sizeof(*r));
		uint64_t *hs = r ? realloc(c->hash, cap * sizeof(*hs)) : NULL;

		if (r)
			c->rules = r;
		if (!r || !hs)
			return -ENOMEM;
		c->hash = hs;
		c->cap = cap;
	}
	if (c->ends_at >= 0 && c->ends_at == (long)c->n - 1)
		sp_inspect_finding(j->in, "%s chain %s: rule %zu is never reached (rule %ld before it always ends the chain)",
				   j->af == AF_INET6 ? "ip6" : "ip", chain, c->n + 1, c->ends_at + 1);
	for (size_t i = 0; i < c->n; i++)
		if (c->hash[i] == h) {
			sp_inspect_finding(j->in, "%s chain %s: rule %zu repeats rule %zu",
					   j->af == AF_INET6 ? "ip6" : "ip", chain, c->n + 1, i + 1);
			break;
		}
	if (c->ends_at < 0 && ends_chain(expr))
		c->ends_at = (long)c->n;
	c->rules[c->n] = *sl;
	c->hash[c->n++] = h;
	return 0;
}

/* One top-level object: keep what table kube-proxy of the family needs. */
static int scan_object(struct nj j[2], const cJSON *o, const struct slice *sl)
{
	const char *kind = o->string, *table = jstr(o, "table"), *fam = jstr(o, "family"),
		   *name = jstr(o, "name");
	struct nj *t;

	if (!kind || !table || strcmp(table, "kube-proxy") || !fam)
		return 0;
	if (!strcmp(fam, "ip"))
		t = &j[0];
	else if (!strcmp(fam, "ip6"))
		t = &j[1];
	else
		return 0;
	if (!strcmp(kind, "map") && name) {
		if (!strcmp(name, "service-ips"))
			t->service_ips = *sl;
		else if (!strcmp(name, "service-nodeports"))
			t->nodeports = *sl;
		else if (!strcmp(name, "no-endpoint-services"))
			t->noep = *sl;
		else if (!strcmp(name, "no-endpoint-nodeports"))
			t->noep_np = *sl;
	} else if (!strcmp(kind, "set") && name) {
		struct slice *s = sp_hmap_get(t->sets, name);	/* a repeated name: the last wins */

		if (!s && (!(s = malloc(sizeof(*s))) || sp_hmap_put(t->sets, name, s, NULL))) {
			free(s);
			return -ENOMEM;
		}
		*s = *sl;
	} else if (!strcmp(kind, "chain") && name) {
		return chain_get(t, name) ? 0 : -ENOMEM;
	} else if (!strcmp(kind, "rule") && jstr(o, "chain") && cJSON_IsArray(jget(o, "expr"))) {
		return add_rule(t, jstr(o, "chain"), jget(o, "expr"), sl);
	}
	return 0;
}

/* Endpoint chains that no service chain reached. */
static void unreached(struct nj *j)
{
	size_t n;
	const char **names;

	if (j->in->partial) {
		sp_inspect_note(j->in, "partial dump: chains nothing reaches are not reported (they may "
				"be reached from what is missing)");
		return;
	}
	names = sp_hmap_sorted_keys(j->chains, &n);
	for (size_t i = 0; names && i < n; i++)
		if (!strncmp(names[i], "endpoint-", 9) && !sp_hmap_get(j->reached, names[i]))
			sp_inspect_finding(j->in, "endpoint chain %s is reached by no service chain", names[i]);
	free(names);
}

static void nj_fini(struct nj *j)
{
	struct sp_hmap_iter it = {0};

	while (j->chains && sp_hmap_next(j->chains, &it)) {
		struct chain *c = it.value;

		free(c->rules);
		free(c->hash);
		free(c);
	}
	memset(&it, 0, sizeof(it));
	while (j->sets && sp_hmap_next(j->sets, &it))
		free(it.value);
	sp_hmap_free(j->chains);
	sp_hmap_free(j->reached);
	sp_hmap_free(j->sets);
}

/* Scan the objects after the "nftables" array's opening bracket at @pos. */
static int scan(struct nj j[2], const char *buf, size_t len, size_t pos, bool *other, char *err,
		size_t errsz)
{
	struct slice sl;
	int r;

	while ((r = next_object(buf, len, &pos, &sl)) > 0) {
		cJSON *root = cJSON_ParseWithLength(buf + sl.off, sl.len);
		int e;

		if (!root) {
			snprintf(err, errsz, "not valid JSON (near offset %zu)",
				 cJSON_GetErrorPtr() ? (size_t)(cJSON_GetErrorPtr() - buf) : sl.off);
			return -EINVAL;
		}
		if (root->child && jstr(root->child, "table") && strcmp(jstr(root->child, "table"), "kube-proxy"))
			*other |= !strcmp(jstr(root->child, "table"), "svcplane");
		e = root->child ? scan_object(j, root->child, &sl) : 0;
		cJSON_Delete(root);
		if (e)
			return e;
	}
	if (r < 0) {
		snprintf(err, errsz, "not valid JSON (near offset %zu: %s)", pos,
			 r == -1 ? "the input ends inside the nftables array"
				 : "expected an object in the nftables array");
		return -EINVAL;
	}
	return 0;
}

int sp_inspect_kp_nft_json(const char *buf, size_t len, struct sp_inspect *in, char *err, size_t errsz)
{
	static const char key[] = "\"nftables\"";
	struct nj j[2] = { { .in = in, .buf = buf, .af = AF_INET }, { .in = in, .buf = buf, .af = AF_INET6 } };
	size_t pos = skip_ws(buf, len, 0);
	bool svcplane = false;
	int e = -EINVAL;

	in->format = "nft -j list ruleset (kube-proxy nftables mode)";
	if (pos >= len || buf[pos] != '{') {
		snprintf(err, errsz, "not valid JSON (near offset %zu)", pos);
		return -EINVAL;
	}
	pos = skip_ws(buf, len, pos + 1);
	if (len - pos < sizeof(key) - 1 || memcmp(buf + pos, key, sizeof(key) - 1) ||
	    (pos = skip_ws(buf, len, pos + sizeof(key) - 1)) >= len || buf[pos] != ':' ||
	    (pos = skip_ws(buf, len, pos + 1)) >= len || buf[pos] != '[') {
		snprintf(err, errsz, "no \"nftables\" array: not `nft -j list ruleset` output");
		return -EINVAL;
	}
	for (int f = 0; f < 2; f++) {
		j[f].chains = sp_hmap_new();
		j[f].reached = sp_hmap_new();
		j[f].sets = sp_hmap_new();
		if (!j[f].chains || !j[f].reached || !j[f].sets) {
			e = -ENOMEM;
			goto out;
		}
	}
	if ((e = scan(j, buf, len, pos + 1, &svcplane, err, errsz)))
		goto out;
	e = -EINVAL;
	if (!j[0].service_ips.len && !j[1].service_ips.len) {
		snprintf(err, errsz, "%s", svcplane ? "svcplane's own tables: nft cannot load their JSON back "
						      "(concatenated map data); inspect `nft list ruleset` text instead"
						    : "no table kube-proxy with a service-ips map: not kube-proxy's nftables rules");
		goto out;
	}
	for (int f = 0; f < 2; f++) {
		if (!j[f].service_ips.len)
			continue;
		read_maps(&j[f]);
		unreached(&j[f]);
	}
	{
		struct sp_hmap_iter it = {0};

		while (sp_hmap_next(in->m.ports, &it))
			sp_svc_port_sort_eps(it.value);
	}
	e = 0;
out:
	nj_fini(&j[0]);
	nj_fini(&j[1]);
	return e;
}
