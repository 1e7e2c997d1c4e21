/* bpf_sweep.h - a full sync's cleanup of one map: every key a predicate does
 * not keep is deleted, keys read and removed in batches. */
#ifndef SP_DATAPLANE_BPF_SWEEP_H
#define SP_DATAPLANE_BPF_SWEEP_H

#include <stdbool.h>
#include <stddef.h>

/* Is @key (of the map being swept) still wanted? */
typedef bool (*sp_bpf_keep_fn)(const void *key, void *ctx);

/* Every key (@klen bytes, the map's key size, at most 64) of the map @fd
 * that @keep does not keep (all, with @keep NULL) is deleted: collected
 * first, then removed (a full sync at 10k services walks some 200k keys). A
 * key that cannot be deleted (gone meanwhile) is passed over. 0, or -errno
 * (-EINVAL: @klen is not the map's key size). */
int sp_bpf_sweep(int fd, size_t klen, sp_bpf_keep_fn keep, void *ctx);

#endif
