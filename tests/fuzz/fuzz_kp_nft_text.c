/* fuzz_kp_nft_text.c - libFuzzer entry for kube-proxy's `nft list ruleset`
 * text (read with common/nft_lex.c, rewritten as nft -j objects, then read as
 * JSON dumps are). */
#include "../../tools/inspect/inspect.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sp_inspect in;
	char err[256];

	if (sp_inspect_init(&in))
		return 0;
	sp_inspect_kp_nft_text((const char *)data, size, &in, err, sizeof(err));
	sp_inspect_fini(&in);
	return 0;
}
