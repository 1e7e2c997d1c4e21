/* nft_text.c - `nft list ruleset` text dumps: svcplane's own tables go to
 * their reader (svcplane_nft.c), iptables-nft's KUBE-* chains alone to
 * theirs (ipt_nft_text.c), anything else to kube-proxy's (kp_nft_text.c).
 * All take their tokens from common/nft_lex.c. */
#include "inspect.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Does the dump hold a table @name of ip or ip6 ("table ip NAME {" at a line start)? */
static bool has_table(const char *buf, size_t len, const char *name)
{
	char heads[2][64];

	snprintf(heads[0], sizeof(heads[0]), "table ip %s {", name);
	snprintf(heads[1], sizeof(heads[1]), "table ip6 %s {", name);

	for (size_t i = 0; i < len; i++) {
		if (i && buf[i - 1] != '\n')
			continue;
		for (int h = 0; h < 2; h++)
			if (len - i >= strlen(heads[h]) && !memcmp(buf + i, heads[h], strlen(heads[h])))
				return true;
	}
	return false;
}

int sp_inspect_nft_text(const char *buf, size_t len, struct sp_inspect *in, char *err, size_t errsz)
{
	if (has_table(buf, len, "svcplane"))
		return sp_inspect_svcplane_nft_text(buf, len, in, err, errsz);
	/* kube-proxy's iptables mode through iptables-nft, with no nftables
	 * mode table beside it (both: the nftables tables are read, and
	 * the KUBE-* chains noted) */
	if (!has_table(buf, len, "kube-proxy") && sp_inspect_is_ipt_nft_text(buf, len))
		return sp_inspect_ipt_nft_text(buf, len, in, err, errsz);
	return sp_inspect_kp_nft_text(buf, len, in, err, errsz);
}
