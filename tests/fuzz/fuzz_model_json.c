/* fuzz_model_json.c - libFuzzer entry for the model's JSON form (what
 * svcplanectl reads from /model and dump files). */

#include "../../control/model.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *j = cJSON_ParseWithLength((const char *)data, size);
	struct sp_model m;
	struct sp_perr err;

	if (!j)
		return 0;
	if (sp_model_init(&m) == 0) {
		if (sp_model_from_json(&m, j, &err) == 0) {
			char *txt = sp_model_to_text(&m, false);

			cJSON_free(txt);
		}
		sp_model_fini(&m);
	}
	cJSON_Delete(j);
	return 0;
}
