/* flow_hash.h - the hash of a packet's flow that picks its slot in a service's
 * Maglev table (control/maglev.h builds the table). Compiled by the tc programs
 * (clang -target bpf) and by userspace (unit tests, svcplanectl explain) from
 * this one header, so a node and the tool that explains it name the same slot;
 * every node computes the same hash for the same packet, whatever its byte
 * order, because the words hashed are assembled from bytes in network order.
 *
 * Hashed: sp_jhash_words() (jhash2) under SP_FLOW_HASH_SEED of ten words
 *   w0..w3  source address, 16 bytes as four big-endian words (IPv4: w0, rest 0)
 *   w4..w7  destination address, the same way
 *   w8      source port << 16 | destination port (port numbers, host values)
 *   w9      protocol << 8 | family (4 or 6)
 * slot = hash % table size. */
#ifndef SP_BPF_FLOW_HASH_H
#define SP_BPF_FLOW_HASH_H

#include <linux/types.h>

#include "jhash.h"

/* Fixed, not per node: every node must pick the same endpoint for a flow. */
#define SP_FLOW_HASH_SEED 0x5f1a6e11u
#define SP_FLOW_HASH_WORDS 10

/* One packet's flow as the hash sees it. Zero it before filling: the unused
 * bytes of an IPv4 address are hashed. */
struct sp_flow_key {
	__u8 saddr[16]; /* network order; IPv4 in the first 4 bytes, rest zero */
	__u8 daddr[16];
	__be16 sport; /* network order */
	__be16 dport; /* network order */
	__u8 proto;   /* IPPROTO_TCP, _UDP, _SCTP */
	__u8 family;  /* 4 or 6 (not AF_*: the same number on every system) */
	__u8 pad[2];
};
_Static_assert(sizeof(struct sp_flow_key) == 40, "sp_flow_key layout");

/* A network-order port as its number, read byte by byte (no ntohs in BPF). */
static __always_inline __u32 sp_flow_port(const __be16 *port)
{
	const __u8 *p = (const __u8 *)port;

	return (__u32)p[0] << 8 | p[1];
}

static __always_inline __u32 sp_flow_hash(const struct sp_flow_key *k)
{
	__u32 w[SP_FLOW_HASH_WORDS];

	for (int i = 0; i < 4; i++) {
		w[i] = sp_be32_word(&k->saddr[4 * i]);
		w[4 + i] = sp_be32_word(&k->daddr[4 * i]);
	}
	w[8] = sp_flow_port(&k->sport) << 16 | sp_flow_port(&k->dport);
	w[9] = (__u32)k->proto << 8 | k->family;
	return sp_jhash_words(w, SP_FLOW_HASH_WORDS, SP_FLOW_HASH_SEED);
}

/* The Maglev slot of @k in a table of @table_size (> 0) slots. */
static __always_inline __u32 sp_flow_slot(const struct sp_flow_key *k, __u32 table_size)
{
	return sp_flow_hash(k) % table_size;
}

#endif
