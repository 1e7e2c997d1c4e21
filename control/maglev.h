/* maglev.h - Maglev consistent-hashing lookup tables (Eisenbud et al., NSDI
 * 2016), one per service port, built from its endpoints: a packet's flow hash
 * (bpf/flow_hash.h) modulo the table size picks a slot, the slot names the
 * endpoint. The table depends only on the set of endpoints (family, address,
 * port), never on their order or on any ids, so every node builds the same
 * table and picks the same endpoint for a flow; removing one endpoint moves
 * the flows it had and few others.
 *
 * How an endpoint's permutation is derived (what a reimplementation must match):
 *   key    = 5 words: its address as four big-endian words (IPv4 in the first,
 *            rest 0), then port << 16 | family (port as a number, family 4 or 6)
 *   offset = sp_jhash_words(key, 5, SP_MAGLEV_SEED_OFFSET) % M
 *   skip   = sp_jhash_words(key, 5, SP_MAGLEV_SEED_SKIP) % (M - 1) + 1
 * Endpoints take turns in ascending order of (family, address bytes, port
 * bytes); each takes the next free slot of offset, offset + skip, … (mod M). */
#ifndef SP_CONTROL_MAGLEV_H
#define SP_CONTROL_MAGLEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SP_MAGLEV_SIZE_DEFAULT 16381 /* Cilium's default */
#define SP_MAGLEV_SIZE_MIN 251	     /* --bpf-lb-maglev-table-size range, as Cilium's */
#define SP_MAGLEV_SIZE_MAX 131071
#define SP_MAGLEV_SLOTS_PER_ENDPOINT 100  /* M ≥ 100 × endpoints keeps shares even */
#define SP_MAGLEV_SEED_OFFSET 0x4d61676cu /* fixed: every node builds the same table */
#define SP_MAGLEV_SEED_SKIP 0x65763031u
#define SP_MAGLEV_NO_ENDPOINT UINT32_MAX /* every slot, when there is no endpoint */
#define SP_MAGLEV_ERRLEN 128

/* One endpoint as the table sees it. */
struct sp_maglev_endpoint {
	uint8_t family;	  /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes, rest ignored */
	uint16_t port_be; /* network order */
};

/* True when @m is prime. */
bool sp_maglev_is_prime(uint32_t m);

/* Is @m a table size for @n endpoints: prime, ≤ SP_MAGLEV_SIZE_MAX and at least
 * SP_MAGLEV_SLOTS_PER_ENDPOINT × @n? Returns 0, or -EINVAL with a line naming
 * the value in @err (when not NULL). */
int sp_maglev_check_size(uint32_t m, size_t n, char err[SP_MAGLEV_ERRLEN]);

/* Fill @table (@m slots) from the @n endpoints @eps: each slot holds an index
 * into @eps. Equal endpoints listed twice count once (the lower index is
 * used). With no endpoint every slot is SP_MAGLEV_NO_ENDPOINT. Allocates one
 * block of @n entries, freed before it returns; does not block.
 * Returns 0; -EINVAL (size refused by sp_maglev_check_size, or a family that is
 * neither AF_INET nor AF_INET6) with a line in @err (when not NULL); -ENOMEM. */
int sp_maglev_build(const struct sp_maglev_endpoint *eps, size_t n, uint32_t m, uint32_t *table,
		    char err[SP_MAGLEV_ERRLEN]);

#endif
