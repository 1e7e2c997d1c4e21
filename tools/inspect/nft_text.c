/* nft_text.c - `nft list ruleset` text dumps: svcplane's own tables go to
 * their reader (svcplane_nft.c), anything else to kube-proxy's
 * (kp_nft_text.c). Both take their tokens from common/nft_lex.c. */
#include "inspect.h"

#include <stdbool.h>
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

int sp_inspect_nft_text(const char *buf, size_t len, struct sp_inspect *in, char *err, size_t errsz)
{
	if (has_svcplane_table(buf, len))
		return sp_inspect_svcplane_nft_text(buf, len, in, err, errsz);
	return sp_inspect_kp_nft_text(buf, len, in, err, errsz);
}
