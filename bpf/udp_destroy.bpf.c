/* udp_destroy.bpf.c - after endpoints go away: disconnect every connected UDP
 * socket (of the network namespace the iterator is read in) whose peer is one
 * of them, with the bpf_sock_destroy kfunc. The owner's next send fails and a
 * client that reconnects is balanced to a live endpoint. Unconnected sockets
 * are left alone: their next sendmsg is balanced anew. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "kernel_types.h"
#include "maps.h"

#define AF_INET 2
#define AF_INET6 10
#define TCP_ESTABLISHED 1	/* a connected UDP socket's state */

extern int bpf_sock_destroy(struct sock_common *sk) __ksym;

/* The endpoints gone, written by the agent before it reads the iterator. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct sp_gone_key);
	__type(value, __u8);
	__uint(max_entries, 4096);
} sp_gone SEC(".maps");

SEC("iter/udp")
int sp_udp_destroy(struct bpf_iter__udp *ctx)
{
	struct udp_sock *udp = ctx->udp_sk;
	struct sock_common *sk;
	struct sp_gone_key k = {};
	unsigned short family;

	if (!udp)
		return 0;
	sk = &udp->inet.sk.__sk_common;
	if (BPF_CORE_READ(sk, skc_state) != TCP_ESTABLISHED)
		return 0;
	family = BPF_CORE_READ(sk, skc_family);
	k.port_be = BPF_CORE_READ(sk, skc_dport);
	if (family == AF_INET) {
		__be32 a = BPF_CORE_READ(sk, skc_daddr);

		__builtin_memcpy(k.addr, &a, 4);
		k.family = 4;
	} else if (family == AF_INET6) {
		BPF_CORE_READ_INTO(&k.addr, sk, skc_v6_daddr);
		k.family = 6;
	} else {
		return 0;
	}
	if (bpf_map_lookup_elem(&sp_gone, &k))
		bpf_sock_destroy(sk);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
