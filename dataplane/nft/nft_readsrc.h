/* nft_readsrc.h - where the readback (nft_readback.c) takes svcplane's sets
 * and affinity rules from: the live tables over netlink, or an `nft list
 * ruleset` text dump (nft_readtext.c). Internal to dataplane/nft/. */
#ifndef SP_DATAPLANE_NFT_READSRC_H
#define SP_DATAPLANE_NFT_READSRC_H

#include <stdint.h>

#include "nft_readback.h"

struct mnl_socket;
struct sp_hmap;
struct sp_nft_text;

/* One set element as the readback sees it (bytes as the kernel holds them). */
struct elem_view {
	const uint8_t *key, *key_end, *data;
	uint32_t klen, dlen;
	const char *chain;	/* goto target or NULL */
	int verdict;
	char comment[300];
};

typedef void (*elem_fn)(void *ctx, const struct elem_view *v);

struct nft_src {
	/* Every element of set @name of table @family svcplane (none when absent). */
	void (*each)(const struct nft_src *src, int family, const char *name, elem_fn fn, void *ctx);
	/* Each affinity chain's endpoints and timeout, through nft_affinity_record. */
	void (*affinity)(const struct nft_src *src, int family, struct sp_hmap *aff);
	struct mnl_socket *nl;			/* the netlink source */
	const struct sp_nft_text *text;		/* the text source */
};

/* The tables of @src into @out, as sp_nft_read_ext. */
int nft_read_source(const struct nft_src *src, struct sp_model *out, const struct sp_log *lg,
		    sp_nft_external_fn ext, void *ctx);

/* One affinity chain's endpoint (@ep may be NULL) and timeout (NULL: unknown). */
void nft_affinity_record(struct sp_hmap *aff, const char *chain, const struct sp_endpoint *ep,
			 const unsigned *timeout);

#endif
