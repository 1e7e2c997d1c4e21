/* nfttext.c - `nft list ruleset` text dumps: kube-proxy's tables are rewritten
 * as nft -j objects (nfttext_kp.c) for the JSON reader; svcplane's own are
 * read as the live tables are (svcplane_tables.c). Neither needs nft. */
#include "inspect.h"
#include "nfttext_kp.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Does the dump hold a table of svcplane's ("table ip svcplane {" at a line start)? */
static bool has_svcplane_table(const char *buf, size_t len)
{
	static const char *const heads[] = { "table ip svcplane {", "table ip6 svcplane {" };

	for (size_t i = 0; i < len; i++) {
		if (i && buf[i - 1] != '\n')
			continue;
		for (int h = 0; h < 2; h++)
			if (len - i >= strlen(heads[h]) && !memcmp(buf + i, heads[h], strlen(heads[h])))
				return true;
	}
	return false;
}

/* kube-proxy's tables: our own reading of nft's text, then the JSON reader. */
static int kube_proxy_text(const char *buf, size_t len, struct sp_inspect *in, char *err, size_t errsz)
{
	char *json;
	size_t jlen;
	int e = sp_nft_text_to_json(buf, len, &json, &jlen, err, errsz);

	if (e)
		return e;
	e = sp_inspect_nft_json(json, jlen, in, err, errsz);
	free(json);
	in->format = "nft list ruleset (kube-proxy nftables mode)";
	return e;
}

int sp_inspect_nft_text(const char *buf, size_t len, struct sp_inspect *in, char *err, size_t errsz)
{
	if (has_svcplane_table(buf, len))
		return sp_inspect_svcplane_text(buf, len, in, err, errsz);
	return kube_proxy_text(buf, len, in, err, errsz);
}
