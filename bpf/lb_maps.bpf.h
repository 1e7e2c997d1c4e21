/* lb_maps.bpf.h - the maps every program of the eBPF dataplane shares,
 * defined once: each object declares all of them, the loader pins them under
 * --bpf-pin-path and the objects loaded after the first reuse the pins, so
 * the socket hooks and the tc programs read one set of maps. Layouts are in
 * maps.h. */
#ifndef SP_BPF_LB_MAPS_BPF_H
#define SP_BPF_LB_MAPS_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"

/* Sizes are set by the loader before load (--bpf-lb-map-max). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct sp_svc_key);
	__type(value, struct sp_svc_val);
	__uint(max_entries, 65536);
} sp_services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct sp_slot_key);
	__type(value, struct sp_slot_val);
	__uint(max_entries, 262144);
} sp_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct sp_ep_val);
	__uint(max_entries, 65536);
} sp_endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct sp_aff_key);
	__type(value, struct sp_aff_val);
	__uint(max_entries, 65536);
} sp_affinity SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct sp_aff_match_key);
	__type(value, __u8);
	__uint(max_entries, 262144);
} sp_aff_match SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct sp_rev_key);
	__type(value, struct sp_rev_val);
	__uint(max_entries, 262144);
} sp_reverse SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__type(key, int);
	__type(value, struct sp_sock_rev_val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} sp_sock_rev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u64);
	__type(value, struct sp_sock_rev_val);
	__uint(max_entries, 65536);	/* set by the loader */
} sp_conn_rev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct sp_addr_key);
	__type(value, __u8);
	__uint(max_entries, 65536 + 256);	/* set by the loader: services, and the node's */
} sp_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct sp_port_info);
	__uint(max_entries, 65536);
} sp_port_info SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct sp_meta_val);
	__uint(max_entries, 1);
} sp_meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct sp_ct_key);
	__type(value, struct sp_ct_val);
	__uint(max_entries, 262144);
	/* One LRU list with a free list per CPU, refilled (and evicted into) 128
	 * elements at a time. (BPF_F_NO_COMMON_LRU's list per CPU scans and
	 * rotates its list on every insert: a fifth of a new flow's time.) */
} sp_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct sp_config_val);
	__uint(max_entries, 1);
} sp_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, SP_STAT_COUNT);
} sp_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct sp_src_range_key);
	__type(value, __u8);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} sp_src_ranges SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct sp_pod_if_key);
	__type(value, struct sp_pod_if_val);
	__uint(max_entries, 4096);
} sp_pod_ifs SEC(".maps");

struct sp_maglev_table {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 16381);	/* set by the loader: --bpf-lb-maglev-table-size */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, 65536);
	__array(values, struct sp_maglev_table);
} sp_maglev SEC(".maps");

#endif
