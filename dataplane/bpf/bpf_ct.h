/* bpf_ct.h - the tc programs' connection tracking seen from the agent:
 * garbage collection of expired entries (the programs treat an expired
 * entry as absent; the LRU map would evict it only when full), the fill
 * level, and the per-CPU packet counters summed. */
#ifndef SP_DATAPLANE_BPF_CT_H
#define SP_DATAPLANE_BPF_CT_H

#include <stdint.h>

#include "../../bpf/maps.h"
#include "bpf_loader.h"

struct sp_bpf_ct_gc {
	uint32_t entries; /* left after the pass */
	uint32_t removed;
};

/* One pass over sp_ct at @now_ns (CLOCK_MONOTONIC, the programs' clock).
 * Returns 0 or -errno. */
int sp_bpf_ct_collect(const struct sp_bpf_kernel *k, uint64_t now_ns, struct sp_bpf_ct_gc *out);

/* sp_stats summed over the CPUs into @out. Returns 0 or -errno. */
int sp_bpf_stats_read(const struct sp_bpf_kernel *k, uint64_t out[SP_STAT_COUNT]);

/* The name of counter @s for /metrics ("reject_no_endpoint"). */
const char *sp_bpf_stat_name(enum sp_stat s);

#endif
