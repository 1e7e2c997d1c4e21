/* nft_mirror.h - what one family's table holds that no single port can say:
 * how many ports hold each element (a ClusterIP shared by a service's ports,
 * an endpoint's hairpin entry, a VIP two services both claim), which claims
 * lost such a conflict, and the chains that come and go (dnat groups,
 * affinity chains) with the number of elements that jump to them.
 *
 * Compact by design: an element is the 64-bit hash of its set and key, a
 * 32-bit hash of its value and a count (16 bytes in an open-addressing
 * table), never a copy of the element: the model holds the ports, and a
 * sync renders old and new ports again to learn what they contributed. Two
 * elements whose keys hash alike would share a count; at a million elements
 * that is a chance of about 3e-8. */
#ifndef SP_DATAPLANE_NFT_MIRROR_H
#define SP_DATAPLANE_NFT_MIRROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nft_render.h"

struct sp_hmap;
struct sp_log;

struct nft_count {
	uint64_t key;		/* hash; 0: empty slot */
	uint32_t refs;
	uint32_t val;		/* element: hash of its value (verdict, target, data) */
};

/* 64-bit hash → count, linear probing, deletion by backward shift. */
struct nft_counts {
	struct nft_count *v;
	size_t cap;		/* a power of two, or 0 */
	size_t n;
};

/* A chain that comes and goes. */
struct nft_chain_rec {
	uint32_t refs;		/* elements in the kernel that jump to it */
	bool pinned;		/* a dnat group that always exists (1..NFT_PINNED_GROUPS) */
	bool present;		/* in the kernel once the pending plan commits */
};

/* dnat groups for 1..N endpoints always exist, so that small services never
 * need a chain created when their endpoint count changes. */
#define NFT_PINNED_GROUPS 8

struct nft_mirror {
	int family;			/* NFPROTO_IPV4 / _IPV6 */
	struct nft_counts elems;	/* element key → holders, value */
	struct nft_counts lost;		/* (port id, element key) → claims that lost */
	struct sp_hmap *chains;		/* chain name → struct nft_chain_rec */
	const struct sp_log *log;	/* borrowed: conflicts are logged here */
};

/* Returns 0 or -ENOMEM. */
int nft_mirror_init(struct nft_mirror *m, int family, const struct sp_log *log);
/* Forget everything (a full sync starts from nothing). */
void nft_mirror_clear(struct nft_mirror *m);
void nft_mirror_fini(struct nft_mirror *m);

/* Port @id (@port names it in a log line) renders @e. Returns 1 when the
 * element is new to the table (add it), 0 when it is there already with the
 * same value or another port holds it with another value (a conflict: the
 * first claim stays, logged once), -ENOMEM. */
int nft_mirror_claim(struct nft_mirror *m, uint32_t id, const char *port, const struct nft_elem *e);
/* Port @id no longer renders @e (as it claimed it). Returns 1 when nobody
 * holds it any more (delete it), else 0. */
int nft_mirror_release(struct nft_mirror *m, uint32_t id, const struct nft_elem *e);
/* How many ports hold @e now (0: not in the table). */
uint32_t nft_mirror_holders(const struct nft_mirror *m, const struct nft_elem *e);

/* The record of chain @name, made (refs 0, absent) when @create; NULL when
 * there is none, or out of memory with @create. */
struct nft_chain_rec *nft_mirror_chain(struct nft_mirror *m, const char *name, bool create);
/* Drop the record of chain @name. */
void nft_mirror_chain_forget(struct nft_mirror *m, const char *name);

/* Bytes the mirror holds (for the debug log and the memory figures). */
size_t nft_mirror_bytes(const struct nft_mirror *m);

/* The hash the mirror keys element @e by (set and key; never 0). */
uint64_t nft_elem_key_hash(const struct nft_elem *e);

#endif
