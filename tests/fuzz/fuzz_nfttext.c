/* fuzz_nfttext.c - libFuzzer entry for kube-proxy's `nft list ruleset` text
 * (rewritten as nft -j objects, then read as JSON dumps are). */
#include "../../tools/inspect/inspect.h"
#include "../../tools/inspect/nfttext_kp.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sp_inspect in;
	char err[256], *json;
	size_t jlen;

	if (sp_nft_text_to_json((const char *)data, size, &json, &jlen, err, sizeof(err)))
		return 0;
	if (!sp_inspect_init(&in)) {
		sp_inspect_nft_json(json, jlen, &in, err, sizeof(err));
		sp_inspect_fini(&in);
	}
	free(json);
	return 0;
}
