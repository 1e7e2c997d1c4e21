/* fuzz_config.c - libFuzzer entry for the KubeProxyConfiguration file. */
#include "../../agent/config.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sp_config cfg;
	const char *flags[] = { "mode", NULL };

	memset(&cfg, 0, sizeof(cfg));
	sp_config_apply_file(&cfg, (const char *)data, size, "fuzz.yaml", flags, NULL);
	return 0;
}
