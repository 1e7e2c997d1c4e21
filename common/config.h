/* config.h - the agent's settings after flags and --config were merged. Plain
 * data, read by the agent only: backends get struct sp_backend_cfg. */
#ifndef SP_COMMON_CONFIG_H
#define SP_COMMON_CONFIG_H

#include <stdbool.h>

#include "lb_algorithm.h"
#include "lists.h"
#include "log.h"

struct sp_config {
	char mode[16];			/* nftables, bpf, userspace, dry-run */
	char mode_asked[16];		/* "iptables" or "ipvs" when that was asked for */
	char manifests[4096];		/* "" when not used */
	char kubeconfig[4096];
	char master[1024];
	double api_watch_timeout;	/* seconds; 0: 5-10 min at random */
	char config_file[4096];
	char config_block[16];		/* the config's block periods came from ("iptables", …) */
	char hostname[256];		/* this node's name */
	struct sp_cidrs cluster_cidrs;
	bool nodeport_primary;		/* --nodeport-addresses primary */
	struct sp_cidrs nodeport_cidrs;	/* otherwise these */
	bool masquerade_all;
	double min_sync_period;		/* seconds */
	double sync_period;
	char healthz_bind[128];		/* "host:port", "" disables */
	char metrics_bind[128];
	bool cleanup;
	bool take_over_kube_proxy;	/* remove kube-proxy's rules after the first sync */
	enum sp_log_format log_format;
	int verbosity;			/* --v: 2 and above log debug events */
	char cgroup_path[4096];
	char bpf_pin_path[4096];
	uint32_t bpf_lb_map_max;	/* --bpf-lb-map-max */
	uint32_t bpf_ct_max;		/* --bpf-ct-max */
	enum sp_lb_algorithm bpf_lb_algorithm;	/* --bpf-lb-algorithm */
	uint32_t bpf_maglev_table_size;	/* --bpf-lb-maglev-table-size: a prime */
	bool us_least_conns;		/* --userspace-lb-algorithm least-connections */
};

#endif
