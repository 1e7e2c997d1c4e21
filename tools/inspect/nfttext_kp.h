/* nfttext_kp.h - kube-proxy's tables in `nft list ruleset` text, as the nft
 * -j objects nftjson.c reads. */
#ifndef SP_TOOLS_INSPECT_NFTTEXT_KP_H
#define SP_TOOLS_INSPECT_NFTTEXT_KP_H

#include <stddef.h>

/* Rewrite @len bytes of nft text into a new JSON document in *@json (free
 * it). Returns 0, -EINVAL with "line N: what" in @err, or -ENOMEM. */
int sp_nft_text_to_json(const char *buf, size_t len, char **json, size_t *jlen, char *err, size_t errsz);

#endif
