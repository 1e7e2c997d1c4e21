/* us_addrs.c - svcplane0 (a portless bridge) and its addresses over
 * libnl-route-3; the set of addresses held is mirrored in memory (sorted)
 * so a sync only sends the differences. */
#include "us_addrs.h"
#include "../../common/log.h"

#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/if_addr.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>

struct us_link {
	struct nl_sock *sk;
	int ifindex;
	const struct sp_log *log;
	struct sp_addr *have; /* sorted */
	size_t n, cap;
};

/* libnl's error codes back to errno values, for the -errno rule. */
static int nlerr(int e)
{
	switch (-e) {
	case NLE_EXIST:
		return -EEXIST;
	case NLE_NOADDR:
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_NODEV:
		return -ENODEV;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case NLE_INVAL:
		return -EINVAL;
	default:
		return -EIO;
	}
}

static int cmp_addr(const void *a, const void *b)
{
	return sp_addr_cmp(a, b);
}

/* In the sorted first @n addresses held? */
static bool have(const struct us_link *l, size_t n, const struct sp_addr *a)
{
	return bsearch(a, l->have, n, sizeof(*a), cmp_addr) != NULL;
}

static int remember(struct us_link *l, const struct sp_addr *a)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct sp_addr *v = realloc(l->have, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->have = v;
		l->cap = cap;
	}
	l->have[l->n++] = *a;
	return 0;
}

static int create_link(struct nl_sock *sk)
{
	struct rtnl_link *link = rtnl_link_alloc();
	int e;

	if (!link)
		return -ENOMEM;
	rtnl_link_set_name(link, US_LINK_NAME);
	if ((e = rtnl_link_set_type(link, "bridge")) >= 0)
		e = rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(link);
	return e < 0 && -e != NLE_EXIST ? nlerr(e) : 0;
}

static int set_up(struct nl_sock *sk, struct rtnl_link *cur)
{
	struct rtnl_link *chg;
	int e;

	if (rtnl_link_get_flags(cur) & IFF_UP)
		return 0;
	if (!(chg = rtnl_link_alloc()))
		return -ENOMEM;
	rtnl_link_set_flags(chg, IFF_UP);
	e = rtnl_link_change(sk, cur, chg, 0);
	rtnl_link_put(chg);
	return e < 0 ? nlerr(e) : 0;
}

/* Read the link's global addresses into l->have. */
static int read_addrs(struct us_link *l)
{
	struct nl_cache *c;
	int e;

	if ((e = rtnl_addr_alloc_cache(l->sk, &c)) < 0)
		return nlerr(e);
	l->n = 0;
	for (struct nl_object *o = nl_cache_get_first(c); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *ra = (struct rtnl_addr *)o;
		struct nl_addr *local = rtnl_addr_get_local(ra);
		int fam = rtnl_addr_get_family(ra);
		struct sp_addr a = {0};

		if (rtnl_addr_get_ifindex(ra) != l->ifindex || !local ||
		    rtnl_addr_get_scope(ra) != RT_SCOPE_UNIVERSE ||
		    (fam != AF_INET && fam != AF_INET6))
			continue;
		a.family = (uint8_t)fam;
		a.prefix_len = (uint8_t)sp_addr_bits(fam);
		memcpy(a.bytes, nl_addr_get_binary_addr(local), fam == AF_INET6 ? 16 : 4);
		if ((e = remember(l, &a))) {
			nl_cache_free(c);
			return e;
		}
	}
	nl_cache_free(c);
	qsort(l->have, l->n, sizeof(*l->have), cmp_addr);
	return 0;
}

struct us_link *us_link_open(bool create, const struct sp_log *lg)
{
	struct us_link *l = calloc(1, sizeof(*l));
	struct rtnl_link *cur = NULL;
	int e;

	if (!l)
		return NULL;
	l->log = lg;
	if (!(l->sk = nl_socket_alloc())) {
		e = -ENOMEM;
		goto err;
	}
	if ((e = nl_connect(l->sk, NETLINK_ROUTE)) < 0) {
		e = nlerr(e);
		goto err;
	}
	e = rtnl_link_get_kernel(l->sk, 0, US_LINK_NAME, &cur);
	if (e < 0 && create) {
		if ((e = create_link(l->sk)))
			goto err;
		e = rtnl_link_get_kernel(l->sk, 0, US_LINK_NAME, &cur);
	}
	if (e < 0) {
		e = nlerr(e) == -ENOENT ? -ENODEV : nlerr(e);
		goto err;
	}
	l->ifindex = rtnl_link_get_ifindex(cur);
	if (create && (e = set_up(l->sk, cur)))
		goto err;
	rtnl_link_put(cur);
	cur = NULL;
	if ((e = read_addrs(l)))
		goto err;
	return l;
err:
	if (cur)
		rtnl_link_put(cur);
	us_link_close(l);
	errno = -e;
	return NULL;
}

void us_link_close(struct us_link *l)
{
	if (!l)
		return;
	nl_socket_free(l->sk);
	free(l->have);
	free(l);
}

static struct rtnl_addr *addr_msg(const struct us_link *l, const struct sp_addr *a)
{
	struct rtnl_addr *ra = rtnl_addr_alloc();
	struct nl_addr *na;

	if (!ra)
		return NULL;
	na = nl_addr_build(a->family, a->bytes, a->family == AF_INET6 ? 16 : 4);
	if (!na) {
		rtnl_addr_put(ra);
		return NULL;
	}
	nl_addr_set_prefixlen(na, sp_addr_bits(a->family));
	rtnl_addr_set_ifindex(ra, l->ifindex);
	rtnl_addr_set_family(ra, a->family);
	rtnl_addr_set_local(ra, na);
	nl_addr_put(na);
	/* No DAD (nothing else is on this link), no prefix route (the local
	 * table's entry is all that is needed to accept the traffic). */
	rtnl_addr_set_flags(ra, IFA_F_NODAD | IFA_F_NOPREFIXROUTE);
	return ra;
}

int us_link_add(struct us_link *l, const struct sp_addr *want, size_t n)
{
	size_t before = l->n;
	int first = 0;

	for (size_t i = 0; i < n; i++) {
		struct sp_addr a = want[i];
		struct rtnl_addr *ra;
		char buf[SP_ADDRSTRLEN];
		int e;

		a.prefix_len = (uint8_t)sp_addr_bits(a.family);
		if (have(l, before, &a))
			continue;
		/* Added in this call already (duplicates in @want)? */
		for (size_t j = before; j < l->n; j++)
			if (!sp_addr_cmp(&l->have[j], &a))
				goto next;
		if (!(ra = addr_msg(l, &a)))
			e = -ENOMEM;
		else if ((e = rtnl_addr_add(l->sk, ra, 0)) < 0 && -e != NLE_EXIST)
			e = nlerr(e);
		else
			e = remember(l, &a);
		if (ra)
			rtnl_addr_put(ra);
		if (e) {
			sp_log_err(l->log, "userspace: address %s on %s: %s", sp_addr_str(&a, buf),
				   US_LINK_NAME, strerror(-e));
			first = first ? first : e;
		}
	next:;
	}
	qsort(l->have, l->n, sizeof(*l->have), cmp_addr);
	return first;
}

int us_link_prune(struct us_link *l, const struct sp_addr *keep, size_t n)
{
	struct sp_addr *k = NULL;
	size_t out = 0;
	int first = 0;

	if (n && !(k = malloc(n * sizeof(*k))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		k[i] = keep[i];
		k[i].prefix_len = (uint8_t)sp_addr_bits(k[i].family);
	}
	qsort(k, n, sizeof(*k), cmp_addr);
	for (size_t i = 0; i < l->n; i++) {
		struct rtnl_addr *ra;
		char buf[SP_ADDRSTRLEN];
		int e = 0;

		if (n && bsearch(&l->have[i], k, n, sizeof(*k), cmp_addr)) {
			l->have[out++] = l->have[i];
			continue;
		}
		if (!(ra = addr_msg(l, &l->have[i])))
			e = -ENOMEM;
		else if ((e = rtnl_addr_delete(l->sk, ra, 0)) < 0 && -e != NLE_NOADDR &&
			 -e != NLE_OBJ_NOTFOUND)
			e = nlerr(e);
		else
			e = 0;
		if (ra)
			rtnl_addr_put(ra);
		if (e) {
			sp_log_err(l->log, "userspace: removing address %s from %s: %s",
				   sp_addr_str(&l->have[i], buf), US_LINK_NAME, strerror(-e));
			first = first ? first : e;
			l->have[out++] = l->have[i]; /* still there */
		}
	}
	l->n = out;
	free(k);
	return first;
}

size_t us_link_count(const struct us_link *l)
{
	return l->n;
}

bool us_link_alive(const struct us_link *l)
{
	char name[IF_NAMESIZE];

	return if_indextoname((unsigned)l->ifindex, name) && !strcmp(name, US_LINK_NAME);
}

int us_link_exists(void)
{
	return if_nametoindex(US_LINK_NAME) ? 1 : errno == ENODEV ? 0 : -errno;
}

int us_link_remove(void)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct rtnl_link *link;
	int e;

	if (!sk)
		return -ENOMEM;
	if ((e = nl_connect(sk, NETLINK_ROUTE)) < 0) {
		e = nlerr(e);
		goto out;
	}
	if (!(link = rtnl_link_alloc())) {
		e = -ENOMEM;
		goto out;
	}
	rtnl_link_set_name(link, US_LINK_NAME);
	e = rtnl_link_delete(sk, link);
	rtnl_link_put(link);
	e = e < 0 && nlerr(e) != -ENODEV && nlerr(e) != -ENOENT ? nlerr(e) : 0;
out:
	nl_socket_free(sk);
	return e;
}
