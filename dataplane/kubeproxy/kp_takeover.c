/* kp_takeover.c - kube-proxy's state on this node as one answer: what is
 * here (svcplanectl dump names it) and its removal (--take-over-kube-proxy),
 * nf_tables first, then iptables-legacy. */
#include "../backend.h"
#include "kp_legacy.h"
#include "kp_nft.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* printf at the end of @buf, never past @sz. */
static void add(char *buf, size_t sz, const char *fmt, ...)
{
	size_t l = strlen(buf);
	va_list ap;

	if (l + 1 >= sz)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + l, sz - l, fmt, ap);
	va_end(ap);
}

static void describe(char *buf, size_t sz, const struct kp_nft_found *n,
		     const struct kp_legacy_found *l)
{
	static const char *const fam[2] = { "ip", "ip6" };

	buf[0] = '\0';
	for (int f = 0; f < 2; f++)
		if (n->tables[f])
			add(buf, sz, "%snftables table %s kube-proxy", *buf ? "; " : "", fam[f]);
	for (int f = 0; f < 2; f++)
		if (n->chains[f])
			add(buf, sz, "%siptables-nft: %zu KUBE-* chains (%s)", *buf ? "; " : "", n->chains[f],
			    fam[f]);
	for (int f = 0; f < 2; f++)
		if (l->chains[f])
			add(buf, sz, "%siptables-legacy: %zu KUBE-* chains (%s)", *buf ? "; " : "",
			    l->chains[f], f ? "ip6tables" : "iptables");
}

int sp_kube_proxy_find(char *buf, size_t sz)
{
	struct kp_nft_found n = { 0 };
	struct kp_legacy_found l = { 0 };
	int e;

	buf[0] = '\0';
	if ((e = kp_nft_find(&n))) {
		snprintf(buf, sz, "nf_tables: %s", strerror(-e));
		return e;
	}
	if ((e = kp_legacy_find(&l))) {
		snprintf(buf, sz, "iptables-legacy: %s", e == -ENOENT ? "iptables-legacy-save not installed"
								     : strerror(-e));
		return e;
	}
	describe(buf, sz, &n, &l);
	return *buf ? 1 : 0;
}

int sp_kube_proxy_remove(const struct sp_log *lg)
{
	struct kp_nft_found n = { 0 };
	struct kp_legacy_found l = { 0 };
	size_t jumps = 0;
	char what[512];
	int e, e2;

	e = kp_nft_remove(&n, &jumps, lg);
	if (e)
		sp_log_err(lg, "take-over: removing kube-proxy's nf_tables state: %s; nothing of it removed",
			   strerror(-e));
	e2 = kp_legacy_remove(&l, lg);
	describe(what, sizeof(what), &n, &l);
	if (*what)
		sp_log_info(lg, "take-over: removed kube-proxy's rules: %s (%zu jumps to them deleted)", what,
			    jumps + l.jumps[0] + l.jumps[1]);
	else if (!e && !e2)
		sp_log_info(lg, "take-over: no kube-proxy rules on this node");
	return e ? e : e2;
}
