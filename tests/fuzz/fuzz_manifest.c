/* fuzz_manifest.c - libFuzzer entry for manifest decoding (YAML, JSON, lists)
 * and every object parser behind it. */
#include "../../control/manifest.h"

#include <stdint.h>
#include <stdlib.h>

static int drop(void *ctx, struct sp_manifest_item *it)
{
	(void)ctx;
	sp_manifest_item_free(it);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sp_perr err;

	sp_manifest_decode((const char *)data, size, drop, NULL, &err);
	return 0;
}
