/* tc_nat.bpf.c - traffic that reaches the node as packets (tc clsact): a
 * client outside the node dialling a NodePort, an external or LB IP or a
 * ClusterIP routed here, and a local pod outside the socket hooks. A new flow
 * gets an endpoint (the service's list for traffic from outside), a pair of
 * connection-tracking entries (sp_ct: the original direction and the reply),
 * a DNAT to the endpoint and, when the reply would not come back through this
 * node on its own (an endpoint on another node, or a pod's own flow), a SNAT
 * to the node's address with a port of its own. Rewritten packets are
 * routed here (FIB lookup) and sent straight out of the device the route
 * names; replies are translated back where they enter the node: the
 * external device for SNATed flows, the pod-facing device for replies of
 * local endpoints, the external device's egress for endpoints in the node's
 * own network namespace. Helpers return actions; only SEC() entry points
 * return verdicts. */
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "ct_timeout.h"
#include "flow_hash.h"
#include "lb_maps.bpf.h"
#include "lb_pick.bpf.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_ICMPV6_ 58
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

/* One parsed packet: its tuple as on the wire and where things are. */
struct pkt {
	struct sp_ct_key t;
	__u32 l3;		/* offset of the IP header */
	__u32 l4;		/* offset of the L4 header */
	__u32 csum_off;		/* offset of the L4 checksum; 0: none (SCTP) */
	__u8 tcp_flags;
	__u8 ttl;
	__u8 pad[2];
};

/* A new flow's two entries, a route lookup and an ICMP error, built here
 * rather than on the stack (a program's call chain has 512 bytes of it).
 * Per CPU, not pinned. */
struct flow_scratch {
	struct sp_ct_val ov, rv;
	struct sp_ct_key rk;
	struct bpf_fib_lookup fib;
	__u8 icmp_hdr[48];	/* an ICMP error's headers, and what it quotes */
	__u8 icmp_quote[48];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct flow_scratch);
	__uint(max_entries, 1);
} scratch SEC(".maps");

/* Where a packet came in. */
enum side {
	OUTSIDE,	/* an external device's ingress */
	POD,		/* the pod-facing device's ingress */
	HOST_OUT,	/* an external device's egress: replies of the node itself */
};

static __always_inline void count(__u32 stat)
{
	__u64 *c = bpf_map_lookup_elem(&sp_stats, &stat);

	if (c)
		*c += 1;
}

/* The most of a packet parse() reads: Ethernet, IPv4 with options (IPv6's
 * 40 fit too), the first 14 bytes of TCP. */
#define HEADERS_MAX (ETH_HLEN + 60 + 14)

/* @skb's tuple and offsets into @p, read in place (one bounds check, not a
 * helper call a field). Headers not all in the linear part are pulled in
 * first. -1: not a packet of ours (other protocols, fragments, IPv6
 * extension headers, truncated). */
static __always_inline int parse(struct __sk_buff *skb, struct pkt *p)
{
	__u32 want = skb->len < HEADERS_MAX ? skb->len : HEADERS_MAX;
	__u8 *data = (__u8 *)(long)skb->data, *end = (__u8 *)(long)skb->data_end, *l3, *l4;
	__u16 eth_proto;
	__u32 ihl = 40;

	__builtin_memset(p, 0, sizeof(*p));
	if (want > HEADERS_MAX)
		return -1;
	if (data + want > end) {
		if (bpf_skb_pull_data(skb, want))
			return -1;
		data = (__u8 *)(long)skb->data;
		end = (__u8 *)(long)skb->data_end;
	}
	if (data + ETH_HLEN + 20 > end)
		return -1;
	__builtin_memcpy(&eth_proto, data + 12, 2);
	l3 = data + ETH_HLEN;
	p->l3 = ETH_HLEN;
	if (eth_proto == bpf_htons(ETH_P_IP)) {
		ihl = (l3[0] & 0x0f) * 4;
		/* Fragments are left alone: only a first one has ports. */
		if (ihl < 20 || ((l3[6] & 0x3f) | l3[7]))
			return -1;
		p->t.family = 4;
		p->t.proto = l3[9];
		p->ttl = l3[8];
		__builtin_memcpy(p->t.src, l3 + 12, 4);
		__builtin_memcpy(p->t.dst, l3 + 16, 4);
	} else if (eth_proto == bpf_htons(ETH_P_IPV6)) {
		if (l3 + 40 > end)
			return -1;
		p->t.family = 6;
		p->t.proto = l3[6];	/* extension headers: not a flow of ours */
		p->ttl = l3[7];
		__builtin_memcpy(p->t.src, l3 + 8, 16);
		__builtin_memcpy(p->t.dst, l3 + 24, 16);
	} else {
		return -1;
	}
	p->l4 = ETH_HLEN + ihl;
	l4 = l3 + ihl;
	if (l4 + 4 > end)
		return -1;
	switch (p->t.proto) {
	case IPPROTO_TCP:
		if (l4 + 14 > end)
			return -1;
		p->tcp_flags = l4[13];
		p->csum_off = p->l4 + 16;
		break;
	case IPPROTO_UDP:
		p->csum_off = p->l4 + 6;
		break;
	case IPPROTO_SCTP:
		break;
	default:
		return -1;
	}
	__builtin_memcpy(&p->t.sport_be, l4, 2);
	__builtin_memcpy(&p->t.dport_be, l4 + 2, 2);
	return 0;
}

static __always_inline bool same16(const __u8 *a, const __u8 *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;

	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3];
}

static __always_inline bool same_mac(const __u8 *a, const __u8 *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] && a[4] == b[4] &&
	       a[5] == b[5];
}

/* One address of the packet (at @off) becomes @to, checksums fixed. */
static __always_inline int set_addr(struct __sk_buff *skb, const struct pkt *p, __u32 off,
				    const __u8 *from, const __u8 *to)
{
	__u64 l4f = BPF_F_PSEUDO_HDR | (p->t.proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0);

	if (p->t.family == 4) {
		__u32 o, n;

		__builtin_memcpy(&o, from, 4);
		__builtin_memcpy(&n, to, 4);
		if (p->csum_off && bpf_l4_csum_replace(skb, p->csum_off, o, n, l4f | 4))
			return -1;
		if (bpf_l3_csum_replace(skb, p->l3 + 10, o, n, 4))
			return -1;
		return bpf_skb_store_bytes(skb, off, &n, 4, 0);
	} else {
		__u32 o[4], n[4];
		__s64 diff;

		__builtin_memcpy(o, from, 16);
		__builtin_memcpy(n, to, 16);
		diff = bpf_csum_diff(o, 16, n, 16, 0);
		if (p->csum_off && bpf_l4_csum_replace(skb, p->csum_off, 0, diff, l4f))
			return -1;
		return bpf_skb_store_bytes(skb, off, n, 16, 0);
	}
}

static __always_inline int set_port(struct __sk_buff *skb, const struct pkt *p, __u32 off,
				    __u16 from, __u16 to)
{
	__u64 l4f = p->t.proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;

	if (p->csum_off && bpf_l4_csum_replace(skb, p->csum_off, from, to, l4f | 2))
		return -1;
	return bpf_skb_store_bytes(skb, off, &to, 2, 0);
}

/* The packet's tuple becomes @to's. */
static __always_inline int rewrite(struct __sk_buff *skb, const struct pkt *p,
				   const struct sp_ct_val *to)
{
	__u32 src = p->l3 + (p->t.family == 4 ? 12 : 8), dst = p->l3 + (p->t.family == 4 ? 16 : 24);

	if (p->t.proto == IPPROTO_SCTP &&
	    (to->sport_be != p->t.sport_be || to->dport_be != p->t.dport_be))
		return -2;	/* SCTP's CRC covers the ports: not recomputed here */
	if (!same16(p->t.src, to->src) && set_addr(skb, p, src, p->t.src, to->src))
		return -1;
	if (!same16(p->t.dst, to->dst) && set_addr(skb, p, dst, p->t.dst, to->dst))
		return -1;
	if (to->sport_be != p->t.sport_be &&
	    set_port(skb, p, p->l4, p->t.sport_be, to->sport_be))
		return -1;
	if (to->dport_be != p->t.dport_be &&
	    set_port(skb, p, p->l4 + 2, p->t.dport_be, to->dport_be))
		return -1;
	return 0;
}

/* The route from @src to @dst (the packet's protocol, ports @sport, @dport)
 * as forwarding from the device the packet came in by would take it, into
 * @fib. Returns bpf_fib_lookup's code. */
static __always_inline int route(struct __sk_buff *skb, const struct pkt *p, const __u8 *src,
				 const __u8 *dst, __u16 sport, __u16 dport,
				 struct bpf_fib_lookup *fib)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->ifindex = skb->ingress_ifindex;
	fib->l4_protocol = p->t.proto;
	fib->sport = sport;
	fib->dport = dport;
	if (p->t.family == 4) {
		fib->family = AF_INET;
		__builtin_memcpy(&fib->ipv4_src, src, 4);
		__builtin_memcpy(&fib->ipv4_dst, dst, 4);
	} else {
		fib->family = AF_INET6;
		__builtin_memcpy(fib->ipv6_src, src, 16);
		__builtin_memcpy(fib->ipv6_dst, dst, 16);
	}
	return bpf_fib_lookup(skb, fib, sizeof(*fib), 0);
}

/* The TTL (hop limit) of a packet being forwarded goes down by one. false:
 * it would reach 0 (the stack answers with time exceeded). */
static __always_inline bool ttl_down(struct __sk_buff *skb, const struct pkt *p)
{
	if (p->ttl <= 1)
		return false;
	if (p->t.family == 4) {
		__u16 o = bpf_htons((__u16)p->ttl << 8), n = bpf_htons((__u16)(p->ttl - 1) << 8);
		__u8 ttl = p->ttl - 1;

		bpf_l3_csum_replace(skb, p->l3 + 10, o, n, 2);
		bpf_skb_store_bytes(skb, p->l3 + 8, &ttl, 1, 0);
	} else {
		__u8 hl = p->ttl - 1;

		bpf_skb_store_bytes(skb, p->l3 + 7, &hl, 1, 0);
	}
	return true;
}

/* Send the rewritten packet to the next hop flow @v keeps: out of
 * nh_ifindex (SP_CT_NH_REDIRECT) or into the namespace of its peer
 * (SP_CT_NH_PEER, a local pod's veth) with its MACs, as forwarding would. */
static __noinline int send_to(struct __sk_buff *skb, const struct pkt *p, const struct sp_ct_val *v)
{
	if (!ttl_down(skb, p))
		return TC_ACT_OK;
	bpf_skb_store_bytes(skb, 0, v->nh_dmac, ETH_ALEN, 0);
	bpf_skb_store_bytes(skb, ETH_ALEN, v->nh_smac, ETH_ALEN, 0);
	if (v->nh_kind == SP_CT_NH_PEER)
		return bpf_redirect_peer(v->nh_ifindex, 0);
	return bpf_redirect(v->nh_ifindex, 0);
}

/* The next hop of a route() that succeeded (@fib) into @v's nh fields: out
 * of the device the route names, or, for a local pod behind the bridge
 * whose MAC is still the neighbour's, straight into its namespace. */
static __noinline void next_hop(const struct pkt *p, const struct bpf_fib_lookup *fib,
				     struct sp_ct_val *v)
{
	struct sp_pod_if_key k = { .family = p->t.family };
	const struct sp_pod_if_val *pod;
	__u32 ifindex = fib->ifindex;
	__u8 kind = SP_CT_NH_REDIRECT;

	if (p->t.family == 4)
		__builtin_memcpy(k.addr, &fib->ipv4_dst, 4);
	else
		__builtin_memcpy(k.addr, fib->ipv6_dst, 16);
	pod = bpf_map_lookup_elem(&sp_pod_ifs, &k);
	if (pod && same_mac(pod->mac, fib->dmac)) {
		kind = SP_CT_NH_PEER;
		ifindex = pod->ifindex;
	}
	/* (In a flow's entry, the same bytes again but for a changed route,
	 * when a packet or two on another CPU may read old and new fields
	 * mixed, as packets in flight meet a route change anyway.) */
	v->nh_ifindex = ifindex;
	__builtin_memcpy(v->nh_smac, fib->smac, ETH_ALEN);
	__builtin_memcpy(v->nh_dmac, fib->dmac, ETH_ALEN);
	v->nh_kind = kind;
}

/* Send the rewritten packet of flow @v where route() (code @rc, @fib)
 * says, keeping the next hop in @v; a destination of this node itself goes
 * up the stack. */
static __noinline int send(struct __sk_buff *skb, const struct pkt *p, int rc,
			   const struct bpf_fib_lookup *fib, struct sp_ct_val *v)
{
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		v->nh_kind = SP_CT_NH_NONE;	/* (the next packet looks again) */
	if (rc == BPF_FIB_LKUP_RET_NOT_FWDED)
		return TC_ACT_OK;	/* for this node: up the stack */
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH) {
		count(SP_STAT_DROP_NO_ROUTE);
		return TC_ACT_SHOT;
	}
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		if (!ttl_down(skb, p))
			return TC_ACT_OK;
		return bpf_redirect_neigh(fib->ifindex, 0, 0, 0);
	}
	next_hop(p, fib, v);
	return send_to(skb, p, v);
}

/* Send the rewritten packet of flow @t where its entry's next hop says;
 * with none kept, or @fresh (its time was just refreshed: once a second),
 * look the route up again and keep it. */
static __noinline int forward(struct __sk_buff *skb, const struct pkt *p, struct sp_ct_val *t,
			      bool fresh)
{
	__u32 zero = 0;
	struct flow_scratch *fs;
	int rc;

	if (!fresh && t->nh_kind != SP_CT_NH_NONE)
		return send_to(skb, p, t);
	fs = bpf_map_lookup_elem(&scratch, &zero);
	if (!fs)
		return TC_ACT_OK;
	rc = route(skb, p, t->src, t->dst, t->sport_be, t->dport_be, &fs->fib);
	return send(skb, p, rc, &fs->fib, t);
}

/* --- refusing ------------------------------------------------------------------ */

/* A TCP segment for a service without endpoints is turned into the reset
 * that refuses it, in place (the swaps leave the checksum as it is; only
 * the flags and sequence numbers change it), and sent back. */
static __noinline int reset_tcp(struct __sk_buff *skb, const struct pkt *p)
{
	__u32 src = p->l3 + (p->t.family == 4 ? 12 : 8), dst = p->l3 + (p->t.family == 4 ? 16 : 24);
	__u32 alen = p->t.family == 4 ? 4 : 16, seq, ack, new_seq = 0, new_ack;
	__u8 mac[12], swapped[12];
	__u16 fw_old, fw_new;
	__u16 win = 0, old_win;
	__u8 off_flags[2];

	if (p->tcp_flags & TCP_RST)
		return TC_ACT_SHOT;
	if (bpf_skb_load_bytes(skb, p->l4 + 4, &seq, 4) || bpf_skb_load_bytes(skb, p->l4 + 8, &ack, 4) ||
	    bpf_skb_load_bytes(skb, p->l4 + 12, off_flags, 2) ||
	    bpf_skb_load_bytes(skb, p->l4 + 14, &old_win, 2))
		return TC_ACT_SHOT;
	/* RFC 9293 3.10.7.1: no ACK → <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>;
	 * an ACK → <SEQ=SEG.ACK><CTL=RST> (with ACK too, harmless). */
	if (p->tcp_flags & TCP_ACK)
		new_seq = ack;
	new_ack = bpf_htonl(bpf_ntohl(seq) + ((p->tcp_flags & (TCP_SYN | TCP_FIN)) ? 1 : 0));
	__builtin_memcpy(&fw_old, off_flags, 2);
	off_flags[1] = TCP_RST | TCP_ACK;
	__builtin_memcpy(&fw_new, off_flags, 2);
	bpf_l4_csum_replace(skb, p->csum_off, seq, new_seq, 4);
	bpf_l4_csum_replace(skb, p->csum_off, ack, new_ack, 4);
	bpf_l4_csum_replace(skb, p->csum_off, fw_old, fw_new, 2);
	bpf_l4_csum_replace(skb, p->csum_off, old_win, win, 2);
	bpf_skb_store_bytes(skb, p->l4 + 4, &new_seq, 4, 0);
	bpf_skb_store_bytes(skb, p->l4 + 8, &new_ack, 4, 0);
	bpf_skb_store_bytes(skb, p->l4 + 12, off_flags, 2, 0);
	bpf_skb_store_bytes(skb, p->l4 + 14, &win, 2, 0);
	/* Swaps: the sums stay the same. */
	bpf_skb_store_bytes(skb, p->l4, &p->t.dport_be, 2, 0);
	bpf_skb_store_bytes(skb, p->l4 + 2, &p->t.sport_be, 2, 0);
	if (alen == 4) {
		bpf_skb_store_bytes(skb, src, p->t.dst, 4, 0);
		bpf_skb_store_bytes(skb, dst, p->t.src, 4, 0);
	} else {
		bpf_skb_store_bytes(skb, src, p->t.dst, 16, 0);
		bpf_skb_store_bytes(skb, dst, p->t.src, 16, 0);
	}
	if (bpf_skb_load_bytes(skb, 0, mac, 12))
		return TC_ACT_SHOT;
	__builtin_memcpy(swapped, mac + 6, 6);
	__builtin_memcpy(swapped + 6, mac, 6);
	bpf_skb_store_bytes(skb, 0, swapped, 12, 0);
	return bpf_redirect(skb->ifindex, 0);
}

static __always_inline __u16 csum_fold(__u64 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

/* A UDP datagram for a service without endpoints is answered with ICMP
 * port unreachable (ICMPv6 type 1 code 4), quoting its IP header and the
 * first 8 bytes after it (an IPv4 header with options: dropped instead). */
static __noinline int unreachable_udp(struct __sk_buff *skb, const struct pkt *p)
{
	__u32 zero = 0;
	struct flow_scratch *fs = bpf_map_lookup_elem(&scratch, &zero);
	bool v4 = p->t.family == 4;
	__u32 qlen = v4 ? 28 : 48, hlen = v4 ? 28 : 48;
	__u8 mac[12], *hdr, *quote;
	__s64 sum;

	if (!fs || (v4 && p->l4 != p->l3 + 20))
		return TC_ACT_SHOT;
	hdr = fs->icmp_hdr;
	quote = fs->icmp_quote;
	__builtin_memset(hdr, 0, sizeof(fs->icmp_hdr));
	__builtin_memset(quote, 0, sizeof(fs->icmp_quote));
	if (bpf_skb_load_bytes(skb, 0, mac, 12))
		return TC_ACT_SHOT;
	if (v4) {
		if (bpf_skb_load_bytes(skb, p->l3, quote, 28))
			return TC_ACT_SHOT;
	} else {
		if (bpf_skb_load_bytes(skb, p->l3, quote, 48))
			return TC_ACT_SHOT;
	}
	if (bpf_skb_change_tail(skb, ETH_HLEN + qlen, 0) ||
	    bpf_skb_adjust_room(skb, hlen, BPF_ADJ_ROOM_MAC, 0))
		return TC_ACT_SHOT;
	if (v4) {
		__u16 tot = bpf_htons(20 + 8 + 28);

		hdr[0] = 0x45;
		__builtin_memcpy(&hdr[2], &tot, 2);
		hdr[8] = 64;
		hdr[9] = IPPROTO_ICMP;
		__builtin_memcpy(&hdr[12], p->t.dst, 4);
		__builtin_memcpy(&hdr[16], p->t.src, 4);
		sum = bpf_csum_diff(0, 0, (__be32 *)hdr, 20, 0);
		{
			__u16 c = csum_fold(sum);

			__builtin_memcpy(&hdr[10], &c, 2);
		}
		hdr[20] = 3;	/* destination unreachable */
		hdr[21] = 3;	/* port unreachable */
		sum = bpf_csum_diff(0, 0, (__be32 *)&hdr[20], 8, 0);
		sum = bpf_csum_diff(0, 0, (__be32 *)quote, 28, sum);
		{
			__u16 c = csum_fold(sum);

			__builtin_memcpy(&hdr[22], &c, 2);
		}
		if (bpf_skb_store_bytes(skb, ETH_HLEN, hdr, 28, 0))
			return TC_ACT_SHOT;
	} else {
		__u32 plen = bpf_htonl(8 + 48);
		__u16 plen16 = bpf_htons(8 + 48);
		__u32 nh = bpf_htonl(IPPROTO_ICMPV6_);

		hdr[0] = 0x60;
		__builtin_memcpy(&hdr[4], &plen16, 2);
		hdr[6] = IPPROTO_ICMPV6_;
		hdr[7] = 64;
		__builtin_memcpy(&hdr[8], p->t.dst, 16);
		__builtin_memcpy(&hdr[24], p->t.src, 16);
		hdr[40] = 1;	/* destination unreachable */
		hdr[41] = 4;	/* port unreachable */
		/* pseudo-header: addresses, length, next header */
		sum = bpf_csum_diff(0, 0, (__be32 *)&hdr[8], 32, 0);
		sum = bpf_csum_diff(0, 0, &plen, 4, sum);
		sum = bpf_csum_diff(0, 0, &nh, 4, sum);
		sum = bpf_csum_diff(0, 0, (__be32 *)&hdr[40], 8, sum);
		sum = bpf_csum_diff(0, 0, (__be32 *)quote, 48, sum);
		{
			__u16 c = csum_fold(sum);

			__builtin_memcpy(&hdr[42], &c, 2);
		}
		if (bpf_skb_store_bytes(skb, ETH_HLEN, hdr, 48, 0))
			return TC_ACT_SHOT;
	}
	{
		__u8 swapped[12];

		__builtin_memcpy(swapped, mac + 6, 6);
		__builtin_memcpy(swapped + 6, mac, 6);
		bpf_skb_store_bytes(skb, 0, swapped, 12, 0);
	}
	return bpf_redirect(skb->ifindex, 0);
}

static __always_inline int refuse(struct __sk_buff *skb, const struct pkt *p)
{
	count(SP_STAT_REJECT_NO_ENDPOINT);
	if (p->t.proto == IPPROTO_TCP)
		return reset_tcp(skb, p);
	if (p->t.proto == IPPROTO_UDP)
		return unreachable_udp(skb, p);
	return TC_ACT_SHOT;
}

/* --- connection tracking ---------------------------------------------------------- */

/* A packet of the flow @v tracks: its state follows the TCP flags; its
 * time is refreshed at most once a second (a write per packet would make
 * every CPU fight over the entry). true: refreshed now (the flow's route is
 * then looked up again). */
static __always_inline bool ct_touch(struct sp_ct_val *v, const struct pkt *p, __u64 now)
{
	__u8 state = v->state;

	if (p->t.proto == IPPROTO_TCP) {
		if (p->tcp_flags & (TCP_FIN | TCP_RST))
			state = SP_CT_CLOSING;
		else if (state == SP_CT_NEW && (p->tcp_flags & TCP_ACK))
			state = SP_CT_ESTABLISHED;
	} else {
		state = SP_CT_ESTABLISHED;
	}
	if (state != v->state)
		v->state = state;
	if (now <= v->last_ns || now - v->last_ns <= NSEC_PER_SEC)
		return false;
	v->last_ns = now;
	return true;
}

/* Tries for a free SNAT port: the first few in turn from the cursor, the
 * rest spread over the range from a random start (a range mostly taken:
 * ports of closed flows wait out TIME_WAIT; or a cursor that starts among
 * ports taken before a restart). Each try is one lookup. */
#define SNAT_TRIES 128
#define SNAT_TRIES_IN_TURN 8

/* The offset in the SNAT range to try first, for every CPU: ports are
 * handed out in turn (a few ports' random step each time, as Linux hands
 * out its own ephemeral ports towards one destination), so the port tried
 * first is one of those used longest ago and is almost always free. Only a
 * hint: two CPUs that read the same value race on the map, not on it. 0:
 * not set yet. */
__u32 snat_cursor;

/* Can a new flow take the SNAT port of @old (at @now)? Once its flow is
 * closed and the endpoint's TIME_WAIT socket for it must be gone
 * (snat_reuse_s, the node's conntrack TIME_WAIT timeout, as masquerading
 * would wait), not at the CT entry's own expiry; or once it has expired. */
static __always_inline bool snat_port_reusable(const struct sp_ct_key *rk, __u64 last_ns,
					       __u8 state, const struct sp_config_val *cfg, __u64 now)
{
	__u64 idle;

	if (last_ns >= now)
		return false;	/* (just written, maybe by another CPU) */
	idle = now - last_ns;
	return (state == SP_CT_CLOSING && idle > (__u64)cfg->snat_reuse_s * NSEC_PER_SEC) ||
	       idle > sp_ct_timeout_ns(rk->proto, state);
}

/* A free SNAT port for the reply entry @rk (its dport is set), written with
 * @rv: a port no entry holds under BPF_NOEXIST, a reusable one's entry
 * replaced once this CPU has claimed it (its time moved to now with a
 * compare-and-swap: a CPU that read the old time loses, and to every
 * other the port looks just taken), so two flows never share one. A taken
 * port costs a lookup only (an LRU map's update takes a free element
 * first). 0: none free after SNAT_TRIES. */
static __always_inline __u16 snat_port(struct sp_ct_key *rk, const struct sp_ct_val *rv,
				       const struct sp_config_val *cfg)
{
	__u32 lo = cfg->snat_port_min, hi = cfg->snat_port_max, span, cur, start;

	if (!lo || hi < lo)
		return 0;
	span = hi - lo + 1;
	start = bpf_get_prandom_u32();
	cur = snat_cursor;
	if (!cur)
		cur = start >> 16 | 1;
	cur += start & 7;
	for (int i = 0; i < SNAT_TRIES; i++) {
		__u32 off = i < SNAT_TRIES_IN_TURN ? (cur + i) % span
						   : (start + i * 7919) % span;
		__u16 port = (__u16)(lo + off);
		struct sp_ct_val *old;
		__u64 seen;

		rk->dport_be = bpf_htons(port);
		old = bpf_map_lookup_elem(&sp_ct, rk);
		if (!old) {
			if (bpf_map_update_elem(&sp_ct, rk, rv, BPF_NOEXIST))
				continue;
		} else {
			seen = old->last_ns;
			if (!snat_port_reusable(rk, seen, old->state, cfg, rv->last_ns) ||
			    __sync_val_compare_and_swap(&old->last_ns, seen, rv->last_ns) != seen ||
			    bpf_map_update_elem(&sp_ct, rk, rv, BPF_ANY))
				continue;
		}
		snat_cursor = off + 1;
		return port;
	}
	return 0;
}

/* The endpoint a Maglev table gives the client of @p (its address and
 * port: the same endpoint whichever node or service address the flow
 * reaches), 0 without a table. */
static __always_inline __u32 maglev_endpoint(const struct sp_svc_val *svc, const struct pkt *p,
					     const struct sp_config_val *cfg)
{
	struct sp_flow_key fk = {};
	void *table;
	__u32 slot, *ep_id;

	if (cfg->algorithm != SP_CFG_ALG_MAGLEV || !(svc->flags & SP_SVC_MAGLEV) ||
	    !cfg->maglev_size)
		return 0;
	table = bpf_map_lookup_elem(&sp_maglev, &svc->id);
	if (!table)
		return 0;
	__builtin_memcpy(fk.saddr, p->t.src, 16);
	fk.sport = p->t.sport_be;
	fk.proto = p->t.proto;
	fk.family = p->t.family;
	slot = sp_flow_slot(&fk, cfg->maglev_size);
	ep_id = bpf_map_lookup_elem(table, &slot);
	return ep_id ? *ep_id : 0;
}

/* A new flow for the service at @p's destination. */
static __noinline int new_flow(struct __sk_buff *skb, const struct pkt *p, enum side side,
				    const struct sp_svc_val *svc, __u64 now)
{
	__u32 zero = 0, ep_id;
	const struct sp_config_val *cfg = bpf_map_lookup_elem(&sp_config, &zero);
	struct flow_scratch *fs = bpf_map_lookup_elem(&scratch, &zero);
	struct sp_aff_key ak = {};
	const struct sp_ep_val *ep;
	struct sp_ct_key *rk;
	struct sp_ct_val *ov, *rv;
	bool snat;
	int e, rc;

	if (!cfg || !fs)
		return TC_ACT_OK;
	ov = &fs->ov;
	rv = &fs->rv;
	rk = &fs->rk;
	__builtin_memset(rk, 0, sizeof(*rk));
	__builtin_memset(ov, 0, sizeof(*ov));
	__builtin_memset(rv, 0, sizeof(*rv));
	if ((svc->flags & SP_SVC_SRC_RANGES) && side == OUTSIDE) {
		struct sp_src_range_key rng = {
			.prefixlen = 32 + (p->t.family == 4 ? 32 : 128),
			.svc_id = svc->id / SP_LIST_STRIDE,
		};

		__builtin_memcpy(rng.addr, p->t.src, 16);
		if (!bpf_map_lookup_elem(&sp_src_ranges, &rng)) {
			count(SP_STAT_DROP_SOURCE_RANGE);
			return TC_ACT_SHOT;
		}
	}
	if (!svc->count) {
		if (svc->flags & SP_SVC_DROP_EMPTY) {
			count(SP_STAT_DROP_NO_LOCAL_ENDPOINT);
			return TC_ACT_SHOT;
		}
		return refuse(skb, p);
	}
	__builtin_memcpy(ak.addr, p->t.src, 16);
	ak.family = p->t.family;
	ep_id = affinity_endpoint(svc, &ak, now);
	if (!ep_id) {
		ep_id = maglev_endpoint(svc, p, cfg);
		if (!ep_id)
			ep_id = slot_endpoint(svc, bpf_get_prandom_u32());
		affinity_remember(svc, &ak, ep_id, now);
	}
	ep = ep_id ? bpf_map_lookup_elem(&sp_endpoints, &ep_id) : 0;
	if (!ep || ep->family != p->t.family)
		return refuse(skb, p);
	/* The reply comes back through this node by itself only from an
	 * endpoint behind another of its devices (a local pod) to a client
	 * outside it. */
	/* One route lookup for the flow's first packet: to the endpoint. If it
	 * leaves by the device the packet came in by (an endpoint on another
	 * node), the reply would go to the client without passing here: SNAT.
	 * (Decided by the route, not by the endpoint's nodeName, which a
	 * manifest may lack or get wrong.) */
	rc = route(skb, p, p->t.src, ep->addr, p->t.sport_be, ep->port_be, &fs->fib);
	snat = side == POD || ((rc == BPF_FIB_LKUP_RET_SUCCESS || rc == BPF_FIB_LKUP_RET_NO_NEIGH) &&
				fs->fib.ifindex == skb->ingress_ifindex);

	ov->svc_id = svc->id;
	ov->ep_id = ep_id;
	ov->last_ns = now;
	ov->flags = snat ? SP_CT_SNAT : 0;
	__builtin_memcpy(ov->src, p->t.src, 16);
	ov->sport_be = p->t.sport_be;
	__builtin_memcpy(ov->dst, ep->addr, 16);
	ov->dport_be = ep->port_be;

	rv->flags = SP_CT_REPLY | ov->flags | (side == POD ? SP_CT_FROM_POD : 0);
	rv->last_ns = now;
	rv->svc_id = svc->id;
	rv->ep_id = ep_id;
	__builtin_memcpy(rv->src, p->t.dst, 16);
	rv->sport_be = p->t.dport_be;
	__builtin_memcpy(rv->dst, p->t.src, 16);
	rv->dport_be = p->t.sport_be;

	__builtin_memcpy(rk->src, ep->addr, 16);
	rk->sport_be = ep->port_be;
	rk->proto = p->t.proto;
	rk->family = p->t.family;
	if (snat) {
		__u16 port;

		if (p->t.family == 4)
			__builtin_memcpy(ov->src, cfg->snat4, 4);
		else
			__builtin_memcpy(ov->src, cfg->snat6, 16);
		if (!((__u32 *)ov->src)[0] && !((__u32 *)ov->src)[3]) {
			count(SP_STAT_DROP_NO_ROUTE);	/* no node address known */
			return TC_ACT_SHOT;
		}
		__builtin_memcpy(rk->dst, ov->src, 16);
		port = snat_port(rk, rv, cfg);
		if (!port) {
			count(SP_STAT_DROP_SNAT_EXHAUSTED);
			return TC_ACT_SHOT;
		}
		ov->sport_be = bpf_htons(port);
	} else {
		__builtin_memcpy(rk->dst, p->t.src, 16);
		rk->dport_be = p->t.sport_be;
		if (bpf_map_update_elem(&sp_ct, rk, rv, BPF_ANY)) {
			count(SP_STAT_DROP_CT_FULL);
			return TC_ACT_SHOT;
		}
	}
	if (rc == BPF_FIB_LKUP_RET_SUCCESS)
		next_hop(p, &fs->fib, ov);	/* (kept with the entry: its packets need no lookup) */
	if (bpf_map_update_elem(&sp_ct, &p->t, ov, BPF_ANY)) {
		bpf_map_delete_elem(&sp_ct, rk);
		count(SP_STAT_DROP_CT_FULL);
		return TC_ACT_SHOT;
	}
	count(SP_STAT_FLOWS);
	e = rewrite(skb, p, ov);
	if (e) {
		count(e == -2 ? SP_STAT_DROP_UNSUPPORTED : SP_STAT_DROP_NO_ROUTE);
		return TC_ACT_SHOT;
	}
	if (ov->nh_kind != SP_CT_NH_NONE)	/* (the destination's route, whatever the source) */
		return send_to(skb, p, ov);
	return send(skb, p, rc, &fs->fib, ov);
}

/* Is the endpoint of UDP flow @v still one of its service's? (A flow whose
 * endpoint went away moves to a live one, as conntrack entries of a removed
 * UDP endpoint are cleared in kube-proxy.) */
static __always_inline bool endpoint_left(const struct sp_ct_val *v)
{
	struct sp_aff_match_key mk = { .svc_id = v->svc_id, .ep_id = v->ep_id };

	return !bpf_map_lookup_elem(&sp_aff_match, &mk);
}

/* The reply entry a flow @t opens would match. */
static __always_inline void forget_reply(const struct sp_ct_key *t)
{
	struct sp_ct_key r = {};

	__builtin_memcpy(r.src, t->dst, 16);
	__builtin_memcpy(r.dst, t->src, 16);
	r.sport_be = t->dport_be;
	r.dport_be = t->sport_be;
	r.proto = t->proto;
	r.family = t->family;
	bpf_map_delete_elem(&sp_ct, &r);
}

static __always_inline int handle(struct __sk_buff *skb, enum side side)
{
	const struct sp_svc_val *svc;
	struct sp_ct_val *v;
	struct dest d = {};
	struct pkt p;
	__u64 now;

	/* On the way out, only the node's own packets can be replies of an
	 * endpoint in its network namespace; forwarded ones came in somewhere. */
	if (side == HOST_OUT && skb->ingress_ifindex)
		return TC_ACT_OK;
	if (parse(skb, &p))
		return TC_ACT_OK;
	/* The coarse clock (a tick's resolution, no clock source read): CT
	 * times are kept to the second. */
	now = bpf_ktime_get_coarse_ns();
	v = bpf_map_lookup_elem(&sp_ct, &p.t);
	if (v && now > v->last_ns && now - v->last_ns > sp_ct_timeout_ns(p.t.proto, v->state))
		v = 0;	/* expired: the GC has not come by yet */
	if (v && side == HOST_OUT && !(v->flags & SP_CT_REPLY))
		return TC_ACT_OK;
	if (v && !(v->flags & SP_CT_REPLY) && p.t.proto == IPPROTO_UDP && endpoint_left(v))
		v = 0;
	/* A client reusing its port (a SYN on a flow past its handshake) opens
	 * a new flow: the old one's SNAT port may belong to another by now. */
	if (v && !(v->flags & SP_CT_REPLY) && p.t.proto == IPPROTO_TCP &&
	    (p.tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN && v->state != SP_CT_NEW)
		v = 0;
	if (v) {
		bool fresh;
		int e;

		/* (The entry's tuple is written once; only its time and state
		 * change under us.) */
		fresh = ct_touch(v, &p, now);
		e = rewrite(skb, &p, v);
		if (e) {
			count(e == -2 ? SP_STAT_DROP_UNSUPPORTED : SP_STAT_DROP_NO_ROUTE);
			return TC_ACT_SHOT;
		}
		return side == HOST_OUT ? TC_ACT_OK : forward(skb, &p, v, fresh);
	}
	if (side == HOST_OUT)
		return TC_ACT_OK;
	__builtin_memcpy(d.addr, p.t.dst, 16);
	d.port_be = p.t.dport_be;
	d.family = p.t.family;
	d.proto = p.t.proto;
	svc = lookup_service(&d, true);
	if (!svc) {
		/* A connection straight to an address of ours (a pod, not a
		 * service) reusing the tuple of a finished translated flow:
		 * that flow's reply entry would catch its replies. */
		if (p.t.proto == IPPROTO_TCP && (p.tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)
			forget_reply(&p.t);
		return TC_ACT_OK;
	}
	/* A TCP segment of no tracked flow that does not open one (what
	 * conntrack calls INVALID, or a flow whose entry was evicted): dropped,
	 * never sent on un-translated or to an endpoint that knows nothing of
	 * it. */
	if (p.t.proto == IPPROTO_TCP && (p.tcp_flags & (TCP_SYN | TCP_ACK)) != TCP_SYN) {
		count(SP_STAT_DROP_INVALID);
		return TC_ACT_SHOT;
	}
	return new_flow(skb, &p, side, svc, now);
}

SEC("tc")
int sp_tc_outside_in(struct __sk_buff *skb)
{
	return handle(skb, OUTSIDE);
}

SEC("tc")
int sp_tc_pod_in(struct __sk_buff *skb)
{
	return handle(skb, POD);
}

SEC("tc")
int sp_tc_outside_out(struct __sk_buff *skb)
{
	return handle(skb, HOST_OUT);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
