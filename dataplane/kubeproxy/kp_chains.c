/* kp_chains.c - kube-proxy's iptables chain names, and the restore script
 * that removes them (as kube-proxy's own CleanupLeftovers does). */
#include "kp_chains.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Chains kube-proxy's iptables mode creates, by table (pkg/proxy/iptables). */
static const struct {
	const char *table, *name;
	bool prefix;	/* per service or endpoint: KUBE-SVC-<hash> */
} kp_chains[] = {
	{ "nat", "KUBE-SERVICES" },	   { "nat", "KUBE-NODEPORTS" },
	{ "nat", "KUBE-POSTROUTING" },	   { "nat", "KUBE-MARK-MASQ" },
	{ "nat", "KUBE-PROXY-CANARY" },	   { "nat", "KUBE-SVC-", true },
	{ "nat", "KUBE-SVL-", true },	   { "nat", "KUBE-SEP-", true },
	{ "nat", "KUBE-EXT-", true },	   { "nat", "KUBE-FW-", true },
	{ "nat", "KUBE-XLB-", true },	   { "filter", "KUBE-SERVICES" },
	{ "filter", "KUBE-EXTERNAL-SERVICES" }, { "filter", "KUBE-FORWARD" },
	{ "filter", "KUBE-NODEPORTS" },	   { "filter", "KUBE-PROXY-FIREWALL" },
	{ "filter", "KUBE-PROXY-CANARY" }, { "mangle", "KUBE-PROXY-CANARY" },
};

bool kp_chain_is_kube_proxy(const char *table, const char *chain)
{
	for (size_t i = 0; i < sizeof(kp_chains) / sizeof(kp_chains[0]); i++) {
		if (strcmp(kp_chains[i].table, table))
			continue;
		if (kp_chains[i].prefix ? !strncmp(chain, kp_chains[i].name, strlen(kp_chains[i].name))
					: !strcmp(chain, kp_chains[i].name))
			return true;
	}
	return false;
}

/* The target of a rule line ("-A C … -j T" or "-g T"), into @out. */
static bool rule_target(const char *line, char *out, size_t sz)
{
	const char *p = strstr(line, " -j ");

	if (!p)
		p = strstr(line, " -g ");
	if (!p)
		return false;
	p += 4;
	snprintf(out, sz, "%.*s", (int)strcspn(p, " \n"), p);
	return true;
}

/* A growable string. */
struct sb {
	char *s;
	size_t n, cap;
	int err;
};

static void sb_add(struct sb *b, const char *a, const char *c)
{
	size_t need = strlen(a) + strlen(c);

	if (b->err)
		return;
	if (b->n + need + 1 > b->cap) {
		size_t cap = (b->n + need + 1) * 2;
		char *s = realloc(b->s, cap);

		if (!s) {
			b->err = -ENOMEM;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
	memcpy(b->s + b->n, a, strlen(a));
	memcpy(b->s + b->n + strlen(a), c, strlen(c));
	b->n += need;
	b->s[b->n] = '\0';
}

int kp_legacy_script(const char *save, size_t len, char **script, size_t *chains, size_t *jumps)
{
	char *copy = strndup(save, len), *line, *save_p = NULL;
	char table[32] = "";
	struct sb out = { 0 }, flush = { 0 }, del = { 0 }, rm = { 0 };
	int e = 0;

	*script = NULL;
	*chains = *jumps = 0;
	if (!copy)
		return -ENOMEM;
	for (line = strtok_r(copy, "\n", &save_p); line && !e; line = strtok_r(NULL, "\n", &save_p)) {
		char name[128], target[128];

		if (line[0] == '*') {
			snprintf(table, sizeof(table), "%s", line + 1);
			flush.n = del.n = rm.n = 0;
		} else if (!strcmp(line, "COMMIT")) {
			/* Flush kube-proxy's chains, unhook them, then delete them. */
			if (flush.n) {
				sb_add(&out, "*", table);
				sb_add(&out, "\n", flush.s);
				sb_add(&out, del.n ? del.s : "", rm.s);
				sb_add(&out, "COMMIT\n", "");
			}
			table[0] = '\0';
		} else if (line[0] == ':' || !strncmp(line, "-A ", 3)) {
			if (!table[0]) {
				e = -EINVAL;
				break;
			}
			if (line[0] == ':') {
				snprintf(name, sizeof(name), ":%.*s", (int)strcspn(line + 1, " "), line + 1);
				if (kp_chain_is_kube_proxy(table, name + 1)) {
					sb_add(&flush, name, " - [0:0]\n");
					sb_add(&rm, "-X ", name + 1);
					sb_add(&rm, "\n", "");
					(*chains)++;
				}
				continue;
			}
			snprintf(name, sizeof(name), "%.*s", (int)strcspn(line + 3, " "), line + 3);
			/* Rules inside kube-proxy's chains go with the flush. */
			if (!kp_chain_is_kube_proxy(table, name) && rule_target(line, target, sizeof(target)) &&
			    kp_chain_is_kube_proxy(table, target)) {
				sb_add(&del, "-D", line + 2);
				sb_add(&del, "\n", "");
				(*jumps)++;
			}
		}
	}
	e = e ? e : out.err ? out.err : flush.err ? flush.err : del.err ? del.err : rm.err;
	free(flush.s);
	free(del.s);
	free(rm.s);
	free(copy);
	if (!e && out.n)
		*script = out.s;
	else
		free(out.s);
	return e;
}
