/* kpconfig.h - kube-proxy's KubeProxyConfiguration (kubeproxy.config.k8s.io/
 * v1alpha1) as kube-proxy reads it: every key kube-proxy knows is checked as its
 * strict decoding and validation do, whether svcplane uses it or not; the keys
 * svcplane uses come out as flag settings, taken from the block of the mode
 * kube-proxy itself would run (iptables for "" and iptables, ipvs, nftables). */
#ifndef SP_AGENT_KPCONFIG_H
#define SP_AGENT_KPCONFIG_H

#include <stddef.h>

#include "../common/log.h"

#define SP_KP_MAX_SETTINGS 32

/* One value for a flag, from the file ("iptables.minSyncPeriod" → min-sync-period). */
struct sp_kp_setting {
	char key[64];		/* the key's path in the file, for error lines */
	const char *flag;	/* the flag's long name (static) */
	char value[1024];	/* as flag text; a zero there already replaced by the mode's default */
};

struct sp_kpconfig {
	const char *block;	/* "iptables", "ipvs" or "nftables": whose periods are read */
	char mode[16];		/* the file's mode as written ("" when none) */
	struct sp_kp_setting set[SP_KP_MAX_SETTINGS];
	size_t n;
	char unused[2048];	/* keys kube-proxy has, given a value here, svcplane does not use */
};

/* Read the YAML text @buf (one KubeProxyConfiguration document) into @out.
 * @mode_flag, when not NULL, is a kube-proxy mode given as --mode: it picks
 * the block as the file's mode would (the flag wins over the file).
 * Returns 0, or -EINVAL after one error line to @lg naming @file, the key and
 * the value (unknown key, wrong type, malformed or out-of-range value, a
 * value svcplane refuses, wrong apiVersion or kind, a second document), or
 * -ENOMEM. */
int sp_kpconfig_read(const char *buf, size_t len, const char *file, const char *mode_flag,
		     struct sp_kpconfig *out, const struct sp_log *lg);

/* The @i-th key path of the schema (blocks included), NULL past the last: for
 * tests that every key's validation is covered. */
const char *sp_kpconfig_key(size_t i, int *is_block);

#endif
