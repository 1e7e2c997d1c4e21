/* nft_render.h - one service port → the set and map elements (and affinity
 * chains) that program it: a pure function of the model, so it is unit-tested
 * without a kernel and diffed between syncs. */
#ifndef SP_DATAPLANE_NFT_RENDER_H
#define SP_DATAPLANE_NFT_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../control/model.h"
#include "nft_layout.h"

#define NFT_COMMENT_EXTERNAL "external IP"
#define NFT_COMMENT_LB "load balancer IP"
#define NFT_KEY_MAX 80		/* interval sets carry start and end */
#define NFT_DATA_MAX 20

enum { NFT_ELEM_GOTO = 1, NFT_ELEM_DROP = 2 };

struct nft_elem {
	uint8_t set;		/* enum nft_set_id */
	uint8_t klen;		/* bytes of key (and as many of key end, for intervals) */
	uint8_t dlen;		/* bytes of data (D_ENDPOINT) */
	uint8_t verdict;	/* D_VERDICT: NFT_ELEM_GOTO (with chain) or NFT_ELEM_DROP */
	uint8_t key[NFT_KEY_MAX];
	uint8_t data[NFT_DATA_MAX];
	uint32_t vhash;		/* hash of the goto target's name: compares without it */
	const char *chain;	/* goto target; owned by the render */
	const char *comment;	/* "ns/name:port"; owned by the render */
};

struct nft_aff_ep {
	uint8_t addr[16];	/* 4 bytes used for IPv4 */
	uint16_t port;
};

/* An affinity chain: one per service port and endpoint list (Cluster, Local). */
struct nft_affinity {
	char name[256];		/* chain name, "affinity-H8-ns/svc/proto/port" */
	char base[256];		/* "ns/svc/proto/port", for the endpoint set names */
	int family;
	uint8_t proto;		/* IPPROTO_*: the dnat to a port needs it matched */
	uint32_t timeout;	/* seconds */
	uint32_t n;
	struct nft_aff_ep *eps;	/* n endpoints, in list order */
};

struct nft_render {
	int family;		/* NFPROTO_IPV4 / _IPV6 */
	struct nft_elem *v;
	size_t n, cap;
	struct nft_affinity aff[2];	/* [0] Cluster list, [1] Local list */
	int naff;
	char *strings;		/* chain names and comment, one allocation */
	size_t slen, scap;
	uint32_t no_local_internal, no_local_external;	/* 1 when that policy has no local endpoint */
};

/* Render @p (its endpoints as the model decided them for this node) into @out
 * (initialised by this call). Returns 0 or -ENOMEM. */
int nft_render_port(const struct sp_svc_port *p, struct nft_render *out);

/* Name of the client set of endpoint @i of @a (kube-proxy's affinity set name,
 * its hash also covering the timeout so that a new timeout makes new sets). */
void nft_affinity_set_name(const struct nft_affinity *a, uint32_t i, char *buf, size_t sz);
/* Deep copy / release of an affinity description. */
int nft_affinity_copy(struct nft_affinity *dst, const struct nft_affinity *src);
void nft_affinity_fini(struct nft_affinity *a);
bool nft_affinity_equal(const struct nft_affinity *a, const struct nft_affinity *b);
void nft_render_fini(struct nft_render *r);

/* The affinity chain names for a port (kube-proxy style hash), into @buf. */
void nft_affinity_name(const struct sp_svc_port *p, bool local, char *buf, size_t sz);

/* Encoding helpers, also used by the reader. */
int nft_family_of(const struct sp_svc_port *p);
/* A list of elements (strings borrowed from whoever made them). */
struct nft_elems {
	struct nft_elem *v;
	size_t n, cap;
};

/* Append a copy of @e. Returns 0 or -ENOMEM. */
int nft_elems_push(struct nft_elems *l, const struct nft_elem *e);
/* Sort by nft_elem_cmp. */
void nft_elems_sort(struct nft_elems *l);
/* Total order of elements: set, key, value, goto target, comment. */
int nft_elem_cmp(const struct nft_elem *a, const struct nft_elem *b);
/* Everything @r (NULL: nothing) puts in the table, sorted, into @out
 * (emptied first; strings borrowed from @r): its elements and, for each
 * endpoint it sends to, that endpoint's hairpin entry ("address . address":
 * an endpoint reaching itself through a service is masqueraded), once per
 * mention, as ports share them. Returns 0 or -ENOMEM. */
int nft_render_elems(const struct nft_render *r, struct nft_elems *out);

/* Is @e an element of a backends map (its data an endpoint address . port)? */
bool nft_elem_is_backend(const struct nft_elem *e);
/* Endpoint @i of affinity list @a as backends-map data (address . port) in
 * @d (NFT_DATA_MAX bytes); returns its length. */
uint8_t nft_affinity_ep_data(const struct nft_affinity *a, uint32_t i, uint8_t *d);
/* Text of element @e for messages ("service-ips 198.19.128.10 . tcp . 80"). */
void nft_elem_describe(const struct nft_elem *e, int family, char *buf, size_t sz);

#endif
