/* bpf_ct.c - connection-tracking garbage collection and counters (see bpf_ct.h). */
#include "bpf_ct.h"
#include "../../bpf/ct_timeout.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define CHUNK 1024

static const char *const stat_names[SP_STAT_COUNT] = {
    [SP_STAT_FLOWS] = "flows",
    [SP_STAT_REJECT_NO_ENDPOINT] = "reject_no_endpoint",
    [SP_STAT_DROP_NO_LOCAL_ENDPOINT] = "drop_no_local_endpoint",
    [SP_STAT_DROP_SOURCE_RANGE] = "drop_source_range",
    [SP_STAT_DROP_SNAT_EXHAUSTED] = "drop_snat_ports_exhausted",
    [SP_STAT_DROP_CT_FULL] = "drop_ct_full",
    [SP_STAT_DROP_NO_ROUTE] = "drop_no_route",
    [SP_STAT_DROP_UNSUPPORTED] = "drop_unsupported",
    [SP_STAT_DROP_INVALID] = "drop_invalid",
};

const char *sp_bpf_stat_name(enum sp_stat s)
{
	return s < SP_STAT_COUNT ? stat_names[s] : "?";
}

/* An expired entry, and its time when it was seen so. */
struct expired {
	struct sp_ct_key key;
	uint64_t last_ns;
};

int sp_bpf_ct_collect(const struct sp_bpf_kernel *k, uint64_t now_ns, struct sp_bpf_ct_gc *out)
{
	int fd = k->map_fd[SPM_CT];
	struct sp_ct_key *keys = malloc(CHUNK * sizeof(*keys));
	struct sp_ct_val *vals = malloc(CHUNK * sizeof(*vals)), v;
	struct expired *gone = NULL;
	size_t n_gone = 0, cap = 0;
	uint8_t token[sizeof(struct sp_ct_key)];
	bool started = false, done = false;
	int e = 0;

	memset(out, 0, sizeof(*out));
	if (!keys || !vals) {
		e = -ENOMEM;
		goto out;
	}
	while (!done) {
		uint32_t count = CHUNK;

		if (bpf_map_lookup_batch(fd, started ? token : NULL, token, keys, vals, &count,
					 NULL)) {
			if (errno != ENOENT) {
				e = -errno;
				goto out;
			}
			done = true;
		}
		started = true;
		for (uint32_t i = 0; i < count; i++) {
			/* An entry written after this pass began may look newer than @now. */
			if (vals[i].last_ns > now_ns ||
			    now_ns - vals[i].last_ns <= sp_ct_timeout_ns(keys[i].proto, vals[i].state)) {
				out->entries++;
				continue;
			}
			if (n_gone == cap) {
				size_t nc = cap ? 2 * cap : CHUNK;
				struct expired *g = realloc(gone, nc * sizeof(*g));

				if (!g) {
					e = -ENOMEM;
					goto out;
				}
				gone = g;
				cap = nc;
			}
			gone[n_gone++] = (struct expired){keys[i], vals[i].last_ns};
		}
	}
	/* An expired entry's tuple may have been taken by a new flow since (a
	 * SNAT port is reused once its flow expired): only an entry still as
	 * it was seen goes. */
	for (size_t i = 0; i < n_gone; i++)
		if (!bpf_map_lookup_elem(fd, &gone[i].key, &v) && v.last_ns == gone[i].last_ns &&
		    !bpf_map_delete_elem(fd, &gone[i].key))
			out->removed++;
out:
	free(keys);
	free(vals);
	free(gone);
	return e;
}

int sp_bpf_stats_read(const struct sp_bpf_kernel *k, uint64_t out[SP_STAT_COUNT])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *per;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	if (!(per = calloc((size_t)ncpu, sizeof(*per))))
		return -ENOMEM;
	for (uint32_t s = 0; s < SP_STAT_COUNT; s++) {
		out[s] = 0;
		if (bpf_map_lookup_elem(k->map_fd[SPM_STATS], &s, per))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[s] += per[c];
	}
	free(per);
	return 0;
}
