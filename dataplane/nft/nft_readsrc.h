/* nft_readsrc.h - where the readback takes svcplane's sets and affinity rules
 * from: the live tables over netlink (nft_readsrc_nl.c, one consistent
 * snapshot) or an `nft list ruleset` text dump (nft_readtext.c); and the
 * decoding of either into a model (nft_decode.c). Internal to dataplane/nft/.
 *
 * Every callback returns 0 or -errno, and an error stops the read: a source
 * that cannot say what a set holds never answers "nothing". */
#ifndef SP_DATAPLANE_NFT_READSRC_H
#define SP_DATAPLANE_NFT_READSRC_H

#include <stdbool.h>
#include <stdint.h>

#include "nft_layout.h"
#include "nft_readback.h"

struct mnl_socket;
struct nftnl_rule;
struct sp_hmap;
struct sp_nft_text;
struct nft_nl_snap;

/* One set element as the readback sees it (bytes as the kernel holds them). */
struct elem_view {
	const uint8_t *key, *key_end, *data;
	uint32_t klen, dlen;
	const char *chain; /* goto target or NULL */
	int verdict;	   /* NFT_GOTO, NF_DROP, ... when the set is a vmap */
	char comment[300];
};

/* Called once per element; a non-zero return stops the walk and is returned. */
typedef int (*elem_fn)(void *ctx, const struct elem_view *v);

struct nft_src {
	/* Every element of set @name of table @family svcplane, through @fn.
	 * A table that is not there has no elements. Returns 0 or -errno. */
	int (*each)(const struct nft_src *src, int family, const char *name, elem_fn fn, void *ctx);
	/* Each affinity chain's endpoints and timeout, through nft_affinity_record.
	 * Returns 0 or -errno. */
	int (*affinity)(const struct nft_src *src, int family, struct sp_hmap *aff);
	struct nft_nl_snap *snap;	/* the netlink source */
	const struct sp_nft_text *text; /* the text source */
};

/* --- decoding (nft_decode.c) ----------------------------------------------------- */

/* The sets nft_read_source reads: a snapshot source loads these. */
extern const enum nft_set_id nft_decode_sets[];
extern const size_t nft_decode_nsets;

/* The tables of @src into @out, as sp_nft_read_ext. Logs a failure once. */
int nft_read_source(const struct nft_src *src, struct sp_model *out, const struct sp_log *lg,
		    sp_external_list_fn ext, void *ctx);

/* Affinity chains: chain name → its endpoints and timeout. */
struct sp_hmap *nft_affinity_map_new(void);
void nft_affinity_map_free(struct sp_hmap *aff);
/* One affinity chain's endpoint (@ep may be NULL) and timeout (NULL: unknown).
 * Returns 0 or -ENOMEM. */
int nft_affinity_record(struct sp_hmap *aff, const char *chain, const struct sp_endpoint *ep,
			const unsigned *timeout);
/* The endpoints recorded for @chain (none when unknown): borrowed, valid
 * until the map is freed. Returns their number. */
size_t nft_affinity_eps(const struct sp_hmap *aff, const char *chain,
			const struct sp_endpoint **eps);

/* --- the text source (nft_readtext.c) --------------------------------------------- */

/* @t (parsed by sp_nft_text_parse, borrowed) as @src. */
void nft_text_source(struct nft_src *src, const struct sp_nft_text *t);

/* --- the netlink source (nft_readsrc_nl.c) ---------------------------------------- */

/* A consistent snapshot of sets @sets (@n of them) of table svcplane in
 * @family (0: both), and with @rules the affinity chains' rules, as @src: the
 * ruleset generation is the same before and after the dumps and no dump was
 * interrupted, else it is read again (at most 10 times, then -EAGAIN). A
 * missing table is an empty family; a missing set in a present table, and any
 * other kernel error (EPERM, ...), is returned as -errno and logged naming the
 * object. Release with nft_nl_source_fini. */
int nft_nl_source_init(struct nft_src *src, struct mnl_socket *nl, int family,
		       const enum nft_set_id *sets, size_t n, bool rules, const struct sp_log *lg);
void nft_nl_source_fini(struct nft_src *src);
/* Did the snapshot find table svcplane of @family? */
bool nft_nl_source_present(const struct nft_src *src, int family);

/* Called once per rule; a non-zero return stops the walk and is returned. */
typedef int (*nft_rule_fn)(void *ctx, struct nftnl_rule *r);
/* Every rule of chain @chain of @family's table svcplane, from one dump that
 * was not interrupted (retried as above). Returns 0 or -errno (-ENOENT: no
 * such table or chain). */
int nft_nl_each_rule(struct mnl_socket *nl, int family, const char *chain, nft_rule_fn fn,
		     void *ctx);

#endif
