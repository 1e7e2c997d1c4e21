/* bpf_backend.h - the eBPF dataplane (--mode bpf), part 1: socket-level load
 * balancing for the node's and its pods' connections, from maps pinned under
 * --bpf-pin-path, hooks on the --cgroup-path cgroup. */
#ifndef SP_DATAPLANE_BPF_BACKEND_H
#define SP_DATAPLANE_BPF_BACKEND_H

#include "../backend.h"

extern const struct sp_backend_ops sp_bpf_ops;

#endif
