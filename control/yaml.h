/* yaml.h - YAML text (one or more documents) to cJSON trees, via libyaml. */
#ifndef SP_CONTROL_YAML_H
#define SP_CONTROL_YAML_H

#include <stddef.h>

#define SP_YAML_MAX_ALIAS_BYTES (16u << 20)

struct cJSON;
struct sp_perr;

/* Parse @len bytes of YAML into a cJSON array with one element per document
 * (empty documents are skipped). Scalars follow the YAML 1.2 core schema as
 * Kubernetes reads manifests: null, true/false, integers and floats when plain,
 * strings otherwise. Limits, checked while parsing (so that any input is
 * accepted or refused in time linear in its size): nesting to 64 levels, and
 * what aliases add to SP_YAML_MAX_ALIAS_BYTES (text plus 64 bytes a node).
 * Returns NULL with errno EINVAL and @err->msg "line L column C: ..." for bad
 * YAML or a limit, or ENOMEM. */
struct cJSON *sp_yaml_load(const char *buf, size_t len, struct sp_perr *err);

#endif
