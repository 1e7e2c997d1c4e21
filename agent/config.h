/* config.h - command-line flags and the KubeProxyConfiguration file → struct sp_config. */
#ifndef SP_AGENT_CONFIG_H
#define SP_AGENT_CONFIG_H

#include <stddef.h>

#include "../common/config.h"

/* Fill @cfg from @argv and the file named by --config (flags win). Errors and
 * warnings go to @lg as one line each. Returns 0, 1 when --help or --version was printed,
 * or -EINVAL for a bad flag or value (the caller exits 2). */
int sp_config_load(struct sp_config *cfg, int argc, char **argv, const struct sp_log *lg);

/* The settings in force, for the start-up log line ("min-sync-period 1s, …"). */
const char *sp_config_summary(const struct sp_config *cfg, char *buf, size_t sz);

/* Apply the YAML text @buf of a KubeProxyConfiguration to @cfg, skipping keys
 * named in @set_by_flag (a NULL-terminated list). @file names the file in errors.
 * Returns 0 or -EINVAL. */
int sp_config_apply_file(struct sp_config *cfg, const char *buf, size_t len, const char *file,
			 const char *const *set_by_flag, const struct sp_log *lg);

#endif
