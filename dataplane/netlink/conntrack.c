/* conntrack.c - ctnetlink dump, match in userspace, delete (libnetfilter_conntrack). */
#include "conntrack.h"
#include "../../common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

struct dump {
	const struct sp_ct_match *m;
	size_t n;
	int family;
	struct nf_conntrack **hits;
	size_t nhits, cap;
	int oom;
};

static bool addr_is(const struct nf_conntrack *ct, int family, enum nf_conntrack_attr v4,
		    enum nf_conntrack_attr v6, const struct sp_addr *a)
{
	if (family == AF_INET6)
		return !memcmp(nfct_get_attr(ct, v6), a->bytes, 16);
	return nfct_get_attr_u32(ct, v4) == a->v4.s_addr;
}

static bool matches(const struct nf_conntrack *ct, int family, const struct sp_ct_match *m)
{
	bool dnat = (nfct_get_attr_u32(ct, ATTR_STATUS) & IPS_DST_NAT) != 0;

	if (m->addr.family != family || nfct_get_attr_u8(ct, ATTR_L4PROTO) != m->proto)
		return false;
	if (m->endpoint)
		return dnat && addr_is(ct, family, ATTR_REPL_IPV4_SRC, ATTR_REPL_IPV6_SRC, &m->addr) &&
		       ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC)) == m->port;
	return !dnat && addr_is(ct, family, ATTR_ORIG_IPV4_DST, ATTR_ORIG_IPV6_DST, &m->addr) &&
	       ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST)) == m->port;
}

static int on_entry(enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *arg)
{
	struct dump *d = arg;

	(void)type;
	for (size_t i = 0; i < d->n; i++) {
		if (!matches(ct, d->family, &d->m[i]))
			continue;
		if (d->nhits == d->cap) {
			size_t cap = d->cap ? d->cap * 2 : 16;
			struct nf_conntrack **v = realloc(d->hits, cap * sizeof(*v));

			if (!v) {
				d->oom = 1;
				return NFCT_CB_STOP;
			}
			d->hits = v;
			d->cap = cap;
		}
		d->hits[d->nhits] = nfct_clone(ct);
		if (d->hits[d->nhits])
			d->nhits++;
		break;
	}
	return NFCT_CB_CONTINUE;
}

static int flush_family(int family, const struct sp_ct_match *m, size_t n,
			const struct sp_log *lg)
{
	struct nfct_handle *h = nfct_open(CONNTRACK, 0);
	struct dump d = { .m = m, .n = n, .family = family };
	uint32_t fam = (uint32_t)family;
	int deleted = 0;

	if (!h)
		return -errno;
	nfct_callback_register(h, NFCT_T_ALL, on_entry, &d);
	if (nfct_query(h, NFCT_Q_DUMP, &fam) == -1)
		sp_log_warn(lg, "conntrack: dump: %s", strerror(errno));
	nfct_callback_unregister(h);
	for (size_t i = 0; i < d.nhits; i++) {
		if (nfct_query(h, NFCT_Q_DESTROY, d.hits[i]) == 0)
			deleted++;
		nfct_destroy(d.hits[i]);
	}
	free(d.hits);
	nfct_close(h);
	return d.oom ? -ENOMEM : deleted;
}

int sp_ct_flush(const struct sp_ct_match *m, size_t n, const struct sp_log *lg)
{
	int total = 0;

	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET, r;
		bool any = false;

		for (size_t i = 0; i < n && !any; i++)
			any = m[i].addr.family == family;
		if (!any)
			continue;
		r = flush_family(family, m, n, lg);
		if (r < 0)
			return r;
		total += r;
	}
	return total;
}
