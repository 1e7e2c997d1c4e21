/* fuzz_yaml.c - libFuzzer entry for the YAML loader alone (manifests, --config
 * and kubeconfigs all go through it). tests/check.sh runs it with a short
 * per-input -timeout: an input that is slow to accept or refuse fails. */
#include "../../control/k8s.h"
#include "../../control/yaml.h"

#include <stdint.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sp_perr err;

	cJSON_Delete(sp_yaml_load((const char *)data, size, &err));
	return 0;
}
