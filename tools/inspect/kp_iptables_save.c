/* kp_iptables_save.c - kube-proxy's iptables mode, from `iptables-save` text: tables
 * and chains parsed in place (tokens NUL-terminated inside one copy of the
 * input, each rule reduced to the matches kube-proxy writes), then read as
 * kube-proxy builds them: KUBE-SERVICES → KUBE-SVC/SVL/EXT/FW → KUBE-SEP. */
#include "inspect.h"
#include "../../common/hmap.h"
#include "../../control/k8s_field.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define MAX_TOKENS 96

struct rule {
	uint32_t line;
	bool has_dst, has_src, src_neg, addrtype_dst_local, addrtype_src_local, recent_rcheck;
	bool recent_set;
	struct sp_addr dst, src;
	uint8_t proto;
	uint16_t dport;
	double probability;	/* -1: no statistic match */
	uint32_t seconds;	/* recent --seconds */
	const char *comment, *target, *to_dest, *reject_with;
};

struct chain {
	const char *name;
	struct rule *rules;
	size_t n, cap;
	bool declared, reached;
};

struct table {
	struct sp_hmap *chains;	/* name → struct chain */
};

struct ipt {
	char *buf;		/* the caller's input, tokens cut in place */
	struct table nat, filter, other;
	struct sp_inspect *in;
	struct sp_hmap *claims;	/* "vip/proto/port" → claiming "ns/svc:port" (strdup) */
	uint32_t lines;		/* in the dump */
	struct seen {		/* rule hashes (table, chain, words) → line, open addressing */
		struct seen_slot {
			uint64_t h;	/* 0: empty */
			uint32_t line;
		} *v;
		size_t n, cap;
	} seen;
};

/* The line of an earlier rule with hash @h, after recording @line for it. 0
 * when it is the first (or there is no memory to remember it). */
static uint32_t seen_put(struct seen *t, uint64_t h, uint32_t line)
{
	size_t i;

	if (!h)
		h = 1;
	if (2 * (t->n + 1) > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		struct seen_slot *v = calloc(cap, sizeof(*v));

		if (!v)
			return 0;
		for (size_t k = 0; k < t->cap; k++)
			if (t->v[k].h) {
				for (i = t->v[k].h & (cap - 1); v[i].h; i = (i + 1) & (cap - 1))
					;
				v[i] = t->v[k];
			}
		free(t->v);
		t->v = v;
		t->cap = cap;
	}
	for (i = h & (t->cap - 1); t->v[i].h; i = (i + 1) & (t->cap - 1))
		if (t->v[i].h == h)
			return t->v[i].line;
	t->v[i].h = h;
	t->v[i].line = line;
	t->n++;
	return 0;
}

/* A rule that repeats an earlier one of its chain word for word (counters
 * aside) is a finding. */
static void note_repeat(struct ipt *p, const struct table *t, const char *chain, char **tok, int n,
			uint32_t line)
{
	uint64_t h = 14695981039346656037u;
	uint32_t first;

	h = (h ^ (uint64_t)(t == &p->nat ? 'n' : t == &p->filter ? 'f' : 'o')) * 1099511628211u;
	for (const char *c = chain; *c; c++)
		h = (h ^ (uint8_t)*c) * 1099511628211u;
	for (int i = 0; i < n; i++) {
		h = (h ^ ' ') * 1099511628211u;
		for (const char *c = tok[i]; *c; c++)
			h = (h ^ (uint8_t)*c) * 1099511628211u;
	}
	if ((first = seen_put(&p->seen, h, line)))
		sp_inspect_finding(p->in, "line %u repeats line %u in chain %s", line, first, chain);
}

static bool has_addr(const struct sp_addr_list *l, const struct sp_addr *a)
{
	for (size_t i = 0; i < l->n; i++)
		if (!sp_addr_cmp(&l->v[i], a))
			return true;
	return false;
}

static struct chain *chain_get(struct table *t, const char *name)
{
	struct chain *c = sp_hmap_get(t->chains, name);

	if (c)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c || sp_hmap_put(t->chains, name, c, NULL)) {
		free(c);
		return NULL;
	}
	c->name = name;
	return c;
}

/* Split @s into tokens in place; "quoted strings" become one token. */
static int tokenize(char *s, char **tok, int max)
{
	int n = 0;

	while (*s) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		if (n == max)
			return -1;
		if (*s == '"') {
			char *w = ++s;

			tok[n++] = w;
			while (*s && *s != '"') {
				if (*s == '\\' && s[1])
					s++;
				*w++ = *s++;
			}
			if (*s)
				s++;
			*w = '\0';
			continue;
		}
		tok[n++] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
		if (*s)
			*s++ = '\0';
	}
	return n;
}

static int fill_rule(struct rule *r, char **tok, int n, char *err, size_t errsz)
{
	bool neg = false;

	r->probability = -1;
	for (int i = 0; i < n; i++) {
		const char *t = tok[i], *v = i + 1 < n ? tok[i + 1] : NULL;

		if (!strcmp(t, "!")) {
			neg = true;
			continue;
		}
		if ((!strcmp(t, "-d") || !strcmp(t, "-s")) && v) {
			struct sp_addr *a = t[1] == 'd' ? &r->dst : &r->src;

			if (sp_cidr_parse(v, false, a)) {
				snprintf(err, errsz, "line %u: %s \"%.60s\" is not an address", r->line, t, v);
				return -EINVAL;
			}
			if (t[1] == 'd') {
				r->has_dst = true;
			} else {
				r->has_src = true;
				r->src_neg = neg;
			}
			i++;
		} else if (!strcmp(t, "-p") && v) {
			r->proto = sp_proto_parse(!strcmp(v, "tcp") ? "TCP" : !strcmp(v, "udp") ? "UDP" :
						  !strcmp(v, "sctp") ? "SCTP" : "?");
			i++;
		} else if (!strcmp(t, "--dport") && v) {
			char *end;
			long p = strtol(v, &end, 10);

			if (*end || p < 1 || p > 65535) {
				snprintf(err, errsz, "line %u: --dport \"%.20s\" is not a port", r->line, v);
				return -EINVAL;
			}
			r->dport = (uint16_t)p;
			i++;
		} else if (!strcmp(t, "--comment") && v) {
			r->comment = v;
			i++;
		} else if (!strcmp(t, "--probability") && v) {
			char *end;

			r->probability = strtod(v, &end);
			if (*end || !(r->probability >= 0 && r->probability <= 1)) {
				snprintf(err, errsz, "line %u: --probability \"%.20s\" is not in 0-1", r->line, v);
				return -EINVAL;
			}
			i++;
		} else if (!strcmp(t, "--rcheck")) {
			r->recent_rcheck = true;
		} else if (!strcmp(t, "--set")) {
			r->recent_set = true;
		} else if (!strcmp(t, "--seconds") && v) {
			r->seconds = (uint32_t)strtoul(v, NULL, 10);
			i++;
		} else if (!strcmp(t, "--dst-type") && v) {
			r->addrtype_dst_local = !strcmp(v, "LOCAL");
			i++;
		} else if (!strcmp(t, "--src-type") && v) {
			r->addrtype_src_local = !strcmp(v, "LOCAL");
			i++;
		} else if ((!strcmp(t, "-j") || !strcmp(t, "-g")) && v) {
			r->target = v;
			i++;
		} else if (!strcmp(t, "--to-destination") && v) {
			r->to_dest = v;
			i++;
		} else if (!strcmp(t, "--reject-with") && v) {
			r->reject_with = v;
			i++;
		}
		neg = false;
	}
	return 0;
}

/* Is line @s rule text of some iptables tool (iptables-save, -S)? What is
 * not (a shell prompt, the author's words) is skipped and said. */
static bool rule_text(const char *s)
{
	static const char *const heads[] = { "-A ", "-N ", "-P ", "-I " };

	if (*s == '*' || *s == '#' || *s == '[' || (*s == ':' && s[1] && s[1] != ' ') ||
	    !strcmp(s, "COMMIT"))
		return true;
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
		if (!strncmp(s, heads[i], 3))
			return true;
	return false;
}

/* Is line @s (blanks trimmed) where the author left rules out: grep's "--",
 * or an ellipsis or "snip" as people write them ("...", "…", "[...]",
 * "(…)", "<snip>", "# ...")? Not "[0:0] -A ...": counters hold digits. */
static bool cut_mark(const char *s)
{
	static const char *const opens = "[(<", *const closes = "])>";
	const char *o, *e = s + strlen(s);
	size_t dots = 0, words = 0;

	if (!strcmp(s, "--"))
		return true;
	if (*s == '#')
		s++;
	while (*s == ' ')
		s++;
	if (*s && (o = strchr(opens, *s)) && e > s + 1 && e[-1] == closes[o - opens])
		s++, e--;
	while (s < e) {
		if (*s == '.') {
			dots++, s++;
		} else if (e - s >= 3 && !memcmp(s, "\xe2\x80\xa6", 3)) {	/* … */
			dots += 3, s += 3;
		} else if (*s == ' ') {
			s++;
		} else if (e - s >= 4 && !strncasecmp(s, "snip", 4)) {
			words++, s += 4;
			s += e - s >= 3 && !strncmp(s, "ped", 3) ? 3 : 0;
		} else {
			return false;
		}
	}
	return dots >= 2 || words;
}

/* The table a rule of an excerpt without "*table" lines belongs to, from its
 * chain and target as kube-proxy writes them. */
static struct table *guess_table(struct ipt *p, char **tok, int n)
{
	static const char *const filter_chains[] = { "INPUT", "FORWARD", "KUBE-EXTERNAL-SERVICES",
						     "KUBE-FORWARD", "KUBE-FIREWALL", "KUBE-PROXY-FIREWALL" };
	const char *target = "";

	for (int i = 2; i + 1 < n; i++)
		if (!strcmp(tok[i], "-j"))
			target = tok[i + 1];
	for (size_t i = 0; i < sizeof(filter_chains) / sizeof(filter_chains[0]); i++)
		if (!strcmp(tok[1], filter_chains[i]))
			return &p->filter;
	if (!strcmp(target, "REJECT") || !strcmp(target, "DROP") || !strcmp(target, "ACCEPT"))
		return &p->filter;
	return &p->nat;
}

static int add_rule(struct ipt *p, struct table *t, char **tok, int n, uint32_t no, char *err,
		    size_t errsz)
{
	struct chain *c = chain_get(t, tok[1]);
	struct rule *r;

	if (!c)
		return -ENOMEM;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 4;
		struct rule *v = realloc(c->rules, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->rules = v;
		c->cap = cap;
	}
	r = &c->rules[c->n];
	memset(r, 0, sizeof(*r));
	r->line = no;
	note_repeat(p, t, tok[1], tok + 2, n - 2, no);
	if (fill_rule(r, tok + 2, n - 2, err, errsz))
		return -EINVAL;
	c->n++;
	return 0;
}

/* What surrounds the rules: lines skipped, an excerpt, a cut-off end. */
struct shape {
	uint32_t skipped, first_skipped, rules, tableless;
	bool table_open, cut_marks;
	const char *open_table;
};

static void say_shape(struct ipt *p, const struct shape *sh, uint32_t last, bool cut_line)
{
	if (sh->skipped)
		sp_inspect_note(p->in, "%u line(s) that are not rule text skipped (a prompt, a "
				"command, prose), the first at line %u", sh->skipped, sh->first_skipped);
	if (cut_line || sh->table_open) {
		p->in->partial = true;
		sp_inspect_note(p->in, "truncated at line %u (%s): what follows is not known", last,
				cut_line ? "the last line is cut off" : "no COMMIT closes the table");
	}
	if (sh->tableless || sh->cut_marks) {
		p->in->partial = true;
		sp_inspect_note(p->in, "partial dump (%s): services are read from the rules there",
				sh->tableless ? "rules without a *table line: grep or iptables -S output"
					      : "'--', '...' or 'snip' lines: an excerpt");
	}
}

static int parse(struct ipt *p, size_t len, char *err, size_t errsz)
{
	struct table *cur = NULL;
	char *line = p->buf, *next, *tok[MAX_TOKENS];
	struct shape sh = {0};
	uint32_t no = 0;
	bool cut_line = false;
	int e;

	if (memchr(p->buf, '\0', len)) {
		snprintf(err, errsz, "binary data (NUL byte at offset %zu): not iptables-save output",
			 (size_t)((char *)memchr(p->buf, '\0', len) - p->buf));
		return -EINVAL;
	}
	p->buf[len] = '\0';
	for (; line && *line; line = next) {
		char *s, *t;
		int n;

		no++;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (next && next - line > 65536) {
			snprintf(err, errsz, "line %u: longer than 64 KiB", no);
			return -EINVAL;
		}
		s = line;
		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		for (t = s + strlen(s); t > s && (t[-1] == ' ' || t[-1] == '\t' || t[-1] == '\r');)
			*--t = '\0';
		if (cut_mark(s)) {
			sh.cut_marks = true;
			continue;
		}
		if (!*s || *s == '#')
			continue;
		if (!rule_text(s)) {
			if (!sh.skipped++)
				sh.first_skipped = no;
			continue;
		}
		if (!next && sh.table_open && strcmp(s, "COMMIT")) {
			cut_line = true;	/* a dump cut off mid-line, inside its table */
			break;
		}
		if (*s == '*') {
			cur = !strcmp(s + 1, "nat") ? &p->nat : !strcmp(s + 1, "filter") ? &p->filter : &p->other;
			sh.table_open = true;
			continue;
		}
		if (!strcmp(s, "COMMIT")) {
			cur = NULL;
			sh.table_open = false;
			continue;
		}
		if (*s == ':') {
			struct chain *c;

			s[strcspn(s, " \t")] = '\0';
			sh.tableless += !cur;	/* grep output: a chain line without its table */
			if (!s[1] || !(c = chain_get(cur ? cur : &p->nat, s + 1)))
				return s[1] ? -ENOMEM : (snprintf(err, errsz, "line %u: chain without a name", no), -EINVAL);
			c->declared = true;
			continue;
		}
		if (*s == '[') {	/* iptables-save -c: "[packets:bytes] -A ..." */
			s = strchr(s, ']');
			if (!s) {
				snprintf(err, errsz, "line %u: unterminated counters", no);
				return -EINVAL;
			}
			s++;
		}
		n = tokenize(s, tok, MAX_TOKENS);
		if (n < 0) {
			snprintf(err, errsz, "line %u: more than %d words in one rule", no, MAX_TOKENS);
			return -EINVAL;
		}
		if (n >= 2 && (!strcmp(tok[0], "-N") || !strcmp(tok[0], "-P"))) {	/* iptables -S */
			struct chain *c = chain_get(cur ? cur : &p->nat, tok[1]);

			if (!c)
				return -ENOMEM;
			c->declared = true;
			continue;
		}
		if (n < 2 || strcmp(tok[0], "-A")) {
			snprintf(err, errsz, "line %u: \"%.40s\": expected a rule (-A CHAIN ...)", no,
				 n ? tok[0] : "");
			return -EINVAL;
		}
		sh.tableless += !cur;
		sh.rules++;
		if ((e = add_rule(p, cur ? cur : guess_table(p, tok, n), tok, n, no, err, errsz)))
			return e;
	}
	p->lines = no;
	say_shape(p, &sh, no, cut_line);
	return 0;
}

/* "ns/svc:port kind" → the port name part and the kind. */
static void split_comment(const char *c, char *name, size_t nsz, const char **kind)
{
	const char *sp = strchr(c, ' ');

	snprintf(name, nsz, "%.*s", sp ? (int)(sp - c) : (int)strlen(c), c);
	*kind = sp ? sp + 1 : "";
}

/* The DNAT target of endpoint chain @sep into @ep. false: none there. */
static bool sep_dnat(const struct chain *sep, struct sp_endpoint *ep)
{
	for (size_t k = 0; sep && k < sep->n; k++) {
		const struct rule *d = &sep->rules[k];
		const char *colon;
		char ip[64];

		if (!d->target || strcmp(d->target, "DNAT") || !d->to_dest)
			continue;
		colon = strrchr(d->to_dest, ':');
		if (!colon)
			continue;
		snprintf(ip, sizeof(ip), "%.*s", (int)(colon - d->to_dest), d->to_dest);
		if (ip[0] == '[')
			memmove(ip, ip + 1, strlen(ip)), ip[strcspn(ip, "]")] = '\0';
		if (sp_addr_parse(ip, &ep->addr))
			continue;
		ep->port = (uint16_t)strtoul(colon + 1, NULL, 10);
		return ep->port != 0;
	}
	return false;
}

/* Endpoints of a KUBE-SVC, KUBE-SVL or (≤ 1.23) KUBE-XLB chain, with their
 * shares of new connections (iptables' statistic chain: rule i taken with
 * probability p_i of what is left), into @sp's endpoints or, with @local, its
 * external-traffic list. An endpoint chain missing from the dump or without a
 * DNAT keeps its share and is a finding naming the address its comment gives. */
static void service_chain(struct ipt *p, struct sp_svc_port *sp, struct chain *c, bool internal,
			  bool local)
{
	struct sp_inspect_port *x = sp_inspect_port_extra(p->in, sp->key);
	double left = 1;
	bool shadowed_noted = false;

	c->reached = true;
	if (local && x)
		x->has_external = true;
	for (size_t i = 0; i < c->n; i++) {
		struct rule *r = &c->rules[i];
		struct chain *sep;
		struct sp_endpoint ep = {0}, *v;
		double w;

		if (!r->target)
			continue;
		if (!strcmp(r->target, "KUBE-MARK-MASQ")) {
			if (x && internal && r->has_src && r->src_neg && x->nkeep < SP_INSPECT_MAX_CIDRS)
				x->keep_src[x->nkeep++] = r->src;
			if (x && internal)
				x->masq_internal = true;
			continue;
		}
		if (!strcmp(r->target, "KUBE-MARK-DROP") && local && !r->has_src) {
			if (x)
				x->no_endpoints_drop = true;
			sp->etp = SP_POLICY_LOCAL;
			sp_inspect_port_finding(p->in, sp, " has no local endpoints: external traffic "
						"to this node is dropped");
			continue;
		}
		if (strncmp(r->target, "KUBE-SEP-", 9) || r->has_src || r->addrtype_src_local)
			continue;
		sep = sp_hmap_get(p->nat.chains, r->target);
		if (sep)
			sep->reached = true;
		if (r->recent_rcheck) {
			sp->affinity_client_ip = true;
			sp->affinity_timeout = r->seconds;
			continue;	/* the same endpoints follow, chosen at random */
		}
		if (left <= 0) {
			if (!shadowed_noted)
				sp_inspect_port_finding(p->in, sp, ": line %u: rule after an unconditional "
							"jump in %s is never reached (shadowed)", r->line,
							c->name);
			shadowed_noted = true;
			continue;
		}
		w = left * (r->probability < 0 ? 1 : r->probability);
		left -= w;
		if (left < 1e-9)
			left = 0;
		if (!sep_dnat(sep, &ep)) {
			const char *to = r->comment ? strstr(r->comment, "-> ") : NULL;

			sp_inspect_port_finding(p->in, sp, ": line %u: endpoint chain %s (%.1f%% of new "
						"connections%s%s) is %s", r->line, r->target, w * 100,
						to ? ", " : "", to ? to : "",
						!sep ? "not in the dump" : "empty (no DNAT rule)");
			if (x)
				x->missing_eps++;
			continue;
		}
		ep.ready = ep.serving = true;
		ep.weight = w;
		if (local) {
			struct sp_addr a = ep.addr;

			if (x && sp_inspect_external_add(x, &a, ep.port))
				return;
			continue;
		}
		v = realloc(sp->eps, (sp->n_eps + 1) * sizeof(*v));
		if (!v)
			return;
		sp->eps = v;
		sp->eps[sp->n_eps++] = ep;
	}
}

/* A chain traffic from outside goes through: KUBE-EXT (1.24+), KUBE-FW
 * (load-balancer IPs; source ranges), KUBE-XLB (≤ 1.23, Local policy), or a
 * KUBE-SVC/KUBE-SVL straight from KUBE-NODEPORTS or KUBE-SERVICES. Pod and
 * node-local traffic (-s, --src-type LOCAL) is short-circuited elsewhere and
 * does not decide the policy. */
static void external_chain(struct ipt *p, struct sp_svc_port *sp, const char *name, int depth)
{
	struct sp_inspect_port *x = sp_inspect_port_extra(p->in, sp->key);
	struct chain *t = sp_hmap_get(p->nat.chains, name);
	bool fw = !strncmp(name, "KUBE-FW-", 8);

	if (!t || depth > 3)
		return;
	t->reached = true;
	if (!strncmp(name, "KUBE-SVL-", 9) || !strncmp(name, "KUBE-XLB-", 9)) {
		sp->etp = SP_POLICY_LOCAL;
		if (x && !x->has_external)
			service_chain(p, sp, t, false, true);
		return;
	}
	if (!strncmp(name, "KUBE-SVC-", 9)) {
		if (!sp->n_eps)
			service_chain(p, sp, t, false, false);
		return;
	}
	for (size_t k = 0; k < t->n; k++) {
		struct rule *e = &t->rules[k];
		bool chain = e->target && (!strncmp(e->target, "KUBE-SVC-", 9) ||
					   !strncmp(e->target, "KUBE-SVL-", 9) ||
					   !strncmp(e->target, "KUBE-XLB-", 9) ||
					   !strncmp(e->target, "KUBE-EXT-", 9));

		if (!e->target || e->addrtype_src_local)
			continue;
		if (!strcmp(e->target, "KUBE-MARK-MASQ") && !e->has_src && x)
			x->masq_external = true;
		if (fw && chain && e->has_src && !e->src_neg)	/* loadBalancerSourceRanges */
			sp_inspect_add_addr(&sp->lb_source_ranges, &e->src);
		if (chain && (!e->has_src || fw))
			external_chain(p, sp, e->target, depth + 1);
	}
}

/* "ns/svc:port kind" of KUBE-SERVICES rule @r into @name; false when the rule
 * is not one of a service's. */
static bool service_rule(const struct rule *r, char *name, size_t nsz, const char **kind)
{
	if (!r->comment || !r->target)
		return false;
	split_comment(r->comment, name, nsz, kind);
	return strchr(name, '/') != NULL;
}

/* KUBE-SERVICES entries, and the chains behind them. */
static void read_services(struct ipt *p, const struct chain *svcs)
{
	for (size_t i = 0; svcs && i < svcs->n; i++) {
		struct rule *r = &svcs->rules[i];
		char name[300], claim[128], a[SP_ADDRSTRLEN];
		const char *kind, *first;
		struct sp_svc_port *sp;
		struct sp_inspect_port *x;
		bool ext;

		if (!r->has_dst || !service_rule(r, name, sizeof(name), &kind))
			continue;
		if (!r->dport) {
			sp_inspect_note(p->in, "line %u: KUBE-SERVICES rule of %s has no --dport: its "
					"port is not known, the rule is not read", r->line, name);
			continue;
		}
		ext = strstr(kind, "external") || strstr(kind, "loadbalancer");
		snprintf(claim, sizeof(claim), "%s/%u/%u", sp_addr_str(&r->dst, a), r->proto, r->dport);
		first = sp_hmap_get(p->claims, claim);
		if (first && strcmp(first, name)) {
			sp_inspect_finding(p->in, "%s:%u/%s is claimed by %s and %s: line %u is shadowed",
					   a, r->dport, sp_proto_name(r->proto), first, name, r->line);
			continue;
		}
		sp = sp_inspect_svc_port(p->in, name, r->proto, r->dst.family);
		if (!sp || !(x = sp_inspect_port_extra(p->in, sp->key)))
			continue;
		sp->port = r->dport;
		if (!first) {
			char *owned = strdup(name);

			if (owned && sp_hmap_put(p->claims, claim, owned, NULL))
				free(owned);
		}
		if (strstr(kind, "external"))
			sp_inspect_add_addr(&sp->external_ips, &r->dst);
		else if (strstr(kind, "loadbalancer"))
			sp_inspect_add_addr(&sp->lb_ips, &r->dst);
		else
			sp_inspect_add_addr(&sp->cluster_ips, &r->dst);
		if (!strcmp(r->target, "KUBE-MARK-MASQ")) {	/* ≤ 1.23: masquerade rules here */
			if (ext)
				x->masq_external = true;
			else if (r->has_src && r->src_neg && x->nkeep < SP_INSPECT_MAX_CIDRS)
				x->keep_src[x->nkeep++] = r->src;
			x->masq_internal |= !ext;
			continue;
		}
		if (!sp_hmap_get(p->nat.chains, r->target)) {
			if (strncmp(r->target, "KUBE-", 5) || !strncmp(r->target, "KUBE-MARK-", 10))
				continue;
			if (p->in->partial)
				sp_inspect_note(p->in, "line %u: %s (of %s) is not in the excerpt", r->line,
						r->target, name);
			else
				sp_inspect_port_finding(p->in, sp, ": line %u jumps to %s, which is not "
							"defined", r->line, r->target);
			continue;
		}
		if (!ext && !strncmp(r->target, "KUBE-SVC-", 9)) {
			struct chain *t = sp_hmap_get(p->nat.chains, r->target);

			if (!sp->n_eps)
				service_chain(p, sp, t, true, false);
			continue;
		}
		external_chain(p, sp, r->target, 0);
	}
}

/* KUBE-NODEPORTS: the NodePort, then the chain it leads to (KUBE-EXT-, or
 * ≤ 1.23 KUBE-SVC- after a KUBE-MARK-MASQ rule, or KUBE-XLB-). */
static void read_nodeports(struct ipt *p, const struct chain *nps)
{
	for (size_t i = 0; nps && i < nps->n; i++) {
		struct rule *r = &nps->rules[i];
		char name[300];
		const char *kind;
		struct sp_svc_port *sp = NULL;
		struct sp_hmap_iter it = {0};

		if (!r->dport || !service_rule(r, name, sizeof(name), &kind))
			continue;
		/* NodePorts carry no address: every family's port of that name. */
		while (sp_hmap_next(p->in->m.ports, &it)) {
			struct sp_svc_port *q = it.value;
			char n2[320];

			snprintf(n2, sizeof(n2), "%s%s%s", q->service, *q->port_name ? ":" : "", q->port_name);
			if (!strcmp(n2, name) && q->protocol == r->proto) {
				q->node_port = r->dport;
				sp = q;
			}
		}
		if (!sp && (sp = sp_inspect_svc_port(p->in, name, r->proto, AF_INET)))
			sp->node_port = r->dport;
		if (!sp)
			continue;
		if (!strcmp(r->target, "KUBE-MARK-MASQ")) {
			struct sp_inspect_port *x = sp_inspect_port_extra(p->in, sp->key);

			/* -s 127.0.0.0/8: only localhost NodePort traffic (Local policy). */
			if (x && !r->has_src)
				x->masq_external = true;
			continue;
		}
		external_chain(p, sp, r->target, 0);
	}
}

/* Service chains no KUBE-SERVICES rule reaches, in an excerpt: read from
 * their own comments ("ns/svc:port -> IP:PORT", ≤ 1.23 "ns/svc:port"). */
static void read_orphans(struct ipt *p)
{
	size_t n;
	const char **names = sp_hmap_sorted_keys(p->nat.chains, &n);

	for (size_t i = 0; names && i < n; i++) {
		struct chain *c = sp_hmap_get(p->nat.chains, names[i]);
		char name[300];
		const char *kind;
		struct sp_endpoint ep = {0};
		struct sp_svc_port *sp = NULL;
		uint8_t proto = 0;

		if (c->reached || strncmp(c->name, "KUBE-SVC-", 9))
			continue;
		for (size_t k = 0; k < c->n && !sp; k++) {
			struct chain *sep = c->rules[k].target ? sp_hmap_get(p->nat.chains, c->rules[k].target)
							       : NULL;

			for (size_t d = 0; sep && d < sep->n && !proto; d++)
				proto = sep->rules[d].to_dest ? sep->rules[d].proto : 0;
			if (!proto || !sep_dnat(sep, &ep) || !service_rule(&c->rules[k], name, sizeof(name), &kind))
				continue;
			sp = sp_inspect_svc_port(p->in, name, proto, ep.addr.family);
		}
		if (!sp)
			continue;
		sp_inspect_note(p->in, "no KUBE-SERVICES rule for %s (%s): its ClusterIP and port are "
				"not in the excerpt", c->name, name);
		service_chain(p, sp, c, true, false);
	}
	free(names);
}

static void check_shares(struct ipt *p)
{
	struct sp_hmap_iter it = {0};

	while (sp_hmap_next(p->in->m.ports, &it)) {
		struct sp_svc_port *sp = it.value;
		double even = sp->n_eps ? 1.0 / (double)sp->n_eps : 0;
		char list[512] = "";
		bool bad = false;

		for (size_t i = 0; i < sp->n_eps; i++) {
			char a[SP_ADDRSTRLEN];
			size_t off = strlen(list);

			bad |= fabs(sp->eps[i].weight - even) > 0.01;
			snprintf(list + off, sizeof(list) - off, "%s%s:%u %.1f%%", i ? ", " : "",
				 sp_addr_str(&sp->eps[i].addr, a), sp->eps[i].port, sp->eps[i].weight * 100);
		}
		if (bad)
			sp_inspect_port_finding(p->in, sp, ": probability chain does not give every "
						"endpoint its share (%s; want %.1f%% each)", list, even * 100);
		sp_svc_port_sort_eps(sp);
	}
}

/* A filter rule's address: a ClusterIP in KUBE-SERVICES; in
 * KUBE-EXTERNAL-SERVICES an external or load-balancer IP (the nat table says
 * which when it has the address; else it is taken as external). */
static void filter_addr(struct sp_svc_port *sp, const struct rule *r, bool external)
{
	if (!external)
		sp_inspect_add_addr(&sp->cluster_ips, &r->dst);
	else if (!has_addr(&sp->lb_ips, &r->dst))
		sp_inspect_add_addr(&sp->external_ips, &r->dst);
}

/* filter: "has no endpoints" rejections, "has no local endpoints" drops and
 * health-check NodePorts. */
static void read_filter(struct ipt *p)
{
	static const char *const chains[] = { "KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES",
					      "KUBE-NODEPORTS" };

	for (int c = 0; c < 3; c++) {
		struct chain *ch = sp_hmap_get(p->filter.chains, chains[c]);

		for (size_t i = 0; ch && i < ch->n; i++) {
			struct rule *r = &ch->rules[i];
			char name[300];
			const char *kind;
			struct sp_svc_port *sp;
			struct sp_inspect_port *x;

			if (!service_rule(r, name, sizeof(name), &kind))
				continue;
			if (c == 2) {
				if (strstr(kind, "health check") && r->dport &&
				    (sp = sp_inspect_svc_port(p->in, name, r->proto, AF_INET)))
					sp->health_check_node_port = r->dport;
				continue;
			}
			if (!strstr(kind, "endpoints"))
				continue;
			sp = sp_inspect_svc_port(p->in, name, r->proto, r->has_dst ? r->dst.family : AF_INET);
			if (!sp || !(x = sp_inspect_port_extra(p->in, sp->key)))
				continue;
			if (r->has_dst) {
				sp->port = r->dport;
				filter_addr(sp, r, c == 1);
			} else if (r->addrtype_dst_local) {
				sp->node_port = r->dport;
			}
			if (!strcmp(r->target, "DROP")) {
				/* Local policy, nothing here: external traffic has
				 * its own list, and it is empty. */
				x->no_endpoints_drop = true;
				x->has_external = true;
				sp->etp = SP_POLICY_LOCAL;
				sp_inspect_port_finding(p->in, sp, " has no local endpoints: external "
							"traffic to this node is dropped");
			} else {
				sp_inspect_port_finding(p->in, sp, " has no endpoints: connections are rejected");
			}
		}
	}
}

static void unreached(struct ipt *p)
{
	const char **names;
	size_t n;

	if (p->in->partial) {
		sp_inspect_note(p->in, "partial dump: chains nothing reaches are not reported (they may be reached from what is missing)");
		return;
	}
	names = sp_hmap_sorted_keys(p->nat.chains, &n);
	for (size_t i = 0; names && i < n; i++) {
		struct chain *c = sp_hmap_get(p->nat.chains, names[i]);

		if (!c->reached && !strncmp(c->name, "KUBE-SEP-", 9))
			sp_inspect_finding(p->in, "endpoint chain %s is reached by no service chain", c->name);
		if (!c->reached && (!strncmp(c->name, "KUBE-SVC-", 9) || !strncmp(c->name, "KUBE-SVL-", 9)))
			sp_inspect_finding(p->in, "service chain %s is reached from no KUBE-SERVICES rule",
					   c->name);
	}
	free(names);
}

static void table_free(struct table *t)
{
	struct sp_hmap_iter it = {0};

	while (t->chains && sp_hmap_next(t->chains, &it)) {
		struct chain *c = it.value;

		free(c->rules);
		free(c);
	}
	sp_hmap_free(t->chains);
}

int sp_inspect_kp_iptables_save(char *buf, size_t len, struct sp_inspect *in, char *err, size_t errsz)
{
	struct ipt p = { .in = in, .buf = buf };
	int e = -ENOMEM;

	in->format = "iptables-save (kube-proxy iptables mode)";
	p.nat.chains = sp_hmap_new();
	p.filter.chains = sp_hmap_new();
	p.other.chains = sp_hmap_new();
	p.claims = sp_hmap_new();
	if (!p.nat.chains || !p.filter.chains || !p.other.chains || !p.claims)
		goto out;
	if ((e = parse(&p, len, err, errsz)))
		goto out;
	if (!sp_hmap_get(p.nat.chains, "KUBE-SERVICES") && !in->partial) {
		in->partial = true;
		sp_inspect_note(in, "partial dump: no nat KUBE-SERVICES chain");
	}
	read_services(&p, sp_hmap_get(p.nat.chains, "KUBE-SERVICES"));
	read_nodeports(&p, sp_hmap_get(p.nat.chains, "KUBE-NODEPORTS"));
	read_filter(&p);
	if (in->partial)
		read_orphans(&p);
	if (!sp_hmap_len(in->m.ports)) {
		snprintf(err, errsz, "line %u: expected kube-proxy's rules (-A KUBE-SERVICES, "
			 "KUBE-SVC-*, KUBE-NODEPORTS with \"ns/svc:port\" comments); read none", p.lines);
		e = -EINVAL;
		goto out;
	}
	unreached(&p);
	check_shares(&p);
	e = 0;
out:
	table_free(&p.nat);
	table_free(&p.filter);
	table_free(&p.other);
	{
		struct sp_hmap_iter it = {0};

		while (p.claims && sp_hmap_next(p.claims, &it))
			free(it.value);
	}
	sp_hmap_free(p.claims);
	free(p.seen.v);
	return e;
}
