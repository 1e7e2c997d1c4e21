/* model_json.h - the model's one JSON form (DESIGN.md), both ways. */
#ifndef SP_CONTROL_MODEL_JSON_H
#define SP_CONTROL_MODEL_JSON_H

#include "model.h"

struct cJSON;

/* {"servicePorts": [...]} in key order. NULL + errno on failure. */
struct cJSON *sp_model_to_json(const struct sp_model *m);
/* Same, printed (pretty when @pretty). Caller frees. NULL + errno on failure. */
char *sp_model_to_text(const struct sp_model *m, bool pretty);
/* Fill @m (initialised, normally empty) from that JSON form. Returns 0, -ENOMEM,
 * or -EINVAL with @err naming the field ("servicePorts[3].endpoints[0].ip"). */
int sp_model_from_json(struct sp_model *m, const struct cJSON *root, struct sp_perr *err);

#endif
