/* kernel_types.h - the few kernel-internal types the UDP socket iterator
 * reads, declared by hand with CO-RE relocations (preserve_access_index):
 * field offsets are fixed up against the running kernel's BTF at load time,
 * so the build needs no vmlinux.h from the build machine. Only the fields
 * used are declared. */
#ifndef SP_BPF_KERNEL_TYPES_H
#define SP_BPF_KERNEL_TYPES_H

#include <linux/types.h>

struct in6_addr;

struct sock_common {
	union {
		struct {
			__be32 skc_daddr;
			__be32 skc_rcv_saddr;
		};
	};
	union {
		struct {
			__be16 skc_dport;
			__u16 skc_num;
		};
	};
	unsigned short skc_family;
	volatile unsigned char skc_state;
	struct {
		__u32 in6_u[4];
	} skc_v6_daddr;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
} __attribute__((preserve_access_index));

struct inet_sock {
	struct sock sk;
} __attribute__((preserve_access_index));

struct udp_sock {
	struct inet_sock inet;
} __attribute__((preserve_access_index));

struct bpf_iter_meta {
	void *seq;
	__u64 session_id;
	__u64 seq_num;
} __attribute__((preserve_access_index));

struct bpf_iter__udp {
	struct bpf_iter_meta *meta;
	struct udp_sock *udp_sk;
	__u32 uid;
	int bucket;
} __attribute__((preserve_access_index));

#endif
