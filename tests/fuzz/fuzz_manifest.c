/* fuzz_manifest.c - libFuzzer entry for manifest decoding (YAML, JSON, lists)
 * and every object parser behind it. */
#include "../../control/manifest.h"

#include <stdint.h>
#include <stdlib.h>

static int drop(void *ctx, struct sp_manifest_item *it)
{
	(void)ctx;
	if (it->err)
		return 0;
	switch (it->kind) {
	case SP_KIND_SERVICE:
		sp_service_free(it->obj);
		break;
	case SP_KIND_SLICE:
		sp_slice_free(it->obj);
		break;
	case SP_KIND_NODE:
		sp_node_free(it->obj);
		break;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sp_perr err;

	sp_manifest_decode((const char *)data, size, drop, NULL, &err);
	return 0;
}
