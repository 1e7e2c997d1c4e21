/* fuzz_kp_nft_json.c - libFuzzer entry for svcplanectl inspect's `nft -j list ruleset` reader. */
#include "../../tools/inspect/inspect.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sp_inspect in;
	char err[256];

	if (sp_inspect_init(&in))
		return 0;
	sp_inspect_kp_nft_json((const char *)data, size, &in, err, sizeof(err));
	sp_inspect_fini(&in);
	return 0;
}
