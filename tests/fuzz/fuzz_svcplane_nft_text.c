/* fuzz_svcplane_nft_text.c - libFuzzer entry for svcplane's own tables in `nft list
 * ruleset` text (svcplanectl inspect of a dump taken on a svcplane node). */
#include "../../tools/inspect/inspect.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sp_inspect in;
	char err[256];

	if (sp_inspect_init(&in))
		return 0;
	sp_inspect_svcplane_nft_text((const char *)data, size, &in, err, sizeof(err));
	sp_inspect_fini(&in);
	return 0;
}
