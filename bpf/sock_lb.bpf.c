/* sock_lb.bpf.c - socket-level load balancing: cgroup hooks that send a
 * connection (or an unconnected UDP datagram) for a Service address straight
 * to one of its endpoints at connect/sendmsg time, and show the application
 * the Service address again in getpeername and recvmsg. No per-packet NAT.
 * What a socket dialled is kept on the socket (sp_sock_rev), a TCP
 * connection's under its socket's cookie (sp_conn_rev, until the socket is
 * released). Only the SEC() entry points return verdicts. */
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ECONNREFUSED 111
#include "lb_maps.bpf.h"
#include "lb_pick.bpf.h"

static __always_inline bool same_addr(const __u8 *a, const __u8 *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;

	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3];
}

/* Is @st's remembered service address @d (address, port, family)? */
static __always_inline bool is_vip(const struct sp_sock_rev_val *st, const struct dest *d)
{
	return st->family == d->family && st->vip_port_be == d->port_be &&
	       same_addr(st->vip_addr, d->addr);
}

/* Is @st's remembered peer endpoint @d (address, port, family)? */
static __always_inline bool is_ep(const struct sp_sock_rev_val *st, const struct dest *d)
{
	return st->family == d->family && st->ep_port_be == d->port_be &&
	       same_addr(st->ep_addr, d->addr);
}

/* One endpoint of @svc (count > 0) for @d, written into @d. false: none
 * (a slot is always written before its count: not expected). */
static __always_inline bool pick(void *ctx, const struct sp_svc_val *svc, struct dest *d)
{
	struct sp_aff_key ak = {};
	const struct sp_ep_val *ep;
	__u32 ep_id;

	if (svc->flags & SP_SVC_AFFINITY)
		ak.netns_cookie = bpf_get_netns_cookie(ctx);
	ep_id = choose_endpoint(svc, &ak, bpf_get_prandom_u32());
	if (!ep_id)
		return false;
	ep = bpf_map_lookup_elem(&sp_endpoints, &ep_id);
	if (!ep || ep->family != d->family)
		return false;
	__builtin_memcpy(d->addr, ep->addr, 16);
	d->port_be = ep->port_be;
	return true;
}

/* The agent's epoch: it changes after every write of service entries. */
static __always_inline __u32 maps_epoch(void)
{
	__u32 key = 0;
	const struct sp_meta_val *m = bpf_map_lookup_elem(&sp_meta, &key);

	return m ? m->epoch : 0;
}

/* @d becomes the endpoint @st remembers. */
static __always_inline void to_ep(const struct sp_sock_rev_val *st, struct dest *d)
{
	__builtin_memcpy(d->addr, st->ep_addr, 16);
	d->port_be = st->ep_port_be;
}

/* The endpoint this socket had for service address @d, while @svc's
 * endpoints are the same list as then (its gen): written into @d. */
static __always_inline bool again(const struct sp_sock_rev_val *st, const struct sp_svc_val *svc,
				  struct dest *d)
{
	if (st->svc_gen != svc->gen || !is_vip(st, d)) /* (family 0: no vip) */
		return false;
	to_ep(st, d);
	return true;
}

/* An unconnected datagram to the service address this socket remembers,
 * while no service entry has changed since its endpoint was last checked
 * (@epoch): the same endpoint, written into @d, with no service lookup (the
 * socket's storage and the epoch only). */
static __always_inline bool again_unchanged(struct bpf_sock_addr *ctx, __u32 epoch, struct dest *d)
{
	const struct sp_sock_rev_val *st;

	if (!ctx->sk || !epoch)
		return false;
	st = bpf_sk_storage_get(&sp_sock_rev, ctx->sk, 0, 0);
	if (!st || st->epoch != epoch || !is_vip(st, d))
		return false;
	to_ep(st, d);
	return true;
}

/* In the reverse map: for this socket, peer @ep stands for service address
 * @vip (@st->overflow says the map has some). */
static __always_inline void remember_aside(struct bpf_sock_addr *ctx, struct sp_sock_rev_val *st,
					   const __u8 *ep_addr, __u16 ep_port_be, __u8 family,
					   const __u8 *vip_addr, __u16 vip_port_be)
{
	struct sp_rev_key rk = {};
	struct sp_rev_val rv = {};
	const struct sp_rev_val *have;

	rk.cookie = bpf_get_socket_cookie(ctx);
	__builtin_memcpy(rk.addr, ep_addr, 16);
	rk.port_be = ep_port_be;
	rk.family = family;
	__builtin_memcpy(rv.addr, vip_addr, 16);
	rv.port_be = vip_port_be;
	st->overflow = 1;
	/* An unconnected socket sends many datagrams to one service: a lookup
	 * is much cheaper than rewriting the same LRU entry each time. */
	have = bpf_map_lookup_elem(&sp_reverse, &rk);
	if (have && have->port_be == rv.port_be && same_addr(have->addr, rv.addr))
		return;
	bpf_map_update_elem(&sp_reverse, &rk, &rv, BPF_ANY);
}

/* @st: peer @ep stands for service address @vip. */
static __always_inline void set_peer(struct sp_sock_rev_val *st, const struct dest *ep,
				     const struct dest *vip)
{
	__builtin_memcpy(st->ep_addr, ep->addr, 16);
	__builtin_memcpy(st->vip_addr, vip->addr, 16);
	st->ep_port_be = ep->port_be;
	st->vip_port_be = vip->port_be;
	st->family = ep->family;
}

/* Remember, for this socket, that peer @ep stands for service address @vip
 * (of @svc): on the socket itself (@st) when it is the socket's first
 * service, its one peer (@connect) or the same again; in the reverse map
 * beside it when an unconnected socket sends to a second service. An
 * unconnected socket's earlier endpoint for the same service (its list
 * changed) moves to the reverse map: its late replies still show the
 * service's address. */
static __always_inline void remember(struct bpf_sock_addr *ctx, struct sp_sock_rev_val *st,
				     const struct sp_svc_val *svc, const struct dest *ep,
				     const struct dest *vip, bool connect)
{
	bool same_vip = is_vip(st, vip);

	if (!st->family || connect || is_ep(st, ep) || same_vip) {
		if (st->family && !connect && same_vip && !is_ep(st, ep))
			remember_aside(ctx, st, st->ep_addr, st->ep_port_be, st->family,
				       st->vip_addr, st->vip_port_be);
		set_peer(st, ep, vip);
		st->svc_gen = svc->gen;
		return;
	}
	remember_aside(ctx, st, ep->addr, ep->port_be, ep->family, vip->addr, vip->port_be);
}

/* A TCP socket's peer @ep stands for service address @vip: in conn_rev
 * under the socket's cookie. false: the map is full (the caller keeps it on
 * the socket instead). */
static __always_inline bool remember_conn(struct bpf_sock_addr *ctx, const struct dest *ep,
					  const struct dest *vip)
{
	struct sp_sock_rev_val v = {};
	__u64 cookie = bpf_get_socket_cookie(ctx);

	set_peer(&v, ep, vip);
	return !bpf_map_update_elem(&sp_conn_rev, &cookie, &v, BPF_ANY);
}

static __always_inline void load4(struct bpf_sock_addr *ctx, struct dest *d)
{
	__u32 ip = ctx->user_ip4;

	__builtin_memset(d, 0, sizeof(*d));
	__builtin_memcpy(d->addr, &ip, 4);
	d->port_be = (__u16)ctx->user_port;
	d->family = 4;
	d->proto = (__u8)ctx->protocol;
}

static __always_inline void store4(struct bpf_sock_addr *ctx, const struct dest *d)
{
	__u32 ip;

	__builtin_memcpy(&ip, d->addr, 4);
	ctx->user_ip4 = ip;
	ctx->user_port = d->port_be;
}

static __always_inline void load6(struct bpf_sock_addr *ctx, struct dest *d)
{
	__u32 w[4];

	__builtin_memset(d, 0, sizeof(*d));
	w[0] = ctx->user_ip6[0];
	w[1] = ctx->user_ip6[1];
	w[2] = ctx->user_ip6[2];
	w[3] = ctx->user_ip6[3];
	d->port_be = (__u16)ctx->user_port;
	d->proto = (__u8)ctx->protocol;
	if (w[0] == 0 && w[1] == 0 && w[2] == bpf_htonl(0xffff)) {
		/* A dual-stack socket dialling an IPv4 service. */
		__builtin_memcpy(d->addr, &w[3], 4);
		d->family = 4;
		d->mapped = 1;
		return;
	}
	__builtin_memcpy(d->addr, w, 16);
	d->family = 6;
}

static __always_inline void store6(struct bpf_sock_addr *ctx, const struct dest *d)
{
	__u32 w[4];

	if (d->mapped) {
		w[0] = 0;
		w[1] = 0;
		w[2] = bpf_htonl(0xffff);
		__builtin_memcpy(&w[3], d->addr, 4);
	} else {
		__builtin_memcpy(w, d->addr, 16);
	}
	ctx->user_ip6[0] = w[0];
	ctx->user_ip6[1] = w[1];
	ctx->user_ip6[2] = w[2];
	ctx->user_ip6[3] = w[3];
	ctx->user_port = d->port_be;
}

/* connect and unconnected sendmsg: a service address becomes one of its
 * endpoints (the socket's own again while the service's endpoints are the
 * same), or the call is refused. */
static __always_inline int balance(struct bpf_sock_addr *ctx, bool v6, bool connect)
{
	/* Read before any service lookup: every write of a service entry is
	 * followed by a bump, so an epoch stored with what is read after it
	 * is stale as soon as the entries it was checked against change. */
	__u32 epoch = maps_epoch();
	const struct sp_svc_val *svc;
	struct sp_sock_rev_val *st;
	struct dest d, vip;

	if (v6)
		load6(ctx, &d);
	else
		load4(ctx, &d);
	if (!connect && again_unchanged(ctx, epoch, &d))
		goto rewrite;
	svc = find_service(&d);
	if (!svc)
		return 1; /* not a service address: leave the socket alone */
	if (!svc->count)
		goto refuse; /* no endpoint, or a port the address does not serve */
	vip = d;
	if (connect && d.proto == IPPROTO_TCP) {
		if (!pick(ctx, svc, &d))
			goto refuse;
		if (!remember_conn(ctx, &d, &vip) && ctx->sk &&
		    (st = bpf_sk_storage_get(&sp_sock_rev, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE)))
			remember(ctx, st, svc, &d, &vip, true);
		goto rewrite;
	}
	st =
	    ctx->sk ? bpf_sk_storage_get(&sp_sock_rev, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE) : 0;
	/* A connect picks anew (a retried connect gets another chance); an
	 * unconnected datagram keeps the socket's endpoint. Without storage (no
	 * memory for it) the pick still holds: only getpeername and recvmsg
	 * then show the endpoint. */
	if (!st || connect || !again(st, svc, &d)) {
		if (!pick(ctx, svc, &d))
			goto refuse;
		if (st)
			remember(ctx, st, svc, &d, &vip, connect);
	}
	/* The socket's own service, checked against its entry just now. */
	if (st && is_vip(st, &vip))
		st->epoch = epoch;
rewrite:
	if (v6)
		store6(ctx, &d);
	else
		store4(ctx, &d);
	return 1;
refuse:
	bpf_set_retval(-ECONNREFUSED);
	return 0;
}

/* getpeername and recvmsg: an endpoint this socket was sent to shows as the
 * service address it dialled. */
static __always_inline int unbalance(struct bpf_sock_addr *ctx, bool v6)
{
	const struct sp_sock_rev_val *st;
	struct sp_rev_key rk = {};
	const struct sp_rev_val *rv;
	struct dest d;

	if (!ctx->sk)
		return 1;
	st = 0;
	if (ctx->protocol == IPPROTO_TCP) {
		__u64 cookie = bpf_get_socket_cookie(ctx);

		st = bpf_map_lookup_elem(&sp_conn_rev, &cookie);
	}
	if (!st)
		st = bpf_sk_storage_get(&sp_sock_rev, ctx->sk, 0, 0);
	if (!st)
		return 1; /* this socket never dialled a service */
	if (v6)
		load6(ctx, &d);
	else
		load4(ctx, &d);
	/* A TCP socket's entry is of its last connect to a service; a later
	 * connect kept on the socket (conn_rev was full) is there. */
	if (ctx->protocol == IPPROTO_TCP && !is_ep(st, &d) &&
	    !(st = bpf_sk_storage_get(&sp_sock_rev, ctx->sk, 0, 0)))
		return 1;
	if (is_ep(st, &d)) {
		__builtin_memcpy(d.addr, st->vip_addr, 16);
		d.port_be = st->vip_port_be;
	} else {
		if (!st->overflow)
			return 1;
		rk.cookie = bpf_get_socket_cookie(ctx);
		__builtin_memcpy(rk.addr, d.addr, 16);
		rk.port_be = d.port_be;
		rk.family = d.family;
		rv = bpf_map_lookup_elem(&sp_reverse, &rk);
		if (!rv)
			return 1;
		__builtin_memcpy(d.addr, rv->addr, 16);
		d.port_be = rv->port_be;
	}
	if (v6)
		store6(ctx, &d);
	else
		store4(ctx, &d);
	return 1;
}

/* A released TCP socket's conn_rev entry goes (a socket that never
 * connected to a service has none: one failed lookup). */
SEC("cgroup/sock_release")
int sp_sock_release(struct bpf_sock *sk)
{
	__u64 cookie;

	if (sk->protocol != IPPROTO_TCP)
		return 1;
	cookie = bpf_get_socket_cookie(sk);
	bpf_map_delete_elem(&sp_conn_rev, &cookie);
	return 1;
}

SEC("cgroup/connect4")
int sp_connect4(struct bpf_sock_addr *ctx)
{
	return balance(ctx, false, true);
}

SEC("cgroup/connect6")
int sp_connect6(struct bpf_sock_addr *ctx)
{
	return balance(ctx, true, true);
}

SEC("cgroup/sendmsg4")
int sp_sendmsg4(struct bpf_sock_addr *ctx)
{
	return balance(ctx, false, false);
}

SEC("cgroup/sendmsg6")
int sp_sendmsg6(struct bpf_sock_addr *ctx)
{
	return balance(ctx, true, false);
}

SEC("cgroup/recvmsg4")
int sp_recvmsg4(struct bpf_sock_addr *ctx)
{
	return unbalance(ctx, false);
}

SEC("cgroup/recvmsg6")
int sp_recvmsg6(struct bpf_sock_addr *ctx)
{
	return unbalance(ctx, true);
}

SEC("cgroup/getpeername4")
int sp_getpeername4(struct bpf_sock_addr *ctx)
{
	return unbalance(ctx, false);
}

SEC("cgroup/getpeername6")
int sp_getpeername6(struct bpf_sock_addr *ctx)
{
	return unbalance(ctx, true);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
